//! The conservation laws, checked over committed state after every block in tests and
//! audits: no invariant names a module; each module reports what it holds and checks its own
//! running sums.

use crate::error::InvariantViolation;
use crate::machine::State;
use groundwork_primitives::Amount;

impl State {
    /// Checks the conservation laws over committed state: supply = genesis + minted − burned,
    /// every module's escrow sums to the escrow counter, and Σ balances + Σ bonds + escrow +
    /// treasury = supply.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let info = self.chain_info();
        let supply = info
            .total_supply()
            .ok_or(InvariantViolation::BurnedExceedsSupply)?;
        let mut escrow = Amount::ZERO;
        for module in self.modules() {
            escrow = escrow
                .checked_add(module.held()?)
                .ok_or(InvariantViolation::Overflow { what: "escrow" })?;
        }
        if escrow != info.escrowed {
            return Err(InvariantViolation::CounterMismatch {
                counter: "escrowed",
                counted: escrow,
                recorded: info.escrowed,
            });
        }
        let held = self
            .core
            .holdings()?
            .checked_add(escrow.0)
            .ok_or(InvariantViolation::Overflow { what: "holdings" })?;
        if held != supply.0 {
            return Err(InvariantViolation::Unbalanced {
                held: Amount(held),
                supply,
            });
        }
        // The credit ledger: what accounts and escrows hold is what was issued and not spent.
        let (mut held, mut outstanding) = (0u64, 0u64);
        for module in self.modules() {
            let overflow = || InvariantViolation::Overflow { what: "credits" };
            held = held
                .checked_add(module.credits_held()?)
                .ok_or_else(overflow)?;
            outstanding = outstanding
                .checked_add(module.credits_outstanding()?)
                .ok_or_else(overflow)?;
        }
        if held != outstanding {
            return Err(InvariantViolation::CreditsMismatch { outstanding, held });
        }
        for module in self.modules() {
            module.check()?;
        }
        Ok(())
    }
}
