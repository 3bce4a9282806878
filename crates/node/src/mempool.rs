//! The mempool: transactions waiting for a block.
//!
//! Admission runs only stateless checks plus a nonce window against the last executed state:
//! decoding and size are checked by the caller, signatures here. Limits: a total count, a
//! window of future nonces per account, and per device one pending heartbeat, one pending
//! beacon and one pending report per beacon heard (the per-device rate limit); duplicates are
//! dropped. Device reports are kept in admission order. When full, the oldest device report is
//! evicted for a new transaction, since reports go stale anyway; if there is none, the new one
//! is refused.

use groundwork_primitives::hash::Digest;
use groundwork_primitives::{Address, DeviceId, Transaction};
use std::collections::{BTreeMap, VecDeque};

/// Limits of a mempool.
#[derive(Clone, Copy, Debug)]
pub struct MempoolConfig {
    /// Most transactions held at once.
    pub max_transactions: usize,
    /// How far beyond an account's next nonce a transaction may be.
    pub max_nonce_gap: u64,
    /// Device reports (heartbeats, beacons, witness reports) older than this many blocks (by
    /// admission) are dropped.
    pub heartbeat_ttl_blocks: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            max_transactions: 200_000,
            max_nonce_gap: 64,
            heartbeat_ttl_blocks: 30,
        }
    }
}

/// Why a transaction was not admitted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error("transaction is already pending")]
    Duplicate,
    #[error("bad signature: not signed by its signer's key for this chain and transaction type")]
    BadSignature,
    #[error("nonce {got} was already used (account's next nonce is {next})")]
    NonceTooLow { next: u64, got: u64 },
    #[error(
        "nonce {got} is too far ahead (account's next nonce is {next}, at most {max_gap} ahead)"
    )]
    NonceTooHigh { next: u64, got: u64, max_gap: u64 },
    #[error("another transaction with nonce {nonce} from this account is pending")]
    NonceTaken { nonce: u64 },
    #[error("device already has a {module}/{message} pending")]
    ReportPending {
        module: &'static str,
        message: &'static str,
    },
    #[error("mempool is full ({max} transactions)")]
    Full { max: usize },
}

impl MempoolError {
    /// Stable numeric code, distinct from the state machine's rejection codes.
    pub fn code(&self) -> u16 {
        match self {
            MempoolError::Duplicate => 101,
            MempoolError::BadSignature => 102,
            MempoolError::NonceTooLow { .. } => 103,
            MempoolError::NonceTooHigh { .. } => 104,
            MempoolError::NonceTaken { .. } => 105,
            MempoolError::ReportPending { .. } => 106,
            MempoolError::Full { .. } => 107,
        }
    }
}

struct Pending {
    transaction: Transaction,
    bytes: usize,
}

/// What a device may have pending at once: one report of each module message, and of a
/// message with a subject (a witness report names its beacon) one per subject.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Slot {
    module: u8,
    message: &'static str,
    subject: Option<Digest>,
}

/// The device slot a device transaction occupies; `None` for account transactions.
fn slot(transaction: &Transaction) -> Option<(DeviceId, Slot)> {
    match transaction {
        Transaction::Account(_) => None,
        Transaction::Device(tx) => {
            let slot = Slot {
                module: tx.report.module_byte(),
                message: tx.report.name(),
                subject: tx.report.subject(),
            };
            Some((tx.device.clone(), slot))
        }
    }
}

/// Pending transactions.
pub struct Mempool {
    config: MempoolConfig,
    transactions: BTreeMap<Digest, Pending>,
    accounts: BTreeMap<Address, BTreeMap<u64, Digest>>,
    reports: BTreeMap<(DeviceId, Slot), Digest>,
    /// Device reports in admission order, for eviction and expiry.
    report_order: VecDeque<(u64, Digest)>,
}

impl Mempool {
    pub fn new(config: MempoolConfig) -> Self {
        Self {
            config,
            transactions: BTreeMap::new(),
            accounts: BTreeMap::new(),
            reports: BTreeMap::new(),
            report_order: VecDeque::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    pub fn contains(&self, hash: &Digest) -> bool {
        self.transactions.contains_key(hash)
    }

    /// Admits a transaction whose signature the caller has verified. `next_nonce` is the
    /// sender's next nonce in the last executed state; `height` the last executed height.
    pub fn add(
        &mut self,
        transaction: Transaction,
        bytes: usize,
        height: u64,
        next_nonce: impl Fn(&Address) -> u64,
    ) -> Result<Digest, MempoolError> {
        let hash = transaction.hash();
        if self.transactions.contains_key(&hash) {
            return Err(MempoolError::Duplicate);
        }
        match &transaction {
            Transaction::Account(tx) => {
                let sender = tx.sender();
                let next = next_nonce(&sender);
                if tx.nonce < next {
                    return Err(MempoolError::NonceTooLow {
                        next,
                        got: tx.nonce,
                    });
                }
                if tx.nonce - next > self.config.max_nonce_gap {
                    return Err(MempoolError::NonceTooHigh {
                        next,
                        got: tx.nonce,
                        max_gap: self.config.max_nonce_gap,
                    });
                }
                if self
                    .accounts
                    .get(&sender)
                    .is_some_and(|q| q.contains_key(&tx.nonce))
                {
                    return Err(MempoolError::NonceTaken { nonce: tx.nonce });
                }
                self.make_room()?;
                self.accounts
                    .entry(sender)
                    .or_default()
                    .insert(tx.nonce, hash);
            }
            Transaction::Device(device_tx) => {
                let Some(key) = slot(&transaction) else {
                    return Err(MempoolError::Duplicate);
                };
                if self.reports.contains_key(&key) {
                    return Err(MempoolError::ReportPending {
                        module: device_tx.report.module(),
                        message: device_tx.report.name(),
                    });
                }
                self.make_room()?;
                self.reports.insert(key, hash);
                self.report_order.push_back((height, hash));
            }
        }
        self.transactions
            .insert(hash, Pending { transaction, bytes });
        Ok(hash)
    }

    fn make_room(&mut self) -> Result<(), MempoolError> {
        if self.transactions.len() < self.config.max_transactions {
            return Ok(());
        }
        while let Some((_, oldest)) = self.report_order.pop_front() {
            if self.remove(&oldest) {
                return Ok(());
            }
        }
        Err(MempoolError::Full {
            max: self.config.max_transactions,
        })
    }

    fn remove(&mut self, hash: &Digest) -> bool {
        let Some(pending) = self.transactions.remove(hash) else {
            return false;
        };
        match &pending.transaction {
            Transaction::Account(tx) => {
                let sender = tx.sender();
                if let Some(queue) = self.accounts.get_mut(&sender) {
                    queue.remove(&tx.nonce);
                    if queue.is_empty() {
                        self.accounts.remove(&sender);
                    }
                }
            }
            device_tx => {
                if let Some(key) = slot(device_tx)
                    && self.reports.get(&key) == Some(hash)
                {
                    self.reports.remove(&key);
                }
            }
        }
        true
    }

    /// Account transactions that no block after `height` may include.
    fn expired_account_transactions(&self, height: u64) -> Vec<Digest> {
        self.accounts
            .values()
            .flat_map(|queue| queue.values())
            .filter(|hash| match self.transactions.get(*hash) {
                Some(Pending {
                    transaction: Transaction::Account(tx),
                    ..
                }) => tx.valid_until <= height,
                _ => false,
            })
            .copied()
            .collect()
    }

    /// Drops transactions a proposer found no block may carry. For an account transaction
    /// that goes with every later nonce of its account, which could never be selected now.
    pub fn drop_unincludable(&mut self, hashes: &[Digest]) {
        for hash in hashes {
            let later: Vec<Digest> = match self.transactions.get(hash) {
                Some(Pending {
                    transaction: Transaction::Account(tx),
                    ..
                }) => self
                    .accounts
                    .get(&tx.sender())
                    .map(|queue| queue.range(tx.nonce..).map(|(_, h)| *h).collect())
                    .unwrap_or_default(),
                _ => vec![*hash],
            };
            for hash in later {
                self.remove(&hash);
            }
        }
    }

    /// `sender`'s next nonce counting its pending transactions: `next` (the state's) moved past
    /// every pending nonce that follows it without a gap.
    pub fn next_nonce_after_pending(&self, sender: &Address, next: u64) -> u64 {
        let Some(queue) = self.accounts.get(sender) else {
            return next;
        };
        let mut nonce = next;
        while queue.contains_key(&nonce) {
            nonce = nonce.saturating_add(1);
        }
        nonce
    }

    /// How many transactions of `sender` are pending.
    pub fn pending_from(&self, sender: &Address) -> usize {
        self.accounts.get(sender).map_or(0, BTreeMap::len)
    }

    /// Picks transactions for a block: device reports oldest first, then each account's run of
    /// consecutive nonces from its next nonce. At most `max_count` transactions and
    /// `max_bytes` encoded bytes.
    pub fn select(
        &self,
        max_count: usize,
        max_bytes: usize,
        next_nonce: impl Fn(&Address) -> u64,
    ) -> Vec<Transaction> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut take = |pending: &Pending, out: &mut Vec<Transaction>| -> bool {
            if out.len() >= max_count || bytes + pending.bytes > max_bytes {
                return false;
            }
            bytes += pending.bytes;
            out.push(pending.transaction.clone());
            true
        };
        for (_, hash) in &self.report_order {
            if let Some(pending) = self.transactions.get(hash)
                && !take(pending, &mut out)
            {
                return out;
            }
        }
        for (sender, queue) in &self.accounts {
            for (expected, (nonce, hash)) in (next_nonce(sender)..).zip(queue) {
                if *nonce != expected {
                    break;
                }
                let Some(pending) = self.transactions.get(hash) else {
                    break;
                };
                if !take(pending, &mut out) {
                    return out;
                }
            }
        }
        out
    }

    /// Forgets what a finalized block included, account transactions whose nonces are now
    /// used or whose validity window has closed, and device reports too old to be accepted.
    pub fn prune(
        &mut self,
        included: &[Digest],
        height: u64,
        next_nonce: impl Fn(&Address) -> u64,
    ) {
        for hash in included {
            self.remove(hash);
        }
        let stale: Vec<Digest> = self
            .accounts
            .iter()
            .flat_map(|(sender, queue)| {
                let next = next_nonce(sender);
                queue.range(..next).map(|(_, h)| *h).collect::<Vec<_>>()
            })
            .chain(self.expired_account_transactions(height))
            .collect();
        for hash in stale {
            self.remove(&hash);
        }
        let ttl = self.config.heartbeat_ttl_blocks;
        while let Some(&(admitted, hash)) = self.report_order.front() {
            let expired = height.saturating_sub(admitted) > ttl;
            let gone = !self.transactions.contains_key(&hash);
            if !expired && !gone {
                break;
            }
            self.report_order.pop_front();
            if expired {
                self.remove(&hash);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{Signer, ed25519};
    use groundwork_primitives::hash::hash;
    use groundwork_primitives::keys::account_address;
    use groundwork_primitives::{
        AccountTransaction, Amount, ChainId, CoreCall, DeviceKey, KeyScheme, UptimeReport,
    };

    fn chain() -> ChainId {
        "groundwork-test".parse().unwrap()
    }

    fn transfer(seed: u64, nonce: u64) -> Transaction {
        let key = ed25519::PrivateKey::from_seed(seed);
        let action = CoreCall::Transfer {
            to: account_address(&key.public_key()),
            amount: Amount(1),
        };
        Transaction::Account(AccountTransaction::sign(&key, &chain(), nonce, 100, action))
    }

    fn heartbeat(seed: u64) -> Transaction {
        Transaction::Device(UptimeReport::sign_heartbeat(
            &DeviceKey::from_seed(KeyScheme::Ed25519, seed),
            &chain(),
            hash(b"b"),
        ))
    }

    #[test]
    fn nonces_duplicates_and_rate_limits_are_enforced() {
        let mut pool = Mempool::new(MempoolConfig {
            max_transactions: 10,
            max_nonce_gap: 2,
            heartbeat_ttl_blocks: 5,
        });
        let zero = |_: &Address| 0u64;
        assert!(pool.add(transfer(1, 0), 100, 0, zero).is_ok());
        assert_eq!(
            pool.add(transfer(1, 0), 100, 0, zero),
            Err(MempoolError::Duplicate)
        );
        assert_eq!(
            pool.add(transfer(1, 3), 100, 0, zero),
            Err(MempoolError::NonceTooHigh {
                next: 0,
                got: 3,
                max_gap: 2
            })
        );
        assert_eq!(
            pool.add(transfer(1, 0), 100, 0, |_| 1),
            Err(MempoolError::Duplicate)
        );
        assert_eq!(
            pool.add(transfer(2, 0), 100, 0, |_| 1),
            Err(MempoolError::NonceTooLow { next: 1, got: 0 })
        );
        assert!(pool.add(heartbeat(1), 100, 0, zero).is_ok());
        let again = UptimeReport::sign_heartbeat(
            &DeviceKey::from_seed(KeyScheme::Ed25519, 1),
            &chain(),
            hash(b"other"),
        );
        assert_eq!(
            pool.add(Transaction::Device(again), 100, 0, zero),
            Err(MempoolError::ReportPending {
                module: "uptime",
                message: "heartbeat"
            })
        );
    }

    #[test]
    fn selection_takes_consecutive_nonces_and_respects_limits() {
        let mut pool = Mempool::new(MempoolConfig::default());
        let zero = |_: &Address| 0u64;
        for nonce in [0, 1, 3] {
            pool.add(transfer(1, nonce), 100, 0, zero).unwrap();
        }
        pool.add(heartbeat(9), 100, 0, zero).unwrap();
        let picked = pool.select(100, 10_000, zero);
        assert_eq!(picked.len(), 3, "nonce 3 waits for nonce 2");
        assert!(matches!(picked[0], Transaction::Device(_)));
        assert_eq!(pool.select(2, 10_000, zero).len(), 2);
        assert_eq!(pool.select(100, 250, zero).len(), 2);
    }

    #[test]
    fn pruning_drops_included_used_and_expired() {
        let mut pool = Mempool::new(MempoolConfig {
            max_transactions: 100,
            max_nonce_gap: 8,
            heartbeat_ttl_blocks: 5,
        });
        let zero = |_: &Address| 0u64;
        let first = pool.add(transfer(1, 0), 100, 0, zero).unwrap();
        pool.add(transfer(1, 1), 100, 0, zero).unwrap();
        pool.add(heartbeat(1), 100, 0, zero).unwrap();
        pool.prune(&[first], 1, |_| 2);
        assert_eq!(
            pool.len(),
            1,
            "nonce 1 is used once the account's next nonce is 2"
        );
        pool.prune(&[], 10, |_| 2);
        assert!(pool.is_empty(), "the heartbeat expired");
        assert!(
            pool.add(heartbeat(1), 100, 10, zero).is_ok(),
            "its device may send again"
        );
    }

    #[test]
    fn pruning_drops_account_transactions_past_their_window() {
        let mut pool = Mempool::new(MempoolConfig::default());
        let zero = |_: &Address| 0u64;
        // Both are valid until block 100.
        pool.add(transfer(1, 0), 100, 0, zero).unwrap();
        pool.add(transfer(2, 0), 100, 0, zero).unwrap();
        pool.prune(&[], 99, zero);
        assert_eq!(pool.len(), 2, "block 100 may still include them");
        pool.prune(&[], 100, zero);
        assert!(pool.is_empty(), "no block after 100 may");
    }

    #[test]
    fn dropping_an_account_transaction_drops_its_later_nonces() {
        let mut pool = Mempool::new(MempoolConfig::default());
        let zero = |_: &Address| 0u64;
        let first = pool.add(transfer(1, 0), 100, 0, zero).unwrap();
        pool.add(transfer(1, 1), 100, 0, zero).unwrap();
        pool.add(transfer(1, 2), 100, 0, zero).unwrap();
        let other = pool.add(transfer(2, 0), 100, 0, zero).unwrap();
        pool.drop_unincludable(&[first]);
        assert_eq!(pool.len(), 1);
        assert!(pool.contains(&other));
    }

    #[test]
    fn a_full_pool_evicts_heartbeats_first() {
        let mut pool = Mempool::new(MempoolConfig {
            max_transactions: 2,
            max_nonce_gap: 8,
            heartbeat_ttl_blocks: 5,
        });
        let zero = |_: &Address| 0u64;
        pool.add(heartbeat(1), 100, 0, zero).unwrap();
        pool.add(transfer(1, 0), 100, 0, zero).unwrap();
        assert!(pool.add(transfer(2, 0), 100, 0, zero).is_ok());
        assert_eq!(
            pool.add(transfer(3, 0), 100, 0, zero),
            Err(MempoolError::Full { max: 2 })
        );
    }
}
