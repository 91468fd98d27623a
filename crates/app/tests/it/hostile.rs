//! Hostile or mistaken input to the binary (issue "hostile input") and the registry's
//! `--provider` rules: each case failed before its fix.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;

use assert_cmd::Command;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: &str = "2024-03-08T21:30:00Z";

fn stockdata(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("stockdata").unwrap();
    cmd.env_clear()
        .env("PACT_DO_NOT_TRACK", "true")
        .env("STOCKDATA__STORE__PATH", crate::cli::fresh_store())
        .current_dir(dir);
    cmd
}

fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_non_utf8_environment_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    // An unrelated variable is ignored.
    let (code, _, err) = run(stockdata(dir.path())
        .env("JUNK", OsStr::from_bytes(b"\xff"))
        .args([
            "--sandbox",
            "--now",
            NOW,
            "quote",
            "AAPL",
            "--format",
            "json",
        ]));
    assert_eq!(code, Some(0), "{err}");
    // Ours are a usage error naming the variable.
    for (var, value) in [
        ("STOCKDATA__AGENT__CONCURRENCY", &b"\xff"[..]),
        ("FINNHUB_API_KEY", &b"\xff\xfe"[..]),
        ("STOCKDATA_CONFIG", &b"\xff"[..]),
    ] {
        let (code, _, err) = run(stockdata(dir.path())
            .env(var, OsStr::from_bytes(value))
            .args(["quote", "AAPL"]));
        assert_eq!(code, Some(2), "{var}: {err}");
        assert!(err.contains(var) && err.contains("UTF-8"), "{var}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn misspelt_log_levels_are_usage_errors_listing_the_levels() {
    for level in ["warning", "inf", "nonsense", "stockdata=loud"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("stockdata.toml"),
            format!("[log]\nlevel = \"{level}\"\n"),
        )
        .unwrap();
        let (code, _, err) = run(stockdata(dir.path()).args(["providers"]));
        assert_eq!(code, Some(2), "{level}: {err}");
        assert!(
            err.contains("log.level") && err.contains("error, warn, info, debug"),
            "{level}: {err}"
        );
    }
    // Valid filters still load.
    for level in ["WARN", "info,stockdata=debug", "off"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("stockdata.toml"),
            format!("[log]\nlevel = \"{level}\"\n"),
        )
        .unwrap();
        let (code, _, err) = run(stockdata(dir.path()).args(["providers"]));
        assert_eq!(code, Some(0), "{level}: {err}");
    }
}

#[test]
fn toml_errors_name_the_line_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stockdata.toml"),
        "# mine\n[agent]\nhistory_days = 10\nconcurrency = 99999999999999999999999\n",
    )
    .unwrap();
    let (code, _, err) = run(stockdata(dir.path()).args(["providers"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("agent.concurrency") && err.contains("line 4"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("stockdata.toml"),
        "[agent]\nconcurrency = [\n",
    )
    .unwrap();
    let (code, _, err) = run(stockdata(dir.path()).args(["providers"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("line "), "{err}");
    // A non-number in an override names the key too.
    let (code, _, err) = run(stockdata(dir.path())
        .env("STOCKDATA__AGENT__CONCURRENCY", "99999999999999999999999")
        .args(["--config", "/dev/null", "providers"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("agent.concurrency"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_text_cannot_drive_the_terminal_or_a_spreadsheet() {
    let server = MockServer::start().await;
    let news = serde_json::json!([{
        "category": "company",
        "datetime": 1_709_900_000,
        "headline": "\u{1b}[2J\u{1b}[31mRED\tTAB\nNEWLINE",
        "id": 1,
        "image": "",
        "related": "AAPL",
        "source": "=HYPERLINK(\"http://evil.invalid\",\"x\")",
        "summary": "s",
        "url": "https://example.invalid/a"
    }]);
    Mock::given(path("/api/v1/company-news"))
        .respond_with(ResponseTemplate::new(200).set_body_json(news))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stockdata.toml"),
        format!("[providers.finnhub]\nbase_url = \"{}\"\n", server.uri()),
    )
    .unwrap();
    let path = dir.path().to_path_buf();
    let news = move |extra: &[&str]| {
        let mut cmd = stockdata(&path);
        cmd.env("FINNHUB_API_KEY", "k").args([
            "--now",
            NOW,
            "news",
            "AAPL",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-08",
        ]);
        cmd.args(extra);
        run(&mut cmd)
    };
    let (table, csv, safe, json) = tokio::task::spawn_blocking(move || {
        (
            news(&["--format", "table"]),
            news(&["--format", "csv"]),
            news(&["--format", "csv", "--csv-safe"]),
            news(&["--format", "json"]),
        )
    })
    .await
    .unwrap();
    assert_eq!(table.0, Some(0), "{}", table.2);
    assert!(
        !table.1.contains('\u{1b}'),
        "no escape reaches the terminal: {:?}",
        table.1
    );
    assert!(table.1.contains("RED TAB NEWLINE"), "{:?}", table.1);
    assert!(
        csv.1.contains(",\"=HYPERLINK("),
        "plain CSV stays exact: {}",
        csv.1
    );
    assert!(
        safe.1.contains(",\"'=HYPERLINK("),
        "--csv-safe defuses: {}",
        safe.1
    );
    let doc: serde_json::Value = serde_json::from_str(&json.1).unwrap();
    assert_eq!(
        doc[0]["headline"], "\u{1b}[2J\u{1b}[31mRED\tTAB\nNEWLINE",
        "machine formats keep the text exact"
    );
}

#[test]
fn provider_uses_the_named_provider_whatever_routing_says() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stockdata.toml"),
        "[routing]\nquotes = [\"finnhub\"]\nbars = [\"finnhub\"]\nnews = [\"finnhub\"]\n",
    )
    .unwrap();
    let (code, out, err) = run(stockdata(dir.path()).args([
        "--sandbox",
        "--now",
        NOW,
        "--provider",
        "alpaca",
        "quote",
        "AAPL",
        "--format",
        "json",
    ]));
    assert_eq!(code, Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc[0]["provider"], "alpaca", "{out}");
}

#[test]
fn an_unknown_or_unconfigured_provider_says_what_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(stockdata(dir.path()).args(["--provider", "yahoo", "quote", "AAPL"]));
    assert_eq!(code, Some(2), "{err}");
    for name in ["alpha_vantage", "finnhub", "alpaca", "serverless"] {
        assert!(err.contains(name), "{err}");
    }
    let (code, _, err) = run(stockdata(dir.path()).args(["--provider", "alpaca", "quote", "AAPL"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("APCA_API_KEY_ID"), "{err}");
}

#[test]
fn an_agent_run_has_one_run_id() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(stockdata(dir.path()).args([
        "--sandbox",
        "--now",
        NOW,
        "-vv",
        "--log-format",
        "json",
        "agent",
        "--watchlist",
        "AAPL,MSFT",
        "--format",
        "json",
    ]));
    assert_eq!(code, Some(0), "{err}");
    let mut ids = std::collections::BTreeSet::new();
    for line in err.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for span in v["spans"].as_array().into_iter().flatten() {
            if let Some(id) = span.get("run_id").and_then(|i| i.as_str()) {
                ids.insert(id.to_owned());
            }
        }
        if let Some(id) = v["fields"].get("run_id").and_then(|i| i.as_str()) {
            ids.insert(id.to_owned());
        }
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
}

#[test]
fn config_show_never_prints_a_password_in_a_base_url() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stockdata.toml"),
        "[providers.finnhub]\napi_key = \"k-secret-1\"\n\
         base_url = \"http://user:PASSWORD-9@127.0.0.1:1/x\"\n",
    )
    .unwrap();
    for format in ["table", "json"] {
        let (code, out, err) =
            run(stockdata(dir.path()).args(["config", "show", "--format", format]));
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("127.0.0.1:1"), "{out}");
        assert!(
            !out.contains("PASSWORD-9") && !out.contains("k-secret-1"),
            "{out}"
        );
    }
    std::fs::write(
        dir.path().join("stockdata.toml"),
        "[providers.finnhub]\nbase_url = \"ftp://user:PASSWORD-9@host\"\n",
    )
    .unwrap();
    let (code, _, err) = run(stockdata(dir.path()).args(["providers"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(!err.contains("PASSWORD-9"), "{err}");
}
