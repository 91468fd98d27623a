//! Typed configuration, loaded once: defaults, then `stockdata.toml`, then the providers'
//! conventional variables, then `STOCKDATA__SECTION__KEY` overrides.
//!
//! Loading takes a [`ConfigSources`] value: the environment is a map passed in, never read
//! here, so tests build configs without touching the process environment.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use stockdata_adapters_http::provider::{ProviderDescriptor, ProviderSettings, Serves, Settings};
use stockdata_domain::{Adjustment, ProviderId};
use url::Url;

use crate::fetch::NewsMerge;
use crate::registry;

/// The file looked for in the working directory when no path is given.
pub const DEFAULT_FILE: &str = "stockdata.toml";
/// Names the config file (`--config` wins over it).
pub const CONFIG_PATH_VAR: &str = "STOCKDATA_CONFIG";
/// Prefix of the `STOCKDATA__SECTION__KEY` overrides.
pub const OVERRIDE_PREFIX: &str = "STOCKDATA__";

/// `stockdata serve`'s one token (`serve.tokens`). Providers' variables are in their
/// descriptors.
pub const SERVE_TOKEN_VAR: &str = "STOCKDATA_SERVE_TOKEN";

/// The Redis that keeps provider quotas when `[quota] backend = "redis"` (`quota.redis_url`).
pub const REDIS_URL_VAR: &str = "STOCKDATA_REDIS_URL";
/// The PostgreSQL store's URL (`store.url`), a secret like the API keys.
pub const STORE_URL_VAR: &str = "STOCKDATA_STORE_URL";
/// OpenTelemetry's own variable for where spans go (`log.otlp_endpoint`).
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Where configuration comes from. Build it with [`ConfigSources::from_process`] in a binary, or
/// by hand in tests.
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    /// An explicit file (`--config`); it must exist.
    pub file: Option<PathBuf>,
    /// Environment variables.
    pub env: HashMap<String, String>,
    /// Where `stockdata.toml` is looked for when no file is named.
    pub cwd: PathBuf,
    /// Variables whose value is not UTF-8 text. One that stockdata reads is an error naming
    /// it; any other is ignored.
    pub not_unicode: Vec<String>,
}

impl ConfigSources {
    /// The process's environment and working directory: for the binary only.
    #[must_use]
    pub fn from_process(file: Option<PathBuf>) -> Self {
        // `std::env::vars` panics on a value that is not UTF-8, even an unrelated one.
        let mut env = HashMap::new();
        let mut not_unicode = Vec::new();
        for (name, value) in std::env::vars_os() {
            match (name.into_string(), value.into_string()) {
                (Ok(name), Ok(value)) => {
                    env.insert(name, value);
                }
                (Ok(name), Err(_)) => not_unicode.push(name),
                (Err(_), _) => {}
            }
        }
        Self {
            file,
            env,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            not_unicode,
        }
    }
}

/// Where a setting came from, named in every error about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// A config file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the default"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
        }
    }
}

/// A configuration that cannot be used, with what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The named file could not be read.
    #[error("cannot read config file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not TOML.
    #[error("{origin} is not valid TOML: {reason}")]
    Syntax {
        /// The file.
        origin: Origin,
        /// The parser's message.
        reason: String,
    },
    /// A variable stockdata reads holds bytes that are not UTF-8 text.
    #[error("environment variable {var} is not valid UTF-8 text: set it to text or unset it")]
    NotUnicode {
        /// The variable.
        var: String,
    },
    /// A key has an unusable value, or is not a known key.
    #[error("{key} (from {origin}): {message}")]
    Invalid {
        /// The dotted key (`providers.alpaca.feed`).
        key: String,
        /// Where its value came from.
        origin: Origin,
        /// What is wrong and what to do.
        message: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Typed configuration

/// The whole configuration. Serializing it gives the `config show` view: every section,
/// keyed like the file, secrets redacted.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Per-provider settings, one entry per registered provider.
    pub providers: Providers,
    /// Provider order per data kind.
    pub routing: Routing,
    /// Agent settings.
    pub agent: AgentConfig,
    /// News settings.
    pub news: NewsConfig,
    /// Logging.
    pub log: LogConfig,
    /// `stockdata serve`.
    pub serve: ServeConfig,
    /// The local store.
    pub store: StoreConfig,
    /// Freshness of what the store answers.
    pub cache: CacheConfig,
    /// Where provider quotas are kept. Shown only when set: a configuration that leaves it
    /// at its defaults (in-process quotas) shows what it always showed.
    #[serde(skip_serializing_if = "QuotaConfig::is_default")]
    pub quota: QuotaConfig,
    /// Where each setting came from (dotted key → origin), for `config show`.
    #[serde(skip)]
    pub origins: HashMap<String, Origin>,
}

/// One provider's settings, with its descriptor.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The provider.
    pub descriptor: &'static dyn ProviderDescriptor,
    /// Its settings (defaults where nothing was set).
    pub settings: Box<dyn ProviderSettings>,
}

impl ProviderConfig {
    /// The provider's id.
    #[must_use]
    pub fn id(&self) -> &ProviderId {
        self.descriptor.id()
    }

    /// Why it is skipped, when it is (what to set).
    #[must_use]
    pub fn unconfigured_reason(&self) -> Option<String> {
        self.settings.readiness().err()
    }

    /// Whether it can be built.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        self.settings.readiness().is_ok()
    }
}

/// Every registered provider's settings, in registry order.
#[derive(Debug, Clone)]
pub struct Providers(Vec<ProviderConfig>);

impl Providers {
    /// Defaults for every registered provider.
    #[must_use]
    pub fn defaults() -> Self {
        Self(
            registry::PROVIDERS
                .iter()
                .map(|d| ProviderConfig {
                    descriptor: *d,
                    settings: d.default_settings(),
                })
                .collect(),
        )
    }

    /// Every provider, in registry order.
    pub fn iter(&self) -> impl Iterator<Item = &ProviderConfig> {
        self.0.iter()
    }

    /// One provider's entry.
    #[must_use]
    pub fn get(&self, id: &ProviderId) -> Option<&ProviderConfig> {
        self.0.iter().find(|p| p.id() == id)
    }

    /// One provider's typed settings (`config.providers.settings::<FinnhubSettings>()`).
    #[must_use]
    pub fn settings<S: Settings>(&self) -> Option<&S> {
        self.0.iter().find_map(|p| p.settings.downcast::<S>())
    }

    /// Replaces a provider's settings.
    pub fn set(&mut self, id: &ProviderId, settings: Box<dyn ProviderSettings>) {
        if let Some(p) = self.0.iter_mut().find(|p| p.id() == id) {
            p.settings = settings;
        }
    }

    /// Points every provider at the sandbox: `base_url(id)` is its dialect's address.
    pub fn point_at_sandbox(&mut self, base_url: impl Fn(&ProviderId) -> Url) {
        for p in &mut self.0 {
            p.settings = p.settings.for_sandbox(base_url(p.descriptor.id()));
        }
    }

    /// The adjustment bars are asked for by default: the first provider whose settings name
    /// one (`providers.alpaca.adjustment`), else raw.
    #[must_use]
    pub fn default_adjustment(&self) -> Adjustment {
        self.0
            .iter()
            .find_map(|p| p.settings.default_adjustment())
            .unwrap_or_default()
    }
}

impl Serialize for Providers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for p in &self.0 {
            map.serialize_entry(p.id().as_str(), &p.settings.view())?;
        }
        map.end()
    }
}

/// `[routing]`: the order providers are tried in, per data kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routing {
    /// Quotes.
    #[serde(serialize_with = "ids")]
    pub quotes: Vec<ProviderId>,
    /// Bars.
    #[serde(serialize_with = "ids")]
    pub bars: Vec<ProviderId>,
    /// News (every configured provider is asked and the results merged).
    #[serde(serialize_with = "ids")]
    pub news: Vec<ProviderId>,
}

fn ids<S: serde::Serializer>(ids: &[ProviderId], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(ProviderId::as_str))
}

impl Default for Routing {
    fn default() -> Self {
        let order = |rank: fn(&Serves) -> Option<u8>| {
            let mut ranked: Vec<(u8, ProviderId)> = registry::PROVIDERS
                .iter()
                .filter_map(|d| rank(&d.serves()).map(|r| (r, d.id().clone())))
                .collect();
            ranked.sort_by_key(|(r, _)| *r);
            ranked.into_iter().map(|(_, id)| id).collect()
        };
        Self {
            quotes: order(|s| s.quotes),
            bars: order(|s| s.bars),
            news: order(|s| s.news),
        }
    }
}

/// `[agent]`
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AgentConfig {
    /// Provider calls in flight at once (default 4).
    pub concurrency: usize,
    /// Days of daily bars per symbol (default 30).
    pub history_days: u32,
    /// Days of news per symbol (default 3).
    pub news_days: u32,
    /// The most of a provider's daily quota one run may spend (default 0.5: Alpha Vantage's
    /// 25 a day must last the day).
    pub daily_quota_share: f64,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            history_days: 30,
            news_days: 3,
            daily_quota_share: 0.5,
        }
    }
}

/// `[news]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NewsConfig {
    /// Which providers the agent asks for news: `all`, `budget` (default) or `first`; see
    /// [`NewsMerge`].
    #[serde(serialize_with = "merge_name")]
    pub merge: NewsMerge,
}

fn merge_name<S: serde::Serializer>(m: &NewsMerge, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

/// `[serve]`: the HTTP service.
#[derive(Debug, Clone, Serialize)]
pub struct ServeConfig {
    /// Accepted bearer tokens (`tokens = [...]`, or `STOCKDATA_SERVE_TOKEN` for one). Required
    /// whenever the bind address is not loopback.
    #[serde(serialize_with = "redacted_list")]
    pub tokens: Vec<SecretString>,
    /// Symbols per request (default 100).
    pub max_symbols: usize,
    /// The longest bars/news range, in days (default 3660).
    pub max_range_days: u32,
    /// Time allowed per request (default 30000 ms).
    #[serde(rename = "request_timeout_ms", serialize_with = "millis")]
    pub request_timeout: Duration,
    /// Requests served at once; more get 503 + `Retry-After` (default 64).
    pub concurrency: usize,
    /// Time in-flight requests get to finish after SIGTERM / Ctrl-C (default 10000 ms).
    #[serde(rename = "grace_period_ms", serialize_with = "millis")]
    pub grace_period: Duration,
    /// Time a connection has to deliver a complete request head, from when it opens or from
    /// its previous response (default 10000 ms): bounds slow headers and idle keep-alive.
    #[serde(rename = "header_read_timeout_ms", serialize_with = "millis")]
    pub header_read_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog (default 1024).
    pub max_connections: usize,
    /// `/v1/stream` clients served at once; more get 503 + `Retry-After` (default 256).
    pub max_streams: usize,
    /// Events buffered for one `/v1/stream` client; a client that falls further behind is
    /// let go with a last event, never allowed to stall the others (default 4096).
    pub stream_buffer: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            max_symbols: 100,
            max_range_days: 3660,
            request_timeout: Duration::from_secs(30),
            concurrency: 64,
            grace_period: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_streams: 256,
            stream_buffer: 4096,
        }
    }
}

/// `[store]`: where fetched data is kept (see the README's "Store and sync").
#[derive(Debug, Clone, Serialize)]
pub struct StoreConfig {
    /// Keep fetched data and answer from it (default true; `--no-store` turns it off for one
    /// command).
    pub enabled: bool,
    /// The SQLite file (default: `store.sqlite` in the platform's data directory, e.g.
    /// `~/.local/share/stockdata/` on Linux).
    pub path: Option<std::path::PathBuf>,
    /// How long to wait for another process holding the store (default 10000 ms).
    #[serde(rename = "busy_timeout_ms", serialize_with = "millis")]
    pub busy_timeout: Duration,
    /// A PostgreSQL store several hosts share instead of the SQLite file
    /// (`postgres://user:password@host:port/db`), a secret: from `STOCKDATA_STORE_URL` or
    /// `store.url`; shown redacted.
    #[serde(
        serialize_with = "redacted_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<SecretString>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: None,
            busy_timeout: Duration::from_secs(10),
            url: None,
        }
    }
}

impl StoreConfig {
    /// The configured path, or the platform default (`None` when the platform has no home
    /// directory to put it in).
    #[must_use]
    pub fn resolved_path(&self) -> Option<std::path::PathBuf> {
        self.path.clone().or_else(default_store_path)
    }
}

/// `store.sqlite` in the platform's data directory for stockdata.
#[must_use]
pub fn default_store_path() -> Option<std::path::PathBuf> {
    directories::ProjectDirs::from("", "", "stockdata").map(|d| d.data_dir().join("store.sqlite"))
}

/// `[cache]`: how long what the store holds is answered without asking a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheConfig {
    /// A quote's freshness while the market is open (default 15 s); a quote fetched while it
    /// is closed stays fresh until the next open.
    #[serde(serialize_with = "seconds")]
    pub quotes_ttl: Duration,
    /// How recent a news fetch must be for the store to answer up to now (default 300 s).
    #[serde(serialize_with = "seconds")]
    pub news_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            quotes_ttl: crate::fetch::DEFAULT_QUOTES_TTL,
            news_ttl: crate::fetch::DEFAULT_NEWS_TTL,
        }
    }
}

/// Where provider quotas (the pacers' budgets) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaBackend {
    /// In this process: each process paces on its own (the default).
    #[default]
    Local,
    /// In Redis (`quota.redis_url`): every process using the same key shares its budget.
    Redis,
}

/// `[quota]`: where provider quotas are kept.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaConfig {
    /// `local` (default) or `redis`.
    pub backend: QuotaBackend,
    /// The Redis URL (`redis://[:password@]host[:port][/db]`), a secret: from
    /// `STOCKDATA_REDIS_URL` or `quota.redis_url`; shown redacted.
    #[serde(serialize_with = "redacted_option")]
    pub redis_url: Option<SecretString>,
    /// The share of every quota window each process paces to on its own while Redis is
    /// unreachable (default 0.25: four processes stay within the quota between them).
    pub fallback_share: f64,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            backend: QuotaBackend::Local,
            redis_url: None,
            fallback_share: DEFAULT_FALLBACK_SHARE,
        }
    }
}

/// `quota.fallback_share`'s default.
pub const DEFAULT_FALLBACK_SHARE: f64 = 0.25;

impl QuotaConfig {
    /// Nothing set: in-process quotas.
    #[must_use]
    pub fn is_default(&self) -> bool {
        self.backend == QuotaBackend::Local
            && self.redis_url.is_none()
            && self.fallback_share.to_bits() == DEFAULT_FALLBACK_SHARE.to_bits()
    }
}

fn redacted_option<S: serde::Serializer>(
    v: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str(stockdata_adapters_http::transport::REDACTED),
        None => s.serialize_none(),
    }
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}s", d.as_secs()))
}

fn redacted_list<S: serde::Serializer>(v: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        v.iter()
            .map(|_| stockdata_adapters_http::transport::REDACTED),
    )
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON lines.
    Json,
    /// Human-readable text.
    Pretty,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogConfig {
    /// `None`: JSON when stderr is not a terminal, pretty when it is.
    #[serde(serialize_with = "log_format")]
    pub format: Option<LogFormat>,
    /// An `EnvFilter` directive (`info`, `stockdata=debug,warn`).
    pub level: String,
    /// Where spans are exported over OTLP/HTTP (`http://collector:4318`; `/v1/traces` is
    /// appended), from `OTEL_EXPORTER_OTLP_ENDPOINT` or `log.otlp_endpoint`. Exported only by
    /// a binary built with the `otel` feature; shown redacted.
    #[serde(
        serialize_with = "redacted_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub otlp_endpoint: Option<Url>,
}

fn redacted_url<S: serde::Serializer>(v: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(url) => s.serialize_str(&stockdata_adapters_http::transport::redact_url(url)),
        None => s.serialize_none(),
    }
}

fn log_format<S: serde::Serializer>(f: &Option<LogFormat>, s: S) -> Result<S::Ok, S::Error> {
    match f {
        None => s.serialize_str("auto"),
        Some(f) => f.serialize(s),
    }
}

/// Checks an OTLP/HTTP endpoint: an `http` or `https` URL with a host.
fn otlp_endpoint(text: &str) -> Result<Url, String> {
    let shown = || stockdata_adapters_http::transport::redact_url_text(text);
    let url = Url::parse(text)
        .map_err(|e| format!("{:?} is not a URL ({e}): use http://HOST:4318", shown()))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(format!(
            "{:?} is not an http(s) URL with a host: use http://HOST:4318",
            shown()
        ));
    }
    Ok(url)
}

/// The levels `log.level` accepts, alone or after `target=`.
pub const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Checks a `log.level` filter: each comma-separated directive is a level, or `target=level`
/// (`info`, `warn,stockdata=debug`). An `EnvFilter` takes a bare misspelt level (`warning`) as
/// a target name and silently logs nothing; this does not.
///
/// # Errors
/// What is wrong, listing the valid levels.
pub fn check_log_level(filter: &str) -> Result<(), String> {
    let valid = || LOG_LEVELS.join(", ");
    if filter.trim().is_empty() {
        return Err(format!("the filter is empty: use one of {}", valid()));
    }
    for directive in filter.split(',').map(str::trim) {
        if directive.is_empty() {
            continue;
        }
        let level = directive
            .rsplit_once('=')
            .map_or(directive, |(_, l)| l)
            .trim();
        if !LOG_LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
            return Err(format!(
                "{filter:?} is not a log filter: {level:?} is not a level: use one of {}, \
                 optionally as target=level",
                valid()
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "{filter:?} is not a log filter ({e}): use one of {}",
                valid()
            )
        })
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: None,
            level: "warn".to_owned(),
            otlp_endpoint: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    providers: toml::Table,
    #[serde(default)]
    routing: RawRouting,
    #[serde(default)]
    agent: RawAgent,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    serve: RawServe,
    #[serde(default)]
    news: RawNews,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    cache: RawCache,
    #[serde(default)]
    quota: RawQuota,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuota {
    backend: Option<String>,
    redis_url: Option<String>,
    fallback_share: Option<f64>,
}

impl fmt::Debug for RawQuota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawQuota")
            .field("backend", &self.backend)
            .field("redis_url", &self.redis_url.as_ref().map(|_| "REDACTED"))
            .field("fallback_share", &self.fallback_share)
            .finish()
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    enabled: Option<bool>,
    path: Option<String>,
    busy_timeout_ms: Option<i64>,
    url: Option<String>,
}

impl fmt::Debug for RawStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawStore")
            .field("enabled", &self.enabled)
            .field("path", &self.path)
            .field("busy_timeout_ms", &self.busy_timeout_ms)
            .field("url", &self.url.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    quotes_ttl: Option<RawDuration>,
    news_ttl: Option<RawDuration>,
}

/// Seconds, or a duration such as `"15s"`, `"2m"` or `"1h 30m"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawDuration {
    Seconds(i64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNews {
    merge: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServe {
    tokens: Option<Tokens>,
    max_symbols: Option<i64>,
    max_range_days: Option<i64>,
    request_timeout_ms: Option<i64>,
    concurrency: Option<i64>,
    grace_period_ms: Option<i64>,
    header_read_timeout_ms: Option<i64>,
    max_connections: Option<i64>,
    max_streams: Option<i64>,
    stream_buffer: Option<i64>,
}

/// `tokens = ["a", "b"]`, or one token as a string. Never echoed in an error or Debug.
struct Tokens(Vec<String>);

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tokens({} REDACTED)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for Tokens {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        match OneOrMany::deserialize(d) {
            Ok(OneOrMany::One(t)) => Ok(Self(vec![t])),
            Ok(OneOrMany::Many(t)) => Ok(Self(t)),
            Err(_) => Err(serde::de::Error::custom(
                "must be a list of token strings, like tokens = [\"...\"] (value not shown)",
            )),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouting {
    quotes: Option<Vec<String>>,
    bars: Option<Vec<String>>,
    news: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    concurrency: Option<i64>,
    history_days: Option<i64>,
    news_days: Option<i64>,
    daily_quota_share: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    format: Option<String>,
    level: Option<String>,
    otlp_endpoint: Option<String>,
}

/// The conventional variables: every provider's (from the registry), then stockdata's own.
fn conventional_vars() -> impl Iterator<Item = (&'static str, String)> {
    registry::PROVIDERS
        .iter()
        .flat_map(|d| {
            d.env_vars()
                .iter()
                .map(move |v| (v.name, format!("providers.{}.{}", d.id(), v.key)))
        })
        .chain([
            (SERVE_TOKEN_VAR, "serve.tokens".to_owned()),
            (REDIS_URL_VAR, "quota.redis_url".to_owned()),
            (STORE_URL_VAR, "store.url".to_owned()),
            (OTLP_ENDPOINT_VAR, "log.otlp_endpoint".to_owned()),
        ])
}

/// Whether a variable is one stockdata reads (so a value that is not text is an error, not
/// something to ignore).
fn is_ours(var: &str) -> bool {
    var == CONFIG_PATH_VAR
        || var.starts_with(OVERRIDE_PREFIX)
        || conventional_vars().any(|(name, _)| name == var)
}

/// Loads the configuration from `sources`.
///
/// # Errors
/// [`ConfigError`] naming the key and where its value came from.
pub fn load(sources: &ConfigSources) -> Result<Config, ConfigError> {
    if let Some(var) = sources.not_unicode.iter().find(|v| is_ours(v)) {
        return Err(ConfigError::NotUnicode { var: var.clone() });
    }
    let mut table = toml::Table::new();
    let mut origins: HashMap<String, Origin> = HashMap::new();

    let file = match (&sources.file, sources.env.get(CONFIG_PATH_VAR)) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(path)) if !path.is_empty() => Some(PathBuf::from(path)),
        (None, _) => {
            let default = sources.cwd.join(DEFAULT_FILE);
            default.is_file().then_some(default)
        }
    };
    if let Some(path) = file {
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        table = parse_file(&text, &path)?;
        let origin = Origin::File(path);
        record_origins(&table, "", &origin, &mut origins);
    }

    for (var, key) in conventional_vars() {
        if let Some(value) = sources.env.get(var) {
            let value = if key == "serve.tokens" {
                toml::Value::Array(vec![toml::Value::String(value.clone())])
            } else {
                toml::Value::String(value.clone())
            };
            set(&mut table, &key, value);
            origins.insert(key, Origin::Env(var.to_owned()));
        }
    }
    let mut overrides: Vec<(&String, &String)> = sources
        .env
        .iter()
        .filter(|(k, _)| k.starts_with(OVERRIDE_PREFIX))
        .collect();
    overrides.sort();
    for (var, value) in overrides {
        let key = var
            .get(OVERRIDE_PREFIX.len()..)
            .unwrap_or_default()
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
            .join(".");
        let origin = Origin::Env(var.clone());
        let parsed = override_value(&key, value).map_err(|message| ConfigError::Invalid {
            key: key.clone(),
            origin: origin.clone(),
            message,
        })?;
        set(&mut table, &key, parsed);
        let mut section = key.as_str();
        while let Some(i) = section.rfind('.') {
            section = section.get(..i).unwrap_or_default();
            origins
                .entry(section.to_owned())
                .or_insert_with(|| origin.clone());
        }
        origins.insert(key, origin);
    }

    from_table(table, origins)
}

/// Parses config text as if it came from `path` (for tests and `config show`).
///
/// # Errors
/// As [`load`].
pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let table = parse_file(text, path)?;
    let mut origins = HashMap::new();
    record_origins(&table, "", &Origin::File(path.to_path_buf()), &mut origins);
    from_table(table, origins)
}

/// The file's table, or an error with the line and column, naming the key when the line
/// holds one (a number too large for TOML is a syntax error, but the user needs the key).
fn parse_file(text: &str, path: &Path) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| {
        let origin = Origin::File(path.to_path_buf());
        let message = e.message().trim().to_owned();
        let Some(span) = e.span() else {
            return ConfigError::Syntax {
                origin,
                reason: message,
            };
        };
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let reason = format!("line {line}, column {column}: {message}");
        match key_on_line(text, line) {
            Some(key) => ConfigError::Invalid {
                key,
                origin,
                message: reason,
            },
            None => ConfigError::Syntax { origin, reason },
        }
    })
}

/// `section.key` for a `key = value` line (1-based), from the nearest `[section]` above it.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?;
    let (key, _) = here.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let section = lines
        .get(..line.saturating_sub(1))?
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    Some(match section {
        Some(section) if !section.is_empty() => format!("{section}.{key}"),
        _ => key.to_owned(),
    })
}

fn record_origins(
    table: &toml::Table,
    prefix: &str,
    origin: &Origin,
    out: &mut HashMap<String, Origin>,
) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let toml::Value::Table(inner) = v {
            record_origins(inner, &key, origin, out);
        }
        out.insert(key, origin.clone());
    }
}

fn set(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.to_owned(), value);
}

/// Keys of stockdata's own sections whose override text is a number. Provider settings take
/// numbers from text themselves; everything else stays text (an API key that happens to be
/// all digits must not become an integer).
const NUMERIC_KEYS: &[&str] = &[
    "agent.concurrency",
    "agent.history_days",
    "agent.news_days",
    "serve.max_symbols",
    "serve.max_range_days",
    "serve.request_timeout_ms",
    "serve.concurrency",
    "serve.grace_period_ms",
    "serve.header_read_timeout_ms",
    "serve.max_connections",
    "serve.max_streams",
    "serve.stream_buffer",
    "store.busy_timeout_ms",
];

fn override_value(key: &str, text: &str) -> Result<toml::Value, String> {
    if key == "store.enabled" {
        return match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("{text:?} is not a switch: use true or false")),
        };
    }
    if key == "quota.fallback_share" {
        return text
            .trim()
            .parse::<f64>()
            .map(toml::Value::Float)
            .map_err(|_| format!("{text:?} is not a number: use a share such as 0.25"));
    }
    if key == "agent.daily_quota_share" {
        return text
            .trim()
            .parse::<f64>()
            .map(toml::Value::Float)
            .map_err(|_| format!("{text:?} is not a number: use a share such as 0.5"));
    }
    if NUMERIC_KEYS.contains(&key) {
        return text
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("{text:?} is not a whole number"));
    }
    if key.starts_with("routing.") || key == "serve.tokens" {
        return Ok(toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ));
    }
    Ok(toml::Value::String(text.to_owned()))
}

struct Ctx<'a> {
    origins: &'a HashMap<String, Origin>,
}

impl Ctx<'_> {
    fn origin(&self, key: &str) -> Origin {
        // The key itself, or the closest enclosing section that was set.
        let mut k = key;
        loop {
            if let Some(o) = self.origins.get(k) {
                return o.clone();
            }
            match k.rfind('.') {
                Some(i) => k = k.get(..i).unwrap_or_default(),
                None => return Origin::Default,
            }
        }
    }

    fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: key.to_owned(),
            origin: self.origin(key),
            message: message.into(),
        }
    }

    fn int(
        &self,
        key: &str,
        value: Option<i64>,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, ConfigError> {
        let n = value.unwrap_or(default);
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(self.invalid(
                key,
                format!(
                    "{n} is out of range: use {} to {}",
                    range.start(),
                    range.end()
                ),
            ))
        }
    }

    /// A duration of at most a day: whole seconds, or text such as `15s`, `2m`, `1h 30m`.
    fn duration(
        &self,
        key: &str,
        value: Option<RawDuration>,
        default_secs: u64,
    ) -> Result<Duration, ConfigError> {
        const DAY: u64 = 86_400;
        let hint = "use whole seconds or a duration such as \"15s\", \"2m\" or \"1h 30m\", \
                    at most a day";
        let secs = match value {
            None => return Ok(Duration::from_secs(default_secs)),
            Some(RawDuration::Seconds(n)) => u64::try_from(n)
                .ok()
                .ok_or_else(|| self.invalid(key, format!("{n} is negative: {hint}")))?,
            Some(RawDuration::Text(text)) => match text.trim().parse::<u64>() {
                Ok(n) => n,
                Err(_) => text
                    .trim()
                    .parse::<jiff::SignedDuration>()
                    .ok()
                    .and_then(|d| u64::try_from(d.as_secs()).ok())
                    .ok_or_else(|| {
                        self.invalid(key, format!("{text:?} is not a duration: {hint}"))
                    })?,
            },
        };
        if secs > DAY {
            return Err(self.invalid(key, format!("{secs} s is more than a day: {hint}")));
        }
        Ok(Duration::from_secs(secs))
    }

    fn routing(
        &self,
        key: &str,
        value: Option<Vec<String>>,
        default: Vec<ProviderId>,
    ) -> Result<Vec<ProviderId>, ConfigError> {
        let Some(names) = value else {
            return Ok(default);
        };
        let mut out: Vec<ProviderId> = Vec::with_capacity(names.len());
        for name in names {
            let provider = registry::find(name.trim()).ok_or_else(|| {
                self.invalid(
                    key,
                    format!("unknown provider {name:?}: use {}", registry::names()),
                )
            })?;
            let id = provider.id().clone();
            if out.contains(&id) {
                return Err(self.invalid(key, format!("{name:?} is listed twice")));
            }
            out.push(id);
        }
        Ok(out)
    }

    fn quota(&self, raw: RawQuota) -> Result<QuotaConfig, ConfigError> {
        let backend = match raw.backend.as_deref().map(str::trim) {
            None | Some("local") => QuotaBackend::Local,
            Some("redis") => QuotaBackend::Redis,
            Some(other) => {
                return Err(self.invalid(
                    "quota.backend",
                    format!("unknown backend {other:?}: use local or redis"),
                ));
            }
        };
        let redis_url = secret(raw.redis_url);
        if let Some(url) = &redis_url {
            // The message names what is wrong, never the URL (it may hold a password).
            stockdata_pacing_redis::redact(secrecy::ExposeSecret::expose_secret(url).trim())
                .map_err(|e| self.invalid("quota.redis_url", e.to_string()))?;
        } else if backend == QuotaBackend::Redis {
            return Err(self.invalid(
                "quota.backend",
                format!(
                    "quotas kept in Redis need its URL: set {REDIS_URL_VAR} (or \
                     quota.redis_url), e.g. redis://127.0.0.1:6379"
                ),
            ));
        }
        let fallback_share = match raw.fallback_share {
            None => DEFAULT_FALLBACK_SHARE,
            Some(x) if x > 0.0 && x <= 1.0 => x,
            Some(x) => {
                return Err(self.invalid(
                    "quota.fallback_share",
                    format!(
                        "{x} is out of range: use a share above 0 and at most 1 (0.25 = a \
                         quarter of every window per process while Redis is unreachable)"
                    ),
                ));
            }
        };
        Ok(QuotaConfig {
            backend,
            redis_url,
            fallback_share,
        })
    }

    fn providers(&self, mut sections: toml::Table) -> Result<Providers, ConfigError> {
        let mut providers = Providers::defaults();
        if let Some(unknown) = sections.keys().find(|k| registry::find(k).is_none()) {
            return Err(self.invalid(
                &format!("providers.{unknown}"),
                format!(
                    "unknown provider: use {} (remove it or fix its spelling)",
                    registry::names()
                ),
            ));
        }
        for p in &mut providers.0 {
            let id = p.descriptor.id().as_str();
            let Some(section) = sections.remove(id) else {
                continue;
            };
            let value = serde_json::to_value(&section)
                .map_err(|e| self.invalid(&format!("providers.{id}"), e.to_string()))?;
            if !value.is_object() {
                return Err(self.invalid(
                    &format!("providers.{id}"),
                    "must be a table: [providers.NAME] with key = value lines",
                ));
            }
            p.settings = p.descriptor.settings(value).map_err(|e| {
                let key = if e.key == "." {
                    format!("providers.{id}")
                } else {
                    format!("providers.{id}.{}", e.key)
                };
                self.invalid(&key, e.message)
            })?;
        }
        Ok(providers)
    }
}

fn secret(value: Option<String>) -> Option<SecretString> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| SecretString::from(v.trim().to_owned()))
}

fn from_table(table: toml::Table, origins: HashMap<String, Origin>) -> Result<Config, ConfigError> {
    let ctx = Ctx { origins: &origins };
    let raw: RawConfig =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner().to_string();
            let message = if inner.contains("unknown field") {
                format!("{inner}: remove it or fix its spelling")
            } else {
                // serde's type names mean nothing to a user editing TOML.
                inner
                    .replace("expected i64", "expected a whole number (no quotes)")
                    .replace("expected f64", "expected a number (no quotes)")
                    .replace("expected a boolean", "expected true or false (no quotes)")
            };
            ctx.invalid(&key, message)
        })?;

    let providers = ctx.providers(raw.providers)?;

    let defaults = Routing::default();
    let routing = Routing {
        quotes: ctx.routing("routing.quotes", raw.routing.quotes, defaults.quotes)?,
        bars: ctx.routing("routing.bars", raw.routing.bars, defaults.bars)?,
        news: ctx.routing("routing.news", raw.routing.news, defaults.news)?,
    };

    let agent_defaults = AgentConfig::default();
    let agent = AgentConfig {
        concurrency: usize::try_from(ctx.int(
            "agent.concurrency",
            raw.agent.concurrency,
            4,
            1..=256,
        )?)
        .unwrap_or(agent_defaults.concurrency),
        history_days: u32::try_from(ctx.int(
            "agent.history_days",
            raw.agent.history_days,
            30,
            1..=36_500,
        )?)
        .unwrap_or(agent_defaults.history_days),
        news_days: u32::try_from(ctx.int("agent.news_days", raw.agent.news_days, 3, 1..=365)?)
            .unwrap_or(agent_defaults.news_days),
        daily_quota_share: match raw.agent.daily_quota_share {
            None => agent_defaults.daily_quota_share,
            Some(x) if x > 0.0 && x <= 1.0 => x,
            Some(x) => {
                return Err(ctx.invalid(
                    "agent.daily_quota_share",
                    format!("{x} is out of range: use a share above 0 and at most 1 (0.5 = half)"),
                ));
            }
        },
    };

    let news = NewsConfig {
        merge: match raw.news.merge.as_deref() {
            None => NewsMerge::default(),
            Some(text) => NewsMerge::parse(text).ok_or_else(|| {
                ctx.invalid(
                    "news.merge",
                    format!("unknown policy {text:?}: use all, budget or first"),
                )
            })?,
        },
    };

    let format = match raw.log.format.as_deref().map(str::trim) {
        None | Some("" | "auto") => None,
        Some("json") => Some(LogFormat::Json),
        Some("pretty" | "text") => Some(LogFormat::Pretty),
        Some(other) => {
            return Err(ctx.invalid(
                "log.format",
                format!("unknown format {other:?}: use json or pretty"),
            ));
        }
    };
    let level = raw.log.level.unwrap_or_else(|| LogConfig::default().level);
    check_log_level(&level).map_err(|message| ctx.invalid("log.level", message))?;
    let otlp_endpoint = match raw.log.otlp_endpoint.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(otlp_endpoint(text).map_err(|m| ctx.invalid("log.otlp_endpoint", m))?),
    };

    let sv = raw.serve;
    let to_usize = |n: i64| usize::try_from(n).unwrap_or(1);
    let ms = |n: i64| Duration::from_millis(u64::try_from(n).unwrap_or(1));
    let serve = ServeConfig {
        tokens: sv
            .tokens
            .map(|t| t.0)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| secret(Some(t)))
            .collect(),
        max_symbols: to_usize(ctx.int("serve.max_symbols", sv.max_symbols, 100, 1..=1000)?),
        max_range_days: u32::try_from(ctx.int(
            "serve.max_range_days",
            sv.max_range_days,
            3660,
            1..=36_600,
        )?)
        .unwrap_or(3660),
        request_timeout: ms(ctx.int(
            "serve.request_timeout_ms",
            sv.request_timeout_ms,
            30_000,
            1..=600_000,
        )?),
        concurrency: to_usize(ctx.int("serve.concurrency", sv.concurrency, 64, 1..=10_000)?),
        grace_period: ms(ctx.int(
            "serve.grace_period_ms",
            sv.grace_period_ms,
            10_000,
            0..=600_000,
        )?),
        header_read_timeout: ms(ctx.int(
            "serve.header_read_timeout_ms",
            sv.header_read_timeout_ms,
            10_000,
            100..=600_000,
        )?),
        max_connections: to_usize(ctx.int(
            "serve.max_connections",
            sv.max_connections,
            1024,
            1..=100_000,
        )?),
        max_streams: to_usize(ctx.int("serve.max_streams", sv.max_streams, 256, 1..=100_000)?),
        stream_buffer: to_usize(ctx.int(
            "serve.stream_buffer",
            sv.stream_buffer,
            4096,
            16..=1_000_000,
        )?),
    };

    let store_url = secret(raw.store.url.clone());
    if let Some(url) = &store_url {
        // The message names what is wrong, never the URL (it may hold a password).
        if !stockdata_store_postgres::is_postgres_url(
            secrecy::ExposeSecret::expose_secret(url).trim(),
        ) {
            return Err(ctx.invalid(
                "store.url",
                "not a PostgreSQL URL: use postgres://user:password@host:port/database (the \
                 SQLite store is store.path)"
                    .to_owned(),
            ));
        }
        if raw
            .store
            .path
            .as_deref()
            .is_some_and(|p| !p.trim().is_empty())
        {
            return Err(ctx.invalid(
                "store.url",
                "store.url and store.path are both set: keep one (url for PostgreSQL, path for \
                 the SQLite file)"
                    .to_owned(),
            ));
        }
    }
    let store = StoreConfig {
        url: store_url,
        enabled: raw.store.enabled.unwrap_or(true),
        path: match raw.store.path.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => Some(std::path::PathBuf::from(p)),
        },
        busy_timeout: ms(ctx.int(
            "store.busy_timeout_ms",
            raw.store.busy_timeout_ms,
            10_000,
            0..=600_000,
        )?),
    };
    let cache = CacheConfig {
        quotes_ttl: ctx.duration("cache.quotes_ttl", raw.cache.quotes_ttl, 15)?,
        news_ttl: ctx.duration("cache.news_ttl", raw.cache.news_ttl, 300)?,
    };
    let quota = ctx.quota(raw.quota)?;

    Ok(Config {
        serve,
        store,
        cache,
        quota,
        providers,
        routing,
        agent,
        news,
        log: LogConfig {
            format,
            level,
            otlp_endpoint,
        },
        origins,
    })
}

impl Default for Config {
    fn default() -> Self {
        Self {
            providers: Providers::defaults(),
            routing: Routing::default(),
            agent: AgentConfig::default(),
            news: NewsConfig::default(),
            log: LogConfig::default(),
            serve: ServeConfig::default(),
            store: StoreConfig::default(),
            cache: CacheConfig::default(),
            quota: QuotaConfig::default(),
            origins: HashMap::new(),
        }
    }
}
