//! `groundwork challenge`: post, answer and follow location challenges.

use super::{ClientArgs, SignerArgs, parse_device, print_json, send_at_nonce, show_amount};
use anyhow::{Context, Result};
use clap::Subcommand;
use groundwork_api as api;
use groundwork_primitives::hash::{Digest, digest_from_hex, digest_hex};
use groundwork_primitives::{ChallengeCall, challenge_id};
use serde_json::json;

#[derive(Subcommand)]
pub enum ChallengeCommand {
    /// Challenge a wireless device's asserted location, locking the chain's challenge bond.
    ///
    /// Cite 1 to 8 retained beacons the device sent or reported whose signal is far louder
    /// than its distance allows (see `rewards explain` or `coverage_beacon` for the numbers).
    /// The owner then has the answer window to show, with a fresh beacon heard by witnesses of
    /// other owners, that the device is where it says. If not, part of its bond is slashed and
    /// paid to you with your bond; if so, your bond goes to the owner.
    #[command(
        after_help = "Example:\n  groundwork challenge open --key carol --device gwd1… --evidence 3f2a…c9 --evidence 77b0…1e"
    )]
    Open {
        /// The challenged device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// A beacon id (64 hex characters); repeat for more, up to 8.
        #[arg(long = "evidence", required = true)]
        evidence: Vec<String>,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Answer a challenge of your device with a beacon it sent after the challenge.
    ///
    /// Send the answer once the beacon's witnesses have reported; the challenge resolves
    /// after the answer window and the witness window have passed.
    #[command(
        after_help = "Example:\n  groundwork challenge answer --key alice --challenge 9d41…0a --beacon 5c7e…b2"
    )]
    Answer {
        /// The challenge's id (64 hex characters), as `challenge open` printed it.
        #[arg(long)]
        challenge: String,
        /// The id of a beacon the device sent after the challenge opened (64 hex characters).
        #[arg(long)]
        beacon: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show one challenge: evidence, answer and outcome, with the numbers behind each.
    #[command(after_help = "Example:\n  groundwork challenge show 9d41…0a")]
    Show {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List every challenge of a device.
    #[command(after_help = "Example:\n  groundwork challenge list --device gwd1…")]
    List {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn parse_digest(flag: &str, text: &str) -> Result<Digest> {
    digest_from_hex(text)
        .with_context(|| format!("{flag} {text:?} is not an id of 64 hex characters"))
}

fn print_challenge(client: &ClientArgs, c: &api::Challenge) -> Result<()> {
    let status = client.client()?.status()?;
    println!("challenge     {}", c.id);
    println!("device        {} at {}", c.device, c.location);
    println!("owner         {}", c.owner);
    println!("challenger    {}", c.challenger);
    println!("bond          {}", show_amount(&status, client, c.bond));
    println!(
        "opened        block {}; answers until block {}; resolves at block {}",
        c.opened_at, c.answer_by, c.resolves_at
    );
    for e in &c.evidence {
        println!(
            "evidence      beacon {} ({} with {}): {} dBm over {} m, typical {} cdBm, {} cdB louder",
            e.beacon, e.role, e.other, e.rssi_dbm, e.distance_m, e.typical_cdbm, e.excess_cdb
        );
    }
    match &c.answer {
        Some(beacon) => println!(
            "answer        beacon {beacon}: {} independent witnesses, median {} cdB over typical",
            c.answer_witnesses,
            c.answer_median_excess_cdb
                .map_or_else(|| "none".to_string(), |m| m.to_string())
        ),
        None => println!("answer        none yet"),
    }
    let outcome = match c.slashed {
        Some(slashed) => format!(
            "{} (slashed {})",
            c.status,
            show_amount(&status, client, slashed)
        ),
        None => c.status.clone(),
    };
    println!("status        {outcome}");
    println!("rule          {}", c.rule);
    Ok(())
}

pub fn challenge(command: ChallengeCommand) -> Result<()> {
    match command {
        ChallengeCommand::Open {
            device,
            evidence,
            signer,
            client,
        } => {
            let device = parse_device(&device)?;
            let evidence = evidence
                .iter()
                .map(|e| parse_digest("--evidence", e))
                .collect::<Result<Vec<_>>>()?;
            // The id is known before sending, but names a challenge only once the chain has
            // accepted the transaction: it is shown after that, never for a refusal.
            let mut opened = None;
            send_at_nonce(&client, &signer, |sender, _, nonce| {
                opened = Some(challenge_id(sender, nonce));
                Ok(ChallengeCall::Open { device, evidence })
            })?;
            if let Some(id) = opened
                && !client.json
            {
                println!("challenge id {}", digest_hex(&id));
            }
            Ok(())
        }
        ChallengeCommand::Answer {
            challenge,
            beacon,
            signer,
            client,
        } => {
            let challenge = parse_digest("--challenge", &challenge)?;
            let beacon = parse_digest("--beacon", &beacon)?;
            send_at_nonce(&client, &signer, |_, _, _| {
                Ok(ChallengeCall::Answer { challenge, beacon })
            })
        }
        ChallengeCommand::Show { id, client } => {
            let id = parse_digest("challenge id", &id)?;
            let answer: api::Challenge = client
                .client()?
                .get("challenges_get", json!({ "id": digest_hex(&id) }))?;
            if client.json {
                return print_json(&answer);
            }
            print_challenge(&client, &answer)
        }
        ChallengeCommand::List { device, client } => {
            let device = parse_device(&device)?;
            let answer: api::ChallengeList = client
                .client()?
                .get("challenges_list", json!({ "device": device.to_string() }))?;
            if client.json {
                return print_json(&answer);
            }
            if answer.challenges.is_empty() {
                println!("no challenges of {device}");
            }
            let rows: Vec<Vec<String>> = answer
                .challenges
                .iter()
                .map(|c| {
                    vec![
                        c.id.clone(),
                        format!("opened at block {}", c.opened_at),
                        c.status.clone(),
                    ]
                })
                .collect();
            print!("{}", super::columns(&rows));
            Ok(())
        }
    }
}
