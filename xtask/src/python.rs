//! `cargo xtask python`: the Python bindings (`crates/python`, `import stockdata`) built and
//! tested with pytest (`crates/python/tests`). Any failure fails the task.
//!
//! - pytest runs from a venv under `target/python-venv`, filled from
//!   `ci/python/requirements.txt` (every package pinned, wheels only) and reinstalled only
//!   when that file changes. pandas and polars are the parquet gate's (`target/parquet-venv`
//!   from `ci/parquet/requirements.txt`, made here when missing): a `.pth` file names its
//!   site-packages, so a fresh checkout does not unpack them twice.
//! - The extension is built by cargo, then installed the way `maturin develop` installs it
//!   (the module beside the Python sources, `crates/python/python/stockdata/_native.abi3.so`,
//!   and a `.pth` file naming that folder): maturin's own build would resolve features for
//!   the bindings alone and recompile most of the workspace. After the test step
//!   (`tests_ran`) the build is `cargo build --workspace --lib --tests` with the CI features,
//!   which resolves features exactly as the test build did, so only pyo3 and the bindings
//!   compile; else `cargo build -p stockdata-python`. `PYO3_BUILD_EXTENSION_MODULE` is set,
//!   as maturin sets it: the module does not link libpython.
//! - The standalone-sandbox tests drive the `stockdata` binary the test step built
//!   ([`crate::ci_stockdata`]), passed as `--stockdata-bin`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::sdk::step_within;
use crate::{CI_FEATURES, Result, cargo, root, step, venv};

/// The suite takes a few seconds; a hung test is stopped.
const RUN_WITHIN: Duration = Duration::from_secs(300);

pub(crate) fn run() -> Result {
    run_gate(false)
}

/// [`run`], reusing the test step's build when `tests_ran` (see the module docs).
pub(crate) fn run_gate(tests_ran: bool) -> Result {
    let started = Instant::now();
    let root = root();
    let target = venv::target_dir();
    let venv_dir = target.join("python-venv");
    let frames = target.join("parquet-venv");
    venv::ensure(
        &frames,
        &root.join("ci/parquet/requirements.txt"),
        "ci/parquet/requirements.txt",
    )?;
    venv::ensure(
        &venv_dir,
        &root.join("ci/python/requirements.txt"),
        "ci/python/requirements.txt",
    )?;
    let layered = site_packages(&venv_dir)?.join("_stockdata_frames.pth");
    std::fs::write(&layered, format!("{}\n", site_packages(&frames)?.display()))
        .map_err(|e| format!("{}: {e}", layered.display()))?;
    let bin = crate::ci_stockdata(tests_ran)?;

    let mut build = if tests_ran {
        cargo(&[
            "build",
            "--locked",
            "--workspace",
            "--lib",
            "--tests",
            "--features",
            CI_FEATURES,
        ])
    } else {
        cargo(&["build", "--locked", "-p", "stockdata-python"])
    };
    build.env("PYO3_BUILD_EXTENSION_MODULE", "1");
    step("build the Python extension", build)?;
    install(&root, &target, &venv_dir)?;
    let built = started.elapsed();

    let mut test = Command::new(venv::bin(&venv_dir, "python"));
    test.current_dir(root.join("crates/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .args(["-m", "pytest", "-p", "no:cacheprovider", "-q", "tests"])
        .arg("--stockdata-bin")
        .arg(&bin);
    let result = step_within("pytest (crates/python/tests)", test, RUN_WITHIN);
    eprintln!(
        "xtask: python took {:.0} s ({:.0} s to build and install)",
        started.elapsed().as_secs_f64(),
        built.as_secs_f64()
    );
    result
}

/// Puts the built module beside the package's Python sources and names that folder in a
/// `.pth` file of the venv: what `maturin develop` does for a mixed Rust/Python project.
fn install(root: &Path, target: &Path, venv_dir: &Path) -> Result {
    let lib = format!(
        "{}_native{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let built = target.join("debug").join(lib);
    let package = root.join("crates/python/python");
    let module = package.join("stockdata").join(if cfg!(windows) {
        "_native.pyd"
    } else {
        "_native.abi3.so"
    });
    // A new file, never one overwritten in place: a process may have the old one mapped.
    let _ = std::fs::remove_file(&module);
    std::fs::copy(&built, &module).map_err(|e| {
        format!(
            "cannot install {} as {}: {e}",
            built.display(),
            module.display()
        )
    })?;
    let site = site_packages(venv_dir)?;
    let pth = site.join("stockdata.pth");
    std::fs::write(&pth, format!("{}\n", package.display()))
        .map_err(|e| format!("{}: {e}", pth.display()))
}

/// The venv's `site-packages`.
fn site_packages(venv_dir: &Path) -> Result<PathBuf> {
    if cfg!(windows) {
        return Ok(venv_dir.join("Lib").join("site-packages"));
    }
    let lib = venv_dir.join("lib");
    let entries = std::fs::read_dir(&lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    entries
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .ok_or_else(|| format!("no site-packages under {}", lib.display()))
}
