//! The coverage module's section of the chain parameters, and its genesis rules.

use crate::genesis::{BASIS_POINTS_TOTAL, GenesisError, MAX_COVERAGE_WINDOW_BLOCKS, invalid};
use groundwork_primitives::impl_struct_codec;

/// Wireless proof-of-coverage parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoverageParams {
    /// Share of each epoch's emission paid for coverage (beacons and witnesses), in basis
    /// points, taken before the split by resource kind. 0 turns coverage rewards off.
    pub share_bps: u16,
    /// The witnesses' part of the coverage pool, in basis points; beaconers share the rest.
    pub witness_share_bps: u16,
    /// A wireless device may beacon once per this many blocks.
    pub beacon_interval_blocks: u64,
    /// A witness report must land at most this many blocks after its beacon.
    pub witness_window_blocks: u64,
    /// Reciprocity: a beaconer must have validly witnessed another device's beacon, and a
    /// witness must have had its own beacon validly witnessed, within this many blocks.
    pub reciprocity_window_blocks: u64,
}

impl CoverageParams {
    /// Coverage rewards off; beacons and witnesses are still verified.
    pub fn disabled() -> Self {
        Self {
            share_bps: 0,
            witness_share_bps: 8_000,
            beacon_interval_blocks: 21_600,
            witness_window_blocks: 4,
            reciprocity_window_blocks: 172_800,
        }
    }
}
impl_struct_codec!(CoverageParams {
    share_bps,
    witness_share_bps,
    beacon_interval_blocks,
    witness_window_blocks,
    reciprocity_window_blocks
});

impl CoverageParams {
    /// Refuses a value genesis may not set, naming its field.
    pub(crate) fn validate(&self) -> Result<(), GenesisError> {
        for (field, bps) in [
            ("coverage.share_bps", self.share_bps),
            ("coverage.witness_share_bps", self.witness_share_bps),
        ] {
            if u32::from(bps) > BASIS_POINTS_TOTAL {
                return Err(invalid(
                    field,
                    format!("{bps} is more than {BASIS_POINTS_TOTAL} basis points"),
                ));
            }
        }
        for (field, blocks) in [
            (
                "coverage.beacon_interval_blocks",
                self.beacon_interval_blocks,
            ),
            ("coverage.witness_window_blocks", self.witness_window_blocks),
            (
                "coverage.reciprocity_window_blocks",
                self.reciprocity_window_blocks,
            ),
        ] {
            if blocks == 0 || blocks > MAX_COVERAGE_WINDOW_BLOCKS {
                return Err(invalid(
                    field,
                    format!("must be between 1 and {MAX_COVERAGE_WINDOW_BLOCKS}"),
                ));
            }
        }
        Ok(())
    }
}
