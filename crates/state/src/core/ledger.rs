//! The ledger: every change to a balance, a bond, escrow, the treasury or the supply counters.
//! Each method changes the records and the counters together.

use super::{Core, Singleton};
use crate::error::CoreError;
use crate::error::{BlockError, TxError};
use crate::genesis::BASIS_POINTS_TOTAL;
use crate::records::{Account, ChainInfo, DeviceStatus};
use groundwork_primitives::{Address, Amount, DeviceId};

/// An amount that would not fit; `what` names it. Becomes [`TxError::Core(CoreError::AmountOverflow)`] in a
/// transaction and [`BlockError::Arithmetic`] in a block step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Overflow {
    pub what: &'static str,
}

impl From<Overflow> for TxError {
    fn from(o: Overflow) -> Self {
        TxError::Core(CoreError::AmountOverflow { what: o.what })
    }
}

impl From<Overflow> for BlockError {
    fn from(o: Overflow) -> Self {
        BlockError::Arithmetic { context: o.what }
    }
}

fn add(a: Amount, b: Amount, what: &'static str) -> Result<Amount, Overflow> {
    a.checked_add(b).ok_or(Overflow { what })
}

/// What a slash took from a bond and where it went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slash {
    pub slashed: Amount,
    pub to_beneficiary: Amount,
    pub to_treasury: Amount,
}

impl Core {
    pub(crate) fn chain_info(&self) -> ChainInfo {
        // The record is written at genesis and never deleted; the fallback is unreachable.
        self.info.get(&Singleton).cloned().unwrap_or(ChainInfo {
            height: 0,
            last_block: groundwork_primitives::hash::Digest::from([0u8; 32]),
            last_timestamp_ms: 0,
            treasury: Amount::ZERO,
            genesis_supply: Amount::ZERO,
            minted: Amount::ZERO,
            burned: Amount::ZERO,
            bonded: Amount::ZERO,
            escrowed: Amount::ZERO,
        })
    }

    /// The one read-modify-write of the chain counters: `change` edits a copy, which is kept
    /// only if it returns `Ok`.
    pub(super) fn update_info<E>(
        &mut self,
        change: impl FnOnce(&mut ChainInfo) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut info = self.chain_info();
        change(&mut info)?;
        self.info.put(Singleton, info);
        Ok(())
    }

    /// An account; a never-seen address is an empty account.
    pub(crate) fn account(&self, address: &Address) -> Account {
        self.accounts.get(address).cloned().unwrap_or_default()
    }

    fn update_account<E>(
        &mut self,
        address: &Address,
        change: impl FnOnce(&mut Account) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut account = self.account(address);
        change(&mut account)?;
        self.accounts.put(*address, account);
        Ok(())
    }

    /// Adds to a balance. Callers mint, release or move what they credit (see the other
    /// methods), so the supply stays whole.
    pub(super) fn credit(
        &mut self,
        to: &Address,
        amount: Amount,
        what: &'static str,
    ) -> Result<(), Overflow> {
        self.update_account(to, |a| {
            a.balance = add(a.balance, amount, what)?;
            Ok(())
        })
    }

    /// Takes from a balance, or refuses with what it has.
    pub(super) fn debit(&mut self, from: &Address, amount: Amount) -> Result<(), TxError> {
        self.update_account(from, |a| {
            a.balance = a.balance.checked_sub(amount).ok_or(TxError::Core(
                CoreError::InsufficientBalance {
                    needed: amount,
                    available: a.balance,
                },
            ))?;
            Ok(())
        })
    }

    /// Moves `amount` from one account to another.
    pub(crate) fn transfer(
        &mut self,
        from: &Address,
        to: &Address,
        amount: Amount,
    ) -> Result<(), TxError> {
        self.debit(from, amount)?;
        self.credit(to, amount, "recipient balance")?;
        Ok(())
    }

    /// Takes the fee of an account transaction into the treasury and uses its nonce; refuses
    /// (changing nothing) if the nonce is not the next one or the balance cannot pay.
    pub(crate) fn charge_transaction(
        &mut self,
        sender: &Address,
        nonce: u64,
        fee: Amount,
    ) -> Result<(), TxError> {
        let account = self.account(sender);
        if nonce != account.nonce {
            return Err(TxError::Core(CoreError::BadNonce {
                expected: account.nonce,
                got: nonce,
            }));
        }
        self.update_account(sender, |a| {
            a.balance =
                a.balance
                    .checked_sub(fee)
                    .ok_or(TxError::Core(CoreError::CannotPayFee {
                        fee,
                        available: a.balance,
                    }))?;
            a.nonce = a
                .nonce
                .checked_add(1)
                .ok_or(TxError::Core(CoreError::AmountOverflow { what: "nonce" }))?;
            Ok::<(), TxError>(())
        })?;
        self.update_info(|info| {
            info.treasury = add(info.treasury, fee, "treasury")?;
            Ok::<(), Overflow>(())
        })?;
        Ok(())
    }

    /// Burns `cost` from `payer` and gives `recipient` that many data credits.
    pub(crate) fn burn_for_credits(
        &mut self,
        payer: &Address,
        recipient: &Address,
        cost: Amount,
        credits: u64,
    ) -> Result<(), TxError> {
        self.debit(payer, cost)?;
        self.update_info(|info| {
            info.burned = add(info.burned, cost, "burned")?;
            Ok::<(), Overflow>(())
        })?;
        self.update_account(recipient, |a| {
            a.credits =
                a.credits
                    .checked_add(credits)
                    .ok_or(TxError::Core(CoreError::AmountOverflow {
                        what: "data credits",
                    }))?;
            Ok(())
        })
    }

    /// Takes `credits` from an account's data credits into a module's escrow (a usage
    /// session), or refuses with what it has.
    pub(crate) fn escrow_credits(&mut self, from: &Address, credits: u64) -> Result<(), TxError> {
        self.update_account(from, |a| {
            a.credits = a.credits.checked_sub(credits).ok_or(TxError::Core(
                CoreError::InsufficientCredits {
                    needed: credits,
                    available: a.credits,
                },
            ))?;
            Ok(())
        })
    }

    /// Gives escrowed credits back to an account.
    pub(crate) fn return_credits(&mut self, to: &Address, credits: u64) -> Result<(), BlockError> {
        self.update_account(to, |a| {
            a.credits = a
                .credits
                .checked_add(credits)
                .ok_or(BlockError::Arithmetic {
                    context: "returned credits",
                })?;
            Ok(())
        })
    }

    /// Mints `amount` new tokens to `to`, outside the scheduled emission (the usage mint).
    pub(crate) fn mint_to(&mut self, to: &Address, amount: Amount) -> Result<(), BlockError> {
        self.credit(to, amount, "minted payout")?;
        self.update_info(|info| {
            info.minted = add(info.minted, amount, "minted")?;
            Ok::<(), Overflow>(())
        })?;
        Ok(())
    }

    /// Takes `amount` from `from`'s balance into the counter `held` picks (bonded, escrowed):
    /// tokens that leave the accounts but not the supply.
    fn hold(
        &mut self,
        from: &Address,
        amount: Amount,
        held: fn(&mut ChainInfo) -> &mut Amount,
        what: &'static str,
    ) -> Result<(), TxError> {
        self.debit(from, amount)?;
        self.update_info(|info| {
            let counter = held(info);
            *counter = add(*counter, amount, what)?;
            Ok::<(), Overflow>(())
        })?;
        Ok(())
    }

    /// Gives `amount` back from the counter `held` picks to `to`'s balance.
    fn release(
        &mut self,
        to: &Address,
        amount: Amount,
        held: fn(&mut ChainInfo) -> &mut Amount,
        below_zero: &'static str,
        what: &'static str,
    ) -> Result<(), BlockError> {
        self.update_info(|info| {
            let counter = held(info);
            *counter = counter.checked_sub(amount).ok_or(BlockError::Invariant {
                context: below_zero,
            })?;
            Ok::<(), BlockError>(())
        })?;
        self.credit(to, amount, what)?;
        Ok(())
    }

    /// Locks `amount` of `from`'s balance as a device bond (the device record carries it).
    pub(super) fn lock_bond(&mut self, from: &Address, amount: Amount) -> Result<(), TxError> {
        self.hold(from, amount, |i| &mut i.bonded, "bonded")
    }

    /// Returns a bond to `to` (the device record drops it).
    pub(super) fn return_bond(&mut self, to: &Address, amount: Amount) -> Result<(), BlockError> {
        self.release(
            to,
            amount,
            |i| &mut i.bonded,
            "bonded below zero",
            "bond return",
        )
    }

    /// Puts `amount` of `from`'s balance in escrow for a module, which must count it in
    /// [`crate::module::Module::held`] until it releases it.
    pub(crate) fn escrow(&mut self, from: &Address, amount: Amount) -> Result<(), TxError> {
        self.hold(from, amount, |i| &mut i.escrowed, "escrowed")
    }

    /// Pays `amount` out of escrow to `to`.
    pub(crate) fn release_escrow(
        &mut self,
        to: &Address,
        amount: Amount,
        what: &'static str,
    ) -> Result<(), BlockError> {
        self.release(to, amount, |i| &mut i.escrowed, "escrow below zero", what)
    }

    /// Slashes `slash_bps` of an active device's bond: half to `beneficiary` (who proved the
    /// fault), the rest to the treasury. Half, so that an owner who has its own device slashed
    /// from another account loses half of it: a self-slash is no cheap way to unbond. A device
    /// no longer active has its bond promised back to its owner, so nothing is slashed.
    pub(crate) fn slash_bond(
        &mut self,
        device: &DeviceId,
        slash_bps: u16,
        beneficiary: &Address,
    ) -> Result<Slash, BlockError> {
        let mut record = self.device(device).ok_or(BlockError::Invariant {
            context: "slashing an unknown device",
        })?;
        let slashed = if record.status == DeviceStatus::Active {
            let scaled = record
                .bond
                .0
                .checked_mul(u128::from(slash_bps))
                .ok_or(BlockError::Arithmetic { context: "slash" })?;
            Amount(scaled / u128::from(BASIS_POINTS_TOTAL))
        } else {
            Amount::ZERO
        };
        record.bond = record
            .bond
            .checked_sub(slashed)
            .ok_or(BlockError::Invariant {
                context: "slash exceeds the bond",
            })?;
        self.devices.put(device.clone(), record);
        let to_beneficiary = Amount(slashed.0 / 2);
        let to_treasury = slashed
            .checked_sub(to_beneficiary)
            .ok_or(BlockError::Arithmetic {
                context: "slash split",
            })?;
        self.update_info(|info| {
            info.bonded = info
                .bonded
                .checked_sub(slashed)
                .ok_or(BlockError::Invariant {
                    context: "bonded below zero",
                })?;
            info.treasury = add(info.treasury, to_treasury, "treasury")?;
            Ok::<(), BlockError>(())
        })?;
        self.credit(beneficiary, to_beneficiary, "slash payout")?;
        Ok(Slash {
            slashed,
            to_beneficiary,
            to_treasury,
        })
    }

    /// Pays a reward out of the epoch's emission; [`Core::close_epoch`] mints the emission
    /// and sends what no module paid to the treasury.
    pub(crate) fn pay_reward(&mut self, to: &Address, amount: Amount) -> Result<(), BlockError> {
        self.credit(to, amount, "reward")?;
        Ok(())
    }

    /// Pays a reward out of the epoch's emission into escrow instead of to its owner: a module
    /// has a claim on it (an open location challenge of the device), counts it in
    /// [`crate::module::Module::held`], and later releases it or forfeits it.
    pub(crate) fn pay_reward_into_escrow(&mut self, amount: Amount) -> Result<(), BlockError> {
        self.update_info(|info| {
            info.escrowed = add(info.escrowed, amount, "escrowed")?;
            Ok::<(), Overflow>(())
        })?;
        Ok(())
    }

    /// Burns `amount` out of escrow: a slashed collateral's share that nobody is paid.
    pub(crate) fn burn_escrow(&mut self, amount: Amount) -> Result<(), BlockError> {
        self.move_out_of_escrow(amount, |i| &mut i.burned, "burned")
    }

    /// Takes `amount` out of the escrow counter into the counter `to` picks (burned,
    /// treasury), leaving no account richer.
    fn move_out_of_escrow(
        &mut self,
        amount: Amount,
        to: fn(&mut ChainInfo) -> &mut Amount,
        what: &'static str,
    ) -> Result<(), BlockError> {
        self.update_info(|info| {
            info.escrowed = info
                .escrowed
                .checked_sub(amount)
                .ok_or(BlockError::Invariant {
                    context: "escrow below zero",
                })?;
            let counter = to(info);
            *counter = add(*counter, amount, what)?;
            Ok::<(), BlockError>(())
        })
    }

    /// Sends `amount` out of escrow to the treasury: a claim on it was upheld.
    pub(crate) fn forfeit_escrow(&mut self, amount: Amount) -> Result<(), BlockError> {
        self.move_out_of_escrow(amount, |i| &mut i.treasury, "treasury")
    }

    /// Mints the epoch's emission, of which the modules paid `paid` as rewards; the rest goes
    /// to the treasury. Records the epoch's summary.
    pub(crate) fn close_epoch(
        &mut self,
        epoch: u64,
        summary: EpochSummaryParts,
    ) -> Result<crate::records::EpochSummary, BlockError> {
        let to_treasury =
            summary
                .emission
                .checked_sub(summary.paid)
                .ok_or(BlockError::Invariant {
                    context: "rewards exceed the emission",
                })?;
        self.update_info(|info| {
            info.minted = add(info.minted, summary.emission, "minted")?;
            info.treasury = add(info.treasury, to_treasury, "treasury")?;
            Ok::<(), BlockError>(())
        })?;
        let record = crate::records::EpochSummary {
            emission: summary.emission,
            halvings: summary.halvings,
            pools: summary.pools,
            total_units: summary.total_units,
            devices_rewarded: summary.devices_rewarded,
            paid: summary.paid,
            to_treasury,
        };
        self.epochs.put(epoch, record.clone());
        Ok(record)
    }
}

/// An epoch's reward run as the modules left it, for [`Core::close_epoch`].
#[derive(Clone, Debug)]
pub(crate) struct EpochSummaryParts {
    pub emission: Amount,
    pub halvings: u64,
    pub pools: [Amount; groundwork_primitives::ResourceKind::COUNT],
    pub total_units: [u64; groundwork_primitives::ResourceKind::COUNT],
    pub devices_rewarded: u64,
    pub paid: Amount,
}
