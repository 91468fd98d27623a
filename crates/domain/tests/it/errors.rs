use std::time::Duration;

use stockdata_domain::{
    Decimal, ErrorKind, FetchError, Provenance, ProviderId, Quote, Symbol, Timestamp,
};

fn all_errors() -> Vec<FetchError> {
    vec![
        FetchError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        },
        FetchError::QuotaExhausted { resets_at: None },
        FetchError::Unauthorized,
        FetchError::EntitlementDenied {
            reason: "premium".into(),
        },
        FetchError::UnknownSymbol {
            symbol: Symbol::parse("ZZZZ").unwrap(),
        },
        FetchError::NoData,
        FetchError::InvalidRequest {
            reason: "bad".into(),
        },
        FetchError::Timeout,
        FetchError::Transport {
            detail: "reset".into(),
        },
        FetchError::ProviderUnavailable { status: Some(503) },
        FetchError::malformed("x"),
        FetchError::Cancelled,
        FetchError::NotStored {
            missing: "AAPL 1d raw bars for 2024-03-01".into(),
        },
        FetchError::Store {
            detail: "locked".into(),
        },
    ]
}

#[test]
fn classification_table() {
    use ErrorKind as K;
    for err in all_errors() {
        let (retry, failover) = match err.kind() {
            K::RateLimited | K::Timeout | K::Transport | K::ProviderUnavailable => (true, true),
            K::QuotaExhausted
            | K::Unauthorized
            | K::EntitlementDenied
            | K::UnknownSymbol
            | K::NoData
            | K::Malformed => (false, true),
            K::InvalidRequest | K::Cancelled | K::NotStored | K::Store => (false, false),
        };
        assert_eq!(err.is_retryable(), retry, "{err:?}");
        assert_eq!(err.allows_failover(), failover, "{err:?}");
        assert_eq!(ErrorKind::from_name(err.kind().as_str()), Some(err.kind()));
    }
    assert_eq!(all_errors().len(), ErrorKind::ALL.len());
}

#[test]
fn messages_say_what_to_do() {
    let shown = FetchError::RateLimited {
        retry_after: Some(Duration::from_millis(1500)),
    }
    .to_string();
    assert_eq!(
        shown,
        "rate limited by the provider (retry after 1.5s): \
         slow down or configure a lower request rate"
    );
    assert!(
        FetchError::Unauthorized
            .to_string()
            .contains("check the configured API key")
    );
    assert!(
        FetchError::ProviderUnavailable { status: Some(502) }
            .to_string()
            .contains("HTTP 502")
    );
}

#[test]
fn quote_derives_change_exactly() {
    let mut q = Quote {
        symbol: Symbol::parse("MSFT").unwrap(),
        price: "112.13".parse().unwrap(),
        bid: None,
        bid_size: None,
        ask: None,
        ask_size: None,
        open: None,
        high: None,
        low: None,
        previous_close: Some("112.79".parse().unwrap()),
        change: None,
        change_percent: None,
        volume: None,
        as_of: Timestamp::UNIX_EPOCH,
        provenance: Provenance::new(ProviderId::from_static("finnhub"), Timestamp::UNIX_EPOCH),
    };
    q.derive_change();
    assert_eq!(q.change, Some("-0.66".parse::<Decimal>().unwrap()));
    assert_eq!(
        q.change_percent,
        Some("-0.5852".parse::<Decimal>().unwrap())
    );
}

/// Provider prices at the edge of `Decimal`: a change that cannot be represented is left out,
/// never a panic.
#[test]
fn derived_change_never_overflows() {
    let quote = |price: Decimal, prev: Decimal| {
        let mut q = Quote {
            symbol: Symbol::parse("X").unwrap(),
            price,
            bid: None,
            bid_size: None,
            ask: None,
            ask_size: None,
            open: None,
            high: None,
            low: None,
            previous_close: Some(prev),
            change: None,
            change_percent: None,
            volume: None,
            as_of: Timestamp::UNIX_EPOCH,
            provenance: Provenance::new(ProviderId::new("test"), Timestamp::UNIX_EPOCH),
        };
        q.derive_change();
        (q.change, q.change_percent)
    };
    assert_eq!(quote(Decimal::MAX, Decimal::MIN), (None, None));
    let (change, pct) = quote(Decimal::MAX, Decimal::new(1, 28));
    assert!(change.is_some());
    assert_eq!(pct, None);
    let (change, pct) = quote(Decimal::MAX, Decimal::ONE);
    assert!(change.is_some());
    assert_eq!(pct, None, "x100 overflows");
    assert_eq!(
        quote(Decimal::new(2, 0), Decimal::ONE),
        (Some(Decimal::ONE), Some(Decimal::ONE_HUNDRED))
    );
}
