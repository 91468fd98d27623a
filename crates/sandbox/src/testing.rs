//! Test helpers: the whole app (fault middleware and all) driven in-process, without a socket.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use stockdata_ports::FixedClock;
use tower::ServiceExt as _;

use crate::{Faults, Quotas, SandboxConfig, Shared};

/// The contract tests' "now": a Friday, after the close.
pub(crate) const NOW: &str = "2024-03-08T21:30:00Z";

/// A sandbox app with its shared state.
pub(crate) struct Sim {
    pub(crate) shared: Arc<Shared>,
    app: Router,
}

impl Sim {
    pub(crate) fn new(quotas: Option<Quotas>, faults: Faults) -> Self {
        Self::with(NOW, quotas, faults)
    }

    /// No quotas, no faults, and the clock at `now`.
    pub(crate) fn at(now: &str) -> Self {
        Self::with(now, None, Faults::default())
    }

    fn with(now: &str, quotas: Option<Quotas>, faults: Faults) -> Self {
        let config = SandboxConfig {
            quotas,
            faults,
            ..SandboxConfig::new(Arc::new(FixedClock(now.parse().unwrap())))
        };
        let shared = Arc::new(Shared::new(config));
        let app = crate::app(Arc::clone(&shared));
        Self { shared, app }
    }

    pub(crate) fn requests(&self) -> u64 {
        self.shared
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// An answer: the body is `Err` when it broke off (a reset).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    headers: axum::http::HeaderMap,
    pub(crate) body: Result<Bytes, String>,
}

impl Answer {
    pub(crate) fn text(&self) -> String {
        let body = self.body.as_ref().expect("a whole body");
        String::from_utf8(body.to_vec()).expect("UTF-8")
    }

    pub(crate) fn json(&self) -> serde_json::Result<Value> {
        serde_json::from_str(&self.text())
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The keys of the JSON object at `pointer` (`""`, `"/bars"`, ...) in the order the text has
/// them (`serde_json::Value` sorts them).
pub(crate) fn keys(text: &str, pointer: &str) -> Vec<String> {
    type Ordered = indexmap::IndexMap<String, Box<serde_json::value::RawValue>>;
    let mut current = text.to_owned();
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        let map: Ordered = serde_json::from_str(&current).unwrap();
        current = map[part].get().to_owned();
    }
    let map: Ordered = serde_json::from_str(&current).unwrap();
    map.keys().cloned().collect()
}

/// `GET uri` with `headers`.
pub(crate) async fn get(sim: &Sim, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(axum::body::Body::empty()).unwrap();
    let response = sim.app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| e.to_string());
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}
