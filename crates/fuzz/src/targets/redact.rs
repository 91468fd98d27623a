//! URL redaction: whatever the URL, a credential in its userinfo or query never shows.

use stockdata_adapters_http::transport::{REDACTED, redact_url, redact_url_text};
use url::Url;

use super::{SECRET, Target, text};

pub(crate) const REDACT_URL: Target = Target {
    name: "redact_url",
    about: "redact_url / redact_url_text: planted credentials never survive",
    check,
};

fn check(input: &[u8]) -> Result<(), String> {
    let text = text(input);
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
