//! What the RPC server counts, for `/metrics`: calls, their latency, calls refused by the rate
//! limit, connections refused by the per-address cap, and connections open now.

use crate::rpc_limit::ConnectionLimiter;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS_S: [f64; 9] = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// Counters shared by every connection's middleware.
pub struct RpcStats {
    calls: AtomicU64,
    rate_limited: AtomicU64,
    refused_connections: AtomicU64,
    /// Calls whose handling took at most each bucket's bound (not cumulative).
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
    latency_over: AtomicU64,
    latency_sum_us: AtomicU64,
    connections: ConnectionLimiter,
}

impl RpcStats {
    pub fn new(connections: ConnectionLimiter) -> Self {
        Self {
            calls: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            refused_connections: AtomicU64::new(0),
            latency_buckets: Default::default(),
            latency_over: AtomicU64::new(0),
            latency_sum_us: AtomicU64::new(0),
            connections,
        }
    }

    /// One call answered, after `elapsed`.
    pub fn answered(&self, elapsed: Duration) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_us.fetch_add(micros, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        match LATENCY_BUCKETS_S.iter().position(|&bound| seconds <= bound) {
            Some(i) => self.latency_buckets[i].fetch_add(1, Ordering::Relaxed),
            None => self.latency_over.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// Calls admitted in a batch (a batch is answered as one; its latency is not split).
    pub fn batched(&self, calls: u64) {
        self.calls.fetch_add(calls, Ordering::Relaxed);
    }

    /// One call refused by the per-address rate limit (it is counted as a call too).
    pub fn rate_limited(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// One connection refused with HTTP 429 for its address's cap.
    pub fn refused_connection(&self) {
        self.refused_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "groundwork_rpc_calls_total",
            "counter",
            "JSON-RPC calls received, batched calls one each",
            self.calls.load(Ordering::Relaxed),
        );
        metric(
            "groundwork_rpc_rate_limited_total",
            "counter",
            "calls refused with error 4029 by the per-address rate limit",
            self.rate_limited.load(Ordering::Relaxed),
        );
        metric(
            "groundwork_rpc_refused_connections_total",
            "counter",
            "connections refused with HTTP 429 by the per-address connection cap",
            self.refused_connections.load(Ordering::Relaxed),
        );
        metric(
            "groundwork_rpc_open_connections",
            "gauge",
            "HTTP and WebSocket connections open now",
            u64::from(self.connections.open_total()),
        );
        let name = "groundwork_rpc_call_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} time to answer a call\n# TYPE {name} histogram"
        );
        let mut cumulative = 0u64;
        for (bound, count) in LATENCY_BUCKETS_S.iter().zip(&self.latency_buckets) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.latency_over.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum_s = self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum_s}\n{name}_count {cumulative}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_as_prometheus_text() {
        let stats = RpcStats::new(ConnectionLimiter::new(2));
        stats.answered(Duration::from_micros(300));
        stats.answered(Duration::from_millis(20));
        stats.answered(Duration::from_secs(9));
        stats.rate_limited();
        stats.refused_connection();
        let text = stats.render();
        assert!(text.contains("groundwork_rpc_calls_total 4\n"), "{text}");
        assert!(text.contains("groundwork_rpc_rate_limited_total 1\n"));
        assert!(text.contains("groundwork_rpc_refused_connections_total 1\n"));
        assert!(text.contains("groundwork_rpc_open_connections 0\n"));
        assert!(text.contains("groundwork_rpc_call_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("groundwork_rpc_call_seconds_bucket{le=\"0.05\"} 2\n"));
        assert!(text.contains("groundwork_rpc_call_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("groundwork_rpc_call_seconds_count 3\n"));
    }
}
