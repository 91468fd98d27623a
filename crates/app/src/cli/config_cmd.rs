//! `stockdata config show`: walks the serializable view of the whole effective config (every
//! section, whatever sections exist), secrets redacted, each value with its origin.

use std::io::Write as _;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use stockdata_app::config::{Config, Origin};

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

/// `stockdata config init` (being built).
pub(crate) fn init(_path: &std::path::Path) -> Exit {
    usage("`config init` is not built yet")
}
