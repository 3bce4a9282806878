//! Epochs and rewards: `epoch_get`, `rewards_get`, `rewards_explain`, the rewards subscription.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("epoch_get", |params, state, _| epoch(state, &params))?;
    module.register_method("rewards_get", |params, state, _| rewards(state, &params))?;
    module.register_method("rewards_explain", |params, state, _| {
        explain(state, &params)
    })?;
    module.register_subscription(
        "chain_subscribeRewards",
        "chain_rewards",
        "chain_unsubscribeRewards",
        |params, pending, state, _| rewards_subscription(params, pending, state),
    )?;
    Ok(())
}

pub(super) fn reward_json(epoch: u64, device: &DeviceId, record: &RewardRecord) -> Value {
    json!({
        "epoch": epoch,
        "device": device.to_string(),
        "owner": record.owner.to_string(),
        "kind": record.kind.name(),
        "work_units": record.work_units,
        "kind_total_units": record.kind_total_units,
        "pool": record.pool.0.to_string(),
        "amount": record.amount.0.to_string(),
    })
}

pub(super) fn epoch_json(epoch: u64, summary: &EpochSummary) -> Value {
    let kinds: Map<String, Value> = ResourceKind::ALL
        .iter()
        .map(|kind| {
            (
                kind.name().to_string(),
                json!({
                    "pool": summary.pools[kind.index()].0.to_string(),
                    "work_units": summary.total_units[kind.index()],
                }),
            )
        })
        .collect();
    json!({
        "epoch": epoch,
        "emission": summary.emission.0.to_string(),
        "halvings": summary.halvings,
        "kinds": kinds,
        "devices_rewarded": summary.devices_rewarded,
        "paid": summary.paid.0.to_string(),
        "to_treasury": summary.to_treasury.0.to_string(),
    })
}

pub(super) fn ended_epoch(s: &State, map: &Map<String, Value>) -> Result<u64, ErrorObjectOwned> {
    match optional::<u64>(map, "epoch")? {
        Some(epoch) => Ok(epoch),
        None => s
            .epochs_ended()
            .checked_sub(1)
            .ok_or_else(|| not_found("no epoch has ended yet")),
    }
}

pub(super) fn epoch(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["epoch"])?;
    state.chain.with_state(|s| {
        let epoch = ended_epoch(s, &map)?;
        let summary = s.epoch_summary(epoch).ok_or_else(|| {
            not_found(format!(
                "epoch {epoch} has not ended (epochs ended so far: {})",
                s.epochs_ended()
            ))
        })?;
        let mut answer = epoch_json(epoch, &summary);
        answer["coverage"] = s.coverage_summary(epoch).map_or(Value::Null, |c| {
            json!({
                "pool": c.pool.0.to_string(),
                "paid": c.paid.0.to_string(),
                "beacons": c.beacons,
                "beacon_units": c.total_beacon_units,
                "witness_units": c.total_witness_units,
            })
        });
        Ok(answer)
    })
}

pub(super) fn rewards(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["device", "epoch"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let epoch = ended_epoch(s, &map)?;
        let coverage = s.coverage_reward(epoch, &id).map(|c| {
            json!({
                "amount": c.amount.0.to_string(),
                "beacons": c.beacons,
                "witness_reports": c.witnesses,
                "beacon_units": c.beacon_units,
                "witness_units": c.witness_units,
                "reciprocity_misses": c.reciprocity_misses,
                "collusion_exclusions": c.collusion_exclusions,
                "peer_comparable_reports": c.peers.comparable,
                "peer_deviant_reports": c.peers.deviant,
            })
        });
        let mut answer = match s.reward(epoch, &id) {
            Some(record) => reward_json(epoch, &id, &record),
            None if coverage.is_none() => {
                return Err(not_found(format!(
                    "device {id} has no reward record for epoch {epoch}"
                )));
            }
            None => json!({ "epoch": epoch, "device": id.to_string() }),
        };
        answer["coverage"] = coverage.unwrap_or(Value::Null);
        Ok(answer)
    })
}

pub(super) fn explain(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["device", "epoch"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let epoch = ended_epoch(s, &map)?;
        let coverage = s
            .explain_coverage(&id, epoch)
            .map(|c| coverage::coverage_json(&c));
        let mut answer = match s.explain(&id, epoch) {
            Ok(e) => json!({
                "epoch": e.epoch,
                "device": e.device,
                "owner": e.owner,
                "kind": e.kind.name(),
                "inputs": {
                    "initial_emission": e.initial_emission.0.to_string(),
                    "halving_interval_epochs": e.halving_interval_epochs,
                    "halvings": e.halvings,
                    "coverage_share_bps": e.coverage_share_bps,
                    "weight_bps": e.weight_bps,
                    "work_units": e.work_units,
                    "kind_total_units": e.kind_total_units,
                },
                "emission": e.emission.0.to_string(),
                "kinds_emission": e.kinds_emission.0.to_string(),
                "pool": e.pool.0.to_string(),
                "amount": e.amount.0.to_string(),
                "recomputed": e.recompute().map(|a| a.0.to_string()),
                "steps": e.steps,
            }),
            Err(error) if coverage.is_none() => return Err(not_found(error)),
            Err(_) => json!({ "epoch": epoch, "device": id.to_string() }),
        };
        answer["coverage"] = coverage.unwrap_or(Value::Null);
        // Challenges of the device opened or resolved in the epoch, every step shown.
        let length = s.params().epoch_length_blocks;
        let first = epoch.saturating_mul(length).saturating_add(1);
        let last = epoch.saturating_add(1).saturating_mul(length);
        let touching: Vec<Value> = s
            .challenges_of(&id)
            .iter()
            .filter(|(_, c)| {
                (first..=last).contains(&c.opened_at)
                    || c.resolved_at.is_some_and(|h| (first..=last).contains(&h))
            })
            .map(|(cid, c)| challenges::challenge_json(s, cid, c))
            .collect();
        answer["challenges"] = Value::Array(touching);
        Ok(answer)
    })
}

/// At every epoch's end, sends the epoch's summary and its rewards, optionally only those of
/// one owner or one device.
pub(super) async fn rewards_subscription(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    state: Arc<RpcState>,
) {
    let filter = named(&params, &["owner", "device"]).and_then(|map| {
        Ok((
            optional_address(&map, "owner")?,
            optional_device(&map, "device")?,
        ))
    });
    let (owner, device) = match filter {
        Ok(filter) => filter,
        Err(error) => {
            pending.reject(error).await;
            return;
        }
    };
    let Ok(sink) = pending.accept().await else {
        return;
    };
    let reader = state.clone();
    chain::follow_blocks(sink, state, move |summary| {
        let epoch = summary.epoch_ended?;
        reader.chain.with_state(|s| {
            let totals = s.epoch_summary(epoch)?;
            let rewards: Vec<Value> = s
                .devices()
                .filter(|(id, _)| device.as_ref().is_none_or(|d| d == *id))
                .filter_map(|(id, _)| s.reward(epoch, id).map(|r| (id, r)))
                .filter(|(_, r)| owner.as_ref().is_none_or(|o| *o == r.owner))
                .map(|(id, r)| reward_json(epoch, id, &r))
                .collect();
            let coverage = s.coverage_summary(epoch).map_or(Value::Null, |c| {
                json!({ "pool": c.pool.0.to_string(), "paid": c.paid.0.to_string(), "beacons": c.beacons })
            });
            Some(json!({
                "summary": epoch_json(epoch, &totals),
                "coverage": coverage,
                "rewards": rewards,
            }))
        })
    })
    .await;
}
