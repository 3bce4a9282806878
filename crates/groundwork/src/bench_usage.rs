//! `groundwork bench usage`: how many usage vouchers per second the state machine settles on
//! one core — the account envelope, the customer's and the device's signatures over the
//! voucher, the session and escrow checks, the spend — beside this machine's raw ed25519
//! verification rate measured in the same run.
//!
//! The chain is built in memory (no consensus, no disk): this measures the settlement path of
//! the state machine, not the node around it. Each customer holds one session with one of a
//! hundred devices and settles one voucher.

use crate::bench_cmd::ed25519_baseline;
use crate::memchain::MemChain as Chain;
use anyhow::{Context, Result, bail};
use clap::Args;
use commonware_cryptography::Signer;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::limits::MAX_TRANSACTIONS_PER_BLOCK;
use groundwork_primitives::{
    AccountKey, Amount, Cell, CoreCall, CreditsCall, DeviceKey, KeyScheme, OracleCall,
    ResourceKind, Transaction, UsageCall, Voucher, session_id,
};
use std::time::Instant;

#[derive(Args)]
pub struct UsageArgs {
    /// Sessions, one per customer, each settling one voucher in a single block.
    #[arg(long, default_value_t = 2_000)]
    sessions: u32,
}

const DEVICES: u64 = 100;

pub fn usage(args: UsageArgs) -> Result<()> {
    if args.sessions == 0 || args.sessions as usize > MAX_TRANSACTIONS_PER_BLOCK {
        bail!("--sessions must be 1..={MAX_TRANSACTIONS_PER_BLOCK}");
    }
    println!("measuring single-core ed25519 verification on this machine ...");
    let (single_rate, batch_rate) = ed25519_baseline();

    let owner = AccountKey::from_seed(1);
    let customers: Vec<AccountKey> = (0..u64::from(args.sessions))
        .map(|i| AccountKey::from_seed(1_000 + i))
        .collect();
    let params = crate::memchain::bench_params(&owner)?;
    let unit = 10u128.pow(u32::from(params.core.token_decimals));
    let balances = customers
        .iter()
        .map(|c| (key_address(c), Amount(100 * unit)))
        .chain([(key_address(&owner), Amount(1_000_000 * unit))])
        .collect();
    let chain_id = params.core.chain_id.clone();
    let mut chain = Chain::new(params, balances);

    // The price, the devices and their offers.
    let devices: Vec<DeviceKey> = (0..DEVICES)
        .map(|i| DeviceKey::from_seed(KeyScheme::Ed25519, 10_000 + i))
        .collect();
    let at = Cell::from_lat_lng(52.52, 13.405).context("placing the devices")?;
    let mut setup = vec![
        chain.sign(
            &owner,
            0,
            OracleCall::SubmitPrice {
                micro_usd_per_token: 2_500_000,
            }
            .into(),
        ),
    ];
    let mut nonce = 1;
    for device in &devices {
        let register = CoreCall::register_device(
            &chain_id,
            &key_address(&owner),
            device,
            ResourceKind::Wireless,
            at,
        );
        setup.push(chain.sign(&owner, nonce, register.into()));
        let offer = UsageCall::SetOffer {
            device: device.id(),
            credits_per_unit: 1,
            max_session_blocks: 1_000,
        };
        setup.push(chain.sign(&owner, nonce + 1, offer.into()));
        nonce += 2;
    }
    println!(
        "registering {DEVICES} devices and opening {} sessions ...",
        args.sessions
    );
    chain.execute_all(setup, "the set-up")?;
    let buys = customers
        .iter()
        .map(|c| {
            let buy = CreditsCall::Buy {
                recipient: key_address(c),
                credits: 10_000,
            };
            chain.sign(c, 0, buy.into())
        })
        .collect();
    chain.execute_all(buys, "a purchase")?;
    let expires_at = chain.state.height() + 500;
    let opens = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let open = UsageCall::OpenSession {
                device: devices[i % devices.len()].id(),
                credits_per_unit: 1,
                max_credits: 10_000,
                expires_at,
            };
            chain.sign(c, 1, open.into())
        })
        .collect();
    chain.execute_all(opens, "opening a session")?;

    let signing = Instant::now();
    let settlements: Vec<Transaction> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let voucher = Voucher {
                session: session_id(&key_address(c), 1),
                cumulative_units: 1_200,
                cumulative_credits: 1_200,
            };
            let settle = UsageCall::Settle {
                voucher,
                customer_signature: voucher.sign_as_customer(c, &chain_id),
                device_signature: voucher.sign_as_device(&devices[i % devices.len()], &chain_id),
            };
            chain.sign(c, 2, settle.into())
        })
        .collect();
    let signing = signing.elapsed();
    let count = settlements.len();
    println!("settling {count} vouchers in one block ...");
    let started = Instant::now();
    chain.execute_all(settlements, "a settlement")?;
    let elapsed = started.elapsed();
    let rate = count as f64 / elapsed.as_secs_f64();
    let spent = chain.state.credit_totals().spent;
    if spent != 1_200 * u64::from(args.sessions) {
        bail!("expected every voucher spent, the ledger says {spent} credits");
    }

    println!();
    println!("voucher settlement (one core, state machine, in memory)");
    println!(
        "  vouchers settled              {count} in {:.1} ms ({spent} credits spent)",
        elapsed.as_secs_f64() * 1e3
    );
    println!("  throughput                    {rate:.0} vouchers/s");
    println!(
        "  baseline ed25519 verify       {single_rate:.0}/s one by one, {batch_rate:.0}/s in batches of 1024"
    );
    println!(
        "  signatures per voucher        3 (the envelope, batched; the customer's and the device's, one by one)"
    );
    println!(
        "  share of the one-by-one ed25519 rate  {:.0}% (the ceiling is about a half: two one-by-one checks each)",
        100.0 * rate / single_rate
    );
    println!(
        "  (signing the vouchers took {:.1} ms and is not counted)",
        signing.as_secs_f64() * 1e3
    );
    Ok(())
}
