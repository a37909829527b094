//! Batched SDP solves without a GPU: the CPU backend against core's solver, the refusals, and
//! the CPU twin of the CUDA kernels (Jacobi eigensolver, projection, whole ADMM iteration)
//! against nalgebra and core.

mod common;

use common::{batch, full_settings, max_abs_diff, random_symmetric};
use nalgebra::{DMatrix, SymmetricEigen};
use taskgroup_core::sdp::projection::project_c1;
use taskgroup_core::{solve_sdp, Affinity, Error, SolverSettings, SolverStatus, WarmStart};
use taskgroup_eval::synthetic::PlantedModel;
use taskgroup_gpu::solve::twin::{
    admm_twin, jacobi_eigen, project_c1_jacobi, round_robin_pair, sym_eigen_jacobi,
};
use taskgroup_gpu::{project_batch, solve_batch, Backend, GpuError};

/// Q·diag(values)·Qᵀ with a random orthogonal Q.
fn with_spectrum(values: &[f64], seed: u64) -> Vec<f64> {
    let n = values.len();
    let g = DMatrix::from_row_slice(n, n, &random_symmetric(n, seed, 1.0));
    let q = g.qr().q();
    let m =
        &q * DMatrix::from_diagonal(&nalgebra::DVector::from_column_slice(values)) * q.transpose();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = 0.5 * (m[(i, j)] + m[(j, i)]);
        }
    }
    out
}

fn fro(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Checks a Jacobi decomposition: eigenvalues against nalgebra, A·V = V·Λ, VᵀV = I.
fn check_jacobi(a: &[f64], n: usize, what: &str) {
    let (values, v) = sym_eigen_jacobi(a, n).unwrap_or_else(|| panic!("{what}: Jacobi failed"));
    let scale = fro(a).max(f64::MIN_POSITIVE);
    let mut reference: Vec<f64> = SymmetricEigen::new(DMatrix::from_row_slice(n, n, a))
        .eigenvalues
        .iter()
        .copied()
        .collect();
    reference.sort_by(|x, y| y.total_cmp(x));
    for (i, (l, r)) in values.iter().zip(&reference).enumerate() {
        assert!(
            (l - r).abs() <= 1e-13 * scale,
            "{what}: eigenvalue {i}: {l} vs nalgebra {r}"
        );
    }
    let (mut res, mut orth) = (0.0f64, 0.0f64);
    for j in 0..n {
        for i in 0..n {
            let av: f64 = (0..n).map(|t| a[i * n + t] * v[t * n + j]).sum();
            res = res.max((av - values[j] * v[i * n + j]).abs());
        }
        for l in 0..n {
            let d: f64 = (0..n).map(|t| v[t * n + j] * v[t * n + l]).sum();
            orth = orth.max((d - if j == l { 1.0 } else { 0.0 }).abs());
        }
    }
    assert!(res <= 1e-13 * scale, "{what}: residual {res}");
    assert!(orth <= 1e-13, "{what}: orthonormality {orth}");
}

#[test]
fn round_robin_covers_every_pair_once() {
    for m in [2usize, 4, 6, 10, 34] {
        let mut seen = vec![0u32; m * m];
        for r in 0..m - 1 {
            let mut used = vec![false; m];
            for s in 0..m / 2 {
                let (p, q) = round_robin_pair(m, r, s);
                assert!(p < q && q < m);
                assert!(!used[p] && !used[q], "m={m} round {r}: pairs overlap");
                used[p] = true;
                used[q] = true;
                seen[p * m + q] += 1;
            }
        }
        for p in 0..m {
            for q in p + 1..m {
                assert_eq!(seen[p * m + q], 1, "m={m}: pair ({p},{q})");
            }
        }
    }
}

#[test]
fn jacobi_matches_nalgebra_on_random_matrices() {
    let sizes: Vec<usize> = (1..=20)
        .chain([31, 32, 33, 64, 65, 100, 129, 130])
        .collect();
    for &n in &sizes {
        check_jacobi(
            &random_symmetric(n, n as u64, 1.0),
            n,
            &format!("random n={n}"),
        );
    }
    // Extreme scales.
    check_jacobi(&random_symmetric(17, 1, 1e-150), 17, "tiny");
    check_jacobi(&random_symmetric(17, 2, 1e150), 17, "huge");
}

#[test]
fn jacobi_handles_degenerate_and_special_matrices() {
    // Repeated eigenvalues.
    let spec: Vec<f64> = [1.0, 1.0, 1.0, 2.0, 2.0, -3.0, 0.0, 0.0, 5.0].to_vec();
    check_jacobi(&with_spectrum(&spec, 3), spec.len(), "degenerate");
    let spec: Vec<f64> = (0..40).map(|i| (i / 10) as f64).collect();
    check_jacobi(&with_spectrum(&spec, 4), 40, "4 clusters of 10");
    // Zero, identity, diagonal, all-ones, a 1×1.
    for n in [1usize, 2, 7, 16] {
        check_jacobi(&vec![0.0; n * n], n, "zero");
        let id: Vec<f64> = (0..n * n)
            .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
            .collect();
        check_jacobi(&id, n, "identity");
        let diag: Vec<f64> = (0..n * n)
            .map(|i| {
                if i / n == i % n {
                    (i / n) as f64 - 3.0
                } else {
                    0.0
                }
            })
            .collect();
        check_jacobi(&diag, n, "diagonal");
        check_jacobi(&vec![1.0; n * n], n, "ones");
    }
    // Non-finite input is refused.
    let mut a = vec![0.0; 9];
    a[4] = f64::NAN;
    let mut v = vec![0.0; 9];
    assert!(jacobi_eigen(&mut a, 3, &mut v).is_none());
}

#[test]
fn jacobi_projection_matches_core_projection() {
    for (n, k, seed) in [
        (5usize, 2usize, 1u64),
        (16, 3, 2),
        (33, 4, 3),
        (64, 8, 4),
        (80, 1, 5),
    ] {
        let m = random_symmetric(n, seed, 1.0 / n as f64);
        let mut a = vec![0.0; n * n];
        let mut b = vec![0.0; n * n];
        project_c1(&m, n, k, &mut a).unwrap();
        project_c1_jacobi(&m, n, k, &mut b).unwrap();
        let err = max_abs_diff(&a, &b);
        assert!(err < 1e-12, "n={n} k={k}: {err}");
    }
}

fn problems_for_twin() -> Vec<(Affinity, usize)> {
    let mut out = Vec::new();
    for (size, seed) in [(5usize, 1u64), (12, 2), (20, 3)] {
        out.push((PlantedModel::paper(size).sample(seed).unwrap(), 3));
    }
    for (n, k, seed) in [(16usize, 2usize, 4u64), (24, 5, 5)] {
        out.push((
            Affinity::from_row_major(&random_symmetric(n, seed, 1.0), n).unwrap(),
            k,
        ));
    }
    out
}

/// The device's iteration (modelled by the twin, with the Jacobi eigensolver) against core's
/// solver with `ProjectionMethod::Full`: same status, objective within 1e-8 relative.
#[test]
fn twin_iteration_matches_core_solver() {
    let settings = full_settings(SolverSettings::default().max_iterations);
    for (t, k) in problems_for_twin() {
        let core = solve_sdp(&t, k, &settings, WarmStart::Cold, None).unwrap();
        let twin = admm_twin(&t.centered(), k, &settings);
        let rel = (core.objective - twin.objective).abs() / core.objective.abs().max(1e-300);
        assert_eq!(core.status, twin.status, "n={} k={k}", t.n());
        assert!(
            rel < 1e-8,
            "n={} k={k}: {} vs {}",
            t.n(),
            core.objective,
            twin.objective
        );
        assert!(
            (core.upper_bound - twin.upper_bound).abs() <= 1e-8 * core.upper_bound.abs(),
            "bound"
        );
        eprintln!(
            "n={} k={k}: core {} it, twin {} it, rel diff {rel:.2e}",
            t.n(),
            core.iterations,
            twin.iterations
        );
    }
    // A fixed budget: the same iterate after 25 steps.
    let capped = full_settings(25);
    let (t, k) = &problems_for_twin()[2];
    let core = solve_sdp(t, *k, &capped, WarmStart::Cold, None).unwrap();
    let twin = admm_twin(&t.centered(), *k, &capped);
    assert_eq!(core.status, SolverStatus::MaxIterations);
    assert_eq!(twin.status, SolverStatus::MaxIterations);
    assert!((core.objective - twin.objective).abs() < 1e-10 * core.objective.abs());
    let dx = max_abs_diff(&core.x, &twin.x);
    assert!(dx < 1e-10, "X after 25 iterations differs by {dx}");
}

#[test]
fn cpu_backend_is_core_solver_per_problem() {
    let a = PlantedModel::paper(6).sample(7).unwrap();
    let b = Affinity::from_row_major(&random_symmetric(18, 8, 1.0), 18).unwrap();
    let problems = batch(&[(&a, 3), (&a, 2), (&b, 4), (&b, 1), (&b, 18)]);
    let settings = SolverSettings::default();
    let out = solve_batch(Backend::Cpu, &problems, &settings).unwrap();
    assert_eq!(out.len(), problems.len());
    for (p, r) in problems.iter().zip(&out) {
        let got = r.as_ref().unwrap();
        let want = solve_sdp(p.affinity, p.k, &settings, WarmStart::Cold, None).unwrap();
        assert_eq!(got.objective, want.objective);
        assert_eq!(got.upper_bound, want.upper_bound);
        assert_eq!(got.status, want.status);
        assert_eq!(got.iterations, want.iterations);
        assert_eq!(got.x, want.x);
    }
}

#[test]
fn bad_batches_are_refused_and_bad_problems_reported() {
    let a = PlantedModel::paper(4).sample(1).unwrap();
    let b = PlantedModel::paper(5).sample(1).unwrap();
    let s = SolverSettings::default();
    // Empty batch.
    assert!(solve_batch(Backend::Cpu, &[], &s).unwrap().is_empty());
    // Mixed n.
    let mixed = batch(&[(&a, 2), (&b, 2)]);
    for backend in [Backend::Cpu, Backend::Cuda] {
        match solve_batch(backend, &mixed, &s) {
            Err(GpuError::InvalidInput(why)) => assert!(why.contains("one size"), "{why}"),
            other => panic!("mixed n: {other:?}"),
        }
    }
    // Invalid settings.
    let bad = SolverSettings {
        tolerance: 0.0,
        ..SolverSettings::default()
    };
    assert!(matches!(
        solve_batch(Backend::Cpu, &mixed[..1], &bad),
        Err(GpuError::Core(Error::InvalidSetting { .. }))
    ));
    // A bad k is a per-problem error; the others are solved.
    let ks = batch(&[(&a, 0), (&a, 13), (&a, 3)]);
    let out = solve_batch(Backend::Cpu, &ks, &s).unwrap();
    assert!(matches!(
        out[0],
        Err(GpuError::Core(Error::InvalidK { k: 0, n: 12 }))
    ));
    assert!(matches!(
        out[1],
        Err(GpuError::Core(Error::InvalidK { k: 13, n: 12 }))
    ));
    assert!(out[2].is_ok());
    // project_batch input checks.
    assert!(project_batch(Backend::Cpu, &[0.0; 8], 2, &[1]).is_err());
    assert!(project_batch(Backend::Cpu, &[0.0; 4], 2, &[3]).is_err());
    assert!(project_batch(Backend::Cpu, &[f64::NAN; 4], 2, &[1]).is_err());
    assert!(project_batch(Backend::Cpu, &[], 0, &[]).is_err());
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_backend_is_not_compiled_without_the_feature() {
    let a = PlantedModel::paper(4).sample(1).unwrap();
    let p = batch(&[(&a, 3)]);
    assert_eq!(
        solve_batch(Backend::Cuda, &p, &SolverSettings::default()).unwrap_err(),
        GpuError::NotCompiled
    );
    assert_eq!(
        project_batch(Backend::Cuda, &[0.0; 4], 2, &[1]).unwrap_err(),
        GpuError::NotCompiled
    );
}

#[test]
fn cpu_projection_batch_is_core_projection() {
    let (n, ks) = (12usize, [2usize, 3, 5]);
    let ms: Vec<f64> = ks
        .iter()
        .enumerate()
        .flat_map(|(i, _)| random_symmetric(n, 40 + i as u64, 0.1))
        .collect();
    let out = project_batch(Backend::Cpu, &ms, n, &ks).unwrap();
    for (b, &k) in ks.iter().enumerate() {
        let mut want = vec![0.0; n * n];
        project_c1(&ms[b * n * n..(b + 1) * n * n], n, k, &mut want).unwrap();
        assert_eq!(&out[b * n * n..(b + 1) * n * n], &want[..]);
    }
}
