//! Keeping credentials out of logs and errors.

use std::fmt;
use std::ops::Deref;

use url::Url;

/// What replaces a secret wherever text leaves the process.
pub const REDACTED: &str = "REDACTED";

/// Query parameters whose values are credentials at some provider.
const SECRET_PARAMS: &[&str] = &[
    "apikey",
    "api_key",
    "token",
    "key",
    "secret",
    "access_token",
    "apca-api-key-id",
    "apca-api-secret-key",
];

/// The URL as it may be logged or shown (`config show`): userinfo (`user:password@`, which
/// reqwest sends as Basic auth) and every credential-carrying query value replaced by
/// `REDACTED`. Everything else is kept exactly as written.
#[must_use]
pub fn redact_url(url: &Url) -> String {
    let mut out = url.clone();
    if !out.username().is_empty() {
        // Cannot fail: a URL with a username can have it replaced.
        let _ = out.set_username(REDACTED);
    }
    if out.password().is_some() {
        let _ = out.set_password(Some(REDACTED));
    }
    if let Some(query) = url.query() {
        out.set_query(Some(&redact_query(query)));
    }
    out.to_string()
}

/// [`redact_url`] for text that may not even parse as a URL (a config value being reported as
/// invalid). When it does not parse as a URL with a host, everything before the last `@` ahead
/// of the query is taken for userinfo and replaced (over-redacting rather than showing a
/// password), as well as credential query values.
#[must_use]
pub fn redact_url_text(text: &str) -> String {
    if let Ok(url) = Url::parse(text)
        && url.has_host()
    {
        return redact_url(&url);
    }
    let (head, query) = match text.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (text, None),
    };
    let (scheme, rest) = match head.split_once("://") {
        Some((scheme, rest)) if is_scheme(scheme) => (Some(scheme), rest),
        _ => (None, head),
    };
    let mut out = String::with_capacity(text.len());
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    match rest.rsplit_once('@') {
        Some((_, host)) => {
            out.push_str(REDACTED);
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(rest),
    }
    if let Some(query) = query {
        out.push('?');
        out.push_str(&redact_query(query));
    }
    out
}

/// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986): anything else before `://` is
/// part of the userinfo, not a scheme to keep.
fn is_scheme(text: &str) -> bool {
    text.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `query` with the value of every credential parameter replaced, the rest untouched.
fn redact_query(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let (raw_key, has_value) = match pair.split_once('=') {
            Some((k, _)) => (k, true),
            None => (pair, false),
        };
        // The key as the server reads it (`api%6Bey` is `apikey`).
        let key: String = url::form_urlencoded::parse(raw_key.as_bytes())
            .map(|(k, _)| k.into_owned())
            .collect();
        if has_value && SECRET_PARAMS.iter().any(|p| key.eq_ignore_ascii_case(p)) {
            out.push_str(raw_key);
            out.push('=');
            out.push_str(REDACTED);
        } else {
            out.push_str(pair);
        }
    }
    out
}

/// A URL whose `Debug` and `Display` show it through [`redact_url`]: for URL fields of
/// structs that derive `Debug` (a base URL may carry `user:password@`). Derefs to the [`Url`].
#[derive(Clone, PartialEq, Eq)]
pub struct LogSafeUrl(Url);

impl LogSafeUrl {
    /// Wraps `url`.
    #[must_use]
    pub fn new(url: Url) -> Self {
        Self(url)
    }

    /// The URL itself, credentials included (to send, never to show).
    #[must_use]
    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

impl Deref for LogSafeUrl {
    type Target = Url;
    fn deref(&self) -> &Url {
        &self.0
    }
}

impl fmt::Debug for LogSafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_url(&self.0), f)
    }
}

impl fmt::Display for LogSafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// `text` with every occurrence of each non-empty secret replaced by `REDACTED`.
#[must_use]
pub fn redact_secrets(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    out
}

/// Provider text fit for an error message: secrets redacted, cut to a readable length.
#[must_use]
pub fn provider_message(text: &str, secrets: &[&str]) -> String {
    const MAX: usize = 300;
    let clean = redact_secrets(text.trim(), secrets);
    if clean.chars().count() <= MAX {
        clean
    } else {
        let mut cut: String = clean.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}
