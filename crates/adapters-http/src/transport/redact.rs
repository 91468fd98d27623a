//! Keeping credentials out of logs and errors.

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

/// The URL as it may be logged: every credential-carrying query value replaced by `REDACTED`.
#[must_use]
pub fn redact_url(url: &Url) -> String {
    if url.query().is_none() {
        return url.to_string();
    }
    let mut out = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let secret = SECRET_PARAMS.iter().any(|p| k.eq_ignore_ascii_case(p));
            (
                k.into_owned(),
                if secret {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                },
            )
        })
        .collect();
    out.query_pairs_mut().clear().extend_pairs(pairs);
    out.to_string()
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
