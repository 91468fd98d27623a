//! `[providers.serverless]` and the provider's descriptor.

use serde::{Deserialize, Serialize};
use stockdata_domain::{FetchError, ProviderId};
use url::Url;

use super::{Serverless, ServerlessConfig};
use crate::provider::{
    Adapter, BaseUrl, BuildContext, Descriptor, EnvVar, Secret, Serves, Settings, TimeoutMs,
    how_to_set,
};
use crate::transport::{RateWindow, TransportConfig};

/// The provider's id in config, routing and output.
pub const ID: ProviderId = ProviderId::from_static("serverless");

const ENV_VARS: &[EnvVar] = &[EnvVar {
    name: "STOCKDATA_SERVERLESS_TOKEN",
    key: "token",
}];

/// The serverless fetcher (a deployment speaking stockdata's own API), described once.
pub static DESCRIPTOR: Descriptor<ServerlessSettings> = Descriptor::new(
    ID,
    "serverless fetcher",
    ENV_VARS,
    Serves {
        quotes: Some(10),
        bars: Some(10),
        news: Some(10),
        streams: false,
    },
    super::capabilities,
);

/// `[providers.serverless]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerlessSettings {
    /// `base_url`: the deployment (no default: it is yours).
    #[serde(
        deserialize_with = "optional_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub base_url: Option<BaseUrl>,
    /// `token` (`STOCKDATA_SERVERLESS_TOKEN`), when the deployment requires one.
    #[serde(skip_serializing_if = "Secret::is_none")]
    pub token: Secret,
    /// `timeout_ms` (default 15000)
    pub timeout_ms: TimeoutMs,
}

/// A blank `base_url` is no `base_url`.
fn optional_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<BaseUrl>, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    BaseUrl::parse(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

impl Settings for ServerlessSettings {
    fn readiness(&self) -> Result<(), String> {
        match self.base_url {
            Some(_) => Ok(()),
            None => Err(format!(
                "no base_url: set providers.{ID}.base_url (and {} if it needs one)",
                ENV_VARS.first().map_or("a token", |v| v.name)
            )),
        }
    }

    fn has_credentials(&self) -> bool {
        self.base_url.is_some() && !self.token.is_none()
    }

    fn limits(&self) -> Vec<RateWindow> {
        Vec::new()
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Adapter, FetchError> {
        let Some(base_url) = &self.base_url else {
            return Err(FetchError::InvalidRequest {
                reason: how_to_set(&ID, ENV_VARS, "base_url"),
            });
        };
        let config = ServerlessConfig {
            transport: TransportConfig {
                request_timeout: self.timeout_ms.duration(),
                ..TransportConfig::default()
            },
            ..ServerlessConfig::new(base_url.0.clone(), self.token.get().cloned())
        };
        Ok(Adapter::serving_all(Serverless::new(
            config,
            ctx.pacers,
            ctx.clock.clone(),
        )?))
    }

    fn for_sandbox(&self, base_url: Url) -> Self {
        Self {
            base_url: Some(BaseUrl(base_url)),
            token: Secret::new("sandbox-key"),
            ..Self::default()
        }
    }
}
