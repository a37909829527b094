//! A CPU model ("twin") of the arithmetic of the CUDA kernels in `kernels/sdp.cu`, so that the
//! device algorithm is tested on machines without a GPU. It is **not** a backend: the CPU backend
//! of [`crate::solve::solve_batch`] calls core's solver. Only the eigensolver and the order of
//! the projection's reassembly are the device's own; the ADMM loop, the start, ρ, the stopping
//! rule and the certificate are core's (`taskgroup_core::sdp::admm`), driven through its
//! [`Projector`](taskgroup_core::sdp::Projector) seam with [`project_c1_jacobi`]. Each function here performs the same
//! operations in the same order of dependencies as its kernel; only the order of floating-point
//! summation inside reductions differs (the kernels reduce in a block tree).
//!
//! - [`jacobi_eigen`] ↔ `sdp_jacobi`: parallel two-sided cyclic Jacobi with the round-robin
//!   ("chess tournament") ordering: in each of the m − 1 rounds of a sweep (m = n rounded up to
//!   even) the m/2 disjoint pairs are rotated at once, `A ← RᵀAR`, `V ← VR`.
//! - [`project_c1_jacobi`] ↔ `sdp_prepare` + `sdp_jacobi` + `sdp_reassemble`: core's
//!   closed-form projection onto C1 with the Jacobi eigensolver.
//! - [`admm_twin`] ↔ the host loop of `solve_batch` with `Backend::Cuda`: core's ADMM loop
//!   ([`run_admm`]: `AdmmState::step` ↔ `sdp_prepare` … `sdp_update`, `AdmmState::decide` ↔
//!   the stopping rule and ρ balancing of `sdp_update`) with [`project_c1_jacobi`].

use taskgroup_core::sdp::projection::{centered_shifted, project_simplex};
use taskgroup_core::sdp::{run_admm, AdmmState, FnProjector};
use taskgroup_core::{Centered, SdpSolution, SolverSettings, WarmStart};

/// Core's cold start (re-exported: the kernels start from it too).
pub use taskgroup_core::sdp::barycentre;

/// Jacobi stops when the off-diagonal Frobenius norm is ≤ `JACOBI_TOL`·‖A‖_F (kernel: same).
pub const JACOBI_TOL: f64 = 1e-15;
/// Sweeps allowed before the eigensolver reports failure (kernel: same).
pub const JACOBI_MAX_SWEEPS: usize = 60;

/// The pair of slot `s` in round `r` of the round-robin ordering on `m` (even) indices,
/// returned as (p, q) with p < q. Every unordered pair appears exactly once in rounds 0..m−1.
pub fn round_robin_pair(m: usize, r: usize, s: usize) -> (usize, usize) {
    let (a, b) = if s == 0 {
        (r, m - 1)
    } else {
        ((r + s) % (m - 1), (r + (m - 1) - s) % (m - 1))
    };
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

/// The Jacobi rotation (c, s) that zeroes a_pq in `RᵀAR`, R = [[c, s], [−s, c]] on (p, q)
/// (Golub & Van Loan, sym.schur2; t = s/c = tan θ, |t| ≤ 1); the identity (1, 0) when a_pq = 0.
pub fn rotation(app: f64, aqq: f64, apq: f64) -> (f64, f64) {
    if apq == 0.0 {
        return (1.0, 0.0);
    }
    let theta = (aqq - app) / (2.0 * apq);
    let t = 1.0f64.copysign(theta) / (theta.abs() + theta.hypot(1.0));
    let c = 1.0 / (1.0 + t * t).sqrt();
    (c, t * c)
}

/// Eigendecomposition of the symmetric row-major n×n `a` in place by parallel cyclic Jacobi:
/// on success the diagonal of `a` holds the eigenvalues (unsorted) and the columns of `v`
/// (row-major n×n) the matching orthonormal eigenvectors; returns the sweeps used. `None` for
/// a non-finite entry or no convergence within [`JACOBI_MAX_SWEEPS`].
pub fn jacobi_eigen(a: &mut [f64], n: usize, v: &mut [f64]) -> Option<usize> {
    if a.len() != n * n || v.len() != n * n || a.iter().any(|x| !x.is_finite()) {
        return None;
    }
    v.iter_mut().for_each(|x| *x = 0.0);
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    if n < 2 {
        return Some(0);
    }
    let m = n + (n & 1);
    let half = m / 2;
    let fro2: f64 = a.iter().map(|x| x * x).sum();
    let mut rot = vec![(0usize, 0usize, 1.0f64, 0.0f64); half];
    for sweep in 0..=JACOBI_MAX_SWEEPS {
        let mut off2 = 0.0;
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    off2 += a[i * n + j] * a[i * n + j];
                }
            }
        }
        if !off2.is_finite() {
            return None;
        }
        if off2 <= JACOBI_TOL * JACOBI_TOL * fro2 {
            return Some(sweep);
        }
        if sweep == JACOBI_MAX_SWEEPS {
            return None;
        }
        for r in 0..m - 1 {
            // Phase 1: the rotations of the round (one thread per pair on the device).
            for (s, slot) in rot.iter_mut().enumerate() {
                let (p, q) = round_robin_pair(m, r, s);
                *slot = if q < n {
                    let (c, sn) = rotation(a[p * n + p], a[q * n + q], a[p * n + q]);
                    (p, q, c, sn)
                } else {
                    (p, q, 1.0, 0.0)
                };
            }
            // Phase 2: A ← RᵀAR, one 2×2 block (pair I rows, pair J columns) per thread.
            for (bi, &(p1, q1, c1, s1)) in rot.iter().enumerate() {
                for (bj, &(p2, q2, c2, s2)) in rot.iter().enumerate() {
                    if bi == bj {
                        if q1 < n && s1 != 0.0 {
                            let (apq, t1) = (a[p1 * n + q1], s1 / c1);
                            a[p1 * n + p1] -= t1 * apq;
                            a[q1 * n + q1] += t1 * apq;
                            a[p1 * n + q1] = 0.0;
                            a[q1 * n + p1] = 0.0;
                        }
                        continue;
                    }
                    rotate_block(a, n, (p1, q1, c1, s1), (p2, q2, c2, s2));
                }
            }
            // Phase 3: V ← VR, one (row, pair) per thread.
            for &(p, q, c, s) in &rot {
                if q >= n || s == 0.0 {
                    continue;
                }
                for i in 0..n {
                    let (vp, vq) = (v[i * n + p], v[i * n + q]);
                    v[i * n + p] = c * vp - s * vq;
                    v[i * n + q] = s * vp + c * vq;
                }
            }
        }
    }
    None
}

/// `B ← R_Iᵀ·B·R_J` on the 2×2 block of rows (p1, q1) and columns (p2, q2); indices ≥ n (the
/// padding of odd n) read as 0 and are not written.
fn rotate_block(
    a: &mut [f64],
    n: usize,
    (p1, q1, c1, s1): (usize, usize, f64, f64),
    (p2, q2, c2, s2): (usize, usize, f64, f64),
) {
    let get = |a: &[f64], i: usize, j: usize| if i < n && j < n { a[i * n + j] } else { 0.0 };
    let (b00, b01, b10, b11) = (
        get(a, p1, p2),
        get(a, p1, q2),
        get(a, q1, p2),
        get(a, q1, q2),
    );
    // Rows: R_Iᵀ = [[c1, −s1], [s1, c1]].
    let (r00, r01) = (c1 * b00 - s1 * b10, c1 * b01 - s1 * b11);
    let (r10, r11) = (s1 * b00 + c1 * b10, s1 * b01 + c1 * b11);
    // Columns: R_J = [[c2, s2], [−s2, c2]].
    let out = [
        (p1, p2, c2 * r00 - s2 * r01),
        (p1, q2, s2 * r00 + c2 * r01),
        (q1, p2, c2 * r10 - s2 * r11),
        (q1, q2, s2 * r10 + c2 * r11),
    ];
    for (i, j, x) in out {
        if i < n && j < n {
            a[i * n + j] = x;
        }
    }
}

/// Eigenpairs of the symmetric row-major n×n `a` by [`jacobi_eigen`], values descending and
/// vectors as matching columns of a row-major n×n matrix. `None` as for `jacobi_eigen`.
pub fn sym_eigen_jacobi(a: &[f64], n: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let mut w = a.to_vec();
    let mut v = vec![0.0; n * n];
    jacobi_eigen(&mut w, n, &mut v)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| w[j * n + j].total_cmp(&w[i * n + i]));
    let values = order.iter().map(|&i| w[i * n + i]).collect();
    let mut vecs = vec![0.0; n * n];
    for (col, &i) in order.iter().enumerate() {
        for r in 0..n {
            vecs[r * n + col] = v[r * n + i];
        }
    }
    Some((values, vecs))
}

/// Writes `Proj_C1(M)` into `out` with the Jacobi eigensolver (core's `project_c1` with a
/// different eigensolver; core's `centered_shifted` is `sdp_prepare`). `None` when the
/// eigensolver fails.
pub fn project_c1_jacobi(m: &[f64], n: usize, k: usize, out: &mut [f64]) -> Option<()> {
    let j = 1.0 / n as f64;
    if k <= 1 || n == 1 {
        out.iter_mut().for_each(|x| *x = j);
        return Some(());
    }
    let mut a = centered_shifted(m, n);
    let mut v = vec![0.0; n * n];
    jacobi_eigen(&mut a, n, &mut v)?;
    let values: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
    let mut mu = vec![0.0; n];
    project_simplex(&values, k as f64 - 1.0, &mut mu);
    // Kernel `sdp_reassemble`: active pairs in index order, one output entry per thread.
    let active: Vec<usize> = (0..n).filter(|&i| mu[i] > 0.0).collect();
    for r in 0..n {
        for c in 0..n {
            let mut x = j;
            for &i in &active {
                x += mu[i] * v[r * n + i] * v[c * n + i];
            }
            out[r * n + c] = x;
        }
    }
    Some(())
}

/// Core's ADMM loop (cold start, no checks) with [`project_c1_jacobi`] as its projector: the sequence the CUDA
/// backend runs, for a non-trivial problem (1 < k < n, C ≠ 0). Finishes with core's certificate
/// (`AdmmState::finish`).
pub fn admm_twin(cen: &Centered, k: usize, settings: &SolverSettings) -> SdpSolution {
    let mut state = AdmmState::new(cen.n, k, settings, WarmStart::Cold);
    let mut jacobi =
        FnProjector(|m: &[f64], n, k, out: &mut [f64]| project_c1_jacobi(m, n, k, out).is_some());
    run_admm(&mut state, cen, settings, &mut jacobi, None);
    state.finish(cen)
}

/// The CPU model of `fac_gemm_f64` / `fac_gemm_f32` (`kernels/factored.cu`), as a core
/// [`BlockOp`](taskgroup_core::sdp::BlockOp): C stored as the device stores it (f64 borrowed, or
/// an f32 copy), every output `out[j·n + u] = Σ_v C_uv·x[j·n + v]` summed in f64 in the order
/// v = 0, 1, …, n − 1 as each kernel thread does (so the emulated kernels give the same bits,
/// and the device the same values up to FMA contraction). O(n²·q) per product, unblocked: a
/// reference, not a fast path.
pub struct TiledOp<'a> {
    c: TiledStore<'a>,
    n: usize,
    error: f64,
}

enum TiledStore<'a> {
    F64(&'a [f64]),
    F32(Vec<f32>),
}

impl<'a> TiledOp<'a> {
    /// The op of the row-major n×n `c` stored as `storage`; `None` when `c.len() != n²`.
    pub fn new(c: &'a [f64], n: usize, storage: crate::solve::large::Storage) -> Option<Self> {
        if n.checked_mul(n) != Some(c.len()) {
            return None;
        }
        Some(match storage {
            crate::solve::large::Storage::F64 => TiledOp {
                c: TiledStore::F64(c),
                n,
                error: 0.0,
            },
            crate::solve::large::Storage::F32 => TiledOp {
                c: TiledStore::F32(c.iter().map(|&x| x as f32).collect()),
                n,
                error: taskgroup_core::sdp::f32_storage_error(c),
            },
        })
    }
}

impl taskgroup_core::sdp::BlockOp for TiledOp<'_> {
    fn n(&self) -> usize {
        self.n
    }
    fn apply(&mut self, x: &[f64], q: usize, out: &mut [f64]) {
        let n = self.n;
        for j in 0..q {
            let xj = &x[j * n..(j + 1) * n];
            for u in 0..n {
                let mut s = 0.0;
                match &self.c {
                    TiledStore::F64(c) => {
                        for (a, b) in c[u * n..(u + 1) * n].iter().zip(xj) {
                            s += a * b;
                        }
                    }
                    TiledStore::F32(c) => {
                        for (a, b) in c[u * n..(u + 1) * n].iter().zip(xj) {
                            s += f64::from(*a) * b;
                        }
                    }
                }
                out[j * n + u] = s;
            }
        }
    }
    fn storage_error(&self) -> f64 {
        self.error
    }
}
