//! Signature checks over many transactions at once.
//!
//! ed25519 batch verification is about three times faster per signature than checking one at a
//! time. A batch answers only "all valid" or "not all valid", so a failed batch is followed by
//! one-by-one checks: a verdict never depends on the batch. The batch's random coefficients are
//! seeded from a caller-given digest (the block digest in consensus), so every validator runs
//! the same computation.

use commonware_cryptography::{BatchEntry, BatchVerifier, ed25519};
use commonware_parallel::Sequential;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::{ChainId, DeviceId, DeviceSignature, DeviceTransaction, Transaction};
use rand_core::SeedableRng;

/// Verifies every ed25519 signature of a block's transactions (accounts, and devices with
/// ed25519 keys) in one batch. `true` means
/// all are valid; `false` means at least one is not (or there were none), and each is then
/// checked on its own during execution, so the outcome never depends on the batch.
pub fn batch_verify_ed25519(
    chain_id: &ChainId,
    transactions: &[Transaction],
    seed: &Digest,
) -> bool {
    struct Item {
        namespace: Vec<u8>,
        payload: Vec<u8>,
        key: ed25519::PublicKey,
        signature: ed25519::Signature,
    }
    let mut items = Vec::with_capacity(transactions.len());
    for transaction in transactions {
        match transaction {
            Transaction::Account(tx) => items.push(Item {
                namespace: tx.namespace(chain_id),
                payload: tx.signing_payload(),
                key: tx.signer.clone(),
                signature: tx.signature.clone(),
            }),
            Transaction::Device(tx) => {
                if let Some((key, signature)) = ed25519_device_parts(tx) {
                    items.push(Item {
                        namespace: tx.namespace(chain_id),
                        payload: tx.signing_payload(),
                        key: key.clone(),
                        signature: signature.clone(),
                    });
                }
            }
        }
    }
    if items.is_empty() {
        return false;
    }
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed.0);
    ed25519::PublicKey::verify_batch(
        &mut rng,
        &items,
        |_, item| BatchEntry {
            namespace: &item.namespace,
            message: &item.payload,
            public_key: &item.key,
            signature: &item.signature,
        },
        &Sequential,
    )
}

/// The key and signature of a device transaction signed with ed25519; `None` for P-256
/// devices (which are checked one by one).
fn ed25519_device_parts(
    tx: &DeviceTransaction,
) -> Option<(&ed25519::PublicKey, &ed25519::Signature)> {
    match (&tx.device, &tx.signature) {
        (DeviceId::Ed25519(key), DeviceSignature::Ed25519(signature)) => Some((key, signature)),
        _ => None,
    }
}

/// Whether a transaction's signature is part of the ed25519 batch: every account transaction,
/// and a device report only when both its device key and its signature are ed25519. (A P-256
/// device's report carrying an ed25519-shaped signature is not in the batch, so a passing batch
/// says nothing about it; it is checked on its own and fails.)
pub fn in_ed25519_batch(transaction: &Transaction) -> bool {
    match transaction {
        Transaction::Account(_) => true,
        Transaction::Device(tx) => ed25519_device_parts(tx).is_some(),
    }
}

/// One verdict per transaction on its own signature (see [`Transaction::verify_signature`]).
pub fn verify_signatures(
    chain_id: &ChainId,
    transactions: &[Transaction],
    seed: &Digest,
) -> Vec<bool> {
    let all_ed25519_valid = batch_verify_ed25519(chain_id, transactions, seed);
    transactions
        .iter()
        .map(|tx| (all_ed25519_valid && in_ed25519_batch(tx)) || tx.verify_signature(chain_id))
        .collect()
}
