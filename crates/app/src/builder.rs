//! The composition root: [`StockData::builder`] builds adapters from config, or takes any port
//! implementation the host injects, and hands out the fetchers and the agent. No global state:
//! two instances never share pacers, counters or clients.

use std::sync::Arc;
use std::time::Duration;

use stockdata_adapters_http::alpaca::{Alpaca, AlpacaConfig};
use stockdata_adapters_http::alpha_vantage::{AlphaVantage, AlphaVantageConfig};
use stockdata_adapters_http::finnhub::{Finnhub, FinnhubConfig};
use stockdata_adapters_http::serverless::{Serverless, ServerlessConfig};
use stockdata_adapters_http::transport::{PacerRegistry, RateWindow, TransportConfig};
use stockdata_domain::{FetchError, ProviderId};
use stockdata_ports::{BarSource, Clock, NewsSource, QuoteSource, SystemClock};

use crate::agent::StockDataAgent;
use crate::config::{Config, Provider, ProviderName};
use crate::fetch::{HistoricalDataFetcher, NewsFetcher, PriceFetcher, Shared};
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

    /// The watchlist agent.
    #[must_use]
    pub fn agent(&self) -> StockDataAgent {
        StockDataAgent::new(
            self.prices.clone(),
            self.history.clone(),
            self.news.clone(),
            self.config.agent,
            self.default_adjustment(),
            Arc::clone(&self.clock),
            Arc::clone(&self.pacers),
            self.shared.clone(),
        )
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

    /// The adjustment bars are asked for by default (`providers.alpaca.adjustment`).
    #[must_use]
    pub fn default_adjustment(&self) -> stockdata_domain::Adjustment {
        self.config
            .providers
            .alpaca
            .configured()
            .map_or(stockdata_domain::Adjustment::Raw, |a| a.adjustment)
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
}

/// A provider built from config, serving every port.
#[derive(Debug, Clone)]
struct Built {
    quotes: Arc<dyn QuoteSource>,
    bars: Arc<dyn BarSource>,
    news: Arc<dyn NewsSource>,
}

fn built<T: QuoteSource + BarSource + NewsSource + 'static>(adapter: T) -> Built {
    let a = Arc::new(adapter);
    Built {
        quotes: a.clone(),
        bars: a.clone(),
        news: a,
    }
}

fn transport(timeout: Duration) -> TransportConfig {
    TransportConfig {
        request_timeout: timeout,
        ..TransportConfig::default()
    }
}

impl StockDataBuilder {
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

    /// Marks every record of the built adapters synthetic (`--sandbox`): sandbox data must
    /// never be mistaken for market data.
    #[must_use]
    pub fn synthetic(mut self, synthetic: bool) -> Self {
        self.synthetic = synthetic;
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
    /// # Errors
    /// `Transport` when an HTTP client cannot be built; `InvalidRequest` when `only_provider`
    /// names a provider that is neither configured nor injected.
    pub fn build(self) -> Result<StockData, FetchError> {
        let config = self.config.unwrap_or_default();
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let pacers = Arc::new(PacerRegistry::new());
        let shared = Shared::new(config.agent.concurrency);
        let p = &config.providers;

        let mut adapters: Vec<(ProviderName, Built)> = Vec::new();
        if let Provider::Configured(s) = &p.alpha_vantage {
            let cfg = AlphaVantageConfig {
                base_url: s.base_url.clone(),
                transport: transport(s.timeout),
                windows: vec![
                    RateWindow::per_day(s.requests_per_day),
                    RateWindow::per_second(s.requests_per_second),
                ],
                ..AlphaVantageConfig::new(s.api_key.clone())
            };
            adapters.push((
                ProviderName::AlphaVantage,
                built(AlphaVantage::new(cfg, &pacers, Arc::clone(&clock))?),
            ));
        }
        if let Provider::Configured(s) = &p.finnhub {
            let cfg = FinnhubConfig {
                base_url: s.base_url.clone(),
                transport: transport(s.timeout),
                windows: vec![
                    RateWindow::per_minute(s.requests_per_minute),
                    RateWindow::per_second(s.requests_per_second),
                ],
                ..FinnhubConfig::new(s.api_key.clone())
            };
            adapters.push((
                ProviderName::Finnhub,
                built(Finnhub::new(cfg, &pacers, Arc::clone(&clock))?),
            ));
        }
        if let Provider::Configured(s) = &p.alpaca {
            let cfg = AlpacaConfig {
                base_url: s.base_url.clone(),
                feed: s.feed.clone(),
                transport: transport(s.timeout),
                windows: vec![RateWindow::per_minute(s.requests_per_minute)],
                ..AlpacaConfig::new(s.key_id.clone(), s.secret_key.clone())
            };
            adapters.push((
                ProviderName::Alpaca,
                built(Alpaca::new(cfg, &pacers, Arc::clone(&clock))?),
            ));
        }
        if let Provider::Configured(s) = &p.serverless {
            let cfg = ServerlessConfig {
                transport: transport(s.timeout),
                ..ServerlessConfig::new(s.base_url.clone(), s.token.clone())
            };
            adapters.push((
                ProviderName::Serverless,
                built(Serverless::new(cfg, &pacers, Arc::clone(&clock))?),
            ));
        }

        if self.synthetic {
            for (_, b) in &mut adapters {
                *b = Built {
                    quotes: Arc::new(Synthetic(Arc::clone(&b.quotes))),
                    bars: Arc::new(Synthetic(Arc::clone(&b.bars))),
                    news: Arc::new(Synthetic(Arc::clone(&b.news))),
                };
            }
        }
        let r = &config.routing;
        let quotes = chain(
            &r.quotes,
            self.quotes,
            &adapters,
            |b| b.quotes.clone(),
            |s| s.provider(),
            self.only.as_ref(),
        );
        let bars = chain(
            &r.bars,
            self.bars,
            &adapters,
            |b| b.bars.clone(),
            |s| s.provider(),
            self.only.as_ref(),
        );
        let news = chain(
            &r.news,
            self.news,
            &adapters,
            |b| b.news.clone(),
            |s| s.provider(),
            self.only.as_ref(),
        );
        if let Some(only) = &self.only
            && quotes.is_empty()
            && bars.is_empty()
            && news.is_empty()
        {
            return Err(FetchError::InvalidRequest {
                reason: format!(
                    "--provider {only}: that provider is not configured; `stockdata providers` says what to set"
                ),
            });
        }

        let status = status(&config, &quotes, &bars, &news);
        Ok(StockData {
            prices: PriceFetcher::new(quotes, shared.clone()),
            history: HistoricalDataFetcher::new(bars, shared.clone()),
            news: NewsFetcher::new(news, shared.clone()),
            config: Arc::new(config),
            clock,
            pacers,
            shared,
            status,
        })
    }
}

fn chain<S: ?Sized>(
    routing: &[ProviderName],
    injected: Vec<Arc<S>>,
    adapters: &[(ProviderName, Built)],
    pick: impl Fn(&Built) -> Arc<S>,
    id: impl Fn(&S) -> ProviderId,
    only: Option<&ProviderId>,
) -> Vec<Arc<S>> {
    let routed_ids: Vec<ProviderId> = routing.iter().map(|n| n.id()).collect();
    let mut out: Vec<Arc<S>> = injected
        .iter()
        .filter(|s| !routed_ids.contains(&id(s)))
        .cloned()
        .collect();
    for name in routing {
        if let Some(s) = injected.iter().find(|s| id(s) == name.id()) {
            out.push(Arc::clone(s));
        } else if let Some((_, b)) = adapters.iter().find(|(n, _)| n == name) {
            out.push(pick(b));
        }
    }
    if let Some(only) = only {
        out.retain(|s| &id(s) == only);
    }
    out
}

fn status(
    config: &Config,
    quotes: &[Arc<dyn QuoteSource>],
    bars: &[Arc<dyn BarSource>],
    news: &[Arc<dyn NewsSource>],
) -> Vec<ProviderStatus> {
    let p = &config.providers;
    ProviderName::ALL
        .into_iter()
        .map(|name| {
            let id = name.id();
            let (reason, limits): (Option<String>, Vec<String>) = match name {
                ProviderName::AlphaVantage => match &p.alpha_vantage {
                    Provider::Configured(s) => (
                        None,
                        vec![
                            format!("{}/day", s.requests_per_day),
                            format!("{}/s", s.requests_per_second),
                        ],
                    ),
                    Provider::Unconfigured { reason } => {
                        (Some(reason.clone()), vec!["25/day".into(), "1/s".into()])
                    }
                },
                ProviderName::Finnhub => match &p.finnhub {
                    Provider::Configured(s) => (
                        None,
                        vec![
                            format!("{}/min", s.requests_per_minute),
                            format!("{}/s", s.requests_per_second),
                        ],
                    ),
                    Provider::Unconfigured { reason } => {
                        (Some(reason.clone()), vec!["60/min".into(), "30/s".into()])
                    }
                },
                ProviderName::Alpaca => match &p.alpaca {
                    Provider::Configured(s) => {
                        (None, vec![format!("{}/min", s.requests_per_minute)])
                    }
                    Provider::Unconfigured { reason } => {
                        (Some(reason.clone()), vec!["200/min".into()])
                    }
                },
                ProviderName::Serverless => match &p.serverless {
                    Provider::Configured(_) => (None, vec!["unpaced".into()]),
                    Provider::Unconfigured { reason } => (Some(reason.clone()), vec![]),
                },
            };
            let credentials = match name {
                ProviderName::AlphaVantage => p.alpha_vantage.configured().is_some(),
                ProviderName::Finnhub => p.finnhub.configured().is_some(),
                ProviderName::Alpaca => p.alpaca.configured().is_some(),
                ProviderName::Serverless => {
                    p.serverless.configured().is_some_and(|s| s.token.is_some())
                }
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
            ProviderStatus {
                configured: reason.is_none(),
                provider: id,
                credentials,
                limits,
                reason,
                routed_for,
            }
        })
        .collect()
}
