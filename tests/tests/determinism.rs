//! Determinism: the same input and seed give bit-identical results, run after run and whether
//! the work runs alone or in several threads at once (the core has no global state and no
//! threads of its own). Results are compared through `{:?}`, which prints every f64 with its
//! shortest round-trip representation, so equal text means equal bits.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use taskgroup_core::session::adagroup::{AdaGroupSession, AdaGroupSettings};
use taskgroup_core::session::trainer::run_with_trainer;
use taskgroup_core::{group, search_k, Affinity, GroupSettings, KRule};
use taskgroup_eval::synthetic::PlantedModel;
use taskgroup_eval::trainer::{SyntheticTrainer, SyntheticTrainerSettings};

/// One unit of work, returning its full result as text (or the checkpoint bytes as hex).
fn job(which: usize) -> String {
    match which {
        // Planted model, n = 240: the low-rank projection path.
        0 => {
            let t = PlantedModel::paper(240).sample(11).unwrap();
            format!("{:?}", group(&t, 3, &GroupSettings::default()).unwrap())
        }
        // Unstructured, non-symmetric, signed T: the full projection path, k search.
        1 => {
            let n = 40;
            let mut r = ChaCha8Rng::seed_from_u64(3);
            let v: Vec<f64> = (0..n * n)
                .map(|_| (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.3)
                .collect();
            let t = Affinity::from_row_major(&v, n).unwrap();
            let s = search_k(&t, 2, 6, &GroupSettings::default(), KRule::Elbow, None).unwrap();
            format!("{:?}", s.rows.iter().map(|r| &r.result).collect::<Vec<_>>())
        }
        // A whole AdaGroup campaign with the synthetic trainer: the final checkpoint bytes.
        _ => {
            let tr = SyntheticTrainer::new(SyntheticTrainerSettings::new(24, 3, 9)).unwrap();
            let mut st = AdaGroupSettings::new(24, 3, 2);
            st.seed = 9;
            st.subset_size = 4;
            st.subsets_per_step = Some(120);
            let mut s = AdaGroupSession::new(st).unwrap();
            run_with_trainer(&mut s, &tr).unwrap();
            s.save()
                .unwrap()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        }
    }
}

#[test]
fn results_are_bit_identical_across_runs_and_thread_counts() {
    let alone: Vec<String> = (0..3).map(job).collect();
    assert_eq!(alone, (0..3).map(job).collect::<Vec<_>>(), "run to run");
    for threads in [2usize, 4] {
        let got: Vec<(usize, String)> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..threads * 3)
                .map(|i| sc.spawn(move || (i % 3, job(i % 3))))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (which, text) in got {
            assert_eq!(text, alone[which], "job {which} with {threads} threads");
        }
    }
}
