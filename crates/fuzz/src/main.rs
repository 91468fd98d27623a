//! `stockdata-fuzz`: replays every corpus and fuzzes every target for a bounded time, on the
//! stable toolchain. `cargo xtask fuzz` runs it; exits non-zero on any failure.

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use stockdata_fuzz::engine::{self, Budget, Failure, Report};
use stockdata_fuzz::{TARGETS, Target, targets};

const USAGE: &str = "\
usage: stockdata-fuzz [--seconds N] [--target NAME]... [--jobs N] [--seed N]
       stockdata-fuzz --target NAME --replay FILE
       stockdata-fuzz --list

  --seconds N    time per target, corpus replay included (default 7)
  --target NAME  only this target (repeatable; default: all)
  --jobs N       targets run at once (default 2)
  --seed N       the run's seed (default: random, printed)
  --replay FILE  run one input against --target and report
  --list         the targets and what they exercise";

struct Args {
    seconds: f64,
    targets: Vec<&'static Target>,
    jobs: usize,
    seed: Option<u64>,
    replay: Option<String>,
    list: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 7.0,
        targets: Vec::new(),
        jobs: 2,
        seed: None,
        replay: None,
        list: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--seconds" => {
                let v = value("--seconds")?;
                args.seconds = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s < 1e7)
                    .ok_or_else(|| format!("--seconds {v:?}: give a number of seconds"))?;
            }
            "--target" => {
                let v = value("--target")?;
                let target = targets::find(&v)
                    .ok_or_else(|| format!("unknown target {v:?}; --list shows them"))?;
                args.targets.push(target);
            }
            "--jobs" => {
                let v = value("--jobs")?;
                args.jobs = v
                    .parse()
                    .ok()
                    .filter(|j| *j > 0)
                    .ok_or_else(|| format!("--jobs {v:?}: give a positive number"))?;
            }
            "--seed" => {
                let v = value("--seed")?;
                args.seed = Some(
                    v.parse()
                        .map_err(|_| format!("--seed {v:?}: give a number"))?,
                );
            }
            "--replay" => args.replay = Some(value("--replay")?),
            "--list" => args.list = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.targets.is_empty() {
        args.targets = TARGETS.iter().collect();
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("stockdata-fuzz: {msg}\n");
            }
            eprintln!("{USAGE}");
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    if args.list {
        for t in TARGETS {
            println!("{:<18} {}", t.name, t.about);
        }
        return ExitCode::SUCCESS;
    }
    if let Some(file) = &args.replay {
        return replay_file(&args, file);
    }
    run(&args)
}

fn replay_file(args: &Args, file: &str) -> ExitCode {
    let [target] = args.targets.as_slice() else {
        eprintln!("stockdata-fuzz: --replay needs exactly one --target");
        return ExitCode::from(2);
    };
    let input = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("stockdata-fuzz: cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    match engine::run_one(target, &input) {
        Ok(()) => {
            println!("{}: {file} passes", target.name);
            ExitCode::SUCCESS
        }
        Err(message) => {
            println!("{}: {file} fails: {message}", target.name);
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> ExitCode {
    let seed = args.seed.unwrap_or_else(random_seed);
    let per_target = Budget::Time(Duration::from_secs_f64(args.seconds));
    let artifacts = engine::artifacts_root();
    println!(
        "stockdata-fuzz: {} targets, {}s each, {} at a time, seed {seed}",
        args.targets.len(),
        args.seconds,
        args.jobs
    );
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Result<Report, Failure>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.min(args.targets.len()) {
            scope.spawn(|| {
                while let Some(target) = args.targets.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let outcome = engine::run_target(target, per_target, seed, &artifacts);
                    match &outcome {
                        Ok(r) => println!(
                            "  {:<18} ok   {:>3} corpus files, {:>7} cases in {:.1}s",
                            r.target,
                            r.corpus,
                            r.cases,
                            r.elapsed.as_secs_f64()
                        ),
                        Err(f) => println!("  {:<18} FAIL", f.target),
                    }
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(outcome);
                }
            });
        }
    });
    let results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let failures: Vec<&Failure> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let cases: u64 = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| r.cases)
        .sum();
    println!(
        "stockdata-fuzz: {} passed, {} failed ({cases} cases in {:.1}s, seed {seed})",
        results.len() - failures.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    for f in failures {
        eprintln!("\n{f}");
    }
    ExitCode::FAILURE
}

fn random_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) ^ (u64::from(std::process::id()) << 32)
}
