//! Watchlists: one symbol per line (`#` starts a comment), several on a line separated by
//! commas, or the `SYM,SYM` text of a command-line argument read as one line.
//!
//! The parser is here, in the library, so that it is fuzzed like every other reader of outside
//! input (`crates/fuzz`, target `watchlist`); the `stockdata agent` command reads the file or
//! argument and calls it.

use stockdata_domain::Symbol;

/// The symbols in watchlist `text`, in order (`name` is the file or argument it came from,
/// named in errors). The messages are worded for the `--watchlist` flag, as the CLI shows
/// them.
///
/// # Errors
/// The first symbol that does not parse, or an empty list.
pub fn parse(text: &str, name: &str) -> Result<Vec<Symbol>, String> {
    let mut symbols = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        for part in line.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            symbols.push(Symbol::parse(part).map_err(|e| format!("--watchlist: {e}"))?);
        }
    }
    if symbols.is_empty() {
        return Err(format!(
            "--watchlist {name}: no symbols: give a file with one symbol per line, or SYM,SYM"
        ));
    }
    Ok(symbols)
}
