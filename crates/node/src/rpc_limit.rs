//! Per-IP limits of the RPC server.
//!
//! * Calls: a token bucket per client address, charged once per call, whether the call came
//!   alone, inside a batch, or over a WebSocket. A call over the limit gets the JSON-RPC error
//!   [`crate::rpc::code::RATE_LIMITED`]; the connection stays open, so a client that slows
//!   down carries on.
//! * Connections: at most [`ConnectionLimiter`]'s count open per address, well below the
//!   server's total, so one address cannot take every slot; and a connection from which nothing
//!   arrives for the idle timeout is closed ([`Watched`]).

use crate::rpc_stats::RpcStats;
use jsonrpsee::MethodResponse;
use jsonrpsee::core::middleware::{Batch, BatchEntry, BatchEntryErr, Notification, RpcServiceT};
use jsonrpsee::types::{ErrorObject, Request};
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Buckets idle this long are forgotten when the table grows.
const IDLE_BUCKET: Duration = Duration::from_secs(60);
/// Table size above which idle buckets are swept.
const SWEEP_ABOVE: usize = 4_096;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets by client IP, shared by every connection.
#[derive(Clone)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<IpAddr, Bucket>>>,
}

impl RateLimiter {
    /// `per_second` sustained calls per IP, with bursts of twice that. Zero disables the limit.
    pub fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second);
        Self {
            per_second,
            burst: per_second * 2.0,
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes one token for `ip`; false if it has none left.
    pub fn allow(&self, ip: IpAddr) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, b| now.duration_since(b.last) < IDLE_BUCKET);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Open connections by client IP.
#[derive(Clone)]
pub struct ConnectionLimiter {
    per_ip: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// One open connection's place in its address's count; given back on drop.
pub struct ConnectionPermit {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl ConnectionLimiter {
    pub fn new(per_ip: u32) -> Self {
        Self {
            per_ip,
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A place for one more connection from `ip`, or `None` if it has its limit open.
    pub fn try_open(&self, ip: IpAddr) -> Option<ConnectionPermit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= self.per_ip {
            return None;
        }
        *count += 1;
        Some(ConnectionPermit {
            ip,
            open: self.open.clone(),
        })
    }

    /// Connections open now, from every address.
    pub fn open_total(&self) -> u32 {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.values().sum()
    }

    /// Connections open now from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> u32 {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A connection's stream. It holds the connection's [`ConnectionPermit`] for as long as the
/// stream lives (a WebSocket outlives the HTTP request that upgraded it), and fails a read
/// once no byte has arrived from the client for the idle limit, which closes the connection.
/// Only what the client sends counts: the server's own writes (pings, notifications) cannot
/// keep a connection alive that nobody reads.
pub struct Watched<S> {
    inner: S,
    idle_limit: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
    _permit: ConnectionPermit,
}

impl<S> Watched<S> {
    pub fn new(inner: S, idle_limit: Duration, permit: ConnectionPermit) -> Self {
        Self {
            inner,
            idle_limit,
            deadline: Box::pin(tokio::time::sleep(idle_limit)),
            _permit: permit,
        }
    }

    fn touch(&mut self) {
        let next = tokio::time::Instant::now() + self.idle_limit;
        self.deadline.as_mut().reset(next);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connection idle",
                ))),
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn limited<'a>() -> ErrorObject<'a> {
    crate::rpc::errors::rate_limited()
}

/// The middleware layer for one connection from `ip`.
#[derive(Clone)]
pub struct RateLimitLayer {
    pub limiter: RateLimiter,
    pub ip: IpAddr,
    pub stats: Arc<RpcStats>,
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;
    fn layer(&self, service: S) -> Self::Service {
        RateLimit {
            service,
            limiter: self.limiter.clone(),
            ip: self.ip,
            stats: self.stats.clone(),
        }
    }
}

/// Applies [`RateLimiter`] to the calls of one connection.
#[derive(Clone)]
pub struct RateLimit<S> {
    service: S,
    limiter: RateLimiter,
    ip: IpAddr,
    stats: Arc<RpcStats>,
}

impl<S> RpcServiceT for RateLimit<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let allowed = self.limiter.allow(self.ip);
        let service = self.service.clone();
        let stats = self.stats.clone();
        async move {
            if allowed {
                let started = Instant::now();
                let response = service.call(request).await;
                stats.answered(started.elapsed());
                response
            } else {
                stats.rate_limited();
                MethodResponse::error(request.id, limited())
            }
        }
    }

    fn batch<'a>(&self, mut batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        for entry in batch.iter_mut() {
            let refused = match entry {
                Ok(BatchEntry::Call(request)) if !self.limiter.allow(self.ip) => {
                    self.stats.rate_limited();
                    Some(request.id.clone())
                }
                _ => None,
            };
            match refused {
                Some(id) => *entry = Err(BatchEntryErr::new(id, limited())),
                None if matches!(entry, Ok(BatchEntry::Call(_))) => self.stats.batched(1),
                None => {}
            }
        }
        self.service.batch(batch)
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.service.notification(notification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused() {
        let limiter = RateLimiter::new(5);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let allowed = (0..20).filter(|_| limiter.allow(ip)).count();
        // Burst of 10 plus at most a token refilled while the loop ran.
        assert!((10..=11).contains(&allowed), "allowed {allowed}");
        // Another address has its own bucket.
        assert!(limiter.allow("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn connections_are_capped_per_address_and_given_back() {
        let limiter = ConnectionLimiter::new(2);
        let attacker: IpAddr = "127.0.0.2".parse().unwrap();
        let first = limiter.try_open(attacker).unwrap();
        let _second = limiter.try_open(attacker).unwrap();
        assert!(limiter.try_open(attacker).is_none());
        assert!(limiter.try_open("127.0.0.1".parse().unwrap()).is_some());
        drop(first);
        assert_eq!(limiter.open_from(attacker), 1);
        assert!(limiter.try_open(attacker).is_some());
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!((0..10_000).all(|_| limiter.allow(ip)));
    }
}
