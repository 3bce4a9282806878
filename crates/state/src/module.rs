//! The seam between the state machine and its service modules.
//!
//! A module owns a block of table prefixes, its tables, its transactions' checks and effects,
//! its block and epoch steps and its `explain` section. [`Module`] is what `machine.rs` does to
//! every module alike: walk its tables, and sum what it holds for the conservation check.
//! Dispatch and the hooks are explicit calls in `machine.rs`, in one documented order, because
//! each hook names the other modules it reads as arguments (as Cosmos keepers take other
//! keepers); a uniform hook signature would hide those reads behind a shared context.
//!
//! Registering a module in the state machine: its line in `registered_modules!` in
//! `machine.rs` (which gives its `State` field and every walk over tables, escrow, params
//! sections, checks and the module list), an arm in the dispatch, its hook calls, and a line in
//! `TxError`.

use crate::error::InvariantViolation;
use crate::genesis::Params;
use crate::table::AnyTable;
use groundwork_primitives::Amount;
use std::ops::RangeInclusive;

/// Who a module is, and which state keys belong to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Lower-case name, as in RPC namespaces and signing domains.
    pub name: &'static str,
    /// Every table prefix of the module lies in this block; the rest of it is reserved for
    /// the module's future tables.
    pub prefixes: RangeInclusive<u8>,
}

/// What the state machine does to every module alike.
pub(crate) trait Module {
    fn info(&self) -> ModuleInfo;

    /// The module's tables, each declared once.
    fn tables(&self) -> Vec<&dyn AnyTable>;
    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable>;

    /// Tokens the module holds in escrow, outside every account: part of the supply, which
    /// the conservation check adds up across modules.
    fn held(&self) -> Result<Amount, InvariantViolation> {
        Ok(Amount::ZERO)
    }

    /// Data credits the module holds (accounts' credits, sessions' escrow): the credit
    /// ledger's check adds them up across modules.
    fn credits_held(&self) -> Result<u64, InvariantViolation> {
        Ok(0)
    }

    /// Data credits the module has issued and not yet seen spent: across modules, what the
    /// credit ledger's check expects the holders to hold.
    fn credits_outstanding(&self) -> Result<u64, InvariantViolation> {
        Ok(0)
    }

    /// The module's own consistency checks over committed state (running sums against what
    /// they sum), run with the conservation laws.
    fn check(&self) -> Result<(), InvariantViolation> {
        Ok(())
    }

    /// Stores the module's section of the genesis `params` in its params table.
    fn store_params(&mut self, _params: &Params) {}

    /// Puts the module's stored section into `params`; `false` if the state holds none, which
    /// a loaded state must.
    fn load_params(&self, _params: &mut Params) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::genesis::{Genesis, Params};
    use std::collections::BTreeMap;

    #[test]
    fn prefixes_are_unique_and_inside_each_modules_block() {
        let genesis = Genesis {
            params: Params::local("groundwork-test".parse().unwrap()),
            genesis_time_ms: 0,
            balances: Vec::new(),
            validators: Vec::new(),
        };
        let state = crate::State::from_genesis(&genesis);
        let mut owners = BTreeMap::new();
        for module in state.modules() {
            let info = module.info();
            for table in module.tables() {
                let prefix = table.prefix();
                assert!(
                    info.prefixes.contains(&prefix),
                    "table {} of {} has prefix {prefix:#04x}, outside its block {:?}",
                    table.name(),
                    info.name,
                    info.prefixes
                );
                let owner = format!("{}/{}", info.name, table.name());
                if let Some(earlier) = owners.insert(prefix, owner.clone()) {
                    panic!("prefix {prefix:#04x} is used by {earlier} and {owner}");
                }
            }
        }
        assert_eq!(owners.len(), state.tables().len());
        let blocks = state.module_infos();
        for (i, a) in blocks.iter().enumerate() {
            for b in &blocks[i + 1..] {
                let disjoint =
                    a.prefixes.end() < b.prefixes.start() || b.prefixes.end() < a.prefixes.start();
                assert!(disjoint, "the blocks of {} and {} overlap", a.name, b.name);
            }
        }
    }
}
