//! News rules: when two articles are one story, and how a merged list is ordered and
//! trimmed. Pure functions over domain values.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::NewsArticle;

/// How far apart two articles with the same headline may be and still be one story.
pub const SAME_STORY_WINDOW: Duration = Duration::from_secs(3 * 3600);

/// Newest first, one article per story: an article is dropped when an earlier-published one
/// has the same canonical URL, or the same normalized headline within [`SAME_STORY_WINDOW`]
/// (the first publication of a story is the one kept).
#[must_use]
pub fn dedupe_news(mut articles: Vec<NewsArticle>, limit: usize) -> Vec<NewsArticle> {
    articles.sort_by(|a, b| {
        a.published_at
            .cmp(&b.published_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut urls = HashSet::new();
    let mut headlines: HashMap<String, Vec<jiff::Timestamp>> = HashMap::new();
    let window =
        jiff::SignedDuration::try_from(SAME_STORY_WINDOW).unwrap_or(jiff::SignedDuration::ZERO);
    let mut kept = Vec::new();
    for article in articles {
        let url = canonical_url(&article.url);
        if !url.is_empty() && urls.contains(&url) {
            continue;
        }
        let headline = normalized_headline(&article.headline);
        let times = headlines.entry(headline.clone()).or_default();
        if !headline.is_empty()
            && times
                .iter()
                .any(|t| t.duration_since(article.published_at).abs() <= window)
        {
            continue;
        }
        times.push(article.published_at);
        urls.insert(url);
        kept.push(article);
    }
    kept.reverse();
    kept.truncate(limit);
    kept
}

/// Scheme and `www.` dropped, host lower-cased, tracking parameters, fragment and trailing
/// slash removed.
#[must_use]
pub fn canonical_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text.trim()) else {
        return text.trim().to_ascii_lowercase();
    };
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("utm_") && k != "ref" && k != "cmpid")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_start_matches("www.")
        .to_ascii_lowercase();
    let path = url.path().trim_end_matches('/');
    match url.query() {
        Some(q) => format!("{host}{path}?{q}"),
        None => format!("{host}{path}"),
    }
}

/// Lower-case words of letters and digits, single-spaced.
#[must_use]
pub fn normalized_headline(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}
