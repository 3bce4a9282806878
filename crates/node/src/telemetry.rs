//! Logs and the Prometheus endpoint of a node process.
//!
//! Logs go to stderr (stdout is the binary's own output), as text for people — without colour
//! when stderr is not a terminal, and without thread ids or source paths — or as one JSON
//! object per line for log collectors. Storage's notes on a first start ("log is empty,
//! initializing") are not warnings to an operator, so storage speaks at error level only.
//!
//! `/metrics` serves the runtime's metrics (consensus, p2p, storage, the executor) and, once
//! the node is up, Groundwork's own: RPC calls, latency and refusals, devices by kind and
//! status, the last ended epoch's emission and payouts, and the process's memory and open
//! files. docs/node.md lists them.

use crate::chain::Chain;
use crate::rpc_stats::RpcStats;
use commonware_runtime::{Metrics, Spawner};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the process's log subscriber. Later calls (a second node in one test process)
/// keep the first.
pub fn init_logs(level: tracing::Level, json: bool) {
    // At the default level the consensus, network and runtime libraries report their inner
    // workings (archives restored, peers dialled) in long nested spans: that is debugging
    // detail, so they speak at warn unless the operator asks for debug or trace.
    let internals = if level > tracing::Level::INFO {
        level
    } else {
        tracing::Level::WARN.min(level)
    };
    let mut filter = Targets::new()
        .with_default(level)
        .with_target("commonware_storage", tracing::Level::ERROR.min(level));
    for library in [
        "commonware_consensus",
        "commonware_p2p",
        "commonware_broadcast",
        "commonware_resolver",
        "commonware_runtime",
        "commonware_stream",
    ] {
        filter = filter.with_target(library, internals);
    }
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_thread_ids(false)
        .with_file(false)
        .with_line_number(false);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry.with(layer.json()).try_init()
    } else {
        registry
            .with(layer.with_ansi(std::io::stderr().is_terminal()).compact())
            .try_init()
    };
}

/// Metrics added to the runtime's at each scrape, once the node has started.
pub type ExtraMetrics = Arc<OnceLock<Box<dyn Fn() -> String + Send + Sync>>>;

/// Serves the runtime's metrics, then `extra`'s, as Prometheus text at `GET /metrics`.
pub fn serve_metrics<C>(context: C, address: SocketAddr, extra: ExtraMetrics)
where
    C: Metrics + Spawner + Send + Sync + 'static,
{
    context.spawn(move |encoder| async move {
        let listener = match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%address, %error, "cannot serve metrics");
                return;
            }
        };
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            let mut body = encoder.encode();
            if let Some(render) = extra.get() {
                body.push_str(&render());
            }
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut request = [0u8; 1_024];
                let read = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    socket.read(&mut request),
                )
                .await;
                let Ok(Ok(read)) = read else { return };
                let line = String::from_utf8_lossy(&request[..read]);
                let answer = if line.starts_with("GET /metrics ") {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_string()
                };
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
}

/// Groundwork's own metrics: the RPC server's counters, then the chain's and the process's.
pub fn node_metrics(chain: &Chain, rpc: &RpcStats) -> String {
    let mut out = rpc.render();
    let mut gauge = |name: &str, help: &str, lines: Vec<(String, u128)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in lines {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let (devices, epoch) = chain.with_state(|s| {
        let mut counts = std::collections::BTreeMap::new();
        for (_, device) in s.devices() {
            *counts
                .entry((device.kind.name(), device.status.name()))
                .or_insert(0u128) += 1;
        }
        let ended = s.epochs_ended();
        let last = ended.checked_sub(1);
        (counts, last.and_then(|e| Some((e, s.epoch_summary(e)?))))
    });
    let devices = devices
        .into_iter()
        .map(|((kind, status), n)| (format!("{{kind=\"{kind}\",status=\"{status}\"}}"), n))
        .collect();
    gauge(
        "groundwork_devices",
        "registered devices by kind and status",
        devices,
    );
    if let Some((number, summary)) = epoch {
        let one = |value: u128| vec![(String::new(), value)];
        gauge(
            "groundwork_last_epoch",
            "number of the last ended epoch",
            one(u128::from(number)),
        );
        gauge(
            "groundwork_last_epoch_emission",
            "base units minted in the last ended epoch",
            one(summary.emission.0),
        );
        gauge(
            "groundwork_last_epoch_paid",
            "base units the last ended epoch paid to device owners",
            one(summary.paid.0),
        );
        gauge(
            "groundwork_last_epoch_to_treasury",
            "base units of the last ended epoch sent to the treasury",
            one(summary.to_treasury.0),
        );
        gauge(
            "groundwork_last_epoch_devices_rewarded",
            "devices paid in the last ended epoch",
            one(u128::from(summary.devices_rewarded)),
        );
    }
    if let Some(bytes) = resident_bytes() {
        gauge(
            "groundwork_process_resident_bytes",
            "resident memory of this process",
            vec![(String::new(), u128::from(bytes))],
        );
    }
    if let Some(count) = open_files() {
        gauge(
            "groundwork_process_open_files",
            "open file descriptors of this process",
            vec![(String::new(), u128::from(count))],
        );
    }
    out
}

/// Resident memory, from `/proc/self/status` (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1_024)
}

/// Open file descriptors, from `/proc/self/fd` (Linux); `None` elsewhere.
fn open_files() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(entries.count() as u64)
}
