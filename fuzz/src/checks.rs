//! The properties the fuzz targets check, one function per target; shared by the fuzz
//! targets (`fuzz/fuzz_targets/`) and the regression test that replays the committed inputs
//! (`tests/tests/fuzz_regressions.rs`). Each function panics exactly when a property fails.

#![allow(dead_code)]

use taskgroup_core::session::adagroup::{AdaGroupSession, AdaGroupSettings, RequestId};
use taskgroup_core::session::aggregate::{AggregateSettings, PairwiseSettings};
use taskgroup_core::session::checkpoint::{fnv1a64, FORMAT_VERSION, MAGIC};
use taskgroup_core::{group, Affinity, GroupSettings, Rounding};
use taskgroup_io::manifest::parse_manifest;
use taskgroup_io::matrix::parse_text_matrix;
use taskgroup_io::npy::{parse_npy, parse_npy_array};
use taskgroup_io::standley::SubsetTable;
use taskgroup_io::subsets::{parse_scores, read_subset_csv};
use taskgroup_io::{require_square, Matrix};

/// CSV/TSV/whitespace matrix reader: never panics; a matrix it accepts is either refused by the
/// square/finite checks with an error, or becomes a valid affinity.
pub fn read_text_matrix(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = parse_text_matrix(text) {
        accepted_matrix(&m);
    }
}

/// A matrix a reader accepted: its data fills its shape, and when square it is refused by the
/// finiteness check with an error or becomes an affinity of its size.
fn accepted_matrix(m: &Matrix) {
    assert_eq!(
        m.data.len(),
        m.rows * m.cols,
        "matrix shape and data disagree"
    );
    if require_square(m).is_ok() {
        if let Ok(t) = Affinity::from_row_major(&m.data, m.rows) {
            assert_eq!(t.n(), m.rows);
        }
    }
}

/// .npy readers (affinity matrices and feature/label arrays): never panic, never allocate
/// beyond what the file can hold; an accepted array has as many values as its shape says.
pub fn read_npy(data: &[u8]) {
    if let Ok(a) = parse_npy_array(data) {
        assert!(
            matches!(a.shape.len(), 1 | 2),
            "an array of 1 or 2 dimensions"
        );
        assert_eq!(
            a.data.len(),
            a.rows() * a.cols(),
            "array shape and data disagree"
        );
    }
    if let Ok(m) = parse_npy(data) {
        accepted_matrix(&m);
    }
}

/// Readers of subset-training results and other text formats: the `task,subset,score` table of
/// `taskgroup affinity`, the score lists of `taskgroup session report`, Standley et al.'s
/// tables and the trainers' JSON manifests. Never panic; an
/// accepted table gives affinity estimates whose entries are finite.
pub fn subset_results(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(entries) = parse_manifest(text, std::path::Path::new("fuzz.json")) {
        assert!(!entries.is_empty());
    }
    if let Ok(table) = SubsetTable::parse(text) {
        assert!(table.tasks() <= taskgroup_io::standley::MAX_TABLE_TASKS);
        for &mask in table.subsets() {
            for t in taskgroup_io::standley::members(mask, table.tasks()) {
                assert!(table.loss(mask, t).is_some_and(f64::is_finite));
            }
        }
    }
    if let Ok(scores) = parse_scores(text) {
        assert!(scores.iter().all(|x| x.is_finite()));
    }
    let Ok((builder, names)) = read_subset_csv(text, "fuzz.csv") else {
        return;
    };
    assert_eq!(builder.n(), names.len());
    if let Ok(est) = builder.higher_order(&AggregateSettings::default()) {
        assert!(est.directed().iter().all(|x| x.is_finite()));
    }
    if let Ok(est) = builder.pairwise(&PairwiseSettings::default()) {
        assert!(est.directed().iter().all(|x| x.is_finite()));
    }
}

/// Checkpoint `load` on arbitrary bytes, both as a whole file and as a payload wrapped in a
/// valid header (magic, version, length, checksum), so that the decoder behind the checksum is
/// fuzzed too: never panics; a checkpoint it accepts saves back to bytes that load to the same
/// state, and every query on the loaded session works.
pub fn checkpoint_load(data: &[u8]) {
    let mut wrapped = Vec::with_capacity(28 + data.len());
    wrapped.extend_from_slice(&MAGIC);
    wrapped.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    wrapped.extend_from_slice(&(data.len() as u64).to_le_bytes());
    wrapped.extend_from_slice(&fnv1a64(data).to_le_bytes());
    wrapped.extend_from_slice(data);
    for bytes in [data, &wrapped[..]] {
        let Ok(s) = AdaGroupSession::load(bytes) else {
            continue;
        };
        let saved = s.save().expect("a loaded session saves");
        let again = AdaGroupSession::load(&saved).expect("a saved session loads");
        assert_eq!(
            again.save().expect("saves"),
            saved,
            "save/load is not a fixed point"
        );
        let _ = s.next_requests();
        let _ = s.groups();
        let _ = s.partition();
        let _ = s.history();
        let _ = s.is_step_complete();
        let _ = s.current_affinity();
    }
}

/// `AdaGroupSession::report` / `advance` with arbitrary request ids and scores: never panics,
/// and a call that returns an error leaves the session byte-for-byte unchanged.
pub fn session_report(data: &[u8]) {
    let mut st = AdaGroupSettings::new(8, 3, 2);
    st.subset_size = 3;
    st.subsets_per_step = Some(6);
    st.seed = 1;
    let mut s = AdaGroupSession::new(st).expect("valid settings");
    let mut rest = data;
    // Each operation: step, index, number of scores, then 2 bytes per score.
    while rest.len() >= 3 {
        let (step, index, count) = (
            rest[0] as u32 % 4,
            rest[1] as u32 % 10,
            rest[2] as usize % 8,
        );
        rest = &rest[3..];
        let take = (count * 2).min(rest.len());
        let scores: Vec<f64> = rest[..take]
            .chunks(2)
            .map(|c| match c {
                [0xff, 0xff] => f64::NAN,
                [0xff, 0xfe] => f64::INFINITY,
                [a, b] => f64::from(u16::from_le_bytes([*a, *b])) / 1000.0 - 10.0,
                [a] => f64::from(*a),
                _ => 0.0,
            })
            .collect();
        rest = &rest[take..];
        let before = s.save().expect("saves");
        if s.report(RequestId { step, index }, &scores).is_err() {
            assert_eq!(
                s.save().expect("saves"),
                before,
                "a refused report changed the state"
            );
        }
        if s.is_step_complete() {
            let before = s.save().expect("saves");
            if s.advance().is_err() {
                assert_eq!(
                    s.save().expect("saves"),
                    before,
                    "a failed advance changed the state"
                );
            }
        }
    }
}

/// The whole grouping (SDP solve, rounding, certificate) on arbitrary small matrices: never
/// panics; either an error, or a partition of the n tasks into at most k non-empty groups with
/// finite values, a status, and a bound (when given) not below the partition's value.
pub fn solver(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let n = 1 + data[0] as usize % 8;
    let k = data[1] as usize % (n + 2); // includes the invalid 0 and n + 1
    let mut settings = GroupSettings::default();
    settings.solver.max_iterations = 1 + data[2] as usize * 4;
    if data[2] & 1 == 1 {
        settings.rounding.mode = Rounding::Threshold { c: 1.0 };
    }
    let bytes = &data[3..];
    // Entries from 8 bytes each (any f64: NaN, ±Inf, subnormal, huge), or small integers
    // from single bytes when the input is short, so that most inputs reach the solver.
    let values: Vec<f64> = if bytes.len() >= 8 * n * n {
        bytes
            .chunks_exact(8)
            .take(n * n)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect()
    } else {
        (0..n * n)
            .map(|i| f64::from(bytes.get(i).copied().unwrap_or(0) as i8))
            .collect()
    };
    let Ok(t) = Affinity::from_row_major(&values, n) else {
        return;
    };
    let Ok(r) = group(&t, k, &settings) else {
        return;
    };
    assert!((1..=n).contains(&k), "k = {k} accepted for n = {n}");
    let p = &r.partition;
    assert_eq!(p.n(), n);
    assert!(p.num_groups() >= 1 && p.num_groups() <= n);
    assert!(p.sizes().iter().all(|&s| s > 0), "an empty group");
    assert!(
        r.value.is_finite() && r.average_density.is_finite(),
        "{r:?}"
    );
    assert!(r.sdp.objective.is_finite(), "{r:?}");
    let _ = r.status().as_str();
    if let Some(ub) = r.upper_bound {
        assert!(ub.is_finite());
        let scale = r.value.abs().max(ub.abs()).max(f64::MIN_POSITIVE);
        assert!(
            ub >= r.value - 1e-9 * scale,
            "bound {ub} below value {}",
            r.value
        );
    }
}
