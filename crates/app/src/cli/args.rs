//! The command line's flags: what `stockdata --help` lists. Each command's arguments are a
//! struct whose `run` lives in the command's own file.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand};
use stockdata_app::domain::{Date, Interval, Symbol, Timestamp};
use stockdata_app::{brief, registry};

use super::output::Format;

/// Market data (quotes, OHLCV bars, company news) from Alpha Vantage, Finnhub, Alpaca and your
/// serverless fetcher, as one typed stream.
#[derive(Debug, Parser)]
#[command(
    name = "stockdata",
    version,
    propagate_version = true,
    after_help = TOP_HELP,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Cli {
    /// The async runtime the command runs on. `stream` from real providers runs on one thread,
    /// so an event goes from the socket to stdout without waking another thread. Everything
    /// else, and `stream --sandbox` (whose simulator runs in the same process), gets two
    /// workers.
    pub(crate) fn runtime(&self) -> tokio::runtime::Builder {
        if matches!(self.command, Command::Stream(_)) && !self.global.sandbox {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2);
            builder
        }
    }
}

/// Examples, the environment and the exit codes, under `stockdata --help`.
const TOP_HELP: &str = "\
Examples:
  stockdata --sandbox agent --watchlist AAPL,MSFT,NVDA   try it: synthetic data, no keys
  stockdata quote AAPL MSFT BRK.B
  stockdata bars AAPL --from 2024-01-02 --format csv > aapl.csv
  stockdata sync --watchlist watchlist.txt --from 2005-01-01
  stockdata bars AAPL --from 2005-01-01 --offline

Environment:
  ALPHAVANTAGE_API_KEY, FINNHUB_API_KEY          provider keys
  APCA_API_KEY_ID, APCA_API_SECRET_KEY           Alpaca's key pair
  STOCKDATA_SERVERLESS_TOKEN                     your serverless fetcher's token
  STOCKDATA_CONFIG                               the config file (default ./stockdata.toml)
  STOCKDATA__SECTION__KEY                        any config key (STOCKDATA__AGENT__CONCURRENCY=8)
  NO_COLOR                                       no colour in log lines

Exit codes:
  0 everything fetched   2 usage or configuration error   3 partial   4 nothing fetched

`stockdata providers` says what each provider needs; README.md has the rest.";

/// Options every command takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct Global {
    /// Config file (default: $STOCKDATA_CONFIG, else ./stockdata.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Use only this provider, whatever [routing] says.
    #[arg(long, global = true, value_name = "NAME", value_parser = provider_names())]
    pub(crate) provider: Option<String>,
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, global = true, value_enum)]
    pub(crate) format: Option<Format>,
    /// Write the records to FILE instead of stdout: all at once when the command is done
    /// (a temporary file renamed over FILE), FILE untouched when nothing was fetched. The
    /// format follows the extension (.json .ndjson .csv) unless --format says otherwise.
    #[arg(long, short, global = true, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// CSV for spreadsheets: cells starting with = + - @ get a leading ' so they are never
    /// run as formulas (the text is then no longer exact).
    #[arg(long, global = true)]
    pub(crate) csv_safe: bool,
    /// Serve every provider from a local simulator with synthetic data: no keys, no network.
    #[arg(long, global = true)]
    pub(crate) sandbox: bool,
    /// With --sandbox: how fast the simulator's streams run, in market seconds per real
    /// second (60: a market minute a second).
    #[arg(long, global = true, value_name = "F", requires = "sandbox")]
    pub(crate) sandbox_speed: Option<f64>,
    /// The local store (default: [store] path, else store.sqlite in the platform's data
    /// directory).
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "no_store")]
    pub(crate) store: Option<PathBuf>,
    /// Neither read nor keep anything in the store: every answer comes from the providers.
    #[arg(long, global = true)]
    pub(crate) no_store: bool,
    /// Answer from the store only; never call a provider (what is missing is named).
    #[arg(long, global = true, conflicts_with = "no_store")]
    pub(crate) offline: bool,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Errors only.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Time zone for dates and times in tables: an IANA name (Europe/London), UTC, or local
    /// (default: America/New_York, the exchanges' zone). JSON, NDJSON and CSV stay UTC.
    #[arg(long, global = true, value_name = "ZONE", value_parser = parse_tz)]
    pub(crate) tz: Option<jiff::tz::TimeZone>,
    /// Log line format on stderr (default: pretty on a terminal, json otherwise).
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["json", "pretty"])]
    pub(crate) log_format: Option<String>,
    /// Pretend it is this instant (RFC 3339), for reproducible runs.
    #[arg(long, global = true, hide = true, value_name = "INSTANT")]
    pub(crate) now: Option<Timestamp>,
    /// Print process statistics (wall, CPU, peak RSS, HTTP requests) to stderr at exit, as
    /// one JSON line: what `cargo xtask bench` reads.
    #[arg(long, global = true, hide = true)]
    pub(crate) stats: bool,
}

/// `--tz`: an IANA zone name, `UTC`, or `local` (the system's zone).
fn parse_tz(text: &str) -> Result<jiff::tz::TimeZone, String> {
    if text.eq_ignore_ascii_case("local") {
        return Ok(jiff::tz::TimeZone::system());
    }
    if text.eq_ignore_ascii_case("utc") || text == "Z" {
        return Ok(jiff::tz::TimeZone::UTC);
    }
    jiff::tz::TimeZone::get(text).map_err(|_| {
        format!(
            "{text:?} is not a time zone: use an IANA name such as America/New_York or \
             Europe/London, UTC, or local"
        )
    })
}

/// `--provider`'s values: the registry's names.
fn provider_names() -> PossibleValuesParser {
    PossibleValuesParser::new(registry::PROVIDERS.iter().map(|d| d.id().as_str()))
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Latest quotes.
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  stockdata quote AAPL MSFT BRK.B\n",
            "  stockdata quote - < watchlist.txt --format csv",
        )
    )]
    Quote(QuoteArgs),
    /// Historical OHLCV bars.
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  stockdata bars AAPL --from 2024-01-02 --to 2024-03-08 --format csv\n",
            "  stockdata bars MSFT --interval 5m\n",
            "  stockdata bars NVDA --days 30 --chart\n",
            "  stockdata bars AAPL --from 2005-01-01 --offline",
        )
    )]
    Bars(BarsArgs),
    /// Company news.
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  stockdata news NVDA --from 2024-03-01 --limit 20 --format ndjson",
        )
    )]
    News(NewsArgs),
    /// Quotes, recent daily bars and news for every symbol of a watchlist.
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  stockdata agent --watchlist watchlist.txt --format json > report.json\n",
            "  stockdata agent --watchlist AAPL,MSFT --plan",
        )
    )]
    Agent(AgentArgs),
    /// A daily market brief of a watchlist for the last completed session: closes, changes,
    /// ranges, a chart of recent sessions with volume, top headlines with sentiment, top
    /// movers and a summary written from the numbers.
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  stockdata brief --watchlist watchlist.txt --output brief.html\n",
            "  stockdata brief --watchlist AAPL,MSFT,NVDA --output brief.md\n",
            "  stockdata brief --watchlist watchlist.txt --date 2024-03-08 --format json\n",
            "  stockdata brief --watchlist watchlist.txt --offline --output brief.html\n",
            "\n",
            "Formats: html (one self-contained page), md (Markdown; with --output brief.md,\n",
            "the charts are SVG files in brief-charts/ beside it), json (the numbers, for\n",
            "templates). Default: from --output's extension, else md on a terminal and json\n",
            "otherwise.\n",
            "\n",
            "Exit codes:\n",
            "  0 every symbol has its prices and headlines   2 usage: a date with no session, or\n",
            "  one not closed yet   3 some sections missing   4 no symbol has a price",
        )
    )]
    Brief(BriefArgs),
    /// Live trades, quotes and minute bars until Ctrl-C: a live table on a terminal, NDJSON
    /// anywhere else.
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  stockdata stream AAPL MSFT\n",
            "  stockdata stream AAPL --trades | jq -c 'select(.type == \"trade\")'\n",
            "  stockdata --sandbox stream AAPL NVDA --bars --limit 10\n",
            "\n",
            "Each channel goes to the first configured provider that streams it (trades: Alpaca\n",
            "or Finnhub; quotes and bars: Alpaca). A reader that falls behind loses the oldest\n",
            "events and is told how many (a `dropped` status record).\n",
            "\n",
            "Exit codes:\n",
            "  0 stopped by Ctrl-C, --limit or --for, or a closed pipe\n",
            "  2 nothing can be streamed as asked: no provider streams it, too many symbols,\n",
            "    credentials or plan refused\n",
            "  4 the stream ended on an error retrying could not mend",
        )
    )]
    Stream(StreamArgs),
    /// What is configured, each provider's limits, and why one is skipped.
    Providers,
    /// Check each configured provider with one cheap request: keys, quota left, what is
    /// mis-set.
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  stockdata doctor\n",
            "  stockdata doctor --provider alpaca --format json\n",
            "\n",
            "Exit codes:\n",
            "  0 every configured provider answered\n",
            "  2 something is mis-set: a key rejected, a plan refused, no provider configured,\n",
            "    [routing] naming a provider without credentials, a store that cannot be used\n",
            "  3 some configured providers did not answer   4 none did",
        )
    )]
    Doctor,
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
    Serve(ServeArgs),
    /// The provider simulator.
    Sandbox {
        #[command(subcommand)]
        action: SandboxAction,
    },
    /// Backfill the store: history for every symbol, committed symbol by symbol; a rerun
    /// fetches only what is missing.
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  stockdata sync --watchlist watchlist.txt --from 2005-01-01\n",
            "  stockdata sync AAPL MSFT --interval 1h --from 2024-01-01",
        )
    )]
    Sync(SyncArgs),
    /// The local store: what it holds, exporting it, compacting it.
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
}

/// `stockdata sync`
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Symbols (or --watchlist).
    #[arg(value_parser = parse_symbol, required_unless_present = "watchlist")]
    pub(crate) symbols: Vec<Symbol>,
    /// A file with one symbol per line (# comments allowed), `-` for stdin, or SYM,SYM,...
    #[arg(long, value_name = "FILE|-|SYM,SYM")]
    pub(crate) watchlist: Option<String>,
    /// First New York calendar date, inclusive, or a distance back from --to: 30d (trading
    /// sessions), 4w, 6mo, 2y (default: five years ago).
    #[arg(long, value_name = "YYYY-MM-DD|30d", value_parser = parse_from)]
    pub(crate) from: Option<From>,
    /// The last N trading sessions up to --to (the same as --from Nd).
    #[arg(long, value_name = "N", conflicts_with = "from",
          value_parser = clap::value_parser!(u32).range(1..=36_600))]
    pub(crate) days: Option<u32>,
    /// Last New York calendar date, inclusive (default: today).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub(crate) to: Option<Date>,
    /// Bar width: 1m 5m 15m 30m 1h 1d 1w 1mo.
    #[arg(long, default_value = "1d")]
    pub(crate) interval: Interval,
    /// Corporate-action adjustment (default: providers.alpaca.adjustment, else raw).
    #[arg(long, value_parser = ["raw", "split", "dividend", "all"])]
    pub(crate) adjustment: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StoreAction {
    /// Where the store is, its size, and what it holds per series.
    Stats,
    /// Every stored bar (or those of --symbol / --interval): CSV unless --format says json
    /// or ndjson; UTC instants and exact decimals, with provenance.
    Export(ExportArgs),
    /// Check the store's integrity and give back the space of deleted rows.
    Vacuum,
}

/// `stockdata store export`
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Only these symbols.
    #[arg(long, value_parser = parse_symbol)]
    pub(crate) symbol: Vec<Symbol>,
    /// Only this bar width.
    #[arg(long)]
    pub(crate) interval: Option<Interval>,
    /// Sandbox data instead of market data.
    #[arg(long)]
    pub(crate) synthetic: bool,
    /// The global --output FILE.
    #[arg(skip)]
    pub(crate) output: Option<PathBuf>,
}

/// A New York calendar date as `YYYY-MM-DD`, with a message that says so.
pub(crate) fn parse_date(text: &str) -> Result<Date, String> {
    let t = text.trim();
    let shaped = t.len() == 10
        && t.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(format!(
            "{text:?} is not a date: use YYYY-MM-DD, e.g. 2024-03-01"
        ));
    }
    t.parse::<Date>()
        .map_err(|_| format!("{text:?} is not a calendar date: use YYYY-MM-DD, e.g. 2024-03-01"))
}

/// `--from`: a New York calendar date, or a distance back from `--to`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum From {
    /// `YYYY-MM-DD`.
    Date(Date),
    /// `Nd` (or `--days N`): the first of the last N NYSE sessions up to `--to`.
    Sessions(u32),
    /// `Nw`, `Nmo`, `Ny`: that many calendar weeks, months or years before `--to`.
    Back(jiff::Span),
}

impl From {
    /// The first date: `to` for a range ending today is anchored at `now` (today counts once
    /// its session has opened).
    pub(crate) fn resolve(self, to: Date, today: Date, now: Timestamp) -> Date {
        match self {
            From::Date(d) => d,
            From::Sessions(n) => sessions_back(n as usize, to, today, now),
            From::Back(span) => to.checked_sub(span).unwrap_or(to),
        }
    }
}

/// The first of the last `n` NYSE sessions up to `to` (the last sessions before now when `to`
/// is today), so `--days 5` on a Sunday or a holiday is the last five sessions.
pub(crate) fn sessions_back(n: usize, to: Date, today: Date, now: Timestamp) -> Date {
    let anchor = if to >= today {
        now
    } else {
        to.tomorrow()
            .map_or(now, stockdata_app::domain::time::daily_bar_start)
    };
    stockdata_app::domain::calendar::last_sessions(n, anchor).map_or(to, |r| r.start())
}

/// `--from`'s value: `YYYY-MM-DD`, or `30d` (sessions), `4w`, `6mo`, `2y` back from `--to`.
pub(crate) fn parse_from(text: &str) -> Result<From, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if !digits.is_empty() && !unit.is_empty() && !unit.starts_with('-') {
        let bad = || {
            format!(
                "{text:?} is not a date: use YYYY-MM-DD, or a distance back from --to: 30d \
                 (trading sessions), 4w, 6mo or 2y"
            )
        };
        let n: u32 = digits.parse().map_err(|_| bad())?;
        if n == 0 || n > 100 * 366 {
            return Err(bad());
        }
        let n64 = i64::from(n);
        return match unit.to_ascii_lowercase().as_str() {
            "d" => Ok(From::Sessions(n)),
            "w" => jiff::Span::new()
                .try_weeks(n64)
                .map(From::Back)
                .map_err(|_| bad()),
            "mo" | "m" => jiff::Span::new()
                .try_months(n64)
                .map(From::Back)
                .map_err(|_| bad()),
            "y" => jiff::Span::new()
                .try_years(n64)
                .map(From::Back)
                .map_err(|_| bad()),
            _ => Err(bad()),
        };
    }
    parse_date(text).map(From::Date).map_err(|e| {
        format!("{e}, or a distance back from --to: 30d (trading sessions), 4w, 6mo or 2y")
    })
}

pub(crate) fn parse_symbol(text: &str) -> Result<Symbol, String> {
    Symbol::parse(text).map_err(|e| e.to_string())
}

/// `stockdata quote`
#[derive(Debug, Args)]
pub(crate) struct QuoteArgs {
    /// Symbols (AAPL MSFT BRK.B ...), or - to read them from stdin (one per line).
    #[arg(required = true, value_parser = parse_symbol_or_stdin)]
    pub(crate) symbols: Vec<SymbolArg>,
    /// Refresh every INTERVAL (5s, 1m; at least 1s) until Ctrl-C: a live table on a terminal,
    /// one batch of records per refresh otherwise.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_every)]
    pub(crate) watch: Option<std::time::Duration>,
}

/// `stockdata stream`
#[derive(Debug, Args)]
pub(crate) struct StreamArgs {
    /// Symbols (AAPL MSFT ...), or - to read them from stdin (one per line).
    #[arg(required = true, value_parser = parse_symbol_or_stdin)]
    pub(crate) symbols: Vec<SymbolArg>,
    /// Trades (with none of --trades, --quotes, --bars: everything a configured provider
    /// streams).
    #[arg(long)]
    pub(crate) trades: bool,
    /// Top-of-book quotes.
    #[arg(long)]
    pub(crate) quotes: bool,
    /// One-minute bars, as each minute closes.
    #[arg(long)]
    pub(crate) bars: bool,
    /// Stop after N market events (trades, quotes and bars; statuses do not count).
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<u64>,
    /// Stop after this long (30s, 5m, 1h).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_every)]
    pub(crate) duration: Option<std::time::Duration>,
}

/// `--watch`: a duration such as `5s`, `90s` or `1m`, at least one second.
fn parse_every(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{text:?} is not an interval: use e.g. 5s, 30s or 1m (at least 1s)");
    let d: jiff::SignedDuration = text.trim().parse().map_err(|_| bad())?;
    let d = std::time::Duration::try_from(d).map_err(|_| bad())?;
    if d < std::time::Duration::from_secs(1) {
        return Err(bad());
    }
    Ok(d)
}

/// A symbol on the command line, or `-` for the symbols on stdin.
#[derive(Debug, Clone)]
pub(crate) enum SymbolArg {
    /// One symbol.
    One(Symbol),
    /// `-`: read symbols from stdin.
    Stdin,
}

fn parse_symbol_or_stdin(text: &str) -> Result<SymbolArg, String> {
    if text == "-" {
        Ok(SymbolArg::Stdin)
    } else {
        parse_symbol(text).map(SymbolArg::One)
    }
}

/// `stockdata bars`
#[derive(Debug, Args)]
pub(crate) struct BarsArgs {
    /// Symbols.
    #[arg(required = true, value_parser = parse_symbol)]
    pub(crate) symbols: Vec<Symbol>,
    /// First New York calendar date, inclusive, or a distance back from --to: 30d (trading
    /// sessions), 4w, 6mo, 2y (default: the last NYSE sessions: 1 for 1m and 5m, 5 for 15m
    /// and 30m, 21 for 1h, 63 for 1d, 252 for 1w, 1260 for 1mo).
    #[arg(long, value_name = "YYYY-MM-DD|30d", value_parser = parse_from)]
    pub(crate) from: Option<From>,
    /// The last N trading sessions up to --to (the same as --from Nd).
    #[arg(long, value_name = "N", conflicts_with = "from",
          value_parser = clap::value_parser!(u32).range(1..=36_600))]
    pub(crate) days: Option<u32>,
    /// Last New York calendar date, inclusive (default: today).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub(crate) to: Option<Date>,
    /// Bar width: 1m 5m 15m 30m 1h 1d 1w 1mo.
    #[arg(long, default_value = "1d")]
    pub(crate) interval: Interval,
    /// Corporate-action adjustment (default: providers.alpaca.adjustment, else raw).
    #[arg(long, value_parser = ["raw", "split", "dividend", "all"])]
    pub(crate) adjustment: Option<String>,
    /// On a terminal, draw the closes as a chart instead of a table (one per symbol).
    #[arg(long)]
    pub(crate) chart: bool,
}

/// `stockdata news`
#[derive(Debug, Args)]
pub(crate) struct NewsArgs {
    /// Symbols.
    #[arg(required = true, value_parser = parse_symbol)]
    pub(crate) symbols: Vec<Symbol>,
    /// First New York calendar date, inclusive, or a distance back from --to: 5d (trading
    /// sessions), 2w, 1mo (default: 3 calendar days ago).
    #[arg(long, value_name = "YYYY-MM-DD|5d", value_parser = parse_from)]
    pub(crate) from: Option<From>,
    /// The last N trading sessions up to --to (the same as --from Nd).
    #[arg(long, value_name = "N", conflicts_with = "from",
          value_parser = clap::value_parser!(u32).range(1..=36_600))]
    pub(crate) days: Option<u32>,
    /// Last New York calendar date, inclusive (default: today).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub(crate) to: Option<Date>,
    /// At most this many articles.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) limit: u32,
}

/// `stockdata agent`
#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// A file with one symbol per line (# comments allowed), or SYM,SYM,...
    #[arg(long, value_name = "FILE|SYM,SYM")]
    pub(crate) watchlist: String,
    /// Print the request plan (requests per provider, expected time) and send nothing.
    #[arg(long, alias = "dry-run")]
    pub(crate) plan: bool,
}

/// `stockdata brief`
#[derive(Debug, Args)]
pub(crate) struct BriefArgs {
    /// A file with one symbol per line (# comments allowed), `-` for stdin, or SYM,SYM,...
    #[arg(long, value_name = "FILE|-|SYM,SYM")]
    pub(crate) watchlist: String,
    /// The session to brief, a New York trading date (default: the last completed session).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub(crate) date: Option<Date>,
    /// Sessions per chart, ending with the briefed one.
    #[arg(long, value_name = "N", default_value_t = brief::DEFAULT_SESSIONS as u32,
          value_parser = clap::value_parser!(u32).range(2..=brief::MAX_SESSIONS as i64))]
    pub(crate) sessions: u32,
    /// Headlines per symbol (0: no news).
    #[arg(long, value_name = "N", default_value_t = brief::DEFAULT_HEADLINES as u32,
          value_parser = clap::value_parser!(u32).range(0..=brief::ARTICLES_PER_SYMBOL as i64))]
    pub(crate) headlines: u32,
    /// The global --output FILE.
    #[arg(skip)]
    pub(crate) output: Option<PathBuf>,
}

/// `stockdata serve`
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on. Anything but loopback requires a token (STOCKDATA_SERVE_TOKEN).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) bind: SocketAddr,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigAction {
    /// The effective configuration, secrets redacted, with where each value came from.
    Show,
    /// Write a commented stockdata.toml to start from (never overwrites a file).
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  stockdata config init\n",
            "  stockdata config init ~/.config/stockdata/stockdata.toml",
        )
    )]
    Init {
        /// Where to write it.
        #[arg(default_value = "stockdata.toml")]
        path: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SandboxAction {
    /// Run the simulator standalone for other tools.
    Serve(SandboxServeArgs),
}

/// `stockdata sandbox serve`
#[derive(Debug, Args)]
pub(crate) struct SandboxServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub(crate) bind: SocketAddr,
    /// Do not enforce the providers' quotas.
    #[arg(long)]
    pub(crate) no_quotas: bool,
    /// Share of requests answered 503.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) error_rate: f64,
    /// Share of connections dropped.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) reset_rate: f64,
    /// Share of bodies truncated.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) malformed_rate: f64,
    /// Latency added to every answer.
    #[arg(long, default_value_t = 0)]
    pub(crate) latency_ms: u64,
    /// Override Finnhub's per-minute quota.
    #[arg(long)]
    pub(crate) finnhub_per_minute: Option<u32>,
    /// Override Alpaca's per-minute quota.
    #[arg(long)]
    pub(crate) alpaca_per_minute: Option<u32>,
    /// Stream time's pace: market seconds per real second (60: a market minute a second).
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    pub(crate) stream_speed: f64,
    /// Trades streamed per symbol and minute (default: each minute bar's own trade count).
    #[arg(long, value_name = "N")]
    pub(crate) stream_trades_per_minute: Option<u32>,
    /// Streams send a heartbeat after this long without a frame.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    pub(crate) stream_heartbeat_ms: u64,
    /// Drop each stream connection abruptly after N data messages.
    #[arg(long, value_name = "N")]
    pub(crate) stream_disconnect_after: Option<u64>,
    /// Share of stream frames replaced by dropping the connection.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub(crate) stream_disconnect_rate: f64,
    /// Refuse every stream authentication.
    #[arg(long)]
    pub(crate) stream_refuse_auth: bool,
    /// Share of stream frames cut in half (invalid JSON).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub(crate) stream_malformed_rate: f64,
    /// After N data messages, a stream connection goes silent (no data, no heartbeat).
    #[arg(long, value_name = "N")]
    pub(crate) stream_stall_after: Option<u64>,
}
