//! `groundwork bench compute`: the runtime's speed on the tile job, beside the same
//! computation in native Rust measured in the same run (and checked pixel for pixel).

use anyhow::{Context, Result, bail};
use clap::Args;
use groundwork_compute::{Limits, RUNTIME};
use std::time::Instant;

#[derive(Args)]
pub struct ComputeArgs {
    /// Tile width and height, in pixels (at most 256).
    #[arg(long, default_value_t = 128)]
    tile: i32,
    /// Most iterations per pixel.
    #[arg(long, default_value_t = 256)]
    iterations: i32,
}

/// The tile renderer of `examples/render.wat`, written again in Rust with the same fixed-point
/// steps, so both give the same pixels.
fn render_native(
    width: i64,
    height: i64,
    left: i32,
    top: i32,
    tw: i32,
    th: i32,
    max: i32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity((tw * th * 4) as usize);
    for y in 0..th {
        let ci = -20_132_659 + 40_265_318 * i64::from(top + y) / height;
        for x in 0..tw {
            let cr = -36_909_875 + 53_687_091 * i64::from(left + x) / width;
            let (mut zr, mut zi, mut iter) = (0i64, 0i64, 0i32);
            while iter < max {
                let zr2 = (zr * zr) >> 24;
                let zi2 = (zi * zi) >> 24;
                if zr2 + zi2 > 67_108_864 {
                    break;
                }
                zi = (((zr << 1) * zi) >> 24) + ci;
                zr = zr2 - zi2 + cr;
                iter += 1;
            }
            let pixel: u32 = if iter >= max {
                0xff00_0000
            } else {
                let i = iter as u32;
                ((i * 9) & 255) | (((i * 5) & 255) << 8) | (((i * 13) & 255) << 16) | 0xff00_0000
            };
            out.extend_from_slice(&pixel.to_le_bytes());
        }
    }
    out
}

pub fn compute(args: ComputeArgs) -> Result<()> {
    if !(1..=256).contains(&args.tile) || args.iterations < 1 {
        bail!("--tile must be 1..=256 and --iterations at least 1");
    }
    let module = wat::parse_str(include_str!("../../../examples/render.wat"))
        .context("the tile renderer")?;
    let (size, t, max) = (1024, args.tile, args.iterations);
    // The tile at the image's centre: most of it inside the set, so the work is heavy.
    let (left, top) = (size / 2 - t / 2, size / 2 - t / 2);
    let input: Vec<u8> = [size, size, left, top, t, t, max]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let started = Instant::now();
    let outcome = groundwork_compute::run(&module, &input, u64::MAX / 2, Limits::DEFAULT)?;
    let wasm_seconds = started.elapsed().as_secs_f64().max(1e-9);
    let started = Instant::now();
    let native = render_native(i64::from(size), i64::from(size), left, top, t, t, max);
    let native_seconds = started.elapsed().as_secs_f64().max(1e-9);
    std::hint::black_box(&native);
    if native != outcome.output {
        bail!("the native renderer and the job disagree: the benchmark compares different work");
    }
    let pixels = f64::from(t * t);
    println!(
        "tile job, {t} × {t} pixels, up to {max} iterations ({RUNTIME}, same pixels as native)"
    );
    println!("  fuel used                     {}", outcome.fuel_used);
    println!(
        "  runtime                       {:.0} fuel/s, {:.0} pixels/s",
        outcome.fuel_used as f64 / wasm_seconds,
        pixels / wasm_seconds
    );
    println!(
        "  baseline native Rust          {:.0} pixels/s ({:.0}× the runtime)",
        pixels / native_seconds,
        wasm_seconds / native_seconds
    );
    Ok(())
}
