//! `groundwork compute exec` as a provider runs a job: the same result hash and fuel on every
//! run, floats refused by name, and a run out of fuel reported with its limit.

use crate::common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_job_gives_the_same_hash_and_fuel_every_run_and_bad_modules_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let tile = dir.path().join("tile.bin");
    let words: Vec<u8> = [128i32, 128, 32, 32, 32, 32, 64]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(&tile, words).unwrap();
    let tile = tile.to_str().unwrap();
    let render = example("render.wat");
    let exec = |fuel: &str| {
        run(
            &[
                "compute", "exec", "--module", &render, "--input", tile, "--fuel", fuel, "--json",
            ],
            &[],
        )
    };
    let (ok, first, stderr) = exec("100000000");
    assert!(ok, "{stderr}");
    let (_, second, _) = exec("100000000");
    let first: Value = serde_json::from_str(&first).unwrap();
    let second: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(first, second);
    assert_eq!(first["output_bytes"], 32 * 32 * 4);
    assert!(first["fuel_used"].as_u64().unwrap() > 32 * 32);

    // Too little fuel: refused with the limit named (with --json, as a JSON error).
    let (ok, stdout, _) = exec("5000");
    let refused: Value = serde_json::from_str(&stdout).unwrap();
    let reason = refused["error"].as_str().unwrap();
    assert!(
        !ok && reason.contains("used all 5000 units of fuel"),
        "{stdout}"
    );
    assert!(refused.get("result_hash").is_none());

    // A module with floats is refused by name.
    let floats = dir.path().join("floats.wat");
    std::fs::write(
        &floats,
        r#"(module (memory (export "memory") 1)
             (func (export "run") (param i32) (result i64)
               (drop (f32.mul (f32.const 1.5) (f32.const 2))) (i64.const 0)))"#,
    )
    .unwrap();
    let (ok, _, stderr) = run(
        &[
            "compute",
            "exec",
            "--module",
            floats.to_str().unwrap(),
            "--input",
            tile,
            "--fuel",
            "1000",
        ],
        &[],
    );
    assert!(!ok && stderr.contains("floating-point"), "{stderr}");

    // A module with threads (shared memory) is refused by name, by `exec` and at job
    // submission: `compute run` refuses it before it signs or escrows anything.
    let threads = dir.path().join("threads.wat");
    std::fs::write(
        &threads,
        r#"(module (memory (export "memory") 1 1 shared)
             (func (export "run") (param i32) (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    let threads = threads.to_str().unwrap();
    let (ok, _, stderr) = run(
        &[
            "compute", "exec", "--module", threads, "--input", tile, "--fuel", "1000",
        ],
        &[],
    );
    assert!(!ok && stderr.contains("threads"), "{stderr}");
    let out = dir.path().join("frame.png");
    let (ok, _, stderr) = run(
        &[
            "compute",
            "run",
            "--module",
            threads,
            "--input",
            tile,
            "--fuel",
            "1000",
            "--out",
            out.to_str().unwrap(),
            "--key",
            "nobody",
            "--rpc",
            "http://127.0.0.1:9",
        ],
        &[],
    );
    assert!(
        !ok && stderr.contains("cannot be a job") && stderr.contains("threads"),
        "{stderr}"
    );
    assert!(!out.exists());
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// An owner account from an openssl key, funded from the dev account.
fn funded_owner(dir: &Path, data: &Path, rpc: &Rpc, name: &str) -> std::path::PathBuf {
    let pem = dir.join(format!("{name}-owner.pem"));
    let status = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out", path(&pem)])
        .status()
        .unwrap();
    assert!(status.success());
    let shown: Value = serde_json::from_str(&run_ok(
        &[
            "account",
            "show",
            "--key",
            path(&pem),
            "--json",
            "--rpc",
            &rpc.url,
        ],
        &[],
    ))
    .unwrap();
    let address = shown["address"].as_str().unwrap().to_string();
    run_ok(
        &[
            "account",
            "transfer",
            "--key",
            path(&data.join("dev-account.key")),
            "--to",
            &address,
            "--amount",
            "50",
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    pem
}

/// A compute device of its own owner, offered at 4 credits per million fuel with 2 tokens of
/// collateral, and its agent running.
fn compute_agent(dir: &Path, data: &Path, rpc: &Rpc, name: &str) -> (String, Running) {
    let owner = funded_owner(dir, data, rpc, name);
    let pem = dir.join(format!("{name}.pem"));
    let status = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out", path(&pem)])
        .status()
        .unwrap();
    assert!(status.success());
    let out = run_ok(
        &[
            "device",
            "register",
            "--key",
            path(&owner),
            "--device-key",
            path(&pem),
            "--kind",
            "compute",
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
    run_ok(
        &[
            "offer",
            "set",
            "--key",
            path(&owner),
            "--device",
            &device,
            "--price",
            "4",
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
            "compute",
            "offer",
            "--key",
            path(&owner),
            "--device",
            &device,
            "--max-fuel",
            "1000000000",
            "--collateral",
            "2",
            "--endpoint",
            &endpoint,
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "rpc = \"{}\"\ndevice_key = \"{}\"\nqueue = \"{name}-queue.json\"\n\
             interval_secs = 1\n[service]\nlisten = \"127.0.0.1:{port}\"\n[compute]\ndir = \"{name}-tasks\"\n",
            rpc.url,
            path(&pem)
        ),
    )
    .unwrap();
    let log = std::fs::File::create(config.with_extension("log")).unwrap();
    let agent = Running(
        groundwork()
            .args(["agent", "--config", path(&config)])
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    (device, agent)
}

#[test]
fn a_frame_of_sixteen_tiles_is_computed_by_agents_verified_and_assembled() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let (_node, rpc) = start_priced_dev(&data, 200);
    wait_for_height(&rpc, 2, Duration::from_secs(30));
    let agents: Vec<(String, Running)> = ["ada", "bo", "cy", "di"]
        .iter()
        .map(|name| compute_agent(dir.path(), &data, &rpc, name))
        .collect();
    wait_until(Duration::from_secs(30), "an oracle price", || {
        !rpc.ok("oracle_getPrice", json!([]))["price"].is_null()
    });
    let dev_key = data.join("dev-account.key");
    run_ok(
        &[
            "credits",
            "buy",
            "--key",
            path(&dev_key),
            "--credits",
            "100000",
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    let frame = dir.path().join("frame.png");
    // 16 × 10^8 fuel × 4 credits per million × (2 runs + a spot check + 3 referees) = 38 400
    // credits escrowed.
    let out = run_ok(
        &[
            "compute",
            "run",
            "--key",
            path(&dev_key),
            "--module",
            &example("render.wat"),
            "--input",
            &example("scene.toml"),
            "--tasks",
            "16",
            "--fuel",
            "100000000",
            "--replication",
            "2",
            "--spot-check",
            "0",
            "--out",
            path(&frame),
            "--rpc",
            &rpc.url,
        ],
        &[],
    );
    let job = out.trim().to_string();
    assert_eq!(job.len(), 64, "{out}");
    let record = rpc.ok("compute_getJob", json!({ "id": job }));
    let tasks = record["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 16);

    // Every tile: two agents agreed, and `compute exec` here gives the same hash and fuel.
    let png = std::fs::read(&frame).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0u8; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (256, 256));
    let mut paid = 0;
    for (i, task) in tasks.iter().enumerate() {
        assert_eq!(task["verification"], "matched", "{task}");
        let agreed: Vec<&Value> = task["slots"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["verdict"] == "agreed")
            .collect();
        assert_eq!(agreed.len(), 2, "{task}");
        let (left, top) = ((i % 4) * 64, (i / 4) * 64);
        let input = dir.path().join(format!("tile-{i}.bin"));
        let words: Vec<u8> = [256u32, 256, left as u32, top as u32, 64, 64, 200]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        std::fs::write(&input, words).unwrap();
        let tile = dir.path().join(format!("tile-{i}.rgba"));
        let exec: Value = serde_json::from_str(&run_ok(
            &[
                "compute",
                "exec",
                "--module",
                &example("render.wat"),
                "--input",
                path(&input),
                "--fuel",
                "100000000",
                "--out",
                path(&tile),
                "--json",
            ],
            &[],
        ))
        .unwrap();
        assert_eq!(task["result"], exec["result_hash"], "task {i}");
        assert_eq!(task["fuel_used"], exec["fuel_used"], "task {i}");
        // Its pixels are where the frame has them.
        let tile = std::fs::read(&tile).unwrap();
        for y in 0..64 {
            let at = ((top + y) * 256 + left) * 4;
            assert_eq!(
                &pixels[at..at + 256],
                &tile[y * 256..(y + 1) * 256],
                "tile {i} row {y}"
            );
        }
        // Each agreeing agent is paid floor(fuel × 4 ÷ 10^6).
        let fuel = exec["fuel_used"].as_u64().unwrap();
        assert_eq!(
            task["paid_credits"],
            json!(2 * (fuel * 4 / 1_000_000)),
            "{task}"
        );
        paid += task["paid_credits"].as_u64().unwrap();
    }
    assert!(paid > 0);
    // The agents' outputs stay served; `compute show` tells each task's story.
    let shown = run_ok(&["compute", "show", &job, "--rpc", &rpc.url], &[]);
    assert!(
        shown.contains("matched") && shown.contains("drew 2 to run it"),
        "{shown}"
    );
    drop(agents);
}
