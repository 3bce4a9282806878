//! The memo module: a module added on the seam, with its own table, call and error codes.

use crate::common::*;
use groundwork_primitives::tx::memo::MemoCall;
use groundwork_state::TxError;

const MEMO_PREFIX: u8 = 0x40;

#[test]
fn a_posted_memo_is_stored_under_the_modules_prefix_and_bad_ones_pay_the_fee() {
    let mut h = Harness::standard();
    let alice = account(1);
    let post = |text: &[u8]| MemoCall::Post {
        text: text.to_vec(),
    };
    let tx = h.signed(&alice, post(b"hello from block 1"));
    assert_eq!(h.submit(tx), Ok(()));
    let memos: Vec<_> = h
        .state
        .entries()
        .into_iter()
        .filter(|(k, _)| k[0] == MEMO_PREFIX)
        .collect();
    assert_eq!(memos.len(), 1);
    assert_eq!(&memos[0].0[1..], address(&alice).0.as_slice());

    let empty = h.signed(&alice, post(b""));
    let Err(error) = h.submit(empty) else {
        panic!("an empty memo was accepted")
    };
    assert!(matches!(error, TxError::Memo(_)));
    assert_eq!(error.code(), 1000);
    let not_text = h.signed(&alice, post(&[0xff, 0xfe]));
    assert_eq!(h.submit(not_text).map_err(|e| e.code()), Err(1001));
    // Both were included and failed: fees paid, nonces used.
    assert_eq!(h.nonce(&alice), 3);
    assert_eq!(h.balance(&alice), START_BALANCE - 3 * FEE);
}
