//! The raw Alpha Vantage client: one method per function of `/query`, returning wire types.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use stockdata_domain::{FetchError, Symbol};
use url::Url;

use super::wire::{self, Body, FeedItem, GlobalQuote, Series};
use crate::transport::{Call, LogSafeUrl, Transport, endpoint_url};

/// `outputsize` of the time-series functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputSize {
    /// The latest 100 points.
    Compact,
    /// The whole history (daily) or the trailing 30 days / the whole `month` (intraday).
    Full,
}

impl OutputSize {
    fn as_str(self) -> &'static str {
        match self {
            OutputSize::Compact => "compact",
            OutputSize::Full => "full",
        }
    }
}

/// Parameters of NEWS_SENTIMENT.
#[derive(Debug, Clone)]
pub struct NewsParams<'a> {
    /// `tickers` (ANDed by the provider).
    pub tickers: &'a str,
    /// `time_from`, `YYYYMMDDTHHMM` UTC.
    pub time_from: String,
    /// `time_to`, `YYYYMMDDTHHMM` UTC.
    pub time_to: String,
    /// `limit`, at most 1000.
    pub limit: usize,
}

/// Mirrors Alpha Vantage's `/query` functions. The key travels as the `apikey` query
/// parameter (Alpha Vantage has no header auth); the transport logs URLs redacted.
#[derive(Debug, Clone)]
pub struct RawClient {
    transport: Transport,
    query_url: LogSafeUrl,
    api_key: Arc<SecretString>,
}

impl RawClient {
    /// A client for `base_url` (`scheme://host[:port][/prefix]`; `/query` is appended).
    #[must_use]
    pub fn new(transport: Transport, base_url: &Url, api_key: SecretString) -> Self {
        Self {
            transport,
            query_url: LogSafeUrl::new(endpoint_url(base_url, "/query")),
            api_key: Arc::new(api_key),
        }
    }

    /// Texts to redact from anything the provider says back.
    pub(crate) fn with_secret<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        f(&[self.api_key.expose_secret()])
    }

    fn url(&self, function: &str, params: &[(&str, &str)]) -> Url {
        let mut url = self.query_url.as_url().clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("function", function);
            for (k, v) in params {
                q.append_pair(k, v);
            }
            // The one place the key leaves its secret wrapper.
            q.append_pair("apikey", self.api_key.expose_secret());
        }
        url
    }

    async fn get<T>(
        &self,
        function: &'static str,
        symbol: Option<&str>,
        params: &[(&str, &str)],
        parse: fn(&[u8]) -> Result<Body<T>, FetchError>,
        about: Option<&Symbol>,
    ) -> Result<T, FetchError> {
        let call = Call {
            provider: &crate::alpha_vantage::ID,
            endpoint: function,
            url: self.url(function, params),
            headers: Vec::new(),
            symbol,
            send_request_id: false,
        };
        self.transport
            .get(call, |resp| {
                if !(200..300).contains(&resp.status) {
                    return Err(
                        self.with_secret(|s| wire::status_error(resp.status, &resp.body, s))
                    );
                }
                match parse(&resp.body)? {
                    Body::Data(data) => Ok(data),
                    Body::Notice(notice) => Err(self.with_secret(|s| notice.classify(about, s))),
                }
            })
            .await
    }

    /// `GLOBAL_QUOTE`.
    ///
    /// # Errors
    /// Transport errors and classified notices.
    pub async fn global_quote(&self, symbol: &Symbol) -> Result<GlobalQuote, FetchError> {
        let s = symbol.as_str();
        self.get(
            "GLOBAL_QUOTE",
            Some(s),
            &[("symbol", s)],
            wire::parse_global_quote,
            Some(symbol),
        )
        .await
    }

    /// `TIME_SERIES_DAILY`, or `TIME_SERIES_DAILY_ADJUSTED` when `adjusted` (premium).
    ///
    /// # Errors
    /// Transport errors and classified notices.
    pub async fn time_series_daily(
        &self,
        symbol: &Symbol,
        size: OutputSize,
        adjusted: bool,
    ) -> Result<Series, FetchError> {
        let s = symbol.as_str();
        let function = if adjusted {
            "TIME_SERIES_DAILY_ADJUSTED"
        } else {
            "TIME_SERIES_DAILY"
        };
        self.get(
            function,
            Some(s),
            &[("symbol", s), ("outputsize", size.as_str())],
            wire::parse_series,
            Some(symbol),
        )
        .await
    }

    /// `TIME_SERIES_INTRADAY` with `interval` (`1min` … `60min`), optionally `month`
    /// (`YYYY-MM`), and `adjusted` for split/dividend-adjusted prices.
    ///
    /// # Errors
    /// Transport errors and classified notices.
    pub async fn time_series_intraday(
        &self,
        symbol: &Symbol,
        interval: &str,
        month: Option<&str>,
        size: OutputSize,
        adjusted: bool,
    ) -> Result<Series, FetchError> {
        let s = symbol.as_str();
        let mut params = vec![
            ("symbol", s),
            ("interval", interval),
            ("outputsize", size.as_str()),
            ("adjusted", if adjusted { "true" } else { "false" }),
            // Regular hours only: Alpha Vantage's default (`true`) adds the pre- and
            // post-market (04:00 to 20:00 New York), which no other provider's bars hold.
            ("extended_hours", "false"),
        ];
        if let Some(month) = month {
            params.push(("month", month));
        }
        self.get(
            "TIME_SERIES_INTRADAY",
            Some(s),
            &params,
            wire::parse_series,
            Some(symbol),
        )
        .await
    }

    /// `NEWS_SENTIMENT` sorted `LATEST`.
    ///
    /// # Errors
    /// Transport errors and classified notices.
    pub async fn news_sentiment(
        &self,
        params: &NewsParams<'_>,
    ) -> Result<Vec<FeedItem>, FetchError> {
        let limit = params.limit.min(1000).to_string();
        self.get(
            "NEWS_SENTIMENT",
            Some(params.tickers),
            &[
                ("tickers", params.tickers),
                ("time_from", &params.time_from),
                ("time_to", &params.time_to),
                ("sort", "LATEST"),
                ("limit", &limit),
            ],
            wire::parse_news,
            None,
        )
        .await
    }
}
