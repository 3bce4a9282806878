//! Real processes: `groundwork testnet --validators 4` on loopback. One validator is SIGKILLed;
//! the other three keep finalizing; the restarted one catches up to the same state root.

use crate::common::*;
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn testnet_keeps_finalizing_without_one_validator_and_it_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    // A base port unlikely to collide with other tests: p2p, RPC and metrics use base+i,
    // base+100+i and base+200+i.
    let base = 20_000 + (std::process::id() % 2_000) as u16 * 10;
    let testnet = Running(
        groundwork()
            .args([
                "testnet",
                "--validators",
                "4",
                "--block-time",
                "200",
                "--base-port",
                &base.to_string(),
                "--dir",
            ])
            .arg(&net)
            .stdout(std::fs::File::create(dir.path().join("testnet.out")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let rpcs: Vec<Rpc> = (0..4).map(|i| Rpc::new(base + 100 + i)).collect();
    for rpc in &rpcs {
        wait_for_height(rpc, 3, Duration::from_secs(60));
    }

    // SIGKILL validator 2 (a child of the testnet process).
    let victim = std::process::Command::new("pgrep")
        .args(["-f", "node-2.toml"])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&victim.stdout)
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        rpcs[2].try_status().is_none(),
        "validator 2 still answers after SIGKILL"
    );
    // The testnet says so, with how it ended.
    let said = format!("validator 2 (pid {pid}) was killed by signal 9");
    wait_until(Duration::from_secs(10), "the testnet to report it", || {
        std::fs::read_to_string(dir.path().join("testnet.out"))
            .unwrap_or_default()
            .contains(&said)
    });

    let survivors = [&rpcs[0], &rpcs[1], &rpcs[3]];
    let height = survivors.iter().map(|r| r.height()).max().unwrap();
    for rpc in survivors {
        wait_for_height(rpc, height + 5, Duration::from_secs(60));
    }

    // Restart it from its own config and storage.
    let _restarted = Running(
        groundwork()
            .args(["node", "--log-level", "warn", "--config"])
            .arg(net.join("node-2.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let target = rpcs[0].height() + 3;
    for rpc in &rpcs {
        wait_for_height(rpc, target, Duration::from_secs(90));
    }
    // Same blocks and the same state root everywhere.
    let block = |rpc: &Rpc| rpc.ok("chain_getBlock", json!([target]));
    let reference = block(&rpcs[0]);
    for rpc in &rpcs[1..] {
        let other = block(rpc);
        assert_eq!(other["hash"], reference["hash"]);
        assert_eq!(other["state_root"], reference["state_root"]);
    }
    drop(testnet);
}
