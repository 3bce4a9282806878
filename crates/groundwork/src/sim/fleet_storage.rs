//! The simulated fleet's storage: three storage devices run their agent's real storage port
//! (HTTP on 127.0.0.1, shards on disk under the dev data dir) and prove every period; the
//! fleet's owner stores one file with them, 2-of-3 erasure-coded. The third provider is lazy:
//! once it holds its shard it zeroes a tenth of its blocks, and from then on it faults
//! whenever a challenge lands there, and is slashed for it.

use crate::rpc_client::{ChainStatus, RpcClient};
use crate::sim::fleet::SimDevice;
use crate::storage_port::{ShardStore, StoragePort, prove_due};
use anyhow::{Context, Result};
use groundwork_api as api;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::tx::attest::BoundedBytes;
use groundwork_primitives::tx::storage::ShardDeal;
use groundwork_primitives::{
    AccountKey, AccountTransaction, Amount, Call, CreditsCall, StorageCall, Transaction, UsageCall,
    deal_set_id,
};
use groundwork_storage::{BlockRoots, erasure};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Providers the fleet runs; the last is the lazy one.
const PROVIDERS: usize = 3;
/// The stored file's size.
const FILE_BYTES: usize = 4 << 20;
/// Credits per GiB-epoch the providers ask.
const PRICE: u64 = 1_228_800;
/// Periods the file is stored for.
const PERIODS: u32 = 60;

enum Stage {
    /// Providers not yet offered.
    Offer,
    /// Offered; the file goes out once the offers landed (from this height).
    Store { from: u64 },
    /// Stored in this deal set.
    Running { set: String, lazy_done: bool },
    /// Too few storage devices, or the file could not be stored: nothing more to do.
    Off,
}

pub struct StorageFleet {
    stage: Stage,
    /// Index into the fleet of each provider, and its port.
    providers: Vec<(usize, Arc<StoragePort>, String)>,
    dir: PathBuf,
    rng: ChaCha8Rng,
}

fn sign(
    rpc: &RpcClient,
    status: &ChainStatus,
    key: &AccountKey,
    call: impl Into<Call>,
) -> Result<Transaction> {
    let nonce = rpc.pending_nonce(&key_address(key).to_string())?;
    Ok(Transaction::Account(AccountTransaction::sign(
        key,
        &status.chain_id,
        nonce,
        status.valid_until(),
        call,
    )))
}

impl StorageFleet {
    /// Shards are kept under `dir`.
    pub fn new(dir: PathBuf, seed: u64) -> Self {
        Self {
            stage: Stage::Offer,
            providers: Vec::new(),
            dir,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x7374_6f72),
        }
    }

    pub fn step(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        main: &AccountKey,
        owners: &[AccountKey],
        fleet: &[SimDevice],
        epoch_changed: bool,
    ) -> Result<()> {
        match &mut self.stage {
            Stage::Offer => self.offer(rpc, status, owners, fleet),
            Stage::Store { from } if status.height >= *from => {
                if let Err(error) = self.store(rpc, status, main) {
                    eprintln!("fleet: storage: the file could not be stored: {error:#}");
                    self.stage = Stage::Off;
                }
                Ok(())
            }
            Stage::Running { .. } => self.run(rpc, status, fleet, epoch_changed),
            Stage::Store { .. } | Stage::Off => Ok(()),
        }
    }

    /// Starts each provider's storage port and has its owner offer it.
    fn offer(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        owners: &[AccountKey],
        fleet: &[SimDevice],
    ) -> Result<()> {
        let storage: Vec<usize> = (0..fleet.len())
            .filter(|&i| fleet[i].kind == groundwork_primitives::ResourceKind::Storage)
            .take(PROVIDERS)
            .collect();
        if storage.len() < PROVIDERS {
            self.stage = Stage::Off;
            return Ok(());
        }
        for (n, &i) in storage.iter().enumerate() {
            let device = &fleet[i];
            let port = Arc::new(StoragePort::new(
                ShardStore::open(self.dir.join(format!("storage-{n}")))?,
                device.key.clone(),
                rpc.url().to_string(),
            ));
            let address = crate::service_port::start(
                std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                device.key.clone(),
                rpc.url().to_string(),
                self.dir.join(format!("storage-{n}.vouchers.json")),
                Some(port.clone()),
                None,
            )?;
            let endpoint = format!("http://{address}");
            let owner = &owners[device.owner];
            let offer = sign(
                rpc,
                status,
                owner,
                UsageCall::SetOffer {
                    device: device.key.id(),
                    credits_per_unit: PRICE + n as u64,
                    max_session_blocks: 1_000,
                },
            )?;
            rpc.submit(&offer)?;
            // The next nonce: the offer is pending.
            let nonce = rpc.pending_nonce(&key_address(owner).to_string())?;
            let provide = Transaction::Account(AccountTransaction::sign(
                owner,
                &status.chain_id,
                nonce,
                status.valid_until(),
                StorageCall::Provide {
                    device: device.key.id(),
                    capacity_bytes: 64 << 20,
                    collateral_per_gib: Amount(10u128.pow(u32::from(status.decimals))),
                    endpoint: BoundedBytes(endpoint.clone().into_bytes()),
                },
            ));
            rpc.submit(&provide)?;
            self.providers.push((i, port, endpoint));
        }
        println!(
            "fleet: storage: {PROVIDERS} providers offer 64 MiB each at {PRICE} credits per GiB-epoch; the last one is lazy"
        );
        self.stage = Stage::Store {
            from: status.height + 3,
        };
        Ok(())
    }

    /// The fleet's owner stores a random file with the three providers, 2-of-3.
    fn store(&mut self, rpc: &RpcClient, status: &ChainStatus, main: &AccountKey) -> Result<()> {
        let client = key_address(main);
        if rpc.account(&client.to_string())?.credits < 200_000 {
            let buy = sign(
                rpc,
                status,
                main,
                CreditsCall::Buy {
                    recipient: client,
                    credits: 300_000,
                },
            )?;
            let hash = rpc.submit(&buy)?;
            rpc.wait_for(&hash, Duration::from_secs(30))?;
        }
        let mut file = vec![0u8; FILE_BYTES];
        self.rng.fill_bytes(&mut file);
        let shards = erasure::encode(&file, 2, 1)?;
        let trees: Vec<BlockRoots> = shards
            .iter()
            .map(|s| BlockRoots::of(s))
            .collect::<Result<_, _>>()?;
        let mut deals = Vec::with_capacity(PROVIDERS);
        for ((_, port, _), (n, tree)) in self.providers.iter().zip(trees.iter().enumerate()) {
            deals.push(ShardDeal {
                provider: port.key.id(),
                root: tree.root()?.0,
                size_bytes: tree.size,
                credits_per_gib_epoch: PRICE + n as u64,
            });
        }
        let nonce = rpc.pending_nonce(&client.to_string())?;
        let propose = Transaction::Account(AccountTransaction::sign(
            main,
            &status.chain_id,
            nonce,
            status.valid_until(),
            StorageCall::Propose {
                file_size: file.len() as u64,
                file_hash: *blake3::hash(&file).as_bytes(),
                data_shards: 2,
                periods: PERIODS,
                shards: deals,
            },
        ));
        let hash = rpc.submit(&propose)?;
        let receipt = rpc.wait_for(&hash, Duration::from_secs(30))?;
        if let Some((code, message)) = receipt.error {
            anyhow::bail!("the deal set was refused: {message} (code {code})");
        }
        let set = groundwork_primitives::hash::digest_hex(&deal_set_id(&client, nonce));
        let record: api::StorageDealSet = rpc.get("storage_getDeal", json!({ "id": set }))?;
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        for ((deal, tree), ((_, _, endpoint), shard)) in record
            .deals
            .iter()
            .zip(&trees)
            .zip(self.providers.iter().zip(&shards))
        {
            // The block roots first, as `storage put` sends them; then the shard in one piece.
            let response = http
                .put(format!("{endpoint}/storage/{}/roots", deal.id))
                .body(tree.to_bytes())
                .send()
                .with_context(|| format!("sending block roots to {endpoint}"))?;
            anyhow::ensure!(
                response.status().is_success(),
                "{endpoint} refused the block roots: {}",
                response.text().unwrap_or_default()
            );
            let response = http
                .put(format!("{endpoint}/storage/{}/data/0", deal.id))
                .body(shard.clone())
                .send()
                .with_context(|| format!("uploading to {endpoint}"))?;
            anyhow::ensure!(
                response.status().is_success(),
                "{endpoint} refused the shard: {}",
                response.text().unwrap_or_default()
            );
        }
        println!(
            "fleet: storage: stored a {} MiB file as 3 shards, any 2 rebuild it (content id {set})",
            FILE_BYTES >> 20
        );
        self.stage = Stage::Running {
            set,
            lazy_done: false,
        };
        Ok(())
    }

    /// Every provider proves what it holds; the lazy one loses a tenth once; each epoch's
    /// change prints how every deal stands.
    fn run(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        fleet: &[SimDevice],
        epoch_changed: bool,
    ) -> Result<()> {
        let Stage::Running { set, lazy_done } = &mut self.stage else {
            return Ok(());
        };
        for (i, port, _) in &self.providers {
            let _ = prove_due(rpc, &fleet[*i].key, &status.chain_id, &port.store);
            let _ = crate::storage_port::check_due(rpc, port, &status.chain_id);
        }
        if !*lazy_done
            && let Some((_, lazy, _)) = self.providers.last()
            && let Some(deal) = lazy.store.deals().first().cloned()
        {
            // A tenth of its blocks: every block whose first byte of BLAKE3(index) is below 26.
            let lost = lazy
                .store
                .lose_a_tenth(&deal, |b| blake3::hash(&b.to_be_bytes()).as_bytes()[0] < 26)?;
            println!("fleet: storage: the lazy provider zeroed {lost} of its shard's blocks");
            *lazy_done = true;
        }
        if epoch_changed {
            let record: api::StorageDealSet = rpc.get("storage_getDeal", json!({ "id": set }))?;
            let lines: Vec<String> = record
                .deals
                .iter()
                .map(|d| {
                    format!(
                        "shard {} {}: proven {}, missed {}, withheld {}, paid {} credits, slashed {}",
                        d.index,
                        d.status,
                        d.proven,
                        d.faults,
                        d.withheld,
                        d.paid_credits,
                        status.show(&d.slashed.to_string())
                    )
                })
                .collect();
            println!("fleet: storage: {}", lines.join("; "));
        }
        Ok(())
    }
}
