//! `stockdata providers`

use std::io::Write as _;

use stockdata_app::StockData;
use stockdata_app::config::Config;

use super::{Exit, usage};

pub(crate) fn run(config: &Config, sandbox: bool) -> Exit {
    let stockdata = match StockData::builder().config(config.clone()).build() {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header([
        "provider",
        "configured",
        "credentials",
        "limits",
        "routed for",
        "note",
    ]);
    for s in stockdata.provider_status() {
        table.add_row([
            s.provider.to_string(),
            if s.configured { "yes" } else { "no" }.to_owned(),
            if s.credentials { "present" } else { "absent" }.to_owned(),
            s.limits.join(", "),
            s.routed_for.join(", "),
            s.reason.clone().unwrap_or_else(|| {
                if sandbox {
                    "sandbox (synthetic data)".into()
                } else {
                    String::new()
                }
            }),
        ]);
    }
    let _ = writeln!(std::io::stdout().lock(), "{table}");
    Exit::Ok
}
