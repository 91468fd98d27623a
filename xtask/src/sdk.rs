//! `cargo xtask sdk`: the providers' official Python clients (alpaca-py, finnhub-python,
//! alpha_vantage) against `stockdata sandbox serve`, each unmodified and pointed at the sandbox
//! only through its own base-URL setting. Any failure fails the task.
//!
//! - The clients run from a venv under `target/sdk-venv`, created with `python3 -m venv` when
//!   missing and filled from `ci/sdk/requirements.txt` (every package pinned, wheels only); it
//!   is reinstalled only when that file changes.
//! - The sandbox is the debug binary (the build schemathesis also uses), copied to
//!   `target/sdk/` so a later build cannot swap it mid-run, with no `STOCKDATA*` variable from
//!   the caller. Two instances on ports the OS picks (`--bind 127.0.0.1:0`, the address read
//!   back from the banner): one with the free-tier quotas for the calls that must succeed, one
//!   with tiny Finnhub and Alpaca quotas ([`QUOTA_FLAGS`]) for their refusals, so the first
//!   never runs into a quota by accident. Alpha Vantage's 25 a day has no flag: the script runs
//!   it out on the first instance with a key of its own (quotas count per key).
//! - `ci/sdk/test_sdks.py` first runs the python blocks of the README's "Test your own bot
//!   offline" section of README.md as written, then every endpoint the adapters call plus
//!   Alpaca's latest quotes and trades, held to what the real services answer. It prints one
//!   line per check and `sdk: N passed, N failed`; it is stopped after [`RUN_WITHIN`].
//! - The sandboxes' logs are `target/sdk/{happy,quota}.log`; they are stopped whatever happens.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{Result, root, venv};

/// Quotas small enough to run out in three calls (Alpha Vantage's 25 a day has no flag).
const QUOTA_FLAGS: [&str; 4] = ["--finnhub-per-minute", "2", "--alpaca-per-minute", "2"];
/// How long a sandbox may take to say where it listens.
const START_WITHIN: Duration = Duration::from_secs(30);
/// The script takes about 30 s: 26 Alpha Vantage calls at its 1 a second are the longest part.
const RUN_WITHIN: Duration = Duration::from_secs(300);

/// The heading of the README section whose python blocks the script runs.
const SECTION: &str = "## Test your own bot offline";

/// README.md, which must hold the section whose snippets are run (the text users read).
fn readme(root: &Path) -> std::result::Result<PathBuf, String> {
    let readme = root.join("README.md");
    let has_section = std::fs::read_to_string(&readme)
        .is_ok_and(|text| text.lines().any(|l| l.trim_end() == SECTION));
    if has_section {
        Ok(readme)
    } else {
        Err(format!(
            "README.md has no `{SECTION}` section: its snippets are what sdk runs"
        ))
    }
}

/// Kills the sandbox when dropped, on every path out of [`run`].
struct Sandbox(Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `stockdata sandbox serve` with `flags` on a port the OS picks; returns it with its
/// `http://` address. Its stderr goes to `log`.
fn start_sandbox(bin: &Path, flags: &[&str], log: &Path) -> Result<(Sandbox, String)> {
    let mut cmd = Command::new(bin);
    cmd.args(["sandbox", "serve", "--bind", "127.0.0.1:0"])
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STOCKDATA") {
            cmd.env_remove(name);
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr from the sandbox")?;
    let sandbox = Sandbox(child);
    let mut file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let (tx, rx) = mpsc::channel();
    // Copies every line to the log, and hands over the address once (the banner is printed
    // after the socket is bound, so the sandbox answers from then on).
    std::thread::spawn(move || {
        for line in BufReader::new(stderr)
            .lines()
            .map_while(std::result::Result::ok)
        {
            let _ = writeln!(file, "{line}");
            if let Some(addr) = line.split(" on http://").nth(1) {
                let _ = tx.send(format!("http://{}", addr.trim()));
            }
        }
    });
    let addr = rx.recv_timeout(START_WITHIN).map_err(|_| {
        format!(
            "stockdata sandbox serve did not say where it listens within {START_WITHIN:?}: see {}",
            log.display()
        )
    })?;
    Ok((sandbox, addr))
}

/// Runs `cmd` like [`step`], but kills it when it outlives `within`.
pub(crate) fn step_within(name: &str, mut cmd: Command, within: Duration) -> Result {
    eprintln!("xtask: {name}: {cmd:?}");
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{name}: cannot start: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{name} failed ({status})")),
            Ok(None) if started.elapsed() < within => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{name} did not finish within {within:?}"));
            }
            Err(e) => return Err(format!("{name}: {e}")),
        }
    }
}

pub(crate) fn run() -> Result {
    run_gate(false)
}

/// [`run`], on the binary the test step built when `tests_ran` (see [`crate::ci_stockdata`]).
pub(crate) fn run_gate(tests_ran: bool) -> Result {
    let started = Instant::now();
    let root = root();
    let target = venv::target_dir();
    let work = target.join("sdk");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let venv_dir = target.join("sdk-venv");
    venv::ensure(
        &venv_dir,
        &root.join("ci/sdk/requirements.txt"),
        "ci/sdk/requirements.txt",
    )?;
    let exe = format!("stockdata{}", std::env::consts::EXE_SUFFIX);
    let bin = work.join(&exe);
    std::fs::copy(crate::ci_stockdata(tests_ran)?, &bin)
        .map_err(|e| format!("cannot copy the stockdata binary: {e}"))?;

    let readme = readme(&root)?;
    let (happy, happy_addr) = start_sandbox(&bin, &[], &work.join("happy.log"))?;
    let (quota, quota_addr) = start_sandbox(&bin, &QUOTA_FLAGS, &work.join("quota.log"))?;
    eprintln!("xtask: sandboxes on {happy_addr} (free tier) and {quota_addr} (tiny quotas)");

    let mut test = Command::new(venv::bin(&venv_dir, "python"));
    test.current_dir(&work)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .arg(root.join("ci/sdk/test_sdks.py"))
        .args(["--happy", &happy_addr, "--quota", &quota_addr, "--readme"])
        .arg(&readme);
    let result = step_within("ci/sdk/test_sdks.py", test, RUN_WITHIN);
    drop((happy, quota));
    eprintln!("xtask: sdk took {:.0} s", started.elapsed().as_secs_f64());
    result.map_err(|e| {
        format!(
            "{e}: the sandboxes' logs are {}",
            work.join("{happy,quota}.log").display()
        )
    })
}
