//! Genesis files: a written genesis loads back; every invalid field is refused by name.

use crate::common::*;
use groundwork_state::{Genesis, GenesisError};

fn valid_toml() -> String {
    genesis_with(params(), 2).to_toml()
}

fn refused_field(text: &str) -> String {
    match Genesis::from_toml(text) {
        Err(GenesisError::InvalidField { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

fn with(original: &str, replacement: &str) -> String {
    let text = valid_toml();
    assert!(text.contains(original), "fixture lacks {original:?}");
    text.replacen(original, replacement, 1)
}

#[test]
fn written_genesis_loads_back_identically() {
    let genesis = genesis_with(params(), 3);
    let text = genesis.to_toml();
    let loaded = Genesis::from_toml(&text).unwrap();
    assert_eq!(loaded, genesis);
    assert_eq!(loaded.digest(), genesis.digest());
    assert_eq!(loaded.total_supply().0, 3 * START_BALANCE);
    // Layout and comments do not change the digest; a value does.
    let reformatted = text.replace(" = ", "=").replace("# ", "#  ");
    assert_eq!(
        Genesis::from_toml(&reformatted).unwrap().digest(),
        genesis.digest()
    );
    let changed = Genesis::from_toml(&with("length_blocks = 4", "length_blocks = 8")).unwrap();
    assert_ne!(changed.digest(), genesis.digest());
    let coverage = Genesis::from_toml(&with("share_bps = 0", "share_bps = 100")).unwrap();
    assert_ne!(coverage.digest(), genesis.digest());
    // Without a [coverage] table, coverage pays nothing.
    let start = text.find("[coverage]").unwrap();
    let end = start + text[start..].find("\n\n").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]);
    let loaded = Genesis::from_toml(&without).unwrap();
    assert_eq!(
        loaded.params.coverage,
        groundwork_state::CoverageParams::disabled()
    );
}

#[test]
fn each_invalid_field_is_refused_by_name() {
    let validator =
        hex::encode(commonware_cryptography::Signer::public_key(&account(1000)).as_ref());
    let cases: Vec<(String, &str)> = vec![
        (
            with("chain_id = \"groundwork-test\"", "chain_id = \"Not Valid\""),
            "chain_id",
        ),
        (with("symbol = \"GWT\"", "symbol = \"gwt\""), "token.symbol"),
        (with("decimals = 6", "decimals = 40"), "token.decimals"),
        (
            with("length_blocks = 4", "length_blocks = 0"),
            "epochs.length_blocks",
        ),
        (
            with("heartbeat_window_blocks = 2", "heartbeat_window_blocks = 3"),
            "epochs.heartbeat_window_blocks",
        ),
        (
            with(
                "heartbeat_max_age_blocks = 3",
                "heartbeat_max_age_blocks = 0",
            ),
            "epochs.heartbeat_max_age_blocks",
        ),
        (
            with("unbonding_epochs = 1", "unbonding_epochs = 1001"),
            "epochs.unbonding_epochs",
        ),
        (
            with(
                "initial_per_epoch = \"1000003\"",
                "initial_per_epoch = \"ten\"",
            ),
            "emission.initial_per_epoch",
        ),
        (
            with("halving_interval_epochs = 2", "halving_interval_epochs = 0"),
            "emission.halving_interval_epochs",
        ),
        (
            with("wireless = 6000", "wireless = 5000"),
            "reward_weights_bps",
        ),
        (
            with("transaction_fee = \"10\"", "transaction_fee = \"0\""),
            "fees.transaction_fee",
        ),
        (
            with("device_bond = \"1000\"", "device_bond = \"-5\""),
            "fees.device_bond",
        ),
        (
            with("credit_price_micro_usd = 10", "credit_price_micro_usd = 0"),
            "credits.credit_price_micro_usd",
        ),
        (with("quorum = 1", "quorum = 2"), "oracle.quorum"),
        (
            with("smoothing_window_blocks = 4", "smoothing_window_blocks = 0"),
            "oracle.smoothing_window_blocks",
        ),
        (
            with("accounts = [\"gw1", "accounts = [\"gw2"),
            "oracle.accounts[0]",
        ),
        (
            with("address = \"gw1", "address = \"gw2"),
            "balances[0].address",
        ),
        (
            with("amount = \"1000000\"", "amount = \"0\""),
            "balances[0].amount",
        ),
        (
            format!(
                "{}\n[[validators]]\npublic_key = \"{validator}\"\n",
                valid_toml()
            ),
            "validators[1].public_key",
        ),
        (
            with("public_key = \"", "public_key = \"00"),
            "validators[0].public_key",
        ),
        (
            with("share_bps = 0", "share_bps = 10001"),
            "coverage.share_bps",
        ),
        (
            with("witness_share_bps = 8000", "witness_share_bps = 20000"),
            "coverage.witness_share_bps",
        ),
        (
            with(
                "beacon_interval_blocks = 21600",
                "beacon_interval_blocks = 0",
            ),
            "coverage.beacon_interval_blocks",
        ),
        (
            with("witness_window_blocks = 4", "witness_window_blocks = 0"),
            "coverage.witness_window_blocks",
        ),
        (
            with(
                "reciprocity_window_blocks = 172800",
                "reciprocity_window_blocks = 0",
            ),
            "coverage.reciprocity_window_blocks",
        ),
    ];
    for (text, field) in cases {
        assert_eq!(
            refused_field(&text),
            field,
            "for a genesis with a bad {field}"
        );
    }
}

#[test]
fn missing_validators_and_duplicate_balances_are_refused() {
    let mut genesis = genesis_with(params(), 2);
    genesis.validators.clear();
    assert_eq!(refused_field(&genesis.to_toml()), "validators");
    let mut genesis = genesis_with(params(), 2);
    genesis.balances[1].0 = genesis.balances[0].0;
    assert_eq!(refused_field(&genesis.to_toml()), "balances[1].address");
}

#[test]
fn malformed_toml_and_unknown_fields_are_refused_with_a_message() {
    let unknown = with("[token]", "[token]\ncolour = \"blue\"");
    match Genesis::from_toml(&unknown) {
        Err(GenesisError::Parse { toml }) => {
            assert!(toml.message().contains("colour"), "{toml}")
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(matches!(
        Genesis::from_toml("chain_id = "),
        Err(GenesisError::Parse { .. })
    ));
    let unknown_kind = with(
        "[reward_weights_bps]",
        "[reward_weights_bps]\nsatellite = 0",
    );
    assert!(matches!(
        Genesis::from_toml(&unknown_kind),
        Err(GenesisError::Parse { .. })
    ));
}

/// A `[challenges]` table round-trips, and each of its rules is refused by field name: a bond
/// of zero, an answer window shorter than the beacon interval (a device could not answer) or
/// too long to keep the answer beacon in state, a slash above 100 %, no answer witnesses.
#[test]
fn challenge_parameters_load_back_and_bad_ones_are_refused_by_name() {
    let mut p = params();
    p.core.epoch_length_blocks = 100;
    p.core.heartbeat_window_blocks = 1;
    p.coverage = groundwork_state::CoverageParams {
        share_bps: 1_000,
        witness_share_bps: 8_000,
        beacon_interval_blocks: 20,
        witness_window_blocks: 4,
        reciprocity_window_blocks: 200,
    };
    p.challenges = groundwork_state::ChallengeParams {
        bond: groundwork_primitives::Amount(500),
        answer_window_blocks: 40,
        slash_bps: 5_000,
        min_answer_witnesses: 3,
    };
    let genesis = genesis_with(p, 2);
    let text = genesis.to_toml();
    assert_eq!(Genesis::from_toml(&text).unwrap(), genesis);
    let cases = [
        ("bond = \"500\"", "bond = \"0\"", "challenges.bond"),
        (
            "answer_window_blocks = 40",
            "answer_window_blocks = 19",
            "challenges.answer_window_blocks",
        ),
        (
            "answer_window_blocks = 40",
            "answer_window_blocks = 197",
            "challenges.answer_window_blocks",
        ),
        (
            "slash_bps = 5000",
            "slash_bps = 10001",
            "challenges.slash_bps",
        ),
        (
            "min_answer_witnesses = 3",
            "min_answer_witnesses = 0",
            "challenges.min_answer_witnesses",
        ),
    ];
    for (original, replacement, field) in cases {
        assert!(text.contains(original), "fixture lacks {original:?}");
        let bad = text.replacen(original, replacement, 1);
        assert_eq!(refused_field(&bad), field, "{replacement}");
    }
}

#[test]
fn parameters_live_in_state_and_a_reload_takes_them_from_there() {
    use groundwork_state::machine::prefix::{CHALLENGE_PARAMS, CORE_PARAMS, COVERAGE_PARAMS};
    use groundwork_state::{LoadError, State};
    let genesis = genesis_with(params(), 4);
    let state = State::from_genesis(&genesis);
    let entries = state.entries();
    for prefix in [CORE_PARAMS, COVERAGE_PARAMS, CHALLENGE_PARAMS] {
        assert!(
            entries.iter().any(|(k, _)| k == &vec![prefix]),
            "no parameters under {prefix:#04x}"
        );
    }
    // A store is read with its own parameters, whatever the genesis file now says.
    let mut edited = genesis.clone();
    edited.params.core.transaction_fee = groundwork_primitives::Amount(999);
    edited.params.coverage.share_bps = 1;
    let reloaded = State::from_entries(&edited, entries.clone()).unwrap();
    assert_eq!(reloaded.params(), state.params());
    let without: Vec<_> = entries
        .into_iter()
        .filter(|(k, _)| k[0] != COVERAGE_PARAMS)
        .collect();
    assert!(matches!(
        State::from_entries(&genesis, without),
        Err(LoadError::MissingParams { module: "coverage" })
    ));
}
