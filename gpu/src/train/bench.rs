//! Timing of batched subset training: CPU reference against CUDA (when compiled in).

use std::fmt;
use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::backend::Backend;
use crate::error::GpuError;
use crate::train::synthetic::{synthetic_features, SyntheticFeatureSettings};
use crate::train::{subset_seed, LinearSettings, LinearTrainer, Model};

/// `count` seeded random subsets of `size` distinct tasks out of `n` (sorted).
pub fn random_subsets(n: usize, size: usize, count: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(subset_seed(seed, &[count, size]));
    let size = size.min(n);
    (0..count)
        .map(|_| {
            let mut pool: Vec<usize> = (0..n).collect();
            for i in 0..size {
                let left = (n - i) as u128;
                let j = i + ((u128::from(rng.next_u64()) * left) >> 64) as usize;
                pool.swap(i, j);
            }
            let mut s: Vec<usize> = pool.into_iter().take(size).collect();
            s.sort_unstable();
            s
        })
        .collect()
}

/// One row of [`train_table`]: one model on one backend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTiming {
    /// The model trained.
    pub model: Model,
    /// The backend.
    pub backend: Backend,
    /// Seconds of the first call (on CUDA: with the context and the upload); `None` when the
    /// backend is unavailable.
    pub first_s: Option<f64>,
    /// Seconds of a second call (CUDA only).
    pub second_s: Option<f64>,
    /// Subsets per second (of the second call on CUDA, of the only call on the CPU).
    pub subsets_per_s: Option<f64>,
    /// Largest |score difference| against the CPU (CUDA only).
    pub max_diff: Option<f64>,
    /// Why the backend did not run.
    pub unavailable: Option<String>,
}

/// The result of [`train_table`]: the workload and one [`TrainTiming`] per (model, backend).
/// Its `Display` is the text table the bench binary prints.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTable {
    /// Subsets trained per call.
    pub subsets: usize,
    /// Feature dimension d.
    pub dim: usize,
    /// The rows, CPU then CUDA for each model.
    pub rows: Vec<TrainTiming>,
}

/// Times training `subsets` random subsets of 5 out of 100 synthetic tasks (d = `dim`, 256
/// training rows per task, 200 iterations) for each model on the CPU and, when the `cuda`
/// feature is on and a device answers, on CUDA (first call, which includes the context and
/// the upload, and a second call), with the largest score difference. Returns the timings;
/// nothing is printed.
pub fn train_table(subsets: usize, dim: usize) -> Result<TrainTable, GpuError> {
    let mut rows = Vec::new();
    for model in [Model::Logistic, Model::Ridge] {
        let mut fs = SyntheticFeatureSettings::new(100, 10, 0);
        fs.dim = dim;
        fs.train_rows = 256;
        fs.model = model;
        let data = synthetic_features(&fs)?.data;
        let sets = random_subsets(100, 5, subsets, 1);
        let settings = LinearSettings {
            model,
            ..LinearSettings::default()
        };
        let cpu = LinearTrainer::new(data.clone(), settings, Backend::Cpu)?;
        let t = Instant::now();
        let reference = cpu.train_batch(&sets)?;
        let secs = t.elapsed().as_secs_f64();
        let row = |backend| TrainTiming {
            model,
            backend,
            first_s: None,
            second_s: None,
            subsets_per_s: None,
            max_diff: None,
            unavailable: None,
        };
        rows.push(TrainTiming {
            first_s: Some(secs),
            subsets_per_s: Some(subsets as f64 / secs.max(1e-9)),
            ..row(Backend::Cpu)
        });
        match Backend::Cuda.check() {
            Ok(()) => {
                let gpu = LinearTrainer::new(data, settings, Backend::Cuda)?;
                let t = Instant::now();
                let first = gpu.train_batch(&sets)?;
                let t1 = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let _ = gpu.train_batch(&sets)?;
                let t2 = t.elapsed().as_secs_f64();
                rows.push(TrainTiming {
                    first_s: Some(t1),
                    second_s: Some(t2),
                    subsets_per_s: Some(subsets as f64 / t2.max(1e-9)),
                    max_diff: Some(max_abs_diff(&reference, &first)),
                    ..row(Backend::Cuda)
                });
            }
            Err(e) => rows.push(TrainTiming {
                unavailable: Some(e.to_string()),
                ..row(Backend::Cuda)
            }),
        }
    }
    Ok(TrainTable { subsets, dim, rows })
}

impl fmt::Display for TrainTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "batched subset training: {} subsets of 5 out of 100 tasks, d = {}, 256 training \
             rows per task, 200 iterations",
            self.subsets, self.dim
        )?;
        writeln!(
            f,
            "{:<9} {:>8} {:>12} {:>12} {:>12} {:>12}",
            "model", "backend", "first (s)", "second (s)", "subsets/s", "max |Δscore|"
        )?;
        for r in &self.rows {
            let backend = r.backend.as_str();
            if let Some(why) = &r.unavailable {
                writeln!(f, "{:<9} {backend:>8} unavailable: {why}", r.model.as_str())?;
                continue;
            }
            let opt = |v: Option<f64>, p: usize| v.map_or("-".into(), |v| format!("{v:.p$}"));
            writeln!(
                f,
                "{:<9} {backend:>8} {:>12} {:>12} {:>12} {:>12}",
                r.model.as_str(),
                opt(r.first_s, 4),
                opt(r.second_s, 4),
                opt(r.subsets_per_s, 0),
                r.max_diff.map_or("-".into(), |d| format!("{d:.2e}")),
            )?;
        }
        Ok(())
    }
}

/// The largest absolute difference between two score tables of the same shape (∞ otherwise).
pub fn max_abs_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    if a.len() != b.len() || a.iter().zip(b).any(|(x, y)| x.len() != y.len()) {
        return f64::INFINITY;
    }
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f64::max)
}
