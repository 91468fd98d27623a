//! `stockdata config show`: walks the serializable view of the whole effective config (every
//! section, whatever sections exist), secrets redacted, each value with its origin.
//! `stockdata config init`: writes a commented `stockdata.toml` to start from, built from the
//! same view of the defaults.

use std::io::Write as _;
use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use stockdata_app::adapters::provider::describe_window;
use stockdata_app::config::{
    CONFIG_PATH_VAR, Config, DEFAULT_FILE, OVERRIDE_PREFIX, Origin, SERVE_TOKEN_VAR,
};

use super::output::Format;
use super::{Exit, usage};

/// The config view with the file's order kept.
#[derive(Deserialize)]
#[serde(untagged)]
enum Node {
    Table(IndexMap<String, Node>),
    Leaf(serde_json::Value),
}

/// One `[section]` as shown.
#[derive(Serialize)]
struct Section {
    section: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    settings: Vec<Setting>,
}

#[derive(Serialize)]
struct Setting {
    key: String,
    value: serde_json::Value,
    origin: String,
}

fn origin(config: &Config, key: &str) -> String {
    match config.origins.get(key) {
        Some(Origin::Env(v)) => format!("environment variable {v}"),
        Some(Origin::File(p)) => format!("file {}", p.display()),
        Some(Origin::Default) | None => "default".to_owned(),
    }
}

fn walk(config: &Config, path: &str, table: IndexMap<String, Node>, out: &mut Vec<Section>) {
    let mut section = Section {
        section: path.to_owned(),
        note: path
            .strip_prefix("providers.")
            .and_then(|id| config.providers.iter().find(|p| p.id().as_str() == id))
            .and_then(|p| p.unconfigured_reason())
            .map(|reason| format!("not configured: {reason}")),
        settings: Vec::new(),
    };
    let mut tables = Vec::new();
    for (key, node) in table {
        let dotted = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match node {
            Node::Leaf(value) => section.settings.push(Setting {
                origin: origin(config, &dotted),
                key,
                value,
            }),
            Node::Table(inner) => tables.push((dotted, inner)),
        }
    }
    if !path.is_empty() && (!section.settings.is_empty() || section.note.is_some()) {
        out.push(section);
    }
    for (dotted, inner) in tables {
        walk(config, &dotted, inner, out);
    }
}

/// The sections of `config`'s view, in order.
fn sections(config: &Config) -> Result<Vec<Section>, String> {
    let text = serde_json::to_string(config).map_err(|e| e.to_string())?;
    let Node::Table(root) = serde_json::from_str::<Node>(&text).map_err(|e| e.to_string())? else {
        return Err("the config view is not a table".to_owned());
    };
    let mut out = Vec::new();
    walk(config, "", root, &mut out);
    Ok(out)
}

fn toml_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "\"\"".to_owned(),
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

pub(crate) fn show(config: &Config, format: Option<Format>) -> Exit {
    let sections = match sections(config) {
        Ok(s) => s,
        Err(e) => return usage(format!("cannot show the configuration: {e}")),
    };
    let mut out = std::io::stdout().lock();
    let written = if matches!(format, Some(Format::Json | Format::Ndjson)) {
        serde_json::to_string_pretty(&sections)
            .map_err(std::io::Error::other)
            .and_then(|text| writeln!(out, "{text}"))
    } else {
        let text: Vec<String> = sections
            .iter()
            .map(|s| {
                let mut lines = vec![format!("[{}]", s.section)];
                lines.extend(s.note.iter().map(|n| format!("# {n}")));
                lines.extend(s.settings.iter().map(|v| {
                    let origin = if v.origin == "default" {
                        "# default".to_owned()
                    } else {
                        format!("# from {}", v.origin)
                    };
                    format!("{} = {}  {origin}", v.key, toml_value(&v.value))
                }));
                lines.join("\n")
            })
            .collect();
        writeln!(out, "{}", text.join("\n\n"))
    };
    match written {
        Ok(()) => Exit::Ok,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(e) => {
            eprintln!("stockdata: cannot write output: {e}");
            Exit::Failed
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `stockdata config init`

/// One line about each section and key of the file, by dotted key. A provider's key is looked
/// up as `providers.<id>.<key>`, then as `providers.*.<key>` (a key several providers share).
/// Keys and defaults come from the configuration itself (`Config::default()` and the
/// registry), never from here: a key without a note still gets its line, and the tests ask
/// for its note.
const NOTES: &[(&str, &str)] = &[
    (
        "providers.*.base_url",
        "Where requests go (the provider, or a proxy or test server).",
    ),
    (
        "providers.*.stream_url",
        "Where the live stream connects (ws:// or wss://; `stockdata stream`, /v1/stream).",
    ),
    (
        "providers.*.requests_per_day",
        "Requests a day your plan allows: requests are paced to stay within it.",
    ),
    (
        "providers.*.requests_per_minute",
        "Requests a minute your plan allows: requests are paced to stay within it.",
    ),
    (
        "providers.*.requests_per_second",
        "Requests a second allowed: requests are paced to stay within it.",
    ),
    (
        "providers.*.timeout_ms",
        "Time allowed for one request attempt, in milliseconds.",
    ),
    (
        "providers.*.feed",
        "The data feed: iex is free, sip needs a paid plan.",
    ),
    (
        "providers.*.adjustment",
        "Bars unless a command says otherwise: raw, split, dividend or all (adjusted for).",
    ),
    (
        "routing",
        "The order providers are tried in, per kind of data (unconfigured ones are skipped).",
    ),
    ("routing.quotes", "Latest quotes."),
    ("routing.bars", "Historical OHLCV bars."),
    ("routing.news", "Company news."),
    (
        "agent",
        "`stockdata agent`: quotes, daily bars and news for every symbol of a watchlist.",
    ),
    (
        "agent.concurrency",
        "Provider calls in flight at once (1 to 256).",
    ),
    (
        "agent.history_days",
        "Days of daily bars fetched per symbol.",
    ),
    ("agent.news_days", "Days of news fetched per symbol."),
    (
        "agent.daily_quota_share",
        "The most of a provider's daily quota one run may spend (above 0, at most 1).",
    ),
    ("news", "News from several providers."),
    (
        "news.merge",
        "Whom the agent asks: all; budget (only about symbols still without news); first.",
    ),
    ("log", "Log lines, written to stderr."),
    (
        "log.format",
        "json, pretty, or auto: pretty on a terminal, json otherwise.",
    ),
    (
        "log.level",
        "off, error, warn, info, debug or trace, or target=level pairs, comma-separated.",
    ),
    ("serve", "`stockdata serve`: market data over HTTP."),
    (
        "serve.tokens",
        "Bearer tokens clients must send; required unless serve binds to loopback.",
    ),
    ("serve.max_symbols", "Symbols one request may ask for."),
    (
        "serve.max_range_days",
        "The longest date range one request may ask for, in days.",
    ),
    (
        "serve.request_timeout_ms",
        "Time allowed per request, in milliseconds.",
    ),
    (
        "serve.concurrency",
        "Requests served at once; more are answered 503 with Retry-After.",
    ),
    (
        "serve.grace_period_ms",
        "Time in-flight requests get to finish on shutdown, in milliseconds.",
    ),
    (
        "serve.header_read_timeout_ms",
        "Time a connection has to send a complete request head, in milliseconds.",
    ),
    (
        "serve.max_connections",
        "Connections open at once; more wait in the listen backlog.",
    ),
    (
        "serve.max_streams",
        "/v1/stream clients served at once; more get 503.",
    ),
    (
        "serve.stream_buffer",
        "Events buffered per /v1/stream client; one further behind is let go.",
    ),
    (
        "store",
        "The local store: what is fetched is kept, and answered from first.",
    ),
    (
        "store.enabled",
        "Keep fetched data and answer from it (--no-store turns it off for one command).",
    ),
    (
        "store.path",
        "The SQLite file. Empty: store.sqlite in the platform's data directory.",
    ),
    (
        "store.busy_timeout_ms",
        "How long to wait for another process holding the store, in milliseconds.",
    ),
    (
        "cache",
        "How long what the store holds is answered without asking a provider.",
    ),
    (
        "cache.quotes_ttl",
        "A quote's freshness while the market is open (closed: until the next open).",
    ),
    (
        "cache.news_ttl",
        "How recent a news fetch must be for the store to answer up to now.",
    ),
];

/// Secrets of stockdata's own sections, with the variable that carries them (a provider's
/// are named by its descriptor). Neither is ever written to the file.
const SECRETS: &[(&str, &str)] = &[("serve.tokens", SERVE_TOKEN_VAR)];

/// The note on `dotted` (`providers.finnhub.base_url`, `agent.concurrency`).
fn note(dotted: &str) -> Option<&'static str> {
    let exact = NOTES.iter().find(|(k, _)| *k == dotted).map(|(_, n)| *n);
    exact.or_else(|| {
        let rest = dotted.strip_prefix("providers.")?;
        let (_, key) = rest.split_once('.')?;
        let shared = format!("providers.*.{key}");
        NOTES.iter().find(|(k, _)| *k == shared).map(|(_, n)| *n)
    })
}

/// A serializable view as an ordered table.
fn table_of(json: &str) -> Result<IndexMap<String, Node>, String> {
    match serde_json::from_str::<Node>(json).map_err(|e| e.to_string())? {
        Node::Table(table) => Ok(table),
        Node::Leaf(_) => Err("the config view is not a table".to_owned()),
    }
}

/// The lines of the file's head: how it is read, and the variables that carry the secrets.
fn head(config: &Config) -> Vec<String> {
    let mut vars: Vec<(String, String)> = config
        .providers
        .iter()
        .map(|p| {
            let names: Vec<&str> = p.descriptor.env_vars().iter().map(|v| v.name).collect();
            (names.join(", "), p.descriptor.display_name().to_owned())
        })
        .collect();
    vars.push((SERVE_TOKEN_VAR.to_owned(), "stockdata serve".to_owned()));
    let width = vars.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let example = format!("{OVERRIDE_PREFIX}AGENT__CONCURRENCY=8");
    let mut lines: Vec<String> = [
        "# stockdata configuration, written by `stockdata config init`.",
        "#",
        "# Every setting is listed at its default, commented out: uncomment a line to change it.",
        "# Later sources win: the defaults, this file, the providers' environment variables, then",
        &format!("# {OVERRIDE_PREFIX}SECTION__KEY variables ({example})."),
        "# Unknown keys are errors. `stockdata config show` prints what is in force, and why.",
        &format!(
            "# Read from ./{DEFAULT_FILE}, or the file named by --config or {CONFIG_PATH_VAR}."
        ),
        "#",
        "# Keys and tokens stay out of this file: set them in the environment.",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    lines.extend(
        vars.iter()
            .map(|(names, who)| format!("#   {names:width$}  {who}")),
    );
    lines.extend(
        [
            "# A provider without its credentials is skipped (`stockdata providers` says why).",
            "#",
            "# Then run `stockdata doctor`: one request to each configured provider.",
        ]
        .map(str::to_owned),
    );
    lines
}

/// `[providers.<id>]` for every registered provider: every key of its settings (the sandbox's
/// settings name the keys that have no default), secrets as the variable that carries them.
fn provider_lines(config: &Config, lines: &mut Vec<String>) -> Result<(), String> {
    let anywhere = url::Url::parse("http://127.0.0.1/").map_err(|e| e.to_string())?;
    for p in config.providers.iter() {
        let id = p.id().as_str();
        let name = p.descriptor.display_name();
        let limits: Vec<String> = p.settings.limits().iter().map(describe_window).collect();
        lines.push(String::new());
        lines.push(if limits.is_empty() {
            format!("# {name}: not paced client-side.")
        } else {
            format!("# {name}: paced to {} (its free tier).", limits.join(", "))
        });
        lines.push(format!("[providers.{id}]"));
        let defaults = table_of(p.settings.view().get())?;
        let every = table_of(p.settings.for_sandbox(anywhere.clone()).view().get())?;
        for key in every.keys() {
            if let Some(var) = p.descriptor.env_vars().iter().find(|v| v.key == key) {
                lines.push(format!(
                    "# {key}: set {} in the environment, not here.",
                    var.name
                ));
                continue;
            }
            let dotted = format!("providers.{id}.{key}");
            let note = note(&dotted).unwrap_or_default();
            let value = match defaults.get(key) {
                Some(Node::Leaf(v)) => {
                    if !note.is_empty() {
                        lines.push(format!("# {note}"));
                    }
                    toml_value(v)
                }
                // No default: the provider needs it. Blank is "not set".
                _ => {
                    let required = "Required: no default.";
                    lines.push(if note.is_empty() {
                        format!("# {required}")
                    } else {
                        format!("# {note} {required}")
                    });
                    "\"\"".to_owned()
                }
            };
            lines.push(format!("# {key} = {value}"));
        }
    }
    Ok(())
}

/// `[path]` and its keys at their defaults, then its sub-tables.
fn section_lines(path: &str, table: IndexMap<String, Node>, lines: &mut Vec<String>) {
    lines.push(String::new());
    lines.extend(note(path).map(|n| format!("# {n}")));
    lines.push(format!("[{path}]"));
    let mut tables = Vec::new();
    for (key, node) in table {
        let dotted = format!("{path}.{key}");
        match node {
            Node::Leaf(value) => {
                if let Some((_, var)) = SECRETS.iter().find(|(k, _)| *k == dotted) {
                    lines.extend(note(&dotted).map(|n| format!("# {n}")));
                    lines.push(format!("# {key}: set {var} in the environment, not here."));
                    continue;
                }
                lines.extend(note(&dotted).map(|n| format!("# {n}")));
                lines.push(format!("# {key} = {}", toml_value(&value)));
            }
            Node::Table(inner) => tables.push((dotted, inner)),
        }
    }
    for (dotted, inner) in tables {
        section_lines(&dotted, inner, lines);
    }
}

/// The file `config init` writes: every section and key the configuration accepts, each at
/// its default and commented out, with one line about it. Built from `Config::default()` and
/// the provider registry, so it cannot drift from what `config::load` reads.
///
/// # Errors
/// The configuration cannot be serialized (a bug).
pub(crate) fn template() -> Result<String, String> {
    let defaults = Config::default();
    let mut lines = head(&defaults);
    provider_lines(&defaults, &mut lines)?;
    let root = table_of(&serde_json::to_string(&defaults).map_err(|e| e.to_string())?)?;
    for (section, node) in root {
        match node {
            Node::Table(table) if section != "providers" => {
                section_lines(&section, table, &mut lines);
            }
            _ => {}
        }
    }
    lines.push(String::new());
    Ok(lines.join("\n"))
}

/// `stockdata config init [PATH]`: writes [`template`] to `path`, never over anything that
/// is there (the file is created exclusively, so a race cannot clobber one either).
pub(crate) fn init(path: &Path) -> Exit {
    if path.as_os_str().is_empty() {
        return usage("config init: name the file to write (default: stockdata.toml)");
    }
    let shown = path.display();
    let text = match template() {
        Ok(text) => text,
        Err(e) => return usage(format!("cannot build the config template: {e}")),
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        // The file may come to hold a secret despite its advice: owner only.
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(_) if path.is_dir() => {
            return usage(format!(
                "{shown} is a folder: name a file, e.g. `stockdata config init {}`",
                path.join(DEFAULT_FILE).display()
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return usage(format!(
                "{shown} already exists; nothing was written. Edit it (`stockdata config \
                 show` prints what is in force), or move it away and run `stockdata config \
                 init` again, or write elsewhere: `stockdata config init PATH`"
            ));
        }
        Err(e) => {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            return match parent {
                Some(parent) if !parent.is_dir() => usage(format!(
                    "cannot write {shown}: the folder {} does not exist ({e}); create it \
                     first (mkdir -p {}) or name another path",
                    parent.display(),
                    parent.display()
                )),
                _ => usage(format!("cannot write {shown}: {e}")),
            };
        }
    };
    if let Err(e) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        // The file is ours (created exclusively above): leave nothing half-written.
        let _ = std::fs::remove_file(path);
        return usage(format!(
            "cannot write {shown}: {e}; nothing was left behind"
        ));
    }
    let written = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let default = std::path::absolute(DEFAULT_FILE).ok();
    let config_flag = if default.as_deref() == Some(written.as_path()) {
        String::new()
    } else {
        format!("--config {shown} ")
    };
    eprintln!(
        "stockdata: wrote {}: every setting at its default, commented out",
        written.display()
    );
    if !config_flag.is_empty() {
        eprintln!(
            "stockdata: it is read from ./{DEFAULT_FILE} only by default: pass --config \
             {shown} or set {CONFIG_PATH_VAR}={shown}"
        );
    }
    eprintln!(
        "stockdata: next: set your providers' keys in the environment (the file's head \
         names the variables), then run `stockdata {config_flag}doctor`"
    );
    Exit::Ok
}
