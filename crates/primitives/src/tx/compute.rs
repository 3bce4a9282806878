//! The compute module's messages: a provider's offer and collateral, a customer's job of
//! WebAssembly tasks with escrowed credits, the assigned devices' commitments and reveals,
//! and a customer's dispute.

use super::Message;
use crate::address::Address;
use crate::amount::Amount;
use crate::hash::{Digest, hash_parts};
use crate::keys::DeviceId;
use crate::limits::{MAX_ENDPOINT_BYTES, MAX_TASKS_PER_JOB};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// A URL, at most [`MAX_ENDPOINT_BYTES`]: a provider's agent, or where a job's module and
/// inputs are fetched from.
pub type Url = super::attest::BoundedBytes<MAX_ENDPOINT_BYTES>;

/// What running a task produced: the BLAKE3 hash of its output and the fuel it used. A task
/// that ran out of fuel has no output (`result` all zero) and used exactly its fuel limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskOutcome {
    pub result: [u8; 32],
    pub fuel_used: u64,
    pub out_of_fuel: bool,
}
crate::impl_struct_codec!(TaskOutcome {
    result,
    fuel_used,
    out_of_fuel
});

/// What an account asks of the compute module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComputeCall {
    /// A compute device's owner offers to run tasks of up to `max_fuel_per_task` and locks
    /// `collateral`. The price is the device's usage offer, in credits per million fuel.
    /// Calling again changes the offer; `max_fuel_per_task` 0 withdraws it.
    Offer {
        device: DeviceId,
        max_fuel_per_task: u64,
        collateral: Amount,
        /// Where customers fetch results from the device's agent.
        endpoint: Url,
    },
    /// A customer posts a job: one module run once per input, each run a task. The chain
    /// escrows the worst case: every task's fuel limit at the price ceiling, for its
    /// `replication` runs, a spot check and a referee committee. The job's id is
    /// [`job_id`]`(customer, nonce)`.
    Post {
        /// BLAKE3 of the module's WebAssembly bytes.
        module_hash: [u8; 32],
        /// BLAKE3 of each task's input, at most [`MAX_TASKS_PER_JOB`].
        inputs: Vec<[u8; 32]>,
        fuel_limit: u64,
        /// Most credits per million fuel the customer pays any provider.
        max_credits_per_mfuel: u64,
        /// Providers that run each task independently (1 to 3).
        replication: u8,
        /// Chance, in basis points, that another provider re-runs a task whose outcomes
        /// agreed.
        spot_check_bps: u16,
        /// Where providers fetch the module and inputs: `{source}/module` and
        /// `{source}/input/{task}`.
        source: Url,
    },
    /// The customer disputes a task that no one verified before it was accepted: a referee
    /// committee re-runs it, paid from the job's escrow.
    Dispute { job: Digest, task: u8 },
}

/// What a compute device reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComputeReport {
    /// The device's commitment to its outcome of a task it was assigned:
    /// [`outcome_commitment`]`(job, task, device, outcome)`.
    Commit {
        job: Digest,
        task: u8,
        commitment: [u8; 32],
    },
    /// The outcome it committed to, once every assigned device committed or the window
    /// closed.
    Reveal {
        job: Digest,
        task: u8,
        outcome: TaskOutcome,
    },
}

impl ComputeCall {
    pub const MODULE_NAME: &'static str = "compute";
}

impl Message for ComputeCall {
    const MODULE: &'static str = ComputeCall::MODULE_NAME;

    fn name(&self) -> &'static str {
        match self {
            ComputeCall::Offer { .. } => "offer",
            ComputeCall::Post { .. } => "post",
            ComputeCall::Dispute { .. } => "dispute",
        }
    }
}

impl Message for ComputeReport {
    const MODULE: &'static str = ComputeCall::MODULE_NAME;

    fn name(&self) -> &'static str {
        match self {
            ComputeReport::Commit { .. } => "commit",
            ComputeReport::Reveal { .. } => "reveal",
        }
    }
}

impl ComputeReport {
    /// The job and task a report is about.
    pub fn task(&self) -> (Digest, u8) {
        match self {
            ComputeReport::Commit { job, task, .. } | ComputeReport::Reveal { job, task, .. } => {
                (*job, *task)
            }
        }
    }

    /// What tells two pending reports of one device apart: one per task.
    pub fn subject(&self) -> Digest {
        let (job, task) = self.task();
        task_id(&job, task)
    }
}

/// `sha256("groundwork-compute-job" ‖ customer ‖ nonce)`: known before the job lands.
pub fn job_id(customer: &Address, nonce: u64) -> Digest {
    hash_parts(&[b"groundwork-compute-job", &customer.0, &nonce.to_be_bytes()])
}

/// `sha256("groundwork-compute-task" ‖ job ‖ task index)`.
pub fn task_id(job: &Digest, task: u8) -> Digest {
    hash_parts(&[b"groundwork-compute-task", job.as_ref(), &[task]])
}

/// `sha256("groundwork-compute-commit" ‖ job ‖ task ‖ device ‖ result ‖ fuel ‖ out of fuel)`.
/// It names the device, so a commitment copied from another device can never be revealed.
pub fn outcome_commitment(
    job: &Digest,
    task: u8,
    device: &DeviceId,
    outcome: &TaskOutcome,
) -> [u8; 32] {
    use commonware_codec::Encode;
    let device = device.encode();
    let digest = hash_parts(&[
        b"groundwork-compute-commit",
        job.as_ref(),
        &[task],
        &device,
        &outcome.result,
        &outcome.fuel_used.to_be_bytes(),
        &[u8::from(outcome.out_of_fuel)],
    ]);
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(digest.as_ref());
    bytes
}

// ---- codec -----------------------------------------------------------------------------

impl Write for ComputeCall {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            ComputeCall::Offer {
                device,
                max_fuel_per_task,
                collateral,
                endpoint,
            } => {
                0u8.write(buf);
                device.write(buf);
                max_fuel_per_task.write(buf);
                collateral.write(buf);
                endpoint.write(buf);
            }
            ComputeCall::Post {
                module_hash,
                inputs,
                fuel_limit,
                max_credits_per_mfuel,
                replication,
                spot_check_bps,
                source,
            } => {
                1u8.write(buf);
                module_hash.write(buf);
                // The decoder refuses more than MAX_TASKS_PER_JOB (< 256).
                let n = inputs.len().min(MAX_TASKS_PER_JOB);
                (n as u8).write(buf);
                inputs.iter().take(n).for_each(|i| i.write(buf));
                fuel_limit.write(buf);
                max_credits_per_mfuel.write(buf);
                replication.write(buf);
                spot_check_bps.write(buf);
                source.write(buf);
            }
            ComputeCall::Dispute { job, task } => {
                2u8.write(buf);
                job.write(buf);
                task.write(buf);
            }
        }
    }
}

impl EncodeSize for ComputeCall {
    fn encode_size(&self) -> usize {
        1 + match self {
            ComputeCall::Offer {
                device,
                max_fuel_per_task,
                collateral,
                endpoint,
            } => {
                device.encode_size()
                    + max_fuel_per_task.encode_size()
                    + collateral.encode_size()
                    + endpoint.encode_size()
            }
            ComputeCall::Post { inputs, source, .. } => {
                32 + 1
                    + 32 * inputs.len().min(MAX_TASKS_PER_JOB)
                    + 8
                    + 8
                    + 1
                    + 2
                    + source.encode_size()
            }
            ComputeCall::Dispute { job, .. } => job.encode_size() + 1,
        }
    }
}

impl Read for ComputeCall {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(ComputeCall::Offer {
                device: DeviceId::read(buf)?,
                max_fuel_per_task: u64::read(buf)?,
                collateral: Amount::read(buf)?,
                endpoint: Url::read(buf)?,
            }),
            1 => {
                let module_hash = <[u8; 32]>::read(buf)?;
                let count = usize::from(u8::read(buf)?);
                if count == 0 || count > MAX_TASKS_PER_JOB {
                    return Err(CodecError::InvalidLength(count));
                }
                let mut inputs = Vec::with_capacity(count);
                for _ in 0..count {
                    inputs.push(<[u8; 32]>::read(buf)?);
                }
                Ok(ComputeCall::Post {
                    module_hash,
                    inputs,
                    fuel_limit: u64::read(buf)?,
                    max_credits_per_mfuel: u64::read(buf)?,
                    replication: u8::read(buf)?,
                    spot_check_bps: u16::read(buf)?,
                    source: Url::read(buf)?,
                })
            }
            2 => Ok(ComputeCall::Dispute {
                job: Digest::read(buf)?,
                task: u8::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

impl Write for ComputeReport {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            ComputeReport::Commit {
                job,
                task,
                commitment,
            } => {
                0u8.write(buf);
                job.write(buf);
                task.write(buf);
                commitment.write(buf);
            }
            ComputeReport::Reveal { job, task, outcome } => {
                1u8.write(buf);
                job.write(buf);
                task.write(buf);
                outcome.write(buf);
            }
        }
    }
}

impl EncodeSize for ComputeReport {
    fn encode_size(&self) -> usize {
        1 + 32
            + 1
            + match self {
                ComputeReport::Commit { .. } => 32,
                ComputeReport::Reveal { outcome, .. } => outcome.encode_size(),
            }
    }
}

impl Read for ComputeReport {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(ComputeReport::Commit {
                job: Digest::read(buf)?,
                task: u8::read(buf)?,
                commitment: <[u8; 32]>::read(buf)?,
            }),
            1 => Ok(ComputeReport::Reveal {
                job: Digest::read(buf)?,
                task: u8::read(buf)?,
                outcome: TaskOutcome::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_TRANSACTION_BYTES;
    use commonware_codec::Encode;

    #[test]
    fn a_full_job_round_trips_and_fits_one_transaction() {
        let call = ComputeCall::Post {
            module_hash: [1; 32],
            inputs: vec![[2; 32]; MAX_TASKS_PER_JOB],
            fuel_limit: 1 << 40,
            max_credits_per_mfuel: 9,
            replication: 3,
            spot_check_bps: 10_000,
            source: super::super::attest::BoundedBytes(vec![b'h'; MAX_ENDPOINT_BYTES]),
        };
        let bytes = call.encode();
        assert_eq!(bytes.len(), call.encode_size());
        assert_eq!(crate::decode_exact::<ComputeCall>(&bytes).unwrap(), call);
        // With the envelope's signer, signature, nonce, fee and window it stays under 1 KiB.
        assert!(
            bytes.len() + 200 <= MAX_TRANSACTION_BYTES,
            "{}",
            bytes.len()
        );
        // More inputs than a job may have are refused by the count, before any allocation.
        let mut long = bytes.to_vec();
        long[1 + 32] = (MAX_TASKS_PER_JOB + 1) as u8;
        assert!(crate::decode_exact::<ComputeCall>(&long).is_err());
    }

    #[test]
    fn a_commitment_names_its_device() {
        let job = job_id(&Address([3; 20]), 0);
        let outcome = TaskOutcome {
            result: [7; 32],
            fuel_used: 1_000,
            out_of_fuel: false,
        };
        let a = crate::DeviceKey::from_seed(crate::KeyScheme::Ed25519, 1).id();
        let b = crate::DeviceKey::from_seed(crate::KeyScheme::Ed25519, 2).id();
        assert_ne!(
            outcome_commitment(&job, 0, &a, &outcome),
            outcome_commitment(&job, 0, &b, &outcome)
        );
        assert_ne!(
            outcome_commitment(&job, 0, &a, &outcome),
            outcome_commitment(&job, 1, &a, &outcome)
        );
        let report = ComputeReport::Reveal {
            job,
            task: 3,
            outcome,
        };
        let bytes = report.encode();
        assert_eq!(bytes.len(), report.encode_size());
        assert_eq!(
            crate::decode_exact::<ComputeReport>(&bytes).unwrap(),
            report
        );
    }
}
