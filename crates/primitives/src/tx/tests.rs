use super::*;
use crate::address::Address;
use crate::amount::Amount;
use crate::cell::Cell;
use crate::keys::{DeviceKey, KeyScheme, account_address};
use crate::limits::MAX_CHALLENGE_EVIDENCE;
use crate::resource::ResourceKind;
use commonware_cryptography::{Signer, ed25519};

fn chain() -> ChainId {
    "groundwork-test".parse().unwrap()
}

fn sample_transactions() -> Vec<Transaction> {
    let key = ed25519::PrivateKey::from_seed(1);
    let owner = account_address(&key.public_key());
    let device = DeviceKey::from_seed(KeyScheme::P256, 2);
    let location = Cell::from_lat_lng(37.7749, -122.4194).unwrap();
    let calls: Vec<Call> = vec![
        CoreCall::Transfer {
            to: owner,
            amount: Amount(5),
        }
        .into(),
        CreditsCall::Buy {
            recipient: owner,
            credits: 9,
        }
        .into(),
        OracleCall::SubmitPrice {
            micro_usd_per_token: 2_500_000,
        }
        .into(),
        CoreCall::register_device(&chain(), &owner, &device, ResourceKind::Wireless, location)
            .into(),
        CoreCall::AssertLocation {
            device: device.id(),
            location,
        }
        .into(),
        CoreCall::TransferDevice {
            device: device.id(),
            new_owner: owner,
        }
        .into(),
        CoreCall::DecommissionDevice {
            device: device.id(),
        }
        .into(),
        ChallengeCall::Open {
            device: device.id(),
            evidence: vec![hash(b"beacon 1"), hash(b"beacon 2")],
        }
        .into(),
        ChallengeCall::Answer {
            challenge: challenge_id(&owner, 3),
            beacon: hash(b"beacon 3"),
        }
        .into(),
        UsageCall::SetOffer {
            device: device.id(),
            credits_per_unit: 1,
            max_session_blocks: 50,
        }
        .into(),
        UsageCall::OpenSession {
            device: device.id(),
            credits_per_unit: 1,
            max_credits: 100,
            expires_at: 90,
        }
        .into(),
        {
            let voucher = Voucher {
                session: session_id(&owner, 1),
                cumulative_units: 4,
                cumulative_credits: 4,
            };
            UsageCall::Settle {
                voucher,
                customer_signature: voucher.sign_as_customer(&key, &chain()),
                device_signature: voucher.sign_as_device(&device, &chain()),
            }
            .into()
        },
        UsageCall::Close {
            session: session_id(&owner, 1),
        }
        .into(),
        AttestCall::register(
            &chain(),
            &owner,
            &device,
            ResourceKind::Wireless,
            location,
            attest::BoundedBytes(vec![0x30; 500]),
        )
        .into(),
        AttestCall::Attest {
            device: device.id(),
            certificate: attest::BoundedBytes(vec![0x30; 10]),
        }
        .into(),
        AttestCall::Revoke {
            serial: attest::BoundedBytes(vec![1, 2, 3]),
        }
        .into(),
    ];
    let mut txs: Vec<Transaction> = calls
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            Transaction::Account(AccountTransaction::sign(&key, &chain(), i as u64, 100, c))
        })
        .collect();
    let heartbeat = UptimeReport::Heartbeat {
        recent_block: hash(b"block"),
    };
    txs.push(Transaction::Device(DeviceTransaction::sign(
        &device,
        &chain(),
        heartbeat,
    )));
    let beacon = CoverageReport::Beacon {
        entropy_block: hash(b"block"),
        radio: BeaconRadio {
            tx_power_dbm: 27,
            frequency_hz: 904_600_000,
            antenna_gain_ddbi: 12,
        },
    };
    txs.push(Transaction::Device(DeviceTransaction::sign(
        &device,
        &chain(),
        beacon,
    )));
    let witness = DeviceKey::from_seed(KeyScheme::Ed25519, 3);
    let reading = WitnessReading {
        rssi_dbm: -110,
        snr_cdb: -750,
        frequency_hz: 904_600_000,
        antenna_gain_ddbi: -5,
    };
    let report = CoverageReport::Witness {
        beacon: beacon_id(&device.id(), &hash(b"block")),
        reading,
    };
    txs.push(Transaction::Device(DeviceTransaction::sign(
        &witness,
        &chain(),
        report,
    )));
    txs
}

#[test]
fn every_transaction_round_trips_and_verifies() {
    for tx in sample_transactions() {
        let bytes = tx.encode();
        let decoded = Transaction::decode_untrusted(&bytes).unwrap();
        assert_eq!(decoded, tx);
        assert_eq!(decoded.hash(), tx.hash());
        assert!(
            tx.verify_signature(&chain()),
            "{} did not verify",
            tx.kind_name()
        );
        assert!(
            !tx.verify_signature(&"groundwork-other".parse().unwrap()),
            "{} verified on another chain",
            tx.kind_name()
        );
    }
}

#[test]
fn every_message_has_its_own_namespace() {
    let mut names: Vec<String> = sample_transactions()
        .iter()
        .map(Transaction::kind_name)
        .collect();
    names.push("core/device-ownership".to_string());
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "two messages share a name: {names:?}");
    assert_eq!(
        chain().namespace("uptime", "heartbeat"),
        b"groundwork/groundwork-test/uptime/heartbeat".to_vec()
    );
}

#[test]
fn truncated_extended_and_oversized_bytes_are_rejected() {
    for tx in sample_transactions() {
        let bytes = tx.encode().to_vec();
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(Transaction::decode_untrusted(&bytes[..cut]).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Transaction::decode_untrusted(&longer).is_err());
    }
    assert!(Transaction::decode_untrusted(&vec![0u8; MAX_TRANSACTION_BYTES + 1]).is_err());
    assert!(Transaction::decode_untrusted(&[7u8]).is_err());
}

/// An unknown module byte or message byte is refused at decode.
#[test]
fn unknown_modules_and_messages_are_rejected() {
    let key = ed25519::PrivateKey::from_seed(1);
    let call = CoreCall::DecommissionDevice {
        device: DeviceKey::from_seed(KeyScheme::Ed25519, 2).id(),
    };
    let tx = Transaction::Account(AccountTransaction::sign(&key, &chain(), 0, 100, call));
    let bytes = tx.encode().to_vec();
    // family ‖ signer (32) ‖ nonce (8) ‖ valid until (8) ‖ module ‖ message ‖ …
    let module_at = 1 + 32 + 8 + 8;
    for (at, value) in [(module_at, 9u8), (module_at + 1, 9u8)] {
        let mut changed = bytes.clone();
        changed[at] = value;
        assert!(Transaction::decode_untrusted(&changed).is_err());
    }
}

/// A challenge must cite 1 to MAX_CHALLENGE_EVIDENCE beacons: 0 and 9 are refused at decode.
#[test]
fn challenge_evidence_count_is_bounded() {
    let key = ed25519::PrivateKey::from_seed(1);
    let device = DeviceKey::from_seed(KeyScheme::Ed25519, 2).id();
    for count in [0usize, MAX_CHALLENGE_EVIDENCE + 1] {
        let call = ChallengeCall::Open {
            device: device.clone(),
            evidence: vec![hash(b"b"); count],
        };
        let tx = Transaction::Account(AccountTransaction::sign(&key, &chain(), 0, 100, call));
        assert!(
            Transaction::decode_untrusted(&tx.encode()).is_err(),
            "{count} beacons decoded"
        );
    }
}

#[test]
fn signature_for_another_chain_or_message_does_not_verify() {
    let key = ed25519::PrivateKey::from_seed(1);
    let call = CoreCall::Transfer {
        to: Address([1; 20]),
        amount: Amount(5),
    };
    let tx = AccountTransaction::sign(&key, &chain(), 0, 100, call);
    assert!(!tx.verify_signature(&"groundwork-other".parse().unwrap()));
    let as_burn = key.sign(
        &chain().namespace("core", "burn-for-credits"),
        &tx.signing_payload(),
    );
    let forged = AccountTransaction {
        signature: as_burn,
        ..tx
    };
    assert!(!forged.verify_signature(&chain()));
}
