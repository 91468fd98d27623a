//! Watchlist files and `--watchlist SYM,SYM` arguments.

use stockdata_app::watchlist;
use stockdata_domain::Symbol;

use super::{Target, text};

pub(crate) const WATCHLIST: Target = Target {
    name: "watchlist",
    about: "watchlist file / SYM,SYM text -> symbols that round-trip Symbol::parse",
    check,
};

/// The longest error message: a symbol error quotes at most a few dozen characters (escaped),
/// never the whole file.
const MAX_MESSAGE: usize = 512;

/// Input: the text of a watchlist file. It is also read as the CLI reads an argument (commas
/// turned into line breaks).
fn check(input: &[u8]) -> Result<(), String> {
    let text = text(input);
    let name = "watchlist.txt";
    one(&text, name)?;
    one(&text.replace(',', "\n"), name)
}

fn one(text: &str, name: &str) -> Result<(), String> {
    match watchlist::parse(text, name) {
        Ok(symbols) => {
            if symbols.is_empty() {
                return Err("Ok with no symbols".to_owned());
            }
            let upper = text.to_ascii_uppercase();
            for s in &symbols {
                match Symbol::parse(s.as_str()) {
                    Ok(again) if again == *s => {}
                    other => {
                        return Err(format!(
                            "{s:?} does not round-trip: parsed again as {other:?}"
                        ));
                    }
                }
                if !upper.contains(s.as_str()) {
                    return Err(format!("{s:?} is not in the text"));
                }
            }
            Ok(())
        }
        Err(message) => {
            if message.is_empty() || message.len() > MAX_MESSAGE + name.len() {
                return Err(format!(
                    "an error message of {} bytes: {message:?}",
                    message.len()
                ));
            }
            Ok(())
        }
    }
}
