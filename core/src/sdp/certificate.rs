//! A certified upper bound on every partition's value from any dual iterate (method.md §4).
//!
//! For any entrywise non-negative Z_d and X ∈ C1 ∩ C2: ⟨C, X⟩ ≤ ⟨C + Z_d, X⟩ ≤ max_{X∈C1} ⟨G, X⟩
//! with G = sym(C + Z_d), and `max_{X∈C1} ⟨G, X⟩ = 1ᵀG1/n + (k − 1)·λ_max(Qᵀ G Q)` (Q: basis of 1⊥).
//! The bound is padded for rounding error before anyone may call a partition optimal.

use super::projection::centered_shifted;
use crate::affinity::Centered;
use crate::eigen::sym_eigen;

/// `max_{X∈C1} ⟨C + w·Z_d, X⟩` in centred units, plus a rounding pad (see [`rounding_pad`]).
/// `None` when the eigendecomposition fails.
pub(crate) fn bound_centered(cen: &Centered, k: usize, zd: &[f64], w: f64) -> Option<f64> {
    let n = cen.n;
    let nf = n as f64;
    let mut g = alloc::vec![0.0; n * n];
    for i in 0..n * n {
        g[i] = cen.c[i] + w * zd[i];
    }
    let total: f64 = g.iter().sum::<f64>() / nf;
    let lam = if k > 1 && n > 1 {
        let b = centered_shifted(&g, n);
        sym_eigen(&b, n)?.values[0]
    } else {
        0.0
    };
    let fro_g = libm::sqrt(g.iter().map(|x| x * x).sum::<f64>());
    let b = total + (k as f64 - 1.0) * lam;
    if !b.is_finite() {
        return None;
    }
    Some(b + rounding_pad(cen, k, fro_g))
}

/// Rounding-error pad of the bound, in centred units (documented, deliberately generous):
/// `ε·n·(16·max|T̂|/s + 8·k·‖G‖_F)`. The first term covers the error of centring T (each entry
/// of C carries ≈ 8ε·max|T̂|/s, and |⟨E, X⟩| ≤ n·max|E| for feasible X); the second covers the
/// eigenvalue (backward error ≈ n·ε·‖G‖) times k − 1, and the sums.
pub(crate) fn rounding_pad(cen: &Centered, k: usize, fro_g: f64) -> f64 {
    let nf = cen.n as f64;
    let s = if cen.s > 0.0 { cen.s } else { 1.0 };
    f64::EPSILON * nf * (16.0 * cen.max_abs / s + 8.0 * k as f64 * fro_g)
}
