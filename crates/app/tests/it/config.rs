use std::collections::HashMap;
use std::path::PathBuf;

use secrecy::ExposeSecret;
use stockdata_app::adapters::provider::Settings;
use stockdata_app::adapters::{alpaca, alpha_vantage, finnhub, serverless};
use stockdata_app::config::{ConfigError, ConfigSources, Origin, from_toml, load};
use stockdata_app::domain::ProviderId;

/// Sources over a temp dir of their own (removed when the returned guard drops).
fn sources(file_text: Option<&str>, env: &[(&str, &str)]) -> (ConfigSources, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    if let Some(text) = file_text {
        std::fs::write(dir.path().join("stockdata.toml"), text).unwrap();
    }
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    (
        ConfigSources {
            file: None,
            env,
            cwd: dir.path().to_path_buf(),
            not_unicode: Vec::new(),
        },
        dir,
    )
}

fn configured<S: Settings>(config: &stockdata_app::config::Config) -> &S {
    let settings = config.providers.settings::<S>().unwrap();
    settings.readiness().unwrap();
    settings
}

fn invalid(result: Result<stockdata_app::config::Config, ConfigError>) -> (String, Origin, String) {
    match result {
        Err(ConfigError::Invalid {
            key,
            origin,
            message,
        }) => (key, origin, message),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn file_then_conventional_variables_then_overrides() {
    let (src, dir) = sources(
        Some(
            r#"
[providers.finnhub]
api_key = "from-file"
requests_per_minute = 30

[agent]
concurrency = 8
history_days = 10

[routing]
quotes = ["finnhub", "alpha_vantage"]
"#,
        ),
        &[
            ("FINNHUB_API_KEY", "from-conventional"),
            ("ALPHAVANTAGE_API_KEY", "av-key"),
            ("STOCKDATA__AGENT__CONCURRENCY", "2"),
            ("STOCKDATA__PROVIDERS__ALPHA_VANTAGE__API_KEY", "0123456789"),
            ("STOCKDATA__ROUTING__BARS", "alpha_vantage, finnhub"),
        ],
    );
    let config = load(&src).unwrap();
    assert_eq!(config.agent.concurrency, 2, "env beats file");
    assert_eq!(config.agent.history_days, 10, "file beats default");
    assert_eq!(config.agent.news_days, 3, "default");
    let fh = configured::<finnhub::FinnhubSettings>(&config);
    assert_eq!(
        fh.api_key.get().unwrap().expose_secret(),
        "from-conventional"
    );
    assert_eq!(fh.requests_per_minute.0.get(), 30);
    let av = configured::<alpha_vantage::AlphaVantageSettings>(&config);
    assert_eq!(
        av.api_key.get().unwrap().expose_secret(),
        "0123456789",
        "all-digit keys stay text; STOCKDATA__ beats the conventional variable"
    );
    assert_eq!(config.routing.quotes, [finnhub::ID, alpha_vantage::ID]);
    assert_eq!(config.routing.bars, [alpha_vantage::ID, finnhub::ID]);
    assert_eq!(
        config.origins["agent.concurrency"],
        Origin::Env("STOCKDATA__AGENT__CONCURRENCY".into())
    );
    assert_eq!(
        config.origins["agent.history_days"],
        Origin::File(dir.path().join("stockdata.toml"))
    );
}

#[test]
fn providers_without_credentials_are_unconfigured_with_a_reason() {
    let (src, _dir) = sources(
        None,
        &[("APCA_API_KEY_ID", "id-only"), ("FINNHUB_API_KEY", "  ")],
    );
    let config = load(&src).unwrap();
    let reason = |id: &ProviderId| {
        config
            .providers
            .get(id)
            .and_then(|p| p.unconfigured_reason())
            .unwrap()
    };
    assert!(reason(&alpaca::ID).contains("APCA_API_SECRET_KEY"));
    assert!(reason(&finnhub::ID).contains("FINNHUB_API_KEY"));
    assert!(reason(&alpha_vantage::ID).contains("ALPHAVANTAGE_API_KEY"));
    assert!(reason(&serverless::ID).contains("providers.serverless.base_url"));
}

#[test]
fn each_validation_message_names_the_key_and_its_origin() {
    let path = PathBuf::from("/etc/stockdata.toml");
    let file = Origin::File(path.clone());
    let cases: Vec<(&str, &str, &str)> = vec![
        (
            "[agent]\nconcurency = 3\n",
            "agent.concurency",
            "unknown field",
        ),
        (
            "[providerz]\n",
            "providerz",
            "remove it or fix its spelling",
        ),
        (
            "[providers.alpaca]\nkey_id = \"k\"\nsecret_key = \"s\"\nfeed = \"nasdaq\"\n",
            "providers.alpaca.feed",
            "use iex (free) or sip (paid)",
        ),
        (
            "[providers.alpaca]\nadjustment = \"half\"\n",
            "providers.alpaca.adjustment",
            "use raw, split, dividend or all",
        ),
        (
            "[providers.finnhub]\napi_key = \"k\"\nbase_url = \"ftp://x\"\n",
            "providers.finnhub.base_url",
            "http:// or https://",
        ),
        (
            "[providers.finnhub]\napi_key = \"k\"\nbase_url = \"not a url\"\n",
            "providers.finnhub.base_url",
            "is not a URL",
        ),
        (
            "[providers.alpha_vantage]\napi_key = \"k\"\nrequests_per_day = 0\n",
            "providers.alpha_vantage.requests_per_day",
            "at least 1",
        ),
        (
            "[providers.alpha_vantage]\napi_key = \"k\"\ntimeout_ms = 0\n",
            "providers.alpha_vantage.timeout_ms",
            "use 1 to 600000",
        ),
        (
            "[routing]\nquotes = [\"yahoo\"]\n",
            "routing.quotes",
            "unknown provider \"yahoo\"",
        ),
        (
            "[routing]\nnews = [\"alpaca\", \"alpaca\"]\n",
            "routing.news",
            "listed twice",
        ),
        (
            "[agent]\nconcurrency = 0\n",
            "agent.concurrency",
            "use 1 to 256",
        ),
        (
            "[agent]\nhistory_days = \"ten\"\n",
            "agent.history_days",
            "invalid type",
        ),
        (
            "[log]\nformat = \"xml\"\n",
            "log.format",
            "use json or pretty",
        ),
        (
            "[log]\nlevel = \"loud=[\"\n",
            "log.level",
            "is not a log filter",
        ),
    ];
    for (text, key, needle) in cases {
        let (k, origin, message) = invalid(from_toml(text, &path));
        assert_eq!(k, key, "{text}");
        assert_eq!(origin, file, "{text}");
        assert!(message.contains(needle), "{text}: {message}");
        let shown = ConfigError::Invalid {
            key: k,
            origin,
            message,
        }
        .to_string();
        assert!(shown.contains("file /etc/stockdata.toml"), "{shown}");
    }
}

#[test]
fn errors_from_the_environment_name_the_variable() {
    let (src, _dir) = sources(None, &[("STOCKDATA__AGENT__CONCURRENCY", "999")]);
    let (key, origin, message) = invalid(load(&src));
    assert_eq!(key, "agent.concurrency");
    assert_eq!(origin, Origin::Env("STOCKDATA__AGENT__CONCURRENCY".into()));
    assert!(message.contains("out of range"), "{message}");
    let (src, _dir) = sources(None, &[("STOCKDATA__AGNET__CONCURRENCY", "2")]);
    let (key, origin, _) = invalid(load(&src));
    assert_eq!(key, "agnet");
    assert_eq!(origin, Origin::Env("STOCKDATA__AGNET__CONCURRENCY".into()));
}

#[test]
fn file_problems() {
    let (mut src, dir) = sources(None, &[]);
    src.file = Some(dir.path().join("missing.toml"));
    assert!(matches!(load(&src), Err(ConfigError::Read { .. })));
    let (src, _dir) = sources(Some("[agent\nconcurrency = 2"), &[]);
    let err = load(&src).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
    assert!(
        err.to_string().contains("stockdata.toml is not valid TOML"),
        "{err}"
    );
    // STOCKDATA_CONFIG names the file when --config does not.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "[agent]\nnews_days = 9\n").unwrap();
    let (mut src, _dir) = sources(None, &[]);
    src.env
        .insert("STOCKDATA_CONFIG".into(), other.display().to_string());
    assert_eq!(load(&src).unwrap().agent.news_days, 9);
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let (src, _dir) = sources(
        None,
        &[
            ("ALPHAVANTAGE_API_KEY", "sekrit-av-123"),
            ("STOCKDATA__PROVIDERS__ALPHA_VANTAGE__TIMEOUT_MS", "-1"),
        ],
    );
    let err = load(&src).unwrap_err().to_string();
    assert!(!err.contains("sekrit-av-123"), "{err}");
    let (src, _dir) = sources(None, &[("ALPHAVANTAGE_API_KEY", "sekrit-av-123")]);
    let shown = format!("{:?}", load(&src).unwrap());
    assert!(!shown.contains("sekrit-av-123"), "{shown}");
}

#[test]
fn serve_settings_and_token() {
    let (src, _dir) = sources(
        Some("[serve]\nmax_symbols = 50\nrequest_timeout_ms = 2500\n"),
        &[
            ("STOCKDATA_SERVE_TOKEN", "serve-secret-1"),
            ("STOCKDATA__SERVE__CONCURRENCY", "9"),
        ],
    );
    let config = load(&src).unwrap();
    assert_eq!(config.serve.tokens.len(), 1);
    assert_eq!(config.serve.tokens[0].expose_secret(), "serve-secret-1");
    assert_eq!(config.serve.max_symbols, 50);
    assert_eq!(config.serve.concurrency, 9);
    assert_eq!(
        config.serve.request_timeout,
        std::time::Duration::from_millis(2500)
    );
    let (src, _dir) = sources(Some("[serve]\nconcurency = 3\n"), &[]);
    let (key, _, message) = invalid(load(&src));
    assert_eq!(key, "serve.concurency");
    assert!(message.contains("unknown field"), "{message}");
}

#[test]
fn a_serve_token_is_never_echoed_and_one_token_may_be_a_string() {
    let path = PathBuf::from("/etc/stockdata.toml");
    let config = from_toml("[serve]\ntokens = \"tok-SECRET-1\"\n", &path).unwrap();
    assert_eq!(config.serve.tokens.len(), 1);
    assert_eq!(config.serve.tokens[0].expose_secret(), "tok-SECRET-1");
    let err = from_toml("[serve]\ntokens = [\"tok-SECRET-2\", [1]]\n", &path).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("tok-SECRET-2"), "{err}");
}

#[test]
fn provider_sections_must_be_named_exactly() {
    let path = PathBuf::from("/etc/stockdata.toml");
    let (key, _, message) = invalid(from_toml(
        "[providers.\" finnhub\"]\napi_key = \"abc\"\n",
        &path,
    ));
    assert_eq!(key, "providers. finnhub");
    assert!(message.contains("unknown provider"), "{message}");
    // Routing lists are forgiving about spaces around names.
    let config = from_toml("[routing]\nquotes = [\" finnhub \"]\n", &path).unwrap();
    assert_eq!(config.routing.quotes, [finnhub::ID]);
}

#[test]
fn store_and_cache_settings_read_from_file_and_environment() {
    let (src, _dir) = sources(
        Some("[store]\npath = \"/data/s.sqlite\"\n\n[cache]\nquotes_ttl = \"2m\"\nnews_ttl = 90\n"),
        &[
            ("STOCKDATA__STORE__ENABLED", "false"),
            ("STOCKDATA__CACHE__NEWS_TTL", "1h 30m"),
        ],
    );
    let config = load(&src).unwrap();
    assert_eq!(config.store.path, Some(PathBuf::from("/data/s.sqlite")));
    assert!(!config.store.enabled, "the environment switches it off");
    assert_eq!(config.cache.quotes_ttl, std::time::Duration::from_secs(120));
    assert_eq!(config.cache.news_ttl, std::time::Duration::from_secs(5400));
    // Defaults: on, the platform path, 15 s and 5 min.
    let (src, _dir) = sources(None, &[]);
    let config = load(&src).unwrap();
    assert!(config.store.enabled);
    assert_eq!(config.store.path, None);
    assert_eq!(config.cache.quotes_ttl, std::time::Duration::from_secs(15));
    // Mistakes name the key and say what to write.
    for (text, key) in [
        ("[cache]\nquotes_ttl = \"soon\"\n", "cache.quotes_ttl"),
        ("[cache]\nnews_ttl = 100000\n", "cache.news_ttl"),
        ("[store]\nbusy_timeout_ms = -1\n", "store.busy_timeout_ms"),
    ] {
        let (src, _dir) = sources(Some(text), &[]);
        let (k, _, message) = invalid(load(&src));
        assert_eq!(k, key, "{message}");
    }
    let (src, _dir) = sources(None, &[("STOCKDATA__STORE__ENABLED", "maybe")]);
    assert!(load(&src).is_err());
}

/// The README's example configuration is a real one: it loads, and what it says are the
/// defaults (routing order, log level) are the defaults.
#[test]
fn the_readme_example_config_loads_and_its_stated_defaults_are_real() {
    let readme = include_str!("../../../../README.md");
    let start = readme.find("```toml\n[providers.alpha_vantage]").unwrap() + "```toml\n".len();
    let block = &readme[start..];
    let block = &block[..block.find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stockdata.toml"), block).unwrap();
    let sources = stockdata_app::config::ConfigSources {
        file: None,
        env: std::collections::HashMap::new(),
        cwd: dir.path().to_path_buf(),
        not_unicode: Vec::new(),
    };
    let config = stockdata_app::config::load(&sources).unwrap();
    let defaults = stockdata_app::config::Routing::default();
    assert_eq!(config.routing.quotes, defaults.quotes);
    assert_eq!(config.routing.bars, defaults.bars);
    assert_eq!(config.routing.news, defaults.news);
    let default_level = stockdata_app::config::LogConfig::default().level;
    assert_eq!(
        config.log.level, default_level,
        "the README says its level is the default"
    );
}

/// `[store] url` (or `STOCKDATA_STORE_URL`) is a secret: kept out of Debug and of the
/// serialized view `config show` prints; anything but a PostgreSQL URL, or a url next to a
/// path, is refused naming the key.
#[test]
fn the_store_url_is_a_secret_and_must_be_postgres() {
    let url = "postgres://app:s3cr3t-pw@db.internal:5432/market";
    let (src, _dir) = sources(None, &[("STOCKDATA_STORE_URL", url)]);
    let config = stockdata_app::config::load(&src).unwrap();
    let shown = serde_json::to_string(&config).unwrap();
    assert!(!shown.contains("s3cr3t-pw"), "{shown}");
    assert!(!format!("{config:?}").contains("s3cr3t-pw"));
    assert!(config.store.url.is_some());

    let (src, _dir) = sources(Some("[store]\nurl = \"mysql://x\"\n"), &[]);
    let (key, _, message) = invalid(stockdata_app::config::load(&src));
    assert_eq!(key, "store.url");
    assert!(message.contains("postgres://"), "{message}");
    let (src, _dir) = sources(
        Some("[store]\npath = \"/data/s.sqlite\"\n"),
        &[("STOCKDATA_STORE_URL", url)],
    );
    let (key, _, message) = invalid(stockdata_app::config::load(&src));
    assert_eq!(key, "store.url");
    assert!(message.contains("both set"), "{message}");
    assert!(!message.contains("s3cr3t-pw"));
}

#[test]
fn the_otlp_endpoint_comes_from_opentelemetrys_variable_and_is_shown_redacted() {
    let (src, _dir) = sources(None, &[]);
    assert_eq!(
        load(&src).unwrap().log.otlp_endpoint,
        None,
        "nothing exported by default"
    );
    let (src, _dir) = sources(
        Some("[log]\notlp_endpoint = \"http://file:4318\"\n"),
        &[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://user:hunter2@collector:4318",
        )],
    );
    let config = load(&src).unwrap();
    let url = config.log.otlp_endpoint.clone().unwrap();
    assert_eq!(
        url.host_str(),
        Some("collector"),
        "the variable wins over the file"
    );
    let shown = serde_json::to_string(&config.log).unwrap();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("https://REDACTED:REDACTED@collector:4318"),
        "{shown}"
    );
    for bad in ["collector:4318", "ftp://collector", "http://", "not a url"] {
        let (src, _dir) = sources(None, &[("OTEL_EXPORTER_OTLP_ENDPOINT", bad)]);
        let (key, origin, message) = invalid(load(&src));
        assert_eq!(key, "log.otlp_endpoint");
        assert_eq!(origin, Origin::Env("OTEL_EXPORTER_OTLP_ENDPOINT".into()));
        assert!(message.contains("use http://HOST:4318"), "{bad}: {message}");
    }
    let (src, _dir) = sources(
        None,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://u:sekrit-pw@[::1")],
    );
    let (_, _, message) = invalid(load(&src));
    assert!(!message.contains("sekrit-pw"), "{message}");
}
