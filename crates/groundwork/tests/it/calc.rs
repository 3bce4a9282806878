//! `groundwork calc` through the real binary, against the coverage library's hand-checked values.

use groundwork_coverage as coverage;
use groundwork_primitives::cell::Cell;
use serde_json::Value;
use std::process::{Command, Output};

fn calc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_groundwork"))
        .arg("calc")
        .args(args)
        .output()
        .unwrap()
}

/// Runs a command that must succeed and returns its stdout.
fn ok(args: &[&str]) -> String {
    let out = calc(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail cleanly and returns its stderr.
fn fails(args: &[&str]) -> String {
    let out = calc(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    stderr
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

// Eiffel Tower and Trocadéro, 543 m and 13 res-11 steps apart (see the library's tests).
const EIFFEL: &str = "8c1fb46741ae9ff";
const EIFFEL_DECIMAL: &str = "631061702822783487";
const TROCADERO: &str = "8c1fb4674d5c3ff";
// Times Square: too far from Paris for an H3 grid distance.
const TIMES_SQUARE: &str = "8c2a100d67939ff";

#[test]
fn fspl() {
    let out = ok(&[
        "fspl",
        "--distance-m",
        "1000",
        "--freq-hz",
        "915000000",
        "--json",
    ]);
    // 91.67599 dB, rounded up to 0.01 dB.
    assert_eq!(out.trim(), r#"{"fspl_db": 91.68}"#);
    assert_eq!(coverage::fspl_cdb(1000, 915_000_000), Ok(9168));
    assert_eq!(json(&out)["fspl_db"].as_f64(), Some(91.68));

    let out = ok(&["fspl", "--distance-m", "5000", "--freq-hz", "868000000"]);
    assert!(out.contains("105.20 dB"), "{out}");
}

#[test]
fn expected_rssi() {
    let out = ok(&[
        "expected-rssi",
        "--tx-power-dbm",
        "27",
        "--freq-hz",
        "915000000",
        "--distance-m",
        "1000",
        "--tx-gain-ddbi",
        "12",
        "--rx-gain-ddbi",
        "58",
        "--json",
    ]);
    // 100·(27 + 1 + 5) − 9168 = −5868 centi-dBm.
    assert_eq!(out.trim(), r#"{"expected_rssi_dbm": -58.68}"#);
    assert_eq!(
        coverage::expected_rssi_cdbm(27, 915_000_000, 1000, 12, 58),
        Ok(-5868)
    );

    // Negative gains as separate arguments; −1.5 dBi floors to −2 dB: 100·(20 − 2 + 1) − 10520.
    let out = ok(&[
        "expected-rssi",
        "--tx-power-dbm",
        "20",
        "--freq-hz",
        "868000000",
        "--distance-m",
        "5000",
        "--tx-gain-ddbi",
        "-15",
        "--rx-gain-ddbi",
        "19",
        "--json",
    ]);
    assert_eq!(json(&out)["expected_rssi_dbm"].as_f64(), Some(-86.20));
    assert_eq!(
        coverage::expected_rssi_cdbm(20, 868_000_000, 5000, -15, 19),
        Ok(-8620)
    );

    let human = ok(&[
        "expected-rssi",
        "--tx-power-dbm",
        "20",
        "--freq-hz",
        "868000000",
        "--distance-m",
        "5000",
        "--tx-gain-ddbi",
        "-15",
        "--rx-gain-ddbi",
        "19",
    ]);
    assert!(human.contains("-86.20 dBm"), "{human}");
}

#[test]
fn distance() {
    let out = ok(&["distance", "--from", EIFFEL, "--to", TROCADERO, "--json"]);
    assert_eq!(out.trim(), r#"{"meters": 543, "grid_distance_res11": 13}"#);
    let (a, b): (Cell, Cell) = (EIFFEL.parse().unwrap(), TROCADERO.parse().unwrap());
    assert_eq!(coverage::distance_m(a, b), 543);
    assert_eq!(coverage::grid_distance_res11(a, b), Ok(13));

    // Decimal and hex name the same cell.
    let decimal = ok(&[
        "distance",
        "--from",
        EIFFEL_DECIMAL,
        "--to",
        TROCADERO,
        "--json",
    ]);
    assert_eq!(decimal, out);

    let far = json(&ok(&[
        "distance",
        "--from",
        EIFFEL,
        "--to",
        TIMES_SQUARE,
        "--json",
    ]));
    assert_eq!(far["grid_distance_res11"], Value::Null);
    assert!(far["meters"].as_u64().unwrap() > 5_800_000);

    let human = ok(&["distance", "--from", EIFFEL, "--to", TROCADERO]);
    assert!(human.contains("543 m"), "{human}");
    assert!(human.contains("13 steps"), "{human}");

    // A GNSS fix at resolution 15, a corner of the Eiffel cell: metres from its own centre,
    // steps from the location cell holding it.
    let fix = a.index().children(h3o::Resolution::Fifteen).last().unwrap();
    let fine = json(&ok(&[
        "distance",
        "--from",
        &fix.to_string(),
        "--to",
        TROCADERO,
        "--json",
    ]));
    let metres = fine["meters"].as_u64().unwrap();
    assert_eq!(
        metres,
        u64::from(coverage::centre_distance_m(fix, b.index()))
    );
    assert!(metres != 543 && metres.abs_diff(543) < 25, "{fine}");
    assert_eq!(fine["grid_distance_res11"], 13);
    // A resolution-7 area around the tower: from its centre, in steps from its centre cell.
    let area = a.index().parent(h3o::Resolution::Seven).unwrap();
    let coarse = json(&ok(&[
        "distance",
        "--from",
        &area.to_string(),
        "--to",
        TROCADERO,
        "--json",
    ]));
    assert_eq!(
        coarse["meters"].as_u64().unwrap(),
        u64::from(coverage::centre_distance_m(area, b.index()))
    );
    let centre: Cell = area
        .center_child(h3o::Resolution::Twelve)
        .unwrap()
        .to_string()
        .parse()
        .unwrap();
    assert_eq!(
        coarse["grid_distance_res11"].as_u64(),
        coverage::grid_distance_res11(centre, b).ok().map(u64::from)
    );
}

#[test]
fn reward_units() {
    let out = ok(&["reward-units", "--witnesses", "5", "--json"]);
    assert_eq!(
        out.trim(),
        r#"{"beacon_unit": 1.2000, "witness_unit": 0.7600}"#
    );
    // The library's HIP-15 table, through the binary.
    for w in [0u32, 1, 4, 6, 14, 15, 100] {
        let value = json(&ok(&[
            "reward-units",
            "--witnesses",
            &w.to_string(),
            "--json",
        ]));
        let beacon = f64::from(coverage::beacon_unit(w)) / 10_000.0;
        let witness = f64::from(coverage::witness_unit(w)) / 10_000.0;
        assert_eq!(value["beacon_unit"].as_f64(), Some(beacon), "{w}");
        assert_eq!(value["witness_unit"].as_f64(), Some(witness), "{w}");
    }
    assert_eq!(coverage::beacon_unit(14), 18926);
    assert_eq!(coverage::witness_unit(14), 2220);
    let human = ok(&["reward-units", "--witnesses", "14"]);
    assert!(
        human.contains("1.8926") && human.contains("0.2220"),
        "{human}"
    );
}

#[test]
fn hex_scale() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("devices.txt");
    // Four devices at the Eiffel Tower (one in decimal), one at Trocadéro.
    let text = format!(
        "# devices around the Champ de Mars\n{EIFFEL}\n{EIFFEL}\n\n{EIFFEL}  # third\n\
         {EIFFEL_DECIMAL}\n{TROCADERO}\n"
    );
    std::fs::write(&path, text).unwrap();
    let out = ok(&["hex-scale", "--cells", path.to_str().unwrap(), "--json"]);
    let value = json(&out);
    let scales = value["scales"].as_object().unwrap();
    assert_eq!(scales.len(), 2);

    let (a, b): (Cell, Cell) = (EIFFEL.parse().unwrap(), TROCADERO.parse().unwrap());
    let expected = coverage::hex_scales(&[a, a, a, a, b]);
    // Four devices in one cell share it: 1/4 each, as long as the Trocadéro device is in
    // another res-10 hex and nothing above clips.
    assert_eq!(expected[&a], 2500);
    for (cell, scale) in &expected {
        assert_eq!(
            scales[&cell.to_string()].as_f64(),
            Some(f64::from(*scale) / 10_000.0),
            "{cell}"
        );
    }
    assert!(out.contains(&format!("\"{EIFFEL}\": 0.2500")), "{out}");

    let human = ok(&["hex-scale", "--cells", path.to_str().unwrap()]);
    assert!(
        human.contains(EIFFEL) && human.contains("0.2500"),
        "{human}"
    );
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let stderr = fails(&["fspl", "--distance-m", "0", "--freq-hz", "915000000"]);
    assert!(stderr.contains("--distance-m"), "{stderr}");
    let stderr = fails(&["fspl", "--distance-m", "10", "--freq-hz", "0", "--json"]);
    assert!(stderr.contains("--freq-hz"), "{stderr}");

    let stderr = fails(&["distance", "--from", "zz", "--to", TROCADERO]);
    assert!(stderr.contains("invalid H3 cell"), "{stderr}");
    // A resolution-6 cell is too coarse to be a place.
    let eiffel: Cell = EIFFEL.parse().unwrap();
    let six = eiffel
        .index()
        .parent(h3o::Resolution::Six)
        .unwrap()
        .to_string();
    let stderr = fails(&["distance", "--from", &six, "--to", TROCADERO]);
    assert!(stderr.contains("resolution 6"), "{stderr}");
    assert!(stderr.contains("resolution 7 to 15"), "{stderr}");

    let stderr = fails(&["hex-scale", "--cells", "/nonexistent/devices.txt"]);
    assert!(stderr.contains("cannot read"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.txt");
    std::fs::write(&path, format!("{EIFFEL}\n\nnot-a-cell\n")).unwrap();
    let stderr = fails(&["hex-scale", "--cells", path.to_str().unwrap()]);
    assert!(stderr.contains("line 3"), "{stderr}");
}
