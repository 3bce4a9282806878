//! `groundwork calc`: the chain's coverage math, offline, for operators planning a placement or
//! checking a witness report. Every number comes from `groundwork-coverage`, the same code the
//! state machine runs.

use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};
use groundwork_coverage::{self as coverage, RfError};
use groundwork_primitives::cell::{Cell, PlaceCell};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum CalcCommand {
    /// Free-space path loss between two antennas
    ///
    /// 20·log10(4π·d·f/c) with c = 2.998e8 m/s, rounded up to 0.01 dB.
    #[command(
        after_help = "Examples:\n  groundwork calc fspl --distance-m 1000 --freq-hz 915000000\n  groundwork calc fspl --distance-m 5000 --freq-hz 868100000 --json"
    )]
    #[command(verbatim_doc_comment)]
    Fspl(FsplArgs),
    /// The strongest signal a witness can honestly receive from a beacon
    ///
    /// Transmit power plus both antenna gains (each floored to whole dB) minus the free-space
    /// path loss, to 0.01 dBm. A witness reporting a stronger signal fails the check.
    #[command(
        after_help = "Examples:\n  groundwork calc expected-rssi --tx-power-dbm 27 --freq-hz 915000000 \\\n    --distance-m 1000 --tx-gain-ddbi 12 --rx-gain-ddbi 58\n  groundwork calc expected-rssi --tx-power-dbm 20 --freq-hz 868000000 \\\n    --distance-m 5000 --tx-gain-ddbi -15 --rx-gain-ddbi 19 --json"
    )]
    #[command(verbatim_doc_comment)]
    ExpectedRssi(ExpectedRssiArgs),
    /// Distance between two places, in metres and in hexes
    ///
    /// Metres between the centres of two H3 cells of resolution 7 to 15 (hex or decimal; a
    /// GNSS fix at 15, a device location at 12), and H3 steps between the resolution-11 cells
    /// of their locations (the parent of a finer cell, the centre child of a coarser one): a
    /// witness must be at least 8 steps from the beacon. The steps are null when H3 cannot
    /// count them (cells very far apart, or a path through a pentagon's distortion).
    #[command(
        after_help = "Examples:\n  groundwork calc distance --from 8c1fb46741ae9ff --to 8c1fb4674d5c3ff\n  groundwork calc distance --from 631061702822783487 --to 8c1fb4674d5c3ff --json"
    )]
    #[command(verbatim_doc_comment)]
    Distance(DistanceArgs),
    /// Reward units of a beacon and of each of its witnesses (HIP-15)
    ///
    /// To 4 decimals, ties to even. A device's reward share is its unit times the density
    /// scale of the beacon's location.
    #[command(
        after_help = "Examples:\n  groundwork calc reward-units --witnesses 5\n  groundwork calc reward-units --witnesses 14 --json"
    )]
    #[command(verbatim_doc_comment)]
    RewardUnits(RewardUnitsArgs),
    /// Density scale of each device location (HIP-17 with HIP-104's limits)
    ///
    /// The file lists one resolution-12 H3 cell per line, a cell repeated once per device
    /// there. Blank lines and text after '#' are ignored. Scales are to 4 decimals, ties to
    /// even.
    #[command(
        after_help = "Examples:\n  groundwork calc hex-scale --cells devices.txt\n  groundwork calc hex-scale --cells devices.txt --json"
    )]
    #[command(verbatim_doc_comment)]
    HexScale(HexScaleArgs),
}

#[derive(Args)]
pub struct FsplArgs {
    /// Distance between the antennas, metres (at least 1).
    #[arg(long)]
    distance_m: u32,
    /// Frequency, Hz (at least 1).
    #[arg(long)]
    freq_hz: u64,
    /// Print JSON: {"fspl_db": …}.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ExpectedRssiArgs {
    /// The beaconer's conducted transmit power, dBm.
    #[arg(long, allow_negative_numbers = true)]
    tx_power_dbm: i32,
    /// Frequency, Hz (at least 1).
    #[arg(long)]
    freq_hz: u64,
    /// Distance between the antennas, metres (at least 1).
    #[arg(long)]
    distance_m: u32,
    /// The beaconer's antenna gain, tenths of a dBi.
    #[arg(long, allow_negative_numbers = true)]
    tx_gain_ddbi: i32,
    /// The witness's antenna gain, tenths of a dBi.
    #[arg(long, allow_negative_numbers = true)]
    rx_gain_ddbi: i32,
    /// Print JSON: {"expected_rssi_dbm": …}.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct DistanceArgs {
    /// One place: an H3 cell of resolution 7 to 15, hex or decimal (a GNSS fix at 15, a
    /// device location at 12, an area coarser).
    #[arg(long, value_name = "CELL")]
    from: PlaceCell,
    /// The other place.
    #[arg(long, value_name = "CELL")]
    to: PlaceCell,
    /// Print JSON: {"meters": …, "grid_distance_res11": …} (null when H3 cannot count the
    /// steps).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RewardUnitsArgs {
    /// Number of valid witnesses of the beacon.
    #[arg(long)]
    witnesses: u32,
    /// Print JSON: {"beacon_unit": …, "witness_unit": …}.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct HexScaleArgs {
    /// File of device locations: one resolution-12 H3 cell per line, once per device.
    #[arg(long, value_name = "FILE")]
    cells: PathBuf,
    /// Print JSON: {"scales": {"<cell>": …}}.
    #[arg(long)]
    json: bool,
}

pub fn run(command: CalcCommand) -> Result<()> {
    match command {
        CalcCommand::Fspl(args) => fspl(args),
        CalcCommand::ExpectedRssi(args) => expected_rssi(args),
        CalcCommand::Distance(args) => distance(args),
        CalcCommand::RewardUnits(args) => reward_units(args),
        CalcCommand::HexScale(args) => hex_scale(args),
    }
}

fn fspl(args: FsplArgs) -> Result<()> {
    let loss = coverage::fspl_cdb(args.distance_m, args.freq_hz).map_err(rf_error)?;
    let db = fixed(i64::from(loss), 2);
    if args.json {
        println!("{{\"fspl_db\": {db}}}");
    } else {
        println!(
            "free-space path loss over {} m at {} Hz: {db} dB",
            args.distance_m, args.freq_hz
        );
    }
    Ok(())
}

fn expected_rssi(args: ExpectedRssiArgs) -> Result<()> {
    let expected = coverage::expected_rssi_cdbm(
        args.tx_power_dbm,
        args.freq_hz,
        args.distance_m,
        args.tx_gain_ddbi,
        args.rx_gain_ddbi,
    )
    .map_err(rf_error)?;
    let dbm = fixed(i64::from(expected), 2);
    if args.json {
        println!("{{\"expected_rssi_dbm\": {dbm}}}");
    } else {
        // Both errors were ruled out by the call above.
        let loss = coverage::fspl_cdb(args.distance_m, args.freq_hz).map_err(rf_error)?;
        println!(
            "expected RSSI: {dbm} dBm = {} dBm + {} dB + {} dB antenna gains − {} dB path loss; \
             a witness reporting a stronger signal fails the check",
            args.tx_power_dbm,
            coverage::gain_db(args.tx_gain_ddbi),
            coverage::gain_db(args.rx_gain_ddbi),
            fixed(i64::from(loss), 2),
        );
    }
    Ok(())
}

/// Metres between the centres of the cells given; hex steps between the resolution-11 cells
/// of their locations (the parents of finer cells, the centre children of coarser ones).
fn distance(args: DistanceArgs) -> Result<()> {
    let meters = coverage::centre_distance_m(args.from.index(), args.to.index());
    let steps = coverage::grid_distance_res11(args.from.location(), args.to.location());
    if args.json {
        let steps = match steps {
            Ok(steps) => steps.to_string(),
            Err(_) => "null".to_string(),
        };
        println!("{{\"meters\": {meters}, \"grid_distance_res11\": {steps}}}");
    } else {
        println!(
            "{meters} m between the centres of {} and {}",
            args.from, args.to
        );
        match steps {
            Ok(steps) => println!("{steps} steps between their resolution-11 cells"),
            Err(error) => println!("{error}"),
        }
    }
    Ok(())
}

fn reward_units(args: RewardUnitsArgs) -> Result<()> {
    let beacon = fixed(i64::from(coverage::beacon_unit(args.witnesses)), 4);
    let witness = fixed(i64::from(coverage::witness_unit(args.witnesses)), 4);
    if args.json {
        println!("{{\"beacon_unit\": {beacon}, \"witness_unit\": {witness}}}");
    } else {
        println!(
            "{} witnesses: beacon unit {beacon}, unit of each witness {witness}",
            args.witnesses
        );
    }
    Ok(())
}

fn hex_scale(args: HexScaleArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.cells)
        .with_context(|| format!("cannot read {}", args.cells.display()))?;
    let cells = parse_cells(&text).with_context(|| format!("in {}", args.cells.display()))?;
    let density = coverage::HexDensity::from_cells(&cells);
    if args.json {
        let mut out = String::from("{\"scales\": {");
        for (index, (cell, scale)) in density.scales().iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            // Cells print as lowercase hex: nothing to escape.
            let _ = write!(out, "\"{cell}\": {}", fixed(i64::from(*scale), 4));
        }
        out.push_str("}}");
        println!("{out}");
    } else {
        println!("{:<17} {:>7} {:>7}", "cell", "devices", "scale");
        for (cell, scale) in density.scales() {
            println!(
                "{:<17} {:>7} {:>7}",
                cell.to_string(),
                density.devices_at(*cell),
                fixed(i64::from(*scale), 4)
            );
        }
    }
    Ok(())
}

/// One cell per non-blank line; `#` starts a comment. A bad line is an error naming it.
fn parse_cells(text: &str) -> Result<Vec<Cell>> {
    let mut cells = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let cell = content
            .parse::<Cell>()
            .map_err(|error| anyhow!("line {}: {error}", number + 1))?;
        cells.push(cell);
    }
    Ok(cells)
}

/// The library's error, naming the flag to fix.
fn rf_error(error: RfError) -> anyhow::Error {
    match error {
        RfError::ZeroDistance => anyhow!("--distance-m: {error}"),
        RfError::ZeroFrequency => anyhow!("--freq-hz: {error}"),
        RfError::OutOfRange => anyhow!("{error}: check --tx-power-dbm and the gains"),
    }
}

/// A fixed-point integer as a decimal with `decimals` places: (−5868, 2) → "-58.68".
fn fixed(value: i64, decimals: u32) -> String {
    let scale = 10u64.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        magnitude / scale,
        magnitude % scale,
        width = decimals as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_prints_every_decimal() {
        assert_eq!(fixed(9168, 2), "91.68");
        assert_eq!(fixed(-5868, 2), "-58.68");
        assert_eq!(fixed(-5, 2), "-0.05");
        assert_eq!(fixed(10_000, 4), "1.0000");
        assert_eq!(fixed(312, 4), "0.0312");
        assert_eq!(fixed(0, 4), "0.0000");
        assert_eq!(fixed(i64::MIN, 2), "-92233720368547758.08");
    }

    #[test]
    fn cell_files_skip_blanks_and_comments_and_name_bad_lines() {
        let text = "# devices\n\n8c1fb46741ae9ff\n8c1fb46741ae9ff  # second device\n\
                    631061702822783487\n";
        let cells = parse_cells(text).unwrap();
        assert_eq!(cells.len(), 3);
        assert_eq!(cells[0], cells[1]);
        assert_eq!(cells[0], cells[2]);
        let error = parse_cells("8c1fb46741ae9ff\nnot-a-cell\n").unwrap_err();
        assert!(error.to_string().starts_with("line 2:"), "{error}");
    }
}
