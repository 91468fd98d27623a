//! `--watchlist`: a file with one symbol per line (`#` comments), `-` for stdin, or `SYM,SYM`,
//! parsed by [`stockdata_app::watchlist::parse`].

use stockdata_app::domain::Symbol;
use stockdata_app::watchlist;

/// The symbols `arg` names.
///
/// # Errors
/// What is wrong, naming the argument.
pub(crate) fn read(arg: &str) -> Result<Vec<Symbol>, String> {
    let path = std::path::Path::new(arg);
    let text = if arg == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("--watchlist -: {e}"))?
    } else if path.is_file() {
        std::fs::read_to_string(path).map_err(|e| format!("--watchlist {arg}: {e}"))?
    } else {
        arg.replace(',', "\n")
    };
    watchlist::parse(&text, arg)
}
