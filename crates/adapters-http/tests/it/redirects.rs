//! Redirects: a provider answering with a redirect to another origin never gets our credentials
//! sent there; same-origin redirects are followed.

use stockdata_domain::{ErrorKind, FetchError};
use stockdata_ports::QuoteSource;
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{
    APCA_KEY_ID, APCA_SECRET, AV_KEY, FH_KEY, SERVERLESS_TOKEN, alpaca, av, fh, json, serverless,
    sym,
};

/// Answers `302` to the same path and query at `target`.
struct RedirectTo(String);

impl Respond for RedirectTo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut location = format!("{}{}", self.0, request.url.path());
        if let Some(q) = request.url.query() {
            location.push('?');
            location.push_str(q);
        }
        ResponseTemplate::new(302).insert_header("Location", location.as_str())
    }
}

#[derive(Clone, Copy, Debug)]
enum Target {
    AlphaVantage,
    Finnhub,
    Alpaca,
    Serverless,
}

const TARGETS: [Target; 4] = [
    Target::AlphaVantage,
    Target::Finnhub,
    Target::Alpaca,
    Target::Serverless,
];

impl Target {
    fn path(self) -> &'static str {
        match self {
            Target::AlphaVantage => "/query",
            Target::Finnhub => "/api/v1/quote",
            Target::Alpaca => "/v2/stocks/snapshots",
            Target::Serverless => "/v1/quotes",
        }
    }

    fn ok(self) -> ResponseTemplate {
        match self {
            Target::AlphaVantage => json("alphavantage_global_quote.json"),
            Target::Finnhub => json("finnhub_quote.json"),
            Target::Alpaca => json("alpaca_snapshots_multi.json"),
            Target::Serverless => json("serverless_quotes.json"),
        }
    }

    async fn call(self, base: &str) -> Result<(), FetchError> {
        let now = "2024-01-02T15:00:00Z";
        match self {
            Target::AlphaVantage => av(base, now).quote(&sym("MSFT")).await.map(drop),
            Target::Finnhub => fh(base, now).quote(&sym("AAPL")).await.map(drop),
            Target::Alpaca => alpaca(base, now).quote(&sym("AAPL")).await.map(drop),
            Target::Serverless => serverless(base, now).quote(&sym("AAPL")).await.map(drop),
        }
    }
}

#[tokio::test]
async fn cross_origin_redirects_are_not_followed_with_credentials() {
    for t in TARGETS {
        let elsewhere = MockServer::start().await;
        Mock::given(any())
            .respond_with(t.ok())
            .named("the other origin")
            .expect(0)
            .mount(&elsewhere)
            .await;
        let provider = MockServer::start().await;
        Mock::given(path(t.path()))
            .respond_with(RedirectTo(elsewhere.uri()))
            .named("the provider's redirect")
            .expect(1)
            .mount(&provider)
            .await;

        let err = t.call(&provider.uri()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{t:?}: {err}");
        assert!(
            !err.is_retryable(),
            "{t:?}: the same redirect would come back"
        );
        assert!(err.allows_failover(), "{t:?}: another provider may answer");
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "redirected to another origin ({})",
                elsewhere.uri()
            )),
            "{t:?}: {text}"
        );
        assert!(text.contains("did not follow"), "{t:?}: {text}");
        assert!(text.contains("base_url"), "{t:?}: {text}");
        for secret in [AV_KEY, FH_KEY, APCA_KEY_ID, APCA_SECRET, SERVERLESS_TOKEN] {
            assert!(!text.contains(secret), "{t:?}: {text}");
        }
        assert!(!text.contains('?'), "{t:?}: no query in {text}");
        elsewhere.verify().await;
        provider.verify().await;
    }
}

#[tokio::test]
async fn scheme_and_port_changes_are_other_origins() {
    // Same host, another port.
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let provider = MockServer::start().await;
    let other_port = format!("http://127.0.0.1:{}", elsewhere.address().port());
    Mock::given(path("/api/v1/quote"))
        .respond_with(RedirectTo(other_port))
        .expect(1)
        .mount(&provider)
        .await;
    let err = Target::Finnhub.call(&provider.uri()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err}");

    // Same host and port, https: another origin (and nothing listens for TLS there).
    let provider = MockServer::start().await;
    let https = format!("https://{}", provider.address());
    Mock::given(path("/api/v1/quote"))
        .respond_with(RedirectTo(https.clone()))
        .expect(1)
        .mount(&provider)
        .await;
    let err = Target::Finnhub.call(&provider.uri()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("redirected to another origin ({https})")),
        "{err}"
    );
}

#[tokio::test]
async fn same_origin_redirects_are_followed() {
    for t in TARGETS {
        let provider = MockServer::start().await;
        Mock::given(path(t.path()))
            .respond_with(RedirectTo(format!("{}/moved", provider.uri())))
            .expect(1)
            .mount(&provider)
            .await;
        Mock::given(path(format!("/moved{}", t.path())))
            .respond_with(t.ok())
            .expect(1)
            .mount(&provider)
            .await;
        t.call(&provider.uri())
            .await
            .unwrap_or_else(|e| panic!("{t:?}: {e}"));
    }
}

#[tokio::test]
async fn redirect_loops_end_in_a_typed_error() {
    let provider = MockServer::start().await;
    Mock::given(path("/api/v1/quote"))
        .respond_with(RedirectTo(provider.uri()))
        .mount(&provider)
        .await;
    let err = Target::Finnhub.call(&provider.uri()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err}");
    let requests = provider.received_requests().await.unwrap().len();
    assert!(requests <= 11, "capped: {requests} requests");
}
