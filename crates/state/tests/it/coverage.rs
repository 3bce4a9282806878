//! Beacons and witness reports: every check, with its named reason and numbers, and the state
//! left unchanged by a refused report.
//!
//! Places (asserted res-12 cells): a beaconer at Berlin's Alexanderplatz; witnesses 2.1 km east
//! (Friedrichshain), 80 m away (too close), in Hamburg (about 255 km, too far).
//! Free space at 2.1 km and 904.6 MHz: FSPL = 20·log10(4π·2100·904.6e6 / 2.998e8) ≈ 98.0 dB, so
//! with 27 dBm, +1.2 dBi (floored to 1) and 0 dBi the strongest possible RSSI is ≈ −70 dBm.

use crate::common::*;
use groundwork_primitives::{
    BeaconRadio, Cell, CoreCall, CoverageReport, DeviceKey, DeviceTransaction, KeyScheme,
    ResourceKind, Transaction, WitnessReading,
};
use groundwork_state::coverage::MAX_REWARDED_WITNESSES;
use groundwork_state::{CoreError, CoverageError};
use groundwork_state::{CoverageParams, TxError};

pub(crate) const RADIO: BeaconRadio = BeaconRadio {
    tx_power_dbm: 27,
    frequency_hz: 904_600_000,
    antenna_gain_ddbi: 12,
};

pub(crate) fn reading(rssi_dbm: i16) -> WitnessReading {
    WitnessReading {
        rssi_dbm,
        snr_cdb: -500,
        frequency_hz: 904_600_000,
        antenna_gain_ddbi: 0,
    }
}

fn coverage_harness() -> Harness {
    let mut p = params();
    p.coverage = CoverageParams {
        share_bps: 0,
        witness_share_bps: 8_000,
        beacon_interval_blocks: 5,
        witness_window_blocks: 10,
        reciprocity_window_blocks: 100,
    };
    p.core.epoch_length_blocks = 100;
    p.core.heartbeat_window_blocks = 1;
    Harness::new(&genesis_with(p, 4))
}

/// 20-block epochs paying half the emission for coverage, 80 % of it to witnesses.
pub(crate) fn paying_harness() -> Harness {
    let mut p = params();
    p.core.epoch_length_blocks = 20;
    p.core.heartbeat_window_blocks = 1;
    p.coverage = CoverageParams {
        share_bps: 5_000,
        witness_share_bps: 8_000,
        beacon_interval_blocks: 5,
        witness_window_blocks: 2,
        reciprocity_window_blocks: 100,
    };
    Harness::new(&genesis_with(p, 4))
}

pub(crate) fn register_at(
    h: &mut Harness,
    owner: u64,
    device: &DeviceKey,
    kind: ResourceKind,
    at: Cell,
) {
    let owner_key = account(owner);
    let action = CoreCall::register_device(&h.chain, &address(&owner_key), device, kind, at);
    assert_eq!(h.submit(h.signed(&owner_key, action)), Ok(()));
}

pub(crate) fn beacon(h: &Harness, device: &DeviceKey) -> DeviceTransaction {
    let entropy = h.state.recent_block(h.state.height()).unwrap();
    CoverageReport::sign_beacon(device, &h.chain, entropy, RADIO)
}

pub(crate) fn witness(
    h: &Harness,
    device: &DeviceKey,
    beacon: &DeviceTransaction,
    rssi: i16,
) -> Transaction {
    Transaction::Device(CoverageReport::sign_witness(
        device,
        &h.chain,
        beacon.beacon_id().unwrap(),
        reading(rssi),
    ))
}

struct Scene {
    h: Harness,
    beaconer: DeviceKey,
    near: DeviceKey,
    too_close: DeviceKey,
    too_far: DeviceKey,
    sensor: DeviceKey,
}

fn scene() -> Scene {
    let mut h = coverage_harness();
    let beaconer = device(KeyScheme::Ed25519, 10);
    let near = device(KeyScheme::P256, 11);
    let too_close = device(KeyScheme::Ed25519, 12);
    let too_far = device(KeyScheme::Ed25519, 13);
    let sensor = device(KeyScheme::Ed25519, 14);
    register_at(
        &mut h,
        1,
        &beaconer,
        ResourceKind::Wireless,
        cell(52.5219, 13.4132),
    );
    register_at(
        &mut h,
        2,
        &near,
        ResourceKind::Wireless,
        cell(52.5219, 13.4442),
    );
    register_at(
        &mut h,
        3,
        &too_close,
        ResourceKind::Wireless,
        cell(52.5226, 13.4135),
    );
    register_at(
        &mut h,
        4,
        &too_far,
        ResourceKind::Wireless,
        cell(53.5511, 9.9937),
    );
    register_at(
        &mut h,
        2,
        &sensor,
        ResourceKind::Sensor,
        cell(52.5219, 13.4442),
    );
    Scene {
        h,
        beaconer,
        near,
        too_close,
        too_far,
        sensor,
    }
}

#[test]
fn a_valid_beacon_and_witness_are_recorded_with_their_numbers() {
    let mut s = scene();
    let b = beacon(&s.h, &s.beaconer);
    assert_eq!(s.h.submit(Transaction::Device(b.clone())), Ok(()));
    let record =
        s.h.state
            .beacon(&b.beacon_id().unwrap())
            .expect("beacon stored");
    assert_eq!(record.beaconer, s.beaconer.id());
    assert_eq!(record.witnesses, 0);

    // A P-256 witness 2.1 km away hears it at -95 dBm: weaker than free space, so valid.
    assert_eq!(s.h.submit(witness(&s.h, &s.near, &b, -95)), Ok(()));
    let stored =
        s.h.state
            .witness_record(&b.beacon_id().unwrap(), 0)
            .expect("witness stored");
    assert_eq!(stored.witness, s.near.id());
    assert!(
        (2_000..2_200).contains(&stored.distance_m),
        "{}",
        stored.distance_m
    );
    assert!(
        stored.grid_distance_res11 >= 8,
        "{}",
        stored.grid_distance_res11
    );
    // ≈ −70 dBm allowed (see the module comment); within a dB of the hand computation.
    assert!(
        (-7_100..=-6_900).contains(&stored.max_rssi_cdbm),
        "{}",
        stored.max_rssi_cdbm
    );
    assert_eq!(
        s.h.state.beacon(&b.beacon_id().unwrap()).unwrap().witnesses,
        1
    );
    let beaconer = s.h.state.coverage_activity(&s.beaconer.id());
    let near = s.h.state.coverage_activity(&s.near.id());
    assert_eq!(beaconer.last_witnessed_height, near.last_witness_height);
    assert!(beaconer.last_beacon_height.is_some());
}

#[test]
fn every_witness_check_names_its_reason_and_changes_nothing() {
    let mut s = scene();
    let b = beacon(&s.h, &s.beaconer);
    assert_eq!(s.h.submit(Transaction::Device(b.clone())), Ok(()));

    // Self-witness.
    s.h.assert_rejected(
        witness(&s.h, &s.beaconer, &b, -95),
        TxError::Coverage(CoverageError::SelfWitness),
    );
    // Too close: 80 m apart is a res-11 grid distance well under 8.
    let Err(TxError::Coverage(CoverageError::WitnessTooClose { grid_distance, min })) =
        s.h.submit(witness(&s.h, &s.too_close, &b, -60))
    else {
        panic!("expected WitnessTooClose")
    };
    assert!(grid_distance < 8 && min == 8, "{grid_distance}");
    // Too far: Hamburg.
    let result = s.h.submit(witness(&s.h, &s.too_far, &b, -120));
    let Err(TxError::Coverage(CoverageError::WitnessTooFar { meters, max })) = result else {
        panic!("expected WitnessTooFar, got {result:?}")
    };
    assert!(
        (250_000..260_000).contains(&meters) && max == 100_000,
        "{meters}"
    );
    // Stronger than free space allows.
    let Err(TxError::Coverage(CoverageError::RssiTooStrong {
        rssi_dbm,
        max_cdbm,
        meters,
    })) = s.h.submit(witness(&s.h, &s.near, &b, -50))
    else {
        panic!("expected RssiTooStrong")
    };
    assert_eq!(rssi_dbm, -50);
    assert!(max_cdbm < -5_000 && meters > 2_000);
    // Another frequency.
    let mut off = reading(-95);
    off.frequency_hz += 100_001;
    let tx = Transaction::Device(CoverageReport::sign_witness(
        &s.near,
        &s.h.chain,
        b.beacon_id().unwrap(),
        off,
    ));
    s.h.assert_rejected(
        tx,
        TxError::Coverage(CoverageError::FrequencyMismatch {
            delta_hz: 100_001,
            max_hz: 100_000,
        }),
    );
    // Exactly 100 kHz off is still the same channel.
    let mut edge = reading(-95);
    edge.frequency_hz -= 100_000;
    let tx = Transaction::Device(CoverageReport::sign_witness(
        &s.near,
        &s.h.chain,
        b.beacon_id().unwrap(),
        edge,
    ));
    assert_eq!(s.h.submit(tx), Ok(()));
    // Twice.
    s.h.assert_rejected(
        witness(&s.h, &s.near, &b, -96),
        TxError::Coverage(CoverageError::DuplicateWitness),
    );
    // Not a wireless device.
    let Err(TxError::Coverage(CoverageError::NotWireless { .. })) =
        s.h.submit(witness(&s.h, &s.sensor, &b, -95))
    else {
        panic!("expected NotWireless")
    };
    // An unknown beacon.
    let ghost = CoverageReport::sign_beacon(
        &s.near,
        &s.h.chain,
        groundwork_primitives::hash(b"x"),
        RADIO,
    );
    let Err(TxError::Coverage(CoverageError::UnknownBeacon { .. })) =
        s.h.submit(witness(&s.h, &s.too_far, &ghost, -95))
    else {
        panic!("expected UnknownBeacon")
    };
    // Late: more than 10 blocks after the beacon.
    s.h.empty_blocks(10);
    let Err(TxError::Coverage(CoverageError::LateWitness { max_blocks: 10, .. })) =
        s.h.submit(witness(&s.h, &s.too_far, &b, -95))
    else {
        panic!("expected LateWitness")
    };
}

#[test]
fn beacons_respect_the_interval_and_need_fresh_entropy() {
    let mut s = scene();
    let first = beacon(&s.h, &s.beaconer);
    assert_eq!(s.h.submit(Transaction::Device(first.clone())), Ok(()));
    let beaconed_at = s.h.state.height();
    // Again on the same block: the same payload.
    s.h.assert_rejected(
        Transaction::Device(first),
        TxError::Coverage(CoverageError::DuplicateBeacon),
    );
    // A new block, but inside the 5-block interval.
    let soon = beacon(&s.h, &s.beaconer);
    s.h.assert_rejected(
        Transaction::Device(soon),
        TxError::Coverage(CoverageError::BeaconTooSoon {
            last_height: beaconed_at,
            next_height: beaconed_at + 5,
        }),
    );
    // Stale entropy: a block older than the allowed age (3).
    s.h.advance_to(beaconed_at + 6);
    let old = s.h.state.recent_block(s.h.state.height() - 4).unwrap();
    let stale = CoverageReport::sign_beacon(&s.beaconer, &s.h.chain, old, RADIO);
    let Err(TxError::Core(CoreError::StaleBlockHash { age: 5, .. })) =
        s.h.submit(Transaction::Device(stale))
    else {
        panic!("expected StaleBlockHash")
    };
    // A sensor cannot beacon.
    let Err(TxError::Coverage(CoverageError::NotWireless { .. })) =
        s.h.submit(Transaction::Device(beacon(&s.h, &s.sensor)))
    else {
        panic!("expected NotWireless")
    };
    // After the interval, with fresh entropy, it can.
    assert_eq!(
        s.h.submit(Transaction::Device(beacon(&s.h, &s.beaconer))),
        Ok(())
    );
}

#[test]
fn only_the_first_valid_witnesses_count() {
    let mut h = coverage_harness();
    let beaconer = device(KeyScheme::Ed25519, 20);
    register_at(
        &mut h,
        1,
        &beaconer,
        ResourceKind::Wireless,
        cell(52.5219, 13.4132),
    );
    // Fifteen witnesses on a ring about 3 km out, all honest.
    let witnesses: Vec<DeviceKey> = (0..=MAX_REWARDED_WITNESSES)
        .map(|i| device(KeyScheme::Ed25519, 100 + u64::from(i)))
        .collect();
    for (i, w) in witnesses.iter().enumerate() {
        let angle = i as f64 * std::f64::consts::TAU / witnesses.len() as f64;
        let at = cell(52.5219 + 0.027 * angle.cos(), 13.4132 + 0.044 * angle.sin());
        register_at(&mut h, 2, w, ResourceKind::Wireless, at);
    }
    let b = beacon(&h, &beaconer);
    let mut block = vec![Transaction::Device(b.clone())];
    let (counted, late) = witnesses.split_at(usize::from(MAX_REWARDED_WITNESSES));
    block.extend(counted.iter().map(|w| witness(&h, w, &b, -110)));
    let outcome = h.execute(block);
    assert!(outcome.receipts.iter().all(|r| r.result.is_ok()));
    // One more is a report that fails, so no block may carry it.
    h.assert_unincludable(
        witness(&h, &late[0], &b, -110),
        TxError::Coverage(CoverageError::WitnessLimitReached {
            max: MAX_REWARDED_WITNESSES,
        }),
    );
    assert_eq!(
        h.state.beacon(&b.beacon_id().unwrap()).unwrap().witnesses,
        MAX_REWARDED_WITNESSES
    );
}

/// Two wireless devices beacon and witness each other; a third only witnesses. At the epoch's
/// end the coverage pool (half the emission) splits 20/80 between beaconers and witnesses by
/// HIP-15 units × hex scale, and the third device, whose own beacon nobody witnessed, fails
/// reciprocity and earns nothing. Amounts computed by hand:
///
/// - emission 1 000 003 → coverage pool floor(1 000 003 × 5000 / 10000) = 500 001;
///   witness pool floor(500 001 × 8000 / 10000) = 400 000; beacon pool 100 001.
/// - each beacon has 2 witnesses: beacon unit 0.5, witness unit 1; every location's scale 1
///   (three devices kilometres apart clip nowhere).
/// - beacon units: A 0.5, B 0.5 → each floor(100 001 × ½) = 50 000.
/// - witness units: A 1 (for B's beacon), B 1 (for A's), C 0 (reciprocity) → each 200 000.
#[test]
fn coverage_rewards_follow_units_scales_and_reciprocity() {
    let mut h = paying_harness();
    let a = device(KeyScheme::Ed25519, 30);
    let b = device(KeyScheme::Ed25519, 31);
    let c = device(KeyScheme::P256, 32);
    register_at(
        &mut h,
        1,
        &a,
        ResourceKind::Wireless,
        cell(52.5219, 13.4132),
    );
    register_at(
        &mut h,
        2,
        &b,
        ResourceKind::Wireless,
        cell(52.5219, 13.4562),
    );
    register_at(
        &mut h,
        3,
        &c,
        ResourceKind::Wireless,
        cell(52.5489, 13.4132),
    );

    // A beacons; B and C witness. Then B beacons; A and C witness.
    let beacon_a = beacon(&h, &a);
    let block = vec![Transaction::Device(beacon_a.clone())];
    assert!(h.execute(block).receipts.iter().all(|r| r.result.is_ok()));
    let block = vec![
        witness(&h, &b, &beacon_a, -100),
        witness(&h, &c, &beacon_a, -100),
    ];
    assert!(h.execute(block).receipts.iter().all(|r| r.result.is_ok()));
    let beacon_b = beacon(&h, &b);
    let block = vec![Transaction::Device(beacon_b.clone())];
    assert!(h.execute(block).receipts.iter().all(|r| r.result.is_ok()));
    let block = vec![
        witness(&h, &a, &beacon_b, -100),
        witness(&h, &c, &beacon_b, -100),
    ];
    assert!(h.execute(block).receipts.iter().all(|r| r.result.is_ok()));

    h.advance_to(19);
    let before: Vec<u128> = (1..=3).map(|i| h.balance(&account(i))).collect();
    let outcome = h.execute(Vec::new());
    assert_eq!(outcome.epoch_ended, Some(0));
    let after: Vec<u128> = (1..=3).map(|i| h.balance(&account(i))).collect();
    assert_eq!(
        after[0] - before[0],
        250_000,
        "A: 50 000 as beaconer + 200 000 as witness"
    );
    assert_eq!(after[1] - before[1], 250_000, "B: the same");
    assert_eq!(after[2] - before[2], 0, "C failed reciprocity");

    let summary = h.state.coverage_summary(0).unwrap();
    assert_eq!(summary.pool.0, 500_001);
    assert_eq!(summary.witness_pool.0, 400_000);
    assert_eq!(summary.beacon_pool.0, 100_001);
    assert_eq!(summary.beacons, 2);
    assert_eq!(summary.paid.0, 500_000);
    let reward_c = h.state.coverage_reward(0, &c.id()).unwrap();
    assert_eq!(reward_c.reciprocity_misses, 2);
    assert_eq!(reward_c.amount.0, 0);
    let reward_a = h.state.coverage_reward(0, &a.id()).unwrap();
    assert_eq!((reward_a.beacons, reward_a.witnesses), (1, 1));
    assert_eq!(reward_a.beacon_units, 5_000 * 10_000);
    assert_eq!(reward_a.witness_units, 10_000 * 10_000);
    // The explanation lists A's two shares with their numbers and adds up to what was paid.
    let explained = h.state.explain_coverage(&a.id(), 0).unwrap();
    assert_eq!(explained.recomputed, reward_a.amount);
    assert_eq!(explained.shares.len(), 2);
    let as_witness = explained.shares.iter().find(|s| !s.as_beaconer).unwrap();
    assert_eq!((as_witness.unit, as_witness.hex_scale), (10_000, 10_000));
    let report = as_witness.report.as_ref().unwrap();
    assert!(
        (2_800..3_100).contains(&report.distance_m),
        "{}",
        report.distance_m
    );
    // Each check the report passed comes with its number and its limit, built in state.
    let distance = as_witness
        .checks
        .iter()
        .find(|c| c.check == "distance at most 100 km")
        .unwrap();
    assert_eq!(
        distance.measured,
        Some(("meters", i64::from(report.distance_m)))
    );
    assert_eq!(distance.limit, Some(("max", 100_000)));
    assert_eq!(as_witness.checks.len(), 7);
    assert!(
        explained
            .shares
            .iter()
            .any(|s| s.as_beaconer && s.checks.is_empty())
    );
    let paid = format!("coverage reward = {} base units", reward_a.amount);
    assert!(
        explained.steps.iter().any(|s| s.starts_with(&paid)),
        "{:?}",
        explained.steps
    );
    let explained_c = h.state.explain_coverage(&c.id(), 0).unwrap();
    assert!(
        explained_c
            .shares
            .iter()
            .all(|s| !s.reciprocity && s.units == 0)
    );
    // The epoch summary counts coverage in what was paid; the rest went to the treasury.
    let epoch = h.state.epoch_summary(0).unwrap();
    assert_eq!(epoch.paid.0, 500_000);
    assert_eq!(epoch.to_treasury.0, 1_000_003 - 500_000);
}

/// Three wireless devices of owner 1 a few km apart in Berlin, each beaconing once and heard
/// by the other two at −100 dBm: a closed ring.
fn closed_ring_of_owner_1(h: &mut Harness) -> Vec<DeviceKey> {
    let ring: Vec<DeviceKey> = (40..43).map(|i| device(KeyScheme::Ed25519, i)).collect();
    let places = [(52.5219, 13.4132), (52.5219, 13.4562), (52.5489, 13.4132)];
    for (key, (lat, lng)) in ring.iter().zip(places) {
        register_at(h, 1, key, ResourceKind::Wireless, cell(lat, lng));
    }
    for (i, beaconer) in ring.iter().enumerate() {
        let b = beacon(h, beaconer);
        h.execute(vec![Transaction::Device(b.clone())]);
        let reports: Vec<Transaction> = ring
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, w)| witness(h, w, &b, -100))
            .collect();
        assert!(h.execute(reports).receipts.iter().all(|r| r.result.is_ok()));
    }
    ring
}

/// The closed ring of [`closed_ring_of_owner_1`] and one honest wireless device of another
/// owner; all four heartbeat in every block from the ring's last report to the epoch's end, so
/// each covers the same n windows. A device a coverage rule judges earns no wireless uptime
/// share: the ring's three shares are withheld (0, `withheld` naming the rule), and the honest
/// device gets its own floor(300 001 × n / 4n) = 75 000, as if the ring had been paid (the pool
/// is not shared out again). Epoch 0's wireless pool: floor((1 000 003 − 500 001) × 0.6) =
/// 300 001.
#[test]
fn a_ring_member_earns_no_wireless_uptime_share_and_explain_says_why() {
    let mut h = paying_harness();
    let ring = closed_ring_of_owner_1(&mut h);
    let honest = device(KeyScheme::Ed25519, 44);
    register_at(
        &mut h,
        2,
        &honest,
        ResourceKind::Wireless,
        cell(52.4950, 13.4132),
    );
    while h.state.height() < 20 {
        let beats: Vec<Transaction> = ring
            .iter()
            .chain([&honest])
            .map(|d| h.heartbeat(d, 0))
            .collect();
        assert!(h.execute(beats).receipts.iter().all(|r| r.result.is_ok()));
    }
    let honest_reward = h.state.reward(0, &honest.id()).unwrap();
    assert_eq!(honest_reward.kind_total_units, 4 * honest_reward.work_units);
    assert_eq!(honest_reward.amount.0, 75_000);
    assert_eq!(honest_reward.withheld, None);
    for key in &ring {
        let record = h.state.reward(0, &key.id()).unwrap();
        assert_eq!(record.work_units, honest_reward.work_units);
        assert_eq!(record.amount.0, 0);
        assert_eq!(
            record.withheld,
            Some(groundwork_state::coverage::CollusionRule::ClosedRing)
        );
        let explained = h.state.explain(&key.id(), 0).unwrap();
        assert_eq!(
            explained.recompute(),
            Some(groundwork_primitives::Amount::ZERO)
        );
        let last = explained.steps.last().unwrap();
        assert!(
            last.starts_with("withheld:") && last.contains("closed ring"),
            "{last}"
        );
    }
    // What the ring would have had goes to the treasury with the unpaid rest.
    let epoch = h.state.epoch_summary(0).unwrap();
    assert_eq!(epoch.paid.0, 75_000);
    assert_eq!(epoch.to_treasury.0, 1_000_003 - 75_000);
}

/// Two wireless devices asserting the same cell and a third elsewhere heartbeat in the same n
/// windows. Each earns floor(300 001 × n / 3n) = 100 000 of epoch 0's wireless pool, but a
/// pile on one spot covers what one device there covers: the two share one share, 50 000
/// each, and the explanation says so. The third keeps its 100 000; the rest goes to the
/// treasury.
#[test]
fn wireless_devices_asserting_one_cell_share_one_uptime_share() {
    let mut h = paying_harness();
    let pile: Vec<DeviceKey> = (50..52).map(|i| device(KeyScheme::Ed25519, i)).collect();
    for key in &pile {
        register_at(
            &mut h,
            1,
            key,
            ResourceKind::Wireless,
            cell(52.5219, 13.4132),
        );
    }
    let alone = device(KeyScheme::Ed25519, 52);
    register_at(
        &mut h,
        2,
        &alone,
        ResourceKind::Wireless,
        cell(52.4950, 13.4132),
    );
    while h.state.height() < 20 {
        let beats: Vec<Transaction> = pile
            .iter()
            .chain([&alone])
            .map(|d| h.heartbeat(d, 0))
            .collect();
        assert!(h.execute(beats).receipts.iter().all(|r| r.result.is_ok()));
    }
    let lone = h.state.reward(0, &alone.id()).unwrap();
    assert_eq!(lone.kind_total_units, 3 * lone.work_units);
    assert_eq!((lone.amount.0, lone.co_located), (100_000, 1));
    for key in &pile {
        let record = h.state.reward(0, &key.id()).unwrap();
        assert_eq!((record.amount.0, record.co_located), (50_000, 2));
        let explained = h.state.explain(&key.id(), 0).unwrap();
        assert_eq!(explained.recompute(), Some(record.amount));
        let last = explained.steps.last().unwrap();
        assert!(
            last.starts_with("2 wireless devices with work assert"),
            "{last}"
        );
    }
    let epoch = h.state.epoch_summary(0).unwrap();
    assert_eq!(epoch.paid.0, 200_000);
    assert_eq!(epoch.to_treasury.0, 1_000_003 - 200_000);
}

/// Three devices of one owner witness only one another: a closed ring. Their reports pass every
/// physical check but are excluded at settlement, so the ring earns nothing, and the
/// explanation names the rule. The same reports from three independent owners would count
/// (see `coverage_rewards_follow_units_scales_and_reciprocity`).
#[test]
fn a_closed_ring_of_one_owner_earns_nothing_and_explain_names_the_rule() {
    let mut h = paying_harness();
    let ring = closed_ring_of_owner_1(&mut h);
    h.advance_to(20);
    for key in &ring {
        let reward = h.state.coverage_reward(0, &key.id()).unwrap();
        assert_eq!(reward.amount.0, 0, "a ring member was paid");
        assert_eq!(reward.collusion_exclusions, 2);
        let explained = h.state.explain_coverage(&key.id(), 0).unwrap();
        let rules: Vec<_> = explained
            .shares
            .iter()
            .filter(|s| !s.as_beaconer)
            .map(|s| s.excluded.map(|r| r.name()))
            .collect();
        assert_eq!(rules, vec![Some("closed ring"); 2]);
    }
    assert_eq!(h.state.coverage_summary(0).unwrap().paid.0, 0);
}

/// Three beaconers in Berlin, each heard by two of the others at about −105 dBm and by an
/// inflater that reports −80 dBm from a similar distance. Brought to 100 m along the typical
/// slope, the inflater's reports stand ≈ 25 dB above the median of the others, every time: it
/// is out of line, and all its shares (its own beacon's too) are left out by name, while the
/// honest devices are paid as if it had not reported.
#[test]
fn a_device_whose_reports_are_out_of_line_with_its_peers_earns_nothing() {
    let mut h = paying_harness();
    let places = [
        (52.5219, 13.4132),
        (52.5219, 13.4442),
        (52.5489, 13.4132),
        (52.4950, 13.4132),
    ];
    let keys: Vec<DeviceKey> = (50..54).map(|i| device(KeyScheme::Ed25519, i)).collect();
    for (i, (key, (lat, lng))) in keys.iter().zip(places).enumerate() {
        register_at(
            &mut h,
            1 + i as u64,
            key,
            ResourceKind::Wireless,
            cell(lat, lng),
        );
    }
    let inflater = &keys[3];
    for b in 0..4 {
        let beacon_tx = beacon(&h, &keys[b]);
        h.execute(vec![Transaction::Device(beacon_tx.clone())]);
        let reports: Vec<Transaction> = (0..4)
            .filter(|w| *w != b)
            .map(|w| {
                let rssi = if w == 3 { -80 } else { -105 };
                witness(&h, &keys[w], &beacon_tx, rssi)
            })
            .collect();
        let outcome = h.execute(reports);
        assert!(
            outcome.receipts.iter().all(|r| r.result.is_ok()),
            "{:?}",
            outcome.receipts
        );
    }
    h.advance_to(20);
    let reward = h.state.coverage_reward(0, &inflater.id()).unwrap();
    assert_eq!(reward.amount.0, 0);
    assert_eq!((reward.peers.comparable, reward.peers.deviant), (3, 3));
    assert!(reward.peers.out_of_line());
    // One beacon and three reports, all left out.
    assert_eq!(reward.collusion_exclusions, 4);
    let explained = h.state.explain_coverage(&inflater.id(), 0).unwrap();
    assert_eq!(explained.shares.len(), 4);
    for share in &explained.shares {
        assert_eq!(
            share.excluded.map(|r| r.name()),
            Some("reports out of line with the other witnesses")
        );
        assert_eq!(share.units, 0);
        if let Some(deviation) = share.peer_deviation_cdb {
            assert!((2_000..3_500).contains(&deviation), "{deviation}");
        }
    }
    // The honest devices are in line and paid for all their shares; each beacon counts only
    // its two honest witnesses.
    for key in &keys[..3] {
        let reward = h.state.coverage_reward(0, &key.id()).unwrap();
        assert_eq!(
            reward.collusion_exclusions, 0,
            "an honest device was left out"
        );
        assert!(!reward.peers.out_of_line());
        assert!(reward.amount.0 > 0);
        let explained = h.state.explain_coverage(&key.id(), 0).unwrap();
        assert_eq!(explained.recomputed, reward.amount);
        for share in explained.shares.iter().filter(|s| s.as_beaconer) {
            assert_eq!(share.witnesses, 2);
        }
        for share in explained.shares.iter().filter(|s| !s.as_beaconer) {
            let deviation = share.peer_deviation_cdb.unwrap();
            assert!(
                !groundwork_state::coverage::deviates(deviation),
                "{share:?}"
            );
        }
    }
}

/// Three devices of three owners (so not a closed ring) beacon four times each in an epoch and
/// report one another with the same −100 dBm every time; a fourth pair's signal varies. The
/// steady pairs are left out by name; the varying one counts.
#[test]
fn pairs_whose_signal_never_varies_are_left_out() {
    // 40-block epochs, so four beacon rounds settle in the first.
    let mut params = paying_harness().state.params().clone();
    params.core.epoch_length_blocks = 40;
    let mut h = Harness::new(&genesis_with(params, 4));
    let places = [(52.5219, 13.4132), (52.5219, 13.4562), (52.5489, 13.4132)];
    let keys: Vec<DeviceKey> = (60..63).map(|i| device(KeyScheme::Ed25519, i)).collect();
    for (i, (key, (lat, lng))) in keys.iter().zip(places).enumerate() {
        register_at(
            &mut h,
            1 + i as u64,
            key,
            ResourceKind::Wireless,
            cell(lat, lng),
        );
    }
    for round in 0..4i16 {
        let beacons: Vec<DeviceTransaction> = keys.iter().map(|k| beacon(&h, k)).collect();
        let block = beacons.iter().cloned().map(Transaction::Device).collect();
        assert!(h.execute(block).receipts.iter().all(|r| r.result.is_ok()));
        let mut reports = Vec::new();
        for (b, beacon_tx) in beacons.iter().enumerate() {
            for (w, key) in keys.iter().enumerate() {
                if w == b {
                    continue;
                }
                // Device 2's reports of device 0 vary; every other pair is fixed.
                let rssi = if (b, w) == (0, 2) { -100 - round } else { -100 };
                reports.push(witness(&h, key, beacon_tx, rssi));
            }
        }
        assert!(h.execute(reports).receipts.iter().all(|r| r.result.is_ok()));
        h.empty_blocks(3);
    }
    h.advance_to(40);
    let explained = h.state.explain_coverage(&keys[2].id(), 0).unwrap();
    let steady = Some("implausibly consistent RSSI for the pair");
    for share in explained.shares.iter().filter(|s| !s.as_beaconer) {
        let beaconer = h.state.beacon(&share.beacon).unwrap().beaconer;
        let expected = if beaconer == keys[0].id() {
            None
        } else {
            steady
        };
        assert_eq!(share.excluded.map(|r| r.name()), expected, "{share:?}");
    }
    let explained = h.state.explain_coverage(&keys[1].id(), 0).unwrap();
    assert!(
        explained
            .shares
            .iter()
            .filter(|s| !s.as_beaconer)
            .all(|s| s.excluded.map(|r| r.name()) == steady)
    );
    assert_eq!(
        h.state
            .coverage_reward(0, &keys[1].id())
            .unwrap()
            .collusion_exclusions,
        8
    );
}
