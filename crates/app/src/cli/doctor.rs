//! `stockdata doctor`: is this setup usable? One cheap request to each configured provider (a
//! quote of [`SYMBOL`], straight to the provider's adapter: no fail-over, no store), built with
//! the instance's own pacers so the requests count where every other request would; then what
//! each quota window has left (in the shared budget when quotas are shared through Redis, else
//! as this process's pacer counts it), and what is mis-set (a key
//! rejected, a plan that does not cover quotes, `[routing]` naming a provider without
//! credentials, a store that cannot be written).
//!
//! Exit codes: 0 every configured provider answered; 2 something is mis-set (a key rejected,
//! an entitlement refused, no provider configured, routing or store unusable: the message
//! says what to set); 3 some configured providers did not answer (network, timeout, 5xx);
//! 4 none did.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use stockdata_app::StockData;
use stockdata_app::adapters::provider::{BuildContext, describe_window};
use stockdata_app::adapters::transport::{PacingError, StatsSnapshot, WindowState};
use stockdata_app::config::{Config, Origin, ProviderConfig};
use stockdata_app::domain::{ErrorKind, FetchError, ProviderId, Symbol};
use stockdata_app::fetch::RunBudget;

use super::output::{Format, for_terminal};
use super::{Ctx, Exit, usage};

/// The symbol every provider is asked about: liquid, listed everywhere, on every free tier.
const SYMBOL: &str = "AAPL";

/// Whose requests the quota counts include, when quotas are kept in this process.
const QUOTA_SCOPE: &str = "this process's requests only: earlier runs and other programs are \
                           not counted";

/// Whose requests the quota counts include: every process on the same keys when they were
/// read from the shared store, else this process's only (and why).
fn quota_scope(stockdata: &StockData, shared: &[SharedState]) -> String {
    let Some(status) = stockdata.quota_status() else {
        return QUOTA_SCOPE.to_owned();
    };
    if shared.iter().any(|(_, s)| s.is_ok()) {
        return format!(
            "every process using the same keys: read from the shared budget ({})",
            status.location
        );
    }
    match shared.iter().find_map(|(_, s)| s.as_ref().err()) {
        Some(e) => format!("this process's requests only: {e}"),
        None => format!(
            "this process's requests only: nothing was asked of {}",
            status.location
        ),
    }
}

/// One provider's windows as the shared store has them, or why it could not say.
type SharedState = (ProviderId, Result<Vec<WindowState>, PacingError>);

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    /// A quote came back, or the provider answered that it has none (the key was accepted).
    Ok,
    /// The provider answered, but is rate limiting or its quota is spent: try again later.
    Limited,
    /// The credentials were refused.
    KeyRejected,
    /// The plan or feed behind the key does not cover the request.
    NotEntitled,
    /// No usable answer: network, timeout, 5xx, a body of the wrong shape.
    Failed,
    /// Not checked: the provider serves no quotes.
    NotRun,
}

/// One provider's check.
#[derive(Debug, Serialize)]
struct Check {
    status: Status,
    symbol: &'static str,
    latency_ms: u64,
    /// HTTP requests sent (retries included), as the transport counted them.
    requests: u64,
    retries: u64,
    /// The error's kind (`unauthorized`, `timeout` ...), when it failed.
    error: Option<&'static str>,
    /// The error's message (credentials redacted by the adapter).
    message: Option<String>,
    /// What to do.
    hint: Option<String>,
}

/// One quota window and what is left of it.
#[derive(Debug, Serialize)]
struct Window {
    /// `25/day`
    window: String,
    requests: u32,
    seconds: u64,
    /// Requests it lets go now: in the shared budget when quotas are shared (see the report's
    /// `quota_scope`), else as this process's pacer counts; none when not configured.
    left: Option<u32>,
}

/// One provider's line of the report.
#[derive(Debug, Serialize)]
struct ProviderReport {
    provider: String,
    name: &'static str,
    configured: bool,
    /// Why it is skipped, when it is: what to set.
    reason: Option<String>,
    routed_for: Vec<&'static str>,
    /// Where its requests go (credentials in the URL redacted).
    base_url: Option<String>,
    check: Option<Check>,
    quota: Vec<Window>,
    /// Until its next request may go, by the pacer.
    next_request_in_ms: Option<u64>,
    /// Requests one agent run may spend of its daily quota (`[agent] daily_quota_share`).
    agent_run_budget: Option<u64>,
}

/// The local store.
#[derive(Debug, Serialize)]
struct StoreReport {
    enabled: bool,
    path: Option<PathBuf>,
    /// `ok`, `disabled` or `problem`.
    status: &'static str,
    detail: String,
}

/// The whole report: what `--format json` prints.
#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    exit_code: u8,
    /// Files settings were read from (none: defaults and environment only).
    config_files: Vec<PathBuf>,
    providers: Vec<ProviderReport>,
    store: StoreReport,
    /// Mis-set things, each with what to do: any of them makes the exit code 2.
    problems: Vec<String>,
    /// Things that work but are probably not meant.
    warnings: Vec<String>,
    quota_scope: String,
    /// The problems as the table shows them.
    #[serde(skip)]
    table_problems: Vec<String>,
}

/// What a check measured before the pacer is read.
struct Probe {
    provider: ProviderId,
    status: Status,
    latency: Duration,
    error: Option<FetchError>,
    hint: Option<String>,
    /// When the check ended: every request it sent was granted before this.
    ended: Instant,
}

/// The global flags doctor heeds.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    /// `--provider`: check this provider alone.
    pub(crate) provider: Option<ProviderId>,
    /// `--store PATH`: judge this store rather than `[store] path`.
    pub(crate) store: Option<PathBuf>,
    /// `--no-store`.
    pub(crate) no_store: bool,
}

/// `stockdata doctor` with the global flags it heeds.
pub(crate) async fn run_with(ctx: Ctx, flags: Flags) -> Exit {
    let stockdata = &ctx.stockdata;
    let config = stockdata.config();
    let Ok(symbol) = Symbol::parse(SYMBOL) else {
        return usage(format!("{SYMBOL} is not a symbol"));
    };
    let only = flags.provider.clone();
    let in_scope = |p: &&ProviderConfig| only.as_ref().is_none_or(|o| o == p.id());
    let checked: Vec<&ProviderConfig> = config
        .providers
        .iter()
        .filter(in_scope)
        .filter(|p| p.is_configured())
        .collect();
    let probes = futures_util::future::join_all(
        checked.iter().map(|p| probe(stockdata, config, p, &symbol)),
    )
    .await;

    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let shared = stockdata.pacers().shared_remaining().await;
    let quota_scope = quota_scope(stockdata, &shared);
    let pacing = Pacing {
        shared,
        stats: stockdata.pacers().stats(),
        waits: stockdata.pacers().ready_in(),
        budget: RunBudget::daily_share(
            stockdata.daily_quotas().iter().cloned(),
            config.agent.daily_quota_share,
        ),
        now: Instant::now(),
    };
    let mut providers = Vec::new();
    for p in config.providers.iter().filter(in_scope) {
        let probe = probes.iter().find(|pr| &pr.provider == p.id());
        if let Some(pr) = probe
            && let Some(hint) = &pr.hint
            && matches!(pr.status, Status::KeyRejected | Status::NotEntitled)
        {
            problems.push(format!("{}: {hint}", p.id()));
        }
        warnings.extend(plain_http(p));
        providers.push(provider_report(stockdata, p, probe, &pacing));
    }

    // The table already says what each provider needs: its problem lines need not repeat it.
    let mut table_problems = problems.clone();
    if checked.is_empty() {
        problems.push(nothing_configured(config, only.as_ref()));
        table_problems.push(
            "no provider is configured: set what the check column says for one of them, or \
             try `stockdata --sandbox doctor`"
                .to_owned(),
        );
    }
    let before = problems.len();
    routing_problems(
        stockdata,
        config,
        only.as_ref(),
        &mut problems,
        &mut warnings,
    );
    let store = store_report(config, &flags);
    if store.status == "problem" {
        problems.push(format!("store: {}", store.detail));
    }
    table_problems.extend(problems.iter().skip(before).cloned());

    let failed = probes.iter().filter(|p| p.status == Status::Failed).count();
    let exit = if !problems.is_empty() {
        Exit::Usage
    } else {
        Exit::from_counts(failed, probes.len())
    };
    let report = Report {
        ok: exit == Exit::Ok,
        exit_code: match exit {
            Exit::Ok => 0,
            Exit::Usage => 2,
            Exit::Partial => 3,
            Exit::Failed => 4,
        },
        config_files: config_files(config),
        providers,
        store,
        problems,
        warnings,
        quota_scope,
        table_problems,
    };
    let written = match ctx.format {
        Format::Table => write_table(&report),
        _ => write_json(&report, ctx.format),
    };
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("stockdata: cannot write output: {e}");
            Exit::Failed
        }
        _ => exit,
    }
}

/// What the instance's pacers say once every check is done.
struct Pacing {
    /// What the shared store says is left, for providers whose quotas it keeps.
    shared: Vec<SharedState>,
    stats: Vec<(ProviderId, StatsSnapshot)>,
    waits: Vec<(ProviderId, Duration)>,
    budget: RunBudget,
    now: Instant,
}

/// `p`'s line of the report: its status, its check, and its quota windows as the pacer has
/// them now.
fn provider_report(
    stockdata: &StockData,
    p: &ProviderConfig,
    probe: Option<&Probe>,
    pacing: &Pacing,
) -> ProviderReport {
    let id = p.id();
    let sent = pacing
        .stats
        .iter()
        .find(|(pid, _)| pid == id)
        .map(|(_, s)| *s)
        .unwrap_or_default();
    let shared = pacing
        .shared
        .iter()
        .find_map(|(pid, s)| s.as_ref().ok().filter(|_| pid == id));
    let quota = p
        .settings
        .limits()
        .iter()
        .map(|w| Window {
            window: describe_window(w),
            requests: w.requests.get(),
            seconds: w.per.as_secs(),
            left: match shared.and_then(|s| s.iter().find(|s| s.window == *w)) {
                Some(state) => Some(state.remaining),
                None => probe.map(|pr| {
                    // Every request of the check was granted before it ended: once a span has
                    // passed since, the window holds none of them.
                    if pacing.now.saturating_duration_since(pr.ended) >= w.span() {
                        w.requests.get()
                    } else {
                        let used = u32::try_from(sent.requests).unwrap_or(u32::MAX);
                        w.requests.get().saturating_sub(used)
                    }
                }),
            },
        })
        .collect();
    let check = probe.map(|pr| Check {
        status: pr.status,
        symbol: SYMBOL,
        latency_ms: millis(pr.latency),
        requests: sent.requests,
        retries: sent.retries,
        error: pr.error.as_ref().map(|e| e.kind().as_str()),
        message: pr.error.as_ref().map(ToString::to_string),
        hint: pr.hint.clone(),
    });
    ProviderReport {
        provider: id.to_string(),
        name: p.descriptor.display_name(),
        configured: p.is_configured(),
        reason: p.unconfigured_reason(),
        routed_for: stockdata
            .provider_status()
            .iter()
            .find(|s| &s.provider == id)
            .map(|s| s.routed_for.clone())
            .unwrap_or_default(),
        base_url: base_url(p),
        check,
        quota,
        next_request_in_ms: probe.and_then(|_| {
            pacing
                .waits
                .iter()
                .find(|(pid, _)| pid == id)
                .map(|(_, d)| millis(*d))
        }),
        agent_run_budget: pacing.budget.remaining(id).filter(|_| p.is_configured()),
    }
}

/// Sends one quote request through `p`'s own adapter, built with the instance's pacers.
async fn probe(
    stockdata: &StockData,
    config: &Config,
    p: &ProviderConfig,
    symbol: &Symbol,
) -> Probe {
    let id = p.id().clone();
    let started = Instant::now();
    let build = BuildContext {
        pacers: stockdata.pacers(),
        clock: Arc::clone(stockdata.clock()),
    };
    let result = match p.settings.build(&build) {
        Ok(adapter) => match adapter.quotes {
            Some(quotes) => quotes.quote(symbol).await.map(|_| ()),
            None => {
                return Probe {
                    provider: id,
                    status: Status::NotRun,
                    latency: Duration::ZERO,
                    error: None,
                    hint: Some("serves no quotes: nothing cheap to ask it".to_owned()),
                    ended: Instant::now(),
                };
            }
        },
        Err(e) => Err(e),
    };
    let latency = started.elapsed();
    let (status, hint) = match &result {
        Ok(()) => (Status::Ok, None),
        Err(e) => classify(config, p, e),
    };
    Probe {
        provider: id,
        status,
        latency,
        error: result.err(),
        hint,
        ended: Instant::now(),
    }
}

/// What a failed check means, and what to do about it.
fn classify(config: &Config, p: &ProviderConfig, e: &FetchError) -> (Status, Option<String>) {
    let id = p.id();
    match e.kind() {
        // The provider answered about the symbol: the key was accepted.
        ErrorKind::UnknownSymbol | ErrorKind::NoData => (
            Status::Ok,
            Some(format!("answered ({}): the key was accepted", e.kind())),
        ),
        ErrorKind::RateLimited | ErrorKind::QuotaExhausted => (
            Status::Limited,
            Some("answered, but it is limiting requests now: try again later".to_owned()),
        ),
        ErrorKind::Unauthorized => (
            Status::KeyRejected,
            Some(format!("key rejected: check {}", credentials(config, p))),
        ),
        ErrorKind::EntitlementDenied => (
            Status::NotEntitled,
            Some(format!(
                "the plan behind the key does not cover a {SYMBOL} quote: check the plan, or \
                 the [providers.{id}] settings that choose what is asked for"
            )),
        ),
        ErrorKind::Timeout | ErrorKind::Transport => (
            Status::Failed,
            Some(format!(
                "no answer: check the network, or providers.{id}.base_url"
            )),
        ),
        ErrorKind::ProviderUnavailable => (
            Status::Failed,
            Some("the provider is failing: try again later".to_owned()),
        ),
        ErrorKind::Malformed | ErrorKind::InvalidRequest => (
            Status::Failed,
            Some(format!(
                "the answer is not what {} sends: check providers.{id}.base_url",
                p.descriptor.display_name()
            )),
        ),
        ErrorKind::Cancelled | ErrorKind::NotStored | ErrorKind::Store => (Status::Failed, None),
    }
}

/// Where `p`'s credentials were set, by name, never by value: "FINNHUB_API_KEY",
/// "providers.finnhub.api_key in file ./stockdata.toml".
fn credentials(config: &Config, p: &ProviderConfig) -> String {
    let names: Vec<String> = p
        .descriptor
        .env_vars()
        .iter()
        .map(|v| {
            let key = format!("providers.{}.{}", p.id(), v.key);
            match config.origins.get(&key) {
                Some(Origin::Env(var)) => var.clone(),
                Some(Origin::File(path)) => format!("{key} in {}", path.display()),
                Some(Origin::Default) | None => format!("{} (or {key})", v.name),
            }
        })
        .collect();
    if names.is_empty() {
        format!("the [providers.{}] settings", p.id())
    } else {
        names.join(" and ")
    }
}

/// `p`'s `base_url` as `config show` prints it (credentials redacted).
fn base_url(p: &ProviderConfig) -> Option<String> {
    let view: serde_json::Value = serde_json::from_str(p.settings.view().get()).ok()?;
    view.get("base_url")?.as_str().map(str::to_owned)
}

/// A warning when `p` sends credentials over plain HTTP to a host that is not this machine.
fn plain_http(p: &ProviderConfig) -> Option<String> {
    if !p.settings.has_credentials() {
        return None;
    }
    let url = url::Url::parse(&base_url(p)?).ok()?;
    let loopback = match url.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    (url.scheme() == "http" && !loopback).then(|| {
        format!(
            "{}: base_url is plain http to {}: its credentials travel unencrypted; use https",
            p.id(),
            url.host_str().unwrap_or_default()
        )
    })
}

/// "no provider is configured", with what to set for each.
fn nothing_configured(config: &Config, only: Option<&ProviderId>) -> String {
    let how: Vec<String> = config
        .providers
        .iter()
        .filter(|p| only.is_none_or(|o| o == p.id()))
        .filter_map(|p| p.unconfigured_reason().map(|r| format!("{}: {r}", p.id())))
        .collect();
    format!(
        "no provider is configured: configure one ({}), or try `stockdata --sandbox doctor`",
        how.join("; ")
    )
}

/// `[routing]` as written naming a provider without credentials (a problem: it was asked
/// for), and a configured provider that no list names (a warning: it is never used).
fn routing_problems(
    stockdata: &StockData,
    config: &Config,
    only: Option<&ProviderId>,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let r = &config.routing;
    for (kind, list) in [("quotes", &r.quotes), ("bars", &r.bars), ("news", &r.news)] {
        let key = format!("routing.{kind}");
        let Some(origin) = config.origins.get(&key) else {
            continue; // the default: every provider, configured or not
        };
        for id in list {
            if let Some(reason) = config
                .providers
                .get(id)
                .and_then(|p| p.unconfigured_reason())
            {
                problems.push(format!(
                    "{key} (from {origin}) names {id}, which is not configured: {reason}"
                ));
            }
        }
    }
    if only.is_some() {
        return;
    }
    for s in stockdata.provider_status() {
        if s.configured && s.routed_for.is_empty() {
            warnings.push(format!(
                "{} is configured but [routing] names it for nothing: it is never asked; add \
                 it to routing.quotes, routing.bars or routing.news",
                s.provider
            ));
        }
    }
}

/// The files settings were read from.
fn config_files(config: &Config) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = config
        .origins
        .values()
        .filter_map(|o| match o {
            Origin::File(path) => Some(path.clone()),
            Origin::Default | Origin::Env(_) => None,
        })
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Whether the store can be opened and written, judged from the file system alone: nothing is
/// created or changed (a probe file in the folder that would hold a new store is created and
/// removed at once).
fn store_report(config: &Config, flags: &Flags) -> StoreReport {
    let store = &config.store;
    let enabled = !flags.no_store && (store.enabled || flags.store.is_some());
    let path = flags.store.clone().or_else(|| store.resolved_path());
    let (status, detail) = if flags.no_store {
        (
            "disabled",
            "--no-store: every answer comes from the providers".to_owned(),
        )
    } else if !enabled {
        (
            "disabled",
            "[store] enabled = false: every answer comes from the providers".to_owned(),
        )
    } else {
        match &path {
            None => (
                "problem",
                "it has no place: this platform names no data directory; set [store] path"
                    .to_owned(),
            ),
            Some(path) => match judge_store(path) {
                Ok(detail) => ("ok", detail),
                Err(detail) => ("problem", detail),
            },
        }
    };
    StoreReport {
        enabled,
        path,
        status,
        detail,
    }
}

fn judge_store(path: &Path) -> Result<String, String> {
    const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(format!(
            "{shown} is not a file: set [store] path (or --store) to a file"
        )),
        Ok(meta) => {
            let mut head = [0u8; 72];
            let read = std::fs::File::open(path).and_then(|mut f| {
                use std::io::Read as _;
                let mut n = 0;
                while n < head.len() {
                    let got = f.read(head.get_mut(n..).unwrap_or_default())?;
                    if got == 0 {
                        break;
                    }
                    n += got;
                }
                Ok(n)
            });
            let n = read.map_err(|e| format!("{shown} cannot be read: {e}"))?;
            if meta.len() > 0 && (n < 16 || head.get(..16) != Some(SQLITE_MAGIC.as_slice())) {
                return Err(format!(
                    "{shown} is not a stockdata store (not an SQLite file): it is left \
                     untouched; set [store] path (or --store) to another file"
                ));
            }
            let app_id = head
                .get(68..72)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, i32::from_be_bytes);
            if n >= 72 && app_id != 0 && app_id != stockdata_store_sqlite::APPLICATION_ID {
                return Err(format!(
                    "{shown} is another program's SQLite file: it is left untouched; set \
                     [store] path (or --store) to another file"
                ));
            }
            std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(|e| format!("{shown} cannot be written: {e}"))?;
            Ok(format!("{shown}: writable"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let Some(folder) = path.ancestors().skip(1).find(|a| a.exists()) else {
                return Err(format!("{shown}: no folder above it exists"));
            };
            if !folder.is_dir() {
                return Err(format!(
                    "{shown} cannot be created: {} is not a folder",
                    folder.display()
                ));
            }
            let probe = folder.join(format!(".stockdata-doctor-{}", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe)
            {
                Ok(_) => {
                    let _ = std::fs::remove_file(&probe);
                    Ok(format!("{shown}: not there yet, created on first use"))
                }
                Err(e) => Err(format!(
                    "{shown} cannot be created: {} is not writable ({e})",
                    folder.display()
                )),
            }
        }
        Err(e) => Err(format!("{shown} cannot be read: {e}")),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn write_json(report: &Report, format: Format) -> std::io::Result<()> {
    // Problems go to stderr too, one line each: a log shows why the exit code is 2.
    for problem in &report.problems {
        eprintln!("stockdata: {problem}");
    }
    let mut out = std::io::stdout().lock();
    let text = if format == Format::Ndjson {
        serde_json::to_string(report)
    } else {
        serde_json::to_string_pretty(report)
    }
    .map_err(std::io::Error::other)?;
    writeln!(out, "{text}")
}

/// The check column: the outcome, or why the provider is not checked.
fn check_cell(p: &ProviderReport) -> String {
    let Some(check) = &p.check else {
        return match &p.reason {
            Some(reason) => format!("not configured: {reason}"),
            None => "not checked".to_owned(),
        };
    };
    let latency = format!("{} ms", check.latency_ms);
    let hint = check.hint.as_deref().unwrap_or_default();
    match check.status {
        Status::Ok if hint.is_empty() => format!("ok: {SYMBOL} quote in {latency}"),
        Status::Ok => format!("ok in {latency}: {hint}"),
        Status::NotRun => hint.to_owned(),
        Status::Limited | Status::KeyRejected | Status::NotEntitled | Status::Failed => {
            let kind = check.error.unwrap_or_default();
            format!("{hint} ({kind}, {latency})")
        }
    }
}

fn quota_cell(p: &ProviderReport) -> String {
    if p.quota.is_empty() {
        return if p.configured { "unpaced" } else { "" }.to_owned();
    }
    p.quota
        .iter()
        .map(|w| match w.left {
            Some(left) => format!("{left} of {}", w.window),
            None => w.window.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_table(report: &Report) -> std::io::Result<()> {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header([
        "provider",
        "configured",
        "routed for",
        "check",
        "quota left",
    ]);
    for p in &report.providers {
        table.add_row([
            p.provider.clone(),
            if p.configured { "yes" } else { "no" }.to_owned(),
            p.routed_for.join(", "),
            for_terminal(&check_cell(p)),
            quota_cell(p),
        ]);
    }
    // On a terminal the table fits its width: the check says what to set, so it wraps
    // rather than being cut; the other columns keep their width.
    if let Some(width) = super::table::Style::for_stdout(super::table::new_york()).width {
        table
            .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
            .set_width(u16::try_from(width).unwrap_or(u16::MAX));
        for (i, column) in table.column_iter_mut().enumerate() {
            if i != 3 {
                column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    let files: Vec<String> = report
        .config_files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    if files.is_empty() {
        writeln!(
            out,
            "config: defaults and environment (no settings from a file)"
        )?;
    } else {
        writeln!(out, "config: {}, then the environment", files.join(", "))?;
    }
    writeln!(out, "store:  {}", report.store.detail)?;
    writeln!(
        out,
        "quota left counts {}",
        for_terminal(&report.quota_scope)
    )?;
    let details: Vec<String> = report
        .providers
        .iter()
        .filter_map(|p| {
            let check = p.check.as_ref()?;
            let message = check.message.as_deref()?;
            Some(format!("  {}: {}", p.provider, for_terminal(message)))
        })
        .collect();
    if !details.is_empty() {
        writeln!(out, "\nerrors:\n{}", details.join("\n"))?;
    }
    if !report.warnings.is_empty() {
        writeln!(out, "\nwarnings:")?;
        for w in &report.warnings {
            writeln!(out, "  {}", for_terminal(w))?;
        }
    }
    if !report.table_problems.is_empty() {
        writeln!(out, "\nproblems (exit 2):")?;
        for p in &report.table_problems {
            writeln!(out, "  {}", for_terminal(p))?;
        }
    }
    let checked = report
        .providers
        .iter()
        .filter(|p| p.check.is_some())
        .count();
    let verdict = match report.exit_code {
        0 => format!("all {checked} configured providers answered"),
        2 => "fix the problems above, then run `stockdata doctor` again".to_owned(),
        _ => "some providers did not answer: see the check column".to_owned(),
    };
    writeln!(out, "\n{verdict}")
}
