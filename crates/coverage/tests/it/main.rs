//! Integration tests of the coverage maths, built as one binary.

mod determinism;
mod properties;
