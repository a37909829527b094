//! Batched SDP solves: B problems of the same n (different k, or different affinities) in one
//! call, on the CPU (core's [`solve_sdp`], one problem after another) or on a CUDA device (the
//! whole ADMM iteration of every problem on the device, see `kernels/sdp.cu`).
//!
//! The CUDA backend runs core's ADMM iteration with `ProjectionMethod::Full` step by step (same
//! centring and scaling of T, cold start, ρ rule, over-relaxation, stopping rule), with a Jacobi
//! eigensolver instead of nalgebra's. The host side takes every decision that is not device
//! arithmetic from core: which problems are trivial ([`is_trivial`]), the start
//! ([`barycentre`](taskgroup_core::sdp::barycentre)), ρ₀
//! ([`initial_rho`](taskgroup_core::sdp::initial_rho)), and the certificate, computed by core's
//! [`finish_iterate`] from the final X and U. [`twin`] is core's ADMM loop with the kernels'
//! Jacobi projection ([`twin::project_c1_jacobi`]), the reference the kernels are tested against. With `settings.projection = Full` both backends
//! give the same objective to rounding (compare with
//! [`ProjectionMethod::Full`](taskgroup_core::ProjectionMethod::Full)); other projection
//! methods are honoured by the CPU backend only.

use taskgroup_core::sdp::projection::project_c1;
use taskgroup_core::sdp::{finish_iterate, is_trivial, AdmmIterate};
use taskgroup_core::{solve_sdp, Affinity, SdpSolution, SolverSettings, SolverStatus, WarmStart};

use crate::backend::Backend;
use crate::error::GpuError;

#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(feature = "cuda")]
pub mod cuda_large;
pub mod large;
pub mod twin;

/// Largest n the CUDA backend accepts (16-bit eigenpair indices in shared memory).
pub const CUDA_MAX_N: usize = 4096;

/// Iterations the CUDA backend runs between two reads of the problems' states.
pub const CHECK_EVERY: usize = 10;

/// One problem of a batch: an affinity matrix and the number of groups k.
#[derive(Debug, Clone, Copy)]
pub struct BatchProblem<'a> {
    /// The affinity matrix (every problem of a batch has the same n).
    pub affinity: &'a Affinity,
    /// Number of groups (1 ≤ k ≤ n, else that problem's result is an error).
    pub k: usize,
}

/// The common n of a batch: `Ok(None)` for an empty batch, an error when two problems differ.
pub fn common_n(problems: &[BatchProblem<'_>]) -> Result<Option<usize>, GpuError> {
    let Some(first) = problems.first() else {
        return Ok(None);
    };
    let n = first.affinity.n();
    if let Some((i, p)) = problems
        .iter()
        .enumerate()
        .find(|(_, p)| p.affinity.n() != n)
    {
        return Err(GpuError::InvalidInput(format!(
            "a batch needs problems of one size: problem 0 has n = {n}, problem {i} has n = {}",
            p.affinity.n()
        )));
    }
    Ok(Some(n))
}

/// Solves the SDP relaxation of every problem (cold start), in order.
///
/// The outer `Err` refuses the whole batch: invalid settings, problems of different n, a
/// backend that cannot run here ([`GpuError::NotCompiled`], [`GpuError::NoDevice`]), n above
/// [`CUDA_MAX_N`] on CUDA, or a CUDA failure. The inner results are per problem (e.g. an invalid
/// k gives `Err(GpuError::Core(Error::InvalidK { .. }))`). An empty batch gives `Ok(vec![])`.
///
/// [`Backend::Cpu`] calls core's [`solve_sdp`] for each problem. [`Backend::Cuda`] runs every
/// non-trivial problem's iteration on the device (`settings.projection` and
/// `settings.anderson` are ignored: the device always runs the plain iteration with the full
/// eigendecomposition, the iteration core runs with `ProjectionMethod::Full` and no Anderson
/// acceleration, so its iterates and counts differ from core's defaults within
/// the tolerance); trivial problems (k = 1, k = n, or an affinity with no grouping signal) go to
/// core's solver, which does not iterate on them.
pub fn solve_batch(
    backend: Backend,
    problems: &[BatchProblem<'_>],
    settings: &SolverSettings,
) -> Result<Vec<Result<SdpSolution, GpuError>>, GpuError> {
    settings.validate()?;
    let Some(n) = common_n(problems)? else {
        return Ok(Vec::new());
    };
    backend.check()?;
    let core_solve = |p: &BatchProblem<'_>| {
        solve_sdp(p.affinity, p.k, settings, WarmStart::Cold, None).map_err(GpuError::from)
    };
    match backend {
        Backend::Cpu => Ok(problems.iter().map(core_solve).collect()),
        Backend::Cuda => {
            if n > CUDA_MAX_N {
                return Err(GpuError::InvalidInput(format!(
                    "n = {n} is above the CUDA backend's limit of {CUDA_MAX_N}"
                )));
            }
            let cens: Vec<_> = problems.iter().map(|p| p.affinity.centered()).collect();
            let mut out: Vec<Option<Result<SdpSolution, GpuError>>> = Vec::new();
            let mut device = Vec::new();
            for (i, (p, cen)) in problems.iter().zip(&cens).enumerate() {
                if is_trivial(n, p.k, cen.s) {
                    out.push(Some(core_solve(p)));
                } else {
                    out.push(None);
                    device.push((i, cen, p.k));
                }
            }
            let jobs: Vec<DeviceJob<'_>> = device
                .iter()
                .map(|&(_, cen, k)| DeviceJob { c: &cen.c, k })
                .collect();
            let finals = run_device(n, &jobs, settings)?;
            for ((i, cen, k), f) in device.into_iter().zip(finals) {
                let sol = finish_iterate(
                    cen,
                    k,
                    AdmmIterate {
                        status: f.status,
                        x: f.x,
                        u_dual: &f.u,
                        rho: f.rho,
                        primal_residual: f.primal_residual,
                        dual_residual: f.dual_residual,
                        iterations: f.iterations,
                    },
                );
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(Ok(sol));
                }
            }
            Ok(out
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(GpuError::Cuda("a problem got no result".into()))))
                .collect())
        }
    }
}

/// One non-trivial problem for the device: the centred, unit-norm affinity C and k.
#[derive(Debug, Clone, Copy)]
pub struct DeviceJob<'a> {
    /// C, row-major n×n.
    pub c: &'a [f64],
    /// Number of groups (1 < k < n).
    pub k: usize,
}

/// The final ADMM state of one problem, as the device returns it.
#[derive(Debug, Clone)]
pub struct DeviceFinal {
    /// How the iteration ended.
    pub status: SolverStatus,
    /// Last X (row-major n×n).
    pub x: Vec<f64>,
    /// Last scaled dual U (row-major n×n).
    pub u: Vec<f64>,
    /// Last ρ.
    pub rho: f64,
    /// Last relative primal residual.
    pub primal_residual: f64,
    /// Last relative dual residual.
    pub dual_residual: f64,
    /// Iterations run.
    pub iterations: usize,
}

#[cfg(feature = "cuda")]
fn run_device(
    n: usize,
    jobs: &[DeviceJob<'_>],
    settings: &SolverSettings,
) -> Result<Vec<DeviceFinal>, GpuError> {
    cuda::SdpDevice::new()?.solve(n, jobs, settings)
}

#[cfg(not(feature = "cuda"))]
fn run_device(
    _n: usize,
    _jobs: &[DeviceJob<'_>],
    _settings: &SolverSettings,
) -> Result<Vec<DeviceFinal>, GpuError> {
    Err(GpuError::NotCompiled)
}

/// Batched projection onto C1 (the solver's expensive step): for each symmetric row-major n×n
/// matrix `ms[b·n²..]` and its k, writes `Proj_C1(M_b)` into the result (B·n² values).
///
/// [`Backend::Cpu`] calls core's `project_c1` per matrix; [`Backend::Cuda`] runs the kernels
/// `sdp_prepare`, `sdp_jacobi` and `sdp_reassemble` once on the batch. Errors: `ms.len()` not
/// B·n², a k outside 1..=n, a non-finite entry or an eigensolver failure, a backend that
/// cannot run here.
pub fn project_batch(
    backend: Backend,
    ms: &[f64],
    n: usize,
    ks: &[usize],
) -> Result<Vec<f64>, GpuError> {
    let nn = n
        .checked_mul(n)
        .filter(|&nn| nn > 0)
        .ok_or_else(|| GpuError::InvalidInput(format!("n = {n} is not a valid matrix size")))?;
    if Some(ms.len()) != nn.checked_mul(ks.len()) {
        return Err(GpuError::InvalidInput(format!(
            "{} values are not {} matrices of {n}×{n}",
            ms.len(),
            ks.len()
        )));
    }
    if let Some(&k) = ks.iter().find(|&&k| k == 0 || k > n) {
        return Err(GpuError::InvalidInput(format!(
            "k = {k} is outside 1..={n}"
        )));
    }
    if ms.iter().any(|x| !x.is_finite()) {
        return Err(GpuError::InvalidInput(
            "a matrix has a non-finite entry".into(),
        ));
    }
    backend.check()?;
    match backend {
        Backend::Cpu => {
            let mut out = vec![0.0; ms.len()];
            for ((m, o), &k) in ms.chunks_exact(nn).zip(out.chunks_exact_mut(nn)).zip(ks) {
                project_c1(m, n, k, o).ok_or_else(|| {
                    GpuError::InvalidInput("the eigendecomposition failed".into())
                })?;
            }
            Ok(out)
        }
        Backend::Cuda => {
            #[cfg(feature = "cuda")]
            {
                if n > CUDA_MAX_N {
                    return Err(GpuError::InvalidInput(format!(
                        "n = {n} is above the CUDA backend's limit of {CUDA_MAX_N}"
                    )));
                }
                cuda::SdpDevice::new()?.project(n, ms, ks)
            }
            #[cfg(not(feature = "cuda"))]
            {
                Err(GpuError::NotCompiled)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The value of `#define NAME value` in the CUDA source `cu` (the file `file`), parsed as T;
    /// panics when there is no such numeric `#define`.
    pub(crate) fn cu_define<T: core::str::FromStr>(file: &str, cu: &str, name: &str) -> T {
        cu.lines()
            .find_map(|l| {
                let rest = l.strip_prefix("#define ")?.strip_prefix(name)?;
                rest.starts_with(' ').then(|| rest.trim().parse().ok())?
            })
            .unwrap_or_else(|| panic!("{file} has no numeric #define {name}"))
    }

    /// Device code cannot import Rust constants: the kernels' `#define`s must equal core's
    /// (`RHO_RANGE`) and the twin's (Jacobi tolerance and sweeps).
    #[test]
    fn kernel_constants_are_core_and_twin_constants() {
        let cu = include_str!("../../kernels/sdp.cu");
        let define = |name: &str| -> f64 { cu_define("sdp.cu", cu, name) };
        assert_eq!(define("RHO_RANGE"), taskgroup_core::sdp::RHO_RANGE);
        assert_eq!(define("JACOBI_TOL"), super::twin::JACOBI_TOL);
        assert_eq!(
            define("JACOBI_MAX_SWEEPS"),
            super::twin::JACOBI_MAX_SWEEPS as f64
        );
    }
}
