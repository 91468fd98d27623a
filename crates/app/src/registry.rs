//! The provider registry: the one list of providers stockdata knows. Config loading, the
//! builder, `stockdata providers`, `config show`, `--provider` and the sandbox all iterate it;
//! each provider's facts live in its adapter's descriptor. Adding a provider is one line here.

use stockdata_adapters_http::provider::ProviderDescriptor;
use stockdata_adapters_http::{alpaca, alpha_vantage, finnhub, serverless};

/// Every provider, in the order `providers` and `config show` list them.
pub static PROVIDERS: &[&dyn ProviderDescriptor] = &[
    &alpha_vantage::DESCRIPTOR,
    &finnhub::DESCRIPTOR,
    &alpaca::DESCRIPTOR,
    &serverless::DESCRIPTOR,
];

/// The provider named exactly `name` (its id, as in config and `--provider`).
#[must_use]
pub fn find(name: &str) -> Option<&'static dyn ProviderDescriptor> {
    PROVIDERS.iter().copied().find(|d| d.id().as_str() == name)
}

/// "alpha_vantage, finnhub, alpaca or serverless": the valid names, for messages.
#[must_use]
pub fn names() -> String {
    let ids: Vec<&str> = PROVIDERS.iter().map(|d| d.id().as_str()).collect();
    match ids.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_owned(),
        None => String::new(),
    }
}

/// The providers that stream live data and what to set for each (`Alpaca (APCA_API_KEY_ID,
/// APCA_API_SECRET_KEY)`), for messages about streams.
#[must_use]
pub fn streaming_providers() -> String {
    PROVIDERS
        .iter()
        .filter(|d| d.serves().streams)
        .map(|d| {
            let vars: Vec<&str> = d.env_vars().iter().map(|v| v.name).collect();
            format!("{} ({})", d.display_name(), vars.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" or ")
}
