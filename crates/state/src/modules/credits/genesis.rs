//! The credits module's `[credits]` table of the genesis file (absent: Helium's credit price).

use super::CreditsParams;
use crate::genesis::{GenesisError, GenesisSection, Params};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreditsSection {
    credit_price_micro_usd: u64,
}

impl GenesisSection for CreditsParams {
    type File = CreditsSection;

    fn absent() -> Self {
        Self::helium()
    }

    /// Helium's price, $0.00001 per credit.
    fn local() -> Self {
        Self::helium()
    }

    fn from_file(c: CreditsSection) -> Result<Self, GenesisError> {
        Ok(Self {
            credit_price_micro_usd: c.credit_price_micro_usd,
        })
    }

    fn check(&self, _: &Params) -> Result<(), GenesisError> {
        self.validate()
    }

    fn to_toml(&self) -> String {
        format!(
            "\n[credits]\n# What one data credit costs, in millionths of a US dollar (Helium: 10).\ncredit_price_micro_usd = {}\n",
            self.credit_price_micro_usd
        )
    }
}
