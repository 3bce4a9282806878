//! The coverage module's `[coverage]` table of the genesis file (absent: coverage rewards off).

use super::CoverageParams;
use crate::genesis::{GenesisError, GenesisSection, Params};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CoverageSection {
    share_bps: u16,
    witness_share_bps: u16,
    beacon_interval_blocks: u64,
    witness_window_blocks: u64,
    reciprocity_window_blocks: u64,
}

impl GenesisSection for CoverageParams {
    type File = CoverageSection;

    fn absent() -> Self {
        Self::disabled()
    }

    /// Beacons every 20 blocks; 30 % of the emission pays coverage.
    fn local() -> Self {
        Self {
            share_bps: 3_000,
            witness_share_bps: 8_000,
            beacon_interval_blocks: 20,
            witness_window_blocks: 4,
            reciprocity_window_blocks: 240,
        }
    }

    fn from_file(c: CoverageSection) -> Result<Self, GenesisError> {
        Ok(Self {
            share_bps: c.share_bps,
            witness_share_bps: c.witness_share_bps,
            beacon_interval_blocks: c.beacon_interval_blocks,
            witness_window_blocks: c.witness_window_blocks,
            reciprocity_window_blocks: c.reciprocity_window_blocks,
        })
    }

    fn check(&self, _: &Params) -> Result<(), GenesisError> {
        self.validate()
    }

    fn to_toml(&self) -> String {
        format!(
            "\n[coverage]\n# Share of each epoch's emission paid for wireless coverage, in basis points (0 = off).\nshare_bps = {}\n\
             # The witnesses' part of the coverage pool, in basis points; beaconers share the rest.\nwitness_share_bps = {}\n\
             # A wireless device may beacon once per this many blocks.\nbeacon_interval_blocks = {}\n\
             # A witness report must land at most this many blocks after its beacon.\nwitness_window_blocks = {}\n\
             # Beaconers and witnesses must have taken part the other way round within this many blocks.\nreciprocity_window_blocks = {}\n",
            self.share_bps,
            self.witness_share_bps,
            self.beacon_interval_blocks,
            self.witness_window_blocks,
            self.reciprocity_window_blocks
        )
    }
}
