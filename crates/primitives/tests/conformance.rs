//! Pinned encodings. Each case encodes a fixed value and compares the SHA-256 of the bytes with
//! a digest recorded when the format was approved. A failure here means a wire or storage
//! format changed: if that is intended, it is a protocol change — update the digest in the same
//! commit and say so.

use commonware_cryptography::{Signer, ed25519};
use groundwork_primitives::codec::Encode;
use groundwork_primitives::hash::{digest_hex, hash};
use groundwork_primitives::keys::account_address;
use groundwork_primitives::{
    AccountAction, AccountTransaction, Amount, BeaconRadio, BeaconTransaction, Block, BlockHeader,
    Cell, ChainId, DeviceKey, HeartbeatTransaction, KeyScheme, ResourceKind, Transaction,
    WitnessReading, WitnessTransaction,
};

fn chain() -> ChainId {
    "groundwork-conformance".parse().unwrap()
}

/// ed25519 signing is deterministic, so these transactions are too.
fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let key = ed25519::PrivateKey::from_seed(1);
    let owner = account_address(&key.public_key());
    let device = DeviceKey::from_seed(KeyScheme::Ed25519, 2);
    let location = Cell::new(0x8c1fb46622dd3ff).unwrap();
    let transfer = Transaction::Account(AccountTransaction::sign(
        &key,
        &chain(),
        7,
        1_000,
        AccountAction::Transfer {
            to: owner,
            amount: Amount(123_456_789),
        },
    ));
    let register = Transaction::Account(AccountTransaction::sign(
        &key,
        &chain(),
        8,
        1_000,
        AccountAction::register_device(&chain(), &owner, &device, ResourceKind::Sensor, location),
    ));
    let heartbeat = Transaction::Heartbeat(HeartbeatTransaction::sign(
        &device,
        &chain(),
        hash(b"recent block"),
    ));
    let beacon = BeaconTransaction::sign(
        &device,
        &chain(),
        hash(b"entropy block"),
        BeaconRadio {
            tx_power_dbm: 27,
            frequency_hz: 904_600_000,
            antenna_gain_ddbi: 12,
        },
    );
    let witness = Transaction::Witness(WitnessTransaction::sign(
        &DeviceKey::from_seed(KeyScheme::Ed25519, 3),
        &chain(),
        beacon.beacon_id(),
        WitnessReading {
            rssi_dbm: -108,
            snr_cdb: -520,
            frequency_hz: 904_600_000,
            antenna_gain_ddbi: 30,
        },
    ));
    let beacon = Transaction::Beacon(beacon);
    let transactions = vec![transfer.clone(), register.clone(), heartbeat.clone()];
    let header = BlockHeader {
        parent: hash(b"parent"),
        height: 42,
        timestamp_ms: 1_763_700_000_000,
        proposer: key.public_key(),
        state_root: hash(b"state"),
        transactions_root: Block::compute_transactions_root(&transactions),
    };
    vec![
        ("address", owner.encode().to_vec()),
        ("transfer", transfer.encode().to_vec()),
        ("register-device", register.encode().to_vec()),
        ("heartbeat", heartbeat.encode().to_vec()),
        ("beacon", beacon.encode().to_vec()),
        ("witness", witness.encode().to_vec()),
        (
            "block",
            Block {
                header,
                transactions,
            }
            .encode()
            .to_vec(),
        ),
    ]
}

const PINNED: &[(&str, &str)] = &[
    (
        "address",
        "f7d6bd2c80efb4b36fb97153522db59a99ba163bbbdb324dab978b1e14fdb11e",
    ),
    (
        "transfer",
        "2208b60e0b424a1fac64160326f0fce1d6be861de69f58d840fe1218982e642c",
    ),
    (
        "register-device",
        "e59d1f74297be49f6b54663339a3c86d118d93d04fa33b20e609a26aa414f747",
    ),
    (
        "heartbeat",
        "a259c22809aaf6c9bae7cce624f9c4a173d072fafb7af00e01287656bf650540",
    ),
    (
        "beacon",
        "6dc8633ef0693f918b4b4241917c5cac7f72bd4904083c982e7dc6708b000ef2",
    ),
    (
        "witness",
        "093166b827cb313849162827cf633ce073e91b57a11b4591c6be5491b065a09d",
    ),
    (
        "block",
        "4ce606647e4d94d65ae8d2b785fe186e670be5764e60121db4b770327fa9e86d",
    ),
];

#[test]
fn encodings_match_their_pinned_digests() {
    let mut changed = Vec::new();
    for ((name, bytes), (pinned_name, pinned)) in cases().into_iter().zip(PINNED) {
        assert_eq!(name, *pinned_name);
        let digest = digest_hex(&hash(&bytes));
        if digest != *pinned {
            changed.push(format!("(\"{name}\", \"{digest}\"),"));
        }
    }
    assert!(
        changed.is_empty(),
        "encodings changed:\n{}",
        changed.join("\n")
    );
}
