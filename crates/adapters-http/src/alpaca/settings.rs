//! `[providers.alpaca]` and the provider's descriptor.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stockdata_domain::{Adjustment, FetchError, ProviderId};
use stockdata_ports::stream::StreamSource;
use url::Url;

use super::stream::{AlpacaStream, AlpacaStreamConfig};
use super::{Alpaca, AlpacaConfig, DEFAULT_BASE_URL, DEFAULT_STREAM_URL, FREE_REQUESTS_PER_MINUTE};
use crate::provider::{
    Adapter, BaseUrl, BuildContext, Descriptor, EnvVar, Rate, Secret, Serves, Settings, StreamUrl,
    TimeoutMs, how_to_set,
};
use crate::stream::StreamConfig;
use crate::transport::{RateWindow, TransportConfig};

/// The provider's id in config, routing and output.
pub const ID: ProviderId = ProviderId::from_static("alpaca");

const ENV_VARS: &[EnvVar] = &[
    EnvVar {
        name: "APCA_API_KEY_ID",
        key: "key_id",
    },
    EnvVar {
        name: "APCA_API_SECRET_KEY",
        key: "secret_key",
    },
];

/// The feeds Alpaca's market data API knows.
const FEEDS: &[&str] = &["iex", "sip", "delayed_sip", "otc", "boats", "overnight"];

/// Alpaca market data v2, described once.
pub static DESCRIPTOR: Descriptor<AlpacaSettings> = Descriptor::new(
    ID,
    "Alpaca",
    ENV_VARS,
    Serves {
        quotes: Some(20),
        bars: Some(20),
        news: Some(20),
        streams: true,
    },
    super::capabilities,
);

/// `[providers.alpaca]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlpacaSettings {
    /// `key_id` (`APCA_API_KEY_ID`)
    #[serde(skip_serializing_if = "Secret::is_none")]
    pub key_id: Secret,
    /// `secret_key` (`APCA_API_SECRET_KEY`)
    #[serde(skip_serializing_if = "Secret::is_none")]
    pub secret_key: Secret,
    /// `base_url`
    pub base_url: BaseUrl,
    /// `stream_url` (default `wss://stream.data.alpaca.markets/v2`; `/{feed}` is appended)
    pub stream_url: StreamUrl,
    /// `feed` (default `iex`; `sip` needs a paid plan)
    pub feed: Feed,
    /// `adjustment` (default `raw`): what bars are asked for unless a command says otherwise.
    #[serde(with = "adjustment")]
    pub adjustment: Adjustment,
    /// `requests_per_minute` (free plan: 200)
    pub requests_per_minute: Rate,
    /// `timeout_ms` (default 15000)
    pub timeout_ms: TimeoutMs,
}

impl Default for AlpacaSettings {
    fn default() -> Self {
        Self {
            key_id: Secret::default(),
            secret_key: Secret::default(),
            base_url: BaseUrl::constant(DEFAULT_BASE_URL),
            stream_url: StreamUrl::constant(DEFAULT_STREAM_URL),
            feed: Feed("iex".to_owned()),
            adjustment: Adjustment::Raw,
            requests_per_minute: Rate(FREE_REQUESTS_PER_MINUTE),
            timeout_ms: TimeoutMs::DEFAULT,
        }
    }
}

/// An Alpaca data feed name, checked against the feeds Alpaca knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feed(pub String);

impl<'de> Deserialize<'de> for Feed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let feed = text.trim().to_ascii_lowercase();
        if FEEDS.contains(&feed.as_str()) {
            Ok(Self(feed))
        } else {
            Err(serde::de::Error::custom(format!(
                "unknown feed {text:?}: use iex (free) or sip (paid)"
            )))
        }
    }
}

mod adjustment {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use stockdata_domain::Adjustment;

    pub(super) fn serialize<S: Serializer>(a: &Adjustment, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(a.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Adjustment, D::Error> {
        let text = String::deserialize(d)?;
        text.trim().parse().map_err(serde::de::Error::custom)
    }
}

impl Settings for AlpacaSettings {
    fn readiness(&self) -> Result<(), String> {
        match (self.key_id.get(), self.secret_key.get()) {
            (Some(_), Some(_)) => Ok(()),
            (None, None) => {
                let vars: Vec<&str> = ENV_VARS.iter().map(|v| v.name).collect();
                Err(format!(
                    "no key pair: set {} (or providers.{ID}.key_id / secret_key)",
                    vars.join(" and ")
                ))
            }
            (Some(_), None) => Err(format!(
                "key id without secret: {}",
                how_to_set(&ID, ENV_VARS, "secret_key")
            )),
            (None, Some(_)) => Err(format!(
                "secret without key id: {}",
                how_to_set(&ID, ENV_VARS, "key_id")
            )),
        }
    }

    fn has_credentials(&self) -> bool {
        self.readiness().is_ok()
    }

    fn limits(&self) -> Vec<RateWindow> {
        vec![RateWindow::per_minute(self.requests_per_minute.0)]
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Adapter, FetchError> {
        let (Some(key_id), Some(secret_key)) = (self.key_id.get(), self.secret_key.get()) else {
            return Err(FetchError::Unauthorized);
        };
        let config = AlpacaConfig {
            base_url: self.base_url.0.clone(),
            feed: self.feed.0.clone(),
            transport: TransportConfig {
                request_timeout: self.timeout_ms.duration(),
                ..TransportConfig::default()
            },
            windows: self.limits(),
            ..AlpacaConfig::new(key_id.clone(), secret_key.clone())
        };
        Ok(Adapter::serving_all(Alpaca::new(
            config,
            ctx.pacers,
            ctx.clock.clone(),
        )?))
    }

    fn build_stream(
        &self,
        ctx: &BuildContext<'_>,
    ) -> Option<Result<Arc<dyn StreamSource>, FetchError>> {
        let (Some(key_id), Some(secret_key)) = (self.key_id.get(), self.secret_key.get()) else {
            return Some(Err(FetchError::Unauthorized));
        };
        let config = AlpacaStreamConfig {
            stream_url: self.stream_url.0.clone(),
            feed: self.feed.0.clone(),
            max_symbols: AlpacaStreamConfig::documented_max_symbols(&self.feed.0),
            stream: StreamConfig {
                connect_timeout: self.timeout_ms.duration(),
                ..StreamConfig::default()
            },
            ..AlpacaStreamConfig::new(key_id.clone(), secret_key.clone())
        };
        Some(Ok(Arc::new(AlpacaStream::new(config, ctx.clock.clone()))))
    }

    /// The sandbox's Alpaca dialect at `http://HOST:PORT/alpaca` streams at
    /// `ws://HOST:PORT/alpaca/stream/v2/{feed}` (`iex` there).
    fn for_sandbox(&self, base_url: Url) -> Self {
        Self {
            key_id: Secret::new("sandbox-key"),
            secret_key: Secret::new("sandbox-key"),
            stream_url: StreamUrl::for_sandbox(&base_url, "/stream/v2"),
            base_url: BaseUrl(base_url),
            adjustment: self.adjustment,
            ..Self::default()
        }
    }

    fn default_adjustment(&self) -> Option<Adjustment> {
        Some(self.adjustment)
    }
}
