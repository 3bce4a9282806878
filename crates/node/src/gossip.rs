//! Transaction gossip: transactions a client submits to one validator reach every validator's
//! mempool, so whichever validator leads the next view can include them.
//!
//! Local submissions are batched (up to [`MAX_GOSSIP_BATCH`] per message) and sent to all
//! peers. Transactions received from peers are checked like any submission and not forwarded
//! again: every validator hears from the submitting one directly.

use crate::chain::Chain;
use commonware_codec::{Encode, EncodeSize, RangeCfg, Read};
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_utils::channel::mpsc;
use groundwork_primitives::limits::{MAX_PROOF_TRANSACTION_BYTES, MAX_TRANSACTION_BYTES};
use groundwork_primitives::{Transaction, codec::Copying};
use std::sync::Arc;
use tracing::debug;

/// Most transactions in one gossip message.
pub const MAX_GOSSIP_BATCH: usize = 1_024;
/// Largest gossip message, in bytes.
pub const MAX_GOSSIP_BYTES: usize = MAX_GOSSIP_BATCH * MAX_TRANSACTION_BYTES + 16;

// A batch is cut by bytes as well as count, so storage proofs (larger than other
// transactions) fill a message with fewer of them; one always fits.
const _: () = assert!(MAX_PROOF_TRANSACTION_BYTES + 16 <= MAX_GOSSIP_BYTES);

fn decode_batch(bytes: &[u8]) -> Option<Vec<Transaction>> {
    if bytes.len() > MAX_GOSSIP_BYTES {
        return None;
    }
    let range: RangeCfg<usize> = (1..=MAX_GOSSIP_BATCH).into();
    let mut buf = Copying(bytes);
    let batch = Vec::<Transaction>::read_cfg(&mut buf, &(range, ())).ok()?;
    buf.0.is_empty().then_some(batch)
}

/// Runs gossip until both directions close.
pub async fn run<S, R>(
    chain: Arc<Chain>,
    mut local: mpsc::UnboundedReceiver<Transaction>,
    (mut sender, mut receiver): (S, R),
) where
    S: Sender,
    R: Receiver,
{
    loop {
        commonware_macros::select! {
            first = local.recv() => {
                let Some(first) = first else { return };
                let mut bytes = first.encode_size();
                let mut batch = vec![first];
                while batch.len() < MAX_GOSSIP_BATCH {
                    match local.try_recv() {
                        Ok(tx) => {
                            let size = tx.encode_size();
                            if bytes + size + 16 > MAX_GOSSIP_BYTES {
                                let full = std::mem::take(&mut batch);
                                let _ = sender.send(Recipients::All, full.encode(), false);
                                bytes = 0;
                            }
                            bytes += size;
                            batch.push(tx);
                        }
                        Err(_) => break,
                    }
                }
                let _ = sender.send(Recipients::All, batch.encode(), false);
            },
            message = receiver.recv() => {
                let Ok((peer, bytes)) = message else { return };
                let Some(batch) = decode_batch(bytes.as_ref()) else {
                    debug!(?peer, "dropping malformed transaction gossip");
                    continue;
                };
                for transaction in batch {
                    let size = transaction.encode_size();
                    let _ = chain.admit_from_peer(transaction, size);
                }
            },
        }
    }
}
