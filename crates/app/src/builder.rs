//! The composition root: [`StockData::builder`] builds adapters from config, or takes any port
//! implementation the host injects, and hands out the fetchers and the agent. No global state:
//! two instances never share pacers, counters or clients (with `[quota] backend = "redis"` they
//! share provider budgets through Redis, which is the point).

use std::sync::Arc;

use stockdata_adapters_http::provider::{Adapter, BuildContext, describe_window};
use stockdata_adapters_http::transport::{PacerRegistry, QuotaStatus};
use stockdata_domain::{FetchError, ProviderId};
use stockdata_pacing_redis::RedisPacing;
use stockdata_ports::pacing::Pacing;
use stockdata_ports::stream::StreamSource;
use stockdata_ports::{BarSource, Clock, Dataset, NewsSource, QuoteSource, Store, SystemClock};

use crate::agent::StockDataAgent;
use crate::config::{Config, QuotaBackend, QuotaConfig};
use crate::fetch::{HistoricalDataFetcher, NewsFetcher, PriceFetcher, Shared, StoreLayer};
use crate::registry;
use crate::stream::{Reconnect, Streams};
use crate::synthetic::Synthetic;

/// Why a provider is or is not in use: what `stockdata providers` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderStatus {
    /// The provider.
    pub provider: ProviderId,
    /// Built and routed.
    pub configured: bool,
    /// Credentials present (never their value).
    pub credentials: bool,
    /// Quota windows in force (`25/day`, `1/s`).
    pub limits: Vec<String>,
    /// Why it is skipped, when it is.
    pub reason: Option<String>,
    /// Data kinds it is routed for.
    pub routed_for: Vec<&'static str>,
}

/// Everything a host needs: the three fetchers and the agent, built from one config.
#[derive(Debug, Clone)]
pub struct StockData {
    prices: PriceFetcher,
    history: HistoricalDataFetcher,
    news: NewsFetcher,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    pacers: Arc<PacerRegistry>,
    shared: Shared,
    status: Vec<ProviderStatus>,
    daily_quotas: Vec<(ProviderId, u64)>,
    streams: Arc<Streams>,
}

impl StockData {
    /// Starts a builder with the default config (no provider configured).
    #[must_use]
    pub fn builder() -> StockDataBuilder {
        StockDataBuilder::default()
    }

    /// Latest quotes.
    #[must_use]
    pub fn prices(&self) -> &PriceFetcher {
        &self.prices
    }

    /// Historical bars.
    #[must_use]
    pub fn history(&self) -> &HistoricalDataFetcher {
        &self.history
    }

    /// News.
    #[must_use]
    pub fn news(&self) -> &NewsFetcher {
        &self.news
    }

    /// The watchlist agent. Its runs have a quota budget of their own: at most
    /// `[agent] daily_quota_share` of each provider's daily quota per run; news follows
    /// `[news] merge`.
    #[must_use]
    pub fn agent(&self) -> StockDataAgent {
        // Each run counts its own calls; the bound on calls in flight stays shared.
        let shared = self
            .shared
            .clone()
            .with_budget(self.run_budget())
            .with_fresh_counters();
        StockDataAgent::new(
            self.prices.clone().with_shared(shared.clone()),
            self.history.clone().with_shared(shared.clone()),
            self.news
                .clone()
                .with_shared(shared.clone())
                .with_merge(self.config.news.merge),
            self.config.agent,
            self.default_adjustment(),
            Arc::clone(&self.clock),
            Arc::clone(&self.pacers),
            shared,
        )
    }

    /// Live streams: trades, quotes and minute bars from the providers that stream, one
    /// connection per provider shared by every reader (see [`crate::stream`]).
    #[must_use]
    pub fn streams(&self) -> &Arc<Streams> {
        &self.streams
    }

    /// Each provider's daily quota (requests a day), from its settings or the builder.
    #[must_use]
    pub fn daily_quotas(&self) -> &[(ProviderId, u64)] {
        &self.daily_quotas
    }

    /// Whether answers come from the store only (`--offline`).
    #[must_use]
    pub fn is_offline(&self) -> bool {
        self.shared.store.as_ref().is_some_and(|l| l.offline)
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The clock in use.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Every known provider and why it is or is not used.
    #[must_use]
    pub fn provider_status(&self) -> &[ProviderStatus] {
        &self.status
    }

    /// HTTP statistics per provider (requests, retries, throttles, pacing waits).
    #[must_use]
    pub fn pacers(&self) -> &Arc<PacerRegistry> {
        &self.pacers
    }

    /// Where provider quotas are kept and whether that store answers; `None` when they are
    /// kept in this process (`[quota] backend = "local"`).
    #[must_use]
    pub fn quota_status(&self) -> Option<QuotaStatus> {
        self.pacers.quota_status()
    }

    /// Asks the quota store now whether it answers (one round trip; nothing when quotas are
    /// kept in this process). An unreachable store switches every pacer to local pacing at
    /// `[quota] fallback_share`, as a failed request would.
    pub async fn check_quota_store(&self) -> Option<QuotaStatus> {
        self.pacers.check_quota_store().await
    }

    /// The adjustment bars are asked for by default (`providers.alpaca.adjustment`).
    #[must_use]
    pub fn default_adjustment(&self) -> stockdata_domain::Adjustment {
        self.config.providers.default_adjustment()
    }
}

/// Builds a [`StockData`].
#[derive(Debug, Default)]
pub struct StockDataBuilder {
    config: Option<Config>,
    clock: Option<Arc<dyn Clock>>,
    quotes: Vec<Arc<dyn QuoteSource>>,
    bars: Vec<Arc<dyn BarSource>>,
    news: Vec<Arc<dyn NewsSource>>,
    only: Option<ProviderId>,
    synthetic: bool,
    daily_quotas: Vec<(ProviderId, u64)>,
    store: Option<Arc<dyn Store>>,
    offline: bool,
    quota_store: Option<Arc<dyn Pacing>>,
    streams: Vec<Arc<dyn StreamSource>>,
}

impl StockDataBuilder {
    /// Keeps what is fetched in `store` and answers from it first (see
    /// [`StoreLayer`](crate::fetch::StoreLayer)); freshness from `[cache]`. Sandbox data
    /// (`synthetic`) is kept apart from market data.
    #[must_use]
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Answers from the store only (`--offline`): no provider is called; what the store does
    /// not hold fails with `not_stored`, saying what is missing.
    #[must_use]
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// Keeps provider quotas in `store` (a [`Pacing`] implementation, shared with whoever
    /// else uses it) instead of where `[quota]` says; `[quota] fallback_share` still applies
    /// while it is unreachable.
    #[must_use]
    pub fn quota_store(mut self, store: Arc<dyn Pacing>) -> Self {
        self.quota_store = Some(store);
        self
    }

    /// The configuration to build from.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Adds a quote source. One whose provider id is named in `[routing] quotes` takes that
    /// place (replacing the built-in adapter); others are tried first, in the order added.
    #[must_use]
    pub fn quote_source(mut self, source: Arc<dyn QuoteSource>) -> Self {
        self.quotes.push(source);
        self
    }

    /// Adds a bar source (placed as for [`quote_source`](Self::quote_source)).
    #[must_use]
    pub fn bar_source(mut self, source: Arc<dyn BarSource>) -> Self {
        self.bars.push(source);
        self
    }

    /// Adds a news source (placed as for [`quote_source`](Self::quote_source)).
    #[must_use]
    pub fn news_source(mut self, source: Arc<dyn NewsSource>) -> Self {
        self.news.push(source);
        self
    }

    /// Adds a stream source, ahead of the configured providers' (each channel goes to the
    /// first source that streams it).
    #[must_use]
    pub fn stream_source(mut self, source: Arc<dyn StreamSource>) -> Self {
        self.streams.push(source);
        self
    }

    /// Marks every record of the built adapters synthetic (`--sandbox`): sandbox data must
    /// never be mistaken for market data.
    #[must_use]
    pub fn synthetic(mut self, synthetic: bool) -> Self {
        self.synthetic = synthetic;
        self
    }

    /// Declares `provider`'s daily quota (requests a day), for an injected source whose
    /// limits config does not know; built adapters take theirs from their settings.
    #[must_use]
    pub fn daily_quota(mut self, provider: ProviderId, requests: u64) -> Self {
        self.daily_quotas.push((provider, requests));
        self
    }

    /// Uses this provider alone (`--provider`).
    #[must_use]
    pub fn only_provider(mut self, provider: ProviderId) -> Self {
        self.only = Some(provider);
        self
    }

    /// Builds the adapters for every configured provider and wires the fetchers.
    ///
    /// With quotas kept in Redis (`[quota] backend = "redis"`), nothing is connected here:
    /// within a tokio runtime the store is probed in the background (an unreachable one is
    /// reported at once, and paced around from the first request), else at first use.
    ///
    /// # Errors
    /// `Transport` when an HTTP client cannot be built; `InvalidRequest` when `only_provider`
    /// names a provider that is neither configured nor injected (the reason says what to
    /// set, or lists the known providers), or when `quota.redis_url` is not a usable Redis
    /// URL.
    pub fn build(self) -> Result<StockData, FetchError> {
        let config = self.config.unwrap_or_default();
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let pacers = Arc::new(pacer_registry(&config.quota, self.quota_store)?);
        pacers.check_quota_store_in_background();
        let hint: Vec<String> = config
            .providers
            .iter()
            .filter_map(|p| p.unconfigured_reason().map(|r| format!("{}: {r}", p.id())))
            .collect();
        let layer = self.store.map(|store| {
            let dataset = Dataset::of_synthetic(self.synthetic);
            let mut layer = StoreLayer::new(store, dataset, Arc::clone(&clock));
            layer.quotes_ttl = config.cache.quotes_ttl;
            layer.news_ttl = config.cache.news_ttl;
            layer.offline = self.offline;
            layer
        });
        if self.offline && layer.is_none() {
            return Err(FetchError::InvalidRequest {
                reason: "--offline reads the store, and none is in use: drop --no-store \
                         (or [store] enabled = false)"
                    .to_owned(),
            });
        }
        let shared = Shared::new(config.agent.concurrency)
            .with_unconfigured_hint(format!(
                "configure one, or run with --sandbox for synthetic data ({})",
                hint.join("; ")
            ))
            .with_store(layer);
        let ctx = BuildContext {
            pacers: &pacers,
            clock: Arc::clone(&clock),
        };

        let mut adapters: Vec<(ProviderId, Adapter)> = Vec::new();
        for p in config.providers.iter() {
            if !p.is_configured() || self.only.as_ref().is_some_and(|only| only != p.id()) {
                continue;
            }
            let mut adapter = p.settings.build(&ctx)?;
            if self.synthetic {
                adapter = synthetic(adapter);
            }
            adapters.push((p.id().clone(), adapter));
        }

        let r = &config.routing;
        let only = self.only.as_ref();
        let quotes = chain(
            &r.quotes,
            self.quotes,
            &adapters,
            |a| a.quotes.clone(),
            |s| s.provider(),
            only,
        );
        let bars = chain(
            &r.bars,
            self.bars,
            &adapters,
            |a| a.bars.clone(),
            |s| s.provider(),
            only,
        );
        let news = chain(
            &r.news,
            self.news,
            &adapters,
            |a| a.news.clone(),
            |s| s.provider(),
            only,
        );
        if let Some(only) = only
            && quotes.is_empty()
            && bars.is_empty()
            && news.is_empty()
        {
            let reason = match config.providers.get(only) {
                Some(p) => format!(
                    "--provider {only}: not configured: {}",
                    p.unconfigured_reason().unwrap_or_default()
                ),
                None => format!(
                    "--provider {only}: unknown provider: use {}",
                    registry::names()
                ),
            };
            return Err(FetchError::InvalidRequest { reason });
        }

        // Windows of a day or more are daily quotas: an agent run takes only its share.
        let mut daily_quotas = self.daily_quotas;
        for p in config.providers.iter().filter(|p| p.is_configured()) {
            if daily_quotas.iter().any(|(id, _)| id == p.id()) {
                continue;
            }
            if let Some(n) = p
                .settings
                .limits()
                .iter()
                .filter(|w| w.per >= std::time::Duration::from_secs(86_400))
                .map(|w| u64::from(w.requests.get()))
                .min()
            {
                daily_quotas.push((p.id().clone(), n));
            }
        }
        let status = status(&config, &quotes, &bars, &news);
        // Injected sources first, then the configured providers that stream, in the order
        // `[routing] quotes` gives live prices (then the registry's).
        let mut stream_sources = self.streams;
        let mut streaming: Vec<&crate::config::ProviderConfig> = config
            .providers
            .iter()
            .filter(|p| p.is_configured() && only.is_none_or(|o| o == p.id()))
            .collect();
        streaming.sort_by_key(|p| {
            r.quotes
                .iter()
                .position(|id| id == p.id())
                .unwrap_or(usize::MAX)
        });
        for p in streaming {
            match p.settings.build_stream(&ctx) {
                Some(Ok(source)) => stream_sources.push(source),
                Some(Err(e)) => {
                    tracing::debug!(provider = %p.id(), error = %e, "no stream: {e}");
                }
                None => {}
            }
        }
        let mut streams = Streams::new(stream_sources, Arc::clone(&clock), Reconnect::default());
        if self.synthetic {
            streams = streams.marked_synthetic();
        }
        Ok(StockData {
            prices: PriceFetcher::new(quotes, shared.clone()),
            history: HistoricalDataFetcher::new(bars, shared.clone()),
            news: NewsFetcher::new(news, shared.clone()).with_merge(config.news.merge),
            config: Arc::new(config),
            clock,
            pacers,
            shared,
            status,
            daily_quotas,
            streams: Arc::new(streams),
        })
    }
}

/// One registry per instance: budgets in this process, or in the shared store `[quota]` names
/// (or the host injected).
fn pacer_registry(
    quota: &QuotaConfig,
    injected: Option<Arc<dyn Pacing>>,
) -> Result<PacerRegistry, FetchError> {
    let store = match (injected, quota.backend) {
        (Some(store), _) => store,
        (None, QuotaBackend::Local) => return Ok(PacerRegistry::new()),
        (None, QuotaBackend::Redis) => {
            let url = quota
                .redis_url
                .as_ref()
                .ok_or_else(|| FetchError::InvalidRequest {
                    reason: format!(
                        "quota.backend is redis and no Redis URL is set: set {} (or \
                     quota.redis_url)",
                        crate::config::REDIS_URL_VAR
                    ),
                })?;
            let store = RedisPacing::new(url).map_err(|e| FetchError::InvalidRequest {
                reason: format!("quota.redis_url: {e}"),
            })?;
            Arc::new(store)
        }
    };
    Ok(PacerRegistry::shared(store, quota.fallback_share))
}

/// Marks every record of a built adapter synthetic (the sandbox).
fn synthetic(adapter: Adapter) -> Adapter {
    Adapter {
        quotes: adapter
            .quotes
            .map(|s| Arc::new(Synthetic(s)) as Arc<dyn QuoteSource>),
        bars: adapter
            .bars
            .map(|s| Arc::new(Synthetic(s)) as Arc<dyn BarSource>),
        news: adapter
            .news
            .map(|s| Arc::new(Synthetic(s)) as Arc<dyn NewsSource>),
    }
}

/// The sources for one kind of data, in the order they are tried: injected sources not named
/// in routing first, then routing's order (an injected source takes its provider's place).
/// With `only`, that provider alone, whatever routing says.
fn chain<S: ?Sized>(
    routing: &[ProviderId],
    injected: Vec<Arc<S>>,
    adapters: &[(ProviderId, Adapter)],
    pick: impl Fn(&Adapter) -> Option<Arc<S>>,
    id: impl Fn(&S) -> ProviderId,
    only: Option<&ProviderId>,
) -> Vec<Arc<S>> {
    let built = |name: &ProviderId| {
        adapters
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, a)| pick(a))
    };
    if let Some(only) = only {
        return injected
            .iter()
            .find(|s| &id(s) == only)
            .cloned()
            .or_else(|| built(only))
            .into_iter()
            .collect();
    }
    let mut out: Vec<Arc<S>> = injected
        .iter()
        .filter(|s| !routing.contains(&id(s)))
        .cloned()
        .collect();
    for name in routing {
        if let Some(s) = injected.iter().find(|s| &id(s) == name) {
            out.push(Arc::clone(s));
        } else if let Some(s) = built(name) {
            out.push(s);
        }
    }
    out
}

fn status(
    config: &Config,
    quotes: &[Arc<dyn QuoteSource>],
    bars: &[Arc<dyn BarSource>],
    news: &[Arc<dyn NewsSource>],
) -> Vec<ProviderStatus> {
    config
        .providers
        .iter()
        .map(|p| {
            let id = p.id().clone();
            let limits = p.settings.limits();
            let limits = if limits.is_empty() && p.is_configured() {
                vec!["unpaced".to_owned()]
            } else {
                limits.iter().map(describe_window).collect()
            };
            let mut routed_for = Vec::new();
            if quotes.iter().any(|s| s.provider() == id) {
                routed_for.push("quotes");
            }
            if bars.iter().any(|s| s.provider() == id) {
                routed_for.push("bars");
            }
            if news.iter().any(|s| s.provider() == id) {
                routed_for.push("news");
            }
            let reason = p.unconfigured_reason();
            ProviderStatus {
                configured: reason.is_none(),
                provider: id,
                credentials: p.settings.has_credentials(),
                limits,
                reason,
                routed_for,
            }
        })
        .collect()
}
