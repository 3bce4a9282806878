//! The challenges module's `[challenges]` table of the genesis file (absent: no challenges).

use super::ChallengeParams;
use crate::genesis::{GenesisError, GenesisSection, Params, parse_positive_amount};
use groundwork_primitives::Amount;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChallengeSection {
    bond: String,
    answer_window_blocks: u64,
    slash_bps: u16,
    min_answer_witnesses: u8,
}

impl GenesisSection for ChallengeParams {
    type File = ChallengeSection;

    fn absent() -> Self {
        Self::disabled()
    }

    /// A challenge costs 2 tokens; the owner has two beacon intervals to answer.
    fn local() -> Self {
        Self {
            bond: Amount(2_000_000),
            answer_window_blocks: 40,
            slash_bps: 5_000,
            min_answer_witnesses: 3,
        }
    }

    fn from_file(c: ChallengeSection) -> Result<Self, GenesisError> {
        Ok(Self {
            bond: parse_positive_amount("challenges.bond", &c.bond)?,
            answer_window_blocks: c.answer_window_blocks,
            slash_bps: c.slash_bps,
            min_answer_witnesses: c.min_answer_witnesses,
        })
    }

    /// Against the epoch length and the coverage windows; nothing to check when challenges
    /// are off (a table always has a bond above zero).
    fn check(&self, params: &Params) -> Result<(), GenesisError> {
        if self.bond == Amount::ZERO {
            return Ok(());
        }
        self.validate(params.core.epoch_length_blocks, &params.coverage)
    }

    fn to_toml(&self) -> String {
        if self.bond == Amount::ZERO {
            return String::new();
        }
        format!(
            "\n[challenges]\n# Tokens a location challenger locks.\nbond = \"{}\"\n\
             # Blocks the device's owner has to answer with a fresh beacon.\nanswer_window_blocks = {}\n\
             # Share of the device bond an upheld challenge slashes (half to the challenger, half to the treasury), in basis points.\nslash_bps = {}\n\
             # Witnesses of other owners that must hear the answer.\nmin_answer_witnesses = {}\n",
            self.bond, self.answer_window_blocks, self.slash_bps, self.min_answer_witnesses
        )
    }
}
