//! The seam between the state machine and its service modules.
//!
//! A module owns a block of table prefixes, its tables, its transactions' checks and effects,
//! its block and epoch steps and its `explain` section. [`Module`] is what `machine.rs` does to
//! every module alike: walk its tables, and sum what it holds for the conservation check.
//! Dispatch and the hooks are explicit calls in `machine.rs`, in one documented order, because
//! each hook names the other modules it reads as arguments (as Cosmos keepers take other
//! keepers); a uniform hook signature would hide those reads behind a shared context.
//!
//! Registering a module: a field in [`crate::State`], an arm in its dispatch, its hook calls,
//! and a line in [`State::modules`](crate::State).

use crate::error::InvariantViolation;
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
    const INFO: ModuleInfo;

    /// The module's tables, each declared once.
    fn tables(&self) -> Vec<&dyn AnyTable>;
    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable>;

    /// Tokens the module holds in escrow, outside every account: part of the supply, which
    /// the conservation check adds up across modules.
    fn held(&self) -> Result<Amount, InvariantViolation> {
        Ok(Amount::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Core;
    use crate::modules::{challenges::Challenges, coverage::Coverage, uptime::Uptime};
    use std::collections::BTreeMap;

    /// Checks one module's tables against its block, and records their prefixes.
    fn check<M: Module>(module: &M, owners: &mut BTreeMap<u8, String>) {
        let info = M::INFO;
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

    #[test]
    fn prefixes_are_unique_and_inside_each_modules_block() {
        let mut owners = BTreeMap::new();
        check(&Core::empty(), &mut owners);
        check(&Uptime::new(), &mut owners);
        check(&Coverage::new(), &mut owners);
        check(&Challenges::new(), &mut owners);
        assert_eq!(owners.len(), 20);
        let blocks = crate::State::modules();
        for (i, a) in blocks.iter().enumerate() {
            for b in &blocks[i + 1..] {
                let disjoint =
                    a.prefixes.end() < b.prefixes.start() || b.prefixes.end() < a.prefixes.start();
                assert!(disjoint, "the blocks of {} and {} overlap", a.name, b.name);
            }
        }
    }
}
