//! Configuration: `stockdata.toml` text, and the environment (`STOCKDATA__SECTION__KEY`
//! overrides, the providers' conventional variables, anything else).
//!
//! Besides never panicking, a credential written where a credential goes (a provider's
//! secret key, `[serve] tokens`, the password of a `base_url`) never shows: not in a
//! `ConfigError` (Display or Debug), not in the loaded `Config`'s Debug output, not in its
//! `config show` serialization. When the same text also sits somewhere else (a key, a section
//! name, a log level), an error may rightly quote it there, so the check is skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use stockdata_app::config::{self, Config, ConfigError, ConfigSources};
use stockdata_app::registry;

use super::{PASSWORD, SECRET, Target, text};
use crate::engine;

pub(crate) const CONFIG_TOML: Target = Target {
    name: "config_toml",
    about: "stockdata.toml text -> Config, or a ConfigError naming no planted secret",
    check: toml_text,
};

pub(crate) const CONFIG_ENV: Target = Target {
    name: "config_env",
    about: "environment maps (overrides, conventional variables, junk) -> Config or ConfigError",
    check: env_map,
};

/// Keys whose values are credentials: every provider's conventional variable names one (from
/// the registry), and `[serve] tokens` (`STOCKDATA_SERVE_TOKEN`).
fn secret_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = registry::PROVIDERS
        .iter()
        .flat_map(|d| d.env_vars().iter().map(|v| v.key))
        .collect();
    keys.push("tokens");
    keys
}

/// The conventional variables: every provider's (from the registry), then the serve token.
fn conventional_vars() -> Vec<&'static str> {
    registry::PROVIDERS
        .iter()
        .flat_map(|d| d.env_vars().iter().map(|v| v.name))
        .chain(std::iter::once(config::SERVE_TOKEN_VAR))
        .collect()
}

/// How often `needle` occurs in `hay`.
fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The userinfo of a URL as written (`user:password` in `scheme://user:password@host/...`),
/// as the url crate reads it: up to the last `@` of the authority. Empty when there is none.
fn userinfo(url: &str) -> &str {
    let Some((_, rest)) = url.split_once("://") else {
        return "";
    };
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    authority.rsplit_once('@').map_or("", |(user, _)| user)
}

/// Occurrences of the planted values: everywhere, and where a credential goes.
#[derive(Debug, Default)]
struct Tally {
    secret_total: usize,
    secret_placed: usize,
    password_total: usize,
    password_placed: usize,
}

impl Tally {
    /// Text that is a key, a name or an ordinary value.
    fn other(&mut self, text: &str) {
        self.secret_total += count(text, SECRET);
        self.password_total += count(text, PASSWORD);
    }

    /// The value of `key` (its last segment).
    fn value(&mut self, key: &str, value: &str, secret_keys: &[&str]) {
        self.other(value);
        if secret_keys.contains(&key) {
            self.secret_placed += count(value, SECRET);
        }
        if key == "base_url" {
            self.password_placed += count(userinfo(value), PASSWORD);
        }
    }

    /// What must never show: the planted values that sit only where credentials go.
    fn planted(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.secret_total > 0 && self.secret_total == self.secret_placed {
            out.push(SECRET);
        }
        if self.password_total > 0 && self.password_total == self.password_placed {
            out.push(PASSWORD);
        }
        out
    }
}

fn tally_toml(value: &toml::Value, key: &str, secret_keys: &[&str], tally: &mut Tally) {
    match value {
        toml::Value::String(s) => tally.value(key, s, secret_keys),
        toml::Value::Array(items) => {
            for item in items {
                tally_toml(item, key, secret_keys, tally);
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table {
                tally.other(k);
                tally_toml(v, k, secret_keys, tally);
            }
        }
        // Numbers, booleans and dates cannot hold the planted text.
        _ => {}
    }
}

/// What must not show for config `text`. When the text is not TOML, the error quotes at most
/// a key (what precedes `=` on the line) or a `[section]` line: a planted value anywhere else
/// must not show.
fn planted_in_toml(text: &str) -> Vec<&'static str> {
    if let Ok(table) = text.parse::<toml::Table>() {
        let mut tally = Tally::default();
        tally_toml(&toml::Value::Table(table), "", &secret_keys(), &mut tally);
        return tally.planted();
    }
    [SECRET, PASSWORD]
        .into_iter()
        .filter(|p| text.contains(p))
        .filter(|p| {
            !text.lines().any(|line| {
                let key = line.split_once('=').map_or(line, |(k, _)| k);
                key.contains(p) || (line.trim_start().starts_with('[') && line.contains(p))
            })
        })
        .collect()
}

/// The outcome shows none of `planted`, and a loaded config serializes.
fn outcome_is_safe(outcome: &Result<Config, ConfigError>, planted: &[&str]) -> Result<(), String> {
    let shown = match outcome {
        Ok(config) => {
            let json = serde_json::to_string(config)
                .map_err(|e| format!("the config does not serialize: {e}"))?;
            format!("{config:?}\n{json}")
        }
        Err(e) => format!("{e}\n{e:?}"),
    };
    match planted.iter().find(|p| shown.contains(**p)) {
        Some(p) => Err(format!("{p} shows in {shown}")),
        None => Ok(()),
    }
}

/// Input: the text of `stockdata.toml`.
fn toml_text(input: &[u8]) -> Result<(), String> {
    let text = text(input);
    let outcome = config::from_toml(&text, Path::new("stockdata.toml"));
    outcome_is_safe(&outcome, &planted_in_toml(&text))
}

/// An empty directory, made once, as the working directory: no `stockdata.toml` is found.
fn empty_cwd() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = engine::artifacts_root().with_file_name("empty-cwd");
        // When it cannot be made, it does not exist: no file is found there either.
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}

/// The environment an input stands for. One variable per line, `NAME=VALUE` (a line without
/// `=` sets NAME to ""). `@N` as a name is the N-th conventional variable (modulo their
/// number), so seeds reach every provider's variables as the registry grows. A name that is
/// not UTF-8 is dropped (as `ConfigSources::from_process` does); a value that is not is listed
/// in `not_unicode`. `STOCKDATA_CONFIG`, when not empty, names a file that does not exist in
/// the empty working directory (an arbitrary path could be `/dev/zero`).
fn sources(input: &[u8]) -> ConfigSources {
    let cwd = empty_cwd();
    let conventional = conventional_vars();
    let mut env = HashMap::new();
    let mut not_unicode = Vec::new();
    for line in input.split(|&b| b == b'\n') {
        let (name, value) = match line.iter().position(|&b| b == b'=') {
            Some(i) => (line.get(..i).unwrap_or_default(), line.get(i + 1..)),
            None => (line, Some(&b""[..])),
        };
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        let name = match name.strip_prefix('@').map(str::parse::<usize>) {
            Some(Ok(n)) if !conventional.is_empty() => conventional
                .get(n % conventional.len())
                .copied()
                .unwrap_or(name)
                .to_owned(),
            _ => name.to_owned(),
        };
        if name.is_empty() {
            continue;
        }
        match value.map(std::str::from_utf8) {
            Some(Ok(value)) => {
                let value = if name == config::CONFIG_PATH_VAR && !value.is_empty() {
                    cwd.join("missing.toml").display().to_string()
                } else {
                    value.to_owned()
                };
                env.insert(name, value);
            }
            _ => not_unicode.push(name),
        }
    }
    ConfigSources {
        file: None,
        env,
        cwd: cwd.to_path_buf(),
        not_unicode,
    }
}

/// The dotted key a `STOCKDATA__SECTION__KEY` variable sets, as `config::load` derives it.
fn override_key(var: &str) -> Option<String> {
    let rest = var.strip_prefix(config::OVERRIDE_PREFIX)?;
    Some(
        rest.split("__")
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// What must not show for `sources`: a planted value that sits only in credential variables
/// (a provider's conventional variable, `STOCKDATA_SERVE_TOKEN`, an override of
/// `providers.<id>.<credential>` or `serve.tokens`, the userinfo of a `base_url` override).
fn planted_in_env(sources: &ConfigSources) -> Vec<&'static str> {
    let secret_keys = secret_keys();
    let conventional = conventional_vars();
    let mut tally = Tally::default();
    for name in &sources.not_unicode {
        tally.other(name);
    }
    for (name, value) in &sources.env {
        tally.other(name);
        let key = if conventional.contains(&name.as_str()) {
            // Every conventional variable holds a credential.
            Some("tokens".to_owned())
        } else {
            override_key(name)
        };
        let segments: Vec<&str> = key
            .as_deref()
            .map_or(Vec::new(), |k| k.split('.').collect());
        let credential = match segments.as_slice() {
            ["tokens"] | ["serve", "tokens"] => "tokens",
            ["providers", _, last] if secret_keys.contains(last) || *last == "base_url" => last,
            _ => "",
        };
        tally.value(credential, value, &secret_keys);
    }
    tally.planted()
}

/// Input: an environment, one `NAME=VALUE` per line (see [`sources`]).
fn env_map(input: &[u8]) -> Result<(), String> {
    let sources = sources(input);
    let outcome = config::load(&sources);
    outcome_is_safe(&outcome, &planted_in_env(&sources))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(target: &str, name: &str) -> Vec<u8> {
        std::fs::read(engine::corpus_root().join(target).join(name)).unwrap()
    }

    /// The leak checks are armed where the corpus plants credentials, and only there: a
    /// check that never runs would pass whatever the product printed.
    #[test]
    fn planted_credentials_arm_the_leak_checks() {
        for name in ["secrets.toml", "secret_with_bad_neighbours.toml"] {
            let text = String::from_utf8(seed("config_toml", name)).unwrap();
            assert_eq!(planted_in_toml(&text), [SECRET, PASSWORD], "{name}");
        }
        for name in ["unterminated_secret.toml", "inline_tables.toml"] {
            let text = String::from_utf8(seed("config_toml", name)).unwrap();
            assert_eq!(planted_in_toml(&text), [SECRET], "{name}");
        }
        for name in ["overrides.env", "hostile.env"] {
            let planted = planted_in_env(&sources(&seed("config_env", name)));
            assert_eq!(planted, [SECRET, PASSWORD], "{name}");
        }
        let planted = planted_in_env(&sources(&seed("config_env", "conventional.env")));
        assert_eq!(planted, [SECRET]);
        // Written where an error may rightly quote it: no check.
        let planted = planted_in_env(&sources(&seed("config_env", "misplaced.env")));
        assert_eq!(planted, [] as [&str; 0]);
        for text in [
            format!("[log]\nlevel = \"{SECRET}\""),
            format!("[providers.finnhub]\napi_key = \"{SECRET}\"\n[log]\nlevel = \"{SECRET}\""),
            format!("[providers.x{SECRET}]\napi_key = \""),
            format!("[serve]\nbase_url = \"https://h/{PASSWORD}@x\""),
        ] {
            assert_eq!(planted_in_toml(&text), [] as [&str; 0], "{text}");
        }
    }

    #[test]
    fn conventional_variables_come_from_the_registry() {
        let vars = conventional_vars();
        assert!(vars.len() > registry::PROVIDERS.len(), "{vars:?}");
        let env = sources(b"@0=a\n@1=b\n");
        assert!(env.env.contains_key(vars[0]) && env.env.contains_key(vars[1]));
        let env = sources(b"STOCKDATA_CONFIG=/dev/zero\n");
        assert!(env.env[config::CONFIG_PATH_VAR].ends_with("missing.toml"));
    }
}
