//! Genesis: the chain's first state and its fixed parameters, read from a documented TOML file
//! (see `docs/genesis.md`). Parsing is pure; reading the file is the caller's job.
//!
//! Amounts are strings of base units because TOML integers stop at 2^63 and balances are u128.
//! Every invalid field is refused with an error naming it.

pub use crate::core::{CoreParams, TokenSymbol};
pub use crate::modules::attest::AttestParams;
pub use crate::modules::challenges::ChallengeParams;
pub use crate::modules::compute::ComputeParams;
pub use crate::modules::coverage::CoverageParams;
pub use crate::modules::credits::CreditsParams;
pub use crate::modules::oracle::OracleParams;
pub use crate::modules::storage::StorageParams;
pub use crate::modules::usage::UsageParams;
use commonware_codec::{Encode, Write};
use commonware_cryptography::Signer;
use groundwork_primitives::hash::{Digest, hash};
use groundwork_primitives::keys::{AccountPublicKey, account_public_key_from_hex};
use groundwork_primitives::{
    AccountKey, Address, Amount, Block, BlockHeader, ChainId, ResourceKind,
};
use serde::Deserialize;
use std::collections::BTreeSet;

/// Largest total genesis supply, in base units (2^100). Keeps every product in the reward
/// arithmetic far below u128::MAX.
pub const MAX_GENESIS_SUPPLY: u128 = 1 << 100;
/// Largest initial per-epoch emission, in base units (2^96).
pub const MAX_INITIAL_EMISSION: u128 = 1 << 96;
/// Longest epoch, in blocks (2^24, about 194 days of 1 s blocks). Bounds work units per device.
pub const MAX_EPOCH_LENGTH_BLOCKS: u64 = 1 << 24;
/// Oldest block a heartbeat may reference, in blocks. Bounds the block-hash history in state.
pub const MAX_HEARTBEAT_AGE_BLOCKS: u64 = 4_096;
/// Longest unbonding period, in epochs.
pub const MAX_UNBONDING_EPOCHS: u64 = 1_000;
/// Most validators in genesis.
pub const MAX_VALIDATORS: usize = 128;
/// Most funded accounts in genesis.
pub const MAX_GENESIS_BALANCES: usize = 100_000;
/// Most decimals a token may have.
pub const MAX_TOKEN_DECIMALS: u8 = 18;
/// Longest beacon interval, witness window or reciprocity window, in blocks (2^32).
pub const MAX_COVERAGE_WINDOW_BLOCKS: u64 = 1 << 32;
/// Reward weights are in basis points; they must sum to this.
pub const BASIS_POINTS_TOTAL: u32 = 10_000;

// The reward arithmetic multiplies an epoch pool by a device's work units.
const _: () =
    assert!((MAX_INITIAL_EMISSION as f64) * (MAX_EPOCH_LENGTH_BLOCKS as f64) < u128::MAX as f64);

/// Why a genesis file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The text is not valid TOML, or a field has the wrong type, or a field is unknown.
    #[error("genesis is not valid: {}", .toml.to_string().trim())]
    Parse { toml: toml::de::Error },
    /// A field parsed but its value is not acceptable.
    #[error("genesis field `{field}` is invalid: {reason}")]
    InvalidField { field: String, reason: String },
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> GenesisError {
    GenesisError::InvalidField {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A module's table of the genesis file. The module owns the table's shape, how it reads,
/// what it checks, its local-network values and how it is written back; registering it takes
/// one line in `genesis_sections!`.
pub(crate) trait GenesisSection: Sized {
    /// The table as the file has it (`deny_unknown_fields`, so a misspelt field is refused).
    type File: serde::de::DeserializeOwned;
    /// The params when the file has no such table.
    fn absent() -> Self;
    /// The params of a local or test network (`Params::local`): 1-second blocks, a 6-decimal
    /// token.
    fn local() -> Self;
    /// The params the table gives, each value refused by its field's name if malformed.
    fn from_file(file: Self::File) -> Result<Self, GenesisError>;
    /// Checks the params against every module's (an answer window against the coverage
    /// windows, say), naming the field.
    fn check(&self, params: &Params) -> Result<(), GenesisError>;
    /// The table in TOML with a comment per field; empty when the file leaves it out.
    fn to_toml(&self) -> String;
}

/// A module's params from its table, or its defaults when the file has none.
fn section<P: GenesisSection>(file: Option<P::File>) -> Result<P, GenesisError> {
    file.map_or_else(|| Ok(P::absent()), P::from_file)
}

/// A validated genesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    pub params: Params,
    /// Milliseconds since the Unix epoch; the first block's timestamp may not be earlier.
    pub genesis_time_ms: u64,
    /// Funded accounts, sorted by address, no duplicates.
    pub balances: Vec<(Address, Amount)>,
    /// Validator consensus keys, in file order, no duplicates.
    pub validators: Vec<AccountPublicKey>,
}

/// The modules' genesis sections, in file and digest order: each line is a module's table
/// (also its field of [`Params`]) and its params type, which implements [`GenesisSection`].
/// From this one list come the `Params` fields, the file's optional tables, reading and
/// checking them, their part of the genesis digest, their TOML and their local values.
macro_rules! genesis_sections {
    ($($(#[$doc:meta])* $field:ident: $params:ty),+ $(,)?) => {
        /// The chain's fixed parameters (governance may change some later).
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Params {
            /// The chain, the token, epochs, heartbeats, emission and fees: the core's section.
            pub core: CoreParams,
            $($(#[$doc])* pub $field: $params,)+
        }

        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct GenesisFile {
            chain_id: String,
            genesis_time_ms: u64,
            token: TokenSection,
            #[serde(default)]
            balances: Vec<BalanceEntry>,
            #[serde(default)]
            validators: Vec<ValidatorEntry>,
            epochs: EpochSection,
            emission: EmissionSection,
            reward_weights_bps: WeightsSection,
            fees: FeeSection,
            $(#[serde(default)] $field: Option<<$params as GenesisSection>::File>,)+
        }

        impl Params {
            /// The modules' sections from their tables (each module's defaults where the file
            /// has none), then each checked against the whole.
            fn with_sections(core: CoreParams, file: &mut GenesisFile) -> Result<Self, GenesisError> {
                let params = Params {
                    core,
                    $($field: section(file.$field.take())?,)+
                };
                $(params.$field.check(&params)?;)+
                Ok(params)
            }

            /// The modules' sections for a local network beside `core`.
            fn with_local_sections(core: CoreParams) -> Self {
                Params {
                    core,
                    $($field: <$params as GenesisSection>::local(),)+
                }
            }

            /// The modules' sections' part of the genesis digest.
            fn write_sections(&self, buf: &mut Vec<u8>) {
                $(self.$field.write(buf);)+
            }

            /// The modules' tables as commented TOML.
            fn sections_toml(&self) -> String {
                let mut out = String::new();
                $(out.push_str(&self.$field.to_toml());)+
                out
            }
        }
    };
}

genesis_sections! {
    /// Wireless proof-of-coverage.
    coverage: CoverageParams,
    /// Location challenges.
    challenges: ChallengeParams,
    /// The token's USD price.
    oracle: OracleParams,
    /// Data credits.
    credits: CreditsParams,
    /// Metered usage and the usage mint.
    usage: UsageParams,
    /// Makers whose device certificates the chain accepts.
    attest: AttestParams,
    /// Storage deals and possession proofs.
    storage: StorageParams,
    /// Compute jobs, verification and payment.
    compute: ComputeParams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSection {
    symbol: String,
    decimals: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BalanceEntry {
    address: String,
    amount: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidatorEntry {
    public_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EpochSection {
    length_blocks: u64,
    heartbeat_window_blocks: u64,
    heartbeat_max_age_blocks: u64,
    unbonding_epochs: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmissionSection {
    initial_per_epoch: String,
    halving_interval_epochs: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsSection {
    #[serde(default)]
    wireless: u16,
    #[serde(default)]
    storage: u16,
    #[serde(default)]
    compute: u16,
    #[serde(default)]
    sensor: u16,
    #[serde(default)]
    energy: u16,
    #[serde(default)]
    ev_charger: u16,
    #[serde(default)]
    vehicle: u16,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeeSection {
    transaction_fee: String,
    device_bond: String,
}

pub(crate) fn parse_amount(field: &str, text: &str) -> Result<Amount, GenesisError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            field,
            format!("{text:?} is not a whole number of base units"),
        ));
    }
    text.parse::<u128>()
        .map(Amount)
        .map_err(|_| invalid(field, format!("{text:?} does not fit in 128 bits")))
}

pub(crate) fn parse_positive_amount(field: &str, text: &str) -> Result<Amount, GenesisError> {
    let amount = parse_amount(field, text)?;
    if amount == Amount::ZERO {
        return Err(invalid(field, "must be greater than zero"));
    }
    Ok(amount)
}

/// The token's symbol and decimals.
fn check_token(token: &TokenSection) -> Result<(), GenesisError> {
    let symbol = &token.symbol;
    let symbol_ok = (1..=12).contains(&symbol.len())
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !symbol_ok {
        return Err(invalid(
            "token.symbol",
            format!("{symbol:?} must be 1 to 12 characters of A-Z and 0-9"),
        ));
    }
    if token.decimals > MAX_TOKEN_DECIMALS {
        return Err(invalid(
            "token.decimals",
            format!("{} is more than {MAX_TOKEN_DECIMALS}", token.decimals),
        ));
    }

    Ok(())
}

/// The funded accounts, sorted, each once, their total within [`MAX_GENESIS_SUPPLY`].
fn parse_balances(entries: &[BalanceEntry]) -> Result<Vec<(Address, Amount)>, GenesisError> {
    if entries.len() > MAX_GENESIS_BALANCES {
        return Err(invalid(
            "balances",
            format!("more than {MAX_GENESIS_BALANCES} entries"),
        ));
    }
    let mut balances = Vec::with_capacity(entries.len());
    let mut seen = BTreeSet::new();
    let mut total: u128 = 0;
    for (i, entry) in entries.iter().enumerate() {
        let field = format!("balances[{i}].address");
        let address: Address = entry
            .address
            .parse()
            .map_err(|e| invalid(&field, format!("{e}")))?;
        if !seen.insert(address) {
            return Err(invalid(field, format!("{address} appears more than once")));
        }
        let amount = parse_positive_amount(&format!("balances[{i}].amount"), &entry.amount)?;
        total = total
            .checked_add(amount.0)
            .filter(|t| *t <= MAX_GENESIS_SUPPLY)
            .ok_or_else(|| {
                invalid(
                    format!("balances[{i}].amount"),
                    "total genesis supply exceeds 2^100 base units",
                )
            })?;
        balances.push((address, amount));
    }
    balances.sort();

    Ok(balances)
}

/// The validators' keys, in file order, each once.
fn parse_validators(entries: &[ValidatorEntry]) -> Result<Vec<AccountPublicKey>, GenesisError> {
    if entries.is_empty() {
        return Err(invalid("validators", "at least one validator is required"));
    }
    if entries.len() > MAX_VALIDATORS {
        return Err(invalid(
            "validators",
            format!("more than {MAX_VALIDATORS} validators"),
        ));
    }
    let mut validators = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let field = format!("validators[{i}].public_key");
        let key = account_public_key_from_hex(&entry.public_key)
            .map_err(|e| invalid(&field, format!("{e}")))?;
        if validators.contains(&key) {
            return Err(invalid(field, "duplicate validator"));
        }
        validators.push(key);
    }

    Ok(validators)
}

/// Epoch length, heartbeat window and age, unbonding.
fn check_epochs(epochs: &EpochSection) -> Result<(), GenesisError> {
    if epochs.length_blocks == 0 || epochs.length_blocks > MAX_EPOCH_LENGTH_BLOCKS {
        return Err(invalid(
            "epochs.length_blocks",
            format!("must be between 1 and {MAX_EPOCH_LENGTH_BLOCKS}"),
        ));
    }
    if epochs.heartbeat_window_blocks == 0
        || !epochs
            .length_blocks
            .is_multiple_of(epochs.heartbeat_window_blocks)
    {
        return Err(invalid(
            "epochs.heartbeat_window_blocks",
            format!(
                "must be at least 1 and divide epochs.length_blocks ({})",
                epochs.length_blocks
            ),
        ));
    }
    if epochs.heartbeat_max_age_blocks == 0
        || epochs.heartbeat_max_age_blocks > MAX_HEARTBEAT_AGE_BLOCKS
    {
        return Err(invalid(
            "epochs.heartbeat_max_age_blocks",
            format!("must be between 1 and {MAX_HEARTBEAT_AGE_BLOCKS}"),
        ));
    }
    if epochs.unbonding_epochs > MAX_UNBONDING_EPOCHS {
        return Err(invalid(
            "epochs.unbonding_epochs",
            format!("must be at most {MAX_UNBONDING_EPOCHS}"),
        ));
    }

    Ok(())
}

/// The initial emission, checked.
fn parse_emission(emission: &EmissionSection) -> Result<Amount, GenesisError> {
    let initial = parse_amount("emission.initial_per_epoch", &emission.initial_per_epoch)?;
    if initial.0 > MAX_INITIAL_EMISSION {
        return Err(invalid(
            "emission.initial_per_epoch",
            "must be at most 2^96 base units",
        ));
    }
    if emission.halving_interval_epochs == 0 {
        return Err(invalid(
            "emission.halving_interval_epochs",
            "must be at least 1",
        ));
    }

    Ok(initial)
}

/// The reward weights by kind, which must sum to 100 %.
fn parse_weights(w: &WeightsSection) -> Result<[u16; ResourceKind::COUNT], GenesisError> {
    let reward_weights_bps = [
        w.wireless,
        w.storage,
        w.compute,
        w.sensor,
        w.energy,
        w.ev_charger,
        w.vehicle,
    ];
    let sum: u32 = reward_weights_bps.iter().map(|&x| u32::from(x)).sum();
    if sum != BASIS_POINTS_TOTAL {
        return Err(invalid(
            "reward_weights_bps",
            format!(
                "weights sum to {sum} basis points, they must sum to {BASIS_POINTS_TOTAL} (100%)"
            ),
        ));
    }

    Ok(reward_weights_bps)
}

impl Genesis {
    /// Parses and validates a genesis TOML document.
    pub fn from_toml(text: &str) -> Result<Self, GenesisError> {
        let file: GenesisFile =
            toml::from_str(text).map_err(|toml| GenesisError::Parse { toml })?;
        Self::validate(file)
    }

    fn validate(mut file: GenesisFile) -> Result<Self, GenesisError> {
        let chain_id: ChainId = file
            .chain_id
            .parse()
            .map_err(|e| invalid("chain_id", format!("{e}")))?;
        check_token(&file.token)?;
        let balances = parse_balances(&file.balances)?;
        let validators = parse_validators(&file.validators)?;
        let epochs = &file.epochs;
        check_epochs(epochs)?;
        let initial = parse_emission(&file.emission)?;
        let reward_weights_bps = parse_weights(&file.reward_weights_bps)?;

        let core = CoreParams {
            chain_id,
            token_symbol: TokenSymbol(file.token.symbol.clone()),
            token_decimals: file.token.decimals,
            epoch_length_blocks: epochs.length_blocks,
            heartbeat_window_blocks: epochs.heartbeat_window_blocks,
            heartbeat_max_age_blocks: epochs.heartbeat_max_age_blocks,
            unbonding_epochs: epochs.unbonding_epochs,
            initial_emission_per_epoch: initial,
            halving_interval_epochs: file.emission.halving_interval_epochs,
            reward_weights_bps,
            transaction_fee: parse_positive_amount(
                "fees.transaction_fee",
                &file.fees.transaction_fee,
            )?,
            device_bond: parse_positive_amount("fees.device_bond", &file.fees.device_bond)?,
        };
        // Each module reads its own table; its checks run once all params are known.
        let params = Params::with_sections(core, &mut file)?;
        Ok(Genesis {
            params,
            genesis_time_ms: file.genesis_time_ms,
            balances,
            validators,
        })
    }

    /// Total tokens in existence at genesis.
    pub fn total_supply(&self) -> Amount {
        // Validation bounds the sum by MAX_GENESIS_SUPPLY, so this cannot overflow.
        Amount(self.balances.iter().map(|(_, a)| a.0).sum())
    }

    /// The genesis digest: the "parent" of block 1. A hash of the canonical encoding of every
    /// validated field, so two files that differ only in comments or layout agree.
    pub fn digest(&self) -> Digest {
        let mut buf = Vec::new();
        b"groundwork/genesis/v1".to_vec().write(&mut buf);
        let p = &self.params;
        p.core.chain_id.write(&mut buf);
        p.core.token_symbol.0.as_bytes().to_vec().write(&mut buf);
        p.core.token_decimals.write(&mut buf);
        for value in [
            p.core.epoch_length_blocks,
            p.core.heartbeat_window_blocks,
            p.core.heartbeat_max_age_blocks,
            p.core.unbonding_epochs,
            p.core.halving_interval_epochs,
            self.genesis_time_ms,
        ] {
            value.write(&mut buf);
        }
        for amount in [
            p.core.initial_emission_per_epoch,
            p.core.transaction_fee,
            p.core.device_bond,
        ] {
            amount.write(&mut buf);
        }
        for weight in p.core.reward_weights_bps {
            weight.write(&mut buf);
        }
        p.write_sections(&mut buf);
        (self.balances.len() as u64).write(&mut buf);
        for (address, amount) in &self.balances {
            address.write(&mut buf);
            amount.write(&mut buf);
        }
        (self.validators.len() as u64).write(&mut buf);
        for key in &self.validators {
            buf.extend_from_slice(&key.encode());
        }
        hash(&buf)
    }

    /// The header of block 0: it commits to the genesis digest and is the parent of block 1.
    /// It carries no transactions, and its state root is left zero because the authenticated
    /// root of the genesis state belongs to the storage layer (block 1 carries it).
    pub fn block_header(&self) -> BlockHeader {
        BlockHeader {
            parent: self.digest(),
            height: 0,
            timestamp_ms: self.genesis_time_ms,
            // Any fixed key works; the first validator is always present.
            proposer: self
                .validators
                .first()
                .cloned()
                .unwrap_or_else(|| AccountKey::from_seed(0).public_key()),
            state_root: Digest::from([0u8; 32]),
            transactions_root: Block::compute_transactions_root(&[]),
        }
    }

    /// Writes this genesis as a commented TOML document that [`Genesis::from_toml`] reads back.
    pub fn to_toml(&self) -> String {
        let p = &self.params;
        let mut out = String::new();
        out.push_str("# Groundwork genesis. Field reference: docs/genesis.md.\n");
        out.push_str("# Amounts are strings of base units (1 token = 10^decimals base units).\n\n");
        out.push_str(&format!("chain_id = \"{}\"\n", p.core.chain_id));
        out.push_str(&format!("genesis_time_ms = {}\n\n", self.genesis_time_ms));
        out.push_str(&format!(
            "[token]\nsymbol = \"{}\"\ndecimals = {}\n\n",
            p.core.token_symbol.0, p.core.token_decimals
        ));
        out.push_str(&format!(
            "[epochs]\n# Blocks per epoch; rewards are paid at the last block of each epoch.\nlength_blocks = {}\n\
             # A device earns one work unit per window in which it heartbeats; must divide length_blocks.\n\
             heartbeat_window_blocks = {}\n# How many blocks old the block hash in a heartbeat may be.\n\
             heartbeat_max_age_blocks = {}\n# Epochs a decommissioned device's bond stays locked.\nunbonding_epochs = {}\n\n",
            p.core.epoch_length_blocks, p.core.heartbeat_window_blocks, p.core.heartbeat_max_age_blocks, p.core.unbonding_epochs
        ));
        out.push_str(&format!(
            "[emission]\n# Tokens minted in each epoch before the first halving.\ninitial_per_epoch = \"{}\"\n\
             # The per-epoch emission halves every this many epochs.\nhalving_interval_epochs = {}\n\n",
            p.core.initial_emission_per_epoch, p.core.halving_interval_epochs
        ));
        out.push_str("[reward_weights_bps]\n# Share of each epoch's emission per resource kind, in basis points; must sum to 10000.\n");
        for kind in ResourceKind::ALL {
            out.push_str(&format!(
                "{} = {}\n",
                kind.name(),
                p.core.reward_weights_bps[kind.index()]
            ));
        }
        out.push_str(&format!(
            "\n[fees]\n# Paid to the treasury by every account transaction.\ntransaction_fee = \"{}\"\n\
             # Locked when a device registers.\ndevice_bond = \"{}\"\n",
            p.core.transaction_fee, p.core.device_bond
        ));
        out.push_str(&p.sections_toml());
        for key in &self.validators {
            out.push_str(&format!(
                "\n[[validators]]\npublic_key = \"{}\"\n",
                hex::encode(key.as_ref())
            ));
        }
        for (address, amount) in &self.balances {
            out.push_str(&format!(
                "\n[[balances]]\naddress = \"{address}\"\namount = \"{amount}\"\n"
            ));
        }
        out
    }
}

impl Params {
    /// The epoch a height belongs to. Epoch `e` holds heights `e·L+1 ..= (e+1)·L`.
    pub fn epoch_of(&self, height: u64) -> u64 {
        height.saturating_sub(1) / self.core.epoch_length_blocks
    }

    /// Defaults for a local or test network with 1-second blocks: 1-minute epochs so rewards
    /// flow within the first minute, 6-decimal token, Helium's data-credit price ($0.00001),
    /// and no oracle accounts (a local network names its own).
    pub fn local(chain_id: ChainId) -> Self {
        const TOKEN: u128 = 1_000_000;
        Params::with_local_sections(CoreParams {
            chain_id,
            token_symbol: TokenSymbol("GRND".to_string()),
            token_decimals: 6,
            epoch_length_blocks: 60,
            heartbeat_window_blocks: 10,
            heartbeat_max_age_blocks: 30,
            unbonding_epochs: 2,
            initial_emission_per_epoch: Amount(1_000 * TOKEN),
            // One halving per year of 1-minute epochs.
            halving_interval_epochs: 525_600,
            // wireless, storage, compute, sensor, energy, ev_charger, vehicle
            reward_weights_bps: [3_000, 1_500, 1_500, 1_000, 1_000, 1_000, 1_000],
            transaction_fee: Amount(TOKEN / 1_000),
            device_bond: Amount(10 * TOKEN),
        })
    }
}
