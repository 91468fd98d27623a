//! The registry of fuzz targets. One module per area; one `Target` const per target.

use stockdata_adapters_http::transport::MAX_RETRY_AFTER;
use stockdata_domain::{ErrorKind, FetchError, Provenance, ProviderId, Symbol, Timestamp};

mod alpaca;
mod alpha_vantage;
mod config;
mod finnhub;
mod headers;
mod numbers;
mod redact;
mod serve;
mod serverless;
mod watchlist;

/// One fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name: the corpus folder `corpus/<name>/` and the `--target` argument.
    pub name: &'static str,
    /// What it exercises, one line.
    pub about: &'static str,
    /// Runs one input: `Err(what was violated)` when a property does not hold. Panicking is
    /// always a failure (the engine catches it).
    pub check: fn(&[u8]) -> Result<(), String>,
}

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[Target] = &[
    alpha_vantage::QUOTE,
    alpha_vantage::DAILY,
    alpha_vantage::DAILY_ADJUSTED,
    alpha_vantage::INTRADAY,
    alpha_vantage::NEWS,
    alpha_vantage::ERRORS,
    finnhub::QUOTE,
    finnhub::CANDLES,
    finnhub::NEWS,
    finnhub::ERRORS,
    finnhub::STREAM,
    alpaca::SNAPSHOTS,
    alpaca::BARS,
    alpaca::NEWS,
    alpaca::ERRORS,
    alpaca::STREAM,
    serverless::QUOTES,
    serverless::BARS,
    serverless::NEWS,
    serverless::ERRORS,
    headers::RETRY_AFTER,
    numbers::DECIMAL,
    redact::REDACT_URL,
    config::CONFIG_TOML,
    config::CONFIG_ENV,
    watchlist::WATCHLIST,
    serve::SERVE_REQUEST,
];

/// The target called `name`.
#[must_use]
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// A credential planted in inputs (the mutator's dictionary holds it too): no error text may
/// ever show it.
pub const SECRET: &str = "FUZZKEY-7d1e-do-not-leak";

/// A password planted in the userinfo of config URLs (`base_url`): no error, Debug output or
/// `config show` view may show it.
pub const PASSWORD: &str = "FUZZPASS-93c4-do-not-leak";

/// The bearer token the guarded `serve` router of the `serve_request` target requires.
pub const SERVE_TOKEN: &str = "fuzz-serve-token";

/// The statuses error classifiers are tried with.
pub(crate) const STATUSES: [u16; 7] = [400, 401, 403, 404, 422, 429, 451];

pub(crate) fn sym() -> Symbol {
    Symbol::parse("AAPL").unwrap_or_else(|_| unreachable!("a valid symbol"))
}

pub(crate) fn prov() -> Provenance {
    Provenance::new(ProviderId::new("fuzz"), Timestamp::UNIX_EPOCH)
}

/// `result` is `Ok` or an error of one of `allowed` kinds. (Data parsers know no secret, and
/// quote the offending value in `Malformed`; the secret check is for the error classifiers,
/// [`error_is_safe`].)
pub(crate) fn expect_kinds<T>(
    what: &str,
    result: Result<T, FetchError>,
    allowed: &[ErrorKind],
) -> Result<(), String> {
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            if allowed.contains(&e.kind()) {
                Ok(())
            } else {
                Err(format!("{what}: unexpected {:?}: {e}", e.kind()))
            }
        }
    }
}

/// What every classified error must satisfy: the secret it was given to redact shows in
/// neither its message nor its Debug output, and any wait it asks for is at most
/// `MAX_RETRY_AFTER`.
pub(crate) fn error_is_safe(what: &str, e: &FetchError) -> Result<(), String> {
    let shown = format!("{e} {e:?}");
    if shown.contains(SECRET) {
        return Err(format!("{what}: the secret leaked into {shown}"));
    }
    if e.retry_after().is_some_and(|d| d > MAX_RETRY_AFTER) {
        return Err(format!("{what}: wait past MAX_RETRY_AFTER: {e:?}"));
    }
    Ok(())
}

/// Malformed only: what a body parser may answer besides data.
pub(crate) const MALFORMED: &[ErrorKind] = &[ErrorKind::Malformed];

/// What a stream frame reader may answer besides events: a malformed frame, or the provider's
/// error message classified as the stream port says.
pub(crate) const STREAM_ERRORS: &[ErrorKind] = &[
    ErrorKind::Malformed,
    ErrorKind::Unauthorized,
    ErrorKind::EntitlementDenied,
    ErrorKind::RateLimited,
    ErrorKind::InvalidRequest,
    ErrorKind::Timeout,
    ErrorKind::Transport,
    ErrorKind::ProviderUnavailable,
];

pub(crate) fn text(input: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(input)
}
