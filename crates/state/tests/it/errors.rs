//! Every rejection path: the typed error, and no change to state.

use crate::common::*;
use commonware_cryptography::Signer;
use groundwork_primitives::hash::hash;
use groundwork_primitives::{
    AccountTransaction, Address, Amount, CoreCall, CreditsCall, DeviceSignature, KeyScheme,
    OracleCall, ResourceKind, Transaction, UptimeReport,
};
use groundwork_state::TxError;
use groundwork_state::{CoreError, CoverageError, CreditsError, UptimeError};

#[test]
fn bad_signature_is_rejected() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let Transaction::Account(mut tx) = h.transfer(&alice, address(&bob), 5) else {
        unreachable!()
    };
    tx.signature = bob.sign(b"anything", b"else");
    h.assert_rejected(
        Transaction::Account(tx),
        TxError::Core(CoreError::BadSignature),
    );
}

#[test]
fn signature_for_another_chain_is_rejected() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let other_chain = "groundwork-other".parse().unwrap();
    let action = CoreCall::Transfer {
        to: address(&bob),
        amount: Amount(5),
    };
    let tx = AccountTransaction::sign(&alice, &other_chain, 0, h.valid_until(), action);
    h.assert_rejected(
        Transaction::Account(tx),
        TxError::Core(CoreError::BadSignature),
    );
}

#[test]
fn signature_for_another_message_type_is_rejected() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let Transaction::Account(mut tx) = h.transfer(&alice, address(&bob), 5) else {
        unreachable!()
    };
    // Same payload bytes, signed under the burn-for-credits domain.
    tx.signature = alice.sign(
        &h.chain.namespace("core", "burn-for-credits"),
        &tx.signing_payload(),
    );
    h.assert_rejected(
        Transaction::Account(tx),
        TxError::Core(CoreError::BadSignature),
    );
}

#[test]
fn reused_nonce_is_rejected() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let first = h.transfer(&alice, address(&bob), 5);
    assert_eq!(h.submit(first.clone()), Ok(()));
    h.assert_rejected(
        first,
        TxError::Core(CoreError::BadNonce {
            expected: 1,
            got: 0,
        }),
    );
}

#[test]
fn insufficient_balance_is_rejected() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let tx = h.transfer(&alice, address(&bob), START_BALANCE);
    h.assert_rejected(
        tx,
        TxError::Core(CoreError::InsufficientBalance {
            needed: Amount(START_BALANCE),
            available: Amount(START_BALANCE - FEE),
        }),
    );
    // A never-funded account cannot even pay the fee.
    let stranger = account(99);
    let tx = h.transfer(&stranger, address(&bob), 1);
    h.assert_rejected(
        tx,
        TxError::Core(CoreError::CannotPayFee {
            fee: Amount(FEE),
            available: Amount(0),
        }),
    );
}

#[test]
fn a_failed_transfer_never_executes_later() {
    // The defect: a transfer refused for want of funds used to leave its nonce unused, so its
    // bytes executed once the account was funded. Now its failure pays the fee and uses the
    // nonce, and the same bytes can never run again.
    let mut h = Harness::standard();
    let (alice, bob, carol) = (account(1), account(2), account(3));
    let too_much = h.transfer(&alice, address(&carol), START_BALANCE);
    assert_eq!(
        h.submit(too_much.clone()),
        Err(TxError::Core(CoreError::InsufficientBalance {
            needed: Amount(START_BALANCE),
            available: Amount(START_BALANCE - FEE),
        }))
    );
    assert_eq!(h.nonce(&alice), 1);
    assert_eq!(h.submit(h.transfer(&bob, address(&alice), 100_000)), Ok(()));
    h.assert_unincludable(
        too_much,
        TxError::Core(CoreError::BadNonce {
            expected: 1,
            got: 0,
        }),
    );
    assert_eq!(h.balance(&carol), START_BALANCE);
    assert_eq!(h.balance(&alice), START_BALANCE - FEE + 100_000);
}

#[test]
fn a_transaction_is_valid_only_in_its_window() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let action = CoreCall::Transfer {
        to: address(&bob),
        amount: Amount(5),
    };
    let height = h.state.height();
    let short = AccountTransaction::sign(&alice, &h.chain, 0, height + 2, action.clone());
    h.empty_blocks(2);
    h.assert_unincludable(
        Transaction::Account(short),
        TxError::Core(CoreError::Expired {
            valid_until: height + 2,
            height: height + 3,
        }),
    );
    let max = groundwork_primitives::limits::MAX_TRANSACTION_LIFETIME_BLOCKS;
    let height = h.state.height();
    let long = AccountTransaction::sign(&alice, &h.chain, 0, height + 2 + max, action.clone());
    h.assert_unincludable(
        Transaction::Account(long),
        TxError::Core(CoreError::ValidTooLong {
            valid_until: height + 2 + max,
            height: height + 1,
            max_blocks: max,
        }),
    );
    // The last valid height itself is fine, and so is the longest window.
    let edge = AccountTransaction::sign(&alice, &h.chain, 0, height + 1, action.clone());
    assert_eq!(h.submit(Transaction::Account(edge)), Ok(()));
    let height = h.state.height();
    let longest = AccountTransaction::sign(&alice, &h.chain, 1, height + 1 + max, action);
    assert_eq!(h.submit(Transaction::Account(longest)), Ok(()));
}

#[test]
fn amount_overflow_is_rejected() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    // The fee is paid first, so the amount alone must fit what is left.
    let tx = h.transfer(&alice, address(&bob), u128::MAX);
    h.assert_rejected(
        tx,
        TxError::Core(CoreError::InsufficientBalance {
            needed: Amount(u128::MAX),
            available: Amount(START_BALANCE - FEE),
        }),
    );
    // Credits beyond the balance: the price is $0.000001 per token, so a billion credits
    // ($10 000) cost 10^10 tokens.
    let price = h.signed(
        &alice,
        OracleCall::SubmitPrice {
            micro_usd_per_token: 1,
        },
    );
    assert_eq!(h.submit(price), Ok(()));
    let tx = h.signed(
        &alice,
        CreditsCall::Buy {
            recipient: address(&bob),
            credits: 1_000_000_000,
        },
    );
    h.assert_rejected(
        tx,
        TxError::Core(CoreError::InsufficientBalance {
            needed: Amount(10_000_000_000_000_000),
            available: Amount(START_BALANCE - 3 * FEE),
        }),
    );
}

#[test]
fn zero_amounts_are_rejected() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let tx = h.transfer(&alice, address(&bob), 0);
    h.assert_rejected(
        tx,
        TxError::Core(CoreError::ZeroAmount {
            what: "transfer amount",
        }),
    );
    let tx = h.signed(
        &alice,
        CreditsCall::Buy {
            recipient: address(&bob),
            credits: 0,
        },
    );
    h.assert_rejected(tx, TxError::Credits(CreditsError::ZeroCredits));
}

#[test]
fn unknown_device_is_rejected() {
    let mut h = Harness::standard();
    let alice = account(1);
    let ghost = device(KeyScheme::Ed25519, 77);
    let tx = h.signed(&alice, CoreCall::DecommissionDevice { device: ghost.id() });
    h.assert_rejected(
        tx,
        TxError::Core(CoreError::UnknownDevice { device: ghost.id() }),
    );
    h.empty_blocks(1);
    let heartbeat = h.heartbeat(&ghost, 1);
    h.assert_rejected(
        heartbeat,
        TxError::Core(CoreError::UnknownDevice { device: ghost.id() }),
    );
}

#[test]
fn device_signature_not_by_the_device_key_is_rejected() {
    let mut h = Harness::standard();
    let alice = account(1);
    let real = device(KeyScheme::P256, 1);
    let impostor = device(KeyScheme::P256, 2);
    // The impostor key signs the ownership proof for the real device's id.
    let action = CoreCall::register_device(
        &h.chain,
        &address(&alice),
        &impostor,
        ResourceKind::Sensor,
        cell(1.0, 1.0),
    );
    let CoreCall::RegisterDevice {
        kind,
        location,
        ownership_proof,
        ..
    } = action
    else {
        unreachable!()
    };
    let forged = CoreCall::RegisterDevice {
        device: real.id(),
        kind,
        location,
        ownership_proof,
    };
    let tx = h.signed(&alice, forged);
    h.assert_rejected(
        tx,
        TxError::Core(CoreError::BadDeviceSignature { device: real.id() }),
    );

    // A proof made for another owner does not transfer to the signer either.
    let bob = account(2);
    let for_bob = CoreCall::register_device(
        &h.chain,
        &address(&bob),
        &real,
        ResourceKind::Sensor,
        cell(1.0, 1.0),
    );
    let tx = h.signed(&alice, for_bob);
    h.assert_rejected(
        tx,
        TxError::Core(CoreError::BadDeviceSignature { device: real.id() }),
    );

    // A heartbeat signed by another key is a bad signature.
    assert_eq!(
        h.submit(h.register(&alice, &real, ResourceKind::Sensor)),
        Ok(())
    );
    let Transaction::Device(mut heartbeat) = h.heartbeat(&real, 1) else {
        unreachable!()
    };
    let payload = heartbeat.signing_payload();
    heartbeat.signature = impostor.sign(&h.chain.namespace("uptime", "heartbeat"), &payload);
    h.assert_rejected(
        Transaction::Device(heartbeat),
        TxError::Core(CoreError::BadSignature),
    );
}

#[test]
fn duplicate_registration_is_rejected() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let sensor = device(KeyScheme::Ed25519, 5);
    assert_eq!(
        h.submit(h.register(&alice, &sensor, ResourceKind::Sensor)),
        Ok(())
    );
    let again = h.register(&alice, &sensor, ResourceKind::Sensor);
    h.assert_rejected(
        again,
        TxError::Core(CoreError::DeviceAlreadyRegistered {
            device: sensor.id(),
        }),
    );
    let by_bob = h.register(&bob, &sensor, ResourceKind::Sensor);
    h.assert_rejected(
        by_bob,
        TxError::Core(CoreError::DeviceAlreadyRegistered {
            device: sensor.id(),
        }),
    );
}

#[test]
fn only_the_owner_may_manage_a_device() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let sensor = device(KeyScheme::Ed25519, 5);
    assert_eq!(
        h.submit(h.register(&alice, &sensor, ResourceKind::Sensor)),
        Ok(())
    );
    for action in [
        CoreCall::AssertLocation {
            device: sensor.id(),
            location: cell(2.0, 2.0),
        },
        CoreCall::TransferDevice {
            device: sensor.id(),
            new_owner: address(&bob),
        },
        CoreCall::DecommissionDevice {
            device: sensor.id(),
        },
    ] {
        let tx = h.signed(&bob, action);
        h.assert_rejected(
            tx,
            TxError::Core(CoreError::NotDeviceOwner {
                device: sensor.id(),
            }),
        );
    }
}

#[test]
fn stale_or_unknown_heartbeat_block_is_rejected() {
    let mut h = Harness::standard();
    let alice = account(1);
    let sensor = device(KeyScheme::Ed25519, 5);
    assert_eq!(
        h.submit(h.register(&alice, &sensor, ResourceKind::Sensor)),
        Ok(())
    );
    h.advance_to(9);
    // Height 10 executes it; max age 3, so block 6 (age 4) is stale but still remembered.
    let stale = h.heartbeat(&sensor, 3);
    let Transaction::Device(ref hb) = stale else {
        unreachable!()
    };
    assert_eq!(
        h.state.recent_block(6),
        Some(match &hb.report {
            groundwork_primitives::Report::Uptime(UptimeReport::Heartbeat { recent_block }) =>
                *recent_block,
            _ => unreachable!(),
        })
    );
    h.assert_rejected(
        stale,
        TxError::Core(CoreError::StaleBlockHash {
            referenced_height: 6,
            age: 4,
            max_age: 3,
        }),
    );

    let made_up = hash(b"a block that never was");
    let tx = Transaction::Device(UptimeReport::sign_heartbeat(&sensor, &h.chain, made_up));
    h.assert_rejected(
        tx,
        TxError::Core(CoreError::UnknownBlockHash { block: made_up }),
    );
}

#[test]
fn second_heartbeat_in_one_window_is_rejected() {
    let mut h = Harness::standard();
    let alice = account(1);
    let sensor = device(KeyScheme::Ed25519, 5);
    assert_eq!(
        h.submit(h.register(&alice, &sensor, ResourceKind::Sensor)),
        Ok(())
    );
    // Height 2 is window 0 (heights 1-2); height 5 starts window 2.
    h.advance_to(4);
    let first = h.heartbeat(&sensor, 1);
    let second = h.heartbeat(&sensor, 2);
    // The second report of a window fails, so the block carrying both is refused whole.
    let both = h.next_block(vec![first.clone(), second]);
    assert_eq!(
        h.state.execute(&both).map(|_| ()),
        Err(groundwork_state::BlockError::UnincludableTransaction {
            index: 1,
            error: Box::new(TxError::Uptime(UptimeError::HeartbeatAlreadyInWindow {
                window: 2
            }))
        })
    );
    assert_eq!(h.state.pending_work(&sensor.id()), 0);
    h.execute(vec![first]);
    assert_eq!(h.state.pending_work(&sensor.id()), 1);
    // Height 6 is still window 2.
    let third = h.heartbeat(&sensor, 1);
    h.assert_rejected(
        third,
        TxError::Uptime(UptimeError::HeartbeatAlreadyInWindow { window: 2 }),
    );
}

#[test]
fn a_replayed_heartbeat_is_not_credited_again() {
    let mut h = Harness::standard();
    let alice = account(1);
    let sensor = device(KeyScheme::Ed25519, 5);
    assert_eq!(
        h.submit(h.register(&alice, &sensor, ResourceKind::Sensor)),
        Ok(())
    );
    // Height 5 (window 2) credits a heartbeat naming block 4.
    h.advance_to(4);
    let original = h.heartbeat(&sensor, 0);
    assert_eq!(h.execute(vec![original.clone()]).receipts[0].result, Ok(()));
    h.advance_to(6);
    // Height 7 is window 3 and block 4 is 3 blocks old, within the limit: only the replay
    // rule stops the same bytes earning a second unit.
    h.assert_rejected(
        original,
        TxError::Uptime(UptimeError::HeartbeatNotNewer {
            referenced_height: 4,
            last_height: 4,
        }),
    );
    assert_eq!(h.state.pending_work(&sensor.id()), 1);
    // A fresh heartbeat naming a newer block is credited (height 8, still window 3, the last
    // block of epoch 1): the epoch pays for two units, not three.
    let fresh = h.heartbeat(&sensor, 0);
    assert_eq!(h.execute(vec![fresh]).receipts[0].result, Ok(()));
    assert_eq!(h.state.reward(1, &sensor.id()).unwrap().work_units, 2);
}

#[test]
fn heartbeat_from_a_decommissioned_device_is_rejected() {
    let mut h = Harness::standard();
    let alice = account(1);
    let sensor = device(KeyScheme::P256, 5);
    assert_eq!(
        h.submit(h.register(&alice, &sensor, ResourceKind::Sensor)),
        Ok(())
    );
    let tx = h.signed(
        &alice,
        CoreCall::DecommissionDevice {
            device: sensor.id(),
        },
    );
    assert_eq!(h.submit(tx), Ok(()));
    let heartbeat = h.heartbeat(&sensor, 1);
    h.assert_rejected(
        heartbeat,
        TxError::Core(CoreError::DeviceNotActive {
            device: sensor.id(),
            status: "unbonding",
        }),
    );
    // Once the bond is back the device is decommissioned for good.
    h.advance_to(12);
    let heartbeat = h.heartbeat(&sensor, 1);
    h.assert_rejected(
        heartbeat,
        TxError::Core(CoreError::DeviceNotActive {
            device: sensor.id(),
            status: "decommissioned",
        }),
    );
    let move_it = h.signed(
        &alice,
        CoreCall::AssertLocation {
            device: sensor.id(),
            location: cell(3.0, 3.0),
        },
    );
    h.assert_rejected(
        move_it,
        TxError::Core(CoreError::DeviceNotActive {
            device: sensor.id(),
            status: "decommissioned",
        }),
    );
}

#[test]
fn a_device_signature_of_the_wrong_scheme_is_rejected() {
    let mut h = Harness::standard();
    let alice = account(1);
    let sensor = device(KeyScheme::Ed25519, 5);
    assert_eq!(
        h.submit(h.register(&alice, &sensor, ResourceKind::Sensor)),
        Ok(())
    );
    let Transaction::Device(mut hb) = h.heartbeat(&sensor, 1) else {
        unreachable!()
    };
    let p256 = device(KeyScheme::P256, 5);
    let DeviceSignature::P256(sig) = p256.sign(
        &h.chain.namespace("uptime", "heartbeat"),
        &hb.signing_payload(),
    ) else {
        unreachable!()
    };
    hb.signature = DeviceSignature::P256(sig);
    h.assert_rejected(
        Transaction::Device(hb),
        TxError::Core(CoreError::BadSignature),
    );
}

#[test]
fn mistyped_address_is_rejected_by_its_checksum() {
    let text = address(&account(1)).to_string();
    let mut chars: Vec<char> = text.chars().collect();
    let last = chars.len() - 1;
    chars[last] = if chars[last] == 'q' { 'p' } else { 'q' };
    let typo: String = chars.into_iter().collect();
    assert!(typo.parse::<Address>().is_err());
    assert_eq!(text.parse::<Address>().unwrap(), address(&account(1)));
}

#[test]
fn bad_block_changes_nothing() {
    use groundwork_state::BlockError;
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    h.empty_blocks(2);
    let digest = h.state.state_digest();
    let mut block = h.next_block(vec![h.transfer(&alice, address(&bob), 5)]);
    block.header.height += 1;
    assert!(matches!(
        h.state.execute(&block),
        Err(BlockError::WrongHeight { .. })
    ));
    block.header.height -= 1;
    let good_root = block.header.transactions_root;
    block.header.transactions_root = hash(b"wrong");
    assert_eq!(
        h.state.execute(&block),
        Err(BlockError::TransactionsRootMismatch)
    );
    block.header.transactions_root = good_root;
    block.header.parent = hash(b"elsewhere");
    assert_eq!(h.state.execute(&block), Err(BlockError::WrongParent));
    assert_eq!(h.state.state_digest(), digest);
}

#[test]
fn every_rejection_code_is_in_the_docs_table() {
    // The code table is read from each module error's `code` itself, so a new error cannot be
    // left out of docs/state.md, nor a number drift.
    let sources = [
        ("CoreError::", include_str!("../../src/core/error.rs")),
        (
            "UptimeError::",
            include_str!("../../src/modules/uptime/error.rs"),
        ),
        (
            "CoverageError::",
            include_str!("../../src/modules/coverage/error.rs"),
        ),
        (
            "ChallengeError::",
            include_str!("../../src/modules/challenges/error.rs"),
        ),
        (
            "OracleError::",
            include_str!("../../src/modules/oracle/error.rs"),
        ),
        (
            "CreditsError::",
            include_str!("../../src/modules/credits/error.rs"),
        ),
        (
            "UsageError::",
            include_str!("../../src/modules/usage/error.rs"),
        ),
        (
            "AttestError::",
            include_str!("../../src/modules/attest/error.rs"),
        ),
        (
            "StorageError::",
            include_str!("../../src/modules/storage/error.rs"),
        ),
        (
            "ComputeError::",
            include_str!("../../src/modules/compute/error.rs"),
        ),
    ];
    let docs = include_str!("../../../../docs/state.md");
    let mut in_code: Vec<(u16, String)> = sources
        .iter()
        .flat_map(|(prefix, source)| {
            source.lines().filter_map(move |line| {
                let rest = line.trim().strip_prefix(prefix)?;
                let (name, code) = rest.split_once("=>")?;
                let name = name.split([' ', '{']).next()?.to_string();
                let code = code.trim().trim_end_matches(',').parse().ok()?;
                Some((code, name))
            })
        })
        .collect();
    in_code.sort();
    assert!(in_code.len() >= 41, "read {} codes", in_code.len());
    let in_docs: Vec<(u16, String)> = docs
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.parse().ok()?;
            let name = cells.get(2)?.trim_matches('`').to_string();
            Some((code, name))
        })
        .collect();
    assert_eq!(in_docs, in_code, "docs/state.md's rejection-code table");
}

#[test]
fn signal_errors_speak_one_unit() {
    let error = TxError::Coverage(CoverageError::RssiTooStrong {
        rssi_dbm: -60,
        max_cdbm: -6_635,
        meters: 2_000,
    });
    let text = error.to_string();
    assert!(text.contains("-60 dBm reported"), "{text}");
    assert!(text.contains("at most -66.35 dBm"), "{text}");
    assert!(!text.contains("cdBm"), "{text}");
}
