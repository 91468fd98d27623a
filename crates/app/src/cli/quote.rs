//! `stockdata quote`

use std::io::Write as _;

use stockdata_app::domain::calendar;
use stockdata_app::domain::time::new_york_date;
use stockdata_app::domain::{Decimal, FetchError, Interval, Quote, Symbol};
use stockdata_app::ports::{Dataset, SeriesKey};
use stockdata_app::records;

use super::args::{QuoteArgs, SymbolArg};
use super::sink::Sink;
use super::table;
use super::{Ctx, Exit, output, require_providers, usage, watch, watchlist};

impl QuoteArgs {
    pub(crate) async fn run(self, ctx: Ctx) -> Exit {
        if let Err(exit) = require_providers(
            "quotes",
            &ctx.stockdata,
            &ctx.stockdata.prices().providers(),
        ) {
            return exit;
        }
        let mut symbols = Vec::with_capacity(self.symbols.len());
        for arg in self.symbols {
            match arg {
                SymbolArg::One(s) => symbols.push(s),
                SymbolArg::Stdin => match watchlist::read("-") {
                    Ok(mut s) => symbols.append(&mut s),
                    Err(e) => return usage(e.replacen("--watchlist", "quote", 1)),
                },
            }
        }
        if let Some(every) = self.watch {
            if ctx.output_path.is_some() {
                return usage("--watch writes to the terminal or a pipe, not --output FILE");
            }
            return watch::run(ctx, symbols, every).await;
        }
        let reports = ctx.stockdata.prices().quotes(&symbols).await;
        let mut quotes = Vec::with_capacity(reports.len());
        let mut errors: Vec<(Symbol, FetchError)> = Vec::new();
        let mut failed = Vec::new();
        for r in reports {
            match r.result {
                Ok(q) => quotes.push(q),
                Err(e) => {
                    failed.push(records::failed("quote", &r.symbol, &e, &r.trail));
                    errors.push((r.symbol, e));
                }
            }
        }
        let sink = match Sink::open(ctx.output_path.as_deref()) {
            Ok(s) => s,
            Err(exit) => return exit,
        };
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, sink);
        let written = if ctx.format == output::Format::Table {
            let trends = trends(&ctx, &quotes).await;
            table::quotes_with_trends(&mut out, &ctx.style, &quotes, &trends)
        } else {
            output::quotes(&mut out, &ctx.output(), &quotes, &failed)
        }
        .and_then(|()| out.flush());
        Sink::finish(out, written, symbols.len(), &errors)
    }
}

/// Sessions a quote's trend covers (with the quote: the sparkline's 20 cells).
const TREND_SESSIONS: usize = 19;

/// For the table's trend column: each quote's daily closes of the last sessions before its
/// own, as the store holds them (nothing is fetched for it), then the quote's price. Empty
/// where the store holds fewer than two of those sessions, or when no store is in use.
async fn trends(ctx: &Ctx, quotes: &[Quote]) -> Vec<Vec<Decimal>> {
    let Some(store) = &ctx.store else {
        return Vec::new();
    };
    let dataset = if ctx.sandbox {
        Dataset::Sandbox
    } else {
        Dataset::Market
    };
    let mut out = Vec::with_capacity(quotes.len());
    for q in quotes {
        let session = new_york_date(q.as_of);
        let key = SeriesKey {
            symbol: q.symbol.clone(),
            interval: Interval::Day1,
            adjustment: ctx.stockdata.default_adjustment(),
            dataset,
        };
        let closes = match calendar::last_sessions(TREND_SESSIONS + 1, q.as_of) {
            Some(range) => store
                .bars(&key, range.to_time_range())
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|b| new_york_date(b.start) < session)
                .map(|b| b.close)
                .collect::<Vec<_>>(),
            None => Vec::new(),
        };
        out.push(if closes.len() < 2 {
            Vec::new()
        } else {
            closes.into_iter().chain([q.price]).collect()
        });
    }
    out
}
