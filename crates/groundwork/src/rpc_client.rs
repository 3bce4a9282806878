//! A small blocking JSON-RPC client of a Groundwork node, shared by the CLI, the device agent
//! and the simulated fleet. It tells "the node is unreachable" apart from "the node refused",
//! because the agent queues in the first case and drops in the second.

use commonware_codec::Encode;
use groundwork_primitives::hash::{Digest, digest_from_hex};
use groundwork_primitives::{Amount, ChainId, Transaction};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Default node address of the CLI and agent: `groundwork dev`'s RPC.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8645";

/// A JSON-RPC error object, `{"code": …, "message": …}`, as a [`CallError::Rpc`]; `Err` with
/// what is wrong if it is not one.
fn rpc_error(error: &Value) -> Result<CallError, String> {
    #[derive(serde::Deserialize)]
    struct ErrorObject {
        code: i64,
        message: String,
    }
    let ErrorObject { code, message } = serde_json::from_value(error.clone())
        .map_err(|e| format!("the error object is malformed: {e}"))?;
    Ok(CallError::Rpc { code, message })
}

/// Why a call did not return a result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("node at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{message} (code {code})")]
    Rpc { code: i64, message: String },
    #[error("node sent a malformed answer to {method}: {reason}")]
    Malformed { method: String, reason: String },
    #[error("transaction {hash} was not included within {waited:?}")]
    Timeout { hash: String, waited: Duration },
}

/// The chain facts a client needs: where the chain is and how to show its token.
#[derive(Clone, Debug)]
pub struct ChainStatus {
    pub chain_id: ChainId,
    pub height: u64,
    pub block: Digest,
    pub epoch: u64,
    pub epoch_length_blocks: u64,
    pub symbol: String,
    pub decimals: u8,
    pub raw: Value,
}

/// How many blocks past the current height a transaction signed by this binary stays
/// includable, unless the user says otherwise (`--valid-for`).
pub const DEFAULT_VALIDITY_BLOCKS: u64 = 600;

impl ChainStatus {
    /// The last height that may include a transaction signed now with the default window.
    pub fn valid_until(&self) -> u64 {
        self.height.saturating_add(DEFAULT_VALIDITY_BLOCKS)
    }

    /// `12.5 GRND`.
    pub fn show(&self, base_units: &str) -> String {
        match base_units.parse::<u128>() {
            Ok(units) => format!(
                "{} {}",
                Amount(units).to_decimal_string(self.decimals),
                self.symbol
            ),
            Err(_) => format!("{base_units} (base units)"),
        }
    }

    /// A node's message with every `N base units` and every bare amount after `has` shown in
    /// tokens, as the user typed them: `needs 5000000 base units, has 1998` becomes
    /// `needs 5 GRND, has 0.001998 GRND`.
    pub fn in_tokens(&self, message: &str) -> String {
        let words: Vec<&str> = message.split(' ').collect();
        let mut out: Vec<String> = Vec::with_capacity(words.len());
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            let digits = word.trim_end_matches([',', ')', '.']);
            let tail = &word[digits.len()..];
            let amount = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            let unit_follows = words.get(i + 1) == Some(&"base")
                && words.get(i + 2).is_some_and(|w| w.starts_with("units"));
            if amount && unit_follows {
                let after = &words[i + 2]["units".len()..];
                out.push(format!("{}{after}", self.show(digits)));
                i += 3;
                continue;
            }
            if amount && i > 0 && words[i - 1] == "has" {
                out.push(format!("{}{tail}", self.show(digits)));
            } else {
                out.push(word.to_string());
            }
            i += 1;
        }
        out.join(" ")
    }
}

/// Where a transaction ended up.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub hash: String,
    pub height: u64,
    /// `None` if it applied.
    pub error: Option<(i64, String)>,
}

pub struct RpcClient {
    url: String,
    http: reqwest::blocking::Client,
}

impl RpcClient {
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let url = if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        };
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build an HTTP client: {e}"))?;
        Ok(Self { url, http })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn call(&self, method: &str, params: Value) -> Result<Value, CallError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let malformed = |reason: String| CallError::Malformed {
            method: method.to_string(),
            reason,
        };
        let response =
            self.http
                .post(&self.url)
                .json(&body)
                .send()
                .map_err(|e| CallError::Unreachable {
                    url: self.url.clone(),
                    reason: e.to_string(),
                })?;
        let text = response.text().map_err(|e| CallError::Unreachable {
            url: self.url.clone(),
            reason: e.to_string(),
        })?;
        let answer: Value = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
        if let Some(error) = answer.get("error") {
            return Err(rpc_error(error).map_err(malformed)?);
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| malformed("no result".to_string()))
    }

    pub fn status(&self) -> Result<ChainStatus, CallError> {
        let raw = self.call("chain_status", json!([]))?;
        let malformed = |field: &str| CallError::Malformed {
            method: "chain_status".to_string(),
            reason: format!("missing or bad `{field}`"),
        };
        Ok(ChainStatus {
            chain_id: raw["chain_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| malformed("chain_id"))?,
            height: raw["height"].as_u64().ok_or_else(|| malformed("height"))?,
            block: raw["block"]
                .as_str()
                .and_then(digest_from_hex)
                .ok_or_else(|| malformed("block"))?,
            epoch: raw["epoch"].as_u64().ok_or_else(|| malformed("epoch"))?,
            epoch_length_blocks: raw["epoch_length_blocks"]
                .as_u64()
                .ok_or_else(|| malformed("epoch_length_blocks"))?,
            symbol: raw["token"]["symbol"]
                .as_str()
                .ok_or_else(|| malformed("token.symbol"))?
                .to_string(),
            decimals: raw["token"]["decimals"]
                .as_u64()
                .and_then(|d| u8::try_from(d).ok())
                .ok_or_else(|| malformed("token.decimals"))?,
            raw,
        })
    }

    /// The next nonce of an account.
    /// The next nonce the chain expects of `address` (what has landed).
    pub fn nonce(&self, address: &str) -> Result<u64, CallError> {
        self.account_nonce(address, "nonce")
    }

    /// The nonce to sign `address`'s next transaction with: past what it has pending at the
    /// node, so quick sends in a row (`--no-wait`) each get their own.
    pub fn pending_nonce(&self, address: &str) -> Result<u64, CallError> {
        self.account_nonce(address, "pending_nonce")
    }

    fn account_nonce(&self, address: &str, field: &str) -> Result<u64, CallError> {
        let account = self.call("account_get", json!([address]))?;
        account[field].as_u64().ok_or(CallError::Malformed {
            method: "account_get".to_string(),
            reason: format!("missing `{field}`"),
        })
    }

    /// Submits a transaction; returns its hash.
    pub fn submit(&self, transaction: &Transaction) -> Result<String, CallError> {
        let answer = self.call("tx_submit", json!([hex::encode(transaction.encode())]))?;
        answer["hash"]
            .as_str()
            .map(str::to_string)
            .ok_or(CallError::Malformed {
                method: "tx_submit".to_string(),
                reason: "missing `hash`".to_string(),
            })
    }

    /// Submits up to 1 024 transactions; one result per transaction.
    pub fn submit_batch(
        &self,
        transactions: &[Transaction],
    ) -> Result<Vec<Result<String, CallError>>, CallError> {
        let hexes: Vec<String> = transactions
            .iter()
            .map(|t| hex::encode(t.encode()))
            .collect();
        let answer = self.call("tx_submitBatch", json!([hexes]))?;
        let items = answer.as_array().ok_or(CallError::Malformed {
            method: "tx_submitBatch".to_string(),
            reason: "not an array".to_string(),
        })?;
        Ok(items
            .iter()
            .map(|item| match item["hash"].as_str() {
                Some(hash) => Ok(hash.to_string()),
                None => {
                    Err(
                        rpc_error(&item["error"]).unwrap_or_else(|reason| CallError::Malformed {
                            method: "tx_submitBatch".to_string(),
                            reason,
                        }),
                    )
                }
            })
            .collect())
    }

    /// Waits until a submitted transaction is in a finalized block.
    pub fn wait_for(&self, hash: &str, timeout: Duration) -> Result<Receipt, CallError> {
        let started = Instant::now();
        loop {
            match self.call("tx_get", json!([hash])) {
                Ok(receipt) => {
                    // The node's receipt: its height, and the code and reason if it failed.
                    #[derive(serde::Deserialize)]
                    struct Answer {
                        height: u64,
                        error_code: Option<i64>,
                        error: Option<String>,
                    }
                    let answer: Answer =
                        serde_json::from_value(receipt).map_err(|e| CallError::Malformed {
                            method: "tx_get".to_string(),
                            reason: e.to_string(),
                        })?;
                    let error = match (answer.error_code, answer.error) {
                        (Some(code), Some(reason)) => Some((code, reason)),
                        (Some(code), None) => Some((code, String::new())),
                        _ => None,
                    };
                    return Ok(Receipt {
                        hash: hash.to_string(),
                        height: answer.height,
                        error,
                    });
                }
                Err(CallError::Rpc { code: 4004, .. }) if started.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(CallError::Rpc { code: 4004, .. }) => {
                    return Err(CallError::Timeout {
                        hash: hash.to_string(),
                        waited: timeout,
                    });
                }
                Err(other) => return Err(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_messages_are_shown_in_tokens() {
        let status = ChainStatus {
            chain_id: "groundwork-dev".parse().unwrap(),
            height: 1,
            block: Digest::from([0u8; 32]),
            epoch: 0,
            epoch_length_blocks: 30,
            symbol: "GRND".to_string(),
            decimals: 6,
            raw: Value::Null,
        };
        assert_eq!(
            status.in_tokens("insufficient balance: needs 5000000 base units, has 1998"),
            "insufficient balance: needs 5 GRND, has 0.001998 GRND"
        );
        assert_eq!(
            status.in_tokens("cannot pay the fee: fee is 1000 base units, the account has 0"),
            "cannot pay the fee: fee is 0.001 GRND, the account has 0 GRND"
        );
        assert_eq!(
            status.in_tokens("bad nonce: expected 1, got 0"),
            "bad nonce: expected 1, got 0"
        );
    }
}
