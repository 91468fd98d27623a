//! What every adapter does to what it hands over: series tidied, news ordered, base URLs.

use stockdata_domain::{Bar, NewsArticle, TimeRange};
use url::Url;

/// Keeps the bars starting inside `range`, oldest first, one per start instant (pages and
/// monthly requests can overlap).
pub(crate) fn tidy(bars: &mut Vec<Bar>, range: TimeRange) {
    bars.retain(|b| range.contains(b.start));
    bars.sort_by_key(|b| b.start);
    bars.dedup_by_key(|b| b.start);
}

/// Newest first, one article per id, at most `limit`.
pub(crate) fn finish_news(mut articles: Vec<NewsArticle>, limit: usize) -> Vec<NewsArticle> {
    articles.sort_by(|a, b| {
        b.published_at
            .cmp(&a.published_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut seen = std::collections::HashSet::new();
    articles.retain(|a| seen.insert(a.id.clone()));
    articles.truncate(limit);
    articles
}

/// A provider's documented base URL.
#[allow(
    clippy::expect_used,
    reason = "only called with a provider's DEFAULT_BASE_URL constant, a valid URL that every \
              adapter's default-config test parses"
)]
pub(crate) fn default_base_url(text: &str) -> Url {
    Url::parse(text).expect("a provider's DEFAULT_BASE_URL is a valid URL")
}
