//! Real processes: `groundwork dev` survives SIGKILL, a four-validator testnet survives losing
//! a validator, and bad RPC input never takes a node down.

mod common;

use common::*;
use commonware_cryptography::Signer;
use groundwork_primitives::codec::Encode;
use groundwork_primitives::keyfile::{key_address, read_key_file};
use groundwork_primitives::{
    AccountAction, AccountKey, AccountTransaction, Address, Amount, ChainId, Transaction,
};
use serde_json::json;
use std::time::Duration;

fn dev_account(data_dir: &std::path::Path) -> AccountKey {
    read_key_file(&std::fs::read_to_string(data_dir.join("dev-account.key")).unwrap()).unwrap()
}

fn transfer_hex(
    key: &AccountKey,
    chain: &ChainId,
    nonce: u64,
    to: Address,
    amount: u128,
) -> String {
    let tx = AccountTransaction::sign(
        key,
        chain,
        nonce,
        AccountAction::Transfer {
            to,
            amount: Amount(amount),
        },
    );
    hex::encode(Transaction::Account(tx).encode())
}

fn balance(rpc: &Rpc, address: &Address) -> u128 {
    rpc.ok("account_get", json!([address.to_string()]))["balance"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn dev_node_restarts_after_sigkill_with_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let (node, rpc) = start_dev(&data, 200);
    wait_for_height(&rpc, 1, Duration::from_secs(30));
    let chain: ChainId = "groundwork-dev".parse().unwrap();
    let key = dev_account(&data);
    let recipient = key_address(&AccountKey::from_seed(77));
    for nonce in 0..5 {
        let hash = rpc.ok(
            "tx_submit",
            json!([transfer_hex(
                &key,
                &chain,
                nonce,
                recipient,
                1_000 + u128::from(nonce)
            )]),
        );
        assert_eq!(hash["hash"].as_str().unwrap().len(), 64);
    }
    wait_until(Duration::from_secs(30), "transfers to land", || {
        balance(&rpc, &recipient) == 5_000 + 10
    });
    let before = rpc.ok("chain_status", json!([]));
    let height = before["height"].as_u64().unwrap();
    let sender_before = balance(&rpc, &key_address(&key));
    node.kill();

    let (_node, rpc) = start_dev(&data, 200);
    wait_for_height(&rpc, height, Duration::from_secs(30));
    assert_eq!(balance(&rpc, &recipient), 5_010);
    assert_eq!(balance(&rpc, &key_address(&key)), sender_before);
    // The block after `height` carries the state root after `height`: unchanged by the crash.
    wait_for_height(&rpc, height + 3, Duration::from_secs(30));
    let next = rpc.ok("chain_getBlock", json!([height + 1]));
    assert_eq!(next["state_root"], before["state_root"]);
    // The chain keeps accepting transactions after the restart.
    rpc.ok(
        "tx_submit",
        json!([transfer_hex(&key, &chain, 5, recipient, 1)]),
    );
    wait_until(Duration::from_secs(30), "a transfer after restart", || {
        balance(&rpc, &recipient) == 5_011
    });
}

#[test]
fn bad_rpc_input_gets_an_error_and_the_node_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let (_node, rpc) = start_dev(&data, 200);
    wait_for_height(&rpc, 1, Duration::from_secs(30));
    let key = dev_account(&data);
    let chain: ChainId = "groundwork-dev".parse().unwrap();
    let to = key_address(&AccountKey::from_seed(5));

    let error = |answer: &serde_json::Value| -> (i64, String) {
        let e = &answer["error"];
        (
            e["code"].as_i64().unwrap_or(0),
            e["message"].as_str().unwrap_or("").to_string(),
        )
    };
    let (code, message) = error(&rpc.call("tx_submit", json!(["zz-not-hex"])));
    assert_eq!(code, -32602);
    assert!(
        message.contains("`tx`") && message.contains("hex"),
        "{message}"
    );

    let (code, message) = error(&rpc.call("tx_submit", json!(["00ff"])));
    assert_eq!(code, -32602);
    assert!(message.contains("not a transaction"), "{message}");

    let other_chain: ChainId = "groundwork-other".parse().unwrap();
    let (code, message) = error(&rpc.call(
        "tx_submit",
        json!([transfer_hex(&key, &other_chain, 0, to, 1)]),
    ));
    assert_eq!(code, 4_102, "wrong chain id is a bad signature: {message}");

    let tx = AccountTransaction::sign(
        &key,
        &chain,
        0,
        AccountAction::Transfer {
            to,
            amount: Amount(1),
        },
    );
    let forged = AccountTransaction {
        signature: AccountKey::from_seed(9).sign(b"x", b"y"),
        ..tx
    };
    let (code, message) = error(&rpc.call(
        "tx_submit",
        json!([hex::encode(Transaction::Account(forged).encode())]),
    ));
    assert_eq!(code, 4_102);
    assert!(message.contains("bad signature"), "{message}");

    let (code, _) = error(&rpc.call("account_get", json!(["gw1notanaddress"])));
    assert_eq!(code, -32602);
    let (code, _) = error(&rpc.call("chain_getBlock", json!(["tall"])));
    assert_eq!(code, -32602);
    let (code, _) = error(&rpc.call("chain_getBlock", json!([1_000_000_000u64])));
    assert_eq!(code, 4_004);
    let (code, _) = error(&rpc.call("no_such_method", json!([])));
    assert_eq!(code, -32601);

    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tx_submit","params":["{}"]}}"#,
        "ab".repeat(1_500_000)
    );
    let (status, answer) = rpc.raw(huge);
    // Refused with 413, or the connection is cut mid-body; either way it is not processed.
    assert!(
        status == 413 || status == 0 || answer["error"]["code"].as_i64() == Some(-32007),
        "oversized body: {status} {answer}"
    );
    let (_, answer) = rpc.raw("{not json".to_string());
    assert_eq!(answer["error"]["code"].as_i64(), Some(-32700));

    // Still serving, and still finalizing.
    let height = rpc.height();
    wait_for_height(&rpc, height + 2, Duration::from_secs(30));
    rpc.ok("tx_submit", json!([transfer_hex(&key, &chain, 0, to, 1)]));
}
