//! The large-n path on a device: core's factored path (method.md §3a, §4a) with its products by
//! C run by the tiled GEMM of `kernels/factored.cu`, C resident on the device.
//!
//! No solver logic lives here: [`group_large`] hands core's [`group_factored_with`] a
//! [`BlockOp`](taskgroup_core::sdp::BlockOp) — `cuda_large::CudaOp` on [`Backend::Cuda`],
//! core's own [`DenseOp`](taskgroup_core::sdp::DenseOp) on [`Backend::Cpu`] — and core runs
//! the spectral start, the factored refinement, the rounding and the certificate on the host.
//! [`TiledOp`](crate::solve::twin::TiledOp) is the CPU model of the kernels (same sums in the
//! same order), which the tests run through the same core path.

use taskgroup_core::sdp::{DenseOp, DenseOpF32};
use taskgroup_core::{group_factored_with, Affinity, GroupResult, GroupSettings, WarmStart};

use crate::backend::Backend;
use crate::error::GpuError;

/// Rows per block of `fac_gemm_*` (FAC_BM in factored.cu).
pub const FAC_BM: usize = 128;
/// Columns per block (FAC_BN).
pub const FAC_BN: usize = 16;
/// Threads per block (FAC_THREADS).
pub const FAC_THREADS: u32 = 256;
/// Dynamic shared memory per block in bytes (FAC_SHARED_BYTES: (128·33 + 32·16)·8).
pub const FAC_SHARED_BYTES: u32 = ((128 * 33 + 32 * 16) * 8) as u32;

/// How C is stored for the products (core's `sdp::Storage`, `SolverSettings::storage`): with
/// `F32` the device holds an f32 copy (half the memory and traffic) and the certificate adds
/// k·‖C − fl₃₂(C)‖_F (core's `f32_storage_error`) so that it stays a bound for C.
pub use taskgroup_core::Storage;

/// Groups the tasks of `t` into k groups on the factored large-n path (whatever
/// `settings.solver.path` says), with the products by C on `backend`: [`Backend::Cpu`] is
/// core's CPU path (`DenseOp`, or `DenseOpF32` for `settings.solver.storage = F32`: what
/// `group` runs), [`Backend::Cuda`] uploads C (stored as `settings.solver.storage`) once and
/// runs every product on the device. Errors: invalid settings or k (core's), a backend that
/// cannot run here, n too large for the kernels' 32-bit sizes, a CUDA failure (the first one of
/// the solve; the result is then discarded).
pub fn group_large(
    backend: Backend,
    t: &Affinity,
    k: usize,
    settings: &GroupSettings,
) -> Result<GroupResult, GpuError> {
    settings.validate()?;
    backend.check()?;
    let cen = t.centered();
    let bad = || GpuError::InvalidInput("C is not n×n".into());
    let run = |op: &mut dyn taskgroup_core::sdp::BlockOp| {
        group_factored_with(t, &cen, k, settings, WarmStart::Cold, None, op)
    };
    match (backend, settings.solver.storage) {
        (Backend::Cpu, Storage::F64) => Ok(run(&mut DenseOp::new(&cen.c, cen.n).ok_or_else(bad)?)?),
        (Backend::Cpu, Storage::F32) => {
            Ok(run(&mut DenseOpF32::new(&cen.c, cen.n).ok_or_else(bad)?)?)
        }
        (Backend::Cuda, storage) => run_cuda(t, &cen, k, settings, storage),
    }
}

#[cfg(feature = "cuda")]
fn run_cuda(
    t: &Affinity,
    cen: &taskgroup_core::Centered,
    k: usize,
    settings: &GroupSettings,
    storage: Storage,
) -> Result<GroupResult, GpuError> {
    let mut op = crate::solve::cuda_large::CudaOp::new(&cen.c, cen.n, storage)?;
    let r = group_factored_with(t, cen, k, settings, WarmStart::Cold, None, &mut op);
    if let Some(e) = op.take_error() {
        return Err(e);
    }
    Ok(r?)
}

#[cfg(not(feature = "cuda"))]
fn run_cuda(
    _t: &Affinity,
    _cen: &taskgroup_core::Centered,
    _k: usize,
    _settings: &GroupSettings,
    _storage: Storage,
) -> Result<GroupResult, GpuError> {
    Err(GpuError::NotCompiled)
}

#[cfg(test)]
mod tests {
    /// The launch constants must be factored.cu's `#define`s.
    #[test]
    fn launch_constants_are_the_kernel_constants() {
        let cu = include_str!("../../kernels/factored.cu");
        let define =
            |name: &str| -> usize { crate::solve::tests::cu_define("factored.cu", cu, name) };
        assert_eq!(define("FAC_BM"), super::FAC_BM);
        assert_eq!(define("FAC_BN"), super::FAC_BN);
        assert_eq!(define("FAC_THREADS"), super::FAC_THREADS as usize);
        let bk = define("FAC_BK");
        assert_eq!(
            (super::FAC_BM * (bk + 1) + bk * super::FAC_BN) * 8,
            super::FAC_SHARED_BYTES as usize
        );
    }
}
