//! The raw Alpaca client: one method per endpoint, returning wire types. Credentials travel in
//! the `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers.

use std::sync::Arc;

use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use stockdata_domain::{FetchError, Symbol};
use url::Url;

use super::wire::{self, BarsPage, NewsPage, Snapshots};
use crate::batch::join;
use crate::transport::{Call, LogSafeUrl, RawResponse, Transport, endpoint_url, secret_header};

const KEY_ID: HeaderName = HeaderName::from_static("apca-api-key-id");
const SECRET_KEY: HeaderName = HeaderName::from_static("apca-api-secret-key");

/// Parameters of `/v2/stocks/bars` other than the page token.
#[derive(Debug, Clone)]
pub struct BarsParams {
    /// `symbols`, comma-joined.
    pub symbols: String,
    /// `timeframe` (`1Min` … `1Month`).
    pub timeframe: &'static str,
    /// `start`, RFC 3339 with `Z`.
    pub start: String,
    /// `end`, RFC 3339 with `Z`.
    pub end: String,
    /// `adjustment`.
    pub adjustment: &'static str,
    /// `feed`.
    pub feed: String,
    /// `limit` (1-10000; counts across symbols).
    pub limit: u32,
}

/// Parameters of `/v1beta1/news` other than the page token.
#[derive(Debug, Clone)]
pub struct NewsParams {
    /// `symbols`, comma-joined.
    pub symbols: String,
    /// `start`, RFC 3339.
    pub start: String,
    /// `end`, RFC 3339.
    pub end: String,
    /// `limit` (1-50).
    pub limit: u32,
}

/// Mirrors the Alpaca market-data endpoints stockdata uses.
#[derive(Debug, Clone)]
pub struct RawClient {
    transport: Transport,
    base_url: LogSafeUrl,
    key_id: Arc<SecretString>,
    secret_key: Arc<SecretString>,
}

impl RawClient {
    /// A client for `base_url` (`scheme://host[:port][/prefix]`; `/v2/...` is appended).
    #[must_use]
    pub fn new(
        transport: Transport,
        base_url: Url,
        key_id: SecretString,
        secret_key: SecretString,
    ) -> Self {
        Self {
            transport,
            base_url: LogSafeUrl::new(base_url),
            key_id: Arc::new(key_id),
            secret_key: Arc::new(secret_key),
        }
    }

    fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, FetchError> {
        // The one place the credentials leave their secret wrappers.
        Ok(vec![
            (KEY_ID, secret_header(self.key_id.expose_secret())?),
            (SECRET_KEY, secret_header(self.secret_key.expose_secret())?),
        ])
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
        let call = Call {
            provider: &crate::alpaca::ID,
            endpoint,
            url,
            headers: self.headers()?,
            symbol: Some(symbols),
            send_request_id: false,
        };
        self.transport
            .get_body(call, parse, |resp| self.status_error(resp))
            .await
    }

    fn status_error(&self, resp: &RawResponse) -> FetchError {
        wire::status_error(
            resp.status,
            &resp.body,
            &[self.key_id.expose_secret(), self.secret_key.expose_secret()],
        )
    }

    /// `GET /v2/stocks/snapshots?symbols=&feed=`.
    ///
    /// # Errors
    /// Transport and status errors.
    pub async fn snapshots(&self, symbols: &[Symbol], feed: &str) -> Result<Snapshots, FetchError> {
        let joined = join(symbols);
        self.get(
            "/v2/stocks/snapshots",
            &joined,
            &[("symbols", &joined), ("feed", feed)],
            wire::parse_snapshots,
        )
        .await
    }

    /// One page of `GET /v2/stocks/bars`. `page_token` is sent only when there is one (never
    /// the text "null").
    ///
    /// # Errors
    /// Transport and status errors.
    pub async fn bars_page(
        &self,
        p: &BarsParams,
        page_token: Option<&str>,
    ) -> Result<BarsPage, FetchError> {
        let limit = p.limit.to_string();
        let mut params = vec![
            ("symbols", p.symbols.as_str()),
            ("timeframe", p.timeframe),
            ("start", &p.start),
            ("end", &p.end),
            ("limit", &limit),
            ("adjustment", p.adjustment),
            ("feed", &p.feed),
            ("sort", "asc"),
        ];
        if let Some(token) = page_token {
            params.push(("page_token", token));
        }
        self.get(
            "/v2/stocks/bars",
            &p.symbols,
            &params,
            wire::parse_bars_page,
        )
        .await
    }

    /// One page of `GET /v1beta1/news`, newest first.
    ///
    /// # Errors
    /// Transport and status errors.
    pub async fn news_page(
        &self,
        p: &NewsParams,
        page_token: Option<&str>,
    ) -> Result<NewsPage, FetchError> {
        let limit = p.limit.to_string();
        let mut params = vec![
            ("symbols", p.symbols.as_str()),
            ("start", &p.start),
            ("end", &p.end),
            ("limit", &limit),
            ("sort", "desc"),
        ];
        if let Some(token) = page_token {
            params.push(("page_token", token));
        }
        self.get("/v1beta1/news", &p.symbols, &params, wire::parse_news_page)
            .await
    }
}
