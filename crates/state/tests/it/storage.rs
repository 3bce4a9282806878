//! Storage deals through `State::execute`: capacity and collateral, a deal set with escrowed
//! credits, acceptance, possession proofs over real bytes, payment per proven period, faults
//! that slash collateral, termination, expiry and ending early.
//!
//! The numbers are picked so the arithmetic can be done by hand. Test params: 4-block epochs
//! and 4-block periods, so `owed(n) = floor(price × size × n × 4 ÷ (2^30 × 4))`.
//! - A shard of 131 072 bytes (128 KiB, two blocks) at 81 920 credits per GiB-epoch:
//!   81 920 × 131 072 = 10 × 2^30, so each proven period pays exactly 10 credits and three
//!   periods escrow 30.
//! - Collateral 8 192 000 base units per GiB: the deal reserves 8 192 000 × 2^17 ÷ 2^30 =
//!   1 000; a 1 MiB capacity locks 8 000.
//! - A fault slashes 10 % (100 of 1 000), half to the client (50), half burned (50); the next
//!   slashes 10 % of the 900 left (90: 45 and 45).

use crate::common::*;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::tx::storage::{LeafAnswer, ShardDeal};
use groundwork_primitives::{
    AccountKey, Amount, CreditsCall, DeviceKey, DeviceTransaction, KeyScheme, OracleCall,
    ResourceKind, StorageCall, StorageReport, Transaction, UsageCall, deal_id, deal_set_id,
};
use groundwork_state::TxError;
use groundwork_state::storage::{DealStatus, StorageError};
use groundwork_storage::{BLOCK_BYTES, BlockRoots, prove_leaf};

const SHARD: usize = 131_072;
const PRICE: u64 = 81_920;
const PER_GIB: u128 = 8_192_000;
const CAPACITY: u64 = 1 << 20;

fn endpoint() -> groundwork_primitives::tx::storage::Endpoint {
    groundwork_primitives::tx::attest::BoundedBytes(b"http://127.0.0.1:9".to_vec())
}

/// Not periodic, so every leaf differs.
fn shard_bytes(seed: u8) -> Vec<u8> {
    (0..SHARD / 32)
        .flat_map(|i| *blake3::hash(&[seed, (i >> 8) as u8, i as u8]).as_bytes())
        .collect()
}

/// Account 1 is the oracle, 2 owns the storage device, 3 is the client.
struct Market {
    h: Harness,
    owner: AccountKey,
    client: AccountKey,
    device: DeviceKey,
    bytes: Vec<u8>,
    blocks: BlockRoots,
}

fn market() -> Market {
    market_with(params())
}

fn market_with(params: groundwork_state::Params) -> Market {
    let mut h = Harness::new(&genesis_with(params, 4));
    let (oracle, owner, client) = (account(1), account(2), account(3));
    let device = device(KeyScheme::Ed25519, 70);
    let price = h.signed(
        &oracle,
        OracleCall::SubmitPrice {
            micro_usd_per_token: 2_500_000,
        },
    );
    assert_eq!(h.submit(price), Ok(()));
    assert_eq!(
        h.submit(h.register(&owner, &device, ResourceKind::Storage)),
        Ok(())
    );
    let offer = h.signed(
        &owner,
        UsageCall::SetOffer {
            device: device.id(),
            credits_per_unit: PRICE,
            max_session_blocks: 100,
        },
    );
    assert_eq!(h.submit(offer), Ok(()));
    let provide = h.signed(
        &owner,
        StorageCall::Provide {
            device: device.id(),
            capacity_bytes: CAPACITY,
            collateral_per_gib: Amount(PER_GIB),
            endpoint: endpoint(),
        },
    );
    assert_eq!(h.submit(provide), Ok(()));
    let buy = h.signed(
        &client,
        CreditsCall::Buy {
            recipient: address(&client),
            credits: 10_000,
        },
    );
    assert_eq!(h.submit(buy), Ok(()));
    let bytes = shard_bytes(1);
    let blocks = BlockRoots::of(&bytes).unwrap();
    Market {
        h,
        owner,
        client,
        device,
        bytes,
        blocks,
    }
}

impl Market {
    fn shard(&self) -> ShardDeal {
        ShardDeal {
            provider: self.device.id(),
            root: self.blocks.root().unwrap().0,
            size_bytes: SHARD as u64,
            credits_per_gib_epoch: PRICE,
        }
    }

    fn propose(&mut self, periods: u32) -> (Digest, Digest) {
        let nonce = self.h.nonce(&self.client);
        let call = StorageCall::Propose {
            file_size: SHARD as u64,
            file_hash: *blake3::hash(&self.bytes).as_bytes(),
            data_shards: 1,
            periods,
            shards: vec![self.shard()],
        };
        let tx = self.h.signed(&self.client, call);
        assert_eq!(self.h.submit(tx), Ok(()));
        let set = deal_set_id(&address(&self.client), nonce);
        (set, deal_id(&set, 0))
    }

    fn report(&self, report: StorageReport) -> Transaction {
        Transaction::Device(DeviceTransaction::sign(&self.device, &self.h.chain, report))
    }

    fn accept(&mut self, deal: Digest) {
        let tx = self.report(StorageReport::Accept { deal });
        assert_eq!(self.h.submit(tx), Ok(()));
    }

    /// The answers to the open period's challenges, from `bytes` and their block roots.
    fn answers(
        &self,
        deal: Digest,
        period: u64,
        bytes: &[u8],
        blocks: &BlockRoots,
    ) -> Vec<LeafAnswer> {
        let leaves = self
            .h
            .state
            .deal_challenges(&deal, period)
            .expect("period open");
        assert_eq!(leaves.len(), 5);
        leaves
            .into_iter()
            .map(|index| {
                let start = (index as usize / 256) * BLOCK_BYTES;
                let block = &bytes[start..(start + BLOCK_BYTES).min(bytes.len())];
                let proof = prove_leaf(blocks, index, block).unwrap();
                LeafAnswer {
                    index,
                    leaf: proof.leaf,
                    path: proof.path,
                }
            })
            .collect()
    }

    fn prove(&mut self, deal: Digest) -> Result<(), TxError> {
        let period = self.open_period();
        let leaves = self.answers(deal, period, &self.bytes, &self.blocks);
        let tx = self.report(StorageReport::Prove {
            deal,
            period,
            leaves,
        });
        self.h.try_submit(tx).and_then(|r| r)
    }

    /// The period the next block belongs to.
    fn open_period(&self) -> u64 {
        (self.h.state.height()) / 4
    }

    /// Runs blocks to the start of period `p` (the next block is its first).
    fn run_to_period(&mut self, p: u64) {
        self.h.advance_to(p * 4);
    }

    fn credits(&self, key: &AccountKey) -> u64 {
        self.h.state.account(&address(key)).credits
    }
}

#[test]
fn proven_periods_are_paid_a_fault_slashes_and_the_last_period_completes_the_deal() {
    let mut m = market();
    let owner_after_provide = m.h.balance(&m.owner);
    let provider = m.h.state.storage_provider(&m.device.id()).unwrap();
    assert_eq!(
        (provider.locked, provider.reserved),
        (Amount(8_000), Amount::ZERO)
    );
    let (set, deal) = m.propose(3);
    assert_eq!(m.credits(&m.client), 10_000 - 30);
    assert_eq!(m.h.state.deal(&deal).unwrap().escrow_credits, 30);
    m.accept(deal);
    let record = m.h.state.deal(&deal).unwrap();
    assert_eq!(record.status, DealStatus::Active);
    assert_eq!(record.collateral, Amount(1_000));
    assert_eq!(
        m.h.state.storage_provider(&m.device.id()).unwrap().reserved,
        Amount(1_000)
    );
    let first = record.first_period;
    assert_eq!(first, (record.accepted_at - 1) / 4 + 1);

    // Period 1: proven, paid 10 credits, counted as the device's verified usage.
    m.run_to_period(first);
    assert_eq!(m.prove(deal), Ok(()));
    m.run_to_period(first + 1);
    let record = m.h.state.deal(&deal).unwrap();
    assert_eq!(
        (record.paid_credits, record.escrow_credits, record.proven),
        (10, 20, 1)
    );
    let periods = m.h.state.deal_periods(&deal);
    assert_eq!(periods.len(), 1);
    assert_eq!((periods[0].0, periods[0].1.paid_credits), (first, 10));
    // 10 credits = 100 µUSD = 40 base units at $2.50, 80 % of it paid: 32. The period closed
    // on an epoch's last block, so that epoch's usage mint paid it.
    let epoch = m.h.state.epoch_of(m.h.state.height());
    let reward =
        m.h.state
            .usage_reward(epoch, &m.device.id())
            .expect("usage mint paid the provider");
    assert_eq!((reward.credits, reward.amount), (10, Amount(32)));

    // Period 2: no proof. A fault: 100 slashed, 50 to the client, 50 burned.
    let (client_balance, burned) = (m.h.balance(&m.client), m.h.state.chain_info().burned);
    m.run_to_period(first + 2);
    let record = m.h.state.deal(&deal).unwrap();
    assert_eq!(
        (record.faults, record.consecutive_faults, record.slashed),
        (1, 1, Amount(100))
    );
    assert_eq!(record.collateral, Amount(900));
    assert_eq!(m.h.balance(&m.client), client_balance + 50);
    assert_eq!(
        m.h.state.chain_info().burned,
        burned.checked_add(Amount(50)).unwrap()
    );
    let provider = m.h.state.storage_provider(&m.device.id()).unwrap();
    assert_eq!(
        (provider.locked, provider.reserved),
        (Amount(7_900), Amount(900))
    );
    let fault = m.h.state.deal_periods(&deal)[1].1;
    assert!(fault.faulted());
    assert_eq!((fault.to_client, fault.burned), (Amount(50), Amount(50)));

    // Period 3, the last: proven. Paid 10 more, the deal completes, the faulted period's 10
    // credits return to the client, the collateral and capacity to the provider.
    assert_eq!(m.prove(deal), Ok(()));
    m.run_to_period(first + 3);
    let record = m.h.state.deal(&deal).unwrap();
    assert_eq!(record.status, DealStatus::Completed);
    assert_eq!(
        (
            record.paid_credits,
            record.escrow_credits,
            record.consecutive_faults
        ),
        (20, 0, 0)
    );
    assert_eq!(m.credits(&m.client), 10_000 - 30 + 10);
    let provider = m.h.state.storage_provider(&m.device.id()).unwrap();
    assert_eq!(
        (provider.locked, provider.reserved, provider.used_bytes),
        (Amount(7_900), Amount::ZERO, 0)
    );
    // The owner was paid the usage mint's 32 for each proven period; the slash came out of
    // the locked collateral, and proofs are fee-free reports.
    assert_eq!(m.h.balance(&m.owner), owner_after_provide + 2 * 32);
    assert_eq!(m.h.state.deals_of_set(&set).len(), 1);
    assert_eq!(m.h.state.deal_sets_of(&address(&m.client), 10).len(), 1);
}

#[test]
fn a_provider_that_never_proves_is_slashed_twice_and_the_deal_terminates_with_its_escrow_back() {
    let mut m = market();
    let (_, deal) = m.propose(3);
    m.accept(deal);
    let first = m.h.state.deal(&deal).unwrap().first_period;
    let client_balance = m.h.balance(&m.client);
    m.run_to_period(first + 2);
    let record = m.h.state.deal(&deal).unwrap();
    // max_faults = 2: 100 then 10 % of 900 = 90; the client gets half of each.
    assert_eq!(record.status, DealStatus::Terminated);
    assert_eq!(
        (record.faults, record.slashed, record.collateral),
        (2, Amount(190), Amount(810))
    );
    assert_eq!(m.h.balance(&m.client), client_balance + 50 + 45);
    assert_eq!(m.credits(&m.client), 10_000);
    let provider = m.h.state.storage_provider(&m.device.id()).unwrap();
    assert_eq!(
        (provider.locked, provider.reserved),
        (Amount(8_000 - 190), Amount::ZERO)
    );
    // A closed deal takes no more proofs.
    let tx = m.report(StorageReport::Accept { deal });
    m.h.assert_unincludable(
        tx,
        TxError::Storage(StorageError::WrongStatus {
            deal,
            status: "terminated",
            needed: "proposed",
        }),
    );
}

#[test]
fn wrong_proofs_are_refused_by_name_and_change_nothing() {
    let mut m = market();
    let (_, deal) = m.propose(3);
    m.accept(deal);
    let first = m.h.state.deal(&deal).unwrap().first_period;
    m.run_to_period(first);
    let period = m.open_period();
    // Another shard's bytes: the provider kept something else.
    let other = shard_bytes(2);
    let other_blocks = BlockRoots::of(&other).unwrap();
    let leaves = m.answers(deal, period, &other, &other_blocks);
    let index = leaves[0].index;
    let tx = m.report(StorageReport::Prove {
        deal,
        period,
        leaves,
    });
    m.h.assert_unincludable(
        tx,
        TxError::Storage(StorageError::BadProof {
            index,
            reason: groundwork_storage::ProofError::RootMismatch,
        }),
    );
    // The right bytes for the wrong leaves.
    let mut leaves = m.answers(deal, period, &m.bytes, &m.blocks);
    let expected = leaves[0].index;
    let moved = (expected + 1) % 512;
    let proof = prove_leaf(
        &m.blocks,
        moved,
        &m.bytes[(moved as usize / 256) * BLOCK_BYTES..][..BLOCK_BYTES],
    )
    .unwrap();
    leaves[0] = LeafAnswer {
        index: moved,
        leaf: proof.leaf,
        path: proof.path,
    };
    let tx = m.report(StorageReport::Prove {
        deal,
        period,
        leaves,
    });
    m.h.assert_unincludable(
        tx,
        TxError::Storage(StorageError::WrongLeaf {
            position: 0,
            expected,
            got: moved,
        }),
    );
    // Too few answers.
    let mut leaves = m.answers(deal, period, &m.bytes, &m.blocks);
    leaves.pop();
    let tx = m.report(StorageReport::Prove {
        deal,
        period,
        leaves,
    });
    m.h.assert_unincludable(
        tx,
        TxError::Storage(StorageError::WrongChallengeCount {
            expected: 5,
            got: 4,
        }),
    );
    // A period that is not open.
    let period = m.open_period();
    let leaves = m.answers(deal, period, &m.bytes, &m.blocks);
    let tx = m.report(StorageReport::Prove {
        deal,
        period: period + 1,
        leaves: leaves.clone(),
    });
    m.h.assert_unincludable(
        tx,
        TxError::Storage(StorageError::WrongPeriod {
            period: period + 1,
            current: period,
            first,
            last: first + 2,
        }),
    );
    // Another device cannot prove for the provider.
    let stranger = device(KeyScheme::Ed25519, 71);
    assert_eq!(
        m.h.submit(m.h.register(&m.owner, &stranger, ResourceKind::Storage)),
        Ok(())
    );
    let period = m.open_period();
    let leaves = m.answers(deal, period, &m.bytes, &m.blocks);
    let tx = Transaction::Device(DeviceTransaction::sign(
        &stranger,
        &m.h.chain,
        StorageReport::Prove {
            deal,
            period,
            leaves,
        },
    ));
    m.h.assert_unincludable(
        tx,
        TxError::Storage(StorageError::NotTheProvider {
            device: stranger.id(),
        }),
    );
    // The honest proof lands once; a second one for the period is refused.
    assert_eq!(m.prove(deal), Ok(()));
    let period = m.open_period();
    let leaves = m.answers(deal, period, &m.bytes, &m.blocks);
    let tx = m.report(StorageReport::Prove {
        deal,
        period,
        leaves,
    });
    m.h.assert_unincludable(
        tx,
        TxError::Storage(StorageError::AlreadyProven { deal, period }),
    );
}

#[test]
fn an_unaccepted_deal_expires_and_an_early_end_keeps_what_was_proven_even_in_the_open_period() {
    let mut m = market();
    let (_, unaccepted) = m.propose(3);
    assert_eq!(m.credits(&m.client), 9_970);
    // accept_window_blocks = 6.
    let proposed_at = m.h.state.deal(&unaccepted).unwrap().proposed_at;
    m.h.advance_to(proposed_at + 6);
    assert_eq!(
        m.h.state.deal(&unaccepted).unwrap().status,
        DealStatus::Expired
    );
    assert_eq!(m.credits(&m.client), 10_000);

    let (set, deal) = m.propose(3);
    m.accept(deal);
    let first = m.h.state.deal(&deal).unwrap().first_period;
    m.run_to_period(first);
    assert_eq!(m.prove(deal), Ok(()));
    m.run_to_period(first + 1);
    let end = m.h.signed(&m.client, StorageCall::End { set });
    // Only the client may end it.
    let by_owner = m.h.signed(&m.owner, StorageCall::End { set });
    assert_eq!(
        m.h.submit(by_owner),
        Err(TxError::Storage(StorageError::NotTheClient {
            signer: address(&m.owner)
        }))
    );
    assert_eq!(m.h.submit(end), Ok(()));
    let record = m.h.state.deal(&deal).unwrap();
    assert_eq!(
        (record.status, record.paid_credits, record.escrow_credits),
        (DealStatus::Ended, 10, 0)
    );
    assert_eq!(m.credits(&m.client), 10_000 - 10);
    let provider = m.h.state.storage_provider(&m.device.id()).unwrap();
    assert_eq!((provider.reserved, provider.used_bytes), (Amount::ZERO, 0));

    // Ended in a period it has already proven: the deal runs to that period's end, is paid
    // for it there (10 more) and only then ends, with the rest of its escrow back.
    let (set, deal) = m.propose(3);
    m.accept(deal);
    let first = m.h.state.deal(&deal).unwrap().first_period;
    m.run_to_period(first);
    assert_eq!(m.prove(deal), Ok(()));
    let end = m.h.signed(&m.client, StorageCall::End { set });
    assert_eq!(m.h.submit(end), Ok(()));
    let record = m.h.state.deal(&deal).unwrap();
    assert_eq!(
        (record.status, record.periods, record.paid_credits),
        (DealStatus::Active, 1, 0)
    );
    // Ending twice is refused; the deal is ending already.
    let again = m.h.signed(&m.client, StorageCall::End { set });
    assert!(matches!(
        m.h.submit(again),
        Err(TxError::Storage(StorageError::WrongStatus { .. }))
    ));
    m.run_to_period(first + 1);
    let record = m.h.state.deal(&deal).unwrap();
    assert_eq!(
        (record.status, record.paid_credits, record.escrow_credits),
        (DealStatus::Ended, 10, 0)
    );
    assert_eq!(m.credits(&m.client), 10_000 - 10 - 10);
    let provider = m.h.state.storage_provider(&m.device.id()).unwrap();
    assert_eq!((provider.reserved, provider.used_bytes), (Amount::ZERO, 0));
}

#[test]
fn deals_that_do_not_fit_the_offer_capacity_or_collateral_are_refused() {
    let mut m = market();
    let call = |m: &mut Market, shard: ShardDeal| {
        let tx = m.h.signed(
            &m.client,
            StorageCall::Propose {
                file_size: shard.size_bytes,
                file_hash: [0; 32],
                data_shards: 1,
                periods: 3,
                shards: vec![shard],
            },
        );
        m.h.submit(tx)
    };
    let mut cheap = m.shard();
    cheap.credits_per_gib_epoch = PRICE - 1;
    assert_eq!(
        call(&mut m, cheap),
        Err(TxError::Storage(StorageError::PriceNotOffered {
            device: m.device.id(),
            asked: PRICE - 1,
            offered: Some(PRICE),
        }))
    );
    let mut big = m.shard();
    big.size_bytes = CAPACITY + 1;
    assert_eq!(
        call(&mut m, big),
        Err(TxError::Storage(StorageError::DealFull {
            device: m.device.id(),
            size_bytes: CAPACITY + 1,
            free_bytes: CAPACITY,
        }))
    );
    // Below the chain's minimum collateral (1 000 000 per GiB in the test params).
    let low = m.h.signed(
        &m.owner,
        StorageCall::Provide {
            device: m.device.id(),
            capacity_bytes: CAPACITY,
            collateral_per_gib: Amount(999_999),
            endpoint: endpoint(),
        },
    );
    assert_eq!(
        m.h.submit(low),
        Err(TxError::Storage(StorageError::CollateralBelowMinimum {
            offered: Amount(999_999),
            minimum: Amount(1_000_000),
        }))
    );
    // A wireless device provides no storage.
    let hotspot = device(KeyScheme::Ed25519, 72);
    assert_eq!(
        m.h.submit(m.h.register(&m.owner, &hotspot, ResourceKind::Wireless)),
        Ok(())
    );
    let tx = m.h.signed(
        &m.owner,
        StorageCall::Provide {
            device: hotspot.id(),
            capacity_bytes: CAPACITY,
            collateral_per_gib: Amount(PER_GIB),
            endpoint: endpoint(),
        },
    );
    assert_eq!(
        m.h.submit(tx),
        Err(TxError::Storage(StorageError::NotStorage {
            device: hotspot.id()
        }))
    );
    // While a deal holds 128 KiB, the provider cannot shrink below it; shrinking to it
    // releases the free capacity's collateral.
    let (_, deal) = m.propose(3);
    m.accept(deal);
    let shrink = |m: &Market, capacity_bytes| {
        m.h.signed(
            &m.owner,
            StorageCall::Provide {
                device: m.device.id(),
                capacity_bytes,
                collateral_per_gib: Amount(PER_GIB),
                endpoint: endpoint(),
            },
        )
    };
    assert_eq!(
        m.h.submit(shrink(&m, 1)),
        Err(TxError::Storage(StorageError::CapacityInUse {
            capacity_bytes: 1,
            used_bytes: SHARD as u64
        }))
    );
    let before = m.h.balance(&m.owner);
    assert_eq!(m.h.submit(shrink(&m, SHARD as u64)), Ok(()));
    assert_eq!(m.h.balance(&m.owner), before + 7_000 - FEE);
    let provider = m.h.state.storage_provider(&m.device.id()).unwrap();
    assert_eq!(
        (provider.locked, provider.reserved),
        (Amount(1_000), Amount(1_000))
    );
    // A second deal no longer fits.
    let mut more = m.shard();
    more.size_bytes = 1;
    assert_eq!(
        call(&mut m, more),
        Err(TxError::Storage(StorageError::DealFull {
            device: m.device.id(),
            size_bytes: 1,
            free_bytes: 0
        }))
    );
}

/// Retrieval checks: one checker a deal a period, drawn among the other providers (here the
/// only other one). Failed checks withhold a proven period's pay (no slash); passed ones let
/// it be paid. Only the drawn device, for the drawn block, may post, once.
#[test]
fn failed_retrieval_checks_withhold_a_proven_periods_pay() {
    let mut params = params();
    params.storage.checkers_per_deal = 1;
    let mut m = market_with(params);
    let checker_owner = account(4);
    let checker = device(KeyScheme::Ed25519, 73);
    assert_eq!(
        m.h.submit(m.h.register(&checker_owner, &checker, ResourceKind::Storage)),
        Ok(())
    );
    let provide = m.h.signed(
        &checker_owner,
        StorageCall::Provide {
            device: checker.id(),
            capacity_bytes: CAPACITY,
            collateral_per_gib: Amount(PER_GIB),
            endpoint: endpoint(),
        },
    );
    assert_eq!(m.h.submit(provide), Ok(()));
    let (_, deal) = m.propose(3);
    m.accept(deal);
    let first = m.h.state.deal(&deal).unwrap().first_period;
    m.run_to_period(first);
    let period = m.open_period();
    let drawn = m.h.state.deal_checkers(&deal, period).unwrap();
    assert_eq!(drawn.len(), 1);
    let (who, block) = drawn[0].clone();
    assert_eq!(who, checker.id());
    assert!(block < 2, "a 128 KiB shard has two blocks");
    let chain = m.h.chain.clone();
    let check = |key: &DeviceKey, block: u64, ok: bool| {
        Transaction::Device(DeviceTransaction::sign(
            key,
            &chain,
            StorageReport::Check {
                deal,
                period,
                position: 0,
                block,
                ok,
            },
        ))
    };
    // The provider cannot check itself, nor the checker another block.
    let by_provider = check(&m.device, block, true);
    let wrong_block = check(&checker, 1 - block, true);
    let failed = check(&checker, block, false);
    m.h.assert_unincludable(
        by_provider,
        TxError::Storage(StorageError::NotAChecker {
            device: m.device.id(),
            position: 0,
        }),
    );
    m.h.assert_unincludable(
        wrong_block,
        TxError::Storage(StorageError::NotAChecker {
            device: checker.id(),
            position: 0,
        }),
    );
    assert_eq!(m.h.submit(failed), Ok(()));
    let again = check(&checker, block, true);
    m.h.assert_unincludable(
        again,
        TxError::Storage(StorageError::AlreadyChecked { deal, period }),
    );
    assert_eq!(m.prove(deal), Ok(()));
    m.run_to_period(first + 1);
    // Proven, but the one posted check failed (0 of 1 < 50 %): not paid, not slashed.
    let record = m.h.state.deal(&deal).unwrap();
    assert_eq!(
        (
            record.proven,
            record.withheld,
            record.paid_credits,
            record.escrow_credits
        ),
        (0, 1, 0, 30)
    );
    assert_eq!((record.faults, record.slashed), (0, Amount::ZERO));
    let settled = m.h.state.deal_periods(&deal)[0].1;
    assert!(settled.withheld && !settled.faulted());
    assert_eq!((settled.checks_ok, settled.checks_failed), (0, 1));
    assert_eq!(
        m.h.state.deal_checks(&deal, first)[0].1.checker,
        checker.id()
    );

    // Next period the check passes: paid 10, as without checks.
    let period = m.open_period();
    let (who, block) = m.h.state.deal_checkers(&deal, period).unwrap()[0].clone();
    assert_eq!(who, checker.id());
    let passed = Transaction::Device(DeviceTransaction::sign(
        &checker,
        &m.h.chain,
        StorageReport::Check {
            deal,
            period,
            position: 0,
            block,
            ok: true,
        },
    ));
    assert_eq!(m.h.submit(passed), Ok(()));
    assert_eq!(m.prove(deal), Ok(()));
    // A check in the period's last block would miss its settlement: refused.
    m.h.advance_to((period + 1) * 4 - 1);
    let late = Transaction::Device(DeviceTransaction::sign(
        &checker,
        &m.h.chain,
        StorageReport::Check {
            deal,
            period,
            position: 0,
            block,
            ok: false,
        },
    ));
    assert!(matches!(
        m.h.try_submit(late),
        Err(TxError::Storage(StorageError::WrongPeriod { .. }))
    ));
    m.run_to_period(first + 2);
    let record = m.h.state.deal(&deal).unwrap();
    assert_eq!(
        (record.proven, record.withheld, record.paid_credits),
        (1, 1, 10)
    );
    // A period nobody checked is paid on its proof alone.
    assert_eq!(m.prove(deal), Ok(()));
    m.run_to_period(first + 3);
    let record = m.h.state.deal(&deal).unwrap();
    assert_eq!(
        (record.status, record.proven, record.paid_credits),
        (DealStatus::Completed, 2, 20)
    );
    // The withheld period's 10 credits went back to the client.
    assert_eq!(m.credits(&m.client), 10_000 - 20);
}

#[test]
fn a_decommissioned_providers_collateral_is_withdrawn_by_its_owner() {
    let mut m = market();
    let provider = m.h.state.storage_provider(&m.device.id()).unwrap();
    assert_eq!(provider.locked, Amount(8_000));
    let decommission = m.h.signed(
        &m.owner,
        groundwork_primitives::CoreCall::DecommissionDevice {
            device: m.device.id(),
        },
    );
    assert_eq!(m.h.submit(decommission), Ok(()));
    let withdraw = |m: &Market, who: &AccountKey| {
        m.h.signed(
            who,
            StorageCall::Provide {
                device: m.device.id(),
                capacity_bytes: 0,
                collateral_per_gib: Amount::ZERO,
                endpoint: endpoint(),
            },
        )
    };
    // Nobody else may take it; the owner gets all 8 000 back and the offer is gone.
    assert!(m.h.submit(withdraw(&m, &m.client)).is_err());
    assert_eq!(
        m.h.state.storage_provider(&m.device.id()).unwrap().locked,
        Amount(8_000)
    );
    let before = m.h.balance(&m.owner);
    assert_eq!(m.h.submit(withdraw(&m, &m.owner)), Ok(()));
    assert_eq!(m.h.balance(&m.owner), before + 8_000 - FEE);
    assert!(m.h.state.storage_provider(&m.device.id()).is_none());
}

/// A device that changes hands keeps its previous owner's collateral while deals hold it; once
/// none does, the new owner's `provide` returns it to the previous owner.
#[test]
fn a_transferred_providers_collateral_goes_back_to_its_previous_owner() {
    let mut m = market();
    let (set, deal) = m.propose(3);
    m.accept(deal);
    let new_owner = account(4);
    let transfer = m.h.signed(
        &m.owner,
        groundwork_primitives::CoreCall::TransferDevice {
            device: m.device.id(),
            new_owner: address(&new_owner),
        },
    );
    assert_eq!(m.h.submit(transfer), Ok(()));
    let provide = |m: &Market| {
        m.h.signed(
            &new_owner,
            StorageCall::Provide {
                device: m.device.id(),
                capacity_bytes: CAPACITY,
                collateral_per_gib: Amount(PER_GIB),
                endpoint: endpoint(),
            },
        )
    };
    assert_eq!(
        m.h.submit(provide(&m)),
        Err(TxError::Storage(StorageError::ProvidedByAnother {
            device: m.device.id(),
            owner: address(&m.owner),
        }))
    );
    // Nor may the device take new deals against the previous owner's collateral.
    let nonce = m.h.nonce(&m.client);
    let more = m.h.signed(
        &m.client,
        StorageCall::Propose {
            file_size: SHARD as u64,
            file_hash: [0; 32],
            data_shards: 1,
            periods: 3,
            shards: vec![m.shard()],
        },
    );
    assert_eq!(
        m.h.submit(more),
        Err(TxError::Storage(StorageError::ProvidedByAnother {
            device: m.device.id(),
            owner: address(&m.owner),
        }))
    );
    assert!(
        m.h.state
            .deal_set(&deal_set_id(&address(&m.client), nonce))
            .is_none()
    );
    let end = m.h.signed(&m.client, StorageCall::End { set });
    assert_eq!(m.h.submit(end), Ok(()));
    let before = m.h.balance(&m.owner);
    assert_eq!(m.h.submit(provide(&m)), Ok(()));
    // The previous owner gets its 8 000 back; the new one locks 8 000 of its own.
    assert_eq!(m.h.balance(&m.owner), before + 8_000);
    let provider = m.h.state.storage_provider(&m.device.id()).unwrap();
    assert_eq!(
        (provider.owner, provider.locked),
        (address(&new_owner), Amount(8_000))
    );
}

#[test]
fn retrieval_checkers_are_drawn_when_the_period_opens_and_stay_drawn() {
    let mut params = params();
    params.storage.checkers_per_deal = 1;
    let mut m = market_with(params);
    // Eight other providers, all of one owner, before the deal.
    let spare_owner = account(4);
    let spares: Vec<DeviceKey> = (0..8).map(|i| device(KeyScheme::Ed25519, 80 + i)).collect();
    let provide = |m: &Market, key: &DeviceKey, capacity_bytes: u64| {
        m.h.signed(
            &spare_owner,
            StorageCall::Provide {
                device: key.id(),
                capacity_bytes,
                collateral_per_gib: Amount(PER_GIB),
                endpoint: endpoint(),
            },
        )
    };
    for spare in &spares {
        assert_eq!(
            m.h.submit(m.h.register(&spare_owner, spare, ResourceKind::Storage)),
            Ok(())
        );
        assert_eq!(m.h.submit(provide(&m, spare, CAPACITY)), Ok(()));
    }
    let (_, deal) = m.propose(3);
    m.accept(deal);
    let first = m.h.state.deal(&deal).unwrap().first_period;
    m.run_to_period(first);
    let period = m.open_period();
    let drawn = m.h.state.deal_checkers(&deal, period).unwrap();
    assert_eq!(drawn.len(), 1);
    assert_ne!(drawn[0].0, m.device.id(), "never the deal's own provider");
    // Withdrawing the first of the others in id order would shift every later index of a
    // draw made from the live list; the frozen draw stays, and its checker may still check.
    let mut ids: Vec<_> = spares.iter().map(DeviceKey::id).collect();
    ids.sort();
    let first_other = ids.iter().find(|d| **d != drawn[0].0).unwrap().clone();
    let key = spares.iter().find(|s| s.id() == first_other).unwrap();
    assert_eq!(m.h.submit(provide(&m, key, 0)), Ok(()));
    assert!(m.h.state.storage_provider(&first_other).is_none());
    assert_eq!(m.open_period(), period, "still the same period");
    assert_eq!(m.h.state.deal_checkers(&deal, period).unwrap(), drawn);
    // The chain finds a checker's draws by the checker, as its agent asks for them.
    assert_eq!(
        m.h.state.checks_drawn_for(&drawn[0].0, period, 10),
        vec![(deal, 0, drawn[0].1)]
    );
    assert!(
        m.h.state
            .checks_drawn_for(&first_other, period, 10)
            .is_empty()
    );
    let checker = spares.iter().find(|s| s.id() == drawn[0].0).unwrap();
    let check = Transaction::Device(DeviceTransaction::sign(
        checker,
        &m.h.chain,
        StorageReport::Check {
            deal,
            period,
            position: 0,
            block: drawn[0].1,
            ok: true,
        },
    ));
    assert_eq!(m.h.submit(check), Ok(()));
    // The next period draws afresh from the providers active when it opens.
    m.run_to_period(first + 1);
    let next = m.h.state.deal_checkers(&deal, first + 1).unwrap();
    assert_eq!(next.len(), 1);
    assert_ne!(next[0].0, first_other);
    assert!(
        m.h.state.deal_checkers(&deal, period).is_none(),
        "the old period's are gone"
    );
    assert!(
        m.h.state
            .checks_drawn_for(&drawn[0].0, period, 10)
            .is_empty()
    );
    assert_eq!(
        m.h.state.checks_drawn_for(&next[0].0, first + 1, 10),
        vec![(deal, 0, next[0].1)]
    );
}
