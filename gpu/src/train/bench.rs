//! Timing of batched subset training: CPU reference against CUDA (when compiled in).

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

/// Times training `subsets` random subsets of 5 out of 100 synthetic tasks (d = `dim`, 256
/// training rows per task, 200 iterations) for each model on the CPU and, when the `cuda`
/// feature is on and a device answers, on CUDA (first call, which includes the context and
/// the upload, and a second call), with the largest score difference. Returns the table text.
pub fn train_table(subsets: usize, dim: usize) -> Result<String, GpuError> {
    let mut out = format!(
        "batched subset training: {subsets} subsets of 5 out of 100 tasks, d = {dim}, 256 \
         training rows per task, 200 iterations\n{:<9} {:>8} {:>12} {:>12} {:>12} {:>12}\n",
        "model", "backend", "first (s)", "second (s)", "subsets/s", "max |Δscore|"
    );
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
        out.push_str(&format!(
            "{:<9} {:>8} {:>12.4} {:>12} {:>12.0} {:>12}\n",
            model.as_str(),
            "cpu",
            secs,
            "-",
            subsets as f64 / secs.max(1e-9),
            "-"
        ));
        match Backend::Cuda.check() {
            Ok(()) => {
                let gpu = LinearTrainer::new(data, settings, Backend::Cuda)?;
                let t = Instant::now();
                let first = gpu.train_batch(&sets)?;
                let t1 = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let _ = gpu.train_batch(&sets)?;
                let t2 = t.elapsed().as_secs_f64();
                let diff = max_abs_diff(&reference, &first);
                out.push_str(&format!(
                    "{:<9} {:>8} {:>12.4} {:>12.4} {:>12.0} {:>12.2e}\n",
                    model.as_str(),
                    "cuda",
                    t1,
                    t2,
                    subsets as f64 / t2.max(1e-9),
                    diff
                ));
            }
            Err(e) => out.push_str(&format!(
                "{:<9} {:>8} unavailable: {e}\n",
                model.as_str(),
                "cuda"
            )),
        }
    }
    Ok(out)
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

/// Prints [`train_table`] for 1000 subsets, d = 64 (for the bench binary).
pub fn print_train_table() -> Result<(), GpuError> {
    print!("{}", train_table(1000, 64)?);
    Ok(())
}
