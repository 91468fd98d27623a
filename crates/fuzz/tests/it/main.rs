//! The fuzz targets and their engine: every corpus replays clean, every target survives a
//! short deterministic fuzz, and the engine does catch panics (a target that panics is found,
//! shrunk and located).

use std::collections::BTreeSet;
use std::fs;

use stockdata_fuzz::engine::{self, Budget};
use stockdata_fuzz::{TARGETS, Target};

#[test]
fn every_target_has_a_corpus_and_every_corpus_a_target() {
    let names: BTreeSet<&str> = TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(names.len(), TARGETS.len(), "target names are unique");
    let dirs: BTreeSet<String> = fs::read_dir(engine::corpus_root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let named: BTreeSet<String> = names.iter().map(|n| (*n).to_owned()).collect();
    assert_eq!(dirs, named, "corpus/<name>/ per target, no other folder");
    for t in TARGETS {
        let corpus = engine::load_corpus(&engine::corpus_root().join(t.name)).unwrap();
        assert!(!corpus.is_empty(), "{}: empty corpus", t.name);
    }
}

#[test]
fn every_corpus_replays_clean() {
    for t in TARGETS {
        let corpus = engine::load_corpus(&engine::corpus_root().join(t.name)).unwrap();
        if let Err(f) = engine::replay(t, &corpus) {
            panic!("{f}");
        }
    }
}

#[test]
fn the_corpus_stays_small() {
    let total: usize = TARGETS
        .iter()
        .flat_map(|t| engine::load_corpus(&engine::corpus_root().join(t.name)).unwrap())
        .map(|(_, bytes)| bytes.len())
        .sum();
    assert!(total < 2 * 1024 * 1024, "{total} bytes of corpus");
}

#[test]
fn every_target_survives_a_short_fuzz() {
    for (i, t) in TARGETS.iter().enumerate() {
        let corpus = engine::load_corpus(&engine::corpus_root().join(t.name)).unwrap();
        let seeds: Vec<Vec<u8>> = corpus.into_iter().map(|(_, b)| b).collect();
        if let Err(f) = engine::fuzz(t, &seeds, Budget::Cases(128), 0x5eed + i as u64) {
            panic!("{f}");
        }
    }
}

/// A stand-in for `Duration::from_secs_f64` on an upstream number: panics on the first
/// `1e300`-like value.
fn panics_on_absurd_numbers(input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')) {
        if let Ok(secs) = word.parse::<f64>()
            && secs.is_finite()
            && secs >= 0.0
        {
            let _ = std::time::Duration::from_secs_f64(secs);
        }
    }
    Ok(())
}

static PANICKY: Target = Target {
    name: "panicky",
    about: "engine self-test",
    check: panics_on_absurd_numbers,
};

#[test]
fn the_engine_finds_shrinks_and_locates_a_panic() {
    let seeds = vec![br#"{"error":{"kind":"rate_limited","retry_after_s":12}}"#.to_vec()];
    let mut failure =
        engine::fuzz(&PANICKY, &seeds, Budget::Cases(20_000), 7).expect_err("the panic is found");
    assert!(
        failure.message.contains("panicked at"),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("time.rs"),
        "with its location: {}",
        failure.message
    );
    let dir = std::env::temp_dir().join(format!("stockdata-fuzz-selftest-{}", std::process::id()));
    let path = engine::write_artifact(&mut failure, &dir).unwrap();
    assert_eq!(fs::read(&path).unwrap(), failure.input);
    let shown = failure.to_string();
    assert!(shown.contains(&path.display().to_string()), "{shown}");
    assert!(shown.contains("--replay"), "{shown}");
    // The same input fails on replay, from its file.
    let corpus = engine::load_corpus(&dir.join("panicky")).unwrap();
    assert!(engine::replay(&PANICKY, &corpus).is_err());
    let _ = fs::remove_dir_all(&dir);
}
