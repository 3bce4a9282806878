//! A small blocking JSON-RPC client of a Groundwork node, shared by the CLI, the device agent
//! and the simulated fleet. It tells "the node is unreachable" apart from "the node refused",
//! because the agent queues in the first case and drops in the second.

use commonware_codec::Encode;
use groundwork_api as api;
use groundwork_primitives::hash::{Digest, digest_from_hex};
use groundwork_primitives::{Amount, ChainId, Transaction};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Default node address of the CLI and agent: `groundwork dev`'s RPC.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8645";

/// A JSON-RPC error object, `{"code": …, "message": …}`, as a [`CallError::Rpc`]; `Err` with
/// what is wrong if it is not one.
fn rpc_error(error: &Value) -> Result<CallError, String> {
    let api::ErrorObject { code, message } = serde_json::from_value(error.clone())
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
    /// The whole answer, typed.
    pub answer: api::ChainStatus,
}

/// How many blocks past the current height a transaction signed by this binary stays
/// includable, unless the user says otherwise (`--valid-for`).
pub const DEFAULT_VALIDITY_BLOCKS: u64 = 600;

impl ChainStatus {
    /// What a device's provers need to know of the chain.
    pub fn view(&self) -> groundwork_agent::ChainView {
        groundwork_agent::ChainView {
            chain_id: self.chain_id.clone(),
            height: self.height,
            block: self.block,
            heartbeat_window_blocks: self.answer.heartbeat_window_blocks,
            beacon_interval_blocks: self.answer.coverage.beacon_interval_blocks,
        }
    }

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

    /// Calls `method` and reads its answer as the typed `T` of the api crate; an answer of
    /// another shape is [`CallError::Malformed`] with the field that did not fit.
    pub fn get<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, CallError> {
        let answer = self.call(method, params)?;
        api::parse(method, answer).map_err(|e| CallError::Malformed {
            method: e.method,
            reason: e.reason,
        })
    }

    pub fn status(&self) -> Result<ChainStatus, CallError> {
        let answer: api::ChainStatus = self.get("chain_status", json!([]))?;
        let malformed = |field: &str| CallError::Malformed {
            method: "chain_status".to_string(),
            reason: format!("bad `{field}`"),
        };
        Ok(ChainStatus {
            chain_id: answer.chain_id.parse().map_err(|_| malformed("chain_id"))?,
            height: answer.height,
            block: digest_from_hex(&answer.block).ok_or_else(|| malformed("block"))?,
            epoch: answer.epoch,
            epoch_length_blocks: answer.epoch_length_blocks,
            symbol: answer.token.symbol.clone(),
            decimals: answer.token.decimals,
            answer,
        })
    }

    /// The next nonce the chain expects of `address` (what has landed).
    pub fn nonce(&self, address: &str) -> Result<u64, CallError> {
        Ok(self.account(address)?.nonce)
    }

    /// The nonce to sign `address`'s next transaction with: past what it has pending at the
    /// node, so quick sends in a row (`--no-wait`) each get their own.
    pub fn pending_nonce(&self, address: &str) -> Result<u64, CallError> {
        Ok(self.account(address)?.pending_nonce)
    }

    /// `account_get`.
    pub fn account(&self, address: &str) -> Result<api::Account, CallError> {
        self.get("account_get", json!([address]))
    }

    /// Submits a transaction; returns its hash.
    pub fn submit(&self, transaction: &Transaction) -> Result<String, CallError> {
        let answer: api::Submitted =
            self.get("tx_submit", json!([hex::encode(transaction.encode())]))?;
        Ok(answer.hash)
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
        self.submit_hex_batch(&hexes)
    }

    /// Submits up to 1 024 transactions already encoded as hex; one result per transaction.
    pub fn submit_hex_batch(
        &self,
        hexes: &[String],
    ) -> Result<Vec<Result<String, CallError>>, CallError> {
        let answer: Vec<api::SubmitResult> = self.get("tx_submitBatch", json!([hexes]))?;
        Ok(answer
            .into_iter()
            .map(|item| match item {
                api::SubmitResult::Accepted { hash } => Ok(hash),
                api::SubmitResult::Refused { error } => Err(CallError::Rpc {
                    code: error.code,
                    message: error.message,
                }),
            })
            .collect())
    }

    /// Waits until a submitted transaction is in a finalized block.
    pub fn wait_for(&self, hash: &str, timeout: Duration) -> Result<Receipt, CallError> {
        let started = Instant::now();
        loop {
            match self.call("tx_get", json!([hash])) {
                Ok(receipt) => {
                    let answer: api::TxReceipt =
                        api::parse("tx_get", receipt).map_err(|e| CallError::Malformed {
                            method: e.method,
                            reason: e.reason,
                        })?;
                    let error = answer
                        .error_code
                        .map(|code| (i64::from(code), answer.error.unwrap_or_default()));
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

/// The body of `response`, refused if it is longer than `most` bytes: a provider's answer is
/// untrusted, so no more is read than the answer can rightly hold.
pub fn read_at_most(response: reqwest::blocking::Response, most: u64) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut body = Vec::new();
    response
        .take(most.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| anyhow::anyhow!("reading the answer: {e}"))?;
    if body.len() as u64 > most {
        anyhow::bail!("the answer is longer than the {most} bytes it can hold: refused");
    }
    Ok(body)
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
            answer: serde_json::from_value(json!({
                "chain_id": "groundwork-dev", "height": 1, "finalized_height": 1,
                "state_root": "00", "block": "00", "timestamp_ms": 0, "epoch": 0,
                "epoch_length_blocks": 30, "heartbeat_window_blocks": 10,
                "heartbeat_max_age_blocks": 20,
                "coverage": { "share_bps": 0, "beacon_interval_blocks": 1, "witness_window_blocks": 1 },
                "challenges": { "bond": "0", "answer_window_blocks": 1, "slash_bps": 0, "min_answer_witnesses": 1 },
                "token": { "symbol": "GRND", "decimals": 6 },
            }))
            .unwrap(),
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
