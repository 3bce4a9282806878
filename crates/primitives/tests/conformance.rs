//! Pinned encodings. Each case encodes a fixed value and compares the SHA-256 of the bytes with
//! a digest recorded when the format was approved. A failure here means a wire or storage
//! format changed: if that is intended, it is a protocol change — update the digest in the same
//! commit and say so.

use commonware_cryptography::{Signer, ed25519};
use groundwork_primitives::codec::Encode;
use groundwork_primitives::hash::{digest_hex, hash};
use groundwork_primitives::keys::account_address;
use groundwork_primitives::{
    AccountTransaction, Amount, BeaconRadio, Block, BlockHeader, Cell, ChainId, CoreCall,
    CoverageReport, DeviceKey, KeyScheme, ResourceKind, Transaction, UptimeReport, WitnessReading,
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
        CoreCall::Transfer {
            to: owner,
            amount: Amount(123_456_789),
        },
    ));
    let register = Transaction::Account(AccountTransaction::sign(
        &key,
        &chain(),
        8,
        1_000,
        CoreCall::register_device(&chain(), &owner, &device, ResourceKind::Sensor, location),
    ));
    let heartbeat = Transaction::Device(UptimeReport::sign_heartbeat(
        &device,
        &chain(),
        hash(b"recent block"),
    ));
    let beacon = CoverageReport::sign_beacon(
        &device,
        &chain(),
        hash(b"entropy block"),
        BeaconRadio {
            tx_power_dbm: 27,
            frequency_hz: 904_600_000,
            antenna_gain_ddbi: 12,
        },
    );
    let witness = Transaction::Device(CoverageReport::sign_witness(
        &DeviceKey::from_seed(KeyScheme::Ed25519, 3),
        &chain(),
        beacon.beacon_id().unwrap(),
        WitnessReading {
            rssi_dbm: -108,
            snr_cdb: -520,
            frequency_hz: 904_600_000,
            antenna_gain_ddbi: 30,
        },
    ));
    let beacon = Transaction::Device(beacon);
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
        ("message-names", message_names(&device, &owner).into_bytes()),
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

/// Every module's message names, one `module/message byte/name` a line: they are part of every
/// signing namespace, so renaming or renumbering one is a protocol change.
fn message_names(device: &DeviceKey, owner: &groundwork_primitives::Address) -> String {
    use groundwork_primitives::{
        AttestCall, Call, ChallengeCall, CreditsCall, OracleCall, Report, UsageCall,
    };
    let digest = hash(b"any");
    let location = Cell::new(0x8c1fb46622dd3ff).unwrap();
    let calls: Vec<Call> = vec![
        CoreCall::Transfer {
            to: *owner,
            amount: Amount(1),
        }
        .into(),
        CoreCall::register_device(&chain(), owner, device, ResourceKind::Sensor, location).into(),
        CoreCall::AssertLocation {
            device: device.id(),
            location,
        }
        .into(),
        CoreCall::TransferDevice {
            device: device.id(),
            new_owner: *owner,
        }
        .into(),
        CoreCall::DecommissionDevice {
            device: device.id(),
        }
        .into(),
        ChallengeCall::Open {
            device: device.id(),
            evidence: vec![digest],
        }
        .into(),
        ChallengeCall::Answer {
            challenge: digest,
            beacon: digest,
        }
        .into(),
        OracleCall::SubmitPrice {
            micro_usd_per_token: 1,
        }
        .into(),
        CreditsCall::Buy {
            recipient: *owner,
            credits: 1,
        }
        .into(),
        UsageCall::SetOffer {
            device: device.id(),
            credits_per_unit: 1,
            max_session_blocks: 1,
        }
        .into(),
        UsageCall::OpenSession {
            device: device.id(),
            credits_per_unit: 1,
            max_credits: 1,
            expires_at: 1,
        }
        .into(),
        {
            let voucher = groundwork_primitives::Voucher {
                session: digest,
                cumulative_units: 1,
                cumulative_credits: 1,
            };
            UsageCall::Settle {
                voucher,
                customer_signature: voucher
                    .sign_as_customer(&ed25519::PrivateKey::from_seed(1), &chain()),
                device_signature: voucher.sign_as_device(device, &chain()),
            }
            .into()
        },
        UsageCall::Close { session: digest }.into(),
        AttestCall::Revoke {
            serial: groundwork_primitives::tx::attest::BoundedBytes(vec![1]),
        }
        .into(),
        AttestCall::Attest {
            device: device.id(),
            certificate: groundwork_primitives::tx::attest::BoundedBytes(vec![0x30]),
        }
        .into(),
        groundwork_primitives::AttestCall::register(
            &chain(),
            owner,
            device,
            ResourceKind::Sensor,
            location,
            groundwork_primitives::tx::attest::BoundedBytes(vec![0x30]),
        )
        .into(),
        groundwork_primitives::StorageCall::Provide {
            device: device.id(),
            capacity_bytes: 1,
            collateral_per_gib: Amount(1),
            endpoint: groundwork_primitives::tx::attest::BoundedBytes(b"http://a".to_vec()),
        }
        .into(),
        groundwork_primitives::StorageCall::Propose {
            file_size: 1,
            file_hash: [0; 32],
            data_shards: 1,
            periods: 1,
            shards: vec![groundwork_primitives::tx::storage::ShardDeal {
                provider: device.id(),
                root: [0; 32],
                size_bytes: 1,
                credits_per_gib_epoch: 1,
            }],
        }
        .into(),
        groundwork_primitives::StorageCall::End { set: digest }.into(),
    ];
    let reports: Vec<Report> = vec![
        UptimeReport::Heartbeat {
            recent_block: digest,
        }
        .into(),
        CoverageReport::Beacon {
            entropy_block: digest,
            radio: BeaconRadio {
                tx_power_dbm: 0,
                frequency_hz: 0,
                antenna_gain_ddbi: 0,
            },
        }
        .into(),
        CoverageReport::Witness {
            beacon: digest,
            reading: WitnessReading {
                rssi_dbm: 0,
                snr_cdb: 0,
                frequency_hz: 0,
                antenna_gain_ddbi: 0,
            },
        }
        .into(),
        groundwork_primitives::StorageReport::Accept { deal: digest }.into(),
        groundwork_primitives::StorageReport::Prove {
            deal: digest,
            period: 1,
            leaves: vec![groundwork_primitives::tx::storage::LeafAnswer {
                index: 0,
                leaf: vec![1],
                path: vec![[0; 32]; 8],
            }],
        }
        .into(),
    ];
    let line = |module_byte: u8, message_byte: u8, name: String| {
        format!("{module_byte}/{message_byte} {name}\n")
    };
    let mut out = String::new();
    for call in &calls {
        let bytes = call.encode();
        out += &line(bytes[0], bytes[1], call.full_name());
    }
    for report in &reports {
        let bytes = report.encode();
        out += &line(bytes[0], bytes[1], report.full_name());
    }
    out += "0/- core/device-ownership\n";
    out
}

const PINNED: &[(&str, &str)] = &[
    (
        "address",
        "f7d6bd2c80efb4b36fb97153522db59a99ba163bbbdb324dab978b1e14fdb11e",
    ),
    (
        "transfer",
        "de2bb9d903f2ff218b6aa73f14a5350545de9e95eb1ea7bd9d3637168a508c64",
    ),
    (
        "register-device",
        "7d0c3bbc58920c6dd091e809ab549c06e0343a1f3d92206f81828d77a762b591",
    ),
    (
        "heartbeat",
        "ccff4d7096941ee9bbd0567e547cc1dd6b7ef53cd3933add88d63abe3e3b9bb7",
    ),
    (
        "beacon",
        "ceb48d23dc5302befc9e1667c011c23746d39e5fa718cd316725341dc70a6658",
    ),
    (
        "witness",
        "7264d5884146c5d396bdf8e30d13b75c5054efca601ded4e71bf530e114e1489",
    ),
    (
        "message-names",
        "a64edb325aa2d755b1d8e07500b57f714c2b70344d08a2a8867cf37bbbb2e8c2",
    ),
    (
        "block",
        "089bb5af9b79405f53925f5db1fc49d068a42c0e3bf2ee283fe68ed0d39052e9",
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
