//! Readers of subset-training results: the `task,subset,score` table of `taskgroup affinity`
//! and the score lists of `taskgroup session report`. Never panic; an accepted table gives
//! affinity estimates whose entries are finite.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::subset_results(data));
