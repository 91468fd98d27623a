//! `stockdata bars --chart` (being built).

use std::io::{self, Write};

use stockdata_app::domain::Bar;

use super::table::Style;

pub(crate) fn bars(out: &mut dyn Write, _style: &Style, _bars: &[Bar]) -> io::Result<()> {
    writeln!(out, "charts are not built yet")
}
