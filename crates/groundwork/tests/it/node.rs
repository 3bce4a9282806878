//! Real processes: `groundwork dev` survives SIGKILL, a four-validator testnet survives losing
//! a validator, and bad RPC input never takes a node down.

use crate::common::*;
use commonware_cryptography::Signer;
use groundwork_primitives::codec::Encode;
use groundwork_primitives::keyfile::{key_address, read_key_file};
use groundwork_primitives::{
    AccountKey, AccountTransaction, Address, Amount, ChainId, CoreCall, Transaction,
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
    // A fresh test chain is far below block 1 000.
    let tx = AccountTransaction::sign(
        key,
        chain,
        nonce,
        1_000,
        CoreCall::Transfer {
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
        1_000,
        CoreCall::Transfer {
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
    // JSON-RPC 2.0: a notification gets no answer; an object id is an invalid request; a
    // subscription over plain HTTP is refused by name; what is not JSON is HTTP 400.
    let notification = r#"{"jsonrpc":"2.0","method":"chain_status","params":[]}"#;
    assert_eq!(
        rpc.raw(notification.to_string()),
        (204, serde_json::Value::Null)
    );
    let object_id = r#"{"jsonrpc":"2.0","id":{"a":1},"method":"chain_status","params":[]}"#;
    let (status, answer) = rpc.raw(object_id.to_string());
    assert_eq!(
        (status, answer["error"]["code"].as_i64()),
        (400, Some(-32600))
    );
    let (code, message) = error(&rpc.call("chain_subscribeBlocks", json!([])));
    assert_eq!(code, -32601);
    assert!(message.contains("needs a WebSocket"), "{message}");
    let (status, answer) = rpc.raw("not json".to_string());
    assert_eq!(
        (status, answer["error"]["code"].as_i64()),
        (400, Some(-32700))
    );
    // GET /health: the height, and not syncing on a live dev chain.
    let (status, health) = rpc.get("/health");
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["syncing"], false);
    assert!(health["height"].as_u64().unwrap() >= 1);
    // A method that takes no parameters refuses junk ones.
    let (code, message) = error(&rpc.call("chain_status", json!(["junk"])));
    assert_eq!(code, -32602, "{message}");
    assert!(rpc.call("chain_status", json!({}))["result"].is_object());
    // A huge bad parameter is quoted, not echoed back whole.
    let (code, message) = error(&rpc.call("account_get", json!(["a".repeat(300_000)])));
    assert_eq!(code, -32602);
    assert!(message.len() < 1_000, "{} bytes", message.len());
    assert!(message.contains("bytes in all"), "{message}");

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

/// The local genesis fee: a thousandth of a token (6 decimals).
const LOCAL_FEE: u128 = 1_000;

#[test]
fn a_refused_transfer_never_executes_and_unfunded_spam_never_reaches_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let (_node, rpc) = start_dev(&data, 200);
    wait_for_height(&rpc, 1, Duration::from_secs(30));
    let chain: ChainId = "groundwork-dev".parse().unwrap();
    let dev = dev_account(&data);
    let poor = AccountKey::from_seed(4242);
    let thief_target = key_address(&AccountKey::from_seed(4343));
    let submit = |hex: String| rpc.call("tx_submit", json!([hex]));
    let landed = |answer: &serde_json::Value| -> serde_json::Value {
        let hash = answer["result"]["hash"]
            .as_str()
            .expect("accepted")
            .to_string();
        let mut receipt = serde_json::Value::Null;
        wait_until(Duration::from_secs(30), "a receipt", || {
            receipt = rpc.call("tx_get", json!([hash.clone()]));
            receipt.get("result").is_some()
        });
        receipt["result"].clone()
    };

    // Fund `poor` with three fees, then have it send far more than it has.
    let funding = submit(transfer_hex(
        &dev,
        &chain,
        0,
        key_address(&poor),
        3 * LOCAL_FEE,
    ));
    let funded = landed(&funding);
    assert_eq!(funded["ok"], true, "{funded}");
    let too_much = transfer_hex(&poor, &chain, 0, thief_target, 100 * LOCAL_FEE);
    let receipt = landed(&submit(too_much.clone()));
    assert_eq!(receipt["ok"], false);
    assert_eq!(receipt["error_code"], 3, "{receipt}");
    assert_eq!(
        balance(&rpc, &key_address(&poor)),
        2 * LOCAL_FEE,
        "the fee was paid"
    );

    // Funded now, the same bytes must not run: their nonce is used.
    let refill = submit(transfer_hex(
        &dev,
        &chain,
        1,
        key_address(&poor),
        200 * LOCAL_FEE,
    ));
    let refilled = landed(&refill);
    assert_eq!(refilled["ok"], true, "{refilled}");
    let again = submit(too_much);
    assert_eq!(again["error"]["code"], 4_103, "nonce already used: {again}");
    assert_eq!(balance(&rpc, &thief_target), 0);

    // A thousand keys with no funds spam transfers: the node refuses every one at the door.
    let height_before = rpc.height();
    let spam: Vec<String> = (0..1_000u64)
        .map(|i| {
            transfer_hex(
                &AccountKey::from_seed(100_000 + i),
                &chain,
                0,
                thief_target,
                1,
            )
        })
        .collect();
    let answers = rpc.ok("tx_submitBatch", json!([spam]));
    let answers = answers.as_array().unwrap();
    let refused = answers
        .iter()
        .filter(|a| a["error"]["code"] == 5_041)
        .count();
    // An honest transfer still lands, and the blocks meanwhile carry only it.
    let honest = submit(transfer_hex(&dev, &chain, 2, thief_target, 7));
    let honest = landed(&honest);
    assert_eq!(honest["ok"], true);
    wait_for_height(
        &rpc,
        honest["height"].as_u64().unwrap() + 2,
        Duration::from_secs(30),
    );
    let height_after = rpc.height();
    let carried: usize = (height_before + 1..=height_after)
        .map(|h| {
            rpc.ok("chain_getBlock", json!([h]))["transactions"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    println!(
        "spam: {refused} of 1000 unfunded transfers refused by the node (code 5041); \
         blocks {}..={height_after} carried {carried} transactions in all",
        height_before + 1
    );
    assert_eq!(refused, 1_000);
    assert_eq!(carried, 1, "only the honest transfer");
    assert_eq!(balance(&rpc, &thief_target), 7);

    // The wallet signs without sending on --dry-run, with the nonce it is given, and warns of
    // a key file others can read.
    let key_file = data.join("dev-account.key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, stdout, stderr) = run(
        &[
            "account",
            "transfer",
            "--key",
            key_file.to_str().unwrap(),
            "--to",
            &thief_target.to_string(),
            "--amount",
            "1",
            "--nonce",
            "9",
            "--dry-run",
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("can be read by other users"), "{stderr}");
    let bytes = hex::decode(stdout.trim()).unwrap();
    let Transaction::Account(signed) = Transaction::decode_untrusted(&bytes).unwrap() else {
        panic!("not an account transaction");
    };
    assert_eq!(signed.nonce, 9);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(balance(&rpc, &thief_target), 7, "a dry run sends nothing");

    // Two quick sends in a row each get their own nonce (the node counts what is pending).
    for _ in 0..2 {
        run_ok(
            &[
                "account",
                "transfer",
                "--key",
                key_file.to_str().unwrap(),
                "--to",
                &thief_target.to_string(),
                "--amount",
                "1",
                "--no-wait",
                "--rpc",
                &rpc.url,
            ],
            &[],
        );
    }
    wait_until(
        Duration::from_secs(30),
        "both quick transfers to land",
        || balance(&rpc, &thief_target) == 7 + 2_000_000,
    );
}

#[test]
fn a_second_node_on_a_data_dir_in_use_says_so_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let (first, rpc) = start_dev(&data, 200);
    wait_for_height(&rpc, 1, Duration::from_secs(30));
    let (status, stderr) = dev_until_exit(&data, &[]);
    assert!(!status.success());
    assert!(
        stderr.contains("is in use by process") && stderr.contains(&first.0.id().to_string()),
        "{stderr}"
    );
    // The first node is unharmed.
    let height = rpc.height();
    wait_for_height(&rpc, height + 2, Duration::from_secs(30));
}

/// Runs `mount` with these arguments; false if this machine does not let the test mount.
fn mount(args: &[&str]) -> bool {
    std::process::Command::new("mount")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Unmounts when dropped, so a failing test leaves no mount behind.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Runs `groundwork dev` on `data` until it exits (at most 60 s); its status and stderr.
fn dev_until_exit(data: &std::path::Path, extra: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = groundwork()
        .args(["dev", "--block-time", "50", "--data-dir"])
        .arg(data)
        .args(["--rpc-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--metrics-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--p2p-addr", &format!("127.0.0.1:{}", free_port())])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut status = None;
    wait_until(Duration::from_secs(60), "the node to stop", || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.unwrap(), stderr)
}

#[test]
fn a_full_or_read_only_disk_stops_the_node_with_a_reason_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let point = dir.path().join("disk");
    std::fs::create_dir(&point).unwrap();
    if !mount(&[
        "-t",
        "tmpfs",
        "-o",
        "size=1200k",
        "tmpfs",
        point.to_str().unwrap(),
    ]) {
        // Mounting needs root (as CI has); say so rather than pass silently.
        println!("skipped: this user cannot mount a small tmpfs for the test");
        return;
    }
    let _mounted = Mounted(point.clone());
    let data = point.join("dev");

    // Disk full: one clean line naming the cause, status 1, no panic report.
    let (status, stderr) = dev_until_exit(&data, &["--devices", "50"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("(disk full)"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // With room again, the node resumes from what it had.
    assert!(mount(&["-o", "remount,size=256m", point.to_str().unwrap()]));
    let (node, rpc) = start_dev(&data, 100);
    wait_for_height(&rpc, 3, Duration::from_secs(30));
    node.kill();

    // Read-only: refused at once, naming the path and the cause.
    assert!(mount(&["-o", "remount,ro", point.to_str().unwrap()]));
    let (status, stderr) = dev_until_exit(&data, &[]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(stderr.contains(data.to_str().unwrap()), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The value of the first sample of `name` (with any labels) in Prometheus text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn metrics_count_rpc_calls_devices_epochs_and_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let (rpc_port, metrics_port) = (free_port(), free_port());
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let _node = start_dev_with(
        &dir.path().join("dev"),
        100,
        rpc_port,
        &["--metrics-addr", &metrics_addr, "--devices", "4"],
    );
    let rpc = Rpc::new(rpc_port);
    let metrics = Rpc::new(metrics_port);
    // Local epochs are 60 blocks: wait for the first to end, so its payouts are published.
    let mut text = String::new();
    wait_until(
        Duration::from_secs(90),
        "an ended epoch in /metrics",
        || {
            text = metrics.get_text("/metrics").1;
            sample(&text, "groundwork_last_epoch_emission").is_some()
        },
    );
    let before = sample(&text, "groundwork_rpc_calls_total").unwrap();
    for _ in 0..5 {
        rpc.ok("chain_status", json!([]));
    }
    let (status, text) = metrics.get_text("/metrics");
    assert_eq!(status, 200);
    let calls = sample(&text, "groundwork_rpc_calls_total").unwrap();
    assert!(calls >= before + 5.0, "{before} then {calls}");
    assert!(sample(&text, "groundwork_rpc_call_seconds_count").unwrap() >= 5.0);
    assert!(text.contains("groundwork_rpc_call_seconds_bucket{le=\"+Inf\"}"));
    assert!(sample(&text, "groundwork_rpc_open_connections").is_some());
    assert_eq!(
        sample(&text, "groundwork_rpc_rate_limited_total"),
        Some(0.0)
    );
    let active: f64 = text
        .lines()
        .filter(|l| l.starts_with("groundwork_devices{") && l.contains("status=\"active\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(active, 4.0, "{text}");
    assert!(sample(&text, "groundwork_last_epoch_emission").unwrap() > 0.0);
    assert!(sample(&text, "groundwork_last_epoch_paid").unwrap() > 0.0);
    assert!(sample(&text, "groundwork_process_resident_bytes").unwrap() > 1e6);
    assert!(sample(&text, "groundwork_process_open_files").unwrap() > 3.0);
    // The runtime's own metrics are still there.
    assert!(text.contains("finalized_height"), "{text}");
}

#[test]
fn an_external_fleet_says_when_its_node_is_unreachable_and_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    // A first run makes the dev chain and its funded account key.
    let (node, rpc) = start_dev(&data, 100);
    wait_for_height(&rpc, 1, Duration::from_secs(30));
    node.kill();
    let port = free_port();
    let log = dir.path().join("fleet.log");
    let fleet = Running(
        groundwork()
            .args(["fleet", "--devices", "2", "--rpc"])
            .arg(format!("http://127.0.0.1:{port}"))
            .arg("--key")
            .arg(data.join("dev-account.key"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let said = |text: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(text)
    };
    wait_until(
        Duration::from_secs(20),
        "the fleet to say the node is unreachable",
        || {
            said(&format!(
                "the node at http://127.0.0.1:{port} is unreachable"
            ))
        },
    );
    let mut fleet = fleet;
    assert!(fleet.0.try_wait().unwrap().is_none(), "the fleet gave up");
    let _node = start_dev_with(&data, 100, port, &[]);
    wait_until(
        Duration::from_secs(30),
        "the fleet to see the node again",
        || said("answers again at height"),
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches("is unreachable").count(),
        1,
        "said more than once:\n{text}"
    );
}
