//! `[providers.finnhub]` and the provider's descriptor.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stockdata_domain::{FetchError, ProviderId};
use stockdata_ports::stream::StreamSource;
use url::Url;

use super::stream::{FinnhubStream, FinnhubStreamConfig};
use super::{
    DEFAULT_BASE_URL, DEFAULT_STREAM_URL, FREE_REQUESTS_PER_MINUTE, Finnhub, FinnhubConfig,
    MAX_REQUESTS_PER_SECOND,
};
use crate::provider::{
    Adapter, BaseUrl, BuildContext, Descriptor, EnvVar, Rate, Secret, Serves, Settings, StreamUrl,
    TimeoutMs, how_to_set,
};
use crate::stream::StreamConfig;
use crate::transport::{RateWindow, TransportConfig};

/// The provider's id in config, routing and output.
pub const ID: ProviderId = ProviderId::from_static("finnhub");

const ENV_VARS: &[EnvVar] = &[EnvVar {
    name: "FINNHUB_API_KEY",
    key: "api_key",
}];

/// Finnhub, described once.
pub static DESCRIPTOR: Descriptor<FinnhubSettings> = Descriptor::new(
    ID,
    "Finnhub",
    ENV_VARS,
    Serves {
        quotes: Some(30),
        bars: Some(40),
        news: Some(30),
        streams: true,
    },
    super::capabilities,
);

/// `[providers.finnhub]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FinnhubSettings {
    /// `api_key` (`FINNHUB_API_KEY`)
    #[serde(skip_serializing_if = "Secret::is_none")]
    pub api_key: Secret,
    /// `base_url`
    pub base_url: BaseUrl,
    /// `stream_url` (default `wss://ws.finnhub.io`; `?token=` is appended)
    pub stream_url: StreamUrl,
    /// `requests_per_minute` (free tier: 60)
    pub requests_per_minute: Rate,
    /// `requests_per_second` (every plan: 30)
    pub requests_per_second: Rate,
    /// `timeout_ms` (default 15000)
    pub timeout_ms: TimeoutMs,
}

impl Default for FinnhubSettings {
    fn default() -> Self {
        Self {
            api_key: Secret::default(),
            base_url: BaseUrl::constant(DEFAULT_BASE_URL),
            stream_url: StreamUrl::constant(DEFAULT_STREAM_URL),
            requests_per_minute: Rate(FREE_REQUESTS_PER_MINUTE),
            requests_per_second: Rate(MAX_REQUESTS_PER_SECOND),
            timeout_ms: TimeoutMs::DEFAULT,
        }
    }
}

impl Settings for FinnhubSettings {
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
            RateWindow::per_minute(self.requests_per_minute.0),
            RateWindow::per_second(self.requests_per_second.0),
        ]
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Adapter, FetchError> {
        let api_key = self
            .api_key
            .get()
            .cloned()
            .ok_or(FetchError::Unauthorized)?;
        let config = FinnhubConfig {
            base_url: self.base_url.0.clone(),
            transport: TransportConfig {
                request_timeout: self.timeout_ms.duration(),
                ..TransportConfig::default()
            },
            windows: self.limits(),
            ..FinnhubConfig::new(api_key)
        };
        Ok(Adapter::serving_all(Finnhub::new(
            config,
            ctx.pacers,
            ctx.clock.clone(),
        )?))
    }

    fn build_stream(
        &self,
        ctx: &BuildContext<'_>,
    ) -> Option<Result<Arc<dyn StreamSource>, FetchError>> {
        let Some(api_key) = self.api_key.get().cloned() else {
            return Some(Err(FetchError::Unauthorized));
        };
        let config = FinnhubStreamConfig {
            stream_url: self.stream_url.0.clone(),
            stream: StreamConfig {
                connect_timeout: self.timeout_ms.duration(),
                ..StreamConfig::default()
            },
            ..FinnhubStreamConfig::new(api_key)
        };
        Some(Ok(Arc::new(FinnhubStream::new(config, ctx.clock.clone()))))
    }

    /// The sandbox's Finnhub dialect at `http://HOST:PORT/finnhub` streams at
    /// `ws://HOST:PORT/finnhub/stream` (`?token=` appended as for the real one).
    fn for_sandbox(&self, base_url: Url) -> Self {
        Self {
            api_key: Secret::new("sandbox-key"),
            stream_url: StreamUrl::for_sandbox(&base_url, "/stream"),
            base_url: BaseUrl(base_url),
            ..Self::default()
        }
    }
}
