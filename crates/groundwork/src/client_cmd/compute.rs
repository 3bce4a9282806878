//! `groundwork compute offer|run|show|list|dispute`: a provider's offer, and a customer's
//! job from posting to verified outputs (docs/compute.md). `compute exec` lives beside the
//! runtime, in `compute_cmd.rs`.

use super::*;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use groundwork_primitives::tx::attest::BoundedBytes;
use groundwork_primitives::{ComputeCall, job_id};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Largest frame `compute run` assembles from a scene.
const MAX_FRAME_SIDE: u32 = 4_096;

/// The render job's tile limit (examples/render.wat).
const MAX_TILE_SIDE: u32 = 256;

/// A scene for the tile renderer (examples/render.wat): the frame's size and the most
/// iterations per pixel.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Scene {
    width: u32,
    height: u32,
    max_iter: u32,
}

/// One tile of a frame: where it sits, and its input bytes for the module.
struct Tile {
    left: u32,
    top: u32,
    width: u32,
    height: u32,
}

/// The grid a frame is cut into for `tasks` tiles: the most square one (columns × rows).
fn grid(tasks: u32) -> (u32, u32) {
    let mut rows = (f64::from(tasks).sqrt()) as u32;
    while rows > 1 && !tasks.is_multiple_of(rows) {
        rows -= 1;
    }
    (tasks / rows.max(1), rows.max(1))
}

fn tiles(scene: &Scene, tasks: u32) -> Result<Vec<Tile>> {
    if !(1..=MAX_FRAME_SIDE).contains(&scene.width) || !(1..=MAX_FRAME_SIDE).contains(&scene.height)
    {
        bail!("the scene's width and height must be 1 to {MAX_FRAME_SIDE} pixels");
    }
    if scene.max_iter == 0 {
        bail!("the scene's max_iter must be at least 1");
    }
    let (cols, rows) = grid(tasks);
    let tile_w = scene.width.div_ceil(cols);
    let tile_h = scene.height.div_ceil(rows);
    if tile_w > MAX_TILE_SIDE || tile_h > MAX_TILE_SIDE {
        bail!(
            "{tasks} tiles of a {}×{} frame are {tile_w}×{tile_h} pixels; the renderer takes at most {MAX_TILE_SIDE}×{MAX_TILE_SIDE}: use more --tasks",
            scene.width,
            scene.height
        );
    }
    let mut out = Vec::new();
    for row in 0..rows {
        for col in 0..cols {
            let (left, top) = (col * tile_w, row * tile_h);
            if left >= scene.width || top >= scene.height {
                continue;
            }
            out.push(Tile {
                left,
                top,
                width: tile_w.min(scene.width - left),
                height: tile_h.min(scene.height - top),
            });
        }
    }
    Ok(out)
}

fn tile_input(scene: &Scene, tile: &Tile) -> Vec<u8> {
    [
        scene.width,
        scene.height,
        tile.left,
        tile.top,
        tile.width,
        tile.height,
        scene.max_iter,
    ]
    .iter()
    .flat_map(|v| v.to_le_bytes())
    .collect()
}

/// What the customer serves while its job runs: the module and each task's input.
pub(crate) struct Source {
    pub module: Vec<u8>,
    pub inputs: Vec<Vec<u8>>,
}

async fn serve_module(State(source): State<Arc<Source>>) -> impl IntoResponse {
    source.module.clone()
}

async fn serve_input(
    State(source): State<Arc<Source>>,
    UrlPath(task): UrlPath<usize>,
) -> axum::response::Response {
    match source.inputs.get(task) {
        Some(bytes) => bytes.clone().into_response(),
        None => (StatusCode::NOT_FOUND, "no such task").into_response(),
    }
}

/// Serves the job's module and inputs on `listen` from a background thread.
pub(crate) fn serve(listen: SocketAddr, source: Source) -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("binding {listen} to serve the job's module and inputs"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/module", axum::routing::get(serve_module))
        .route("/input/{task}", axum::routing::get(serve_input))
        .with_state(Arc::new(source));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the source server's runtime")?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                let _ = axum::serve(listener, app).await;
            }
        });
    });
    Ok(bound)
}

pub struct RunArgs {
    pub module: PathBuf,
    pub inputs: Vec<PathBuf>,
    pub tasks: Option<u32>,
    pub out: PathBuf,
    pub fuel: u64,
    pub max_price: Option<u64>,
    pub replication: u8,
    pub spot_check_bps: u16,
    pub serve: SocketAddr,
    pub source_url: Option<String>,
    pub timeout_secs: u64,
}

/// `compute run`: checks the module, cuts the work into tasks, serves module and inputs,
/// posts the job with its escrow, follows every task to its verdict, fetches each decided
/// output from a provider that computed it, checks it against the result on chain and writes
/// the PNG (a scene) or the outputs (raw inputs).
pub fn run(args: RunArgs, signer: &SignerArgs, client: &ClientArgs) -> Result<()> {
    let wasm = wat::parse_file(&args.module).with_context(|| {
        format!(
            "{} is not WebAssembly text or binary",
            args.module.display()
        )
    })?;
    // Refused here, by name, as a provider's agent would refuse it.
    groundwork_compute::check(&wasm)
        .with_context(|| format!("the module {} cannot be a job", args.module.display()))?;
    let scene_input =
        args.inputs.len() == 1 && args.inputs[0].extension().is_some_and(|e| e == "toml");
    let (inputs, scene) = if scene_input {
        let text = std::fs::read_to_string(&args.inputs[0])
            .with_context(|| format!("reading {}", args.inputs[0].display()))?;
        let scene: Scene = toml::from_str(&text).with_context(|| {
            format!(
                "{} is not a scene (width, height, max_iter)",
                args.inputs[0].display()
            )
        })?;
        let count = args.tasks.unwrap_or(16);
        if count == 0 || count as usize > groundwork_primitives::limits::MAX_TASKS_PER_JOB {
            bail!(
                "--tasks must be 1 to {}",
                groundwork_primitives::limits::MAX_TASKS_PER_JOB
            );
        }
        let tiles = tiles(&scene, count)?;
        let inputs = tiles
            .iter()
            .map(|t| tile_input(&scene, t))
            .collect::<Vec<_>>();
        (inputs, Some((scene, tiles)))
    } else {
        if args.tasks.is_some_and(|t| t as usize != args.inputs.len()) {
            bail!("with raw inputs, each --input is one task: --tasks must match or be left out");
        }
        let inputs = args
            .inputs
            .iter()
            .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
            .collect::<Result<Vec<_>>>()?;
        (inputs, None)
    };
    if inputs.is_empty() || inputs.len() > groundwork_primitives::limits::MAX_TASKS_PER_JOB {
        bail!(
            "a job has 1 to {} tasks",
            groundwork_primitives::limits::MAX_TASKS_PER_JOB
        );
    }
    let rpc = client.client()?;
    let status = rpc.status()?;
    let providers: api::ComputeProviderList = rpc.get("compute_listProviders", json!({}))?;
    let eligible: Vec<&api::ComputeProvider> = providers
        .providers
        .iter()
        .filter(|p| p.credits_per_mfuel.is_some() && p.max_fuel_per_task >= args.fuel)
        .collect();
    if eligible.len() < usize::from(args.replication) {
        bail!(
            "{} providers offering at least {} fuel per task are needed; the chain has {}",
            args.replication,
            args.fuel,
            eligible.len()
        );
    }
    // By default every offering provider is within the ceiling.
    let ceiling = args.max_price.unwrap_or_else(|| {
        eligible
            .iter()
            .filter_map(|p| p.credits_per_mfuel)
            .max()
            .unwrap_or(1)
    });
    let module_hash = *blake3::hash(&wasm).as_bytes();
    let input_hashes: Vec<[u8; 32]> = inputs.iter().map(|i| *blake3::hash(i).as_bytes()).collect();
    let bound = serve(
        args.serve,
        Source {
            module: wasm,
            inputs: inputs.clone(),
        },
    )?;
    let source = args
        .source_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let key = load_account_key(&signer.key, signer.keystore.as_deref())?;
    let sender = key_address(&key);
    let nonce = rpc.pending_nonce(&sender.to_string())?;
    let call = ComputeCall::Post {
        module_hash,
        inputs: input_hashes,
        fuel_limit: args.fuel,
        max_credits_per_mfuel: ceiling,
        replication: args.replication,
        spot_check_bps: args.spot_check_bps,
        source: BoundedBytes(source.clone().into_bytes()),
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
        bail!("the chain refused the job: {message} (code {code})");
    }
    let job = digest_hex(&job_id(&sender, nonce));
    eprintln!(
        "job {job}: {} tasks of up to {} fuel at up to {ceiling} credits per million fuel, r = {}, spot checks {} bps; module and inputs served at {source}",
        inputs.len(),
        args.fuel,
        args.replication,
        args.spot_check_bps
    );
    let record = follow(&rpc, &job, args.timeout_secs)?;
    let outputs = fetch_outputs(&rpc, &record)?;
    match scene {
        Some((scene, tiles)) => {
            let png = assemble(&scene, &tiles, &outputs)?;
            write_file(&args.out, &png)?;
            eprintln!(
                "wrote {} ({}×{} pixels from {} verified tiles)",
                args.out.display(),
                scene.width,
                scene.height,
                tiles.len()
            );
        }
        None => {
            std::fs::create_dir_all(&args.out)
                .with_context(|| format!("creating {}", args.out.display()))?;
            for (i, output) in outputs.iter().enumerate() {
                write_file(&args.out.join(format!("task-{i}.out")), output)?;
            }
            eprintln!(
                "wrote {} verified outputs under {}",
                outputs.len(),
                args.out.display()
            );
        }
    }
    let paid: u64 = record.tasks.iter().map(|t| t.paid_credits).sum();
    let fuel: u64 = record.tasks.iter().filter_map(|t| t.fuel_used).sum();
    if client.json {
        print_json(
            &json!({ "job": job, "paid_credits": paid, "fuel_used": fuel, "out": args.out }),
        )?;
    } else {
        println!("{job}");
    }
    Ok(())
}

/// Writes to a temporary name, fsyncs and renames into place.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("part");
    {
        let mut file =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// What a task's progress line says: its phase and, when closed, how it was verified.
fn stage(task: &api::ComputeTask) -> String {
    let round: Vec<&api::ComputeSlot> = task
        .slots
        .iter()
        .filter(|s| s.round == task.round)
        .collect();
    let committed = round.iter().filter(|s| s.committed).count();
    let revealed = round.iter().filter(|s| s.revealed).count();
    match task.phase.as_str() {
        "assigning" => "waiting for assignment".to_string(),
        "committing" => format!(
            "{}: assigned to {}, {committed} committed",
            task.round,
            round.len()
        ),
        "revealing" => format!("{}: {committed} committed, {revealed} revealed", task.round),
        "accepting" => format!(
            "unverified, accepted at block {} unless disputed",
            task.deadline
        ),
        _ => format!("{} ({} credits paid)", task.verification, task.paid_credits),
    }
}

/// Follows a job until every task is closed, printing each task's changes.
fn follow(rpc: &RpcClient, job: &str, timeout_secs: u64) -> Result<api::ComputeJob> {
    let started = Instant::now();
    let mut last: BTreeMap<u8, String> = BTreeMap::new();
    let mut record: api::ComputeJob = rpc.get("compute_getJob", json!({ "id": job }))?;
    let bar = ProgressBar::new(u64::from(record.task_count));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} tasks closed",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    loop {
        for task in &record.tasks {
            let line = stage(task);
            if last.get(&task.index) != Some(&line) {
                bar.println(format!("task {:>2}: {line}", task.index));
                last.insert(task.index, line);
            }
        }
        let closed = record.tasks.iter().filter(|t| t.phase == "closed").count();
        bar.set_position(closed as u64);
        if record.open_tasks == 0 {
            bar.finish_and_clear();
            return Ok(record);
        }
        if started.elapsed() > Duration::from_secs(timeout_secs) {
            bar.abandon();
            bail!(
                "{} tasks are still open after {timeout_secs} s; `groundwork compute show {job}` follows them",
                record.open_tasks
            );
        }
        std::thread::sleep(Duration::from_millis(500));
        record = rpc.get("compute_getJob", json!({ "id": job }))?;
    }
}

/// Each task's output, from a provider whose outcome was the decided one, checked against
/// the result on chain.
fn fetch_outputs(rpc: &RpcClient, record: &api::ComputeJob) -> Result<Vec<Vec<u8>>> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut outputs = Vec::new();
    for task in &record.tasks {
        let Some(result) = &task.result else {
            bail!(
                "task {} ended {} without a decided result",
                task.index,
                task.verification
            );
        };
        if task.out_of_fuel == Some(true) {
            bail!(
                "task {} ran out of fuel at {} (paid for it); run again with a higher --fuel",
                task.index,
                record.fuel_limit
            );
        }
        let mut fetched = None;
        let mut reasons = Vec::new();
        for slot in task.slots.iter().filter(|s| s.verdict == "agreed") {
            let provider: api::ComputeProvider =
                match rpc.get("compute_getProvider", json!({ "device": slot.device })) {
                    Ok(p) => p,
                    Err(e) => {
                        reasons.push(format!("{}: {e}", slot.device));
                        continue;
                    }
                };
            let url = format!(
                "{}/compute/{}/{}",
                provider.endpoint.trim_end_matches('/'),
                record.id,
                task.index
            );
            // An output is at most the runtime's limit: no more of an answer is read.
            let most = groundwork_compute::Limits::DEFAULT.max_output_bytes as u64;
            let bytes = http
                .get(&url)
                .send()
                .and_then(|r| r.error_for_status())
                .map_err(anyhow::Error::from)
                .and_then(|r| crate::rpc_client::read_at_most(r, most));
            match bytes {
                Ok(bytes) if hex::encode(blake3::hash(&bytes).as_bytes()) == *result => {
                    fetched = Some(bytes.to_vec());
                    break;
                }
                Ok(_) => reasons.push(format!(
                    "{}: its output does not match the result",
                    slot.device
                )),
                Err(e) => reasons.push(format!("{}: {e}", slot.device)),
            }
        }
        let Some(bytes) = fetched else {
            bail!(
                "no provider served task {}'s verified output: {}",
                task.index,
                reasons.join("; ")
            );
        };
        outputs.push(bytes);
    }
    Ok(outputs)
}

/// The frame as a PNG from its tiles' RGBA pixels.
fn assemble(scene: &Scene, tiles: &[Tile], outputs: &[Vec<u8>]) -> Result<Vec<u8>> {
    let (w, h) = (scene.width as usize, scene.height as usize);
    let mut pixels = vec![0u8; w * h * 4];
    for (tile, output) in tiles.iter().zip(outputs) {
        let row_bytes = tile.width as usize * 4;
        if output.len() != row_bytes * tile.height as usize {
            bail!(
                "a tile of {}×{} pixels came back as {} bytes",
                tile.width,
                tile.height,
                output.len()
            );
        }
        for (y, row) in output.chunks_exact(row_bytes).enumerate() {
            let at = ((tile.top as usize + y) * w + tile.left as usize) * 4;
            pixels[at..at + row_bytes].copy_from_slice(row);
        }
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, scene.width, scene.height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().context("encoding the PNG")?;
        writer
            .write_image_data(&pixels)
            .context("encoding the PNG")?;
    }
    Ok(png)
}

pub fn offer(
    device: &str,
    max_fuel: u64,
    collateral: &str,
    endpoint: &str,
    signer: &SignerArgs,
    client: &ClientArgs,
) -> Result<()> {
    let device = parse_device(device)?;
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
    send(client, signer, |_, status| {
        let collateral = account::parse_amount(collateral, status, base_units)?;
        Ok(ComputeCall::Offer {
            device,
            max_fuel_per_task: max_fuel,
            collateral,
            endpoint: BoundedBytes(endpoint.as_bytes().to_vec()),
        })
    })
}

pub fn dispute(job: &str, task: u8, signer: &SignerArgs, client: &ClientArgs) -> Result<()> {
    let job = digest_from_hex(job).with_context(|| format!("{job:?} is not a job id"))?;
    send(client, signer, |_, _| {
        Ok(ComputeCall::Dispute { job, task })
    })
}

pub fn show(job: &str, client: &ClientArgs) -> Result<()> {
    let rpc = client.client()?;
    let record: api::ComputeJob = rpc.get("compute_getJob", json!({ "id": job }))?;
    if client.json {
        return print_json(&record);
    }
    println!("job          {}", record.id);
    println!("customer     {}", record.customer);
    println!("module       BLAKE3 {}", record.module_hash);
    println!(
        "tasks        {} ({} open), up to {} fuel each, r = {}, spot checks {} bps, ceiling {} credits per million fuel",
        record.task_count,
        record.open_tasks,
        record.fuel_limit,
        record.replication,
        record.spot_check_bps,
        record.max_credits_per_mfuel
    );
    let mut rows = vec![
        [
            "task",
            "phase",
            "verified",
            "fuel",
            "paid",
            "escrow",
            "computed by",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for t in &record.tasks {
        let by: Vec<String> = t
            .slots
            .iter()
            .filter(|s| s.round == "primary")
            .map(|s| format!("{} ({})", s.device, s.verdict))
            .collect();
        rows.push(vec![
            t.index.to_string(),
            t.phase.clone(),
            t.verification.clone(),
            t.fuel_used.map_or("-".into(), |f| f.to_string()),
            t.paid_credits.to_string(),
            t.escrow_credits.to_string(),
            by.join(", "),
        ]);
    }
    print!("{}", columns(&rows));
    for t in &record.tasks {
        println!("\ntask {}:", t.index);
        for line in &t.explanation {
            println!("  {line}");
        }
    }
    Ok(())
}

pub fn list(customer: &str, client: &ClientArgs) -> Result<()> {
    let rpc = client.client()?;
    let list: api::ComputeJobList = rpc.get("compute_listJobs", json!({ "customer": customer }))?;
    if client.json {
        return print_json(&list);
    }
    let mut rows = vec![
        ["job", "tasks", "open", "posted", "paid"]
            .map(String::from)
            .to_vec(),
    ];
    for j in &list.jobs {
        let paid: u64 = j.tasks.iter().map(|t| t.paid_credits).sum();
        rows.push(vec![
            j.id.clone(),
            j.task_count.to_string(),
            j.open_tasks.to_string(),
            j.posted_at.to_string(),
            paid.to_string(),
        ]);
    }
    print!("{}", columns(&rows));
    Ok(())
}
