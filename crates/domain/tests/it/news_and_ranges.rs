//! News rules and range splitting: pure functions over domain values.

use std::time::Duration;

use stockdata_domain::TimeRange;
use stockdata_domain::news::{canonical_url, dedupe_news, normalized_headline};

fn ts(text: &str) -> stockdata_domain::Timestamp {
    text.parse().unwrap()
}

#[test]
fn split_range_pieces() {
    let r = TimeRange::new(ts("2024-01-01T00:00:00Z"), ts("2024-01-01T10:00:00Z")).unwrap();
    assert_eq!(r.split(None), vec![r]);
    let pieces = r.split(Some(Duration::from_secs(4 * 3600)));
    assert_eq!(pieces.len(), 3);
    assert_eq!(pieces[2].end(), r.end());
}

#[test]
fn canonical_urls() {
    assert_eq!(
        canonical_url("https://www.Example.com/a/?utm_medium=x#top"),
        "example.com/a"
    );
    assert_eq!(
        canonical_url("http://example.com/a?id=3&utm_source=y"),
        "example.com/a?id=3"
    );
    assert_eq!(dedupe_news(Vec::new(), 5), Vec::new());
}

#[test]
fn headlines_normalize_to_lower_case_words() {
    assert_eq!(
        normalized_headline("  Apple's  NEW iPhone -- sells!"),
        "apple s new iphone sells"
    );
    assert_eq!(normalized_headline("..."), "");
}

#[test]
fn bar_bounds() {
    use stockdata_domain::Interval;
    let r = |a: &str, b: &str| TimeRange::new(ts(a), ts(b)).unwrap();
    // Friday 2024-03-08 to Monday 2024-03-11 00:00, exclusive: Friday is the one weekday.
    let weekend = r("2024-03-08T00:00:00Z", "2024-03-11T00:00:00Z");
    assert_eq!(weekend.max_bars(Interval::Minute1), 390);
    assert_eq!(weekend.max_bars(Interval::Day1), 1);
    let week = r("2024-03-04T00:00:00Z", "2024-03-11T00:00:00Z");
    assert_eq!(week.max_bars(Interval::Hour1), 35);
    assert_eq!(week.max_bars(Interval::Week1), 1);
    let hour = r("2024-03-08T14:30:00Z", "2024-03-08T15:30:00Z");
    assert_eq!(hour.max_bars(Interval::Minute1), 60);
    assert_eq!(hour.max_bars(Interval::Minute5), 12);
    let saturday = r("2024-03-09T00:00:00Z", "2024-03-10T00:00:00Z");
    assert_eq!(saturday.max_bars(Interval::Minute1), 0);
    let decade = r("2014-01-01T00:00:00Z", "2024-01-01T00:00:00Z");
    assert_eq!(
        decade.max_bars(Interval::Day1),
        2608,
        "weekdays in the decade"
    );
    assert_eq!(decade.max_bars(Interval::Month1), 131);
}

#[test]
fn a_kept_story_takes_the_sentiment_a_later_copy_carries() {
    use stockdata_domain::{
        NewsArticle, Provenance, ProviderId, Sentiment, SentimentLabel, Symbol,
    };
    let article = |id: &str, provider: &str, at: &str, sentiment: Option<Sentiment>| NewsArticle {
        id: id.to_owned(),
        headline: "Chipmaker beats estimates".to_owned(),
        summary: String::new(),
        url: "https://news.example/story?utm_source=x".to_owned(),
        source: "Wire".to_owned(),
        published_at: ts(at),
        symbols: vec![Symbol::parse("NVDA").unwrap()],
        author: None,
        image: None,
        sentiment,
        provenance: Provenance::new(ProviderId::new(provider), ts(at)),
    };
    let scored = Sentiment {
        score: "0.41".parse().unwrap(),
        label: SentimentLabel::Bullish,
        tickers: Vec::new(),
    };
    let kept = dedupe_news(
        vec![
            article(
                "av:1",
                "alpha_vantage",
                "2024-03-08T15:01:00Z",
                Some(scored.clone()),
            ),
            article("alpaca:1", "alpaca", "2024-03-08T15:00:00Z", None),
        ],
        10,
    );
    assert_eq!(kept.len(), 1);
    // The first publication is kept, with the score the later copy brought.
    assert_eq!(kept[0].id, "alpaca:1");
    assert_eq!(kept[0].sentiment, Some(scored.clone()));
    // A kept story's own sentiment is not replaced.
    let own = Sentiment {
        label: SentimentLabel::Bearish,
        ..scored.clone()
    };
    let kept = dedupe_news(
        vec![
            article(
                "alpaca:1",
                "alpaca",
                "2024-03-08T15:00:00Z",
                Some(own.clone()),
            ),
            article(
                "av:1",
                "alpha_vantage",
                "2024-03-08T15:01:00Z",
                Some(scored),
            ),
        ],
        10,
    );
    assert_eq!(kept[0].sentiment, Some(own));
}
