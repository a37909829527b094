//! CSV/TSV/whitespace matrix reader: never panics; a matrix it accepts is either refused by the
//! square/finite checks with an error, or becomes a valid affinity.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::read_text_matrix(data));
