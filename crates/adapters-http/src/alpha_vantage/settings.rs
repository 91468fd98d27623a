//! `[providers.alpha_vantage]` and the provider's descriptor.

use serde::{Deserialize, Serialize};
use stockdata_domain::{FetchError, ProviderId};
use url::Url;

use super::{
    AlphaVantage, AlphaVantageConfig, DEFAULT_BASE_URL, FREE_REQUESTS_PER_DAY,
    FREE_REQUESTS_PER_SECOND,
};
use crate::provider::{
    Adapter, BaseUrl, BuildContext, Descriptor, EnvVar, Rate, Secret, Serves, Settings, TimeoutMs,
    how_to_set,
};
use crate::transport::{RateWindow, TransportConfig};

/// The provider's id in config, routing and output.
pub const ID: ProviderId = ProviderId::from_static("alpha_vantage");

const ENV_VARS: &[EnvVar] = &[EnvVar {
    name: "ALPHAVANTAGE_API_KEY",
    key: "api_key",
}];

/// Alpha Vantage, described once.
pub static DESCRIPTOR: Descriptor<AlphaVantageSettings> = Descriptor::new(
    ID,
    "Alpha Vantage",
    ENV_VARS,
    Serves {
        quotes: Some(40),
        bars: Some(30),
        news: Some(40),
        streams: false,
    },
    super::capabilities,
);

/// `[providers.alpha_vantage]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlphaVantageSettings {
    /// `api_key` (`ALPHAVANTAGE_API_KEY`)
    #[serde(skip_serializing_if = "Secret::is_none")]
    pub api_key: Secret,
    /// `base_url`
    pub base_url: BaseUrl,
    /// `requests_per_day` (free tier: 25)
    pub requests_per_day: Rate,
    /// `requests_per_second` (free tier: 1)
    pub requests_per_second: Rate,
    /// `timeout_ms` (default 15000)
    pub timeout_ms: TimeoutMs,
}

impl Default for AlphaVantageSettings {
    fn default() -> Self {
        Self {
            api_key: Secret::default(),
            base_url: BaseUrl::constant(DEFAULT_BASE_URL),
            requests_per_day: Rate(FREE_REQUESTS_PER_DAY),
            requests_per_second: Rate(FREE_REQUESTS_PER_SECOND),
            timeout_ms: TimeoutMs::DEFAULT,
        }
    }
}

impl Settings for AlphaVantageSettings {
    fn readiness(&self) -> Result<(), String> {
        match self.api_key.get() {
            Some(_) => Ok(()),
            None => Err(format!(
                "no API key: {}",
                how_to_set(&ID, ENV_VARS, "api_key")
            )),
        }
    }

    fn has_credentials(&self) -> bool {
        !self.api_key.is_none()
    }

    fn limits(&self) -> Vec<RateWindow> {
        vec![
            RateWindow::per_day(self.requests_per_day.0),
            RateWindow::per_second(self.requests_per_second.0),
        ]
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Adapter, FetchError> {
        let api_key = self
            .api_key
            .get()
            .cloned()
            .ok_or(FetchError::Unauthorized)?;
        let config = AlphaVantageConfig {
            base_url: self.base_url.0.clone(),
            transport: TransportConfig {
                request_timeout: self.timeout_ms.duration(),
                ..TransportConfig::default()
            },
            windows: self.limits(),
            ..AlphaVantageConfig::new(api_key)
        };
        Ok(Adapter::serving_all(AlphaVantage::new(
            config,
            ctx.pacers,
            ctx.clock.clone(),
        )?))
    }

    fn for_sandbox(&self, base_url: Url) -> Self {
        Self {
            api_key: Secret::new("sandbox-key"),
            base_url: BaseUrl(base_url),
            ..Self::default()
        }
    }
}
