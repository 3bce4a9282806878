//! Fixtures: deterministic keys, a small test genesis, and a harness that builds and executes
//! blocks the way a proposer would.

use commonware_cryptography::{Signer, ed25519};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::keys::account_address;
use groundwork_primitives::{
    AccountKey, AccountTransaction, Address, Amount, Block, Call, Cell, ChainId, CoreCall,
    DeviceKey, KeyScheme, ResourceKind, Transaction, UptimeReport,
};
use groundwork_state::machine::prefix;
use groundwork_state::{BlockError, BlockOutcome, Genesis, Params, State, TxError};

pub const FEE: u128 = 10;
pub const BOND: u128 = 1_000;
/// Helium's: $0.00001 per credit.
pub const CREDIT_PRICE_MICRO_USD: u64 = 10;
pub const START_BALANCE: u128 = 1_000_000;

pub fn account(seed: u64) -> AccountKey {
    ed25519::PrivateKey::from_seed(seed)
}

pub fn address(key: &AccountKey) -> Address {
    account_address(&key.public_key())
}

pub fn device(scheme: KeyScheme, seed: u64) -> DeviceKey {
    DeviceKey::from_seed(scheme, seed)
}

/// A res-12 cell near the given coordinates.
pub fn cell(lat: f64, lng: f64) -> Cell {
    Cell::from_lat_lng(lat, lng).unwrap()
}

/// Where [`Harness::register`] puts a device: a cell in Berlin picked by its key, so two
/// devices share a cell (and a wireless uptime share) only when a test puts them there.
pub fn place_of(device: &DeviceKey) -> Cell {
    let id = device.id().to_string();
    let digest = groundwork_primitives::hash::hash(id.as_bytes());
    let bytes: &[u8] = digest.as_ref();
    let (north, east) = (f64::from(bytes[0]), f64::from(bytes[1]));
    cell(52.50 + north * 0.0002, 13.38 + east * 0.0003)
}

pub fn params() -> Params {
    Params {
        core: groundwork_state::CoreParams {
            chain_id: "groundwork-test".parse().unwrap(),
            token_symbol: groundwork_state::TokenSymbol("GWT".to_string()),
            token_decimals: 6,
            epoch_length_blocks: 4,
            heartbeat_window_blocks: 2,
            heartbeat_max_age_blocks: 3,
            unbonding_epochs: 1,
            initial_emission_per_epoch: Amount(1_000_003),
            halving_interval_epochs: 2,
            // wireless 60%, storage 30%, sensor 10%.
            reward_weights_bps: [6_000, 3_000, 0, 1_000, 0, 0, 0],
            transaction_fee: Amount(FEE),
            device_bond: Amount(BOND),
        },
        coverage: groundwork_state::CoverageParams::disabled(),
        challenges: groundwork_state::ChallengeParams::disabled(),
        // Account 1 is the one oracle; a price stays fresh for the whole of a test.
        oracle: groundwork_state::OracleParams {
            accounts: vec![address(&account(1))],
            quorum: 1,
            max_age_blocks: 1_000,
            smoothing_window_blocks: 4,
        },
        credits: groundwork_state::CreditsParams {
            credit_price_micro_usd: CREDIT_PRICE_MICRO_USD,
        },
        // Devices get 80 % of the spent credits' value, at most 1 000 000 base units an epoch.
        usage: groundwork_state::UsageParams {
            grace_blocks: 2,
            reward_bps: 8_000,
            max_mint_per_epoch: Amount(1_000_000),
        },
        attest: groundwork_state::attest::AttestParams::default(),
        // One 4-block period an epoch; 10 % of a deal's collateral per fault, half to the
        // client; two faults in a row end a deal.
        storage: groundwork_state::storage::StorageParams {
            period_blocks: 4,
            challenges_per_period: 5,
            accept_window_blocks: 6,
            fault_slash_bps: 1_000,
            slash_to_client_bps: 5_000,
            max_faults: 2,
            min_collateral_per_gib: Amount(1_000_000),
            max_periods: 100,
            // Off here; the retrieval tests turn them on.
            checkers_per_deal: 0,
            min_retrieval_bps: 5_000,
        },
        // Three blocks to commit, two to reveal, three to dispute; three referees; 10 % of a
        // provider's collateral per wrong or missing outcome, half to the honest side.
        compute: groundwork_state::compute::ComputeParams {
            runtime: 0,
            commit_window_blocks: 3,
            reveal_window_blocks: 2,
            accept_window_blocks: 3,
            referees: 3,
            slash_bps: 1_000,
            slash_to_honest_bps: 5_000,
            min_collateral: Amount(1_000),
            max_fuel_per_task: 1_000_000_000,
        },
    }
}

/// Accounts 1..=funded get START_BALANCE each; one validator from seed 1000.
pub fn genesis_with(params: Params, funded: u64) -> Genesis {
    let mut balances: Vec<(Address, Amount)> = (1..=funded)
        .map(|seed| (address(&account(seed)), Amount(START_BALANCE)))
        .collect();
    balances.sort();
    Genesis {
        params,
        genesis_time_ms: 1_700_000_000_000,
        balances,
        validators: vec![account(1000).public_key()],
    }
}

pub struct Harness {
    pub state: State,
    pub chain: ChainId,
    pub time_ms: u64,
    /// Every block outcome so far, encoded: see [`Harness::record`].
    trace: Vec<u8>,
}

/// With `GROUNDWORK_STATE_TRACE=<dir>` set, each harness writes one line to `<dir>/<test>`:
/// the hash of every block outcome it saw (receipt codes and write-sets) and of its final
/// entries. Running the suite before and after a refactor and diffing the two folders shows
/// whether behaviour changed anywhere (`scripts/state-trace`).
impl Drop for Harness {
    fn drop(&mut self) {
        let Some(dir) = std::env::var_os("GROUNDWORK_STATE_TRACE") else {
            return;
        };
        let mut buf = std::mem::take(&mut self.trace);
        for (key, value) in self.state.entries() {
            buf.extend_from_slice(&(key.len() as u32).to_be_bytes());
            buf.extend_from_slice(&key);
            buf.extend_from_slice(&(value.len() as u32).to_be_bytes());
            buf.extend_from_slice(&value);
        }
        let name = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .replace("::", ".");
        let digest = groundwork_primitives::hash::hash(&buf);
        let path = std::path::Path::new(&dir).join(name);
        // Several harnesses in one test append one line each, in the order they end.
        use std::io::Write as _;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{}", hex::encode(digest.as_ref()));
        }
    }
}

impl Harness {
    pub fn new(genesis: &Genesis) -> Self {
        Self {
            state: State::from_genesis(genesis),
            chain: genesis.params.core.chain_id.clone(),
            time_ms: genesis.genesis_time_ms,
            trace: Vec::new(),
        }
    }

    /// Appends a block's result to the trace: receipt codes and write-set, or the refusal.
    fn record(&mut self, result: &Result<BlockOutcome, BlockError>) {
        match result {
            Ok(outcome) => {
                self.trace.push(1);
                for receipt in &outcome.receipts {
                    let code = receipt.result.as_ref().err().map_or(0, TxError::code);
                    self.trace.extend_from_slice(&code.to_be_bytes());
                }
                for write in &outcome.write_set {
                    self.trace
                        .extend_from_slice(&(write.key.len() as u32).to_be_bytes());
                    self.trace.extend_from_slice(&write.key);
                    match &write.value {
                        Some(v) => {
                            self.trace
                                .extend_from_slice(&(v.len() as u32).to_be_bytes());
                            self.trace.extend_from_slice(v);
                        }
                        None => self.trace.extend_from_slice(&u32::MAX.to_be_bytes()),
                    }
                }
            }
            Err(BlockError::UnincludableTransaction { index, error }) => {
                self.trace.push(2);
                self.trace.extend_from_slice(&(*index as u32).to_be_bytes());
                self.trace.extend_from_slice(&error.code().to_be_bytes());
            }
            Err(_) => self.trace.push(3),
        }
    }

    pub fn standard() -> Self {
        Self::new(&genesis_with(params(), 4))
    }

    /// Builds the next block around `transactions`.
    pub fn next_block(&mut self, transactions: Vec<Transaction>) -> Block {
        self.time_ms += 1_000;
        let header = self.state.next_header(
            account(1000).public_key(),
            self.time_ms,
            Digest::from([0u8; 32]),
            &transactions,
        );
        Block {
            header,
            transactions,
        }
    }

    /// Executes a block of `transactions`; the block itself must be valid.
    pub fn execute(&mut self, transactions: Vec<Transaction>) -> BlockOutcome {
        let block = self.next_block(transactions);
        let result = self.state.execute(&block);
        self.record(&result);
        let outcome = result.expect("valid block");
        self.state
            .check_invariants()
            .expect("invariants hold after every block");
        outcome
    }

    pub fn empty_blocks(&mut self, count: u64) {
        for _ in 0..count {
            self.execute(Vec::new());
        }
    }

    /// Runs empty blocks until the chain is at `height`.
    pub fn advance_to(&mut self, height: u64) {
        while self.state.height() < height {
            self.execute(Vec::new());
        }
    }

    /// Executes one transaction in its own block and returns its result. A transaction no
    /// block may carry leaves its block invalid and the state unchanged; an empty block is run
    /// in its place so the height moves on either way, and its reason is returned.
    pub fn submit(&mut self, transaction: Transaction) -> Result<(), TxError> {
        match self.try_submit(transaction) {
            Ok(result) => result,
            Err(error) => {
                self.execute(Vec::new());
                Err(error)
            }
        }
    }

    /// Executes one transaction in its own block: `Ok(receipt result)`, or `Err(reason)` if no
    /// block may carry it (the block was refused, and the state is unchanged).
    pub fn try_submit(&mut self, transaction: Transaction) -> Result<Result<(), TxError>, TxError> {
        let block = self.next_block(vec![transaction]);
        let before = self.state.state_digest();
        let result = self.state.execute(&block);
        self.record(&result);
        match result {
            Ok(outcome) => Ok(outcome.receipts[0].result.clone()),
            Err(BlockError::UnincludableTransaction { index: 0, error }) => {
                assert_eq!(
                    self.state.state_digest(),
                    before,
                    "a refused block changed state"
                );
                Err(*error)
            }
            Err(other) => panic!("block refused for another reason: {other}"),
        }
    }

    pub fn nonce(&self, key: &AccountKey) -> u64 {
        self.state.account(&address(key)).nonce
    }

    pub fn balance(&self, key: &AccountKey) -> u128 {
        self.state.account(&address(key)).balance.0
    }

    /// Signs `action` from `key` with its next nonce.
    pub fn signed(&self, key: &AccountKey, call: impl Into<Call>) -> Transaction {
        Transaction::Account(AccountTransaction::sign(
            key,
            &self.chain,
            self.nonce(key),
            self.valid_until(),
            call,
        ))
    }

    /// A validity window that any block in the next hundred may include.
    pub fn valid_until(&self) -> u64 {
        self.state.height() + 100
    }

    pub fn transfer(&self, from: &AccountKey, to: Address, amount: u128) -> Transaction {
        self.signed(
            from,
            CoreCall::Transfer {
                to,
                amount: Amount(amount),
            },
        )
    }

    pub fn register(
        &self,
        owner: &AccountKey,
        device: &DeviceKey,
        kind: ResourceKind,
    ) -> Transaction {
        let action =
            CoreCall::register_device(&self.chain, &address(owner), device, kind, place_of(device));
        self.signed(owner, action)
    }

    /// A heartbeat naming the block `age` blocks below the current height.
    pub fn heartbeat(&self, device: &DeviceKey, age: u64) -> Transaction {
        let height = self.state.height().saturating_sub(age);
        let block = self
            .state
            .recent_block(height)
            .expect("block still in history");
        Transaction::Device(UptimeReport::sign_heartbeat(device, &self.chain, block))
    }

    /// Every committed entry except the chain-info record, the block-hash history and the
    /// oracle's smoothing window, which every block changes.
    pub fn entries_except_block_bookkeeping(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.state
            .entries()
            .into_iter()
            .filter(|(k, _)| {
                ![
                    prefix::CHAIN_INFO,
                    prefix::BLOCK_BY_HEIGHT,
                    prefix::HEIGHT_BY_BLOCK,
                    prefix::PRICE_SAMPLE,
                    prefix::SAMPLE_SUM,
                ]
                .contains(&k[0])
            })
            .collect()
    }

    /// Submits a transaction that must fail with `expected`, and checks what it changed. One no
    /// block may carry changes nothing. An account transaction whose action fails changes
    /// nothing but what it paid: the fee from its sender to the treasury, and the nonce.
    pub fn assert_rejected(&mut self, transaction: Transaction, expected: TxError) {
        // An epoch's last block writes reward records; keep the rejection off it.
        if (self.state.height() + 1).is_multiple_of(self.state.params().core.epoch_length_blocks) {
            self.execute(Vec::new());
        }
        let sender = match &transaction {
            Transaction::Account(tx) => Some(tx.sender()),
            _ => None,
        };
        let account_before = sender.map(|s| self.state.account(&s));
        let except: Vec<Address> = sender.into_iter().collect();
        let before = self.entries_except_accounts(&except);
        let info_before = self.state.chain_info();
        let result = self.submit(transaction);
        assert_eq!(result, Err(expected));
        assert_eq!(
            self.entries_except_accounts(&except),
            before,
            "a rejected transaction changed state"
        );
        let info_after = self.state.chain_info();
        let mut fee = 0;
        if let (Some(sender), Some(account_before)) = (sender, account_before) {
            let account_after = self.state.account(&sender);
            if account_after.nonce != account_before.nonce {
                // Included and failed: it paid exactly the fee and used exactly its nonce.
                fee = self.state.params().core.transaction_fee.0;
                assert_eq!(account_after.nonce, account_before.nonce + 1);
                assert_eq!(account_after.balance.0 + fee, account_before.balance.0);
                assert_eq!(account_after.credits, account_before.credits);
            } else {
                assert_eq!(
                    account_after, account_before,
                    "a refused transaction changed its sender"
                );
            }
        }
        assert_eq!(info_after.treasury.0, info_before.treasury.0 + fee);
        assert_eq!(info_after.minted, info_before.minted);
        assert_eq!(info_after.burned, info_before.burned);
        assert_eq!(info_after.bonded, info_before.bonded);
    }

    /// Submits a transaction no block may carry, and checks the block that tried was refused.
    pub fn assert_unincludable(&mut self, transaction: Transaction, expected: TxError) {
        let before = self.state.state_digest();
        assert_eq!(self.try_submit(transaction), Err(expected));
        assert_eq!(self.state.state_digest(), before);
    }

    /// Like [`Self::entries_except_block_bookkeeping`], also leaving out these accounts'
    /// records (the senders of failed transactions, which paid fees).
    pub fn entries_except_accounts(&self, accounts: &[Address]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let skip: Vec<Vec<u8>> = accounts.iter().map(groundwork_state::account_key).collect();
        self.entries_except_block_bookkeeping()
            .into_iter()
            .filter(|(k, _)| !skip.contains(k))
            .collect()
    }
}
