//! A compute device's side of its tasks: fetching each assigned task's module and input,
//! running it under the chain's runtime and fuel limit, committing and revealing the outcome,
//! keeping the output until the task closes, and serving it over the service port
//! (docs/compute.md).
//!
//! Route, under the service port: `GET /compute/{job}/{task}`: the output of a task this
//! device ran (`404 unknown_task` before it has one). The customer checks its BLAKE3 against
//! the decided result on chain.
//!
//! On disk, in the compute directory: `<job>/<task>.outcome` (the outcome committed to, as
//! JSON) and `<job>/<task>.out` (the output bytes), each written to a temporary name, fsynced
//! and renamed, so an agent restarted between its commit and its reveal reveals what it
//! committed to. A job's folder is removed once none of its tasks is assigned to the device.

use crate::rpc_client::RpcClient;
use anyhow::{Context, Result, bail};
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use groundwork_api as api;
use groundwork_compute::{ComputeError, Limits, RUNTIME};
use groundwork_primitives::hash::digest_from_hex;
use groundwork_primitives::tx::compute::TaskOutcome;
use groundwork_primitives::tx::outcome_commitment;
use groundwork_primitives::{ChainId, ComputeReport, DeviceKey, DeviceTransaction, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Largest module an agent fetches.
pub const MAX_MODULE_BYTES: u64 = 4 << 20;

/// What a trapped run (or a module the runtime refuses) reports: every honest provider gets
/// the same, so a broken module is still verified, and paid for its whole fuel limit.
pub const TRAP_RESULT_CONTEXT: &str = "groundwork 2026-12 compute trapped run";

/// How a provider answers its tasks. Only the dev fleet runs anything but `Honest`: it shows
/// cheaters being caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Runs every task.
    Honest,
    /// Runs nothing and reports a result of its own making.
    Lazy,
    /// Runs nothing and reports the wrong result every colluder reports for that task.
    Colluding,
}

#[derive(Serialize, Deserialize)]
struct StoredOutcome {
    result: String,
    fuel_used: u64,
    out_of_fuel: bool,
}

/// A compute agent: its key, where it keeps outcomes, and how it behaves.
pub struct ComputeWorker {
    pub key: DeviceKey,
    dir: PathBuf,
    behaviour: Behaviour,
    http: reqwest::blocking::Client,
}

/// What one pass over the device's assignments did.
#[derive(Debug, Default)]
pub struct ComputePass {
    /// (job, task, fuel used).
    pub committed: Vec<(String, u8, u64)>,
    pub revealed: Vec<(String, u8)>,
    pub failed: Vec<(String, String)>,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file =
            fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

fn hash32(hex_text: &str) -> Result<[u8; 32]> {
    hex::decode(hex_text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .with_context(|| format!("{hex_text:?} is not a 32-byte hex hash"))
}

impl ComputeWorker {
    pub fn open(dir: PathBuf, key: DeviceKey, behaviour: Behaviour) -> Result<Self> {
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            key,
            dir,
            behaviour,
            http,
        })
    }

    fn task_path(&self, job: &str, task: u8, extension: &str) -> PathBuf {
        self.dir.join(job).join(format!("{task}.{extension}"))
    }

    /// The output bytes of a task this device ran, if it has them.
    pub fn output(&self, job: &str, task: u8) -> Option<Vec<u8>> {
        // Only a job id names a folder: no path of the caller's choosing is read.
        digest_from_hex(job)?;
        fs::read(self.task_path(job, task, "out")).ok()
    }

    fn stored(&self, job: &str, task: u8) -> Option<TaskOutcome> {
        let text = fs::read_to_string(self.task_path(job, task, "outcome")).ok()?;
        let stored: StoredOutcome = serde_json::from_str(&text).ok()?;
        Some(TaskOutcome {
            result: hash32(&stored.result).ok()?,
            fuel_used: stored.fuel_used,
            out_of_fuel: stored.out_of_fuel,
        })
    }

    fn keep(&self, job: &str, task: u8, outcome: &TaskOutcome, output: &[u8]) -> Result<()> {
        let folder = self.dir.join(job);
        fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
        write_atomic(&self.task_path(job, task, "out"), output)?;
        let stored = StoredOutcome {
            result: hex::encode(outcome.result),
            fuel_used: outcome.fuel_used,
            out_of_fuel: outcome.out_of_fuel,
        };
        write_atomic(
            &self.task_path(job, task, "outcome"),
            serde_json::to_string(&stored)?.as_bytes(),
        )
    }

    /// Fetches `url` up to `max` bytes and checks it against `hash` (BLAKE3).
    fn fetch(&self, url: &str, max: u64, hash: &[u8; 32]) -> Result<Vec<u8>> {
        let response = self
            .http
            .get(url)
            .send()
            .with_context(|| format!("fetching {url}"))?;
        if !response.status().is_success() {
            bail!("{url} answered {}", response.status());
        }
        let mut bytes = Vec::new();
        response
            .take(max + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {url}"))?;
        if bytes.len() as u64 > max {
            bail!("{url} is larger than {max} bytes");
        }
        if blake3::hash(&bytes).as_bytes() != hash {
            bail!("{url} does not match the hash the job names");
        }
        Ok(bytes)
    }

    /// Runs a task as the chain's runtime does: out of fuel and traps are outcomes too, the
    /// same on every honest provider.
    fn compute(&self, a: &api::ComputeAssignment) -> Result<(TaskOutcome, Vec<u8>)> {
        let job = digest_from_hex(&a.job).context("a malformed job id")?;
        match self.behaviour {
            Behaviour::Honest => {}
            Behaviour::Lazy => {
                let id = self.key.id().to_string();
                let own = blake3::hash(&[id.as_bytes(), job.as_ref(), &[a.task]].concat());
                let outcome = TaskOutcome {
                    result: *own.as_bytes(),
                    fuel_used: a.fuel_limit / 2,
                    out_of_fuel: false,
                };
                return Ok((outcome, Vec::new()));
            }
            Behaviour::Colluding => {
                let shared = blake3::hash(&[job.as_ref(), &[a.task], b"colluding"].concat());
                let outcome = TaskOutcome {
                    result: *shared.as_bytes(),
                    fuel_used: a.fuel_limit / 2,
                    out_of_fuel: false,
                };
                return Ok((outcome, Vec::new()));
            }
        }
        let source = a.source.trim_end_matches('/');
        let module = self.fetch(
            &format!("{source}/module"),
            MAX_MODULE_BYTES,
            &hash32(&a.module_hash)?,
        )?;
        let input = self.fetch(
            &format!("{source}/input/{}", a.task),
            Limits::DEFAULT.max_input_bytes as u64,
            &hash32(&a.input_hash)?,
        )?;
        Ok(
            match groundwork_compute::run(&module, &input, a.fuel_limit, Limits::DEFAULT) {
                Ok(run) => (
                    TaskOutcome {
                        result: run.result_hash,
                        fuel_used: run.fuel_used,
                        out_of_fuel: false,
                    },
                    run.output,
                ),
                Err(ComputeError::OutOfFuel { limit }) => (
                    TaskOutcome {
                        result: [0; 32],
                        fuel_used: limit,
                        out_of_fuel: true,
                    },
                    Vec::new(),
                ),
                Err(_) => (
                    TaskOutcome {
                        result: blake3::derive_key(TRAP_RESULT_CONTEXT, &input),
                        fuel_used: a.fuel_limit,
                        out_of_fuel: false,
                    },
                    Vec::new(),
                ),
            },
        )
    }

    fn send(&self, rpc: &RpcClient, chain: &ChainId, report: ComputeReport) -> Result<()> {
        let tx = Transaction::Device(DeviceTransaction::sign(&self.key, chain, report));
        rpc.submit(&tx)?;
        Ok(())
    }

    /// One pass over the device's assignments: run and commit each task in its commit phase,
    /// reveal each in its reveal phase, and forget jobs no longer assigned.
    pub fn pass(&self, rpc: &RpcClient, chain: &ChainId) -> ComputePass {
        let mut pass = ComputePass::default();
        let due: api::ComputeAssignments = match rpc.get(
            "compute_getAssignments",
            json!({ "device": self.key.id().to_string() }),
        ) {
            Ok(due) => due,
            Err(e) => {
                pass.failed.push((String::new(), e.to_string()));
                return pass;
            }
        };
        if due.runtime != RUNTIME {
            pass.failed.push((
                String::new(),
                format!("the chain pins {}, this agent runs {RUNTIME}", due.runtime),
            ));
            return pass;
        }
        let mut open = BTreeSet::new();
        for a in &due.assignments {
            open.insert(a.job.clone());
            if let Err(e) = self.step(rpc, chain, a, &mut pass) {
                pass.failed
                    .push((format!("{}/{}", a.job, a.task), format!("{e:#}")));
            }
        }
        // Jobs none of whose tasks is open for this device: their outputs are not needed.
        // They are kept a while for the customer to fetch: only folders with no outcome
        // younger than an hour go.
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > Duration::from_secs(3_600));
                if digest_from_hex(&name).is_some() && !open.contains(&name) && old {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        pass
    }

    fn step(
        &self,
        rpc: &RpcClient,
        chain: &ChainId,
        a: &api::ComputeAssignment,
        pass: &mut ComputePass,
    ) -> Result<()> {
        let job = digest_from_hex(&a.job).context("a malformed job id")?;
        match a.phase.as_str() {
            "committing" if !a.committed => {
                let outcome = match self.stored(&a.job, a.task) {
                    Some(outcome) => outcome,
                    None => {
                        let (outcome, output) = self.compute(a)?;
                        self.keep(&a.job, a.task, &outcome, &output)?;
                        outcome
                    }
                };
                let commitment = outcome_commitment(&job, a.task, &self.key.id(), &outcome);
                self.send(
                    rpc,
                    chain,
                    ComputeReport::Commit {
                        job,
                        task: a.task,
                        commitment,
                    },
                )?;
                pass.committed
                    .push((a.job.clone(), a.task, outcome.fuel_used));
            }
            "revealing" if a.committed && !a.revealed => {
                let outcome = self
                    .stored(&a.job, a.task)
                    .context("committed, but the outcome is not on disk")?;
                self.send(
                    rpc,
                    chain,
                    ComputeReport::Reveal {
                        job,
                        task: a.task,
                        outcome,
                    },
                )?;
                pass.revealed.push((a.job.clone(), a.task));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The compute route, to merge into the service port's router.
pub fn routes(worker: Arc<ComputeWorker>) -> axum::Router {
    axum::Router::new()
        .route("/compute/{job}/{task}", get(output))
        .with_state(worker)
}

async fn output(
    State(worker): State<Arc<ComputeWorker>>,
    UrlPath((job, task)): UrlPath<(String, u8)>,
) -> Response {
    match tokio::task::spawn_blocking(move || worker.output(&job, task)).await {
        Ok(Some(bytes)) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "this device holds no output of that task", "code": "unknown_task" })),
        )
            .into_response(),
    }
}
