//! `stockdata quote --watch` (being built).

use std::time::Duration;

use stockdata_app::domain::Symbol;

use super::{Ctx, Exit, usage};

pub(crate) async fn run(_ctx: Ctx, _symbols: Vec<Symbol>, _every: Duration) -> Exit {
    usage("`quote --watch` is not built yet")
}
