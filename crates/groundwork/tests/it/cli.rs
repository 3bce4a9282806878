//! The real binary against temporary directories.

use groundwork_primitives::keyfile::{key_address, read_key_file};
use groundwork_primitives::keys::public_key_of;
use groundwork_state::{Genesis, State};
use std::process::Command;

fn groundwork() -> Command {
    Command::new(env!("CARGO_BIN_EXE_groundwork"))
}

#[test]
fn genesis_new_writes_files_that_load_back_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let out = groundwork()
        .args([
            "genesis",
            "new",
            "--validators",
            "4",
            "--chain-id",
            "groundwork-cli",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let text = std::fs::read_to_string(dir.path().join("genesis.toml")).unwrap();
    let genesis = Genesis::from_toml(&text).unwrap();
    assert_eq!(genesis.params.core.chain_id.as_str(), "groundwork-cli");
    assert_eq!(genesis.validators.len(), 4);
    for index in 0..4 {
        let key_text =
            std::fs::read_to_string(dir.path().join(format!("validator-{index}.key"))).unwrap();
        let key = read_key_file(&key_text).unwrap();
        assert_eq!(genesis.validators[index], public_key_of(&key));
    }
    let account =
        read_key_file(&std::fs::read_to_string(dir.path().join("account.key")).unwrap()).unwrap();
    let state = State::from_genesis(&genesis);
    assert_eq!(
        state.account(&key_address(&account)).balance.0,
        1_000_000 * 1_000_000
    );
    state.check_invariants().unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("account.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let check = groundwork()
        .args(["genesis", "check"])
        .arg(dir.path().join("genesis.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(stdout.contains("validators        4"), "{stdout}");
    assert!(
        stdout.contains("account.key       funded account"),
        "{stdout}"
    );

    // A second run refuses to overwrite.
    let again = groundwork()
        .args(["genesis", "new", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
}

/// `genesis new` into `dir`; the genesis file's path.
fn new_genesis(dir: &std::path::Path) -> std::path::PathBuf {
    let made = groundwork()
        .args(["genesis", "new", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(made.status.success());
    dir.join("genesis.toml")
}

#[test]
fn genesis_check_names_the_bad_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = new_genesis(dir.path());
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("length_blocks = 60", "length_blocks = 0");
    std::fs::write(&path, text).unwrap();
    let out = groundwork()
        .args(["genesis", "check"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("epochs.length_blocks"), "{stderr}");
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (vec!["--validators", "0"], "--validators"),
        (vec!["--chain-id", "Bad Id"], "--chain-id"),
        (vec!["--account-balance", "1.2.3"], "--account-balance"),
    ] {
        let out = groundwork()
            .args(["genesis", "new", "--out"])
            .arg(dir.path())
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    }
}

/// Every command and subcommand teaches by example, and none is missing from this list.
/// What every help text must get right: each example command on its own line (a long one
/// continues after a trailing backslash), a description for every option, and example
/// addresses that pass their own checksum.
fn check_help_text(path: &[&str], help: &str) {
    let mut in_examples = false;
    for line in help.lines() {
        if line.starts_with("Example") {
            in_examples = true;
            continue;
        }
        if in_examples && !line.trim().is_empty() {
            let starts = line.matches("groundwork ").count();
            assert!(starts <= 1, "{path:?}: examples run together: {line}");
        }
    }
    for word in help.split(|c: char| c.is_whitespace() || c == '"' || c == ',') {
        if word.starts_with("gw1") && word.len() > 20 && !word.contains('…') {
            assert!(
                word.parse::<groundwork_primitives::Address>().is_ok(),
                "{path:?}: example address {word} fails its checksum"
            );
        }
    }
    // An option line with nothing after its name has no description (in `--help` layout the
    // description follows on the next line).
    let options: Vec<&str> = help
        .lines()
        .take_while(|l| !l.starts_with("Example"))
        .collect();
    for line in options.iter().copied() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("--") && line.starts_with("      ") && !trimmed.contains("  ") {
            let next_is_text = options
                .iter()
                .skip_while(|l| **l != line)
                .nth(1)
                .is_some_and(|l| l.starts_with("          ") && !l.trim().is_empty());
            assert!(
                next_is_text,
                "{path:?}: option without a description: {line}"
            );
        }
    }
}

#[test]
fn every_command_help_has_an_example() {
    let families: &[(&str, &[&str])] = &[
        ("dev", &[]),
        ("node", &[]),
        ("testnet", &[]),
        ("genesis", &["new", "check"]),
        ("keys", &["new", "import", "export", "list"]),
        ("account", &["show", "transfer"]),
        ("credits", &["buy", "show"]),
        ("oracle", &["submit", "show"]),
        ("offer", &["set", "show"]),
        (
            "session",
            &["open", "pay", "cosign", "settle", "close", "show", "list"],
        ),
        (
            "storage",
            &["provide", "put", "resume", "get", "show", "list", "end"],
        ),
        (
            "device",
            &[
                "register",
                "show",
                "list",
                "move",
                "transfer",
                "decommission",
                "attest-check",
            ],
        ),
        ("attest", &["makers", "show", "present", "issue", "revoke"]),
        ("rewards", &["show", "explain"]),
        ("challenge", &["open", "answer", "show", "list"]),
        ("chain", &["status", "block", "proof", "verify-proof"]),
        (
            "compute",
            &["offer", "run", "show", "list", "dispute", "exec"],
        ),
        (
            "calc",
            &[
                "fspl",
                "expected-rssi",
                "distance",
                "reward-units",
                "hex-scale",
            ],
        ),
        ("agent", &[]),
        ("fleet", &[]),
        (
            "bench",
            &[
                "ingest",
                "witness",
                "coverage-attack",
                "usage",
                "storage",
                "compute",
            ],
        ),
    ];
    let top = groundwork().arg("--help").output().unwrap();
    let top = String::from_utf8_lossy(&top.stdout).into_owned();
    let listed: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    let known: Vec<&str> = families.iter().map(|(f, _)| *f).collect();
    assert_eq!(listed, known, "commands in --help and in this test differ");
    for (family, subcommands) in families {
        let mut paths: Vec<Vec<&str>> = vec![vec![*family]];
        paths.extend(subcommands.iter().map(|s| vec![*family, *s]));
        for path in paths {
            for flag in ["--help", "-h"] {
                let output = groundwork().args(&path).arg(flag).output().unwrap();
                let help = String::from_utf8_lossy(&output.stdout);
                assert!(output.status.success(), "{path:?} {flag} failed");
                assert!(
                    help.contains("Example"),
                    "{path:?} {flag} has no example:\n{help}"
                );
                check_help_text(&path, &help);
            }
        }
    }
}

#[test]
fn coordinates_off_the_globe_are_refused_before_anything_is_sent() {
    // No node runs: the refusal must come from the arguments alone, naming the field.
    for (lat, lng, expected) in [
        ("91", "13.4", "latitude 91 is out of range"),
        ("-90.5", "13.4", "latitude -90.5 is out of range"),
        ("52.5", "200", "longitude 200 is out of range"),
        ("52.5", "east", "\"east\" is not a number of degrees"),
    ] {
        let out = groundwork()
            .args([
                "device",
                "move",
                "--key",
                "nobody",
                "--device",
                "gwd1x",
                "--lat",
                lat,
                "--lng",
                lng,
                "--rpc",
                "http://127.0.0.1:9",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains(expected),
            "--lat {lat} --lng {lng}: {stderr}"
        );
    }
}

#[test]
fn genesis_check_warns_of_a_genesis_time_days_away() {
    let dir = tempfile::tempdir().unwrap();
    let path = new_genesis(dir.path());
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("genesis_time_ms"))
        .expect("genesis_time_ms in the file")
        .to_string();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let three_days = now_ms + 3 * 86_400_000 + 3_600_000;
    std::fs::write(
        &path,
        text.replace(&line, &format!("genesis_time_ms = {three_days}")),
    )
    .unwrap();
    let out = groundwork()
        .args(["genesis", "check"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "a future genesis is still valid");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("genesis time      20"), "{stdout}");
    assert!(
        stderr.contains("warning: the genesis time is 3 d"),
        "{stderr}"
    );
}

#[test]
fn key_and_account_mistakes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = groundwork()
            .args(args)
            .env("GROUNDWORK_HOME", dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let folder = dir.path().to_str().unwrap();
    let stderr = run(&[
        "account",
        "show",
        "--key",
        folder,
        "--rpc",
        "http://127.0.0.1:9",
    ]);
    assert!(
        stderr.contains("is a directory, not a key file"),
        "{stderr}"
    );
    let stderr = run(&["account", "show", "--rpc", "http://127.0.0.1:9"]);
    assert!(stderr.contains("which account?"), "{stderr}");
    assert!(!stderr.contains("not both"), "{stderr}");
}

#[test]
fn a_malformed_node_url_is_refused_by_name() {
    let out = groundwork()
        .args(["chain", "status"])
        .env("GROUNDWORK_RPC", "ftp://example")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a node URL"), "{stderr}");
}

#[test]
fn with_json_a_failure_is_json_too() {
    let out = groundwork()
        .args(["chain", "status", "--json", "--rpc", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert!(
        answer["error"].as_str().unwrap().contains("unreachable"),
        "{answer}"
    );
}
