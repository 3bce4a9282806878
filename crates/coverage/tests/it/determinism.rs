//! The crate's sources never call the platform's math library through `f64` methods (the
//! crate's `clippy.toml` forbids them too; this test also runs where clippy does not).

/// Every source file of the crate, by name.
const SOURCES: [(&str, &str); 8] = [
    ("lib.rs", include_str!("../../src/lib.rs")),
    ("consistency.rs", include_str!("../../src/consistency.rs")),
    ("density.rs", include_str!("../../src/density.rs")),
    ("geometry.rs", include_str!("../../src/geometry.rs")),
    ("rf.rs", include_str!("../../src/rf.rs")),
    ("rounding.rs", include_str!("../../src/rounding.rs")),
    ("units.rs", include_str!("../../src/units.rs")),
    ("witness.rs", include_str!("../../src/witness.rs")),
];

/// f64 methods that go to the platform's libm or to an intrinsic of unspecified precision.
const FORBIDDEN: [&str; 32] = [
    "ln", "log", "log2", "log10", "ln_1p", "exp", "exp2", "exp_m1", "powf", "powi", "sqrt", "cbrt",
    "hypot", "sin", "cos", "tan", "sin_cos", "asin", "acos", "atan", "atan2", "sinh", "cosh",
    "tanh", "asinh", "acosh", "atanh", "mul_add", "floor", "ceil", "round", "trunc",
];

#[test]
fn no_platform_math_in_the_sources() {
    let source_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let on_disk = std::fs::read_dir(source_dir).unwrap().count();
    assert_eq!(
        on_disk,
        SOURCES.len(),
        "a source file is missing from SOURCES"
    );
    for (file, text) in SOURCES {
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for method in FORBIDDEN {
                // `.sin(` is a method call; `libm::sin(` is not.
                let call = format!(".{method}(");
                assert!(
                    !code.contains(&call),
                    "{file}:{}: calls f64::{method}; use libm",
                    number + 1
                );
            }
        }
    }
}
