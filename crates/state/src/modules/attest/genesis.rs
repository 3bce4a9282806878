//! The attest module's `[attest]` table of the genesis file: makers and the kinds that must
//! be attested (absent: no makers, nothing required).

use super::{AttestParams, KindSet, Maker};
use crate::genesis::{GenesisError, GenesisSection, Params, invalid};
use groundwork_primitives::tx::attest::BoundedBytes;
use groundwork_primitives::{Address, ResourceKind};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttestSection {
    #[serde(default)]
    makers: Vec<MakerEntry>,
    /// Kinds whose devices must be attested to report and earn.
    #[serde(default)]
    required_kinds: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MakerEntry {
    name: String,
    account: String,
    /// The maker's CA certificate, PEM.
    ca: String,
    kinds: Vec<String>,
}

fn parse_kinds(field: &str, names: &[String]) -> Result<KindSet, GenesisError> {
    let kinds = names
        .iter()
        .map(|name| {
            name.parse::<ResourceKind>()
                .map_err(|_| invalid(field, format!("{name:?} is not a resource kind")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(KindSet::of(&kinds))
}

fn kind_names(set: KindSet) -> String {
    set.kinds()
        .iter()
        .map(|k| format!("\"{}\"", k.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl GenesisSection for AttestParams {
    type File = AttestSection;

    fn absent() -> Self {
        Self::default()
    }

    /// No makers: a local network registers its own (`groundwork dev` does).
    fn local() -> Self {
        Self::default()
    }

    fn from_file(section: AttestSection) -> Result<Self, GenesisError> {
        let mut makers = Vec::with_capacity(section.makers.len());
        for (i, m) in section.makers.iter().enumerate() {
            let field = |name: &str| format!("attest.makers[{i}].{name}");
            if m.name.is_empty() || m.name.len() > 32 {
                return Err(invalid(field("name"), "1 to 32 bytes"));
            }
            let account = m
                .account
                .parse::<Address>()
                .map_err(|e| invalid(field("account"), format!("{e}")))?;
            let ca = groundwork_attest::pem_to_der(groundwork_attest::Which::Ca, &m.ca)
                .map_err(|e| invalid(field("ca"), e.to_string()))?;
            makers.push(Maker {
                name: BoundedBytes(m.name.as_bytes().to_vec()),
                account,
                ca: BoundedBytes(ca),
                kinds: parse_kinds(&field("kinds"), &m.kinds)?,
            });
        }
        Ok(Self {
            makers,
            required: parse_kinds("attest.required_kinds", &section.required_kinds)?,
        })
    }

    fn check(&self, _: &Params) -> Result<(), GenesisError> {
        self.validate()
    }

    fn to_toml(&self) -> String {
        if self.makers.is_empty() && self.required.0 == 0 {
            return String::new();
        }
        let mut out = format!(
            "\n[attest]\n# Kinds whose devices must be attested by a maker to report and earn.\nrequired_kinds = [{}]\n",
            kind_names(self.required)
        );
        for maker in &self.makers {
            // Validation parsed every CA, so this writes each one back.
            let pem = groundwork_attest::der_to_pem(groundwork_attest::Which::Ca, &maker.ca.0)
                .unwrap_or_default();
            out.push_str(&format!(
                "\n[[attest.makers]]\nname = \"{}\"\n# May revoke the maker's certificates.\naccount = \"{}\"\nkinds = [{}]\nca = \"\"\"\n{}\"\"\"\n",
                String::from_utf8_lossy(&maker.name.0),
                maker.account,
                kind_names(maker.kinds),
                pem
            ));
        }
        out
    }
}
