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

/// Secrets of at least this many characters are replaced wherever they appear; shorter ones
/// only where they stand as a whole token. Real keys are 16 to 40 random characters, so any
/// occurrence of one is the key; what is shorter is a placeholder or test key (`k`, `demo`,
/// `test`, `xxx`), whose letters turn up inside ordinary words (`unknown`, `demonstration`,
/// `latest`). Eight is where that stops being likely: a key that long is not a syllable, and
/// if it is a word ("password") it is replaced everywhere, over-redacting rather than leaking.
const REDACT_ANYWHERE: usize = 8;

/// `text` with each non-empty secret replaced by `REDACTED`: everywhere when it has at least
/// [`REDACT_ANYWHERE`] characters, else wherever it stands as a whole token (no ASCII letter
/// or digit right before or after it: `apikey=k&`, `key k.`, `"k"`), so a one-letter key
/// leaves `unknown` whole. Longer secrets go first, so one that holds a shorter one is
/// replaced whole rather than broken up by the shorter one's replacement.
#[must_use]
pub fn redact_secrets(text: &str, secrets: &[&str]) -> String {
    let mut secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in secrets {
        if !out.contains(secret) {
            continue;
        }
        out = if secret.chars().count() >= REDACT_ANYWHERE {
            out.replace(secret, REDACTED)
        } else {
            replace_tokens(&out, secret)
        };
    }
    out
}

/// `text` with every occurrence of `secret` that stands as a whole token replaced, scanning
/// left to right; an occurrence inside a word is kept and the scan goes on from its next
/// character, so a token occurrence overlapping it is still found.
fn replace_tokens(text: &str, secret: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // `text[..copied]` is in `out` already; occurrences are looked for from `from`.
    let (mut copied, mut from) = (0, 0);
    while let Some(at) = text
        .get(from..)
        .and_then(|rest| rest.find(secret))
        .map(|i| from + i)
    {
        let end = at + secret.len();
        if is_token(text, at, end) {
            out.push_str(text.get(copied..at).unwrap_or_default());
            out.push_str(REDACTED);
            (copied, from) = (end, end);
        } else {
            let step = text
                .get(at..)
                .and_then(|rest| rest.chars().next())
                .map_or(1, char::len_utf8);
            from = at + step;
        }
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    out
}

/// Whether `text[start..end]` has no ASCII letter or digit right before or right after it.
fn is_token(text: &str, start: usize, end: usize) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let before = text.get(..start).and_then(|t| t.chars().next_back());
    let after = text.get(end..).and_then(|t| t.chars().next());
    !word(before) && !word(after)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, secrets: &[&str], expect: &str) {
        assert_eq!(
            redact_secrets(text, secrets),
            expect,
            "{text:?} with {secrets:?}"
        );
    }

    #[test]
    fn a_short_secret_is_replaced_only_as_a_whole_token() {
        check("unknown", &["k"], "unknown");
        check("unknown key k.", &["k"], "unknown key REDACTED.");
        check(
            "GET /q?apikey=k&symbol=K",
            &["k"],
            "GET /q?apikey=REDACTED&symbol=K",
        );
        check(
            "the demo key: demonstration only",
            &["demo"],
            "the REDACTED key: demonstration only",
        );
        check(
            r#"{"key":"test1","tests":1}"#,
            &["test1"],
            r#"{"key":"REDACTED","tests":1}"#,
        );
        // Digits glue like letters; `_` and `-` do not.
        check(
            "k1 1k k_k k-k",
            &["k"],
            "k1 1k REDACTED_REDACTED REDACTED-REDACTED",
        );
    }

    #[test]
    fn the_threshold_is_eight_characters() {
        // Seven: still a token match only.
        check("a1b2c3dX a1b2c3d", &["a1b2c3d"], "a1b2c3dX REDACTED");
        // Eight: replaced wherever it appears, inside words too.
        check("xa1b2c3d4x a1b2c3d4", &["a1b2c3d4"], "xREDACTEDx REDACTED");
        // Characters, not bytes: seven letters of two bytes each are short.
        check("éééééééx ééééééé", &["ééééééé"], "éééééééx REDACTED");
        check("xéééééééé", &["éééééééé"], "xREDACTED");
    }

    #[test]
    fn tokens_at_the_edges_of_the_text() {
        check("k", &["k"], "REDACTED");
        check("k unknown k", &["k"], "REDACTED unknown REDACTED");
        check("kk", &["k"], "kk");
        check("k=k", &["k"], "REDACTED=REDACTED");
        check("", &["k"], "");
        check("unknown", &[""], "unknown");
    }

    #[test]
    fn a_secret_inside_another_is_replaced_after_it() {
        // Whatever the order given, the long secret is replaced whole first.
        let long = "k-0123456789abcdef";
        let text = format!("key {long} then k.");
        for secrets in [["k", long], [long, "k"]] {
            check(&text, &secrets, "key REDACTED then REDACTED.");
        }
        // Both short: the longer still goes first, so `live` does not break `sk-live` up.
        check(
            "sk-live sk live",
            &["sk-live", "live"],
            "REDACTED sk REDACTED",
        );
        check("abcdefgh abc", &["abc", "abcdefgh"], "REDACTED REDACTED");
    }

    #[test]
    fn multibyte_text_around_a_secret() {
        check("clé k, ключ k", &["k"], "clé REDACTED, ключ REDACTED");
        // Non-ASCII letters are not ASCII alphanumerics: a key next to them is a token.
        check("ék", &["k"], "éREDACTED");
        check("日本kー", &["k"], "日本REDACTEDー");
        check(
            "日本語キー12345678日本語",
            &["12345678"],
            "日本語キーREDACTED日本語",
        );
        // A multibyte short secret inside and outside a word.
        check("aé é", &["é"], "aé REDACTED");
    }

    #[test]
    fn overlapping_occurrences_are_all_found() {
        // The first "kk" is glued to "a"; the one overlapping it stands alone.
        check("akk k", &["k"], "akk REDACTED");
        check("ak-k", &["k-k"], "ak-k");
        check("a k-k-k", &["k-k"], "a REDACTED-k");
    }

    #[test]
    fn provider_messages_keep_words_and_lose_keys() {
        let message = provider_message("  Unknown symbol for key k: try again  ", &["k"]);
        assert_eq!(message, "Unknown symbol for key REDACTED: try again");
    }
}
