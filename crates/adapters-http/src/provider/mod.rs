//! How a provider describes itself, once: its id and display name, its `[providers.<id>]`
//! settings (a serde type whose `Default` is the free tier), the conventional environment
//! variables that fill them, what it serves, its capabilities, how it is built from its
//! settings, and how it points at the sandbox.
//!
//! Each provider module has one `pub static DESCRIPTOR: Descriptor<ItsSettings>`; the
//! composition root keeps the list of them (its registry) and iterates it for config loading,
//! building, status, `config show`, `--provider` and the sandbox. Nothing else names a
//! provider.

mod fields;

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use stockdata_domain::{Adjustment, FetchError, ProviderId};
use stockdata_ports::stream::StreamSource;
use stockdata_ports::{BarSource, Capabilities, Clock, NewsSource, QuoteSource};
use url::Url;

pub use self::fields::{BaseUrl, Rate, Secret, StreamUrl, TimeoutMs};
use crate::transport::{PacerRegistry, RateWindow};

/// A conventional environment variable and the settings key it fills (`FINNHUB_API_KEY` →
/// `api_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    /// The variable's name.
    pub name: &'static str,
    /// The key inside `[providers.<id>]`.
    pub key: &'static str,
}

/// Which kinds of data a provider serves, and where it goes in the default `[routing]`
/// (lower first; `None`: does not serve that kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Serves {
    /// Latest quotes.
    pub quotes: Option<u8>,
    /// Historical bars.
    pub bars: Option<u8>,
    /// News.
    pub news: Option<u8>,
    /// Live streams: [`Settings::build_stream`] builds its [`StreamSource`].
    pub streams: bool,
}

/// What a provider's ports can do, per kind of data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCapabilities {
    /// Quotes.
    pub quotes: Capabilities,
    /// Bars.
    pub bars: Capabilities,
    /// News.
    pub news: Capabilities,
}

/// A built provider: one adapter behind every port it serves.
#[derive(Debug, Clone, Default)]
pub struct Adapter {
    /// Its quote port.
    pub quotes: Option<Arc<dyn QuoteSource>>,
    /// Its bar port.
    pub bars: Option<Arc<dyn BarSource>>,
    /// Its news port.
    pub news: Option<Arc<dyn NewsSource>>,
}

impl Adapter {
    /// An adapter serving all three ports.
    #[must_use]
    pub fn serving_all<T: QuoteSource + BarSource + NewsSource + 'static>(adapter: T) -> Self {
        let a = Arc::new(adapter);
        Self {
            quotes: Some(a.clone()),
            bars: Some(a.clone()),
            news: Some(a),
        }
    }
}

/// What every adapter is built with: the instance's shared pacers (one per key) and clock.
#[derive(Debug)]
pub struct BuildContext<'a> {
    /// One pacer per (provider, key), shared by every adapter of the instance.
    pub pacers: &'a PacerRegistry,
    /// The clock stamped on records.
    pub clock: Arc<dyn Clock>,
}

/// A `[providers.<id>]` section that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SettingsError {
    /// The key inside the section (`requests_per_day`), or `.` for the section itself.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// A provider's typed settings: `[providers.<id>]`. `Default` is the free tier with no
/// credentials; serialization is the `config show` view, so secrets serialize redacted.
pub trait Settings:
    Serialize + DeserializeOwned + Default + Clone + fmt::Debug + Send + Sync + 'static
{
    /// `Ok` when the provider can be built; otherwise what to set, naming the variables.
    ///
    /// # Errors
    /// The reason the provider is skipped.
    fn readiness(&self) -> Result<(), String>;

    /// Whether credentials are present (never their value).
    fn has_credentials(&self) -> bool;

    /// The quota windows the provider is paced to.
    fn limits(&self) -> Vec<RateWindow>;

    /// Builds the adapter.
    ///
    /// # Errors
    /// `Transport` when an HTTP client cannot be built.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Adapter, FetchError>;

    /// These settings pointed at the sandbox's dialect of this provider at `base_url`, with
    /// test credentials and the free-tier limits the sandbox enforces.
    #[must_use]
    fn for_sandbox(&self, base_url: Url) -> Self;

    /// The adjustment bars are asked for by default, if this provider's settings name one.
    fn default_adjustment(&self) -> Option<Adjustment> {
        None
    }

    /// Builds the provider's live stream source, for providers that stream
    /// ([`Serves::streams`]); `None` for the others. It opens no connection: the core calls
    /// [`StreamSource::connect`] when something subscribes.
    ///
    /// # Errors
    /// `Unauthorized` without credentials.
    fn build_stream(
        &self,
        ctx: &BuildContext<'_>,
    ) -> Option<Result<Arc<dyn StreamSource>, FetchError>> {
        let _ = ctx;
        None
    }
}

/// [`Settings`] behind a pointer: what the registry holds.
pub trait ProviderSettings: fmt::Debug + Send + Sync {
    /// See [`Settings::readiness`].
    ///
    /// # Errors
    /// The reason the provider is skipped.
    fn readiness(&self) -> Result<(), String>;
    /// See [`Settings::has_credentials`].
    fn has_credentials(&self) -> bool;
    /// See [`Settings::limits`].
    fn limits(&self) -> Vec<RateWindow>;
    /// See [`Settings::build`].
    ///
    /// # Errors
    /// As [`Settings::build`].
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Adapter, FetchError>;
    /// See [`Settings::for_sandbox`].
    fn for_sandbox(&self, base_url: Url) -> Box<dyn ProviderSettings>;
    /// See [`Settings::default_adjustment`].
    fn default_adjustment(&self) -> Option<Adjustment>;
    /// See [`Settings::build_stream`].
    fn build_stream(
        &self,
        ctx: &BuildContext<'_>,
    ) -> Option<Result<Arc<dyn StreamSource>, FetchError>>;
    /// The settings as a JSON object keyed like the config file, in declaration order,
    /// secrets redacted.
    fn view(&self) -> Box<serde_json::value::RawValue>;
    /// For [`downcast`](dyn ProviderSettings::downcast).
    fn as_any(&self) -> &dyn Any;
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn ProviderSettings>;
}

impl<S: Settings> ProviderSettings for S {
    fn readiness(&self) -> Result<(), String> {
        Settings::readiness(self)
    }
    fn has_credentials(&self) -> bool {
        Settings::has_credentials(self)
    }
    fn limits(&self) -> Vec<RateWindow> {
        Settings::limits(self)
    }
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Adapter, FetchError> {
        Settings::build(self, ctx)
    }
    fn for_sandbox(&self, base_url: Url) -> Box<dyn ProviderSettings> {
        Box::new(Settings::for_sandbox(self, base_url))
    }
    fn default_adjustment(&self) -> Option<Adjustment> {
        Settings::default_adjustment(self)
    }
    fn build_stream(
        &self,
        ctx: &BuildContext<'_>,
    ) -> Option<Result<Arc<dyn StreamSource>, FetchError>> {
        Settings::build_stream(self, ctx)
    }
    fn view(&self) -> Box<serde_json::value::RawValue> {
        serde_json::value::to_raw_value(self)
            .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn ProviderSettings> {
        Box::new(self.clone())
    }
}

impl dyn ProviderSettings {
    /// The typed settings, when they are `S`.
    #[must_use]
    pub fn downcast<S: Settings>(&self) -> Option<&S> {
        self.as_any().downcast_ref()
    }
}

impl Clone for Box<dyn ProviderSettings> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// A provider, described once. Object-safe: the registry is a list of `&dyn
/// ProviderDescriptor`.
pub trait ProviderDescriptor: fmt::Debug + Send + Sync {
    /// The id used in config, routing, output and logs (`alpha_vantage`).
    fn id(&self) -> &ProviderId;
    /// The name people know it by (`Alpha Vantage`).
    fn display_name(&self) -> &'static str;
    /// Its conventional environment variables.
    fn env_vars(&self) -> &'static [EnvVar];
    /// What it serves.
    fn serves(&self) -> Serves;
    /// What its ports can do.
    fn capabilities(&self) -> ProviderCapabilities;
    /// The free-tier defaults, no credentials.
    fn default_settings(&self) -> Box<dyn ProviderSettings>;
    /// Reads `[providers.<id>]` (file, variables and overrides already merged) as a JSON
    /// value.
    ///
    /// # Errors
    /// [`SettingsError`] naming the key inside the section.
    fn settings(
        &self,
        section: serde_json::Value,
    ) -> Result<Box<dyn ProviderSettings>, SettingsError>;
}

/// The one [`ProviderDescriptor`] implementation: static facts plus the settings type.
pub struct Descriptor<S> {
    id: ProviderId,
    display_name: &'static str,
    env_vars: &'static [EnvVar],
    serves: Serves,
    capabilities: fn() -> ProviderCapabilities,
    settings: PhantomData<fn() -> S>,
}

impl<S> Descriptor<S> {
    /// A descriptor; each provider module declares one as `pub static DESCRIPTOR`.
    #[must_use]
    pub const fn new(
        id: ProviderId,
        display_name: &'static str,
        env_vars: &'static [EnvVar],
        serves: Serves,
        capabilities: fn() -> ProviderCapabilities,
    ) -> Self {
        Self {
            id,
            display_name,
            env_vars,
            serves,
            capabilities,
            settings: PhantomData,
        }
    }
}

impl<S> fmt::Debug for Descriptor<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Descriptor")
            .field("id", &self.id)
            .field("display_name", &self.display_name)
            .finish_non_exhaustive()
    }
}

impl<S: Settings> ProviderDescriptor for Descriptor<S> {
    fn id(&self) -> &ProviderId {
        &self.id
    }
    fn display_name(&self) -> &'static str {
        self.display_name
    }
    fn env_vars(&self) -> &'static [EnvVar] {
        self.env_vars
    }
    fn serves(&self) -> Serves {
        self.serves
    }
    fn capabilities(&self) -> ProviderCapabilities {
        (self.capabilities)()
    }
    fn default_settings(&self) -> Box<dyn ProviderSettings> {
        Box::new(S::default())
    }
    fn settings(
        &self,
        section: serde_json::Value,
    ) -> Result<Box<dyn ProviderSettings>, SettingsError> {
        let settings: S = serde_path_to_error::deserialize(section).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner().to_string();
            let message = if inner.starts_with("unknown field") {
                format!("{inner}: remove it or fix its spelling")
            } else {
                inner
            };
            SettingsError { key, message }
        })?;
        Ok(Box::new(settings))
    }
}

/// `25/day`, `60/min`, `1/s`: a window as `providers` and `config show` print it.
#[must_use]
pub fn describe_window(w: &RateWindow) -> String {
    let secs = w.per.as_secs();
    let unit = match secs {
        1 => "s".to_owned(),
        60 => "min".to_owned(),
        3600 => "h".to_owned(),
        86_400 => "day".to_owned(),
        other => format!("{other}s"),
    };
    format!("{}/{unit}", w.requests)
}

/// "set FINNHUB_API_KEY or providers.finnhub.api_key": how to fill `key` of provider `id`,
/// from its conventional variable when it has one.
#[must_use]
pub fn how_to_set(id: &ProviderId, env_vars: &[EnvVar], key: &str) -> String {
    match env_vars.iter().find(|v| v.key == key) {
        Some(var) => format!("set {} or providers.{id}.{key}", var.name),
        None => format!("set providers.{id}.{key}"),
    }
}
