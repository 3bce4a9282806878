//! What the state holds, one record type per table. Every record has a canonical encoding:
//! these bytes are what the node commits to its authenticated store.

use commonware_codec::{Buf, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::{Address, Amount, Cell, ResourceKind};

/// An account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub balance: Amount,
    /// Number of account transactions this account has had executed successfully.
    pub nonce: u64,
    /// Data credits: minted by burning tokens, spent on service, never transferable.
    pub credits: u64,
}
impl_struct_codec!(Account {
    balance,
    nonce,
    credits
});

/// Where a device is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Registered and allowed to report.
    Active,
    /// Decommissioned; the bond returns to the owner at the end of `release_epoch`.
    Unbonding { release_epoch: u64 },
    /// Retired and its bond returned.
    Decommissioned,
}

impl DeviceStatus {
    pub fn name(&self) -> &'static str {
        match self {
            DeviceStatus::Active => "active",
            DeviceStatus::Unbonding { .. } => "unbonding",
            DeviceStatus::Decommissioned => "decommissioned",
        }
    }
}

impl Write for DeviceStatus {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            DeviceStatus::Active => 0u8.write(buf),
            DeviceStatus::Unbonding { release_epoch } => {
                1u8.write(buf);
                release_epoch.write(buf);
            }
            DeviceStatus::Decommissioned => 2u8.write(buf),
        }
    }
}

impl EncodeSize for DeviceStatus {
    fn encode_size(&self) -> usize {
        match self {
            DeviceStatus::Unbonding { .. } => 1 + u64::SIZE,
            _ => 1,
        }
    }
}

impl Read for DeviceStatus {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(DeviceStatus::Active),
            1 => Ok(DeviceStatus::Unbonding {
                release_epoch: u64::read(buf)?,
            }),
            2 => Ok(DeviceStatus::Decommissioned),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

/// A registered device. Its id (public key) is the table key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub owner: Address,
    pub kind: ResourceKind,
    pub location: Cell,
    /// Tokens locked by the owner; zero once returned.
    pub bond: Amount,
    pub status: DeviceStatus,
    pub registered_at_height: u64,
    /// The last heartbeat window this device was credited for.
    pub last_heartbeat_window: Option<u64>,
    /// Height of the block named by the last credited heartbeat. A heartbeat must name a newer
    /// one, so its signed bytes cannot be replayed into a later window.
    pub last_heartbeat_block_height: Option<u64>,
}
impl_struct_codec!(Device {
    owner,
    kind,
    location,
    bond,
    status,
    registered_at_height,
    last_heartbeat_window,
    last_heartbeat_block_height
});

/// One device's reward for one epoch, with every input needed to recompute it by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardRecord {
    /// Who was paid (the owner at the epoch's end).
    pub owner: Address,
    pub kind: ResourceKind,
    /// Heartbeat windows this device covered in the epoch.
    pub work_units: u64,
    /// Work units of every device of this kind in the epoch.
    pub kind_total_units: u64,
    /// The kind's pool for the epoch.
    pub pool: Amount,
    /// `floor(floor(pool × work_units / kind_total_units) / co_located)`, or 0 if withheld.
    pub amount: Amount,
    /// The coverage rule that judged the (wireless) device in the epoch, withholding its
    /// uptime share (`modules::uptime`).
    pub withheld: Option<crate::modules::coverage::CollusionRule>,
    /// Wireless devices with work in the epoch that assert this device's cell, itself
    /// included (1 for every other kind): they share one device's uptime share.
    pub co_located: u32,
}
impl_struct_codec!(RewardRecord {
    owner,
    kind,
    work_units,
    kind_total_units,
    pool,
    amount,
    withheld,
    co_located
});

/// The totals of one epoch's reward run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochSummary {
    /// Tokens minted for the epoch.
    pub emission: Amount,
    /// Halvings applied to the initial emission.
    pub halvings: u64,
    /// Pool per resource kind, indexed by kind.
    pub pools: [Amount; ResourceKind::COUNT],
    /// Work units per resource kind, indexed by kind.
    pub total_units: [u64; ResourceKind::COUNT],
    /// Devices that received a reward.
    pub devices_rewarded: u64,
    /// Sum paid to owners.
    pub paid: Amount,
    /// `emission − paid`: rounding dust and pools no device earned, sent to the treasury.
    pub to_treasury: Amount,
}
impl_struct_codec!(EpochSummary {
    emission,
    halvings,
    pools,
    total_units,
    devices_rewarded,
    paid,
    to_treasury
});

/// Chain-wide counters. Exactly one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainInfo {
    /// Height of the last executed block (0 = genesis).
    pub height: u64,
    /// Digest of the last executed block (the genesis digest at height 0).
    pub last_block: Digest,
    pub last_timestamp_ms: u64,
    /// Tokens held by the protocol: fees and undistributed emission.
    pub treasury: Amount,
    pub genesis_supply: Amount,
    pub minted: Amount,
    pub burned: Amount,
    /// Sum of all device bonds still locked.
    pub bonded: Amount,
    /// Sum of the bonds of open location challenges.
    pub escrowed: Amount,
}
impl_struct_codec!(ChainInfo {
    height,
    last_block,
    last_timestamp_ms,
    treasury,
    genesis_supply,
    minted,
    burned,
    bonded,
    escrowed
});

impl ChainInfo {
    /// `genesis + minted − burned`, or `None` if the counters are inconsistent. Slashed bonds
    /// are not burned: they move to the challenger.
    pub fn total_supply(&self) -> Option<Amount> {
        self.genesis_supply
            .checked_add(self.minted)?
            .checked_sub(self.burned)
    }
}
