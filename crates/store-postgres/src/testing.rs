//! A private PostgreSQL server for tests and benches (feature `testing`).
//!
//! [`TestServer::shared`] starts one server per test process, on first use: the
//! distribution's binaries (`pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`,
//! else `initdb` on `PATH`) `initdb` a cluster into a fresh folder under the temporary
//! directory and run it on a free loopback port, without durability (`fsync=off`: a test's
//! data need not survive a power cut). Each test then asks for a database of its own with
//! [`TestServer::database`], so tests run in parallel without seeing each other's data.
//!
//! PostgreSQL refuses to run as root. When the tests do (as CI does, in a fresh container),
//! `initdb` and the server run as the `postgres` user that the distribution's package creates
//! (else `nobody`), owning the folder.
//!
//! **Stopping.** The server is started under a small `sh` guard whose standard input is a pipe
//! from the test process. When that process ends, however it ends (a finished run, a panic, a
//! kill), the kernel closes the pipe; the guard then stops the server (`SIGQUIT`, an immediate
//! shutdown) and deletes its folder. The guard runs in a process group of its own, so a
//! terminal's Ctrl-C or a test runner killing the test's process group reaches the test process
//! only, and the pipe does the rest. A server of one's own ([`TestServer::start`]) is stopped
//! the same way when dropped.
//!
//! **When PostgreSQL is not installed**, [`TestServer::shared`] prints why and returns `None`,
//! so the test returns early (a skip, locally); with the `CI` environment variable set it
//! panics instead, saying what to install: CI never passes without the tests that need it.

#![allow(
    clippy::panic,
    reason = "test support: a server that cannot start fails the test"
)]

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// What to install when PostgreSQL is missing.
pub const INSTALL_HINT: &str = "install PostgreSQL's server binaries (Debian/Ubuntu: \
     `apt-get install -y postgresql`; elsewhere a package providing initdb and postgres)";

/// How long a server may take to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The guard: starts the server, waits for its standard input to close, stops the server and
/// deletes the folder. `$1` the folder, `$2` the binaries, `$3` the port, `$4` `on` or `off`
/// for fsync.
const GUARD: &str = r#"
base=$1; bin=$2; port=$3; durable=$4
exec 3<&0
"$bin/postgres" -D "$base/data" -k "$base" -p "$port" -h 127.0.0.1 \
    -c fsync="$durable" -c synchronous_commit="$durable" -c full_page_writes="$durable" \
    -c max_connections=200 -c shared_buffers=128MB \
    >"$base/log" 2>&1 </dev/null &
pid=$!
{ cat <&3 >/dev/null; kill -QUIT "$pid" 2>/dev/null; } &
exec 3<&-
wait "$pid"
code=$?
tail -c 4000 "$base/log" >&2 2>/dev/null
rm -rf "$base"
exit "$code"
"#;

/// A PostgreSQL server of this process, on `127.0.0.1`, superuser `postgres`, trust
/// authentication.
#[derive(Debug)]
pub struct TestServer {
    port: u16,
    folder: PathBuf,
    startup: Duration,
    guard: Mutex<Option<(Child, ChildStdin)>>,
    databases: AtomicUsize,
}

impl TestServer {
    /// The server shared by this test process, started on first use.
    ///
    /// `None` when PostgreSQL is not installed and the `CI` variable is unset (after printing
    /// why on stderr: the caller returns early).
    ///
    /// # Panics
    /// When PostgreSQL is not installed and `CI` is set, or when the server cannot start.
    #[must_use]
    pub fn shared() -> Option<&'static TestServer> {
        static SHARED: OnceLock<Result<TestServer, Missing>> = OnceLock::new();
        let started = SHARED.get_or_init(|| {
            let bin = binaries()?;
            Ok(TestServer::start_in(&bin, false)
                .unwrap_or_else(|e| panic!("the test PostgreSQL server did not start: {e}")))
        });
        match started {
            Ok(server) => Some(server),
            Err(Missing(why)) => {
                if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                    panic!("PostgreSQL is needed by this test and {why}: {INSTALL_HINT}");
                }
                eprintln!("skipped: {why} ({INSTALL_HINT}; with CI set this fails)");
                None
            }
        }
    }

    /// A server of one's own, stopped when dropped. `durable` keeps PostgreSQL's defaults
    /// (`fsync`, `synchronous_commit` and `full_page_writes` on), as a benchmark wants.
    ///
    /// # Errors
    /// Why PostgreSQL is missing or did not start.
    pub fn start(durable: bool) -> Result<TestServer, String> {
        let bin = binaries().map_err(|Missing(why)| format!("{why}: {INSTALL_HINT}"))?;
        Self::start_in(&bin, durable)
    }

    fn start_in(bin: &Path, durable: bool) -> Result<TestServer, String> {
        let started = Instant::now();
        let user = run_as()?;
        // A port taken between choosing it and the server binding it: try another.
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(bin, user, durable, started) {
                Ok(server) => return Ok(server),
                Err(e) if e.contains("could not bind") || e.contains("Address already in use") => {
                    last = e;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn try_start(
        bin: &Path,
        user: Option<(u32, u32)>,
        durable: bool,
        started: Instant,
    ) -> Result<TestServer, String> {
        let parent = if user.is_some() {
            // Every folder above it must be traversable by the server's user.
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let folder = tempfile::Builder::new()
            .prefix("stockdata-pg-")
            .tempdir_in(&parent)
            .map_err(|e| format!("cannot make a folder in {}: {e}", parent.display()))?
            .keep();
        let cleanup = |e: String| {
            let _ = fs::remove_dir_all(&folder);
            e
        };
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&folder, Some(uid), Some(gid))
                .map_err(|e| cleanup(format!("cannot hand {} over: {e}", folder.display())))?;
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(folder.join("data"))
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--wal-segsize=1"])
            .current_dir(&folder)
            .stdin(Stdio::null());
        as_user(&mut initdb, user);
        let out = initdb
            .output()
            .map_err(|e| cleanup(format!("cannot run {}/initdb: {e}", bin.display())))?;
        if !out.status.success() {
            return Err(cleanup(format!(
                "initdb failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let port = free_port().map_err(cleanup)?;
        let mut guard = Command::new("sh");
        guard
            .arg("-c")
            .arg(GUARD)
            .arg("stockdata-pg-guard")
            .arg(&folder)
            .arg(bin)
            .arg(port.to_string())
            .arg(if durable { "on" } else { "off" })
            .current_dir(&folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        as_user(&mut guard, user);
        let mut child = guard
            .spawn()
            .map_err(|e| cleanup(format!("cannot start the server's guard: {e}")))?;
        let Some(stdin) = child.stdin.take() else {
            let _ = child.kill();
            return Err(cleanup("the guard has no standard input".to_owned()));
        };
        // From here on the guard deletes the folder when the server stops.
        let pid_file = folder.join("data").join("postmaster.pid");
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut log = String::new();
                if let Some(mut err) = child.stderr.take() {
                    let _ = err.read_to_string(&mut log);
                }
                return Err(format!("postgres exited ({status}) while starting: {log}"));
            }
            // Line 8 of postmaster.pid is the server's status (PostgreSQL 10 and later).
            let ready = fs::read_to_string(&pid_file)
                .is_ok_and(|s| s.lines().nth(7).is_some_and(|l| l.trim() == "ready"));
            if ready {
                break;
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                drop(stdin);
                let _ = child.wait();
                return Err(format!(
                    "postgres did not accept connections within {STARTUP_TIMEOUT:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(TestServer {
            port,
            folder,
            startup: started.elapsed(),
            guard: Mutex::new(Some((child, stdin))),
            databases: AtomicUsize::new(0),
        })
    }

    /// The TCP port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's folder (its data in `data/`, its log in `log`, its Unix socket).
    #[must_use]
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// How long finding the binaries, `initdb` and starting the server took.
    #[must_use]
    pub fn startup(&self) -> Duration {
        self.startup
    }

    /// The URL of database `name` as the superuser `postgres`.
    #[must_use]
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// A new, empty database of its own (`t1`, `t2`, ...), and its URL.
    ///
    /// # Panics
    /// When the server does not create it.
    pub async fn database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed) + 1;
        let name = format!("t{n}");
        self.execute("postgres", &format!("CREATE DATABASE {name}"))
            .await;
        self.url(&name)
    }

    /// Runs `sql` (one or more statements) in database `name` as the superuser.
    ///
    /// # Panics
    /// When the server refuses it.
    pub async fn execute(&self, name: &str, sql: &str) {
        let client = self.client(name).await;
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// A superuser connection to database `name`, its connection driven by a task of the
    /// current tokio runtime.
    ///
    /// # Panics
    /// When it cannot connect.
    pub async fn client(&self, name: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url(name), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test server: {e:?}"));
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let guard = self
            .guard
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((mut child, stdin)) = guard {
            // Closing the pipe is the stop signal; the guard deletes the folder, then exits.
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// Why no server can be had here.
#[derive(Debug)]
struct Missing(String);

/// The folder holding `initdb` and `postgres`.
fn binaries() -> Result<PathBuf, Missing> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Ok(out) = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    // Debian and Ubuntu keep each major version apart; take the newest.
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| has_server(dir));
    on_path.ok_or_else(|| {
        Missing(
            "PostgreSQL's initdb and postgres were not found (pg_config --bindir, \
             /usr/lib/postgresql/*/bin, PATH)"
                .to_owned(),
        )
    })
}

/// The (uid, gid) to run PostgreSQL as when this process is root, `None` otherwise.
fn run_as() -> Result<Option<(u32, u32)>, String> {
    let uid = fs::metadata("/proc/self").map(|m| m.uid()).or_else(|_| {
        let out = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .map_err(|e| e.to_string())
    });
    if uid.map_err(|e| format!("cannot tell which user this is: {e}"))? != 0 {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    for name in ["postgres", "nobody"] {
        let found = passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            if fields.next()? != name {
                return None;
            }
            let (uid, gid) = (fields.nth(1)?.parse().ok()?, fields.next()?.parse().ok()?);
            Some((uid, gid))
        });
        if let Some((uid, gid)) = found.filter(|(uid, _)| *uid != 0) {
            return Ok(Some((uid, gid)));
        }
    }
    Err(
        "running as root, and neither a postgres nor a nobody user exists to run \
         PostgreSQL as (it refuses root)"
            .to_owned(),
    )
}

fn as_user(cmd: &mut Command, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        // std drops the supplementary groups too when root changes uid.
        cmd.uid(uid).gid(gid);
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}
