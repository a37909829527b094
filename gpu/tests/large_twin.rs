//! The large-n GPU path's CPU twin (`twin::TiledOp`, the model of `kernels/factored.cu`) driven
//! through core's factored path (`group_factored_with`), against core's CPU factored path and
//! its ADMM path at small n: same partitions, same values and bounds to rounding; with f32
//! storage, bounds that stay above the true optimum. Always on (no GPU needed).

use taskgroup_core::sdp::{BlockOp, DenseOp};
use taskgroup_core::{
    group, group_factored_with, Affinity, GroupResult, GroupSettings, SolverPath, WarmStart,
};
use taskgroup_eval::methods::path_settings;
use taskgroup_eval::synthetic::large_instance;
use taskgroup_gpu::solve::twin::TiledOp;
use taskgroup_gpu::{group_large, Backend, GpuError, Storage};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn tiled_op_products_match_core_dense_op() {
    let n = 37;
    let c: Vec<f64> = (0..n * n)
        .map(|i| ((i * 7919 % 211) as f64 - 105.0) / 97.0)
        .collect();
    let q = 5;
    let x: Vec<f64> = (0..n * q)
        .map(|i| ((i * 131 % 53) as f64 - 26.0) / 11.0)
        .collect();
    let mut want = vec![0.0; n * q];
    DenseOp::new(&c, n).unwrap().apply(&x, q, &mut want);
    let mut got = vec![0.0; n * q];
    let mut op = TiledOp::new(&c, n, Storage::F64).unwrap();
    op.apply(&x, q, &mut got);
    for (a, b) in want.iter().zip(&got) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()), "{a} vs {b}");
    }
    assert_eq!(op.storage_error(), 0.0);
    // The indicator product (the default method, through `apply`) is C·H.
    let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let m = op.indicator_product(&labels, 3);
    let md = DenseOp::new(&c, n).unwrap().indicator_product(&labels, 3);
    for (a, b) in m.iter().zip(&md) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()));
    }
    // f32 storage: products move by at most ‖E‖₂·‖x‖ ≤ ‖E‖_F·‖x‖ per column.
    let mut op32 = TiledOp::new(&c, n, Storage::F32).unwrap();
    let e = op32.storage_error();
    assert!(e > 0.0 && e < 1e-6 * c.iter().map(|v| v * v).sum::<f64>().sqrt());
    op32.apply(&x, q, &mut got);
    for j in 0..q {
        let xn = x[j * n..(j + 1) * n]
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt();
        let d = want[j * n..(j + 1) * n]
            .iter()
            .zip(&got[j * n..(j + 1) * n])
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        assert!(
            d <= e * xn * (1.0 + 1e-9) + 1e-12,
            "column {j}: {d} > {e}·{xn}"
        );
    }
    assert!(TiledOp::new(&c, n + 1, Storage::F64).is_none());
}

/// Core's factored path on `t` with default settings, cold, products by the twin with `storage`.
fn twin_path(t: &Affinity, g: usize, storage: Storage) -> GroupResult {
    let cen = t.centered();
    let mut op = TiledOp::new(&cen.c, t.n(), storage).unwrap();
    group_factored_with(
        t,
        &cen,
        g,
        &GroupSettings::default(),
        WarmStart::Cold,
        None,
        &mut op,
    )
    .unwrap()
}

#[test]
fn twin_path_matches_core_cpu_path() {
    for (n, g, sd, seed) in [(150, 3, 0.3, 1), (260, 4, 0.4, 2), (330, 5, 0.4, 3)] {
        let (t, truth) = large_instance(n, g, sd, seed).unwrap();
        let cpu = group(&t, g, &path_settings(SolverPath::Factored)).unwrap();
        let twin = twin_path(&t, g, Storage::F64);
        assert_eq!(twin.sdp.path, SolverPath::Factored);
        assert_eq!(twin.partition, cpu.partition, "n = {n}");
        assert_eq!(twin.partition, truth, "n = {n}");
        assert!(twin.certified_optimal, "n = {n}: {:?}", twin.gap_normalized);
        assert!(rel(twin.value, cpu.value) < 1e-12, "n = {n}: value");
        assert!(
            rel(twin.sdp.objective, cpu.sdp.objective) < 1e-8,
            "n = {n}: objective {} vs {}",
            twin.sdp.objective,
            cpu.sdp.objective
        );
        let (ub_t, ub_c) = (twin.upper_bound.unwrap(), cpu.upper_bound.unwrap());
        assert!(rel(ub_t, ub_c) < 1e-8, "n = {n}: bound {ub_t} vs {ub_c}");
        eprintln!(
            "n={n} k={g}: twin bound {ub_t:.12e}, core {ub_c:.12e}, {} products (core {})",
            twin.sdp.low_rank_rounds, cpu.sdp.low_rank_rounds
        );
    }
}

#[test]
fn f32_storage_keeps_the_partition_and_a_valid_bound() {
    for (n, g, sd, seed) in [(200, 3, 0.3, 4), (300, 4, 0.4, 5)] {
        let (t, truth) = large_instance(n, g, sd, seed).unwrap();
        let admm = group(&t, g, &path_settings(SolverPath::Admm)).unwrap();
        let r = twin_path(&t, g, Storage::F32);
        assert_eq!(r.partition, truth, "n = {n}");
        // Valid: above the relaxation's value (ADMM solved to the tolerance) and the partition's.
        let ub = r.upper_bound.unwrap();
        assert!(ub >= admm.sdp.objective - 1e-6 * admm.sdp.objective.abs());
        assert!(ub >= r.value);
        // The storage pad (k·‖E‖_F ≈ 1e-7 of ‖C‖_F) still certifies at the 1e-5 tolerance.
        assert!(r.certified_optimal, "n = {n}: {:?}", r.gap_normalized);
        eprintln!(
            "n={n} k={g} f32: gap_normalized {:.2e} (f64 ADMM {:.2e})",
            r.gap_normalized.unwrap(),
            admm.gap_normalized.unwrap()
        );
    }
}

#[test]
fn group_large_cpu_is_core_factored_path() {
    let (t, _) = large_instance(180, 3, 0.3, 7).unwrap();
    let s = GroupSettings::default();
    let a = group_large(Backend::Cpu, &t, 3, &s).unwrap();
    let b = group(&t, 3, &path_settings(SolverPath::Factored)).unwrap();
    assert_eq!(a.partition, b.partition);
    assert_eq!(a.value.to_bits(), b.value.to_bits());
    assert_eq!(a.upper_bound, b.upper_bound);
    assert_eq!(a.sdp.path, SolverPath::Factored);
    // f32 storage on the CPU: core's DenseOpF32, the products of the f32 twin to rounding.
    let mut s32 = path_settings(SolverPath::Factored);
    s32.solver.storage = Storage::F32;
    let a32 = group_large(Backend::Cpu, &t, 3, &s32).unwrap();
    let b32 = group(&t, 3, &s32).unwrap();
    assert_eq!(a32.partition, b32.partition);
    assert_eq!(a32.upper_bound, b32.upper_bound);
    let cen = t.centered();
    let mut twin32 = TiledOp::new(&cen.c, 180, Storage::F32).unwrap();
    let c32 = group_factored_with(&t, &cen, 3, &s32, WarmStart::Cold, None, &mut twin32).unwrap();
    assert_eq!(c32.partition, a32.partition);
    assert!(rel(c32.upper_bound.unwrap(), a32.upper_bound.unwrap()) < 1e-8);
    assert!(a32.upper_bound.unwrap() >= a.value);
    assert!(matches!(
        group_large(Backend::Cpu, &t, 0, &s),
        Err(GpuError::Core(_))
    ));
    if !Backend::cuda_compiled() {
        assert_eq!(
            group_large(Backend::Cuda, &t, 3, &s).unwrap_err(),
            GpuError::NotCompiled
        );
    }
    // Trivial k: core's non-iterating path.
    let one = group_large(Backend::Cpu, &t, 1, &s).unwrap();
    assert_eq!(one.partition.num_groups(), 1);
}
