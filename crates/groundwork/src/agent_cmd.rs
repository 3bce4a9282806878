//! `groundwork agent`: the program that runs on a device.
//!
//! It follows the chain head (a few times per heartbeat interval) and every `interval_secs`
//! signs a heartbeat naming the newest block it knows and sends it to the node. A heartbeat must name a block the chain knows and at most
//! `heartbeat_max_age_blocks` old when it lands, so a device cannot sign heartbeats in
//! advance. While the node is unreachable the agent signs with the newest block it knew and
//! keeps the reports in an on-disk queue (rewritten atomically, so a crash or SIGTERM leaves it
//! whole). When the node is back it sends the queued reports that are still fresh, oldest
//! first and one at a time (the mempool holds one heartbeat per device), and drops the stale
//! ones with a log line.
//!
//! A wireless device's agent also beacons: with a `[radio]` section it signs a beacon naming
//! the newest block once per beacon interval (never queued: a beacon must be fresh). The radio
//! driver tells it what it heard by appending one JSON line per received beacon to the
//! `heard` file; the agent signs each as a witness report and sends it once, remembering how
//! far it has read in `<heard>.offset`.
//!
//! Logs are one JSON object per line on stderr (`--log-format text` for people).

use crate::keys_cmd::load_device_key;
use crate::rpc_client::{CallError, DEFAULT_RPC_URL, RpcClient};
use anyhow::{Context, Result, bail};
use clap::Args;
use commonware_codec::Encode;
use groundwork_agent::ChainView;
use groundwork_agent::coverage::{self, BeaconProver, WitnessProver};
use groundwork_agent::uptime::UptimeProver;
use groundwork_primitives::hash::{digest_from_hex, digest_hex};
use groundwork_primitives::{BeaconRadio, DeviceKey, Transaction};
use groundwork_state::UptimeError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Most reports kept while offline; the oldest go first (they would be stale anyway).
const MAX_QUEUED_REPORTS: usize = 1_024;
/// The node's code for a report refused because the device already has one pending.
fn report_pending_code() -> i64 {
    let pending = groundwork_node::mempool::MempoolError::ReportPending {
        module: "",
        message: "",
    };
    i64::from(groundwork_node::rpc::code::TRANSACTION_REFUSED_BASE) + i64::from(pending.code())
}

/// The node's code for a heartbeat refused because its window already has one.
fn window_taken_code() -> i64 {
    let window_taken =
        groundwork_state::TxError::Uptime(UptimeError::HeartbeatAlreadyInWindow { window: 0 });
    i64::from(groundwork_node::rpc::code::TRANSACTION_UNINCLUDABLE_BASE)
        + i64::from(window_taken.code())
}

#[derive(Args)]
pub struct AgentArgs {
    /// The agent's configuration file (TOML). See docs/agent.md.
    #[arg(long)]
    config: PathBuf,
    /// Log format: json (one object per line) or text.
    #[arg(long, default_value = "json")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

/// The agent's configuration file. Relative paths are relative to the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentFile {
    /// The node's JSON-RPC URL.
    #[serde(default = "default_rpc")]
    rpc: String,
    /// The device key: a keystore key name, a PKCS#8 PEM file (ed25519 or P-256), or a plain
    /// key file. A keystore key's passphrase comes from GROUNDWORK_PASSPHRASE.
    device_key: String,
    /// Keystore directory, for a device key given by name.
    #[serde(default)]
    keystore: Option<PathBuf>,
    /// Where unsent reports wait while the node is unreachable.
    queue: PathBuf,
    /// Seconds between heartbeats.
    #[serde(default = "default_interval")]
    interval_secs: u64,
    /// A wireless device's radio: with it, the agent beacons once per beacon interval.
    #[serde(default)]
    radio: Option<RadioSection>,
    /// A file the radio driver appends heard beacons to, one JSON object per line
    /// (`{"beacon":"<64 hex>","rssi_dbm":-95,"snr_cdb":-500,"frequency_hz":904600000}`); the
    /// agent sends each as a witness report. Needs `[radio]` for the antenna gain.
    #[serde(default)]
    heard: Option<PathBuf>,
    /// Where the agent writes its counts (reports sent, refused by code, failed sends) as
    /// Prometheus text after every heartbeat, for a textfile collector. Defaults to the queue's
    /// path with the extension `.metrics.prom`.
    #[serde(default)]
    metrics_file: Option<PathBuf>,
    /// The device's service port, where customers trade usage vouchers with it.
    #[serde(default)]
    service: Option<ServiceSection>,
    /// A storage device's shards: kept under `dir`, taken and served over the service port,
    /// and proven every period.
    #[serde(default)]
    storage: Option<StorageSection>,
    /// A compute device's tasks: run under the chain's runtime, outcomes kept under `dir`,
    /// outputs served over the service port.
    #[serde(default)]
    compute: Option<ComputeSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ComputeSection {
    /// Where outcomes and outputs are kept (relative to the config file).
    dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSection {
    /// Where shards are kept (relative to the config file).
    dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceSection {
    /// Address to listen on, e.g. `0.0.0.0:9400`.
    listen: std::net::SocketAddr,
    /// Where co-signed vouchers are kept. Defaults to the queue's path with the extension
    /// `.vouchers.json`.
    #[serde(default)]
    vouchers: Option<PathBuf>,
}

/// What the agent counts of its own reports.
#[derive(Default)]
struct AgentStats {
    /// Reports the node accepted, by kind.
    sent: std::collections::BTreeMap<&'static str, u64>,
    /// Reports the node refused, by kind and code.
    refused: std::collections::BTreeMap<(&'static str, i64), u64>,
    /// Sends that did not reach the node.
    failed: u64,
}

impl AgentStats {
    fn sent(&mut self, kind: &'static str) {
        *self.sent.entry(kind).or_default() += 1;
    }

    fn refused(&mut self, kind: &'static str, code: i64) {
        *self.refused.entry((kind, code)).or_default() += 1;
    }

    /// The counts in Prometheus text format.
    fn render(&self, queued: usize) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let header = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        header(
            &mut out,
            "groundwork_agent_reports_sent_total",
            "counter",
            "reports the node accepted",
        );
        for (kind, n) in &self.sent {
            let _ = writeln!(
                out,
                "groundwork_agent_reports_sent_total{{report=\"{kind}\"}} {n}"
            );
        }
        header(
            &mut out,
            "groundwork_agent_reports_refused_total",
            "counter",
            "reports the node refused, by its code",
        );
        for ((kind, code), n) in &self.refused {
            let _ = writeln!(
                out,
                "groundwork_agent_reports_refused_total{{report=\"{kind}\",code=\"{code}\"}} {n}"
            );
        }
        header(
            &mut out,
            "groundwork_agent_send_failures_total",
            "counter",
            "sends that did not reach the node",
        );
        let _ = writeln!(out, "groundwork_agent_send_failures_total {}", self.failed);
        header(
            &mut out,
            "groundwork_agent_queued_reports",
            "gauge",
            "reports waiting for the node",
        );
        let _ = writeln!(out, "groundwork_agent_queued_reports {queued}");
        out
    }

    /// Replaces `path` with the counts (written beside it, then renamed, so a reader never
    /// sees half a file).
    fn write(&self, path: &Path, queued: usize) -> Result<()> {
        let partial = path.with_extension("prom.partial");
        fs::write(&partial, self.render(queued))
            .with_context(|| format!("writing {}", partial.display()))?;
        fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))
    }
}

/// What the device's radio transmits and its antenna, as the device states them.
#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct RadioSection {
    tx_power_dbm: i16,
    frequency_hz: u64,
    /// Antenna gain in tenths of a dBi.
    antenna_gain_ddbi: i16,
}

/// One beacon the radio driver heard.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeardBeacon {
    beacon: String,
    rssi_dbm: i16,
    snr_cdb: i16,
    frequency_hz: u64,
}

/// Most bytes of the `heard` file read per tick.
const MAX_HEARD_READ: u64 = 1 << 20;

/// The `heard` file and how far the agent has read it.
struct Heard {
    path: PathBuf,
    offset_path: PathBuf,
    offset: u64,
}

impl Heard {
    fn open(path: PathBuf) -> Result<Self> {
        let offset_path = path.with_extension("offset");
        let offset = match fs::read_to_string(&offset_path) {
            Ok(text) => text
                .trim()
                .parse()
                .with_context(|| format!("{} is not a byte offset", offset_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e).with_context(|| format!("reading {}", offset_path.display())),
        };
        Ok(Self {
            path,
            offset_path,
            offset,
        })
    }

    /// Complete lines appended since the last read, with the offset after each.
    fn new_lines(&self) -> Result<Vec<(String, u64)>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = match fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.path.display())),
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        // At most 1 MiB per tick: a flood waits for the next one.
        file.take(MAX_HEARD_READ).read_to_end(&mut bytes)?;
        let mut lines = Vec::new();
        let mut at = self.offset;
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            if line.last() != Some(&b'\n') {
                break; // still being written
            }
            at += line.len() as u64;
            lines.push((String::from_utf8_lossy(line).trim().to_string(), at));
        }
        if lines.is_empty() && bytes.len() as u64 == MAX_HEARD_READ {
            // A "line" of 1 MiB with no end is no report: skip it (it is logged as invalid)
            // rather than read it again forever.
            lines.push((
                "<over 1 MiB without a line end>".to_string(),
                self.offset + MAX_HEARD_READ,
            ));
        }
        Ok(lines)
    }

    /// Records that everything before `offset` is handled (atomically, like the queue).
    fn advance(&mut self, offset: u64) -> Result<()> {
        let tmp = self.offset_path.with_extension("offset.tmp");
        fs::write(&tmp, offset.to_string())
            .with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, &self.offset_path)
            .with_context(|| format!("replacing {}", self.offset_path.display()))?;
        self.offset = offset;
        Ok(())
    }
}

fn default_rpc() -> String {
    DEFAULT_RPC_URL.to_string()
}

fn default_interval() -> u64 {
    10
}

/// One signed report waiting to be sent.
#[derive(Clone, Serialize, Deserialize)]
struct QueuedReport {
    /// Hex of the signed transaction.
    tx: String,
    /// The block it names and that block's height.
    block: String,
    block_height: u64,
    /// When it was made (Unix milliseconds), for the logs.
    made_at_ms: u64,
}

/// The on-disk queue.
struct Queue {
    path: PathBuf,
    reports: Vec<QueuedReport>,
}

impl Queue {
    fn open(path: PathBuf) -> Result<Self> {
        let reports = match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!(
                    "queue file {} is corrupted; move it away to start with an empty queue",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(Self { path, reports })
    }

    /// Writes the queue to a temporary file, syncs it, then renames it over the old one.
    fn save(&self) -> Result<()> {
        let tmp = self.path.with_extension("tmp");
        let text = serde_json::to_string(&self.reports)?;
        {
            use std::io::Write;
            let mut file =
                fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
        }
        fs::rename(&tmp, &self.path)
            .with_context(|| format!("replacing {}", self.path.display()))?;
        Ok(())
    }

    fn push(&mut self, report: QueuedReport) -> Result<bool> {
        // Reports naming the same block are the same signed bytes: keep one.
        if self.reports.iter().any(|r| r.tx == report.tx) {
            return Ok(false);
        }
        self.reports.push(report);
        if self.reports.len() > MAX_QUEUED_REPORTS {
            self.reports.remove(0);
        }
        self.save()?;
        Ok(true)
    }
}

struct Logger {
    format: LogFormat,
    device: String,
}

impl Logger {
    fn log(&self, level: &str, event: &str, fields: Value) {
        let ts = now_ms();
        match self.format {
            LogFormat::Json => {
                let mut line =
                    json!({ "ts_ms": ts, "level": level, "event": event, "device": self.device });
                if let (Value::Object(line), Value::Object(fields)) = (&mut line, fields) {
                    line.extend(fields);
                }
                eprintln!("{line}");
            }
            LogFormat::Text => {
                let mut text = format!("{level:<5} {event}");
                if let Value::Object(fields) = fields {
                    for (k, v) in fields {
                        text.push_str(&format!(" {k}={v}"));
                    }
                }
                eprintln!("{text}");
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// The newest block the agent knows, and the chain's heartbeat limits.
struct Known {
    max_age: u64,
    view: ChainView,
}

pub fn run(args: AgentArgs) -> Result<()> {
    let text = fs::read_to_string(&args.config)
        .with_context(|| format!("reading agent config {}", args.config.display()))?;
    let file: AgentFile = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid agent config", args.config.display()))?;
    if file.interval_secs == 0 {
        bail!("interval_secs must be at least 1");
    }
    if file.heard.is_some() && file.radio.is_none() {
        bail!("`heard` needs a [radio] section: witness reports state the antenna gain");
    }
    let base = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // A key given as a path is relative to the config; a keystore name is not a path.
    let key_spec = {
        let candidate = resolve(&base, Path::new(&file.device_key));
        if candidate.exists() {
            candidate.display().to_string()
        } else {
            file.device_key.clone()
        }
    };
    let keystore = file.keystore.as_ref().map(|k| resolve(&base, k));
    let key = load_device_key(&key_spec, keystore.as_deref())?;
    let queue_path = resolve(&base, &file.queue);
    if let Some(dir) = queue_path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let metrics_file = match &file.metrics_file {
        Some(path) => resolve(&base, path),
        None => queue_path.with_extension("metrics.prom"),
    };
    let storage = match &file.storage {
        Some(section) if file.service.is_none() => {
            let _ = section;
            bail!(
                "`[storage]` needs a [service] section: clients upload and fetch shards over the service port"
            );
        }
        Some(section) => Some(Arc::new(crate::storage_port::StoragePort::new(
            crate::storage_port::ShardStore::open(resolve(&base, &section.dir))?,
            key.clone(),
            file.rpc.clone(),
        ))),
        None => None,
    };
    let compute = match &file.compute {
        Some(_) if file.service.is_none() => bail!(
            "`[compute]` needs a [service] section: customers fetch task outputs over the service port"
        ),
        Some(section) => Some(Arc::new(crate::compute_worker::ComputeWorker::open(
            resolve(&base, &section.dir),
            key.clone(),
            crate::compute_worker::Behaviour::Honest,
        )?)),
        None => None,
    };
    let service = match &file.service {
        Some(section) => {
            let store = match &section.vouchers {
                Some(path) => resolve(&base, path),
                None => queue_path.with_extension("vouchers.json"),
            };
            Some(crate::service_port::start(
                section.listen,
                key.clone(),
                file.rpc.clone(),
                store,
                storage.clone(),
                compute.clone(),
            )?)
        }
        None => None,
    };
    let mut queue = Queue::open(queue_path)?;
    let heard = match &file.heard {
        Some(path) => Some(Heard::open(resolve(&base, path))?),
        None => None,
    };
    let radio = file.radio.map(|r| BeaconRadio {
        tx_power_dbm: r.tx_power_dbm,
        frequency_hz: r.frequency_hz,
        antenna_gain_ddbi: r.antenna_gain_ddbi,
    });
    let rpc = RpcClient::new(&file.rpc, Duration::from_secs(5))?;
    let logger = Logger {
        format: args.log_format,
        device: key.id().to_string(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    logger.log(
        "info",
        "agent_started",
        json!({
            "rpc": rpc.url(),
            "queued": queue.reports.len(),
            "interval_secs": file.interval_secs,
            "service": service.map(|a| format!("http://{a}")),
        }),
    );
    let mut agent = Agent {
        rpc,
        key,
        logger,
        known: None,
        online: false,
        last_delivered: None,
        beacons: radio.map(BeaconProver::new),
        witnesses: radio.map(|r| WitnessProver::new(r.antenna_gain_ddbi)),
        heard,
        interval_secs: file.interval_secs,
        pace: Pace::Unknown,
        stats: AgentStats::default(),
        storage,
        compute,
    };
    let interval = Duration::from_secs(file.interval_secs);
    // Follow the chain head several times per heartbeat, so the newest block known when the
    // node disappears is newer than the one the last delivered heartbeat named.
    let follow = (interval / 4).clamp(Duration::from_millis(250), Duration::from_secs(5));
    let mut next_beat = Instant::now();
    let mut next_follow = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() >= next_follow {
            next_follow = Instant::now() + follow;
            agent.refresh()?;
            agent.beacon();
            agent.prove_storage();
            agent.run_compute();
        }
        agent.witness()?;
        if Instant::now() >= next_beat {
            next_beat = Instant::now() + interval;
            agent.beat(&mut queue)?;
            if let Err(error) = agent.stats.write(&metrics_file, queue.reports.len()) {
                agent.logger.log(
                    "warn",
                    "metrics_unwritable",
                    json!({ "reason": format!("{error:#}") }),
                );
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    agent.logger.log(
        "info",
        "agent_stopped",
        json!({ "queued": queue.reports.len() }),
    );
    Ok(())
}

/// What became of a submitted report.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// In the mempool.
    Accepted,
    /// Refused for good (the reason is logged); never retried.
    Refused,
    /// The device's previous heartbeat is still pending, or its window already has one: a
    /// queued report is tried again next tick.
    Later,
    /// The node could not be reached.
    Unreachable,
}

struct Agent {
    rpc: RpcClient,
    key: DeviceKey,
    logger: Logger,
    known: Option<Known>,
    /// Whether the last contact with the node worked.
    online: bool,
    /// The block named by the last heartbeat the node accepted: signing it again would only
    /// repeat the same bytes.
    last_delivered: Option<String>,
    /// A wireless device's beacons and witness reports (it has a radio).
    beacons: Option<BeaconProver>,
    witnesses: Option<WitnessProver>,
    heard: Option<Heard>,
    /// The configured heartbeat interval, to compare with the chain's heartbeat window.
    interval_secs: u64,
    pace: Pace,
    stats: AgentStats,
    /// A storage device's shards, proven every period.
    storage: Option<Arc<crate::storage_port::StoragePort>>,
    /// A compute device's tasks.
    compute: Option<Arc<crate::compute_worker::ComputeWorker>>,
}

/// What the agent has learnt of the chain's block pace, to warn once when its interval is
/// shorter than a heartbeat window (only one heartbeat per window counts).
enum Pace {
    Unknown,
    /// First seen at this height and moment.
    Measuring {
        height: u64,
        at: Instant,
    },
    Checked,
}

/// Blocks to watch before judging the chain's pace.
const PACE_SAMPLE_BLOCKS: u64 = 5;

impl Agent {
    /// Measures the block pace once, then warns if `interval_secs` is shorter than a heartbeat
    /// window: the node refuses every heartbeat after a window's first (code 5013).
    fn check_pace(&mut self, height: u64, window_blocks: u64) {
        match self.pace {
            Pace::Unknown => {
                self.pace = Pace::Measuring {
                    height,
                    at: Instant::now(),
                }
            }
            Pace::Measuring { height: from, at } if height >= from + PACE_SAMPLE_BLOCKS => {
                let ms_per_block = at.elapsed().as_millis() as u64 / (height - from);
                let window_secs = window_blocks.saturating_mul(ms_per_block) / 1_000;
                if self.interval_secs < window_secs {
                    self.logger.log(
                        "warn",
                        "interval_shorter_than_window",
                        json!({
                            "interval_secs": self.interval_secs,
                            "window_blocks": window_blocks,
                            "window_secs": window_secs,
                            "advice": "only the first heartbeat of a window counts; set interval_secs to at least the window",
                        }),
                    );
                }
                self.pace = Pace::Checked;
            }
            _ => {}
        }
    }

    /// Follows the chain head; logs when the node goes away and comes back.
    fn refresh(&mut self) -> Result<()> {
        match self.rpc.status() {
            Ok(status) => {
                self.known = Some(Known {
                    max_age: status.answer.heartbeat_max_age_blocks,
                    view: status.view(),
                });
                self.check_pace(status.height, status.answer.heartbeat_window_blocks);
                if !self.online {
                    self.logger
                        .log("info", "node_reachable", json!({ "height": status.height }));
                }
                self.online = true;
            }
            Err(CallError::Unreachable { reason, .. }) => {
                if self.online {
                    self.logger
                        .log("warn", "node_unreachable", json!({ "reason": reason }));
                }
                self.online = false;
            }
            Err(other) => {
                self.logger
                    .log("warn", "node_error", json!({ "reason": other.to_string() }));
            }
        }
        Ok(())
    }

    fn sign(&self) -> Option<QueuedReport> {
        let known = self.known.as_ref()?;
        let tx = Transaction::Device(UptimeProver::heartbeat(&self.key, &known.view));
        Some(QueuedReport {
            tx: hex::encode(tx.encode()),
            block: digest_hex(&known.view.block),
            block_height: known.view.height,
            made_at_ms: now_ms(),
        })
    }

    /// A compute device's pass over its assignments: run and commit, then reveal.
    fn run_compute(&mut self) {
        let Some(worker) = self.compute.clone() else {
            return;
        };
        let Some(chain) = self.known.as_ref().map(|k| k.view.chain_id.clone()) else {
            return;
        };
        let pass = worker.pass(&self.rpc, &chain);
        for (job, task, fuel) in &pass.committed {
            self.stats.sent("compute_commit");
            self.logger.log(
                "info",
                "task_committed",
                json!({ "job": job, "task": task, "fuel_used": fuel }),
            );
        }
        for (job, task) in &pass.revealed {
            self.stats.sent("compute_reveal");
            self.logger
                .log("info", "task_revealed", json!({ "job": job, "task": task }));
        }
        for (task, reason) in &pass.failed {
            self.logger.log(
                "warn",
                "compute_task_failed",
                json!({ "task": task, "reason": reason }),
            );
        }
    }

    /// A storage device's pass over its deals: accept, prove the open period, forget closed.
    fn prove_storage(&mut self) {
        let Some(port) = self.storage.clone() else {
            return;
        };
        let Some(chain) = self.known.as_ref().map(|k| k.view.chain_id.clone()) else {
            return;
        };
        let pass = crate::storage_port::prove_due(&self.rpc, &self.key, &chain, &port.store);
        for deal in &pass.accepted {
            self.logger
                .log("info", "deal_accepted", json!({ "deal": deal }));
        }
        for (deal, period) in &pass.proven {
            self.stats.sent("storage_proof");
            self.logger.log(
                "info",
                "storage_proven",
                json!({ "deal": deal, "period": period }),
            );
        }
        for deal in &pass.forgotten {
            self.logger
                .log("info", "deal_closed", json!({ "deal": deal }));
        }
        for (deal, reason) in &pass.failed {
            self.logger.log(
                "warn",
                "storage_proof_failed",
                json!({ "deal": deal, "reason": reason }),
            );
        }
        let checks = crate::storage_port::check_due(&self.rpc, &port, &chain);
        for (deal, block, ok) in &checks.posted {
            self.stats.sent("retrieval_check");
            self.logger.log(
                "info",
                "retrieval_checked",
                json!({ "deal": deal, "block": block, "ok": ok }),
            );
        }
        for (deal, reason) in &checks.failed {
            self.logger.log(
                "warn",
                "retrieval_check_failed",
                json!({ "deal": deal, "reason": reason }),
            );
        }
    }

    /// Sends a beacon if the device has a radio, the node is there and a beacon interval has
    /// passed since the last one (with two blocks of slack: the interval counts from the block
    /// a beacon lands in). Beacons are never queued: one signed on an old block is stale.
    fn beacon(&mut self) {
        let (Some(prover), Some(known)) = (self.beacons.as_mut(), &self.known) else {
            return;
        };
        if !self.online {
            return;
        }
        let height = known.view.height;
        let Some(beacon) = prover.prove(&self.key, &known.view) else {
            return;
        };
        let (tx, beacon) = (beacon.transaction, digest_hex(&beacon.id));
        match self.rpc.submit(&Transaction::Device(tx)) {
            Ok(hash) => {
                self.logger.log(
                    "info",
                    "beacon_sent",
                    json!({ "beacon": beacon, "hash": hash, "block_height": height }),
                );
                self.stats.sent("beacon");
            }
            Err(CallError::Rpc { code, message }) => {
                self.stats.refused("beacon", code);
                self.logger.log(
                    "warn",
                    "beacon_refused",
                    json!({ "code": code, "message": message, "block_height": height }),
                );
            }
            Err(other) => self.lost_node(&other),
        }
    }

    /// The node could not be reached while sending: log it and wait for it to come back.
    fn lost_node(&mut self, error: &CallError) {
        self.stats.failed += 1;
        self.logger.log(
            "warn",
            "send_failed",
            json!({ "reason": error.to_string() }),
        );
        self.online = false;
    }

    /// Sends a witness report for each beacon the radio driver has reported since the last
    /// tick. A malformed line or a refused report is logged and skipped; while the node is
    /// unreachable nothing is consumed.
    fn witness(&mut self) -> Result<()> {
        let (Some(prover), Some(chain)) = (
            self.witnesses,
            self.known.as_ref().map(|k| k.view.chain_id.clone()),
        ) else {
            return Ok(());
        };
        let Some(heard) = &self.heard else {
            return Ok(());
        };
        if !self.online {
            return Ok(());
        }
        let lines = heard.new_lines()?;
        for (line, offset) in lines {
            if !line.is_empty() {
                let parsed = serde_json::from_str::<HeardBeacon>(&line)
                    .map_err(|e| e.to_string())
                    .and_then(|h| {
                        let beacon = digest_from_hex(&h.beacon)
                            .ok_or_else(|| "beacon is not 64 hex characters".to_string())?;
                        Ok((beacon, h))
                    });
                match parsed {
                    Err(reason) => self.logger.log(
                        "warn",
                        "heard_line_invalid",
                        json!({ "line": line, "reason": reason }),
                    ),
                    Ok((beacon, h)) => {
                        let heard = coverage::Heard {
                            beacon,
                            rssi_dbm: h.rssi_dbm,
                            snr_cdb: h.snr_cdb,
                            frequency_hz: h.frequency_hz,
                        };
                        let tx = prover.prove(&self.key, &chain, heard);
                        match self.rpc.submit(&Transaction::Device(tx)) {
                            Ok(hash) => {
                                self.stats.sent("witness");
                                self.logger.log(
                                    "info",
                                    "witness_sent",
                                    json!({ "beacon": h.beacon, "rssi_dbm": h.rssi_dbm, "hash": hash }),
                                )
                            }
                            Err(CallError::Rpc { code, message }) => {
                                self.stats.refused("witness", code);
                                self.logger.log(
                                    "warn",
                                    "witness_refused",
                                    json!({ "beacon": h.beacon, "code": code, "message": message }),
                                )
                            }
                            Err(other) => {
                                self.lost_node(&other);
                                return Ok(());
                            }
                        }
                    }
                }
            }
            if let Some(heard) = self.heard.as_mut() {
                heard.advance(offset)?;
            }
        }
        Ok(())
    }

    /// One heartbeat: sent now if the node is there, queued if not.
    fn beat(&mut self, queue: &mut Queue) -> Result<()> {
        let Some(report) = self.sign() else {
            if !self.online {
                self.logger.log(
                    "warn",
                    "no_block_known",
                    json!({ "detail": "the node has not been reached yet, so there is nothing to sign" }),
                );
            }
            return Ok(());
        };
        if self.last_delivered.as_ref() == Some(&report.block) {
            // No block newer than the last delivered heartbeat's: nothing new to prove.
            return Ok(());
        }
        if !self.online {
            let block_height = report.block_height;
            if queue.push(report)? {
                self.logger.log(
                    "info",
                    "heartbeat_queued",
                    json!({ "block_height": block_height, "queued": queue.reports.len() }),
                );
            }
            return Ok(());
        }
        if !queue.reports.is_empty() {
            return self.flush(queue);
        }
        match self.send(&report, "heartbeat_sent") {
            Sent::Accepted => self.last_delivered = Some(report.block),
            Sent::Unreachable => {
                self.online = false;
                queue.push(report)?;
            }
            Sent::Refused | Sent::Later => {}
        }
        Ok(())
    }

    /// Sends the oldest fresh queued report (one per tick: the mempool holds one heartbeat per
    /// device) after dropping the stale ones.
    fn flush(&mut self, queue: &mut Queue) -> Result<()> {
        let Some(known) = &self.known else {
            return Ok(());
        };
        let (height, max_age) = (known.view.height, known.max_age);
        // A report lands at least one block after now, so it must be fresh for the next block.
        let before = queue.reports.len();
        let logger = &self.logger;
        queue.reports.retain(|r| {
            let age = (height + 1).saturating_sub(r.block_height);
            let fresh = age <= max_age;
            if !fresh {
                logger.log(
                    "info",
                    "stale_heartbeat_dropped",
                    json!({ "block_height": r.block_height, "age_blocks": age, "max_age_blocks": max_age, "made_at_ms": r.made_at_ms }),
                );
            }
            fresh
        });
        if queue.reports.len() != before {
            queue.save()?;
        }
        let Some(report) = queue.reports.first().cloned() else {
            return Ok(());
        };
        match self.send(&report, "queued_heartbeat_sent") {
            Sent::Accepted => {
                self.last_delivered = Some(report.block);
                queue.reports.remove(0);
                queue.save()?;
            }
            Sent::Refused => {
                queue.reports.remove(0);
                queue.save()?;
            }
            Sent::Later => {}
            Sent::Unreachable => self.online = false,
        }
        Ok(())
    }

    /// Submits a report.
    fn send(&mut self, report: &QueuedReport, event: &str) -> Sent {
        let transaction = match hex::decode(&report.tx)
            .ok()
            .and_then(|b| Transaction::decode_untrusted(&b).ok())
        {
            Some(t) => t,
            None => {
                self.logger
                    .log("error", "report_unreadable", json!({ "tx": report.tx }));
                return Sent::Refused;
            }
        };
        match self.rpc.submit(&transaction) {
            Ok(hash) => {
                self.logger.log(
                    "info",
                    event,
                    json!({ "hash": hash, "block_height": report.block_height }),
                );
                self.stats.sent("heartbeat");
                Sent::Accepted
            }
            Err(CallError::Rpc { code, .. }) if code == report_pending_code() => {
                self.logger.log("debug", "heartbeat_pending", json!({}));
                Sent::Later
            }
            Err(CallError::Rpc { code, message }) => {
                self.stats.refused("heartbeat", code);
                self.logger.log(
                    "warn",
                    "heartbeat_refused",
                    json!({ "code": code, "message": message, "block_height": report.block_height }),
                );
                // The window already has this device's heartbeat: a queued report may count in
                // the next one, so it is kept (a fresh one is simply not sent again).
                if code == window_taken_code() {
                    Sent::Later
                } else {
                    Sent::Refused
                }
            }
            Err(other) => {
                self.logger.log(
                    "warn",
                    "send_failed",
                    json!({ "reason": other.to_string() }),
                );
                self.stats.failed += 1;
                Sent::Unreachable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Complete lines are read with the offset after each; a line still being written waits;
    /// a line longer than a read without an end is skipped instead of blocking the file; the
    /// offset survives a reopen.
    #[test]
    fn the_heard_file_is_read_line_by_line_and_never_stalls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("heard.jsonl");
        let huge = "x".repeat(MAX_HEARD_READ as usize + 10);
        std::fs::write(&path, format!("{huge}\n{{\"a\":1}}\npartial")).unwrap();
        let mut heard = Heard::open(path.clone()).unwrap();
        let first = heard.new_lines().unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].1, MAX_HEARD_READ);
        heard.advance(first[0].1).unwrap();
        let rest = heard.new_lines().unwrap();
        let end_of_huge = huge.len() as u64 + 1;
        assert_eq!(rest[0], ("x".repeat(10), end_of_huge));
        assert_eq!(rest[1], ("{\"a\":1}".to_string(), end_of_huge + 8));
        assert_eq!(rest.len(), 2, "the unfinished line waits");
        heard.advance(rest[1].1).unwrap();
        let reopened = Heard::open(path).unwrap();
        assert_eq!(reopened.offset, end_of_huge + 8);
        assert!(reopened.new_lines().unwrap().is_empty());
    }
}
