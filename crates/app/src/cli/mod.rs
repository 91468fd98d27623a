//! The `stockdata` command line.

pub mod output;

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory as _, Parser, Subcommand};
use secrecy::SecretString;
use stockdata_domain::time::new_york_date;
use stockdata_domain::{
    Adjustment, BatchBarQuery, Date, DateRange, FetchError, Interval, NewsQuery, ProviderId,
    Symbol, Timestamp,
};
use stockdata_ports::{Clock, FixedClock, SystemClock};
use stockdata_sandbox::{Faults, Sandbox, SandboxConfig};
use tracing::Instrument as _;

use self::output::Format;
use crate::config::{
    self, AlpacaSettings, AlphaVantageSettings, Config, ConfigSources, FinnhubSettings, LogFormat,
    Origin, Provider, ServerlessSettings,
};
use crate::logging::{self, RunId};
use crate::{CancellationToken, StockData};

/// Exit code: everything requested was fetched.
pub const EXIT_OK: u8 = 0;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: some data fetched, some failed.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code: nothing could be fetched.
pub const EXIT_FAILED: u8 = 4;

/// Market data (quotes, OHLCV bars, company news) from Alpha Vantage, Finnhub, Alpaca and your
/// serverless fetcher, as one typed stream.
#[derive(Debug, Parser)]
#[command(name = "stockdata", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Config file (default: $STOCKDATA_CONFIG, else ./stockdata.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Use only this provider (alpha_vantage, finnhub, alpaca, serverless).
    #[arg(long, global = true, value_name = "NAME")]
    provider: Option<String>,
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, global = true, value_enum)]
    format: Option<Format>,
    /// Serve every provider from a local simulator with synthetic data: no keys, no network.
    #[arg(long, global = true)]
    sandbox: bool,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,
    /// Errors only.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Log line format on stderr (default: pretty on a terminal, json otherwise).
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["json", "pretty"])]
    log_format: Option<String>,
    /// Pretend it is this instant (RFC 3339), for reproducible runs.
    #[arg(long, global = true, hide = true, value_name = "INSTANT")]
    now: Option<Timestamp>,
    /// Print process statistics (wall, CPU, peak RSS, HTTP requests) to stderr at exit, as
    /// one JSON line: what `cargo xtask bench` reads.
    #[arg(long, global = true, hide = true)]
    stats: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Latest quotes.
    Quote {
        /// Symbols (AAPL MSFT BRK.B ...).
        #[arg(required = true, value_parser = parse_symbol)]
        symbols: Vec<Symbol>,
    },
    /// Historical OHLCV bars.
    Bars {
        /// Symbols.
        #[arg(required = true, value_parser = parse_symbol)]
        symbols: Vec<Symbol>,
        /// First New York calendar date, inclusive (default: a window that suits the interval).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<Date>,
        /// Last New York calendar date, inclusive (default: today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<Date>,
        /// Bar width: 1m 5m 15m 30m 1h 1d 1w 1mo.
        #[arg(long, default_value = "1d")]
        interval: Interval,
        /// Corporate-action adjustment (default: providers.alpaca.adjustment, else raw).
        #[arg(long, value_parser = ["raw", "split", "dividend", "all"])]
        adjustment: Option<String>,
    },
    /// Company news.
    News {
        /// Symbols.
        #[arg(required = true, value_parser = parse_symbol)]
        symbols: Vec<Symbol>,
        /// First New York calendar date, inclusive (default: 3 days ago).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<Date>,
        /// Last New York calendar date, inclusive (default: today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<Date>,
        /// At most this many articles.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Quotes, recent daily bars and news for every symbol of a watchlist.
    Agent {
        /// A file with one symbol per line (# comments allowed), or SYM,SYM,...
        #[arg(long, value_name = "FILE|SYM,SYM")]
        watchlist: String,
    },
    /// What is configured, each provider's limits, and why one is skipped.
    Providers,
    /// Configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Serve normalized market data over HTTP (docs/openapi.yaml) from the configured providers.
    Serve {
        /// Address to listen on. Anything but loopback requires a token (STOCKDATA_SERVE_TOKEN).
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
    },
    /// The provider simulator.
    Sandbox {
        #[command(subcommand)]
        action: SandboxAction,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// The effective configuration, secrets redacted, with where each value came from.
    Show,
}

#[derive(Debug, Subcommand)]
enum SandboxAction {
    /// Run the simulator standalone for other tools.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8787")]
        bind: SocketAddr,
        /// Do not enforce the providers' quotas.
        #[arg(long)]
        no_quotas: bool,
        /// Share of requests answered 503.
        #[arg(long, default_value_t = 0.0)]
        error_rate: f64,
        /// Share of connections dropped.
        #[arg(long, default_value_t = 0.0)]
        reset_rate: f64,
        /// Share of bodies truncated.
        #[arg(long, default_value_t = 0.0)]
        malformed_rate: f64,
        /// Latency added to every answer.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Override Finnhub's per-minute quota.
        #[arg(long)]
        finnhub_per_minute: Option<u32>,
        /// Override Alpaca's per-minute quota.
        #[arg(long)]
        alpaca_per_minute: Option<u32>,
    },
}

fn parse_symbol(text: &str) -> Result<Symbol, String> {
    Symbol::parse(text).map_err(|e| e.to_string())
}

/// Runs the CLI; the binary's `main`.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stockdata: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    ExitCode::from(runtime.block_on(run(cli)))
}

fn usage_error(message: impl std::fmt::Display) -> u8 {
    eprintln!("stockdata: {message}");
    EXIT_USAGE
}

async fn run(cli: Cli) -> u8 {
    if let Command::Completions { shell } = &cli.command {
        clap_complete::generate(
            *shell,
            &mut Cli::command(),
            "stockdata",
            &mut std::io::stdout(),
        );
        return EXIT_OK;
    }
    let sources = ConfigSources::from_process(cli.config.clone());
    let mut config = match config::load(&sources) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    if let Some(format) = &cli.log_format {
        config.log.format = Some(if format == "json" {
            LogFormat::Json
        } else {
            LogFormat::Pretty
        });
    }
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => Some("error"),
        (false, 0) => None,
        (false, 1) => Some("info"),
        (false, 2) => Some("debug"),
        (false, _) => Some("trace"),
    };
    if let Err(e) = logging::init(&config.log, level, std::io::stderr().is_terminal()) {
        return usage_error(format!("log.level: {e}"));
    }
    let clock: Arc<dyn Clock> = match cli.now {
        Some(at) => Arc::new(FixedClock(at)),
        None => Arc::new(SystemClock),
    };

    if let Command::Sandbox {
        action:
            SandboxAction::Serve {
                bind,
                no_quotas,
                error_rate,
                reset_rate,
                malformed_rate,
                latency_ms,
                finnhub_per_minute,
                alpaca_per_minute,
            },
    } = &cli.command
    {
        let free = stockdata_sandbox::Quotas::FREE;
        let quotas = stockdata_sandbox::Quotas {
            finnhub_per_minute: finnhub_per_minute.unwrap_or(free.finnhub_per_minute),
            alpaca_per_minute: alpaca_per_minute.unwrap_or(free.alpaca_per_minute),
            ..free
        };
        let sandbox_config = SandboxConfig {
            quotas: if *no_quotas { None } else { Some(quotas) },
            faults: Faults {
                error_rate: *error_rate,
                latency: Duration::from_millis(*latency_ms),
                reset_rate: *reset_rate,
                malformed_rate: *malformed_rate,
            },
            ..SandboxConfig::new(Arc::clone(&clock))
        };
        let sandbox = match Sandbox::start(sandbox_config, *bind).await {
            Ok(s) => s,
            Err(e) => return usage_error(format!("--bind {bind}: {e}")),
        };
        eprintln!(
            "stockdata sandbox: SYNTHETIC data (not market data) on http://{}",
            sandbox.addr()
        );
        for p in ["alpha_vantage", "finnhub", "alpaca", "serverless"] {
            eprintln!("  {p:<14} base_url = \"{}\"", sandbox.base_url(p));
        }
        tokio::select! {
            () = sandbox.wait() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        return EXIT_OK;
    }

    let mut sandbox = None;
    if cli.sandbox {
        let sb = match Sandbox::start(
            SandboxConfig::new(Arc::clone(&clock)),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("stockdata: cannot start the sandbox: {e}");
                return EXIT_FAILED;
            }
        };
        eprintln!(
            "stockdata: SANDBOX MODE: synthetic data from a local simulator, not market data"
        );
        point_at_sandbox(&mut config, &sb);
        sandbox = Some(sb);
    }

    let format = cli.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    let run_id = RunId::new();
    let span = tracing::info_span!("run", run_id = %run_id);
    let code = execute(cli, config, clock, format).instrument(span).await;
    if let Some(sb) = sandbox {
        sb.stop().await;
    }
    code
}

/// Points every provider at the in-process sandbox, with test credentials.
fn point_at_sandbox(config: &mut Config, sandbox: &Sandbox) {
    let key = || SecretString::from("sandbox-key");
    let timeout = Duration::from_secs(10);
    config.providers.alpha_vantage = Provider::Configured(AlphaVantageSettings {
        api_key: key(),
        base_url: sandbox.base_url("alpha_vantage"),
        requests_per_day: std::num::NonZeroU32::new(25).unwrap_or(std::num::NonZeroU32::MIN),
        requests_per_second: std::num::NonZeroU32::MIN,
        timeout,
    });
    config.providers.finnhub = Provider::Configured(FinnhubSettings {
        api_key: key(),
        base_url: sandbox.base_url("finnhub"),
        requests_per_minute: std::num::NonZeroU32::new(60).unwrap_or(std::num::NonZeroU32::MIN),
        requests_per_second: std::num::NonZeroU32::new(30).unwrap_or(std::num::NonZeroU32::MIN),
        timeout,
    });
    config.providers.alpaca = Provider::Configured(AlpacaSettings {
        key_id: key(),
        secret_key: key(),
        base_url: sandbox.base_url("alpaca"),
        feed: "iex".to_owned(),
        adjustment: config
            .providers
            .alpaca
            .configured()
            .map_or(Adjustment::Raw, |a| a.adjustment),
        requests_per_minute: std::num::NonZeroU32::new(200).unwrap_or(std::num::NonZeroU32::MIN),
        timeout,
    });
    config.providers.serverless = Provider::Configured(ServerlessSettings {
        base_url: sandbox.base_url("serverless"),
        token: Some(key()),
        timeout,
    });
}

async fn execute(cli: Cli, config: Config, clock: Arc<dyn Clock>, format: Format) -> u8 {
    if let Command::Serve { bind } = &cli.command
        && let Err(e) = crate::serve::check_exposure(bind, &config.serve.tokens)
    {
        return usage_error(e);
    }
    let serve_config = config.serve.clone();
    let started = std::time::Instant::now();
    let want_stats = cli.stats;
    match &cli.command {
        Command::Providers => return providers(&config, cli.sandbox),
        Command::Config {
            action: ConfigAction::Show,
        } => return config_show(&config),
        _ => {}
    }
    let mut builder = StockData::builder()
        .config(config)
        .clock(Arc::clone(&clock))
        .synthetic(cli.sandbox);
    if let Some(name) = &cli.provider {
        match crate::config::ProviderName::parse(name) {
            Some(p) => builder = builder.only_provider(p.id()),
            None => builder = builder.only_provider(ProviderId::new(name.clone())),
        }
    }
    let stockdata = match builder.build() {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let today = new_york_date(clock.now());
    let pacers = Arc::clone(stockdata.pacers());
    let code = run_command(cli, stockdata, serve_config, today, format).await;
    if want_stats {
        print_stats(started, &pacers.stats());
    }
    code
}

/// Wall and CPU time, peak RSS and HTTP counts, as one JSON line on stderr.
fn print_stats(
    started: std::time::Instant,
    http: &[(
        ProviderId,
        stockdata_adapters_http::transport::StatsSnapshot,
    )],
) {
    // CPU time of every thread, in nanoseconds, from the scheduler's accounting (the first
    // field of each task's schedstat): far finer than the 10 ms ticks of /proc/self/stat.
    let cpu_ns: u64 = std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
                .filter_map(|s| {
                    s.split_whitespace()
                        .next()
                        .and_then(|v| v.parse::<u64>().ok())
                })
                .sum()
        })
        .unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let cpu_ms = cpu_ns as f64 / 1e6;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    let http: serde_json::Map<String, serde_json::Value> = http
        .iter()
        .map(|(p, s)| {
            (p.to_string(), serde_json::json!({"requests": s.requests, "retries": s.retries, "throttled": s.throttled, "waits": s.waits, "waited_ms": s.waited_ms}))
        })
        .collect();
    let line = serde_json::json!({"stockdata_stats": {
        "wall_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "cpu_ms": cpu_ms,
        "peak_rss_kb": peak_rss_kb,
        "http": http,
    }});
    eprintln!("{line}");
}

async fn run_command(
    cli: Cli,
    stockdata: StockData,
    serve_config: crate::config::ServeConfig,
    today: Date,
    format: Format,
) -> u8 {
    // Stdout is line-buffered: a large JSON report would otherwise be a write per line.
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    match cli.command {
        Command::Serve { bind } => {
            let listener = match tokio::net::TcpListener::bind(bind).await {
                Ok(l) => l,
                Err(e) => return usage_error(format!("--bind {bind}: {e}")),
            };
            let addr = listener
                .local_addr()
                .map_or_else(|_| bind.to_string(), |a| a.to_string());
            eprintln!("stockdata serve: listening on http://{addr}");
            let shutdown = CancellationToken::new();
            let trigger = shutdown.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                eprintln!("stockdata serve: shutting down, draining in-flight requests");
                trigger.cancel();
            });
            let grace = serve_config.grace_period;
            let router = crate::serve::router(stockdata, serve_config);
            match crate::serve::run(listener, router, grace, shutdown).await {
                Ok(()) => EXIT_OK,
                Err(e) => {
                    eprintln!("stockdata serve: {e}");
                    EXIT_FAILED
                }
            }
        }
        Command::Quote { symbols } => {
            let reports = stockdata.prices().quotes(&symbols).await;
            let (ok, failed): (Vec<_>, Vec<_>) =
                reports.into_iter().partition(|r| r.result.is_ok());
            let quotes: Vec<_> = ok.into_iter().filter_map(|r| r.result.ok()).collect();
            let errors: Vec<(Symbol, FetchError)> = failed
                .into_iter()
                .filter_map(|r| r.result.err().map(|e| (r.symbol, e)))
                .collect();
            finish(
                output::quotes(&mut stdout, format, &quotes).and_then(|()| stdout.flush()),
                quotes.len(),
                &errors,
            )
        }
        Command::Bars {
            symbols,
            from,
            to,
            interval,
            adjustment,
        } => {
            let to = to.unwrap_or(today);
            let from = from.unwrap_or_else(|| default_from(to, interval));
            let range = match DateRange::new(from, to) {
                Ok(r) => r,
                Err(_) => {
                    return usage_error(format!(
                        "--from {from} is after --to {to}: give a --from on or before --to"
                    ));
                }
            };
            let adjustment = adjustment
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| stockdata.default_adjustment());
            let query = BatchBarQuery {
                symbols,
                interval,
                range: range.to_time_range(),
                adjustment,
            };
            let reports = stockdata.history().bars(&query).await;
            let mut bars = Vec::new();
            let mut errors = Vec::new();
            for r in reports {
                match r.result {
                    Ok(series) => bars.extend(series.bars),
                    Err(e) => errors.push((r.symbol, e)),
                }
            }
            let fetched = query.symbols.len() - errors.len();
            finish(
                output::bars(&mut stdout, format, &bars).and_then(|()| stdout.flush()),
                fetched,
                &errors,
            )
        }
        Command::News {
            symbols,
            from,
            to,
            limit,
        } => {
            let to = to.unwrap_or(today);
            let from =
                from.unwrap_or_else(|| to.checked_sub(jiff::Span::new().days(3)).unwrap_or(to));
            let range = match DateRange::new(from, to) {
                Ok(r) => r,
                Err(_) => {
                    return usage_error(format!(
                        "--from {from} is after --to {to}: give a --from on or before --to"
                    ));
                }
            };
            let query = NewsQuery {
                symbols: symbols.clone(),
                range: range.to_time_range(),
                limit: limit as usize,
            };
            let report = stockdata.news().news(&query).await;
            match report.result {
                Ok(articles) => finish(
                    output::news(&mut stdout, format, &articles).and_then(|()| stdout.flush()),
                    1,
                    &[],
                ),
                Err(e) => {
                    let errors: Vec<_> = symbols.into_iter().map(|s| (s, e.clone())).collect();
                    finish(
                        output::news(&mut stdout, format, &[]).and_then(|()| stdout.flush()),
                        0,
                        &errors,
                    )
                }
            }
        }
        Command::Agent { watchlist } => {
            let symbols = match read_watchlist(&watchlist) {
                Ok(s) => s,
                Err(e) => return usage_error(e),
            };
            let cancel = CancellationToken::new();
            let trigger = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("stockdata: interrupted; reporting what finished");
                    trigger.cancel();
                }
            });
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar
            });
            let progress = |done: usize, total: usize| {
                if let Some(bar) = &bar {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                }
            };
            // Each symbol is written as soon as its chunk is done: memory stays flat however
            // long the watchlist.
            let run_id = crate::logging::RunId::new();
            let mut errors = Vec::new();
            let mut write_error = None;
            let stats = {
                let mut writer = match output::AgentWriter::start(&mut stdout, format, &run_id) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        write_error = Some(e);
                        None
                    }
                };
                let stats = stockdata
                    .agent()
                    .run_each(&symbols, &cancel, &progress, run_id, &mut |report| {
                        for (section, e) in report.errors() {
                            errors.push((report.symbol.clone(), section, e.clone()));
                        }
                        if let Some(w) = writer.as_mut()
                            && let Err(e) = w.symbol(&report)
                        {
                            write_error.get_or_insert(e);
                        }
                    })
                    .await;
                if let Some(w) = writer
                    && let Err(e) = w.finish(&stats)
                {
                    write_error.get_or_insert(e);
                }
                stats
            };
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            if let Some(e) = write_error.or_else(|| stdout.flush().err())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                eprintln!("stockdata: cannot write output: {e}");
                return EXIT_FAILED;
            }
            for (symbol, section, e) in &errors {
                eprintln!("stockdata: {symbol} {section}: {} ({e})", e.kind());
            }
            let reported = stats.complete + stats.partial + stats.failed;
            if stats.failed == reported && reported > 0 {
                EXIT_FAILED
            } else if errors.is_empty() {
                EXIT_OK
            } else {
                EXIT_PARTIAL
            }
        }
        Command::Providers
        | Command::Config { .. }
        | Command::Completions { .. }
        | Command::Sandbox { .. } => EXIT_OK,
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The default `--from` for an interval: enough bars to be useful, few enough to be quick.
fn default_from(to: Date, interval: Interval) -> Date {
    let days = match interval {
        Interval::Minute1 | Interval::Minute5 => 1,
        Interval::Minute15 | Interval::Minute30 => 5,
        Interval::Hour1 => 30,
        Interval::Day1 => 90,
        Interval::Week1 => 365,
        Interval::Month1 => 5 * 365,
    };
    to.checked_sub(jiff::Span::new().days(days)).unwrap_or(to)
}

fn read_watchlist(arg: &str) -> Result<Vec<Symbol>, String> {
    let path = std::path::Path::new(arg);
    let text = if path.is_file() {
        std::fs::read_to_string(path).map_err(|e| format!("--watchlist {arg}: {e}"))?
    } else {
        arg.replace(',', "\n")
    };
    let mut symbols = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        for part in line.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            symbols.push(Symbol::parse(part).map_err(|e| format!("--watchlist: {e}"))?);
        }
    }
    if symbols.is_empty() {
        return Err(format!(
            "--watchlist {arg}: no symbols: give a file with one symbol per line, or SYM,SYM"
        ));
    }
    Ok(symbols)
}

/// Flushes output, summarises failures on stderr (one line per symbol), picks the exit code.
fn finish(written: std::io::Result<()>, fetched: usize, errors: &[(Symbol, FetchError)]) -> u8 {
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("stockdata: cannot write output: {e}");
        return EXIT_FAILED;
    }
    for (symbol, e) in errors {
        eprintln!("stockdata: {symbol}: {} ({e})", e.kind());
    }
    let config_problem = errors.iter().any(|(_, e)| matches!(e, FetchError::InvalidRequest { reason } if reason.starts_with("no provider is configured")));
    if config_problem {
        EXIT_USAGE
    } else if errors.is_empty() {
        EXIT_OK
    } else if fetched == 0 {
        EXIT_FAILED
    } else {
        EXIT_PARTIAL
    }
}

fn providers(config: &Config, sandbox: bool) -> u8 {
    let stockdata = match StockData::builder().config(config.clone()).build() {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let mut out = std::io::stdout().lock();
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header([
        "provider",
        "configured",
        "credentials",
        "limits",
        "routed for",
        "note",
    ]);
    for s in stockdata.provider_status() {
        table.add_row([
            s.provider.to_string(),
            if s.configured {
                "yes".into()
            } else {
                "no".into()
            },
            if s.credentials {
                "present".into()
            } else {
                "absent".into()
            },
            s.limits.join(", "),
            s.routed_for.join(", "),
            s.reason.clone().unwrap_or_else(|| {
                if sandbox {
                    "sandbox (synthetic data)".into()
                } else {
                    String::new()
                }
            }),
        ]);
    }
    let _ = writeln!(out, "{table}");
    EXIT_OK
}

/// Builds the `config show` text: sections of `key = value  # origin`.
struct Show<'a> {
    config: &'a Config,
    lines: Vec<String>,
    sections: Vec<String>,
}

impl Show<'_> {
    fn put(&mut self, key: &str, value: String) {
        let origin = match self.config.origins.get(key) {
            Some(Origin::Env(v)) => format!("  # from {v}"),
            Some(Origin::File(p)) => format!("  # from {}", p.display()),
            _ => "  # default".to_owned(),
        };
        let name = key.rsplit('.').next().unwrap_or(key);
        self.lines.push(format!("{name} = {value}{origin}"));
    }

    fn secret(&mut self, key: &str) {
        self.put(key, "\"REDACTED\"".to_owned());
    }

    fn text(&mut self, key: &str, value: &str) {
        self.put(key, format!("{value:?}"));
    }

    fn note(&mut self, reason: &str) {
        self.lines.push(format!("# not configured: {reason}"));
    }

    fn section(&mut self, title: &str) {
        let body = std::mem::take(&mut self.lines).join("\n");
        self.sections.push(format!("[{title}]\n{body}"));
    }
}

fn config_show(config: &Config) -> u8 {
    let mut s = Show {
        config,
        lines: Vec::new(),
        sections: Vec::new(),
    };
    let p = &config.providers;
    match &p.alpha_vantage {
        Provider::Configured(c) => {
            s.secret("providers.alpha_vantage.api_key");
            s.text("providers.alpha_vantage.base_url", c.base_url.as_str());
            s.put(
                "providers.alpha_vantage.requests_per_day",
                c.requests_per_day.to_string(),
            );
            s.put(
                "providers.alpha_vantage.requests_per_second",
                c.requests_per_second.to_string(),
            );
            s.put(
                "providers.alpha_vantage.timeout_ms",
                c.timeout.as_millis().to_string(),
            );
        }
        Provider::Unconfigured { reason } => s.note(reason),
    }
    s.section("providers.alpha_vantage");
    match &p.finnhub {
        Provider::Configured(c) => {
            s.secret("providers.finnhub.api_key");
            s.text("providers.finnhub.base_url", c.base_url.as_str());
            s.put(
                "providers.finnhub.requests_per_minute",
                c.requests_per_minute.to_string(),
            );
            s.put(
                "providers.finnhub.requests_per_second",
                c.requests_per_second.to_string(),
            );
            s.put(
                "providers.finnhub.timeout_ms",
                c.timeout.as_millis().to_string(),
            );
        }
        Provider::Unconfigured { reason } => s.note(reason),
    }
    s.section("providers.finnhub");
    match &p.alpaca {
        Provider::Configured(c) => {
            s.secret("providers.alpaca.key_id");
            s.secret("providers.alpaca.secret_key");
            s.text("providers.alpaca.base_url", c.base_url.as_str());
            s.text("providers.alpaca.feed", &c.feed);
            s.text("providers.alpaca.adjustment", c.adjustment.as_str());
            s.put(
                "providers.alpaca.requests_per_minute",
                c.requests_per_minute.to_string(),
            );
            s.put(
                "providers.alpaca.timeout_ms",
                c.timeout.as_millis().to_string(),
            );
        }
        Provider::Unconfigured { reason } => s.note(reason),
    }
    s.section("providers.alpaca");
    match &p.serverless {
        Provider::Configured(c) => {
            s.text("providers.serverless.base_url", c.base_url.as_str());
            if c.token.is_some() {
                s.secret("providers.serverless.token");
            }
            s.put(
                "providers.serverless.timeout_ms",
                c.timeout.as_millis().to_string(),
            );
        }
        Provider::Unconfigured { reason } => s.note(reason),
    }
    s.section("providers.serverless");
    let list = |v: &[crate::config::ProviderName]| {
        format!(
            "[{}]",
            v.iter()
                .map(|n| format!("{:?}", n.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    s.put("routing.quotes", list(&config.routing.quotes));
    s.put("routing.bars", list(&config.routing.bars));
    s.put("routing.news", list(&config.routing.news));
    s.section("routing");
    s.put("agent.concurrency", config.agent.concurrency.to_string());
    s.put("agent.history_days", config.agent.history_days.to_string());
    s.put("agent.news_days", config.agent.news_days.to_string());
    s.section("agent");
    let format = match config.log.format {
        None => "auto",
        Some(LogFormat::Json) => "json",
        Some(LogFormat::Pretty) => "pretty",
    };
    s.text("log.format", format);
    s.text("log.level", &config.log.level);
    s.section("log");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", s.sections.join("\n\n"));
    EXIT_OK
}
