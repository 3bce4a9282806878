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

/// Recomputes a `rewards_explain` answer's amount from its inputs, in integers.
pub(super) fn recompute_explanation(e: &Value) -> Option<u128> {
    let input = |name: &str| e["inputs"][name].as_u64();
    let bps = |name: &str| input(name).and_then(|v| u16::try_from(v).ok());
    let inputs = groundwork_state::rewards::KindRewardInputs {
        initial_emission: Amount(e["inputs"]["initial_emission"].as_str()?.parse().ok()?),
        halvings: input("halvings")?,
        coverage_share_bps: bps("coverage_share_bps")?,
        weight_bps: bps("weight_bps")?,
        work_units: input("work_units")?,
        kind_total_units: input("kind_total_units")?,
    };
    groundwork_state::rewards::recompute_kind_reward(&inputs).map(|a| a.0)
}

/// Calls a `(device, epoch)` method; returns the client too, for follow-up calls.
pub(super) fn device_epoch_call(
    client: &ClientArgs,
    method: &str,
    device: &str,
    epoch: Option<u64>,
) -> Result<(RpcClient, Value)> {
    let id = parse_device(device)?;
    let rpc = client.client()?;
    let answer = rpc.call(method, json!({ "device": id.to_string(), "epoch": epoch }))?;
    Ok((rpc, answer))
}

/// Recomputes a coverage explanation's amount from its shares and pools.
pub(super) fn recompute_coverage(c: &Value) -> Option<u128> {
    let (mut beacon, mut witness) = (0u64, 0u64);
    for share in c["shares"].as_array()? {
        let units = share["units"].as_u64()?;
        match share["role"].as_str()? {
            "beaconer" => beacon = beacon.checked_add(units)?,
            _ => witness = witness.checked_add(units)?,
        }
    }
    let amount = |name: &str| -> Option<Amount> { Some(Amount(c[name].as_str()?.parse().ok()?)) };
    let summary = groundwork_state::coverage::CoverageSummary {
        beacon_pool: amount("beacon_pool")?,
        witness_pool: amount("witness_pool")?,
        total_beacon_units: c["total_beacon_units"].as_u64()?,
        total_witness_units: c["total_witness_units"].as_u64()?,
        ..Default::default()
    };
    Some(summary.amount_for(beacon, witness).0)
}

pub fn rewards(command: RewardsCommand) -> Result<()> {
    match command {
        RewardsCommand::Show {
            device,
            epoch,
            client,
        } => {
            let (rpc, answer) = device_epoch_call(&client, "rewards_get", &device, epoch)?;
            if client.json {
                return print_json(&answer);
            }
            let status = rpc.status()?;
            println!("epoch       {}", answer["epoch"]);
            println!("device      {}", answer["device"].as_str().unwrap_or("?"));
            if let Some(owner) = answer["owner"].as_str() {
                println!("paid to     {owner}");
            }
            let base = |value: &Value| value.as_str().and_then(|t| t.parse::<u128>().ok());
            let kind = base(&answer["amount"]);
            if kind.is_some() {
                println!(
                    "{:<11} {} (work {} of {} {} units)",
                    answer["kind"].as_str().unwrap_or("kind"),
                    show_amount(&status, &client, &answer["amount"]),
                    answer["work_units"],
                    answer["kind_total_units"],
                    answer["kind"].as_str().unwrap_or("?")
                );
            }
            let coverage = &answer["coverage"];
            let covered = base(&coverage["amount"]);
            if covered.is_some() {
                println!(
                    "coverage    {} ({} beacons, {} witness reports)",
                    show_amount(&status, &client, &coverage["amount"]),
                    coverage["beacons"],
                    coverage["witness_reports"]
                );
            }
            let total = kind.unwrap_or(0).saturating_add(covered.unwrap_or(0));
            println!(
                "total       {}",
                show_amount(&status, &client, &json!(total.to_string()))
            );
            Ok(())
        }
        RewardsCommand::Explain {
            device,
            epoch,
            client,
        } => {
            let (rpc, answer) = device_epoch_call(&client, "rewards_explain", &device, epoch)?;
            // The kind reward (if any) is recomputed here from its inputs; the coverage reward
            // (if any) from its shares' units and the pools.
            let paid: Option<u128> = answer["amount"].as_str().and_then(|a| a.parse().ok());
            let recomputed = recompute_explanation(&answer);
            let kind_adds_up = answer["amount"].is_null() || (paid.is_some() && paid == recomputed);
            let coverage = &answer["coverage"];
            let coverage_adds_up = coverage.is_null()
                || recompute_coverage(coverage).is_some_and(|r| {
                    coverage["amount"]
                        .as_str()
                        .and_then(|a| a.parse::<u128>().ok())
                        == Some(r)
                });
            let adds_up = kind_adds_up && coverage_adds_up;
            if client.json {
                let mut answer = answer;
                answer["adds_up"] = json!(adds_up);
                print_json(&answer)?;
            } else {
                let status = rpc.status()?;
                println!(
                    "device {} in epoch {} ({})",
                    answer["device"].as_str().unwrap_or("?"),
                    answer["epoch"],
                    answer["kind"].as_str().unwrap_or("?")
                );
                for (i, step) in answer["steps"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    println!("  {}. {}", i + 1, step.as_str().unwrap_or(""));
                }
                if !answer["amount"].is_null() {
                    println!("paid: {}", show_amount(&status, &client, &answer["amount"]));
                }
                if !coverage.is_null() {
                    println!("coverage:");
                    for share in coverage["shares"].as_array().cloned().unwrap_or_default() {
                        println!(
                            "  beacon {} as {}: {} witnesses, unit {} × hex scale {} = {}{}",
                            share["beacon"]
                                .as_str()
                                .unwrap_or("?")
                                .get(..16)
                                .unwrap_or("?"),
                            share["role"].as_str().unwrap_or("?"),
                            share["witnesses"],
                            share["unit"],
                            share["hex_scale"],
                            share["units"],
                            if share["reciprocity"] == json!(false) {
                                " (failed reciprocity)"
                            } else {
                                ""
                            }
                        );
                    }
                    for (i, step) in coverage["steps"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                    {
                        println!("  {}. {}", i + 1, step.as_str().unwrap_or(""));
                    }
                    println!(
                        "coverage paid: {}",
                        show_amount(&status, &client, &coverage["amount"])
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
