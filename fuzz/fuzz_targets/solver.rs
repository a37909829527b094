//! The whole grouping (SDP solve, rounding, certificate) on arbitrary small matrices: never
//! panics; either an error, or a partition of the n tasks into at most k non-empty groups with
//! finite values, a status, and a bound (when given) not below the partition's value.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::solver(data));
