//! Setting field types shared by every provider's settings: each checks its value once at
//! load time with a message that says what to use, accepts the text an environment override
//! carries, and serializes as `config show` prints it (secrets redacted).

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use url::Url;

use crate::transport::{REDACTED, redact_url};

/// A credential: absent when unset or blank, never printed.
#[derive(Clone, Default)]
pub struct Secret(Option<SecretString>);

impl Secret {
    /// A present credential.
    #[must_use]
    pub fn new(value: &str) -> Self {
        Self::from_text(value)
    }

    fn from_text(value: &str) -> Self {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            Self(None)
        } else {
            Self(Some(SecretString::from(trimmed.to_owned())))
        }
    }

    /// The credential, when present.
    #[must_use]
    pub fn get(&self) -> Option<&SecretString> {
        self.0.as_ref()
    }

    /// Whether it is absent.
    #[must_use]
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(_) => f.write_str("Secret(REDACTED)"),
            None => f.write_str("Secret(None)"),
        }
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(secret) if !secret.expose_secret().is_empty() => s.serialize_str(REDACTED),
            _ => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Self::from_text(&text))
    }
}

/// A whole number from an integer or from the text of an environment override.
fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
    struct Whole;
    impl Visitor<'_> for Whole {
        type Value = i128;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i128, E> {
            Ok(i128::from(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i128, E> {
            Ok(i128::from(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i128, E> {
            v.trim()
                .parse::<i128>()
                .map_err(|_| E::custom(format!("{v:?} is not a whole number")))
        }
    }
    d.deserialize_any(Whole)
}

/// A request count per window: at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub NonZeroU32);

impl Rate {
    /// `n` requests (0 is not a rate; it becomes 1).
    #[must_use]
    pub const fn new(n: u32) -> Self {
        match NonZeroU32::new(n) {
            Some(n) => Self(n),
            None => Self(NonZeroU32::MIN),
        }
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0.get())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = whole_number(d)?;
        u32::try_from(n)
            .ok()
            .and_then(NonZeroU32::new)
            .map(Rate)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "{n} is not a request count: use a whole number of at least 1"
                ))
            })
    }
}

/// A request timeout in milliseconds, 1 to 600000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutMs(u32);

impl TimeoutMs {
    /// The longest timeout accepted.
    pub const MAX: u32 = 600_000;
    /// The default: 15 s.
    pub const DEFAULT: Self = Self(15_000);

    /// The timeout.
    #[must_use]
    pub fn duration(self) -> Duration {
        Duration::from_millis(u64::from(self.0))
    }

    /// `ms` milliseconds, clamped to 1..=600000.
    #[must_use]
    pub fn from_millis(ms: u32) -> Self {
        Self(ms.clamp(1, Self::MAX))
    }
}

impl Default for TimeoutMs {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Serialize for TimeoutMs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for TimeoutMs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ms = whole_number(d)?;
        u32::try_from(ms)
            .ok()
            .filter(|ms| (1..=Self::MAX).contains(ms))
            .map(Self)
            .ok_or_else(|| {
                de::Error::custom(format!("{ms} ms is out of range: use 1 to {}", Self::MAX))
            })
    }
}

/// A provider's base URL: http(s), a host, no query or fragment. Shown (Debug, `config show`)
/// with any userinfo redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl(pub Url);

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({})", redact_url(&self.0))
    }
}

impl BaseUrl {
    /// Parses and checks `text`.
    ///
    /// # Errors
    /// What is wrong with it and what to use.
    pub fn parse(text: &str) -> Result<Self, String> {
        // Never echo a password: a URL with userinfo is named without it.
        let shown = match text.rsplit_once('@') {
            Some((_, host)) => format!("<credentials>@{host}"),
            None => text.to_owned(),
        };
        let text = text.trim();
        let url = Url::parse(text).map_err(|e| {
            format!("{shown:?} is not a URL ({e}): use scheme://host[:port][/prefix]")
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(format!(
                "{shown:?} must be an http:// or https:// URL with a host"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{shown:?} must not have a query or fragment"));
        }
        // A credential can only be redacted where a URL keeps credentials; an `@` anywhere
        // else (a mistyped `https:/user:pw@host`) would carry one into logs unredacted.
        if url.path().contains('@') {
            return Err(format!(
                "{shown:?} has an @ in its path: put credentials as scheme://user:pass@host"
            ));
        }
        Ok(Self(url))
    }

    /// A compile-time constant known to be valid (the providers' defaults).
    #[must_use]
    pub fn constant(text: &str) -> Self {
        Self(crate::series::default_base_url(text))
    }
}

impl Serialize for BaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&redact_url(&self.0))
    }
}

impl<'de> Deserialize<'de> for BaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}

/// A provider's live-stream URL: ws(s), a host, no query, fragment or credentials (keys go in
/// the provider's own header or query parameter, added by the adapter). Shown (Debug,
/// `config show`) through the same redaction as [`BaseUrl`].
///
/// Plain `ws://` is accepted anywhere, as plain `http://` is for [`BaseUrl`] (the sandbox and
/// test servers speak it); `doctor` is where plain transport to another host is called out.
#[derive(Clone, PartialEq, Eq)]
pub struct StreamUrl(pub Url);

impl fmt::Debug for StreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamUrl({})", redact_url(&self.0))
    }
}

impl StreamUrl {
    /// Parses and checks `text`.
    ///
    /// # Errors
    /// What is wrong with it and what to use.
    pub fn parse(text: &str) -> Result<Self, String> {
        // Never echo a password: a URL with userinfo is named without it.
        let shown = match text.rsplit_once('@') {
            Some((_, host)) => format!("<credentials>@{host}"),
            None => text.to_owned(),
        };
        let text = text.trim();
        let url = Url::parse(text)
            .map_err(|e| format!("{shown:?} is not a URL ({e}): use wss://host[:port][/prefix]"))?;
        if !matches!(url.scheme(), "ws" | "wss") || url.host().is_none() {
            return Err(format!(
                "{shown:?} must be a wss:// (or ws://) URL with a host"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{shown:?} must not have a query or fragment: the adapter adds what the \
                 provider needs"
            ));
        }
        if !url.username().is_empty() || url.password().is_some() || url.path().contains('@') {
            return Err(format!(
                "{shown:?} must not carry credentials: keys come from the provider's key \
                 settings"
            ));
        }
        Ok(Self(url))
    }

    /// A compile-time constant known to be valid (the providers' defaults).
    #[must_use]
    pub fn constant(text: &str) -> Self {
        Self(crate::series::default_base_url(text))
    }

    /// The stream URL of a sandbox dialect served at `base` (`http://HOST:PORT/<dialect>`):
    /// the same host and port over `ws` (`wss` for an https base), with `path` appended to the
    /// base's path (`/stream/v2`, `/stream`).
    #[must_use]
    pub fn for_sandbox(base: &Url, path: &str) -> Self {
        let mut url = base.clone();
        let scheme = if base.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        // http(s) → ws(s) is a change between special schemes, which `set_scheme` allows.
        let _ = url.set_scheme(scheme);
        let joined = format!("{}{path}", base.path().trim_end_matches('/'));
        url.set_path(&joined);
        url.set_query(None);
        url.set_fragment(None);
        Self(url)
    }
}

impl Serialize for StreamUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&redact_url(&self.0))
    }
}

impl<'de> Deserialize<'de> for StreamUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_are_websockets_without_query_or_credentials() {
        for ok in [
            "wss://stream.data.alpaca.markets/v2",
            "wss://ws.finnhub.io",
            " ws://127.0.0.1:8080/alpaca/stream/v2 ",
        ] {
            assert!(StreamUrl::parse(ok).is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("https://ws.finnhub.io", "wss://"),
            ("wss://", "not a URL"),
            ("wss://ws.finnhub.io?token=abc", "query"),
            ("wss://ws.finnhub.io/#x", "fragment"),
            ("wss://user:hunter2@ws.finnhub.io", "credentials"),
            ("not a url", "not a URL"),
        ] {
            let err = StreamUrl::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn sandbox_stream_urls_follow_the_sandbox_base() {
        let base = Url::parse("http://127.0.0.1:9911/alpaca").unwrap();
        assert_eq!(
            StreamUrl::for_sandbox(&base, "/stream/v2").0.as_str(),
            "ws://127.0.0.1:9911/alpaca/stream/v2"
        );
        let base = Url::parse("https://sandbox.example/finnhub/").unwrap();
        assert_eq!(
            StreamUrl::for_sandbox(&base, "/stream").0.as_str(),
            "wss://sandbox.example/finnhub/stream"
        );
    }
}
