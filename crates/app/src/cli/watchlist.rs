//! Watchlists: a file with one symbol per line (`#` comments), or `SYM,SYM`.

use stockdata_app::domain::Symbol;

/// The symbols `arg` names.
///
/// # Errors
/// What is wrong, naming the argument.
pub(crate) fn read(arg: &str) -> Result<Vec<Symbol>, String> {
    let path = std::path::Path::new(arg);
    let text = if path.is_file() {
        std::fs::read_to_string(path).map_err(|e| format!("--watchlist {arg}: {e}"))?
    } else {
        arg.replace(',', "\n")
    };
    parse(&text, arg)
}

/// The symbols in watchlist `text` (`arg` names it in errors).
///
/// # Errors
/// The first symbol that does not parse, or an empty list.
pub(crate) fn parse(text: &str, arg: &str) -> Result<Vec<Symbol>, String> {
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
            "--watchlist {arg}: no symbols: give a file with one symbol per line, or SYM,SYM"
        ));
    }
    Ok(symbols)
}
