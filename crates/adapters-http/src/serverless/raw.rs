//! The raw serverless client: one method per endpoint of stockdata's own schema.

use std::sync::Arc;

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use stockdata_domain::{Adjustment, FetchError, Interval, Symbol, TimeRange};
use url::Url;

use super::wire::{self, Articles, BarRecord, QuoteRecord, Results};
use crate::batch::join;
use crate::transport::{Call, LogSafeUrl, RawResponse, Transport, endpoint_url, secret_header};

/// Mirrors the serverless fetcher's endpoints.
#[derive(Debug, Clone)]
pub struct RawClient {
    transport: Transport,
    base_url: LogSafeUrl,
    token: Option<Arc<SecretString>>,
}

impl RawClient {
    /// A client for `base_url` (`/v1/...` is appended).
    #[must_use]
    pub fn new(transport: Transport, base_url: Url, token: Option<SecretString>) -> Self {
        Self {
            transport,
            base_url: LogSafeUrl::new(base_url),
            token: token.map(Arc::new),
        }
    }

    fn secrets(&self) -> Vec<&str> {
        self.token.iter().map(|t| t.expose_secret()).collect()
    }

    async fn get<T>(
        &self,
        endpoint: &'static str,
        symbols: &str,
        params: &[(&str, &str)],
        parse: fn(&[u8]) -> Result<T, FetchError>,
    ) -> Result<T, FetchError> {
        let mut url = endpoint_url(&self.base_url, endpoint);
        url.query_pairs_mut().extend_pairs(params);
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if let Some(token) = &self.token {
            // The one place the token leaves its secret wrapper.
            headers.push((
                AUTHORIZATION,
                secret_header(&format!("Bearer {}", token.expose_secret()))?,
            ));
        }
        let call = Call {
            provider: &crate::serverless::ID,
            endpoint,
            url,
            headers,
            symbol: Some(symbols),
            send_request_id: true,
        };
        self.transport
            .get_body(call, parse, |resp| self.status_error(resp))
            .await
    }

    fn status_error(&self, resp: &RawResponse) -> FetchError {
        wire::status_error(resp.status, &resp.body, &self.secrets())
    }

    /// `GET /v1/quotes?symbols=`.
    ///
    /// # Errors
    /// Transport errors and the error envelope.
    pub async fn quotes(&self, symbols: &[Symbol]) -> Result<Results<QuoteRecord>, FetchError> {
        let joined = join(symbols);
        let mut results: Results<QuoteRecord> = self
            .get("/v1/quotes", &joined, &[("symbols", &joined)], wire::parse)
            .await?;
        results.redact_messages(&self.secrets());
        Ok(results)
    }

    /// `GET /v1/bars?symbols=&interval=&start=&end=&adjustment=`.
    ///
    /// # Errors
    /// Transport errors and the error envelope.
    pub async fn bars(
        &self,
        symbols: &[Symbol],
        interval: Interval,
        range: TimeRange,
        adjustment: Adjustment,
    ) -> Result<Results<Vec<BarRecord>>, FetchError> {
        let joined = join(symbols);
        let (start, end) = (range.start().to_string(), range.end().to_string());
        let mut results: Results<Vec<BarRecord>> = self
            .get(
                "/v1/bars",
                &joined,
                &[
                    ("symbols", &joined),
                    ("interval", interval.as_str()),
                    ("start", &start),
                    ("end", &end),
                    ("adjustment", adjustment.as_str()),
                ],
                wire::parse,
            )
            .await?;
        results.redact_messages(&self.secrets());
        Ok(results)
    }

    /// `GET /v1/news?symbols=&start=&end=&limit=`.
    ///
    /// # Errors
    /// Transport errors and the error envelope.
    pub async fn news(
        &self,
        symbols: &[Symbol],
        range: TimeRange,
        limit: usize,
    ) -> Result<Articles, FetchError> {
        let joined = join(symbols);
        // The documented maximum (serve answers 400 above it); the newest 1000 are served.
        let limit = limit.clamp(1, 1000);
        let (start, end, limit) = (
            range.start().to_string(),
            range.end().to_string(),
            limit.to_string(),
        );
        self.get(
            "/v1/news",
            &joined,
            &[
                ("symbols", &joined),
                ("start", &start),
                ("end", &end),
                ("limit", &limit),
            ],
            wire::parse,
        )
        .await
    }
}
