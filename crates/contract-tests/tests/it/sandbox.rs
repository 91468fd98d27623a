use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use stockdata_adapters_http::alpaca::{Alpaca, AlpacaConfig};
use stockdata_adapters_http::alpha_vantage::{AlphaVantage, AlphaVantageConfig};
use stockdata_adapters_http::finnhub::{Finnhub, FinnhubConfig};
use stockdata_adapters_http::serverless::{Serverless, ServerlessConfig};
use stockdata_adapters_http::transport::{PacerRegistry, RetryPolicy, TransportConfig};
use stockdata_domain::{
    Adjustment, BarQuery, DateRange, ErrorKind, FetchError, Interval, NewsQuery, Symbol, TimeRange,
    Timestamp,
};
use stockdata_ports::{BarSource, FixedClock, NewsSource, QuoteSource};
use stockdata_sandbox::{Faults, Quotas, Sandbox, SandboxConfig};

const NOW: &str = "2024-03-08T21:30:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

async fn start(quotas: Option<Quotas>, faults: Faults) -> Sandbox {
    let config = SandboxConfig {
        quotas,
        faults,
        ..SandboxConfig::new(Arc::new(FixedClock(now())))
    };
    Sandbox::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn transport(retries: u32) -> TransportConfig {
    TransportConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(800),
        retry: RetryPolicy {
            max_attempts: retries,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
            total_budget: Duration::from_secs(3),
        },
    }
}

fn key() -> SecretString {
    SecretString::from("contract-key")
}

type Sources = (
    Arc<dyn QuoteSource>,
    Arc<dyn BarSource>,
    Arc<dyn NewsSource>,
);

fn adapters(sb: &Sandbox, retries: u32) -> Vec<(&'static str, Sources)> {
    let clock = Arc::new(FixedClock(now()));
    let pacers = PacerRegistry::new();
    let av = Arc::new(
        AlphaVantage::new(
            AlphaVantageConfig {
                base_url: sb.base_url("alpha_vantage"),
                transport: transport(retries),
                windows: Vec::new(),
                ..AlphaVantageConfig::new(key())
            },
            &pacers,
            clock.clone(),
        )
        .unwrap(),
    );
    let fh = Arc::new(
        Finnhub::new(
            FinnhubConfig {
                base_url: sb.base_url("finnhub"),
                transport: transport(retries),
                windows: Vec::new(),
                ..FinnhubConfig::new(key())
            },
            &pacers,
            clock.clone(),
        )
        .unwrap(),
    );
    let ap = Arc::new(
        Alpaca::new(
            AlpacaConfig {
                base_url: sb.base_url("alpaca"),
                transport: transport(retries),
                windows: Vec::new(),
                ..AlpacaConfig::new(key(), key())
            },
            &pacers,
            clock.clone(),
        )
        .unwrap(),
    );
    let sl = Arc::new(
        Serverless::new(
            ServerlessConfig {
                transport: transport(retries),
                ..ServerlessConfig::new(sb.base_url("serverless"), Some(key()))
            },
            &pacers,
            clock,
        )
        .unwrap(),
    );
    vec![
        ("alpha_vantage", (av.clone(), av.clone(), av)),
        ("finnhub", (fh.clone(), fh.clone(), fh)),
        ("alpaca", (ap.clone(), ap.clone(), ap)),
        ("serverless", (sl.clone(), sl.clone(), sl)),
    ]
}

fn days(from: &str, to: &str) -> TimeRange {
    DateRange::new(from.parse().unwrap(), to.parse().unwrap())
        .unwrap()
        .to_time_range()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_adapter_reads_every_sandbox_endpoint() {
    let sb = start(None, Faults::default()).await;
    for (name, (quotes, bars, news)) in adapters(&sb, 1) {
        let q = quotes
            .quote(&sym("AAPL"))
            .await
            .unwrap_or_else(|e| panic!("{name} quote: {e}"));
        assert!(q.price > stockdata_domain::Decimal::ZERO, "{name}");
        assert_eq!(
            quotes.quote(&sym("ZZZZ")).await.unwrap_err().kind(),
            ErrorKind::UnknownSymbol,
            "{name}: unknown symbols are classified"
        );
        let daily = bars
            .bars(&BarQuery {
                symbol: sym("MSFT"),
                interval: Interval::Day1,
                range: days("2024-02-01", "2024-03-08"),
                adjustment: Adjustment::Raw,
            })
            .await
            .unwrap_or_else(|e| panic!("{name} daily bars: {e}"));
        assert_eq!(
            daily.len(),
            26,
            "{name}: every NYSE session from 1 Feb to 8 Mar (Presidents' Day closed)"
        );
        assert_eq!(
            daily.last().unwrap().start,
            "2024-03-08T05:00:00Z".parse::<Timestamp>().unwrap(),
            "{name}"
        );
        let hourly = bars
            .bars(&BarQuery {
                symbol: sym("MSFT"),
                interval: Interval::Hour1,
                range: days("2024-03-08", "2024-03-08"),
                adjustment: Adjustment::Raw,
            })
            .await
            .unwrap_or_else(|e| panic!("{name} hourly bars: {e}"));
        assert_eq!(hourly.len(), 7, "{name}: 09:30 to 16:00 EST");
        assert_eq!(
            hourly[0].start,
            "2024-03-08T14:30:00Z".parse::<Timestamp>().unwrap(),
            "{name}"
        );
        let articles = news
            .news(&NewsQuery {
                symbols: vec![sym("NVDA")],
                range: TimeRange::new("2024-03-07T00:00:00Z".parse().unwrap(), now()).unwrap(),
                limit: 10,
            })
            .await
            .unwrap_or_else(|e| panic!("{name} news: {e}"));
        assert_eq!(articles.len(), 4, "{name}: two synthetic stories a day");
        assert!(articles[0].headline.starts_with("[SANDBOX]"), "{name}");
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn quotas_are_enforced_the_way_each_provider_does() {
    let quotas = Quotas {
        alpha_vantage_per_day: 2,
        alpha_vantage_per_second: 100,
        finnhub_per_minute: 2,
        finnhub_per_second: 100,
        alpaca_per_minute: 2,
    };
    let sb = start(Some(quotas), Faults::default()).await;
    for (name, (quotes, _, _)) in adapters(&sb, 1) {
        if name == "serverless" {
            continue;
        }
        quotes.quote(&sym("AAPL")).await.unwrap();
        quotes.quote(&sym("AAPL")).await.unwrap();
        let err = quotes.quote(&sym("AAPL")).await.unwrap_err();
        let want = if name == "alpha_vantage" {
            ErrorKind::QuotaExhausted
        } else {
            ErrorKind::RateLimited
        };
        assert_eq!(err.kind(), want, "{name}: {err}");
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_faults_map_onto_the_taxonomy() {
    let cases = [
        (
            Faults {
                error_rate: 1.0,
                ..Faults::default()
            },
            ErrorKind::ProviderUnavailable,
        ),
        (
            Faults {
                malformed_rate: 1.0,
                ..Faults::default()
            },
            ErrorKind::Malformed,
        ),
        (
            Faults {
                reset_rate: 1.0,
                ..Faults::default()
            },
            ErrorKind::Transport,
        ),
        (
            Faults {
                latency: Duration::from_millis(1500),
                ..Faults::default()
            },
            ErrorKind::Timeout,
        ),
    ];
    for (faults, want) in cases {
        let sb = start(None, faults).await;
        for (name, (quotes, _, _)) in adapters(&sb, 2) {
            let err = quotes.quote(&sym("AAPL")).await.unwrap_err();
            assert_eq!(err.kind(), want, "{name} under {faults:?}: {err}");
            if want != ErrorKind::Malformed {
                assert!(matches!(
                    err,
                    FetchError::Timeout
                        | FetchError::Transport { .. }
                        | FetchError::ProviderUnavailable { .. }
                ));
            }
        }
        sb.stop().await;
    }
}
