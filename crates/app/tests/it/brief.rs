//! `stockdata brief` end to end: the real binary against the in-process sandbox, its Markdown
//! and JSON held to snapshots, the store alone with `--offline`, and the usage errors.

use super::cli::{stderr, stdout, stockdata, workdir};

/// Monday 2024-03-11 before the open, the day after summer time began: the brief is of Friday
/// 2024-03-08, a winter-time session (14:30 to 21:00 UTC).
const NOW: &str = "2024-03-11T12:00:00Z";

fn brief(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = stockdata();
    // Every news provider is asked, so Alpha Vantage's sentiment is among the headlines.
    cmd.env("STOCKDATA__NEWS__MERGE", "all")
        .args(["--sandbox", "--now", NOW, "brief"])
        .args(args);
    cmd
}

#[test]
fn markdown_with_its_charts_beside_it() {
    let dir = workdir();
    let md = dir.path().join("brief.md");
    let md_arg = md.to_str().unwrap();
    let err = stderr(
        &mut brief(&[
            "--watchlist",
            "AAPL,MSFT,NVDA,ZZZZ,AAPL",
            "--sessions",
            "10",
            "--output",
            md_arg,
        ]),
        3,
    );
    assert!(err.contains("ZZZZ bars: unknown_symbol"), "{err}");
    let text = std::fs::read_to_string(&md).unwrap();
    insta::assert_snapshot!(text);
    let mut charts: Vec<String> = std::fs::read_dir(dir.path().join("brief-charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    charts.sort();
    assert_eq!(charts, ["AAPL.svg", "MSFT.svg", "NVDA.svg"]);
    let svg = std::fs::read_to_string(dir.path().join("brief-charts/AAPL.svg")).unwrap();
    assert!(svg.starts_with("<?xml"), "{svg}");
    assert!(svg.contains("prefers-color-scheme:dark"));
    assert!(
        svg.contains(">\nSYNTHETIC\n<") || svg.contains(">SYNTHETIC<"),
        "the chart says so"
    );
    // Every charted session's label sits on the axis; the close line and volume are drawn.
    assert!(svg.contains("<polyline") && svg.contains("<rect"), "{svg}");
}

#[test]
fn json_carries_the_numbers_for_templates() {
    let out = stdout(
        &mut brief(&[
            "--watchlist",
            "AAPL,MSFT",
            "--sessions",
            "5",
            "--headlines",
            "2",
            "--format",
            "json",
        ]),
        0,
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["date"], "2024-03-08");
    assert_eq!(doc["session"]["open"], "2024-03-08T14:30:00Z");
    assert_eq!(doc["session"]["close"], "2024-03-08T21:00:00Z");
    assert_eq!(doc["synthetic"], true);
    assert_eq!(doc["symbols"][0]["chart"].as_array().unwrap().len(), 5);
    insta::assert_snapshot!(out);
}

#[test]
fn offline_answers_from_the_store_and_names_what_it_lacks() {
    let dir = workdir();
    let store = dir.path().join("store.sqlite");
    let store_arg = store.to_str().unwrap();
    let fetched = stdout(
        brief(&["--watchlist", "AAPL,MSFT", "--format", "json"]).args(["--store", store_arg]),
        0,
    );
    // The same brief from the store alone: no simulator is started, nothing is sent.
    let mut offline = stockdata();
    offline
        .env("STOCKDATA__NEWS__MERGE", "all")
        .args(["--sandbox", "--offline", "--now", NOW, "--store", store_arg])
        .args(["brief", "--watchlist", "AAPL,MSFT", "--format", "json"]);
    let out = offline.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("SANDBOX MODE"), "no simulator offline: {err}");
    let from_store = String::from_utf8(out.stdout).unwrap();
    assert_eq!(from_store, fetched);

    // A symbol the store never held: named, and the file is left alone.
    let html = dir.path().join("b.html");
    let mut missing = stockdata();
    missing
        .args(["--sandbox", "--offline", "--now", NOW, "--store", store_arg])
        .args([
            "brief",
            "--watchlist",
            "NVDA",
            "--output",
            html.to_str().unwrap(),
        ]);
    let err = stderr(&mut missing, 4);
    assert!(err.contains("NVDA bars: not_stored"), "{err}");
    assert!(!html.exists());
}

#[test]
fn html_is_one_self_contained_page() {
    let dir = workdir();
    let html = dir.path().join("brief.html");
    stdout(
        &mut brief(&[
            "--watchlist",
            "AAPL,MSFT",
            "--output",
            html.to_str().unwrap(),
        ]),
        0,
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for external in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!page.contains(external), "{external} in the page");
    }
    assert_eq!(page.matches("<figure class=\"chart\"").count(), 2);
    assert!(page.contains("Synthetic data from the stockdata sandbox"));
    assert!(page.contains("prefers-color-scheme:dark"));
    // Readable as a file the shell would have made (0666 less the umask), not a private 0600
    // temporary file: a page is made to be served and shared.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&html), mode(&plain));
    }
}

#[test]
fn a_date_without_a_session_or_a_format_brief_does_not_write_is_a_usage_error() {
    let err = stderr(
        &mut brief(&["--watchlist", "AAPL", "--date", "2024-03-09"]),
        2,
    );
    assert!(err.contains("2024-03-09 is not a trading session"), "{err}");
    assert!(err.contains("pass --date 2024-03-08"), "{err}");
    let err = stderr(
        &mut brief(&["--watchlist", "AAPL", "--date", "2024-03-11"]),
        2,
    );
    assert!(err.contains("has not closed yet"), "{err}");
    let err = stderr(&mut brief(&["--watchlist", "AAPL", "--format", "csv"]), 2);
    assert!(err.contains("brief writes md, html or json"), "{err}");
    let err = stderr(
        stockdata().args(["--sandbox", "quote", "AAPL", "--format", "html"]),
        2,
    );
    assert!(err.contains("for `brief` only"), "{err}");
    let err = stderr(
        stockdata().args(["--sandbox", "bars", "AAPL", "--output", "x.md"]),
        2,
    );
    assert!(err.contains("written by `brief` only"), "{err}");
    let err = stderr(&mut brief(&["--watchlist", "./missing.txt"]), 2);
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn no_headlines_asked_for_leaves_the_news_out() {
    let md = stdout(
        &mut brief(&["--watchlist", "AAPL", "--headlines", "0", "--format", "md"]),
        0,
    );
    assert!(md.contains("## AAPL: "), "{md}");
    assert!(!md.contains("SANDBOX] AAPL synthetic story"), "{md}");
    assert!(!md.contains("No headlines"), "{md}");
}
