//! The CPU reference of batched subset training (see [`crate::train`] for the algorithm).
//!
//! Deterministic: every sum runs in a fixed order (members ascending, rows in order, features
//! in index order), in f64. Subsets are independent, so they are spread over threads
//! (`std::thread::available_parallelism`) without changing any result.

use crate::train::data::TaskData;
use crate::train::{Job, JobResult, LinearSettings, Model};

/// The logistic function, written the same way as in the CUDA kernel (no overflow).
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// w·x + b with the bias stored after the d weights; the sum runs over features in order.
fn predict(w: &[f64], x: &[f32]) -> f64 {
    let d = x.len();
    let mut acc = 0.0;
    for (wj, &xj) in w.iter().zip(x) {
        acc += wj * f64::from(xj);
    }
    w.get(d).copied().unwrap_or(0.0) + acc
}

/// Trains one job (a subset with its initial weights).
pub fn train_job(data: &TaskData, job: &Job, settings: &LinearSettings) -> JobResult {
    let d = data.dim();
    let tasks = data.tasks();
    let mut w = job.init.clone();
    let mut g = vec![0.0f64; d + 1];
    let n: usize = job.sorted.iter().map(|&t| data.train_rows(t)).sum();
    let nf = n as f64;
    for _ in 0..settings.iterations {
        g.iter_mut().for_each(|v| *v = 0.0);
        for t in job.sorted.iter().filter_map(|&t| tasks.get(t)) {
            for (x, &y) in t.train_x.chunks_exact(d).zip(&t.train_y) {
                let z = predict(&w, x);
                let e = match settings.model {
                    Model::Logistic => sigmoid(z) - f64::from(y),
                    Model::Ridge => z - f64::from(y),
                };
                for (gj, &xj) in g.iter_mut().zip(x) {
                    *gj += e * f64::from(xj);
                }
                if let Some(gb) = g.get_mut(d) {
                    *gb += e;
                }
            }
        }
        for (j, (wj, gj)) in w.iter_mut().zip(&g).enumerate() {
            let reg = if j < d { settings.l2 * *wj } else { 0.0 };
            *wj -= settings.step * (gj / nf + reg);
        }
    }
    let sums = job
        .sorted
        .iter()
        .map(|&t| {
            let Some(t) = tasks.get(t) else { return 0.0 };
            let mut s = 0.0;
            for (x, &y) in t.val_x.chunks_exact(d).zip(&t.val_y) {
                let z = predict(&w, x);
                s += match settings.model {
                    Model::Logistic => f64::from(u8::from((z >= 0.0) == (y > 0.5))),
                    Model::Ridge => (z - f64::from(y)) * (z - f64::from(y)),
                };
            }
            s
        })
        .collect();
    JobResult { sums, weights: w }
}

/// Trains every job, spread over the available CPU threads (results in job order).
pub fn train_jobs(data: &TaskData, jobs: &[Job], settings: &LinearSettings) -> Vec<JobResult> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(jobs.len())
        .max(1);
    if threads == 1 {
        return jobs.iter().map(|j| train_job(data, j, settings)).collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                let h = scope.spawn(move || {
                    part.iter()
                        .map(|j| train_job(data, j, settings))
                        .collect::<Vec<_>>()
                });
                (part, h)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(part, h)| {
                // A worker cannot panic on checked data; should one, its part is redone here
                // (so the result always has one entry per job).
                h.join()
                    .unwrap_or_else(|_| part.iter().map(|j| train_job(data, j, settings)).collect())
            })
            .collect()
    })
}
