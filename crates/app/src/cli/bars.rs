//! `stockdata bars`

use std::io::Write as _;

use stockdata_app::domain::{BatchBarQuery, DateRange, Interval};
use stockdata_app::records;

use super::args::{BarsArgs, From, sessions_back};
use super::sink::Sink;
use super::{Ctx, Exit, chart, output, require_providers, usage};

impl BarsArgs {
    pub(crate) async fn run(self, ctx: Ctx) -> Exit {
        if let Err(exit) =
            require_providers("bars", &ctx.stockdata, &ctx.stockdata.history().providers())
        {
            return exit;
        }
        let to = self.to.unwrap_or(ctx.today);
        let now = ctx.stockdata.clock().now();
        let from = match self.from.or(self.days.map(From::Sessions)) {
            Some(from) => from.resolve(to, ctx.today, now),
            None => sessions_back(default_sessions(self.interval), to, ctx.today, now),
        };
        let Ok(range) = DateRange::new(from, to) else {
            return usage(format!(
                "--from {from} is after --to {to}: give a --from on or before --to"
            ));
        };
        // A named adjustment is served exactly or not at all; without one, each provider
        // serves its own and the records say which.
        let asked = self.adjustment.and_then(|a| a.parse().ok());
        let adjustment = asked.unwrap_or_else(|| ctx.stockdata.default_adjustment());
        let query = BatchBarQuery {
            symbols: self.symbols,
            interval: self.interval,
            range: range.to_time_range(),
            adjustment,
        };
        let reports = if asked.is_some() {
            ctx.stockdata.history().exact().bars(&query).await
        } else {
            ctx.stockdata.history().bars(&query).await
        };
        let mut bars = Vec::new();
        let mut errors = Vec::new();
        let mut failed = Vec::new();
        for r in reports {
            match r.result {
                Ok(series) => bars.extend(series.bars),
                Err(e) => {
                    failed.push(records::failed("bars", &r.symbol, &e, &r.trail));
                    errors.push((r.symbol, e));
                }
            }
        }
        let sink = match Sink::open(ctx.output_path.as_deref()) {
            Ok(s) => s,
            Err(exit) => return exit,
        };
        let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, sink);
        let written = if self.chart && ctx.format == output::Format::Table {
            chart::bars(&mut stdout, &ctx.style, &bars)
        } else {
            output::bars(&mut stdout, &ctx.output(), &bars, &failed)
        }
        .and_then(|()| stdout.flush());
        Sink::finish(stdout, written, query.symbols.len(), &errors)
    }
}

/// NYSE sessions the default window holds, per interval: enough bars to be useful, few enough
/// to be quick.
pub(crate) fn default_sessions(interval: Interval) -> usize {
    match interval {
        Interval::Minute1 | Interval::Minute5 => 1,
        Interval::Minute15 | Interval::Minute30 => 5,
        Interval::Hour1 => 21,
        Interval::Day1 => 63,
        Interval::Week1 => 252,
        Interval::Month1 => 5 * 252,
    }
}
