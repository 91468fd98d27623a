//! Redaction: whatever the URL, a credential in its userinfo or query never shows; whatever
//! the provider text, a long secret never shows at all and a short one never as a whole token,
//! while a short one inside a word leaves the text as it was.

use stockdata_adapters_http::transport::{REDACTED, redact_secrets, redact_url, redact_url_text};
use url::Url;

use super::{SECRET, Target, text};

pub(crate) const REDACT_URL: Target = Target {
    name: "redact_url",
    about: "redact_url / redact_url_text / redact_secrets: planted credentials never survive",
    check,
};

fn check(input: &[u8]) -> Result<(), String> {
    let text = text(input);
    secrets(&text)?;
    // Whatever it is, it is shown without panicking.
    let _ = redact_url_text(&text);
    if text
        .to_ascii_lowercase()
        .contains(&SECRET.to_ascii_lowercase())
    {
        // The secret is already somewhere else in the URL (a host, a path): shown as written.
        return Ok(());
    }
    if let Ok(mut url) = Url::parse(&text) {
        let _ = redact_url(&url);
        // Plant the secret as password and as the apikey parameter.
        if url.set_password(Some(SECRET)).is_ok() {
            let shown = redact_url(&url);
            if shown.contains(SECRET) {
                return Err(format!("password shown: {shown}"));
            }
        }
        url.query_pairs_mut().append_pair("apikey", SECRET);
        let shown = redact_url(&url);
        if shown.contains(SECRET) {
            return Err(format!("apikey shown: {shown}"));
        }
        if !shown.contains(REDACTED) {
            return Err(format!("nothing redacted in {shown}"));
        }
    }
    // As text: the secret as the password of whatever follows.
    for scheme in ["http://", "https://", ""] {
        let planted = format!("{scheme}user:{SECRET}@{text}");
        let shown = redact_url_text(&planted);
        if shown.contains(SECRET) {
            return Err(format!("{planted:?} shown as {shown:?}"));
        }
    }
    Ok(())
}

/// `redact_secrets` on the input as provider text. [`SECRET`] has 24 characters, so it is
/// replaced wherever it is, even glued to letters. The short secret is the input's first 1 to
/// 7 characters (below the threshold of 8; how many follows from the input's length), so it
/// occurs in the text: no occurrence of it may remain as a whole token, and when the text
/// holds it only inside words the text must come back unchanged (no over-redaction of words).
fn secrets(text: &str) -> Result<(), String> {
    let planted = format!("{SECRET}{text}apikey={SECRET}&{text}x{SECRET}x");
    let shown = redact_secrets(&planted, &[SECRET]);
    if shown.contains(SECRET) {
        return Err(format!("the long secret shown: {shown:?}"));
    }
    let short: String = text.chars().take(1 + text.len() % 7).collect();
    if short.is_empty() {
        return Ok(());
    }
    // Given in either order, with the long secret.
    for secrets in [[short.as_str(), SECRET], [SECRET, short.as_str()]] {
        let shown = redact_secrets(text, &secrets);
        if stands_alone(&shown, &short) {
            return Err(format!("{short:?} shown as a token: {shown:?}"));
        }
        if !stands_alone(text, &short) && !text.contains(SECRET) && shown != text {
            return Err(format!(
                "{short:?} only inside words, yet {text:?} became {shown:?}"
            ));
        }
    }
    // Planted as a parameter value and as a word: they go too.
    let planted = format!("{text} apikey={short}&key {short}.");
    let shown = redact_secrets(&planted, &[&short]);
    if stands_alone(&shown, &short) {
        return Err(format!("planted {short:?} shown as a token: {shown:?}"));
    }
    Ok(())
}

/// Whether `needle` occurs in `haystack` (overlapping occurrences too) with no ASCII letter
/// or digit right before or right after it.
fn stands_alone(haystack: &str, needle: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    haystack.char_indices().any(|(at, _)| {
        let (Some(before), Some(rest)) = (haystack.get(..at), haystack.get(at..)) else {
            return false;
        };
        rest.starts_with(needle)
            && !word(before.chars().next_back())
            && !word(
                rest.get(needle.len()..)
                    .and_then(|after| after.chars().next()),
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_properties_hold_and_catch_what_they_should() {
        assert!(stands_alone("key k.", "k"));
        assert!(stands_alone("k", "k"));
        assert!(!stands_alone("unknown", "k"));
        assert!(stands_alone("akk-k", "k"));
        for text in ["unknown", "k", "apikey=k&x", "ключ k", "", "kkkkkkkk"] {
            assert_eq!(secrets(text), Ok(()), "{text:?}");
        }
    }
}
