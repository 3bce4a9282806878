//! Why the compute module rejected a transaction. Codes 1500–1599: never renumbered or reused.

use groundwork_primitives::hash::Digest;
use groundwork_primitives::{Address, Amount, DeviceId};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ComputeError {
    /// Only compute devices run tasks.
    #[error("device {device} is not a compute device")]
    NotCompute { device: DeviceId },
    /// Collateral below the genesis minimum.
    #[error("collateral of {offered} is below the chain's minimum of {minimum}")]
    CollateralBelowMinimum { offered: Amount, minimum: Amount },
    /// An offer above the chain's largest task.
    #[error("{asked} fuel per task is more than the chain's limit of {max}")]
    FuelAboveLimit { asked: u64, max: u64 },
    /// Collateral cannot be taken back while tasks could still slash it.
    #[error(
        "device {device} has {open} open task assignments: its collateral stays until they close"
    )]
    CollateralInUse { device: DeviceId, open: u32 },
    /// The device changed hands: its collateral is its previous owner's until no task holds it.
    #[error(
        "device {device}'s offer belongs to its previous owner {owner}: it takes no tasks until it is withdrawn"
    )]
    OfferedByAnother { device: DeviceId, owner: Address },
    /// A malformed job, named by what is wrong.
    #[error("bad job: {reason}")]
    BadJob { reason: &'static str },
    /// A job that could never pay anything.
    #[error("the job escrows no credits: its fuel limit at its price ceiling rounds to zero")]
    NothingEscrowed,
    /// No job has this id, or it has no such task.
    #[error("unknown job {job} or task {task}")]
    Unknown { job: Digest, task: u8 },
    /// Only the customer may dispute its tasks.
    #[error("{signer} is not this job's customer")]
    NotTheCustomer { signer: Address },
    /// A report or dispute that does not fit where the task is.
    #[error("task {task} of job {job} is {phase}; this needs it {needed}")]
    WrongPhase {
        job: Digest,
        task: u8,
        phase: &'static str,
        needed: &'static str,
    },
    /// The device is not assigned to the task's current round.
    #[error("device {device} is not assigned to this round of task {task}")]
    NotAssigned { device: DeviceId, task: u8 },
    /// One commitment per assignment.
    #[error("device {device} already committed to task {task}")]
    AlreadyCommitted { device: DeviceId, task: u8 },
    /// Another device's commitment, copied: it names that device, so it can never be revealed.
    #[error("commitment copied from another device assigned to task {task}")]
    CopiedCommitment { task: u8 },
    /// One reveal per assignment.
    #[error("device {device} already revealed task {task}")]
    AlreadyRevealed { device: DeviceId, task: u8 },
    /// A reveal that is not what the device committed to: a copied or changed result.
    #[error("the revealed outcome of task {task} is not the one device {device} committed to")]
    CommitmentMismatch { device: DeviceId, task: u8 },
    /// An outcome that claims more fuel than the task had, or runs out of fuel below its limit.
    #[error(
        "outcome uses {fuel_used} fuel of a limit of {fuel_limit} (out of fuel: {out_of_fuel})"
    )]
    BadFuel {
        fuel_used: u64,
        fuel_limit: u64,
        out_of_fuel: bool,
    },
}

impl ComputeError {
    /// The stable numeric code, as stored with receipts and returned over RPC.
    pub fn code(&self) -> u16 {
        match self {
            ComputeError::NotCompute { .. } => 1500,
            ComputeError::CollateralBelowMinimum { .. } => 1501,
            ComputeError::FuelAboveLimit { .. } => 1502,
            ComputeError::CollateralInUse { .. } => 1503,
            ComputeError::OfferedByAnother { .. } => 1504,
            ComputeError::BadJob { .. } => 1505,
            ComputeError::NothingEscrowed => 1506,
            ComputeError::Unknown { .. } => 1507,
            ComputeError::NotTheCustomer { .. } => 1508,
            ComputeError::WrongPhase { .. } => 1509,
            ComputeError::NotAssigned { .. } => 1510,
            ComputeError::AlreadyCommitted { .. } => 1511,
            ComputeError::CopiedCommitment { .. } => 1512,
            ComputeError::AlreadyRevealed { .. } => 1513,
            ComputeError::CommitmentMismatch { .. } => 1514,
            ComputeError::BadFuel { .. } => 1515,
        }
    }
}
