//! `cargo xtask schemathesis`: the serverless API contract (`docs/openapi.yaml`) fuzzed by
//! Schemathesis against a live `stockdata --sandbox --provider serverless serve`, every check
//! on, a fixed seed and a bounded number of cases. Any failure fails the task.
//!
//! - Schemathesis runs from a venv under `target/schemathesis-venv`, created with
//!   `python3 -m venv` when missing and filled from `ci/schemathesis/requirements.txt`
//!   (every package pinned); it is reinstalled only when that file changes.
//! - The server is the debug binary on a port the OS picks (`--bind 127.0.0.1:0`, the address
//!   read back from its `listening on` line), with a fresh bearer token, no config file and no
//!   `STOCKDATA*` variable from the caller. Only the serverless provider is routed: the
//!   sandbox's other providers pace requests to their free-tier quotas (Finnhub's 60 a minute),
//!   which a fuzzer outruns in seconds, and every answer would then wait for quota; the contract
//!   under test is serve's, and this route still goes through the fetchers, the adapter and the
//!   transport to the in-process sandbox.
//! - `ci/schemathesis/hooks.py` keeps schema-valid cases within the cross-parameter rules the
//!   spec states in prose (range order and length, bars per request); no check is relaxed.
//! - Its log is `target/schemathesis/serve.log`; the server is stopped whatever happens.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{Result, root, step, venv};

/// Same seed, same cases: a failure reproduces.
const SEED: &str = "7";
/// Cases per operation and phase: about 1,000 requests, a minute or two on two cores.
const MAX_EXAMPLES: &str = "300";
/// How long the server may take to say where it listens and to answer `/readyz`.
const START_WITHIN: Duration = Duration::from_secs(60);

/// The venv's `schemathesis`, installing the pinned requirements when they changed.
fn schemathesis(venv: &Path, requirements: &Path) -> Result<PathBuf> {
    venv::ensure(venv, requirements, "ci/schemathesis/requirements.txt")?;
    Ok(venv::bin(venv, "schemathesis"))
}

/// Kills the server when dropped, on every path out of [`run`].
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `stockdata --sandbox --provider serverless serve` on a port the OS picks; returns
/// it with its address. Its stderr goes to `log`.
fn start_serve(bin: &Path, dir: &Path, token: &str, log: &Path) -> Result<(Server, String)> {
    let mut cmd = Command::new(bin);
    // A fresh store of its own: answers come through it, as a user's would, and nothing of a
    // previous run (or of the machine's default store) is read.
    let store = dir.join("store.sqlite");
    for stale in ["store.sqlite", "store.sqlite-wal", "store.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    cmd.arg("--store")
        .arg(&store)
        .args([
            "--sandbox",
            "--provider",
            "serverless",
            "serve",
            "--bind",
            "127.0.0.1:0",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STOCKDATA") {
            cmd.env_remove(name);
        }
    }
    cmd.env("STOCKDATA_SERVE_TOKEN", token);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stderr = child
        .stderr
        .take()
        .ok_or("no stderr from stockdata serve")?;
    let server = Server(child);
    let mut file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let (tx, rx) = mpsc::channel();
    // Copies every line to the log, and hands over the address once.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr)
            .lines()
            .map_while(std::result::Result::ok)
        {
            let _ = writeln!(file, "{line}");
            if let Some(addr) = line.split("listening on http://").nth(1) {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let addr = rx.recv_timeout(START_WITHIN).map_err(|_| {
        format!(
            "stockdata serve did not say where it listens within {START_WITHIN:?}: see {}",
            log.display()
        )
    })?;
    Ok((server, addr))
}

/// The status code of `GET path`, or `None` when there is no answer.
fn status_of(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
}

fn wait_ready(addr: &str, server: &mut Server, log: &Path) -> Result {
    let started = Instant::now();
    while started.elapsed() < START_WITHIN {
        if let Ok(Some(status)) = server.0.try_wait() {
            return Err(format!(
                "stockdata serve exited ({status}): see {}",
                log.display()
            ));
        }
        if status_of(addr, "/readyz") == Some(200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "stockdata serve on {addr} was not ready within {START_WITHIN:?}: see {}",
        log.display()
    ))
}

pub(crate) fn run() -> Result {
    run_gate(false)
}

/// [`run`], on the binary the test step built when `tests_ran` (see [`crate::ci_stockdata`]).
pub(crate) fn run_gate(tests_ran: bool) -> Result {
    let root = root();
    let target = venv::target_dir();
    let work = target.join("schemathesis");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let st = schemathesis(
        &target.join("schemathesis-venv"),
        &root.join("ci/schemathesis/requirements.txt"),
    )?;
    let bin = crate::ci_stockdata(tests_ran)?;
    let token = format!(
        "schemathesis-{:016x}",
        RandomState::new().build_hasher().finish()
    );
    let log = work.join("serve.log");
    let (mut server, addr) = start_serve(&bin, &work, &token, &log)?;
    wait_ready(&addr, &mut server, &log)?;
    eprintln!("xtask: stockdata serve is ready on http://{addr}");

    let mut fuzz = Command::new(&st);
    fuzz.current_dir(&work)
        .env("SCHEMATHESIS_HOOKS", root.join("ci/schemathesis/hooks.py"))
        .arg("run")
        .arg(root.join("docs/openapi.yaml"))
        .args([
            "--url",
            &format!("http://{addr}"),
            "--checks",
            "all",
            "--seed",
            SEED,
            "--max-examples",
            MAX_EXAMPLES,
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--continue-on-failure",
            "--generation-database",
            "none",
            "--no-color",
            // An event stream never ends: the project's own tests cover it.
            "--exclude-path",
            "/v1/stream",
        ]);
    let started = Instant::now();
    let result = step("schemathesis", fuzz);
    eprintln!(
        "xtask: schemathesis took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    drop(server);
    result.map_err(|e| format!("{e}: the server's log is {}", log.display()))
}
