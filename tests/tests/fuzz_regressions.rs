//! Replays every committed fuzz input (`fuzz/corpus-seed/<target>/` and the reproducers of
//! fixed bugs in `fuzz/regressions/<target>/`) through the same property checks the fuzz
//! targets run (`fuzz/src/checks.rs`), so `cargo test` guards them on stable Rust without
//! libFuzzer.

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut count = 0;
    for dir in ["corpus-seed", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| check(&bytes));
            assert!(r.is_ok(), "{target}: {} fails its check", f.display());
            count += 1;
        }
    }
    assert!(count > 0, "no committed inputs for {target}");
}

/// One test per fuzz target, named after it, that replays the target's committed inputs
/// through `checks::<target>`.
macro_rules! replay_tests {
    ($($target:ident),* $(,)?) => {$(
        #[test]
        fn $target() {
            replay(stringify!($target), checks::$target);
        }
    )*};
}

replay_tests!(
    read_text_matrix,
    read_npy,
    subset_results,
    checkpoint_load,
    session_report,
    solver,
);

/// Found by `checkpoint_load`: a payload (behind a valid checksum) whose settings claim about
/// 4·10⁹ tasks made `load` allocate the task order before checking it (ASan: out of memory).
/// Fixed: n must equal the length of the stored order, and sessions have at most `MAX_TASKS`.
#[test]
fn checkpoint_claiming_billions_of_tasks_is_refused_before_allocating() {
    use taskgroup_core::session::adagroup::{AdaGroupSession, AdaGroupSettings, MAX_TASKS};
    use taskgroup_core::session::checkpoint::{fnv1a64, FORMAT_VERSION, MAGIC};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/checkpoint_load");
    let payload = std::fs::read(root.join("huge-n-oom")).unwrap();
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    file.extend_from_slice(&fnv1a64(&payload).to_le_bytes());
    file.extend_from_slice(&payload);
    assert!(matches!(
        AdaGroupSession::load(&file),
        Err(taskgroup_core::Error::CorruptCheckpoint { .. })
    ));
    assert!(AdaGroupSettings::new(MAX_TASKS + 1, 2, 2)
        .validate()
        .is_err());
    assert!(AdaGroupSettings::new(MAX_TASKS, 2, 2).validate().is_ok());
}
