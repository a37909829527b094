//! Closed-form Euclidean projection onto C1 = {X ⪰ 0, X·1 = 1, Tr X = k} (method.md §3).
//!
//! Every X ∈ C1 is `11ᵀ/n + W` with W ⪰ 0, W·1 = 0, Tr W = k − 1, so
//! `Proj_C1(M) = 11ᵀ/n + Σ_i μ_i v_i v_iᵀ` where (λ_i, v_i) are the eigenpairs of `P·sym(M)·P`
//! on 1⊥ (P = I − 11ᵀ/n) and μ is the projection of λ onto the simplex {μ ≥ 0, Σμ = k − 1}.
//! The eigenpairs on 1⊥ come from `P M P − c·11ᵀ/n` with c > ‖PMP‖_F + 1, which pushes the
//! direction 1 below every simplex threshold, so no basis Q of 1⊥ is formed.

use alloc::vec::Vec;
use core::ops::ControlFlow;

/// Euclidean projection of `values` onto {μ ≥ 0, Σμ = total} (total ≥ 0); writes μ into `out`
/// (same order as `values`) and returns the threshold θ with μ_i = max(λ_i − θ, 0).
///
/// total = 0 gives μ = 0 and θ = max λ. Ties are handled (equal λ get equal μ).
pub fn project_simplex(values: &[f64], total: f64, out: &mut [f64]) -> f64 {
    debug_assert_eq!(values.len(), out.len());
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let theta = if total <= 0.0 {
        sorted[0]
    } else {
        let mut cum = 0.0;
        let mut theta = sorted[0] - total;
        for (j, &l) in sorted.iter().enumerate() {
            cum += l;
            let t = (cum - total) / (j as f64 + 1.0);
            if l - t > 0.0 {
                theta = t;
            } else {
                break;
            }
        }
        theta
    };
    for (o, &l) in out.iter_mut().zip(values) {
        *o = (l - theta).max(0.0);
    }
    theta
}

/// [`project_simplex`] of the eigenvalues of `spec` onto {μ ≥ 0, Σμ = total} (total > 0),
/// computing only the eigenvalues above the threshold: (θ, r) with μ_i = max(λ_i − θ, 0) and r
/// eigenvalues above θ. θ = t_j = (λ_1 + … + λ_j − total)/j for the largest j with λ_j > t_j;
/// since λ_{j+1} > t_{j+1} ⇔ λ_{j+1} > t_j, one Sturm count at t_j tells whether λ_{j+1} is
/// needed. A failed spectrum gives (NaN, 0); its caller falls back.
pub(crate) fn simplex_threshold(spec: &mut crate::eigen::Spectrum<'_>, total: f64) -> (f64, usize) {
    let n = spec.n();
    let (mut cum, mut theta, mut j) = (0.0, f64::NAN, 0);
    while j < n {
        let l = spec.value(j);
        if l.is_nan() {
            return (f64::NAN, 0);
        }
        cum += l;
        let t = (cum - total) / (j as f64 + 1.0);
        if l - t > 0.0 {
            theta = t;
            j += 1;
        } else {
            break;
        }
        if j < n && spec.count_above(theta) <= j {
            break;
        }
    }
    (theta, j)
}

/// Result of one projection: the rank of W and the simplex threshold.
#[derive(Debug, Clone, Copy)]
pub struct ProjectionInfo {
    /// Number of eigenpairs kept (rank of X − 11ᵀ/n).
    pub rank: usize,
    /// Simplex threshold θ.
    pub theta: f64,
}

/// Writes `Proj_C1(M)` into `out` for a symmetric row-major n×n `m` (1 ≤ k ≤ n).
/// `None` when the eigendecomposition fails (non-finite input or no convergence).
pub fn project_c1(m: &[f64], n: usize, k: usize, out: &mut [f64]) -> Option<ProjectionInfo> {
    project_c1_select(m, n, k, out)
}

/// The start of every C1 projection of `m`: for k ≤ 1 (or n = 1) C1 is the single point 11ᵀ/n,
/// written to `out`, and the answer is `Break`; otherwise `Continue` with
/// B = [`centered_shifted`]`(m)`, the matrix whose eigenpairs the projection uses.
fn start(m: &[f64], n: usize, k: usize, out: &mut [f64]) -> ControlFlow<ProjectionInfo, Vec<f64>> {
    if k > 1 && n > 1 {
        return ControlFlow::Continue(centered_shifted(m, n));
    }
    out.iter_mut().for_each(|x| *x = 1.0 / n as f64);
    ControlFlow::Break(ProjectionInfo {
        rank: 0,
        theta: 0.0,
    })
}

/// [`project_c1`] through the tridiagonal path of [`crate::eigen::sym_eigen_select`]: the
/// eigenvalues above the simplex threshold by Sturm bisection ([`simplex_threshold`]; QL when
/// many are needed), eigenvectors by inverse iteration for only the side of the threshold that
/// has fewer of them. With r active eigenpairs,
/// `W = Σ_active (λ_i − θ)·v_i·v_iᵀ`, or, when r > n/2, the same matrix written through the
/// inactive ones: `W = B − θ·I − Σ_inactive (λ_i − θ)·v_i·v_iᵀ` (B = Σ_all λ_i·v_i·v_iᵀ,
/// I = Σ_all v_i·v_iᵀ; the direction 1, eigenvalue −c of B, is among the inactive).
pub(crate) fn project_c1_select(
    m: &[f64],
    n: usize,
    k: usize,
    out: &mut [f64],
) -> Option<ProjectionInfo> {
    project_c1_top(m, n, k, out, 0, 0).map(|(info, _)| info)
}

/// The top eigenpairs a projection computed: the `count` largest values descending, and their
/// unit eigenvectors (column-major n×count).
pub(crate) struct TopPairs {
    /// The `count` largest eigenvalues of `P·sym(M)·P − c·11ᵀ/n`, descending (every one above
    /// the simplex threshold is among them).
    pub values: Vec<f64>,
    /// Column-major n×`count`: the eigenvectors of `values[..count]`.
    pub vectors: Vec<f64>,
    /// Number of vectors.
    pub count: usize,
}

/// [`project_c1_select`] that, when the active side is the smaller one (r ≤ n/2), computes the
/// top `max(r + extra, min_top)` eigenvectors (capped at n) and hands them back (to warm-start
/// the low-rank projection after a fallback); `None` for them on the complement side.
pub(crate) fn project_c1_top(
    m: &[f64],
    n: usize,
    k: usize,
    out: &mut [f64],
    min_top: usize,
    extra: usize,
) -> Option<(ProjectionInfo, Option<TopPairs>)> {
    project_c1_top_limit(m, n, k, out, min_top, extra, crate::eigen::bisect_limit(n))
}

/// [`project_c1_top`] with at most `limit` eigenvalues by bisection (0: all by QL).
fn project_c1_top_limit(
    m: &[f64],
    n: usize,
    k: usize,
    out: &mut [f64],
    min_top: usize,
    extra: usize,
    limit: usize,
) -> Option<(ProjectionInfo, Option<TopPairs>)> {
    let nf = n as f64;
    let j = 1.0 / nf;
    let b = match start(m, n, k, out) {
        ControlFlow::Continue(b) => b,
        ControlFlow::Break(single_point) => return Some((single_point, None)),
    };
    let mut theta = 0.0;
    let mut rank = 0;
    let (values, range, v) = crate::eigen::select_with_limit(
        &b,
        n,
        |spec| {
            (theta, rank) = simplex_threshold(spec, k as f64 - 1.0);
            if 2 * rank <= n {
                0..(rank + extra).max(min_top).min(n)
            } else {
                rank..n
            }
        },
        limit,
    )?;
    let complement = 2 * rank > n;
    // out = 11ᵀ/n (+ B − θ·I on the complement side) + Σ w_c·v_c·v_cᵀ over the vectors of the
    // side used (w = μ = λ − θ on the active side, w = θ − λ ≥ 0 on the inactive side), from
    // the upper triangle (mirrored).
    let used = if complement { range.clone() } else { 0..rank };
    let cnt = used.len();
    // Column-major n×cnt: column c = √w_c · v_c.
    let mut a = alloc::vec![0.0; n * cnt];
    for (c, idx) in used.enumerate() {
        let w = values[idx - range.start] - theta;
        let s = libm::sqrt(if complement { -w } else { w }.max(0.0));
        let col = &v[(idx - range.start) * n..(idx - range.start + 1) * n];
        for (x, y) in a[c * n..(c + 1) * n].iter_mut().zip(col) {
            *x = s * y;
        }
    }
    let init = |u: usize, w: usize| {
        if !complement {
            j
        } else if u == w {
            (j + b[u * n + w]) - theta
        } else {
            j + b[u * n + w]
        }
    };
    crate::par::fill_gram(out, n, &a, cnt, init);
    let info = ProjectionInfo { rank, theta };
    let top = (!complement).then(|| TopPairs {
        count: range.len(),
        values,
        vectors: v,
    });
    Some((info, top))
}

/// `P·sym(M)·P − c·11ᵀ/n` with c = ‖P·sym(M)·P‖_F + 2 (row-major, n×n), P = I − 11ᵀ/n: the
/// matrix whose eigenpairs [`project_c1`] projects (the direction 1 lies below every simplex
/// threshold). When `m` holds fewer than n² values the result is all NaN (every eigensolver
/// refuses it).
pub fn centered_shifted(m: &[f64], n: usize) -> Vec<f64> {
    crate::simd::run(
        #[inline(always)]
        || centered_shifted_body(m, n),
    )
}

/// [`centered_shifted`]'s body, compiled twice ([`crate::simd::run`]).
#[inline(always)]
fn centered_shifted_body(m: &[f64], n: usize) -> Vec<f64> {
    if m.len() < n * n {
        return alloc::vec![f64::NAN; n * n];
    }
    let nf = n as f64;
    let mut r = alloc::vec![0.0; n];
    let mut b = alloc::vec![0.0; n * n];
    for u in 0..n {
        for v in 0..n {
            b[u * n + v] = 0.5 * (m[u * n + v] + m[v * n + u]);
        }
    }
    for u in 0..n {
        r[u] = b[u * n..(u + 1) * n].iter().sum::<f64>() / nf;
    }
    let g = r.iter().sum::<f64>() / nf;
    let mut fro = 0.0;
    for u in 0..n {
        for v in 0..n {
            let x = b[u * n + v] - r[u] - r[v] + g;
            b[u * n + v] = x;
            fro += x * x;
        }
    }
    let c = libm::sqrt(fro) + 2.0;
    b.iter_mut().for_each(|x| *x -= c / nf);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fallback's variant returns the same X as the plain projection (bit for bit) and the
    /// top eigenpairs it was asked for (residuals small, values descending).
    #[test]
    fn top_pairs_variant_matches() {
        let n = 40;
        let mut m = alloc::vec![0.0; n * n];
        for u in 0..n {
            for v in 0..n {
                let same = if u * 3 / n == v * 3 / n { 10.0 } else { 0.0 };
                m[u * n + v] = same / n as f64 + 1e-3 * libm::sin((u * 7 + v * 7) as f64);
            }
        }
        let (mut a, mut b) = (alloc::vec![0.0; n * n], alloc::vec![0.0; n * n]);
        let info = project_c1_select(&m, n, 3, &mut a).unwrap();
        let (info2, top) = project_c1_top(&m, n, 3, &mut b, 6, 4).unwrap();
        assert_eq!(
            (info.rank, info.theta.to_bits()),
            (info2.rank, info2.theta.to_bits())
        );
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        let top = top.unwrap();
        assert_eq!(top.count, (info.rank + 4).max(6));
        let bm = centered_shifted(&m, n);
        for c in 0..top.count {
            let z = &top.vectors[c * n..(c + 1) * n];
            let lam = top.values[c];
            let r = (0..n)
                .map(|i| {
                    let bz: f64 = (0..n).map(|j| bm[i * n + j] * z[j]).sum();
                    (bz - lam * z[i]).abs()
                })
                .fold(0.0, f64::max);
            assert!(r < 1e-10, "pair {c}: residual {r}");
        }
    }

    #[test]
    fn simplex_basic_and_edges() {
        let mut out = [0.0; 3];
        let th = project_simplex(&[3.0, 1.0, 0.0], 1.0, &mut out);
        assert_eq!(out, [1.0, 0.0, 0.0]);
        assert_eq!(th, 2.0);
        // ties share equally
        project_simplex(&[1.0, 1.0, -5.0], 1.0, &mut out);
        assert!((out[0] - 0.5).abs() < 1e-15 && (out[1] - 0.5).abs() < 1e-15 && out[2] == 0.0);
        // all negative
        project_simplex(&[-3.0, -4.0, -10.0], 2.0, &mut out);
        assert!((out.iter().sum::<f64>() - 2.0).abs() < 1e-14);
        assert!((out[0] - out[1] - 1.0).abs() < 1e-14);
        // total 0 (k - 1 = 0)
        project_simplex(&[5.0, 1.0, 0.0], 0.0, &mut out);
        assert_eq!(out, [0.0; 3]);
    }

    /// The projection with eigenvalues by bisection equals the one with every eigenvalue by QL
    /// (the path before bisection) up to rounding, on iterates of both sides of θ.
    #[test]
    fn bisection_projection_matches_ql_projection() {
        use rand_chacha::ChaCha8Rng;
        use rand_core::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // Noise 0: exact blocks, so exactly repeated eigenvalues (and a bulk of zeros); k close
        // to n: more than n/2 eigenvalues active (the complement side, whose inactive
        // eigenvalues come from the bottom of the spectrum).
        for (n, k, noise) in [
            (2, 2, 0.1),
            (7, 3, 1.0),
            (40, 3, 0.01),
            (90, 4, 0.3),
            (120, 5, 3.0),
            (60, 4, 0.0),
            (30, 7, 0.0),
            (12, 10, 0.5),
            (9, 8, 0.0),
            (64, 50, 0.2),
        ] {
            let mut m = alloc::vec![0.0; n * n];
            for u in 0..n {
                for v in 0..n {
                    let same = if u * k / n == v * k / n { 1.0 } else { 0.0 };
                    m[u * n + v] = same + noise * crate::random::normal(&mut rng);
                }
            }
            let (mut a, mut b) = (alloc::vec![0.0; n * n], alloc::vec![0.0; n * n]);
            let (ia, ta) = project_c1_top_limit(&m, n, k, &mut a, 0, 2, n + 1).unwrap();
            let (ib, tb) = project_c1_top_limit(&m, n, k, &mut b, 0, 2, 0).unwrap();
            assert_eq!(ia.rank, ib.rank, "n={n}");
            let scale = m.iter().fold(1.0f64, |s, x| s.max(x.abs()));
            assert!(
                (ia.theta - ib.theta).abs() < 1e-12 * scale * n as f64,
                "n={n}"
            );
            let d = a
                .iter()
                .zip(&b)
                .fold(0.0f64, |s, (x, y)| s.max((x - y).abs()));
            assert!(d < 1e-10, "n={n}: max |X_bisect − X_ql| = {d}");
            if let (Some(ta), Some(tb)) = (ta, tb) {
                assert_eq!(ta.count, tb.count);
                for (x, y) in ta.values.iter().zip(&tb.values) {
                    assert!(
                        (x - y).abs() < 1e-12 * scale * n as f64,
                        "n={n}: {x} vs {y}"
                    );
                }
            }
        }
    }
}
