//! Helpers of the readers' unit tests.

/// A scratch file path unique to this process and test.
pub(crate) fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("taskgroup-input-{}-{name}", std::process::id()))
}

/// A xorshift64 generator from a non-zero `seed`: reproducible pseudo-random input.
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
