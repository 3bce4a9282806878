//! End to end with real processes: a dev node, the CLI wallet, and device agents.
//!
//! Keys come from the real `openssl` binary; an owner imports one into the encrypted keystore,
//! registers devices, and their agents heartbeat through a node outage (queued heartbeats land,
//! stale ones are dropped unsent) until rewards are paid and explained. State proofs are
//! checked offline.

use crate::common::*;
use groundwork_primitives::Transaction;
use groundwork_primitives::hash::digest_hex;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const PASSPHRASE: (&str, &str) = ("GROUNDWORK_PASSPHRASE", "correct horse battery staple");

fn openssl(args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("the openssl binary runs");
    assert!(status.success(), "openssl {args:?}");
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Imports an openssl-made ed25519 key as `owner` and funds it from the dev account.
fn funded_owner(dir: &Path, data: &Path, rpc: &Rpc, keystore: &str) -> String {
    let pem = dir.join("owner.pem");
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", path(&pem)]);
    run_ok(
        &[
            "keys",
            "import",
            "--keystore",
            keystore,
            "--name",
            "owner",
            "--pem",
            path(&pem),
        ],
        &[PASSPHRASE],
    );
    let shown: Value = serde_json::from_str(&run_ok(
        &[
            "account",
            "show",
            "--key",
            "owner",
            "--keystore",
            keystore,
            "--json",
            "--rpc",
            &rpc.url,
        ],
        &[PASSPHRASE],
    ))
    .unwrap();
    let owner = shown["address"].as_str().unwrap().to_string();
    let dev_key = data.join("dev-account.key");
    run_ok(
        &[
            "account",
            "transfer",
            "--key",
            path(&dev_key),
            "--to",
            &owner,
            "--amount",
            "250.5",
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    let balance = rpc.ok("account_get", json!([owner]))["balance"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(balance, "250500000", "250.5 GRND at 6 decimals");
    owner
}

/// Registers the device whose key is `pem`; returns its id.
fn register(rpc: &Rpc, keystore: &str, pem: &Path, lat: &str, lng: &str) -> String {
    let out = run_ok(
        &[
            "device",
            "register",
            "--key",
            "owner",
            "--keystore",
            keystore,
            "--device-key",
            path(pem),
            "--kind",
            "wireless",
            "--lat",
            lat,
            "--lng",
            lng,
            "--rpc",
            &rpc.url,
        ],
        &[PASSPHRASE],
    );
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("device id "))
        .unwrap_or_else(|| panic!("no device id in {out}"))
        .to_string();
    assert!(out.contains("included in block"), "{out}");
    id
}

/// Starts an agent for `pem` with `extra` appended to its config; its JSON log goes to `log`.
fn start_agent(
    dir: &Path,
    name: &str,
    pem: &Path,
    rpc_port: u16,
    interval_secs: u64,
    extra: &str,
) -> (Running, std::path::PathBuf) {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "rpc = \"http://127.0.0.1:{rpc_port}\"\ndevice_key = \"{}\"\nqueue = \"{name}-queue.json\"\ninterval_secs = {interval_secs}\n{extra}",
            path(pem)
        ),
    )
    .unwrap();
    let log = dir.join(format!("{name}.log"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let child = groundwork()
        .args(["agent", "--config", path(&config)])
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap();
    (Running(child), log)
}

/// The agent's log events named `event`.
fn events(log: &Path, event: &str) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == event)
        .collect()
}

/// The queued reports in an agent's queue file, with their transaction hashes.
fn queued(queue: &Path) -> Vec<(String, u64)> {
    let reports: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(queue).unwrap_or_else(|_| "[]".into()))
            .unwrap();
    reports
        .iter()
        .map(|r| {
            let bytes = hex::decode(r["tx"].as_str().unwrap()).unwrap();
            let tx = Transaction::decode_untrusted(&bytes).unwrap();
            (digest_hex(&tx.hash()), r["block_height"].as_u64().unwrap())
        })
        .collect()
}

/// Waits for the agent's next heartbeat, lets it follow the head for a while, then SIGKILLs
/// the node before the following heartbeat.
fn kill_between_heartbeats(node: Running, log: &Path) {
    let sent = |log: &Path| {
        events(log, "heartbeat_sent").len() + events(log, "queued_heartbeat_sent").len()
    };
    let before = sent(log);
    wait_until(
        Duration::from_secs(20),
        "the agent's next heartbeat",
        || sent(log) > before,
    );
    std::thread::sleep(Duration::from_millis(1_600));
    node.kill();
}

/// Stops a process with SIGTERM and waits for it; asserts a clean exit.
fn stop(mut running: Running) {
    let pid = running.0.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = running.0.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status}");
}

#[test]
fn wallet_agent_outage_and_explained_rewards() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let keystore = dir.path().join("keystore");
    let keystore = path(&keystore);
    let port = free_port();
    let node = start_dev_with(&data, 200, port, &[]);
    let rpc = Rpc::new(port);
    wait_for_height(&rpc, 1, Duration::from_secs(30));
    let owner = funded_owner(dir.path(), &data, &rpc, keystore);

    let device_pem = dir.path().join("device.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "ed25519",
        "-out",
        path(&device_pem),
    ]);
    let device = register(&rpc, keystore, &device_pem, "52.5200", "13.4050");
    let listed = rpc.ok("device_list", json!({ "owner": owner }));
    assert_eq!(listed["devices"][0]["device"], json!(device));

    // The agent heartbeats.
    let (agent, log) = start_agent(dir.path(), "agent", &device_pem, port, 3, "");
    wait_until(Duration::from_secs(30), "a heartbeat credited", || {
        rpc.ok("device_get", json!([device]))["last_heartbeat_window"].is_u64()
    });

    // Outage 1: the node dies between two heartbeats, after the agent has followed the head
    // past its last heartbeat's block; the agent queues; it is stopped with its queue intact;
    // both come back and the queued heartbeat lands.
    kill_between_heartbeats(node, &log);
    let queue = dir.path().join("agent-queue.json");
    wait_until(Duration::from_secs(20), "a queued heartbeat", || {
        !queued(&queue).is_empty()
    });
    stop(agent);
    let held = queued(&queue);
    assert_eq!(
        held.len(),
        1,
        "reports naming the same block are one report"
    );
    let (queued_hash, _) = held[0].clone();
    let node = start_dev_with(&data, 200, port, &[]);
    let (agent, _) = start_agent(dir.path(), "agent", &device_pem, port, 3, "");
    wait_until(
        Duration::from_secs(30),
        "the queued heartbeat to land",
        || rpc.call("tx_get", json!([queued_hash]))["result"]["height"].is_u64(),
    );
    assert!(
        events(&log, "queued_heartbeat_sent")
            .iter()
            .any(|e| e["hash"] == json!(queued_hash))
    );
    assert!(queued(&queue).is_empty());

    // Outage 2: the chain moves on past the heartbeat age limit before the agent returns, so
    // its queued report is dropped, not sent.
    kill_between_heartbeats(node, &log);
    wait_until(Duration::from_secs(20), "a second queued heartbeat", || {
        !queued(&queue).is_empty()
    });
    stop(agent);
    let (stale_hash, stale_height) = queued(&queue)[0].clone();
    let node = start_dev_with(&data, 200, port, &[]);
    let max_age = rpc_wait_status(&rpc)["heartbeat_max_age_blocks"]
        .as_u64()
        .unwrap();
    wait_for_height(&rpc, stale_height + max_age + 2, Duration::from_secs(60));
    let (agent, _) = start_agent(dir.path(), "agent", &device_pem, port, 3, "");
    wait_until(Duration::from_secs(20), "the stale report dropped", || {
        !events(&log, "stale_heartbeat_dropped").is_empty()
    });
    assert!(queued(&queue).is_empty());
    let sent: Vec<Value> = events(&log, "queued_heartbeat_sent");
    assert!(
        sent.iter().all(|e| e["hash"] != json!(stale_hash)),
        "a stale report was sent"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        rpc.call("tx_get", json!([stale_hash]))["error"]["code"],
        json!(4004)
    );

    // Rewards: wait until the device has work credited in the open epoch (read between two
    // status calls that agree on the epoch), wait for that epoch to end, then explain.
    let mut epoch = 0;
    wait_until(Duration::from_secs(60), "work credited this epoch", || {
        let before = rpc.ok("chain_status", json!([]))["epoch"].as_u64().unwrap();
        let work = rpc.ok("device_get", json!([device]))["pending_work_units"]
            .as_u64()
            .unwrap_or(0);
        let after = rpc.ok("chain_status", json!([]))["epoch"].as_u64().unwrap();
        epoch = before;
        work > 0 && before == after
    });
    wait_until(Duration::from_secs(60), "the epoch to end", || {
        rpc.ok("chain_status", json!([]))["epoch"].as_u64().unwrap() > epoch
    });
    let reward = rpc.ok("rewards_get", json!({ "device": device, "epoch": epoch }));
    let amount: u128 = reward["amount"].as_str().unwrap().parse().unwrap();
    assert!(amount > 0, "{reward}");
    assert_eq!(reward["owner"], json!(owner));
    let explained: Value = serde_json::from_str(&run_ok(
        &[
            "rewards",
            "explain",
            "--device",
            &device,
            "--epoch",
            &epoch.to_string(),
            "--json",
            "--rpc",
            &rpc.url,
        ],
        &[],
    ))
    .unwrap();
    assert_eq!(explained["amount"], reward["amount"]);
    assert_eq!(explained["recomputed"], reward["amount"]);
    assert_eq!(explained["adds_up"], json!(true));
    let text = run_ok(
        &[
            "rewards",
            "explain",
            "--device",
            &device,
            "--epoch",
            &epoch.to_string(),
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    assert!(text.contains("the same amount"), "{text}");
    // The text of `rewards show` adds every part up to the total that `--json` has.
    let shown = run_ok(
        &[
            "rewards",
            "show",
            "--device",
            &device,
            "--epoch",
            &epoch.to_string(),
            "--base-units",
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    assert!(
        shown.contains(&format!("total       {amount} base units")),
        "{shown}"
    );

    stop(agent);
    drop(node);
}

/// `chain_status` once the node answers.
fn rpc_wait_status(rpc: &Rpc) -> Value {
    wait_until(Duration::from_secs(30), "the node to answer", || {
        rpc.try_status().is_some()
    });
    rpc.ok("chain_status", json!([]))
}

#[test]
fn p256_device_registers_and_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let keystore = dir.path().join("keystore");
    let keystore = path(&keystore);
    let port = free_port();
    let _node = start_dev_with(&data, 200, port, &[]);
    let rpc = Rpc::new(port);
    wait_for_height(&rpc, 1, Duration::from_secs(30));
    funded_owner(dir.path(), &data, &rpc, keystore);
    let pem = dir.path().join("p256.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        path(&pem),
    ]);
    let device = register(&rpc, keystore, &pem, "-33.8688", "151.2093");
    let shown = rpc.ok("device_get", json!([device]));
    assert_eq!(shown["scheme"], json!("p256"));
    let (_agent, _) = start_agent(dir.path(), "p256-agent", &pem, port, 1, "");
    wait_until(
        Duration::from_secs(30),
        "a P-256 heartbeat credited",
        || {
            rpc.ok("device_get", json!([device]))["pending_work_units"]
                .as_u64()
                .unwrap_or(0)
                > 0
                || rpc.ok("device_get", json!([device]))["last_heartbeat_window"].is_u64()
        },
    );
}

/// Two wireless devices 2.1 km apart in Berlin, each run by an agent with a radio: one beacons
/// on its own; the other's radio driver reports hearing it (after a malformed line), and the
/// agent turns that into a witness report the chain stores with its numbers.
#[test]
fn wireless_agents_beacon_and_witness_what_the_radio_heard() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let keystore = dir.path().join("keystore");
    let keystore = path(&keystore);
    let port = free_port();
    let _node = start_dev_with(&data, 500, port, &[]);
    let rpc = Rpc::new(port);
    wait_for_height(&rpc, 1, Duration::from_secs(30));
    funded_owner(dir.path(), &data, &rpc, keystore);
    let (a_pem, b_pem) = (dir.path().join("a.pem"), dir.path().join("b.pem"));
    for pem in [&a_pem, &b_pem] {
        openssl(&["genpkey", "-algorithm", "ed25519", "-out", path(pem)]);
    }
    let a = register(&rpc, keystore, &a_pem, "52.5219", "13.4132");
    let b = register(&rpc, keystore, &b_pem, "52.5219", "13.4442");
    let radio = "[radio]\ntx_power_dbm = 27\nfrequency_hz = 904600000\nantenna_gain_ddbi = 12\n";
    let (_a_agent, a_log) = start_agent(dir.path(), "a", &a_pem, port, 2, radio);
    let heard = dir.path().join("b-heard.jsonl");
    let b_extra = format!("heard = \"{}\"\n{radio}", path(&heard));
    let (_b_agent, b_log) = start_agent(dir.path(), "b", &b_pem, port, 2, &b_extra);

    wait_until(Duration::from_secs(30), "a beacon from agent a", || {
        !events(&a_log, "beacon_sent").is_empty()
    });
    let beacon = events(&a_log, "beacon_sent")[0]["beacon"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until(Duration::from_secs(10), "the beacon on chain", || {
        rpc.call("coverage_beacon", json!([beacon]))["result"].is_object()
    });
    let line = format!(
        "not json\n{{\"beacon\":\"{beacon}\",\"rssi_dbm\":-95,\"snr_cdb\":-500,\"frequency_hz\":904600000}}\n"
    );
    std::fs::write(&heard, &line).unwrap();
    wait_until(Duration::from_secs(10), "the witness stored", || {
        let answer = rpc.call("coverage_getBeacon", json!([beacon]));
        answer["result"]["witnesses"][0]["witness"] == json!(b)
    });
    let stored = rpc.ok("coverage_getBeacon", json!([beacon]));
    assert_eq!(stored["beaconer"], json!(a));
    let report = &stored["witnesses"][0];
    assert_eq!(report["rssi_dbm"], json!(-95));
    assert_eq!(report["antenna_gain_ddbi"], json!(12));
    let meters = report["distance_m"].as_u64().unwrap();
    assert!((2_000..2_200).contains(&meters), "{meters}");
    assert_eq!(events(&b_log, "heard_line_invalid").len(), 1);
    assert_eq!(events(&b_log, "witness_sent").len(), 1);
    // Everything in the file is handled, and remembered across restarts.
    let offset = std::fs::read_to_string(heard.with_extension("offset")).unwrap();
    assert_eq!(offset.trim(), line.len().to_string());
    // Heartbeats every 2 s against 5 s windows (10 blocks of 500 ms): the agent warns of it,
    // and logs the node's refusal of a window's second heartbeat as a refusal, with its code.
    wait_until(Duration::from_secs(20), "the interval warning", || {
        !events(&a_log, "interval_shorter_than_window").is_empty()
    });
    wait_until(Duration::from_secs(20), "a refused heartbeat", || {
        events(&a_log, "heartbeat_refused")
            .iter()
            .any(|e| e["code"] == json!(5_013))
    });
    // It counts what happened to its reports in its own metrics file, beside its queue.
    let metrics = dir.path().join("a-queue.metrics.prom");
    wait_until(
        Duration::from_secs(10),
        "the refusal in the agent's metrics",
        || {
            std::fs::read_to_string(&metrics).is_ok_and(|t| {
                t.contains(
                    "groundwork_agent_reports_refused_total{report=\"heartbeat\",code=\"5013\"}",
                )
            })
        },
    );
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("groundwork_agent_reports_sent_total{report=\"heartbeat\"}"),
        "{text}"
    );
    assert!(text.contains("groundwork_agent_queued_reports 0"), "{text}");
}

#[test]
fn state_proofs_verify_offline_and_fail_when_changed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let (_node, rpc) = start_dev(&data, 200);
    wait_for_height(&rpc, 2, Duration::from_secs(30));
    let key = std::fs::read_to_string(data.join("dev-account.key")).unwrap();
    let address = key
        .lines()
        .find_map(|l| l.strip_prefix("address = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();

    let proof_json = run_ok(
        &["chain", "proof", "--account", &address, "--rpc", &rpc.url],
        &[],
    );
    let proof: Value = serde_json::from_str(&proof_json).unwrap();
    let height = proof["height"].as_u64().unwrap();
    let root = proof["root"].as_str().unwrap().to_string();
    // The proven root is the one the next finalized block's header carries.
    wait_for_height(&rpc, height + 1, Duration::from_secs(30));
    let next = rpc.ok("chain_getBlock", json!([height + 1]));
    assert_eq!(next["state_root"], json!(root));

    let file = dir.path().join("proof.json");
    std::fs::write(&file, &proof_json).unwrap();
    let out = run_ok(
        &["chain", "verify-proof", path(&file), "--root", &root],
        &[],
    );
    assert!(out.starts_with("valid: account"), "{out}");
    // The balance in tokens, with its base units beside it.
    let balance = out
        .lines()
        .find(|l| l.trim_start().starts_with("balance"))
        .unwrap();
    assert!(
        balance.contains(" GRND (") && balance.ends_with(" base units)"),
        "{out}"
    );

    // Any changed byte of the value or the proof fails, checked through the library for every
    // byte and through the CLI for a few.
    let state_key = hex::decode(proof["key"].as_str().unwrap()).unwrap();
    let value = hex::decode(proof["value"].as_str().unwrap()).unwrap();
    let bytes = hex::decode(proof["proof"].as_str().unwrap()).unwrap();
    let root_digest = groundwork_primitives::hash::digest_from_hex(&root).unwrap();
    groundwork_node::proof::verify(&state_key, &value, &bytes, &root_digest).unwrap();
    for i in 0..value.len() {
        let mut changed = value.clone();
        changed[i] ^= 0x01;
        assert!(
            groundwork_node::proof::verify(&state_key, &changed, &bytes, &root_digest).is_err(),
            "value byte {i}"
        );
    }
    for i in 0..bytes.len() {
        let mut changed = bytes.clone();
        changed[i] ^= 0x01;
        assert!(
            groundwork_node::proof::verify(&state_key, &value, &changed, &root_digest).is_err(),
            "proof byte {i}"
        );
    }
    for (field, at) in [("value", 3usize), ("proof", 40), ("proof", 200)] {
        let mut tampered = proof.clone();
        let mut raw = hex::decode(tampered[field].as_str().unwrap()).unwrap();
        let at = at.min(raw.len() - 1);
        raw[at] ^= 0x80;
        tampered[field] = json!(hex::encode(raw));
        std::fs::write(&file, tampered.to_string()).unwrap();
        let (ok, _, stderr) = run(&["verify-proof", path(&file), "--root", &root], &[]);
        assert!(
            !ok && stderr.contains("NOT valid"),
            "{field} byte {at}: {stderr}"
        );
    }
    // A different root fails too.
    std::fs::write(&file, &proof_json).unwrap();
    let other = "00".repeat(32);
    let (ok, _, _) = run(&["verify-proof", path(&file), "--root", &other], &[]);
    assert!(!ok);
}

/// The dev chain's simulated oracles give a price; a customer's credits are bought with the
/// CLI at the burn price, and the epoch's record shows the tokens burned and the price used.
#[test]
fn dev_oracles_price_the_token_and_credits_are_bought_at_the_burn_price() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let (_node, rpc) = start_priced_dev(&data, 200);
    wait_for_height(&rpc, 2, Duration::from_secs(30));
    wait_until(Duration::from_secs(30), "an oracle price", || {
        !rpc.ok("oracle_getPrice", json!([]))["price"].is_null()
    });
    let shown = run_ok(&["oracle", "show", "--rpc", &rpc.url], &[]);
    assert!(
        shown.contains("burn price") && shown.contains("fresh"),
        "{shown}"
    );
    let price: Value = serde_json::from_str(&run_ok(
        &["oracle", "show", "--json", "--rpc", &rpc.url],
        &[],
    ))
    .unwrap();
    assert_eq!(price["submissions"].as_array().unwrap().len(), 5);
    let burn = price["price"]["burn"].as_u64().unwrap();
    assert!(burn <= price["price"]["median"].as_u64().unwrap());

    // A customer account, never seen on chain, receives the credits the dev account buys.
    let customer_address = {
        use commonware_cryptography::Signer;
        let key = commonware_cryptography::ed25519::PrivateKey::from_seed(77);
        groundwork_primitives::keys::account_address(&key.public_key()).to_string()
    };
    let dev_key = data.join("dev-account.key");
    let out = run_ok(
        &[
            "credits",
            "buy",
            "--key",
            path(&dev_key),
            "--credits",
            "250000",
            "--recipient",
            &customer_address,
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    assert!(out.contains("250000 credits at $0.00001 each"), "{out}");
    let account = rpc.ok("account_get", json!([customer_address]));
    assert_eq!(account["credits"], json!(250_000));
    let totals = rpc.ok("credits_get", json!([]));
    assert_eq!(totals["minted"], json!(250_000));
    // $2.50 of credits at a burn price near $2.50: about one token, and never less than
    // $2.50 at the price used.
    let burned: u128 = totals["tokens_burned"].as_str().unwrap().parse().unwrap();
    assert!((800_000..1_250_000).contains(&burned), "{burned}");

    // Without a price nothing is sold: a quote names why.
    let refused = rpc.call("credits_quote", json!({ "credits": 0 }));
    assert_eq!(refused["error"]["code"], json!(6_000 + 1_100), "{refused}");

    // The epoch the purchase landed in records it, with the price at its end.
    let epoch = rpc.ok("chain_status", json!([]))["epoch"].as_u64().unwrap();
    wait_until(
        Duration::from_secs(60),
        "the purchase's epoch to end",
        || rpc.ok("chain_status", json!([]))["epoch"].as_u64().unwrap() > epoch,
    );
    let record = rpc.ok("epoch_get", json!([epoch]));
    assert_eq!(record["credits"]["minted"], json!(250_000), "{record}");
    assert!(record["price"]["median"].as_u64().is_some(), "{record}");
    assert!(record["net_supply_change"].is_string(), "{record}");
}

/// A customer buys credits, opens a session with a device at its offer, pays by a voucher it
/// signs and the device co-signs, and the device's owner settles it; the epoch's usage mint
/// pays the owner, and `rewards explain` shows each step. Every step is the CLI.
#[test]
fn a_customer_pays_a_device_by_vouchers_and_the_epoch_mints_its_usage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let keystore = dir.path().join("keys");
    let keystore = path(&keystore);
    let (_node, rpc) = start_priced_dev(&data, 200);
    wait_for_height(&rpc, 2, Duration::from_secs(30));
    let owner = funded_owner(dir.path(), &data, &rpc, keystore);
    let pem = dir.path().join("hotspot.pem");
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", path(&pem)]);
    let device = register(&rpc, keystore, &pem, "52.52", "13.405");
    let signer = ["--key", "owner", "--keystore", keystore, "--rpc", &rpc.url];
    let with = |head: &[&str], tail: &[&str]| -> Vec<String> {
        head.iter().chain(tail).map(|s| s.to_string()).collect()
    };
    let run_args = |args: Vec<String>, env: &[(&str, &str)]| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_ok(&refs, env)
    };
    run_args(
        with(
            &[
                "offer",
                "set",
                "--device",
                &device,
                "--price",
                "1",
                "--max-blocks",
                "200",
            ],
            &signer,
        ),
        &[PASSPHRASE],
    );
    let offer = run_ok(&["offer", "show", &device, "--rpc", &rpc.url], &[]);
    assert!(offer.contains("1 credits per 24-byte packet"), "{offer}");

    // The dev account is the customer: credits, then a session escrowing 2 000 of them.
    wait_until(Duration::from_secs(30), "an oracle price", || {
        !rpc.ok("oracle_getPrice", json!([]))["price"].is_null()
    });
    let customer_key = data.join("dev-account.key");
    let customer = ["--key", path(&customer_key), "--rpc", &rpc.url];
    run_args(
        with(&["credits", "buy", "--credits", "5000"], &customer),
        &[],
    );
    let opened = run_args(
        with(
            &[
                "session",
                "open",
                "--device",
                &device,
                "--credits",
                "2000",
                "--blocks",
                "100",
            ],
            &customer,
        ),
        &[],
    );
    let session = opened
        .lines()
        .find_map(|l| l.strip_prefix("session "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no session id in {opened}"))
        .to_string();

    // The device's agent runs its service port: 1 000 packets in, the customer hands it a
    // voucher and gets it back co-signed.
    let service_port = free_port();
    let rpc_port: u16 = rpc.url.rsplit(':').next().unwrap().parse().unwrap();
    let (_agent, agent_log) = start_agent(
        dir.path(),
        "hotspot",
        &pem,
        rpc_port,
        5,
        &format!("[service]\nlisten = \"127.0.0.1:{service_port}\"\n"),
    );
    let agent_url = format!("http://127.0.0.1:{service_port}");
    wait_until(Duration::from_secs(20), "the service port", || {
        std::net::TcpStream::connect(("127.0.0.1", service_port)).is_ok()
    });
    let through_agent = run_args(
        with(
            &[
                "session",
                "pay",
                "--session",
                &session,
                "--units",
                "1000",
                "--agent",
                &agent_url,
            ],
            &customer,
        ),
        &[],
    );
    let through_agent: Value = serde_json::from_str(&through_agent).unwrap();
    assert!(
        through_agent["device_signature"].is_string(),
        "{through_agent}"
    );
    // It keeps what it co-signed, and refuses to co-sign less afterwards.
    let kept: Value = reqwest::blocking::get(format!("{agent_url}/vouchers"))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(kept[0]["cumulative_units"], json!(1_000), "{kept}");
    let older = with(
        &[
            "session",
            "pay",
            "--session",
            &session,
            "--units",
            "900",
            "--agent",
            &agent_url,
        ],
        &customer,
    );
    let refs: Vec<&str> = older.iter().map(String::as_str).collect();
    let (ok, _, err) = run(&refs, &[]);
    assert!(!ok && err.contains("co-signed already"), "{err}");
    assert!(!events(&agent_log, "agent_started").is_empty());

    // 1 500 packets received: the customer signs, the device co-signs offline, the owner settles.
    let voucher = run_args(
        with(
            &["session", "pay", "--session", &session, "--units", "1500"],
            &customer,
        ),
        &[],
    );
    let unsigned = dir.path().join("voucher.json");
    std::fs::write(&unsigned, &voucher).unwrap();
    let cosigned = run_ok(
        &[
            "session",
            "cosign",
            "--voucher",
            path(&unsigned),
            "--device-key",
            path(&pem),
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    let signed = dir.path().join("signed.json");
    std::fs::write(&signed, &cosigned).unwrap();
    let settled = run_args(
        with(&["session", "settle", "--voucher", path(&signed)], &signer),
        &[PASSPHRASE],
    );
    assert!(settled.contains("included in block"), "{settled}");
    // The same voucher again is refused with its code, and nothing is spent twice.
    let again: Vec<String> = with(&["session", "settle", "--voucher", path(&signed)], &signer);
    let refs: Vec<&str> = again.iter().map(String::as_str).collect();
    let (ok, _, err) = run(&refs, &[PASSPHRASE]);
    assert!(!ok && err.contains("code 1206"), "{err}");
    let shown: Value = serde_json::from_str(&run_ok(
        &["session", "show", &session, "--json", "--rpc", &rpc.url],
        &[],
    ))
    .unwrap();
    assert_eq!(shown["settled_credits"], json!(1_500));
    assert_eq!(shown["escrowed"], json!(500));
    run_args(
        with(&["session", "close", "--session", &session], &customer),
        &[],
    );

    // The epoch of the settlement pays the owner its usage at the mint price.
    let height = rpc.height();
    let length = rpc.ok("chain_status", json!([]))["epoch_length_blocks"]
        .as_u64()
        .unwrap();
    let epoch = (height.saturating_sub(1)) / length;
    wait_for_height(&rpc, (epoch + 1) * length + 1, Duration::from_secs(60));
    let record = rpc.ok("epoch_get", json!([epoch]));
    assert_eq!(record["usage"]["credits_spent"], json!(1_500), "{record}");
    let minted: u128 = record["usage"]["minted"].as_str().unwrap().parse().unwrap();
    // 1 500 credits = $0.015; at about $2.50 that is about 6 000 base units.
    assert!((4_000..9_000).contains(&minted), "{record}");
    let explained: Value = serde_json::from_str(&run_ok(
        &[
            "rewards",
            "explain",
            "--device",
            &device,
            "--epoch",
            &epoch.to_string(),
            "--json",
            "--rpc",
            &rpc.url,
        ],
        &[],
    ))
    .unwrap();
    assert_eq!(explained["usage"]["owner"], json!(owner));
    assert_eq!(explained["usage"]["amount"], json!(minted.to_string()));
    assert_eq!(explained["usage"]["steps"].as_array().unwrap().len(), 4);
    // The client recomputed the usage part from its inputs and got the same amount.
    assert_eq!(explained["adds_up"], json!(true), "{explained}");
    // After the grace window the 500 credits left come back to the customer.
    wait_until(Duration::from_secs(30), "the refund", || {
        rpc.ok("usage_getSession", json!({ "id": session }))["refunded"] == json!(500)
    });
}

/// `groundwork dev --cheaters M --json FILE` measures the cheaters live: each ended epoch
/// appends one line with, per role, what its wireless devices were paid from the coverage and
/// wireless uptime pools against their equal share of those pools, and the run so far.
#[test]
fn dev_measures_what_the_cheaters_take_each_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let figures = dir.path().join("figures.jsonl");
    let rpc_port = free_port();
    let node = start_dev_with(
        &data,
        100,
        rpc_port,
        &[
            "--devices",
            "12",
            "--cheaters",
            "8",
            "--json",
            figures.to_str().unwrap(),
        ],
    );
    let lines = || -> Vec<Value> {
        std::fs::read_to_string(&figures)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    wait_until(Duration::from_secs(120), "two epochs of figures", || {
        lines().len() >= 2
    });
    node.kill();
    let lines = lines();
    let amount = |v: &Value| v.as_str().unwrap().parse::<u128>().unwrap();
    let mut fair_so_far = 0u128;
    for line in &lines[..2] {
        let epoch = &line["epoch_figures"];
        let pools = amount(&epoch["pools"]);
        assert!(pools > 0, "{line}");
        let roles = epoch["by_role"].as_object().unwrap();
        assert!(roles.contains_key("honest") && roles.len() >= 3, "{line}");
        // Equal shares of the pools, rounded down per role.
        let fair: u128 = roles.values().map(|r| amount(&r["fair"])).sum();
        assert!(
            fair <= pools && pools - fair < roles.len() as u128,
            "{line}"
        );
        let (mut paid, mut cheaters_fair) = (0u128, 0u128);
        for (name, role) in roles {
            let (got, share) = (amount(&role["paid"]), amount(&role["fair"]));
            let withheld = role["withheld"].as_f64().unwrap();
            assert!((withheld - (1.0 - got as f64 / share as f64)).abs() < 1e-9);
            if name != "honest" {
                paid += got;
                cheaters_fair += share;
            }
        }
        let withheld = epoch["withheld"].as_f64().unwrap();
        assert!((withheld - (1.0 - paid as f64 / cheaters_fair as f64)).abs() < 1e-9);
        assert!(epoch["honest_loss"].as_f64().unwrap() >= 0.0);
        fair_so_far += fair;
    }
    let so_far = &lines[1]["so_far"]["by_role"];
    let so_far_fair: u128 = so_far
        .as_object()
        .unwrap()
        .values()
        .map(|r| amount(&r["fair"]))
        .sum();
    assert_eq!(so_far_fair, fair_so_far, "{}", lines[1]);
}
