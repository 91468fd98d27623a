//! `stockdata doctor` and `stockdata config init`, through the real binary: against the
//! in-process sandbox and wiremock (loopback only), with the environment cleared.

use std::collections::HashMap;
use std::path::Path;

use assert_cmd::Command;
use stockdata_app::config::{Config, ConfigSources, load};
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cli::{sandbox, stderr, stdout, stockdata, workdir};

// ---------------------------------------------------------------------------------------------
// doctor

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn provider<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == id)
        .unwrap_or_else(|| panic!("{id} in {report:#}"))
}

/// The report with what changes from run to run (latencies, ports, paths, the pacer's
/// sub-minute windows) replaced, for a snapshot of its shape.
fn stable(mut report: serde_json::Value) -> serde_json::Value {
    report["store"]["path"] = "[store]".into();
    report["store"]["detail"] = "[detail]".into();
    for p in report["providers"].as_array_mut().unwrap() {
        if p["check"].is_object() {
            p["check"]["latency_ms"] = 0.into();
        }
        if p["next_request_in_ms"].is_u64() {
            p["next_request_in_ms"] = 0.into();
        }
        if let Some(url) = p["base_url"].as_str() {
            let tail = url.rsplit('/').next().unwrap_or_default().to_owned();
            p["base_url"] = format!("http://127.0.0.1:[port]/{tail}").into();
        }
        for w in p["quota"].as_array_mut().unwrap() {
            if w["seconds"].as_u64().unwrap() < 60 && w["left"].is_u64() {
                w["left"] = "[a second's window]".into();
            }
        }
    }
    report
}

#[test]
fn every_sandbox_provider_answers_one_request() {
    let started = std::time::Instant::now();
    let report = json(&stdout(&mut sandbox(&["doctor", "--format", "json"]), 0));
    let wall = started.elapsed();
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["problems"], serde_json::json!([]));
    for id in ["alpha_vantage", "finnhub", "alpaca", "serverless"] {
        let p = provider(&report, id);
        assert_eq!(p["configured"], true, "{p:#}");
        assert_eq!(p["check"]["status"], "ok", "{p:#}");
        assert_eq!(p["check"]["requests"], 1, "one request each: {p:#}");
    }
    // What this process spent, as its pacer counts it.
    let left = |id: &str, window: &str| {
        provider(&report, id)["quota"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["window"] == window)
            .unwrap()["left"]
            .clone()
    };
    assert_eq!(left("alpha_vantage", "25/day"), 24);
    assert_eq!(left("finnhub", "60/min"), 59);
    assert_eq!(left("alpaca", "200/min"), 199);
    assert_eq!(provider(&report, "alpha_vantage")["agent_run_budget"], 12);
    eprintln!("sandbox doctor, whole process: {wall:?}");
    insta::assert_json_snapshot!("sandbox_report", stable(report));
}

#[test]
fn the_table_says_every_provider_answered() {
    let table = stdout(&mut sandbox(&["doctor", "--format", "table"]), 0);
    for part in [
        "ok: AAPL quote in",
        "24 of 25/day",
        "59 of 60/min",
        "199 of 200/min",
        "all 4 configured providers answered",
    ] {
        assert!(table.contains(part), "{part}:\n{table}");
    }
    assert!(!table.contains("problems"), "{table}");
}

#[test]
fn provider_flag_checks_that_provider_alone() {
    let report = json(&stdout(
        &mut sandbox(&["doctor", "--provider", "finnhub", "--format", "json"]),
        0,
    ));
    let ids: Vec<&str> = report["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["finnhub"], "{report:#}");
    assert_eq!(report["warnings"], serde_json::json!([]), "{report:#}");
}

#[test]
fn no_keys_exit_2_naming_the_variables() {
    let out = stockdata().arg("doctor").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    for var in [
        "ALPHAVANTAGE_API_KEY",
        "FINNHUB_API_KEY",
        "APCA_API_KEY_ID",
        "APCA_API_SECRET_KEY",
        "providers.serverless.base_url",
        "--sandbox",
    ] {
        assert!(err.contains(var), "{var}: {err}");
    }
    let report = json(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(report["ok"], false);
    assert_eq!(report["exit_code"], 2);
    for p in report["providers"].as_array().unwrap() {
        assert_eq!(p["configured"], false, "{p:#}");
        assert!(p["check"].is_null(), "nothing is sent: {p:#}");
        assert!(p["reason"].as_str().unwrap().contains("set "), "{p:#}");
    }

    let table = stdout(stockdata().args(["doctor", "--format", "table"]), 2);
    for part in [
        "not configured: no API key: set FINNHUB_API_KEY",
        "APCA_API_KEY_ID and APCA_API_SECRET_KEY",
        "problems (exit 2):",
        "no provider is configured",
    ] {
        assert!(table.contains(part), "{part}:\n{table}");
    }
}

const AV_KEY: &str = "av-key-0c1d2e3f4a5b";
const FH_KEY: &str = "fh-key-9f8e7d6c5b4a";

async fn run(env: Vec<(&'static str, String)>, args: &'static [&'static str]) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let mut cmd: Command = stockdata();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        (
            out.status.code().unwrap(),
            format!("{stdout}\n--- stderr ---\n{stderr}"),
        )
    })
    .await
    .unwrap()
}

async fn alpha_vantage_answering(server: &MockServer, body: &str, times: u64) {
    let fixture = std::fs::read(format!(
        "{}/../adapters-http/tests/fixtures/{body}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    Mock::given(path("/query"))
        .and(query_param("function", "GLOBAL_QUOTE"))
        .and(query_param("symbol", "AAPL"))
        .and(query_param("apikey", AV_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture, "application/json"))
        .expect(times)
        .mount(server)
        .await;
}

fn keyed(server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("ALPHAVANTAGE_API_KEY", AV_KEY.to_owned()),
        ("FINNHUB_API_KEY", FH_KEY.to_owned()),
        (
            "STOCKDATA__PROVIDERS__ALPHA_VANTAGE__BASE_URL",
            server.uri(),
        ),
        ("STOCKDATA__PROVIDERS__FINNHUB__BASE_URL", server.uri()),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_key_exits_2_and_is_never_shown() {
    let server = MockServer::start().await;
    alpha_vantage_answering(&server, "alphavantage_global_quote.json", 2).await;
    // One request per run: a rejected key is not retried. The body echoes the key, as Alpha
    // Vantage's newer messages do.
    Mock::given(path("/api/v1/quote"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string(format!("{{\"error\":\"Invalid API key {FH_KEY}\"}}")),
        )
        .expect(2)
        .mount(&server)
        .await;

    let (code, out) = run(keyed(&server), &["doctor", "--format", "json"]).await;
    assert_eq!(code, 2, "{out}");
    for key in [AV_KEY, FH_KEY] {
        assert!(!out.contains(key), "the key leaked:\n{out}");
    }
    let (report, err) = out.split_once("\n--- stderr ---\n").unwrap();
    let report = json(report);
    let fh = &provider(&report, "finnhub")["check"];
    assert_eq!(fh["status"], "key_rejected", "{report:#}");
    assert_eq!(fh["error"], "unauthorized");
    assert_eq!(fh["hint"], "key rejected: check FINNHUB_API_KEY");
    assert_eq!(provider(&report, "alpha_vantage")["check"]["status"], "ok");
    assert!(
        err.contains("finnhub: key rejected: check FINNHUB_API_KEY"),
        "{err}"
    );

    let (code, out) = run(keyed(&server), &["doctor", "--format", "table"]).await;
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("key rejected: check FINNHUB_API_KEY"), "{out}");
    assert!(!out.contains(FH_KEY) && !out.contains(AV_KEY), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_rejected_in_the_body_names_where_it_was_set() {
    let server = MockServer::start().await;
    alpha_vantage_answering(&server, "alphavantage_error_invalid_apikey.json", 1).await;
    let env = vec![
        (
            "STOCKDATA__PROVIDERS__ALPHA_VANTAGE__API_KEY",
            AV_KEY.to_owned(),
        ),
        (
            "STOCKDATA__PROVIDERS__ALPHA_VANTAGE__BASE_URL",
            server.uri(),
        ),
    ];
    let (code, out) = run(env, &["doctor", "--format", "json"]).await;
    assert_eq!(code, 2, "{out}");
    assert!(!out.contains(AV_KEY), "the key leaked:\n{out}");
    let report = json(out.split_once("\n--- stderr ---\n").unwrap().0);
    let av = &provider(&report, "alpha_vantage")["check"];
    assert_eq!(av["status"], "key_rejected", "{report:#}");
    assert_eq!(
        av["hint"],
        "key rejected: check STOCKDATA__PROVIDERS__ALPHA_VANTAGE__API_KEY"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_that_does_not_answer_is_partial() {
    let server = MockServer::start().await;
    alpha_vantage_answering(&server, "alphavantage_global_quote.json", 1).await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut env = keyed(&server);
    env.retain(|(k, _)| *k != "STOCKDATA__PROVIDERS__FINNHUB__BASE_URL");
    env.push(("STOCKDATA__PROVIDERS__FINNHUB__BASE_URL", dead));
    let (code, out) = run(env, &["doctor", "--format", "json"]).await;
    assert_eq!(code, 3, "{out}");
    let report = json(out.split_once("\n--- stderr ---\n").unwrap().0);
    let fh = &provider(&report, "finnhub")["check"];
    assert_eq!(fh["status"], "failed", "{report:#}");
    assert_eq!(fh["error"], "transport");
    assert_eq!(report["problems"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn routing_a_provider_without_credentials_is_a_problem() {
    let server = MockServer::start().await;
    alpha_vantage_answering(&server, "alphavantage_global_quote.json", 1).await;
    let env = vec![
        ("ALPHAVANTAGE_API_KEY", AV_KEY.to_owned()),
        (
            "STOCKDATA__PROVIDERS__ALPHA_VANTAGE__BASE_URL",
            server.uri(),
        ),
        (
            "STOCKDATA__ROUTING__QUOTES",
            "alpaca, alpha_vantage".to_owned(),
        ),
    ];
    let (code, out) = run(env, &["doctor", "--format", "json"]).await;
    assert_eq!(code, 2, "{out}");
    let report = json(out.split_once("\n--- stderr ---\n").unwrap().0);
    let problems = report["problems"].to_string();
    for part in [
        "routing.quotes (from environment variable STOCKDATA__ROUTING__QUOTES) names alpaca",
        "APCA_API_KEY_ID",
    ] {
        assert!(problems.contains(part), "{part}: {problems}");
    }
    assert_eq!(provider(&report, "alpha_vantage")["check"]["status"], "ok");
}

#[test]
fn a_store_path_holding_something_else_is_a_problem_left_untouched() {
    let dir = workdir();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a database\n").unwrap();
    let out = stdout(
        sandbox(&["doctor", "--format", "json"]).env("STOCKDATA__STORE__PATH", &notes),
        2,
    );
    let report = json(&out);
    assert_eq!(report["store"]["status"], "problem", "{report:#}");
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("is not a stockdata store"),
        "{report:#}"
    );
    assert_eq!(std::fs::read(&notes).unwrap(), b"not a database\n");
}

// ---------------------------------------------------------------------------------------------
// config init

fn sources_for(dir: &Path, file: Option<&Path>) -> ConfigSources {
    ConfigSources {
        file: file.map(Path::to_path_buf),
        env: HashMap::new(),
        cwd: dir.to_path_buf(),
        not_unicode: Vec::new(),
    }
}

fn view(config: &Config) -> serde_json::Value {
    serde_json::to_value(config).unwrap()
}

/// Writes the template with `config init` in a fresh directory.
fn init() -> (tempfile::TempDir, String) {
    let dir = workdir();
    let err = stderr(
        stockdata().current_dir(dir.path()).args(["config", "init"]),
        0,
    );
    assert!(err.contains("stockdata.toml"), "{err}");
    assert!(err.contains("`stockdata doctor`"), "{err}");
    let text = std::fs::read_to_string(dir.path().join("stockdata.toml")).unwrap();
    (dir, text)
}

/// `section.key` of every value in a config view.
fn leaves(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &key, out);
            }
        }
        _ => out.push(prefix.to_owned()),
    }
}

/// A `# key = value` line: a setting shown at its default.
fn setting(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ")?;
    let (key, _) = rest.split_once(" = ")?;
    key.chars()
        .all(|c| c.is_ascii_lowercase() || c == '_')
        .then_some(rest)
}

#[test]
fn config_init_writes_a_file_the_loader_reads_as_the_defaults() {
    let (dir, _) = init();
    // Found where the binary would find it: ./stockdata.toml, no environment.
    let loaded = load(&sources_for(dir.path(), None)).unwrap();
    assert_eq!(view(&loaded), view(&Config::default()));
    let explicit = dir.path().join("stockdata.toml");
    let loaded = load(&sources_for(dir.path(), Some(&explicit))).unwrap();
    assert_eq!(view(&loaded), view(&Config::default()));
}

#[test]
fn uncommenting_every_default_gives_the_defaults_and_every_key() {
    let (dir, text) = init();
    let uncommented: String = text
        .lines()
        .map(|line| setting(line).unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    let file = dir.path().join("uncommented.toml");
    std::fs::write(&file, &uncommented).unwrap();
    let loaded = load(&sources_for(dir.path(), Some(&file))).unwrap();
    assert_eq!(view(&loaded), view(&Config::default()), "{uncommented}");

    // Every key the configuration has is in the file, set there once uncommented; secrets
    // only as the variable that carries them.
    let mut keys = Vec::new();
    leaves(&view(&Config::default()), "", &mut keys);
    keys.push("providers.serverless.base_url".to_owned()); // no default, still a key
    for key in keys {
        if key == "serve.tokens" {
            assert!(
                text.contains("# tokens: set STOCKDATA_SERVE_TOKEN"),
                "{text}"
            );
            continue;
        }
        assert!(
            loaded.origins.contains_key(&key),
            "{key} is not in the file:\n{text}"
        );
    }
    for var in [
        "ALPHAVANTAGE_API_KEY",
        "FINNHUB_API_KEY",
        "APCA_API_KEY_ID",
        "APCA_API_SECRET_KEY",
        "STOCKDATA_SERVERLESS_TOKEN",
        "STOCKDATA_SERVE_TOKEN",
    ] {
        assert!(
            text.contains(&format!("set {var} in the environment")),
            "{var}:\n{text}"
        );
    }
    assert!(!text.contains("api_key ="), "no key in the file:\n{text}");
}

#[test]
fn config_init_explains_every_section_and_key_in_one_line() {
    let (_dir, text) = init();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        assert!(line.len() <= 100, "line {}: too long: {line}", i + 1);
        let explained = || {
            i.checked_sub(1)
                .and_then(|j| lines.get(j))
                .is_some_and(|above| above.starts_with("# ") && setting(above).is_none())
        };
        if setting(line).is_some() || line.starts_with('[') {
            assert!(explained(), "line {}: no comment above {line}", i + 1);
        }
    }
    insta::assert_snapshot!("config_template", text);
}

#[test]
fn config_init_never_overwrites() {
    let (dir, first) = init();
    let file = dir.path().join("stockdata.toml");
    let err = stderr(
        stockdata().current_dir(dir.path()).args(["config", "init"]),
        2,
    );
    assert!(err.contains("already exists; nothing was written"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), first);

    // A file of the user's, named explicitly: byte-identical afterwards.
    let mine = dir.path().join("mine.toml");
    std::fs::write(&mine, b"[agent]\nconcurrency = 2\n").unwrap();
    let err = stderr(
        stockdata().args(["config", "init", mine.to_str().unwrap()]),
        2,
    );
    assert!(err.contains("mine.toml already exists"), "{err}");
    assert_eq!(std::fs::read(&mine).unwrap(), b"[agent]\nconcurrency = 2\n");
}

#[test]
fn config_init_into_a_missing_folder_exits_2() {
    let dir = workdir();
    let target = dir.path().join("no-such-folder").join("stockdata.toml");
    let err = stderr(
        stockdata().args(["config", "init", target.to_str().unwrap()]),
        2,
    );
    assert!(err.contains("no-such-folder does not exist"), "{err}");
    assert!(err.contains("mkdir -p"), "{err}");
    assert!(!target.parent().unwrap().exists());
}

#[test]
fn config_init_elsewhere_says_how_it_is_read() {
    let dir = workdir();
    let target = dir.path().join("conf.toml");
    let err = stderr(
        stockdata().args(["config", "init", target.to_str().unwrap()]),
        0,
    );
    assert!(err.contains("--config"), "{err}");
    assert!(err.contains("STOCKDATA_CONFIG="), "{err}");
    // The generated file then serves a doctor run as is.
    let report = json(&stdout(
        sandbox(&["doctor", "--format", "json"]).env("STOCKDATA_CONFIG", &target),
        0,
    ));
    assert_eq!(report["config_files"][0], target.to_str().unwrap());
}
