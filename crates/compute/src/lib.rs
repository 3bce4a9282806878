//! Deterministic compute: a job is a WebAssembly module and an input, run so that any two
//! honest providers produce the same bytes and the same fuel count, and a dispute can be
//! decided by running it again.
//!
//! What makes a run deterministic here:
//! - **An interpreter** (wasmi): no JIT whose code differs per machine. Its version is part of
//!   the protocol ([`RUNTIME`]).
//! - **No floats.** A module with a floating-point instruction or type is refused when it is
//!   checked ([`ComputeError::FloatsRefused`]). NaN bit patterns differ between hosts, so
//!   canonicalising them is not enough; the jobs use fixed point.
//! - **No threads, no imports.** Shared memory is refused
//!   ([`ComputeError::ThreadsRefused`]). A module may import nothing, so the input is its only
//!   source of data and the output its only effect.
//! - **Bounded memory and fuel.** Memory is capped at [`Limits::max_memory_bytes`], and every
//!   instruction costs fuel. Fuel is the billing unit. A run that exhausts its limit stops
//!   with [`ComputeError::OutOfFuel`], the same on every machine.
//!
//! The job's interface: the module exports `memory` and `run(input_len: i32) -> i64`. The host
//! writes the input at offset 0 and calls `run`, which returns the output's place packed as
//! `offset << 32 | length`. The result is identified by BLAKE3 of the output.

use wasmi::{Config, Engine, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, TrapCode};

/// The runtime every provider and referee must run, pinned so a re-execution in a dispute is
/// bit-identical.
pub const RUNTIME: &str = "wasmi 1.1.0";

/// Most elements one table may hold: a table is allocated whole, outside fuel.
pub const MAX_TABLE_ELEMENTS: usize = 10_000;

/// Bounds of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_memory_bytes: usize,
    pub max_input_bytes: usize,
    pub max_output_bytes: usize,
}

impl Limits {
    /// 16 MiB of memory, 64 KiB of input, 1 MiB of output.
    pub const DEFAULT: Limits = Limits {
        max_memory_bytes: 16 << 20,
        max_input_bytes: 64 << 10,
        max_output_bytes: 1 << 20,
    };
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub output: Vec<u8>,
    /// Fuel the run used: what the provider is paid for.
    pub fuel_used: u64,
    /// BLAKE3 of the output: what providers commit to and compare.
    pub result_hash: [u8; 32],
}

/// Why a module was refused or a run failed, by name.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error("the module uses floating-point numbers, which are not deterministic across hosts")]
    FloatsRefused,
    #[error("the module uses threads (shared memory), which are not deterministic")]
    ThreadsRefused,
    #[error("the module imports {module}::{name}; a job may import nothing")]
    Import { module: String, name: String },
    #[error("the module is not valid WebAssembly: {reason}")]
    Invalid { reason: String },
    #[error("the module does not export {what}")]
    Missing { what: &'static str },
    #[error("the input is {len} bytes; at most {max} fit")]
    InputTooLarge { len: usize, max: usize },
    #[error("the run used all {limit} units of fuel")]
    OutOfFuel { limit: u64 },
    #[error("the run trapped: {reason}")]
    Trap { reason: String },
    #[error("the output ({offset}, {len}) is outside memory or above {max} bytes")]
    BadOutput { offset: u64, len: u64, max: usize },
}

fn engine(floats: bool) -> Engine {
    let mut config = Config::default();
    config.consume_fuel(true);
    config.floats(floats);
    Engine::new(&config)
}

/// Checks a module as a job submission is checked: valid, no floats, no threads, no imports,
/// and the interface exported.
pub fn check(wasm: &[u8]) -> Result<Module, ComputeError> {
    let module = match Module::new(&engine(false), wasm) {
        Ok(module) => module,
        Err(error) => {
            // Name the feature when that is the reason: the same bytes validate with floats on.
            if Module::new(&engine(true), wasm).is_ok() {
                return Err(ComputeError::FloatsRefused);
            }
            let reason = error.to_string();
            if reason.contains("shared") || reason.contains("threads") {
                return Err(ComputeError::ThreadsRefused);
            }
            return Err(ComputeError::Invalid { reason });
        }
    };
    if let Some(import) = module.imports().next() {
        return Err(ComputeError::Import {
            module: import.module().to_string(),
            name: import.name().to_string(),
        });
    }
    let exports: Vec<&str> = module.exports().map(|e| e.name()).collect();
    if !exports.contains(&"memory") {
        return Err(ComputeError::Missing { what: "memory" });
    }
    if !exports.contains(&"run") {
        return Err(ComputeError::Missing {
            what: "run(input_len: i32) -> i64",
        });
    }
    Ok(module)
}

fn trap(error: wasmi::Error, limit: u64) -> ComputeError {
    if error.as_trap_code() == Some(TrapCode::OutOfFuel) {
        return ComputeError::OutOfFuel { limit };
    }
    ComputeError::Trap {
        reason: error.to_string(),
    }
}

/// Runs a job: checks the module, writes the input, calls `run` with `fuel` units, reads
/// the output.
pub fn run(wasm: &[u8], input: &[u8], fuel: u64, limits: Limits) -> Result<Outcome, ComputeError> {
    if input.len() > limits.max_input_bytes {
        return Err(ComputeError::InputTooLarge {
            len: input.len(),
            max: limits.max_input_bytes,
        });
    }
    check(wasm)?;
    let engine = engine(false);
    let module = Module::new(&engine, wasm).map_err(|e| ComputeError::Invalid {
        reason: e.to_string(),
    })?;
    let store_limits: StoreLimits = StoreLimitsBuilder::new()
        .memory_size(limits.max_memory_bytes)
        .table_elements(MAX_TABLE_ELEMENTS)
        .instances(1)
        .memories(1)
        .tables(1)
        .build();
    let mut store = Store::new(&engine, store_limits);
    store.limiter(|limits| limits);
    store.set_fuel(fuel).map_err(|e| trap(e, fuel))?;
    let linker = Linker::<StoreLimits>::new(&engine);
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .map_err(|e| trap(e, fuel))?;
    let memory = instance
        .get_memory(&store, "memory")
        .ok_or(ComputeError::Missing { what: "memory" })?;
    memory
        .write(&mut store, 0, input)
        .map_err(|_| ComputeError::InputTooLarge {
            len: input.len(),
            max: memory.data_size(&store),
        })?;
    let entry = instance
        .get_typed_func::<i32, i64>(&store, "run")
        .map_err(|_| ComputeError::Missing {
            what: "run(input_len: i32) -> i64",
        })?;
    let len = i32::try_from(input.len()).map_err(|_| ComputeError::InputTooLarge {
        len: input.len(),
        max: limits.max_input_bytes,
    })?;
    let packed = entry.call(&mut store, len).map_err(|e| trap(e, fuel))?;
    let remaining = store.get_fuel().map_err(|e| trap(e, fuel))?;
    let (offset, length) = ((packed as u64) >> 32, (packed as u64) & 0xFFFF_FFFF);
    let bad = ComputeError::BadOutput {
        offset,
        len: length,
        max: limits.max_output_bytes,
    };
    if length as usize > limits.max_output_bytes {
        return Err(bad);
    }
    let mut output = vec![0u8; length as usize];
    memory
        .read(&store, offset as usize, &mut output)
        .map_err(|_| bad)?;
    Ok(Outcome {
        result_hash: *blake3::hash(&output).as_bytes(),
        output,
        fuel_used: fuel.saturating_sub(remaining),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Vec<u8> {
        let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
        wat::parse_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn hashchain_input(rounds: u64, data: &[u8]) -> Vec<u8> {
        [&rounds.to_le_bytes()[..], data].concat()
    }

    /// FNV-1a over the data, `rounds` times, written out from its definition.
    fn fnv(rounds: u64, data: &[u8]) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for _ in 0..rounds {
            for byte in data {
                hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        hash
    }

    #[test]
    fn the_hash_chain_computes_fnv_and_twice_gives_the_same_hash_and_fuel() {
        let wasm = example("hashchain.wat");
        let input = hashchain_input(50, b"groundwork compute");
        let a = run(&wasm, &input, 10_000_000, Limits::DEFAULT).unwrap();
        let b = run(&wasm, &input, 10_000_000, Limits::DEFAULT).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.output, fnv(50, b"groundwork compute").to_le_bytes());
        assert!(a.fuel_used > 50 * 18, "fuel {}", a.fuel_used);
    }

    #[test]
    fn a_tile_renders_to_rgba_and_tiles_differ() {
        let wasm = example("render.wat");
        let tile = |left: i32, top: i32| -> Vec<u8> {
            [256i32, 256, left, top, 64, 64, 100]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect()
        };
        let a = run(&wasm, &tile(0, 0), 100_000_000, Limits::DEFAULT).unwrap();
        assert_eq!(a.output.len(), 64 * 64 * 4);
        assert!(
            a.output.chunks(4).all(|p| p[3] == 255),
            "every pixel is opaque"
        );
        let b = run(&wasm, &tile(64, 96), 100_000_000, Limits::DEFAULT).unwrap();
        assert_ne!(a.result_hash, b.result_hash);
        assert_eq!(
            b,
            run(&wasm, &tile(64, 96), 100_000_000, Limits::DEFAULT).unwrap()
        );
    }

    #[test]
    fn floats_threads_and_imports_are_refused_by_name() {
        let floats = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                (func (export "run") (param i32) (result i64)
                  (drop (f64.add (f64.const 1) (f64.const 2))) (i64.const 0)))"#,
        )
        .unwrap();
        assert!(matches!(check(&floats), Err(ComputeError::FloatsRefused)));
        let imports = wat::parse_str(
            r#"(module (import "env" "clock" (func (result i64))) (memory (export "memory") 1)
                (func (export "run") (param i32) (result i64) (i64.const 0)))"#,
        )
        .unwrap();
        assert!(matches!(check(&imports), Err(ComputeError::Import { .. })));
        let threads = wat::parse_str(
            r#"(module (memory (export "memory") 1 1 shared)
                (func (export "run") (param i32) (result i64) (i64.const 0)))"#,
        )
        .unwrap();
        assert!(
            matches!(check(&threads), Err(ComputeError::ThreadsRefused)),
            "{:?}",
            check(&threads).err()
        );
    }

    #[test]
    fn a_run_out_of_fuel_says_so_with_its_limit() {
        let wasm = example("hashchain.wat");
        let input = hashchain_input(1_000_000, b"long");
        match run(&wasm, &input, 10_000, Limits::DEFAULT) {
            Err(ComputeError::OutOfFuel { limit }) => assert_eq!(limit, 10_000),
            other => panic!("{other:?}"),
        }
    }
}
