//! `cargo xtask <task>`: the only automation entry point. CI and `.ci/run` call these.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod fuzz;
mod parquet;
mod python;
mod schemathesis;
mod sdk;
mod venv;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci         fmt check, clippy -D warnings, layering check, all tests (the full gate)
  lint       cargo fmt --check, no .rs line over 100 characters in crates/ and xtask/
             (rustfmt silently skips items holding one), clippy on all targets with
             -D warnings
  layering   fail if domain/ports/store-common reach tokio, reqwest, hyper or serde_json,
             if adapters-http depends on app, if the sandbox depends on the adapters, if an
             adapter depends on another, or if the library reaches the CLI (a module of the
             binary)
  test       every test in the workspace (cargo-nextest when installed, else cargo test)
  contract   the contract-tests crate alone
  fuzz       replay every fuzz corpus, then fuzz each target for a bounded time
             ([--seconds N] per target, default 7; [--target NAME]...; ~80 s for all)
  schemathesis  fuzz docs/openapi.yaml against a live `stockdata --sandbox serve`
             (Schemathesis, pinned in ci/schemathesis/requirements.txt; needs python3)
  parquet    the Parquet writer's tests, then `store export --format parquet` (feature
             parquet) of 20 sandbox years read back by pandas and polars, every value held
             to the CSV export (pinned in ci/parquet/requirements.txt; needs python3)
  sdk        the providers' official Python clients (alpaca-py, finnhub-python,
             alpha_vantage) against `stockdata sandbox serve`: every endpoint the adapters
             use, pagination, sort and quota answers, and the README's offline snippets
             (pinned in ci/sdk/requirements.txt; needs python3)
  python     the Python bindings (crates/python, `import stockdata`): built, installed
             into a venv and tested with pytest against the sandbox and Python fakes
             (pinned in ci/python/requirements.txt; needs python3)
  bench      the performance suite: parsers (criterion), agent at 50/500/5000 symbols,
             pacing efficiency, one-shot CLI cost, serve under load, the Redis pacer,
             the PostgreSQL store, three replicas sharing one key (--only NAME: one of
             parse agent free-tier one-shot pacing serve throughput store pacing-redis
             store-postgres shared-quota); a table on stdout and target/bench/results.json";

/// The widest `.rs` line allowed: rustfmt's `max_width`. An item holding a wider line (a long
/// string literal, macro call or doc comment) is silently left unformatted by rustfmt.
const MAX_LINE_CHARS: usize = 100;

/// Crates the pure layers must never reach through normal dependency edges.
const FORBIDDEN_IN_CORE: &[&str] = &["tokio", "reqwest", "hyper", "serde_json"];

pub(crate) type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("lint") => lint(),
        Some("layering") => layering(),
        Some("test") => test(&[], None),
        Some("contract") => contract(),
        Some("schemathesis") => schemathesis::run(),
        Some("parquet") => parquet::run(),
        Some("sdk") => sdk::run(),
        Some("python") => python::run(),
        Some("bench") => bench(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown task {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The fuzz seed of the CI gate: a gate that fails fails again on a rerun, and a new finding
/// comes from an exploration run (`cargo xtask fuzz`, a random seed each time), not from luck
/// on a submission.
const CI_FUZZ_SEED: &str = "20261129";

/// The features every CI build of stockdata-app shares: the tests, and the binary the Python
/// gates drive, are then one build (the Parquet writer's and the OpenTelemetry export's tests
/// run with the rest).
pub(crate) const CI_FEATURES: &str = "stockdata-app/parquet,stockdata-app/otel";

/// [`CI_FEATURES`] as `-p stockdata-app --features` names them: what the Python gates build
/// the binary with, so the build the tests made is the one they drive.
pub(crate) const APP_CI_FEATURES: &str = "parquet,otel";

/// The `stockdata` binary built with [`CI_FEATURES`]: after the test step (`tests_ran`), the
/// one it built for the integration tests (a `cargo build -p stockdata-app` here would unify
/// features apart from the workspace's test build and recompile for a minute, and replace the
/// binary the long tests are running); else built now.
pub(crate) fn ci_stockdata(tests_ran: bool) -> Result<std::path::PathBuf> {
    let bin = venv::target_dir()
        .join("debug")
        .join(format!("stockdata{}", std::env::consts::EXE_SUFFIX));
    if !(tests_ran && bin.is_file()) {
        step(
            "build stockdata (the CI features)",
            cargo(&[
                "build",
                "--locked",
                "-p",
                "stockdata-app",
                "--bin",
                "stockdata",
                "--features",
                APP_CI_FEATURES,
            ]),
        )?;
    }
    Ok(bin)
}

/// The tests that take minutes by nature (provider quota windows are a minute long): run
/// beside the gates that follow the test suite, not before them.
const LONG_TESTS: &str = "shared_quota";

fn ci() -> Result {
    // The gates' Python packages download and unpack while the workspace compiles.
    let venvs = venv::prepare_in_background();
    lint()?;
    layering()?;
    // The multi-process proof waits on minute-long windows: built with the other tests, it
    // runs while they and the gates below use the machine, and is waited for at the end.
    let early = if has_nextest() {
        let mut build = cargo(&["nextest", "run", "--workspace", "--locked", "--no-run"]);
        build.args(["--features", CI_FEATURES]);
        step("test build", build)?;
        Some(spawn_long_tests()?)
    } else {
        None
    };
    let tested = wait_for_background_install()
        .and_then(|()| test(&["--features", CI_FEATURES], Some(LONG_TESTS)));
    let long = match (early, tested) {
        (Some(child), Ok(())) => child,
        (None, Ok(())) => spawn_long_tests()?,
        (early, Err(e)) => {
            if let Some(mut child) = early {
                let _ = child.kill();
                let _ = child.wait();
            }
            return Err(e);
        }
    };
    // A venv that failed to fill is met again by its gate, which says why.
    let _ = venvs.join();
    let gates = (|| {
        fuzz::run(&[
            "--seed".to_owned(),
            CI_FUZZ_SEED.to_owned(),
            "--seconds".to_owned(),
            CI_FUZZ_SECONDS.to_owned(),
        ])?;
        schemathesis::run_gate(true)?;
        parquet::run_gate(true)?;
        sdk::run_gate(true)?;
        python::run_gate(true)
    })();
    let long = finish_long_tests(long);
    gates.and(long)
}

/// Waits for what `.ci/run` installs in the background while lint builds (Chromium, for the
/// HTML brief's browser test): it names a status file in `XTASK_INSTALL_STATUS`, written with
/// the install's exit code when it ends.
fn wait_for_background_install() -> Result {
    let Some(status) = env::var_os("XTASK_INSTALL_STATUS") else {
        return Ok(());
    };
    let status = std::path::PathBuf::from(status);
    let started = std::time::Instant::now();
    let mut said = false;
    while !status.exists() {
        if started.elapsed() > std::time::Duration::from_secs(900) {
            return Err(format!(
                "the background install has not finished after 15 minutes ({} never appeared)",
                status.display()
            ));
        }
        if !said {
            eprintln!(
                "xtask: waiting for the background install ({})",
                status.display()
            );
            said = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let code = std::fs::read_to_string(&status).unwrap_or_default();
    if code.trim() == "0" {
        eprintln!(
            "xtask: background install done (waited {:.1} s)",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    } else {
        Err(format!(
            "the background install failed (exit {}): see {}",
            code.trim(),
            status.with_extension("log").display()
        ))
    }
}

/// Seconds of fuzzing per target in CI (after every committed corpus is replayed): a smoke
/// pass; `cargo xtask fuzz --seconds 600` explores.
const CI_FUZZ_SECONDS: &str = "3";

/// Starts the [`LONG_TESTS`] (already built) in the background.
fn spawn_long_tests() -> std::result::Result<std::process::Child, String> {
    let mut cmd = if has_nextest() {
        let mut c = cargo(&["nextest", "run", "--workspace", "--locked"]);
        c.args(["--features", CI_FEATURES, "-E"])
            .arg(format!("test(/{LONG_TESTS}/)"));
        c
    } else {
        let mut c = cargo(&["test", "--workspace", "--locked", "--features", CI_FEATURES]);
        c.arg(LONG_TESTS);
        c
    };
    eprintln!("xtask: long tests (in the background): {cmd:?}");
    cmd.spawn()
        .map_err(|e| format!("long tests: cannot start: {e}"))
}

fn finish_long_tests(mut child: std::process::Child) -> Result {
    let status = child
        .wait()
        .map_err(|e| format!("long tests: cannot wait: {e}"))?;
    if status.success() {
        eprintln!("xtask: long tests ok");
        Ok(())
    } else {
        Err(format!("long tests ({LONG_TESTS}) failed ({status})"))
    }
}

fn lint() -> Result {
    step("fmt", cargo(&["fmt", "--all", "--", "--check"]))?;
    let long = long_lines()?;
    if !long.is_empty() {
        return Err(format!(
            "lines over {MAX_LINE_CHARS} characters (rustfmt silently skips the items holding \
             them: split the string literal, macro call or comment):\n  {}",
            long.join("\n  ")
        ));
    }
    eprintln!("xtask: line width ok");
    // The optional OpenTelemetry and Parquet exports must keep compiling although they are off
    // by default: one pass with both (no code depends on one being off while the other is on),
    // then the default build with every target.
    step(
        "clippy (features otel, parquet)",
        cargo(&[
            "clippy",
            "--locked",
            "-p",
            "stockdata-app",
            "--features",
            "otel,parquet",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step(
        "clippy",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )
}

fn layering() -> Result {
    let mut problems = Vec::new();
    for krate in [
        "stockdata-domain",
        "stockdata-ports",
        "stockdata-store-common",
    ] {
        for dep in normal_deps(krate)? {
            if FORBIDDEN_IN_CORE.contains(&dep.as_str()) {
                problems.push(format!(
                    "{krate} depends on {dep} (it must stay free of I/O)"
                ));
            }
        }
    }
    for krate in [
        "stockdata-domain",
        "stockdata-ports",
        "stockdata-adapters-http",
        "stockdata-store-sqlite",
    ] {
        if normal_deps(krate)?.iter().any(|d| d == "stockdata-app") {
            problems.push(format!(
                "{krate} depends on stockdata-app (only app composes)"
            ));
        }
    }
    if normal_deps("stockdata-domain")?
        .iter()
        .any(|d| d == "stockdata-ports")
    {
        problems.push("stockdata-domain depends on stockdata-ports".to_owned());
    }
    // The sandbox is the adapters' counterpart: the tests that prove they agree mean nothing
    // if it borrows their code.
    if normal_deps("stockdata-sandbox")?
        .iter()
        .any(|d| d == "stockdata-adapters-http" || d == "stockdata-app")
    {
        problems.push(
            "stockdata-sandbox depends on stockdata-adapters-http or stockdata-app".to_owned(),
        );
    }
    // What the stores share is pure encoding: it knows the domain and the ports, no database
    // driver and no adapter.
    let wrong: Vec<String> = normal_deps("stockdata-store-common")?
        .into_iter()
        .filter(|d| {
            matches!(
                d.as_str(),
                "rusqlite" | "tokio-postgres" | "deadpool-postgres" | "redis"
            ) || (d.starts_with("stockdata-")
                && !matches!(
                    d.as_str(),
                    "stockdata-store-common" | "stockdata-domain" | "stockdata-ports"
                ))
        })
        .collect();
    if !wrong.is_empty() {
        problems.push(format!(
            "stockdata-store-common depends on {wrong:?}: it knows domain and ports only"
        ));
    }
    // A store or pacing adapter is an adapter: it implements a port, and knows no other
    // adapter and never the composition root (the stores' shared encoding is not an adapter).
    for adapter in [
        "stockdata-store-sqlite",
        "stockdata-store-postgres",
        "stockdata-pacing-redis",
    ] {
        let deps = normal_deps(adapter)?;
        let wrong: Vec<&String> = deps
            .iter()
            .filter(|d| {
                *d == "stockdata-adapters-http"
                    || *d == "stockdata-sandbox"
                    || *d == "stockdata-app"
                    || (*d != adapter
                        && *d != "stockdata-store-common"
                        && (d.starts_with("stockdata-store-")
                            || d.starts_with("stockdata-pacing-")))
            })
            .collect();
        if !wrong.is_empty() {
            problems.push(format!(
                "{adapter} depends on {wrong:?}: adapters know only ports"
            ));
        }
    }
    if ["stockdata-domain", "stockdata-ports"]
        .iter()
        .map(|k| normal_deps(k))
        .collect::<std::result::Result<Vec<_>, _>>()?
        .iter()
        .flatten()
        .any(|d| d == "rusqlite" || d == "stockdata-store-sqlite")
    {
        problems.push("domain or ports depend on SQLite (only its adapter may)".to_owned());
    }
    problems.extend(library_reaches_cli()?);
    problems.extend(bindings_layering()?);
    if problems.is_empty() {
        eprintln!("xtask: layering ok");
        Ok(())
    } else {
        Err(format!("layering violated:\n  {}", problems.join("\n  ")))
    }
}

/// The Python bindings are a front end: they build on the composition root (and start the
/// sandbox in-process), reach no adapter or store on their own, and nothing depends on them.
fn bindings_layering() -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let direct = cargo_tree(&["-p", "stockdata-python", "-e", "normal", "--depth", "1"])?;
    let wrong: Vec<&String> = direct
        .iter()
        .filter(|d| {
            d.starts_with("stockdata-")
                && !matches!(
                    d.as_str(),
                    "stockdata-python" | "stockdata-app" | "stockdata-sandbox"
                )
        })
        .collect();
    if !wrong.is_empty() {
        problems.push(format!(
            "stockdata-python depends on {wrong:?}: the bindings go through stockdata-app"
        ));
    }
    let dependents: Vec<String> =
        cargo_tree(&["--workspace", "-i", "stockdata-python", "-e", "all"])?
            .into_iter()
            .filter(|d| d != "stockdata-python")
            .collect();
    if !dependents.is_empty() {
        problems.push(format!(
            "{dependents:?} depend on stockdata-python: nothing may depend on the bindings"
        ));
    }
    Ok(problems)
}

/// The CLI is a module of the `stockdata` binary (`crates/app/src/cli`, declared by
/// `main.rs`): the library must neither declare it nor name it.
fn library_reaches_cli() -> Result<Vec<String>> {
    let src = root().join("crates/app/src");
    let mut problems = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path == src.join("cli") || path == src.join("main.rs") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if text
                    .lines()
                    .any(|l| l.trim_start().starts_with("mod cli") || l.contains("cli::"))
                {
                    problems.push(format!(
                        "{} reaches the CLI (it belongs to the binary)",
                        path.display()
                    ));
                }
            }
        }
    }
    Ok(problems)
}

/// `path:line (N chars)` for every `.rs` line in `crates/` and `xtask/` (outside `target/`) over
/// [`MAX_LINE_CHARS`] characters, in path and line order.
fn long_lines() -> Result<Vec<String>> {
    let root = root();
    let mut long = Vec::new();
    let mut stack = vec![root.join("crates"), root.join("xtask")];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if entry.file_name() != "target" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                for (n, line) in text.lines().enumerate() {
                    let width = line.chars().count();
                    if width > MAX_LINE_CHARS {
                        long.push((path.clone(), n + 1, width));
                    }
                }
            }
        }
    }
    long.sort();
    Ok(long
        .into_iter()
        .map(|(path, n, width)| {
            let shown = path.strip_prefix(&root).unwrap_or(&path);
            format!("{}:{n} ({width} chars)", shown.display())
        })
        .collect())
}

/// Names of every crate `krate` reaches through normal (non-dev, non-build) edges.
fn normal_deps(krate: &str) -> Result<Vec<String>> {
    cargo_tree(&["-p", krate, "-e", "normal"])
}

/// The package names `cargo tree` lists for `args` (deduplicated by cargo, in its order).
fn cargo_tree(args: &[&str]) -> Result<Vec<String>> {
    let out = Command::new(cargo_bin())
        .current_dir(root())
        .args(["tree", "--locked"])
        .args(args)
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// Every test (`extra` handed to the runner), but those whose name holds `except`.
fn test(extra: &[&str], except: Option<&str>) -> Result {
    if has_nextest() {
        // nextest does not run doctests: run them first, so the test summary CI reads is
        // nextest's closing line. With the same features (`extra`), so the libraries they
        // build are the ones nextest links, not a second build of each.
        let mut doc = cargo(&["test", "--workspace", "--locked", "--doc", "--quiet"]);
        doc.args(extra.iter().take_while(|a| **a != "--"));
        step("doctests", doc)?;
        let mut cmd = cargo(&[
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--no-fail-fast",
        ]);
        cmd.args(extra);
        if let Some(except) = except {
            cmd.arg("-E").arg(format!("not test(/{except}/)"));
        }
        step("tests (nextest)", cmd)
    } else {
        let mut cmd = cargo(&["test", "--workspace", "--locked", "--no-fail-fast"]);
        cmd.args(extra);
        if let Some(except) = except {
            cmd.args(["--", "--skip", except]);
        }
        step("tests (cargo test)", cmd)
    }
}

fn contract() -> Result {
    if has_nextest() {
        step(
            "contract tests",
            cargo(&[
                "nextest",
                "run",
                "--locked",
                "-p",
                "stockdata-contract-tests",
            ]),
        )
    } else {
        step(
            "contract tests",
            cargo(&["test", "--locked", "-p", "stockdata-contract-tests"]),
        )
    }
}

fn bench(extra: &[String]) -> Result {
    bench::run(extra)
}

fn has_nextest() -> bool {
    Command::new(cargo_bin())
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub(crate) fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(cargo_bin());
    cmd.current_dir(root()).args(args);
    cmd.env("PACT_DO_NOT_TRACK", "true");
    cmd
}

pub(crate) fn step(name: &str, mut cmd: Command) -> Result {
    eprintln!("xtask: {name}: {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("{name}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn cargo_bin() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace this xtask was run in: `cargo run` names xtask's manifest dir at run time
/// (never the one baked in at build time, which may be another checkout sharing a target
/// dir); else the nearest ancestor of the working directory with a `[workspace]` manifest.
pub(crate) fn root() -> PathBuf {
    if let Some(dir) = env::var_os("CARGO_MANIFEST_DIR")
        && let Some(parent) = Path::new(&dir).parent()
    {
        return parent.to_path_buf();
    }
    let cwd = env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .map_or(cwd.clone(), Path::to_path_buf)
}
