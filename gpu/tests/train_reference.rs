//! The CPU reference of batched subset training: determinism, order independence, a known
//! answer, and refusal of bad input.

use taskgroup_gpu::train::cpu::train_job;
use taskgroup_gpu::train::synthetic::{synthetic_features, SyntheticFeatureSettings};
use taskgroup_gpu::train::{
    prepare_jobs, train_batch, LinearSettings, LinearTrainer, Model, TaskData, TaskSet,
};
use taskgroup_gpu::{Backend, GpuError};

fn data(model: Model) -> (TaskData, Vec<usize>) {
    let mut fs = SyntheticFeatureSettings::new(12, 3, 5);
    fs.model = model;
    let s = synthetic_features(&fs).unwrap();
    (s.data, s.labels)
}

#[test]
fn deterministic_and_independent_of_batch_and_member_order() {
    for model in [Model::Logistic, Model::Ridge] {
        let (d, _) = data(model);
        let st = LinearSettings {
            model,
            ..LinearSettings::default()
        };
        let batch = vec![vec![0, 1, 2], vec![3, 7], vec![11], vec![4, 5, 6, 8, 9, 10]];
        let a = train_batch(Backend::Cpu, &d, &batch, &st).unwrap();
        let b = train_batch(Backend::Cpu, &d, &batch, &st).unwrap();
        assert_eq!(a, b);
        let mut rev = batch.clone();
        rev.reverse();
        let mut c = train_batch(Backend::Cpu, &d, &rev, &st).unwrap();
        c.reverse();
        assert_eq!(a, c);
        // Members listed in another order: the same model, scores in the caller's order.
        let p = train_batch(Backend::Cpu, &d, &[vec![2, 0, 1]], &st).unwrap();
        assert_eq!(p[0], vec![a[0][2], a[0][0], a[0][1]]);
        for s in a.iter().flatten() {
            assert!(s.is_finite());
        }
        // A different seed changes only the initialisation: results stay close.
        let other = LinearSettings { seed: 9, ..st };
        let e = train_batch(Backend::Cpu, &d, &batch, &other).unwrap();
        for (x, y) in a.iter().flatten().zip(e.iter().flatten()) {
            assert!((x - y).abs() < 0.05, "{x} vs {y}");
        }
    }
}

#[test]
fn group_mates_help_and_strangers_hurt() {
    let (d, labels) = data(Model::Logistic);
    let st = LinearSettings::default();
    let mates: Vec<usize> = (0..12).filter(|&j| labels[j] == labels[0]).collect();
    let mut strangers: Vec<usize> = vec![0];
    strangers.extend(
        (0..12)
            .filter(|&j| labels[j] != labels[0])
            .take(mates.len() - 1),
    );
    let r = train_batch(Backend::Cpu, &d, &[vec![0], mates, strangers], &st).unwrap();
    let (alone, with_mates, with_strangers) = (r[0][0], r[1][0], r[2][0]);
    assert!(with_mates > alone, "{with_mates} vs alone {alone}");
    assert!(with_strangers < alone, "{with_strangers} vs alone {alone}");
}

#[test]
fn ridge_fits_a_known_line() {
    // y = 2x − 1 exactly: GD converges to w = 2, b = −1 and R² = 1.
    let x: Vec<f32> = (0..20).map(|i| i as f32 / 10.0 - 1.0).collect();
    let y: Vec<f32> = x.iter().map(|v| 2.0 * v - 1.0).collect();
    let t = TaskSet {
        name: "line".into(),
        train_x: x.clone(),
        train_y: y.clone(),
        val_x: x,
        val_y: y,
    };
    let d = TaskData::new(1, vec![t]).unwrap();
    let st = LinearSettings {
        model: Model::Ridge,
        iterations: 2000,
        l2: 0.0,
        ..LinearSettings::default()
    };
    let jobs = prepare_jobs(1, 1, &[vec![0]], &st).unwrap();
    let r = train_job(&d, &jobs[0], &st);
    assert!((r.weights[0] - 2.0).abs() < 1e-6, "{:?}", r.weights);
    assert!((r.weights[1] + 1.0).abs() < 1e-6, "{:?}", r.weights);
    let s = train_batch(Backend::Cpu, &d, &[vec![0]], &st).unwrap();
    assert!((s[0][0] - 1.0).abs() < 1e-9, "{s:?}");
}

fn invalid(r: Result<impl std::fmt::Debug, GpuError>, want: &str) {
    match r {
        Err(GpuError::InvalidInput(m)) => assert!(m.contains(want), "{m:?} lacks {want:?}"),
        other => panic!("expected InvalidInput({want}), got {other:?}"),
    }
}

#[test]
fn bad_input_is_refused_without_panics() {
    let (d, _) = data(Model::Logistic);
    let st = LinearSettings::default();
    invalid(train_batch(Backend::Cpu, &d, &[vec![]], &st), "empty");
    invalid(
        train_batch(Backend::Cpu, &d, &[vec![0, 12]], &st),
        "out of range",
    );
    invalid(
        train_batch(Backend::Cpu, &d, &[vec![3, 1, 3]], &st),
        "twice",
    );
    let bad_settings = LinearSettings {
        iterations: 0,
        ..st
    };
    invalid(
        train_batch(Backend::Cpu, &d, &[vec![0]], &bad_settings),
        "iterations",
    );
    // Ridge labels under the logistic model.
    let (r, _) = data(Model::Ridge);
    invalid(
        train_batch(Backend::Cpu, &r, &[vec![0]], &st),
        "labels 0 or 1",
    );
    invalid(
        LinearTrainer::new(r.clone(), st, Backend::Cpu),
        "labels 0 or 1",
    );
    // Divergence is reported, not returned as NaN scores.
    let wild = LinearSettings {
        model: Model::Ridge,
        step: 1e6,
        ..st
    };
    invalid(
        train_batch(Backend::Cpu, &r, &[vec![0, 1]], &wild),
        "diverged",
    );
    // Shapes and values.
    let t = |x: Vec<f32>| TaskSet {
        name: "x".into(),
        train_x: x,
        train_y: vec![0.0, 1.0],
        val_x: vec![0.0, 0.0],
        val_y: vec![1.0],
    };
    invalid(TaskData::new(2, vec![t(vec![0.0; 3])]), "multiple of d");
    invalid(TaskData::new(2, vec![t(vec![0.0; 6])]), "labels");
    invalid(
        TaskData::new(2, vec![t(vec![0.0, f32::NAN, 0.0, 0.0])]),
        "not finite",
    );
    let mut empty = t(vec![]);
    empty.train_y.clear();
    invalid(TaskData::new(2, vec![empty]), "training set is empty");
    invalid(TaskData::new(0, vec![t(vec![0.0; 4])]), "dimension");
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_is_refused_without_the_feature() {
    let (d, _) = data(Model::Logistic);
    let st = LinearSettings::default();
    assert_eq!(
        train_batch(Backend::Cuda, &d, &[vec![0]], &st),
        Err(GpuError::NotCompiled)
    );
    assert_eq!(
        LinearTrainer::new(d, st, Backend::Cuda).err(),
        Some(GpuError::NotCompiled)
    );
}
