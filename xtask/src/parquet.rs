//! `cargo xtask parquet`: `stockdata store export --format parquet` (feature `parquet`) read
//! back by pandas and by polars, every value held to the CSV export of the same store.
//!
//! - First the writer's own tests (`cli::parquet` in the binary, compiled only with the feature):
//!   values at every scale and edge instant read back through the parquet crate's reader across
//!   row groups, and what cannot be exact refused before a file is created.
//! - pandas, pyarrow and polars run from a venv under `target/parquet-venv`, created with
//!   `python3 -m venv` when missing and filled from `ci/parquet/requirements.txt` (every package
//!   pinned, wheels only); it is reinstalled only when that file changes.
//! - The binary is built with the CI features (`parquet`, `otel`) and copied to
//!   `target/parquet/`, so a later build without them cannot swap it mid-run. It runs with no
//!   config file and no `STOCKDATA*` variable from the caller, on a fresh store in
//!   `target/parquet/`.
//! - Twenty years of daily sandbox bars for three symbols are synced at a fixed instant, then
//!   exported twice (CSV, Parquet); `ci/parquet/check.py` compares them value by value (exact
//!   decimals, UTC nanosecond instants) and proves it catches planted corruptions.
//! - The usage errors are checked too: parquet without `--output`, and for another command,
//!   exit 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{Result, cargo, root, step, venv};

/// The instant the sync pretends it is: the sandbox's data and every `fetched_at`.
const NOW: &str = "2024-03-08T21:30:00Z";
const SYMBOLS: [&str; 3] = ["AAPL", "MSFT", "BRK.B"];
const FROM: &str = "2004-01-01";
const TO: &str = "2024-03-08";

/// The venv's `python`, installing the pinned requirements when they changed.
fn python(venv: &Path, requirements: &Path) -> Result<PathBuf> {
    venv::ensure(venv, requirements, "ci/parquet/requirements.txt")?;
    Ok(venv::bin(venv, "python"))
}

/// `stockdata` on the store in `work`, with nothing of the caller's configuration.
fn stockdata(bin: &Path, work: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(work)
        .args(["--store", "s.sqlite"])
        .args(args)
        .stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STOCKDATA") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Runs `cmd`, which must exit with `code`.
fn expect_exit(name: &str, mut cmd: Command, code: i32) -> Result {
    let out = cmd
        .output()
        .map_err(|e| format!("{name}: cannot start: {e}"))?;
    if out.status.code() == Some(code) {
        eprintln!("xtask: {name}: exit {code} as it should");
        Ok(())
    } else {
        Err(format!(
            "{name}: exit {}, want {code}; stderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

pub(crate) fn run() -> Result {
    run_gate(false)
}

/// The gate; `tests_ran` when the writer's tests already ran (`cargo xtask ci` runs them with
/// the rest, built with the same features as the binary here).
pub(crate) fn run_gate(tests_ran: bool) -> Result {
    let started = Instant::now();
    let root = root();
    let target = venv::target_dir();
    let work = target.join("parquet");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let python = python(
        &target.join("parquet-venv"),
        &root.join("ci/parquet/requirements.txt"),
    )?;
    if !tests_ran {
        step(
            "the writer's tests (feature parquet)",
            cargo(&[
                "test",
                "--locked",
                "-p",
                "stockdata-app",
                "--features",
                "parquet",
                "--bin",
                "stockdata",
                "--",
                "cli::parquet::",
            ]),
        )?;
    }
    let exe = format!("stockdata{}", std::env::consts::EXE_SUFFIX);
    let bin = work.join(&exe);
    std::fs::copy(crate::ci_stockdata(tests_ran)?, &bin)
        .map_err(|e| format!("cannot copy the stockdata binary: {e}"))?;
    for stale in [
        "s.sqlite",
        "s.sqlite-wal",
        "s.sqlite-shm",
        "bars.csv",
        "bars.parquet",
    ] {
        let _ = std::fs::remove_file(work.join(stale));
    }

    let mut sync = stockdata(
        &bin,
        &work,
        &["--sandbox", "--now", NOW, "--format", "json"],
    );
    sync.arg("sync")
        .args(SYMBOLS)
        .args(["--from", FROM, "--to", TO])
        .stdout(Stdio::null());
    step("sync (sandbox, 20 years, 3 symbols)", sync)?;
    for (format, file) in [("csv", "bars.csv"), ("parquet", "bars.parquet")] {
        let export = stockdata(
            &bin,
            &work,
            &[
                "store",
                "export",
                "--synthetic",
                "--format",
                format,
                "--output",
                file,
            ],
        );
        step(&format!("store export --format {format}"), export)?;
    }
    expect_exit(
        "store export --format parquet without --output",
        stockdata(
            &bin,
            &work,
            &["store", "export", "--synthetic", "--format", "parquet"],
        ),
        2,
    )?;
    expect_exit(
        "store stats --format parquet",
        stockdata(&bin, &work, &["store", "stats", "--format", "parquet"]),
        2,
    )?;
    expect_exit(
        "bars --format parquet",
        stockdata(
            &bin,
            &work,
            &["--offline", "--format", "parquet", "bars", "AAPL"],
        ),
        2,
    )?;

    let mut check = Command::new(&python);
    check
        .current_dir(&work)
        .arg(root.join("ci/parquet/check.py"))
        .args(["bars.parquet", "bars.csv", "--fetched-at", NOW])
        .args(["--adjustment", "raw"]);
    let result = step("ci/parquet/check.py", check);
    eprintln!(
        "xtask: parquet took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    result
}
