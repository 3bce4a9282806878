//! The usage module's `[usage]` table of the genesis file (absent: no usage mint).

use super::UsageParams;
use crate::genesis::{GenesisError, GenesisSection, Params, parse_amount};
use groundwork_primitives::Amount;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageSection {
    grace_blocks: u64,
    reward_bps: u16,
    max_mint_per_epoch: String,
}

impl GenesisSection for UsageParams {
    type File = UsageSection;

    fn absent() -> Self {
        Self::disabled()
    }

    /// Usage pays 100 % of the credits' value, at most 100 tokens (a tenth of an epoch's
    /// emission) an epoch.
    fn local() -> Self {
        Self {
            grace_blocks: 30,
            reward_bps: 10_000,
            max_mint_per_epoch: Amount(100_000_000),
        }
    }

    fn from_file(u: UsageSection) -> Result<Self, GenesisError> {
        Ok(Self {
            grace_blocks: u.grace_blocks,
            reward_bps: u.reward_bps,
            max_mint_per_epoch: parse_amount("usage.max_mint_per_epoch", &u.max_mint_per_epoch)?,
        })
    }

    fn check(&self, _: &Params) -> Result<(), GenesisError> {
        self.validate()
    }

    fn to_toml(&self) -> String {
        format!(
            "\n[usage]\n# Blocks after a session ends in which its device may still settle.\ngrace_blocks = {}\n\
             # Share of spent credits' USD value paid to the device in tokens, in basis points.\nreward_bps = {}\n\
             # Most tokens the usage mint creates in one epoch (0 = none); above it payments are pro rata.\nmax_mint_per_epoch = \"{}\"\n",
            self.grace_blocks, self.reward_bps, self.max_mint_per_epoch
        )
    }
}
