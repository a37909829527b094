//! Seeded synthetic feature data with planted task groups.
//!
//! Each planted group g has a ground-truth direction u_g (standard normal in R^d); task i of
//! group g has w_i = normalise(u_g + `perturbation` · v_i) with its own standard normal v_i,
//! and features x ~ N(0, I_d). Labels: logistic, y = 1[w_i·x + `noise`·ε > 0]; ridge,
//! y = w_i·x + `noise`·ε (ε standard normal). With few training rows per task, training with
//! the tasks of the same group adds data from (almost) the same model and helps, while tasks of
//! other groups (near-orthogonal directions) hurt: the best grouping is the planted one.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use taskgroup_core::random::{normal, shuffle};

use crate::error::GpuError;
use crate::train::data::{TaskData, TaskSet};
use crate::train::{subset_seed, Model};

/// Settings of [`synthetic_features`]; [`SyntheticFeatureSettings::new`] gives the defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticFeatureSettings {
    /// Number of tasks (≥ 1).
    pub tasks: usize,
    /// Number of planted groups (1..=tasks); sizes differ by at most one, members drawn by seed.
    pub groups: usize,
    /// Feature dimension d (≥ 1; default 16).
    pub dim: usize,
    /// Training rows per task (≥ 1; default 24: fewer than needed to fit d well alone).
    pub train_rows: usize,
    /// Validation rows per task (≥ 1; default 200).
    pub val_rows: usize,
    /// Per-task deviation from the group direction (finite, ≥ 0; default 0.2).
    pub perturbation: f64,
    /// Label noise (finite, ≥ 0; default 0.3).
    pub noise: f64,
    /// The label type (default logistic: labels 0/1).
    pub model: Model,
    /// Seed of everything.
    pub seed: u64,
}

impl SyntheticFeatureSettings {
    /// `tasks` tasks in `groups` planted groups with the given seed; other settings default.
    pub fn new(tasks: usize, groups: usize, seed: u64) -> Self {
        SyntheticFeatureSettings {
            tasks,
            groups,
            dim: 16,
            train_rows: 24,
            val_rows: 200,
            perturbation: 0.2,
            noise: 0.3,
            model: Model::Logistic,
            seed,
        }
    }
}

/// A synthetic data set and its planted groups.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticFeatures {
    /// The task data (task names `t0`, `t1`, …).
    pub data: TaskData,
    /// The planted group (0..groups) of every task.
    pub labels: Vec<usize>,
}

/// Draws the data set (deterministic in the settings).
pub fn synthetic_features(s: &SyntheticFeatureSettings) -> Result<SyntheticFeatures, GpuError> {
    let bad = |why: &str| Err(GpuError::InvalidInput(format!("synthetic features: {why}")));
    if s.tasks == 0 || s.groups == 0 || s.groups > s.tasks {
        return bad("need 1 ≤ groups ≤ tasks");
    }
    if s.dim == 0 || s.train_rows == 0 || s.val_rows == 0 {
        return bad("dim, train_rows and val_rows must be at least 1");
    }
    if !(s.perturbation.is_finite()
        && s.perturbation >= 0.0
        && s.noise.is_finite()
        && s.noise >= 0.0)
    {
        return bad("perturbation and noise must be finite and ≥ 0");
    }
    let d = s.dim;
    let mut rng = ChaCha8Rng::seed_from_u64(subset_seed(s.seed, &[usize::MAX]));
    let mut labels: Vec<usize> = (0..s.tasks).map(|i| i % s.groups).collect();
    shuffle(&mut labels, &mut rng);
    let centres: Vec<Vec<f64>> = (0..s.groups)
        .map(|_| (0..d).map(|_| normal(&mut rng)).collect())
        .collect();
    let mut tasks = Vec::with_capacity(s.tasks);
    for (i, &g) in labels.iter().enumerate() {
        // One stream per task, so a task's data does not depend on the number of tasks.
        let mut r = ChaCha8Rng::seed_from_u64(subset_seed(s.seed, &[i, usize::MAX - 1]));
        let centre = centres.get(g).map_or(&[][..], Vec::as_slice);
        let mut w: Vec<f64> = centre
            .iter()
            .map(|&c| c + s.perturbation * normal(&mut r))
            .collect();
        let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        w.iter_mut().for_each(|v| *v /= norm);
        let mut draw = |rows: usize| {
            let mut x = Vec::with_capacity(rows * d);
            let mut y = Vec::with_capacity(rows);
            for _ in 0..rows {
                let row: Vec<f32> = (0..d).map(|_| normal(&mut r) as f32).collect();
                let z: f64 = w
                    .iter()
                    .zip(&row)
                    .map(|(a, &b)| a * f64::from(b))
                    .sum::<f64>()
                    + s.noise * normal(&mut r);
                y.push(match s.model {
                    Model::Logistic => f32::from(u8::from(z > 0.0)),
                    Model::Ridge => z as f32,
                });
                x.extend(row);
            }
            (x, y)
        };
        let (train_x, train_y) = draw(s.train_rows);
        let (val_x, val_y) = draw(s.val_rows);
        tasks.push(TaskSet {
            name: format!("t{i}"),
            train_x,
            train_y,
            val_x,
            val_y,
        });
    }
    Ok(SyntheticFeatures {
        data: TaskData::new(d, tasks)?,
        labels,
    })
}
