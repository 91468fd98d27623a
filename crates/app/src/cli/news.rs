//! `stockdata news`

use std::io::Write as _;

use stockdata_app::domain::{DateRange, NewsQuery};
use stockdata_app::records;

use super::args::{From, NewsArgs};
use super::sink::Sink;
use super::{Ctx, Exit, output, require_providers, usage};

impl NewsArgs {
    pub(crate) async fn run(self, ctx: Ctx) -> Exit {
        if let Err(exit) =
            require_providers("news", &ctx.stockdata, &ctx.stockdata.news().providers())
        {
            return exit;
        }
        let to = self.to.unwrap_or(ctx.today);
        let now = ctx.stockdata.clock().now();
        let from = match self.from.or(self.days.map(From::Sessions)) {
            Some(from) => from.resolve(to, ctx.today, now),
            None => to.checked_sub(jiff::Span::new().days(3)).unwrap_or(to),
        };
        let Ok(range) = DateRange::new(from, to) else {
            return usage(format!(
                "--from {from} is after --to {to}: give a --from on or before --to"
            ));
        };
        let query = NewsQuery {
            symbols: self.symbols,
            range: range.to_time_range(),
            limit: self.limit as usize,
        };
        let report = ctx.stockdata.news().news(&query).await;
        let sink = match Sink::open(ctx.output_path.as_deref()) {
            Ok(s) => s,
            Err(exit) => return exit,
        };
        let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, sink);
        let asked = query.symbols.len();
        let opts = ctx.output();
        let (articles, failed, errors) = match report.result {
            Ok(articles) => (articles, Vec::new(), Vec::new()),
            Err(e) => {
                let failed: Vec<_> = query
                    .symbols
                    .iter()
                    .map(|s| records::failed("news", s, &e, &report.trail))
                    .collect();
                let errors: Vec<_> = query.symbols.into_iter().map(|s| (s, e.clone())).collect();
                (Vec::new(), failed, errors)
            }
        };
        let written =
            output::news(&mut stdout, &opts, &articles, &failed).and_then(|()| stdout.flush());
        Sink::finish(stdout, written, asked, &errors)
    }
}
