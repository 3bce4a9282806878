//! Typed answers of the Groundwork JSON-RPC API.
//!
//! The node builds each answer as one of these structs and serializes it; the CLI, the agent,
//! the fleet and the benchmarks deserialize the same struct. A field the node renames or drops
//! then fails to compile on one side, or fails to parse on the other with the field's name,
//! instead of being read as a silent default. `docs/rpc.md` shows every answer with an example.
//!
//! Identifiers (addresses, device ids, digests) travel as their canonical text, so this crate
//! depends on nothing but serde. Amounts are [`BaseUnits`]: decimal strings, since a `u128`
//! does not survive a JavaScript number.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// An amount of base units, written as a decimal string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BaseUnits(pub u128);

impl Serialize for BaseUnits {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for BaseUnits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map(BaseUnits).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not an amount (a decimal string of base units)"
            ))
        })
    }
}

impl fmt::Display for BaseUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Reads a JSON answer as `T`, naming the method and the first field that did not fit.
pub fn parse<T: for<'de> Deserialize<'de>>(
    method: &str,
    answer: serde_json::Value,
) -> Result<T, MalformedAnswer> {
    serde_json::from_value(answer).map_err(|e| MalformedAnswer {
        method: method.to_string(),
        reason: e.to_string(),
    })
}

/// An answer that is not the documented shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedAnswer {
    pub method: String,
    pub reason: String,
}

impl fmt::Display for MalformedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the node's answer to {} is malformed: {}",
            self.method, self.reason
        )
    }
}

impl std::error::Error for MalformedAnswer {}

// ---- chain -----------------------------------------------------------------------------------

/// How amounts are shown: `symbol` and the number of decimals of one token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub symbol: String,
    pub decimals: u8,
}

/// `chain_status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    pub chain_id: String,
    pub height: u64,
    pub finalized_height: u64,
    pub state_root: String,
    pub block: String,
    pub timestamp_ms: u64,
    /// The epoch the next block belongs to.
    pub epoch: u64,
    pub epoch_length_blocks: u64,
    pub heartbeat_window_blocks: u64,
    pub heartbeat_max_age_blocks: u64,
    pub coverage: CoverageStatus,
    pub challenges: ChallengesStatus,
    pub token: TokenInfo,
}

/// The coverage module's parameters a client needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageStatus {
    pub share_bps: u16,
    pub beacon_interval_blocks: u64,
    pub witness_window_blocks: u64,
}

/// The challenges module's parameters a client needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengesStatus {
    pub bond: BaseUnits,
    pub answer_window_blocks: u64,
    pub slash_bps: u16,
    pub min_answer_witnesses: u8,
}

/// `chain_getBlock`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub hash: String,
    pub height: u64,
    pub parent: String,
    pub timestamp_ms: u64,
    pub proposer: String,
    pub state_root: String,
    pub transactions_root: String,
    /// Transaction hashes, in block order.
    pub transactions: Vec<String>,
    /// Rejection code per transaction (`None` = applied), while receipts are kept.
    pub results: Vec<Option<u32>>,
}

/// One message of `chain_subscribeBlocks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSummary {
    pub height: u64,
    pub hash: String,
    pub timestamp_ms: u64,
    pub state_root: String,
    pub transactions: u64,
    pub failed: u64,
    pub epoch_ended: Option<u64>,
}

/// `state_getProof`: a value in state and its inclusion proof against a state root. It names
/// the account or the device it proves, exactly one of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateProof {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The block after which `root` is the state root.
    pub height: u64,
    pub root: String,
    /// The state key, value and proof, in hex.
    pub key: String,
    pub value: String,
    pub proof: String,
    /// For showing amounts in tokens; not part of what is proven.
    #[serde(default)]
    pub token: Option<TokenInfo>,
}

// ---- transactions ----------------------------------------------------------------------------

/// `tx_submit`: the hash a submitted transaction goes by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    pub hash: String,
}

/// One entry of `tx_submitBatch`: the hash, or why this transaction was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SubmitResult {
    Accepted { hash: String },
    Refused { error: ErrorObject },
}

/// A JSON-RPC error object: a stable code and a message naming what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: i64,
    pub message: String,
}

/// `tx_get`: where a transaction landed and whether the state machine applied it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxReceipt {
    pub hash: String,
    pub height: u64,
    pub ok: bool,
    /// The rejection code (`None` = applied).
    pub error_code: Option<u32>,
    pub error: Option<String>,
}

// ---- accounts and devices --------------------------------------------------------------------

/// `account_get`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub address: String,
    pub balance: BaseUnits,
    /// Transactions executed so far; the next one must carry this nonce.
    pub nonce: u64,
    pub credits: u64,
    /// The next nonce counting transactions still in this node's mempool.
    pub pending_nonce: u64,
}

/// `device_get`, and each entry of `device_list` (which has no `challenge`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub device: String,
    pub scheme: String,
    pub owner: String,
    pub kind: String,
    /// H3 cell, resolution 12.
    pub location: String,
    pub bond: BaseUnits,
    pub status: String,
    /// For an unbonding device: the epoch its bond comes back.
    pub release_epoch: Option<u64>,
    pub registered_at_height: u64,
    pub last_heartbeat_window: Option<u64>,
    /// Work units counted in the running epoch so far.
    pub pending_work_units: u64,
    /// Its open or latest challenge (`device_get` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<ChallengeRef>,
    /// The maker certificate it presented (`device_get` only; none if it presented none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Attestation>,
}

/// A device's accepted maker certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The maker's name, as in the genesis.
    pub maker: String,
    /// The certificate's serial number, hex.
    pub serial: String,
    pub attested_at_height: u64,
    /// Set once the maker revoked the certificate: the device may no longer report or earn.
    pub revoked_at_height: Option<u64>,
}

/// `attest_get`: a device's attestation and whether it may report and earn now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAttestation {
    pub device: String,
    pub kind: String,
    /// Whether this chain requires devices of its kind to be attested.
    pub required: bool,
    pub attestation: Option<Attestation>,
    /// Why the device may not report or earn now (a 13xx rejection), if it may not.
    pub refused: Option<ErrorObject>,
}

/// A maker this chain trusts to certify devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestMaker {
    pub name: String,
    /// The account that may revoke its certificates.
    pub account: String,
    /// The kinds it may certify.
    pub kinds: Vec<String>,
    /// Its CA certificate, PEM.
    pub ca_pem: String,
}

/// `attest_makers`: the chain's makers and the kinds that must be attested.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestMakers {
    pub makers: Vec<AttestMaker>,
    pub required: Vec<String>,
}

/// A challenge by id and status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRef {
    pub id: String,
    pub status: String,
}

/// `device_list`: one page, and the id to pass as `after` for the next (`None` = last page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePage {
    pub devices: Vec<Device>,
    pub next: Option<String>,
}

// ---- epochs and rewards ----------------------------------------------------------------------

/// `epoch_get`: what one ended epoch minted and paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Epoch {
    pub epoch: u64,
    pub emission: BaseUnits,
    pub halvings: u64,
    /// Per resource kind: its pool and the work units it counted.
    pub kinds: BTreeMap<String, KindPool>,
    pub devices_rewarded: u64,
    pub paid: BaseUnits,
    pub to_treasury: BaseUnits,
    /// The coverage pool (`None` in the subscription's short form or before coverage).
    #[serde(default)]
    pub coverage: Option<EpochCoverage>,
    /// Credits bought and spent in the epoch, and the tokens burned for them.
    #[serde(default)]
    pub credits: Option<EpochCredits>,
    /// The oracle's price at the epoch's last block (`None`: there was none).
    #[serde(default)]
    pub price: Option<PriceFigures>,
    /// The usage mint: credits spent, the price, and what was minted within the cap.
    #[serde(default)]
    pub usage: Option<EpochUsage>,
    /// Tokens minted (emission and usage mint) less tokens burned for credits: negative
    /// when demand burns more than the schedule mints. A decimal string of base units.
    #[serde(default)]
    pub net_supply_change: Option<String>,
}

/// One resource kind's share of an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindPool {
    pub pool: BaseUnits,
    pub work_units: u64,
}

/// The coverage pool of an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochCoverage {
    pub pool: BaseUnits,
    pub paid: BaseUnits,
    pub beacons: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beacon_units: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_units: Option<u64>,
}

/// A device's reward from its kind's pool in one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindReward {
    pub owner: String,
    pub kind: String,
    pub work_units: u64,
    pub kind_total_units: u64,
    pub pool: BaseUnits,
    pub amount: BaseUnits,
}

/// One reward of `chain_subscribeRewards`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reward {
    pub epoch: u64,
    pub device: String,
    #[serde(flatten)]
    pub reward: KindReward,
}

/// One message of `chain_subscribeRewards`: an ended epoch and its rewards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochRewards {
    pub summary: Epoch,
    pub coverage: Option<EpochCoverage>,
    pub rewards: Vec<Reward>,
}

/// `rewards_get`: a device's rewards in one epoch, from its kind's pool and from coverage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRewards {
    pub epoch: u64,
    pub device: String,
    #[serde(flatten)]
    pub kind: Option<KindReward>,
    pub coverage: Option<CoverageReward>,
    /// The usage mint's payment for verified usage.
    #[serde(default)]
    pub usage: Option<UsageReward>,
    /// What of the epoch's uptime and coverage rewards a location challenge held in escrow
    /// (as in `rewards_explain`).
    #[serde(default)]
    pub held: Option<HeldReward>,
}

/// A device's coverage reward in one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageReward {
    pub amount: BaseUnits,
    pub beacons: u32,
    pub witness_reports: u32,
    pub beacon_units: u64,
    pub witness_units: u64,
    pub reciprocity_misses: u32,
    pub collusion_exclusions: u32,
    pub peer_comparable_reports: u32,
    pub peer_deviant_reports: u32,
}

/// `rewards_explain`: every input and step of a device's rewards in one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub epoch: u64,
    pub device: String,
    #[serde(flatten)]
    pub kind: Option<KindExplanation>,
    pub coverage: Option<CoverageExplanation>,
    /// What the usage mint paid the device, step by step.
    #[serde(default)]
    pub usage: Option<UsageReward>,
    /// Challenges of the device opened or resolved in the epoch.
    pub challenges: Vec<Challenge>,
    /// What of the epoch's rewards was held in escrow because a challenge of the device's
    /// location was open, and what became of it.
    #[serde(default)]
    pub held: Option<HeldReward>,
    /// A storage provider's proving periods that settled in the epoch, per deal: paid,
    /// withheld (naming the retrieval checks that failed) or faulted. Paid credits are the
    /// verified usage `usage` pays from the mint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<StorageSettlement>,
    /// Set by `groundwork rewards explain --json`: whether the client's own recomputation
    /// matched what was paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adds_up: Option<bool>,
}

/// Rewards of one epoch held in escrow while a challenge of the device's location was open:
/// released to the owner if it is rejected, forfeited to the treasury if it is upheld.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldReward {
    pub challenge: String,
    /// Held from the kind's uptime pool.
    pub uptime: BaseUnits,
    /// Held from the coverage pool.
    pub coverage: BaseUnits,
    /// `held` (the challenge is open), `released` or `forfeited`.
    pub outcome: String,
    /// The height it was released or forfeited at.
    pub settled_at: Option<u64>,
    /// The rule, in words.
    pub rule: String,
}

/// The kind-pool part of an explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindExplanation {
    pub owner: String,
    pub kind: String,
    pub inputs: KindInputs,
    pub emission: BaseUnits,
    pub kinds_emission: BaseUnits,
    pub pool: BaseUnits,
    pub amount: BaseUnits,
    /// What the node's own recomputation from `inputs` gives.
    pub recomputed: Option<BaseUnits>,
    /// Each step in words, ending in its value.
    pub steps: Vec<String>,
}

/// The inputs of a kind reward, enough to recompute it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindInputs {
    pub initial_emission: BaseUnits,
    pub halving_interval_epochs: u64,
    pub halvings: u64,
    pub coverage_share_bps: u16,
    pub weight_bps: u16,
    pub work_units: u64,
    pub kind_total_units: u64,
    /// The coverage rule that judged the wireless device in the epoch, withholding its share
    /// (then the reward is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld_by: Option<String>,
    /// Wireless devices with work asserting the device's cell, itself included; the share
    /// is divided among them. Left out when 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub co_located: u32,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// The coverage part of an explanation: every beacon the device took part in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageExplanation {
    pub amount: BaseUnits,
    pub recomputed: BaseUnits,
    pub beacon_units: u64,
    pub witness_units: u64,
    pub reciprocity_misses: u32,
    pub collusion_exclusions: u32,
    pub peer_comparable_reports: u32,
    pub peer_deviant_reports: u32,
    pub out_of_line: bool,
    pub pool: BaseUnits,
    pub beacon_pool: BaseUnits,
    pub witness_pool: BaseUnits,
    pub total_beacon_units: u64,
    pub total_witness_units: u64,
    pub shares: Vec<CoverageShare>,
    pub steps: Vec<String>,
}

/// The device's share of one beacon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageShare {
    pub beacon: String,
    /// `beaconer` or `witness`.
    pub role: String,
    pub witnesses: u64,
    pub unit: u32,
    pub hex_scale: u32,
    pub witness_scale: Option<u32>,
    pub reciprocity: bool,
    /// The rule that excluded the share, if one did.
    pub excluded_by: Option<String>,
    pub units: u64,
    /// The device's own witness report (for a witness share).
    pub report: Option<ShareReport>,
}

/// A witness report behind a share, with the checks it passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareReport {
    pub location: String,
    pub height: u64,
    pub rssi_dbm: i64,
    pub snr_cdb: i64,
    pub checks: Vec<ReportCheck>,
    pub peer_deviation_cdb: Option<i64>,
    pub peer_deviant: Option<bool>,
}

/// One check a report passed: its name, and the measured value and limit under their names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCheck {
    pub check: String,
    pub passed: bool,
    #[serde(flatten)]
    pub numbers: BTreeMap<String, i64>,
}

// ---- coverage --------------------------------------------------------------------------------

/// `coverage_getBeacon`: a beacon and its valid witness reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    pub beacon: String,
    pub beaconer: String,
    pub height: u64,
    pub location: String,
    pub tx_power_dbm: i64,
    pub frequency_hz: u64,
    pub antenna_gain_ddbi: i64,
    pub witnesses: Vec<Witness>,
}

/// One valid witness report of a beacon, with the numbers its checks used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witness {
    pub witness: String,
    pub height: u64,
    pub location: String,
    pub rssi_dbm: i64,
    pub snr_cdb: i64,
    pub frequency_hz: u64,
    pub antenna_gain_ddbi: i64,
    pub distance_m: u64,
    pub grid_distance_res11: u64,
    pub max_rssi_cdbm: i64,
}

// ---- oracle and credits ---------------------------------------------------------------------

/// The price figures, micro-USD per whole token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceFigures {
    /// Median of the fresh submissions.
    pub median: u64,
    /// Mean of the medians over the smoothing window.
    pub average: u64,
    /// What burns use: the lower of the two.
    pub burn: u64,
    /// What mints use: the higher of the two.
    pub mint: u64,
    /// Fresh submissions behind the median.
    pub fresh: u8,
}

/// `oracle_getPrice`: the price the next block would see, or why there is none, and what it
/// is made of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OraclePrice {
    /// `None` while fewer than `quorum` submissions are fresh.
    pub price: Option<PriceFigures>,
    /// Why there is no price (with the rejection code a purchase would get).
    pub unavailable: Option<ErrorObject>,
    pub quorum: u8,
    pub max_age_blocks: u64,
    pub smoothing_window_blocks: u64,
    /// Each oracle's latest submission, in account order.
    pub submissions: Vec<OracleSubmission>,
}

/// One oracle's latest submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OracleSubmission {
    pub oracle: String,
    pub micro_usd_per_token: u64,
    pub height: u64,
    /// Whether it still counts for the next block.
    pub fresh: bool,
}

/// `credits_get`: the credit ledger since genesis, and the price of a credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditTotals {
    pub credit_price_micro_usd: u64,
    pub minted: u64,
    pub spent: u64,
    pub outstanding: u64,
    pub tokens_burned: BaseUnits,
}

/// `credits_quote`: what buying credits in the next block would burn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditsQuote {
    pub credits: u64,
    pub credit_price_micro_usd: u64,
    pub burn_price_micro_usd: u64,
    pub tokens: BaseUnits,
}

/// The credit ledger in one epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochCredits {
    pub minted: u64,
    pub spent: u64,
    pub tokens_burned: BaseUnits,
}

// ---- usage -----------------------------------------------------------------------------------

/// `usage_getOffer`: a device's standing offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub device: String,
    pub credits_per_unit: u64,
    /// The device kind's unit: `24-byte packet`, `Wh`, ….
    pub unit: String,
    pub max_session_blocks: u64,
}

/// `usage_getSession`: a session, every step of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub customer: String,
    /// The customer's public key (hex), which must sign every voucher.
    pub customer_key: String,
    pub device: String,
    pub credits_per_unit: u64,
    pub max_credits: u64,
    pub opened_at: u64,
    pub ends_at: u64,
    /// The last height a voucher may be settled.
    pub settle_by: u64,
    pub settled_units: u64,
    pub settled_credits: u64,
    /// Credits still in escrow.
    pub escrowed: u64,
    /// Credits returned to the customer (`None` until the grace window has passed).
    pub refunded: Option<u64>,
    /// `open`, `ended` (in its grace window) or `closed`.
    pub status: String,
}

/// `usage_listSessions`: one page of a customer's sessions, and the id to pass as `after` for
/// the next (`None` = last page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    pub customer: String,
    pub sessions: Vec<Session>,
    pub next: Option<String>,
}

/// A voucher as the CLI and agents pass it around: the fields both parties sign, and the
/// signatures in hex (a device's with its scheme tag, as on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedVoucher {
    pub session: String,
    pub cumulative_units: u64,
    pub cumulative_credits: u64,
    pub customer_signature: Option<String>,
    pub device_signature: Option<String>,
}

/// The usage mint of one epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochUsage {
    pub credits_spent: u64,
    /// The oracle's mint price at the epoch's end (0: none, nothing minted).
    pub mint_price_micro_usd: u64,
    pub uncapped: BaseUnits,
    pub cap: BaseUnits,
    pub minted: BaseUnits,
    /// What share of the uncapped earnings was paid, in basis points.
    pub cap_factor_bps: u64,
    pub devices: u64,
}

/// A device's usage reward in one epoch, with what it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReward {
    pub owner: String,
    pub credits: u64,
    pub units: u64,
    pub unit: String,
    pub uncapped: BaseUnits,
    pub amount: BaseUnits,
    pub mint_price_micro_usd: u64,
    pub cap_factor_bps: u64,
    /// The inputs a client recomputes the amount from.
    pub inputs: UsageInputs,
    /// Set when the device earned a share but was paid nothing: why (its maker revoked its
    /// certificate, or its kind must be attested and it was not, at the epoch's end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
    /// Each step in words, ending in its value.
    pub steps: Vec<String>,
}

/// What a usage reward is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageInputs {
    pub credit_price_micro_usd: u64,
    pub decimals: u8,
    pub reward_bps: u16,
    /// What all devices earned in the epoch before the cap, and the cap.
    pub epoch_uncapped: BaseUnits,
    pub cap: BaseUnits,
}

// ---- challenges ------------------------------------------------------------------------------

/// `challenges_get`: a location challenge, its evidence with the numbers, answer and outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub id: String,
    pub device: String,
    pub owner: String,
    pub challenger: String,
    pub bond: BaseUnits,
    pub location: String,
    pub opened_at: u64,
    pub answer_by: u64,
    pub resolves_at: u64,
    pub evidence: Vec<ChallengeEvidence>,
    /// The answer beacon, once sent.
    pub answer: Option<String>,
    pub answer_witnesses: u64,
    pub answer_median_excess_cdb: Option<i64>,
    /// `open`, `answered`, `upheld` or `rejected`.
    pub status: String,
    /// For an upheld challenge: what was slashed.
    pub slashed: Option<BaseUnits>,
    pub resolved_at: Option<u64>,
    /// The rule it is resolved by, in words with the chain's numbers.
    pub rule: String,
}

/// One suspicious link a challenge names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeEvidence {
    pub beacon: String,
    /// `beaconer` or `witness`: the challenged device's role.
    pub role: String,
    pub other: String,
    pub distance_m: u64,
    pub rssi_dbm: i64,
    pub typical_cdbm: i64,
    pub excess_cdb: i64,
}

/// `challenges_list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeList {
    pub device: String,
    pub challenges: Vec<Challenge>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_are_decimal_strings_both_ways() {
        let text = serde_json::to_value(BaseUnits(u128::MAX)).unwrap();
        assert_eq!(text, json!(u128::MAX.to_string()));
        let back: BaseUnits = serde_json::from_value(text).unwrap();
        assert_eq!(back, BaseUnits(u128::MAX));
        let error = serde_json::from_value::<BaseUnits>(json!("12.5")).unwrap_err();
        assert!(
            error.to_string().contains("`12.5` is not an amount"),
            "{error}"
        );
        assert!(serde_json::from_value::<BaseUnits>(json!(12)).is_err());
    }

    #[test]
    fn a_reward_without_a_kind_part_reads_as_none_and_writes_without_its_fields() {
        let coverage_only = json!({
            "epoch": 3, "device": "d", "coverage": null, "usage": null, "held": null,
        });
        let answer: DeviceRewards = parse("rewards_get", coverage_only.clone()).unwrap();
        assert_eq!(answer.kind, None);
        assert_eq!(serde_json::to_value(&answer).unwrap(), coverage_only);
        let full = json!({
            "epoch": 3, "device": "d", "owner": "o", "kind": "wireless", "work_units": 4,
            "kind_total_units": 8, "pool": "100", "amount": "50", "coverage": null, "usage": null,
            "held": null,
        });
        let answer: DeviceRewards = parse("rewards_get", full.clone()).unwrap();
        assert_eq!(answer.kind.as_ref().map(|k| k.amount), Some(BaseUnits(50)));
        assert_eq!(serde_json::to_value(&answer).unwrap(), full);
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = parse::<ChallengeRef>("challenges_get", json!({ "id": "x" })).unwrap_err();
        assert_eq!(error.method, "challenges_get");
        assert!(error.reason.contains("status"), "{error}");
    }

    #[test]
    fn report_check_numbers_sit_beside_the_name() {
        let check =
            json!({ "check": "distance", "passed": true, "distance_m": 900, "max_m": 100000 });
        let typed: ReportCheck = parse("rewards_explain", check.clone()).unwrap();
        assert_eq!(typed.numbers.get("max_m"), Some(&100_000));
        assert_eq!(serde_json::to_value(&typed).unwrap(), check);
    }
}

/// `storage_getProvider`: a storage device's capacity, collateral, price and endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageProvider {
    pub device: String,
    pub owner: String,
    pub capacity_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
    /// The device's usage offer, in credits per GiB-epoch (`None`: no offer, no deals).
    pub credits_per_gib_epoch: Option<u64>,
    pub collateral_per_gib: BaseUnits,
    pub locked: BaseUnits,
    pub reserved: BaseUnits,
    /// Where clients reach the device's agent.
    pub endpoint: String,
}

/// `storage_listProviders`: storage devices that provide capacity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageProviderList {
    pub providers: Vec<StorageProvider>,
}

/// One shard's deal, every step of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageDeal {
    pub id: String,
    pub set: String,
    pub index: u8,
    pub client: String,
    pub provider: String,
    /// The shard's BLAKE3 tree root (hex), its length included.
    pub root: String,
    pub size_bytes: u64,
    pub credits_per_gib_epoch: u64,
    pub periods: u32,
    /// `proposed`, `active`, `completed`, `terminated`, `ended` or `expired`.
    pub status: String,
    pub proposed_at: u64,
    pub accepted_at: Option<u64>,
    /// The first and last periods it proves (once accepted).
    pub first_period: Option<u64>,
    pub last_period: Option<u64>,
    pub escrow_credits: u64,
    pub paid_credits: u64,
    pub collateral: BaseUnits,
    pub slashed: BaseUnits,
    /// Periods proven and paid.
    pub proven: u32,
    /// Periods proven but not paid: too many retrieval checks failed.
    pub withheld: u32,
    pub faults: u32,
    pub consecutive_faults: u32,
    pub closed_at: Option<u64>,
}

/// `storage_getDeal`: a deal set (one stored file) with its deals in shard order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageDealSet {
    /// The content id `storage get` takes.
    pub id: String,
    pub client: String,
    pub file_size: u64,
    /// BLAKE3 of the whole file (hex).
    pub file_hash: String,
    pub data_shards: u8,
    pub shards: u8,
    pub periods: u32,
    pub proposed_at: u64,
    pub ended_at: Option<u64>,
    pub deals: Vec<StorageDeal>,
}

/// `storage_listDeals`: a client's deal sets, or a provider's deals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageDealList {
    pub sets: Vec<StorageDealSet>,
    pub deals: Vec<StorageDeal>,
}

/// One deal's proving period, settled in the epoch `rewards_explain` tells of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageSettlement {
    pub deal: String,
    #[serde(flatten)]
    pub period: StoragePeriod,
}

/// One proving period of one deal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoragePeriod {
    pub period: u64,
    /// `proven` (settled and paid), `faulted`, or `open` (proven, not yet settled).
    pub outcome: String,
    pub proven_at: Option<u64>,
    pub paid_credits: u64,
    pub slashed: BaseUnits,
    pub to_client: BaseUnits,
    pub burned: BaseUnits,
    /// Retrieval checks posted for the period.
    pub checks: Vec<StorageCheck>,
    /// Why a proven period was not paid, if it was not.
    pub withheld: Option<String>,
}

/// The open period's challenges for a deal: what its provider must answer, and by when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageChallenge {
    pub period: u64,
    /// The leaf indices drawn, in the order the proof must answer them.
    pub leaves: Vec<u64>,
    /// The last height a proof for the period is taken.
    pub deadline: u64,
    /// Whether the deal is proven for this period already.
    pub proven: bool,
}

/// `storage_getProofs`: a deal's periods so far and the open period's challenges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageProofs {
    pub deal: String,
    pub status: String,
    pub period_blocks: u64,
    pub open_period: u64,
    pub periods: Vec<StoragePeriod>,
    /// `None` when the deal does not prove in the open period.
    pub challenge: Option<StorageChallenge>,
}

/// One retrieval check a device is drawn for in the open period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageCheckDue {
    pub deal: String,
    pub period: u64,
    pub position: u16,
    /// The 64 KiB block to fetch from the provider.
    pub block: u64,
    pub provider: String,
    /// Where the provider's agent is reached (empty if it publishes none).
    pub endpoint: String,
    pub root: String,
    pub size_bytes: u64,
    /// Whether this check is posted already.
    pub posted: bool,
}

/// `storage_getChecks`: the retrieval checks a device is drawn for in the open period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageChecks {
    pub device: String,
    pub period: u64,
    pub checks: Vec<StorageCheckDue>,
}

/// One posted retrieval check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageCheck {
    pub position: u16,
    pub checker: String,
    pub block: u64,
    pub ok: bool,
    pub at: u64,
}

/// `compute_getProvider`: a compute device's offer, collateral and record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeProvider {
    pub device: String,
    pub owner: String,
    /// The device's usage offer, in credits per million fuel (`None`: no offer, no tasks).
    pub credits_per_mfuel: Option<u64>,
    pub max_fuel_per_task: u64,
    pub collateral: BaseUnits,
    pub slashed: BaseUnits,
    /// Assignments in tasks not yet closed.
    pub open_assignments: u32,
    /// Where customers fetch results from its agent.
    pub endpoint: String,
}

/// `compute_listProviders`: compute devices that offer to run tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeProviderList {
    pub providers: Vec<ComputeProvider>,
}

/// One provider's assignment to a task and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeSlot {
    pub device: String,
    pub owner: String,
    /// `primary`, `spot check` or `referee`.
    pub round: String,
    pub credits_per_mfuel: u64,
    pub committed: bool,
    pub revealed: bool,
    /// BLAKE3 of its output (hex), once revealed.
    pub result: Option<String>,
    pub fuel_used: Option<u64>,
    pub out_of_fuel: Option<bool>,
    /// `pending`, `agreed` (paid), `disagreed` or `silent` (slashed), `undecided`.
    pub verdict: String,
    pub paid_credits: u64,
    pub slashed: BaseUnits,
}

/// One draw from chain randomness: the block whose hash it used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeDraw {
    /// The round it drew for: `primary`, `spot check` (the roll) or `referee`.
    pub round: String,
    pub height: u64,
    pub seed: String,
    /// For a spot-check roll: the roll in basis points and whether it called a check.
    pub roll: Option<u16>,
    pub checked: Option<bool>,
}

/// `compute_getTask`: one task, every step of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeTask {
    pub job: String,
    pub index: u8,
    pub input_hash: String,
    /// `assigning`, `committing`, `revealing`, `accepting` or `closed`.
    pub phase: String,
    pub round: String,
    /// The height the current phase ends.
    pub deadline: u64,
    pub escrow_credits: u64,
    pub paid_credits: u64,
    /// `pending`, `matched`, `spot-checked`, `refereed`, `auto-accepted`, `no eligible
    /// provider`, `no outcome` or `no majority`.
    pub verification: String,
    /// The decided outcome, once there is one.
    pub result: Option<String>,
    pub fuel_used: Option<u64>,
    pub out_of_fuel: Option<bool>,
    pub disputed: bool,
    pub closed_at: Option<u64>,
    pub slots: Vec<ComputeSlot>,
    pub draws: Vec<ComputeDraw>,
    /// Every decision in order, with the randomness behind it.
    pub explanation: Vec<String>,
}

/// `compute_getJob`: a job with its tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeJob {
    pub id: String,
    pub customer: String,
    pub module_hash: String,
    pub source: String,
    pub fuel_limit: u64,
    pub max_credits_per_mfuel: u64,
    pub replication: u8,
    pub spot_check_bps: u16,
    pub task_count: u8,
    pub open_tasks: u8,
    pub posted_at: u64,
    pub tasks: Vec<ComputeTask>,
}

/// `compute_listJobs`: a customer's jobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeJobList {
    pub jobs: Vec<ComputeJob>,
}

/// One open task a device is assigned to, with what its agent needs to run it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeAssignment {
    pub job: String,
    pub task: u8,
    pub module_hash: String,
    pub input_hash: String,
    /// Fetch `{source}/module` and `{source}/input/{task}`.
    pub source: String,
    pub fuel_limit: u64,
    pub round: String,
    /// `committing` or `revealing`: what the device must send now.
    pub phase: String,
    pub deadline: u64,
    pub committed: bool,
    pub revealed: bool,
}

/// `compute_getAssignments`: the open tasks a device is assigned to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeAssignments {
    pub device: String,
    pub runtime: String,
    pub assignments: Vec<ComputeAssignment>,
}
