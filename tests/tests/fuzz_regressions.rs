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

#[test]
fn read_text_matrix() {
    replay("read_text_matrix", checks::read_text_matrix);
}

#[test]
fn read_npy() {
    replay("read_npy", checks::read_npy);
}

#[test]
fn subset_results() {
    replay("subset_results", checks::subset_results);
}

#[test]
fn checkpoint_load() {
    replay("checkpoint_load", checks::checkpoint_load);
}

#[test]
fn session_report() {
    replay("session_report", checks::session_report);
}

#[test]
fn solver() {
    replay("solver", checks::solver);
}
