//! Logs and the Prometheus endpoint of a node process.
//!
//! Logs go to stderr (stdout is the binary's own output), as text for people — without colour
//! when stderr is not a terminal, and without thread ids or source paths — or as one JSON
//! object per line for log collectors. Storage's notes on a first start ("log is empty,
//! initializing") are not warnings to an operator, so storage speaks at error level only.

use commonware_runtime::{Metrics, Spawner};
use std::io::IsTerminal;
use std::net::SocketAddr;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the process's log subscriber. Later calls (a second node in one test process)
/// keep the first.
pub fn init_logs(level: tracing::Level, json: bool) {
    let filter = Targets::new()
        .with_default(level)
        .with_target("commonware_storage", tracing::Level::ERROR.min(level));
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

/// Serves the runtime's metrics as Prometheus text at `GET /metrics` on `address`.
pub fn serve_metrics<C>(context: C, address: SocketAddr)
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
            let body = encoder.encode();
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
