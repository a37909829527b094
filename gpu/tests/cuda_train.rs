//! CUDA against the CPU reference on fresh seeded data (needs the `cuda` feature and a device;
//! build here with `source scripts/cuda-env.sh`, run on a GPU machine). Without a device every
//! test says so on stderr and passes, unless TASKGROUP_REQUIRE_GPU=1 is set.

mod common;

use common::device;
use taskgroup_gpu::train::bench::{max_abs_diff, random_subsets, train_table};
use taskgroup_gpu::train::synthetic::{synthetic_features, SyntheticFeatureSettings};
use taskgroup_gpu::train::{train_batch, LinearSettings, LinearTrainer, Model};
use taskgroup_gpu::Backend;

/// Scores may differ only where a validation prediction sits on the decision boundary
/// (logistic, 1/m per flip) or by rounding (ridge).
fn compare(model: Model, dim: usize, rows: usize, seed: u64) {
    let mut fs = SyntheticFeatureSettings::new(30, 5, seed);
    fs.model = model;
    fs.dim = dim;
    fs.train_rows = rows;
    let data = synthetic_features(&fs).unwrap().data;
    let mut subsets = random_subsets(30, 5, 300, seed);
    subsets.extend(random_subsets(30, 1, 30, seed + 1));
    subsets.push((0..30).collect());
    // Unit-variance features: the curvature grows with d, so the step shrinks with it.
    let st = LinearSettings {
        model,
        seed,
        step: 0.5 * (16.0 / dim as f64).min(1.0),
        ..LinearSettings::default()
    };
    let cpu = train_batch(Backend::Cpu, &data, &subsets, &st).unwrap();
    let gpu = train_batch(Backend::Cuda, &data, &subsets, &st).unwrap();
    let diff = max_abs_diff(&cpu, &gpu);
    let tol = match model {
        Model::Logistic => 1.0 / 200.0 + 1e-12,
        Model::Ridge => 1e-9,
    };
    eprintln!("{model:?} d={dim} rows={rows}: max |Δscore| = {diff:.3e}");
    assert!(
        diff <= tol,
        "{model:?} d={dim}: max |Δscore| {diff} > {tol}"
    );
    // Deterministic on the device too.
    let again = train_batch(Backend::Cuda, &data, &subsets, &st).unwrap();
    assert_eq!(gpu, again);
}

#[test]
fn cuda_matches_cpu_reference() {
    if !device() {
        return;
    }
    // d + 1 below, near and above the block size (256) exercises both gradient layouts.
    for (dim, rows) in [(1, 40), (16, 24), (64, 100), (255, 30), (300, 20)] {
        compare(Model::Logistic, dim, rows, dim as u64);
        compare(Model::Ridge, dim, rows, dim as u64 + 1);
    }
}

#[test]
fn cuda_trainer_reuses_its_context_and_refuses_bad_subsets() {
    if !device() {
        return;
    }
    let data = synthetic_features(&SyntheticFeatureSettings::new(8, 2, 4))
        .unwrap()
        .data;
    let t = LinearTrainer::new(data.clone(), LinearSettings::default(), Backend::Cuda).unwrap();
    let a = t.train_batch(&[vec![0, 1], vec![2]]).unwrap();
    let b = t.train_batch(&[vec![2], vec![1, 0]]).unwrap();
    assert_eq!(a[1], b[0]);
    assert_eq!(a[0], vec![b[1][1], b[1][0]]);
    assert!(t.train_batch(&[vec![8]]).is_err());
    assert!(t.train_batch(&[]).unwrap().is_empty());
}

#[test]
fn timing_table() {
    if !device() {
        return;
    }
    eprintln!("{}", train_table(1000, 64).unwrap());
}
