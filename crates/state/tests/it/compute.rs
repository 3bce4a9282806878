//! Compute jobs through `State::execute`: offers with collateral, a job with escrowed
//! credits, assignment from block hashes, commit–reveal, verification by replication, spot
//! checks and referees, auto-acceptance, disputes, payment and slashing.
//!
//! The numbers are picked so the arithmetic can be done by hand:
//! - every provider offers 4 credits per million fuel and locks 10 000 base units;
//! - a job's fuel limit is 1 000 000 at a ceiling of 5 credits per million fuel; with three
//!   referees a task escrows `1 000 000 × 5 × runs ÷ 10^6`: 30 credits at `r` = 2 (2 runs, a
//!   spot check, 3 referees), 25 at `r` = 1;
//! - an honest outcome uses 500 000 fuel, so each provider that ran it is paid
//!   `500 000 × 4 ÷ 10^6` = 2 credits;
//! - a wrong or missing outcome slashes 10 % of 10 000 = 1 000: 500 to the honest side, split
//!   evenly among its owners, and 500 burned.

use crate::common::*;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::tx::attest::BoundedBytes;
use groundwork_primitives::tx::compute::TaskOutcome;
use groundwork_primitives::{
    AccountKey, Amount, ComputeCall, ComputeReport, CreditsCall, DeviceKey, DeviceTransaction,
    KeyScheme, OracleCall, ResourceKind, Transaction, UsageCall, job_id, tx::outcome_commitment,
};
use groundwork_state::TxError;
use groundwork_state::compute::{ComputeError, Phase, Round, Task, Verdict, Verification};

const PRICE: u64 = 4;
const COLLATERAL: u128 = 10_000;
const FUEL_LIMIT: u64 = 1_000_000;
const CEILING: u64 = 5;
const PROVIDERS: u64 = 7;

const HONEST: TaskOutcome = TaskOutcome {
    result: [7; 32],
    fuel_used: 500_000,
    out_of_fuel: false,
};
const GARBAGE: TaskOutcome = TaskOutcome {
    result: [9; 32],
    fuel_used: 500_000,
    out_of_fuel: false,
};

/// Account 1 is the oracle, 2 the customer, 3..=9 each own one compute device.
struct Market {
    h: Harness,
    customer: AccountKey,
    owners: Vec<AccountKey>,
    devices: Vec<DeviceKey>,
}

fn url(text: &str) -> BoundedBytes<200> {
    BoundedBytes(text.as_bytes().to_vec())
}

fn market() -> Market {
    market_of(PROVIDERS)
}

fn market_of(providers: u64) -> Market {
    let mut h = Harness::new(&genesis_with(params(), 2 + providers));
    let customer = account(2);
    let price = h.signed(
        &account(1),
        OracleCall::SubmitPrice {
            micro_usd_per_token: 2_500_000,
        },
    );
    assert_eq!(h.submit(price), Ok(()));
    let buy = h.signed(
        &customer,
        CreditsCall::Buy {
            recipient: address(&customer),
            credits: 10_000,
        },
    );
    assert_eq!(h.submit(buy), Ok(()));
    let mut owners = Vec::new();
    let mut devices = Vec::new();
    for seed in 3..3 + providers {
        let owner = account(seed);
        let device = device(KeyScheme::Ed25519, 100 + seed);
        assert_eq!(
            h.submit(h.register(&owner, &device, ResourceKind::Compute)),
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
        let compute = h.signed(
            &owner,
            ComputeCall::Offer {
                device: device.id(),
                max_fuel_per_task: FUEL_LIMIT,
                collateral: Amount(COLLATERAL),
                endpoint: url("http://127.0.0.1:9"),
            },
        );
        assert_eq!(h.submit(compute), Ok(()));
        owners.push(owner);
        devices.push(device);
    }
    Market {
        h,
        customer,
        owners,
        devices,
    }
}

impl Market {
    fn post(&mut self, tasks: usize, replication: u8, spot_check_bps: u16) -> Digest {
        let nonce = self.h.nonce(&self.customer);
        let call = ComputeCall::Post {
            module_hash: [1; 32],
            inputs: (0..tasks).map(|i| [i as u8; 32]).collect(),
            fuel_limit: FUEL_LIMIT,
            max_credits_per_mfuel: CEILING,
            replication,
            spot_check_bps,
            source: url("http://127.0.0.1:9/jobs/1"),
        };
        let tx = self.h.signed(&self.customer, call);
        assert_eq!(self.h.submit(tx), Ok(()));
        job_id(&address(&self.customer), nonce)
    }

    fn task(&self, job: &Digest, index: u8) -> Task {
        self.h.state.compute_task(job, index).expect("task")
    }

    fn key_of(&self, id: &groundwork_primitives::DeviceId) -> &DeviceKey {
        self.devices.iter().find(|d| d.id() == *id).expect("ours")
    }

    fn owner_of(&self, id: &groundwork_primitives::DeviceId) -> &AccountKey {
        let at = self
            .devices
            .iter()
            .position(|d| d.id() == *id)
            .expect("ours");
        &self.owners[at]
    }

    /// The devices assigned to `round` of a task, in draw order.
    fn assigned(
        &self,
        job: &Digest,
        index: u8,
        round: Round,
    ) -> Vec<groundwork_primitives::DeviceId> {
        self.task(job, index)
            .slots
            .0
            .iter()
            .filter(|s| s.round == round)
            .map(|s| s.device.clone())
            .collect()
    }

    fn report(
        &self,
        device: &groundwork_primitives::DeviceId,
        report: ComputeReport,
    ) -> Transaction {
        Transaction::Device(DeviceTransaction::sign(
            self.key_of(device),
            &self.h.chain,
            report,
        ))
    }

    fn commit(
        &self,
        job: Digest,
        task: u8,
        device: &groundwork_primitives::DeviceId,
        outcome: &TaskOutcome,
    ) -> Transaction {
        self.report(
            device,
            ComputeReport::Commit {
                job,
                task,
                commitment: outcome_commitment(&job, task, device, outcome),
            },
        )
    }

    fn reveal(
        &self,
        job: Digest,
        task: u8,
        device: &groundwork_primitives::DeviceId,
        outcome: &TaskOutcome,
    ) -> Transaction {
        self.report(
            device,
            ComputeReport::Reveal {
                job,
                task,
                outcome: *outcome,
            },
        )
    }

    /// Every device of `round` commits in one block and reveals in the next, each with
    /// `outcome_of(device)`.
    fn run_round(
        &mut self,
        job: Digest,
        task: u8,
        round: Round,
        outcome_of: impl Fn(&groundwork_primitives::DeviceId) -> TaskOutcome,
    ) {
        let devices = self.assigned(&job, task, round);
        assert!(!devices.is_empty(), "nobody assigned to {round:?}");
        let commits = devices
            .iter()
            .map(|d| self.commit(job, task, d, &outcome_of(d)))
            .collect();
        self.h.execute(commits);
        assert_eq!(self.task(&job, task).phase, Phase::Revealing);
        let reveals = devices
            .iter()
            .map(|d| self.reveal(job, task, d, &outcome_of(d)))
            .collect();
        self.h.execute(reveals);
    }

    fn credits(&self, key: &AccountKey) -> u64 {
        self.h.state.account(&address(key)).credits
    }

    fn collateral(&self, device: &groundwork_primitives::DeviceId) -> u128 {
        self.h
            .state
            .compute_provider(device)
            .expect("provider")
            .collateral
            .0
    }
}

#[test]
fn two_matching_outcomes_are_verified_and_each_paid_its_fuel_at_its_price() {
    let mut m = market();
    let job = m.post(1, 2, 0);
    // 1 000 000 fuel × 5 credits per million × (2 runs + a spot check + 3 referees).
    assert_eq!(m.credits(&m.customer), 10_000 - 30);
    let task = m.task(&job, 0);
    assert_eq!(task.phase, Phase::Committing);
    assert_eq!(task.escrow_credits, 30);
    let drawn = m.assigned(&job, 0, Round::Primary);
    assert_eq!(drawn.len(), 2);
    assert_ne!(
        address(m.owner_of(&drawn[0])),
        address(m.owner_of(&drawn[1]))
    );
    // The draw is the block's hash, recorded beside it.
    let draw = task.draws.0[0];
    assert_eq!(Some(draw.seed), m.h.state.recent_block(draw.height));

    m.run_round(job, 0, Round::Primary, |_| HONEST);
    let task = m.task(&job, 0);
    assert_eq!(task.phase, Phase::Closed);
    assert_eq!(task.verification, Verification::Matched);
    assert_eq!(task.decided, HONEST);
    for slot in &task.slots.0 {
        assert_eq!(slot.verdict, Verdict::Agreed);
        assert_eq!(slot.paid_credits, 2);
    }
    assert_eq!(task.paid_credits, 4);
    // The rest of the escrow is back: 25 − 4.
    assert_eq!(m.credits(&m.customer), 10_000 - 4);
    assert_eq!(m.h.state.compute_job(&job).unwrap().open_tasks, 0);
    for d in &drawn {
        assert_eq!(m.h.state.compute_provider(d).unwrap().open_slots, 0);
    }
}

#[test]
fn a_lazy_provider_at_r2_is_caught_by_the_referees_and_slashed() {
    let mut m = market();
    let job = m.post(1, 2, 0);
    let drawn = m.assigned(&job, 0, Round::Primary);
    let lazy = drawn[0].clone();
    let honest = drawn[1].clone();
    let lazy_for = lazy.clone();
    m.run_round(job, 0, Round::Primary, move |d| {
        if *d == lazy_for { GARBAGE } else { HONEST }
    });
    let task = m.task(&job, 0);
    assert_eq!(task.phase, Phase::Committing);
    assert_eq!(task.round, Round::Referee);
    let referees = m.assigned(&job, 0, Round::Referee);
    assert_eq!(referees.len(), 3);
    assert!(referees.iter().all(|r| !drawn.contains(r)));
    let balances: Vec<u128> = m.owners.iter().map(|o| m.h.balance(o)).collect();
    m.run_round(job, 0, Round::Referee, |_| HONEST);

    let task = m.task(&job, 0);
    assert_eq!(task.verification, Verification::Refereed);
    assert_eq!(task.decided, HONEST);
    // The honest primary and three referees: 2 credits each.
    assert_eq!(task.paid_credits, 8);
    assert_eq!(m.credits(&m.customer), 10_000 - 8);
    // 10 % of 10 000: 500 split among the four honest owners (125 each), 500 burned.
    assert_eq!(m.collateral(&lazy), 9_000);
    let lazy_slot = task.slots.0.iter().find(|s| s.device == lazy).unwrap();
    assert_eq!(lazy_slot.verdict, Verdict::Disagreed);
    assert_eq!(lazy_slot.slashed, Amount(1_000));
    assert_eq!(lazy_slot.paid_credits, 0);
    // At the epoch's end the usage mint pays each of them for 2 credits of verified usage:
    // 2 × $0.00001 × 80 % ÷ $2.50 = 6.4 base units, so 6.
    let epoch_end = m.h.state.height().div_ceil(4) * 4;
    m.h.advance_to(epoch_end);
    for winner in std::iter::once(&honest).chain(&referees) {
        let at = m.devices.iter().position(|d| d.id() == *winner).unwrap();
        assert_eq!(
            m.h.balance(&m.owners[at]),
            balances[at] + 125 + 6,
            "owner of {winner}"
        );
    }
}

#[test]
fn a_spot_check_that_agrees_verifies_a_single_outcome() {
    let mut m = market();
    // Always checked.
    let job = m.post(1, 1, 10_000);
    // 1 run + a spot check + 3 referees.
    assert_eq!(m.credits(&m.customer), 10_000 - 25);
    m.run_round(job, 0, Round::Primary, |_| HONEST);
    let task = m.task(&job, 0);
    assert_eq!(task.round, Round::Spot);
    let roll = task.draws.0[1];
    assert_eq!(roll.round, Round::Spot);
    assert!(roll.checked);
    assert_eq!(
        roll.roll,
        groundwork_state::compute::spot_roll(&roll.seed, &groundwork_primitives::task_id(&job, 0))
    );
    m.run_round(job, 0, Round::Spot, |_| HONEST);
    let task = m.task(&job, 0);
    assert_eq!(task.verification, Verification::SpotChecked);
    assert_eq!(task.paid_credits, 4);
    assert_eq!(m.credits(&m.customer), 10_000 - 4);
}

#[test]
fn an_unchecked_outcome_is_accepted_after_the_window_and_a_dispute_overturns_a_lazy_one() {
    let mut m = market();
    let job = m.post(2, 1, 0);
    m.run_round(job, 0, Round::Primary, |_| HONEST);
    m.run_round(job, 1, Round::Primary, |_| GARBAGE);
    let lazy = m.assigned(&job, 1, Round::Primary)[0].clone();
    assert_eq!(m.task(&job, 0).phase, Phase::Accepting);
    assert_eq!(m.task(&job, 1).phase, Phase::Accepting);
    assert!(!m.task(&job, 0).draws.0[1].checked);

    // The customer disputes task 1; only it may.
    let stranger =
        m.h.signed(&m.owners[0], ComputeCall::Dispute { job, task: 1 });
    assert_eq!(
        m.h.submit(stranger),
        Err(TxError::Compute(ComputeError::NotTheCustomer {
            signer: address(&m.owners[0])
        }))
    );
    let dispute =
        m.h.signed(&m.customer, ComputeCall::Dispute { job, task: 1 });
    assert_eq!(m.h.submit(dispute), Ok(()));
    let task = m.task(&job, 1);
    assert!(task.disputed);
    assert_eq!(task.round, Round::Referee);
    assert_eq!(task.phase, Phase::Committing);
    m.run_round(job, 1, Round::Referee, |_| HONEST);

    // Task 0's window has passed by now: accepted unverified, its provider paid 2.
    let accepted = m.task(&job, 0);
    assert_eq!(accepted.verification, Verification::AutoAccepted);
    assert_eq!(accepted.paid_credits, 2);
    // Task 1: the referees agree with each other, not with the lazy provider.
    let refereed = m.task(&job, 1);
    assert_eq!(refereed.verification, Verification::Refereed);
    assert_eq!(refereed.paid_credits, 6);
    assert_eq!(m.collateral(&lazy), 9_000);
    // 2 + 6 paid of 50 escrowed.
    assert_eq!(m.credits(&m.customer), 10_000 - 8);
    // A closed task cannot be disputed.
    let late =
        m.h.signed(&m.customer, ComputeCall::Dispute { job, task: 0 });
    assert!(matches!(
        m.h.submit(late),
        Err(TxError::Compute(ComputeError::WrongPhase { .. }))
    ));
}

#[test]
fn copied_commitments_and_copied_results_are_refused() {
    let mut m = market();
    let job = m.post(1, 2, 0);
    let drawn = m.assigned(&job, 0, Round::Primary);
    let (a, b) = (drawn[0].clone(), drawn[1].clone());
    let a_commit = outcome_commitment(&job, 0, &a, &HONEST);
    assert_eq!(m.h.submit(m.commit(job, 0, &a, &HONEST)), Ok(()));
    // B copies A's commitment: refused, it names A.
    let copied = m.report(
        &b,
        ComputeReport::Commit {
            job,
            task: 0,
            commitment: a_commit,
        },
    );
    m.h.assert_unincludable(
        copied,
        TxError::Compute(ComputeError::CopiedCommitment { task: 0 }),
    );
    // B commits to garbage, then, once A revealed, tries to reveal A's result instead.
    assert_eq!(m.h.submit(m.commit(job, 0, &b, &GARBAGE)), Ok(()));
    assert_eq!(m.h.submit(m.reveal(job, 0, &a, &HONEST)), Ok(()));
    m.h.assert_unincludable(
        m.reveal(job, 0, &b, &HONEST),
        TxError::Compute(ComputeError::CommitmentMismatch {
            device: b.clone(),
            task: 0,
        }),
    );
    // A device not assigned to the task cannot commit to it.
    let outsider = m
        .devices
        .iter()
        .map(|d| d.id())
        .find(|d| !drawn.contains(d))
        .unwrap();
    let report = m.commit(job, 0, &outsider, &HONEST);
    m.h.assert_unincludable(
        report,
        TxError::Compute(ComputeError::WrongPhase {
            job,
            task: 0,
            phase: "revealing",
            needed: "committing",
        }),
    );
    // B never reveals: at the window's end A's single outcome waits for acceptance, and B
    // is slashed with it.
    m.h.empty_blocks(6);
    let task = m.task(&job, 0);
    assert_eq!(task.verification, Verification::AutoAccepted);
    let b_slot = task.slots.0.iter().find(|s| s.device == b).unwrap();
    assert_eq!(b_slot.verdict, Verdict::Silent);
    assert_eq!(m.collateral(&b), 9_000);
}

#[test]
fn a_task_out_of_fuel_is_reported_as_such_and_paid_for_its_fuel_limit() {
    let mut m = market();
    let job = m.post(1, 2, 0);
    let out = TaskOutcome {
        result: [0; 32],
        fuel_used: FUEL_LIMIT,
        out_of_fuel: true,
    };
    // Out of fuel below the limit, or more fuel than the limit, is refused.
    let drawn = m.assigned(&job, 0, Round::Primary);
    assert_eq!(m.h.submit(m.commit(job, 0, &drawn[0], &out)), Ok(()));
    let short = TaskOutcome {
        fuel_used: FUEL_LIMIT - 1,
        ..out
    };
    assert_eq!(m.h.submit(m.commit(job, 0, &drawn[1], &short)), Ok(()));
    m.h.assert_unincludable(
        m.reveal(job, 0, &drawn[1], &short),
        TxError::Compute(ComputeError::BadFuel {
            fuel_used: FUEL_LIMIT - 1,
            fuel_limit: FUEL_LIMIT,
            out_of_fuel: true,
        }),
    );
    let _ = m.h.submit(m.reveal(job, 0, &drawn[0], &out));
    // drawn[1] committed to an impossible outcome and cannot reveal: silent, slashed.
    m.h.empty_blocks(8);
    let task = m.task(&job, 0);
    assert_eq!(task.decided, out);
    assert_eq!(task.verification, Verification::AutoAccepted);
    // 1 000 000 fuel × 4 ÷ 10^6.
    assert_eq!(task.paid_credits, 4);

    let job = m.post(1, 2, 0);
    m.run_round(job, 0, Round::Primary, |_| out);
    let task = m.task(&job, 0);
    assert_eq!(task.verification, Verification::Matched);
    assert!(task.decided.out_of_fuel);
    assert_eq!(task.paid_credits, 8);
}

#[test]
fn bad_jobs_and_offers_are_refused_by_name_and_change_nothing() {
    let mut m = market();
    let base = ComputeCall::Post {
        module_hash: [1; 32],
        inputs: vec![[0; 32]],
        fuel_limit: FUEL_LIMIT,
        max_credits_per_mfuel: CEILING,
        replication: 2,
        spot_check_bps: 0,
        source: url("http://127.0.0.1:9/jobs/1"),
    };
    let with = |f: &dyn Fn(&mut ComputeCall)| {
        let mut call = base.clone();
        f(&mut call);
        call
    };
    let cases: Vec<(ComputeCall, TxError)> = vec![
        (
            with(&|c| {
                if let ComputeCall::Post { replication, .. } = c {
                    *replication = 4
                }
            }),
            ComputeError::BadJob {
                reason: "replication must be 1, 2 or 3",
            }
            .into(),
        ),
        (
            with(&|c| {
                if let ComputeCall::Post { fuel_limit, .. } = c {
                    *fuel_limit = 2_000_000_000
                }
            }),
            ComputeError::FuelAboveLimit {
                asked: 2_000_000_000,
                max: 1_000_000_000,
            }
            .into(),
        ),
        (
            with(&|c| {
                if let ComputeCall::Post { source, .. } = c {
                    *source = url("ftp://x")
                }
            }),
            ComputeError::BadJob {
                reason: "the source must be an http:// or https:// URL",
            }
            .into(),
        ),
        (
            with(&|c| {
                if let ComputeCall::Post {
                    max_credits_per_mfuel,
                    ..
                } = c
                {
                    *max_credits_per_mfuel = 0
                }
            }),
            ComputeError::NothingEscrowed.into(),
        ),
        (
            with(&|c| {
                if let ComputeCall::Post { inputs, .. } = c {
                    *inputs = vec![[0; 32]; 16]
                }
                if let ComputeCall::Post { fuel_limit, .. } = c {
                    *fuel_limit = 1_000_000_000
                }
            }),
            // 16 tasks × 1e9 fuel × 5 × 6 ÷ 1e6 = 480 000 credits.
            TxError::Core(groundwork_state::CoreError::InsufficientCredits {
                needed: 480_000,
                available: 10_000,
            }),
        ),
    ];
    for (call, expected) in cases {
        let tx = m.h.signed(&m.customer, call);
        m.h.assert_rejected(tx, expected);
    }
    // Offers: below the minimum collateral, from the wrong kind of device, or taking back
    // collateral an open task could slash.
    let low = m.h.signed(
        &m.owners[0],
        ComputeCall::Offer {
            device: m.devices[0].id(),
            max_fuel_per_task: FUEL_LIMIT,
            collateral: Amount(999),
            endpoint: url("http://127.0.0.1:9"),
        },
    );
    m.h.assert_rejected(
        low,
        ComputeError::CollateralBelowMinimum {
            offered: Amount(999),
            minimum: Amount(1_000),
        }
        .into(),
    );
    let job = m.post(1, 2, 0);
    let busy = m.assigned(&job, 0, Round::Primary)[0].clone();
    let withdraw = m.h.signed(
        m.owner_of(&busy),
        ComputeCall::Offer {
            device: busy.clone(),
            max_fuel_per_task: 0,
            collateral: Amount::ZERO,
            endpoint: url("http://127.0.0.1:9"),
        },
    );
    m.h.assert_rejected(
        withdraw,
        ComputeError::CollateralInUse {
            device: busy.clone(),
            open: 1,
        }
        .into(),
    );
}

#[test]
fn too_few_providers_close_the_task_with_its_escrow_back() {
    let mut m = market();
    // Withdraw all but two offers: r = 3 cannot be drawn.
    for i in 2..PROVIDERS as usize {
        let tx = m.h.signed(
            &m.owners[i],
            ComputeCall::Offer {
                device: m.devices[i].id(),
                max_fuel_per_task: 0,
                collateral: Amount::ZERO,
                endpoint: url("http://127.0.0.1:9"),
            },
        );
        assert_eq!(m.h.submit(tx), Ok(()));
        assert!(m.h.state.compute_provider(&m.devices[i].id()).is_none());
    }
    let job = m.post(1, 3, 0);
    let task = m.task(&job, 0);
    assert_eq!(task.verification, Verification::NoProvider);
    assert_eq!(m.credits(&m.customer), 10_000);
    // At r = 2 the two left are drawn; a mismatch finds no referee: no majority, nobody paid
    // or slashed, the escrow back.
    let job = m.post(1, 2, 0);
    let drawn = m.assigned(&job, 0, Round::Primary);
    let first = drawn[0].clone();
    m.run_round(job, 0, Round::Primary, move |d| {
        if *d == first { GARBAGE } else { HONEST }
    });
    let task = m.task(&job, 0);
    assert_eq!(task.verification, Verification::NoMajority);
    assert!(task.slots.0.iter().all(|s| s.verdict == Verdict::Undecided));
    assert_eq!(m.credits(&m.customer), 10_000);
    assert_eq!(m.collateral(&drawn[0]), COLLATERAL);
}

impl Market {
    /// Runs every task of a job through every round it takes, each device answering with
    /// `outcome_of(device, round)`, until all are closed.
    fn run_job(
        &mut self,
        job: Digest,
        outcome_of: &dyn Fn(&groundwork_primitives::DeviceId, Round) -> TaskOutcome,
    ) {
        let tasks = self.h.state.compute_job(&job).unwrap().tasks;
        for _ in 0..4 {
            let mut commits = Vec::new();
            let mut reveals = Vec::new();
            for index in 0..tasks {
                let task = self.task(&job, index);
                if task.phase != Phase::Committing {
                    continue;
                }
                for slot in task.slots.0.iter().filter(|s| s.round == task.round) {
                    let outcome = outcome_of(&slot.device, task.round);
                    commits.push(self.commit(job, index, &slot.device, &outcome));
                    reveals.push(self.reveal(job, index, &slot.device, &outcome));
                }
            }
            if commits.is_empty() {
                break;
            }
            self.h.execute(commits);
            self.h.execute(reveals);
        }
        // Unchecked single outcomes wait out the acceptance window.
        self.h.empty_blocks(4);
        for index in 0..tasks {
            assert_eq!(self.task(&job, index).phase, Phase::Closed, "task {index}");
        }
    }
}

/// A lazy provider at `r` = 1, answering garbage to every task it runs: it is caught exactly
/// when the spot-check roll comes up, which should be at a rate near `p` = 25 %.
#[test]
fn a_lazy_provider_at_r1_is_caught_at_the_spot_check_rate() {
    let mut m = market();
    let (jobs, per_job, p_bps) = (13usize, 16usize, 2_500u16);
    let (mut tasks, mut caught, mut checked) = (0usize, 0usize, 0usize);
    for j in 0..jobs {
        let n = per_job.min(200 - j * per_job);
        let job = m.post(n, 1, p_bps);
        // Every primary run is lazy; checkers and referees are honest.
        m.run_job(job, &|_, round| {
            if round == Round::Primary {
                GARBAGE
            } else {
                HONEST
            }
        });
        for index in 0..n as u8 {
            let task = m.task(&job, index);
            tasks += 1;
            let rolled = task
                .draws
                .0
                .iter()
                .find(|d| d.round == Round::Spot)
                .unwrap();
            checked += usize::from(rolled.checked);
            let primary = task
                .slots
                .0
                .iter()
                .find(|s| s.round == Round::Primary)
                .unwrap();
            if primary.verdict == Verdict::Disagreed {
                caught += 1;
                assert_eq!(task.verification, Verification::Refereed);
                assert_eq!(primary.paid_credits, 0);
            } else {
                // Not checked: accepted unverified (a dispute would have caught it).
                assert_eq!(task.verification, Verification::AutoAccepted);
            }
        }
    }
    assert_eq!(tasks, 200);
    // Caught exactly when checked: the roll decides, nothing else.
    assert_eq!(caught, checked);
    let rate = caught as f64 / tasks as f64;
    let sigma = (0.25f64 * 0.75 / 200.0).sqrt();
    println!(
        "lazy provider at r = 1, p = 25 %: caught {caught} of {tasks} tasks ({:.1} %, predicted 25.0 % ± {:.1} %)",
        rate * 100.0,
        sigma * 100.0
    );
    // Within four standard deviations of p.
    assert!((rate - 0.25).abs() < 4.0 * sigma, "rate {rate}");
}

/// Two colluding providers return the same wrong outcome. Assigned with an honest provider,
/// each is caught with certainty (the outcomes differ); assigned together, they agree, and
/// only the spot check at `p` = 50 % catches them.
#[test]
fn a_colluding_pair_assigned_together_is_caught_at_the_spot_check_rate() {
    // Seven providers: two colluders, five honest, so a checker and a committee of three
    // always hold an honest majority.
    let mut m = market_of(7);
    let colluders = [m.devices[0].id(), m.devices[1].id()];
    let (mut together, mut together_caught, mut apart, mut apart_caught) = (0, 0, 0, 0);
    for _ in 0..64 {
        let job = m.post(16, 2, 5_000);
        let c = colluders.clone();
        m.run_job(job, &move |d, _| {
            if c.contains(d) { GARBAGE } else { HONEST }
        });
        // Slashes would soon take the pair below the minimum collateral, and out of the
        // draw; they top it up to stay in.
        for i in 0..2 {
            let top_up = m.h.signed(
                &m.owners[i],
                ComputeCall::Offer {
                    device: m.devices[i].id(),
                    max_fuel_per_task: FUEL_LIMIT,
                    collateral: Amount(COLLATERAL),
                    endpoint: url("http://127.0.0.1:9"),
                },
            );
            assert_eq!(m.h.submit(top_up), Ok(()));
        }
        for index in 0..16 {
            let task = m.task(&job, index);
            let primaries: Vec<_> = task
                .slots
                .0
                .iter()
                .filter(|s| s.round == Round::Primary)
                .collect();
            let colluding = primaries
                .iter()
                .filter(|s| colluders.contains(&s.device))
                .count();
            let slashed = primaries.iter().any(|s| s.verdict == Verdict::Disagreed);
            match colluding {
                2 => {
                    together += 1;
                    together_caught += usize::from(slashed);
                    let rolled = task
                        .draws
                        .0
                        .iter()
                        .find(|d| d.round == Round::Spot)
                        .unwrap();
                    assert_eq!(slashed, rolled.checked);
                    if !slashed {
                        // They agree and nobody checked: wrongly verified, and paid.
                        assert_eq!(task.verification, Verification::Matched);
                        assert_eq!(task.decided, GARBAGE);
                    }
                }
                1 => {
                    apart += 1;
                    apart_caught += usize::from(slashed);
                    assert_eq!(task.decided, HONEST);
                }
                // Two honest runs: a colluding checker is outvoted by the referees.
                _ => assert_eq!(task.decided, HONEST),
            }
        }
    }
    println!(
        "colluding pair, r = 2, p = 50 %: assigned together {together} times, caught {together_caught} ({:.0} %, predicted 50 %); assigned apart {apart} times, caught {apart_caught}",
        100.0 * together_caught as f64 / together.max(1) as f64
    );
    // Apart, they are always caught.
    assert_eq!(apart_caught, apart);
    // Together (1 in 21 pairs of seven providers: about 49 of 1 024 tasks), at rate p:
    // within four standard deviations.
    assert!(together >= 25, "together {together}");
    let rate = together_caught as f64 / together as f64;
    let sigma = (0.25f64 / together as f64).sqrt();
    assert!((rate - 0.5).abs() < 4.0 * sigma, "rate {rate}");
}

#[test]
fn a_task_nobody_reveals_closes_with_its_escrow_back_and_nobody_slashed() {
    let mut m = market();
    let job = m.post(1, 2, 0);
    let drawn = m.assigned(&job, 0, Round::Primary);
    // Commit and reveal windows pass in silence (as when the customer serves no module).
    m.h.empty_blocks(6);
    let task = m.task(&job, 0);
    assert_eq!(task.verification, Verification::NoOutcome);
    assert!(task.slots.0.iter().all(|s| s.verdict == Verdict::Silent));
    assert_eq!(m.credits(&m.customer), 10_000);
    for d in &drawn {
        assert_eq!(m.collateral(d), COLLATERAL);
        assert_eq!(m.h.state.compute_provider(d).unwrap().open_slots, 0);
    }
    assert!(
        m.h.state
            .compute_open_tasks_of_provider(&drawn[0], 10)
            .is_empty()
    );
}

#[test]
fn a_decommissioned_providers_collateral_is_withdrawn_by_its_owner_once_no_task_holds_it() {
    let mut m = market();
    let job = m.post(1, 2, 0);
    let drawn = m.assigned(&job, 0, Round::Primary)[0].clone();
    let owner = m.owner_of(&drawn).clone();
    let withdraw = |m: &Market| {
        m.h.signed(
            &owner,
            ComputeCall::Offer {
                device: drawn.clone(),
                max_fuel_per_task: 0,
                collateral: Amount::ZERO,
                endpoint: url("http://127.0.0.1:9"),
            },
        )
    };
    let decommission = m.h.signed(
        &owner,
        groundwork_primitives::CoreCall::DecommissionDevice {
            device: drawn.clone(),
        },
    );
    assert_eq!(m.h.submit(decommission), Ok(()));
    // Its task could still slash it: refused.
    assert_eq!(
        m.h.submit(withdraw(&m)),
        Err(TxError::Compute(ComputeError::CollateralInUse {
            device: drawn.clone(),
            open: 1,
        }))
    );
    // The task closes (nobody answers), and then the owner takes all 10 000 back.
    m.h.empty_blocks(6);
    assert_eq!(m.h.state.compute_provider(&drawn).unwrap().open_slots, 0);
    let before = m.h.balance(&owner);
    assert_eq!(m.h.submit(withdraw(&m)), Ok(()));
    assert_eq!(m.h.balance(&owner), before + COLLATERAL - FEE);
    assert!(m.h.state.compute_provider(&drawn).is_none());
}
