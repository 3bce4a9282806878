//! What the running fleet's cheaters take, measured live: each epoch, per role, what its
//! wireless devices were paid from the pools they compete in (the coverage pool and the
//! wireless uptime pool) against their fair take, the pools' share for that many devices.
//!
//! "Withheld" is the part of the cheaters' fair take they did not get; "honest loss" the part
//! of the honest devices' fair take they did not get (zero when they got more, as they do
//! when what is withheld from cheaters goes to them). The same measure as `bench
//! coverage-attack`, taken from what the chain actually paid.

use serde::Serialize;
use std::collections::BTreeMap;

/// What one group of devices was paid, and its fair take, in base units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Take {
    #[serde(serialize_with = "as_string")]
    pub paid: u128,
    #[serde(serialize_with = "as_string")]
    pub fair: u128,
}

fn as_string<S: serde::Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_string())
}

impl Take {
    fn add(&mut self, other: Take) {
        self.paid = self.paid.saturating_add(other.paid);
        self.fair = self.fair.saturating_add(other.fair);
    }

    /// The share of the fair take not paid: negative when paid more than fair.
    pub fn withheld(self) -> f64 {
        if self.fair == 0 {
            return 0.0;
        }
        1.0 - self.paid as f64 / self.fair as f64
    }
}

/// The name of the honest group; every other group is a cheater role.
pub const HONEST: &str = "honest";

/// One epoch's takes by group, and the pools they were measured against.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EpochFigures {
    pub epoch: u64,
    #[serde(serialize_with = "as_string")]
    pub pools: u128,
    pub groups: BTreeMap<String, Take>,
}

impl EpochFigures {
    /// From the pools and, per wireless device, its group and what it was paid: each device's
    /// fair take is an equal share of the pools.
    pub fn measure<'a>(
        epoch: u64,
        pools: u128,
        devices: impl IntoIterator<Item = (&'a str, u128)>,
    ) -> Self {
        let devices: Vec<(&str, u128)> = devices.into_iter().collect();
        let count = devices.len() as u128;
        let mut groups: BTreeMap<String, (u128, u128)> = BTreeMap::new();
        for (group, paid) in &devices {
            let entry = groups.entry((*group).to_string()).or_default();
            entry.0 = entry.0.saturating_add(1);
            entry.1 = entry.1.saturating_add(*paid);
        }
        let groups = groups
            .into_iter()
            .map(|(name, (members, paid))| {
                // Pools are far below 2^100 and a fleet below 2^17 devices: no overflow.
                let fair = pools.saturating_mul(members) / count.max(1);
                (name, Take { paid, fair })
            })
            .collect();
        Self {
            epoch,
            pools,
            groups,
        }
    }

    /// All cheater groups together.
    pub fn cheaters(&self) -> Take {
        let mut all = Take::default();
        for (_, take) in self.groups.iter().filter(|(name, _)| *name != HONEST) {
            all.add(*take);
        }
        all
    }

    pub fn honest(&self) -> Take {
        self.groups.get(HONEST).copied().unwrap_or_default()
    }

    /// The honest devices' loss, never below zero.
    pub fn honest_loss(&self) -> f64 {
        self.honest().withheld().max(0.0)
    }

    /// Adds another epoch's takes into this running total.
    pub fn accumulate(&mut self, other: &EpochFigures) {
        self.epoch = other.epoch;
        self.pools = self.pools.saturating_add(other.pools);
        for (name, take) in &other.groups {
            self.groups.entry(name.clone()).or_default().add(*take);
        }
    }

    /// One line for people: withheld overall and per role, and the honest loss.
    pub fn describe(&self) -> String {
        let roles: Vec<String> = self
            .groups
            .iter()
            .filter(|(name, _)| *name != HONEST)
            .map(|(name, take)| format!("{name} {:.1}%", 100.0 * take.withheld()))
            .collect();
        format!(
            "{:.1}% of the cheaters' fair take withheld ({}); honest loss {:.2}%",
            100.0 * self.cheaters().withheld(),
            roles.join(", "),
            100.0 * self.honest_loss()
        )
    }

    /// The JSON line `--json` writes: this epoch, and the run so far.
    pub fn json_line(&self, so_far: &EpochFigures) -> String {
        let line = serde_json::json!({
            "epoch": self.epoch,
            "epoch_figures": self.summary(),
            "so_far": so_far.summary(),
        });
        line.to_string()
    }

    fn summary(&self) -> serde_json::Value {
        let by_role: BTreeMap<&String, serde_json::Value> = self
            .groups
            .iter()
            .map(|(name, take)| {
                (
                    name,
                    serde_json::json!({
                        "paid": take.paid.to_string(),
                        "fair": take.fair.to_string(),
                        "withheld": take.withheld(),
                    }),
                )
            })
            .collect();
        serde_json::json!({
            "pools": self.pools.to_string(),
            "withheld": self.cheaters().withheld(),
            "honest_loss": self.honest_loss(),
            "by_role": by_role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pools of 1 000 among 4 devices: a fair take is 250 each. Three honest devices got 900
    /// in all (fair 750: no loss); a spoofer got 50 of its 250 (80 % withheld).
    #[test]
    fn takes_by_hand() {
        let figures = EpochFigures::measure(
            3,
            1_000,
            [
                (HONEST, 300),
                (HONEST, 300),
                (HONEST, 300),
                ("location spoofers", 50),
            ],
        );
        assert_eq!(
            figures.honest(),
            Take {
                paid: 900,
                fair: 750
            }
        );
        assert_eq!(
            figures.cheaters(),
            Take {
                paid: 50,
                fair: 250
            }
        );
        assert!((figures.cheaters().withheld() - 0.8).abs() < 1e-12);
        assert_eq!(figures.honest_loss(), 0.0);

        // A second epoch where honest devices got 600 of 750 (20 % loss) and the spoofer
        // nothing: over both, the spoofer got 50 of 500 (90 %), honest 1 500 of 1 500.
        let second = EpochFigures::measure(
            4,
            1_000,
            [
                (HONEST, 200),
                (HONEST, 200),
                (HONEST, 200),
                ("location spoofers", 0),
            ],
        );
        assert!((second.honest_loss() - 0.2).abs() < 1e-12);
        let mut so_far = figures.clone();
        so_far.accumulate(&second);
        assert_eq!(
            so_far.cheaters(),
            Take {
                paid: 50,
                fair: 500
            }
        );
        assert!((so_far.cheaters().withheld() - 0.9).abs() < 1e-12);
        assert_eq!(so_far.honest_loss(), 0.0);
        assert!(
            so_far
                .describe()
                .starts_with("90.0% of the cheaters' fair take withheld")
        );
        let line: serde_json::Value = serde_json::from_str(&second.json_line(&so_far)).unwrap();
        assert_eq!(line["epoch"], 4);
        assert_eq!(
            line["so_far"]["by_role"]["location spoofers"]["fair"],
            "500"
        );
        let loss = line["epoch_figures"]["honest_loss"].as_f64().unwrap();
        assert!((loss - 0.2).abs() < 1e-12, "{line}");
    }

    #[test]
    fn no_devices_or_no_pool_measures_nothing() {
        let none = EpochFigures::measure(0, 0, []);
        assert_eq!(none.cheaters().withheld(), 0.0);
        assert_eq!(none.honest_loss(), 0.0);
    }
}
