//! Helpers for tests that run the real binary: free ports, RPC calls, waiting.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn groundwork() -> Command {
    Command::new(env!("CARGO_BIN_EXE_groundwork"))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Rpc {
    pub url: String,
    client: reqwest::blocking::Client,
}

impl Rpc {
    pub fn new(port: u16) -> Self {
        Self {
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    /// `GET path`: the HTTP status and the body as text; status 0 if nothing listens yet.
    pub fn get_text(&self, path: &str) -> (u16, String) {
        match self.client.get(format!("{}{path}", self.url)).send() {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.text().unwrap_or_default())
            }
            Err(_) => (0, String::new()),
        }
    }

    /// `GET path`: the HTTP status and the JSON answer.
    pub fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Sends a raw body; returns the HTTP status and the JSON answer (if any). Status 0 means
    /// the server closed the connection before reading the whole body (as it may for an
    /// oversized one).
    pub fn raw(&self, body: String) -> (u16, Value) {
        let send = |body: String| {
            self.client
                .post(&self.url)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        // A pooled connection the server has just closed (after refusing an oversized body)
        // fails at once; a second try goes over a fresh connection. Oversized bodies are not
        // retried: for them a cut connection is the answer.
        let small = body.len() < 64 * 1024;
        let sent = match send(body.clone()) {
            Err(error) if error.is_request() && small => send(body),
            other => other,
        };
        let response = match sent {
            Ok(response) => response,
            Err(error) if error.is_request() => return (0, Value::Null),
            Err(error) => panic!("RPC request failed: {error}"),
        };
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Calls a method; returns the full JSON-RPC answer.
    pub fn call(&self, method: &str, params: Value) -> Value {
        self.raw(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string())
            .1
    }

    /// Calls a method that must succeed; returns its result.
    pub fn ok(&self, method: &str, params: Value) -> Value {
        let answer = self.call(method, params);
        assert!(answer.get("error").is_none(), "{method} failed: {answer}");
        answer["result"].clone()
    }

    pub fn try_status(&self) -> Option<Value> {
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(
                json!({"jsonrpc": "2.0", "id": 1, "method": "chain_status", "params": []})
                    .to_string(),
            )
            .send()
            .ok()?;
        let answer: Value = response.json().ok()?;
        Some(answer["result"].clone())
    }

    pub fn height(&self) -> u64 {
        self.ok("chain_status", json!([]))["height"]
            .as_u64()
            .unwrap()
    }
}

/// Polls `check` every 100 ms until it returns true or `limit` passes.
pub fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the RPC answers and the chain is past `height`.
pub fn wait_for_height(rpc: &Rpc, height: u64, limit: Duration) {
    wait_until(limit, &format!("height {height} at {}", rpc.url), || {
        rpc.try_status()
            .and_then(|s| s["height"].as_u64())
            .is_some_and(|h| h >= height)
    });
}

/// A child process killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_some() {
            return;
        }
        // SIGTERM first so a supervisor (testnet) can stop its own children.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

/// Starts `groundwork dev` on fresh ports; returns the process and its RPC client.
pub fn start_dev(data_dir: &Path, block_time_ms: u64) -> (Running, Rpc) {
    let rpc_port = free_port();
    (
        start_dev_with(data_dir, block_time_ms, rpc_port, &[]),
        Rpc::new(rpc_port),
    )
}

/// Starts `groundwork dev` with its simulated price oracles (the other helpers start a quiet
/// chain without them, whose blocks and RPC calls are only the test's own).
pub fn start_priced_dev(data_dir: &Path, block_time_ms: u64) -> (Running, Rpc) {
    let rpc_port = free_port();
    (
        spawn_dev(data_dir, block_time_ms, rpc_port, &[], true),
        Rpc::new(rpc_port),
    )
}

/// Starts `groundwork dev` with its RPC on `rpc_port` (so a restart keeps the address) and
/// extra arguments, without the price feed.
pub fn start_dev_with(
    data_dir: &Path,
    block_time_ms: u64,
    rpc_port: u16,
    extra: &[&str],
) -> Running {
    spawn_dev(data_dir, block_time_ms, rpc_port, extra, false)
}

fn spawn_dev(
    data_dir: &Path,
    block_time_ms: u64,
    rpc_port: u16,
    extra: &[&str],
    price_feed: bool,
) -> Running {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.with_extension("log"))
        .unwrap();
    let mut command = groundwork();
    command
        .args([
            "dev",
            "--log-level",
            "warn",
            "--block-time",
            &block_time_ms.to_string(),
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--rpc-addr")
        .arg(format!("127.0.0.1:{rpc_port}"));
    if !price_feed {
        command.arg("--no-price-feed");
    }
    if !extra.contains(&"--metrics-addr") {
        command
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{}", free_port()));
    }
    let child = command
        .arg("--p2p-addr")
        .arg(format!("127.0.0.1:{}", free_port()))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Running(child)
}

/// Runs the binary to completion; returns (success, stdout, stderr).
pub fn run(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let output = groundwork()
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs the binary and asserts it succeeded; returns stdout.
pub fn run_ok(args: &[&str], envs: &[(&str, &str)]) -> String {
    let (ok, stdout, stderr) = run(args, envs);
    assert!(ok, "groundwork {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}
