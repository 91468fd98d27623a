//! The `stockdata` command line: a thin shell over the library. `args` declares the flags;
//! each command is its own file with a `run`; `exit` maps typed outcomes to exit codes.

mod agent;
mod args;
mod bars;
mod brief;
mod chart;
mod config_cmd;
mod doctor;
mod exit;
mod news;
pub(crate) mod output;
#[cfg(feature = "parquet")]
mod parquet;
mod progress;
mod providers;
mod quote;
mod sandbox;
mod serve;
mod sink;
mod stats;
mod store_cmd;
mod stream;
mod sync;
mod table;
mod watch;
mod watchlist;

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory as _, Parser as _};
use stockdata_app::StockData;
use stockdata_app::config::{self, Config, ConfigSources, LogFormat};
use stockdata_app::domain::Date;
use stockdata_app::domain::time::new_york_date;
use stockdata_app::logging::{self, RunId};
use stockdata_app::ports::{Clock, FixedClock, Store, SystemClock};
use stockdata_sandbox::{Sandbox, SandboxConfig};
use stockdata_store_sqlite::{SqliteOptions, SqliteStore};
use tracing::Instrument as _;

use self::args::{Cli, Command, ConfigAction, SandboxAction};
pub(crate) use self::exit::{Exit, usage};
use self::output::Format;

/// What a command runs with.
pub(crate) struct Ctx {
    /// The composition root, built from config.
    pub(crate) stockdata: StockData,
    /// The output format.
    pub(crate) format: Format,
    /// `--csv-safe`.
    pub(crate) csv_safe: bool,
    /// Today in New York (the default end of date ranges).
    pub(crate) today: Date,
    /// This invocation's id, on every log line.
    pub(crate) run_id: RunId,
    /// Where a progress bar goes, so log lines are written around it.
    pub(crate) bar: progress::BarSlot,
    /// The local store, when one is in use.
    pub(crate) store: Option<Arc<dyn Store>>,
    /// How tables are drawn (`--tz`, colour, width).
    pub(crate) style: table::Style,
    /// `--output FILE`.
    pub(crate) output_path: Option<std::path::PathBuf>,
    /// `--sandbox`: the store's sandbox dataset is the one read.
    pub(crate) sandbox: bool,
}

impl Ctx {
    /// How records are written.
    pub(crate) fn output(&self) -> output::Options {
        output::Options {
            format: self.format,
            csv_safe: self.csv_safe,
            style: self.style.clone(),
        }
    }
}

/// Runs the CLI; the binary's `main`.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match cli.runtime().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stockdata: cannot start the async runtime: {e}");
            return Exit::Failed.into();
        }
    };
    let mut telemetry = logging::Telemetry::default();
    let exit = runtime.block_on(run(cli, &mut telemetry));
    // The runtime is gone before the last spans are sent: the exporter blocks.
    drop(runtime);
    telemetry.shutdown();
    exit.into()
}

/// `cmd` without its hidden flags and commands: what completions offer (clap_complete lists
/// hidden flags too).
fn visible(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new(cmd.get_name().to_owned());
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        out = out.arg(arg.clone());
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out = out.subcommand(visible(sub));
    }
    out
}

/// Whether colour may be used at all: not with `NO_COLOR` set to anything non-empty
/// (no-color.org), not on `TERM=dumb`.
pub(crate) fn colour_allowed() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    !no_color && !dumb
}

/// The log filter `serve` uses when none is configured: its access log is on.
const SERVE_DEFAULT_LEVEL: &str = "warn,stockdata::access=info";

async fn run(cli: Cli, telemetry: &mut logging::Telemetry) -> Exit {
    let Cli { global, command } = cli;
    #[cfg(feature = "parquet")]
    if global.format == Some(Format::Parquet)
        && !matches!(
            command,
            Command::Store {
                action: args::StoreAction::Export(_)
            }
        )
    {
        return usage(
            "--format parquet is for `store export --output FILE` only: this command writes \
             table, json, ndjson or csv",
        );
    }
    if global.format.is_some_and(Format::is_brief_only) && !matches!(command, Command::Brief(_)) {
        return usage(
            "--format md and html are for `brief` only: this command writes table, json, ndjson \
             or csv",
        );
    }
    if let Command::Completions { shell } = &command {
        clap_complete::generate(
            *shell,
            &mut visible(&Cli::command()),
            "stockdata",
            &mut std::io::stdout(),
        );
        return Exit::Ok;
    }
    if let Command::Config {
        action: ConfigAction::Init { path },
    } = &command
    {
        return config_cmd::init(path);
    }
    let sources = ConfigSources::from_process(global.config.clone());
    let mut config = match config::load(&sources) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    if let Some(format) = &global.log_format {
        config.log.format = Some(if format == "json" {
            LogFormat::Json
        } else {
            LogFormat::Pretty
        });
    }
    if matches!(command, Command::Serve(_)) && !config.origins.contains_key("log.level") {
        SERVE_DEFAULT_LEVEL.clone_into(&mut config.log.level);
    }
    let level = match (global.quiet, global.verbose) {
        (true, _) => Some("error"),
        (false, 0) => None,
        (false, 1) => Some("info"),
        (false, 2) => Some("debug"),
        (false, _) => Some("trace"),
    };
    let bar = progress::BarSlot::default();
    let subscriber = logging::subscriber_with_telemetry(
        &config.log,
        level,
        progress::Stderr(bar.clone()),
        std::io::stderr().is_terminal(),
        colour_allowed(),
    )
    .and_then(|(s, t)| {
        tracing::subscriber::set_global_default(s).map_err(|e| e.to_string())?;
        Ok(t)
    });
    match subscriber {
        Ok(t) => *telemetry = t,
        Err(e) => return usage(format!("log: {e}")),
    }
    let clock: Arc<dyn Clock> = match global.now {
        Some(at) => Arc::new(FixedClock(at)),
        None => Arc::new(SystemClock),
    };

    if let Command::Sandbox {
        action: SandboxAction::Serve(args),
    } = command
    {
        return args.run(clock).await;
    }

    let mut sandbox = None;
    // Offline sends nothing: the simulator is not started (the sandbox's data in the store is
    // still the one read).
    if global.sandbox && !global.offline {
        let sb = match Sandbox::start(
            {
                let mut config = SandboxConfig::new(Arc::clone(&clock));
                if let Some(speed) = global.sandbox_speed {
                    config.stream.speed = speed;
                }
                config
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("stockdata: cannot start the sandbox: {e}");
                return Exit::Failed;
            }
        };
        eprintln!(
            "stockdata: SANDBOX MODE: synthetic data from a local simulator, not market data"
        );
        config
            .providers
            .point_at_sandbox(|id| sb.base_url(id.as_str()));
        sandbox = Some(sb);
    }

    let exit = execute(global, command, config, clock, bar).await;
    if let Some(sb) = sandbox {
        sb.stop().await;
    }
    exit
}

async fn execute(
    global: args::Global,
    command: Command,
    config: Config,
    clock: Arc<dyn Clock>,
    bar: progress::BarSlot,
) -> Exit {
    // --format, else what --output's extension says, else table on a terminal and JSON
    // anywhere else.
    let explicit_format = global
        .format
        .or_else(|| global.output.as_deref().and_then(sink::format_for));
    let format = explicit_format.unwrap_or(
        if global.output.is_none() && std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        },
    );
    let writes_records = matches!(
        command,
        Command::Quote(_)
            | Command::Bars(_)
            | Command::News(_)
            | Command::Agent(_)
            | Command::Brief(_)
            | Command::Sync(_)
            | Command::Store {
                action: args::StoreAction::Export(_)
            }
    );
    if global.output.is_some() && !writes_records {
        return usage(
            "--output is for the commands that write records: quote, bars, news, agent, brief, \
             sync and store export",
        );
    }
    // An --output extension only brief writes, given to another command: say so rather
    // than write JSON into brief.html.
    if explicit_format.is_some_and(Format::is_brief_only) && !matches!(command, Command::Brief(_)) {
        return usage(
            "--output: .md and .html files are written by `brief` only; name a .json, .ndjson \
             or .csv file",
        );
    }
    match &command {
        Command::Providers => return providers::run(&config, global.sandbox, format),
        Command::Config {
            action: ConfigAction::Show,
        } => return config_cmd::show(&config, explicit_format),
        Command::Config {
            action: ConfigAction::Init { .. },
        } => return Exit::Ok,
        Command::Serve(args) => {
            if let Err(e) = stockdata_app::serve::check_exposure(&args.bind, &config.serve.tokens) {
                return usage(e);
            }
        }
        _ => {}
    }
    let store = match open_store(&global, &command, &config).await {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    if let Command::Store { mut action } = command {
        if let args::StoreAction::Export(export) = &mut action {
            export.output.clone_from(&global.output);
        } else if global.output.is_some() {
            return usage("--output is for commands that write records (and `store export`)");
        }
        return store_cmd::run(action, store, format, explicit_format, global.csv_safe).await;
    }
    let started = std::time::Instant::now();
    let mut builder = StockData::builder()
        .config(config)
        .clock(Arc::clone(&clock))
        .synthetic(global.sandbox)
        .offline(global.offline);
    if let Some(store) = &store {
        builder = builder.store(Arc::clone(store));
    }
    if let Some(name) = &global.provider
        && let Some(provider) = stockdata_app::registry::find(name)
    {
        builder = builder.only_provider(provider.id().clone());
    }
    let stockdata = match builder.build() {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let pacers = Arc::clone(stockdata.pacers());
    let ctx = Ctx {
        today: new_york_date(clock.now()),
        stockdata,
        format,
        csv_safe: global.csv_safe,
        run_id: RunId::new(),
        bar,
        store,
        style: table::Style::for_stdout(global.tz.clone().unwrap_or_else(table::new_york)),
        output_path: global.output.clone(),
        sandbox: global.sandbox,
    };
    let span = tracing::info_span!("run", run_id = %ctx.run_id);
    let exit = match command {
        // The agent opens its own `run` span with the same id: one run, one run_id.
        Command::Agent(args) => args.run(ctx).await,
        Command::Brief(mut args) => {
            args.output.clone_from(&global.output);
            args.run(ctx).instrument(span).await
        }
        Command::Quote(args) => args.run(ctx).instrument(span).await,
        Command::Bars(args) => args.run(ctx).instrument(span).await,
        Command::News(args) => args.run(ctx).instrument(span).await,
        Command::Serve(args) => args.run(ctx).instrument(span).await,
        Command::Sync(args) => args.run(ctx).instrument(span).await,
        Command::Stream(args) => args.run(ctx).instrument(span).await,
        Command::Doctor => {
            let flags = doctor::Flags {
                provider: global
                    .provider
                    .as_deref()
                    .and_then(stockdata_app::registry::find)
                    .map(|d| d.id().clone()),
                store: global.store.clone(),
                no_store: global.no_store,
            };
            doctor::run_with(ctx, flags).instrument(span).await
        }
        Command::Providers
        | Command::Config { .. }
        | Command::Completions { .. }
        | Command::Store { .. }
        | Command::Sandbox { .. } => Exit::Ok,
    };
    if global.stats {
        stats::print(started, &pacers.stats());
    }
    exit
}

/// Opens the store the command uses: `--store`, else `[store] url` (PostgreSQL), else
/// `[store] path`, else the platform's data directory; none with `--no-store` or
/// `[store] enabled = false`, or for commands that fetch nothing. A file that is not a
/// stockdata store is refused (exit 2) and left untouched.
async fn open_store(
    global: &args::Global,
    command: &Command,
    config: &Config,
) -> Result<Option<Arc<dyn Store>>, Exit> {
    let uses_store = matches!(
        command,
        Command::Quote(_)
            | Command::Bars(_)
            | Command::News(_)
            | Command::Agent(_)
            | Command::Brief(_)
            | Command::Serve(_)
            | Command::Sync(_)
            | Command::Store { .. }
    );
    if !uses_store || global.no_store || (!config.store.enabled && global.store.is_none()) {
        if global.offline {
            return Err(usage(
                "--offline answers from the store, and none is in use: drop --no-store (or \
                 set [store] enabled = true)",
            ));
        }
        return Ok(None);
    }
    // A PostgreSQL store several hosts share (`[store] url`), unless --store names a file.
    if let (Some(url), None) = (&config.store.url, &global.store) {
        let options = stockdata_store_postgres::PostgresOptions::default()
            .with_busy_timeout(config.store.busy_timeout);
        return match stockdata_store_postgres::PostgresStore::connect(url, &options).await {
            Ok(store) => Ok(Some(Arc::new(store))),
            Err(e) => Err(usage(format!("store.url: {e}"))),
        };
    }
    let Some(path) = global
        .store
        .clone()
        .or_else(|| config.store.resolved_path())
    else {
        return Err(usage(
            "the store has no place: this platform names no data directory; set [store] path \
             or pass --store PATH (or --no-store)",
        ));
    };
    let mut options = SqliteOptions::default();
    options.busy_timeout = config.store.busy_timeout;
    match SqliteStore::open(&path, &options) {
        Ok(store) => Ok(Some(Arc::new(store))),
        Err(e) => Err(usage(e)),
    }
}

/// Whether the library has any provider for this kind; if not, the usage error that says
/// what to set for each provider, once.
pub(crate) fn require_providers(
    kind: &str,
    stockdata: &StockData,
    providers: &[stockdata_app::domain::ProviderId],
) -> Result<(), Exit> {
    if !providers.is_empty() || stockdata.is_offline() {
        return Ok(());
    }
    let how: Vec<String> = stockdata
        .provider_status()
        .iter()
        .filter_map(|s| s.reason.as_ref().map(|r| format!("  {}: {r}", s.provider)))
        .collect();
    Err(usage(format!(
        "no provider is configured for {kind}: configure one, or run with --sandbox for \
         synthetic data\n{}",
        how.join("\n")
    )))
}

/// Writes the per-symbol failures to stderr, one line each, and picks the exit code.
pub(crate) fn finish(
    written: std::io::Result<()>,
    asked: usize,
    errors: &[(
        stockdata_app::domain::Symbol,
        stockdata_app::domain::FetchError,
    )],
) -> Exit {
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("stockdata: cannot write output: {e}");
        return Exit::Failed;
    }
    for (symbol, e) in errors {
        eprintln!("stockdata: {symbol}: {} ({e})", e.kind());
    }
    // Asked for something no provider can serve (an adjustment, an interval): the request is
    // what to change, as with any usage error.
    let invalid = errors
        .iter()
        .all(|(_, e)| e.kind() == stockdata_app::domain::ErrorKind::InvalidRequest);
    if asked > 0 && errors.len() >= asked && invalid {
        return Exit::Usage;
    }
    Exit::from_counts(errors.len(), asked)
}
