//! JSON-RPC 2.0 rules the server library leaves to us, applied to each HTTP request before
//! it is served:
//!
//! * a notification (a call without `id`) gets no answer: HTTP 204 with an empty body;
//! * an `id` that is not a string, a number or null makes the request invalid (-32600);
//! * a subscription over plain HTTP is refused by name, pointing at the WebSocket, instead of
//!   failing as an internal error;
//! * requests that are not JSON-RPC at all are answered with HTTP 400, like parse errors.
//!
//! It also answers `GET /health` with the node's height and whether it is catching up, for
//! load balancers and monitors.
//!
//! WebSocket upgrades and batches pass through unchanged (a batch's calls are checked by the
//! server one by one).

use bytes::Bytes;
use jsonrpsee::core::BoxError;
use jsonrpsee::core::http_helpers::{HttpError, read_body};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Methods that need a WebSocket connection.
const SUBSCRIPTION_METHODS: &[&str] = &[
    "chain_subscribeBlocks",
    "chain_unsubscribeBlocks",
    "chain_subscribeRewards",
    "chain_unsubscribeRewards",
];

/// What `GET /health` answers: the body, and whether the node is healthy (HTTP 200) or
/// still catching up (HTTP 503).
pub type Health = std::sync::Arc<dyn Fn() -> (Value, bool) + Send + Sync>;

/// The layer, for `Server::builder().set_http_middleware`.
#[derive(Clone)]
pub struct JsonRpcRulesLayer {
    pub max_request_bytes: u32,
    pub health: Health,
}

impl<S> tower::Layer<S> for JsonRpcRulesLayer {
    type Service = JsonRpcRules<S>;
    fn layer(&self, inner: S) -> Self::Service {
        JsonRpcRules {
            inner,
            max_request_bytes: self.max_request_bytes,
            health: self.health.clone(),
        }
    }
}

#[derive(Clone)]
pub struct JsonRpcRules<S> {
    inner: S,
    max_request_bytes: u32,
    health: Health,
}

/// What the rules make of one request's body.
enum Verdict {
    /// Serve it as it is.
    Serve,
    /// Serve it, but answer nothing: it is a notification.
    Notification,
    /// Answer this instead, with this HTTP status.
    Answer(u16, Value),
}

fn judge(body: &[u8]) -> Verdict {
    let Ok(Value::Object(call)) = serde_json::from_slice::<Value>(body) else {
        // Batches, and what is not JSON, are the server's to answer.
        return Verdict::Serve;
    };
    let id = call.get("id");
    if let Some(id) = id
        && !(id.is_string() || id.is_number() || id.is_null())
    {
        return Verdict::Answer(
            400,
            json!({"jsonrpc": "2.0", "id": null, "error": {
                "code": -32600,
                "message": "invalid request: `id` must be a string, a number or null",
            }}),
        );
    }
    if let Some(method) = call.get("method").and_then(Value::as_str)
        && SUBSCRIPTION_METHODS.contains(&method)
    {
        return Verdict::Answer(
            200,
            json!({"jsonrpc": "2.0", "id": id.cloned().unwrap_or(Value::Null), "error": {
                "code": -32601,
                "message": format!("{method} needs a WebSocket: connect with ws:// to this address and call it there; plain HTTP cannot carry notifications"),
            }}),
        );
    }
    if id.is_none() {
        return Verdict::Notification;
    }
    Verdict::Serve
}

fn answer(status: u16, body: Value) -> HttpResponse {
    HttpResponse::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(HttpBody::from(body.to_string()))
        .unwrap_or_else(|_| HttpResponse::new(HttpBody::from("")))
}

fn empty(status: u16) -> HttpResponse {
    HttpResponse::builder()
        .status(status)
        .body(HttpBody::from(""))
        .unwrap_or_else(|_| HttpResponse::new(HttpBody::from("")))
}

impl<S, B> tower::Service<HttpRequest<B>> for JsonRpcRules<S>
where
    S: tower::Service<HttpRequest<HttpBody>, Response = HttpResponse, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        let mut inner = self.inner.clone();
        let max = self.max_request_bytes;
        let health = self.health.clone();
        Box::pin(async move {
            if request.method() == "GET" && request.uri().path() == "/health" {
                let (body, healthy) = health();
                return Ok(answer(if healthy { 200 } else { 503 }, body));
            }
            if request.method() != "POST" {
                return inner.call(request.map(HttpBody::new)).await;
            }
            let (parts, body) = request.into_parts();
            let bytes = match read_body(&parts.headers, body, max).await {
                Ok((bytes, _single)) => bytes,
                Err(HttpError::TooLarge) => return Ok(empty(413)),
                Err(_) => {
                    return Ok(answer(
                        400,
                        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}}),
                    ));
                }
            };
            let verdict = judge(&bytes);
            if let Verdict::Answer(status, body) = verdict {
                return Ok(answer(status, body));
            }
            let request = HttpRequest::from_parts(parts, HttpBody::from(bytes));
            let response = inner.call(request).await?;
            if matches!(verdict, Verdict::Notification) {
                return Ok(empty(204));
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_judged_by_the_json_rpc_rules() {
        let judged = |text: &str| judge(text.as_bytes());
        assert!(matches!(
            judged(r#"{"jsonrpc":"2.0","id":1,"method":"chain_status"}"#),
            Verdict::Serve
        ));
        assert!(matches!(
            judged(r#"{"jsonrpc":"2.0","method":"chain_status"}"#),
            Verdict::Notification
        ));
        assert!(matches!(
            judged(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"chain_status"}"#),
            Verdict::Answer(400, _)
        ));
        let Verdict::Answer(200, refusal) =
            judged(r#"{"jsonrpc":"2.0","id":7,"method":"chain_subscribeBlocks"}"#)
        else {
            panic!("a subscription over HTTP is answered");
        };
        assert_eq!(refusal["id"], 7);
        assert!(
            refusal["error"]["message"]
                .as_str()
                .unwrap()
                .contains("WebSocket")
        );
        assert!(matches!(judged("[1, 2]"), Verdict::Serve));
        assert!(matches!(judged("not json"), Verdict::Serve));
    }
}
