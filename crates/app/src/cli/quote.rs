//! `stockdata quote`

use std::io::Write as _;

use stockdata_app::domain::{FetchError, Symbol};
use stockdata_app::records;

use super::args::{QuoteArgs, SymbolArg};
use super::sink::Sink;
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
        let written =
            output::quotes(&mut out, &ctx.output(), &quotes, &failed).and_then(|()| out.flush());
        Sink::finish(out, written, symbols.len(), &errors)
    }
}
