//! The CUDA batched SDP solver against the CPU backend (core's solver with
//! `ProjectionMethod::Full`) on fresh seeded inputs: planted models and random symmetric T,
//! n = 16, 128, 512, B = 1 and 4. Needs the `cuda` feature and a device (build here with
//! `source scripts/cuda-env.sh`, run on a GPU machine: gpu/device-check.sh). Without a device
//! every test says so on stderr and passes, unless TASKGROUP_REQUIRE_GPU=1 is set.

mod common;

use std::time::Instant;

use common::{batch, device, full_settings, max_abs_diff};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use taskgroup_core::random::normal;
use taskgroup_core::{Affinity, SolverSettings};
use taskgroup_eval::synthetic::PlantedModel;
use taskgroup_gpu::{project_batch, solve_batch, Backend, BatchProblem};

/// The paper's planted model (App. B.1) with three groups of sizes summing to n.
fn planted(n: usize, seed: u64) -> Affinity {
    let mut m = PlantedModel::paper(1);
    m.sizes = vec![n - 2 * (n / 3), n / 3, n / 3];
    m.sample(seed).expect("valid planted model")
}

fn random_symmetric(n: usize, seed: u64) -> Affinity {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data: Vec<f64> = (0..n * n).map(|_| normal(&mut rng)).collect();
    Affinity::from_row_major(&data, n).expect("finite")
}

/// Fresh inputs: the seed comes from the clock unless TASKGROUP_SEED is set (printed).
fn seed() -> u64 {
    let s = std::env::var("TASKGROUP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs())
        });
    eprintln!("TASKGROUP_SEED={s}");
    s
}

/// [`compare`] at batch sizes 1 and 4 with one fresh seed (nothing without a device).
fn compare_one_and_four(n: usize, max_iterations: usize) {
    if !device() {
        return;
    }
    let s = seed();
    compare(n, 1, max_iterations, s);
    compare(n, 4, max_iterations, s);
}

fn compare(n: usize, b: usize, max_iterations: usize, seed: u64) {
    let ts: Vec<(Affinity, usize)> = (0..b)
        .map(|i| {
            let s = seed.wrapping_add(1000 * n as u64 + i as u64);
            if i % 2 == 0 {
                (planted(n, s), 3)
            } else {
                (random_symmetric(n, s), 2 + i % 4)
            }
        })
        .collect();
    let pairs: Vec<(&Affinity, usize)> = ts.iter().map(|(t, k)| (t, *k)).collect();
    let problems: Vec<BatchProblem<'_>> = batch(&pairs);
    let settings = full_settings(max_iterations);
    let t0 = Instant::now();
    let cpu = solve_batch(Backend::Cpu, &problems, &settings).expect("cpu batch");
    let t_cpu = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let gpu = solve_batch(Backend::Cuda, &problems, &settings).expect("cuda batch");
    let t_gpu = t0.elapsed().as_secs_f64();
    assert_eq!(cpu.len(), gpu.len());
    for (i, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
        let (c, g) = (c.as_ref().expect("cpu"), g.as_ref().expect("cuda"));
        let rel = (c.objective - g.objective).abs() / c.objective.abs().max(1e-300);
        eprintln!(
            "n={n} B={b} #{i} k={}: cpu {} ({} it) cuda {} ({} it) rel {rel:.2e} status {}/{}",
            c.k,
            c.objective,
            c.iterations,
            g.objective,
            g.iterations,
            c.status.as_str(),
            g.status.as_str()
        );
        assert_eq!(c.status, g.status, "n={n} B={b} problem {i}: status");
        assert!(
            rel <= 1e-8,
            "n={n} B={b} problem {i}: objective rel diff {rel:e}"
        );
        let rel_b = (c.upper_bound - g.upper_bound).abs() / c.upper_bound.abs().max(1e-300);
        assert!(
            rel_b <= 1e-8,
            "n={n} B={b} problem {i}: bound rel diff {rel_b:e}"
        );
    }
    eprintln!("n={n} B={b}: cpu {t_cpu:.3} s, cuda {t_gpu:.3} s");
}

#[test]
fn cuda_solve_matches_cpu_n16() {
    compare_one_and_four(16, 10_000);
}

#[test]
fn cuda_solve_matches_cpu_n128() {
    compare_one_and_four(128, 10_000);
}

/// n = 512 with a budget of 30 iterations (status MaxIterations on both sides; the one-block
/// Jacobi is slow at this size): the same iterate after 30 steps.
#[test]
fn cuda_solve_matches_cpu_n512_capped() {
    compare_one_and_four(512, 30);
}

#[test]
fn cuda_projection_matches_cpu() {
    if !device() {
        return;
    }
    let s = seed();
    for (n, b) in [
        (1usize, 2usize),
        (2, 1),
        (7, 3),
        (16, 4),
        (127, 2),
        (128, 4),
        (512, 2),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(s ^ n as u64);
        let mut ms = vec![0.0; b * n * n];
        for m in ms.chunks_exact_mut(n * n) {
            for i in 0..n {
                for j in i..n {
                    let x = normal(&mut rng) / n as f64;
                    m[i * n + j] = x;
                    m[j * n + i] = x;
                }
            }
        }
        let ks: Vec<usize> = (0..b).map(|i| 1 + (i + 2) % n.max(1)).collect();
        let cpu = project_batch(Backend::Cpu, &ms, n, &ks).expect("cpu");
        let gpu = project_batch(Backend::Cuda, &ms, n, &ks).expect("cuda");
        let err = max_abs_diff(&cpu, &gpu);
        eprintln!("projection n={n} B={b}: max abs diff {err:.2e}");
        assert!(err < 1e-11, "projection n={n} B={b}: max abs diff {err:e}");
    }
}

#[test]
fn cuda_handles_trivial_and_invalid_problems() {
    if !device() {
        return;
    }
    let t = planted(12, 5);
    let flat = Affinity::from_row_major(&[1.0; 144], 12).expect("finite");
    let problems = batch(&[(&t, 1), (&t, 12), (&t, 0), (&flat, 3), (&t, 3)]);
    let s = full_settings(SolverSettings::default().max_iterations);
    let cpu = solve_batch(Backend::Cpu, &problems, &s).expect("cpu");
    let gpu = solve_batch(Backend::Cuda, &problems, &s).expect("cuda");
    for (c, g) in cpu.iter().zip(&gpu) {
        match (c, g) {
            (Ok(c), Ok(g)) => {
                assert_eq!(c.status, g.status);
                assert!((c.objective - g.objective).abs() <= 1e-8 * c.objective.abs());
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            other => panic!("backends disagree: {other:?}"),
        }
    }
}
