//! Metered usage: offers, sessions with escrowed credits, doubly signed vouchers, and the
//! capped usage mint that pays devices for verified delivery (burn-and-mint).
//!
//! - A device's owner sets an **offer**: credits per unit (the unit is the device kind's,
//!   [`unit_of`]) and the longest session.
//! - A customer **opens a session** at that price, escrowing up to `max_credits` of its
//!   credits until `expires_at`.
//! - Delivery is proven by **vouchers** `(session, cumulative units, cumulative credits)`
//!   signed by the customer and co-signed by the device key. Each supersedes the last; either
//!   party **settles** the latest, and the increment over what was settled is spent: taken
//!   from escrow for good and counted as the device's verified usage in the epoch.
//! - The customer may **close** at any time, which ends the session now. Until `grace_blocks`
//!   after the end the device may still settle; then the unspent escrow returns to the
//!   customer (the block step does it; nobody has to ask).
//! - At each epoch's end every device with verified usage is paid tokens worth its spent
//!   credits at the oracle's **mint price** (the higher of median and average), times
//!   `reward_bps`. That usage mint is capped at `max_mint_per_epoch`; above the cap every
//!   device gets the same fraction of what it earned.
//!
//! Why neither side can cheat the other by more than one voucher increment: docs/usage.md.

mod error;
mod genesis;

pub use error::UsageError;

use crate::core::{Core, Singleton};
use crate::error::{BlockError, InvariantViolation, TxError};
use crate::genesis::Params;
use crate::genesis::{BASIS_POINTS_TOTAL, GenesisError, invalid};
use crate::module::{Module, ModuleInfo};
use crate::modules::credits::{Credits, CreditsParams};
use crate::modules::oracle::{Oracle, OracleParams};
use crate::table::{AnyTable, Table};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::keys::{AccountPublicKey, AccountSignature, account_address};
use groundwork_primitives::tx::{UsageCall, Voucher, session_id};
use groundwork_primitives::{Address, Amount, ChainId, DeviceId, DeviceSignature, ResourceKind};

/// Longest session any offer may allow: about 11 days of 1-second blocks.
pub const MAX_SESSION_BLOCKS: u64 = 1_000_000;

/// What one unit of service is, per device kind.
pub fn unit_of(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Wireless => "24-byte packet",
        ResourceKind::Storage => "GiB-epoch",
        ResourceKind::Compute => "million fuel",
        ResourceKind::Sensor => "reading",
        ResourceKind::Energy | ResourceKind::EvCharger => "Wh",
        ResourceKind::Vehicle => "reading",
    }
}

/// The usage module's section of the chain parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageParams {
    /// Blocks after a session ends in which the device may still settle.
    pub grace_blocks: u64,
    /// Share of the spent credits' USD value a device is paid in tokens, in basis points.
    pub reward_bps: u16,
    /// Most tokens the usage mint may create in one epoch. Zero: no usage mint.
    pub max_mint_per_epoch: Amount,
}
impl_struct_codec!(UsageParams {
    grace_blocks,
    reward_bps,
    max_mint_per_epoch
});

impl UsageParams {
    /// Defaults: a 30-block grace window, 100 % of the value paid, and no mint until genesis
    /// sets a cap.
    pub fn disabled() -> Self {
        Self {
            grace_blocks: 30,
            reward_bps: 10_000,
            max_mint_per_epoch: Amount::ZERO,
        }
    }

    /// Refuses a value genesis may not set, naming its field.
    pub(crate) fn validate(&self) -> Result<(), GenesisError> {
        if self.grace_blocks == 0 || self.grace_blocks > MAX_SESSION_BLOCKS {
            return Err(invalid(
                "usage.grace_blocks",
                format!("must be between 1 and {MAX_SESSION_BLOCKS}"),
            ));
        }
        if u32::from(self.reward_bps) > BASIS_POINTS_TOTAL {
            return Err(invalid(
                "usage.reward_bps",
                format!("{} is more than {BASIS_POINTS_TOTAL}", self.reward_bps),
            ));
        }
        Ok(())
    }
}

/// A device's standing offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    pub credits_per_unit: u64,
    pub max_session_blocks: u64,
}
impl_struct_codec!(Offer {
    credits_per_unit,
    max_session_blocks
});

/// A usage session, every step of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub customer: Address,
    /// The key that signed the opening: vouchers must carry its signature.
    pub customer_key: AccountPublicKey,
    pub device: DeviceId,
    pub credits_per_unit: u64,
    /// Credits in escrow at opening.
    pub max_credits: u64,
    pub opened_at: u64,
    /// The last block of service: the expiry asked for, or earlier if the customer closed.
    pub ends_at: u64,
    pub settled_units: u64,
    pub settled_credits: u64,
    /// Credits returned to the customer once the grace window passed (`None` until then).
    pub refunded: Option<u64>,
}
impl_struct_codec!(Session {
    customer,
    customer_key,
    device,
    credits_per_unit,
    max_credits,
    opened_at,
    ends_at,
    settled_units,
    settled_credits,
    refunded
});

impl Session {
    /// The last height at which a voucher may be settled.
    pub fn settle_by(&self, grace_blocks: u64) -> u64 {
        self.ends_at.saturating_add(grace_blocks)
    }

    /// Credits still in escrow.
    pub fn escrowed(&self) -> u64 {
        match self.refunded {
            Some(_) => 0,
            None => self.max_credits.saturating_sub(self.settled_credits),
        }
    }
}

/// A device's verified usage in one epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceUsage {
    pub credits: u64,
    pub units: u64,
    pub settlements: u64,
}
impl_struct_codec!(DeviceUsage {
    credits,
    units,
    settlements
});

/// What the usage mint paid a device for an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageReward {
    pub owner: Address,
    pub credits: u64,
    pub units: u64,
    /// What it earned before the cap.
    pub uncapped: Amount,
    pub amount: Amount,
}
impl_struct_codec!(UsageReward {
    owner,
    credits,
    units,
    uncapped,
    amount
});

/// The usage mint of one epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageEpoch {
    /// Credits spent (settled) in the epoch.
    pub credits_spent: u64,
    /// The oracle's mint price at the epoch's end, micro-USD per token (0: none, no mint).
    pub mint_price_micro_usd: u64,
    /// What devices earned before the cap.
    pub uncapped: Amount,
    /// The cap in force.
    pub cap: Amount,
    /// What was minted.
    pub minted: Amount,
    pub devices: u64,
}
impl_struct_codec!(UsageEpoch {
    credits_spent,
    mint_price_micro_usd,
    uncapped,
    cap,
    minted,
    devices
});

impl UsageEpoch {
    /// What fraction of the uncapped earnings was paid, in basis points (10 000 under the cap).
    pub fn cap_factor_bps(&self) -> u64 {
        if self.uncapped.0 == 0 {
            return 10_000;
        }
        mul_div_floor(self.minted.0, 10_000, self.uncapped.0)
            .and_then(|f| u64::try_from(f).ok())
            .unwrap_or(10_000)
    }
}

/// `floor(a × b ÷ c)` with a 256-bit product, `None` if `c` is zero or the quotient does not
/// fit 128 bits. Exact, so a pro-rata share never depends on the order of operations.
pub fn mul_div_floor(a: u128, b: u128, c: u128) -> Option<u128> {
    if c == 0 {
        return None;
    }
    const MASK: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & MASK);
    let (b1, b0) = (b >> 64, b & MASK);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & MASK) + (p10 & MASK);
    let lo = (p00 & MASK) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    if hi >= c {
        return None;
    }
    // Long division of hi·2^128 + lo by c; hi < c keeps the quotient within 128 bits.
    let (mut remainder, mut quotient) = (hi, 0u128);
    for bit in (0..128).rev() {
        let carry = remainder >> 127;
        remainder = (remainder << 1) | ((lo >> bit) & 1);
        if carry == 1 || remainder >= c {
            remainder = remainder.wrapping_sub(c);
            quotient |= 1 << bit;
        }
    }
    Some(quotient)
}

/// Tokens (base units) worth `credits` at `mint_price` micro-USD per token, times `reward_bps`.
pub fn usage_value(
    credits: u64,
    credits_params: &CreditsParams,
    decimals: u8,
    reward_bps: u16,
    mint_price_micro_usd: u64,
) -> Option<Amount> {
    let micro_usd =
        u128::from(credits).checked_mul(u128::from(credits_params.credit_price_micro_usd))?;
    let unit = 10u128.checked_pow(u32::from(decimals))?;
    let tokens = mul_div_floor(micro_usd, unit, u128::from(mint_price_micro_usd))?;
    mul_div_floor(tokens, u128::from(reward_bps), 10_000).map(Amount)
}

/// What the usage mint pays a device that earned `uncapped` when all devices earned
/// `epoch_uncapped` against `cap`: all of it under the cap, its pro-rata share above.
pub fn capped_share(uncapped: Amount, epoch_uncapped: Amount, cap: Amount) -> Option<Amount> {
    if epoch_uncapped <= cap {
        return Some(uncapped);
    }
    mul_div_floor(uncapped.0, cap.0, epoch_uncapped.0).map(Amount)
}

pair_key!(
    /// The key of a session's refund: the last height it may be settled, then its id.
    DeadlineSession(u64, Digest)
);
pair_key!(
    /// An epoch, then a device.
    EpochDevice(u64, DeviceId)
);
pair_key!(
    /// A customer, then one of its sessions.
    CustomerSession(Address, Digest)
);

/// Table prefixes of the usage module. On disk and in proofs: never renumber.
pub mod prefix {
    pub const OFFER: u8 = 0x60;
    pub const SESSION: u8 = 0x61;
    pub const SESSION_DEADLINE: u8 = 0x62;
    pub const DEVICE_USAGE: u8 = 0x63;
    pub const USAGE_REWARD: u8 = 0x64;
    pub const USAGE_EPOCH: u8 = 0x65;
    pub const CUSTOMER_SESSION: u8 = 0x66;
    pub const USAGE_PARAMS: u8 = 0x67;
}

#[derive(Clone, Debug)]
pub(crate) struct Usage {
    offers: Table<DeviceId, Offer>,
    sessions: Table<Digest, Session>,
    /// Sessions not yet refunded, by the last height they may be settled.
    deadlines: Table<DeadlineSession, u8>,
    /// Verified usage of the running epoch, per device; cleared when the epoch is paid.
    usage: Table<EpochDevice, DeviceUsage>,
    rewards: Table<EpochDevice, UsageReward>,
    epochs: Table<u64, UsageEpoch>,
    by_customer: Table<CustomerSession, u64>,
    params: Table<Singleton, UsageParams>,
}

impl Module for Usage {
    fn store_params(&mut self, params: &Params) {
        self.params.insert_committed(Singleton, params.usage);
    }

    fn load_params(&self, params: &mut Params) -> bool {
        self.params
            .get(&Singleton)
            .copied()
            .map(|stored| params.usage = stored)
            .is_some()
    }

    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "usage",
            prefixes: 0x60..=0x6F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![
            &self.offers,
            &self.sessions,
            &self.deadlines,
            &self.usage,
            &self.rewards,
            &self.epochs,
            &self.by_customer,
            &self.params,
        ]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![
            &mut self.offers,
            &mut self.sessions,
            &mut self.deadlines,
            &mut self.usage,
            &mut self.rewards,
            &mut self.epochs,
            &mut self.by_customer,
            &mut self.params,
        ]
    }

    /// Credits in the escrow of sessions not yet refunded.
    fn credits_held(&self) -> Result<u64, InvariantViolation> {
        self.sessions
            .committed()
            .values()
            .try_fold(0u64, |sum, s| sum.checked_add(s.escrowed()))
            .ok_or(InvariantViolation::Overflow {
                what: "session escrow",
            })
    }
}

/// What a call needs besides the module itself.
pub(crate) struct UsageContext<'a> {
    pub core: &'a mut Core,
    pub credits: &'a mut Credits,
    pub params: &'a UsageParams,
    pub chain: &'a ChainId,
    pub epoch: u64,
    pub height: u64,
}

impl Usage {
    pub(crate) fn new() -> Self {
        Self {
            offers: Table::new(prefix::OFFER, "offers"),
            sessions: Table::new(prefix::SESSION, "sessions"),
            deadlines: Table::new(prefix::SESSION_DEADLINE, "session deadlines"),
            usage: Table::new(prefix::DEVICE_USAGE, "device usage"),
            rewards: Table::new(prefix::USAGE_REWARD, "usage rewards"),
            epochs: Table::new(prefix::USAGE_EPOCH, "usage epochs"),
            by_customer: Table::new(prefix::CUSTOMER_SESSION, "customer sessions"),
            params: Table::new(prefix::USAGE_PARAMS, "usage params"),
        }
    }

    /// Applies one of the module's calls, its fee already paid. `signer` is the key that
    /// signed it, `nonce` its nonce (a session's id derives from it).
    pub(crate) fn apply_call(
        &mut self,
        cx: UsageContext<'_>,
        sender: &Address,
        signer: &AccountPublicKey,
        nonce: u64,
        call: &UsageCall,
    ) -> Result<(), TxError> {
        match call {
            UsageCall::SetOffer {
                device,
                credits_per_unit,
                max_session_blocks,
            } => {
                cx.core.owned_active_device(sender, device)?;
                if *max_session_blocks == 0 {
                    self.offers.delete(device.clone());
                    return Ok(());
                }
                if *credits_per_unit == 0 {
                    return Err(UsageError::Zero { what: "price" }.into());
                }
                if *max_session_blocks > MAX_SESSION_BLOCKS {
                    return Err(UsageError::BadExpiry {
                        expires_at: cx.height.saturating_add(*max_session_blocks),
                        max_blocks: MAX_SESSION_BLOCKS,
                    }
                    .into());
                }
                self.offers.put(
                    device.clone(),
                    Offer {
                        credits_per_unit: *credits_per_unit,
                        max_session_blocks: *max_session_blocks,
                    },
                );
                Ok(())
            }
            UsageCall::OpenSession {
                device,
                credits_per_unit,
                max_credits,
                expires_at,
            } => self.open(
                cx,
                sender,
                signer,
                nonce,
                device,
                *credits_per_unit,
                *max_credits,
                *expires_at,
            ),
            UsageCall::Settle {
                voucher,
                customer_signature,
                device_signature,
            } => self.settle(cx, sender, voucher, customer_signature, device_signature),
            UsageCall::Close { session } => self.close(cx, sender, session),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        cx: UsageContext<'_>,
        sender: &Address,
        signer: &AccountPublicKey,
        nonce: u64,
        device: &DeviceId,
        credits_per_unit: u64,
        max_credits: u64,
        expires_at: u64,
    ) -> Result<(), TxError> {
        cx.core.active_device(device)?;
        let offer = self
            .offers
            .get(device)
            .copied()
            .ok_or_else(|| UsageError::NoOffer {
                device: device.clone(),
            })?;
        if credits_per_unit != offer.credits_per_unit {
            return Err(UsageError::PriceNotOffered {
                asked: credits_per_unit,
                offered: offer.credits_per_unit,
            }
            .into());
        }
        if max_credits == 0 {
            return Err(UsageError::Zero {
                what: "escrowed credits",
            }
            .into());
        }
        let longest = cx.height.saturating_add(offer.max_session_blocks);
        if expires_at < cx.height || expires_at > longest {
            return Err(UsageError::BadExpiry {
                expires_at,
                max_blocks: offer.max_session_blocks,
            }
            .into());
        }
        cx.core.escrow_credits(sender, max_credits)?;
        let id = session_id(sender, nonce);
        let session = Session {
            customer: *sender,
            customer_key: signer.clone(),
            device: device.clone(),
            credits_per_unit,
            max_credits,
            opened_at: cx.height,
            ends_at: expires_at,
            settled_units: 0,
            settled_credits: 0,
            refunded: None,
        };
        self.deadlines.put(
            DeadlineSession(session.settle_by(cx.params.grace_blocks), id),
            0,
        );
        self.by_customer
            .put(CustomerSession(*sender, id), cx.height);
        self.sessions.put(id, session);
        Ok(())
    }

    fn live_session(
        &self,
        id: &Digest,
        grace_blocks: u64,
        height: u64,
    ) -> Result<Session, TxError> {
        let session = self
            .sessions
            .get(id)
            .cloned()
            .ok_or(UsageError::UnknownSession { session: *id })?;
        let settle_by = session.settle_by(grace_blocks);
        if session.refunded.is_some() || height > settle_by {
            return Err(UsageError::SessionClosed {
                session: *id,
                settle_by,
            }
            .into());
        }
        Ok(session)
    }

    fn settle(
        &mut self,
        cx: UsageContext<'_>,
        sender: &Address,
        voucher: &Voucher,
        customer_signature: &AccountSignature,
        device_signature: &DeviceSignature,
    ) -> Result<(), TxError> {
        let id = voucher.session;
        let mut session = self.live_session(&id, cx.params.grace_blocks, cx.height)?;
        let owner = cx.core.device(&session.device).map(|d| d.owner);
        if *sender != session.customer && Some(*sender) != owner {
            return Err(UsageError::NotAParty { signer: *sender }.into());
        }
        let (units, credits) = (voucher.cumulative_units, voucher.cumulative_credits);
        if credits <= session.settled_credits {
            return Err(UsageError::StaleVoucher {
                cumulative: credits,
                settled: session.settled_credits,
            }
            .into());
        }
        if credits > session.max_credits {
            return Err(UsageError::AboveEscrow {
                cumulative: credits,
                escrowed: session.max_credits,
            }
            .into());
        }
        if units.checked_mul(session.credits_per_unit) != Some(credits) {
            return Err(UsageError::VoucherPrice {
                units,
                credits,
                price: session.credits_per_unit,
            }
            .into());
        }
        // Signatures last: every cheaper refusal comes first.
        let namespace = Voucher::namespace(cx.chain);
        let message = voucher.message();
        use commonware_cryptography::Verifier;
        if account_address(&session.customer_key) != session.customer
            || !session
                .customer_key
                .verify(&namespace, &message, customer_signature)
        {
            return Err(UsageError::BadCustomerSignature.into());
        }
        if !session
            .device
            .verify(&namespace, &message, device_signature)
        {
            return Err(UsageError::BadDeviceSignature.into());
        }
        let spent = credits - session.settled_credits;
        let delivered = units.saturating_sub(session.settled_units);
        cx.credits.count_spent(cx.epoch, spent)?;
        let key = EpochDevice(cx.epoch, session.device.clone());
        let mut usage = self.usage.get(&key).copied().unwrap_or_default();
        let overflow = || crate::error::CoreError::AmountOverflow {
            what: "device usage",
        };
        usage.credits = usage.credits.checked_add(spent).ok_or_else(overflow)?;
        usage.units = usage.units.checked_add(delivered).ok_or_else(overflow)?;
        usage.settlements = usage.settlements.saturating_add(1);
        self.usage.put(key, usage);
        session.settled_units = units;
        session.settled_credits = credits;
        self.sessions.put(id, session);
        Ok(())
    }

    fn close(
        &mut self,
        cx: UsageContext<'_>,
        sender: &Address,
        id: &Digest,
    ) -> Result<(), TxError> {
        let mut session = self.live_session(id, cx.params.grace_blocks, cx.height)?;
        if *sender != session.customer {
            return Err(UsageError::NotTheCustomer.into());
        }
        if session.ends_at > cx.height {
            let grace = cx.params.grace_blocks;
            self.deadlines
                .delete(DeadlineSession(session.settle_by(grace), *id));
            session.ends_at = cx.height;
            self.deadlines
                .put(DeadlineSession(session.settle_by(grace), *id), 0);
            self.sessions.put(*id, session);
        }
        Ok(())
    }

    /// The block step: sessions whose grace window ends at this height give their unspent
    /// escrow back to their customers.
    pub(crate) fn end_block(&mut self, core: &mut Core, height: u64) -> Result<(), BlockError> {
        let last = DeadlineSession(height, Digest::from([0xFF; 32]));
        for key in self.deadlines.keys_through(&last) {
            self.deadlines.delete(key.clone());
            let Some(mut session) = self.sessions.get(&key.1).cloned() else {
                return Err(BlockError::Invariant {
                    context: "a session deadline without its session",
                });
            };
            let left = session.escrowed();
            core.return_credits(&session.customer, left)?;
            session.refunded = Some(left);
            self.sessions.put(key.1, session);
        }
        Ok(())
    }

    /// The epoch step: pays each device with verified usage in `epoch` its spent credits'
    /// value at the mint price, times `reward_bps`, within the cap; returns what it minted.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn end_epoch(
        &mut self,
        core: &mut Core,
        may_earn: impl Fn(&DeviceId, ResourceKind) -> bool,
        oracle: &Oracle,
        oracle_params: &OracleParams,
        credits_params: &CreditsParams,
        params: &UsageParams,
        decimals: u8,
        epoch: u64,
        height: u64,
    ) -> Result<Amount, BlockError> {
        let records: Vec<(EpochDevice, DeviceUsage)> = self
            .usage
            .keys()
            .into_iter()
            .filter(|k| k.0 == epoch)
            .filter_map(|k| self.usage.get(&k).copied().map(|u| (k, u)))
            .collect();
        let arithmetic = BlockError::Arithmetic {
            context: "usage mint",
        };
        let mint_price = oracle.price(oracle_params, height).ok().map(|p| p.mint());
        let mut summary = UsageEpoch {
            mint_price_micro_usd: mint_price.unwrap_or(0),
            cap: params.max_mint_per_epoch,
            ..UsageEpoch::default()
        };
        let earned = value_usage(
            &records,
            mint_price,
            credits_params,
            params,
            decimals,
            &mut summary,
        )?;
        for (key, usage, uncapped) in earned {
            let amount = capped_share(uncapped, summary.uncapped, params.max_mint_per_epoch)
                .ok_or(arithmetic.clone())?;
            // A device decommissioned since still has an owner on record; one that is gone
            // entirely is paid nothing.
            let Some(device) = core.device(&key.1) else {
                continue;
            };
            let owner = device.owner;
            // A revoked device, or an unattested one of a kind that must be, is paid nothing.
            let amount = if may_earn(&key.1, device.kind) {
                amount
            } else {
                Amount::ZERO
            };
            if amount > Amount::ZERO {
                core.mint_to(&owner, amount)?;
            }
            summary.minted = summary
                .minted
                .checked_add(amount)
                .ok_or(arithmetic.clone())?;
            summary.devices = summary.devices.saturating_add(1);
            self.rewards.put(
                key.clone(),
                UsageReward {
                    owner,
                    credits: usage.credits,
                    units: usage.units,
                    uncapped,
                    amount,
                },
            );
            self.usage.delete(key);
        }
        if !records.is_empty() {
            self.epochs.put(epoch, summary);
        }
        Ok(summary.minted)
    }

    /// Counts `spent` credits another module paid out of its escrow for verified work (a
    /// storage deal's proven period, a compute task's decided outcome) as `device`'s usage in
    /// `epoch`, so the epoch's usage mint pays for it as for a settled voucher.
    pub(crate) fn record_spent(
        &mut self,
        credits: &mut Credits,
        epoch: u64,
        device: &DeviceId,
        spent: u64,
    ) -> Result<(), BlockError> {
        let arithmetic = BlockError::Arithmetic {
            context: "module usage",
        };
        credits
            .count_spent(epoch, spent)
            .map_err(|_| arithmetic.clone())?;
        let key = EpochDevice(epoch, device.clone());
        let mut usage = self.usage.get(&key).copied().unwrap_or_default();
        usage.credits = usage.credits.checked_add(spent).ok_or(arithmetic)?;
        usage.settlements = usage.settlements.saturating_add(1);
        self.usage.put(key, usage);
        Ok(())
    }

    // ---- queries -------------------------------------------------------------------------

    pub(crate) fn offer(&self, device: &DeviceId) -> Option<Offer> {
        self.offers.get(device).copied()
    }

    pub(crate) fn session(&self, id: &Digest) -> Option<Session> {
        self.sessions.get(id).cloned()
    }

    /// Up to `limit` of a customer's sessions in id order, after `after` (a range of the
    /// customer index, not a walk of every session).
    pub(crate) fn sessions_of(
        &self,
        customer: &Address,
        after: Option<Digest>,
        limit: usize,
    ) -> Vec<(Digest, Session)> {
        let from = CustomerSession(*customer, after.unwrap_or(Digest::from([0u8; 32])));
        let to = CustomerSession(*customer, Digest::from([0xFF; 32]));
        self.by_customer
            .committed()
            .range(from..=to)
            .map(|(k, _)| k.1)
            .filter(|id| Some(*id) != after)
            .filter_map(|id| self.sessions.get(&id).map(|s| (id, s.clone())))
            .take(limit)
            .collect()
    }

    pub(crate) fn reward(&self, epoch: u64, device: &DeviceId) -> Option<UsageReward> {
        self.rewards
            .get(&EpochDevice(epoch, device.clone()))
            .copied()
    }

    pub(crate) fn epoch(&self, epoch: u64) -> Option<UsageEpoch> {
        self.epochs.get(&epoch).copied()
    }

    /// Verified usage of a device in the running epoch.
    pub(crate) fn pending_usage(&self, epoch: u64, device: &DeviceId) -> Option<DeviceUsage> {
        self.usage.get(&EpochDevice(epoch, device.clone())).copied()
    }
}

/// Each device's usage valued at the mint price, before the cap; adds the credits spent and
/// the uncapped total to `summary`.
fn value_usage(
    records: &[(EpochDevice, DeviceUsage)],
    mint_price: Option<u64>,
    credits_params: &CreditsParams,
    params: &UsageParams,
    decimals: u8,
    summary: &mut UsageEpoch,
) -> Result<Vec<(EpochDevice, DeviceUsage, Amount)>, BlockError> {
    let mut earned = Vec::with_capacity(records.len());
    for (key, usage) in records {
        summary.credits_spent =
            summary
                .credits_spent
                .checked_add(usage.credits)
                .ok_or(BlockError::Arithmetic {
                    context: "usage mint",
                })?;
        let uncapped = match mint_price {
            // An absurd price (a quorum of oracles reporting almost nothing) could make the
            // value exceed 2^128 base units; it saturates, and the cap bounds the mint. A
            // block step must never fail on what oracles report.
            Some(price) => usage_value(
                usage.credits,
                credits_params,
                decimals,
                params.reward_bps,
                price,
            )
            .unwrap_or(Amount(u128::MAX)),
            None => Amount::ZERO,
        };
        summary.uncapped = Amount(summary.uncapped.0.saturating_add(uncapped.0));
        earned.push((key.clone(), *usage, uncapped));
    }
    Ok(earned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_div_is_exact_with_a_256_bit_product() {
        assert_eq!(mul_div_floor(10, 3, 4), Some(7));
        assert_eq!(
            mul_div_floor(u128::MAX, u128::MAX, u128::MAX),
            Some(u128::MAX)
        );
        // 2^128 − 1 is a multiple of 3.
        assert_eq!(mul_div_floor(u128::MAX, 2, 3), Some(u128::MAX / 3 * 2));
        assert_eq!(
            mul_div_floor(u128::MAX - 1, 2, 3),
            Some(u128::MAX / 3 * 2 - 1)
        );
        assert_eq!(mul_div_floor(u128::MAX, 2, 1), None);
        assert_eq!(mul_div_floor(1, 1, 0), None);
        let (a, b, c) = (
            123_456_789_012_345_678_901u128,
            987_654_321_098u128,
            55_555u128,
        );
        assert_eq!(mul_div_floor(a, b, c), Some(a * b / c));
    }

    /// 100 000 credits = $1; at a mint price of $2.50 that is 0.4 tokens = 400 000 base
    /// units at 6 decimals; at 80 % reward, 320 000.
    #[test]
    fn usage_value_by_hand() {
        let helium = CreditsParams::helium();
        assert_eq!(
            usage_value(100_000, &helium, 6, 10_000, 2_500_000),
            Some(Amount(400_000))
        );
        assert_eq!(
            usage_value(100_000, &helium, 6, 8_000, 2_500_000),
            Some(Amount(320_000))
        );
        assert_eq!(usage_value(1, &helium, 6, 10_000, 0), None);
    }

    #[test]
    fn the_cap_factor_reads_the_share_paid() {
        let e = UsageEpoch {
            uncapped: Amount(400),
            minted: Amount(100),
            ..UsageEpoch::default()
        };
        assert_eq!(e.cap_factor_bps(), 2_500);
        assert_eq!(UsageEpoch::default().cap_factor_bps(), 10_000);
    }
}
