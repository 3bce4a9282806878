//! The oracle module's `[oracle]` table of the genesis file (absent: no price).

use super::OracleParams;
use crate::genesis::{GenesisError, GenesisSection, Params, invalid};
use groundwork_primitives::Address;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OracleSection {
    accounts: Vec<String>,
    quorum: u8,
    max_age_blocks: u64,
    smoothing_window_blocks: u64,
}

impl GenesisSection for OracleParams {
    type File = OracleSection;

    fn absent() -> Self {
        Self::disabled()
    }

    /// No oracle accounts: a local network names its own.
    fn local() -> Self {
        Self::disabled()
    }

    /// The accounts come out sorted.
    fn from_file(o: OracleSection) -> Result<Self, GenesisError> {
        let mut accounts = o
            .accounts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                text.parse::<Address>()
                    .map_err(|e| invalid(format!("oracle.accounts[{i}]"), format!("{e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        accounts.sort();
        Ok(Self {
            accounts,
            quorum: o.quorum,
            max_age_blocks: o.max_age_blocks,
            smoothing_window_blocks: o.smoothing_window_blocks,
        })
    }

    fn check(&self, _: &Params) -> Result<(), GenesisError> {
        self.validate()
    }

    fn to_toml(&self) -> String {
        if self.accounts.is_empty() {
            return String::new();
        }
        let accounts: Vec<String> = self.accounts.iter().map(|a| format!("\"{a}\"")).collect();
        format!(
            "\n[oracle]\n# Accounts whose price submissions count.\naccounts = [{}]\n\
             # Fresh submissions needed for a price.\nquorum = {}\n\
             # A submission counts for this many blocks.\nmax_age_blocks = {}\n\
             # Blocks the median is averaged over; burns use the lower, mints the higher.\nsmoothing_window_blocks = {}\n",
            accounts.join(", "),
            self.quorum,
            self.max_age_blocks,
            self.smoothing_window_blocks
        )
    }
}
