//! News rules: when two articles are one story, and how a merged list is ordered and
//! trimmed. Pure functions over domain values.

use std::collections::HashMap;
use std::time::Duration;

use crate::NewsArticle;

/// How far apart two articles with the same headline may be and still be one story.
pub const SAME_STORY_WINDOW: Duration = Duration::from_secs(3 * 3600);

/// Newest first, one article per story: an article is dropped when an earlier-published one
/// has the same canonical URL, or the same normalized headline within [`SAME_STORY_WINDOW`]
/// (the first publication of a story is the one kept). A kept article without sentiment takes
/// that of a dropped copy that has one (one provider scores what another one sent first).
#[must_use]
pub fn dedupe_news(mut articles: Vec<NewsArticle>, limit: usize) -> Vec<NewsArticle> {
    articles.sort_by(|a, b| {
        a.published_at
            .cmp(&b.published_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    // Where each story went in `kept`: by canonical URL, and by headline with its times.
    let mut urls: HashMap<String, usize> = HashMap::new();
    let mut headlines: HashMap<String, Vec<(jiff::Timestamp, usize)>> = HashMap::new();
    let window =
        jiff::SignedDuration::try_from(SAME_STORY_WINDOW).unwrap_or(jiff::SignedDuration::ZERO);
    let mut kept: Vec<NewsArticle> = Vec::new();
    for article in articles {
        let url = canonical_url(&article.url);
        let headline = normalized_headline(&article.headline);
        let same_url = urls.get(&url).copied().filter(|_| !url.is_empty());
        let same_headline = || {
            headlines.get(&headline).and_then(|times| {
                times
                    .iter()
                    .find(|(t, _)| t.duration_since(article.published_at).abs() <= window)
                    .map(|(_, i)| *i)
            })
        };
        let earlier = same_url.or_else(|| {
            if headline.is_empty() {
                None
            } else {
                same_headline()
            }
        });
        if let Some(i) = earlier {
            if let Some(first) = kept.get_mut(i)
                && first.sentiment.is_none()
            {
                first.sentiment = article.sentiment;
            }
            continue;
        }
        let index = kept.len();
        headlines
            .entry(headline)
            .or_default()
            .push((article.published_at, index));
        urls.insert(url, index);
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
