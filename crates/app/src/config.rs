//! Typed configuration, loaded once: defaults, then `stockdata.toml`, then the providers'
//! conventional variables, then `STOCKDATA__SECTION__KEY` overrides.
//!
//! Loading takes a [`ConfigSources`] value: the environment is a map passed in, never read
//! here, so tests build configs without touching the process environment.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use stockdata_domain::{Adjustment, ProviderId};
use url::Url;

/// The file looked for in the working directory when no path is given.
pub const DEFAULT_FILE: &str = "stockdata.toml";
/// Names the config file (`--config` wins over it).
pub const CONFIG_PATH_VAR: &str = "STOCKDATA_CONFIG";
/// Prefix of the `STOCKDATA__SECTION__KEY` overrides.
pub const OVERRIDE_PREFIX: &str = "STOCKDATA__";

/// The providers' conventional variables and the keys they set.
pub const CONVENTIONAL_VARS: &[(&str, &str)] = &[
    ("ALPHAVANTAGE_API_KEY", "providers.alpha_vantage.api_key"),
    ("FINNHUB_API_KEY", "providers.finnhub.api_key"),
    ("APCA_API_KEY_ID", "providers.alpaca.key_id"),
    ("APCA_API_SECRET_KEY", "providers.alpaca.secret_key"),
    ("STOCKDATA_SERVERLESS_TOKEN", "providers.serverless.token"),
    ("STOCKDATA_SERVE_TOKEN", "serve.tokens"),
];

/// Keys whose override text is read as a number; everything else stays text (an API key that
/// happens to be all digits must not become an integer).
const NUMERIC_KEYS: &[&str] = &[
    "requests_per_day",
    "requests_per_second",
    "requests_per_minute",
    "timeout_ms",
    "concurrency",
    "history_days",
    "news_days",
    "max_symbols",
    "max_range_days",
    "request_timeout_ms",
    "grace_period_ms",
];

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
}

impl ConfigSources {
    /// The process's environment and working directory: for the binary only.
    #[must_use]
    pub fn from_process(file: Option<PathBuf>) -> Self {
        Self {
            file,
            env: std::env::vars().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
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

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Per-provider settings.
    pub providers: Providers,
    /// Provider order per data kind.
    pub routing: Routing,
    /// Agent settings.
    pub agent: AgentConfig,
    /// Logging.
    pub log: LogConfig,
    /// `stockdata serve`.
    pub serve: ServeConfig,
    /// Where each setting came from (dotted key → origin), for `config show`.
    pub origins: HashMap<String, Origin>,
}

/// A provider is configured, or skipped for a stated reason.
#[derive(Debug, Clone)]
pub enum Provider<T> {
    /// Credentials present; ready to build.
    Configured(T),
    /// Skipped by routing; the reason says what to set.
    Unconfigured {
        /// E.g. "no API key: set ALPHAVANTAGE_API_KEY or providers.alpha_vantage.api_key".
        reason: String,
    },
}

impl<T> Provider<T> {
    /// Why it is skipped, when it is.
    pub fn unconfigured_reason(&self) -> Option<&str> {
        match self {
            Provider::Configured(_) => None,
            Provider::Unconfigured { reason } => Some(reason),
        }
    }

    /// The settings when configured.
    pub fn configured(&self) -> Option<&T> {
        match self {
            Provider::Configured(t) => Some(t),
            Provider::Unconfigured { .. } => None,
        }
    }
}

/// All providers.
#[derive(Debug, Clone)]
pub struct Providers {
    /// Alpha Vantage.
    pub alpha_vantage: Provider<AlphaVantageSettings>,
    /// Finnhub.
    pub finnhub: Provider<FinnhubSettings>,
    /// Alpaca.
    pub alpaca: Provider<AlpacaSettings>,
    /// The serverless fetcher.
    pub serverless: Provider<ServerlessSettings>,
}

/// `[providers.alpha_vantage]`
#[derive(Debug, Clone)]
pub struct AlphaVantageSettings {
    /// `api_key`
    pub api_key: SecretString,
    /// `base_url`
    pub base_url: Url,
    /// `requests_per_day` (default 25)
    pub requests_per_day: NonZeroU32,
    /// `requests_per_second` (default 1)
    pub requests_per_second: NonZeroU32,
    /// `timeout_ms` (default 15000)
    pub timeout: Duration,
}

/// `[providers.finnhub]`
#[derive(Debug, Clone)]
pub struct FinnhubSettings {
    /// `api_key`
    pub api_key: SecretString,
    /// `base_url`
    pub base_url: Url,
    /// `requests_per_minute` (default 60)
    pub requests_per_minute: NonZeroU32,
    /// `requests_per_second` (default 30)
    pub requests_per_second: NonZeroU32,
    /// `timeout_ms` (default 15000)
    pub timeout: Duration,
}

/// `[providers.alpaca]`
#[derive(Debug, Clone)]
pub struct AlpacaSettings {
    /// `key_id`
    pub key_id: SecretString,
    /// `secret_key`
    pub secret_key: SecretString,
    /// `base_url`
    pub base_url: Url,
    /// `feed` (default `iex`)
    pub feed: String,
    /// `adjustment` (default `raw`): the adjustment bars are asked for unless a command says
    /// otherwise.
    pub adjustment: Adjustment,
    /// `requests_per_minute` (default 200)
    pub requests_per_minute: NonZeroU32,
    /// `timeout_ms` (default 15000)
    pub timeout: Duration,
}

/// `[providers.serverless]`
#[derive(Debug, Clone)]
pub struct ServerlessSettings {
    /// `base_url`
    pub base_url: Url,
    /// `token` (optional)
    pub token: Option<SecretString>,
    /// `timeout_ms` (default 15000)
    pub timeout: Duration,
}

/// A provider stockdata knows how to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderName {
    /// `alpha_vantage`
    AlphaVantage,
    /// `finnhub`
    Finnhub,
    /// `alpaca`
    Alpaca,
    /// `serverless`
    Serverless,
}

impl ProviderName {
    /// Every provider.
    pub const ALL: [ProviderName; 4] = [
        ProviderName::AlphaVantage,
        ProviderName::Finnhub,
        ProviderName::Alpaca,
        ProviderName::Serverless,
    ];

    /// The config and output name.
    #[must_use]
    pub fn id(self) -> ProviderId {
        match self {
            ProviderName::AlphaVantage => ProviderId::ALPHA_VANTAGE,
            ProviderName::Finnhub => ProviderId::FINNHUB,
            ProviderName::Alpaca => ProviderId::ALPACA,
            ProviderName::Serverless => ProviderId::SERVERLESS,
        }
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderName::AlphaVantage => "alpha_vantage",
            ProviderName::Finnhub => "finnhub",
            ProviderName::Alpaca => "alpaca",
            ProviderName::Serverless => "serverless",
        }
    }

    /// The name's provider, if it is one.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text.trim())
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[routing]`: the order providers are tried in, per data kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// Quotes.
    pub quotes: Vec<ProviderName>,
    /// Bars.
    pub bars: Vec<ProviderName>,
    /// News (every configured provider is asked and the results merged).
    pub news: Vec<ProviderName>,
}

impl Default for Routing {
    fn default() -> Self {
        use ProviderName::{Alpaca, AlphaVantage, Finnhub, Serverless};
        Self {
            quotes: vec![Serverless, Alpaca, Finnhub, AlphaVantage],
            bars: vec![Serverless, Alpaca, AlphaVantage, Finnhub],
            news: vec![Serverless, Alpaca, Finnhub, AlphaVantage],
        }
    }
}

/// `[agent]`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentConfig {
    /// Provider calls in flight at once (default 4).
    pub concurrency: usize,
    /// Days of daily bars per symbol (default 30).
    pub history_days: u32,
    /// Days of news per symbol (default 3).
    pub news_days: u32,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            history_days: 30,
            news_days: 3,
        }
    }
}

/// `[serve]`: the HTTP service.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Accepted bearer tokens (`tokens = [...]`, or `STOCKDATA_SERVE_TOKEN` for one). Required
    /// whenever the bind address is not loopback.
    pub tokens: Vec<SecretString>,
    /// Symbols per request (default 100).
    pub max_symbols: usize,
    /// The longest bars/news range, in days (default 3660).
    pub max_range_days: u32,
    /// Time allowed per request (default 30000 ms).
    pub request_timeout: Duration,
    /// Requests served at once; more get 503 + `Retry-After` (default 64).
    pub concurrency: usize,
    /// Time in-flight requests get to finish after SIGTERM / Ctrl-C (default 10000 ms).
    pub grace_period: Duration,
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
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON lines.
    Json,
    /// Human-readable text.
    Pretty,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `None`: JSON when stderr is not a terminal, pretty when it is.
    pub format: Option<LogFormat>,
    /// An `EnvFilter` directive (`info`, `stockdata=debug,warn`).
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: None,
            level: "warn".to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    providers: RawProviders,
    #[serde(default)]
    routing: RawRouting,
    #[serde(default)]
    agent: RawAgent,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    serve: RawServe,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServe {
    tokens: Option<Vec<String>>,
    max_symbols: Option<i64>,
    max_range_days: Option<i64>,
    request_timeout_ms: Option<i64>,
    concurrency: Option<i64>,
    grace_period_ms: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProviders {
    #[serde(default)]
    alpha_vantage: RawAlphaVantage,
    #[serde(default)]
    finnhub: RawFinnhub,
    #[serde(default)]
    alpaca: RawAlpaca,
    #[serde(default)]
    serverless: RawServerless,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlphaVantage {
    api_key: Option<String>,
    base_url: Option<String>,
    requests_per_day: Option<i64>,
    requests_per_second: Option<i64>,
    timeout_ms: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFinnhub {
    api_key: Option<String>,
    base_url: Option<String>,
    requests_per_minute: Option<i64>,
    requests_per_second: Option<i64>,
    timeout_ms: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlpaca {
    key_id: Option<String>,
    secret_key: Option<String>,
    base_url: Option<String>,
    feed: Option<String>,
    adjustment: Option<String>,
    requests_per_minute: Option<i64>,
    timeout_ms: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServerless {
    base_url: Option<String>,
    token: Option<String>,
    timeout_ms: Option<i64>,
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    format: Option<String>,
    level: Option<String>,
}

/// Loads the configuration from `sources`.
///
/// # Errors
/// [`ConfigError`] naming the key and where its value came from.
pub fn load(sources: &ConfigSources) -> Result<Config, ConfigError> {
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

    for (var, key) in CONVENTIONAL_VARS {
        if let Some(value) = sources.env.get(*var) {
            let value = if *key == "serve.tokens" {
                toml::Value::Array(vec![toml::Value::String(value.clone())])
            } else {
                toml::Value::String(value.clone())
            };
            set(&mut table, key, value);
            origins.insert((*key).to_owned(), Origin::Env((*var).to_owned()));
        }
    }
    let mut overrides: Vec<(&String, &String)> = sources
        .env
        .iter()
        .filter(|(k, _)| k.starts_with(OVERRIDE_PREFIX))
        .collect();
    overrides.sort();
    for (var, value) in overrides {
        let key = var[OVERRIDE_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
            .join(".");
        set(&mut table, &key, override_value(&key, value));
        let mut section = key.as_str();
        while let Some(i) = section.rfind('.') {
            section = &section[..i];
            origins
                .entry(section.to_owned())
                .or_insert_with(|| Origin::Env(var.clone()));
        }
        origins.insert(key, Origin::Env(var.clone()));
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

fn parse_file(text: &str, path: &Path) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Syntax {
            origin: Origin::File(path.to_path_buf()),
            reason: e.message().to_owned(),
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

fn override_value(key: &str, text: &str) -> toml::Value {
    let last = key.rsplit('.').next().unwrap_or(key);
    if NUMERIC_KEYS.contains(&last)
        && let Ok(n) = text.trim().parse::<i64>()
    {
        return toml::Value::Integer(n);
    }
    if key.starts_with("routing.") || key == "serve.tokens" {
        return toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        );
    }
    toml::Value::String(text.to_owned())
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
                Some(i) => k = &k[..i],
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

    fn url(&self, key: &str, value: Option<&str>, default: &str) -> Result<Url, ConfigError> {
        let text = value.unwrap_or(default);
        let url = Url::parse(text).map_err(|e| {
            self.invalid(
                key,
                format!("{text:?} is not a URL ({e}): use scheme://host[:port][/prefix]"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(self.invalid(
                key,
                format!("{text:?} must be an http:// or https:// URL with a host"),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(self.invalid(key, format!("{text:?} must not have a query or fragment")));
        }
        Ok(url)
    }

    fn rate(&self, key: &str, value: Option<i64>, default: u32) -> Result<NonZeroU32, ConfigError> {
        let n = value.unwrap_or(i64::from(default));
        u32::try_from(n)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| {
                self.invalid(
                    key,
                    format!("{n} is not a request count: use a whole number of at least 1"),
                )
            })
    }

    fn timeout(&self, key: &str, value: Option<i64>) -> Result<Duration, ConfigError> {
        let ms = value.unwrap_or(15_000);
        if !(1..=600_000).contains(&ms) {
            return Err(self.invalid(key, format!("{ms} ms is out of range: use 1 to 600000")));
        }
        Ok(Duration::from_millis(u64::try_from(ms).unwrap_or(15_000)))
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

    fn routing(
        &self,
        key: &str,
        value: Option<Vec<String>>,
        default: Vec<ProviderName>,
    ) -> Result<Vec<ProviderName>, ConfigError> {
        let Some(names) = value else {
            return Ok(default);
        };
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let provider = ProviderName::parse(&name).ok_or_else(|| {
                self.invalid(key, format!("unknown provider {name:?}: use alpha_vantage, finnhub, alpaca or serverless"))
            })?;
            if out.contains(&provider) {
                return Err(self.invalid(key, format!("{name:?} is listed twice")));
            }
            out.push(provider);
        }
        Ok(out)
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
                inner
            };
            ctx.invalid(&key, message)
        })?;

    let av = raw.providers.alpha_vantage;
    let alpha_vantage = match secret(av.api_key) {
        None => Provider::Unconfigured {
            reason: "no API key: set ALPHAVANTAGE_API_KEY or providers.alpha_vantage.api_key"
                .to_owned(),
        },
        Some(api_key) => Provider::Configured(AlphaVantageSettings {
            api_key,
            base_url: ctx.url(
                "providers.alpha_vantage.base_url",
                av.base_url.as_deref(),
                stockdata_adapters_http::alpha_vantage::DEFAULT_BASE_URL,
            )?,
            requests_per_day: ctx.rate(
                "providers.alpha_vantage.requests_per_day",
                av.requests_per_day,
                25,
            )?,
            requests_per_second: ctx.rate(
                "providers.alpha_vantage.requests_per_second",
                av.requests_per_second,
                1,
            )?,
            timeout: ctx.timeout("providers.alpha_vantage.timeout_ms", av.timeout_ms)?,
        }),
    };

    let fh = raw.providers.finnhub;
    let finnhub = match secret(fh.api_key) {
        None => Provider::Unconfigured {
            reason: "no API key: set FINNHUB_API_KEY or providers.finnhub.api_key".to_owned(),
        },
        Some(api_key) => Provider::Configured(FinnhubSettings {
            api_key,
            base_url: ctx.url(
                "providers.finnhub.base_url",
                fh.base_url.as_deref(),
                stockdata_adapters_http::finnhub::DEFAULT_BASE_URL,
            )?,
            requests_per_minute: ctx.rate(
                "providers.finnhub.requests_per_minute",
                fh.requests_per_minute,
                60,
            )?,
            requests_per_second: ctx.rate(
                "providers.finnhub.requests_per_second",
                fh.requests_per_second,
                30,
            )?,
            timeout: ctx.timeout("providers.finnhub.timeout_ms", fh.timeout_ms)?,
        }),
    };

    let ap = raw.providers.alpaca;
    let feed = ap.feed.clone().unwrap_or_else(|| "iex".to_owned());
    if !matches!(
        feed.as_str(),
        "iex" | "sip" | "delayed_sip" | "otc" | "boats" | "overnight"
    ) {
        return Err(ctx.invalid(
            "providers.alpaca.feed",
            format!("unknown feed {feed:?}: use iex (free) or sip (paid)"),
        ));
    }
    let adjustment = match ap.adjustment.as_deref() {
        None => Adjustment::Raw,
        Some(text) => text
            .parse::<Adjustment>()
            .map_err(|e| ctx.invalid("providers.alpaca.adjustment", e.to_string()))?,
    };
    let alpaca = match (secret(ap.key_id), secret(ap.secret_key)) {
        (Some(key_id), Some(secret_key)) => Provider::Configured(AlpacaSettings {
            key_id,
            secret_key,
            base_url: ctx.url("providers.alpaca.base_url", ap.base_url.as_deref(), stockdata_adapters_http::alpaca::DEFAULT_BASE_URL)?,
            feed,
            adjustment,
            requests_per_minute: ctx.rate("providers.alpaca.requests_per_minute", ap.requests_per_minute, 200)?,
            timeout: ctx.timeout("providers.alpaca.timeout_ms", ap.timeout_ms)?,
        }),
        (None, None) => Provider::Unconfigured {
            reason: "no key pair: set APCA_API_KEY_ID and APCA_API_SECRET_KEY (or providers.alpaca.key_id / secret_key)".to_owned(),
        },
        (Some(_), None) => Provider::Unconfigured {
            reason: "key id without secret: set APCA_API_SECRET_KEY or providers.alpaca.secret_key".to_owned(),
        },
        (None, Some(_)) => Provider::Unconfigured {
            reason: "secret without key id: set APCA_API_KEY_ID or providers.alpaca.key_id".to_owned(),
        },
    };

    let sl = raw.providers.serverless;
    let serverless = match sl.base_url.as_deref().filter(|u| !u.trim().is_empty()) {
        None => Provider::Unconfigured {
            reason: "no base_url: set providers.serverless.base_url (and STOCKDATA_SERVERLESS_TOKEN if it needs one)".to_owned(),
        },
        Some(url) => Provider::Configured(ServerlessSettings {
            base_url: ctx.url("providers.serverless.base_url", Some(url), "")?,
            token: secret(sl.token),
            timeout: ctx.timeout("providers.serverless.timeout_ms", sl.timeout_ms)?,
        }),
    };

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
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&level) {
        return Err(ctx.invalid(
            "log.level",
            format!("{level:?} is not a log filter ({e}): use error, warn, info, debug or trace"),
        ));
    }

    let sv = raw.serve;
    let to_usize = |n: i64| usize::try_from(n).unwrap_or(1);
    let ms = |n: i64| Duration::from_millis(u64::try_from(n).unwrap_or(1));
    let serve = ServeConfig {
        tokens: sv
            .tokens
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
    };

    Ok(Config {
        serve,
        providers: Providers {
            alpha_vantage,
            finnhub,
            alpaca,
            serverless,
        },
        routing,
        agent,
        log: LogConfig { format, level },
        origins,
    })
}

impl Default for Config {
    fn default() -> Self {
        // An empty table always loads: every provider unconfigured, every default in place.
        from_table(toml::Table::new(), HashMap::new())
            .unwrap_or_else(|_| unreachable!("defaults are valid"))
    }
}
