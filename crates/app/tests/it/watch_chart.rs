//! `quote --watch` and `bars --chart`, through the real binary against the in-process sandbox:
//! piped (one NDJSON batch per refresh, SIGINT or a closed pipe ends it) and in a pseudo
//! terminal (the table redrawn in place, Ctrl-C ends it).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use expectrl::Expect as _;
use expectrl::process::unix::WaitStatus;

use super::cli::{NOW, empty_dir, fresh_store, sandbox, stdout};

/// How long a test waits for a line before it gives up (the refresh is every second).
const PATIENCE: Duration = Duration::from_secs(30);

/// `stockdata --sandbox --now NOW ARGS`, stdout piped and read line by line on a thread.
fn spawn(args: &[&str]) -> (Child, Receiver<String>) {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("stockdata"))
        .env_clear()
        .env("PACT_DO_NOT_TRACK", "true")
        .env("STOCKDATA__STORE__PATH", fresh_store())
        .current_dir(empty_dir())
        .args(["--sandbox", "--now", NOW])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The next `n` NDJSON records, parsed.
fn records(lines: &Receiver<String>, n: usize, child: &mut Child) -> Vec<serde_json::Value> {
    (0..n)
        .map(|_| match lines.recv_timeout(PATIENCE) {
            Ok(line) => serde_json::from_str(&line).unwrap(),
            Err(e) => {
                let _ = child.kill();
                let out = stderr_of(child);
                panic!("no record within {PATIENCE:?} ({e}); stderr:\n{out}");
            }
        })
        .collect()
}

/// The child's stderr, once it has ended.
fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
    }
    let _ = child.wait();
    err
}

fn interrupt(child: &Child) {
    let status = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the child to end (killing it after [`PATIENCE`]); its exit code and stderr.
fn finish(mut child: Child) -> (Option<i32>, String) {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let err = stderr_of(&mut child);
            return (status.code(), err);
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let err = stderr_of(&mut child);
            panic!("still running after {PATIENCE:?}; stderr:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn watch_streams_one_ndjson_batch_per_refresh_until_sigint() {
    let (mut child, lines) = spawn(&[
        "quote", "AAPL", "ZZZZ", "--watch", "1s", "--format", "ndjson",
    ]);
    // Two records a batch: AAPL's quote, then ZZZZ's error, every refresh.
    let batches: Vec<Vec<serde_json::Value>> =
        (0..2).map(|_| records(&lines, 2, &mut child)).collect();
    interrupt(&child);
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    for batch in &batches {
        assert_eq!(batch[0]["symbol"], "AAPL", "{batch:?}");
        assert!(batch[0]["price"].is_string() || batch[0]["price"].is_number());
        assert_eq!(batch[1]["symbol"], "ZZZZ", "{batch:?}");
        assert!(batch[1]["error"]["kind"].is_string(), "{batch:?}");
    }
    assert_eq!(batches[0][1]["error"]["kind"], "unknown_symbol");
    // The clock is pinned: the second refresh is the same quote, from the store.
    assert_eq!(batches[0][0], batches[1][0]);
}

#[test]
fn watch_in_which_every_symbol_always_fails_exits_4() {
    let (mut child, lines) = spawn(&["quote", "ZZZZ", "--watch", "1s", "--format", "ndjson"]);
    let batch = records(&lines, 1, &mut child);
    assert_eq!(batch[0]["error"]["kind"], "unknown_symbol", "{batch:?}");
    interrupt(&child);
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(4), "stderr:\n{stderr}");
}

#[test]
fn watch_ends_quietly_when_the_reader_goes_away() {
    let (mut child, lines) = spawn(&["quote", "AAPL", "--watch", "1s", "--format", "ndjson"]);
    records(&lines, 1, &mut child);
    // Closing our end of the pipe: the next batch meets a broken pipe.
    drop(lines);
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert!(!stderr.contains("cannot write"), "{stderr}");
}

#[test]
fn watch_redraws_the_table_in_place_on_a_terminal_until_ctrl_c() {
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("stockdata"));
    cmd.env_clear()
        .env("COLUMNS", "80")
        .env("TERM", "xterm-256color")
        .env("PACT_DO_NOT_TRACK", "true")
        .env("STOCKDATA__STORE__PATH", fresh_store())
        .current_dir(empty_dir())
        .args([
            "--sandbox",
            "--now",
            NOW,
            "quote",
            "AAPL",
            "MSFT",
            "--watch",
            "1s",
        ]);
    let mut session = expectrl::Session::spawn(cmd).unwrap();
    session.set_expect_timeout(Some(PATIENCE));
    let mut screens = Vec::new();
    for _ in 0..2 {
        let drawn = session.expect("Ctrl-C to stop").unwrap();
        screens.push(String::from_utf8_lossy(drawn.before()).into_owned());
    }
    let (first, second) = (&screens[0], &screens[1]);
    assert!(first.contains("AAPL") && first.contains("MSFT"), "{first}");
    assert!(
        second.contains("AAPL") && second.contains("MSFT"),
        "{second}"
    );
    // Redrawn in place: the cursor goes back up over the table, the screen is not cleared.
    assert!(
        second.contains("\u{1b}[") && second.contains("A\r\u{1b}[2K"),
        "{second:?}"
    );
    assert!(!second.contains("\u{1b}[2J"), "{second:?}");
    session.send("\x03").unwrap();
    let status = session.get_process().wait().unwrap();
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "{status:?}; screens: {screens:?}"
    );
}

#[test]
fn bars_chart_draws_braille_without_escapes_on_a_pipe() {
    let out = stdout(
        &mut sandbox(&["bars", "AAPL", "--chart", "--format", "table"]),
        0,
    );
    assert!(out.starts_with("AAPL 1d "), "{out}");
    assert!(
        out.chars().any(|c| ('\u{2801}'..='\u{28FF}').contains(&c)),
        "{out}"
    );
    assert!(!out.contains('\u{1b}'), "{out:?}");
    // Not a terminal: 80 columns.
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    assert!(
        out.contains("2024-03-08"),
        "the last date labels the x axis: {out}"
    );
}
