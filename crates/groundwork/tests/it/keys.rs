//! `groundwork keys` against temporary keystores, with OpenSSL as the independent reference for
//! PEM files. Keystores use the default argon2id parameters, as real ones do.

use groundwork_primitives::keyfile::{key_address, read_key_file};
use groundwork_primitives::keys::account_address;
use groundwork_primitives::{AccountPublicKey, DeviceId, decode_exact};
use groundwork_wallet::{DerivationPath, Mnemonic, SecretKey};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const PASSPHRASE: &str = "correct horse battery staple";
const OPENSSL: &str = "openssl";
const ABANDON_ABOUT: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                             abandon abandon abandon about";

/// The binary with a clean environment for key handling: no inherited passphrase, mnemonic or
/// home directory.
fn keys(keystore: &Path) -> Command {
    let mut command = crate::common::groundwork();
    command
        .env_remove("GROUNDWORK_PASSPHRASE")
        .env_remove("GROUNDWORK_MNEMONIC")
        .env("GROUNDWORK_HOME", keystore.join("unused-home"))
        .stdin(Stdio::null())
        .arg("keys")
        .arg("--keystore")
        .arg(keystore);
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("running groundwork")
}

fn succeed(command: &mut Command) -> String {
    let out = run(command);
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fail(command: &mut Command) -> String {
    let out = run(command);
    assert!(!out.status.success(), "{command:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new(OPENSSL)
        .args(args)
        .output()
        .expect("OpenSSL is needed for these tests (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The public key OpenSSL computes for a private key file, as DER SubjectPublicKeyInfo.
/// A fresh ed25519 key from OpenSSL, as a PKCS#8 PEM file at `pem`.
fn openssl_ed25519_pem(pem: &Path) {
    openssl(&[
        "genpkey",
        "-algorithm",
        "ed25519",
        "-out",
        pem.to_str().unwrap(),
    ]);
}

fn openssl_public_der(pem: &Path) -> Vec<u8> {
    openssl(&[
        "pkey",
        "-in",
        pem.to_str().unwrap(),
        "-pubout",
        "-outform",
        "DER",
    ])
}

/// The value printed on a `  field: value` line of a summary.
fn field(output: &str, name: &str) -> String {
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in:\n{output}"))
        .trim()
        .to_string()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn list_json(keystore: &Path) -> serde_json::Value {
    serde_json::from_str(&succeed(keys(keystore).args(["list", "--json"]))).unwrap()
}

#[test]
fn openssl_ed25519_key_imports_and_exports_with_the_same_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keys");
    let pem = dir.path().join("openssl.pem");
    openssl_ed25519_pem(&pem);
    // SubjectPublicKeyInfo for ed25519 ends with the 32 raw public key bytes.
    let spki = openssl_public_der(&pem);
    let public = decode_exact::<AccountPublicKey>(&spki[spki.len() - 32..]).unwrap();
    let expected_address = account_address(&public).to_string();

    let output = succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["import", "--name", "alice", "--pem"])
            .arg(&pem),
    );
    assert_eq!(field(&output, "address"), expected_address);
    assert_eq!(field(&output, "scheme"), "ed25519");
    let stored = keystore.join("alice.json");
    assert_eq!(mode(&stored), 0o600);
    // The keystore holds no plaintext secret: OpenSSL's key bytes are nowhere in it.
    let der = openssl(&["pkey", "-in", pem.to_str().unwrap(), "-outform", "DER"]);
    let seed_hex = hex::encode(&der[der.len() - 32..]);
    assert!(
        !std::fs::read_to_string(&stored)
            .unwrap()
            .contains(&seed_hex)
    );

    let listed = list_json(&keystore);
    assert_eq!(listed[0]["name"], "alice");
    assert_eq!(listed[0]["address"], expected_address.as_str());

    let exported = dir.path().join("exported.pem");
    succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["export", "--name", "alice", "--format", "pem", "--out"])
            .arg(&exported),
    );
    assert_eq!(mode(&exported), 0o600);
    openssl(&["pkey", "-in", exported.to_str().unwrap(), "-noout"]);
    assert_eq!(openssl_public_der(&exported), spki);
    // Byte for byte what OpenSSL wrote.
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap(),
        std::fs::read_to_string(&pem).unwrap()
    );
    // Exporting over an existing file needs --force.
    let stderr = fail(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["export", "--name", "alice", "--format", "pem", "--out"])
            .arg(&exported),
    );
    assert!(stderr.contains("--force"), "{stderr}");
    // To standard output too.
    let printed = succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["export", "--name", "alice", "--format", "pem"]),
    );
    assert_eq!(printed, std::fs::read_to_string(&pem).unwrap());
}

#[test]
fn openssl_p256_keys_import_and_export_with_the_same_device_id() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keys");
    let pem = dir.path().join("p256.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        pem.to_str().unwrap(),
    ]);
    // SubjectPublicKeyInfo for P-256 ends with the uncompressed point 04 ‖ x ‖ y.
    let spki = openssl_public_der(&pem);
    let point = &spki[spki.len() - 65..];
    assert_eq!(point[0], 0x04);
    let mut tagged = vec![1u8, 0x02 | (point[64] & 1)];
    tagged.extend_from_slice(&point[1..33]);
    let expected_id = decode_exact::<DeviceId>(&tagged).unwrap().to_string();

    let output = succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["import", "--name", "sensor", "--pem"])
            .arg(&pem),
    );
    assert_eq!(field(&output, "device id"), expected_id);
    assert_eq!(field(&output, "scheme"), "p256");
    assert!(!output.contains("address:"), "P-256 keys hold no account");

    // The same key as a SEC1 "EC PRIVATE KEY" file.
    let sec1 = dir.path().join("sec1.pem");
    openssl(&[
        "ec",
        "-in",
        pem.to_str().unwrap(),
        "-out",
        sec1.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(&sec1)
            .unwrap()
            .starts_with("-----BEGIN EC PRIVATE KEY-----")
    );
    // Into another keystore: one keystore holds a key under one name only.
    let output = succeed(
        keys(&dir.path().join("keys-sec1"))
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["import", "--name", "sensor-sec1", "--pem"])
            .arg(&sec1),
    );
    assert_eq!(field(&output, "device id"), expected_id);

    let exported = dir.path().join("exported.pem");
    succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["export", "--name", "sensor", "--format", "pem", "--out"])
            .arg(&exported),
    );
    assert_eq!(mode(&exported), 0o600);
    openssl(&["pkey", "-in", exported.to_str().unwrap(), "-noout"]);
    assert_eq!(openssl_public_der(&exported), spki);

    let listed = list_json(&keystore);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["device_id"], expected_id.as_str());
    assert_eq!(listed[0]["address"], serde_json::Value::Null);
}

#[test]
fn wrong_passphrase_and_corrupted_files_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keys");
    succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["new", "--name", "alice"]),
    );
    let stored = keystore.join("alice.json");
    assert_eq!(mode(&stored), 0o600);

    let stderr = fail(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", "not the passphrase")
            .args(["export", "--name", "alice", "--format", "pem"]),
    );
    assert!(stderr.contains("wrong passphrase"), "{stderr}");

    // One changed character of the ciphertext.
    let text = std::fs::read_to_string(&stored).unwrap();
    let at = text.find("\"ciphertext\": \"").unwrap() + "\"ciphertext\": \"".len();
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&stored, bytes).unwrap();
    let stderr = fail(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["export", "--name", "alice", "--format", "pem"]),
    );
    assert!(stderr.contains("corrupted"), "{stderr}");
    assert!(!stderr.contains("wrong passphrase"), "{stderr}");
    // Listing goes on past a damaged file and says which one.
    let out = run(keys(&keystore).arg("list"));
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("alice") && stderr.contains("corrupted"),
        "{stderr}"
    );

    // Not JSON at all.
    std::fs::write(&stored, "{ not json").unwrap();
    let stderr = fail(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["export", "--name", "alice", "--format", "pem"]),
    );
    assert!(stderr.contains("corrupted"), "{stderr}");
}

#[test]
fn mnemonic_import_derives_the_expected_address() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keys");
    let mnemonic = Mnemonic::parse(ABANDON_ABOUT).unwrap();
    let address_at = |path: &str| {
        let path: DerivationPath = path.parse().unwrap();
        SecretKey::from_mnemonic(&mnemonic, "", &path)
            .unwrap()
            .public_description()
            .unwrap()
            .address
            .unwrap()
            .to_string()
    };

    // From the environment, at the default path.
    let output = succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .env("GROUNDWORK_MNEMONIC", ABANDON_ABOUT)
            .args(["import", "--name", "default", "--mnemonic"]),
    );
    assert_eq!(
        field(&output, "address"),
        address_at("m/44'/7477'/0'/0'/0'")
    );
    assert_eq!(field(&output, "path"), "m/44'/7477'/0'/0'/0'");

    // From standard input, at another path.
    let mut child = keys(&keystore)
        .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
        .args([
            "import",
            "--name",
            "second",
            "--mnemonic",
            "--derivation-path",
            "m/44'/7477'/1'/0'/0'",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{ABANDON_ABOUT}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let output = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        field(&output, "address"),
        address_at("m/44'/7477'/1'/0'/0'")
    );
    assert_ne!(
        address_at("m/44'/7477'/1'/0'/0'"),
        address_at("m/44'/7477'/0'/0'/0'")
    );

    // The words come back out, and only from keys that were made from them.
    let words = succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["export", "--name", "default", "--format", "mnemonic"]),
    );
    assert_eq!(words.trim(), ABANDON_ABOUT);

    // A bad word, a bad checksum and an unhardened path are refused before anything is written.
    for (phrase, path, expected) in [
        (ABANDON_ABOUT.replace("about", "abut"), None, "BIP39"),
        (ABANDON_ABOUT.replace("about", "abandon"), None, "checksum"),
        (
            ABANDON_ABOUT.to_string(),
            Some("m/44'/7477'/0'/0/0'"),
            "not hardened",
        ),
    ] {
        let mut command = keys(&keystore);
        command
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .env("GROUNDWORK_MNEMONIC", &phrase)
            .args(["import", "--name", "bad", "--mnemonic"]);
        if let Some(path) = path {
            command.args(["--derivation-path", path]);
        }
        let stderr = fail(&mut command);
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!keystore.join("bad.json").exists());
    }
}

#[test]
fn new_mnemonic_keys_can_be_restored_from_their_words() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keys");
    let output = succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["new", "--name", "savings", "--mnemonic"]),
    );
    let address = field(&output, "address");
    let phrase = output
        .lines()
        .map(str::trim)
        .find(|line| line.split_whitespace().count() == 24)
        .unwrap_or_else(|| panic!("no 24-word line in:\n{output}"))
        .to_string();
    assert!(output.contains("Write these words down"), "{output}");

    let restored = dir.path().join("restored");
    let output = succeed(
        keys(&restored)
            .env("GROUNDWORK_PASSPHRASE", "another passphrase")
            .env("GROUNDWORK_MNEMONIC", &phrase)
            .args(["import", "--name", "savings", "--mnemonic"]),
    );
    assert_eq!(field(&output, "address"), address);

    // P-256 keys are not derived from mnemonics.
    let stderr = fail(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["new", "--name", "device", "--scheme", "p256", "--mnemonic"]),
    );
    assert!(stderr.contains("ed25519"), "{stderr}");
    // A key made without words has none to show.
    succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["new", "--name", "plain"]),
    );
    let stderr = fail(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["export", "--name", "plain", "--format", "mnemonic"]),
    );
    assert!(stderr.contains("not made from a mnemonic"), "{stderr}");
}

#[test]
fn genesis_key_files_import_and_names_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keys");
    let network = dir.path().join("network");
    succeed(
        crate::common::groundwork()
            .args(["genesis", "new", "--out"])
            .arg(&network),
    );
    let key_file = network.join("account.key");
    let account = read_key_file(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    let output = succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["import", "--name", "funded", "--key-file"])
            .arg(&key_file),
    );
    assert_eq!(field(&output, "address"), key_address(&account).to_string());

    let before = std::fs::read_to_string(keystore.join("funded.json")).unwrap();
    let stderr = fail(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["new", "--name", "funded"]),
    );
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(keystore.join("funded.json")).unwrap(),
        before
    );
    succeed(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["new", "--name", "funded", "--force"]),
    );
    assert_ne!(
        std::fs::read_to_string(keystore.join("funded.json")).unwrap(),
        before
    );
    assert_eq!(mode(&keystore.join("funded.json")), 0o600);
    // Nothing but the key files is left in the keystore.
    let files: Vec<_> = std::fs::read_dir(&keystore)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, ["funded.json"]);
}

#[test]
fn without_a_terminal_the_passphrase_must_come_from_the_environment() {
    // `setsid` (util-linux) detaches the command from any controlling terminal, as under CI.
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keys");
    let out = match Command::new("setsid")
        .arg(env!("CARGO_BIN_EXE_groundwork"))
        .args(["keys", "new", "--name", "alice", "--keystore"])
        .arg(&keystore)
        .env_remove("GROUNDWORK_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: no setsid command");
            return;
        }
        Err(error) => panic!("running setsid: {error}"),
    };
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("GROUNDWORK_PASSPHRASE"), "{stderr}");
    assert!(!keystore.join("alice.json").exists());
}

#[test]
fn a_key_imported_twice_names_its_first_name_and_short_passphrases_draw_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keys");
    let pem = dir.path().join("key.pem");
    openssl_ed25519_pem(&pem);
    let imported = run(keys(&keystore)
        .env("GROUNDWORK_PASSPHRASE", "short")
        .args(["import", "--name", "alice", "--pem"])
        .arg(&pem));
    assert!(imported.status.success());
    let stderr = String::from_utf8_lossy(&imported.stderr);
    assert!(
        stderr.contains("the passphrase has 5 characters"),
        "{stderr}"
    );
    let quiet = run(keys(&keystore)
        .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
        .args(["new", "--name", "bob"]));
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("warning"));
    let again = fail(
        keys(&keystore)
            .env("GROUNDWORK_PASSPHRASE", PASSPHRASE)
            .args(["import", "--name", "alice-again", "--pem"])
            .arg(&pem),
    );
    assert!(
        again.contains("already in the keystore as \"alice\""),
        "{again}"
    );
    assert!(!keystore.join("alice-again.json").exists());
}
