//! `groundwork rewards`: what a device earned, and every step of why, checked again here.

use super::*;

#[derive(Subcommand)]
pub enum RewardsCommand {
    /// Show what a device was paid for an epoch (default: the last ended epoch).
    #[command(after_help = "Example:\n  groundwork rewards show --device gwd1… --epoch 3")]
    Show {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// The epoch (default: the last ended epoch).
        #[arg(long)]
        epoch: Option<u64>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Explain a device's reward: every input and step, adding up to the amount paid.
    ///
    /// The node's numbers are recomputed here too, so a wrong explanation is caught.
    #[command(after_help = "Example:\n  groundwork rewards explain --device gwd1… --epoch 3")]
    Explain {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// The epoch (default: the last ended epoch).
        #[arg(long)]
        epoch: Option<u64>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Recomputes a kind reward's amount from the inputs the explanation shows, in integers.
pub(super) fn recompute_explanation(e: &api::KindExplanation) -> Option<u128> {
    let i = &e.inputs;
    let inputs = groundwork_state::rewards::KindRewardInputs {
        initial_emission: Amount(i.initial_emission.0),
        halvings: i.halvings,
        coverage_share_bps: i.coverage_share_bps,
        weight_bps: i.weight_bps,
        work_units: i.work_units,
        kind_total_units: i.kind_total_units,
        withheld: i.withheld_by.is_some(),
        co_located: i.co_located,
    };
    groundwork_state::rewards::recompute_kind_reward(&inputs).map(|a| a.0)
}

/// Recomputes a usage reward from its inputs with the chain's own functions.
pub(super) fn recompute_usage(u: &api::UsageReward) -> Option<u128> {
    // A device its maker's attestation did not allow to earn is paid nothing.
    if u.withheld.is_some() {
        return Some(0);
    }
    let i = &u.inputs;
    let credits = groundwork_state::CreditsParams {
        credit_price_micro_usd: i.credit_price_micro_usd,
    };
    let uncapped = groundwork_state::usage::usage_value(
        u.credits,
        &credits,
        i.decimals,
        i.reward_bps,
        u.mint_price_micro_usd,
    )?;
    groundwork_state::usage::capped_share(uncapped, Amount(i.epoch_uncapped.0), Amount(i.cap.0))
        .map(|a| a.0)
}

/// Calls a `(device, epoch)` method and reads its typed answer; returns the client too, for
/// follow-up calls.
pub(super) fn device_epoch_call<T: serde::de::DeserializeOwned>(
    client: &ClientArgs,
    method: &str,
    device: &str,
    epoch: Option<u64>,
) -> Result<(RpcClient, T)> {
    let id = parse_device(device)?;
    let rpc = client.client()?;
    let answer = rpc.get(method, json!({ "device": id.to_string(), "epoch": epoch }))?;
    Ok((rpc, answer))
}

/// Recomputes a coverage explanation's amount from its shares and pools.
pub(super) fn recompute_coverage(c: &api::CoverageExplanation) -> Option<u128> {
    let (mut beacon, mut witness) = (0u64, 0u64);
    for share in &c.shares {
        match share.role.as_str() {
            "beaconer" => beacon = beacon.checked_add(share.units)?,
            _ => witness = witness.checked_add(share.units)?,
        }
    }
    let summary = groundwork_state::coverage::CoverageSummary {
        beacon_pool: Amount(c.beacon_pool.0),
        witness_pool: Amount(c.witness_pool.0),
        total_beacon_units: c.total_beacon_units,
        total_witness_units: c.total_witness_units,
        ..Default::default()
    };
    Some(summary.amount_for(beacon, witness).0)
}

fn print_steps(steps: &[String]) {
    for (i, step) in steps.iter().enumerate() {
        println!("  {}. {step}", i + 1);
    }
}

pub fn rewards(command: RewardsCommand) -> Result<()> {
    match command {
        RewardsCommand::Show {
            device,
            epoch,
            client,
        } => {
            let (rpc, answer): (_, api::DeviceRewards) =
                device_epoch_call(&client, "rewards_get", &device, epoch)?;
            if client.json {
                return print_json(&answer);
            }
            let status = rpc.status()?;
            println!("epoch       {}", answer.epoch);
            println!("device      {}", answer.device);
            if let Some(kind) = &answer.kind {
                println!("paid to     {}", kind.owner);
                println!(
                    "{:<11} {} (work {} of {} {} units)",
                    kind.kind,
                    show_amount(&status, &client, kind.amount),
                    kind.work_units,
                    kind.kind_total_units,
                    kind.kind
                );
            }
            if let Some(coverage) = &answer.coverage {
                println!(
                    "coverage    {} ({} beacons, {} witness reports)",
                    show_amount(&status, &client, coverage.amount),
                    coverage.beacons,
                    coverage.witness_reports
                );
            }
            if let Some(usage) = &answer.usage {
                println!(
                    "usage       {} ({} credits for {} {}s)",
                    show_amount(&status, &client, usage.amount),
                    usage.credits,
                    usage.units,
                    usage.unit
                );
            }
            let total = [
                answer.kind.as_ref().map(|k| k.amount.0),
                answer.coverage.as_ref().map(|c| c.amount.0),
                answer.usage.as_ref().map(|u| u.amount.0),
            ]
            .into_iter()
            .flatten()
            .fold(0u128, u128::saturating_add);
            println!(
                "total       {}",
                show_amount(&status, &client, api::BaseUnits(total))
            );
            Ok(())
        }
        RewardsCommand::Explain {
            device,
            epoch,
            client,
        } => {
            let (rpc, mut answer): (_, api::Explanation) =
                device_epoch_call(&client, "rewards_explain", &device, epoch)?;
            // The kind reward (if any) is recomputed here from its inputs; the coverage reward
            // (if any) from its shares' units and the pools.
            let paid = answer.kind.as_ref().map(|k| k.amount.0);
            let recomputed = answer.kind.as_ref().and_then(recompute_explanation);
            let kind_adds_up = answer.kind.is_none() || (paid.is_some() && paid == recomputed);
            let coverage_adds_up = answer
                .coverage
                .as_ref()
                .is_none_or(|c| recompute_coverage(c) == Some(c.amount.0));
            let usage_adds_up = answer
                .usage
                .as_ref()
                .is_none_or(|u| recompute_usage(u) == Some(u.amount.0));
            let adds_up = kind_adds_up && coverage_adds_up && usage_adds_up;
            if client.json {
                answer.adds_up = Some(adds_up);
                print_json(&answer)?;
            } else {
                let status = rpc.status()?;
                let kind = answer.kind.as_ref().map_or("no kind reward", |k| &k.kind);
                println!(
                    "device {} in epoch {} ({kind})",
                    answer.device, answer.epoch
                );
                if let Some(k) = &answer.kind {
                    print_steps(&k.steps);
                    println!("paid: {}", show_amount(&status, &client, k.amount));
                }
                if let Some(coverage) = &answer.coverage {
                    println!("coverage:");
                    for share in &coverage.shares {
                        println!(
                            "  beacon {} as {}: {} witnesses, unit {} × hex scale {} = {}{}",
                            share.beacon.get(..16).unwrap_or(&share.beacon),
                            share.role,
                            share.witnesses,
                            share.unit,
                            share.hex_scale,
                            share.units,
                            if share.reciprocity {
                                ""
                            } else {
                                " (failed reciprocity)"
                            }
                        );
                    }
                    print_steps(&coverage.steps);
                    println!(
                        "coverage paid: {}",
                        show_amount(&status, &client, coverage.amount)
                    );
                }
                if let Some(usage) = &answer.usage {
                    println!("usage:");
                    print_steps(&usage.steps);
                    println!(
                        "usage paid: {}",
                        show_amount(&status, &client, usage.amount)
                    );
                }
                if !answer.storage.is_empty() {
                    println!("storage periods settled this epoch:");
                    for settled in &answer.storage {
                        let p = &settled.period;
                        let why = match (&p.withheld, p.outcome.as_str()) {
                            (Some(reason), _) => format!(": {reason}"),
                            (None, "faulted") => format!(
                                ": no proof in time; {} slashed",
                                show_amount(&status, &client, p.slashed)
                            ),
                            _ => String::new(),
                        };
                        println!(
                            "  deal {} period {}: {}, {} credits paid{why}",
                            settled.deal, p.period, p.outcome, p.paid_credits
                        );
                    }
                }
                if let Some(held) = &answer.held {
                    println!(
                        "held: {} of uptime and {} of coverage ({}): {}",
                        show_amount(&status, &client, held.uptime),
                        show_amount(&status, &client, held.coverage),
                        held.outcome,
                        held.rule
                    );
                }
                if adds_up {
                    println!("recomputed here from the inputs above: the same amount");
                }
            }
            if !adds_up {
                bail!("the explanation does not add up: recomputed {recomputed:?}, paid {paid:?}");
            }
            Ok(())
        }
    }
}

// ---- chain ---------------------------------------------------------------------------------
