//! The raw Finnhub client: one method per endpoint, returning wire types. The key travels in
//! the `X-Finnhub-Token` header, never in the URL.

use std::sync::Arc;

use jiff::civil::Date;
use reqwest::header::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use stockdata_domain::{FetchError, Symbol};
use url::Url;

use super::wire::{self, CandlesWire, NewsItemWire, QuoteWire};
use crate::transport::{Call, LogSafeUrl, RawResponse, Transport, endpoint_url, secret_header};

const TOKEN_HEADER: HeaderName = HeaderName::from_static("x-finnhub-token");

/// Mirrors the Finnhub endpoints stockdata uses.
#[derive(Debug, Clone)]
pub struct RawClient {
    transport: Transport,
    base_url: LogSafeUrl,
    api_key: Arc<SecretString>,
}

impl RawClient {
    /// A client for `base_url` (`scheme://host[:port][/prefix]`; `/api/v1/...` is appended).
    #[must_use]
    pub fn new(transport: Transport, base_url: Url, api_key: SecretString) -> Self {
        Self {
            transport,
            base_url: LogSafeUrl::new(base_url),
            api_key: Arc::new(api_key),
        }
    }

    async fn get<T>(
        &self,
        endpoint: &'static str,
        symbol: &Symbol,
        params: &[(&str, &str)],
        parse: fn(&[u8]) -> Result<T, FetchError>,
    ) -> Result<T, FetchError> {
        let mut url = endpoint_url(&self.base_url, endpoint);
        url.query_pairs_mut().extend_pairs(params);
        // The one place the key leaves its secret wrapper.
        let token = secret_header(self.api_key.expose_secret())?;
        let call = Call {
            provider: &crate::finnhub::ID,
            endpoint,
            url,
            headers: vec![(TOKEN_HEADER, token)],
            symbol: Some(symbol.as_str()),
            send_request_id: false,
        };
        self.transport
            .get_body(call, parse, |resp| self.status_error(resp))
            .await
    }

    fn status_error(&self, resp: &RawResponse) -> FetchError {
        wire::status_error(resp.status, &resp.body, &[self.api_key.expose_secret()])
    }

    /// `GET /api/v1/quote?symbol=`.
    ///
    /// # Errors
    /// Transport and status errors.
    pub async fn quote(&self, symbol: &Symbol) -> Result<QuoteWire, FetchError> {
        self.get(
            "/api/v1/quote",
            symbol,
            &[("symbol", symbol.as_str())],
            wire::parse_quote,
        )
        .await
    }

    /// `GET /api/v1/stock/candle?symbol=&resolution=&from=&to=` (unix seconds, inclusive).
    ///
    /// # Errors
    /// Transport and status errors.
    pub async fn candles(
        &self,
        symbol: &Symbol,
        resolution: &str,
        from: i64,
        to: i64,
    ) -> Result<CandlesWire, FetchError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.get(
            "/api/v1/stock/candle",
            symbol,
            &[
                ("symbol", symbol.as_str()),
                ("resolution", resolution),
                ("from", &from),
                ("to", &to),
            ],
            wire::parse_candles,
        )
        .await
    }

    /// `GET /api/v1/company-news?symbol=&from=&to=` (dates, inclusive).
    ///
    /// # Errors
    /// Transport and status errors.
    pub async fn company_news(
        &self,
        symbol: &Symbol,
        from: Date,
        to: Date,
    ) -> Result<Vec<NewsItemWire>, FetchError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.get(
            "/api/v1/company-news",
            symbol,
            &[("symbol", symbol.as_str()), ("from", &from), ("to", &to)],
            wire::parse_news,
        )
        .await
    }
}
