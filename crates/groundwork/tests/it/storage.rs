//! Storage with real processes: a dev node, three storage agents keeping real bytes on disk,
//! and the CLI storing a 10 MiB random file 2-of-3 erasure-coded, fetching it back verified
//! (also with one agent killed), the agents proving every period, and an agent refusing
//! bytes that do not match a deal's root.

use crate::common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A file of `len` bytes that compresses to nothing and repeats nowhere.
fn random_file(at: &Path, len: usize, seed: u64) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect();
    std::fs::write(at, bytes).unwrap();
}

struct Provider {
    device: String,
    pem: PathBuf,
    port: u16,
    config: PathBuf,
}

impl Provider {
    fn start(&self) -> Running {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.config.with_extension("log"))
            .unwrap();
        Running(
            groundwork()
                .args(["agent", "--config", path(&self.config)])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_listening(&self) {
        wait_until(Duration::from_secs(20), "a storage agent's port", || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
    }
}

/// Registers a storage device from an openssl key, offers it at `price` credits per
/// GiB-epoch with 64 MiB and 1 token per GiB of collateral, and writes its agent's config.
fn provider(dir: &Path, rpc: &Rpc, owner: &Path, name: &str, price: u64) -> Provider {
    let pem = dir.join(format!("{name}.pem"));
    let status = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out", path(&pem)])
        .status()
        .unwrap();
    assert!(status.success());
    let out = run_ok(
        &[
            "device",
            "register",
            "--key",
            path(owner),
            "--device-key",
            path(&pem),
            "--kind",
            "storage",
            "--lat",
            "52.52",
            "--lng",
            "13.40",
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    let device = out
        .lines()
        .find_map(|l| l.strip_prefix("device id "))
        .unwrap_or_else(|| panic!("no device id in {out}"))
        .to_string();
    let price = price.to_string();
    run_ok(
        &[
            "offer",
            "set",
            "--key",
            path(owner),
            "--device",
            &device,
            "--price",
            &price,
            "--max-blocks",
            "100",
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    run_ok(
        &[
            "storage",
            "provide",
            "--key",
            path(owner),
            "--device",
            &device,
            "--capacity",
            "64MiB",
            "--collateral-per-gib",
            "1",
            "--endpoint",
            &endpoint,
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    let rpc_port = rpc.url.rsplit(':').next().unwrap();
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "rpc = \"http://127.0.0.1:{rpc_port}\"\ndevice_key = \"{}\"\nqueue = \"{name}-queue.json\"\n\
             interval_secs = 5\n[service]\nlisten = \"127.0.0.1:{port}\"\n[storage]\ndir = \"{name}-shards\"\n",
            path(&pem)
        ),
    )
    .unwrap();
    Provider {
        device,
        pem,
        port,
        config,
    }
}

fn deal_set(rpc: &Rpc, id: &str) -> Value {
    rpc.ok("storage_getDeal", json!({ "id": id }))
}

#[test]
fn a_file_stored_with_three_providers_comes_back_whole_even_with_one_agent_killed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let (_node, rpc) = start_priced_dev(&data, 200);
    wait_for_height(&rpc, 2, Duration::from_secs(30));
    let owner = data.join("dev-account.key");
    // The cheapest is the third: a single-copy deal goes there.
    let providers: Vec<Provider> = [
        ("alpha", 1_228_801),
        ("beta", 1_228_802),
        ("gamma", 1_228_800),
    ]
    .iter()
    .map(|(name, price)| provider(dir.path(), &rpc, &owner, name, *price))
    .collect();
    let mut agents: Vec<Option<Running>> = providers.iter().map(|p| Some(p.start())).collect();
    providers.iter().for_each(Provider::wait_listening);
    wait_until(Duration::from_secs(30), "an oracle price", || {
        !rpc.ok("oracle_getPrice", json!([]))["price"].is_null()
    });
    run_ok(
        &[
            "credits",
            "buy",
            "--key",
            path(&owner),
            "--credits",
            "200000",
            "--rpc",
            &rpc.url,
        ],
        &[],
    );

    // 10 MiB, 2 of 3: shards of 5 MiB. At about 1 228 800 credits per GiB-epoch a shard costs
    // floor(price × 5 MiB × 10 ÷ (2^30 × epoch blocks)) a 10-block period: 2 000 credits at the
    // dev chain's 30-block epochs (the cheapest's 1 228 800 × 5 × 2^20 × 10 = 60 000 × 2^30).
    let file = dir.path().join("original.bin");
    random_file(&file, 10 << 20, 7);
    let put = run_ok(
        &[
            "storage",
            "put",
            path(&file),
            "--key",
            path(&owner),
            "--providers",
            "3",
            "--periods",
            "20",
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    let id = put.trim().to_string();
    assert_eq!(id.len(), 64, "{put}");
    let set = deal_set(&rpc, &id);
    assert_eq!(set["data_shards"], json!(2), "{set}");
    let deals = set["deals"].as_array().unwrap();
    assert_eq!(deals.len(), 3);
    assert!(
        deals
            .iter()
            .all(|d| d["status"] == "active" && d["size_bytes"] == json!(5 << 20)),
        "{set}"
    );
    let epoch_blocks = rpc.ok("chain_status", json!([]))["epoch_length_blocks"]
        .as_u64()
        .unwrap();
    assert_eq!(epoch_blocks, 30);
    for deal in deals {
        let price = deal["credits_per_gib_epoch"].as_u64().unwrap() as u128;
        let per_period = (price * (5 << 20) * 10 / ((1u128 << 30) * 30)) as u64;
        let total =
            deal["escrow_credits"].as_u64().unwrap() + deal["paid_credits"].as_u64().unwrap();
        assert_eq!(total, 20 * per_period, "{deal}");
    }

    // Back, byte-identical.
    let copy = dir.path().join("copy.bin");
    run_ok(
        &[
            "storage",
            "get",
            &id,
            "--out",
            path(&copy),
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    assert!(
        std::fs::read(&copy).unwrap() == std::fs::read(&file).unwrap(),
        "the copy differs"
    );

    // The agents prove their periods: every deal passes at least two, misses none.
    wait_until(Duration::from_secs(60), "a posted retrieval check", || {
        deal_set(&rpc, &id)["deals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| {
                let proofs = rpc.ok("storage_getProofs", json!({ "deal": d["id"] }));
                proofs["periods"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| !p["checks"].as_array().unwrap().is_empty())
            })
    });
    wait_until(
        Duration::from_secs(60),
        "two proven periods per deal",
        || {
            deal_set(&rpc, &id)["deals"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["proven"].as_u64().unwrap() >= 2)
        },
    );
    let set = deal_set(&rpc, &id);
    for deal in set["deals"].as_array().unwrap() {
        assert_eq!(deal["faults"], json!(0), "{deal}");
        assert!(deal["paid_credits"].as_u64().unwrap() >= 2_000, "{deal}");
        let proofs = rpc.ok("storage_getProofs", json!({ "deal": deal["id"] }));
        // The other two agents fetch a block of it each period and post what they got: while
        // all three run, every posted check passed.
        let checks: Vec<&Value> = proofs["periods"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["checks"].as_array().unwrap())
            .collect();
        assert!(
            checks
                .iter()
                .all(|c| c["ok"] == json!(true) && c["checker"] != deal["provider"]),
            "{proofs}"
        );
        assert!(
            proofs["periods"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["outcome"] == "proven"),
            "{proofs}"
        );
    }
    let shown = run_ok(&["storage", "show", &id, "--rpc", &rpc.url], &[]);
    assert!(
        shown.contains(&providers[0].device) && shown.contains("active"),
        "{shown}"
    );

    // One agent killed: the other two still rebuild the file.
    agents[2].take().unwrap().kill();
    std::fs::remove_file(&copy).unwrap();
    run_ok(
        &[
            "storage",
            "get",
            &id,
            "--out",
            path(&copy),
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    assert!(
        std::fs::read(&copy).unwrap() == std::fs::read(&file).unwrap(),
        "the copy differs"
    );

    // A single copy goes to the cheapest provider, whose agent is down: the proposal lands,
    // the upload cannot.
    let small = dir.path().join("small.bin");
    random_file(&small, 100_000, 8);
    let (ok, _, stderr) = run(
        &[
            "storage",
            "put",
            path(&small),
            "--key",
            path(&owner),
            "--replicas",
            "1",
            "--periods",
            "5",
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    assert!(!ok && stderr.contains("unreachable"), "{stderr}");
    let listed = rpc.ok(
        "storage_listDeals",
        json!({ "provider": providers[2].device }),
    );
    let pending = listed["deals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["status"] == "proposed")
        .unwrap_or_else(|| panic!("no proposed deal in {listed}"))
        .clone();
    // The agent comes back with its shards on disk, and refuses bytes that are not the
    // deal's; the right ones it keeps and accepts.
    agents[2] = Some(providers[2].start());
    providers[2].wait_listening();
    let http = reqwest::blocking::Client::new();
    let deal = pending["id"].as_str().unwrap();
    let put = |route: &str, body: Vec<u8>| -> (u16, Value) {
        let answer = http
            .put(format!("{}/storage/{deal}/{route}", providers[2].url()))
            .body(body)
            .send()
            .unwrap();
        (answer.status().as_u16(), answer.json().unwrap())
    };
    let right = std::fs::read(&small).unwrap();
    let mut wrong = right.clone();
    wrong[99_999] ^= 1;
    // Bytes before the block roots are refused, as are roots that are not the deal's.
    let (status, body) = put("data/0", right.clone());
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("roots_first")),
        "{body}"
    );
    let roots_of = |bytes: &[u8]| -> Vec<u8> {
        groundwork_storage::BlockRoots::of(bytes)
            .unwrap()
            .to_bytes()
    };
    let (status, body) = put("roots", roots_of(&wrong));
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("roots_do_not_match_root")),
        "{body}"
    );
    let (status, body) = put("roots", roots_of(&right));
    assert_eq!(status, 200, "{body}");
    // Now every block is checked as it arrives: the wrong second block is refused by number,
    // and nothing of the piece is kept.
    let (status, body) = put("data/0", wrong);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("bytes_do_not_match_root")),
        "{body}"
    );
    assert!(
        body["error"].as_str().unwrap().contains("block 1"),
        "{body}"
    );
    let (status, body) = put("data/0", right[..50_000].to_vec());
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("unaligned_piece")),
        "{body}"
    );
    // The first block by hand, as if `put` had been cut off after it; `storage resume` cuts
    // the file again, checks it against the deal and sends the rest from where the agent is.
    let (status, body) = put("data/0", right[..65_536].to_vec());
    assert_eq!(
        (status, body["received"].as_u64()),
        (200, Some(65_536)),
        "{body}"
    );
    let set = pending["set"].as_str().unwrap();
    let other = dir.path().join("other.bin");
    random_file(&other, 100_000, 9);
    let (ok, _, stderr) = run(
        &["storage", "resume", set, path(&other), "--rpc", &rpc.url],
        &[],
    );
    assert!(
        !ok && stderr.contains("is not the file stored as"),
        "{stderr}"
    );
    let (ok, stdout, stderr) = run(
        &["storage", "resume", set, path(&small), "--rpc", &rpc.url],
        &[],
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), set);
    wait_until(Duration::from_secs(30), "the single copy accepted", || {
        rpc.ok("storage_getDeal", json!({ "id": deal }))["deals"][0]["status"] == "active"
    });
    // The restarted agent still proves the big file's shard.
    let proven = || {
        deal_set(&rpc, &id)["deals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["provider"] == providers[2].device.as_str())
            .unwrap()["proven"]
            .as_u64()
            .unwrap()
    };
    let before = proven();
    wait_until(
        Duration::from_secs(40),
        "the restarted agent proving again",
        || proven() > before,
    );
    assert!(providers[2].pem.exists());

    // The first provider deletes its shard: it cannot answer, and each period it faults.
    // Its collateral is ceil(5 MiB × 1 token per GiB) = 4 883 base units; the first fault
    // slashes 5 % of it, 244: 122 to the client, 122 burned.
    let alpha = providers[0].config.with_file_name("alpha-shards");
    let shards: Vec<PathBuf> = std::fs::read_dir(&alpha)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "shard"))
        .collect();
    assert_eq!(shards.len(), 1, "alpha keeps one shard");
    std::fs::remove_file(&shards[0]).unwrap();
    let alpha_deal = || {
        deal_set(&rpc, &id)["deals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["provider"] == providers[0].device.as_str())
            .unwrap()
            .clone()
    };
    assert_eq!(alpha_deal()["collateral"], json!("4883"));
    wait_until(
        Duration::from_secs(40),
        "the shardless provider's first fault",
        || alpha_deal()["faults"].as_u64().unwrap() >= 1,
    );
    let proofs = rpc.ok("storage_getProofs", json!({ "deal": alpha_deal()["id"] }));
    let fault = proofs["periods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["outcome"] == "faulted")
        .unwrap_or_else(|| panic!("no faulted period in {proofs}"));
    assert_eq!(
        (&fault["slashed"], &fault["to_client"], &fault["burned"]),
        (&json!("244"), &json!("122"), &json!("122")),
        "{fault}"
    );
    let shown = run_ok(&["storage", "show", &id, "--rpc", &rpc.url], &[]);
    assert!(
        shown.contains("no valid proof: 244 slashed (122 to the client, 122 burned)"),
        "{shown}"
    );

    // Once the epoch the fault settled in has ended, `rewards explain` of the provider names
    // it among the epoch's storage periods.
    let period = fault["period"].as_u64().unwrap();
    let epoch = ((period + 1) * 10 - 1) / epoch_blocks;
    wait_until(Duration::from_secs(40), "the fault's epoch to end", || {
        rpc.ok("chain_status", json!([]))["epoch"].as_u64().unwrap() > epoch
    });
    let explained = rpc.ok(
        "rewards_explain",
        json!({ "device": providers[0].device, "epoch": epoch }),
    );
    let settled = explained["storage"]
        .as_array()
        .unwrap_or_else(|| panic!("no storage section in {explained}"));
    assert!(
        settled
            .iter()
            .any(|p| p["period"] == period && p["outcome"] == "faulted" && p["slashed"] == "244"),
        "{explained}"
    );
    let text = run_ok(
        &[
            "rewards",
            "explain",
            "--device",
            providers[0].device.as_str(),
            "--epoch",
            &epoch.to_string(),
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    assert!(
        text.contains(&format!(
            "period {period}: faulted, 0 credits paid: no proof in time"
        )),
        "{text}"
    );
}
