//! The happy paths of every transaction, with balances checked to the base unit.

use crate::common::*;
use groundwork_primitives::{Amount, CoreCall, CreditsCall, KeyScheme, OracleCall, ResourceKind};
use groundwork_state::DeviceStatus;

#[test]
fn transfer_moves_tokens_and_pays_the_fee_to_the_treasury() {
    let mut h = Harness::standard();
    let (alice, carol) = (account(1), account(50));
    assert_eq!(
        h.submit(h.transfer(&alice, address(&carol), 12_345)),
        Ok(())
    );
    assert_eq!(h.balance(&alice), START_BALANCE - 12_345 - FEE);
    assert_eq!(h.balance(&carol), 12_345);
    assert_eq!(h.nonce(&alice), 1);
    assert_eq!(h.state.chain_info().treasury, Amount(FEE));
}

#[test]
fn transactions_from_one_account_in_one_block_apply_in_nonce_order() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let first = h.transfer(&alice, address(&bob), 1);
    let groundwork_primitives::Transaction::Account(mut second) =
        h.transfer(&alice, address(&bob), 2)
    else {
        unreachable!()
    };
    second = groundwork_primitives::AccountTransaction::sign(
        &alice,
        &h.chain,
        1,
        h.valid_until(),
        second.call,
    );
    let outcome = h.execute(vec![
        first,
        groundwork_primitives::Transaction::Account(second),
    ]);
    assert!(outcome.receipts.iter().all(|r| r.result.is_ok()));
    assert_eq!(h.balance(&bob), START_BALANCE + 3);
}

#[test]
fn burning_for_credits_mints_credits_and_shrinks_supply() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    // Alice is the test chain's oracle: $2.50 a token.
    let price = h.signed(
        &alice,
        OracleCall::SubmitPrice {
            micro_usd_per_token: 2_500_000,
        },
    );
    assert_eq!(h.submit(price), Ok(()));
    let tx = h.signed(
        &alice,
        CreditsCall::Buy {
            recipient: address(&bob),
            credits: 100,
        },
    );
    assert_eq!(h.submit(tx), Ok(()));
    // 100 credits × $0.00001 = $0.001 = 0.0004 tokens at $2.50 = 400 base units.
    let cost = 400;
    assert_eq!(h.balance(&alice), START_BALANCE - cost - 2 * FEE);
    assert_eq!(h.state.account(&address(&bob)).credits, 100);
    assert_eq!(h.state.chain_info().burned, Amount(cost));
    assert_eq!(
        h.state.chain_info().total_supply(),
        Some(Amount(4 * START_BALANCE - cost))
    );
    let totals = h.state.credit_totals();
    assert_eq!(
        (totals.minted, totals.spent, totals.outstanding()),
        (100, 0, 100)
    );
    assert_eq!(totals.tokens_burned, Amount(cost));
}

#[test]
fn device_lifecycle_locks_moves_transfers_and_returns_the_bond() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let meter = device(KeyScheme::P256, 9);
    assert_eq!(
        h.submit(h.register(&alice, &meter, ResourceKind::Energy)),
        Ok(())
    );
    let record = h.state.device(&meter.id()).unwrap();
    assert_eq!(
        (record.owner, record.status, record.bond),
        (address(&alice), DeviceStatus::Active, Amount(BOND))
    );
    assert_eq!(h.balance(&alice), START_BALANCE - BOND - FEE);
    assert_eq!(h.state.chain_info().bonded, Amount(BOND));

    let there = cell(-33.8688, 151.2093);
    assert_eq!(
        h.submit(h.signed(
            &alice,
            CoreCall::AssertLocation {
                device: meter.id(),
                location: there
            }
        )),
        Ok(())
    );
    assert_eq!(h.state.device(&meter.id()).unwrap().location, there);

    let give = CoreCall::TransferDevice {
        device: meter.id(),
        new_owner: address(&bob),
    };
    assert_eq!(h.submit(h.signed(&alice, give)), Ok(()));
    assert_eq!(h.state.device(&meter.id()).unwrap().owner, address(&bob));

    // Decommissioned at height 4 (epoch 0): unbonding 1 epoch, so the bond returns to the
    // current owner at the end of epoch 1 (height 8).
    assert_eq!(h.state.height(), 3);
    let retire = CoreCall::DecommissionDevice { device: meter.id() };
    assert_eq!(h.submit(h.signed(&bob, retire)), Ok(()));
    assert_eq!(
        h.state.device(&meter.id()).unwrap().status,
        DeviceStatus::Unbonding { release_epoch: 1 }
    );
    let bob_before = h.balance(&bob);
    h.advance_to(7);
    assert_eq!(h.balance(&bob), bob_before);
    h.advance_to(8);
    assert_eq!(h.balance(&bob), bob_before + BOND);
    let record = h.state.device(&meter.id()).unwrap();
    assert_eq!(
        (record.status, record.bond),
        (DeviceStatus::Decommissioned, Amount::ZERO)
    );
    assert_eq!(h.state.chain_info().bonded, Amount::ZERO);
}

#[test]
fn write_set_lists_each_changed_key_once_in_order() {
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let outcome = h.execute(vec![h.transfer(&alice, address(&bob), 7)]);
    let keys: Vec<&Vec<u8>> = outcome.write_set.iter().map(|w| &w.key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted);
    use groundwork_state::machine::account_key;
    assert!(keys.contains(&&account_key(&address(&alice))));
    assert!(keys.contains(&&account_key(&address(&bob))));
    // Applying the write-set to the previous entries gives the new entries.
    let mut replica = Harness::standard();
    let mut entries: std::collections::BTreeMap<Vec<u8>, Vec<u8>> =
        replica.state.entries().into_iter().collect();
    let transfer = replica.transfer(&alice, address(&bob), 7);
    let block = replica.next_block(vec![transfer]);
    let replica_outcome = replica.state.execute(&block).unwrap();
    for write in &replica_outcome.write_set {
        match &write.value {
            Some(v) => entries.insert(write.key.clone(), v.clone()),
            None => entries.remove(&write.key),
        };
    }
    assert_eq!(
        entries.into_iter().collect::<Vec<_>>(),
        replica.state.entries()
    );
}
