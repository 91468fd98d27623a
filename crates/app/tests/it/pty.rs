//! The real binary on a pseudo-terminal of its own (expectrl): what a person at a terminal
//! sees. stdout is a terminal there, so the output is a table (not JSON), fitted to `COLUMNS`
//! (else to the terminal's size) and coloured unless `NO_COLOR` or `TERM=dumb` say no. Nothing
//! depends on the terminal the tests run in, if any: each run gets a new pty (80 × 24) and an
//! environment holding only what the test sets.
#![cfg(unix)]

use std::process::Command;
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::{Eof, Expect as _, Session};
use ratatui_core::text::Span;

use super::cli::{NOW, empty_dir, fresh_store};

/// What a run wrote to its terminal: stdout and stderr, interleaved as the terminal got them.
struct Screen(String);

impl Screen {
    /// The lines as a terminal shows them: `\r\n` endings, each line's SGR and erase
    /// sequences taken out, a carriage return within a line starting it over (a progress
    /// bar's redraws), so each entry is what the line shows last.
    fn lines(&self) -> Vec<String> {
        self.0
            .split('\n')
            .map(|line| {
                let line = line.strip_suffix('\r').unwrap_or(line);
                let plain = strip_escapes(line);
                plain.rsplit('\r').next().unwrap_or_default().to_owned()
            })
            .collect()
    }

    /// Every stretch of a line the terminal draws between carriage returns, with its width.
    fn drawn(&self) -> Vec<(usize, String)> {
        self.0
            .split('\n')
            .flat_map(|line| {
                strip_escapes(line)
                    .split('\r')
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .map(|s| (Span::raw(s.as_str()).width(), s))
            .collect()
    }

    /// The table: the lines stdout wrote (stderr's lines all start with `stockdata:`, the
    /// sandbox banner and logs, or hold the progress bar, which is gone by then).
    fn table(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| !l.starts_with("stockdata:") && !l.trim().is_empty())
            .collect()
    }

    /// Whether any SGR sequence (`ESC [ … m`: colour, bold …) reached the terminal.
    fn has_sgr(&self) -> bool {
        let mut rest = self.0.as_str();
        while let Some(i) = rest.find("\u{1b}[") {
            rest = rest.get(i + 2..).unwrap_or_default();
            let params = rest
                .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                .unwrap_or(rest.len());
            if rest.get(params..).is_some_and(|r| r.starts_with('m')) {
                return true;
            }
        }
        false
    }

    /// Asserts no stretch of any line is wider than `width` cells, except the lines `skip`
    /// accepts.
    fn assert_fits(&self, width: usize, skip: impl Fn(&str) -> bool) {
        for (cells, text) in self.drawn() {
            if skip(&text) {
                continue;
            }
            assert!(
                cells <= width,
                "{cells} cells wider than {width}: {text:?}\n{}",
                self.0
            );
        }
    }
}

/// `text` without CSI sequences (`ESC [ params final`).
fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `stockdata --sandbox --now NOW args` on a new pty with only `env` (a fresh store and
/// no telemetry besides) in its environment, to the end; asserts it exits 0.
fn on_pty(args: &[&str], env: &[(&str, &str)]) -> Screen {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("stockdata"));
    cmd.env_clear()
        .env("PACT_DO_NOT_TRACK", "true")
        .env("STOCKDATA__STORE__PATH", fresh_store())
        .envs(env.iter().copied())
        .current_dir(empty_dir())
        .args(["--sandbox", "--now", NOW])
        .args(args);
    let mut session = Session::spawn(cmd).unwrap();
    session.set_expect_timeout(Some(Duration::from_secs(120)));
    let written = session.expect(Eof).unwrap();
    let screen = Screen(String::from_utf8(written.as_bytes().to_vec()).unwrap());
    let status = session.get_process().wait().unwrap();
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "{status:?}\n{}",
        screen.0
    );
    screen
}

/// A colour terminal 80 columns wide.
const COLOUR_80: [(&str, &str); 2] = [("COLUMNS", "80"), ("TERM", "xterm-256color")];

#[test]
fn quote_on_a_terminal_is_a_coloured_table_that_fits() {
    let screen = on_pty(&["quote", "AAPL", "MSFT", "NVDA"], &COLOUR_80);
    let table = screen.table();
    assert!(
        table.first().is_some_and(|h| h.starts_with("symbol ")),
        "a table, not JSON: {}",
        screen.0
    );
    assert_eq!(table.len(), 4, "{}", screen.0);
    screen.assert_fits(80, |_| false);
    // AAPL gains, MSFT and NVDA lose in the sandbox at NOW.
    assert!(
        screen.0.contains("\u{1b}[32m+"),
        "green gain: {:?}",
        screen.0
    );
    assert!(screen.0.contains("\u{1b}[31m-"), "red loss: {:?}", screen.0);
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("pty__quote_at_80_columns", table.join("\n"));
    });
}

#[test]
fn news_on_a_terminal_is_a_table_cut_to_fit() {
    let screen = on_pty(&["news", "AAPL", "--from", "2024-03-07"], &COLOUR_80);
    let table = screen.table();
    assert!(
        table
            .first()
            .is_some_and(|h| h.starts_with("time (America/New_York) ")),
        "a table, not JSON: {}",
        screen.0
    );
    screen.assert_fits(80, |_| false);
    // The headlines are longer than the room left for them: cut, one line per article.
    assert!(
        table.iter().skip(1).all(|l| l.contains('…')),
        "{}",
        screen.0
    );
    // News has no gains or losses: nothing to colour.
    assert!(!screen.has_sgr(), "{:?}", screen.0);
}

#[test]
fn narrower_columns_give_up_columns_never_digits() {
    let screen = on_pty(
        &["quote", "AAPL", "MSFT", "NVDA"],
        &[("COLUMNS", "40"), ("TERM", "xterm-256color")],
    );
    // The sandbox banner on stderr is not a table (79 cells).
    screen.assert_fits(40, |l| l.starts_with("stockdata: SANDBOX MODE"));
    let table = screen.table();
    let header = table.first().map(String::as_str).unwrap_or_default();
    assert!(
        header.starts_with("symbol  price ") && header.ends_with("change  change %"),
        "{}",
        screen.0
    );
    assert!(
        !header.contains("volume") && !header.contains("as_of"),
        "{header}"
    );
    assert!(!table.iter().any(|l| l.contains('…')), "{}", screen.0);
}

#[test]
fn without_columns_the_table_fits_the_terminals_size() {
    // ptyprocess opens every pty 80 columns wide; news is far wider when nothing limits it.
    let screen = on_pty(&["news", "AAPL"], &[("TERM", "xterm-256color")]);
    screen.assert_fits(80, |_| false);
    assert!(
        screen.table().iter().skip(1).all(|l| l.contains('…')),
        "{}",
        screen.0
    );
}

#[test]
fn agent_on_a_terminal_shows_progress_then_a_coloured_table() {
    let screen = on_pty(&["agent", "--watchlist", "AAPL,MSFT"], &COLOUR_80);
    // indicatif draws the bar on stderr, the terminal here, then clears it: what is left is
    // its last drawing, overwritten by the table after an erase-line.
    assert!(
        screen.0.contains("/2 symbols"),
        "the progress bar: {:?}",
        screen.0
    );
    assert!(screen.0.contains("\u{1b}[2K"), "cleared: {:?}", screen.0);
    let table = screen.table();
    let header = table
        .iter()
        .find(|l| l.starts_with("symbol "))
        .unwrap_or_else(|| panic!("a table, not JSON: {}", screen.0));
    for column in [
        "price",
        "change %",
        "last_close",
        "trend",
        "bars",
        "news",
        "errors",
    ] {
        assert!(header.contains(column), "{column}: {header}");
    }
    // The trend is a sparkline of each symbol's closes.
    assert!(
        table
            .iter()
            .any(|l| l.starts_with("AAPL ") && l.contains(['▁', '█'])),
        "{}",
        screen.0
    );
    assert!(screen.has_sgr(), "{:?}", screen.0);
    // The statistics line under the table is not fitted (cli/output.rs writes it as is): it
    // is 80 cells while the run takes under 10 ms, wider after.
    screen.assert_fits(80, |l| l.contains(" symbols: "));
}

#[test]
fn no_color_and_a_dumb_terminal_get_no_colour() {
    for env in [
        [
            ("COLUMNS", "80"),
            ("TERM", "xterm-256color"),
            ("NO_COLOR", "1"),
        ],
        [("COLUMNS", "80"), ("TERM", "dumb"), ("NO_COLOR", "")],
    ] {
        for args in [
            &["quote", "AAPL", "MSFT", "NVDA"][..],
            &["agent", "--watchlist", "AAPL,MSFT"],
        ] {
            let screen = on_pty(args, &env);
            assert!(
                screen
                    .table()
                    .iter()
                    .any(|l| l.starts_with("AAPL ") && l.contains('+')),
                "{env:?} {args:?}: {}",
                screen.0
            );
            assert!(!screen.has_sgr(), "{env:?} {args:?}: {:?}", screen.0);
        }
    }
}
