//! Maker-attested devices through `State::execute`, with certificates made by the `openssl`
//! command line (tests/fixtures/attest): a maker's CA certifies two P-256 devices; another CA
//! one more.

use crate::common::*;
use groundwork_primitives::tx::attest::BoundedBytes;
use groundwork_primitives::{AttestCall, DeviceKey, ResourceKind, Transaction, UptimeReport};
use groundwork_state::attest::{AttestError, AttestParams, KindSet, Maker};
use groundwork_state::{Genesis, TxError};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/attest");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
}

fn der(name: &str) -> Vec<u8> {
    groundwork_attest::pem_to_der(groundwork_attest::Which::Device, &fixture(name)).unwrap()
}

fn key(name: &str) -> DeviceKey {
    groundwork_wallet::pem::parse(&fixture(name))
        .unwrap()
        .device_key()
        .unwrap()
}

/// Account 5 is the maker's; wireless devices must be attested.
fn harness() -> Harness {
    Harness::new(&attested_genesis())
}

/// A genesis whose `[attest]` table names one maker (account 5, the fixtures' CA) for
/// wireless and sensor devices, and requires wireless ones to be attested.
fn attested_genesis() -> Genesis {
    let mut p = params();
    let ca = groundwork_attest::pem_to_der(groundwork_attest::Which::Ca, &fixture("maker-ca.pem"))
        .unwrap();
    p.attest = AttestParams {
        makers: vec![Maker {
            name: BoundedBytes(b"Test maker".to_vec()),
            account: address(&account(5)),
            ca: BoundedBytes(ca),
            kinds: KindSet::of(&[ResourceKind::Wireless, ResourceKind::Sensor]),
        }],
        required: KindSet::of(&[ResourceKind::Wireless]),
    };
    let mut genesis: Genesis = genesis_with(p, 5);
    // The certificates are valid from when they were made for a century: run in 2030.
    genesis.genesis_time_ms = 1_900_000_000_000;
    genesis
}

fn attest(h: &Harness, device: &DeviceKey, certificate: &str) -> Transaction {
    h.signed(
        &account(1),
        AttestCall::Attest {
            device: device.id(),
            certificate: BoundedBytes(der(certificate)),
        },
    )
}

fn register_attested(h: &Harness, device: &DeviceKey, certificate: &str) -> Transaction {
    h.signed(
        &account(1),
        AttestCall::register(
            &h.chain,
            &address(&account(1)),
            device,
            ResourceKind::Wireless,
            cell(52.52, 13.405),
            BoundedBytes(der(certificate)),
        ),
    )
}

#[test]
fn a_required_kind_registers_with_its_certificate_works_and_stops_when_revoked() {
    let mut h = harness();
    let (a, b) = (key("device-a.key"), key("device-b.key"));
    // Wireless must be attested: the core's register-device is refused, naming the way in.
    h.assert_rejected(
        h.register(&account(1), &a, ResourceKind::Wireless),
        TxError::Attest(AttestError::CertificateRequired {
            kind: ResourceKind::Wireless,
        }),
    );
    // Registering with b's certificate does not attest a, and leaves a unregistered.
    h.assert_rejected(
        register_attested(&h, &a, "device-b.pem"),
        TxError::Attest(AttestError::KeyMismatch { device: a.id() }),
    );
    assert!(h.state.device(&a.id()).is_none());
    assert_eq!(h.submit(register_attested(&h, &a, "device-a.pem")), Ok(()));
    assert_eq!(h.submit(register_attested(&h, &b, "device-b.pem")), Ok(()));
    assert_eq!(h.submit(h.heartbeat(&a, 0)), Ok(()));
    // A sensor need not be attested, but may present a certificate: another maker's is
    // refused with the check's reason.
    let c = key("device-c.key");
    assert_eq!(
        h.submit(h.register(&account(1), &c, ResourceKind::Sensor)),
        Ok(())
    );
    let tx = attest(&h, &c, "device-c.pem");
    let refused = h.try_submit(tx).unwrap();
    assert!(
        matches!(
            refused,
            Err(TxError::Attest(AttestError::Refused {
                reason: groundwork_attest::AttestError::WrongIssuer
            }))
        ),
        "{refused:?}"
    );

    // Only the maker's account revokes; then device b does no more work.
    let (serial, _) = h.state.attestation(&b.id()).unwrap();
    let revoke = AttestCall::Revoke {
        serial: serial.serial.clone(),
    };
    let stranger = h.signed(&account(2), revoke.clone());
    h.assert_rejected(
        stranger,
        TxError::Attest(AttestError::NotAMaker {
            signer: address(&account(2)),
        }),
    );
    assert_eq!(h.submit(h.signed(&account(5), revoke)), Ok(()));
    let refusal = h.state.attest_refusal(&b.id());
    assert!(
        matches!(refusal, Some(AttestError::Revoked { .. })),
        "{refusal:?}"
    );
    let beat = Transaction::Device(UptimeReport::sign_heartbeat(
        &b,
        &h.chain,
        h.state.recent_block(h.state.height()).unwrap(),
    ));
    assert!(matches!(
        h.try_submit(beat),
        Err(TxError::Attest(AttestError::Revoked { .. }))
    ));
    // Its certificate cannot attest it again either; device a still works.
    h.assert_rejected(
        attest(&h, &b, "device-b.pem"),
        TxError::Attest(AttestError::Revoked {
            serial: serial.serial.clone(),
        }),
    );
    assert_eq!(h.state.attest_refusal(&a.id()), None);
}

#[test]
fn a_kind_no_maker_certifies_is_refused_and_an_optional_kind_works_unattested() {
    let mut h = harness();
    let storage = key("device-a.key");
    assert_eq!(
        h.submit(h.register(&account(1), &storage, ResourceKind::Storage)),
        Ok(())
    );
    h.assert_rejected(
        attest(&h, &storage, "device-a.pem"),
        TxError::Attest(AttestError::NoMakerForKind {
            kind: ResourceKind::Storage,
        }),
    );
    // Storage need not be attested: it heartbeats.
    assert_eq!(h.submit(h.heartbeat(&storage, 0)), Ok(()));
}

/// The `[attest]` table is written with its maker's CA in PEM and reads back to the same
/// genesis and digest; a maker naming an unknown kind, or a CA that is not a certificate, is
/// refused by its field.
#[test]
fn a_genesis_with_makers_round_trips_through_its_toml_and_bad_makers_are_named() {
    let genesis = attested_genesis();
    let text = genesis.to_toml();
    assert!(text.contains("[[attest.makers]]") && text.contains("-----BEGIN CERTIFICATE-----"));
    let loaded = Genesis::from_toml(&text).unwrap();
    assert_eq!(loaded, genesis);
    assert_eq!(loaded.digest(), genesis.digest());
    let refused = |text: &str| match Genesis::from_toml(text) {
        Err(groundwork_state::GenesisError::InvalidField { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    };
    let bad_kind = text.replacen("\nkinds = [\"wireless\"", "\nkinds = [\"toaster\"", 1);
    assert_ne!(bad_kind, text);
    assert_eq!(refused(&bad_kind), "attest.makers[0].kinds");
    let bad_ca = text.replacen("-----BEGIN CERTIFICATE-----", "-----BEGIN NOTHING-----", 1);
    assert_eq!(refused(&bad_ca), "attest.makers[0].ca");
}
