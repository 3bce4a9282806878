//! Rewards computed by hand for a small fleet, across an epoch boundary and a halving.
//!
//! Test parameters: epochs of 4 blocks, heartbeat windows of 2 blocks (2 windows per epoch),
//! 1 000 003 base units per epoch halving every 2 epochs, pools wireless 60% / storage 30% /
//! sensor 10%.

use crate::common::*;
use groundwork_primitives::{Amount, KeyScheme, ResourceKind};
use groundwork_state::ExplainError;

#[test]
fn fleet_rewards_match_hand_computation_across_a_boundary_and_a_halving() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let w1 = device(KeyScheme::Ed25519, 11);
    let w2 = device(KeyScheme::P256, 12);
    let s1 = device(KeyScheme::Ed25519, 13);

    // Block 1 (window 0): alice registers w1 and s1, bob registers w2.
    let register_w1 = h.register(&alice, &w1, ResourceKind::Wireless);
    let register_w2 = h.register(&bob, &w2, ResourceKind::Wireless);
    let outcome = h.execute(vec![register_w1, register_w2]);
    assert!(outcome.receipts.iter().all(|r| r.result.is_ok()));
    let register_s1 = h.register(&alice, &s1, ResourceKind::Storage);
    // Block 2 (window 0): s1 registers; w1 and w2 heartbeat.
    let outcome = h.execute(vec![register_s1, h.heartbeat(&w1, 1), h.heartbeat(&w2, 1)]);
    assert!(
        outcome.receipts.iter().all(|r| r.result.is_ok()),
        "{:?}",
        outcome.receipts
    );
    // Block 3 (window 1): w1 and s1 heartbeat.
    h.execute(vec![h.heartbeat(&w1, 1), h.heartbeat(&s1, 1)]);
    // Block 4 (window 1, last block of epoch 0): s1 already heartbeat in window 1; nobody else.
    let alice_before = h.balance(&alice);
    let bob_before = h.balance(&bob);
    let treasury_before = h.state.chain_info().treasury.0;
    let outcome = h.execute(Vec::new());
    assert_eq!(outcome.epoch_ended, Some(0));

    // Epoch 0 by hand. Units: w1 = 2, w2 = 1 (wireless total 3), s1 = 1 (storage total 1).
    //   wireless pool = floor(1 000 003 × 6000 / 10000) = 600 001
    //   storage pool  = floor(1 000 003 × 3000 / 10000) = 300 000
    //   sensor pool   = floor(1 000 003 × 1000 / 10000) = 100 000 (no sensors: to treasury)
    //   w1 = floor(600 001 × 2 / 3) = 400 000;  w2 = floor(600 001 × 1 / 3) = 200 000
    //   s1 = floor(300 000 × 1 / 1) = 300 000
    //   treasury = 1 000 003 − 900 000 = 100 003 (sensor pool 100 000, split dust 2, wireless dust 1)
    assert_eq!(h.balance(&alice) - alice_before, 400_000 + 300_000);
    assert_eq!(h.balance(&bob) - bob_before, 200_000);
    assert_eq!(h.state.chain_info().treasury.0 - treasury_before, 100_003);
    let summary = h.state.epoch_summary(0).unwrap();
    assert_eq!(summary.emission, Amount(1_000_003));
    assert_eq!(
        summary.pools[ResourceKind::Wireless.index()],
        Amount(600_001)
    );
    assert_eq!(
        summary.pools[ResourceKind::Storage.index()],
        Amount(300_000)
    );
    assert_eq!(summary.pools[ResourceKind::Sensor.index()], Amount(100_000));
    assert_eq!(summary.paid, Amount(900_000));
    assert_eq!(summary.to_treasury, Amount(100_003));
    assert_eq!(summary.devices_rewarded, 3);
    assert_eq!(h.state.reward(0, &w1.id()).unwrap().amount, Amount(400_000));
    assert_eq!(h.state.reward(0, &w2.id()).unwrap().amount, Amount(200_000));
    assert_eq!(h.state.reward(0, &s1.id()).unwrap().amount, Amount(300_000));

    // Epoch 1 (blocks 5-8): only w2 heartbeats, once: it takes the whole wireless pool.
    h.execute(vec![h.heartbeat(&w2, 1)]);
    h.empty_blocks(2);
    let bob_before = h.balance(&bob);
    let treasury_before = h.state.chain_info().treasury.0;
    assert_eq!(h.execute(Vec::new()).epoch_ended, Some(1));
    assert_eq!(h.balance(&bob) - bob_before, 600_001);
    assert_eq!(
        h.state.chain_info().treasury.0 - treasury_before,
        1_000_003 - 600_001
    );

    // Epoch 2 (blocks 9-12) is past one halving: emission = 1 000 003 >> 1 = 500 001.
    //   wireless pool = floor(500 001 × 0.6) = 300 000; storage = floor(500 001 × 0.3) = 150 000
    //   w1 = w2 = floor(300 000 × 1 / 2) = 150 000; s1 = 150 000
    //   treasury = 500 001 − 450 000 = 50 001
    h.execute(vec![
        h.heartbeat(&w1, 1),
        h.heartbeat(&w2, 1),
        h.heartbeat(&s1, 1),
    ]);
    h.empty_blocks(2);
    let alice_before = h.balance(&alice);
    let bob_before = h.balance(&bob);
    let treasury_before = h.state.chain_info().treasury.0;
    assert_eq!(h.execute(Vec::new()).epoch_ended, Some(2));
    assert_eq!(h.balance(&alice) - alice_before, 150_000 + 150_000);
    assert_eq!(h.balance(&bob) - bob_before, 150_000);
    assert_eq!(h.state.chain_info().treasury.0 - treasury_before, 50_001);
    let summary = h.state.epoch_summary(2).unwrap();
    assert_eq!((summary.emission, summary.halvings), (Amount(500_001), 1));

    // Minted so far: two full epochs and one halved.
    assert_eq!(h.state.chain_info().minted, Amount(1_000_003 * 2 + 500_001));
}

#[test]
fn explain_gives_every_input_and_adds_up_to_the_payment() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let w1 = device(KeyScheme::Ed25519, 11);
    let w2 = device(KeyScheme::Ed25519, 12);
    h.execute(vec![
        h.register(&alice, &w1, ResourceKind::Wireless),
        h.register(&bob, &w2, ResourceKind::Wireless),
    ]);
    h.execute(vec![h.heartbeat(&w1, 1), h.heartbeat(&w2, 1)]);
    h.execute(vec![h.heartbeat(&w1, 1)]);

    assert_eq!(
        h.state.explain(&w1.id(), 0),
        Err(ExplainError::EpochNotEnded {
            epoch: 0,
            current: 0
        })
    );
    h.execute(Vec::new());

    let explanation = h.state.explain(&w1.id(), 0).unwrap();
    assert_eq!(explanation.emission, Amount(1_000_003));
    assert_eq!(explanation.weight_bps, 6_000);
    assert_eq!(explanation.pool, Amount(600_001));
    assert_eq!(
        (explanation.work_units, explanation.kind_total_units),
        (2, 3)
    );
    assert_eq!(explanation.amount, Amount(400_000));
    assert_eq!(explanation.recompute(), Some(explanation.amount));
    assert_eq!(explanation.owner, address(&alice).to_string());
    assert!(
        explanation
            .steps
            .iter()
            .any(|s| s.contains("floor(600001 × 2 / 3) = 400000")),
        "{:#?}",
        explanation.steps
    );

    // Both wireless explanations together account for the pool minus its dust.
    let other = h.state.explain(&w2.id(), 0).unwrap();
    assert_eq!(other.recompute(), Some(other.amount));
    assert_eq!(explanation.amount.0 + other.amount.0 + 1, 600_001);

    // A device with no work in an epoch has nothing to explain.
    let idle = device(KeyScheme::Ed25519, 13);
    assert!(matches!(
        h.state.explain(&idle.id(), 0),
        Err(ExplainError::NoReward { .. })
    ));
}

#[test]
fn emission_stops_after_enough_halvings() {
    let mut p = params();
    p.core.halving_interval_epochs = 1;
    p.core.initial_emission_per_epoch = Amount(5);
    let mut h = Harness::new(&genesis_with(p, 2));
    // Epoch emissions 5, 2, 1, 0, 0: the treasury receives all of it (no devices).
    h.advance_to(20);
    assert_eq!(h.state.chain_info().minted, Amount(5 + 2 + 1));
    assert_eq!(h.state.chain_info().treasury, Amount(8));
}
