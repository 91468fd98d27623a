//! `stockdata providers`: every provider and why it is or is not used; with quotas kept in
//! Redis, whether they are shared through it now or paced locally because it is unreachable.

use std::io::Write as _;

use stockdata_app::StockData;
use stockdata_app::adapters::transport::{QuotaStatus, describe_share};
use stockdata_app::config::Config;

use super::output::Format;
use super::{Exit, usage};

pub(crate) fn run(config: &Config, sandbox: bool, format: Format) -> Exit {
    let stockdata = match StockData::builder().config(config.clone()).build() {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let quota = quota_status(&stockdata).map(|q| describe(&q));
    let note = |s: &stockdata_app::ProviderStatus| {
        s.reason.clone().unwrap_or_else(|| {
            if sandbox {
                "sandbox (synthetic data)".into()
            } else {
                String::new()
            }
        })
    };
    if format != Format::Table {
        // Machine formats: one object per provider (NDJSON: one per line; CSV: JSON too, the
        // lists do not fit a cell).
        let rows: Vec<serde_json::Value> = stockdata
            .provider_status()
            .iter()
            .map(|s| {
                let mut row = serde_json::json!({
                    "provider": s.provider.as_str(),
                    "configured": s.configured,
                    "credentials": s.credentials,
                    "limits": s.limits,
                    "routed_for": s.routed_for,
                    "note": note(s),
                });
                if let (Some(quota), Some(fields)) = (&quota, row.as_object_mut()) {
                    fields.insert("quota".to_owned(), quota.clone().into());
                }
                row
            })
            .collect();
        let mut out = std::io::stdout().lock();
        let written = if format == Format::Ndjson {
            rows.iter().try_for_each(|r| writeln!(out, "{r}"))
        } else {
            writeln!(out, "{:#}", serde_json::Value::Array(rows))
        };
        return match written {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                eprintln!("stockdata: cannot write output: {e}");
                Exit::Failed
            }
            _ => Exit::Ok,
        };
    }
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header([
        "provider",
        "configured",
        "credentials",
        "limits",
        "routed for",
    ]);
    let mut notes = Vec::new();
    for s in stockdata.provider_status() {
        table.add_row([
            s.provider.to_string(),
            if s.configured { "yes" } else { "no" }.to_owned(),
            if s.credentials { "present" } else { "absent" }.to_owned(),
            s.limits.join(", "),
            s.routed_for.join(", "),
        ]);
        let note = note(s);
        if !note.is_empty() {
            notes.push(format!(
                "  {}: {}",
                s.provider,
                super::output::for_terminal(&note)
            ));
        }
    }
    // The notes say what to set: under the table, whole, where a narrow terminal wraps them
    // instead of a column cutting them.
    let mut out = std::io::stdout().lock();
    for line in table.lines() {
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "\nnotes:\n{}", notes.join("\n"));
    }
    if let Some(quota) = quota {
        let _ = writeln!(out, "\nquotas: {}", super::output::for_terminal(&quota));
    }
    Exit::Ok
}

/// Where quotas are kept and whether that store answers now (asked once, here); `None` when
/// they are kept in this process.
fn quota_status(stockdata: &StockData) -> Option<QuotaStatus> {
    stockdata.quota_status()?;
    let check = || stockdata.check_quota_store();
    match tokio::runtime::Handle::try_current() {
        // The binary's runtime: ask on it (its connection stays usable), parking this worker.
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| handle.block_on(check()))
        }
        // No runtime to park (or one that cannot be): what is known already.
        Ok(_) => stockdata.quota_status(),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()
            .and_then(|runtime| runtime.block_on(check())),
    }
}

/// One line for people: shared through the store, or local at a share because it is
/// unreachable.
fn describe(q: &QuotaStatus) -> String {
    if q.degraded {
        format!(
            "local, at {} of each window, because {} is unreachable (retried in the \
             background; quotas are shared again once it answers)",
            describe_share(q.fallback_share),
            q.location
        )
    } else {
        format!(
            "shared through {} by every process using the same keys",
            q.location
        )
    }
}
