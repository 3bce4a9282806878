//! Epoch rewards, as pure functions of on-chain inputs.
//!
//! Rule (one rounding rule throughout: every division rounds toward zero):
//!
//! 1. `emission(e) = initial_emission >> (e / halving_interval)`.
//! 2. `pool(kind) = floor(emission × weight_bps(kind) / 10 000)`.
//! 3. `reward(device) = floor(pool(kind) × units(device) / Σ units(kind))`, where a unit is one
//!    heartbeat window the device covered during the epoch.
//! 4. `to_treasury = emission − Σ reward`: rounding dust plus the pools of kinds nobody worked in.
//!
//! Conservation: `Σ reward + to_treasury = emission` exactly, and each pool's rewards never exceed
//! the pool. Property tests pin both.

use crate::error::BlockError;
use crate::genesis::{BASIS_POINTS_TOTAL, Params};
use groundwork_primitives::{Amount, ResourceKind};

/// The emission of epoch `epoch` and the number of halvings applied.
pub fn epoch_emission(params: &Params, epoch: u64) -> (Amount, u64) {
    let halvings = epoch / params.core.halving_interval_epochs;
    let emission = if halvings >= 128 {
        0
    } else {
        params.core.initial_emission_per_epoch.0 >> halvings
    };
    (Amount(emission), halvings)
}

/// Splits an emission into pools by resource kind: `floor(emission × weight / 10 000)`.
pub fn split_pools(
    emission: Amount,
    weights_bps: &[u16; ResourceKind::COUNT],
) -> Result<[Amount; ResourceKind::COUNT], BlockError> {
    let mut pools = [Amount::ZERO; ResourceKind::COUNT];
    for (pool, &weight) in pools.iter_mut().zip(weights_bps) {
        let scaled = emission
            .0
            .checked_mul(u128::from(weight))
            .ok_or(BlockError::Arithmetic {
                context: "pool split",
            })?;
        *pool = Amount(scaled / u128::from(BASIS_POINTS_TOTAL));
    }
    Ok(pools)
}

/// The coverage pool of an epoch: `floor(emission × share_bps / 10 000)`, taken before the
/// split by resource kind.
pub fn coverage_pool(emission: Amount, share_bps: u16) -> Result<Amount, BlockError> {
    let scaled = emission
        .0
        .checked_mul(u128::from(share_bps))
        .ok_or(BlockError::Arithmetic {
            context: "coverage pool",
        })?;
    Ok(Amount(scaled / u128::from(BASIS_POINTS_TOTAL)))
}

/// A device's share of a pool: `floor(pool × units / total_units)`; zero when nobody worked.
pub fn device_share(pool: Amount, units: u64, total_units: u64) -> Result<Amount, BlockError> {
    if total_units == 0 {
        return Ok(Amount::ZERO);
    }
    if units > total_units {
        return Err(BlockError::Arithmetic {
            context: "device units exceed kind total",
        });
    }
    let scaled = pool
        .0
        .checked_mul(u128::from(units))
        .ok_or(BlockError::Arithmetic {
            context: "device share",
        })?;
    Ok(Amount(scaled / u128::from(total_units)))
}

/// One epoch's emission split into program pools: the coverage pool first, then each resource
/// kind's pool out of the rest. The one place the emission is split; each module's epoch step
/// pays its pool and returns what it paid, and the remainder goes to the treasury.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramPools {
    pub emission: Amount,
    pub halvings: u64,
    /// `floor(emission × coverage.share_bps / 10 000)`.
    pub coverage: Amount,
    /// `emission − coverage`: what the kinds share.
    pub kinds_emission: Amount,
    /// Each kind's pool, indexed by kind.
    pub kinds: [Amount; ResourceKind::COUNT],
}

impl ProgramPools {
    pub fn of_epoch(params: &Params, epoch: u64) -> Result<Self, BlockError> {
        let (emission, halvings) = epoch_emission(params, epoch);
        let coverage = coverage_pool(emission, params.coverage.share_bps)?;
        let kinds_emission = emission
            .checked_sub(coverage)
            .ok_or(BlockError::Invariant {
                context: "coverage pool exceeds the emission",
            })?;
        let kinds = split_pools(kinds_emission, &params.core.reward_weights_bps)?;
        Ok(Self {
            emission,
            halvings,
            coverage,
            kinds_emission,
            kinds,
        })
    }
}

/// What a device's uptime reward for one epoch is worked out from, as `explain` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindRewardInputs {
    pub initial_emission: Amount,
    pub halvings: u64,
    pub coverage_share_bps: u16,
    pub weight_bps: u16,
    pub work_units: u64,
    pub kind_total_units: u64,
    /// The device's share was withheld (a coverage rule judged it): it is 0.
    pub withheld: bool,
    /// Wireless devices with work asserting the device's cell, itself included: the share is
    /// divided among them (0 or 1: not divided).
    pub co_located: u32,
}

/// The reward rule (module docs) from its inputs alone: the one formula the state machine,
/// `explain` and a client checking an explanation all use. `None` if an input is out of range.
pub fn recompute_kind_reward(inputs: &KindRewardInputs) -> Option<Amount> {
    if inputs.withheld {
        return Some(Amount::ZERO);
    }
    let emission = if inputs.halvings >= 128 {
        0
    } else {
        inputs.initial_emission.0 >> inputs.halvings
    };
    let bps =
        |x: u128, w: u16| Some(x.checked_mul(u128::from(w))? / u128::from(BASIS_POINTS_TOTAL));
    let coverage = bps(emission, inputs.coverage_share_bps)?;
    let pool = bps(emission.checked_sub(coverage)?, inputs.weight_bps)?;
    if inputs.kind_total_units == 0 {
        return Some(Amount::ZERO);
    }
    let share =
        pool.checked_mul(u128::from(inputs.work_units))? / u128::from(inputs.kind_total_units);
    Some(Amount(share / u128::from(inputs.co_located.max(1))))
}

/// Why a device got what it got in one epoch: every input and every step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardExplanation {
    pub epoch: u64,
    pub device: String,
    pub owner: String,
    pub kind: ResourceKind,
    pub initial_emission: Amount,
    pub halving_interval_epochs: u64,
    pub halvings: u64,
    pub emission: Amount,
    /// Share of the emission paid for wireless coverage before the split by kind.
    pub coverage_share_bps: u16,
    /// `emission − floor(emission × coverage_share_bps / 10 000)`: what the kinds share.
    pub kinds_emission: Amount,
    pub weight_bps: u16,
    pub pool: Amount,
    pub work_units: u64,
    pub kind_total_units: u64,
    pub amount: Amount,
    /// The coverage rule that judged the device in the epoch, withholding its share.
    pub withheld: Option<crate::modules::coverage::CollusionRule>,
    /// Wireless devices with work asserting its cell, itself included.
    pub co_located: u32,
    /// The same computation in words, one step a line, with the numbers filled in.
    pub steps: Vec<String>,
}

impl RewardExplanation {
    /// Recomputes the amount from the explanation's own inputs; equals `amount` when the
    /// explanation is honest.
    pub fn recompute(&self) -> Option<Amount> {
        recompute_kind_reward(&KindRewardInputs {
            initial_emission: self.initial_emission,
            halvings: self.halvings,
            coverage_share_bps: self.coverage_share_bps,
            weight_bps: self.weight_bps,
            work_units: self.work_units,
            kind_total_units: self.kind_total_units,
            withheld: self.withheld.is_some(),
            co_located: self.co_located,
        })
    }

    pub(crate) fn describe(&mut self) {
        self.steps = vec![
            format!(
                "epoch {} is past {} halvings (one every {} epochs): emission = {} >> {} = {}",
                self.epoch,
                self.halvings,
                self.halving_interval_epochs,
                self.initial_emission,
                self.halvings,
                self.emission
            ),
            format!(
                "the kinds share {} − floor({} × {} / 10000) for coverage = {}",
                self.emission, self.emission, self.coverage_share_bps, self.kinds_emission
            ),
            format!(
                "{} pool = floor({} × {} / 10000) = {}",
                self.kind, self.kinds_emission, self.weight_bps, self.pool
            ),
            format!(
                "work units = heartbeat windows covered: this device {}, all {} devices {}",
                self.work_units, self.kind, self.kind_total_units
            ),
        ];
        match self.withheld {
            None if self.co_located > 1 => self.steps.push(format!(
                "{} wireless devices with work assert this device's cell, so they share one device's share: reward = floor(floor({} × {} / {}) / {}) = {} base units, paid to {}",
                self.co_located,
                self.pool,
                self.work_units,
                self.kind_total_units,
                self.co_located,
                self.amount,
                self.owner
            )),
            None => self.steps.push(format!(
                "reward = floor({} × {} / {}) = {} base units, paid to {}",
                self.pool, self.work_units, self.kind_total_units, self.amount, self.owner
            )),
            Some(rule) => self.steps.push(format!(
                "withheld: coverage left this device out in the epoch by a rule that judges the device ({}), so its share floor({} × {} / {}) is not paid; 0 base units",
                rule.name(),
                self.pool,
                self.work_units,
                self.kind_total_units
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn shares_of_a_pool_never_exceed_it(pool in 0u128..(1u128 << 96), units in proptest::collection::vec(0u64..(1 << 24), 0..50)) {
            let total: u64 = units.iter().sum();
            let mut paid = 0u128;
            for &u in &units {
                paid += device_share(Amount(pool), u, total).unwrap().0;
            }
            prop_assert!(paid <= pool);
            // Floor loses less than one base unit per device.
            if total > 0 {
                prop_assert!(pool - paid < units.len() as u128 + 1);
            }
        }

        #[test]
        fn pools_never_exceed_the_emission(emission in 0u128..(1u128 << 96), cut in proptest::collection::vec(0u16..=10_000, 6)) {
            let mut weights = [0u16; ResourceKind::COUNT];
            let mut left = 10_000u16;
            for (i, c) in cut.iter().enumerate() {
                let w = (*c).min(left);
                weights[i] = w;
                left -= w;
            }
            weights[ResourceKind::COUNT - 1] = left;
            let pools = split_pools(Amount(emission), &weights).unwrap();
            let sum: u128 = pools.iter().map(|p| p.0).sum();
            prop_assert!(sum <= emission);
            prop_assert!(emission - sum < ResourceKind::COUNT as u128);
        }
    }
}

/// The emission programs a device's reward can come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    /// Its kind's uptime pool.
    Uptime,
    /// The coverage pool.
    Coverage,
}

/// Where a device's reward goes: to its owner, unless a module has a claim on it (the
/// challenges module holds the rewards of a device whose location is being challenged).
/// Paying modules hand every reward to a sink instead of paying the owner themselves.
pub(crate) trait RewardSink {
    #[allow(clippy::too_many_arguments)]
    fn pay(
        &mut self,
        core: &mut crate::core::Core,
        epoch: u64,
        device: &groundwork_primitives::DeviceId,
        owner: &groundwork_primitives::Address,
        program: Program,
        amount: Amount,
    ) -> Result<(), crate::error::BlockError>;
}
