//! `HistoricalDataFetcher`: bars, with ranges split to what each provider takes per request.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use jiff::SignedDuration;
use stockdata_domain::quality::check_bars;
use stockdata_domain::{
    Adjustment, Bar, BatchBarQuery, ErrorKind, FetchError, ProviderId, Symbol, SymbolResult,
    TimeRange, Timestamp,
};
use stockdata_ports::{BarSource, BarsWrite, SeriesKey};

use super::route::{Hop, route};
use super::stored::{self, StoreLayer};
use super::{Attempt, Outcome, Report, Series, Shared};

/// Historical bars through the bar chain: ranges split to what each provider takes per
/// request, merged, sorted, de-duplicated, with data-quality findings.
#[derive(Debug, Clone)]
pub struct HistoricalDataFetcher {
    chain: Vec<Arc<dyn BarSource>>,
    shared: Shared,
    /// Only providers that serve the asked adjustment exactly are asked (see [`Self::exact`]).
    exact: bool,
}

fn merge_pieces(pieces: Vec<Result<Vec<Bar>, FetchError>>) -> Result<Vec<Bar>, FetchError> {
    let mut bars = Vec::new();
    let mut first_error = None;
    for piece in pieces {
        match piece {
            Ok(mut b) => bars.append(&mut b),
            Err(FetchError::NoData) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    // A failed piece fails the series: never a silently truncated history.
    if let Some(e) = first_error {
        return Err(e);
    }
    bars.sort_by_key(|b| b.start);
    bars.dedup_by_key(|b| b.start);
    if bars.is_empty() {
        Err(FetchError::NoData)
    } else {
        Ok(bars)
    }
}

/// With an exact adjustment asked, bars that say they carry another one are a failed answer
/// (the next provider is asked), never passed off as what was asked.
fn as_asked(
    bars: Result<Vec<Bar>, FetchError>,
    exact: Option<Adjustment>,
) -> Result<Vec<Bar>, FetchError> {
    let Some(asked) = exact else {
        return bars;
    };
    let bars = bars?;
    if let Some(served) = bars
        .iter()
        .find_map(|b| b.provenance.adjustment.filter(|&a| a != asked))
    {
        return Err(FetchError::malformed(format!(
            "{served}-adjusted bars came back for a {asked}-adjusted request"
        )));
    }
    Ok(bars)
}

impl HistoricalDataFetcher {
    /// A fetcher over `chain`, tried in order.
    #[must_use]
    pub fn new(chain: Vec<Arc<dyn BarSource>>, shared: Shared) -> Self {
        Self {
            chain,
            shared,
            exact: false,
        }
    }

    /// This fetcher, asking only providers that serve the query's adjustment exactly (its
    /// [`Capabilities::adjustments_for`](stockdata_ports::Capabilities::adjustments_for) the
    /// interval): what a caller that named an adjustment gets. A provider that answers with
    /// another adjustment anyway counts as failed (`malformed`) and the next is asked; when
    /// none can serve it, every symbol fails with `invalid_request` saying what each serves.
    /// Without it, each provider serves its own adjustment and every bar's provenance says
    /// which.
    #[must_use]
    pub fn exact(&self) -> Self {
        Self {
            exact: true,
            ..self.clone()
        }
    }

    /// Whether `source` may be asked for `query`.
    fn serves(&self, source: &dyn BarSource, query: &BatchBarQuery) -> bool {
        let caps = source.capabilities();
        caps.supports(query.interval)
            && (!self.exact
                || caps
                    .adjustments_for(query.interval)
                    .contains(&query.adjustment))
    }

    /// With [`Self::exact`], when no provider serves the query's interval in its adjustment:
    /// the error that says what each one serves.
    fn unservable(&self, query: &BatchBarQuery) -> Option<FetchError> {
        if !self.exact
            || self.chain.is_empty()
            || self.chain.iter().any(|s| self.serves(s.as_ref(), query))
        {
            return None;
        }
        let what: Vec<String> = self
            .chain
            .iter()
            .filter(|s| s.capabilities().supports(query.interval))
            .map(|s| {
                let served: Vec<&str> = s
                    .capabilities()
                    .adjustments_for(query.interval)
                    .iter()
                    .map(|a| a.as_str())
                    .collect();
                format!("{} serves {}", s.provider(), served.join(" or "))
            })
            .collect();
        Some(FetchError::InvalidRequest {
            reason: format!(
                "no configured provider serves {} bars with adjustment {}{}{}: ask for an \
                 adjustment one serves, or configure one that serves it (Alpaca serves all four)",
                query.interval,
                query.adjustment,
                if what.is_empty() { "" } else { " (" },
                if what.is_empty() {
                    String::new()
                } else {
                    format!("{})", what.join("; "))
                },
            ),
        })
    }

    /// The same chain under another bound, counters or budget (an agent run's).
    #[must_use]
    pub fn with_shared(mut self, shared: Shared) -> Self {
        self.shared = shared;
        self
    }

    /// Each provider in order, with what its port can do (what a plan is made from).
    #[must_use]
    pub fn capabilities(&self) -> Vec<(ProviderId, stockdata_ports::Capabilities)> {
        self.chain
            .iter()
            .map(|s| (s.provider(), s.capabilities().clone()))
            .collect()
    }

    /// The providers tried, in order.
    #[must_use]
    pub fn providers(&self) -> Vec<ProviderId> {
        self.chain.iter().map(|s| s.provider()).collect()
    }

    /// One report per requested symbol, in order: from the store where it covers the range
    /// (see [`StoreLayer`]), from the providers for the rest, with data-quality findings.
    pub async fn bars(&self, query: &BatchBarQuery) -> Vec<Report<Series>> {
        if let Some(error) = self.unservable(query) {
            return query
                .symbols
                .iter()
                .map(|s| Report {
                    symbol: s.clone(),
                    result: Err(error.clone()),
                    trail: Vec::new(),
                })
                .collect();
        }
        let raw = match &self.shared.store {
            Some(layer) => self.through_store(layer, query).await,
            None => self.fetch(query).await,
        };
        raw.into_iter()
            .map(|r| Report {
                symbol: r.symbol,
                trail: r.trail,
                result: r.result.map(|bars| Series {
                    findings: check_bars(&bars),
                    bars,
                }),
            })
            .collect()
    }

    /// Bars from the providers only, ranges split to what each takes per request.
    async fn fetch(&self, query: &BatchBarQuery) -> Vec<Report<Vec<Bar>>> {
        let hops = self
            .chain
            .iter()
            .map(|source| {
                let caps = source.capabilities();
                let pieces = query.range.split(caps.max_range_per_request);
                let (a, b) = (Arc::clone(source), Arc::clone(source));
                let (qa, qb) = (query.clone(), query.clone());
                let pieces_b = pieces.clone();
                let exact = self.exact.then_some(query.adjustment);
                Hop {
                    provider: source.provider(),
                    batch: caps.max_symbols_per_request > 1,
                    skip: !self.serves(source.as_ref(), query),
                    one: Box::new(move |s: Symbol| {
                        let a = Arc::clone(&a);
                        let q = qa.clone();
                        let pieces = pieces.clone();
                        Box::pin(async move {
                            let mut parts = Vec::with_capacity(pieces.len());
                            for range in pieces {
                                let mut piece = q.for_symbol(&s);
                                piece.range = range;
                                parts.push(a.bars(&piece).await);
                            }
                            as_asked(merge_pieces(parts), exact)
                        }) as BoxFuture<'static, _>
                    }),
                    many: Box::new(move |ss: Vec<Symbol>| {
                        let b = Arc::clone(&b);
                        let q = qb.clone();
                        let pieces = pieces_b.clone();
                        Box::pin(async move {
                            let mut per_symbol: HashMap<Symbol, Vec<Result<Vec<Bar>, FetchError>>> =
                                HashMap::new();
                            for range in pieces {
                                let piece = BatchBarQuery {
                                    symbols: ss.clone(),
                                    range,
                                    ..q.clone()
                                };
                                for answer in b.bars_batch(&piece).await {
                                    per_symbol
                                        .entry(answer.symbol)
                                        .or_default()
                                        .push(answer.result);
                                }
                            }
                            ss.iter()
                                .map(|s| SymbolResult {
                                    symbol: s.clone(),
                                    result: as_asked(
                                        merge_pieces(per_symbol.remove(s).unwrap_or_default()),
                                        exact,
                                    ),
                                })
                                .collect()
                        }) as BoxFuture<'static, _>
                    }),
                }
            })
            .collect();
        route::<Vec<Bar>>(hops, &query.symbols, &self.shared, "bars").await
    }
}

/// What one symbol needs from the providers, decided from its coverage.
struct Plan {
    key: SeriesKey,
    covered: Vec<TimeRange>,
    /// The newest stored bar before the fetched span, fetched again to detect restatements.
    anchor: Option<Bar>,
    fetch: TimeRange,
}

/// How far before a gap the newest stored bar may lie to be fetched again as an anchor.
const ANCHOR_REACH: SignedDuration = SignedDuration::from_hours(24 * 31);

/// Whether a provider's bar says something else than the stored one (a split restated an
/// adjusted series, or a print was corrected).
fn restated(stored: &Bar, fresh: &Bar) -> bool {
    (
        stored.open,
        stored.high,
        stored.low,
        stored.close,
        stored.volume,
    ) != (fresh.open, fresh.high, fresh.low, fresh.close, fresh.volume)
}

/// `fresh` bars over `stored` ones with the same start, inside `wanted`, oldest first.
fn overlay(mut stored: Vec<Bar>, fresh: &[Bar], wanted: TimeRange) -> Vec<Bar> {
    if fresh.is_empty() {
        // The store answers in order, one bar per start.
        return stored;
    }
    stored.extend(fresh.iter().filter(|b| wanted.contains(b.start)).cloned());
    // Stable sort: for one start the fresh bar comes last; keep it.
    stored.sort_by_key(|b| b.start);
    let mut out: Vec<Bar> = Vec::with_capacity(stored.len());
    for bar in stored {
        match out.last_mut() {
            Some(last) if last.start == bar.start => *last = bar,
            _ => out.push(bar),
        }
    }
    out
}

impl HistoricalDataFetcher {
    /// Bars through the store: answered from it where it covers the range, fetched and kept
    /// where it does not.
    async fn through_store(
        &self,
        layer: &StoreLayer,
        query: &BatchBarQuery,
    ) -> Vec<Report<Vec<Bar>>> {
        let now = layer.clock.now();
        let wanted = query.range;
        let mut done: HashMap<Symbol, Report<Vec<Bar>>> = HashMap::new();
        let mut plans: HashMap<Symbol, Plan> = HashMap::new();
        let mut groups: BTreeMap<(Timestamp, Timestamp), Vec<Symbol>> = BTreeMap::new();
        let mut bypass: Vec<Symbol> = Vec::new();
        let mut hits = 0;
        for symbol in &query.symbols {
            if done.contains_key(symbol) || plans.contains_key(symbol) || bypass.contains(symbol) {
                continue;
            }
            let key = layer.key(symbol, query.interval, query.adjustment);
            let covered = match layer.store.coverage(&key).await {
                Ok(c) => c,
                Err(e) if layer.offline => {
                    done.insert(symbol.clone(), failed(symbol, stored::store_error(&e)));
                    continue;
                }
                Err(e) => {
                    stored::bypassed(&e, "reading what it covers");
                    bypass.push(symbol.clone());
                    continue;
                }
            };
            let gaps = stored::bar_gaps(wanted, &covered, query.interval, now);
            let Some(fetch) = stored::hull(&gaps) else {
                hits += 1;
                let answer = read(layer, &key, wanted, &[]).await;
                done.insert(
                    symbol.clone(),
                    answered(symbol, answer, vec![stored::hit()]),
                );
                continue;
            };
            if layer.offline {
                let first = gaps.first().map_or(query.range.start(), TimeRange::start);
                let missing = format!(
                    "{symbol} {} {} bars for {}; fetch them first: stockdata sync {symbol} \
                     --from {} --interval {} --adjustment {} (or drop --offline)",
                    query.interval,
                    query.adjustment,
                    stored::describe_gaps(&gaps),
                    stockdata_domain::time::new_york_date(first),
                    query.interval,
                    query.adjustment,
                );
                done.insert(
                    symbol.clone(),
                    failed(symbol, FetchError::NotStored { missing }),
                );
                continue;
            }
            let anchor = match layer.store.last_bar_before(&key, fetch.start()).await {
                Ok(Some(bar))
                    if fetch
                        .start()
                        .checked_sub(ANCHOR_REACH)
                        .is_ok_and(|reach| bar.start >= reach) =>
                {
                    Some(bar)
                }
                _ => None,
            };
            let start = anchor.as_ref().map_or(fetch.start(), |b| b.start);
            let fetch = TimeRange::new(start, fetch.end()).unwrap_or(fetch);
            groups
                .entry((fetch.start(), fetch.end()))
                .or_default()
                .push(symbol.clone());
            plans.insert(
                symbol.clone(),
                Plan {
                    key,
                    covered,
                    anchor,
                    fetch,
                },
            );
        }
        self.shared.store_hits(hits);
        if !bypass.is_empty() {
            let q = BatchBarQuery {
                symbols: bypass,
                ..query.clone()
            };
            for report in self.fetch(&q).await {
                done.insert(report.symbol.clone(), report);
            }
        }
        for (symbols, range) in groups
            .into_iter()
            .map(|((a, b), ss)| (ss, TimeRange::new(a, b)))
        {
            let Ok(range) = range else { continue };
            let q = BatchBarQuery {
                symbols,
                range,
                ..query.clone()
            };
            for report in self.fetch(&q).await {
                let Some(plan) = plans.remove(&report.symbol) else {
                    continue;
                };
                let kept = self.keep(layer, plan, report, wanted, now).await;
                done.insert(kept.symbol.clone(), kept);
            }
        }
        query
            .symbols
            .iter()
            .map(|s| {
                done.get(s)
                    .cloned()
                    .unwrap_or_else(|| failed(s, self.shared.no_provider("bars")))
            })
            .collect()
    }

    /// Keeps one symbol's fetched bars (or the news that its span holds none) and answers the
    /// whole wanted range from the store and the fresh bars.
    async fn keep(
        &self,
        layer: &StoreLayer,
        plan: Plan,
        report: Report<Vec<Bar>>,
        wanted: TimeRange,
        now: Timestamp,
    ) -> Report<Vec<Bar>> {
        let Report {
            symbol,
            result,
            mut trail,
        } = report;
        let answered_by = trail
            .iter()
            .rev()
            .find(|a| a.outcome == Outcome::Ok || a.outcome == Outcome::Failed(ErrorKind::NoData))
            .map(|a| a.provider.clone());
        let bars = match result {
            Ok(bars) => bars,
            Err(FetchError::NoData) => Vec::new(),
            Err(e) => return failed_with(&symbol, e, trail),
        };
        if let Some(anchor) = &plan.anchor
            && let Some(fresh) = bars.iter().find(|b| b.start == anchor.start)
            && restated(anchor, fresh)
        {
            tracing::warn!(
                symbol = %symbol,
                interval = %plan.key.interval,
                adjustment = %plan.key.adjustment,
                bar = %anchor.start,
                stored_close = %anchor.close,
                provider_close = %fresh.close,
                "the provider restated history: the stored series is fetched again and replaced"
            );
            return self.replace(layer, plan, symbol, trail, wanted, now).await;
        }
        let provider = bars
            .first()
            .map(|b| b.provenance.provider.clone())
            .or(answered_by)
            .unwrap_or(stored::STORE);
        write(layer, &plan.key, plan.fetch, &bars, false, &provider, now).await;
        if !plan.covered.is_empty() {
            trail.insert(0, stored::hit());
        }
        let answer = read(layer, &plan.key, wanted, &bars).await;
        answered(&symbol, answer, trail)
    }

    /// Fetches the whole span the series covers (and the wanted range) again and replaces it.
    async fn replace(
        &self,
        layer: &StoreLayer,
        plan: Plan,
        symbol: Symbol,
        mut trail: Vec<Attempt>,
        wanted: TimeRange,
        now: Timestamp,
    ) -> Report<Vec<Bar>> {
        let mut spans = plan.covered.clone();
        spans.push(wanted);
        let Some(span) = stored::hull(&spans) else {
            return failed_with(&symbol, FetchError::NoData, trail);
        };
        let q = BatchBarQuery {
            symbols: vec![symbol.clone()],
            interval: plan.key.interval,
            range: span,
            adjustment: plan.key.adjustment,
        };
        let Some(again) = self.fetch(&q).await.pop() else {
            return failed_with(&symbol, self.shared.no_provider("bars"), trail);
        };
        trail.extend(again.trail);
        let bars = match again.result {
            Ok(bars) => bars,
            Err(e) => return failed_with(&symbol, e, trail),
        };
        let provider = bars
            .first()
            .map_or(stored::STORE, |b| b.provenance.provider.clone());
        write(layer, &plan.key, span, &bars, true, &provider, now).await;
        answered(&symbol, Ok(overlay(Vec::new(), &bars, wanted)), trail)
    }
}

/// Writes fetched bars with the final part of `span` as covered; a failure is logged (the
/// answer still comes from the fresh bars).
async fn write(
    layer: &StoreLayer,
    key: &SeriesKey,
    span: TimeRange,
    bars: &[Bar],
    replace: bool,
    provider: &ProviderId,
    now: Timestamp,
) {
    let covered = stored::final_part(span, now)
        .or_else(|| TimeRange::new(span.start(), span.start()).ok())
        .unwrap_or(span);
    if stored::refuse_synthetic(layer, bars.iter().map(|b| &b.provenance)) {
        return;
    }
    let write = BarsWrite {
        key,
        covered,
        bars,
        replace,
        provider,
        fetched_at: now,
    };
    if let Err(e) = layer.store.write_bars(write).await {
        tracing::warn!(error = %e, symbol = %key.symbol, "could not keep the bars in the store");
    }
}

/// The stored bars of `wanted` with `fresh` laid over them.
async fn read(
    layer: &StoreLayer,
    key: &SeriesKey,
    wanted: TimeRange,
    fresh: &[Bar],
) -> Result<Vec<Bar>, FetchError> {
    let stored = layer
        .store
        .bars(key, wanted)
        .await
        .map_err(|e| stored::store_error(&e))?;
    let bars = overlay(stored, fresh, wanted);
    if bars.is_empty() {
        Err(FetchError::NoData)
    } else {
        Ok(bars)
    }
}

fn answered(
    symbol: &Symbol,
    result: Result<Vec<Bar>, FetchError>,
    trail: Vec<Attempt>,
) -> Report<Vec<Bar>> {
    Report {
        symbol: symbol.clone(),
        result,
        trail,
    }
}

fn failed(symbol: &Symbol, e: FetchError) -> Report<Vec<Bar>> {
    failed_with(symbol, e, Vec::new())
}

fn failed_with(symbol: &Symbol, e: FetchError, trail: Vec<Attempt>) -> Report<Vec<Bar>> {
    Report {
        symbol: symbol.clone(),
        result: Err(e),
        trail,
    }
}
