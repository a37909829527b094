//! .npy reader: never panics, never allocates beyond what the file can hold; an accepted array
//! has as many values as its shape says.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::read_npy(data));
