//! `cargo xtask fuzz [--seconds N] [--target NAME]... [--seed N] [--jobs N]`: replays every
//! committed corpus (`crates/fuzz/corpus/<target>/`) and fuzzes every target for a bounded time
//! (default 7 s per target, two at a time; `cargo xtask ci` gives 3 s, a smoke pass of about
//! 40 s; `--seconds 600` for a long run). Fails on any panic or violated property, printing
//! where the reproducing input was written and how to replay it (`--target NAME --replay
//! FILE`).
//!
//! The engine is the `stockdata-fuzz` binary (stable toolchain, proptest mutations of the
//! corpus); this task builds it first so the time budget is spent fuzzing, not compiling.

use std::time::Instant;

use crate::{Result, cargo, step};

/// Runs the fuzz pass with `args` handed to `stockdata-fuzz` as given.
pub(crate) fn run(args: &[String]) -> Result {
    step(
        "fuzz (build)",
        cargo(&["build", "--locked", "--quiet", "-p", "stockdata-fuzz"]),
    )?;
    let started = Instant::now();
    let mut cmd = vec![
        "run",
        "--locked",
        "--quiet",
        "-p",
        "stockdata-fuzz",
        "--bin",
        "stockdata-fuzz",
        "--",
    ];
    cmd.extend(args.iter().map(String::as_str));
    let result = step("fuzz", cargo(&cmd));
    eprintln!("xtask: fuzz took {:.1}s", started.elapsed().as_secs_f64());
    result
}
