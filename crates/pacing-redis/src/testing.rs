//! A private `redis-server` for tests (feature `testing`): one per test that asks, on a free
//! loopback port, nothing saved to disk, killed when dropped.
//!
//! Where the binary is absent, [`RedisServer::start`] answers `Ok(None)` (the test skips,
//! saying why on stderr), except under CI (`CI` set), where it is an error that says what to
//! install: CI must run these tests, never skip them.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::SecretString;

/// The server binary looked for on `PATH`.
pub const BINARY: &str = "redis-server";

/// A running private `redis-server`.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers.
    ///
    /// # Errors
    /// The binary is absent under CI, or the server did not start.
    pub fn start() -> Result<Option<Self>, String> {
        if !binary_present() {
            let reason = format!(
                "{BINARY} is not installed: install it (Debian/Ubuntu: apt-get install -y \
                 redis-server) to run the Redis pacing tests"
            );
            if std::env::var_os("CI").is_some() {
                return Err(reason);
            }
            eprintln!("skipped: {reason}");
            return Ok(None);
        }
        let port = free_port()?;
        let mut server = Self { port, child: None };
        server.restart()?;
        Ok(Some(server))
    }

    /// The server's URL (`redis://127.0.0.1:PORT`).
    #[must_use]
    pub fn url(&self) -> SecretString {
        SecretString::from(format!("redis://127.0.0.1:{}", self.port))
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (what a crashed or unreachable Redis looks like to its clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    ///
    /// # Errors
    /// It did not start within 10 s.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        let child = Command::new(BINARY)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {BINARY}: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.answers() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err(format!(
            "{BINARY} did not answer on port {} within 10 s",
            self.port
        ))
    }

    /// Whether it answers `PING` now.
    #[must_use]
    pub fn answers(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl RedisServer {
    /// Every key the server holds (`KEYS *`), sorted: what a test inspects without a client.
    ///
    /// # Errors
    /// The server did not answer, or not with a list of keys.
    pub fn keys(&self) -> Result<Vec<String>, String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        stream
            .write_all(b"*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n")
            .map_err(|e| format!("cannot ask: {e}"))?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        let mut read_line = |line: &mut String| {
            line.clear();
            reader
                .read_line(line)
                .map_err(|e| format!("no answer: {e}"))
                .map(|_| line.trim_end().to_owned())
        };
        let head = read_line(&mut line)?;
        let count: usize = head
            .strip_prefix('*')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("not a list: {head}"))?;
        let mut keys = Vec::with_capacity(count);
        for _ in 0..count {
            let _length = read_line(&mut line)?;
            keys.push(read_line(&mut line)?);
        }
        keys.sort();
        Ok(keys)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn binary_present() -> bool {
    Command::new(BINARY)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("no free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}
