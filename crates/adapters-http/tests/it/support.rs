use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use stockdata_adapters_http::alpaca::{Alpaca, AlpacaConfig};
use stockdata_adapters_http::alpha_vantage::{AlphaVantage, AlphaVantageConfig};
use stockdata_adapters_http::finnhub::{Finnhub, FinnhubConfig};
use stockdata_adapters_http::serverless::{Serverless, ServerlessConfig};
use stockdata_adapters_http::transport::{PacerRegistry, RateWindow, RetryPolicy, TransportConfig};
use stockdata_domain::{Adjustment, BarQuery, Date, DateRange, Interval, Symbol, Timestamp};
use stockdata_ports::FixedClock;
use url::Url;
use wiremock::ResponseTemplate;

pub(crate) const AV_KEY: &str = "AVKEY-7f3a9c-do-not-log";
pub(crate) const FH_KEY: &str = "FHKEY-b81d20-do-not-log";
pub(crate) const APCA_KEY_ID: &str = "PKAPCAID-44c1-do-not-log";
pub(crate) const APCA_SECRET: &str = "APCASECRET-90e2-do-not-log";
pub(crate) const SERVERLESS_TOKEN: &str = "SLTOKEN-5d6e-do-not-log";

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

pub(crate) fn json(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(name), "application/json")
}

pub(crate) fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

pub(crate) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub(crate) fn date(s: &str) -> Date {
    s.parse().unwrap()
}

/// Short timeouts and near-zero backoff so failure paths run in milliseconds.
pub(crate) fn fast_transport() -> TransportConfig {
    TransportConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            total_budget: Duration::from_secs(5),
        },
    }
}

pub(crate) fn clock(at: &str) -> Arc<FixedClock> {
    Arc::new(FixedClock(ts(at)))
}

pub(crate) fn av_config(base: &str) -> AlphaVantageConfig {
    AlphaVantageConfig {
        base_url: Url::parse(base).unwrap(),
        transport: fast_transport(),
        windows: Vec::<RateWindow>::new(),
        ..AlphaVantageConfig::new(SecretString::from(AV_KEY))
    }
}

pub(crate) fn av(base: &str, now: &str) -> AlphaVantage {
    AlphaVantage::new(av_config(base), &PacerRegistry::new(), clock(now)).unwrap()
}

pub(crate) fn fh_config(base: &str) -> FinnhubConfig {
    FinnhubConfig {
        base_url: Url::parse(base).unwrap(),
        transport: fast_transport(),
        windows: Vec::new(),
        ..FinnhubConfig::new(SecretString::from(FH_KEY))
    }
}

pub(crate) fn fh(base: &str, now: &str) -> Finnhub {
    Finnhub::new(fh_config(base), &PacerRegistry::new(), clock(now)).unwrap()
}

pub(crate) fn bar_query(symbol: &str, interval: Interval, from: &str, to: &str) -> BarQuery {
    BarQuery {
        symbol: sym(symbol),
        interval,
        range: DateRange::new(date(from), date(to))
            .unwrap()
            .to_time_range(),
        adjustment: Adjustment::Raw,
    }
}

pub(crate) fn alpaca_config(base: &str) -> AlpacaConfig {
    AlpacaConfig {
        base_url: Url::parse(base).unwrap(),
        transport: fast_transport(),
        windows: Vec::new(),
        ..AlpacaConfig::new(
            SecretString::from(APCA_KEY_ID),
            SecretString::from(APCA_SECRET),
        )
    }
}

pub(crate) fn alpaca(base: &str, now: &str) -> Alpaca {
    Alpaca::new(alpaca_config(base), &PacerRegistry::new(), clock(now)).unwrap()
}

pub(crate) fn serverless_config(base: &str) -> ServerlessConfig {
    ServerlessConfig {
        transport: fast_transport(),
        ..ServerlessConfig::new(
            Url::parse(base).unwrap(),
            Some(SecretString::from(SERVERLESS_TOKEN)),
        )
    }
}

pub(crate) fn serverless(base: &str, now: &str) -> Serverless {
    Serverless::new(serverless_config(base), &PacerRegistry::new(), clock(now)).unwrap()
}

/// The comma-separated `symbols` query parameter of a request.
pub(crate) fn symbols_param(request: &wiremock::Request) -> Vec<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == "symbols")
        .map(|(_, v)| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default()
}
