//! Runs targets: corpus replay, then time- or case-bounded fuzzing with proptest, panics caught
//! and reported with the input that caused them.

use std::cell::RefCell;
use std::fmt;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::mutate;
use crate::targets::Target;

/// Where the committed corpora live: `crates/fuzz/corpus/<target>/`.
#[must_use]
pub fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Where failing inputs are written: `target/fuzz/artifacts/<target>/`.
#[must_use]
pub fn artifacts_root() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap_or_else(|| Path::new("."));
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    target_dir.join("fuzz").join("artifacts")
}

/// Every file under `dir` (recursively, `regressions/` included), sorted by path.
///
/// # Errors
/// When `dir` cannot be read.
pub fn load_corpus(dir: &Path) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = fs::read(&path)?;
                out.push((path, bytes));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// How long a fuzzing run lasts.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// Until this much time has passed (checked between batches of cases).
    Time(Duration),
    /// This many generated cases.
    Cases(u64),
}

/// A property violation or panic, with the input that caused it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The target.
    pub target: &'static str,
    /// What went wrong: the panic message and location, or the violated property.
    pub message: String,
    /// The input.
    pub input: Vec<u8>,
    /// Where the input is: its corpus file, or the artifact written for it.
    pub location: Option<PathBuf>,
    /// The seed of the fuzzing run that found it (none for corpus replays).
    pub seed: Option<u64>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "target {}: {}", self.target, self.message)?;
        if let Some(path) = &self.location {
            writeln!(f, "  input: {}", path.display())?;
        }
        if let Some(seed) = self.seed {
            writeln!(
                f,
                "  run seed: {seed} (--target {} --seed {seed} repeats the run)",
                self.target
            )?;
        }
        writeln!(
            f,
            "  input ({} bytes): {}",
            self.input.len(),
            preview(&self.input)
        )?;
        if let Some(path) = &self.location {
            write!(
                f,
                "  replay: cargo xtask fuzz --target {} --replay {}",
                self.target,
                path.display()
            )?;
            if !path.starts_with(corpus_root()) {
                write!(
                    f,
                    "\n  once fixed, keep it: cp {} crates/fuzz/corpus/{}/regressions/",
                    path.display(),
                    self.target
                )?;
            }
        }
        Ok(())
    }
}

fn preview(input: &[u8]) -> String {
    const MAX: usize = 400;
    let shown: String = input
        .iter()
        .take(MAX)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if input.len() > MAX {
        format!("\"{shown}\"…")
    } else {
        format!("\"{shown}\"")
    }
}

thread_local! {
    static CAPTURING: RefCell<bool> = const { RefCell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics inside [`run_one`] are recorded (message and location) instead of printed; any other
/// panic goes to the previous hook.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(|c| *c.borrow()) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `target` on one input: `Err` with the panic (message and location) or the violated
/// property.
///
/// # Errors
/// When the target panics or a property does not hold.
pub fn run_one(target: &Target, input: &[u8]) -> Result<(), String> {
    install_panic_hook();
    CAPTURING.with(|c| *c.borrow_mut() = true);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.check)(input)));
    CAPTURING.with(|c| *c.borrow_mut() = false);
    match outcome {
        Ok(result) => result,
        Err(_) => Err(LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panicked".to_owned())),
    }
}

/// Replays every file of the target's corpus.
///
/// # Errors
/// The first file that fails, with its path.
pub fn replay(target: &'static Target, corpus: &[(PathBuf, Vec<u8>)]) -> Result<(), Failure> {
    for (path, bytes) in corpus {
        if let Err(message) = run_one(target, bytes) {
            return Err(Failure {
                target: target.name,
                message,
                input: bytes.clone(),
                location: Some(path.clone()),
                seed: None,
            });
        }
    }
    Ok(())
}

/// Cases per proptest run; the deadline is checked between runs.
const BATCH: u32 = 64;

/// Fuzzes `target` from `seeds` until `budget` is spent. Returns the number of cases run.
///
/// # Errors
/// The first failure, shrunk to its smallest form (not yet written anywhere: see
/// [`write_artifact`]).
pub fn fuzz(
    target: &'static Target,
    seeds: &[Vec<u8>],
    budget: Budget,
    seed: u64,
) -> Result<u64, Failure> {
    let started = Instant::now();
    let strategy = mutate::inputs(seeds.len());
    let mut cases: u64 = 0;
    let mut batch: u64 = 0;
    loop {
        let done = match budget {
            Budget::Time(limit) => started.elapsed() >= limit,
            Budget::Cases(limit) => cases >= limit,
        };
        if done {
            return Ok(cases);
        }
        let config = Config {
            cases: BATCH,
            failure_persistence: None,
            max_shrink_iters: 10_000,
            max_shrink_time: 30_000,
            ..Config::default()
        };
        let mut rng_seed = [0u8; 32];
        for (dst, src) in rng_seed
            .iter_mut()
            .zip(seed.to_le_bytes().into_iter().chain(batch.to_le_bytes()))
        {
            *dst = src;
        }
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed));
        let result = runner.run(&strategy, |input| {
            run_one(target, &input.bytes(seeds)).map_err(TestCaseError::fail)
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, input)) => {
                return Err(Failure {
                    target: target.name,
                    message: reason.message().to_owned(),
                    input: input.bytes(seeds),
                    location: None,
                    seed: Some(seed),
                });
            }
            Err(TestError::Abort(reason)) => {
                return Err(Failure {
                    target: target.name,
                    message: format!("fuzzing aborted: {}", reason.message()),
                    input: Vec::new(),
                    location: None,
                    seed: Some(seed),
                });
            }
        }
        cases += u64::from(BATCH);
        batch += 1;
    }
}

/// Writes the failure's input under `dir/<target>/crash-<hash>` and records the path in it.
///
/// # Errors
/// When the file cannot be written.
pub fn write_artifact(failure: &mut Failure, dir: &Path) -> std::io::Result<PathBuf> {
    let dir = dir.join(failure.target);
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("crash-{}", fnv_hex(&failure.input)));
    fs::write(&path, &failure.input)?;
    failure.location = Some(path.clone());
    Ok(path)
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn fnv_hex(bytes: &[u8]) -> String {
    format!("{:016x}", fnv(bytes))
}

/// What one target's run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target.
    pub target: &'static str,
    /// Corpus files replayed.
    pub corpus: usize,
    /// Generated cases run.
    pub cases: u64,
    /// Time taken.
    pub elapsed: Duration,
}

/// Replays the target's corpus, then fuzzes it for what is left of `per_target`, from a seed
/// derived from `run_seed` and the target's name. A failure's input is written as an artifact
/// under `artifacts` (unless it came from the corpus).
///
/// # Errors
/// The first failure, located.
pub fn run_target(
    target: &'static Target,
    per_target: Budget,
    run_seed: u64,
    artifacts: &Path,
) -> Result<Report, Failure> {
    let seed = run_seed ^ fnv(target.name.as_bytes());
    let started = Instant::now();
    let corpus = load_corpus(&corpus_root().join(target.name)).map_err(|e| Failure {
        target: target.name,
        message: format!("cannot read its corpus: {e}"),
        input: Vec::new(),
        location: Some(corpus_root().join(target.name)),
        seed: None,
    })?;
    replay(target, &corpus)?;
    let seeds: Vec<Vec<u8>> = corpus.iter().map(|(_, b)| b.clone()).collect();
    let budget = match per_target {
        Budget::Time(t) => Budget::Time(t.saturating_sub(started.elapsed())),
        cases => cases,
    };
    match fuzz(target, &seeds, budget, seed) {
        Ok(cases) => Ok(Report {
            target: target.name,
            corpus: corpus.len(),
            cases,
            elapsed: started.elapsed(),
        }),
        Err(mut failure) => {
            failure.seed = Some(run_seed);
            if let Err(e) = write_artifact(&mut failure, artifacts) {
                failure
                    .message
                    .push_str(&format!(" (artifact not written: {e})"));
            }
            Err(failure)
        }
    }
}
