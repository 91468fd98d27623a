//! The sandbox's one pseudo-random generator: SplitMix64 from `rand_xoshiro` (the Rand
//! project's non-cryptographic generators), used two ways.
//!
//! - **Keyed draws** ([`draw`], [`unit`]) for market data: a key (symbol, day, field...) is
//!   hashed with FNV-1a (`fnv`) into a seed, and the value is the first draw of a generator
//!   seeded with it. No state is carried between draws, so any bar can be computed on its own,
//!   in any order, on any machine: the same key always gives the same value.
//! - **Keyed streams** ([`Stream`]) for values that belong together: a generator seeded from a
//!   key's hash, drawn in order (one symbol's price path through one day: every draw of the day
//!   costs a few nanoseconds instead of a hash each).
//! - **A seeded stream** ([`Dice`]) for fault injection: one generator seeded from
//!   `SandboxConfig::seed`, rolled once per fault check.
//!
//! Both algorithms are fixed by their references (SplitMix64: Vigna's `splitmix64.c`; FNV-1a
//! 64-bit), so a dependency update cannot move a cent; `market`'s tests pin exact values.

use std::hash::Hasher as _;
use std::sync::Mutex;

use fnv::FnvHasher;
use rand_xoshiro::SplitMix64;
use rand_xoshiro::rand_core::{Rng as _, SeedableRng as _};

/// SplitMix64's increment (the golden ratio in 64 bits): its state moves by this before each
/// draw.
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// FNV-1a of the key's parts, each followed by a `0xff` separator (so `["ab", "c"]` and
/// `["a", "bc"]` differ).
fn seed(key: &[&[u8]]) -> u64 {
    let mut h = FnvHasher::default();
    for part in key {
        h.write(part);
        h.write_u8(0xff);
    }
    h.finish()
}

/// The value `key` stands for: the first draw of SplitMix64 seeded from the key's hash.
///
/// The seed is taken one increment back so that the first draw mixes the hash itself; this
/// keeps every synthetic number what it was when the sandbox finished the hash by hand.
#[must_use]
pub(crate) fn draw(key: &[&[u8]]) -> u64 {
    SplitMix64::seed_from_u64(seed(key).wrapping_sub(GOLDEN_GAMMA)).next_u64()
}

/// A uniform value in `[0, 1)` for `key` (53 random bits, the resolution of an `f64`).
#[must_use]
pub(crate) fn unit(key: &[&[u8]]) -> f64 {
    to_unit(draw(key))
}

/// A sequence of draws for one key: the same key always gives the same sequence.
#[derive(Debug, Clone)]
pub(crate) struct Stream(SplitMix64);

impl Stream {
    pub(crate) fn new(key: &[&[u8]]) -> Self {
        Self(SplitMix64::seed_from_u64(seed(key)))
    }

    /// The next uniform value in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        to_unit(self.0.next_u64())
    }
}

/// The top 53 bits of `x` as a fraction in `[0, 1)`.
fn to_unit(x: u64) -> f64 {
    // Below 2^53 both conversions are exact.
    #[allow(clippy::cast_precision_loss)]
    let v = (x >> 11) as f64 / (1u64 << 53) as f64;
    v
}

/// Seeded dice for fault injection: the same seed gives the same sequence of rolls.
#[derive(Debug)]
pub(crate) struct Dice(Mutex<SplitMix64>);

impl Dice {
    pub(crate) fn new(seed: u64) -> Self {
        Self(Mutex::new(SplitMix64::seed_from_u64(seed)))
    }

    /// Whether an event of probability `rate` happens. Rolls only when `rate > 0`; a rate of 0
    /// (or less) never happens and a rate of 1 (or more) always does.
    pub(crate) fn hit(&self, rate: f64) -> bool {
        rate > 0.0 && self.roll() < rate
    }

    fn roll(&self) -> f64 {
        let mut rng = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        to_unit(rng.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_draws_are_pinned() {
        // FNV-1a reference: the empty input hashes to the offset basis.
        assert_eq!(seed(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(draw(&[b"AAPL", b"base"]), 3_002_843_252_809_872_143);
        assert_eq!(draw(&[b"AAPL", b"base"]), draw(&[b"AAPL", b"base"]));
        assert_ne!(draw(&[b"AA", b"PLbase"]), draw(&[b"AAPL", b"base"]));
        let u = unit(&[b"MSFT", b"phase"]);
        assert!((0.0..1.0).contains(&u), "{u}");
        assert_eq!(to_unit(0), 0.0);
        assert!(to_unit(u64::MAX) < 1.0);
    }

    #[test]
    fn streams_are_keyed_and_repeatable() {
        let take = |key: &[&[u8]]| {
            let mut s = Stream::new(key);
            (0..8).map(|_| s.unit()).collect::<Vec<_>>()
        };
        assert_eq!(take(&[b"AAPL", b"path"]), take(&[b"AAPL", b"path"]));
        assert_ne!(take(&[b"AAPL", b"path"]), take(&[b"MSFT", b"path"]));
        assert!(take(&[b"X"]).iter().all(|u| (0.0..1.0).contains(u)));
    }

    #[test]
    fn dice_are_seeded_and_rates_0_and_1_are_certain() {
        let rolls = |seed| {
            let dice = Dice::new(seed);
            (0..64).map(|_| dice.hit(0.5)).collect::<Vec<_>>()
        };
        assert_eq!(rolls(7), rolls(7));
        assert_ne!(rolls(7), rolls(8));
        let dice = Dice::new(7);
        for _ in 0..1000 {
            assert!(dice.hit(1.0));
            assert!(!dice.hit(0.0));
            assert!(!dice.hit(f64::NAN));
        }
        let hits = (0..10_000).filter(|_| dice.hit(0.25)).count();
        assert!((2_000..3_000).contains(&hits), "{hits}");
    }
}
