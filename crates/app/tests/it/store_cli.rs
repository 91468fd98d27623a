//! The local store (issue #15) through the real `stockdata` binary: a rerun answered from the
//! store, a sync killed with SIGKILL, two syncs writing one store, paths that hold something
//! else, offline answers, market and sandbox data kept apart, and `--no-store`.
//!
//! Every run has a cleared environment, runs in a temporary directory and names its store
//! with `--store` (the fallback `STOCKDATA__STORE__PATH` is a scratch path of its own).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The fixed clock of every run (and of the standalone simulator): after Friday's close.
const NOW: &str = "2024-03-08T21:30:00Z";

/// The syncs against the standalone simulator end on NOW's day; the killed one starts five
/// years before, the concurrent ones two.
const TO: &str = "2024-03-08";
const FIVE_YEARS: &str = "2019-01-01";
const TWO_YEARS: &str = "2022-01-01";

/// Thirty symbols: four of `sync`'s chunks (two per unit of the default concurrency, 4).
const SYMBOLS: [&str; 30] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B", "JPM", "V", "JNJ", "WMT",
    "PG", "MA", "HD", "XOM", "CVX", "KO", "PEP", "ABBV", "MRK", "COST", "AVGO", "ADBE", "CRM",
    "NFLX", "INTC", "AMD", "ORCL", "CSCO",
];

/// What one finished run said.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from_output(out: std::process::Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the exit code (printing both streams when it differs) and that nothing
    /// panicked.
    #[track_caller]
    fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: not JSON:\n{}", self.stdout))
    }

    /// HTTP requests sent to every provider together, from the `--stats` line.
    #[track_caller]
    fn http_requests(&self) -> u64 {
        let line = self
            .stderr
            .lines()
            .find(|l| l.contains("stockdata_stats"))
            .unwrap_or_else(|| panic!("no --stats line:\n{}", self.stderr));
        let stats: Value = serde_json::from_str(line).unwrap();
        // Empty when no provider was even built (`--offline` starts no simulator).
        let http = stats["stockdata_stats"]["http"].as_object().unwrap();
        http.values().map(|p| p["requests"].as_u64().unwrap()).sum()
    }
}

/// The binary with a cleared environment and the fixed clock, run in `dir` (which may hold a
/// stockdata.toml).
pub(crate) fn stockdata(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("stockdata"));
    cmd.env_clear()
        .env("PACT_DO_NOT_TRACK", "true")
        .env("STOCKDATA__STORE__PATH", crate::cli::fresh_store())
        .current_dir(dir)
        .args(["--now", NOW])
        .stdin(Stdio::null());
    cmd
}

/// Runs `stockdata <args>` in `dir` to the end.
fn run(dir: &Path, args: &[&str]) -> Run {
    Run::from_output(stockdata(dir).args(args).output().unwrap())
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `store stats --format json` of the store at `store`.
fn stats(dir: &Path, store: &Path) -> Value {
    run(
        dir,
        &["--store", text(store), "store", "stats", "--format", "json"],
    )
    .expect(0)
    .json()
}

/// Bars per symbol held by the store at `store`, from `store stats`.
fn stored_bars(dir: &Path, store: &Path) -> BTreeMap<String, u64> {
    stats(dir, store)["per_series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["symbol"].as_str().unwrap().to_owned(),
                s["bars"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `store export --format csv` of the store at `store` (market data).
fn export(dir: &Path, store: &Path) -> String {
    run(
        dir,
        &["--store", text(store), "store", "export", "--format", "csv"],
    )
    .expect(0)
    .stdout
}

/// `sync` of `symbols` over `from`..TO into `store`, `--format json`.
fn sync_args<'a>(store: &'a Path, from: &'a str, symbols: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--store", text(store), "sync", "--from", from, "--to", TO];
    args.extend(["--format", "json"]);
    args.extend_from_slice(symbols);
    args
}

/// A sync's summary, per symbol.
fn summary(run: &Run) -> BTreeMap<String, Value> {
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["symbol"].as_str().unwrap().to_owned(), s.clone()))
        .collect()
}

/// The files in `dir`, by name.
fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// A standalone `stockdata sandbox serve` on a free loopback port, killed when dropped.
struct Simulator {
    child: Child,
    addr: String,
}

impl Simulator {
    fn start(latency_ms: u64) -> Self {
        let latency = latency_ms.to_string();
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("stockdata"))
            .env_clear()
            .args(["--now", NOW, "sandbox", "serve", "--bind", "127.0.0.1:0"])
            .args(["--no-quotas", "--latency-ms", &latency])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| l.split("on http://").nth(1).map(str::to_owned))
            .expect("the sandbox says where it listens");
        // Keep reading, so the simulator never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, addr }
    }

    /// A stockdata.toml in `dir` that routes every kind of data to Alpaca on this simulator
    /// (market data, as far as the client knows).
    fn configure(&self, dir: &Path) {
        let addr = &self.addr;
        let config = format!(
            "[providers.alpaca]\nkey_id = \"k\"\nsecret_key = \"s\"\n\
             base_url = \"http://{addr}/alpaca\"\n\n\
             [routing]\nquotes = [\"alpaca\"]\nbars = [\"alpaca\"]\nnews = [\"alpaca\"]\n"
        );
        std::fs::write(dir.join("stockdata.toml"), config).unwrap();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_rerun_is_answered_from_the_store_and_offline_bars_match_online_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.sqlite");
    let symbols = ["AAPL", "MSFT", "NVDA"];
    let range = ["--from", "2023-01-03", "--to", "2024-03-08"];
    let sync = || {
        let mut args = vec!["--sandbox", "--stats", "--store", text(&store), "sync"];
        args.extend(range);
        args.extend(["--format", "json"]);
        args.extend(symbols);
        run(dir.path(), &args).expect(0)
    };

    let first = sync();
    assert!(first.http_requests() > 0, "{}", first.stderr);
    let fetched = summary(&first);
    assert!(
        fetched.values().all(|s| s["from_store"] == false),
        "{}",
        first.stdout
    );

    let again = sync();
    assert_eq!(
        again.http_requests(),
        0,
        "the rerun went to a provider: {}",
        again.stderr
    );
    let rerun = summary(&again);
    assert_eq!(rerun.len(), symbols.len(), "{}", again.stdout);
    for (symbol, s) in &rerun {
        assert_eq!(s["outcome"], "ok", "{s}");
        assert_eq!(s["from_store"], true, "{s}");
        assert_eq!(s["providers"], serde_json::json!(["store"]), "{s}");
        assert_eq!(s["bars"], fetched[symbol]["bars"], "{s}");
    }

    let bars = |flags: &[&str]| {
        let mut args = vec!["--sandbox", "--stats"];
        args.extend_from_slice(flags);
        args.push("bars");
        args.extend(symbols);
        args.extend(range);
        args.extend(["--format", "csv"]);
        run(dir.path(), &args).expect(0)
    };
    let offline = bars(&["--offline", "--store", text(&store)]);
    assert_eq!(offline.http_requests(), 0, "{}", offline.stderr);
    let online = bars(&["--no-store"]);
    assert!(online.http_requests() > 0, "{}", online.stderr);
    let rows: u64 = fetched.values().map(|s| s["bars"].as_u64().unwrap()).sum();
    assert_eq!(
        online.stdout.lines().count(),
        usize::try_from(rows).unwrap() + 1,
        "a header and every synced bar"
    );
    assert!(
        offline.stdout == online.stdout,
        "the store answers other bytes than the provider:\n{}",
        first_difference(&offline.stdout, &online.stdout)
    );
}

/// The first line where `a` and `b` differ, for a readable failure.
fn first_difference(a: &str, b: &str) -> String {
    let (mut left, mut right) = (a.lines(), b.lines());
    for n in 1.. {
        match (left.next(), right.next()) {
            (None, None) => return "no line differs (line endings do)".to_owned(),
            (l, r) if l != r => return format!("line {n}:\n  {l:?}\n  {r:?}"),
            _ => {}
        }
    }
    unreachable!()
}

#[test]
fn a_sync_killed_with_sigkill_leaves_a_sound_store_that_a_rerun_completes() {
    let sim = Simulator::start(150);
    let dir = tempfile::tempdir().unwrap();
    sim.configure(dir.path());
    let store = dir.path().join("killed.sqlite");

    let mut sync = stockdata(dir.path())
        .args(sync_args(&store, FIVE_YEARS, &SYMBOLS))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Poll the store (each look is a process of its own) until some symbols are committed
    // and others are not, then SIGKILL the sync: likely while it writes the rest of a chunk.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = sync.try_wait().unwrap() {
            panic!("the sync ended ({status}) before it could be killed");
        }
        assert!(
            Instant::now() < deadline,
            "no symbol was committed in 120 s"
        );
        if store.exists() {
            let series = stats(dir.path(), &store)["series"].as_u64().unwrap();
            assert!(series < 30, "every symbol was committed before the kill");
            if series > 0 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    sync.kill().unwrap();
    let status = sync.wait().unwrap();
    assert_eq!(
        status.code(),
        None,
        "killed by a signal, not ended: {status}"
    );

    let committed = stored_bars(dir.path(), &store);
    assert!(
        !committed.is_empty() && committed.len() < SYMBOLS.len(),
        "some, not all, symbols before the kill: {committed:?}"
    );
    let vacuum = run(dir.path(), &["--store", text(&store), "store", "vacuum"]).expect(0);
    assert!(
        vacuum.stderr.contains("checked and compacted"),
        "{}",
        vacuum.stderr
    );

    let rerun = run(dir.path(), &sync_args(&store, FIVE_YEARS, &SYMBOLS)).expect(0);
    let resumed = summary(&rerun);
    assert_eq!(resumed.len(), SYMBOLS.len(), "{}", rerun.stdout);
    for (symbol, s) in &resumed {
        assert_eq!(s["outcome"], "ok", "{s}");
        let before = committed.contains_key(symbol);
        assert_eq!(
            s["from_store"], before,
            "committed before the kill: {before}: {s}"
        );
        let source = if before { "store" } else { "alpaca" };
        assert_eq!(s["providers"], serde_json::json!([source]), "{s}");
    }

    // A clean sync of the same symbols, into a store of its own.
    let clean = dir.path().join("clean.sqlite");
    let reference = summary(&run(dir.path(), &sync_args(&clean, FIVE_YEARS, &SYMBOLS)).expect(0));
    for (symbol, bars) in &committed {
        assert_eq!(
            Some(bars),
            reference[symbol]["bars"].as_u64().as_ref(),
            "{symbol} was committed whole or not at all"
        );
    }
    assert_eq!(
        stats(dir.path(), &store)["bars"],
        stats(dir.path(), &clean)["bars"]
    );
    assert!(
        export(dir.path(), &store) == export(dir.path(), &clean),
        "the resumed store holds other bars than a clean sync"
    );
}

#[test]
fn two_syncs_on_one_store_wait_for_each_other_and_keep_each_bar_once() {
    let sim = Simulator::start(50);
    let dir = tempfile::tempdir().unwrap();
    sim.configure(dir.path());
    let store = dir.path().join("shared.sqlite");
    // Ten symbols in common; both start on a fresh path (both create the schema).
    let (a, b) = (&SYMBOLS[..20], &SYMBOLS[10..]);
    let spawn = |symbols: &[&str]| {
        stockdata(dir.path())
            .args(sync_args(&store, TWO_YEARS, symbols))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(a), spawn(b));
    let runs = [first, second].map(|c| Run::from_output(c.wait_with_output().unwrap()));
    for (run, symbols) in runs.into_iter().zip([a, b]) {
        let run = run.expect(0);
        for word in ["busy", "locked", "store", "database"] {
            assert!(!run.stderr.contains(word), "{word}:\n{}", run.stderr);
        }
        let synced = summary(&run);
        assert_eq!(synced.len(), symbols.len(), "{}", run.stdout);
        assert!(
            synced.values().all(|s| s["outcome"] == "ok"),
            "{}",
            run.stdout
        );
    }

    let clean = dir.path().join("clean.sqlite");
    run(dir.path(), &sync_args(&clean, TWO_YEARS, &SYMBOLS)).expect(0);
    let (shared, single) = (stats(dir.path(), &store), stats(dir.path(), &clean));
    assert_eq!(shared["series"], 30, "{shared}");
    assert_eq!(shared["bars"], single["bars"], "no bar twice, none missing");
    assert_eq!(
        stored_bars(dir.path(), &store),
        stored_bars(dir.path(), &clean)
    );
    assert!(
        export(dir.path(), &store) == export(dir.path(), &clean),
        "the shared store holds other bars than a clean sync"
    );
}

/// The commands that open the store, each refused on a path that holds something else.
const OPENING: [&[&str]; 5] = [
    &[
        "--sandbox",
        "bars",
        "AAPL",
        "--from",
        "2024-03-04",
        "--to",
        "2024-03-08",
    ],
    &[
        "--sandbox",
        "sync",
        "AAPL",
        "--from",
        "2024-03-04",
        "--to",
        "2024-03-08",
    ],
    &["store", "stats"],
    &["store", "vacuum"],
    &["store", "export"],
];

/// Runs every command of [`OPENING`] on `path` (inside `dir`): each exits 2 with a message
/// that names the path, says what is wrong (`says`) and what to do (`todo`), and `dir` is left
/// exactly as it was.
#[track_caller]
fn refused_untouched(dir: &Path, path: &Path, (says, todo): (&str, &str)) {
    let before: BTreeMap<String, Option<Vec<u8>>> = snapshot(dir);
    for command in OPENING {
        let mut args = vec!["--store", text(path)];
        args.extend_from_slice(command);
        let out = run(dir, &args).expect(2);
        assert!(
            out.stderr.contains(text(path)),
            "{command:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(says) && out.stderr.contains(todo),
            "{command:?}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{command:?}: {}", out.stdout);
        assert!(
            before == snapshot(dir),
            "{command:?} changed {}",
            path.display()
        );
    }
}

/// Every file in `dir` with its bytes (`None` for a directory).
fn snapshot(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    listing(dir)
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let bytes = path.is_file().then(|| std::fs::read(&path).unwrap());
            (name, bytes)
        })
        .collect()
}

#[test]
fn a_path_holding_something_else_is_refused_and_left_byte_identical() {
    let bytes = |seed: u64, n: usize| -> Vec<u8> {
        // xorshift: the same "random" bytes on every run.
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[0]
            })
            .collect()
    };
    // Each hostile content, and what the refusal must say besides the path.
    let foreign = ("is not a stockdata store", "pass another path with --store");
    let cases = [
        ("notes.txt", foreign),
        ("noise.bin", foreign),
        ("other-app.sqlite", foreign),
        ("a-directory", foreign),
        ("damaged.sqlite", ("is damaged", "move it away")),
    ];
    for (name, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        match name {
            "notes.txt" => std::fs::write(&path, "buy low, sell high\n").unwrap(),
            "noise.bin" => std::fs::write(&path, bytes(0x9e37_79b9_7f4a_7c15, 8192)).unwrap(),
            "other-app.sqlite" => {
                let db = rusqlite::Connection::open(&path).unwrap();
                db.execute_batch(
                    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\
                     INSERT INTO notes (body) VALUES ('not market data');",
                )
                .unwrap();
            }
            "a-directory" => std::fs::create_dir(&path).unwrap(),
            _ => {
                // SQLite's magic, then noise: a database file whose header is damaged.
                let mut content = b"SQLite format 3\0".to_vec();
                content.extend(bytes(0x2545_f491_4f6c_dd1d, 8176));
                std::fs::write(&path, content).unwrap();
            }
        }
        refused_untouched(dir.path(), &path, says);
        if path.is_dir() {
            assert!(
                listing(&path).is_empty(),
                "nothing created in {}",
                path.display()
            );
        }
    }
}

#[test]
fn a_foreign_database_with_an_uncheckpointed_wal_is_left_byte_identical() {
    // Another program's database in WAL mode, left as a crash leaves it: its tables still in
    // the -wal file, its main file an empty database.
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let original = scratch.path().join("app.db");
    let db = rusqlite::Connection::open(&original).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;\
         CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\
         INSERT INTO notes (body) VALUES ('not market data');",
    )
    .unwrap();
    let path = dir.path().join("app.db");
    for suffix in ["", "-wal"] {
        let from = PathBuf::from(format!("{}{suffix}", original.display()));
        std::fs::copy(from, format!("{}{suffix}", path.display())).unwrap();
    }
    drop(db);
    refused_untouched(
        dir.path(),
        &path,
        ("is not a stockdata store", "pass another path with --store"),
    );
}

#[test]
fn offline_with_an_empty_store_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("empty.sqlite");
    let offline = |args: &[&str]| {
        let mut all = vec!["--offline", "--store", text(&store)];
        all.extend_from_slice(args);
        run(dir.path(), &all)
    };
    let range = ["--from", "2024-01-02", "--to", "2024-03-08"];

    let mut bars = vec!["bars", "AAPL"];
    bars.extend(range);
    let out = offline(&bars).expect(4);
    assert!(out.stderr.contains("AAPL: not_stored"), "{}", out.stderr);
    assert!(
        out.stderr.contains("2024-01-02..2024-03-08"),
        "{}",
        out.stderr
    );

    let mut two = vec!["bars", "AAPL", "MSFT"];
    two.extend(range);
    let out = offline(&two).expect(4);
    for symbol in ["AAPL", "MSFT"] {
        let line = format!("{symbol}: not_stored");
        assert!(out.stderr.contains(&line), "{}", out.stderr);
    }

    let out = offline(&["quote", "AAPL"]).expect(4);
    assert!(out.stderr.contains("AAPL: not_stored"), "{}", out.stderr);
    assert!(out.stderr.contains("a quote of AAPL"), "{}", out.stderr);

    let mut news = vec!["news", "AAPL"];
    news.extend(range);
    let out = offline(&news).expect(4);
    assert!(out.stderr.contains("AAPL: not_stored"), "{}", out.stderr);

    let out = run(dir.path(), &["--offline", "--no-store", "bars", "AAPL"]).expect(2);
    assert!(out.stderr.contains("--offline"), "{}", out.stderr);
    let out = Run::from_output(
        stockdata(dir.path())
            .env("STOCKDATA__STORE__ENABLED", "false")
            .args(["--offline", "bars", "AAPL"])
            .output()
            .unwrap(),
    )
    .expect(2);
    assert!(
        out.stderr.contains("--offline answers from the store"),
        "{}",
        out.stderr
    );
}

#[test]
fn offline_without_a_store_says_what_to_do_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let out = Run::from_output(
        stockdata(dir.path())
            .env("STOCKDATA__STORE__ENABLED", "false")
            .args(["--offline", "bars", "AAPL"])
            .output()
            .unwrap(),
    )
    .expect(2);
    let wanted = "drop --no-store (or set [store] enabled = true)";
    assert!(out.stderr.contains(wanted), "{}", out.stderr);
}

#[test]
fn sandbox_and_market_data_never_answer_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.sqlite");
    let s = text(&store);
    let range = ["--from", "2024-01-02", "--to", "2024-03-08"];
    let with = |flags: &[&str], command: &[&str]| {
        let mut args = vec!["--store", s];
        args.extend_from_slice(flags);
        args.extend_from_slice(command);
        args.extend(range);
        run(dir.path(), &args)
    };

    let synced = with(&["--sandbox"], &["sync", "AAPL", "--format", "json"]).expect(0);
    let bars = summary(&synced)["AAPL"]["bars"].as_u64().unwrap();
    assert!(bars > 0, "{}", synced.stdout);

    let market = with(&["--offline"], &["bars", "AAPL", "--format", "csv"]).expect(4);
    assert!(
        market.stderr.contains("AAPL: not_stored"),
        "{}",
        market.stderr
    );
    let sandbox = with(
        &["--offline", "--sandbox"],
        &["bars", "AAPL", "--format", "csv"],
    );
    let sandbox = sandbox.expect(0);
    assert_eq!(
        sandbox.stdout.lines().count() - 1,
        usize::try_from(bars).unwrap()
    );

    let market = run(
        dir.path(),
        &["--store", s, "store", "export", "--format", "csv"],
    )
    .expect(0);
    assert_eq!(csv_rows(&market.stdout).len(), 0, "{}", market.stdout);
    let synthetic = run(
        dir.path(),
        &[
            "--store",
            s,
            "store",
            "export",
            "--synthetic",
            "--format",
            "csv",
        ],
    )
    .expect(0);
    let rows = csv_rows(&synthetic.stdout);
    assert_eq!(
        rows.len(),
        usize::try_from(bars).unwrap(),
        "{}",
        synthetic.stdout
    );
    for row in &rows {
        assert_eq!(row["symbol"], "AAPL", "{row:?}");
        assert_eq!(row["synthetic"], "true", "{row:?}");
    }

    // And the other way: market data (a simulator the client takes for Alpaca) never answers
    // a sandbox query.
    let sim = Simulator::start(0);
    sim.configure(dir.path());
    let market = dir.path().join("market.sqlite");
    let mut args = vec!["--store", text(&market), "sync", "AAPL"];
    args.extend(range);
    run(dir.path(), &args).expect(0);
    let mut args = vec!["--store", text(&market), "--offline", "bars", "AAPL"];
    args.extend(range);
    run(dir.path(), &args).expect(0);
    args.insert(0, "--sandbox");
    let out = run(dir.path(), &args).expect(4);
    assert!(out.stderr.contains("AAPL: not_stored"), "{}", out.stderr);
}

/// The rows of a CSV text with a header, as column → value.
fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().cloned().unwrap_or_default();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(str::to_owned)
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn no_store_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data").join("store.sqlite");
    let with_store = |args: &[&str]| {
        Run::from_output(
            stockdata(dir.path())
                .env("STOCKDATA__STORE__PATH", &store)
                .args(args)
                .output()
                .unwrap(),
        )
    };
    let week = ["--from", "2024-03-04", "--to", "2024-03-08"];
    let fetching: [Vec<&str>; 4] = [
        vec!["quote", "AAPL"],
        [&["bars", "AAPL"][..], &week].concat(),
        [&["news", "AAPL"][..], &week].concat(),
        vec!["agent", "--watchlist", "AAPL"],
    ];
    for command in &fetching {
        let mut args = vec!["--sandbox", "--no-store"];
        args.extend(command);
        with_store(&args).expect(0);
        assert!(
            listing(dir.path()).is_empty(),
            "{command:?} left {:?}",
            listing(dir.path())
        );
    }
    let refused: [&[&str]; 2] = [
        &["--sandbox", "--no-store", "sync", "AAPL"],
        &["--no-store", "store", "stats"],
    ];
    for command in refused {
        let out = with_store(command).expect(2);
        assert!(out.stderr.contains("--no-store"), "{}", out.stderr);
        assert!(
            listing(dir.path()).is_empty(),
            "{command:?} left {:?}",
            listing(dir.path())
        );
    }
    // The same path is the store without --no-store.
    with_store(&["--sandbox", "quote", "AAPL"]).expect(0);
    assert!(store.is_file(), "{:?}", listing(dir.path()));
}

/// `[store] url` puts the store on PostgreSQL (a private server for this test process): a
/// sync fills it, a rerun is answered from it with no request, `--offline` reads it, and the
/// URL's password appears nowhere in what is printed.
#[test]
fn a_postgres_store_url_is_the_store_every_command_shares() {
    let Some(server) = stockdata_store_postgres::testing::TestServer::shared() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The private server trusts loopback: the password is never checked, only carried.
    let url =
        runtime
            .block_on(server.database())
            .replacen("postgres@", "postgres:hunter2secret@", 1);
    assert!(url.contains("hunter2secret"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let with_pg = |args: &[&str]| {
        let mut cmd = stockdata(dir.path());
        cmd.env_remove("STOCKDATA__STORE__PATH")
            .env("STOCKDATA_STORE_URL", &url)
            .args(["--sandbox"])
            .args(args);
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("hunter2secret"), "{stderr}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(!stdout.contains("hunter2secret"), "{stdout}");
        (out.status.code(), stdout, stderr)
    };
    let (code, _, err) = with_pg(&["sync", "AAPL", "MSFT", "--from", "2023-01-03"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = with_pg(&["sync", "AAPL", "MSFT", "--from", "2023-01-03"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("\"from_store\": true"),
        "a rerun asks nobody:\n{out}"
    );
    let (code, offline, err) = with_pg(&[
        "--offline",
        "bars",
        "AAPL",
        "--from",
        "2023-01-03",
        "--format",
        "csv",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(offline.lines().count() > 250, "{offline}");
    let (code, stats, err) = with_pg(&["store", "stats", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!stats.contains("hunter2secret"), "{stats}");
    assert!(stats.contains("schema stockdata"), "{stats}");
}
