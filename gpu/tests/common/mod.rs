//! Setup shared by the gpu crate's integration tests (`mod common;` in each). Not every test
//! target uses every helper.
#![allow(dead_code)]

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use taskgroup_core::random::normal;
use taskgroup_core::{Affinity, ProjectionMethod, SolverSettings};
use taskgroup_gpu::{Backend, BatchProblem};

/// Whether a CUDA device answers. Without one the caller's test should return at once (it says
/// so on stderr), unless `TASKGROUP_REQUIRE_GPU` is set: then this fails.
pub fn device() -> bool {
    match Backend::Cuda.check() {
        Ok(()) => true,
        Err(e) => {
            let failure = format!("the device check failed: {e}");
            skip("TASKGROUP_REQUIRE_GPU", &failure, &e.to_string());
            false
        }
    }
}

/// A test skips what it cannot run (`why`, said on stderr as `skipped: {why}`) unless the
/// environment variable `require` is set: then it fails, saying `failure`.
pub fn skip(require: &str, failure: &str, why: &str) {
    assert!(
        std::env::var_os(require).is_none(),
        "{require} is set but {failure}"
    );
    eprintln!("skipped: {why}");
}

/// A seeded random symmetric row-major n×n matrix with N(0, scale²) entries.
pub fn random_symmetric(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            let x = scale * normal(&mut rng);
            a[i * n + j] = x;
            a[j * n + i] = x;
        }
    }
    a
}

/// The largest absolute difference between two slices (compared up to the shorter length).
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Default settings with `ProjectionMethod::Full` (the iteration the device and the twin run)
/// and the given iteration budget.
pub fn full_settings(max_iterations: usize) -> SolverSettings {
    SolverSettings {
        projection: ProjectionMethod::Full,
        max_iterations,
        ..SolverSettings::default()
    }
}

/// A batch from (affinity, k) pairs.
pub fn batch<'a>(problems: &[(&'a Affinity, usize)]) -> Vec<BatchProblem<'a>> {
    problems
        .iter()
        .map(|&(affinity, k)| BatchProblem { affinity, k })
        .collect()
}
