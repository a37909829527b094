//! Symmetric eigendecompositions through nalgebra, with an iteration cap so that no input can hang.

use alloc::vec::Vec;
use nalgebra::DMatrix;

/// Eigenpairs of a symmetric matrix: values in descending order, vectors as matching columns.
pub struct Eigen {
    /// Eigenvalues, largest first.
    pub values: Vec<f64>,
    /// n×n, column j is the unit eigenvector of `values[j]`.
    pub vectors: DMatrix<f64>,
}

/// QR sweeps allowed per dimension before the decomposition is declared failed.
const SWEEPS_PER_DIM: usize = 64;

/// Full eigendecomposition of a symmetric n×n row-major matrix (only the lower triangle is read).
/// `None` when an entry is not finite or the QR iteration did not converge.
pub fn sym_eigen(a: &[f64], n: usize) -> Option<Eigen> {
    if a.iter().any(|x| !x.is_finite()) {
        return None;
    }
    // Row-major symmetric = column-major symmetric (lower triangle read).
    let m = DMatrix::from_column_slice(n, n, a);
    let e = nalgebra::SymmetricEigen::try_new(m, f64::EPSILON, SWEEPS_PER_DIM * n.max(1))?;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| e.eigenvalues[j].total_cmp(&e.eigenvalues[i]));
    let values: Vec<f64> = order.iter().map(|&i| e.eigenvalues[i]).collect();
    if values.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let mut vectors = DMatrix::zeros(n, n);
    for (j, &i) in order.iter().enumerate() {
        vectors.set_column(j, &e.eigenvectors.column(i));
    }
    Some(Eigen { values, vectors })
}

/// Householder reduction of a symmetric matrix to tridiagonal form, `A = Q·T·Qᵀ` with
/// `Q = H_0·H_1···H_{n−3}`, `H_i = I − β_i·v_i·v_iᵀ` (v_i zero on the first i + 1 entries).
///
/// Row-major throughout: step i reads row i (contiguous) as the column to annihilate, and the
/// trailing block is updated in full (both triangles) with contiguous row operations, which
/// vectorises better than a packed symmetric update at the sizes this crate meets (n ≤ a few
/// hundred on this path).
#[derive(Debug, Clone)]
pub struct Tridiagonal {
    n: usize,
    /// Diagonal of T (n values).
    pub d: Vec<f64>,
    /// Off-diagonal of T: `e[i] = T[i][i + 1]` (n − 1 values; empty for n ≤ 1).
    pub e: Vec<f64>,
    /// Row i holds v_i on columns i + 1..n (row-major n×n; the rest is scratch).
    v: Vec<f64>,
    beta: Vec<f64>,
}

impl Tridiagonal {
    /// Reduces the symmetric row-major n×n `a` (both triangles read; consumed as workspace).
    /// `None` when `a` has fewer than n² values or a non-finite entry.
    pub fn new(mut a: Vec<f64>, n: usize) -> Option<Self> {
        if a.len() < n * n || a[..n * n].iter().any(|x| !x.is_finite()) {
            return None;
        }
        let mut d = alloc::vec![0.0; n];
        let mut e = alloc::vec![0.0; n.saturating_sub(1)];
        let mut beta = alloc::vec![0.0; n.saturating_sub(1)];
        let dot = crate::sdp::lowrank::dot;
        // Makes row i's tail (columns i + 1..n) into the reflector v_i in place; sets e[i] and
        // β_i (0: no reflection needed).
        let reflector = |a: &mut [f64], i: usize, e: &mut [f64], beta: &mut [f64]| {
            let x = &mut a[i * n + i + 1..i * n + n];
            let rest = dot(&x[1..], &x[1..]);
            if x.len() == 1 || rest == 0.0 {
                e[i] = x[0];
                beta[i] = 0.0;
                return;
            }
            let norm = libm::sqrt(x[0] * x[0] + rest);
            let alpha = if x[0] >= 0.0 { -norm } else { norm };
            x[0] -= alpha;
            e[i] = alpha;
            beta[i] = 2.0 / (x[0] * x[0] + rest);
        };
        // p = β_i·A22·v_i for the trailing block of step i (one pass), used by step 0 only:
        // later steps get theirs fused into the previous step's update.
        let mut p = alloc::vec![0.0; n];
        let mut p_next = alloc::vec![0.0; n];
        if n >= 2 {
            reflector(&mut a, 0, &mut e, &mut beta);
            let (head, tail) = a.split_at_mut(n);
            let v = &head[1..n];
            for (r, pr) in p[..n - 1].iter_mut().enumerate() {
                *pr = beta[0] * dot(&tail[r * n + 1..r * n + n], v);
            }
        }
        for i in 0..n.saturating_sub(1) {
            d[i] = a[i * n + i];
            let m = n - i - 1;
            let b = beta[i];
            if b == 0.0 {
                // No reflection: the trailing block is unchanged; prepare step i + 1.
                if i + 1 < n - 1 {
                    reflector(&mut a, i + 1, &mut e, &mut beta);
                    let (head, tail) = a.split_at_mut((i + 2) * n);
                    let v = &head[(i + 1) * n + i + 2..(i + 1) * n + n];
                    for (r, pr) in p[..m - 1].iter_mut().enumerate() {
                        *pr = beta[i + 1] * dot(&tail[r * n + i + 2..r * n + n], v);
                    }
                }
                continue;
            }
            {
                let (head, tail) = a.split_at_mut((i + 1) * n);
                let v = &head[i * n + i + 1..i * n + n];
                // w = p − (β/2)(pᵀv)·v.
                let kk = 0.5 * b * dot(&p[..m], v);
                p[..m].iter_mut().zip(v).for_each(|(p, v)| *p -= kk * v);
                // Row 0 of the block (row i + 1 of A) first: its tail is the next reflector.
                let row = &mut tail[i + 1..n];
                let (v0, w0) = (v[0], p[0]);
                for ((a, &vc), &wc) in row.iter_mut().zip(v).zip(&p[..m]) {
                    *a -= v0 * wc + w0 * vc;
                }
            }
            let bn = if i + 1 < n - 1 {
                reflector(&mut a, i + 1, &mut e, &mut beta);
                beta[i + 1]
            } else {
                0.0
            };
            // Rows 1..m of the block: update, then (hot in cache) p_{i+1} = β_{i+1}·A'·v_{i+1}.
            let (head, tail) = a.split_at_mut((i + 1) * n);
            let v = &head[i * n + i + 1..i * n + n];
            let (row0, rest) = tail.split_at_mut(n);
            let vn = &row0[i + 2..n];
            let w = &p[..m];
            for r in 1..m {
                let row = &mut rest[(r - 1) * n + i + 1..(r - 1) * n + n];
                let (vr, wr) = (v[r], w[r]);
                for ((a, &vc), &wc) in row.iter_mut().zip(v).zip(w) {
                    *a -= vr * wc + wr * vc;
                }
                p_next[r - 1] = if bn != 0.0 {
                    bn * dot(&row[1..], vn)
                } else {
                    0.0
                };
            }
            core::mem::swap(&mut p, &mut p_next);
        }
        if n > 0 {
            d[n - 1] = a[n * n - 1];
        }
        Some(Tridiagonal {
            n,
            d,
            e,
            v: a,
            beta,
        })
    }

    /// Overwrites the n-vector `z` (coordinates in T's basis) with `Q·z` (A's basis).
    pub fn back_transform(&self, z: &mut [f64]) {
        let n = self.n;
        for i in (0..n.saturating_sub(1)).rev() {
            let b = self.beta[i];
            if b == 0.0 {
                continue;
            }
            let v = &self.v[i * n + i + 1..i * n + n];
            let zt = &mut z[i + 1..n];
            let s = b * crate::sdp::lowrank::dot(v, zt);
            zt.iter_mut().zip(v).for_each(|(z, v)| *z -= s * v);
        }
    }

    /// Every eigenvalue of T (= of A), descending; `None` when the implicit QL iteration does
    /// not converge.
    pub fn eigenvalues(&self) -> Option<Vec<f64>> {
        let mut d = self.d.clone();
        let mut e = self.e.clone();
        e.push(0.0);
        tql_values(&mut d, &mut e)?;
        d.sort_by(|a, b| b.total_cmp(a));
        Some(d)
    }

    /// Unit eigenvectors of A for the (descending) eigenvalues `values[range]` by inverse
    /// iteration on T (clusters re-orthogonalised, as LAPACK's dstein) and back-transformation:
    /// column-major n×len. `None` when a vector fails its residual check (callers then fall back
    /// to a full decomposition).
    pub fn eigenvectors(&self, values: &[f64], range: core::ops::Range<usize>) -> Option<Vec<f64>> {
        let n = self.n;
        let cnt = range.len();
        let mut out = alloc::vec![0.0; n * cnt];
        if cnt == 0 {
            return Some(out);
        }
        if n == 1 {
            out[0] = 1.0;
            return Some(out);
        }
        // ‖T‖ (max row sum), the scale of every tolerance below.
        let tnorm = (0..n)
            .map(|i| {
                self.d[i].abs()
                    + if i > 0 { self.e[i - 1].abs() } else { 0.0 }
                    + if i + 1 < n { self.e[i].abs() } else { 0.0 }
            })
            .fold(0.0f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let ortol = 1e-3 * tnorm;
        let pertol = 10.0 * f64::EPSILON * tnorm;
        let tiny = f64::EPSILON * tnorm;
        let mut lu = TriLu::new(n);
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut cluster_start = range.start;
        let mut prev_shift = f64::INFINITY;
        for (c, j) in range.clone().enumerate() {
            let lam = values[j];
            if j > range.start && values[j - 1] - lam > ortol {
                cluster_start = j;
            }
            // Separate equal (or nearly equal) eigenvalues so that the factorisations differ.
            let mut shift = lam;
            if j > cluster_start && prev_shift - shift < pertol {
                shift = prev_shift - pertol;
            }
            prev_shift = shift;
            lu.factor(&self.d, &self.e, shift, tiny);
            let (done, rest) = out.split_at_mut(c * n);
            let z = &mut rest[..n];
            for x in z.iter_mut() {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                *x = ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
            }
            let members = (cluster_start - range.start)..c;
            let mut ok = false;
            for _ in 0..8 {
                normalise(z);
                lu.solve(z);
                // Re-orthogonalise against the cluster's earlier vectors (T's basis).
                for m in members.clone() {
                    let q = &done[m * n..(m + 1) * n];
                    let s = crate::sdp::lowrank::dot(z, q);
                    z.iter_mut().zip(q).for_each(|(z, q)| *z -= s * q);
                }
                if !normalise(z) {
                    return None;
                }
                if tri_residual(&self.d, &self.e, z, lam) <= 64.0 * n as f64 * tiny {
                    ok = true;
                    break;
                }
            }
            if !ok {
                return None;
            }
        }
        for c in 0..cnt {
            self.back_transform(&mut out[c * n..(c + 1) * n]);
        }
        Some(out)
    }
}

/// Scales `z` to unit norm; `false` when it is zero or not finite.
fn normalise(z: &mut [f64]) -> bool {
    let mx = z.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    if !(mx > 0.0 && mx.is_finite()) {
        return false;
    }
    z.iter_mut().for_each(|x| *x /= mx);
    let nr = libm::sqrt(crate::sdp::lowrank::dot(z, z));
    z.iter_mut().for_each(|x| *x /= nr);
    true
}

/// ‖T·z − λ·z‖ for the tridiagonal T = (d, e).
fn tri_residual(d: &[f64], e: &[f64], z: &[f64], lam: f64) -> f64 {
    let n = d.len();
    let mut s = 0.0;
    for i in 0..n {
        let mut r = (d[i] - lam) * z[i];
        if i > 0 {
            r += e[i - 1] * z[i - 1];
        }
        if i + 1 < n {
            r += e[i] * z[i + 1];
        }
        s += r * r;
    }
    libm::sqrt(s)
}

/// LU factorisation with partial pivoting of the tridiagonal `T − σI` (LAPACK dlagtf-like): U
/// has three diagonals; small pivots are replaced by ±tiny so that inverse iteration proceeds.
struct TriLu {
    u0: Vec<f64>,
    u1: Vec<f64>,
    u2: Vec<f64>,
    l: Vec<f64>,
    swap: Vec<bool>,
}

impl TriLu {
    fn new(n: usize) -> Self {
        TriLu {
            u0: alloc::vec![0.0; n],
            u1: alloc::vec![0.0; n],
            u2: alloc::vec![0.0; n],
            l: alloc::vec![0.0; n],
            swap: alloc::vec![false; n],
        }
    }

    fn factor(&mut self, d: &[f64], e: &[f64], sigma: f64, tiny: f64) {
        let n = d.len();
        // Current row i: (p at column i, q at column i + 1).
        let mut p = d[0] - sigma;
        let mut q = if n > 1 { e[0] } else { 0.0 };
        for i in 0..n - 1 {
            let c = e[i];
            let a1 = d[i + 1] - sigma;
            let b1 = if i + 2 < n { e[i + 1] } else { 0.0 };
            if p.abs() >= c.abs() {
                let piv = if p == 0.0 { tiny } else { p };
                let mult = c / piv;
                self.u0[i] = piv;
                self.u1[i] = q;
                self.u2[i] = 0.0;
                self.l[i] = mult;
                self.swap[i] = false;
                p = a1 - mult * q;
                q = b1;
            } else {
                let mult = p / c;
                self.u0[i] = c;
                self.u1[i] = a1;
                self.u2[i] = b1;
                self.l[i] = mult;
                self.swap[i] = true;
                p = q - mult * a1;
                q = -mult * b1;
            }
        }
        self.u0[n - 1] = if p.abs() < tiny {
            if p < 0.0 {
                -tiny
            } else {
                tiny
            }
        } else {
            p
        };
        // Tiny pivots inside: keep them away from 0.
        for x in self.u0[..n - 1].iter_mut() {
            if x.abs() < tiny {
                *x = if *x < 0.0 { -tiny } else { tiny };
            }
        }
    }

    /// Solves (T − σI)·x = y in place, rescaling on the way to avoid overflow.
    fn solve(&self, y: &mut [f64]) {
        let n = y.len();
        for i in 0..n - 1 {
            if self.swap[i] {
                y.swap(i, i + 1);
            }
            y[i + 1] -= self.l[i] * y[i];
        }
        for i in (0..n).rev() {
            let mut s = y[i];
            if i + 1 < n {
                s -= self.u1[i] * y[i + 1];
            }
            if i + 2 < n {
                s -= self.u2[i] * y[i + 2];
            }
            let x = s / self.u0[i];
            if !x.is_finite() || x.abs() > 1e250 {
                // Rescale everything solved so far and the rest of the right-hand side.
                let f = 1e-250;
                y.iter_mut().for_each(|v| *v *= f);
                let s = s * f;
                y[i] = s / self.u0[i];
            } else {
                y[i] = x;
            }
        }
    }
}

/// √(a² + b²): the plain formula where neither square can overflow or lose precision to
/// underflow (max(|a|, |b|) in (1e-150, 1e150), relative error ≤ 1.5 ulp), libm's careful
/// `hypot` elsewhere. The QL sweeps call it once per rotation; libm's version dominated them.
#[inline]
fn hypot(a: f64, b: f64) -> f64 {
    let m = a.abs().max(b.abs());
    if m > 1e-150 && m < 1e150 {
        libm::sqrt(a * a + b * b)
    } else {
        libm::hypot(a, b)
    }
}

/// Eigenvalues of the symmetric tridiagonal (d, e) by implicit QL with Wilkinson shifts
/// (EISPACK tql1 / Numerical Recipes tqli, no vectors); `e` has n values, the last unused.
/// Overwrites d with the eigenvalues (unsorted). `None` when an eigenvalue takes more than 64
/// sweeps.
fn tql_values(d: &mut [f64], e: &mut [f64]) -> Option<()> {
    let n = d.len();
    for l in 0..n {
        let mut iter = 0;
        loop {
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iter += 1;
            if iter > 64 {
                return None;
            }
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = hypot(g, 1.0);
            g = d[m] - d[l] + e[l] / (g + if g >= 0.0 { r.abs() } else { -r.abs() });
            let (mut s, mut c, mut p) = (1.0, 1.0, 0.0);
            let mut i = m;
            let mut underflow = false;
            while i > l {
                i -= 1;
                let f = s * e[i];
                let b = c * e[i];
                r = hypot(f, g);
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    underflow = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if underflow {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
    if d.iter().all(|x| x.is_finite()) {
        Some(())
    } else {
        None
    }
}

/// Eigenvalues of a symmetric row-major n×n matrix (both triangles read), descending, through
/// [`Tridiagonal`]; falls back to [`sym_eigen`] when the QL iteration fails.
pub fn sym_eigenvalues(a: &[f64], n: usize) -> Option<Vec<f64>> {
    if let Some(v) = Tridiagonal::new(a.to_vec(), n).and_then(|t| t.eigenvalues()) {
        return Some(v);
    }
    sym_eigen(a, n).map(|e| e.values)
}

/// All eigenvalues (descending) and the unit eigenvectors of `values[range]` chosen by `pick`
/// from the eigenvalues (column-major n×len), of a symmetric row-major n×n matrix (both
/// triangles read): Householder tridiagonalisation, QL for the values, inverse iteration for
/// the chosen vectors only. Falls back to [`sym_eigen`] when any step fails its checks.
pub fn sym_eigen_select(
    a: &[f64],
    n: usize,
    pick: impl FnOnce(&[f64]) -> core::ops::Range<usize>,
) -> Option<(Vec<f64>, core::ops::Range<usize>, Vec<f64>)> {
    if a.len() < n * n || a[..n * n].iter().any(|x| !x.is_finite()) {
        return None;
    }
    let t = Tridiagonal::new(a[..n * n].to_vec(), n)?;
    if let Some(values) = t.eigenvalues() {
        let range = pick(&values);
        let range = range.start.min(n)..range.end.min(n).max(range.start.min(n));
        if let Some(v) = t.eigenvectors(&values, range.clone()) {
            return Some((values, range, v));
        }
        // Fallback below recomputes with nalgebra (same selection rule on its values).
        let e = sym_eigen(a, n)?;
        let mut v = alloc::vec![0.0; n * range.len()];
        for (c, j) in range.clone().enumerate() {
            for i in 0..n {
                v[c * n + i] = e.vectors[(i, j)];
            }
        }
        return Some((e.values, range, v));
    }
    let e = sym_eigen(a, n)?;
    let range = pick(&e.values);
    let range = range.start.min(n)..range.end.min(n).max(range.start.min(n));
    let mut v = alloc::vec![0.0; n * range.len()];
    for (c, j) in range.clone().enumerate() {
        for i in 0..n {
            v[c * n + i] = e.vectors[(i, j)];
        }
    }
    Some((e.values, range, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_and_nan() {
        let e = sym_eigen(&[1.0, 0.0, 0.0, 3.0], 2).unwrap();
        assert_eq!(e.values, alloc::vec![3.0, 1.0]);
        assert!((e.vectors[(1, 0)].abs() - 1.0).abs() < 1e-15);
        assert!(sym_eigen(&[f64::NAN, 0.0, 0.0, 1.0], 2).is_none());
    }

    fn random_sym(n: usize, seed: u64, clusters: bool) -> Vec<f64> {
        use rand_chacha::ChaCha8Rng;
        use rand_core::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut a = alloc::vec![0.0; n * n];
        for i in 0..n {
            for j in i..n {
                let mut x = crate::random::normal(&mut rng);
                if clusters && i / 10 == j / 10 {
                    x = 5.0; // exactly repeated eigenvalues (block of ones per 10 tasks)
                }
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        a
    }

    #[test]
    fn tridiagonal_path_matches_nalgebra() {
        for (n, seed, clusters) in [
            (1, 0, false),
            (2, 1, false),
            (3, 2, false),
            (17, 3, false),
            (60, 4, true),
            (100, 5, false),
            (130, 6, true),
        ] {
            let a = random_sym(n, seed, clusters);
            let full = sym_eigen(&a, n).unwrap();
            let vals = sym_eigenvalues(&a, n).unwrap();
            let scale = full.values.iter().fold(1.0f64, |s, x| s.max(x.abs()));
            for (x, y) in vals.iter().zip(&full.values) {
                assert!((x - y).abs() <= 1e-12 * scale, "n={n}: {x} vs {y}");
            }
            let top = (n / 3).max(1);
            let (values, range, v) = sym_eigen_select(&a, n, |_| 0..top).unwrap();
            assert_eq!(range, 0..top);
            // Residuals and orthonormality of the selected vectors.
            for c in 0..top {
                let z = &v[c * n..(c + 1) * n];
                let mut r = 0.0f64;
                for i in 0..n {
                    let az: f64 = (0..n).map(|j| a[i * n + j] * z[j]).sum();
                    r = r.max((az - values[c] * z[i]).abs());
                }
                assert!(r <= 1e-10 * scale, "n={n} vector {c}: residual {r}");
                for c2 in 0..=c {
                    let w = &v[c2 * n..(c2 + 1) * n];
                    let d: f64 = z.iter().zip(w).map(|(x, y)| x * y).sum();
                    let want = if c == c2 { 1.0 } else { 0.0 };
                    assert!((d - want).abs() < 1e-10, "n={n}: <v{c}, v{c2}> = {d}");
                }
            }
        }
    }
}
