//! `cargo xtask bench`: the performance suite, measured the same way every time.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::{Result, cargo, step};

/// Symbols per serverless request (the serve limit): the agent's minimum request count is
/// three per batch (quotes, bars, news).
const BATCH: u64 = 100;

/// What `--only` can name.
const SECTIONS: &[&str] = &[
    "parse",
    "agent",
    "free-tier",
    "one-shot",
    "pacing",
    "serve",
    "throughput",
    "store",
    "pacing-redis",
    "store-postgres",
    "shared-quota",
    "stream",
    "brief",
];

/// The sections that run the release `stockdata` binary (the others need neither it nor the
/// unmetered sandbox).
const CLI_SECTIONS: &[&str] = &[
    "agent",
    "free-tier",
    "one-shot",
    "pacing",
    "throughput",
    "store",
    "stream",
    "brief",
];

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `stockdata sandbox serve` on a free port and returns it with its address.
fn sandbox(bin: &Path, extra: &[&str]) -> Result<(Killed, String)> {
    let mut child = Command::new(bin)
        .args(["sandbox", "serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    let stderr = child.stderr.take().ok_or("no sandbox stderr")?;
    let guard = Killed(child);
    let mut lines = BufReader::new(stderr).lines();
    let addr = lines
        .by_ref()
        .map_while(std::result::Result::ok)
        .find_map(|l| l.split("on http://").nth(1).map(str::to_owned))
        .ok_or("the sandbox did not say where it listens")?;
    // Keep draining its stderr: a closed pipe would make its next line fail.
    std::thread::spawn(move || lines.for_each(drop));
    Ok((guard, addr))
}

/// Runs the CLI with `--stats` and returns the stats line.
fn run_cli(bin: &Path, dir: &Path, args: &[&str]) -> Result<Value> {
    run_cli_with(bin, dir, args, false).map(|(stats, _)| stats)
}

/// [`run_cli`], and what the command wrote on stdout when `keep_stdout` (else nothing: stdout
/// goes to /dev/null).
fn run_cli_with(
    bin: &Path,
    dir: &Path,
    args: &[&str],
    keep_stdout: bool,
) -> Result<(Value, Vec<u8>)> {
    let started = std::time::Instant::now();
    let out = Command::new(bin)
        .current_dir(dir)
        .arg("--stats")
        .args(if args.contains(&"--store") {
            &[][..]
        } else {
            &["--no-store"][..]
        })
        .args(args)
        .stdout(if keep_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run stockdata: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("stockdata_stats"))
        .ok_or_else(|| {
            format!(
                "stockdata {args:?} printed no stats (exit {:?}):\n{stderr}",
                out.status.code()
            )
        })?;
    let mut v: Value = serde_json::from_str(line).map_err(|e| format!("stats line: {e}"))?;
    // The process's wall time, start-up and exit included, measured from outside.
    let wall = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    v["stockdata_stats"]["process_wall_ms"] = json!(wall);
    Ok((v["stockdata_stats"].clone(), out.stdout))
}

fn requests(stats: &Value) -> u64 {
    stats["http"].as_object().map_or(0, |m| {
        m.values()
            .map(|p| p["requests"].as_u64().unwrap_or(0))
            .sum()
    })
}

fn throttled(stats: &Value) -> u64 {
    stats["http"].as_object().map_or(0, |m| {
        m.values()
            .map(|p| p["throttled"].as_u64().unwrap_or(0))
            .sum()
    })
}

/// Criterion's estimates for every benchmark of the parse suite.
fn criterion_results(dir: &Path) -> Vec<(String, String, f64, Option<u64>)> {
    let mut out = Vec::new();
    let Ok(groups) = std::fs::read_dir(dir) else {
        return out;
    };
    for group in groups.flatten() {
        let Ok(functions) = std::fs::read_dir(group.path()) else {
            continue;
        };
        for function in functions.flatten() {
            let new = function.path().join("new");
            let (Ok(b), Ok(e)) = (
                std::fs::read_to_string(new.join("benchmark.json")),
                std::fs::read_to_string(new.join("estimates.json")),
            ) else {
                continue;
            };
            let (Ok(b), Ok(e)) = (
                serde_json::from_str::<Value>(&b),
                serde_json::from_str::<Value>(&e),
            ) else {
                continue;
            };
            let mean_ns = e["mean"]["point_estimate"].as_f64().unwrap_or(0.0);
            out.push((
                b["group_id"].as_str().unwrap_or("").to_owned(),
                b["function_id"].as_str().unwrap_or("").to_owned(),
                mean_ns,
                b["throughput"]["Bytes"].as_u64(),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    out
}

fn verdict(ok: bool) -> &'static str {
    if ok { "pass" } else { "FAIL" }
}

pub(crate) fn run(extra: &[String]) -> Result {
    let quick = extra.iter().any(|a| a == "--quick");
    // `--only SECTION`: that section alone (and the release build it needs).
    let only = extra
        .iter()
        .position(|a| a == "--only")
        .map(|i| extra.get(i + 1).map(String::as_str).unwrap_or_default());
    if let Some(o) = only
        && !SECTIONS.contains(&o)
    {
        return Err(format!("--only {o:?}: name one of {}", SECTIONS.join(", ")));
    }
    let want = |section: &str| only.is_none_or(|o| o == section);
    let target = crate::venv::target_dir();
    let out_dir = target.join("bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut report = String::new();
    let mut results = serde_json::Map::new();

    if want("parse") {
        // 1. Parsers: typed parse+normalize against serde_json::Value on the same bytes.
        step(
            "parser benchmarks (criterion)",
            cargo(&[
                "bench",
                "--locked",
                "-p",
                "stockdata-adapters-http",
                "--bench",
                "parse",
            ]),
        )?;
        let parsers = criterion_results(&target.join("criterion"));
        let _ = writeln!(
            report,
            "\n## Parse + normalize (target: typed >= 1.0x Value)\n"
        );
        let _ = writeln!(
            report,
            "| payload | typed | Value | typed MiB/s | ratio | verdict |\n|---|---|---|---|---|---|"
        );
        let mut groups: Vec<&str> = parsers.iter().map(|p| p.0.as_str()).collect();
        groups.dedup();
        let mut parse_json = Vec::new();
        for g in groups {
            let find = |f: &str| parsers.iter().find(|p| p.0 == g && p.1.starts_with(f));
            if let (Some(t), Some(v)) = (find("typed"), find("serde_json")) {
                let ratio = v.2 / t.2;
                #[allow(clippy::cast_precision_loss)]
                let mibs = t.3.map_or(0.0, |b| b as f64 / (t.2 / 1e9) / 1_048_576.0);
                let _ = writeln!(
                    report,
                    "| {g} | {:.3} ms | {:.3} ms | {mibs:.0} | {ratio:.2}x | {} |",
                    t.2 / 1e6,
                    v.2 / 1e6,
                    verdict(ratio >= 1.0)
                );
                parse_json.push(json!({
                    "payload": g,
                    "typed_ms": t.2 / 1e6,
                    "value_ms": v.2 / 1e6,
                    "typed_mib_s": mibs,
                    "ratio": ratio,
                }));
            }
        }
        results.insert("parsers".into(), Value::Array(parse_json));
    }

    // 2. The release binary, for the sections that run it.
    let needs_cli = CLI_SECTIONS.iter().any(|s| want(s));
    if needs_cli {
        step(
            "release build",
            cargo(&["build", "--release", "--locked", "-p", "stockdata-app"]),
        )?;
    }
    let bin = target.join("release").join("stockdata");

    // 3. Agent at scale against an unmetered sandbox, through the serverless fetcher.
    let (_sb, addr) = if needs_cli {
        let (guard, addr) = sandbox(&bin, &["--no-quotas"])?;
        (Some(guard), addr)
    } else {
        (None, String::new())
    };
    let dir = out_dir.join("work");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("stockdata.toml"),
        format!(
            "[providers.serverless]\nbase_url = \"http://{addr}/serverless\"\n\n\
             [routing]\nquotes = [\"serverless\"]\nbars = [\"serverless\"]\n\
             news = [\"serverless\"]\n\n\
             [agent]\nconcurrency = 8\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    if want("agent") {
        let sizes: &[u64] = if quick { &[50, 500] } else { &[50, 500, 5000] };
        let _ = writeln!(
            report,
            "\n## Agent at scale (sandbox, quotas off, serverless batches of {BATCH})\n"
        );
        let _ = writeln!(
            report,
            "| symbols | wall ms | CPU ms | peak RSS MiB | requests | minimum | verdict |\n\
         |---|---|---|---|---|---|---|"
        );
        let mut agent_json = Vec::new();
        for &n in sizes {
            let list: Vec<String> = (0..n).map(|i| format!("S{i:04}")).collect();
            let file = dir.join(format!("watchlist-{n}.txt"));
            std::fs::write(&file, list.join("\n")).map_err(|e| e.to_string())?;
            let stats = run_cli(
                &bin,
                &dir,
                &[
                    "agent",
                    "--watchlist",
                    file.to_str().unwrap_or(""),
                    "--format",
                    "json",
                ],
            )?;
            let minimum = 3 * n.div_ceil(BATCH);
            let sent = requests(&stats);
            let rss = stats["peak_rss_kb"].as_u64().unwrap_or(0);
            #[allow(clippy::cast_precision_loss)]
            let rss_mib = rss as f64 / 1024.0;
            let ok = sent == minimum && (n != 500 || rss_mib <= 64.0);
            let _ = writeln!(
                report,
                "| {n} | {} | {:.0} | {rss_mib:.1} | {sent} | {minimum} | {} |",
                stats["process_wall_ms"],
                stats["cpu_ms"].as_f64().unwrap_or(0.0),
                verdict(ok)
            );
            agent_json.push(json!({
                "symbols": n,
                "wall_ms": stats["process_wall_ms"],
                "cpu_ms": stats["cpu_ms"],
                "peak_rss_kb": rss,
                "requests": sent,
                "minimum": minimum,
            }));
        }
        results.insert("agent".into(), Value::Array(agent_json));
    }
    if want("free-tier") {
        results.insert(
            "free_tier".into(),
            free_tier(&bin, &out_dir, quick, &mut report)?,
        );
    }

    if want("one-shot") {
        // 4. One-shot CLI cost.
        let mut runs: Vec<(u64, f64)> = Vec::new();
        for _ in 0..11 {
            let s = run_cli(&bin, &dir, &["quote", "AAPL", "--format", "json"])?;
            runs.push((
                s["process_wall_ms"].as_u64().unwrap_or(0),
                s["cpu_ms"].as_f64().unwrap_or(0.0),
            ));
        }
        runs.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (wall, cpu) = runs[runs.len() / 2];
        let _ = writeln!(
            report,
            "\n## One-shot CLI (`stockdata quote AAPL` against the sandbox, median of 11; \
         target CPU <= 20 ms)\n"
        );
        let _ = writeln!(
            report,
            "| process wall ms | CPU ms (all threads) | verdict |\n|---|---|---|\n\
         | {wall} | {cpu:.1} | {} |",
            verdict(cpu <= 20.0)
        );
        results.insert("one_shot".into(), json!({"wall_ms": wall, "cpu_ms": cpu}));
    }

    if want("pacing") {
        // 5. Pacing: 300 single-symbol requests against a sandbox enforcing 600/min (and 30/s).
        let (_sb2, addr2) = sandbox(&bin, &["--finnhub-per-minute", "600"])?;
        let pace_dir = out_dir.join("pacing");
        std::fs::create_dir_all(&pace_dir).map_err(|e| e.to_string())?;
        std::fs::write(
            pace_dir.join("stockdata.toml"),
            format!(
                "[providers.finnhub]\napi_key = \"bench\"\nbase_url = \"http://{addr2}/finnhub\"\n\
             requests_per_minute = 600\nrequests_per_second = 30\n\n\
             [routing]\nquotes = [\"finnhub\"]\n\n\
             [agent]\nconcurrency = 8\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let symbols: Vec<String> = (0..300).map(|i| format!("P{i:03}")).collect();
        let mut args = vec!["quote"];
        args.extend(symbols.iter().map(String::as_str));
        args.extend(["--format", "json"]);
        let stats = run_cli(&bin, &pace_dir, &args)?;
        #[allow(clippy::cast_precision_loss)]
        let elapsed = stats["process_wall_ms"].as_u64().unwrap_or(0) as f64 / 1000.0;
        let sent = requests(&stats);
        let refused = throttled(&stats);
        let ok = elapsed <= 1.05 * 30.0 && refused == 0 && sent == 300;
        let _ = writeln!(
            report,
            "\n## Pacing (300 requests, sandbox enforcing 600/min and 30/s; \
         target <= 1.05 x 30 s, 0 throttles)\n"
        );
        let _ = writeln!(
            report,
            "| elapsed s | requests | throttle answers | verdict |\n|---|---|---|---|\n\
         | {elapsed:.2} | {sent} | {refused} | {} |",
            verdict(ok)
        );
        results.insert(
            "pacing".into(),
            json!({"elapsed_s": elapsed, "requests": sent, "throttled": refused}),
        );
    }

    if want("serve") {
        // 6. Serve under load.
        let load = cargo(&[
            "bench",
            "--locked",
            "-p",
            "stockdata-app",
            "--bench",
            "serve_load",
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("serve load: {e}"))?;
        let text = String::from_utf8_lossy(&load.stdout);
        let line = text
            .lines()
            .find(|l| l.contains("serve_load"))
            .ok_or("serve load printed nothing")?;
        let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let l = &v["serve_load"];
        let _ = writeln!(
            report,
            "\n## Serve under load (fake sources behind `serve`, loopback)\n"
        );
        let _ = writeln!(
            report,
            "| clients | requests | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|\n\
         | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
            l["clients"],
            l["requests"],
            l["req_per_s"].as_f64().unwrap_or(0.0),
            l["p50_ms"].as_f64().unwrap_or(0.0),
            l["p99_ms"].as_f64().unwrap_or(0.0),
            l["errors"]
        );
        results.insert("serve_load".into(), l.clone());
    }

    if want("throughput") {
        // 7. One symbol's 20-year history from body to bytes written.
        throughput(&bin, &addr, &out_dir, &mut report, &mut results)?;
    }

    // 8. The store (issue #15): a second agent run, a 20-year sync, offline reads.
    if want("store") {
        results.insert("store".into(), store(&bin, &out_dir, quick, &mut report)?);
    }

    // 9. The shared quota store (issue #18): Redis decision latency and rate.
    if want("pacing-redis") {
        results.insert("pacing_redis".into(), pacing_redis(quick, &mut report)?);
    }

    // 10. The PostgreSQL store (issue #18): the 100-symbol 20-year sync's insert rate.
    if want("store-postgres") {
        results.insert("store_postgres".into(), store_postgres(quick, &mut report)?);
    }

    // 11. Three replicas and a sync sharing one key through Redis (issue #18): minutes long
    // by nature, so `--quick` leaves it out unless it is the section asked for.
    if want("shared-quota") {
        if quick && only.is_none() {
            let _ = writeln!(
                report,
                "\n## Shared quota (issue #18)\n\nskipped with `--quick` (about 4 min): \
                 `cargo xtask bench --only shared-quota`"
            );
        } else {
            results.insert("shared_quota".into(), shared_quota(&out_dir, &mut report)?);
        }
    }

    // 12. Live streams (issue #19): the CLI at 100 k messages/s, the latency it adds, and
    // `serve`'s SSE fan-out.
    if want("stream") {
        results.insert("stream".into(), stream(&bin, &out_dir, quick, &mut report)?);
    }

    // 13. The daily brief (issue #21): 50 symbols from a warm store.
    if want("brief") {
        results.insert("brief".into(), brief(&bin, &dir, quick, &mut report)?);
    }

    println!("# stockdata benchmarks\n{report}");
    let path = out_dir.join(only.map_or_else(
        || "results.json".to_owned(),
        |o| format!("results-{o}.json"),
    ));
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&Value::Object(results)).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

/// The routing of a user with only Finnhub and Alpha Vantage keys (no batch provider).
const NO_BATCH: &str = "[routing]\nquotes = [\"finnhub\", \"alpha_vantage\"]\n\
                        bars = [\"alpha_vantage\", \"finnhub\"]\n\
                        news = [\"finnhub\", \"alpha_vantage\"]\n";

/// `n` symbols the sandbox knows: `AAX`, `ABX`, ...
fn symbol_list(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let a = char::from(b'A' + u8::try_from(i / 26 % 26).unwrap_or(0));
            let b = char::from(b'A' + u8::try_from(i % 26).unwrap_or(0));
            format!("{a}{b}X")
        })
        .collect()
}

/// The agent as a user with free keys runs it: `--sandbox`, every free-tier quota enforced
/// the way the provider does, planned (`--plan`) and then run.
fn free_tier(bin: &Path, out_dir: &Path, quick: bool, report: &mut String) -> Result<Value> {
    use std::fmt::Write as _;
    let dir = out_dir.join("free-tier");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let list = symbol_list;
    let no_batch = NO_BATCH;
    // (name, symbols, config, wall target as a multiple of the plan's pacing bound or a
    // fixed bound in ms)
    let mut scenarios: Vec<(&str, usize, &str, Option<u64>)> = vec![
        (
            "300 symbols, all four providers keyed",
            300,
            "",
            Some(15_000),
        ),
        ("3 symbols (README command)", 3, "", Some(1_000)),
    ];
    if !quick {
        scenarios.push((
            "40 symbols, Finnhub + Alpha Vantage only",
            40,
            no_batch,
            None,
        ));
    }
    let _ = writeln!(
        report,
        "\n## Agent on free-tier quotas (`--sandbox`, quotas on)\n\n\
         | scenario | wall ms | target | requests | planned | throttled | Alpha Vantage | \
         verdict |\n|---|---|---|---|---|---|---|---|"
    );
    let mut out = Vec::new();
    for (name, n, config, fixed) in scenarios {
        let case = dir.join(n.to_string());
        std::fs::create_dir_all(&case).map_err(|e| e.to_string())?;
        std::fs::write(case.join("stockdata.toml"), config).map_err(|e| e.to_string())?;
        std::fs::write(case.join("watchlist.txt"), list(n).join("\n"))
            .map_err(|e| e.to_string())?;
        let plan = Command::new(bin)
            .current_dir(&case)
            .args([
                "--no-store",
                "--sandbox",
                "agent",
                "--watchlist",
                "watchlist.txt",
                "--plan",
            ])
            .args(["--format", "json"])
            .output()
            .map_err(|e| format!("cannot run stockdata: {e}"))?;
        let plan: Value = serde_json::from_slice(&plan.stdout)
            .map_err(|e| format!("agent --plan printed no JSON: {e}"))?;
        let planned: u64 = plan["steps"].as_array().map_or(0, |s| {
            s.iter().map(|x| x["requests"].as_u64().unwrap_or(0)).sum()
        });
        let bound_ms = plan["expected_s"].as_f64().unwrap_or(0.0) * 1000.0;
        let stats = run_cli(
            bin,
            &case,
            &[
                "--sandbox",
                "agent",
                "--watchlist",
                "watchlist.txt",
                "--format",
                "json",
            ],
        )?;
        let wall = stats["process_wall_ms"].as_u64().unwrap_or(0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let target = fixed.unwrap_or((bound_ms * 1.1).ceil() as u64);
        let sent = requests(&stats);
        let av = stats["http"]["alpha_vantage"]["requests"]
            .as_u64()
            .unwrap_or(0);
        let thr = throttled(&stats);
        #[allow(clippy::cast_precision_loss)]
        let ok = wall <= target && thr == 0 && av <= 12 && sent as f64 <= planned as f64 * 1.2;
        let _ = writeln!(
            report,
            "| {name} | {wall} | {target} | {sent} | {planned} | {thr} | {av} | {} |",
            verdict(ok)
        );
        out.push(json!({
            "scenario": name,
            "wall_ms": wall,
            "target_ms": target,
            "plan_pacing_ms": bound_ms,
            "requests": sent,
            "planned": planned,
            "throttled": thr,
            "alpha_vantage": av,
        }));
    }
    Ok(Value::Array(out))
}

/// Rows per second from one 20-year Alpha Vantage daily body to the bytes the CLI writes
/// (issue #14, item 6; target >= 1 M rows/s for CSV on one core): the in-process stages from
/// `crates/app/benches/throughput.rs`, then the release binary against the sandbox.
fn throughput(
    bin: &Path,
    addr: &str,
    out_dir: &Path,
    report: &mut String,
    results: &mut serde_json::Map<String, Value>,
) -> Result {
    step(
        "throughput benchmarks (criterion)",
        cargo(&[
            "bench",
            "--locked",
            "-p",
            "stockdata-app",
            "--bench",
            "throughput",
        ]),
    )?;
    const ROWS: f64 = 5040.0;
    let _ = writeln!(
        report,
        "\n## One symbol's 20-year daily history, in process \
         (5,040 rows; target: body to csv >= 1 M rows/s)\n"
    );
    let _ = writeln!(
        report,
        "| stage | ms | M rows/s | verdict |\n|---|---|---|---|"
    );
    let mut stages = Vec::new();
    let criterion = criterion_results(&crate::venv::target_dir().join("criterion"));
    for (_, function, mean_ns, _) in criterion.iter().filter(|c| c.0.starts_with("bars ")) {
        let rows_per_s = ROWS / (mean_ns / 1e9);
        let judged = function == "body to csv";
        let _ = writeln!(
            report,
            "| {function} | {:.3} | {:.2} | {} |",
            mean_ns / 1e6,
            rows_per_s / 1e6,
            if judged {
                verdict(rows_per_s >= 1e6)
            } else {
                ""
            }
        );
        stages.push(json!({"stage": function, "ms": mean_ns / 1e6, "rows_per_s": rows_per_s}));
    }

    let dir = out_dir.join("throughput");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("stockdata.toml"),
        format!(
            "[providers.alpha_vantage]\napi_key = \"bench\"\n\
             base_url = \"http://{addr}/alpha_vantage\"\n\n\
             [routing]\nbars = [\"alpha_vantage\"]\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let args = |format| {
        [
            "bars",
            "IBM",
            "--from",
            "2004-01-01",
            "--to",
            "2024-03-08",
            "--format",
            format,
        ]
    };
    let written = Command::new(bin)
        .current_dir(&dir)
        .arg("--no-store")
        .args(args("csv"))
        .output()
        .map_err(|e| format!("cannot run stockdata: {e}"))?;
    let rows = written
        .stdout
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        .saturating_sub(1);
    let _ = writeln!(
        report,
        "\n| `stockdata bars IBM --from 2004-01-01 --to 2024-03-08` ({rows} rows; sandbox, \
         median of 11) | process wall ms | CPU ms | M rows/s of CPU |\n|---|---|---|---|"
    );
    let mut binary = Vec::new();
    for format in ["csv", "json", "ndjson"] {
        let mut runs = Vec::new();
        for _ in 0..11 {
            let s = run_cli(bin, &dir, &args(format))?;
            runs.push((
                s["process_wall_ms"].as_u64().unwrap_or(0),
                s["cpu_ms"].as_f64().unwrap_or(0.0),
            ));
        }
        runs.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (_, cpu) = runs[runs.len() / 2];
        runs.sort_by_key(|r| r.0);
        let (wall, _) = runs[runs.len() / 2];
        #[allow(clippy::cast_precision_loss)]
        let rows_per_s = rows as f64 / (cpu / 1e3);
        let _ = writeln!(
            report,
            "| --format {format} | {wall} | {cpu:.1} | {:.2} |",
            rows_per_s / 1e6
        );
        binary.push(json!({"format": format, "rows": rows, "wall_ms": wall, "cpu_ms": cpu}));
    }
    results.insert(
        "throughput".into(),
        json!({"in_process": stages, "binary": binary}),
    );
    Ok(())
}

/// When the store scenarios run: Tuesday 2026-11-24 (the close is 21:00Z), after the close
/// and again an hour later (an end-of-day job), and mid-session and again 60 s later.
const END_OF_DAY: [&str; 2] = ["2026-11-24T21:30:00Z", "2026-11-24T22:30:00Z"];
/// After the close and again 4 minutes later: within the news TTL (5 min), a rerun.
const RERUN: [&str; 2] = ["2026-11-24T21:30:00Z", "2026-11-24T21:34:00Z"];
const INTRADAY: [&str; 2] = ["2026-11-24T17:00:00Z", "2026-11-24T17:01:00Z"];
/// Twenty years of daily bars up to that Tuesday.
const SYNC_FROM: &str = "2006-11-24";
const SYNC_TO: &str = "2026-11-24";
/// The store crate's insert target (rows/s).
const INSERT_TARGET: f64 = 500_000.0;

/// `provider requests, ...` of one run, busiest first.
fn by_provider(stats: &Value) -> String {
    let mut counts: Vec<(String, u64)> = stats["http"].as_object().map_or(Vec::new(), |m| {
        m.iter()
            .map(|(p, s)| (p.clone(), s["requests"].as_u64().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect()
    });
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// A new, empty directory `name` under `root`.
fn fresh_dir(root: &Path, name: &str) -> Result<PathBuf> {
    let d = root.join(name);
    match std::fs::remove_dir_all(&d) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", d.display())),
    }
    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    Ok(d)
}

/// Criterion's estimates written since `since` (the benchmarks of the run that just ended), at
/// any depth (`group/function[/parameter]/new`): full id, mean ns, `Elements` throughput.
fn criterion_since(dir: &Path, since: std::time::SystemTime) -> Vec<(String, f64, Option<u64>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
            if path.file_name() != Some("new".as_ref()) {
                stack.push(path);
                continue;
            }
            let fresh = std::fs::metadata(path.join("estimates.json"))
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since);
            let (true, Ok(b), Ok(e)) = (
                fresh,
                std::fs::read_to_string(path.join("benchmark.json")),
                std::fs::read_to_string(path.join("estimates.json")),
            ) else {
                continue;
            };
            let (Ok(b), Ok(e)) = (
                serde_json::from_str::<Value>(&b),
                serde_json::from_str::<Value>(&e),
            ) else {
                continue;
            };
            out.push((
                b["full_id"].as_str().unwrap_or("").to_owned(),
                e["mean"]["point_estimate"].as_f64().unwrap_or(0.0),
                b["throughput"]["Elements"].as_u64(),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The store's scenarios (issue #15), each through `--sandbox` (free-tier quotas on) with a
/// fresh store file: the agent run twice the same day, a 100-symbol 20-year sync into an empty
/// store and its rerun, `bars --offline` over the synced history, and the store crate's own
/// criterion bench for the insert rate.
#[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
fn store(bin: &Path, out_dir: &Path, quick: bool, report: &mut String) -> Result<Value> {
    let root = out_dir.join("store");
    let _ = writeln!(
        report,
        "\n## Store (issue #15; `--sandbox`, free-tier quotas on, a fresh store file)\n\n\
         | scenario | target | measured | verdict |\n|---|---|---|---|"
    );
    let mut results = serde_json::Map::new();

    // 1. The agent over 100 symbols, run twice the same day.
    let mut configs = vec![("all four keyed", "")];
    if !quick {
        configs.push(("Finnhub + Alpha Vantage only", NO_BATCH));
    }
    let cases = [
        ("rerun", "after the close, again 4 min later", RERUN, true),
        (
            "end of day",
            "after the close, again 1 h later: news is asked since the first run",
            END_OF_DAY,
            true,
        ),
        ("intraday", "mid-session, again 60 s later", INTRADAY, false),
    ];
    let mut agent = Vec::new();
    for (ci, (config_name, config)) in configs.iter().enumerate() {
        for (case, how, at, judged) in cases {
            let dir = fresh_dir(&root, &format!("agent-{ci}-{case}").replace(' ', "-"))?;
            std::fs::write(dir.join("stockdata.toml"), config).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("watchlist.txt"), symbol_list(100).join("\n"))
                .map_err(|e| e.to_string())?;
            let mut runs = Vec::new();
            for now in at {
                let (stats, out) = run_cli_with(
                    bin,
                    &dir,
                    &[
                        "--sandbox",
                        "--store",
                        "store.sqlite",
                        "--now",
                        now,
                        "agent",
                        "--watchlist",
                        "watchlist.txt",
                        "--format",
                        "json",
                    ],
                    true,
                )?;
                let doc: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
                runs.push((stats, doc["stats"]["store_hits"].as_u64()));
            }
            let (first, second) = (requests(&runs[0].0), requests(&runs[1].0));
            let ratio = second as f64 / first.max(1) as f64;
            let hits = runs[1]
                .1
                .map_or_else(String::new, |h| format!(", {h} store hits"));
            let _ = writeln!(
                report,
                "| agent x2, 100 symbols, {config_name}, {case} ({how}: {} then {}) | {} | \
                 {first} then {second} requests ({:.0} %); second run: {}{hits}; wall {} ms \
                 then {} ms; throttled {} then {} | {} |",
                at[0],
                at[1],
                if judged {
                    "second <= 20 % of first"
                } else {
                    "information"
                },
                ratio * 100.0,
                by_provider(&runs[1].0),
                runs[0].0["process_wall_ms"],
                runs[1].0["process_wall_ms"],
                throttled(&runs[0].0),
                throttled(&runs[1].0),
                if judged {
                    verdict(ratio <= 0.2)
                } else {
                    "info"
                }
            );
            agent.push(json!({
                "config": config_name,
                "case": case,
                "now": at,
                "requests": [first, second],
                "ratio": ratio,
                "first": runs[0].0,
                "second": runs[1].0,
                "second_store_hits": runs[1].1,
            }));
        }
    }
    results.insert("agent_twice".into(), Value::Array(agent));

    // 2. 100 symbols x 20 years of daily bars into an empty store, then the same again.
    let dir = fresh_dir(&root, "sync")?;
    std::fs::write(dir.join("stockdata.toml"), "").map_err(|e| e.to_string())?;
    std::fs::write(dir.join("watchlist.txt"), symbol_list(100).join("\n"))
        .map_err(|e| e.to_string())?;
    let common = [
        "--sandbox",
        "--store",
        "store.sqlite",
        "--now",
        END_OF_DAY[0],
    ];
    let mut sync: Vec<&str> = common.to_vec();
    sync.extend([
        "sync",
        "--watchlist",
        "watchlist.txt",
        "--from",
        SYNC_FROM,
        "--to",
        SYNC_TO,
        "--format",
        "json",
    ]);
    let (first, out) = run_cli_with(bin, &dir, &sync, true)?;
    let lines: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
    let synced = lines
        .as_array()
        .map_or(0, |a| a.iter().filter(|l| l["outcome"] == "ok").count());
    let stats = Command::new(bin)
        .current_dir(&dir)
        .args([
            "--store",
            "store.sqlite",
            "store",
            "stats",
            "--format",
            "json",
        ])
        .output()
        .map_err(|e| format!("cannot run stockdata: {e}"))?;
    let stats: Value = serde_json::from_slice(&stats.stdout)
        .map_err(|e| format!("store stats printed no JSON: {e}"))?;
    let bars = stats["bars"].as_u64().unwrap_or(0);
    let file = |suffix: &str| {
        std::fs::metadata(dir.join(format!("store.sqlite{suffix}"))).map_or(0, |m| m.len())
    };
    let (main_bytes, wal_bytes) = (file(""), file("-wal"));
    let wall = first["process_wall_ms"].as_u64().unwrap_or(0);
    let rows_per_s = bars as f64 / (wall.max(1) as f64 / 1e3);
    let _ = writeln!(
        report,
        "| sync 100 symbols x 20 years daily ({SYNC_FROM}..{SYNC_TO}) into an empty store, \
         end to end | reported | {wall} ms wall, {synced}/100 symbols ok, {bars} bars stored, \
         {:.0} k rows/s; {} requests ({}), throttled {}; store {} bytes (`store stats`), \
         file {main_bytes} + -wal {wal_bytes} = {:.1} MiB ({:.0} bytes per bar) | |",
        rows_per_s / 1e3,
        requests(&first),
        by_provider(&first),
        throttled(&first),
        stats["bytes"],
        (main_bytes + wal_bytes) as f64 / 1_048_576.0,
        (main_bytes + wal_bytes) as f64 / bars.max(1) as f64,
    );
    let again = run_cli(bin, &dir, &sync)?;
    let again_sent = requests(&again);
    let _ = writeln!(
        report,
        "| the same sync again | 0 requests | {again_sent} requests, {} ms wall, {:.0} ms CPU \
         | {} |",
        again["process_wall_ms"],
        again["cpu_ms"].as_f64().unwrap_or(0.0),
        verdict(again_sent == 0)
    );
    // The same sync with the simulator out of the process (a standalone sandbox, quotas off,
    // serverless routing): what the client alone spends.
    let standalone = {
        let (_sb, addr) = sandbox(bin, &["--no-quotas", "--now", END_OF_DAY[0]])?;
        let dir = fresh_dir(&root, "sync-standalone")?;
        std::fs::write(
            dir.join("stockdata.toml"),
            format!(
                "[providers.serverless]\nbase_url = \"http://{addr}/serverless\"\n\n\
                 [routing]\nquotes = [\"serverless\"]\nbars = [\"serverless\"]\n\
                 news = [\"serverless\"]\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("watchlist.txt"), symbol_list(100).join("\n"))
            .map_err(|e| e.to_string())?;
        let mut args: Vec<&str> = vec!["--store", "store.sqlite", "--now", END_OF_DAY[0]];
        args.extend_from_slice(&sync[5..]);
        run_cli(bin, &dir, &args)?
    };
    let _ = writeln!(
        report,
        "| the same sync, the simulator out of process (standalone sandbox, quotas off) | \
         reported | {} ms wall; the client: {:.0} ms CPU, peak RSS {:.0} MiB; {} requests \
         (in process above: {:.0} ms CPU, peak RSS {:.0} MiB with the simulator) | |",
        standalone["process_wall_ms"],
        standalone["cpu_ms"].as_f64().unwrap_or(0.0),
        standalone["peak_rss_kb"].as_f64().unwrap_or(0.0) / 1024.0,
        requests(&standalone),
        first["cpu_ms"].as_f64().unwrap_or(0.0),
        first["peak_rss_kb"].as_f64().unwrap_or(0.0) / 1024.0,
    );
    results.insert(
        "sync".into(),
        json!({
            "symbols": 100,
            "from": SYNC_FROM,
            "to": SYNC_TO,
            "wall_ms": wall,
            "symbols_ok": synced,
            "bars": bars,
            "rows_per_s": rows_per_s,
            "requests": requests(&first),
            "stats": first,
            "store_stats_bytes": stats["bytes"],
            "file_bytes": main_bytes,
            "wal_bytes": wal_bytes,
            "rerun_requests": again_sent,
            "rerun_wall_ms": again["process_wall_ms"],
            "rerun_cpu_ms": again["cpu_ms"],
            "standalone_sandbox": standalone,
        }),
    );

    // 3. One symbol's 20 years from the store alone.
    let symbol = symbol_list(1).remove(0);
    let mut offline: Vec<&str> = common.to_vec();
    offline.extend([
        "bars",
        &symbol,
        "--from",
        SYNC_FROM,
        "--to",
        SYNC_TO,
        "--offline",
        "--format",
        "csv",
    ]);
    let (probe, out) = run_cli_with(bin, &dir, &offline, true)?;
    let rows = out
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        .saturating_sub(1);
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for _ in 0..11 {
        let s = run_cli(bin, &dir, &offline)?;
        walls.push(s["process_wall_ms"].as_u64().unwrap_or(0));
        cpus.push(s["cpu_ms"].as_f64().unwrap_or(0.0));
    }
    cpus.sort_by(f64::total_cmp);
    let wall = median(walls);
    let cpu = cpus[cpus.len() / 2];
    let _ = writeln!(
        report,
        "| `bars {symbol} --from {SYNC_FROM} --to {SYNC_TO} --offline --format csv` (median \
         of 11) | <= 20 ms process wall | {wall} ms wall, {cpu:.1} ms CPU, {rows} rows, {} \
         requests | {} |",
        requests(&probe),
        verdict(wall <= 20 && rows > 0 && requests(&probe) == 0)
    );
    results.insert(
        "bars_offline".into(),
        json!({"symbol": symbol, "rows": rows, "wall_ms": wall, "cpu_ms": cpu}),
    );

    // 4. The insert rate of the store itself: its criterion bench, which syncs 100 symbols x
    // 20 years into an empty file store (one `write_bars` per symbol, as `sync` does) and
    // prints one timed run first.
    let since = std::time::SystemTime::now();
    let ran = cargo(&[
        "bench",
        "--locked",
        "-p",
        "stockdata-store-sqlite",
        "--bench",
        "store",
    ])
    .stderr(Stdio::inherit())
    .output();
    let printed = ran.as_ref().map_or_else(
        |_| String::new(),
        |o| String::from_utf8_lossy(&o.stdout).into_owned(),
    );
    print!("{printed}");
    let ran = ran.is_ok_and(|o| o.status.success());
    let timed = printed
        .lines()
        .find(|l| l.starts_with("sync:"))
        .map(|l| l.trim_start_matches("sync:").trim().to_owned());
    // The writing benchmarks are the ones the target is about.
    let writes = |id: &str| {
        let id = id.to_lowercase();
        id.contains("insert") || id.contains("sync") || id.contains("write")
    };
    let benches = criterion_since(&crate::venv::target_dir().join("criterion"), since);
    let mut store_bench = Vec::new();
    for (id, mean_ns, elements) in &benches {
        let judged = writes(id);
        let Some(n) = elements else {
            let _ = writeln!(
                report,
                "| store bench: {id} | reported | {:.3} ms per iteration | |",
                mean_ns / 1e6
            );
            store_bench.push(json!({"id": id, "mean_ms": mean_ns / 1e6}));
            continue;
        };
        let rows_per_s = *n as f64 / (mean_ns / 1e9);
        let first_run = match (&timed, judged) {
            (Some(t), true) => format!("; its timed first run: {t}"),
            _ => String::new(),
        };
        let _ = writeln!(
            report,
            "| store bench (in process, `crates/store-sqlite/benches/store.rs`): {id} | {} | \
             {:.0} k rows/s ({n} rows in {:.0} ms, criterion mean){first_run} | {} |",
            if judged {
                "insert >= 500 k rows/s"
            } else {
                "reported"
            },
            rows_per_s / 1e3,
            mean_ns / 1e6,
            if judged {
                verdict(rows_per_s >= INSERT_TARGET)
            } else {
                ""
            }
        );
        store_bench.push(json!({
            "id": id,
            "mean_ms": mean_ns / 1e6,
            "rows": n,
            "rows_per_s": rows_per_s,
        }));
    }
    if !benches.iter().any(|b| b.2.is_some() && writes(&b.0)) {
        let _ = writeln!(
            report,
            "| store insert (`cargo bench -p stockdata-store-sqlite --bench store`) | \
             >= 500 k rows/s | not measured: {} | missing |",
            if ran {
                "the bench ran no writing benchmark with an Elements (rows) throughput"
            } else {
                "the bench did not run"
            }
        );
    }
    results.insert(
        "store_bench".into(),
        json!({"benchmarks": store_bench, "timed_first_run": timed}),
    );
    Ok(Value::Object(results))
}

/// What one `cargo bench` run of a bench printing a JSON result line gave.
struct BenchRun {
    /// Its exit status.
    status: String,
    /// The object under the bench's key in the JSON line it printed, if it printed one.
    found: Option<Value>,
    /// Criterion's estimates written by this run: full id, mean ns, `Elements` throughput.
    criterion: Vec<(String, f64, Option<u64>)>,
    /// Seconds, the build included.
    wall: f64,
}

/// Runs `cargo bench -p krate --bench bench` (criterion's `--quick` when `quick`), its stdout
/// echoed, and reads the line `{"key": ...}` it printed.
fn bench_json(krate: &str, bench: &str, key: &str, quick: bool) -> Result<BenchRun> {
    let since = std::time::SystemTime::now();
    let started = std::time::Instant::now();
    let mut cmd = cargo(&["bench", "--locked", "-p", krate, "--bench", bench]);
    if quick {
        cmd.args(["--", "--quick"]);
    }
    eprintln!("xtask: {krate} bench: {cmd:?}");
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{krate} bench: cannot start: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let prefix = format!("{{\"{key}\"");
    let found = text
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v[key].clone());
    Ok(BenchRun {
        status: out.status.to_string(),
        found,
        criterion: criterion_since(&crate::venv::target_dir().join("criterion"), since),
        wall: started.elapsed().as_secs_f64(),
    })
}

/// A report row saying why a bench measured nothing.
fn missing_row(report: &mut String, what: &str, target: &str, why: &str) {
    let _ = writeln!(
        report,
        "| {what} | {target} | not measured: {why} | missing |"
    );
}

/// Decision latency (p99 <= 1 ms) and rate (>= 20 k decisions/s from one process) of the
/// Redis quota store, against a private `redis-server` on loopback:
/// `crates/pacing-redis/benches/decisions.rs`.
fn pacing_redis(quick: bool, report: &mut String) -> Result<Value> {
    const P99_US: f64 = 1000.0;
    const PER_S: f64 = 20_000.0;
    let _ = writeln!(
        report,
        "\n## Redis quota store (issue #18; `crates/pacing-redis/benches/decisions.rs`: one \
         `reserve` of Finnhub's two windows, a private `redis-server` on loopback, 1,000 \
         budgets)\n\n| scenario | target | measured | verdict |\n|---|---|---|---|"
    );
    let BenchRun {
        status,
        found,
        criterion: benches,
        wall,
    } = bench_json("stockdata-pacing-redis", "decisions", "pacing_redis", quick)?;
    let Some(v) = found else {
        let why = format!("the bench printed no result line (exit {status})");
        missing_row(report, "decision latency", "p99 <= 1 ms", &why);
        missing_row(report, "decisions/s, one process", ">= 20 k/s", &why);
        return Ok(json!({"status": status, "wall_s": wall}));
    };
    if let Some(why) = v["skipped"].as_str() {
        missing_row(report, "decision latency", "p99 <= 1 ms", why);
        missing_row(report, "decisions/s, one process", ">= 20 k/s", why);
        return Ok(json!({"skipped": why, "wall_s": wall}));
    }
    let us = |l: &Value, k: &str| l[k].as_f64().unwrap_or(f64::NAN);
    for (key, what) in [
        ("one_caller", "empty windows"),
        (
            "one_caller_full_windows",
            "every window full (each slot found a span ahead)",
        ),
    ] {
        let l = &v[key];
        let p99 = us(l, "p99_us");
        let _ = writeln!(
            report,
            "| one caller, {} decisions one after another, {what} | p99 <= 1 ms | p50 {:.0} µs, \
             p99 {p99:.0} µs, p99.9 {:.0} µs, max {:.0} µs | {} |",
            l["decisions"],
            us(l, "p50_us"),
            us(l, "p999_us"),
            us(l, "max_us"),
            verdict(p99 <= P99_US)
        );
    }
    let concurrent = v["concurrent"].as_array().cloned().unwrap_or_default();
    let best = concurrent
        .iter()
        .map(|c| us(c, "decisions_per_s"))
        .fold(0.0, f64::max);
    let runs: Vec<String> = concurrent
        .iter()
        .map(|c| {
            format!(
                "{} callers: {:.0} k/s ({} in {:.2} s; p50 {:.0} µs, p99 {:.0} µs)",
                c["callers"],
                us(c, "decisions_per_s") / 1e3,
                c["decisions"],
                us(c, "elapsed_s"),
                us(c, "p50_us"),
                us(c, "p99_us"),
            )
        })
        .collect();
    let _ = writeln!(
        report,
        "| concurrent callers in one process, one multiplexed connection (best judged) | \
         >= 20 k decisions/s | {} | {} |",
        runs.join("; "),
        verdict(best >= PER_S)
    );
    let mut criterion = Vec::new();
    for (id, mean_ns, _) in benches.iter().filter(|b| b.0.starts_with("redis_pacing/")) {
        let _ = writeln!(
            report,
            "| criterion: {id} | reported | {:.1} µs per decision (mean) | |",
            mean_ns / 1e3
        );
        criterion.push(json!({"id": id, "mean_us": mean_ns / 1e3}));
    }
    let _ = writeln!(report, "\nSection wall time {wall:.0} s (build included).");
    Ok(json!({
        "measured": v,
        "best_decisions_per_s": best,
        "criterion": criterion,
        "status": status,
        "wall_s": wall,
    }))
}

/// The PostgreSQL store's insert rate (>= 200 k rows/s): 100 symbols x 20 years of daily bars
/// synced into an empty store, a private server with durable defaults on loopback TCP:
/// `crates/store-postgres/benches/store.rs`.
#[allow(clippy::cast_precision_loss)]
fn store_postgres(quick: bool, report: &mut String) -> Result<Value> {
    const TARGET: f64 = 200_000.0;
    let _ = writeln!(
        report,
        "\n## PostgreSQL store (issue #18; `crates/store-postgres/benches/store.rs`: a sync of \
         100 symbols x 20 years of daily bars, one `write_bars` per symbol, into an empty store \
         on a private server, fsync on, loopback TCP; binary COPY of new bars)\n\n\
         | scenario | target | measured | verdict |\n|---|---|---|---|"
    );
    let BenchRun {
        status,
        found,
        criterion: benches,
        wall,
    } = bench_json("stockdata-store-postgres", "store", "store_postgres", quick)?;
    let what = "sync 100 symbols x 20 years daily into an empty store";
    let Some(v) = found else {
        let why = format!("the bench printed no result line (exit {status})");
        missing_row(report, what, ">= 200 k rows/s", &why);
        return Ok(json!({"status": status, "wall_s": wall}));
    };
    if let Some(why) = v["skipped"].as_str() {
        missing_row(report, what, ">= 200 k rows/s", why);
        return Ok(json!({"skipped": why, "wall_s": wall}));
    }
    let rows = v["rows"].as_u64().unwrap_or(0);
    for s in v["syncs"].as_array().cloned().unwrap_or_default() {
        let writers = s["writers"].as_u64().unwrap_or(0);
        let durable = s["synchronous_commit"].as_bool().unwrap_or(false);
        // What `stockdata sync` does today: one writer, the store's default options.
        let judged = writers == 1 && !durable;
        let per_s = s["rows_per_s"].as_f64().unwrap_or(0.0);
        let _ = writeln!(
            report,
            "| sync ({rows} rows), {writers} writer(s), synchronous_commit {}, timed run | {} \
             | {:.0} k rows/s ({:.2} s); store {:.1} bytes/row with indexes | {} |",
            if durable { "on" } else { "off (default)" },
            if judged {
                ">= 200 k rows/s"
            } else {
                "reported"
            },
            per_s / 1e3,
            s["seconds"].as_f64().unwrap_or(0.0),
            s["bytes"].as_f64().unwrap_or(0.0) / rows.max(1) as f64,
            if judged { verdict(per_s >= TARGET) } else { "" },
        );
    }
    let mut criterion = Vec::new();
    for (id, mean_ns, elements) in benches
        .iter()
        .filter(|b| b.0.starts_with("store-postgres/"))
    {
        let judged = id.contains("sync");
        let per_s = elements.map_or(0.0, |n| n as f64 / (mean_ns / 1e9));
        let _ = writeln!(
            report,
            "| criterion: {id} | {} | {:.0} k rows/s ({:.1} ms, mean) | {} |",
            if judged {
                ">= 200 k rows/s"
            } else {
                "reported"
            },
            per_s / 1e3,
            mean_ns / 1e6,
            if judged { verdict(per_s >= TARGET) } else { "" },
        );
        criterion.push(json!({"id": id, "mean_ms": mean_ns / 1e6, "rows_per_s": per_s}));
    }
    let _ = writeln!(
        report,
        "\nServer started in {:.1} s (initdb included); section wall time {wall:.0} s (build \
         included).",
        v["server_startup_s"].as_f64().unwrap_or(0.0)
    );
    Ok(json!({"measured": v, "criterion": criterion, "status": status, "wall_s": wall}))
}

/// The multi-process proof (issue #18), `crates/app/tests/it/shared_quota.rs`: three `serve`
/// replicas and a `sync` share one Finnhub key through Redis against a sandbox enforcing
/// 60/min and 30/s, for two minutes (0 throttles, >= 95 % of the windows used), then with Redis
/// killed and restarted. The test (in the test profile, `cargo test`) writes its
/// measurements to the file `STOCKDATA_SHARED_QUOTA_REPORT` names.
#[allow(clippy::too_many_lines)]
fn shared_quota(out_dir: &Path, report: &mut String) -> Result<Value> {
    let file = out_dir.join("shared-quota.json");
    match std::fs::remove_file(&file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", file.display())),
    }
    let _ = writeln!(
        report,
        "\n## Shared quota (issue #18; `crates/app/tests/it/shared_quota.rs`: 3 `serve` \
         replicas x 3 clients and a `sync`, one Finnhub key shared through a private \
         `redis-server`, a sandbox enforcing 60/min and 30/s)\n\n\
         | scenario | target | measured | verdict |\n|---|---|---|---|"
    );
    let started = std::time::Instant::now();
    let mut cmd = cargo(&[
        "test",
        "--locked",
        "-p",
        "stockdata-app",
        "--test",
        "it",
        crate::LONG_TESTS,
        "--",
        "--nocapture",
    ]);
    cmd.env("STOCKDATA_SHARED_QUOTA_REPORT", &file);
    eprintln!("xtask: shared quota test: {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("shared quota test: cannot start: {e}"))?;
    let wall = started.elapsed().as_secs_f64();
    let found = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .map(|v| v["shared_quota"].clone());
    let Some(v) = found.filter(|v| v["shared"].is_object()) else {
        missing_row(
            report,
            "3 replicas + sync sharing one key, 2 min",
            "0 throttles; >= 0.95 x quota used",
            &format!("the test wrote no shared-phase measurements ({status})"),
        );
        return Ok(json!({"test": status.to_string(), "wall_s": wall}));
    };
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let sum = |phase: &Value, k: &str| -> u64 {
        phase["replicas"]
            .as_array()
            .map_or(0, |r| r.iter().map(|c| n(&c[k])).sum())
    };
    let each = |phase: &Value, k: &str| -> String {
        phase["replicas"].as_array().map_or_else(String::new, |r| {
            r.iter()
                .map(|c| n(&c[k]).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let shared = &v["shared"];
    let (admitted, refused, bound) = (
        n(&shared["admitted"]),
        n(&shared["refused"]),
        n(&shared["bound"]),
    );
    let throttled = sum(shared, "throttled");
    let used = shared["used"].as_f64().unwrap_or(0.0);
    let secs = shared["seconds"].as_f64().unwrap_or(0.0);
    let _ = writeln!(
        report,
        "| shared through Redis, {secs:.0} s | 0 throttles | sandbox refused {refused}; \
         throttle answers seen by the replicas {throttled} | {} |",
        verdict(refused == 0 && throttled == 0)
    );
    let _ = writeln!(
        report,
        "| the same | >= 0.95 x quota used | {admitted} admitted of at most {bound} (two \
         60-request windows) = {:.3} x; requests sent by the replicas {} (the sync's \
         included in the sandbox's count); {} client answers | {} |",
        used,
        each(shared, "requests"),
        shared["answered"],
        verdict(used >= 0.95)
    );
    let waited = shared["replicas"]
        .as_array()
        .is_some_and(|r| !r.is_empty() && r.iter().all(|c| n(&c["waits"]) > 0));
    let _ = writeln!(
        report,
        "| the same: every replica waited, none decided locally | waits > 0, 0 local \
         decisions | waits {}; local decisions {} | {} |",
        each(shared, "waits"),
        each(shared, "local_decisions"),
        verdict(waited && sum(shared, "local_decisions") == 0)
    );
    let gone = &v["redis_gone"];
    if gone.is_object() {
        let refused = n(&gone["refused"]);
        let _ = writeln!(
            report,
            "| Redis killed, {:.0} s: each process paces alone at a quarter of every window | \
             0 throttles, every replica degraded | {} more admitted, sandbox refused {refused}, \
             replicas' throttle answers {}; {} of 3 replicas degraded; local decisions {} | {} |",
            gone["seconds"].as_f64().unwrap_or(0.0),
            gone["admitted"],
            sum(gone, "throttled").saturating_sub(throttled),
            gone["degraded_replicas"],
            each(gone, "local_decisions"),
            verdict(refused == 0 && n(&gone["degraded_replicas"]) == 3 && n(&gone["admitted"]) > 0)
        );
    }
    let back = &v["redis_back"];
    if back.is_object() {
        let after = back["shared_again_after_s"].as_f64();
        let _ = writeln!(
            report,
            "| Redis restarted | shared again within 30 s, 0 throttles | {}; {} more \
             admitted (the clients stop once every replica shares again), sandbox refused {} \
             | {} |",
            after.map_or_else(
                || "still degraded after 30 s".to_owned(),
                |s| format!("shared again after {s:.1} s")
            ),
            back["admitted"],
            back["refused"],
            verdict(after.is_some() && n(&back["refused"]) == 0)
        );
    }
    let _ = writeln!(
        report,
        "\nThe test {} (`cargo test -p stockdata-app --test it {}`); section wall time \
         {wall:.0} s (build included).",
        if status.success() { "passed" } else { "FAILED" },
        crate::LONG_TESTS
    );
    Ok(json!({
        "measured": v,
        "test": status.to_string(),
        "passed": status.success(),
        "wall_s": wall,
    }))
}

/// Issue #19's three stream scenarios:
/// - `stockdata stream` (release) reading ten symbols' trades from a sandbox streaming 100 k
///   messages a second (`--stream-speed 60 --stream-trades-per-minute 10000`), NDJSON to a
///   file: messages a second, drops (the `dropped` records it wrote), CPU per message;
/// - `crates/app/benches/stream_latency.rs`: socket frame in -> NDJSON line out, p99 <= 1 ms;
/// - `crates/app/benches/stream_fanout.rs`: `serve`, 200 SSE clients in another process,
///   p99 delivery <= 5 ms, no stalls.
#[allow(clippy::cast_precision_loss)]
fn stream(bin: &Path, out_dir: &Path, quick: bool, report: &mut String) -> Result<Value> {
    let seconds: u64 = if quick { 5 } else { 15 };
    let _ = writeln!(
        report,
        "\n## Live streams (issue #19)\n\n| scenario | target | measured | verdict |\n\
         |---|---|---|---|"
    );
    let mut results = serde_json::Map::new();

    // 1. 100 k messages a second into a file.
    let (_sb, addr) = sandbox(
        bin,
        &[
            "--no-quotas",
            // A Friday at 10:00 New York: the market is open and the tape runs.
            "--now",
            "2024-03-08T15:00:00Z",
            "--stream-speed",
            "60",
            "--stream-trades-per-minute",
            "10000",
        ],
    )?;
    let file = out_dir.join("stream.ndjson");
    let sink = std::fs::File::create(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let started = std::time::Instant::now();
    let out = Command::new(bin)
        .env_clear()
        .env("APCA_API_KEY_ID", "bench-key")
        .env("APCA_API_SECRET_KEY", "bench-secret")
        .env(
            "STOCKDATA__PROVIDERS__ALPACA__STREAM_URL",
            format!("ws://{addr}/alpaca/stream/v2"),
        )
        .current_dir(out_dir)
        .args(["--stats", "--no-store", "stream", "--trades", "--for"])
        .arg(format!("{seconds}s"))
        .args([
            "AAPL", "AMD", "AMZN", "GOOGL", "META", "MSFT", "NVDA", "QQQ", "SPY", "TSLA",
        ])
        .stdout(sink)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run stockdata stream: {e}"))?;
    let wall = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stats = stderr
        .lines()
        .find(|l| l.contains("stockdata_stats"))
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["stockdata_stats"].clone())
        .ok_or_else(|| {
            format!(
                "stockdata stream printed no stats (exit {:?}):\n{stderr}",
                out.status.code()
            )
        })?;
    let (mut trades, mut dropped, mut drop_records) = (0_u64, 0_u64, 0_u64);
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    for line in text.lines() {
        if line.starts_with(r#"{"type":"trade""#) {
            trades += 1;
        } else if line.contains(r#""state":"dropped""#) {
            drop_records += 1;
            dropped += serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v["dropped"].as_u64())
                .unwrap_or(0);
        }
    }
    drop(text);
    let _ = std::fs::remove_file(&file);
    let per_s = trades as f64 / seconds as f64;
    let cpu_ms = stats["cpu_ms"].as_f64().unwrap_or(f64::NAN);
    let cpu_us_per_msg = cpu_ms * 1e3 / trades.max(1) as f64;
    let _ = writeln!(
        report,
        "| `stockdata stream` (release), ten symbols' trades from a sandbox streaming 100 k \
         messages/s, NDJSON to a file, {seconds} s | 100 k messages/s, no drops; CPU per \
         message | {trades} trades ({:.1} k/s), {dropped} dropped ({drop_records} `dropped` \
         records); {cpu_us_per_msg:.1} µs CPU per message; peak RSS {} MB; exit {} | {} |",
        per_s / 1e3,
        stats["peak_rss_kb"].as_u64().unwrap_or(0) / 1024,
        out.status.code().unwrap_or(-1),
        verdict(out.status.success() && dropped == 0 && per_s >= 95_000.0)
    );
    results.insert(
        "cli".into(),
        json!({
            "seconds": seconds,
            "trades": trades,
            "per_s": per_s,
            "dropped": dropped,
            "drop_records": drop_records,
            "cpu_us_per_message": cpu_us_per_msg,
            "stats": stats,
            "wall_s": wall,
        }),
    );

    // 2. Frame in -> line out.
    let latency = bench_json("stockdata-app", "stream_latency", "stream_latency", false)?;
    match &latency.found {
        Some(v) => {
            for (key, what) in [
                ("steady", "one trade a frame, 1,000 frames/s"),
                ("bursts", "100 trades a frame, 100 frames/s"),
            ] {
                let l = &v[key];
                let us = |k: &str| l[k].as_f64().unwrap_or(f64::NAN);
                let complete = l["lines"] == l["expected"];
                let _ = writeln!(
                    report,
                    "| latency stockdata adds, socket frame in -> NDJSON line out ({what}; \
                     `benches/stream_latency.rs`) | p99 <= 1 ms | {} of {} lines; p50 {:.0} \
                     µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs | {} |",
                    l["lines"],
                    l["expected"],
                    us("p50_us"),
                    us("p99_us"),
                    us("p999_us"),
                    us("max_us"),
                    verdict(complete && us("p99_us") <= 1000.0)
                );
            }
        }
        None => missing_row(
            report,
            "latency, frame in -> line out",
            "p99 <= 1 ms",
            &format!("the bench printed no result line (exit {})", latency.status),
        ),
    }
    results.insert(
        "latency".into(),
        json!({"measured": latency.found, "status": latency.status, "wall_s": latency.wall}),
    );

    // 3. SSE fan-out.
    let fanout = bench_json("stockdata-app", "stream_fanout", "stream_fanout", false)?;
    match &fanout.found {
        Some(v) => {
            let us = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
            let whole = v["deliveries"] == v["expected_deliveries"]
                && v["reading_clients_let_go"] == json!(0);
            let _ = writeln!(
                report,
                "| `serve` SSE fan-out, {} clients (another process) + 1 that never reads, {} \
                 symbols, {} trades/s for {} s (`benches/stream_fanout.rs`) | no stalls; p99 \
                 delivery <= 5 ms | {} of {} delivered, {} reading clients let go, the stalled \
                 one let go: {}; p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs; \
                 server CPU {:.1} µs a delivery | {} |",
                v["clients"],
                v["symbols"],
                v["events_per_second"],
                v["seconds"],
                v["deliveries"],
                v["expected_deliveries"],
                v["reading_clients_let_go"],
                v["stalled_client_let_go"],
                us("p50_us"),
                us("p99_us"),
                us("p999_us"),
                us("max_us"),
                us("server_cpu_ns_per_delivery") / 1e3,
                verdict(whole && us("p99_us") <= 5000.0)
            );
        }
        None => missing_row(
            report,
            "SSE fan-out",
            "p99 <= 5 ms",
            &format!("the bench printed no result line (exit {})", fanout.status),
        ),
    }
    results.insert(
        "fanout".into(),
        json!({"measured": fanout.found, "status": fanout.status, "wall_s": fanout.wall}),
    );
    let _ = writeln!(
        report,
        "\nSection wall time: CLI {wall:.0} s, latency {:.0} s, fan-out {:.0} s (builds \
         included).",
        latency.wall, fanout.wall
    );
    Ok(Value::Object(results))
}

/// `stockdata brief` for 50 symbols: once to fill a fresh store from the in-process sandbox
/// (free-tier quotas on; `dir`'s config routes everything to the serverless fetcher), then
/// timed from the warm store alone (`--offline`) and with the store in front of the providers
/// (only news published since the last run is asked for), as HTML; the page's size; and the
/// same with one-year charts.
fn brief(bin: &Path, dir: &Path, quick: bool, report: &mut String) -> Result<Value> {
    let runs = if quick { 3 } else { 7 };
    let list: Vec<String> = symbol_list(50);
    let watchlist = dir.join("brief-watchlist.txt");
    std::fs::write(&watchlist, list.join("\n")).map_err(|e| e.to_string())?;
    let store = dir.join("brief.sqlite");
    for stale in [store.clone(), store.with_extension("sqlite-wal")] {
        let _ = std::fs::remove_file(stale);
    }
    let html = dir.join("brief.html");
    let (watchlist, store_arg, html_arg) = (
        watchlist.to_str().unwrap_or(""),
        store.to_str().unwrap_or(""),
        html.to_str().unwrap_or(""),
    );
    // The sandbox's records are synthetic: they are kept in (and read from) the store's sandbox
    // dataset, so every run says --sandbox (offline, no simulator is started).
    let args = |offline: bool| {
        let mut a = vec!["--sandbox", "--store", store_arg];
        if offline {
            a.push("--offline");
        }
        a.extend(["brief", "--watchlist", watchlist, "--output", html_arg]);
        a
    };
    let cold = run_cli(bin, dir, &args(false))?;
    // A run that wrote no page (nothing fetched) or left symbols out is no measurement.
    let check = |what: &str| -> Result {
        let page = std::fs::read_to_string(&html).map_err(|e| format!("brief {what}: {e}"))?;
        let charts = page.matches("<figure class=\"chart\"").count();
        if charts == list.len() {
            Ok(())
        } else {
            Err(format!(
                "brief {what}: {charts} charts for {} symbols",
                list.len()
            ))
        }
    };
    check("cold")?;
    let mut timed = Vec::new();
    for offline in [true, false] {
        let mut walls = Vec::new();
        let mut sent = 0;
        for _ in 0..runs {
            let _ = std::fs::remove_file(&html);
            let stats = run_cli(bin, dir, &args(offline))?;
            check(if offline { "offline" } else { "warm" })?;
            walls.push(stats["process_wall_ms"].as_u64().unwrap_or(u64::MAX));
            sent = requests(&stats);
        }
        timed.push((offline, median(walls), sent));
    }
    let size = std::fs::metadata(&html).map_or(0, |m| m.len());
    let page = std::fs::read_to_string(&html).unwrap_or_default();
    let charts = page.matches("<figure class=\"chart\"").count();

    // A heavier page: one-year charts (252 sessions), the extra history fetched once first.
    let long = |offline: bool| {
        let mut a = args(offline);
        a.extend(["--sessions", "252"]);
        a
    };
    run_cli(bin, dir, &long(false))?;
    check("one-year fill")?;
    let mut walls = Vec::new();
    for _ in 0..runs {
        let _ = std::fs::remove_file(&html);
        let stats = run_cli(bin, dir, &long(true))?;
        check("one-year offline")?;
        walls.push(stats["process_wall_ms"].as_u64().unwrap_or(u64::MAX));
    }
    let year_wall = median(walls);
    let year_size = std::fs::metadata(&html).map_or(0, |m| m.len());
    let _ = writeln!(
        report,
        "\n## Daily brief, 50 symbols (issue #21)\n\n| scenario | target | measured | verdict |\n\
         |---|---|---|---|\n\
         | cold store (fetch and keep, sandbox via serverless) | - | {} ms, {} requests | - |",
        cold["process_wall_ms"],
        requests(&cold)
    );
    for (offline, wall, sent) in &timed {
        let _ = writeln!(
            report,
            "| warm store{} (median of {runs}) | <= 1000 ms | {wall} ms, {sent} requests | {} |",
            if *offline {
                ", --offline"
            } else {
                ", news delta asked"
            },
            verdict(*wall <= 1_000)
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let kib = |bytes: u64| bytes as f64 / 1024.0;
    let _ = writeln!(
        report,
        "| HTML page, {charts} charts of 30 sessions | <= 2 MB | {:.0} KiB | {} |\n\
         | one-year charts (252 sessions), --offline (median of {runs}) | <= 1000 ms, <= 2 MB \
         | {year_wall} ms, {:.0} KiB | {} |",
        kib(size),
        verdict(size <= 2 * 1024 * 1024 && charts == 50),
        kib(year_size),
        verdict(year_wall <= 1_000 && year_size <= 2 * 1024 * 1024)
    );
    Ok(json!({
        "symbols": 50,
        "cold_wall_ms": cold["process_wall_ms"],
        "cold_requests": requests(&cold),
        "offline_wall_ms": timed.first().map(|t| t.1),
        "warm_wall_ms": timed.get(1).map(|t| t.1),
        "warm_requests": timed.get(1).map(|t| t.2),
        "html_bytes": size,
        "charts": charts,
        "year_offline_wall_ms": year_wall,
        "year_html_bytes": year_size,
    }))
}
