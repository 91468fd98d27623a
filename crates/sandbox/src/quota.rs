//! Free-tier quotas as fixed windows, the way the providers count them. Each dialect decides
//! which windows apply and how a refusal looks on its wire; this module only counts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Per-provider quotas, as the providers enforce them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Alpha Vantage requests per day (per key).
    pub alpha_vantage_per_day: u32,
    /// Alpha Vantage requests per second (per key).
    pub alpha_vantage_per_second: u32,
    /// Finnhub requests per minute (per key).
    pub finnhub_per_minute: u32,
    /// Finnhub requests per second (per key).
    pub finnhub_per_second: u32,
    /// Alpaca requests per minute (per key).
    pub alpaca_per_minute: u32,
}

impl Quotas {
    /// The providers' free tiers.
    pub const FREE: Quotas = Quotas {
        alpha_vantage_per_day: 25,
        alpha_vantage_per_second: 1,
        finnhub_per_minute: 60,
        finnhub_per_second: 30,
        alpaca_per_minute: 200,
    };
}

/// `limit` requests per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) per: Duration,
    pub(crate) limit: u32,
}

impl Window {
    pub(crate) const fn per_second(limit: u32) -> Self {
        Self {
            per: Duration::from_secs(1),
            limit,
        }
    }

    pub(crate) const fn per_minute(limit: u32) -> Self {
        Self {
            per: Duration::from_secs(60),
            limit,
        }
    }

    pub(crate) const fn per_day(limit: u32) -> Self {
        Self {
            per: Duration::from_secs(86_400),
            limit,
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    /// Index of the first full window in the list given to [`Windows::admit`].
    pub(crate) window: usize,
    /// Until that window starts over.
    pub(crate) resets_in: Duration,
}

/// Where a key stands in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standing {
    pub(crate) remaining: u32,
    pub(crate) resets_in: Duration,
}

/// (provider, key, window length).
type Slot = (&'static str, String, Duration);
/// (window start, requests admitted in it).
type Count = (Instant, u32);

/// Fixed windows per provider, key and length. A window starts at the first request after the
/// previous one ended. Also tallies, per provider, the requests admitted and refused: what a
/// test of a bot's pacing asks the sandbox (`GET /_sandbox/stats`).
#[derive(Debug, Default)]
pub(crate) struct Windows {
    slots: Mutex<HashMap<Slot, Count>>,
    tally: Mutex<BTreeMap<&'static str, Tally>>,
}

/// Requests one provider admitted and refused under its quotas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Admitted (counted in every window).
    pub admitted: u64,
    /// Refused because a window was full (a 429, or Alpha Vantage's `Information`).
    pub refused: u64,
}

impl Windows {
    /// Admits a request by `key` to `provider` when every window has room, counting it in all
    /// of them. A refused request counts in none: a throttled call does not use up the day.
    pub(crate) fn admit(
        &self,
        provider: &'static str,
        key: &str,
        windows: &[Window],
    ) -> Result<(), Refused> {
        let mut map = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        for (i, w) in windows.iter().enumerate() {
            let entry = map
                .entry((provider, key.to_owned(), w.per))
                .or_insert((now, 0));
            if now.duration_since(entry.0) >= w.per {
                *entry = (now, 0);
            }
            if entry.1 >= w.limit {
                self.count(provider, |t| t.refused += 1);
                return Err(Refused {
                    window: i,
                    resets_in: w.per.saturating_sub(now.duration_since(entry.0)),
                });
            }
        }
        for w in windows {
            if let Some(entry) = map.get_mut(&(provider, key.to_owned(), w.per)) {
                entry.1 += 1;
            }
        }
        drop(map);
        self.count(provider, |t| t.admitted += 1);
        Ok(())
    }

    fn count(&self, provider: &'static str, f: impl FnOnce(&mut Tally)) {
        let mut tally = self
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(tally.entry(provider).or_default());
    }

    /// Per provider, the requests admitted and refused so far.
    pub(crate) fn tally(&self) -> BTreeMap<&'static str, Tally> {
        self.tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Takes back a request [`Windows::admit`] counted in `windows`: an answer that turned out
    /// to be a 404 costs nothing.
    pub(crate) fn refund(&self, provider: &'static str, key: &str, windows: &[Window]) {
        let mut map = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for w in windows {
            if let Some(entry) = map.get_mut(&(provider, key.to_owned(), w.per)) {
                entry.1 = entry.1.saturating_sub(1);
            }
        }
        drop(map);
        self.count(provider, |t| t.admitted = t.admitted.saturating_sub(1));
    }

    /// How much of `window` `key` has left (all of it when the key has not been seen).
    pub(crate) fn standing(&self, provider: &'static str, key: &str, window: Window) -> Standing {
        let map = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get(&(provider, key.to_owned(), window.per)) {
            Some((start, used)) if start.elapsed() < window.per => Standing {
                remaining: window.limit.saturating_sub(*used),
                resets_in: window.per.saturating_sub(start.elapsed()),
            },
            _ => Standing {
                remaining: window.limit,
                resets_in: window.per,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows_per_provider_and_key() {
        let w = Windows::default();
        let two = [Window::per_minute(2)];
        assert_eq!(w.admit("p", "k", &two), Ok(()));
        assert_eq!(w.admit("p", "k", &two), Ok(()));
        let refused = w.admit("p", "k", &two).unwrap_err();
        assert_eq!(refused.window, 0);
        assert!(refused.resets_in <= Duration::from_secs(60));
        assert_eq!(w.admit("p", "other", &two), Ok(()), "keys count apart");
        assert_eq!(w.admit("q", "k", &two), Ok(()), "providers count apart");
        assert_eq!(w.standing("p", "k", two[0]).remaining, 0);
        assert_eq!(w.standing("p", "new", two[0]).remaining, 2);
    }

    #[test]
    fn a_window_starts_over_after_its_length() {
        let w = Windows::default();
        let one = [Window {
            per: Duration::from_millis(30),
            limit: 1,
        }];
        assert_eq!(w.admit("p", "k", &one), Ok(()));
        assert!(w.admit("p", "k", &one).is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(w.admit("p", "k", &one), Ok(()));
    }

    #[test]
    fn a_refund_gives_the_request_back_in_every_window() {
        let w = Windows::default();
        let windows = [Window::per_day(3), Window::per_second(2)];
        assert_eq!(w.admit("p", "k", &windows), Ok(()));
        w.refund("p", "k", &windows);
        w.refund("p", "k", &windows);
        assert_eq!(w.standing("p", "k", windows[0]).remaining, 3);
        assert_eq!(w.standing("p", "k", windows[1]).remaining, 2);
        w.refund("p", "unseen", &windows);
        assert_eq!(w.standing("p", "unseen", windows[0]).remaining, 3);
    }

    #[test]
    fn a_refused_request_counts_in_no_window() {
        let w = Windows::default();
        let day_then_burst = [Window::per_day(3), Window::per_second(1)];
        assert_eq!(w.admit("av", "k", &day_then_burst), Ok(()));
        let burst = w.admit("av", "k", &day_then_burst).unwrap_err();
        assert_eq!(burst.window, 1, "the burst window refused");
        assert_eq!(
            w.standing("av", "k", day_then_burst[0]).remaining,
            2,
            "the burst-refused request did not use up the day"
        );
    }
}
