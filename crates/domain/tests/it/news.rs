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
