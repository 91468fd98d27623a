//! Python tools the gates run (Schemathesis, pandas and polars, the providers' clients): each
//! in a venv of its own
//! under `target/`, created with `python3 -m venv` when missing and filled from a pinned
//! requirements file, reinstalled only when that file changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, root, step};

/// The build's target directory (`CARGO_TARGET_DIR`, else `target/` at the root).
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// A program installed in `venv`.
pub(crate) fn bin(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    } else {
        venv.join("bin").join(name)
    }
}

/// Makes `venv` hold exactly what `requirements` pins (`label` names it in the step line).
pub(crate) fn ensure(venv: &Path, requirements: &Path, label: &str) -> Result {
    let python = bin(venv, "python");
    if !python.exists() {
        let mut create = Command::new("python3");
        create.args(["-m", "venv"]).arg(venv);
        step("python venv", create)
            .map_err(|e| format!("{e}: python3 with venv is required (Debian: python3-venv)"))?;
    }
    let wanted = std::fs::read_to_string(requirements)
        .map_err(|e| format!("{}: {e}", requirements.display()))?;
    let installed = venv.join("requirements.installed.txt");
    if std::fs::read_to_string(&installed).ok().as_deref() != Some(wanted.as_str()) {
        let mut pip = Command::new(&python);
        // No byte-compiling of every module at install (a third of the time): Python compiles
        // what it imports, when it imports it.
        pip.args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--no-compile",
            "--requirement",
        ])
        .arg(requirements);
        step(&format!("pip install ({label})"), pip)?;
        std::fs::write(&installed, &wanted).map_err(|e| format!("{}: {e}", installed.display()))?;
    }
    Ok(())
}

/// Every gate's venv with its requirements and label: what [`prepare_in_background`] fills.
fn all() -> Vec<(PathBuf, PathBuf, &'static str)> {
    let (target, root) = (target_dir(), root());
    [
        ("schemathesis-venv", "ci/schemathesis/requirements.txt"),
        ("parquet-venv", "ci/parquet/requirements.txt"),
        ("sdk-venv", "ci/sdk/requirements.txt"),
        ("python-venv", "ci/python/requirements.txt"),
    ]
    .into_iter()
    .map(|(venv, requirements)| (target.join(venv), root.join(requirements), requirements))
    .collect()
}

/// Fills every gate's venv on a thread of its own, for `cargo xtask ci` to start before the
/// builds: pip's downloads and unpacking overlap the compiling. Each gate still calls
/// [`ensure`] (then a no-op); a failure here is left for the gate to meet and report.
pub(crate) fn prepare_in_background() -> std::thread::JoinHandle<()> {
    std::thread::spawn(|| {
        for (venv, requirements, label) in all() {
            if let Err(e) = ensure(&venv, &requirements, label) {
                eprintln!("xtask: {label}: {e} (its gate will try again)");
            }
        }
    })
}
