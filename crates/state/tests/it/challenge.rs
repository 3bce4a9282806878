//! Location challenges: posted with evidence, answered or not, resolved deterministically, and
//! every refused step named and leaving the state unchanged.
//!
//! Places: Berlin around Alexanderplatz, and Brandenburg an der Havel, about 61 km west.
//! At 61 km and 904.6 MHz free space allows 27 + 1 − 127.3 ≈ −99.3 dBm; a typical link (30 dB
//! per decade) delivers ≈ −127.2 dBm. A report of −100 dBm over that distance is possible but
//! ≈ 27 dB louder than typical: evidence. One of −120 dBm is ≈ 7 dB over: not evidence.

use crate::common::*;
use crate::coverage::{beacon, paying_harness, register_at, witness};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::{
    Amount, Cell, ChallengeCall, CoreCall, DeviceKey, DeviceTransaction, KeyScheme, ResourceKind,
    Transaction, challenge_id,
};
use groundwork_state::challenge::ChallengeStatus;
use groundwork_state::{ChallengeError, CoreError};
use groundwork_state::{ChallengeParams, TxError};

const CHALLENGE_BOND: u128 = 5_000;
const ANSWER_WINDOW: u64 = 10;

fn berlin(i: usize) -> Cell {
    let places = [
        (52.5219, 13.4132),
        (52.5219, 13.4442),
        (52.5489, 13.4132),
        (52.4950, 13.4132),
    ];
    cell(places[i].0, places[i].1)
}

fn brandenburg() -> Cell {
    cell(52.4125, 12.5316)
}

/// The paying harness with 100-block epochs and challenges on: 5 000 bond, 10 blocks to
/// answer, half the device bond slashed, 3 independent witnesses to answer. Accounts 1..=6 are
/// funded.
fn harness() -> crate::common::Harness {
    let mut h = paying_harness();
    let mut genesis = genesis_with(h.state.params().clone(), 6);
    // No epoch ends inside these tests, so balances move only by what the challenges do.
    genesis.params.core.epoch_length_blocks = 100;
    genesis.params.challenges = ChallengeParams {
        bond: Amount(CHALLENGE_BOND),
        answer_window_blocks: ANSWER_WINDOW,
        slash_bps: 5_000,
        min_answer_witnesses: 3,
    };
    h = Harness::new(&genesis);
    h
}

fn challenge(
    h: &Harness,
    challenger: u64,
    device: &DeviceKey,
    evidence: Vec<Digest>,
) -> Transaction {
    h.signed(
        &account(challenger),
        ChallengeCall::Open {
            device: device.id(),
            evidence,
        },
    )
}

fn answer(h: &Harness, owner: u64, id: Digest, beacon: Digest) -> Transaction {
    h.signed(
        &account(owner),
        ChallengeCall::Answer {
            challenge: id,
            beacon,
        },
    )
}

/// The id the next challenge of `challenger` gets.
fn next_id(h: &Harness, challenger: u64) -> Digest {
    let key = account(challenger);
    challenge_id(&address(&key), h.nonce(&key))
}

/// A device of owner 1 asserting Brandenburg but sitting in Berlin, three Berlin witnesses of
/// owners 2, 3 and 4, and a beacon of it the first witness heard at −100 dBm: 61 km away,
/// about 27 dB louder than a typical link delivers.
fn spoofer_heard_loud(h: &mut Harness) -> (DeviceKey, Vec<DeviceKey>, DeviceTransaction) {
    let spoofer = device(KeyScheme::Ed25519, 70);
    register_at(h, 1, &spoofer, ResourceKind::Wireless, brandenburg());
    let witnesses: Vec<DeviceKey> = (71..74).map(|i| device(KeyScheme::Ed25519, i)).collect();
    for (i, w) in witnesses.iter().enumerate() {
        register_at(h, 2 + i as u64, w, ResourceKind::Wireless, berlin(i));
    }
    let loud = beacon(h, &spoofer);
    h.execute(vec![Transaction::Device(loud.clone())]);
    assert_eq!(h.submit(witness(h, &witnesses[0], &loud, -100)), Ok(()));
    (spoofer, witnesses, loud)
}

/// An honest Berlin device of owner 1, an inflater of owner 5 in Brandenburg that reports one
/// of its beacons at −100 dBm (evidence against the honest device), and three Berlin witnesses
/// of owners 2, 3 and 4 to hear its answer.
fn honest_heard_loud_by_an_inflater(
    h: &mut Harness,
) -> (DeviceKey, Vec<DeviceKey>, DeviceTransaction) {
    let honest = device(KeyScheme::Ed25519, 80);
    register_at(h, 1, &honest, ResourceKind::Wireless, berlin(0));
    let inflater = device(KeyScheme::Ed25519, 81);
    register_at(h, 5, &inflater, ResourceKind::Wireless, brandenburg());
    let witnesses: Vec<DeviceKey> = (82..85).map(|i| device(KeyScheme::P256, i)).collect();
    for (i, w) in witnesses.iter().enumerate() {
        register_at(h, 2 + i as u64, w, ResourceKind::Wireless, berlin(i + 1));
    }
    let old = beacon(h, &honest);
    h.execute(vec![Transaction::Device(old.clone())]);
    assert_eq!(h.submit(witness(h, &inflater, &old, -100)), Ok(()));
    (honest, witnesses, old)
}

/// A device of owner 1 asserts Brandenburg but sits in Berlin: Berlin witnesses of owners 2, 3
/// and 4 hear it far louder than 61 km allows. Account 6 challenges; the owner cannot answer;
/// the challenge is upheld, half the device bond goes to the challenger with its own bond, and
/// the device may not beacon until its owner asserts a location again.
#[test]
fn an_unanswered_challenge_of_a_spoofer_is_upheld_and_slashes_the_bond() {
    let mut h = harness();
    let (spoofer, witnesses, loud) = spoofer_heard_loud(&mut h);
    // A second beacon heard only faintly: real, but no evidence of anything.
    h.empty_blocks(5);
    let faint = beacon(&h, &spoofer);
    h.execute(vec![Transaction::Device(faint.clone())]);
    assert_eq!(h.submit(witness(&h, &witnesses[1], &faint, -120)), Ok(()));

    // Refused challenges change nothing but the fees their senders paid (the harness checks
    // invariants after every block).
    let challengers = [address(&account(6)), address(&account(1))];
    let before = h.entries_except_accounts(&challengers);
    let weak = h.submit(challenge(&h, 6, &spoofer, vec![faint.beacon_id().unwrap()]));
    let Err(TxError::Challenges(ChallengeError::WeakEvidence {
        loudest_excess_cdb,
        min_cdb,
    })) = weak
    else {
        panic!("expected WeakEvidence, got {weak:?}")
    };
    assert!(
        (500..1_000).contains(&loudest_excess_cdb),
        "{loudest_excess_cdb}"
    );
    assert_eq!(min_cdb, 2_000);
    let unknown = groundwork_primitives::hash::hash(b"no such beacon");
    assert!(matches!(
        h.submit(challenge(&h, 6, &spoofer, vec![unknown])),
        Err(TxError::Challenges(ChallengeError::EvidenceNotFound { .. }))
    ));
    assert!(matches!(
        h.submit(challenge(
            &h,
            6,
            &spoofer,
            vec![loud.beacon_id().unwrap(), loud.beacon_id().unwrap()]
        )),
        Err(TxError::Challenges(
            ChallengeError::DuplicateEvidence { .. }
        ))
    ));
    assert_eq!(
        h.submit(challenge(&h, 1, &spoofer, vec![loud.beacon_id().unwrap()])),
        Err(TxError::Challenges(ChallengeError::SelfChallenge))
    );
    // Evidence must involve the challenged device: the loud beacon is not witnesses[1]'s.
    assert!(matches!(
        h.submit(challenge(
            &h,
            6,
            &witnesses[1],
            vec![loud.beacon_id().unwrap()]
        )),
        Err(TxError::Challenges(ChallengeError::EvidenceNotFound { .. }))
    ));
    assert_eq!(h.entries_except_accounts(&challengers), before);

    // The real challenge, citing both beacons: the loud one carries it.
    let id = next_id(&h, 6);
    let challenger_before = h.balance(&account(6));
    let tx = challenge(
        &h,
        6,
        &spoofer,
        vec![faint.beacon_id().unwrap(), loud.beacon_id().unwrap()],
    );
    assert_eq!(h.submit(tx), Ok(()));
    let opened = h.state.height();
    assert_eq!(
        h.balance(&account(6)),
        challenger_before - CHALLENGE_BOND - FEE
    );
    assert_eq!(h.state.chain_info().escrowed.0, CHALLENGE_BOND);
    let record = h.state.challenge(&id).expect("challenge stored");
    assert_eq!(record.status, ChallengeStatus::Open);
    assert_eq!(record.answer_by, opened + ANSWER_WINDOW);
    assert_eq!(record.evidence.0.len(), 2);
    let cited = &record.evidence.0[1];
    assert_eq!(cited.other, witnesses[0].id());
    assert!(
        (60_000..62_000).contains(&cited.distance_m),
        "{}",
        cited.distance_m
    );
    assert!(
        (2_600..2_800).contains(&cited.excess_cdb),
        "{}",
        cited.excess_cdb
    );

    // While open, nothing may move the device, hand it over or retire it, and no second
    // challenge lands.
    let moved = h.signed(
        &account(1),
        CoreCall::AssertLocation {
            device: spoofer.id(),
            location: berlin(3),
        },
    );
    assert!(matches!(
        h.submit(moved),
        Err(TxError::Challenges(ChallengeError::ChallengePending { .. }))
    ));
    let retire = h.signed(
        &account(1),
        CoreCall::DecommissionDevice {
            device: spoofer.id(),
        },
    );
    assert!(matches!(
        h.submit(retire),
        Err(TxError::Challenges(ChallengeError::ChallengePending { .. }))
    ));
    assert!(matches!(
        h.submit(challenge(&h, 5, &spoofer, vec![loud.beacon_id().unwrap()])),
        Err(TxError::Challenges(ChallengeError::ChallengePending { .. }))
    ));

    // Nobody answers. At resolution half the 1 000 device bond is slashed: half of that to the
    // challenger with its bond, half to the treasury.
    let bonded_before = h.state.chain_info().bonded.0;
    let treasury_before = h.state.chain_info().treasury.0;
    h.advance_to(record.resolves_at);
    assert_eq!(h.state.chain_info().treasury.0, treasury_before + BOND / 4);
    let resolved = h.state.challenge(&id).unwrap();
    assert_eq!(
        resolved.status,
        ChallengeStatus::Upheld {
            slashed: Amount(BOND / 2)
        }
    );
    assert_eq!(resolved.resolved_at, Some(record.resolves_at));
    assert_eq!(h.balance(&account(6)), challenger_before - FEE + BOND / 4);
    assert_eq!(h.state.device(&spoofer.id()).unwrap().bond.0, BOND / 2);
    assert_eq!(h.state.chain_info().bonded.0, bonded_before - BOND / 2);
    assert_eq!(h.state.chain_info().escrowed.0, 0);

    // The location is disputed until the owner asserts a different one: beacons, a new
    // challenge and re-asserting the same place are refused.
    assert!(matches!(
        h.submit(challenge(&h, 5, &spoofer, vec![loud.beacon_id().unwrap()])),
        Err(TxError::Challenges(ChallengeError::LocationDisputed { .. }))
    ));
    let same = h.signed(
        &account(1),
        CoreCall::AssertLocation {
            device: spoofer.id(),
            location: brandenburg(),
        },
    );
    assert!(matches!(
        h.submit(same),
        Err(TxError::Challenges(ChallengeError::LocationDisputed { .. }))
    ));
    let refused = h.submit(Transaction::Device(beacon(&h, &spoofer)));
    assert!(
        matches!(
            refused,
            Err(TxError::Challenges(ChallengeError::LocationDisputed { .. }))
        ),
        "{refused:?}"
    );
    // Nor does it earn uptime: its heartbeats are refused too, and its work stays as it was.
    let work_before = h.state.pending_work(&spoofer.id());
    let beat = h.submit(h.heartbeat(&spoofer, 0));
    assert!(
        matches!(
            beat,
            Err(TxError::Challenges(ChallengeError::LocationDisputed { .. }))
        ),
        "{beat:?}"
    );
    assert_eq!(h.state.pending_work(&spoofer.id()), work_before);
    let moved = h.signed(
        &account(1),
        CoreCall::AssertLocation {
            device: spoofer.id(),
            location: berlin(3),
        },
    );
    assert_eq!(h.submit(moved), Ok(()));
    assert_eq!(h.submit(Transaction::Device(beacon(&h, &spoofer))), Ok(()));
    assert_eq!(h.submit(h.heartbeat(&spoofer, 0)), Ok(()));
    assert!(h.state.device_challenge(&spoofer.id()).is_none());
    assert_eq!(h.state.challenges_of(&spoofer.id()).len(), 1);
    // Evidence from before the move says nothing about the new place.
    assert!(matches!(
        h.submit(challenge(&h, 6, &spoofer, vec![loud.beacon_id().unwrap()])),
        Err(TxError::Challenges(ChallengeError::EvidenceNotFound { .. }))
    ));
}

/// An honest Berlin device is challenged on the strength of one loud report by a far-away
/// inflater. Its owner answers with a fresh beacon that three witnesses of other owners hear
/// as Berlin's geometry predicts: the challenge is rejected and the challenger's bond goes to
/// the owner. Bad answers are refused by name.
#[test]
fn an_answered_challenge_of_an_honest_device_is_rejected_and_pays_the_owner() {
    let mut h = harness();
    let (honest, witnesses, old) = honest_heard_loud_by_an_inflater(&mut h);

    // The inflater's owner cannot cite its own device's report: a challenger makes no evidence.
    assert!(matches!(
        h.submit(challenge(&h, 5, &honest, vec![old.beacon_id().unwrap()])),
        Err(TxError::Challenges(ChallengeError::EvidenceNotFound { .. }))
    ));
    let id = next_id(&h, 6);
    let challenger_before = h.balance(&account(6));
    assert_eq!(
        h.submit(challenge(&h, 6, &honest, vec![old.beacon_id().unwrap()])),
        Ok(())
    );
    let record = h.state.challenge(&id).unwrap();
    assert!(record.evidence.0[0].as_beaconer);

    // Refused answers: not the owner, a beacon from before the challenge, another device's
    // beacon, an unknown challenge.
    assert!(matches!(
        h.submit(answer(&h, 2, id, old.beacon_id().unwrap())),
        Err(TxError::Core(CoreError::NotDeviceOwner { .. }))
    ));
    assert_eq!(
        h.submit(answer(&h, 1, id, old.beacon_id().unwrap())),
        Err(TxError::Challenges(ChallengeError::BadAnswer {
            reason: "the beacon is not newer than the challenge"
        }))
    );
    let other = beacon(&h, &witnesses[0]);
    h.execute(vec![Transaction::Device(other.clone())]);
    assert_eq!(
        h.submit(answer(&h, 1, id, other.beacon_id().unwrap())),
        Err(TxError::Challenges(ChallengeError::BadAnswer {
            reason: "the beacon was not sent by the challenged device"
        }))
    );
    let unknown = groundwork_primitives::hash::hash(b"no such challenge");
    assert!(matches!(
        h.submit(answer(&h, 1, unknown, old.beacon_id().unwrap())),
        Err(TxError::Challenges(ChallengeError::UnknownChallenge { .. }))
    ));

    // The real answer: a fresh beacon, heard 2-3 km away at about −100 dBm (typical there is
    // about −83 to −86 dBm, so the signals are weaker than typical: nothing suspicious).
    h.advance_to(record.opened_at + 5);
    let fresh = beacon(&h, &honest);
    h.execute(vec![Transaction::Device(fresh.clone())]);
    let reports: Vec<Transaction> = witnesses
        .iter()
        .map(|w| witness(&h, w, &fresh, -100))
        .collect();
    assert!(h.execute(reports).receipts.iter().all(|r| r.result.is_ok()));
    assert_eq!(
        h.submit(answer(&h, 1, id, fresh.beacon_id().unwrap())),
        Ok(())
    );
    assert_eq!(
        h.submit(answer(&h, 1, id, fresh.beacon_id().unwrap())),
        Err(TxError::Challenges(ChallengeError::AlreadyAnswered))
    );

    let owner_before = h.balance(&account(1));
    h.advance_to(record.resolves_at);
    let resolved = h.state.challenge(&id).unwrap();
    assert_eq!(resolved.status, ChallengeStatus::Rejected);
    assert_eq!(resolved.answer_witnesses, 3);
    let median = resolved.answer_median_excess_cdb.unwrap();
    assert!((-2_000..0).contains(&median), "{median}");
    assert_eq!(h.balance(&account(1)), owner_before + CHALLENGE_BOND);
    assert_eq!(
        h.balance(&account(6)),
        challenger_before - CHALLENGE_BOND - FEE
    );
    assert_eq!(h.state.device(&honest.id()).unwrap().bond.0, BOND);
    assert!(h.state.device_challenge(&honest.id()).is_none());
    // Closed challenges take no answers.
    assert_eq!(
        h.submit(answer(&h, 1, id, fresh.beacon_id().unwrap())),
        Err(TxError::Challenges(ChallengeError::ChallengeClosed {
            answer_by: record.answer_by
        }))
    );
}

/// An answer heard only by the owner's own devices proves nothing: the challenge is upheld.
#[test]
fn an_answer_heard_only_by_the_owners_devices_does_not_count() {
    let mut h = harness();
    let spoofer = device(KeyScheme::Ed25519, 90);
    register_at(&mut h, 1, &spoofer, ResourceKind::Wireless, brandenburg());
    let own: Vec<DeviceKey> = (91..94).map(|i| device(KeyScheme::Ed25519, i)).collect();
    for (i, w) in own.iter().enumerate() {
        register_at(&mut h, 1, w, ResourceKind::Wireless, berlin(i));
    }
    let neighbour = device(KeyScheme::Ed25519, 94);
    register_at(&mut h, 2, &neighbour, ResourceKind::Wireless, berlin(3));
    let loud = beacon(&h, &spoofer);
    h.execute(vec![Transaction::Device(loud.clone())]);
    let reports = vec![
        witness(&h, &own[0], &loud, -100),
        witness(&h, &neighbour, &loud, -100),
    ];
    assert!(h.execute(reports).receipts.iter().all(|r| r.result.is_ok()));
    // A beacon heard loudly only by the owner's own device is no evidence.
    h.empty_blocks(5);
    let own_only = beacon(&h, &spoofer);
    h.execute(vec![Transaction::Device(own_only.clone())]);
    assert_eq!(h.submit(witness(&h, &own[0], &own_only, -100)), Ok(()));
    assert!(matches!(
        h.submit(challenge(
            &h,
            6,
            &spoofer,
            vec![own_only.beacon_id().unwrap()]
        )),
        Err(TxError::Challenges(ChallengeError::EvidenceNotFound { .. }))
    ));
    let id = next_id(&h, 6);
    assert_eq!(
        h.submit(challenge(&h, 6, &spoofer, vec![loud.beacon_id().unwrap()])),
        Ok(())
    );
    let record = h.state.challenge(&id).unwrap();
    h.advance_to(record.opened_at + 5);
    let fresh = beacon(&h, &spoofer);
    h.execute(vec![Transaction::Device(fresh.clone())]);
    let reports: Vec<Transaction> = own.iter().map(|w| witness(&h, w, &fresh, -125)).collect();
    assert!(h.execute(reports).receipts.iter().all(|r| r.result.is_ok()));
    assert_eq!(
        h.submit(answer(&h, 1, id, fresh.beacon_id().unwrap())),
        Ok(())
    );
    h.advance_to(record.resolves_at);
    let resolved = h.state.challenge(&id).unwrap();
    assert_eq!(resolved.answer_witnesses, 0);
    assert!(matches!(resolved.status, ChallengeStatus::Upheld { .. }));
}

/// The paying harness's 20-block epochs (window 1, coverage half the emission) with challenges
/// on and 30 blocks to answer, so an epoch ends while a challenge is open. Accounts 1..=6.
fn held_harness() -> Harness {
    let mut genesis = genesis_with(paying_harness().state.params().clone(), 6);
    genesis.params.challenges = ChallengeParams {
        bond: Amount(CHALLENGE_BOND),
        answer_window_blocks: 30,
        slash_bps: 5_000,
        min_answer_witnesses: 3,
    };
    Harness::new(&genesis)
}

/// Epoch 0's wireless uptime pool in the paying harness: emission 1 000 003, coverage takes
/// floor(1 000 003 × 5 000 / 10 000) = 500 001, the kinds share 500 002, and wireless weighs
/// 6 000 bps: floor(500 002 × 0.6) = 300 001. A device that is the only one heartbeating earns
/// all of it.
const EPOCH_0_WIRELESS_POOL: u128 = 300_001;

/// Heartbeats `device` in every block up to and including `height`.
fn heartbeat_until(h: &mut Harness, device: &DeviceKey, height: u64) {
    while h.state.height() < height {
        let beat = h.heartbeat(device, 0);
        assert_eq!(h.submit(beat), Ok(()));
    }
}

/// A spoofer challenged early in epoch 0 heartbeats through the epoch. At the epoch's end its
/// uptime share (the whole wireless pool, 300 001) and its coverage share (none: its beacon's
/// report is implausibly loud) are paid into escrow, not to its owner; `explain` says they are
/// held pending the challenge. Nobody answers; the challenge is upheld and what was held goes to
/// the treasury with the slash.
#[test]
fn rewards_earned_under_an_open_challenge_are_held_and_forfeited_when_it_is_upheld() {
    let mut h = held_harness();
    let (spoofer, witnesses, loud) = spoofer_heard_loud(&mut h);
    let id = next_id(&h, 6);
    assert_eq!(
        h.submit(challenge(&h, 6, &spoofer, vec![loud.beacon_id().unwrap()])),
        Ok(())
    );
    let record = h.state.challenge(&id).unwrap();
    assert!(record.resolves_at > 20, "resolves after epoch 0 ends");

    let owner_before = h.balance(&account(1));
    heartbeat_until(&mut h, &spoofer, 20);
    assert_eq!(h.state.epochs_ended(), 1);
    let uptime = h.state.reward(0, &spoofer.id()).expect("an uptime record");
    assert_eq!(uptime.amount.0, EPOCH_0_WIRELESS_POOL);
    let coverage = h
        .state
        .coverage_reward(0, &spoofer.id())
        .expect("its beacon settled")
        .amount;
    // Its beacon's one report is far too loud for its distance, so it earns no coverage units;
    // whatever it earned is held with the rest.
    // Nothing reached the owner; bond and rewards are in escrow.
    assert_eq!(h.balance(&account(1)), owner_before);
    let held = EPOCH_0_WIRELESS_POOL + coverage.0;
    assert_eq!(h.state.chain_info().escrowed.0, CHALLENGE_BOND + held);
    let explained = h.state.explain_device(&spoofer.id(), 0).unwrap();
    let note = explained.held.expect("held rewards explained");
    assert_eq!(note.note.challenge, id);
    assert_eq!(note.note.uptime.0, EPOCH_0_WIRELESS_POOL);
    assert_eq!(note.note.coverage, coverage);
    assert_eq!(note.outcome, groundwork_state::challenge::HeldOutcome::Held);
    assert!(
        note.rule.starts_with("escrowed pending challenge"),
        "{}",
        note.rule
    );
    // The witness that reported it is paid as usual.
    assert!(
        h.state
            .explain_device(&witnesses[0].id(), 0)
            .unwrap()
            .held
            .is_none()
    );

    let treasury_before = h.state.chain_info().treasury.0;
    h.advance_to(record.resolves_at);
    assert!(matches!(
        h.state.challenge(&id).unwrap().status,
        ChallengeStatus::Upheld { .. }
    ));
    // Forfeited: a quarter of the bond (the treasury's half of the slash) plus all that was held.
    assert_eq!(
        h.state.chain_info().treasury.0,
        treasury_before + BOND / 4 + held
    );
    assert_eq!(h.state.chain_info().escrowed.0, 0);
    assert_eq!(h.balance(&account(1)), owner_before);
    let forfeited = h
        .state
        .explain_device(&spoofer.id(), 0)
        .unwrap()
        .held
        .unwrap();
    assert_eq!(
        forfeited.outcome,
        groundwork_state::challenge::HeldOutcome::Forfeited {
            height: record.resolves_at
        }
    );
    assert!(
        forfeited.rule.starts_with("forfeited"),
        "{}",
        forfeited.rule
    );
    // Disputed, it earns nothing in epoch 1 and the explanation names the rule.
    h.advance_to(40);
    assert!(matches!(
        h.state.explain_device(&spoofer.id(), 1),
        Err(groundwork_state::ExplainError::LocationDisputed { challenge, .. }) if challenge == id
    ));
}

/// An honest device falsely challenged early in epoch 0 heartbeats through the epoch: its
/// whole uptime share (300 001) is held at the epoch's end. Its owner answers with a beacon
/// three independent witnesses hear as Berlin's geometry predicts; the challenge is rejected
/// and the owner receives what was held with the challenger's bond.
#[test]
fn rewards_held_for_a_rejected_challenge_are_released_to_the_owner() {
    let mut h = held_harness();
    let (honest, witnesses, old) = honest_heard_loud_by_an_inflater(&mut h);
    let id = next_id(&h, 6);
    assert_eq!(
        h.submit(challenge(&h, 6, &honest, vec![old.beacon_id().unwrap()])),
        Ok(())
    );
    let record = h.state.challenge(&id).unwrap();
    let owner_before = h.balance(&account(1));
    heartbeat_until(&mut h, &honest, 20);
    let coverage = h
        .state
        .coverage_reward(0, &honest.id())
        .map_or(0, |r| r.amount.0);
    let held = EPOCH_0_WIRELESS_POOL + coverage;
    assert_eq!(h.balance(&account(1)), owner_before);
    assert_eq!(h.state.chain_info().escrowed.0, CHALLENGE_BOND + held);

    // The answer: a fresh beacon heard 2-3 km away at about −100 dBm, weaker than typical.
    let fresh = beacon(&h, &honest);
    h.execute(vec![Transaction::Device(fresh.clone())]);
    let reports: Vec<Transaction> = witnesses
        .iter()
        .map(|w| witness(&h, w, &fresh, -100))
        .collect();
    assert!(h.execute(reports).receipts.iter().all(|r| r.result.is_ok()));
    assert_eq!(
        h.submit(answer(&h, 1, id, fresh.beacon_id().unwrap())),
        Ok(())
    );
    let owner_before_resolution = h.balance(&account(1));
    h.advance_to(record.resolves_at);
    assert_eq!(
        h.state.challenge(&id).unwrap().status,
        ChallengeStatus::Rejected
    );
    assert_eq!(
        h.balance(&account(1)),
        owner_before_resolution + CHALLENGE_BOND + held
    );
    assert_eq!(h.state.chain_info().escrowed.0, 0);
    let released = h
        .state
        .explain_device(&honest.id(), 0)
        .unwrap()
        .held
        .unwrap();
    assert_eq!(
        released.outcome,
        groundwork_state::challenge::HeldOutcome::Released {
            height: record.resolves_at
        }
    );
    assert!(released.rule.contains("rejected"), "{}", released.rule);
}
