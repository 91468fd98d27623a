//! Where a command's records go: stdout, or with `--output FILE` a temporary file beside FILE
//! that replaces it only once the command has written everything (rename: a reader sees the
//! old file or the new one, never half of one).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::output::Format;
use super::{Exit, usage};

/// Stdout, or a file being written.
#[derive(Debug)]
pub(crate) enum Sink {
    /// Standard output.
    Stdout(io::StdoutLock<'static>),
    /// A temporary file that becomes `path` on [`Sink::commit`].
    File {
        /// The temporary file, in `path`'s directory (so the rename stays on one file system).
        tmp: tempfile::NamedTempFile,
        /// Where it goes.
        path: PathBuf,
    },
}

impl Sink {
    /// Stdout, or a temporary file beside `path`.
    ///
    /// # Errors
    /// The directory cannot take the file: the usage error that names it.
    pub(crate) fn open(path: Option<&Path>) -> Result<Self, Exit> {
        let Some(path) = path else {
            return Ok(Sink::Stdout(io::stdout().lock()));
        };
        if path.is_dir() {
            return Err(usage(format!(
                "--output {}: is a directory; name a file in it",
                path.display()
            )));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".stockdata-").suffix(".partial");
        // The file gets the mode a shell redirection would give it: an existing file's, else
        // 0666 less the umask (a temporary file's 0600 would make a page nobody else can read).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path).map_or(0o666, |m| m.permissions().mode() & 0o777);
            builder.permissions(std::fs::Permissions::from_mode(mode));
        }
        match builder.tempfile_in(dir) {
            Ok(tmp) => Ok(Sink::File {
                tmp,
                path: path.to_owned(),
            }),
            Err(e) => Err(usage(format!(
                "--output {}: cannot write in {}: {e}",
                path.display(),
                dir.display()
            ))),
        }
    }

    /// Ends the command: a file whose command fetched something (exit 0 or 3) replaces
    /// `path`; otherwise `path` is left as it was and the temporary file removed. Answers
    /// the exit code, [`Exit::Failed`] if the file cannot be put in place.
    pub(crate) fn commit(self, exit: Exit) -> Exit {
        let Sink::File { tmp, path } = self else {
            return exit;
        };
        if !matches!(exit, Exit::Ok | Exit::Partial) {
            eprintln!(
                "stockdata: {} left unchanged: nothing was fetched",
                path.display()
            );
            return exit;
        }
        let synced = tmp.as_file().sync_all();
        match synced.map_err(|e| e.to_string()).and_then(|()| {
            tmp.persist(&path)
                .map(drop)
                .map_err(|e| e.error.to_string())
        }) {
            Ok(()) => exit,
            Err(e) => {
                eprintln!("stockdata: cannot write {}: {e}", path.display());
                Exit::Failed
            }
        }
    }
}

impl Sink {
    /// The temporary file's path, for writers that take a path (Parquet).
    #[cfg(feature = "parquet")]
    pub(crate) fn temp_path(&self) -> Option<&Path> {
        match self {
            Sink::Stdout(_) => None,
            Sink::File { tmp, .. } => Some(tmp.path()),
        }
    }

    /// [`super::finish`] for a command that wrote through `out`, then [`Sink::commit`].
    pub(crate) fn finish(
        out: io::BufWriter<Sink>,
        written: io::Result<()>,
        asked: usize,
        errors: &[(
            stockdata_app::domain::Symbol,
            stockdata_app::domain::FetchError,
        )],
    ) -> Exit {
        let exit = super::finish(written, asked, errors);
        match out.into_inner() {
            Ok(sink) => sink.commit(exit),
            // Nothing left to write after a failed write; the temporary file goes with it.
            Err(_) => exit,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(out) => out.write(buf),
            Sink::File { tmp, .. } => tmp.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.write_all(buf),
            Sink::File { tmp, .. } => tmp.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush(),
            Sink::File { tmp, .. } => tmp.flush(),
        }
    }
}

/// The format a file name asks for: `.json`, `.ndjson`/`.jsonl`, `.csv`, and for `brief`
/// `.md`/`.markdown` and `.html`/`.htm`; none for anything else (Parquet is always asked for
/// by name: `store export --format parquet`).
pub(crate) fn format_for(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "json" => Some(Format::Json),
        "ndjson" | "jsonl" => Some(Format::Ndjson),
        "csv" => Some(Format::Csv),
        "md" | "markdown" => Some(Format::Markdown),
        "html" | "htm" => Some(Format::Html),
        _ => None,
    }
}
