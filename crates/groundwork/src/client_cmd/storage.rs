//! `groundwork storage`: provide capacity, store a file with several providers, fetch it back
//! verified, and follow its deals (docs/storage.md).

use super::*;
use groundwork_primitives::tx::attest::BoundedBytes;
use groundwork_primitives::tx::storage::ShardDeal;
use groundwork_primitives::{StorageCall, deal_set_id};
use groundwork_storage::erasure;
use groundwork_storage::{BLOCK_BYTES, BlockRoots, Root, block_root, verify_block_roots};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Instant;

/// Bytes per upload request.
const UPLOAD_PIECE: usize = 1 << 20;

#[derive(Subcommand)]
pub enum StorageCommand {
    /// Offer a storage device's capacity, locking collateral per GiB of it. The price is the
    /// device's offer (`groundwork offer set`), in credits per GiB-epoch. Run again to resize;
    /// `--capacity 0` withdraws what no deal holds.
    #[command(
        after_help = "Example:\n  groundwork storage provide --key alice --device gwd1… --capacity 10GiB --collateral-per-gib 2 --endpoint http://10.0.0.7:9400"
    )]
    Provide {
        /// The storage device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// Capacity: bytes, or with KiB, MiB, GiB or TiB.
        #[arg(long, value_parser = parse_size)]
        capacity: u64,
        /// Collateral locked per GiB, in tokens (base units with --base-units).
        #[arg(long)]
        collateral_per_gib: String,
        /// Where clients reach the device's agent (its service port).
        #[arg(long)]
        endpoint: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Store a file: cut it into shards (erasure-coded, or replicas), propose one deal per
    /// provider with the credits escrowed, upload each shard to its provider's agent and wait
    /// until every provider accepted. Prints the content id.
    #[command(
        after_help = "Examples:\n  groundwork storage put photo.tar --key alice --providers 3 --periods 30\n  groundwork storage put photo.tar --key alice --replicas 3 --periods 30"
    )]
    Put {
        /// The file to store.
        file: PathBuf,
        /// Providers to spread the file over: any `--providers` − 1 of them rebuild it.
        #[arg(long, default_value_t = 3, conflicts_with = "replicas")]
        providers: u8,
        /// Keep whole copies with this many providers instead of erasure coding.
        #[arg(long)]
        replicas: Option<u8>,
        /// Proving periods to store it for.
        #[arg(long)]
        periods: u32,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Finish storing a file whose `put` was cut off after its deals were proposed: cut the
    /// same shards again, check them against the roots on chain, and upload each shard whose
    /// deal is still proposed from where its provider's agent stopped. Signs nothing.
    #[command(after_help = "Example:\n  groundwork storage resume 5be1…c2 photo.tar")]
    Resume {
        /// The content id `storage put` printed, or `storage list` shows.
        id: String,
        /// The file that was being stored.
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Fetch a stored file from its providers, verifying every block against the roots on
    /// chain as it streams, and write it. Any providers that hold enough shards will do.
    #[command(after_help = "Example:\n  groundwork storage get 5be1…c2 --out photo.tar")]
    Get {
        /// The content id `storage put` printed.
        id: String,
        /// Where to write the file (written whole, then renamed into place).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A stored file's deals: providers, proofs passed and missed, periods withheld for failed
    /// retrieval checks, credits paid, escrow left.
    #[command(after_help = "Example:\n  groundwork storage show 5be1…c2")]
    Show {
        /// The content id.
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A client's stored files, or a provider's deals.
    #[command(
        after_help = "Examples:\n  groundwork storage list --client gw1…\n  groundwork storage list --provider gwd1…"
    )]
    List {
        #[arg(
            long,
            conflicts_with = "provider",
            required_unless_present = "provider"
        )]
        client: Option<String>,
        #[arg(long)]
        provider: Option<String>,
        #[command(flatten)]
        client_args: ClientArgs,
    },
    /// End a stored file's deals now, as their client: unspent escrow comes back; providers
    /// keep what they proved.
    #[command(after_help = "Example:\n  groundwork storage end 5be1…c2 --key alice")]
    End {
        /// The content id.
        id: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `--capacity`: bytes, or a number with KiB, MiB, GiB or TiB.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |i| text.split_at(i));
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit {other:?}: use B, KiB, MiB, GiB or TiB"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("{text:?} is not a size in bytes"))
}

fn parse_id(text: &str) -> Result<Digest> {
    digest_from_hex(text)
        .with_context(|| format!("{text:?} is not a content id of 64 hex characters"))
}

pub fn storage(command: StorageCommand) -> Result<()> {
    match command {
        StorageCommand::Provide {
            device,
            capacity,
            collateral_per_gib,
            endpoint,
            signer,
            client,
        } => {
            let device = parse_device(&device)?;
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                bail!("--endpoint {endpoint:?} must be an http:// or https:// URL");
            }
            if endpoint.len() > groundwork_primitives::limits::MAX_ENDPOINT_BYTES {
                bail!(
                    "--endpoint is longer than {} bytes",
                    groundwork_primitives::limits::MAX_ENDPOINT_BYTES
                );
            }
            let base_units = client.base_units;
            send(&client, &signer, |_, status| {
                let collateral = account::parse_amount(&collateral_per_gib, status, base_units)?;
                Ok(StorageCall::Provide {
                    device,
                    capacity_bytes: capacity,
                    collateral_per_gib: collateral,
                    endpoint: BoundedBytes(endpoint.into_bytes()),
                })
            })
        }
        StorageCommand::Put {
            file,
            providers,
            replicas,
            periods,
            signer,
            client,
        } => put(&file, providers, replicas, periods, &signer, &client),
        StorageCommand::Resume { id, file, client } => resume(&parse_id(&id)?, &file, &client),
        StorageCommand::Get { id, out, client } => get(&parse_id(&id)?, &out, &client),
        StorageCommand::Show { id, client } => {
            let rpc = client.client()?;
            let set: api::StorageDealSet = rpc.get("storage_getDeal", json!({ "id": id }))?;
            if client.json {
                return print_json(&set);
            }
            print_set(&set);
            // Why each withheld period was not paid: the retrieval checks that failed.
            for deal in set.deals.iter().filter(|d| d.withheld > 0 || d.faults > 0) {
                let proofs: api::StorageProofs =
                    rpc.get("storage_getProofs", json!({ "deal": deal.id }))?;
                for period in &proofs.periods {
                    if let Some(reason) = &period.withheld {
                        println!(
                            "shard {} period {}: withheld: {reason}",
                            deal.index, period.period
                        );
                    } else if period.outcome == "faulted" {
                        println!(
                            "shard {} period {}: no valid proof: {} slashed ({} to the client, {} burned)",
                            deal.index,
                            period.period,
                            period.slashed,
                            period.to_client,
                            period.burned
                        );
                    }
                }
            }
            Ok(())
        }
        StorageCommand::List {
            client,
            provider,
            client_args,
        } => {
            let rpc = client_args.client()?;
            let params = match (&client, &provider) {
                (Some(c), _) => json!({ "client": c }),
                (_, Some(p)) => json!({ "provider": p }),
                _ => bail!("give --client or --provider"),
            };
            let list: api::StorageDealList = rpc.get("storage_listDeals", params)?;
            if client_args.json {
                return print_json(&list);
            }
            let mut rows = vec![];
            if provider.is_some() {
                rows.push(
                    ["deal", "status", "bytes", "proven", "faults", "paid"]
                        .map(String::from)
                        .to_vec(),
                );
                for d in &list.deals {
                    rows.push(vec![
                        d.id.clone(),
                        d.status.clone(),
                        d.size_bytes.to_string(),
                        d.proven.to_string(),
                        d.faults.to_string(),
                        d.paid_credits.to_string(),
                    ]);
                }
            } else {
                rows.push(
                    ["content id", "bytes", "shards", "periods", "ended"]
                        .map(String::from)
                        .to_vec(),
                );
                for s in &list.sets {
                    rows.push(vec![
                        s.id.clone(),
                        s.file_size.to_string(),
                        format!("{} of {}", s.data_shards, s.shards),
                        s.periods.to_string(),
                        s.ended_at.map_or("-".into(), |h| h.to_string()),
                    ]);
                }
            }
            print!("{}", columns(&rows));
            Ok(())
        }
        StorageCommand::End { id, signer, client } => {
            let set = parse_id(&id)?;
            send(&client, &signer, |_, _| Ok(StorageCall::End { set }))
        }
    }
}

fn print_set(set: &api::StorageDealSet) {
    println!("content id   {}", set.id);
    println!("client       {}", set.client);
    println!(
        "file         {} bytes, BLAKE3 {}",
        set.file_size, set.file_hash
    );
    println!(
        "shards       {} (any {} rebuild it), {} periods",
        set.shards, set.data_shards, set.periods
    );
    if let Some(ended) = set.ended_at {
        println!("ended        at block {ended}");
    }
    let mut rows = vec![
        [
            "shard", "provider", "status", "proven", "missed", "withheld", "paid", "escrow",
            "slashed",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for d in &set.deals {
        rows.push(vec![
            d.index.to_string(),
            d.provider.clone(),
            d.status.clone(),
            d.proven.to_string(),
            d.faults.to_string(),
            d.withheld.to_string(),
            format!("{} cr", d.paid_credits),
            format!("{} cr", d.escrow_credits),
            d.slashed.to_string(),
        ]);
    }
    print!("{}", columns(&rows));
}

fn bar(bytes: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(bytes);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:12} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn http() -> Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// What an agent says when it refuses.
#[derive(serde::Deserialize)]
struct Refusal {
    error: String,
    #[serde(default)]
    code: String,
}

fn refusal(response: reqwest::blocking::Response) -> String {
    let status = response.status();
    match response.json::<Refusal>() {
        Ok(r) => format!("{} ({status}, {})", r.error, r.code),
        Err(_) => format!("no reason given ({status})"),
    }
}

fn put(
    file: &Path,
    providers: u8,
    replicas: Option<u8>,
    periods: u32,
    signer: &SignerArgs,
    client: &ClientArgs,
) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    if bytes.is_empty() {
        bail!("{} is empty: there is nothing to store", file.display());
    }
    let (count, data) = match replicas {
        Some(r) => (r, 1u8),
        None => (providers, providers.saturating_sub(1).max(1)),
    };
    if count == 0 || usize::from(count) > groundwork_primitives::limits::MAX_SHARDS_PER_SET {
        bail!(
            "a file goes to 1 to {} providers",
            groundwork_primitives::limits::MAX_SHARDS_PER_SET
        );
    }
    let shards = erasure::encode(&bytes, usize::from(data), usize::from(count - data))?;
    let trees: Vec<BlockRoots> = shards
        .iter()
        .map(|s| BlockRoots::of(s))
        .collect::<Result<_, _>>()?;
    let roots: Vec<Root> = trees
        .iter()
        .map(BlockRoots::root)
        .collect::<Result<_, _>>()?;
    let rpc = client.client()?;
    let status = rpc.status()?;
    let shard_len = shards[0].len() as u64;
    let list: api::StorageProviderList = rpc.get("storage_listProviders", json!({}))?;
    let mut candidates: Vec<&api::StorageProvider> = list
        .providers
        .iter()
        .filter(|p| p.credits_per_gib_epoch.is_some() && p.free_bytes >= shard_len)
        .collect();
    // The cheapest first; ties by device id, so the choice is the same on every run.
    candidates.sort_by(|a, b| {
        a.credits_per_gib_epoch
            .cmp(&b.credits_per_gib_epoch)
            .then(a.device.cmp(&b.device))
    });
    if candidates.len() < usize::from(count) {
        bail!(
            "{} providers with an offer and {shard_len} bytes free are needed; the chain has {}",
            count,
            candidates.len()
        );
    }
    let chosen = &candidates[..usize::from(count)];
    let key = load_account_key(&signer.key, signer.keystore.as_deref())?;
    let sender = key_address(&key);
    let nonce = rpc.pending_nonce(&sender.to_string())?;
    let call = StorageCall::Propose {
        file_size: bytes.len() as u64,
        file_hash: *blake3::hash(&bytes).as_bytes(),
        data_shards: data,
        periods,
        shards: chosen
            .iter()
            .zip(&roots)
            .map(|(p, root)| {
                Ok(ShardDeal {
                    provider: parse_device(&p.device)?,
                    root: root.0,
                    size_bytes: shard_len,
                    credits_per_gib_epoch: p.credits_per_gib_epoch.unwrap_or(0),
                })
            })
            .collect::<Result<_>>()?,
    };
    let transaction = Transaction::Account(AccountTransaction::sign(
        &key,
        &status.chain_id,
        nonce,
        status.height.saturating_add(signer.valid_for),
        call,
    ));
    let hash = rpc.submit(&transaction)?;
    let receipt = rpc.wait_for(&hash, Duration::from_secs(60))?;
    if let Some((code, message)) = receipt.error {
        bail!("the chain refused the deal set: {message} (code {code})");
    }
    let set = deal_set_id(&sender, nonce);
    let id = digest_hex(&set);
    eprintln!(
        "proposed {} shards of {shard_len} bytes (any {data} rebuild the file) in block {}",
        count, receipt.height
    );
    let record: api::StorageDealSet = rpc.get("storage_getDeal", json!({ "id": id }))?;
    let http = http()?;
    for ((deal, tree), (shard, provider)) in record
        .deals
        .iter()
        .zip(&trees)
        .zip(shards.iter().zip(chosen))
    {
        upload(
            &http,
            &provider.endpoint,
            &deal.id,
            tree,
            shard,
            &format!("shard {}", deal.index),
        )?;
    }
    let sent: Vec<String> = record.deals.iter().map(|d| d.id.clone()).collect();
    wait_accepted(&rpc, &id, &sent)?;
    if client.json {
        return print_json(
            &json!({ "id": id, "shards": count, "data_shards": data, "shard_bytes": shard_len }),
        );
    }
    eprintln!("every provider accepted its shard");
    println!("{id}");
    Ok(())
}

/// Waits until the set's deals `sent` are accepted: each provider accepts once its agent has
/// the bytes, every block checked against the roots.
fn wait_accepted(rpc: &crate::rpc_client::RpcClient, id: &str, sent: &[String]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let record: api::StorageDealSet = rpc.get("storage_getDeal", json!({ "id": id }))?;
        let ours = || record.deals.iter().filter(|d| sent.contains(&d.id));
        let waiting: Vec<&api::StorageDeal> = ours().filter(|d| d.status == "proposed").collect();
        if let Some(bad) = ours().find(|d| d.status != "proposed" && d.status != "active") {
            bail!("deal {} is {} before it was accepted", bad.id, bad.status);
        }
        if waiting.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "{} providers have not accepted within a minute; `groundwork storage show {id}` follows them",
                waiting.len()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

/// `storage resume`: the uploads of a `put` that was cut off, against the deals on chain.
fn resume(id: &Digest, file: &Path, client: &ClientArgs) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let rpc = client.client()?;
    let id = digest_hex(id);
    let set: api::StorageDealSet = rpc.get("storage_getDeal", json!({ "id": id }))?;
    if set.file_size != bytes.len() as u64
        || hex::encode(blake3::hash(&bytes).as_bytes()) != set.file_hash
    {
        bail!(
            "{} is not the file stored as {id} ({} bytes, BLAKE3 {}): nothing sent",
            file.display(),
            set.file_size,
            set.file_hash
        );
    }
    let data = usize::from(set.data_shards);
    let parity = usize::from(set.shards).saturating_sub(data);
    let shards = erasure::encode(&bytes, data, parity)?;
    let providers: api::StorageProviderList =
        rpc.get("storage_listProviders", json!({ "limit": 1000 }))?;
    let http = http()?;
    let mut sent = Vec::new();
    for (deal, shard) in set.deals.iter().zip(&shards) {
        if deal.status != "proposed" {
            eprintln!("shard {}: {}, nothing to send", deal.index, deal.status);
            continue;
        }
        let tree = BlockRoots::of(shard)?;
        if tree.root()?.to_hex() != deal.root {
            bail!(
                "shard {} cuts to another root than its deal's: the file or the coding differs",
                deal.index
            );
        }
        let endpoint = providers
            .providers
            .iter()
            .find(|p| p.device == deal.provider)
            .map(|p| p.endpoint.clone())
            .with_context(|| format!("shard {}'s provider publishes no endpoint", deal.index))?;
        upload(
            &http,
            &endpoint,
            &deal.id,
            &tree,
            shard,
            &format!("shard {}", deal.index),
        )?;
        sent.push(deal.id.clone());
    }
    if !sent.is_empty() {
        wait_accepted(&rpc, &id, &sent)?;
        eprintln!("every provider sent to accepted its shard");
    }
    if client.json {
        return print_json(&json!({ "id": id, "uploaded": sent.len() }));
    }
    println!("{id}");
    Ok(())
}

/// Uploads one shard to a provider's agent: its block roots first, which the agent checks
/// against the deal's root, then the bytes, resuming from what it already holds.
fn upload(
    http: &reqwest::blocking::Client,
    endpoint: &str,
    deal: &str,
    tree: &BlockRoots,
    shard: &[u8],
    what: &str,
) -> Result<()> {
    let base = format!("{}/storage/{deal}", endpoint.trim_end_matches('/'));
    let roots = tree.to_bytes();
    let response = http
        .put(format!("{base}/roots"))
        .body(roots)
        .send()
        .with_context(|| format!("the provider's agent at {endpoint} is unreachable"))?;
    // A shard stored already answers 409 `already_stored`; the bytes below then find it full.
    if !response.status().is_success() && response.status() != reqwest::StatusCode::CONFLICT {
        bail!(
            "the provider refused the block roots: {}",
            refusal(response)
        );
    }
    let held: serde_json::Value = http
        .get(&base)
        .send()
        .with_context(|| format!("the provider's agent at {endpoint} is unreachable"))?
        .json()
        .with_context(|| format!("{base} did not answer with JSON"))?;
    let mut offset = held["received"]
        .as_u64()
        .unwrap_or(0)
        .min(shard.len() as u64);
    let progress = bar(shard.len() as u64, what);
    progress.set_position(offset);
    while offset < shard.len() as u64 {
        let end = (offset as usize + UPLOAD_PIECE).min(shard.len());
        let response = http
            .put(format!("{base}/data/{offset}"))
            .body(shard[offset as usize..end].to_vec())
            .send()
            .with_context(|| format!("uploading to {endpoint}"))?;
        if !response.status().is_success() {
            progress.abandon();
            bail!("the provider refused the shard: {}", refusal(response));
        }
        offset = end as u64;
        progress.set_position(offset);
    }
    progress.finish();
    Ok(())
}

/// Fetches and checks one shard: the block roots against the deal's root first, then every
/// block against its root as it arrives.
fn fetch_shard(
    http: &reqwest::blocking::Client,
    endpoint: &str,
    deal: &api::StorageDeal,
    progress: &ProgressBar,
) -> Result<Vec<u8>> {
    let base = format!("{}/storage/{}", endpoint.trim_end_matches('/'), deal.id);
    let response = http
        .get(format!("{base}/roots"))
        .send()
        .with_context(|| format!("{endpoint} is unreachable"))?;
    if !response.status().is_success() {
        bail!("{endpoint} sent no block roots: {}", refusal(response));
    }
    let blocks = deal.size_bytes.div_ceil(BLOCK_BYTES as u64);
    let bytes = crate::rpc_client::read_at_most(response, blocks.saturating_mul(32))
        .with_context(|| format!("{endpoint}'s block roots"))?;
    let roots = BlockRoots::from_bytes(deal.size_bytes, &bytes);
    let root = hex::decode(&deal.root)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Root)
        .context("the node sent a malformed root")?;
    verify_block_roots(&root, &roots)
        .with_context(|| format!("{endpoint}'s block roots do not match the deal's root"))?;
    // The size comes from the chain, but a buffer grows only as verified blocks arrive.
    let mut shard = Vec::new();
    // Runs of 16 blocks (1 MiB) a request; every 64 KiB block is checked against its root
    // before the next run is asked for.
    const RUN: usize = 16;
    for (run, expected) in roots.roots.chunks(RUN).enumerate() {
        let first = run * RUN;
        let url = format!("{base}/blocks/{first}/{}", expected.len());
        let response = http.get(&url).send()?;
        if !response.status().is_success() {
            bail!(
                "{endpoint} did not send blocks from {first}: {}",
                refusal(response)
            );
        }
        let bytes =
            crate::rpc_client::read_at_most(response, (expected.len() * BLOCK_BYTES) as u64)
                .with_context(|| format!("{endpoint}'s blocks from {first}"))?;
        let want = (deal.size_bytes - shard.len() as u64).min((RUN * BLOCK_BYTES) as u64) as usize;
        if bytes.len() != want.min(expected.len() * BLOCK_BYTES) {
            bail!(
                "{endpoint} sent {} bytes from block {first}, not {want}: refused",
                bytes.len()
            );
        }
        for (k, (block, root)) in bytes.chunks(BLOCK_BYTES).zip(expected).enumerate() {
            if block_root(block) != *root {
                bail!(
                    "block {} from {endpoint} does not match its root: refused",
                    first + k
                );
            }
        }
        shard.extend_from_slice(&bytes);
        progress.inc(bytes.len() as u64);
    }
    Ok(shard)
}

fn get(id: &Digest, out: &Path, client: &ClientArgs) -> Result<()> {
    let rpc = client.client()?;
    let set: api::StorageDealSet = rpc.get("storage_getDeal", json!({ "id": digest_hex(id) }))?;
    let providers: api::StorageProviderList =
        rpc.get("storage_listProviders", json!({ "limit": 1000 }))?;
    let endpoint_of = |device: &str| {
        providers
            .providers
            .iter()
            .find(|p| p.device == device)
            .map(|p| p.endpoint.clone())
    };
    let need = usize::from(set.data_shards);
    let shard_len = set.deals.first().map_or(0, |d| d.size_bytes);
    let progress = bar(shard_len * need as u64, "fetching");
    let started = Instant::now();
    let http = http()?;
    let mut shards: Vec<Option<Vec<u8>>> = vec![None; set.deals.len()];
    let mut have = 0;
    for (i, deal) in set.deals.iter().enumerate() {
        if have == need {
            break;
        }
        let Some(endpoint) = endpoint_of(&deal.provider) else {
            progress.println(format!(
                "shard {i}: its provider publishes no endpoint; skipped"
            ));
            continue;
        };
        match fetch_shard(&http, &endpoint, deal, &progress) {
            Ok(shard) => {
                shards[i] = Some(shard);
                have += 1;
            }
            Err(error) => progress.println(format!(
                "shard {i} from {endpoint}: {error:#}; trying the others"
            )),
        }
    }
    progress.finish();
    let file = erasure::decode(set.file_size, need, set.deals.len() - need, &shards)
        .context("too few providers answered with verified shards")?;
    if hex::encode(blake3::hash(&file).as_bytes()) != set.file_hash {
        bail!("the rebuilt file does not match the BLAKE3 hash on chain: nothing written");
    }
    let temporary = out.with_extension("part");
    // Written in full and synced before it takes the name, so a crash leaves either the old
    // file or the new one.
    let write = |path: &Path| -> std::io::Result<()> {
        use std::io::Write;
        let mut handle = std::fs::File::create(path)?;
        handle.write_all(&file)?;
        handle.sync_all()
    };
    write(&temporary).with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, out)
        .with_context(|| format!("renaming {} to {}", temporary.display(), out.display()))?;
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "wrote {} ({} bytes, from {have} of {} shards) at {:.1} MiB/s, every block verified",
        out.display(),
        file.len(),
        set.deals.len(),
        file.len() as f64 / seconds / (1 << 20) as f64
    );
    Ok(())
}
