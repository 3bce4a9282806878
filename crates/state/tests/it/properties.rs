//! Property tests: random sequences of valid and invalid transactions across epoch boundaries
//! and halvings keep both supply invariants, never panic, and replay to identical write-sets
//! and state.

use crate::common::*;
use commonware_cryptography::Signer;
use groundwork_primitives::hash::{Digest, hash};
use groundwork_primitives::{
    AccountTransaction, Amount, Block, Call, CoreCall, CreditsCall, DeviceKey, KeyScheme,
    OracleCall, ResourceKind, Transaction, UptimeReport, UsageCall, Voucher,
};
use groundwork_state::CoreError;
use groundwork_state::usage::Session;
use groundwork_state::{BlockError, BlockOutcome, State};
use proptest::prelude::*;

const ACCOUNTS: u64 = 4;
const DEVICES: u64 = 6;

#[derive(Clone, Debug)]
enum Op {
    Transfer {
        from: u64,
        to: u64,
        amount: u128,
    },
    Burn {
        from: u64,
        to: u64,
        credits: u64,
    },
    /// Account 1 is the test chain's one oracle; the others are refused.
    Price {
        from: u64,
        micro_usd: u64,
    },
    Offer {
        owner: u64,
        device: u64,
        price: u64,
        max_blocks: u64,
    },
    Open {
        customer: u64,
        device: u64,
        price: u64,
        credits: u64,
        blocks: u64,
    },
    /// The latest voucher of one of the customer's sessions, sent by the customer or by its
    /// device's owner; `overcharge` adds a credit the units do not account for.
    Settle {
        customer: u64,
        session: usize,
        units: u64,
        by_owner: bool,
        overcharge: bool,
    },
    Close {
        customer: u64,
        session: usize,
    },
    Register {
        owner: u64,
        device: u64,
        kind: usize,
    },
    Move {
        owner: u64,
        device: u64,
        lat: i8,
    },
    GiveDevice {
        owner: u64,
        device: u64,
        to: u64,
    },
    Decommission {
        owner: u64,
        device: u64,
    },
    Heartbeat {
        device: u64,
        age: u64,
    },
    HeartbeatUnknownBlock {
        device: u64,
    },
}

#[derive(Clone, Debug)]
struct Planned {
    op: Op,
    /// Added to the right nonce; 0 most of the time.
    nonce_skew: u64,
    /// Corrupt the signature.
    forge: bool,
}

fn op() -> impl Strategy<Value = Op> {
    let amount = prop_oneof![1u128..5_000, Just(0u128), Just(u128::MAX), 1u128..2_000_000];
    prop_oneof![
        4 => (1..=ACCOUNTS, 1..=ACCOUNTS + 1, amount).prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        1 => (1..=ACCOUNTS, 1..=ACCOUNTS, prop_oneof![0u64..500, Just(u64::MAX)])
            .prop_map(|(from, to, credits)| Op::Burn { from, to, credits }),
        1 => (1..=2u64, prop_oneof![Just(0u64), 1u64..10_000_000, Just(u64::MAX)])
            .prop_map(|(from, micro_usd)| Op::Price { from, micro_usd }),
        2 => (1..=ACCOUNTS, 0..DEVICES, 0u64..4, 0u64..12)
            .prop_map(|(owner, device, price, max_blocks)| Op::Offer { owner, device, price, max_blocks }),
        2 => (1..=ACCOUNTS, 0..DEVICES, 1u64..4, 0u64..300, 0u64..15)
            .prop_map(|(customer, device, price, credits, blocks)| Op::Open { customer, device, price, credits, blocks }),
        3 => (1..=ACCOUNTS, 0usize..3, 0u64..200, any::<bool>(), prop::bool::weighted(0.1))
            .prop_map(|(customer, session, units, by_owner, overcharge)| Op::Settle { customer, session, units, by_owner, overcharge }),
        1 => (1..=ACCOUNTS, 0usize..3).prop_map(|(customer, session)| Op::Close { customer, session }),
        3 => (1..=ACCOUNTS, 0..DEVICES, 0usize..ResourceKind::COUNT)
            .prop_map(|(owner, device, kind)| Op::Register { owner, device, kind }),
        1 => (1..=ACCOUNTS, 0..DEVICES, any::<i8>()).prop_map(|(owner, device, lat)| Op::Move { owner, device, lat }),
        1 => (1..=ACCOUNTS, 0..DEVICES, 1..=ACCOUNTS).prop_map(|(owner, device, to)| Op::GiveDevice { owner, device, to }),
        1 => (1..=ACCOUNTS, 0..DEVICES).prop_map(|(owner, device)| Op::Decommission { owner, device }),
        8 => (0..DEVICES, 0u64..6).prop_map(|(device, age)| Op::Heartbeat { device, age }),
        1 => (0..DEVICES).prop_map(|device| Op::HeartbeatUnknownBlock { device }),
    ]
}

fn planned() -> impl Strategy<Value = Planned> {
    (
        op(),
        prop_oneof![9 => Just(0u64), 1 => 1u64..3],
        prop::bool::weighted(0.08),
    )
        .prop_map(|(op, nonce_skew, forge)| Planned {
            op,
            nonce_skew,
            forge,
        })
}

fn device_key(index: u64) -> DeviceKey {
    // Even devices use ed25519, odd ones P-256.
    let scheme = if index.is_multiple_of(2) {
        KeyScheme::Ed25519
    } else {
        KeyScheme::P256
    };
    device(scheme, 100 + index)
}

/// Turns planned operations into signed transactions against the current state.
fn build(h: &Harness, plan: &[Planned]) -> Vec<Transaction> {
    let mut nonces = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for p in plan {
        let signer_seed = match &p.op {
            Op::Transfer { from, .. } | Op::Burn { from, .. } | Op::Price { from, .. } => {
                Some(*from)
            }
            Op::Offer { owner, .. } => Some(*owner),
            Op::Open { customer, .. } | Op::Close { customer, .. } => Some(*customer),
            // The voucher's sender: the customer, or the owner of the session's device now.
            Op::Settle {
                customer,
                session,
                by_owner,
                ..
            } => {
                let owner = session_of(h, *customer, *session)
                    .and_then(|(_, s)| h.state.device(&s.device))
                    .and_then(|d| (1..=ACCOUNTS).find(|seed| address(&account(*seed)) == d.owner));
                match (by_owner, owner) {
                    (true, Some(owner)) => Some(owner),
                    _ => Some(*customer),
                }
            }
            Op::Register { owner, .. }
            | Op::Move { owner, .. }
            | Op::GiveDevice { owner, .. }
            | Op::Decommission { owner, .. } => Some(*owner),
            Op::Heartbeat { .. } | Op::HeartbeatUnknownBlock { .. } => None,
        };
        let tx = match (&p.op, signer_seed) {
            (Op::Heartbeat { device, age }, _) => {
                let height = h.state.height().saturating_sub(*age);
                let block = h
                    .state
                    .recent_block(height)
                    .unwrap_or_else(|| hash(b"pruned"));
                Transaction::Device(UptimeReport::sign_heartbeat(
                    &device_key(*device),
                    &h.chain,
                    block,
                ))
            }
            (Op::HeartbeatUnknownBlock { device }, _) => Transaction::Device(
                UptimeReport::sign_heartbeat(&device_key(*device), &h.chain, hash(b"nowhere")),
            ),
            (op, Some(seed)) => {
                let key = account(seed);
                let next = nonces.entry(seed).or_insert_with(|| h.nonce(&key));
                let nonce = *next + p.nonce_skew;
                *next += 1;
                let action: Call = match op {
                    Op::Transfer { to, amount, .. } => CoreCall::Transfer {
                        to: address(&account(*to)),
                        amount: Amount(*amount),
                    }
                    .into(),
                    Op::Burn { to, credits, .. } => CreditsCall::Buy {
                        recipient: address(&account(*to)),
                        credits: *credits,
                    }
                    .into(),
                    Op::Price { micro_usd, .. } => OracleCall::SubmitPrice {
                        micro_usd_per_token: *micro_usd,
                    }
                    .into(),
                    Op::Offer {
                        device,
                        price,
                        max_blocks,
                        ..
                    } => UsageCall::SetOffer {
                        device: device_key(*device).id(),
                        credits_per_unit: *price,
                        max_session_blocks: *max_blocks,
                    }
                    .into(),
                    Op::Open {
                        device,
                        price,
                        credits,
                        blocks,
                        ..
                    } => UsageCall::OpenSession {
                        device: device_key(*device).id(),
                        credits_per_unit: *price,
                        max_credits: *credits,
                        expires_at: h.state.height() + 1 + blocks,
                    }
                    .into(),
                    Op::Settle {
                        customer,
                        session,
                        units,
                        overcharge,
                        ..
                    } => {
                        let (id, record) = session_of(h, *customer, *session)
                            .unwrap_or((hash(b"no session"), placeholder_session(*customer)));
                        let voucher = Voucher {
                            session: id,
                            cumulative_units: *units,
                            cumulative_credits: units * record.credits_per_unit
                                + u64::from(*overcharge),
                        };
                        let device = (0..DEVICES)
                            .map(device_key)
                            .find(|k| k.id() == record.device)
                            .unwrap_or_else(|| device_key(0));
                        UsageCall::Settle {
                            voucher,
                            customer_signature: voucher
                                .sign_as_customer(&account(*customer), &h.chain),
                            device_signature: voucher.sign_as_device(&device, &h.chain),
                        }
                        .into()
                    }
                    Op::Close { customer, session } => UsageCall::Close {
                        session: session_of(h, *customer, *session)
                            .map_or(hash(b"no session"), |(id, _)| id),
                    }
                    .into(),
                    Op::Register { device, kind, .. } => CoreCall::register_device(
                        &h.chain,
                        &address(&key),
                        &device_key(*device),
                        ResourceKind::ALL[*kind],
                        cell(40.0, -74.0),
                    )
                    .into(),
                    Op::Move { device, lat, .. } => CoreCall::AssertLocation {
                        device: device_key(*device).id(),
                        location: cell(f64::from(*lat) / 2.0, 10.0),
                    }
                    .into(),
                    Op::GiveDevice { device, to, .. } => CoreCall::TransferDevice {
                        device: device_key(*device).id(),
                        new_owner: address(&account(*to)),
                    }
                    .into(),
                    Op::Decommission { device, .. } => CoreCall::DecommissionDevice {
                        device: device_key(*device).id(),
                    }
                    .into(),
                    Op::Heartbeat { .. } | Op::HeartbeatUnknownBlock { .. } => unreachable!(),
                };
                Transaction::Account(AccountTransaction::sign(
                    &key,
                    &h.chain,
                    nonce,
                    h.valid_until(),
                    action,
                ))
            }
            (_, None) => unreachable!(),
        };
        out.push(if p.forge { forge(tx) } else { tx });
    }
    out
}

/// The customer's `index`-th session (of those on chain), if it has that many.
fn session_of(h: &Harness, customer: u64, index: usize) -> Option<(Digest, Session)> {
    h.state
        .sessions_of(&address(&account(customer)), None, 3)
        .into_iter()
        .nth(index)
}

/// What a voucher for a session that does not exist is made from.
fn placeholder_session(customer: u64) -> Session {
    let key = account(customer);
    Session {
        customer: address(&key),
        customer_key: key.public_key(),
        device: device_key(0).id(),
        credits_per_unit: 1,
        max_credits: 0,
        opened_at: 0,
        ends_at: 0,
        settled_units: 0,
        settled_credits: 0,
        refunded: None,
    }
}

fn forge(tx: Transaction) -> Transaction {
    match tx {
        Transaction::Account(mut a) => {
            a.signature = account(999).sign(b"forged", b"forged");
            Transaction::Account(a)
        }
        Transaction::Device(mut report) => {
            report.signature = device(KeyScheme::Ed25519, 999).sign(b"forged", b"forged");
            Transaction::Device(report)
        }
    }
}

/// What a proposer puts in a block: transactions with valid signatures (as the mempool admits
/// them) that a trial run of the block keeps.
fn includable(state: &mut State, candidates: Vec<Transaction>) -> Vec<Transaction> {
    let chain = state.params().core.chain_id.clone();
    let signed: Vec<Transaction> = candidates
        .into_iter()
        .filter(|tx| tx.verify_signature(&chain))
        .collect();
    let before = state.state_digest();
    let outcomes = state.trial_next_block(&signed);
    assert_eq!(state.state_digest(), before, "a trial run changed state");
    signed
        .into_iter()
        .zip(outcomes)
        .filter(|(_, outcome)| outcome.is_ok())
        .map(|(tx, _)| tx)
        .collect()
}

fn replay(blocks: &[Block]) -> (State, Vec<BlockOutcome>) {
    let mut state = State::from_genesis(&genesis_with(params(), ACCOUNTS));
    let outcomes = blocks
        .iter()
        .map(|b| state.execute(b).expect("replayed block is valid"))
        .collect();
    (state, outcomes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn random_blocks_keep_invariants_and_replay_identically(
        plan in proptest::collection::vec(proptest::collection::vec(planned(), 0..8), 1..22)
    ) {
        let mut h = Harness::new(&genesis_with(params(), ACCOUNTS));
        let mut blocks = Vec::new();
        let mut outcomes = Vec::new();
        for block_plan in &plan {
            let candidates = build(&h, block_plan);
            let transactions = includable(&mut h.state, candidates.clone());
            if transactions.len() < candidates.len() {
                // The block with what a proposer must leave out is refused whole.
                let before = h.state.state_digest();
                let refused = h.next_block(candidates);
                let refusal = h.state.execute(&refused);
                prop_assert!(
                    matches!(refusal, Err(BlockError::UnincludableTransaction { .. })),
                    "{:?}", refusal
                );
                prop_assert_eq!(h.state.state_digest(), before);
            }
            let block = h.next_block(transactions);
            let outcome = h.state.execute(&block).expect("a block built on the tip is valid");
            prop_assert_eq!(outcome.receipts.len(), block.transactions.len());
            h.state.check_invariants().map_err(|e| TestCaseError::fail(e.to_string()))?;
            blocks.push(block);
            outcomes.push(outcome);
        }
        let (replayed, replayed_outcomes) = replay(&blocks);
        prop_assert_eq!(&replayed_outcomes, &outcomes);
        prop_assert_eq!(replayed.state_digest(), h.state.state_digest());
        prop_assert_eq!(replayed.entries(), h.state.entries());
        // What a node stores is enough to rebuild the state exactly, and to keep executing.
        let genesis = genesis_with(params(), ACCOUNTS);
        let mut reloaded = State::from_entries(&genesis, h.state.entries()).expect("stored entries load");
        prop_assert_eq!(reloaded.state_digest(), h.state.state_digest());
        let next = h.next_block(Vec::new());
        prop_assert_eq!(reloaded.execute(&next), h.state.execute(&next));
    }
}

#[test]
fn a_block_with_a_forged_signature_is_refused_whole() {
    // A forged signature makes the block's batch check fail; checked one by one, the forged
    // transaction is found and the block refused, with nothing applied.
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let good = h.transfer(&alice, address(&bob), 5);
    let bad = forge(h.transfer(&bob, address(&alice), 5));
    let before = h.state.state_digest();
    let block = h.next_block(vec![good.clone(), bad]);
    assert_eq!(
        h.state.execute(&block).map(|_| ()),
        Err(BlockError::UnincludableTransaction {
            index: 1,
            error: Box::new(groundwork_state::TxError::Core(CoreError::BadSignature))
        })
    );
    assert_eq!(h.state.state_digest(), before);
    let outcome = h.execute(vec![good]);
    assert_eq!(outcome.receipts[0].result, Ok(()));
    assert_eq!(h.balance(&bob), START_BALANCE + 5);
}

#[test]
fn a_p256_device_report_with_an_ed25519_signature_is_not_vouched_for_by_the_batch() {
    // The defect: such a report was counted as batch-verified whenever the block's ed25519
    // batch passed, though the batch never held it, so anyone could forge a P-256 device's
    // heartbeats by putting them next to one valid transfer.
    let mut h = Harness::standard();
    let (alice, bob) = (account(1), account(2));
    let sensor = device_key(5);
    assert_eq!(
        h.submit(h.register(&alice, &sensor, ResourceKind::Sensor)),
        Ok(())
    );
    h.empty_blocks(2);
    let forged = forge(h.heartbeat(&sensor, 0));
    let good = h.transfer(&bob, address(&alice), 5);
    let block = vec![good.clone(), forged.clone()];
    let verdicts = groundwork_state::signatures::verify_signatures(
        &h.chain,
        &block,
        &groundwork_primitives::hash::hash(b"seed"),
    );
    assert_eq!(verdicts, vec![true, false]);
    let before = h.state.state_digest();
    let refused = h.next_block(block);
    assert_eq!(
        h.state.execute(&refused).map(|_| ()),
        Err(BlockError::UnincludableTransaction {
            index: 1,
            error: Box::new(groundwork_state::TxError::Core(CoreError::BadSignature))
        })
    );
    assert_eq!(h.state.state_digest(), before);
    assert_eq!(h.state.pending_work(&sensor.id()), 0);
}

#[test]
fn malformed_stored_entries_are_refused_by_key() {
    use groundwork_state::LoadError;
    let genesis = genesis_with(params(), 2);
    let mut entries = State::from_genesis(&genesis).entries();
    assert!(State::from_entries(&genesis, entries.clone()).is_ok());
    entries.retain(|(k, _)| k[0] != groundwork_state::machine::prefix::CHAIN_INFO);
    assert!(matches!(
        State::from_entries(&genesis, entries.clone()),
        Err(LoadError::MissingChainInfo)
    ));
    entries.push((vec![0x02, 1, 2], vec![]));
    assert!(matches!(
        State::from_entries(&genesis, entries.clone()),
        Err(LoadError::Malformed { .. })
    ));
    entries.pop();
    entries.push((vec![0x7f], vec![]));
    assert!(matches!(
        State::from_entries(&genesis, entries.clone()),
        Err(LoadError::UnknownTable { prefix: 0x7f, .. })
    ));
    entries.pop();
    entries.push((Vec::new(), vec![]));
    assert!(matches!(
        State::from_entries(&genesis, entries),
        Err(LoadError::EmptyKey)
    ));
}
