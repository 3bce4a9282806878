//! Hex density scaling (HIP-17 with HIP-104's parameters): devices packed into one area share
//! its reward instead of multiplying it.
//!
//! Devices are counted at their resolution-12 locations and rolled up to resolution 11. Then,
//! for each resolution from 10 up to 4, every occupied hex gets
//! - `unclipped` = the sum of its children's `clipped` counts (the children's counts after
//!   their own limit, not the raw number of devices below);
//! - `occupied` = the number of hexes in its k = 1 disk (the hex itself and its six
//!   neighbours) whose `unclipped` count is at least the resolution's `target`;
//! - `limit` = `min(max, target · (max(occupied − N, 0) + 1))`;
//! - `clipped` = `min(unclipped, limit)`.
//!
//! A location's scale is the product over resolutions 10..=4 of `clipped / unclipped` of its
//! ancestor hexes, computed exactly as a fraction and rounded once to 4 decimals, ties to
//! even. Resolution 11 is never clipped, so it contributes 1.
//!
//! Whether `occupied` compares a neighbour's clipped or unclipped count makes no difference:
//! `limit ≥ target` always, so `min(unclipped, limit) ≥ target` ⟺ `unclipped ≥ target`.

use crate::rounding::div_round_half_even;
use crate::units::UNIT_SCALE;
use groundwork_primitives::cell::Cell;
use h3o::{CellIndex, Resolution};
use std::collections::BTreeMap;

/// One resolution's density rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DensityRule {
    /// The H3 resolution the rule applies to.
    pub resolution: u8,
    /// `N`: occupied hexes in the disk that are tolerated before the limit rises.
    pub neighbours: u64,
    /// The count at which a hex counts as occupied, and the base limit.
    pub target: u64,
    /// The limit's ceiling.
    pub max: u64,
}

impl DensityRule {
    /// `min(max, target · (max(occupied − N, 0) + 1))`.
    pub fn limit(&self, occupied: u64) -> u64 {
        let steps = occupied.saturating_sub(self.neighbours).saturating_add(1);
        self.max.min(self.target.saturating_mul(steps))
    }
}

/// HIP-104's rules, from the finest resolution clipped (10) to the coarsest (4): the order in
/// which they are applied.
pub const DENSITY_RULES: [DensityRule; 7] = [
    rule(10, 2, 1, 1),
    rule(9, 2, 1, 1),
    rule(8, 2, 1, 1),
    rule(7, 4, 5, 10),
    rule(6, 4, 25, 50),
    rule(5, 4, 100, 200),
    rule(4, 2, 500, 1000),
];

const fn rule(resolution: u8, neighbours: u64, target: u64, max: u64) -> DensityRule {
    DensityRule {
        resolution,
        neighbours,
        target,
        max,
    }
}

/// The rule's resolution as h3o's type. Every resolution in [`DENSITY_RULES`] is valid.
fn h3_resolution(rule: &DensityRule) -> Resolution {
    Resolution::try_from(rule.resolution).unwrap_or(Resolution::Four)
}

/// The counts of one occupied hex at one resolution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HexCount {
    /// Sum of the children's clipped counts.
    pub unclipped: u64,
    /// Hexes of the k = 1 disk (itself included) whose unclipped count reaches the target.
    pub occupied: u64,
    /// The rule's limit for that many occupied hexes.
    pub limit: u64,
    /// `min(unclipped, limit)`.
    pub clipped: u64,
}

/// One factor of a location's scale: its ancestor at one resolution and that hex's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DensityFactor {
    pub resolution: u8,
    /// The ancestor hex (an H3 index at `resolution`).
    pub hex: u64,
    pub count: HexCount,
}

/// The density computation for one set of devices: every hex's counts and every location's
/// scale. Build it once per epoch; look locations up as often as needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HexDensity {
    /// Devices per location cell.
    devices: BTreeMap<Cell, u64>,
    /// One map per entry of [`DENSITY_RULES`], in the same order.
    levels: [BTreeMap<CellIndex, HexCount>; 7],
    scales: BTreeMap<Cell, u32>,
}

impl HexDensity {
    /// Computes every count and scale. `cells` holds one location per active device; a cell
    /// appears once per device there, in any order.
    ///
    /// Cost: one pass over the devices, then for each of the 7 resolutions one pass over the
    /// occupied hexes with 7 ordered-map look-ups each, then 7 look-ups per distinct location:
    /// O(devices · 7 · 7 · log devices). No floating point.
    pub fn from_cells(cells: &[Cell]) -> Self {
        let mut devices: BTreeMap<Cell, u64> = BTreeMap::new();
        for cell in cells {
            *devices.entry(*cell).or_insert(0) += 1;
        }

        // Resolution 11: raw device counts, never clipped.
        let mut children: BTreeMap<CellIndex, u64> = BTreeMap::new();
        for (cell, count) in &devices {
            if let Some(parent) = cell.index().parent(Resolution::Eleven) {
                let entry = children.entry(parent).or_insert(0);
                *entry = entry.saturating_add(*count);
            }
        }

        let mut levels: [BTreeMap<CellIndex, HexCount>; 7] = Default::default();
        for (level, rule) in levels.iter_mut().zip(DENSITY_RULES.iter()) {
            let resolution = h3_resolution(rule);
            for (child, clipped) in &children {
                if let Some(parent) = child.parent(resolution) {
                    let entry = level.entry(parent).or_default();
                    entry.unclipped = entry.unclipped.saturating_add(*clipped);
                }
            }
            // Occupancy reads the neighbours' unclipped counts, which are final by now.
            let occupied: Vec<u64> = level
                .keys()
                .map(|hex| occupied_in_disk(level, *hex, rule.target))
                .collect();
            for (count, occupied) in level.values_mut().zip(occupied) {
                count.occupied = occupied;
                count.limit = rule.limit(occupied);
                count.clipped = count.unclipped.min(count.limit);
            }
            children = level
                .iter()
                .map(|(hex, count)| (*hex, count.clipped))
                .collect();
        }

        let mut density = Self {
            devices,
            levels,
            scales: BTreeMap::new(),
        };
        density.scales = density
            .devices
            .keys()
            .map(|cell| (*cell, density.compute_scale(*cell)))
            .collect();
        density
    }

    /// The scale of a location in 1/10 000 (0..=10 000), or `None` if no device counted here.
    pub fn scale(&self, cell: Cell) -> Option<u32> {
        self.scales.get(&cell).copied()
    }

    /// Every location's scale, in 1/10 000.
    pub fn scales(&self) -> &BTreeMap<Cell, u32> {
        &self.scales
    }

    /// Consumes the computation, keeping only the scales.
    pub fn into_scales(self) -> BTreeMap<Cell, u32> {
        self.scales
    }

    /// Devices counted at a location.
    pub fn devices_at(&self, cell: Cell) -> u64 {
        self.devices.get(&cell).copied().unwrap_or(0)
    }

    /// The factors behind a location's scale, resolution 10 first, or `None` if no device
    /// counted here. For explaining a reward.
    pub fn factors(&self, cell: Cell) -> Option<Vec<DensityFactor>> {
        if !self.devices.contains_key(&cell) {
            return None;
        }
        let factors = DENSITY_RULES
            .iter()
            .zip(self.levels.iter())
            .filter_map(|(rule, level)| {
                let hex = cell.index().parent(h3_resolution(rule))?;
                let count = level.get(&hex)?;
                Some(DensityFactor {
                    resolution: rule.resolution,
                    hex: u64::from(hex),
                    count: *count,
                })
            })
            .collect();
        Some(factors)
    }

    /// Π clipped/unclipped over the ancestors, rounded half-even to 1/10 000.
    ///
    /// Exact in u128: clipped counts are at most each rule's max, so the numerator is at most
    /// 1·1·1·10·50·200·1000 = 10^8. Every hex has at most 7 children, so an unclipped count is
    /// at most 7 × the finer resolution's max, except at resolution 10 where it is at most the
    /// number of devices (< 2^64): the denominator stays below 2^64 · 7^3 · 70 · 350 · 1400
    /// < 2^98. Saturation is only a guard.
    fn compute_scale(&self, cell: Cell) -> u32 {
        let mut numerator: u128 = 1;
        let mut denominator: u128 = 1;
        for (rule, level) in DENSITY_RULES.iter().zip(self.levels.iter()) {
            let Some(hex) = cell.index().parent(h3_resolution(rule)) else {
                continue;
            };
            match level.get(&hex) {
                Some(count) if count.unclipped > 0 => {
                    numerator = numerator.saturating_mul(u128::from(count.clipped));
                    denominator = denominator.saturating_mul(u128::from(count.unclipped));
                }
                _ => {}
            }
        }
        let scaled = numerator.saturating_mul(u128::from(UNIT_SCALE));
        let scale = div_round_half_even(scaled, denominator).min(u128::from(UNIT_SCALE));
        u32::try_from(scale).unwrap_or(UNIT_SCALE)
    }
}

/// Hexes of `hex`'s k = 1 disk (itself and its neighbours) whose unclipped count reaches
/// `target`.
fn occupied_in_disk(level: &BTreeMap<CellIndex, HexCount>, hex: CellIndex, target: u64) -> u64 {
    let disk: Vec<CellIndex> = hex.grid_disk(1);
    let occupied = disk
        .iter()
        .filter(|cell| level.get(cell).is_some_and(|c| c.unclipped >= target))
        .count();
    u64::try_from(occupied).unwrap_or(u64::MAX)
}

/// The density scale of each distinct location, in 1/10 000 (see the module docs).
///
/// `cells` holds one resolution-12 location per active device, repeated once per device.
pub fn hex_scales(cells: &[Cell]) -> BTreeMap<Cell, u32> {
    HexDensity::from_cells(cells).into_scales()
}

/// A location's scale from [`hex_scales`]' answer; `None` if no device was counted there.
pub fn hex_scale_of(cell: Cell, scales: &BTreeMap<Cell, u32>) -> Option<u32> {
    scales.get(&cell).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use h3o::LatLng;

    /// The hex of resolution `res` containing a place.
    fn hex(lat: f64, lng: f64, res: Resolution) -> CellIndex {
        LatLng::new(lat, lng).unwrap().to_cell(res)
    }

    /// A device at the centre of a hex (its resolution-12 centre child).
    fn device_in(hex: CellIndex) -> Cell {
        Cell::new(u64::from(hex.center_child(Resolution::Twelve).unwrap())).unwrap()
    }

    fn children(hex: CellIndex, res: Resolution) -> Vec<CellIndex> {
        let mut children: Vec<CellIndex> = hex.children(res).collect();
        children.sort();
        children
    }

    /// Amsterdam Centraal: far from any pentagon.
    const AMSTERDAM: (f64, f64) = (52.37888, 4.90059);

    #[test]
    fn the_rules_are_hip104s() {
        let rules: Vec<(u8, u64, u64, u64)> = DENSITY_RULES
            .iter()
            .map(|r| (r.resolution, r.neighbours, r.target, r.max))
            .collect();
        assert_eq!(
            rules,
            [
                (10, 2, 1, 1),
                (9, 2, 1, 1),
                (8, 2, 1, 1),
                (7, 4, 5, 10),
                (6, 4, 25, 50),
                (5, 4, 100, 200),
                (4, 2, 500, 1000)
            ]
        );
        // Resolution 7: 5 while at most 4 of the disk are occupied, then 10.
        let res7 = DENSITY_RULES[3];
        assert_eq!(
            (0..=7).map(|o| res7.limit(o)).collect::<Vec<_>>(),
            [5, 5, 5, 5, 5, 10, 10, 10]
        );
        // Resolution 4: 500, 500, 500, then 1000.
        let res4 = DENSITY_RULES[6];
        assert_eq!(
            (0..=4).map(|o| res4.limit(o)).collect::<Vec<_>>(),
            [500, 500, 500, 1000, 1000]
        );
        assert_eq!(res4.limit(u64::MAX), 1000);
    }

    #[test]
    fn a_lone_device_keeps_its_whole_reward() {
        let cell = device_in(hex(AMSTERDAM.0, AMSTERDAM.1, Resolution::Twelve));
        // Every ancestor has unclipped 1 ≤ limit: all factors 1/1.
        assert_eq!(hex_scales(&[cell]), BTreeMap::from([(cell, 10_000)]));
        assert!(hex_scales(&[]).is_empty());
    }

    /// k devices in one res-12 cell: the res-10 ancestor has unclipped k and limit 1, every
    /// coarser ancestor then holds 1 → scale 1/k.
    /// 1/2 = 0.5, 1/3 = 0.33333 → 0.3333, 1/4 = 0.25, 1/8 = 0.125, 1/7 = 0.142857 → 0.1429,
    /// 1/32 = 0.03125, a tie → to even 0.0312, 1/96 = 0.0104166… → 0.0104,
    /// 1/160 = 0.00625, a tie → 0.0062.
    #[test]
    fn devices_in_one_cell_share_it() {
        let cell = device_in(hex(AMSTERDAM.0, AMSTERDAM.1, Resolution::Twelve));
        for (k, expected) in [
            (2, 5000),
            (3, 3333),
            (4, 2500),
            (7, 1429),
            (8, 1250),
            (32, 312),
            (96, 104),
            (160, 62),
        ] {
            let cells = vec![cell; k];
            assert_eq!(hex_scales(&cells)[&cell], expected, "{k} devices");
        }
    }

    /// Inside one res-8 hex Q, with res-9 children c0, c1:
    /// - c0's res-10 child d0 holds 2 devices (in two different res-11 hexes), d1 and d2 one
    ///   each; c1's centre res-10 child e holds one.
    /// - res 10: d0 unclipped 2 → clipped 1 (factor 1/2); d1, d2, e 1/1.
    /// - res 9: c0 = 1 + 1 + 1 = 3 → clipped 1 (1/3); c1 = 1 (1/1).
    /// - res 8: Q = 1 + 1 = 2 → clipped 1 (1/2). Res 7 and up: 1/1.
    ///
    /// d0's devices: 1/2·1/3·1/2 = 1/12 = 0.08333 → 833; d1, d2: 1/6 = 0.16667 → 1667;
    /// e: 1/2 → 5000.
    #[test]
    fn neighbouring_small_hexes_share_their_parents() {
        let q = hex(AMSTERDAM.0, AMSTERDAM.1, Resolution::Eight);
        let res9 = children(q, Resolution::Nine);
        let (c0, c1) = (res9[0], res9[1]);
        let res10 = children(c0, Resolution::Ten);
        let (d0, d1, d2) = (res10[0], res10[1], res10[2]);
        let d0_res11 = children(d0, Resolution::Eleven);
        let d0_first = device_in(d0_res11[0]);
        let d0_second = device_in(d0_res11[1]);
        let e = c1.center_child(Resolution::Ten).unwrap();
        let cells = [
            d0_first,
            d0_second,
            device_in(d1),
            device_in(d2),
            device_in(e),
        ];
        let scales = hex_scales(&cells);
        assert_eq!(scales.len(), 5);
        assert_eq!(scales[&d0_first], 833);
        assert_eq!(scales[&d0_second], 833);
        assert_eq!(scales[&device_in(d1)], 1667);
        assert_eq!(scales[&device_in(d2)], 1667);
        assert_eq!(scales[&device_in(e)], 5000);

        let density = HexDensity::from_cells(&cells);
        let factors = density.factors(d0_first).unwrap();
        let fractions: Vec<(u8, u64, u64)> = factors
            .iter()
            .map(|f| (f.resolution, f.count.clipped, f.count.unclipped))
            .collect();
        assert_eq!(
            fractions,
            [
                (10, 1, 2),
                (9, 1, 3),
                (8, 1, 2),
                (7, 1, 1),
                (6, 1, 1),
                (5, 1, 1),
                (4, 1, 1)
            ]
        );
        assert_eq!(density.devices_at(d0_first), 1);
        assert_eq!(density.scale(d0_first), Some(833));
        let elsewhere = device_in(hex(51.92494, 4.46918, Resolution::Twelve));
        assert_eq!(density.factors(elsewhere), None);
        assert_eq!(density.scale(elsewhere), None);
        assert_eq!(density.devices_at(elsewhere), 0);
    }

    /// One device in each of the 7 res-8 children of a res-7 hex H: every res-8..10 factor is
    /// 1/1; H has unclipped 7, is the only occupied hex of its disk (7 ≥ target 5), so its
    /// limit is min(10, 5·(max(1 − 4, 0) + 1)) = 5 → factor 5/7. Its res-6 parent then holds 5
    /// (< target 25, factor 1), and so on. Scale 5/7 = 0.714285… → 7143.
    #[test]
    fn a_dense_res7_hex_is_clipped() {
        let h = hex(AMSTERDAM.0, AMSTERDAM.1, Resolution::Seven);
        let cells: Vec<Cell> = children(h, Resolution::Eight)
            .into_iter()
            .map(device_in)
            .collect();
        assert_eq!(cells.len(), 7);
        let scales = hex_scales(&cells);
        assert!(scales.values().all(|s| *s == 7143), "{scales:?}");
    }

    /// A res-6 hex R's 7 children are the k = 1 disk of its centre child C. Put devices in 6 of
    /// the 7 res-8 children of each of them (one device per res-8 hex, so res 8–10 factors
    /// are 1/1):
    /// - res 7: every hex has unclipped 6 ≥ target 5. C's disk has 7 occupied:
    ///   limit min(10, 5·(7 − 4 + 1)) = 10 → C keeps 6 (6/6). A ring hex sees itself, C and its
    ///   two ring neighbours: 4 occupied, limit 5 → 5/6.
    /// - res 6: R = 6 + 6·5 = 36 ≥ 25, alone in its disk: limit 25 → 25/36. Res 5: 25 < 100,
    ///   factor 1; res 4 likewise.
    ///
    /// C's devices: 25/36 = 0.694444 → 6944; a ring hex's: 5/6·25/36 = 125/216 = 0.578703… →
    /// 5787.
    ///
    /// With only 4 devices per ring hex (not occupied: 4 < 5): C sees 1 occupied → limit 5 →
    /// 5/6; a ring hex (4, sees only C) keeps 4/4; R = 5 + 6·4 = 29 → 25/29.
    /// C's devices: 5/6·25/29 = 125/174 = 0.718390… → 7184; a ring hex's: 25/29 = 0.862068… →
    /// 8621.
    #[test]
    fn occupied_neighbours_raise_the_res7_limit() {
        let r = hex(AMSTERDAM.0, AMSTERDAM.1, Resolution::Six);
        let c = r.center_child(Resolution::Seven).unwrap();
        let mut disk: Vec<CellIndex> = c.grid_disk(1);
        disk.sort();
        assert_eq!(disk, children(r, Resolution::Seven));

        let layout = |ring_devices: usize| -> Vec<Cell> {
            disk.iter()
                .flat_map(|h7| {
                    let take = if *h7 == c { 6 } else { ring_devices };
                    children(*h7, Resolution::Eight)
                        .into_iter()
                        .take(take)
                        .map(device_in)
                })
                .collect()
        };
        let in_c = |cell: &Cell| cell.index().parent(Resolution::Seven) == Some(c);

        let scales = hex_scales(&layout(6));
        assert_eq!(scales.len(), 42);
        for (cell, scale) in &scales {
            assert_eq!(*scale, if in_c(cell) { 6944 } else { 5787 }, "{cell}");
        }

        let scales = hex_scales(&layout(4));
        assert_eq!(scales.len(), 30);
        for (cell, scale) in &scales {
            assert_eq!(*scale, if in_c(cell) { 7184 } else { 8621 }, "{cell}");
        }
    }

    #[test]
    fn input_order_does_not_matter() {
        let r = hex(AMSTERDAM.0, AMSTERDAM.1, Resolution::Seven);
        let mut cells: Vec<Cell> = children(r, Resolution::Ten)
            .into_iter()
            .step_by(3)
            .map(device_in)
            .collect();
        cells.extend_from_slice(&cells.clone()[..5]);
        let forward = hex_scales(&cells);
        cells.reverse();
        assert_eq!(hex_scales(&cells), forward);
        assert_eq!(
            hex_scale_of(cells[0], &forward),
            forward.get(&cells[0]).copied()
        );
    }
}
