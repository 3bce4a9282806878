//! `groundwork compute exec` as a provider runs a job: the same result hash and fuel on every
//! run, floats refused by name, and a run out of fuel reported with its limit.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

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
}
