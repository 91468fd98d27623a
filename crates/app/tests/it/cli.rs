//! The real `stockdata` binary, end to end: against the in-process sandbox, a standalone
//! sandbox, and wiremock. The environment of every run is cleared: nothing leaks in.

use std::io::{BufRead, BufReader};
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const NOW: &str = "2024-03-08T21:30:00Z";

/// A working directory of its own, removed when dropped.
pub(crate) fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The working directory of the runs that write nothing: cargo's scratch dir for
/// integration tests, which holds no stockdata.toml (nothing is left behind in /tmp).
pub(crate) fn empty_dir() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// A store path no other run uses: every run starts from an empty store (the default one, in
/// the user's data directory, is never touched by tests).
pub(crate) fn fresh_store() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("stores")
        .join(format!("{}-{n}.sqlite", std::process::id()))
}

pub(crate) fn stockdata() -> Command {
    let mut cmd = Command::cargo_bin("stockdata").unwrap();
    cmd.env_clear()
        .env("PACT_DO_NOT_TRACK", "true")
        .env("STOCKDATA__STORE__PATH", fresh_store())
        .current_dir(empty_dir());
    cmd
}

pub(crate) fn sandbox(args: &[&str]) -> Command {
    let mut cmd = stockdata();
    cmd.args(["--sandbox", "--now", NOW]).args(args);
    cmd
}

pub(crate) fn stdout(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr:\n{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn stderr(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn quote_json() {
    insta::assert_snapshot!(stdout(
        &mut sandbox(&["quote", "AAPL", "BRK.B", "--format", "json"]),
        0
    ));
}

#[test]
fn quote_csv_and_table() {
    insta::assert_snapshot!(
        "quote_csv",
        stdout(
            &mut sandbox(&["quote", "AAPL", "MSFT", "--format", "csv"]),
            0
        )
    );
    insta::assert_snapshot!(
        "quote_table",
        stdout(
            &mut sandbox(&["quote", "AAPL", "MSFT", "--format", "table"]),
            0
        )
    );
}

#[test]
fn bars_csv_includes_the_to_day() {
    let csv = stdout(
        &mut sandbox(&[
            "bars",
            "AAPL",
            "--from",
            "2024-03-04",
            "--to",
            "2024-03-08",
            "--format",
            "csv",
        ]),
        0,
    );
    assert!(
        csv.lines()
            .last()
            .unwrap()
            .starts_with("AAPL,1d,2024-03-08T05:00:00Z,"),
        "{csv}"
    );
    insta::assert_snapshot!(csv);
}

#[test]
fn bars_ndjson_intraday() {
    let out = stdout(
        &mut sandbox(&[
            "bars",
            "MSFT",
            "--interval",
            "1h",
            "--from",
            "2024-03-08",
            "--to",
            "2024-03-08",
            "--format",
            "ndjson",
        ]),
        0,
    );
    // 09:30 to 16:00 EST in hourly bars.
    assert_eq!(out.lines().count(), 7, "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn news_json() {
    insta::assert_snapshot!(stdout(
        &mut sandbox(&[
            "news",
            "NVDA",
            "--from",
            "2024-03-07",
            "--to",
            "2024-03-08",
            "--limit",
            "3",
            "--format",
            "json"
        ]),
        0
    ));
}

#[test]
fn agent_json_has_one_entry_per_symbol_and_stats() {
    let out = stdout(
        &mut sandbox(&["agent", "--watchlist", "AAPL,MSFT,NVDA", "--format", "json"]),
        0,
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let symbols = doc["symbols"].as_array().unwrap();
    assert_eq!(symbols.len(), 3);
    for (s, name) in symbols.iter().zip(["AAPL", "MSFT", "NVDA"]) {
        assert_eq!(s["symbol"], name);
        assert_eq!(s["quote"]["synthetic"], true);
        assert!(
            s["bars"].as_array().unwrap().len() >= 20,
            "a month of daily bars"
        );
        assert!(!s["news"].as_array().unwrap().is_empty());
        assert!(s["errors"].as_array().unwrap().is_empty());
        assert!(!s["attempts"].as_array().unwrap().is_empty());
    }
    assert_eq!(doc["stats"]["complete"], 3);
    assert!(
        doc["stats"]["providers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["requests"].as_u64() > Some(0))
    );
}

#[test]
fn agent_reads_a_watchlist_file() {
    let dir = workdir();
    let file = dir.path().join("watchlist.txt");
    std::fs::write(&file, "# tech\nAAPL\nmsft  # lower case is fine\n\nZZZZ\n").unwrap();
    let out = stdout(
        &mut sandbox(&[
            "agent",
            "--watchlist",
            file.to_str().unwrap(),
            "--format",
            "csv",
        ]),
        3,
    );
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 4, "header and one row per symbol:\n{out}");
    assert!(rows[3].starts_with("ZZZZ,"), "{out}");
}

#[test]
fn partial_failure_exits_3_and_lists_each_failure() {
    let mut cmd = sandbox(&["quote", "AAPL", "ZZZZ", "--format", "json"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("stockdata: ZZZZ: unknown_symbol"),
        "{stderr}"
    );
    assert!(
        stderr.contains("SANDBOX MODE"),
        "the banner says the data is synthetic"
    );
    let records: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2, "the quote, then the failure: {records:?}");
    assert_eq!(records[0]["symbol"], "AAPL");
    assert_eq!(records[1]["symbol"], "ZZZZ");
    assert_eq!(records[1]["error"]["kind"], "unknown_symbol");
    assert!(
        !records[1]["error"]["attempts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// Scripts see every symbol they asked for in stdout, whatever the machine format: failures
/// are records too (docs/output.md), not only lines on stderr.
#[test]
fn machine_formats_carry_the_failed_symbols() {
    let ndjson = stdout(
        &mut sandbox(&[
            "bars",
            "AAPL",
            "ZZZZ",
            "--format",
            "ndjson",
            "--from",
            "2024-03-07",
        ]),
        3,
    );
    let last: serde_json::Value = serde_json::from_str(ndjson.lines().last().unwrap()).unwrap();
    assert_eq!(last["symbol"], "ZZZZ", "{ndjson}");
    assert_eq!(last["error"]["kind"], "unknown_symbol");
    let csv = stdout(
        &mut sandbox(&["quote", "ZZZZ", "AAPL", "--format", "csv"]),
        3,
    );
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.iter().next_back(), Some("error"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let failed = rows.iter().find(|r| r.get(0) == Some("ZZZZ")).unwrap();
    assert_eq!(failed.get(header.len() - 1), Some("unknown_symbol"));
    assert_eq!(failed.get(1), Some(""), "no price for a failed symbol");
    let news = stdout(&mut sandbox(&["news", "AAPL", "--format", "json"]), 0);
    let news: serde_json::Value = serde_json::from_str(&news).unwrap();
    assert!(
        news.as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("error").is_none())
    );
}

#[test]
fn nothing_fetched_exits_4() {
    stderr(&mut sandbox(&["quote", "ZZZZ", "ZZZY"]), 4);
}

#[test]
fn a_missing_key_says_what_to_set_and_exits_2() {
    let err = stderr(stockdata().args(["quote", "AAPL"]), 2);
    assert!(
        err.contains("ALPHAVANTAGE_API_KEY") && err.contains("--sandbox"),
        "{err}"
    );
}

#[test]
fn a_bad_symbol_exits_2() {
    let err = stderr(stockdata().args(["quote", "AAPL MSFT"]), 2);
    assert!(err.contains("pass each ticker separately"), "{err}");
}

#[test]
fn from_after_to_exits_2() {
    let err = stderr(
        &mut sandbox(&["bars", "AAPL", "--from", "2024-03-12", "--to", "2024-03-11"]),
        2,
    );
    assert!(
        err.contains("--from 2024-03-12 is after --to 2024-03-11"),
        "{err}"
    );
}

#[test]
fn a_config_error_names_key_and_origin_and_exits_2() {
    let mut cmd = stockdata();
    cmd.env("STOCKDATA__AGENT__CONCURRENCY", "0")
        .args(["quote", "AAPL"]);
    let err = stderr(&mut cmd, 2);
    assert!(
        err.contains("agent.concurrency (from environment variable STOCKDATA__AGENT__CONCURRENCY)"),
        "{err}"
    );
}

#[test]
fn providers_show_credentials_never_their_value() {
    let mut cmd = stockdata();
    cmd.env("FINNHUB_API_KEY", "fh-secret-value-123")
        .args(["providers", "--format", "table"]);
    let out = stdout(&mut cmd, 0);
    assert!(!out.contains("fh-secret-value-123"));
    insta::assert_snapshot!(out);
    // Not on a terminal and no --format: JSON, as everywhere else.
    let mut cmd = stockdata();
    cmd.env("FINNHUB_API_KEY", "fh-secret-value-123")
        .arg("providers");
    let out = stdout(&mut cmd, 0);
    assert!(!out.contains("fh-secret-value-123"));
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let finnhub = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["provider"] == "finnhub")
        .unwrap();
    assert_eq!(finnhub["configured"], true);
    assert_eq!(finnhub["credentials"], true);
    assert_eq!(finnhub["limits"][0], "60/min");
    let ndjson = stdout(stockdata().args(["providers", "--format", "ndjson"]), 0);
    assert_eq!(ndjson.lines().count(), 4, "{ndjson}");
}

#[test]
fn config_show_redacts_secrets() {
    let mut cmd = stockdata();
    cmd.env("APCA_API_KEY_ID", "id-value-77")
        .env("APCA_API_SECRET_KEY", "secret-value-88")
        .env("STOCKDATA__STORE__PATH", "/srv/stockdata/store.sqlite")
        .args(["config", "show"]);
    let out = stdout(&mut cmd, 0);
    assert!(
        !out.contains("id-value-77") && !out.contains("secret-value-88"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn completions_and_help() {
    let out = stdout(stockdata().args(["completions", "bash"]), 0);
    assert!(out.contains("_stockdata"), "bash completion function");
    // Completions offer what help shows: no hidden flag, every command.
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(stockdata().args(["completions", shell]), 0);
        for hidden in ["--now", "--stats", "-l now", "-l stats"] {
            assert!(!script.contains(hidden), "{shell} offers {hidden}");
        }
        for visible in ["tz", "output", "doctor", "watch", "chart", "days"] {
            assert!(script.contains(visible), "{shell} lacks {visible}");
        }
    }
    for sub in [
        "quote",
        "bars",
        "news",
        "agent",
        "providers",
        "config",
        "sandbox",
        "sync",
        "store",
    ] {
        let help = stdout(stockdata().args([sub, "--help"]), 0);
        assert!(help.contains("Usage: stockdata"), "{sub}: {help}");
        assert!(help.contains("Global options:"), "{sub}: {help}");
    }
    // Help for people: what it is, examples, the environment and the exit codes.
    let top = stdout(stockdata().arg("--help"), 0);
    assert!(top.starts_with("Market data"), "{top}");
    assert!(!top.contains("Composition root"), "{top}");
    for part in [
        "Examples:",
        "Environment:",
        "FINNHUB_API_KEY",
        "NO_COLOR",
        "Exit codes:",
    ] {
        assert!(top.contains(part), "{part}: {top}");
    }
    for sub in ["quote", "bars", "news", "agent", "sync"] {
        let help = stdout(stockdata().args([sub, "--help"]), 0);
        assert!(help.contains("Examples:\n  stockdata "), "{sub}: {help}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn against_wiremock_with_a_config_file() {
    let server = MockServer::start().await;
    let fixture = std::fs::read(format!(
        "{}/../adapters-http/tests/fixtures/alphavantage_global_quote.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    Mock::given(path("/query"))
        .and(query_param("function", "GLOBAL_QUOTE"))
        .and(query_param("apikey", "wm-key"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let dir = workdir();
    std::fs::write(
        dir.path().join("stockdata.toml"),
        format!(
            "[providers.alpha_vantage]\nbase_url = \"{}\"\n",
            server.uri()
        ),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::cargo_bin("stockdata").unwrap();
        cmd.env_clear()
            .env("STOCKDATA__STORE__PATH", fresh_store())
            .env("ALPHAVANTAGE_API_KEY", "wm-key")
            .current_dir(dir.path())
            .args(["quote", "MSFT", "--format", "json"]);
        cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(records[0]["price"].to_string(), "112.13", "exact digits");
    assert_eq!(records[0]["change_percent"].to_string(), "-0.5852");
    assert_eq!(records[0]["provider"], "alpha_vantage");
    assert_eq!(records[0]["synthetic"], false);
}

#[test]
fn ctrl_c_during_an_agent_run_reports_what_finished() {
    // A standalone sandbox that answers slowly.
    let bin = assert_cmd::cargo::cargo_bin("stockdata");
    let mut server = StdCommand::new(&bin)
        .env_clear()
        .args([
            "sandbox",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--no-quotas",
            "--latency-ms",
            "1500",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.split("on http://").nth(1).map(str::to_owned))
        .expect("the sandbox says where it listens");
    let dir = workdir();
    let config = format!(
        "[providers.alpaca]\nkey_id = \"k\"\nsecret_key = \"s\"\n\
         base_url = \"http://{addr}/alpaca\"\n\n\
         [routing]\nquotes = [\"alpaca\"]\nbars = [\"alpaca\"]\nnews = [\"alpaca\"]\n"
    );
    std::fs::write(dir.path().join("stockdata.toml"), config).unwrap();
    let mut agent = StdCommand::new(&bin)
        .env_clear()
        .env("STOCKDATA__STORE__PATH", fresh_store())
        .current_dir(dir.path())
        .args([
            "-v",
            "agent",
            "--watchlist",
            "AAPL,MSFT",
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the agent says it has started (its interrupt handler is in place), then
    // interrupt it: no head start guessed in milliseconds.
    let mut agent_err = BufReader::new(agent.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("agent started") {
        let mut line = String::new();
        assert!(
            agent_err.read_line(&mut line).unwrap() > 0,
            "the agent ended before starting: {seen}"
        );
        seen.push_str(&line);
    }
    StdCommand::new("kill")
        .args(["-INT", &agent.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut agent_err, &mut rest).unwrap();
    let out = agent.wait_with_output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stderr = seen + &rest;
    assert_eq!(
        out.status.code(),
        Some(4),
        "nothing finished before the interrupt: {stderr}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let symbols = doc["symbols"].as_array().unwrap();
    assert_eq!(symbols.len(), 2, "every symbol is reported");
    for s in symbols {
        let kinds: Vec<&str> = s["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["cancelled", "cancelled", "cancelled"], "{s}");
    }
}

#[test]
fn agent_plan_sends_nothing_and_names_the_requests() {
    let out = stdout(
        &mut sandbox(&[
            "--stats",
            "agent",
            "--watchlist",
            "AAPL,MSFT,NVDA",
            "--plan",
            "--format",
            "json",
        ]),
        0,
    );
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["symbols"], 3);
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{plan}");
    assert!(
        steps
            .iter()
            .all(|s| s["provider"] == "serverless" && s["requests"] == 1)
    );
    assert_eq!(plan["expected_s"], 0.0);
    let err = stderr(
        &mut sandbox(&["--stats", "agent", "--watchlist", "AAPL", "--plan"]),
        0,
    );
    let stats = err.lines().find(|l| l.contains("stockdata_stats")).unwrap();
    let stats: serde_json::Value = serde_json::from_str(stats).unwrap();
    for (provider, s) in stats["stockdata_stats"]["http"].as_object().unwrap() {
        assert_eq!(s["requests"], 0, "{provider} got a request from --plan");
    }
}

#[test]
fn a_watchlist_path_that_is_not_a_file_is_an_error_never_a_ticker() {
    for arg in ["./missing.txt", "watchlist.txt", "lists/"] {
        let err = stderr(sandbox(&["agent", "--watchlist", arg]).arg("--no-store"), 2);
        assert!(
            err.contains(arg) && err.contains("- for stdin"),
            "{arg}: {err}"
        );
    }
    // `quote -` and `--watchlist -` read stdin.
    let out = stdout(
        sandbox(&["quote", "-", "--format", "csv"]).write_stdin("AAPL\n# note\nMSFT\n"),
        0,
    );
    assert_eq!(out.lines().count(), 3, "{out}");
    let out = stdout(
        sandbox(&["agent", "--watchlist", "-", "--format", "ndjson"]).write_stdin("NVDA\n"),
        0,
    );
    assert!(out.contains("\"symbol\":\"NVDA\""), "{out}");
}

#[test]
fn mistakes_get_messages_a_person_can_act_on() {
    // No provider at all: a configuration error said once, not a failed run.
    let err = stderr(
        stockdata().args(["--no-store", "agent", "--watchlist", "AAPL"]),
        2,
    );
    assert_eq!(err.matches("no provider is configured").count(), 1, "{err}");
    assert!(err.contains("FINNHUB_API_KEY"), "{err}");
    // A date in another shape names the shape to use.
    let err = stderr(&mut sandbox(&["bars", "AAPL", "--from", "2024/03/01"]), 2);
    assert!(err.contains("use YYYY-MM-DD"), "{err}");
    assert!(!err.contains("two digit integer"), "{err}");
    // A quoted number in the config says what is expected in TOML's words.
    let dir = workdir();
    std::fs::write(
        dir.path().join("stockdata.toml"),
        "[agent]\nconcurrency = \"eight\"\n",
    )
    .unwrap();
    let err = stderr(
        stockdata()
            .current_dir(dir.path())
            .args(["--sandbox", "quote", "AAPL"]),
        2,
    );
    assert!(err.contains("expected a whole number"), "{err}");
    assert!(!err.contains("i64"), "{err}");
}

#[test]
fn the_agent_summary_shows_the_close_before_the_quotes_session() {
    let out = stdout(
        &mut sandbox(&["agent", "--watchlist", "AAPL,MSFT", "--format", "csv"]),
        0,
    );
    let bars = stdout(
        &mut sandbox(&[
            "bars",
            "AAPL",
            "--from",
            "2024-03-07",
            "--to",
            "2024-03-08",
            "--format",
            "csv",
        ]),
        0,
    );
    // Thursday's close: the session before Friday's, whose close is the quote's price.
    let thursday = bars
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(6)
        .unwrap()
        .to_owned();
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("AAPL,"))
        .unwrap()
        .split(',')
        .collect();
    let (price, last_close) = (row[1], row[3]);
    assert_eq!(last_close, thursday, "{out}");
    assert_ne!(last_close, price, "{out}");
}

/// `--adjustment all --provider finnhub` is never answered with split-adjusted bars: Finnhub
/// serves daily bars split-adjusted only, so the request fails (exit 2, saying what each
/// provider serves); what it does serve comes back labelled, in CSV too.
#[test]
fn a_named_adjustment_is_honoured_or_refused() {
    let bars = |adjustment: &str| {
        let mut cmd = sandbox(&[
            "--provider",
            "finnhub",
            "bars",
            "AAPL",
            "--from",
            "2024-03-07",
            "--format",
            "csv",
            "--adjustment",
            adjustment,
        ]);
        cmd.output().unwrap()
    };
    let out = bars("all");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("finnhub serves split"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("AAPL,,"));
    let out = bars("split");
    assert_eq!(out.status.code(), Some(0));
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header = rows.headers().unwrap().clone();
    let column = header.iter().position(|h| h == "adjustment").unwrap();
    for row in rows.records() {
        assert_eq!(row.unwrap().get(column), Some("split"), "{csv}");
    }
    // Every provider (Alpaca first by default) serves it: no failure.
    stdout(
        &mut sandbox(&[
            "bars",
            "AAPL",
            "--from",
            "2024-03-07",
            "--adjustment",
            "all",
        ]),
        0,
    );
}

/// Relative ranges: `--days N` and `--from Nd` are the last N NYSE sessions up to `--to`
/// (holidays and weekends skipped), `--from 2w`/`1mo` calendar distances back from `--to`.
#[test]
fn relative_ranges_count_trading_sessions() {
    let starts = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["bars", "AAPL", "--format", "csv", "--to", "2024-02-21"];
        all.extend_from_slice(args);
        let csv = stdout(&mut sandbox(&all), 0);
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').nth(2).unwrap()[..10].to_owned())
            .collect()
    };
    // 19 February 2024 (Presidents' Day) is a holiday; 17 and 18 a weekend.
    let five = starts(&["--days", "5"]);
    assert_eq!(
        five,
        [
            "2024-02-14",
            "2024-02-15",
            "2024-02-16",
            "2024-02-20",
            "2024-02-21"
        ]
    );
    assert_eq!(starts(&["--from", "5d"]), five);
    assert_eq!(starts(&["--from", "1w"]).first().unwrap(), "2024-02-14");
    let err = stderr(&mut sandbox(&["bars", "AAPL", "--from", "5x"]), 2);
    assert!(
        err.contains("30d (trading sessions), 4w, 6mo or 2y"),
        "{err}"
    );
    let err = stderr(
        &mut sandbox(&["bars", "AAPL", "--from", "5d", "--days", "5"]),
        2,
    );
    assert!(err.contains("cannot be used with"), "{err}");
}

/// `--output FILE`: the records go to FILE in the format its extension names, all at once
/// (no temporary file is left beside it); a run that fetched nothing leaves FILE as it was.
#[test]
fn output_files_are_written_whole_or_not_at_all() {
    let dir = workdir();
    let file = dir.path().join("aapl.csv");
    let out = sandbox(&["bars", "AAPL", "--from", "2024-03-07", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let csv = std::fs::read_to_string(&file).unwrap();
    assert!(csv.starts_with("symbol,interval,start,"), "{csv}");
    assert_eq!(csv.lines().count(), 3);

    let out = sandbox(&["quote", "ZZZZ", "--output"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("left unchanged"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), csv, "untouched");

    let json = dir.path().join("q.json");
    stdout(
        sandbox(&["quote", "AAPL", "ZZZZ", "--output"]).arg(&json),
        3,
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        doc.as_array().unwrap().len(),
        2,
        "partial: the quote and the failure"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");

    let err = stderr(
        sandbox(&["quote", "AAPL", "-o"]).arg(dir.path().join("missing/q.json")),
        2,
    );
    assert!(err.contains("cannot write in"), "{err}");
    let err = stderr(sandbox(&["providers", "-o"]).arg(&json), 2);
    assert!(err.contains("--output is for"), "{err}");
}

/// The quote table's trend column is drawn from the daily closes the store already holds
/// (nothing is fetched for it); without them there is no such column.
#[test]
fn the_quote_table_trend_comes_from_the_store() {
    let dir = workdir();
    let store = dir.path().join("s.sqlite");
    let with_store = |args: &[&str]| {
        let mut cmd = sandbox(args);
        cmd.env("STOCKDATA__STORE__PATH", &store);
        cmd
    };
    let table = stdout(&mut with_store(&["quote", "AAPL", "--format", "table"]), 0);
    assert!(!table.contains("trend"), "nothing stored yet:\n{table}");
    stdout(&mut with_store(&["sync", "AAPL", "--days", "30"]), 0);
    let table = stdout(&mut with_store(&["quote", "AAPL", "--format", "table"]), 0);
    let header = table.lines().next().unwrap();
    assert!(header.contains("trend"), "{table}");
    let row = table.lines().nth(1).unwrap();
    let spark = row
        .chars()
        .filter(|c| ('\u{2581}'..='\u{2588}').contains(c))
        .count();
    assert_eq!(spark, 20, "19 stored sessions and the quote:\n{table}");
    let json = stdout(&mut with_store(&["quote", "AAPL", "--format", "json"]), 0);
    assert!(!json.contains("trend"), "tables only");
}

/// The serverless API answers at most `max_range_days` (3660) per request
/// (docs/serverless-api.md): twenty years go in pieces, merged into one series.
#[test]
fn twenty_years_from_the_serverless_fetcher_come_in_pieces() {
    let csv = stdout(
        &mut sandbox(&[
            "--provider",
            "serverless",
            "bars",
            "AAPL",
            "--from",
            "2004-01-02",
            "--to",
            "2024-03-08",
            "--format",
            "csv",
        ]),
        0,
    );
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(rows.len() > 5_000, "{} rows", rows.len());
    assert!(
        rows.first().unwrap().starts_with("AAPL,1d,2004-01-02"),
        "{}",
        rows[0]
    );
    assert!(rows.last().unwrap().starts_with("AAPL,1d,2024-03-08"));
    let mut starts: Vec<&str> = rows.iter().map(|r| r.split(',').nth(2).unwrap()).collect();
    let n = starts.len();
    starts.dedup();
    assert_eq!(starts.len(), n, "no bar twice where the pieces meet");
}
