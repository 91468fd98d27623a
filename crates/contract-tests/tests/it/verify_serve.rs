//! Provider verification: every interaction of the committed serverless pact is replayed
//! against a running `stockdata serve` (fake ports behind it, set up per provider state), and
//! the answer is matched against the pact with Pact's own rules. Consumer and provider are
//! proven compatible on every commit.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pact_models::bodies::OptionalBody;
use pact_models::pact::read_pact;
use pact_models::v4::http_parts::HttpResponse;
use secrecy::SecretString;
use stockdata_app::StockData;
use stockdata_app::config::ServeConfig;
use stockdata_app::domain::time::daily_bar_start;
use stockdata_app::domain::{
    Adjustment, Bar, BarQuery, FetchError, Interval, NewsArticle, NewsQuery, Provenance,
    ProviderId, Quote, Sentiment, SentimentLabel, Symbol, TickerSentiment, Timestamp,
};
use stockdata_app::ports::{BarSource, Capabilities, FixedClock, NewsSource, QuoteSource};
use stockdata_app::serve::{router, run};

/// What the ports answer in one provider state.
#[derive(Debug)]
struct State {
    caps: Capabilities,
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn provenance() -> Provenance {
    let mut p = Provenance::new(
        stockdata_adapters_http::alpaca::ID,
        ts("2024-03-08T21:00:00Z"),
    );
    p.adjustment = Some(Adjustment::Raw);
    p
}

#[async_trait]
impl QuoteSource for State {
    fn provider(&self) -> ProviderId {
        stockdata_adapters_http::alpaca::ID
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        if symbol.as_str() != "AAPL" {
            return Err(FetchError::UnknownSymbol {
                symbol: symbol.clone(),
            });
        }
        let d = |s: &str| Some(s.parse().unwrap());
        Ok(Quote {
            symbol: symbol.clone(),
            price: "189.98".parse().unwrap(),
            bid: d("189.97"),
            bid_size: Some(300),
            ask: d("189.99"),
            ask_size: Some(200),
            open: d("188.5"),
            high: d("190.32"),
            low: d("188.19"),
            previous_close: d("188.01"),
            change: d("1.97"),
            change_percent: d("1.0478"),
            volume: Some(48_213_900),
            as_of: ts("2024-03-08T20:59:59.912Z"),
            provenance: provenance(),
        })
    }
}

#[async_trait]
impl BarSource for State {
    fn provider(&self) -> ProviderId {
        stockdata_adapters_http::alpaca::ID
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn bars(&self, query: &BarQuery) -> Result<Vec<Bar>, FetchError> {
        if query.symbol.as_str() == "MSFT" {
            return Err(FetchError::RateLimited {
                retry_after: Some(Duration::from_secs(12)),
            });
        }
        let bar = |day: &str, close: &str| Bar {
            symbol: query.symbol.clone(),
            interval: Interval::Day1,
            start: daily_bar_start(day.parse().unwrap()),
            open: "169.15".parse().unwrap(),
            high: "173.7".parse().unwrap(),
            low: "168.49".parse().unwrap(),
            close: close.parse().unwrap(),
            volume: 71_765_100,
            vwap: Some("169.6217".parse().unwrap()),
            trades: Some(812_345),
            provenance: provenance(),
        };
        Ok(vec![bar("2024-03-07", "169"), bar("2024-03-08", "170.73")])
    }
}

#[async_trait]
impl NewsSource for State {
    fn provider(&self) -> ProviderId {
        stockdata_adapters_http::alpaca::ID
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn news(&self, _query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        Ok(vec![NewsArticle {
            id: "alpaca:37521234".into(),
            headline: "Apple shares rise after upgrade".into(),
            summary: "Analysts lifted their target.".into(),
            url: "https://example.com/news/37521234".into(),
            source: "benzinga".into(),
            published_at: ts("2024-03-08T14:31:07Z"),
            symbols: vec![Symbol::parse("AAPL").unwrap()],
            author: Some("Jane Doe".into()),
            image: None,
            sentiment: Some(Sentiment {
                score: "0.297506".parse().unwrap(),
                label: SentimentLabel::SomewhatBullish,
                tickers: vec![TickerSentiment {
                    symbol: Symbol::parse("AAPL").unwrap(),
                    relevance: "0.922387".parse().unwrap(),
                    score: "0.588718".parse().unwrap(),
                    label: SentimentLabel::Bullish,
                }],
            }),
            provenance: provenance(),
        }])
    }
}

/// The ports for a provider state. Every state of the serverless pact is set up here; a new
/// state in the pact without a setup fails verification.
fn setup(state: &str) -> Arc<State> {
    match state {
        "AAPL is traded and ZZZZ is not"
        | "AAPL has daily bars and MSFT is rate limited"
        | "AAPL has news"
        | "ranges are limited to ten years" => Arc::new(State {
            caps: Capabilities {
                intervals: Interval::ALL.to_vec(),
                ..Capabilities::single_symbol()
            },
        }),
        other => panic!("no provider-state setup for {other:?}: add one to verify_serve.rs"),
    }
}

#[test]
fn serve_satisfies_the_serverless_pact() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pacts/stockdata-serverless.json");
    let pact = read_pact(&path).unwrap();
    let interactions = pact.interactions();
    assert!(!interactions.is_empty());
    rt.block_on(async {
        for interaction in &interactions {
            let http = interaction.as_v4_http().unwrap();
            let states: Vec<String> = interaction
                .provider_states()
                .iter()
                .map(|s| s.name.clone())
                .collect();
            let ports = setup(states.first().map_or("", String::as_str));
            let sd = StockData::builder()
                .clock(Arc::new(FixedClock(ts("2024-03-09T00:00:00Z"))))
                .quote_source(ports.clone() as Arc<dyn QuoteSource>)
                .bar_source(ports.clone() as Arc<dyn BarSource>)
                .news_source(ports as Arc<dyn NewsSource>)
                .build()
                .unwrap();
            let config = ServeConfig {
                tokens: vec![SecretString::from("pact-token")],
                ..ServeConfig::default()
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let shutdown = stockdata_app::CancellationToken::new();
            let server = tokio::spawn(run(
                listener,
                router(sd, config),
                Duration::from_secs(1),
                shutdown.clone(),
            ));

            // Replay the pact's request: its path, query and headers as recorded.
            let mut url = reqwest::Url::parse(&format!("{base}{}", http.request.path)).unwrap();
            if let Some(query) = &http.request.query {
                let mut pairs = url.query_pairs_mut();
                for (k, values) in query {
                    for v in values.iter().flatten() {
                        pairs.append_pair(k, v);
                    }
                }
            }
            let mut req = reqwest::Client::new().get(url);
            for (k, values) in http.request.headers.clone().unwrap_or_default() {
                for v in values {
                    req = req.header(k.as_str(), v);
                }
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        vec![v.to_str().unwrap_or("").to_owned()],
                    )
                })
                .collect();
            let body = resp.bytes().await.unwrap();
            let actual = HttpResponse {
                status,
                headers: Some(headers),
                body: OptionalBody::Present(
                    body.clone(),
                    Some(pact_models::content_types::JSON.clone()),
                    None,
                ),
                ..HttpResponse::default()
            };
            let mismatches = pact_matching::match_response(
                http.response.clone(),
                actual,
                &pact,
                &interaction.boxed(),
            )
            .await
            .unwrap();
            shutdown.cancel();
            let _ = server.await;
            assert!(
                mismatches.is_empty(),
                "serve does not satisfy {:?} (state {states:?}):\n{}\nbody: {}",
                interaction.description(),
                mismatches
                    .iter()
                    .map(|m| format!("  - {}", m.description()))
                    .collect::<Vec<_>>()
                    .join("\n"),
                String::from_utf8_lossy(&body)
            );
        }
    });
}
