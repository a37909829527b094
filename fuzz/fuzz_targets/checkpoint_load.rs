//! Checkpoint `load` on arbitrary bytes: never panics; a checkpoint it accepts saves back to
//! bytes that load to the same state, and every query on the loaded session works.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::checkpoint_load(data));
