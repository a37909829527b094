//! Matrix-free top eigenpairs on 1⊥ (method.md §3a): a block LOBPCG iteration on an implicit
//! symmetric operator, used by the factored large-n path ([`super::factored`]) for the spectral
//! start and for λ_max of the certificate, with no n×n buffer of its own.
//!
//! Every block is column-major (n rows × q columns) and kept in 1⊥; the operator must map 1⊥ to
//! itself (P·A·P). One operator product per iteration (on the residual block); the images of the
//! Ritz block and of the LOBPCG direction are carried along by linearity.

#![allow(clippy::needless_range_loop)]

use alloc::vec::Vec;

use super::lowrank::dot;
use crate::eigen::sym_eigen;
use crate::random::normal;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// A symmetric linear operator on Rⁿ applied to blocks: `out = A·x` for the q columns of `x`
/// (column-major n×q). The seam of the factored large-n path (method.md §3a): every product
/// with the centred affinity C that its iterations need goes through one of these, so that
/// another backend (taskgroup-gpu's CUDA op, with C resident on the device) runs the same host
/// logic. [`DenseOp`] is the CPU one. Inside the eigen-solver the operator must map 1⊥ to 1⊥
/// (the iteration deflates 1 anyway).
pub trait BlockOp {
    /// The dimension n.
    fn n(&self) -> usize;
    /// `out[:, j] = A·x[:, j]` for j < q (`x` and `out` column-major n×q, q ≥ 1).
    fn apply(&mut self, x: &[f64], q: usize, out: &mut [f64]);
    /// An upper bound on ‖A − C‖₂ for the exact matrix C this operator stands for: 0 (the
    /// default) when A is C to rounding, e.g. ‖C − fl₃₂(C)‖_F when C is stored in f32. The
    /// certificate adds k times this to its bound so that the bound holds for C (method.md §4a).
    fn storage_error(&self) -> f64 {
        0.0
    }
    /// `A·H`, row-major n×k, for the indicator H of `labels` (every label < k): entry (u, a)
    /// is Σ_{v: labels[v] = a} A_uv. The default runs one [`apply`](Self::apply) on H.
    fn indicator_product(&mut self, labels: &[usize], k: usize) -> Vec<f64> {
        let n = self.n();
        let mut h = alloc::vec![0.0; n * k];
        for (v, &a) in labels.iter().enumerate().take(n) {
            if a < k {
                h[a * n + v] = 1.0;
            }
        }
        let mut out = alloc::vec![0.0; n * k];
        if k > 0 {
            self.apply(&h, k, &mut out);
        }
        let mut m = alloc::vec![0.0; n * k];
        for a in 0..k {
            for u in 0..n {
                m[u * k + a] = out[a * n + u];
            }
        }
        m
    }
}

/// The CPU [`BlockOp`] of a dense symmetric row-major n×n matrix (the factored path's default):
/// products by a register-blocked kernel, indicator products by one pass over the rows.
#[derive(Debug, Clone, Copy)]
pub struct DenseOp<'a> {
    a: &'a [f64],
    n: usize,
}

impl<'a> DenseOp<'a> {
    /// The operator of `a` (row-major n×n); `None` when `a.len() != n²`.
    pub fn new(a: &'a [f64], n: usize) -> Option<Self> {
        (n.checked_mul(n) == Some(a.len())).then_some(DenseOp { a, n })
    }
}

impl BlockOp for DenseOp<'_> {
    fn n(&self) -> usize {
        self.n
    }
    fn apply(&mut self, x: &[f64], q: usize, out: &mut [f64]) {
        dense_apply(self.a, self.n, x, q, out);
    }
    fn indicator_product(&mut self, labels: &[usize], k: usize) -> Vec<f64> {
        let n = self.n;
        let mut m = alloc::vec![0.0; n * k];
        for u in 0..n {
            let row = &self.a[u * n..(u + 1) * n];
            let mu = &mut m[u * k..(u + 1) * k];
            for (x, &l) in row.iter().zip(labels) {
                if let Some(slot) = mu.get_mut(l) {
                    *slot += x;
                }
            }
        }
        m
    }
}

/// Top eigenpairs found by [`lobpcg_top`].
#[derive(Debug, Clone)]
pub(crate) struct TopEigen {
    /// Ritz values, largest first (p of them).
    pub values: Vec<f64>,
    /// Ritz vectors, column-major n×p, orthonormal, in 1⊥.
    pub vectors: Vec<f64>,
    /// ‖A·v_j − θ_j·v_j‖ for each Ritz pair, from a fresh product with A.
    pub residuals: Vec<f64>,
    /// Operator products (counted in blocks of columns: a product of q columns counts q / p).
    pub products: usize,
}

/// The CPU [`BlockOp`] of an f32 copy of a dense symmetric row-major n×n matrix C
/// (`Storage::F32`): products by the same register-blocked kernel as [`DenseOp`], each entry
/// widened to f64; `storage_error` = ‖C − fl₃₂(C)‖_F.
#[derive(Debug, Clone)]
pub struct DenseOpF32 {
    a: Vec<f32>,
    n: usize,
    error: f64,
}

impl DenseOpF32 {
    /// The f32 copy of `a` (row-major n×n); `None` when `a.len() != n²`.
    pub fn new(a: &[f64], n: usize) -> Option<Self> {
        if n.checked_mul(n) != Some(a.len()) {
            return None;
        }
        Some(DenseOpF32 {
            a: a.iter().map(|&x| x as f32).collect(),
            n,
            error: f32_storage_error(a),
        })
    }
}

impl BlockOp for DenseOpF32 {
    fn n(&self) -> usize {
        self.n
    }
    fn apply(&mut self, x: &[f64], q: usize, out: &mut [f64]) {
        dense_apply(&self.a, self.n, x, q, out);
    }
    fn storage_error(&self) -> f64 {
        self.error
    }
}

/// ‖C − fl₃₂(C)‖_F for the entries of `c` (f32 round to nearest), rounded up: the
/// `storage_error` of an f32 copy of C.
pub fn f32_storage_error(c: &[f64]) -> f64 {
    let sq: f64 = c
        .iter()
        .map(|&x| {
            let e = x - f64::from(x as f32);
            e * e
        })
        .sum();
    // Each term is exact to a relative 2⁻⁵², the f64 sum of m terms within (1 + m·2⁻⁵³); the
    // factor covers m up to 10¹⁰ (n = 10⁵) and the square root halves the relative error.
    libm::sqrt(sq) * (1.0 + 1e-5) + f64::MIN_POSITIVE
}

/// Removes the component along 1.
pub(crate) fn deflate_ones(v: &mut [f64]) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    v.iter_mut().for_each(|x| *x -= mean);
}

fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

/// Orthonormalises columns `fixed..q` of `s` (column-major, n rows) against all earlier ones and
/// each other (modified Gram–Schmidt, two passes, in 1⊥), applying the same column operations to
/// `img` when given (so that img stays A·s for a linear A with A·1 = 0). Columns that become
/// dependent are dropped; the kept ones are packed. Returns the number of columns kept in all.
fn orthonormalise_carry(
    s: &mut [f64],
    mut img: Option<&mut [f64]>,
    n: usize,
    fixed: usize,
    q: usize,
) -> usize {
    // A carried image loses accuracy in proportion to the cancellation: keep only columns that
    // keep a good part of their norm (computed images can afford a far smaller threshold).
    let min_rel = if img.is_some() { 1e-3 } else { 1e-10 };
    let mut kept = fixed;
    for j in fixed..q {
        let norm0 = libm::sqrt(dot(&s[j * n..(j + 1) * n], &s[j * n..(j + 1) * n]));
        for _pass in 0..2 {
            deflate_ones(&mut s[j * n..(j + 1) * n]);
            for i in 0..kept {
                let c = dot(&s[j * n..(j + 1) * n], &s[i * n..(i + 1) * n]);
                let (head, tail) = s.split_at_mut(j * n);
                axpy(&mut tail[..n], -c, &head[i * n..(i + 1) * n]);
                if let Some(im) = img.as_deref_mut() {
                    let (h, t) = im.split_at_mut(j * n);
                    axpy(&mut t[..n], -c, &h[i * n..(i + 1) * n]);
                }
            }
        }
        let norm = libm::sqrt(dot(&s[j * n..(j + 1) * n], &s[j * n..(j + 1) * n]));
        if norm.is_finite() && norm > min_rel * norm0.max(f64::MIN_POSITIVE) && norm > 1e-250 {
            let inv = 1.0 / norm;
            s[j * n..(j + 1) * n].iter_mut().for_each(|x| *x *= inv);
            if kept != j {
                s.copy_within(j * n..(j + 1) * n, kept * n);
            }
            if let Some(im) = img.as_deref_mut() {
                im[j * n..(j + 1) * n].iter_mut().for_each(|x| *x *= inv);
                if kept != j {
                    im.copy_within(j * n..(j + 1) * n, kept * n);
                }
            }
            kept += 1;
        }
    }
    kept
}

/// `out[:, j] = Σ_i s[:, i]·y[i, j]` for i < m, j < p (y row-major m×p's column j read with
/// stride p; `s` column-major n×m).
fn combine(
    s: &[f64],
    n: usize,
    m: usize,
    y: &[f64],
    p: usize,
    rows: core::ops::Range<usize>,
) -> Vec<f64> {
    let mut out = alloc::vec![0.0; n * p];
    for j in 0..p {
        let col = &mut out[j * n..(j + 1) * n];
        for i in rows.clone() {
            if i >= m {
                break;
            }
            let c = y[i * p + j];
            if c != 0.0 {
                axpy(col, c, &s[i * n..(i + 1) * n]);
            }
        }
    }
    out
}

/// Top `p` eigenpairs of the symmetric operator `op` on 1⊥ by block LOBPCG (seeded random start,
/// or `start`'s columns when given, completed with random ones). Stops when the first `need`
/// Ritz pairs have residual ≤ `tol`, or after `max_iter` iterations; the residuals returned are
/// recomputed with a fresh product either way. `None` when p = 0, p ≥ n − 1, or a value is not
/// finite.
pub(crate) fn lobpcg_top(
    op: &mut dyn BlockOp,
    p: usize,
    need: usize,
    start: Option<&[f64]>,
    seed: u64,
    tol: f64,
    max_iter: usize,
) -> Option<TopEigen> {
    let n = op.n();
    if p == 0 || p + 1 >= n {
        return None;
    }
    let need = need.clamp(1, p);
    // Start block: given columns first, random ones after.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = alloc::vec![0.0; n * p];
    let given = start.map(|s| (s.len() / n).min(p)).unwrap_or(0);
    if let Some(s) = start {
        v[..given * n].copy_from_slice(&s[..given * n]);
    }
    v[given * n..]
        .iter_mut()
        .for_each(|x| *x = normal(&mut rng));
    let mut kept = orthonormalise_carry(&mut v, None, n, 0, p);
    while kept < p {
        // Dependent start columns: refill with random ones.
        v[kept * n..].iter_mut().for_each(|x| *x = normal(&mut rng));
        let k2 = orthonormalise_carry(&mut v, None, n, kept, p);
        if k2 == kept {
            return None;
        }
        kept = k2;
    }
    let mut av = alloc::vec![0.0; n * p];
    op.apply(&v, p, &mut av);
    let mut products = 1;
    // Initial Rayleigh–Ritz on V alone.
    let (mut theta, y) = ritz(&v, &av, n, p)?;
    v = combine(&v, n, p, &y, p, 0..p);
    av = combine(&av, n, p, &y, p, 0..p);
    let mut dir: Vec<f64> = Vec::new(); // LOBPCG direction block (n×pd)
    let mut adir: Vec<f64> = Vec::new();
    let mut pd = 0;
    for _it in 0..max_iter {
        // Residuals R = AV − VΘ.
        let mut r = av.clone();
        let mut res = alloc::vec![0.0; p];
        for j in 0..p {
            axpy(
                &mut r[j * n..(j + 1) * n],
                -theta[j],
                &v[j * n..(j + 1) * n],
            );
            res[j] = libm::sqrt(dot(&r[j * n..(j + 1) * n], &r[j * n..(j + 1) * n]));
        }
        if res.iter().any(|x| !x.is_finite()) {
            return None;
        }
        if res[..need].iter().all(|&x| x <= tol) {
            break;
        }

        // S = [V | R | D]: V fixed (orthonormal), R orthonormalised against V, then A·R fresh,
        // D orthonormalised against both with its image carried.
        let m0 = p + p + pd;
        let mut s = alloc::vec![0.0; n * m0];
        s[..n * p].copy_from_slice(&v);
        s[n * p..n * 2 * p].copy_from_slice(&r);
        // Converged pairs contribute no residual direction (soft locking).
        for j in 0..p {
            if res[j] <= tol {
                s[n * (p + j)..n * (p + j + 1)]
                    .iter_mut()
                    .for_each(|x| *x = 0.0);
            }
        }
        let kr = orthonormalise_carry(&mut s, None, n, p, 2 * p);
        let nr = kr - p;
        let mut as_ = alloc::vec![0.0; n * m0];
        as_[..n * p].copy_from_slice(&av);
        if nr > 0 {
            let (_, tail) = as_.split_at_mut(n * p);
            op.apply(&s[n * p..n * kr], nr, &mut tail[..n * nr]);
            products += 1;
        }
        let mut m = kr;
        if pd > 0 {
            s[n * kr..n * (kr + pd)].copy_from_slice(&dir[..n * pd]);
            as_[n * kr..n * (kr + pd)].copy_from_slice(&adir[..n * pd]);
            m = orthonormalise_carry(&mut s, Some(&mut as_), n, kr, kr + pd);
        }
        s.truncate(n * m);
        as_.truncate(n * m);
        let (_, y) = ritz(&s, &as_, n, m)?;
        // Top p Ritz pairs: y is m×m row-major with columns sorted descending; keep p.
        let mut yp = alloc::vec![0.0; m * p];
        for i in 0..m {
            for j in 0..p {
                yp[i * p + j] = y[i * m + j];
            }
        }
        v = combine(&s, n, m, &yp, p, 0..m);
        av = combine(&as_, n, m, &yp, p, 0..m);
        dir = combine(&s, n, m, &yp, p, p..m);
        adir = combine(&as_, n, m, &yp, p, p..m);
        pd = p;
        // Keep V orthonormal (and A·V consistent) against drift.
        let kv = orthonormalise_carry(&mut v, Some(&mut av), n, 0, p);
        if kv < p {
            return None;
        }
        let (th2, y2) = ritz(&v, &av, n, p)?;
        v = combine(&v, n, p, &y2, p, 0..p);
        av = combine(&av, n, p, &y2, p, 0..p);
        theta = th2;
    }
    // Fresh product for honest residuals.
    op.apply(&v, p, &mut av);
    products += 1;
    let (theta, y) = ritz(&v, &av, n, p)?;
    let v = combine(&v, n, p, &y, p, 0..p);
    let av = combine(&av, n, p, &y, p, 0..p);
    let mut residuals = alloc::vec![0.0; p];
    for j in 0..p {
        let mut r = av[j * n..(j + 1) * n].to_vec();
        axpy(&mut r, -theta[j], &v[j * n..(j + 1) * n]);
        residuals[j] = libm::sqrt(dot(&r, &r));
    }
    if residuals.iter().chain(&theta).any(|x| !x.is_finite()) {
        return None;
    }
    Some(TopEigen {
        values: theta,
        vectors: v,
        residuals,
        products,
    })
}

/// Rayleigh–Ritz on the orthonormal block `s` (n×m) with image `as_`: the eigenvalues of
/// sᵀ·as (symmetrised), descending, and the eigenvectors as a row-major m×m matrix (column j ↔
/// value j).
fn ritz(s: &[f64], as_: &[f64], n: usize, m: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let mut h = alloc::vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let a = dot(&s[i * n..(i + 1) * n], &as_[j * n..(j + 1) * n]);
            let b = dot(&s[j * n..(j + 1) * n], &as_[i * n..(i + 1) * n]);
            h[i * m + j] = 0.5 * (a + b);
            h[j * m + i] = h[i * m + j];
        }
    }
    let e = sym_eigen(&h, m)?;
    let mut y = alloc::vec![0.0; m * m];
    for i in 0..m {
        for j in 0..m {
            y[i * m + j] = e.vectors[(i, j)];
        }
    }
    Some((e.values, y))
}

/// `out = A·x` for a dense row-major n×n `a` and the q columns of `x` (column-major n×q):
/// a register-blocked kernel (4 rows × 4 columns of accumulators) over column panels of x
/// packed 4 wide, tiled along v so that the rows and panels in use stay in L1/L2. Every entry
/// of A is read from memory once per product (A is the only n×n operand).
pub(crate) fn dense_apply<S: Entry>(a: &[S], n: usize, x: &[f64], q: usize, out: &mut [f64]) {
    const TILE: usize = 256;
    let groups = q.div_ceil(4);
    // panel[g][v*4 + jj] = x[(4g + jj)·n + v] (zero past q).
    let mut panel = alloc::vec![0.0; groups * n * 4];
    for g in 0..groups {
        for jj in 0..4 {
            let j = 4 * g + jj;
            if j < q {
                let col = &x[j * n..(j + 1) * n];
                let pg = &mut panel[g * n * 4..(g + 1) * n * 4];
                for (v, &xv) in col.iter().enumerate() {
                    pg[v * 4 + jj] = xv;
                }
            }
        }
    }
    let mut acc = alloc::vec![[0.0f64; 16]; groups];
    // Narrow storage (f32): the four rows of a tile are widened once, then shared by every
    // panel group (widening inside the kernel would redo it per group and stop vectorisation).
    let mut wide = if S::WIDEN {
        alloc::vec![0.0f64; 4 * TILE]
    } else {
        Vec::new()
    };
    let mut u = 0;
    while u < n {
        let rows = (n - u).min(4);
        acc.iter_mut().for_each(|a| *a = [0.0; 16]);
        let mut v0 = 0;
        while v0 < n {
            let v1 = (v0 + TILE).min(n);
            let w = v1 - v0;
            if S::WIDEN && rows == 4 {
                for i in 0..4 {
                    let src = &a[(u + i) * n + v0..(u + i) * n + v1];
                    for (d, &c) in wide[i * w..(i + 1) * w].iter_mut().zip(src) {
                        *d = c.into();
                    }
                }
            }
            for (g, ac) in acc.iter_mut().enumerate() {
                let pg = &panel[g * n * 4 + v0 * 4..g * n * 4 + v1 * 4];
                if rows == 4 && S::WIDEN {
                    let (r0, rest) = wide[..4 * w].split_at(w);
                    let (r1, rest) = rest.split_at(w);
                    let (r2, r3) = rest.split_at(w);
                    kernel4(r0, r1, r2, r3, pg, ac);
                } else if rows == 4 {
                    let r0 = &a[u * n + v0..u * n + v1];
                    let r1 = &a[(u + 1) * n + v0..(u + 1) * n + v1];
                    let r2 = &a[(u + 2) * n + v0..(u + 2) * n + v1];
                    let r3 = &a[(u + 3) * n + v0..(u + 3) * n + v1];
                    kernel4(r0, r1, r2, r3, pg, ac);
                } else {
                    for i in 0..rows {
                        let r = &a[(u + i) * n + v0..(u + i) * n + v1];
                        for (t, &c) in r.iter().enumerate() {
                            let c: f64 = c.into();
                            for jj in 0..4 {
                                ac[i * 4 + jj] += c * pg[t * 4 + jj];
                            }
                        }
                    }
                }
            }
            v0 = v1;
        }
        for (g, ac) in acc.iter().enumerate() {
            for jj in 0..4 {
                let j = 4 * g + jj;
                if j < q {
                    for i in 0..rows {
                        out[j * n + u + i] = ac[i * 4 + jj];
                    }
                }
            }
        }
        u += rows;
    }
}

/// A stored matrix entry: f64, or f32 widened to f64 before any arithmetic.
pub(crate) trait Entry: Copy + Into<f64> {
    /// True when the entry is narrower than f64 (rows are widened once per tile).
    const WIDEN: bool;
}

impl Entry for f64 {
    const WIDEN: bool = false;
}

impl Entry for f32 {
    const WIDEN: bool = true;
}

/// acc[i·4 + jj] += Σ_t r_i[t]·p[t·4 + jj] for four rows and one 4-wide panel.
#[inline(always)]
fn kernel4<S: Entry>(r0: &[S], r1: &[S], r2: &[S], r3: &[S], p: &[f64], acc: &mut [f64; 16]) {
    let len = r0
        .len()
        .min(r1.len())
        .min(r2.len())
        .min(r3.len())
        .min(p.len() / 4);
    let (mut a0, mut a1, mut a2, mut a3) = ([0.0f64; 4], [0.0f64; 4], [0.0f64; 4], [0.0f64; 4]);
    for t in 0..len {
        let pv = [p[t * 4], p[t * 4 + 1], p[t * 4 + 2], p[t * 4 + 3]];
        let (c0, c1, c2, c3): (f64, f64, f64, f64) =
            (r0[t].into(), r1[t].into(), r2[t].into(), r3[t].into());
        for jj in 0..4 {
            a0[jj] += c0 * pv[jj];
            a1[jj] += c1 * pv[jj];
            a2[jj] += c2 * pv[jj];
            a3[jj] += c3 * pv[jj];
        }
    }
    for jj in 0..4 {
        acc[jj] += a0[jj];
        acc[4 + jj] += a1[jj];
        acc[8 + jj] += a2[jj];
        acc[12 + jj] += a3[jj];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dense<'a>(&'a [f64], usize);
    impl BlockOp for Dense<'_> {
        fn n(&self) -> usize {
            self.1
        }
        fn apply(&mut self, x: &[f64], q: usize, out: &mut [f64]) {
            dense_apply(self.0, self.1, x, q, out);
            for j in 0..q {
                deflate_ones(&mut out[j * self.1..(j + 1) * self.1]);
            }
        }
    }

    #[test]
    fn matches_full_decomposition() {
        let n = 90;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut a = alloc::vec![0.0; n * n];
        for i in 0..n {
            for j in i..n {
                let x = normal(&mut rng) + if i / 30 == j / 30 { 3.0 } else { 0.0 };
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        // Top eigenvalues of P·A·P on 1⊥ (the direction 1 pushed far below).
        let b = super::super::projection::centered_shifted(&a, n);
        let full = sym_eigen(&b, n).unwrap();
        let mut pap = a.clone();
        let mut r = alloc::vec![0.0; n];
        for i in 0..n {
            r[i] = pap[i * n..(i + 1) * n].iter().sum::<f64>() / n as f64;
        }
        let g = r.iter().sum::<f64>() / n as f64;
        for i in 0..n {
            for j in 0..n {
                pap[i * n + j] -= r[i] + r[j] - g;
            }
        }
        let e = lobpcg_top(&mut Dense(&pap, n), 6, 4, None, 7, 1e-10, 500).unwrap();

        for j in 0..4 {
            assert!(
                (e.values[j] - full.values[j]).abs() < 1e-8,
                "{j}: {} vs {}",
                e.values[j],
                full.values[j]
            );
            assert!(e.residuals[j] < 1e-8);
        }
    }
}

#[cfg(test)]
mod kernel_tests {
    use super::*;

    #[test]
    fn dense_apply_matches_naive() {
        for (n, q) in [(7, 3), (9, 5), (300, 9), (513, 4)] {
            let a: Vec<f64> = (0..n * n).map(|i| ((i * 37 % 101) as f64) - 50.0).collect();
            let x: Vec<f64> = (0..n * q).map(|i| ((i * 13 % 29) as f64) - 14.0).collect();
            let mut out = alloc::vec![0.0; n * q];
            dense_apply(&a, n, &x, q, &mut out);
            for j in 0..q {
                for u in 0..n {
                    let want: f64 = (0..n).map(|v| a[u * n + v] * x[j * n + v]).sum();
                    assert!(
                        (out[j * n + u] - want).abs() < 1e-9 * want.abs().max(1.0),
                        "{n} {q} {u} {j}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod f32_kernel_tests {
    use super::*;

    /// The f32 path (rows widened once per tile) equals the naive sum over the widened entries
    /// to rounding, for partial tiles and partial row blocks.
    #[test]
    fn dense_apply_f32_matches_naive_widened() {
        for (n, q) in [(7, 3), (258, 5), (513, 9)] {
            let a: Vec<f32> = (0..n * n)
                .map(|i| ((i * 37 % 101) as f32) * 0.25 - 12.0)
                .collect();
            let x: Vec<f64> = (0..n * q).map(|i| ((i * 13 % 29) as f64) - 14.0).collect();
            let mut out = alloc::vec![0.0; n * q];
            dense_apply(&a, n, &x, q, &mut out);
            for j in 0..q {
                for u in 0..n {
                    let want: f64 = (0..n).map(|v| f64::from(a[u * n + v]) * x[j * n + v]).sum();
                    assert!(
                        (out[j * n + u] - want).abs() < 1e-9 * want.abs().max(1.0),
                        "{n} {q} {u} {j}"
                    );
                }
            }
        }
    }
}
