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

pub(super) fn kind_reward(record: &RewardRecord) -> api::KindReward {
    api::KindReward {
        owner: record.owner.to_string(),
        kind: record.kind.name().to_string(),
        work_units: record.work_units,
        kind_total_units: record.kind_total_units,
        pool: BaseUnits(record.pool.0),
        amount: BaseUnits(record.amount.0),
    }
}

pub(super) fn epoch_answer(epoch: u64, summary: &EpochSummary) -> api::Epoch {
    let kinds = ResourceKind::ALL
        .iter()
        .map(|kind| {
            (
                kind.name().to_string(),
                api::KindPool {
                    pool: BaseUnits(summary.pools[kind.index()].0),
                    work_units: summary.total_units[kind.index()],
                },
            )
        })
        .collect();
    api::Epoch {
        epoch,
        emission: BaseUnits(summary.emission.0),
        halvings: summary.halvings,
        kinds,
        devices_rewarded: summary.devices_rewarded,
        paid: BaseUnits(summary.paid.0),
        to_treasury: BaseUnits(summary.to_treasury.0),
        coverage: None,
        credits: None,
        price: None,
        usage: None,
        net_supply_change: None,
    }
}

fn epoch_coverage(c: &CoverageSummary, with_units: bool) -> api::EpochCoverage {
    api::EpochCoverage {
        pool: BaseUnits(c.pool.0),
        paid: BaseUnits(c.paid.0),
        beacons: c.beacons,
        beacon_units: with_units.then_some(c.total_beacon_units),
        witness_units: with_units.then_some(c.total_witness_units),
    }
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

pub(super) fn epoch(state: &RpcState, params: &Params<'_>) -> RpcResult<api::Epoch> {
    let map = named(params, &["epoch"])?;
    state.chain.with_state(|s| {
        let epoch = ended_epoch(s, &map)?;
        let summary = s.epoch_summary(epoch).ok_or_else(|| {
            not_found(format!(
                "epoch {epoch} has not ended (epochs ended so far: {})",
                s.epochs_ended()
            ))
        })?;
        let mut answer = epoch_answer(epoch, &summary);
        answer.coverage = s.coverage_summary(epoch).map(|c| epoch_coverage(&c, true));
        let credits = s.epoch_credits(epoch);
        answer.credits = credits.as_ref().map(credits::epoch_credits);
        answer.price = s.epoch_price(epoch).as_ref().map(oracle::figures);
        let usage = s.usage_epoch(epoch);
        answer.usage = usage.as_ref().map(usage::epoch_usage);
        let burned = credits.map_or(0, |c| c.tokens_burned.0);
        let minted = summary
            .emission
            .0
            .saturating_add(usage.map_or(0, |u| u.minted.0));
        answer.net_supply_change = Some(if minted >= burned {
            (minted - burned).to_string()
        } else {
            format!("-{}", burned - minted)
        });
        Ok(answer)
    })
}

pub(super) fn rewards(state: &RpcState, params: &Params<'_>) -> RpcResult<api::DeviceRewards> {
    let map = named(params, &["device", "epoch"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let epoch = ended_epoch(s, &map)?;
        let coverage = s.coverage_reward(epoch, &id).map(|c| api::CoverageReward {
            amount: BaseUnits(c.amount.0),
            beacons: c.beacons,
            witness_reports: c.witnesses,
            beacon_units: c.beacon_units,
            witness_units: c.witness_units,
            reciprocity_misses: c.reciprocity_misses,
            collusion_exclusions: c.collusion_exclusions,
            peer_comparable_reports: c.peers.comparable,
            peer_deviant_reports: c.peers.deviant,
        });
        let kind = s.reward(epoch, &id).map(|record| kind_reward(&record));
        let usage = usage::usage_reward(s, epoch, &id);
        if kind.is_none() && coverage.is_none() && usage.is_none() {
            return Err(not_found(format!(
                "device {id} has no reward record for epoch {epoch}"
            )));
        }
        Ok(api::DeviceRewards {
            epoch,
            device: id.to_string(),
            kind,
            coverage,
            usage,
            held: s.held_explanation(epoch, &id).as_ref().map(held_answer),
        })
    })
}

pub(super) fn explain(state: &RpcState, params: &Params<'_>) -> RpcResult<api::Explanation> {
    let map = named(params, &["device", "epoch"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let epoch = ended_epoch(s, &map)?;
        let explained = s.explain_device(&id, epoch).map_err(|error| {
            // A device its maker's attestation stops from working earns nothing: say so.
            match attest::refusal(s, &id) {
                Some(refused) => not_found(format!(
                    "{error}: it may not report or earn ({}, code {})",
                    refused.message, refused.code
                )),
                None => not_found(error),
            }
        })?;
        Ok(api::Explanation {
            epoch,
            device: id.to_string(),
            kind: explained.kind.as_ref().map(kind_explanation),
            coverage: explained.coverage.as_ref().map(coverage::coverage_answer),
            usage: usage::usage_reward(s, epoch, &id),
            challenges: explained
                .challenges
                .iter()
                .map(|(cid, c)| challenges::challenge_answer(s, cid, c))
                .collect(),
            held: explained.held.as_ref().map(held_answer),
            storage: super::storage::settled_in_epoch(s, &id, epoch),
            adds_up: None,
        })
    })
}

fn held_answer(h: &groundwork_state::HeldExplanation) -> api::HeldReward {
    use groundwork_state::challenge::HeldOutcome;
    api::HeldReward {
        challenge: digest_hex(&h.note.challenge),
        uptime: BaseUnits(h.note.uptime.0),
        coverage: BaseUnits(h.note.coverage.0),
        outcome: h.outcome.name().to_string(),
        settled_at: match h.outcome {
            HeldOutcome::Held => None,
            HeldOutcome::Released { height } | HeldOutcome::Forfeited { height } => Some(height),
        },
        rule: h.rule.clone(),
    }
}

fn kind_explanation(e: &groundwork_state::RewardExplanation) -> api::KindExplanation {
    api::KindExplanation {
        owner: e.owner.clone(),
        kind: e.kind.name().to_string(),
        inputs: api::KindInputs {
            initial_emission: BaseUnits(e.initial_emission.0),
            halving_interval_epochs: e.halving_interval_epochs,
            halvings: e.halvings,
            coverage_share_bps: e.coverage_share_bps,
            weight_bps: e.weight_bps,
            work_units: e.work_units,
            kind_total_units: e.kind_total_units,
            withheld_by: e.withheld.map(|r| r.name().to_string()),
            co_located: e.co_located,
        },
        emission: BaseUnits(e.emission.0),
        kinds_emission: BaseUnits(e.kinds_emission.0),
        pool: BaseUnits(e.pool.0),
        amount: BaseUnits(e.amount.0),
        recomputed: e.recompute().map(|a| BaseUnits(a.0)),
        steps: e.steps.clone(),
    }
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
            let rewards = s
                .devices()
                .filter(|(id, _)| device.as_ref().is_none_or(|d| d == *id))
                .filter_map(|(id, _)| s.reward(epoch, id).map(|r| (id, r)))
                .filter(|(_, r)| owner.as_ref().is_none_or(|o| *o == r.owner))
                .map(|(id, r)| api::Reward {
                    epoch,
                    device: id.to_string(),
                    reward: kind_reward(&r),
                })
                .collect();
            Some(api::EpochRewards {
                summary: epoch_answer(epoch, &totals),
                coverage: s.coverage_summary(epoch).map(|c| epoch_coverage(&c, false)),
                rewards,
            })
        })
    })
    .await;
}
