//! The compute module: `compute_getProvider`, `compute_listProviders`, `compute_getJob`,
//! `compute_listJobs`, `compute_getTask` and `compute_getAssignments` (aliases
//! `compute_provider`, `compute_providers`, `compute_job`, `compute_jobs`, `compute_task`,
//! `compute_assignments`).

use super::*;
use groundwork_state::compute::{Job, Phase, Provider, Round, Slot, Task, Verdict};

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("compute_getProvider", |params, state, _| {
        provider(state, &params)
    })?;
    module.register_method("compute_listProviders", |params, state, _| {
        providers(state, &params)
    })?;
    module.register_method("compute_getJob", |params, state, _| job(state, &params))?;
    module.register_method("compute_listJobs", |params, state, _| jobs(state, &params))?;
    module.register_method("compute_getTask", |params, state, _| task(state, &params))?;
    module.register_method("compute_getAssignments", |params, state, _| {
        assignments(state, &params)
    })?;
    module.register_alias("compute_provider", "compute_getProvider")?;
    module.register_alias("compute_providers", "compute_listProviders")?;
    module.register_alias("compute_job", "compute_getJob")?;
    module.register_alias("compute_jobs", "compute_listJobs")?;
    module.register_alias("compute_task", "compute_getTask")?;
    module.register_alias("compute_assignments", "compute_getAssignments")?;
    Ok(())
}

fn url_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn provider_answer(s: &State, device: &DeviceId, p: &Provider) -> api::ComputeProvider {
    api::ComputeProvider {
        device: device.to_string(),
        owner: p.owner.to_string(),
        credits_per_mfuel: s.offer(device).map(|o| o.credits_per_unit),
        max_fuel_per_task: p.max_fuel_per_task,
        collateral: BaseUnits(p.collateral.0),
        slashed: BaseUnits(p.slashed.0),
        open_assignments: p.open_slots,
        endpoint: url_text(&p.endpoint.0),
    }
}

fn slot_answer(slot: &Slot) -> api::ComputeSlot {
    let revealed = slot.revealed;
    api::ComputeSlot {
        device: slot.device.to_string(),
        owner: slot.owner.to_string(),
        round: slot.round.name().to_string(),
        credits_per_mfuel: slot.credits_per_mfuel,
        committed: slot.committed,
        revealed,
        result: revealed.then(|| hex::encode(slot.outcome.result)),
        fuel_used: revealed.then_some(slot.outcome.fuel_used),
        out_of_fuel: revealed.then_some(slot.outcome.out_of_fuel),
        verdict: slot.verdict.name().to_string(),
        paid_credits: slot.paid_credits,
        slashed: BaseUnits(slot.slashed.0),
    }
}

fn short_hex(bytes: &[u8]) -> String {
    hex::encode(&bytes[..bytes.len().min(6)])
}

/// Every decision of a task in order, with the randomness behind it: what `compute show`
/// prints and what anyone can recompute from the blocks named.
fn explanation(job: &Job, task: &Task) -> Vec<String> {
    let mut lines = Vec::new();
    let devices = |round: Round| -> String {
        let names: Vec<String> = task
            .slots
            .0
            .iter()
            .filter(|s| s.round == round)
            .map(|s| s.device.to_string())
            .collect();
        if names.is_empty() {
            "nobody eligible".to_string()
        } else {
            names.join(", ")
        }
    };
    for draw in &task.draws.0 {
        let seed = short_hex(draw.seed.as_ref());
        match draw.round {
            Round::Primary => lines.push(format!(
                "block {} (hash {seed}…) drew {} to run it: {}",
                draw.height,
                job.replication,
                devices(Round::Primary)
            )),
            Round::Spot if draw.checked => lines.push(format!(
                "block {} (hash {seed}…) rolled {} below {} bps: spot check by {}",
                draw.height,
                draw.roll,
                job.spot_check_bps,
                devices(Round::Spot)
            )),
            Round::Spot => lines.push(format!(
                "block {} (hash {seed}…) rolled {}, not below {} bps: no spot check",
                draw.height, draw.roll, job.spot_check_bps
            )),
            Round::Referee => lines.push(format!(
                "block {} (hash {seed}…) drew referees{}: {}",
                draw.height,
                if task.disputed {
                    " after the customer's dispute"
                } else {
                    " after outcomes differed"
                },
                devices(Round::Referee)
            )),
        }
    }
    for slot in &task.slots.0 {
        let what = match slot.verdict {
            Verdict::Pending => continue,
            Verdict::Agreed => format!(
                "agreed with the decided outcome: paid {} credits for {} fuel at {} per million",
                slot.paid_credits, slot.outcome.fuel_used, slot.credits_per_mfuel
            ),
            Verdict::Disagreed => format!(
                "revealed {}…, not the decided outcome: slashed {}",
                short_hex(&slot.outcome.result),
                slot.slashed
            ),
            Verdict::Silent => format!("revealed nothing in time: slashed {}", slot.slashed),
            Verdict::Undecided => {
                "revealed, but nothing was decided: neither paid nor slashed".to_string()
            }
        };
        lines.push(format!("{} ({}) {what}", slot.device, slot.round.name()));
    }
    if task.phase == Phase::Closed {
        lines.push(format!(
            "closed at block {} as {}: {} credits paid, the rest of the escrow returned",
            task.closed_at,
            task.verification.name(),
            task.paid_credits
        ));
    }
    lines
}

pub(super) fn task_answer(id: &Digest, index: u8, job: &Job, task: &Task) -> api::ComputeTask {
    let decided = task.verification != groundwork_state::compute::Verification::Pending
        && task.phase == Phase::Closed
        && task.slots.0.iter().any(|s| s.verdict == Verdict::Agreed);
    api::ComputeTask {
        job: digest_hex(id),
        index,
        input_hash: hex::encode(task.input_hash),
        phase: task.phase.name().to_string(),
        round: task.round.name().to_string(),
        deadline: task.deadline,
        escrow_credits: task.escrow_credits,
        paid_credits: task.paid_credits,
        verification: task.verification.name().to_string(),
        result: decided.then(|| hex::encode(task.decided.result)),
        fuel_used: decided.then_some(task.decided.fuel_used),
        out_of_fuel: decided.then_some(task.decided.out_of_fuel),
        disputed: task.disputed,
        closed_at: (task.closed_at != 0).then_some(task.closed_at),
        slots: task.slots.0.iter().map(slot_answer).collect(),
        draws: task
            .draws
            .0
            .iter()
            .map(|d| {
                let roll = d.round == Round::Spot;
                api::ComputeDraw {
                    round: d.round.name().to_string(),
                    height: d.height,
                    seed: digest_hex(&d.seed),
                    roll: roll.then_some(d.roll),
                    checked: roll.then_some(d.checked),
                }
            })
            .collect(),
        explanation: explanation(job, task),
    }
}

fn job_answer(s: &State, id: &Digest, job: &Job) -> api::ComputeJob {
    api::ComputeJob {
        id: digest_hex(id),
        customer: job.customer.to_string(),
        module_hash: hex::encode(job.module_hash),
        source: url_text(&job.source.0),
        fuel_limit: job.fuel_limit,
        max_credits_per_mfuel: job.max_credits_per_mfuel,
        replication: job.replication,
        spot_check_bps: job.spot_check_bps,
        task_count: job.tasks,
        open_tasks: job.open_tasks,
        posted_at: job.posted_at,
        tasks: s
            .compute_tasks(id)
            .iter()
            .map(|(index, task)| task_answer(id, *index, job, task))
            .collect(),
    }
}

fn digest_param(map: &Map<String, Value>, name: &'static str) -> RpcResult<Digest> {
    let text: String = required(map, name)?;
    digest_from_hex(&text).ok_or_else(|| invalid(name, "expected 64 hex characters"))
}

fn page(map: &Map<String, Value>) -> RpcResult<usize> {
    let limit = optional::<usize>(map, "limit")?.unwrap_or(DEFAULT_DEVICE_PAGE);
    if limit == 0 || limit > MAX_DEVICE_PAGE {
        return Err(invalid("limit", format!("must be 1..={MAX_DEVICE_PAGE}")));
    }
    Ok(limit)
}

fn provider(state: &RpcState, params: &Params<'_>) -> RpcResult<api::ComputeProvider> {
    let map = named(params, &["device"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let p = s
            .compute_provider(&id)
            .ok_or_else(|| not_found(format!("device {id} offers no compute")))?;
        Ok(provider_answer(s, &id, &p))
    })
}

fn providers(state: &RpcState, params: &Params<'_>) -> RpcResult<api::ComputeProviderList> {
    let map = named(params, &["limit"])?;
    let limit = page(&map)?;
    Ok(state.chain.with_state(|s| api::ComputeProviderList {
        providers: s
            .compute_providers(limit)
            .iter()
            .map(|(device, p)| provider_answer(s, device, p))
            .collect(),
    }))
}

fn job(state: &RpcState, params: &Params<'_>) -> RpcResult<api::ComputeJob> {
    let map = named(params, &["id"])?;
    let id = digest_param(&map, "id")?;
    state.chain.with_state(|s| {
        let job = s
            .compute_job(&id)
            .ok_or_else(|| not_found(format!("no job {}", digest_hex(&id))))?;
        Ok(job_answer(s, &id, &job))
    })
}

fn jobs(state: &RpcState, params: &Params<'_>) -> RpcResult<api::ComputeJobList> {
    let map = named(params, &["customer", "limit"])?;
    let limit = page(&map)?;
    let customer = parse_address(&map, "customer")?;
    Ok(state.chain.with_state(|s| api::ComputeJobList {
        jobs: s
            .compute_jobs_of(&customer, limit)
            .iter()
            .map(|(id, job)| job_answer(s, id, job))
            .collect(),
    }))
}

fn task(state: &RpcState, params: &Params<'_>) -> RpcResult<api::ComputeTask> {
    let map = named(params, &["job", "task"])?;
    let id = digest_param(&map, "job")?;
    let index: u8 = required(&map, "task")?;
    state.chain.with_state(|s| {
        let job = s
            .compute_job(&id)
            .ok_or_else(|| not_found(format!("no job {}", digest_hex(&id))))?;
        let task = s
            .compute_task(&id, index)
            .ok_or_else(|| not_found(format!("job {} has no task {index}", digest_hex(&id))))?;
        Ok(task_answer(&id, index, &job, &task))
    })
}

/// The open tasks `device` is assigned to in their current round, with what its agent needs.
fn assignments(state: &RpcState, params: &Params<'_>) -> RpcResult<api::ComputeAssignments> {
    let map = named(params, &["device"])?;
    let device = parse_device(&map, "device")?;
    Ok(state.chain.with_state(|s| {
        let mut assignments = Vec::new();
        for (id, index, task) in s.compute_open_tasks_of_provider(&device, MAX_DEVICE_PAGE) {
            let Some(job) = s.compute_job(&id) else {
                continue;
            };
            let Some(slot) = task
                .slots
                .0
                .iter()
                .find(|slot| slot.device == device && slot.round == task.round)
            else {
                continue;
            };
            if !matches!(task.phase, Phase::Committing | Phase::Revealing) {
                continue;
            }
            assignments.push(api::ComputeAssignment {
                job: digest_hex(&id),
                task: index,
                module_hash: hex::encode(job.module_hash),
                input_hash: hex::encode(task.input_hash),
                source: url_text(&job.source.0),
                fuel_limit: job.fuel_limit,
                round: task.round.name().to_string(),
                phase: task.phase.name().to_string(),
                deadline: task.deadline,
                committed: slot.committed,
                revealed: slot.revealed,
            });
        }
        api::ComputeAssignments {
            device: device.to_string(),
            runtime: s.params().compute.runtime_name().to_string(),
            assignments,
        }
    }))
}
