//! `--watchlist`: a file with one symbol per line (`#` comments), `-` for stdin, or `SYM,SYM`,
//! parsed by [`stockdata_app::watchlist::parse`].

use stockdata_app::domain::Symbol;
use stockdata_app::watchlist;

/// The symbols `arg` names.
///
/// # Errors
/// What is wrong, naming the argument.
pub(crate) fn read(arg: &str) -> Result<Vec<Symbol>, String> {
    read_from(arg, std::io::stdin().lock())
}

/// File extensions that make an argument a path, never a list of tickers (`BRK.B` is a symbol;
/// `list.txt` is not).
const FILE_EXTENSIONS: &[&str] = &[
    "txt", "csv", "tsv", "lst", "list", "json", "toml", "yaml", "yml", "md", "dat", "tickers",
];

/// Whether `arg` names a file rather than symbols: a separator, a leading `.` or `~`, or a
/// file extension.
fn looks_like_path(arg: &str) -> bool {
    if arg.contains(['/', '\\']) || arg.starts_with(['.', '~']) {
        return true;
    }
    arg.rsplit_once('.')
        .is_some_and(|(_, ext)| FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// [`read`] with stdin given (tests pass their own).
pub(crate) fn read_from(arg: &str, stdin: impl std::io::Read) -> Result<Vec<Symbol>, String> {
    let hint = "give a file with one symbol per line, - for stdin, or SYM,SYM";
    let path = std::path::Path::new(arg);
    let text = if arg == "-" {
        std::io::read_to_string(stdin).map_err(|e| format!("--watchlist -: {e}"))?
    } else if path.is_file() {
        std::fs::read_to_string(path).map_err(|e| format!("--watchlist {arg}: {e}: {hint}"))?
    } else if path.is_dir() {
        return Err(format!("--watchlist {arg}: is a directory: {hint}"));
    } else if looks_like_path(arg) {
        return Err(format!("--watchlist {arg}: no such file: {hint}"));
    } else {
        arg.replace(',', "\n")
    };
    watchlist::parse(&text, arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_or_a_directory_is_never_a_ticker() {
        for arg in [
            "./missing.txt",
            "missing.txt",
            "lists/tech",
            "~/w.csv",
            "watchlist.TXT",
        ] {
            let err = read_from(arg, std::io::empty()).unwrap_err();
            assert!(err.contains("no such file"), "{arg}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        assert!(
            read_from(d, std::io::empty())
                .unwrap_err()
                .contains("is a directory")
        );
    }

    #[test]
    fn symbols_stdin_and_files_are_read() {
        let list = |arg: &str, stdin: &str| -> Vec<String> {
            read_from(arg, stdin.as_bytes())
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(list("AAPL,BRK.B", ""), ["AAPL", "BRK.B"]);
        assert_eq!(
            list("-", "MSFT\n# c\nNVDA, TSLA\n"),
            ["MSFT", "NVDA", "TSLA"]
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.txt");
        std::fs::write(&file, "SPY\n").unwrap();
        assert_eq!(list(file.to_str().unwrap(), ""), ["SPY"]);
    }
}
