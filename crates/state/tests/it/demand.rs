//! The demand side through `State::execute`: the oracle's median and smoothed average, the
//! conservative burn price, staleness, and buying data credits with it.

use crate::common::*;
use groundwork_primitives::{Amount, CreditsCall, OracleCall, Transaction};
use groundwork_state::{CreditsError, OracleError, OracleParams, TxError};

/// Five oracles (accounts 1..=5), three of them a quorum; prices count for 3 blocks and the
/// median is averaged over 4.
fn harness() -> Harness {
    let mut p = params();
    let mut accounts: Vec<_> = (1..=5).map(|seed| address(&account(seed))).collect();
    accounts.sort();
    p.oracle = OracleParams {
        accounts,
        quorum: 3,
        max_age_blocks: 3,
        smoothing_window_blocks: 4,
    };
    Harness::new(&genesis_with(p, 6))
}

fn submit_price(h: &Harness, oracle: u64, micro_usd: u64) -> Transaction {
    h.signed(
        &account(oracle),
        OracleCall::SubmitPrice {
            micro_usd_per_token: micro_usd,
        },
    )
}

/// One block in which each `(oracle, price)` submits.
fn round(h: &mut Harness, prices: &[(u64, u64)]) {
    let txs = prices.iter().map(|&(o, p)| submit_price(h, o, p)).collect();
    let outcome = h.execute(txs);
    assert!(outcome.receipts.iter().all(|r| r.result.is_ok()));
}

fn buy(h: &Harness, from: u64, to: u64, credits: u64) -> Transaction {
    h.signed(
        &account(from),
        CreditsCall::Buy {
            recipient: address(&account(to)),
            credits,
        },
    )
}

#[test]
fn median_and_smoothed_average_by_hand() {
    let mut h = harness();
    // Two fresh prices: below the quorum of three, no price.
    round(&mut h, &[(1, 2_000_000), (2, 2_200_000)]);
    assert_eq!(
        h.state.oracle_price(),
        Err(OracleError::PriceUnavailable {
            fresh: 2,
            quorum: 3,
            max_age_blocks: 3,
        })
    );
    // Block 2: a third: median of {2.0, 2.2, 2.1} = 2.1. No earlier median was recorded, so
    // the next block's average is (2.1 [block 2] + 2.1 [its own]) / 2.
    round(&mut h, &[(3, 2_100_000)]);
    let p = h.state.oracle_price().unwrap();
    assert_eq!((p.median, p.average, p.fresh), (2_100_000, 2_100_000, 3));
    // Block 3: two more, {2.0, 2.2, 2.1, 3.0, 3.0}: median 2.2. Window for block 4 = blocks
    // 2, 3 and 4's own: (2.1 + 2.2 + 2.2) / 3 = 2.166666 → 2 166 666 (rounded down).
    round(&mut h, &[(4, 3_000_000), (5, 3_000_000)]);
    let p = h.state.oracle_price().unwrap();
    assert_eq!((p.median, p.average), (2_200_000, 2_166_666));
    // Burns use the lower figure, mints the higher.
    assert_eq!((p.burn(), p.mint()), (2_166_666, 2_200_000));
    // Block 4 runs with block 1's submissions (oracles 1 and 2) 3 blocks old, still fresh:
    // it records 2.2 again.
    h.execute(Vec::new());
    // For block 5 they are 4 blocks old, out. {2.1, 3.0, 3.0}: median 3.0; the window is
    // blocks 2, 3, 4 and its own: (2.1 + 2.2 + 2.2 + 3.0) / 4 = 2.375.
    let p = h.state.oracle_price().unwrap();
    assert_eq!((p.median, p.average, p.fresh), (3_000_000, 2_375_000, 3));
}

#[test]
fn one_oracle_reporting_a_hundred_times_the_price_moves_burns_and_mints_by_under_one_percent() {
    let honest = [
        (1, 2_000_000),
        (2, 2_010_000),
        (3, 1_995_000),
        (4, 2_005_000),
    ];
    let mut fair = harness();
    let mut attacked = harness();
    for _ in 0..4 {
        let mut prices = honest.to_vec();
        prices.push((5, 1_990_000));
        round(&mut fair, &prices);
        let mut prices = honest.to_vec();
        prices.push((5, 199_000_000));
        round(&mut attacked, &prices);
    }
    let (f, a) = (
        fair.state.oracle_price().unwrap(),
        attacked.state.oracle_price().unwrap(),
    );
    for (what, fair, attacked) in [("burn", f.burn(), a.burn()), ("mint", f.mint(), a.mint())] {
        let moved_bps = fair.abs_diff(attacked) * 10_000 / fair;
        assert!(
            moved_bps < 100,
            "{what}: {fair} → {attacked} ({moved_bps} bps)"
        );
    }
}

#[test]
fn a_pumped_median_buys_at_the_lower_average() {
    let mut h = harness();
    for _ in 0..3 {
        round(&mut h, &[(1, 1_000_000), (2, 1_000_000), (3, 1_000_000)]);
    }
    // The price doubles in one block: the median jumps, the average lags.
    round(&mut h, &[(1, 2_000_000), (2, 2_000_000), (3, 2_000_000)]);
    let p = h.state.oracle_price().unwrap();
    assert_eq!(p.median, 2_000_000);
    // Blocks 2, 3, 4 recorded 1.0, 1.0, 2.0; with block 5's own 2.0: 1.5.
    assert_eq!(p.average, 1_500_000);
    let before = h.balance(&account(6));
    assert_eq!(h.submit(buy(&h, 6, 6, 30_000)), Ok(()));
    // 30 000 credits × $0.00001 = $0.30 = 0.2 tokens at $1.50, not 0.15 at the pumped $2.
    assert_eq!(before - h.balance(&account(6)), 200_000 + FEE);
    assert_eq!(h.state.account(&address(&account(6))).credits, 30_000);
}

#[test]
fn a_stale_price_stops_burns_and_the_refusal_changes_nothing_but_the_fee() {
    let mut h = harness();
    round(&mut h, &[(1, 2_000_000), (2, 2_000_000), (3, 2_000_000)]);
    assert_eq!(h.submit(buy(&h, 6, 6, 1_000)), Ok(()));
    // Three blocks of silence more and the submissions are older than max_age_blocks.
    h.empty_blocks(3);
    h.assert_rejected(
        buy(&h, 6, 6, 1_000),
        TxError::Oracle(OracleError::PriceUnavailable {
            fresh: 0,
            quorum: 3,
            max_age_blocks: 3,
        }),
    );
    assert_eq!(h.state.credit_totals().minted, 1_000);
}

#[test]
fn only_oracle_accounts_submit_and_only_prices_above_zero() {
    let mut h = harness();
    let outsider = submit_price(&h, 6, 2_000_000);
    h.assert_rejected(
        outsider,
        TxError::Oracle(OracleError::NotAnOracle {
            signer: address(&account(6)),
        }),
    );
    h.assert_rejected(
        submit_price(&h, 1, 0),
        TxError::Oracle(OracleError::ZeroPrice),
    );
    h.assert_rejected(
        buy(&h, 6, 6, 1_000_000_000_001),
        TxError::Credits(CreditsError::TooManyCredits {
            credits: 1_000_000_000_001,
            max: 1_000_000_000_000,
        }),
    );
}

#[test]
fn credits_bought_for_a_customer_are_counted_per_epoch_and_in_total() {
    let mut h = harness();
    round(&mut h, &[(1, 2_500_000), (2, 2_500_000), (3, 2_500_000)]);
    // Account 6 funds account 2's credits; 1 000 credits = $0.01 = 4 000 base units at $2.50.
    assert_eq!(h.submit(buy(&h, 6, 2, 1_000)), Ok(()));
    assert_eq!(h.state.account(&address(&account(2))).credits, 1_000);
    assert_eq!(h.state.account(&address(&account(6))).credits, 0);
    let epoch = h.state.epoch_of(h.state.height());
    let in_epoch = h.state.epoch_credits(epoch).unwrap();
    assert_eq!(
        (in_epoch.minted, in_epoch.tokens_burned),
        (1_000, Amount(4_000))
    );
    // The epoch's end records its price for `epoch_get`.
    let length = h.state.params().core.epoch_length_blocks;
    h.advance_to((epoch + 1) * length);
    assert!(h.state.epoch_price(epoch).is_some());
    let totals = h.state.credit_totals();
    assert_eq!((totals.minted, totals.outstanding()), (1_000, 1_000));
}
