//! The simulated fleet's compute: the fleet's compute devices run the agent's real compute
//! worker (outputs on disk under the dev data dir, served over HTTP on 127.0.0.1) and the
//! fleet's owner posts a job of hash-chain tasks every epoch. One provider is lazy (it runs
//! nothing and makes up a result) and two collude (they run nothing and report the same wrong
//! result). Replication 2 with spot checks catches the lazy one whenever it is paired with an
//! honest provider, the colluders whenever they are apart, and, when the chain pairs them
//! together, at the spot-check rate; every caught one is slashed.

use crate::client_cmd::compute::{Source, serve};
use crate::compute_worker::{Behaviour, ComputeWorker};
use crate::rpc_client::{ChainStatus, RpcClient};
use crate::sim::fleet::SimDevice;
use anyhow::Result;
use groundwork_api as api;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::tx::attest::BoundedBytes;
use groundwork_primitives::{
    AccountKey, AccountTransaction, Amount, Call, ComputeCall, CreditsCall, ResourceKind,
    Transaction, UsageCall, job_id,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Fewest compute devices the demo needs: a lazy one, two colluders, and enough honest ones
/// for a spot check and a referee majority.
const MIN_PROVIDERS: usize = 6;
/// Tasks in each epoch's job.
const TASKS: usize = 8;
/// Hash-chain rounds per task, and the fuel limit that covers them.
const ROUNDS: u64 = 2_000;
const FUEL_LIMIT: u64 = 5_000_000;
/// Credits per million fuel the providers ask.
const PRICE: u64 = 40;

enum Stage {
    Offer,
    Running {
        source: String,
        posted_epoch: Option<u64>,
    },
    Off,
}

pub struct ComputeFleet {
    stage: Stage,
    /// Each provider's worker and its role's name.
    workers: Vec<(Arc<ComputeWorker>, &'static str)>,
    dir: PathBuf,
    /// Jobs posted, not yet reported.
    jobs: Vec<String>,
}

fn sign(
    rpc: &RpcClient,
    status: &ChainStatus,
    key: &AccountKey,
    call: impl Into<Call>,
) -> Result<Transaction> {
    let nonce = rpc.pending_nonce(&key_address(key).to_string())?;
    Ok(Transaction::Account(AccountTransaction::sign(
        key,
        &status.chain_id,
        nonce,
        status.valid_until(),
        call,
    )))
}

impl ComputeFleet {
    /// Outputs are kept under `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            stage: Stage::Offer,
            workers: Vec::new(),
            dir,
            jobs: Vec::new(),
        }
    }

    pub fn step(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        main: &AccountKey,
        owners: &[AccountKey],
        fleet: &[SimDevice],
        epoch_changed: bool,
    ) -> Result<()> {
        match self.stage {
            Stage::Offer => self.offer(rpc, status, main, owners, fleet),
            Stage::Running { .. } => self.run(rpc, status, main, epoch_changed),
            Stage::Off => Ok(()),
        }
    }

    /// Starts each provider's worker and service port and has its owner offer it; serves
    /// the job's module and inputs.
    fn offer(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        main: &AccountKey,
        owners: &[AccountKey],
        fleet: &[SimDevice],
    ) -> Result<()> {
        let compute: Vec<&SimDevice> = fleet
            .iter()
            .filter(|d| d.kind == ResourceKind::Compute)
            .collect();
        if compute.len() < MIN_PROVIDERS {
            println!(
                "fleet: compute: {} compute devices, the demo needs {MIN_PROVIDERS} (try --devices 120)",
                compute.len()
            );
            self.stage = Stage::Off;
            return Ok(());
        }
        for (n, device) in compute.iter().enumerate() {
            let (behaviour, role) = match n {
                0 => (Behaviour::Lazy, "lazy"),
                1 | 2 => (Behaviour::Colluding, "colluding"),
                _ => (Behaviour::Honest, "honest"),
            };
            let worker = Arc::new(ComputeWorker::open(
                self.dir.join(format!("compute-{n}")),
                device.key.clone(),
                behaviour,
            )?);
            let address = crate::service_port::start(
                std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                device.key.clone(),
                rpc.url().to_string(),
                self.dir.join(format!("compute-{n}.vouchers.json")),
                None,
                Some(worker.clone()),
            )?;
            let owner = &owners[device.owner];
            let offer = sign(
                rpc,
                status,
                owner,
                UsageCall::SetOffer {
                    device: device.key.id(),
                    credits_per_unit: PRICE,
                    max_session_blocks: 1_000,
                },
            )?;
            rpc.submit(&offer)?;
            let nonce = rpc.pending_nonce(&key_address(owner).to_string())?;
            let compute = Transaction::Account(AccountTransaction::sign(
                owner,
                &status.chain_id,
                nonce,
                status.valid_until(),
                ComputeCall::Offer {
                    device: device.key.id(),
                    max_fuel_per_task: FUEL_LIMIT * 10,
                    collateral: Amount(5 * 10u128.pow(u32::from(status.decimals))),
                    endpoint: BoundedBytes(format!("http://{address}").into_bytes()),
                },
            ));
            let hash = rpc.submit(&compute)?;
            if let Ok(receipt) = rpc.wait_for(&hash, std::time::Duration::from_secs(30))
                && let Some((code, message)) = receipt.error
            {
                println!(
                    "fleet: compute: provider {n}'s offer was refused: {message} (code {code})"
                );
                continue;
            }
            // Each provider's agent works on its own, as a real one does, polling its
            // assignments twice a second.
            let (thread_worker, url, chain) = (
                worker.clone(),
                rpc.url().to_string(),
                status.chain_id.clone(),
            );
            std::thread::spawn(move || {
                let Ok(rpc) = RpcClient::new(&url, std::time::Duration::from_secs(5)) else {
                    return;
                };
                loop {
                    let _ = thread_worker.pass(&rpc, &chain);
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
            });
            self.workers.push((worker, role));
        }
        let module = wat::parse_str(include_str!("../../../../examples/hashchain.wat"))?;
        let inputs: Vec<Vec<u8>> = (0..TASKS)
            .map(|i| {
                let mut input = ROUNDS.to_le_bytes().to_vec();
                input.extend_from_slice(format!("fleet task {i}").as_bytes());
                input
            })
            .collect();
        let bound = serve(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            Source { module, inputs },
        )?;
        let client = key_address(main);
        if rpc.account(&client.to_string())?.credits < 100_000 {
            let buy = sign(
                rpc,
                status,
                main,
                CreditsCall::Buy {
                    recipient: client,
                    credits: 200_000,
                },
            )?;
            rpc.submit(&buy)?;
        }
        println!(
            "fleet: compute: {} providers at {PRICE} credits per million fuel: provider 0 is lazy, 1 and 2 collude",
            self.workers.len()
        );
        // The first job goes out next epoch, once the offers have landed.
        self.stage = Stage::Running {
            source: format!("http://{bound}"),
            posted_epoch: Some(status.epoch),
        };
        Ok(())
    }

    fn run(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        main: &AccountKey,
        epoch_changed: bool,
    ) -> Result<()> {
        let Stage::Running {
            source,
            posted_epoch,
        } = &mut self.stage
        else {
            return Ok(());
        };
        if *posted_epoch != Some(status.epoch) {
            *posted_epoch = Some(status.epoch);
            let module = wat::parse_str(include_str!("../../../../examples/hashchain.wat"))?;
            let inputs = (0..TASKS)
                .map(|i| {
                    let mut input = ROUNDS.to_le_bytes().to_vec();
                    input.extend_from_slice(format!("fleet task {i}").as_bytes());
                    *blake3::hash(&input).as_bytes()
                })
                .collect();
            let nonce = rpc.pending_nonce(&key_address(main).to_string())?;
            let post = Transaction::Account(AccountTransaction::sign(
                main,
                &status.chain_id,
                nonce,
                status.valid_until(),
                ComputeCall::Post {
                    module_hash: *blake3::hash(&module).as_bytes(),
                    inputs,
                    fuel_limit: FUEL_LIMIT,
                    max_credits_per_mfuel: PRICE,
                    replication: 2,
                    spot_check_bps: 2_500,
                    source: BoundedBytes(source.clone().into_bytes()),
                },
            ));
            rpc.submit(&post)?;
            self.jobs
                .push(groundwork_primitives::hash::digest_hex(&job_id(
                    &key_address(main),
                    nonce,
                )));
        }
        if epoch_changed {
            self.report(rpc, status)?;
        }
        Ok(())
    }

    /// Prints, for the jobs that closed, what each role was paid and slashed.
    fn report(&mut self, rpc: &RpcClient, status: &ChainStatus) -> Result<()> {
        let roles: BTreeMap<String, &'static str> = self
            .workers
            .iter()
            .map(|(w, role)| (w.key.id().to_string(), *role))
            .collect();
        let mut closed = Vec::new();
        // role → (paid credits, times slashed, of which silent, slashed base units)
        let mut by_role: BTreeMap<&'static str, (u64, u32, u32, u128)> = BTreeMap::new();
        let mut how: BTreeMap<String, u32> = BTreeMap::new();
        for job in &self.jobs {
            let Ok(record) = rpc.get::<api::ComputeJob>("compute_getJob", json!({ "id": job }))
            else {
                continue;
            };
            if record.open_tasks > 0 {
                continue;
            }
            closed.push(job.clone());
            for task in &record.tasks {
                *how.entry(task.verification.clone()).or_default() += 1;
                for slot in &task.slots {
                    let role = roles.get(&slot.device).copied().unwrap_or("other");
                    let entry = by_role.entry(role).or_default();
                    entry.0 += slot.paid_credits;
                    if slot.slashed.0 > 0 {
                        entry.1 += 1;
                        entry.2 += u32::from(slot.verdict == "silent");
                        entry.3 += slot.slashed.0;
                    }
                }
            }
        }
        self.jobs.retain(|j| !closed.contains(j));
        if closed.is_empty() {
            return Ok(());
        }
        let verdicts: Vec<String> = how.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let roles: Vec<String> = by_role
            .iter()
            .map(|(role, (paid, times, silent, slashed))| {
                format!(
                    "{role}: paid {paid} credits, slashed {times} times ({silent} silent, {})",
                    status.show(&slashed.to_string())
                )
            })
            .collect();
        println!(
            "fleet: compute: {} jobs closed: {}; {}",
            closed.len(),
            verdicts.join(", "),
            roles.join("; ")
        );
        Ok(())
    }
}
