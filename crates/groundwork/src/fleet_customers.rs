//! The simulated fleet's customers: IoT sensor owners who buy data credits, open sessions with
//! nearby hotspots, send packets through them, and pay by vouchers — Helium's data transfer,
//! at 1 credit per 24-byte packet. The customer signs each voucher; the hotspot co-signs it
//! (the fleet holds the hotspots' keys, as their agents would) and its owner settles it.
//!
//! Demand grows from epoch to epoch, so the dev chain's epoch lines show credits bought,
//! tokens burned for them and the usage mint tracking them inside its cap.

use crate::fleet::SimDevice;
use crate::radio::Role;
use crate::rpc_client::{ChainStatus, RpcClient};
use anyhow::{Context, Result};
use groundwork_api as api;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::{
    AccountKey, AccountTransaction, Amount, Call, CoreCall, CreditsCall, Transaction, UsageCall,
    Voucher, session_id,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::json;

/// Credits per 24-byte packet, as Helium charges.
const CREDITS_PER_PACKET: u64 = 1;

/// Hotspots each customer session round uses.
const SESSIONS_PER_EPOCH: usize = 4;

/// Packets the customers send in the first epoch; each epoch adds as many again, to a limit.
const BASE_PACKETS_PER_EPOCH: u64 = 4_000;
const MAX_GROWTH: u64 = 8;

/// One session the customer holds with a hotspot.
struct Open {
    id: Digest,
    /// Index into the wireless devices.
    hotspot: usize,
    escrow: u64,
    packets: u64,
    settled: u64,
}

pub struct Customers {
    key: AccountKey,
    rng: ChaCha8Rng,
    sessions: Vec<Open>,
    prepared: bool,
    rounds: u64,
}

impl Customers {
    /// The fleet's customer: an account derived from the fleet owner's key and the seed.
    pub fn new(main: &AccountKey, seed: u64) -> Result<Self> {
        use groundwork_primitives::codec::Encode;
        let derived = groundwork_primitives::hash_parts(&[
            b"groundwork-fleet-customer",
            main.encode().as_ref(),
            &seed.to_be_bytes(),
        ]);
        let key = groundwork_primitives::decode_exact::<AccountKey>(derived.as_ref())
            .context("deriving the fleet's customer key")?;
        Ok(Self {
            key,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6375_7374),
            sessions: Vec::new(),
            prepared: false,
            rounds: 0,
        })
    }

    fn sign(
        rpc: &RpcClient,
        status: &ChainStatus,
        key: &AccountKey,
        nonce: &mut Option<u64>,
        call: impl Into<Call>,
    ) -> Result<Transaction> {
        let next = match nonce {
            Some(n) => *n,
            None => rpc.pending_nonce(&key_address(key).to_string())?,
        };
        *nonce = Some(next + 1);
        Ok(Transaction::Account(AccountTransaction::sign(
            key,
            &status.chain_id,
            next,
            status.valid_until(),
            call,
        )))
    }

    /// Once: funds the customer and has every honest hotspot's owner offer data transfer.
    fn prepare(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        main: &AccountKey,
        owners: &[AccountKey],
        wireless: &[&SimDevice],
    ) -> Result<()> {
        let unit = 10u128.pow(u32::from(status.decimals));
        let customer = key_address(&self.key);
        if rpc.account(&customer.to_string())?.balance.0 < 100 * unit {
            let mut nonce = None;
            let fund = Self::sign(
                rpc,
                status,
                main,
                &mut nonce,
                CoreCall::Transfer {
                    to: customer,
                    amount: Amount(1_000 * unit),
                },
            )?;
            rpc.submit(&fund)?;
        }
        let longest = status.epoch_length_blocks.saturating_mul(3);
        let mut nonces: Vec<Option<u64>> = vec![None; owners.len()];
        let mut offers = Vec::new();
        for device in wireless.iter().filter(|d| d.role == Role::Honest) {
            let id = device.key.id();
            if rpc
                .get::<api::Offer>("usage_getOffer", json!([id.to_string()]))
                .is_ok()
            {
                continue;
            }
            offers.push(Self::sign(
                rpc,
                status,
                &owners[device.owner],
                &mut nonces[device.owner],
                UsageCall::SetOffer {
                    device: id,
                    credits_per_unit: CREDITS_PER_PACKET,
                    max_session_blocks: longest,
                },
            )?);
        }
        for chunk in offers.chunks(512) {
            let _ = rpc.submit_batch(chunk)?;
        }
        self.prepared = true;
        Ok(())
    }

    /// Packets flow on every pass; at an epoch's change the hotspots' owners settle what the
    /// sessions carried and the customer buys credits and opens the next round of sessions.
    pub fn step(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        main: &AccountKey,
        owners: &[AccountKey],
        wireless: &[&SimDevice],
        epoch_changed: bool,
    ) -> Result<()> {
        let honest: Vec<usize> = (0..wireless.len())
            .filter(|&i| wireless[i].role == Role::Honest)
            .collect();
        if honest.is_empty() {
            return Ok(());
        }
        if !self.prepared {
            return self.prepare(rpc, status, main, owners, wireless);
        }
        // Sensors send a few packets through each session's hotspot, within its escrow.
        for session in &mut self.sessions {
            let burst = self.rng.next_u64() % 12;
            session.packets = (session.packets + burst).min(session.escrow / CREDITS_PER_PACKET);
        }
        if !epoch_changed {
            return Ok(());
        }
        self.settle_all(rpc, status, owners, wireless)?;
        self.open_round(rpc, status, wireless, &honest)
    }

    /// Each hotspot co-signs the customer's latest voucher and its owner settles it.
    fn settle_all(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        owners: &[AccountKey],
        wireless: &[&SimDevice],
    ) -> Result<()> {
        let mut nonces: Vec<Option<u64>> = vec![None; owners.len()];
        let mut settlements = Vec::new();
        for session in self.sessions.iter_mut().filter(|s| s.packets > s.settled) {
            let voucher = Voucher {
                session: session.id,
                cumulative_units: session.packets,
                cumulative_credits: session.packets * CREDITS_PER_PACKET,
            };
            let hotspot = wireless[session.hotspot];
            let call = UsageCall::Settle {
                voucher,
                customer_signature: voucher.sign_as_customer(&self.key, &status.chain_id),
                device_signature: voucher.sign_as_device(&hotspot.key, &status.chain_id),
            };
            settlements.push(Self::sign(
                rpc,
                status,
                &owners[hotspot.owner],
                &mut nonces[hotspot.owner],
                call,
            )?);
            session.settled = session.packets;
        }
        for chunk in settlements.chunks(512) {
            let _ = rpc.submit_batch(chunk)?;
        }
        Ok(())
    }

    /// Buys the round's credits and opens a session with each of a few hotspots.
    fn open_round(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        wireless: &[&SimDevice],
        honest: &[usize],
    ) -> Result<()> {
        self.rounds += 1;
        let growth = self.rounds.min(MAX_GROWTH);
        let packets = BASE_PACKETS_PER_EPOCH * growth;
        let credits = packets * CREDITS_PER_PACKET;
        let count = SESSIONS_PER_EPOCH.min(honest.len());
        let escrow = credits / count as u64;
        if rpc
            .get::<api::CreditsQuote>("credits_quote", json!({ "credits": credits }))
            .is_err()
        {
            // No oracle price yet: no credits to be had this epoch.
            return Ok(());
        }
        let mut nonce = None;
        let customer = key_address(&self.key);
        let mut txs = vec![Self::sign(
            rpc,
            status,
            &self.key,
            &mut nonce,
            CreditsCall::Buy {
                recipient: customer,
                credits,
            },
        )?];
        // Sessions of the last round end with their epoch; their escrow comes back after.
        self.sessions.clear();
        let start = (self.rng.next_u64() as usize) % honest.len();
        for k in 0..count {
            let hotspot = honest[(start + k) % honest.len()];
            let Some(n) = nonce else { break };
            txs.push(Self::sign(
                rpc,
                status,
                &self.key,
                &mut nonce,
                UsageCall::OpenSession {
                    device: wireless[hotspot].key.id(),
                    credits_per_unit: CREDITS_PER_PACKET,
                    max_credits: escrow,
                    expires_at: status.height + status.epoch_length_blocks,
                },
            )?);
            self.sessions.push(Open {
                id: session_id(&customer, n),
                hotspot,
                escrow,
                packets: 0,
                settled: 0,
            });
        }
        // In one batch and in nonce order, so the purchase lands before the sessions need it.
        let _ = rpc.submit_batch(&txs)?;
        Ok(())
    }
}
