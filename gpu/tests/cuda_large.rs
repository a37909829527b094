//! The large-n path on a CUDA device (feature `cuda`; skipped without a device unless
//! TASKGROUP_REQUIRE_GPU is set): `CudaOp`'s products against the twin `TiledOp`, and
//! `group_large(Cuda)` against core's CPU factored path at small n (same partition, values and
//! bounds to rounding; f32 storage: same partition, valid bound). Prints `large` lines that
//! gpu/device-check.sh copies into its report.

mod common;

use common::{device, max_abs_diff, random_symmetric};
use taskgroup_core::sdp::BlockOp;
use taskgroup_core::{Affinity, GroupSettings, Partition};
use taskgroup_gpu::solve::cuda_large::CudaOp;
use taskgroup_gpu::solve::twin::TiledOp;
use taskgroup_gpu::{group_large, Backend, Storage};

#[test]
fn device_products_match_twin() {
    if !device() {
        return;
    }
    for (n, q) in [(1usize, 1usize), (130, 17), (1000, 12), (2049, 33)] {
        let c = random_symmetric(n, n as u64, 1.0 / n as f64);
        let x = random_symmetric(n.max(q), 7 + n as u64, 1.0)[..n * q].to_vec();
        for st in [Storage::F64, Storage::F32] {
            let mut want = vec![0.0; n * q];
            TiledOp::new(&c, n, st).unwrap().apply(&x, q, &mut want);
            let mut op = CudaOp::new(&c, n, st).expect("device op");
            let mut got = vec![0.0; n * q];
            op.apply(&x, q, &mut got);
            assert!(op.take_error().is_none());
            let err = max_abs_diff(&want, &got);
            // Same sums in the same order; the device fuses multiply-adds (FMA).
            assert!(err < 1e-12, "n={n} q={q} {st}: {err:e}");
            println!("large products n={n} q={q} {st}: max diff to twin {err:.1e}");
        }
    }
}

#[test]
fn device_path_matches_core_cpu_path() {
    if !device() {
        return;
    }
    let s = GroupSettings::default();
    for (n, g, sd, seed) in [(300, 3, 0.3, 1), (1500, 5, 0.4, 2), (4000, 8, 0.5, 3)] {
        let (t, labels) = taskgroup_eval::synthetic::large_offsets(n, g, sd, seed);
        let t = Affinity::from_row_major(&t, n).unwrap();
        let truth = Partition::from_labels(&labels).unwrap();
        let mut s32 = s.clone();
        s32.solver.storage = Storage::F32;
        let cpu = group_large(Backend::Cpu, &t, g, &s).unwrap();
        let gpu = group_large(Backend::Cuda, &t, g, &s).unwrap();
        let g32 = group_large(Backend::Cuda, &t, g, &s32).unwrap();
        assert_eq!(gpu.partition, cpu.partition, "n = {n}");
        assert_eq!(gpu.partition, truth, "n = {n}");
        assert_eq!(g32.partition, truth, "n = {n} (f32)");
        let (ub_c, ub_g, ub_32) = (
            cpu.upper_bound.unwrap(),
            gpu.upper_bound.unwrap(),
            g32.upper_bound.unwrap(),
        );
        assert!(
            (ub_c - ub_g).abs() <= 1e-8 * ub_c.abs(),
            "n = {n}: {ub_c} vs {ub_g}"
        );
        assert!(ub_32 >= g32.value, "n = {n}: f32 bound below the value");
        assert!(gpu.certified_optimal && g32.certified_optimal, "n = {n}");
        println!(
            "large n={n} k={g}: gap_normalized cpu {:.2e} cuda-f64 {:.2e} cuda-f32 {:.2e}; objective rel diff f64 {:.1e} f32 {:.1e}",
            cpu.gap_normalized.unwrap(),
            gpu.gap_normalized.unwrap(),
            g32.gap_normalized.unwrap(),
            (gpu.sdp.objective - cpu.sdp.objective).abs() / cpu.sdp.objective.abs(),
            (g32.sdp.objective - cpu.sdp.objective).abs() / cpu.sdp.objective.abs(),
        );
    }
}
