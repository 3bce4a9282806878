//! Per-IP request rate limit for the RPC server: a token bucket per client address, charged
//! once per call, whether the call came alone, inside a batch, or over a WebSocket.
//!
//! A call over the limit gets the JSON-RPC error [`crate::rpc::code::RATE_LIMITED`]; the
//! connection stays open, so a client that slows down carries on.

use crate::rpc::code;
use jsonrpsee::MethodResponse;
use jsonrpsee::core::middleware::{Batch, BatchEntry, BatchEntryErr, Notification, RpcServiceT};
use jsonrpsee::types::{ErrorObject, Request};
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

fn limited<'a>() -> ErrorObject<'a> {
    ErrorObject::owned(
        code::RATE_LIMITED,
        "too many requests from this address; slow down and retry",
        None::<()>,
    )
}

/// The middleware layer for one connection from `ip`.
#[derive(Clone)]
pub struct RateLimitLayer {
    pub limiter: RateLimiter,
    pub ip: IpAddr,
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;
    fn layer(&self, service: S) -> Self::Service {
        RateLimit {
            service,
            limiter: self.limiter.clone(),
            ip: self.ip,
        }
    }
}

/// Applies [`RateLimiter`] to the calls of one connection.
#[derive(Clone)]
pub struct RateLimit<S> {
    service: S,
    limiter: RateLimiter,
    ip: IpAddr,
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
        async move {
            if allowed {
                service.call(request).await
            } else {
                MethodResponse::error(request.id, limited())
            }
        }
    }

    fn batch<'a>(&self, mut batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        for entry in batch.iter_mut() {
            let refused = match entry {
                Ok(BatchEntry::Call(request)) if !self.limiter.allow(self.ip) => {
                    Some(request.id.clone())
                }
                _ => None,
            };
            if let Some(id) = refused {
                *entry = Err(BatchEntryErr::new(id, limited()));
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
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!((0..10_000).all(|_| limiter.allow(ip)));
    }
}
