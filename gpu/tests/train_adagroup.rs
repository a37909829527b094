//! The linear trainer recovers planted task groups through AdaGroup on synthetic features.
//!
//! Setting (documented in gpu/README-train.md): 24 tasks in 4 planted groups
//! ([`SyntheticFeatureSettings::new`] defaults: d = 16, 24 training and 200 validation rows per
//! task), AdaGroup with 4 steps (6 new tasks each), up to 4 groups, 60 subsets of 5 per step
//! (240 subsets in all against 300 pairs), shuffled arrival, default estimator. Seeds 0 and 1
//! recover the planted groups exactly with both models (ARI 1.0); seed 2 reaches 0.79.

use taskgroup_core::session::adagroup::{AdaGroupSession, AdaGroupSettings, TaskOrder};
use taskgroup_core::session::trainer::run_with_trainer;
use taskgroup_core::Partition;
use taskgroup_eval::metrics::adjusted_rand_index;
use taskgroup_gpu::train::synthetic::{synthetic_features, SyntheticFeatureSettings};
use taskgroup_gpu::train::{run_batched, LinearSettings, LinearTrainer, Model};
use taskgroup_gpu::Backend;

fn session(seed: u64) -> AdaGroupSession {
    // 4 planted groups, up to 8 allowed, the session's default count rule (the 4-fold
    // separation test, method.md §6): the count must come from the evidence, not from
    // max_groups.
    let mut s = AdaGroupSettings::new(24, 8, 4);
    s.seed = seed;
    s.task_order = TaskOrder::Shuffled;
    s.subsets_per_step = Some(60);
    AdaGroupSession::new(s).unwrap()
}

fn trainer(model: Model, seed: u64) -> (LinearTrainer, Partition) {
    let mut fs = SyntheticFeatureSettings::new(24, 4, seed);
    fs.model = model;
    let syn = synthetic_features(&fs).unwrap();
    let settings = LinearSettings {
        model,
        ..LinearSettings::default()
    };
    let truth = Partition::from_labels(&syn.labels).unwrap();
    (
        LinearTrainer::new(syn.data, settings, Backend::Cpu).unwrap(),
        truth,
    )
}

#[test]
fn adagroup_recovers_planted_groups_with_both_models() {
    for model in [Model::Logistic, Model::Ridge] {
        for seed in [0, 1, 2, 3] {
            let (t, truth) = trainer(model, seed);
            let mut s = session(seed);
            run_batched(&mut s, &t).unwrap();
            let found = s.partition().unwrap();
            let ari = adjusted_rand_index(&found, &truth).unwrap();
            assert!(ari > 0.99, "{model:?} seed {seed}: ARI {ari}");
        }
    }
}

#[test]
fn one_at_a_time_and_batched_give_the_same_session() {
    let (t, _) = trainer(Model::Logistic, 0);
    let mut a = session(0);
    let mut b = session(0);
    run_batched(&mut a, &t).unwrap();
    run_with_trainer(&mut b, &t).unwrap();
    assert_eq!(a.groups(), b.groups());
    assert_eq!(a.history(), b.history());
}
