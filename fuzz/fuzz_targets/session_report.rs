//! `AdaGroupSession::report` / `advance` with arbitrary request ids and scores: never panics,
//! and a call that returns an error leaves the session byte-for-byte unchanged.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::session_report(data));
