//! Uptime: heartbeats, the baseline every resource kind earns today.
//!
//! A device earns one work unit per heartbeat window in which it sends a heartbeat naming a
//! recent block newer than the one its last heartbeat named. At an epoch's end each kind's
//! pool is split among that kind's devices by work units (see [`crate::rewards`]).

mod error;

pub use error::UptimeError;

use crate::core::Core;
use crate::error::CoreError;
use crate::error::{BlockError, TxError};
use crate::genesis::Params;
use crate::module::{Module, ModuleInfo};
use crate::modules::coverage::CollusionRule;
use crate::records::{Device, RewardRecord};
use crate::rewards::device_share;
use crate::rewards::{Program, RewardSink};
use crate::table::{AnyTable, Table};
use groundwork_primitives::Cell;
use groundwork_primitives::{Amount, DeviceId, ResourceKind, UptimeReport};
use std::collections::BTreeMap;

/// Table prefixes of the uptime module. On disk and in proofs: never renumber.
pub mod prefix {
    pub const EPOCH_WORK: u8 = 0x10;
    pub const REWARD: u8 = 0x11;
}

#[derive(Clone, Debug)]
pub(crate) struct Uptime {
    /// Work units per device in the open epoch.
    epoch_work: Table<(u64, DeviceId), u64>,
    /// Each device's reward per ended epoch.
    rewards: Table<(u64, DeviceId), RewardRecord>,
}

impl Module for Uptime {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "uptime",
            prefixes: 0x10..=0x1F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![&self.epoch_work, &self.rewards]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![&mut self.epoch_work, &mut self.rewards]
    }
}

/// What an epoch's uptime payout did, for the epoch summary.
#[derive(Clone, Debug)]
pub(crate) struct UptimePayout {
    pub paid: Amount,
    pub total_units: [u64; ResourceKind::COUNT],
    pub devices_rewarded: u64,
}

impl Uptime {
    pub(crate) fn new() -> Self {
        Self {
            epoch_work: Table::new(prefix::EPOCH_WORK, "epoch work"),
            rewards: Table::new(prefix::REWARD, "rewards"),
        }
    }

    pub(crate) fn reward(&self, epoch: u64, device: &DeviceId) -> Option<RewardRecord> {
        self.rewards.get(&(epoch, device.clone())).cloned()
    }

    /// Work units a device has so far in `epoch`.
    pub(crate) fn work(&self, epoch: u64, device: &DeviceId) -> u64 {
        self.epoch_work
            .get(&(epoch, device.clone()))
            .copied()
            .unwrap_or(0)
    }

    /// A report from `device`, active and with its signature checked.
    pub(crate) fn apply_report(
        &mut self,
        core: &mut Core,
        params: &Params,
        id: &DeviceId,
        record: &Device,
        report: &UptimeReport,
        height: u64,
    ) -> Result<(), TxError> {
        let UptimeReport::Heartbeat { recent_block } = report;
        let referenced_height =
            core.check_recent_block(recent_block, height, params.core.heartbeat_max_age_blocks)?;
        let window = height.saturating_sub(1) / params.core.heartbeat_window_blocks;
        if record.last_heartbeat_window == Some(window) {
            return Err(TxError::Uptime(UptimeError::HeartbeatAlreadyInWindow {
                window,
            }));
        }
        if let Some(last) = record.last_heartbeat_block_height
            && referenced_height <= last
        {
            return Err(TxError::Uptime(UptimeError::HeartbeatNotNewer {
                referenced_height,
                last_height: last,
            }));
        }
        core.note_heartbeat(id, window, referenced_height)?;
        let key = (params.epoch_of(height), id.clone());
        let units = self.epoch_work.get(&key).copied().unwrap_or(0);
        let units = units
            .checked_add(1)
            .ok_or(TxError::Core(CoreError::AmountOverflow {
                what: "work units",
            }))?;
        self.epoch_work.put(key, units);
        Ok(())
    }

    /// Pays each kind's pool to its devices by work units, records a [`RewardRecord`] per
    /// device and clears the epoch's work.
    pub(crate) fn end_epoch(
        &mut self,
        core: &mut Core,
        sink: &mut impl RewardSink,
        epoch: u64,
        pools: &[Amount; ResourceKind::COUNT],
        judged: &BTreeMap<DeviceId, CollusionRule>,
    ) -> Result<UptimePayout, BlockError> {
        let mut work = Vec::new();
        let mut total_units = [0u64; ResourceKind::COUNT];
        for key in self.epoch_work.keys() {
            if key.0 != epoch {
                return Err(BlockError::Invariant {
                    context: "work recorded for an epoch that is not closing",
                });
            }
            let units = self.epoch_work.get(&key).copied().unwrap_or(0);
            let device = core.device(&key.1).ok_or(BlockError::Invariant {
                context: "work for an unknown device",
            })?;
            let total = &mut total_units[device.kind.index()];
            *total = total.checked_add(units).ok_or(BlockError::Arithmetic {
                context: "kind work units",
            })?;
            self.epoch_work.delete(key.clone());
            work.push((key.1, device, units));
        }

        // Wireless devices with work, by the cell they assert: a pile on one spot covers what
        // one device there covers, so they share one device's uptime share.
        let mut at_cell: BTreeMap<Cell, u32> = BTreeMap::new();
        for (_, device, _) in work
            .iter()
            .filter(|(_, d, _)| d.kind == ResourceKind::Wireless)
        {
            let count = at_cell.entry(device.location).or_default();
            *count = count.saturating_add(1);
        }
        let mut paid = Amount::ZERO;
        for (id, device, units) in &work {
            let kind = device.kind;
            let pool = pools[kind.index()];
            // A wireless device a coverage rule judged in the epoch (a ring member, out of line
            // with its peers, copied numbers) is up but not serving honestly: its share stays
            // unpaid and goes to the treasury with the rest of the emission.
            let withheld = (kind == ResourceKind::Wireless)
                .then(|| judged.get(id).copied())
                .flatten();
            let co_located = match kind {
                ResourceKind::Wireless => at_cell.get(&device.location).copied().unwrap_or(1),
                _ => 1,
            };
            let amount = match withheld {
                Some(_) => Amount::ZERO,
                None => Amount(
                    device_share(pool, *units, total_units[kind.index()])?.0
                        / u128::from(co_located.max(1)),
                ),
            };
            sink.pay(core, epoch, id, &device.owner, Program::Uptime, amount)?;
            paid = paid
                .checked_add(amount)
                .ok_or(BlockError::Arithmetic { context: "paid" })?;
            let record = RewardRecord {
                owner: device.owner,
                kind,
                work_units: *units,
                kind_total_units: total_units[kind.index()],
                pool,
                amount,
                withheld,
                co_located,
            };
            self.rewards.put((epoch, id.clone()), record);
        }
        Ok(UptimePayout {
            paid,
            total_units,
            devices_rewarded: work.len() as u64,
        })
    }
}
