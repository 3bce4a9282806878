//! `groundwork device attest-check` against certificates made by the real `openssl` command
//! line: good chains (P-256 and ed25519 device keys under a P-256 and an ed25519 CA), tampered
//! certificates, the wrong CA, an expired CA, and RSA keys, which are refused by name.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the openssl binary runs");
    assert!(status.success(), "openssl {args:?}");
}

/// A self-signed CA named `name` with a key made by `keygen` (openssl `-newkey` argument).
fn ca(dir: &Path, name: &str, newkey: &[&str], days: &str) -> PathBuf {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    let mut args = vec!["req", "-x509"];
    args.extend_from_slice(newkey);
    args.extend_from_slice(&[
        "-keyout", &key, "-out", &pem, "-days", days, "-nodes", "-subj",
    ]);
    let subject = format!("/CN={name}");
    args.push(&subject);
    openssl(dir, &args);
    dir.join(pem)
}

/// A device certificate for a new key (`genpkey` arguments), issued by CA `issuer`.
fn device_cert(dir: &Path, name: &str, genpkey: &[&str], issuer: &str) -> PathBuf {
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let mut args = vec!["genpkey"];
    args.extend_from_slice(genpkey);
    args.extend_from_slice(&["-out", &key]);
    openssl(dir, &args);
    let subject = format!("/CN={name}");
    openssl(
        dir,
        &["req", "-new", "-key", &key, "-out", &csr, "-subj", &subject],
    );
    let (ca_pem, ca_key) = (format!("{issuer}.pem"), format!("{issuer}.key"));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "30",
            "-sha256",
        ],
    );
    dir.join(pem)
}

/// The certificate `<name>.pem` with the first letter of its subject name (`name`) upper-cased
/// in the signed part, as `<name>-tampered.pem`.
fn tampered(dir: &Path, name: &str) -> PathBuf {
    let (pem, der, bad_der, bad_pem) = (
        format!("{name}.pem"),
        format!("{name}.der"),
        format!("{name}-tampered.der"),
        format!("{name}-tampered.pem"),
    );
    openssl(dir, &["x509", "-in", &pem, "-outform", "DER", "-out", &der]);
    let mut bytes = std::fs::read(dir.join(&der)).unwrap();
    let at = bytes
        .windows(name.len())
        .position(|w| w == name.as_bytes())
        .expect("the subject name is in the certificate");
    bytes[at] = bytes[at].to_ascii_uppercase();
    std::fs::write(dir.join(&bad_der), &bytes).unwrap();
    openssl(
        dir,
        &["x509", "-inform", "DER", "-in", &bad_der, "-out", &bad_pem],
    );
    dir.join(bad_pem)
}

fn attest(ca: &Path, cert: &Path, at: Option<u64>) -> (bool, Value) {
    let mut args = vec![
        "device".to_string(),
        "attest-check".to_string(),
        "--ca".to_string(),
        ca.display().to_string(),
        "--cert".to_string(),
        cert.display().to_string(),
        "--json".to_string(),
    ];
    if let Some(ms) = at {
        args.extend(["--at".to_string(), ms.to_string()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, stdout, _) = run(&refs, &[]);
    (ok, serde_json::from_str(&stdout).expect("JSON on stdout"))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

const P256_CA: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
const P256_KEY: &[&str] = &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];

#[test]
fn maker_certificates_made_by_openssl_are_checked_as_the_chain_does() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let maker = ca(dir, "maker", P256_CA, "365");

    // A good chain, with a P-256 and an ed25519 device key.
    let p256 = device_cert(dir, "hotspot", P256_KEY, "maker");
    let (ok, answer) = attest(&maker, &p256, None);
    assert!(ok, "{answer}");
    assert_eq!(answer["valid"], true);
    assert_eq!(answer["scheme"], "p256");
    assert_eq!(
        answer["subject_key"].as_str().unwrap().len(),
        130,
        "{answer}"
    );
    assert!(!answer["serial"].as_str().unwrap().is_empty());
    let ed = device_cert(dir, "meter", &["-algorithm", "ed25519"], "maker");
    let (ok, answer) = attest(&maker, &ed, None);
    assert!(ok && answer["scheme"] == "ed25519", "{answer}");

    // One byte of the signed part changed: the signature no longer verifies.
    let bad = tampered(dir, "hotspot");
    let (ok, answer) = attest(&maker, &bad, None);
    assert!(!ok, "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("signature does not verify"),
        "{answer}"
    );

    // Another maker's CA did not issue it.
    let other = ca(dir, "other", P256_CA, "365");
    let (ok, answer) = attest(&other, &p256, None);
    assert!(
        !ok && answer["reason"]
            .as_str()
            .unwrap()
            .contains("not issued by this CA"),
        "{answer}"
    );

    // A CA that has expired: valid for one day, checked three days on.
    let short = ca(dir, "short", P256_CA, "1");
    let sensor = device_cert(dir, "sensor", P256_KEY, "short");
    assert!(attest(&short, &sensor, None).0);
    let (ok, answer) = attest(&short, &sensor, Some(now_ms() + 3 * 86_400_000));
    assert!(!ok, "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("CA certificate expired"),
        "{answer}"
    );

    // RSA is refused by name, as a CA's key and as a device's.
    let rsa_ca = ca(dir, "rsa-maker", &["-newkey", "rsa:2048"], "365");
    let signed_by_rsa = device_cert(dir, "charger", P256_KEY, "rsa-maker");
    let (ok, answer) = attest(&rsa_ca, &signed_by_rsa, None);
    assert!(
        !ok && answer["reason"]
            .as_str()
            .unwrap()
            .contains("CA certificate has an RSA key"),
        "{answer}"
    );
    let rsa_device = device_cert(dir, "dongle", &["-algorithm", "RSA"], "maker");
    let (ok, answer) = attest(&maker, &rsa_device, None);
    assert!(
        !ok && answer["reason"]
            .as_str()
            .unwrap()
            .contains("device certificate has an RSA key"),
        "{answer}"
    );

    // An ed25519 CA signs with Ed25519: its P-256 and ed25519 devices pass; one byte changed
    // in the signed part fails; the P-256 maker's certificate does not pass under it.
    let ed_maker = ca(dir, "ed-maker", &["-newkey", "ed25519"], "365");
    let gateway = device_cert(dir, "gateway", P256_KEY, "ed-maker");
    let (ok, answer) = attest(&ed_maker, &gateway, None);
    assert!(ok && answer["scheme"] == "p256", "{answer}");
    let tracker = device_cert(dir, "tracker", &["-algorithm", "ed25519"], "ed-maker");
    let (ok, answer) = attest(&ed_maker, &tracker, None);
    assert!(ok && answer["scheme"] == "ed25519", "{answer}");
    let bad = tampered(dir, "tracker");
    let (ok, answer) = attest(&ed_maker, &bad, None);
    assert!(
        !ok && answer["reason"]
            .as_str()
            .unwrap()
            .contains("signature does not verify"),
        "{answer}"
    );
    let (ok, answer) = attest(&ed_maker, &p256, None);
    assert!(
        !ok && answer["reason"]
            .as_str()
            .unwrap()
            .contains("not issued by this CA"),
        "{answer}"
    );

    // Not a certificate at all.
    std::fs::write(dir.join("junk.pem"), "hello").unwrap();
    let (ok, answer) = attest(&maker, &dir.join("junk.pem"), None);
    assert!(
        !ok && answer["reason"]
            .as_str()
            .unwrap()
            .contains("not a DER X.509"),
        "{answer}"
    );
}

/// `groundwork ARGS --rpc URL`: (success, stdout, stderr).
fn on_chain(url: &str, args: &[&str]) -> (bool, String, String) {
    let mut all = args.to_vec();
    all.extend(["--rpc", url]);
    run(&all, &[])
}

/// [`on_chain`] that must succeed; its stdout.
fn on_chain_ok(url: &str, args: &[&str]) -> String {
    let (ok, stdout, stderr) = on_chain(url, args);
    assert!(ok, "groundwork {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// Where the attest tests' devices stand: a GNSS fix near the Brandenburg Gate, as the
/// resolution-15 cell a person would paste.
fn gnss_fix() -> h3o::CellIndex {
    h3o::LatLng::new(52.516_3, 13.377_7)
        .unwrap()
        .to_cell(h3o::Resolution::Fifteen)
}

/// Issues `device_key` a certificate (`cert`) from the dev chain's maker, and registers the
/// device as `kind` with it at [`gnss_fix`], owned by the dev account; returns the device id.
fn register_attested(url: &str, data: &Path, device_key: &Path, cert: &Path, kind: &str) -> String {
    let maker_key = data.join("dev-maker.key");
    run_ok(
        &[
            "attest",
            "issue",
            "--maker-key",
            maker_key.to_str().unwrap(),
            "--device-key",
            device_key.to_str().unwrap(),
            "--out",
            cert.to_str().unwrap(),
        ],
        &[],
    );
    let account = data.join("dev-account.key");
    let registered = on_chain_ok(
        url,
        &[
            "device",
            "register",
            "--key",
            account.to_str().unwrap(),
            "--device-key",
            device_key.to_str().unwrap(),
            "--kind",
            kind,
            "--location",
            &gnss_fix().to_string(),
            "--cert",
            cert.to_str().unwrap(),
        ],
    );
    registered
        .lines()
        .find_map(|l| l.strip_prefix("device id "))
        .expect("the device id is printed")
        .to_string()
}

/// Waits until the epoch block `height` falls in has ended; returns that epoch.
fn end_of_epoch(rpc: &Rpc, height: u64) -> u64 {
    let length = rpc.ok("chain_status", serde_json::json!([]))["epoch_length_blocks"]
        .as_u64()
        .unwrap();
    let epoch = height.saturating_sub(1) / length;
    wait_for_height(
        rpc,
        (epoch + 1) * length + 1,
        std::time::Duration::from_secs(60),
    );
    epoch
}

/// On a dev chain: the dev maker is in the genesis, its CA is written out and verifies a
/// certificate it issued with `openssl verify`; a device registers with that certificate and
/// is attested; only the maker's account may revoke it, and once it does the device may no
/// longer work (1303), as `attest show` and `rewards_explain` say.
#[test]
fn a_dev_chain_device_is_attested_by_the_dev_maker_and_stops_when_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let data = dir.join("dev");
    let (node, rpc) = start_dev(&data, 100);
    wait_for_height(&rpc, 2, std::time::Duration::from_secs(30));
    let url = rpc.url.as_str();

    let makers_dir = dir.join("makers");
    let makers: Value = serde_json::from_str(&on_chain_ok(
        url,
        &[
            "attest",
            "makers",
            "--ca-dir",
            makers_dir.to_str().unwrap(),
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(
        makers["makers"][0]["name"], "Groundwork dev maker",
        "{makers}"
    );
    assert_eq!(makers["required"], serde_json::json!([]));
    let ca_pem = makers_dir.join("groundwork-dev-maker-0.pem");
    assert_eq!(
        std::fs::read_to_string(&ca_pem).unwrap(),
        std::fs::read_to_string(data.join("dev-maker-ca.pem")).unwrap()
    );

    // A device key from openssl, a certificate from the dev maker that openssl verifies.
    let mut genpkey = vec!["genpkey", "-out", "meter.key"];
    genpkey.extend_from_slice(P256_KEY);
    openssl(dir, &genpkey);
    let device = register_attested(
        url,
        &data,
        &dir.join("meter.key"),
        &dir.join("meter.pem"),
        "energy",
    );
    openssl(
        dir,
        &["verify", "-CAfile", ca_pem.to_str().unwrap(), "meter.pem"],
    );
    let shown = rpc.ok("attest_get", serde_json::json!({ "device": device }));
    assert_eq!(
        shown["attestation"]["maker"], "Groundwork dev maker",
        "{shown}"
    );
    assert_eq!(shown["refused"], Value::Null, "{shown}");
    assert_eq!(shown["required"], false);
    let serial = shown["attestation"]["serial"].as_str().unwrap().to_string();
    let got = rpc.ok("device_get", serde_json::json!([device]));
    assert_eq!(got["attestation"]["serial"], serial.as_str(), "{got}");
    // Registered at the resolution-12 cell holding the fix it was given.
    let location = gnss_fix().parent(h3o::Resolution::Twelve).unwrap();
    assert_eq!(got["location"], location.to_string(), "{got}");

    // The owner is not the maker: its revocation lands, refused with 1304, and changes nothing.
    let account = data.join("dev-account.key");
    let maker_key = data.join("dev-maker.key");
    let revoke = |key: &Path, serial: &str| {
        on_chain(
            url,
            &[
                "attest",
                "revoke",
                "--key",
                key.to_str().unwrap(),
                "--serial",
                serial,
            ],
        )
    };
    let (ok, _, stderr) = revoke(&account, &serial);
    assert!(!ok && stderr.contains("code 1304"), "{stderr}");
    let shown = rpc.ok("attest_get", serde_json::json!({ "device": device }));
    assert_eq!(shown["refused"], Value::Null, "{shown}");

    // The maker revokes: the device may not work any more, and says why.
    let (ok, stdout, stderr) = revoke(&maker_key, &serial);
    assert!(ok, "{stdout}{stderr}");
    let shown = rpc.ok("attest_get", serde_json::json!({ "device": device }));
    assert_eq!(shown["refused"]["code"], 1303, "{shown}");
    assert!(shown["attestation"]["revoked_at_height"].as_u64().is_some());
    let stdout = on_chain_ok(url, &["attest", "show", &device]);
    assert!(stdout.contains("may work      no"), "{stdout}");
    // Once an epoch has ended, asking why it earned nothing names the revocation.
    let epoch = end_of_epoch(&rpc, rpc.height() + 1);
    let why = rpc.call(
        "rewards_explain",
        serde_json::json!({ "device": device, "epoch": epoch }),
    );
    let message = why["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("may not report or earn") && message.contains("code 1303"),
        "{why}"
    );

    // A bad serial is named before anything is sent.
    let (ok, _, stderr) = revoke(&maker_key, "not-hex");
    assert!(!ok && stderr.contains("is not hex"), "{stderr}");
    node.kill();
}

/// A device settles verified usage, then its maker revokes its certificate: the epoch's usage
/// mint pays it nothing, and `rewards explain` says why and still adds up.
#[test]
fn a_revoked_device_is_paid_no_usage_and_its_explanation_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let data = dir.join("dev");
    let (node, rpc) = start_priced_dev(&data, 200);
    wait_for_height(&rpc, 2, std::time::Duration::from_secs(30));
    let url = rpc.url.as_str();
    let account = data.join("dev-account.key");
    let key = account.to_str().unwrap();

    openssl(
        dir,
        &["genpkey", "-algorithm", "ed25519", "-out", "hotspot.key"],
    );
    let device_key = dir.join("hotspot.key");
    let device = register_attested(
        url,
        &data,
        &device_key,
        &dir.join("hotspot.pem"),
        "wireless",
    );
    on_chain_ok(
        url,
        &[
            "offer",
            "set",
            "--key",
            key,
            "--device",
            &device,
            "--price",
            "1",
            "--max-blocks",
            "200",
        ],
    );
    wait_until(
        std::time::Duration::from_secs(30),
        "an oracle price",
        || !rpc.ok("oracle_getPrice", serde_json::json!([]))["price"].is_null(),
    );
    on_chain_ok(url, &["credits", "buy", "--key", key, "--credits", "5000"]);
    let opened = on_chain_ok(
        url,
        &[
            "session",
            "open",
            "--key",
            key,
            "--device",
            &device,
            "--credits",
            "2000",
            "--blocks",
            "100",
        ],
    );
    let session = opened
        .lines()
        .find_map(|l| l.strip_prefix("session "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no session id in {opened}"))
        .to_string();
    let voucher = on_chain_ok(
        url,
        &[
            "session",
            "pay",
            "--key",
            key,
            "--session",
            &session,
            "--units",
            "1500",
        ],
    );
    let unsigned = dir.join("voucher.json");
    std::fs::write(&unsigned, voucher).unwrap();
    let cosigned = on_chain_ok(
        url,
        &[
            "session",
            "cosign",
            "--voucher",
            unsigned.to_str().unwrap(),
            "--device-key",
            device_key.to_str().unwrap(),
        ],
    );
    let signed = dir.join("signed.json");
    std::fs::write(&signed, cosigned).unwrap();

    // The maker revokes, then the owner settles: the usage is recorded in this epoch, and at
    // its end the device may not earn.
    let serial =
        rpc.ok("attest_get", serde_json::json!({ "device": device }))["attestation"]["serial"]
            .as_str()
            .unwrap()
            .to_string();
    let maker_key = data.join("dev-maker.key");
    on_chain_ok(
        url,
        &[
            "attest",
            "revoke",
            "--key",
            maker_key.to_str().unwrap(),
            "--serial",
            &serial,
        ],
    );
    let settled = on_chain_ok(
        url,
        &[
            "session",
            "settle",
            "--key",
            key,
            "--voucher",
            signed.to_str().unwrap(),
        ],
    );
    let block: u64 = settled
        .split("included in block ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no block in {settled}"));
    let epoch = end_of_epoch(&rpc, block);
    let record = rpc.ok("epoch_get", serde_json::json!([epoch]));
    assert_eq!(record["usage"]["credits_spent"], 1_500, "{record}");
    assert_eq!(record["usage"]["minted"], "0", "{record}");
    let explained: Value = serde_json::from_str(&on_chain_ok(
        url,
        &[
            "rewards",
            "explain",
            "--device",
            &device,
            "--epoch",
            &epoch.to_string(),
            "--json",
        ],
    ))
    .unwrap();
    let usage = &explained["usage"];
    assert_eq!(usage["amount"], "0", "{explained}");
    assert!(usage["uncapped"].as_str().unwrap().parse::<u128>().unwrap() > 0);
    assert!(
        usage["withheld"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked its certificate"),
        "{explained}"
    );
    let last_step = usage["steps"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last_step.as_str().unwrap().starts_with("withheld:"),
        "{explained}"
    );
    assert_eq!(explained["adds_up"], true, "{explained}");
    node.kill();
}
