//! The simulated fleet's customers: IoT sensor owners who buy data credits, open sessions with
//! nearby hotspots, send packets through them, and pay by vouchers — Helium's data transfer,
//! at 1 credit per 24-byte packet. Each hotspot the customers use runs its agent's real
//! service port (HTTP on 127.0.0.1): every few blocks the customer signs a voucher for what it
//! received and POSTs it there, the port checks it against the session on chain and co-signs
//! it, and at the epoch's change each hotspot's owner reads the port's `GET /vouchers` and
//! settles what it co-signed.
//!
//! Demand grows from epoch to epoch, so the dev chain's epoch lines show credits bought,
//! tokens burned for them and the usage mint tracking them inside its cap.

use crate::rpc_client::{ChainStatus, RpcClient};
use crate::sim::fleet::SimDevice;
use crate::sim::radio::Role;
use anyhow::{Context, Result};
use groundwork_api as api;
use groundwork_primitives::codec::Encode;
use groundwork_primitives::hash::{Digest, digest_hex};
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::{
    AccountKey, AccountSignature, AccountTransaction, Amount, Call, CoreCall, CreditsCall,
    DeviceSignature, Transaction, UsageCall, Voucher, decode_exact, session_id,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Credits per 24-byte packet, as Helium charges.
const CREDITS_PER_PACKET: u64 = 1;

/// Hotspots each customer session round uses.
const SESSIONS_PER_EPOCH: usize = 4;

/// Packets the customers send in the first epoch; each epoch adds as many again, to a limit.
const BASE_PACKETS_PER_EPOCH: u64 = 4_000;
const MAX_GROWTH: u64 = 8;

/// Hotspots the customers buy from: the first honest ones, each running a service port (a
/// thread each), so a fleet of thousands does not open thousands of ports.
const MAX_SERVED_HOTSPOTS: usize = 16;

/// Blocks between the customer's voucher exchanges with the hotspots it uses.
const EXCHANGE_EVERY_BLOCKS: u64 = 5;

/// One session the customer holds with a hotspot.
struct Open {
    id: Digest,
    /// Index into the wireless devices.
    hotspot: usize,
    escrow: u64,
    packets: u64,
    /// Packets the hotspot co-signed a voucher for.
    cosigned: u64,
    settled: u64,
}

pub struct Customers {
    key: AccountKey,
    rng: ChaCha8Rng,
    sessions: Vec<Open>,
    prepared: bool,
    rounds: u64,
    rpc_url: String,
    /// Where each hotspot's service port keeps the vouchers it co-signed.
    service_dir: PathBuf,
    /// Hotspot (index into the wireless devices) → its running service port.
    ports: BTreeMap<usize, SocketAddr>,
    http: reqwest::blocking::Client,
    last_exchange: u64,
}

impl Customers {
    /// The fleet's customer: an account derived from the fleet owner's key and the seed. The
    /// hotspots' service ports ask the node at `rpc_url` and keep vouchers under `service_dir`.
    pub fn new(main: &AccountKey, seed: u64, rpc_url: &str, service_dir: PathBuf) -> Result<Self> {
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
            rpc_url: rpc_url.to_string(),
            service_dir,
            ports: BTreeMap::new(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .context("the fleet customer's HTTP client")?,
            last_exchange: 0,
        })
    }

    /// The hotspot's service port, started on first use as its agent would run it.
    fn port(&mut self, hotspot: usize, wireless: &[&SimDevice]) -> Result<SocketAddr> {
        if let Some(address) = self.ports.get(&hotspot) {
            return Ok(*address);
        }
        std::fs::create_dir_all(&self.service_dir)
            .with_context(|| format!("creating {}", self.service_dir.display()))?;
        let device = wireless[hotspot];
        let store = self
            .service_dir
            .join(format!("vouchers-{}.json", device.key.id()));
        let address = crate::service_port::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            device.key.clone(),
            self.rpc_url.clone(),
            store,
            None,
            None,
        )?;
        self.ports.insert(hotspot, address);
        Ok(address)
    }

    /// For each session that carried packets since, the customer signs a voucher for all it
    /// received and hands it to the hotspot's service port, which co-signs it. A refusal (the
    /// session not on chain yet, or over) is tried again at the next exchange.
    fn exchange(&mut self, status: &ChainStatus, wireless: &[&SimDevice]) -> Result<()> {
        self.last_exchange = status.height;
        for i in 0..self.sessions.len() {
            let (id, hotspot, packets, cosigned) = {
                let s = &self.sessions[i];
                (s.id, s.hotspot, s.packets, s.cosigned)
            };
            if packets <= cosigned {
                continue;
            }
            let voucher = Voucher {
                session: id,
                cumulative_units: packets,
                cumulative_credits: packets * CREDITS_PER_PACKET,
            };
            let signature = voucher.sign_as_customer(&self.key, &status.chain_id);
            let offered = api::SignedVoucher {
                session: digest_hex(&id),
                cumulative_units: voucher.cumulative_units,
                cumulative_credits: voucher.cumulative_credits,
                customer_signature: Some(hex::encode(signature.encode())),
                device_signature: None,
            };
            let address = self.port(hotspot, wireless)?;
            let response = self
                .http
                .post(format!("http://{address}/voucher"))
                .json(&offered)
                .send()
                .with_context(|| format!("the service port of hotspot {address}"))?;
            if response.status().is_success() {
                self.sessions[i].cosigned = packets;
            }
        }
        Ok(())
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
        if epoch_changed || status.height >= self.last_exchange + EXCHANGE_EVERY_BLOCKS {
            self.exchange(status, wireless)?;
        }
        if !epoch_changed {
            return Ok(());
        }
        self.settle_all(rpc, status, owners, wireless)?;
        let honest = &honest[..honest.len().min(MAX_SERVED_HOTSPOTS)];
        self.open_round(rpc, status, wireless, honest)
    }

    /// Each hotspot's owner reads the vouchers its service port co-signed and settles those of
    /// the customer's sessions that carry more than was settled.
    fn settle_all(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        owners: &[AccountKey],
        wireless: &[&SimDevice],
    ) -> Result<()> {
        let mut nonces: Vec<Option<u64>> = vec![None; owners.len()];
        let mut settlements = Vec::new();
        let hotspots: std::collections::BTreeSet<usize> =
            self.sessions.iter().map(|s| s.hotspot).collect();
        for hotspot in hotspots {
            let Some(address) = self.ports.get(&hotspot) else {
                continue;
            };
            let kept: Vec<api::SignedVoucher> = self
                .http
                .get(format!("http://{address}/vouchers"))
                .send()
                .and_then(|r| r.json())
                .with_context(|| format!("reading the vouchers of hotspot {address}"))?;
            for signed in kept {
                let Some(session) = self
                    .sessions
                    .iter_mut()
                    .find(|s| digest_hex(&s.id) == signed.session)
                else {
                    continue;
                };
                if signed.cumulative_units <= session.settled {
                    continue;
                }
                let signature = |text: &Option<String>| {
                    text.as_deref()
                        .and_then(|h| hex::decode(h).ok())
                        .context("a voucher signature")
                };
                let call = UsageCall::Settle {
                    voucher: Voucher {
                        session: session.id,
                        cumulative_units: signed.cumulative_units,
                        cumulative_credits: signed.cumulative_credits,
                    },
                    customer_signature: decode_exact::<AccountSignature>(&signature(
                        &signed.customer_signature,
                    )?)?,
                    device_signature: decode_exact::<DeviceSignature>(&signature(
                        &signed.device_signature,
                    )?)?,
                };
                let owner = wireless[hotspot].owner;
                settlements.push(Self::sign(
                    rpc,
                    status,
                    &owners[owner],
                    &mut nonces[owner],
                    call,
                )?);
                session.settled = signed.cumulative_units;
            }
        }
        if !settlements.is_empty() {
            println!(
                "fleet: hotspot owners settle {} vouchers their service ports co-signed",
                settlements.len()
            );
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
                cosigned: 0,
                settled: 0,
            });
        }
        // In one batch and in nonce order, so the purchase lands before the sessions need it.
        let _ = rpc.submit_batch(&txs)?;
        Ok(())
    }
}
