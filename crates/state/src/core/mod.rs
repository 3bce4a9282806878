//! The core: chain counters, accounts, devices, block history and epoch summaries.
//!
//! The core is the only code that touches balances, bonds, escrow and supply: service modules
//! move tokens through [`Core`]'s ledger methods (`credit`, `debit`, `escrow`, `slash_bond`,
//! …), each of which keeps the chain counters in step with the records, so conservation holds
//! by construction and a module cannot forget a counter.

mod actions;
mod blocks;
mod devices;
mod error;
mod ledger;
mod params;

pub(crate) use actions::DeviceGuard;
pub use error::CoreError;
pub(crate) use ledger::EpochSummaryParts;
pub use params::{CoreParams, TokenSymbol};

use crate::error::InvariantViolation;
use crate::genesis::Params;
use crate::module::{Module, ModuleInfo};
use crate::records::{Account, ChainInfo, Device, EpochSummary};
use crate::table::{AnyTable, Table, prefixed};
use commonware_codec::{Buf, Error as CodecError, Read, Write};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::{Address, Amount, DeviceId};

/// Table prefixes of the core. On disk and in proofs: never renumber.
pub mod prefix {
    pub const CHAIN_INFO: u8 = 0x01;
    pub const ACCOUNT: u8 = 0x02;
    pub const DEVICE: u8 = 0x03;
    pub const EPOCH_SUMMARY: u8 = 0x04;
    pub const UNBONDING: u8 = 0x05;
    pub const BLOCK_BY_HEIGHT: u8 = 0x06;
    pub const HEIGHT_BY_BLOCK: u8 = 0x07;
    pub const CORE_PARAMS: u8 = 0x08;
}

/// The key of a table with exactly one record: encodes to nothing after the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Singleton;

impl Write for Singleton {
    fn write(&self, _: &mut impl bytes::BufMut) {}
}

impl Read for Singleton {
    type Cfg = ();
    fn read_cfg(_: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Singleton)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Core {
    info: Table<Singleton, ChainInfo>,
    accounts: Table<Address, Account>,
    devices: Table<DeviceId, Device>,
    epochs: Table<u64, EpochSummary>,
    /// Bonds of decommissioned devices, keyed by the epoch they return in.
    unbonding: Table<(u64, DeviceId), Amount>,
    block_by_height: Table<u64, Digest>,
    height_by_block: Table<Digest, u64>,
    /// The core's section of the chain parameters.
    params: Table<Singleton, CoreParams>,
}

/// The state key of an account.
pub fn account_key(address: &Address) -> Vec<u8> {
    prefixed(prefix::ACCOUNT, address)
}

/// The state key of a device.
pub fn device_key(device: &DeviceId) -> Vec<u8> {
    prefixed(prefix::DEVICE, device)
}

impl Module for Core {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "core",
            prefixes: 0x01..=0x0F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![
            &self.info,
            &self.accounts,
            &self.devices,
            &self.epochs,
            &self.unbonding,
            &self.block_by_height,
            &self.height_by_block,
            &self.params,
        ]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![
            &mut self.info,
            &mut self.accounts,
            &mut self.devices,
            &mut self.epochs,
            &mut self.unbonding,
            &mut self.block_by_height,
            &mut self.height_by_block,
            &mut self.params,
        ]
    }

    fn store_params(&mut self, params: &Params) {
        self.params.insert_committed(Singleton, params.core.clone());
    }

    fn load_params(&self, params: &mut Params) -> bool {
        self.params
            .get(&Singleton)
            .cloned()
            .map(|stored| params.core = stored)
            .is_some()
    }

    /// The data credits accounts hold.
    fn credits_held(&self) -> Result<u64, InvariantViolation> {
        self.accounts
            .committed()
            .values()
            .try_fold(0u64, |sum, a| sum.checked_add(a.credits))
            .ok_or(InvariantViolation::Overflow { what: "credits" })
    }
}

impl Core {
    pub(crate) fn empty() -> Self {
        Self {
            info: Table::new(prefix::CHAIN_INFO, "chain info"),
            accounts: Table::new(prefix::ACCOUNT, "accounts"),
            devices: Table::new(prefix::DEVICE, "devices"),
            epochs: Table::new(prefix::EPOCH_SUMMARY, "epoch summaries"),
            unbonding: Table::new(prefix::UNBONDING, "unbonding"),
            block_by_height: Table::new(prefix::BLOCK_BY_HEIGHT, "block by height"),
            height_by_block: Table::new(prefix::HEIGHT_BY_BLOCK, "height by block"),
            params: Table::new(prefix::CORE_PARAMS, "core params"),
        }
    }

    /// The core at height 0: the chain counters, the genesis balances and block 0.
    pub(crate) fn genesis(
        info: ChainInfo,
        balances: &[(Address, Amount)],
        genesis_block: Digest,
    ) -> Self {
        let mut core = Self::empty();
        core.info.insert_committed(Singleton, info);
        for (address, amount) in balances {
            let account = Account {
                balance: *amount,
                ..Account::default()
            };
            core.accounts.insert_committed(*address, account);
        }
        core.block_by_height.insert_committed(0, genesis_block);
        core.height_by_block.insert_committed(genesis_block, 0);
        core
    }

    /// Whether the chain-info record is present (a loaded state must have it).
    pub(crate) fn has_chain_info(&self) -> bool {
        self.info.get(&Singleton).is_some()
    }

    pub(crate) fn epoch_summary(&self, epoch: u64) -> Option<EpochSummary> {
        self.epochs.get(&epoch).cloned()
    }

    /// Checks the core's own books: the bond counter against the device bonds; returns
    /// Σ balances + Σ bonds + treasury, to which the modules' escrow is added.
    pub(crate) fn holdings(&self) -> Result<u128, InvariantViolation> {
        let info = self.chain_info();
        let mut balances: u128 = 0;
        for account in self.accounts.committed().values() {
            balances = balances
                .checked_add(account.balance.0)
                .ok_or(InvariantViolation::Overflow { what: "balances" })?;
        }
        let mut bonds: u128 = 0;
        for device in self.devices.committed().values() {
            bonds = bonds
                .checked_add(device.bond.0)
                .ok_or(InvariantViolation::Overflow { what: "bonds" })?;
        }
        if bonds != info.bonded.0 {
            return Err(InvariantViolation::CounterMismatch {
                counter: "bonded",
                counted: Amount(bonds),
                recorded: info.bonded,
            });
        }
        balances
            .checked_add(bonds)
            .and_then(|x| x.checked_add(info.treasury.0))
            .ok_or(InvariantViolation::Overflow { what: "holdings" })
    }
}
