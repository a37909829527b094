//! Low-rank projection onto C1 (method.md §3, "Low rank"): only the eigenpairs of P·M·P above
//! the simplex threshold θ survive, and the solution has rank ≈ k, so the projection needs only
//! the top few eigenpairs. They come from a block Krylov / Rayleigh–Ritz iteration on 1⊥,
//! warm-started from the previous call's eigenvectors; the block grows while fewer than two of
//! its Ritz values fall below θ (so at least one inactive direction confirms the cut). Cost per call O(n²·p) for a block of p vectors instead of O(n³).

use alloc::vec::Vec;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use super::projection::{project_simplex, ProjectionInfo};
use crate::random::normal;

/// Rayleigh–Ritz rounds allowed per projection before giving up (then the caller falls back to
/// the full decomposition): about the cost of one full decomposition, `max(8, 3n/(4p))`.
/// Measured here: a round costs ≈ 4·p·n² multiply-adds, a full decomposition (nalgebra) the
/// time of ≈ 2.5·n³, so one full decomposition ≈ 0.6·n/p rounds.
fn max_rounds(n: usize, p: usize) -> usize {
    (3 * n / (4 * p.max(1))).max(8)
}

/// Whether a projection that took `rounds` rounds with block p cost more than ≈ 60% of a full
/// decomposition (`rounds·p > 0.35·n`): the caller then prefers the full one for a while.
pub(crate) fn was_expensive(n: usize, p: usize, rounds: usize) -> bool {
    20 * rounds * p > 7 * n
}

/// Most calls of [`LowRank::project`] that skip the span check after it failed. Where the
/// relaxation is not tight the warm block rarely spans the new matrix's eigenvectors to the
/// tolerance (planted n = 100: no accepted look in 45 calls), and the look's p×p
/// eigenproblem, rotation and residuals cost about 5 % of the solve.
const SPAN_BACKOFF_MAX: usize = 8;

/// A Ritz pair is converged when ‖B v − λ v‖ ≤ EIG_TOL · max|λ| (relative to the spectrum):
/// three orders below the solver's default tolerance, so the projection error does not limit
/// ADMM's accuracy.
pub(crate) const EIG_TOL: f64 = 1e-9;
/// The block never exceeds n / MAX_BLOCK_FRACTION vectors: beyond that, a round costs about as
/// much as a full decomposition and the caller falls back to it.
pub(crate) const MAX_BLOCK_FRACTION: usize = 8;
/// Extra block vectors kept beyond those above θ, so that the next eigenvalue is watched
/// ([`super::LOW_RANK_OVERSAMPLE`]).
pub(crate) const OVERSAMPLE: usize = super::LOW_RANK_OVERSAMPLE;

/// Dot product with four accumulators (lane l sums the entries ≡ l mod 4; then
/// (l0 + l1) + (l2 + l3) and the remainder in order).
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let s = lanes(&a[..n], &b[..n]);
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in a[n - n % 4..n].iter().zip(&b[n - n % 4..n]) {
        t += x * y;
    }
    t
}

/// The four lane sums of [`dot`] over the whole chunks of four. Kept out of line on purpose:
/// inlined into a caller that combines several sums, LLVM's SLP vectoriser pairs lanes of
/// different sums into one register and shuffles in the loop (about 2.4× the instructions
/// measured in `dot4`); as a function of its own, each sum's lanes stay in whole vectors (two
/// registers in the baseline copy, one in the AVX2 copy of [`crate::simd`]).
#[inline(never)]
fn lanes(a: &[f64], b: &[f64]) -> [f64; 4] {
    crate::simd::run(
        #[inline(always)]
        || lanes_body(a, b),
    )
}

/// [`lanes`]'s body, compiled twice ([`crate::simd::run`]).
#[inline(always)]
fn lanes_body(a: &[f64], b: &[f64]) -> [f64; 4] {
    let mut s = [0.0f64; 4];
    for (x, y) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for l in 0..4 {
            s[l] += x[l] * y[l];
        }
    }
    s
}

/// The L lane sums (entry i into lane i mod L, products and sums in f64) of `a` with each of
/// `b[0..4]` over the whole chunks of L, sharing the loads of `a`: [`dot4`]'s (f64, L = 4,
/// the lanes of [`lanes`]) and Anderson's Gram row (f32 differences, L = 8). Out of line for
/// the reason [`lanes`] is.
#[inline(never)]
pub(crate) fn lane_sums4<T: Copy + Into<f64>, const L: usize>(
    a: &[T],
    b: [&[T]; 4],
) -> [[f64; L]; 4] {
    crate::simd::run(
        #[inline(always)]
        || lane_sums4_body(a, b),
    )
}

/// [`lane_sums4`]'s body, compiled twice ([`crate::simd::run`]).
#[inline(always)]
fn lane_sums4_body<T: Copy + Into<f64>, const L: usize>(a: &[T], b: [&[T]; 4]) -> [[f64; L]; 4] {
    let n = b.iter().fold(a.len(), |m, x| m.min(x.len()));
    let whole = n - n % L;
    let (a, b0, b1, b2, b3) = (
        &a[..whole],
        &b[0][..whole],
        &b[1][..whole],
        &b[2][..whole],
        &b[3][..whole],
    );
    let mut s = [[0.0f64; L]; 4];
    for ((((x, y0), y1), y2), y3) in a
        .chunks_exact(L)
        .zip(b0.chunks_exact(L))
        .zip(b1.chunks_exact(L))
        .zip(b2.chunks_exact(L))
        .zip(b3.chunks_exact(L))
    {
        let x: [f64; L] = core::array::from_fn(|l| x[l].into());
        for l in 0..L {
            s[0][l] += x[l] * y0[l].into();
        }
        for l in 0..L {
            s[1][l] += x[l] * y1[l].into();
        }
        for l in 0..L {
            s[2][l] += x[l] * y2[l].into();
        }
        for l in 0..L {
            s[3][l] += x[l] * y3[l].into();
        }
    }
    s
}

/// The four dot products of `a` with `b0..b3`, each summed exactly as [`dot`] sums it (same
/// lanes, same order: bit-identical results), sharing the loads of `a`.
#[inline(always)]
fn dot4(a: &[f64], b: [&[f64]; 4]) -> [f64; 4] {
    let n = b.iter().fold(a.len(), |m, x| m.min(x.len()));
    let whole = n - n % 4;
    let s = lane_sums4::<f64, 4>(a, b);
    let mut out = [0.0f64; 4];
    for ((o, sc), bc) in out.iter_mut().zip(&s).zip(&b) {
        let mut t = (sc[0] + sc[1]) + (sc[2] + sc[3]);
        for (x, y) in a[whole..n].iter().zip(&bc[whole..n]) {
            t += x * y;
        }
        *o = t;
    }
    out
}

/// The q products of `row` with the columns of `s` (column-major n×q), handed to `put(j, x)`:
/// four columns share each pass over the row; every value is the [`dot`] of the row with a
/// column (bit-identical to computing it alone).
#[inline(always)]
fn row_products(row: &[f64], s: &[f64], n: usize, q: usize, mut put: impl FnMut(usize, f64)) {
    let quads = q / 4;
    for g in 0..quads {
        let j = 4 * g;
        let col = |c: usize| &s[c * n..(c + 1) * n];
        let d = dot4(row, [col(j), col(j + 1), col(j + 2), col(j + 3)]);
        for (c, x) in d.iter().enumerate() {
            put(j + c, *x);
        }
    }
    // Two or three columns left: one four-column pass with the last column repeated (shares
    // the loads of the row; each value still exactly the `dot`).
    let j = 4 * quads;
    let col = |c: usize| &s[c.min(q - 1) * n..(c.min(q - 1) + 1) * n];
    match q - j {
        0 => {}
        1 => put(j, dot(row, col(j))),
        rem => {
            let d = dot4(row, [col(j), col(j + 1), col(j + 2), col(j + 3)]);
            for (c, x) in d.iter().enumerate().take(rem) {
                put(j + c, *x);
            }
        }
    }
}

/// out[:, j] = P·M·s_j for the q columns of `s` (column-major n×q); M symmetric row-major n×n.
/// Rows of M are split over [`crate::par::threads`] (each output value is computed the same
/// way on any thread: bit-identical for every thread count).
pub(crate) fn apply_pmp(m: &[f64], n: usize, s: &[f64], q: usize, out: &mut [f64]) {
    crate::simd::run(
        #[inline(always)]
        || apply_pmp_body(m, n, s, q, out),
    )
}

/// [`apply_pmp`]'s body, compiled twice ([`crate::simd::run`]).
#[inline(always)]
fn apply_pmp_body(m: &[f64], n: usize, s: &[f64], q: usize, out: &mut [f64]) {
    if crate::par::threads() > 1 {
        // Row-major scratch (whole rows per thread), then transposed into `out`.
        let mut tmp = alloc::vec![0.0; n * q];
        crate::par::rows_mut(&mut tmp, q, n * q, |first, block| {
            for (r, t) in block.chunks_mut(q).enumerate() {
                let i = first + r;
                row_products(&m[i * n..(i + 1) * n], s, n, q, |j, x| t[j] = x);
            }
        });
        for (i, t) in tmp.chunks(q).enumerate() {
            for (j, &x) in t.iter().enumerate() {
                out[j * n + i] = x;
            }
        }
    } else {
        for i in 0..n {
            row_products(&m[i * n..(i + 1) * n], s, n, q, |j, x| out[j * n + i] = x);
        }
    }
    for j in 0..q {
        deflate_ones(&mut out[j * n..(j + 1) * n]);
    }
}

/// Removes the component along 1 (projects onto 1⊥).
fn deflate_ones(v: &mut [f64]) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    v.iter_mut().for_each(|x| *x -= mean);
}

/// Orthonormalises the q columns of `s` (column-major, n rows) in 1⊥ by modified Gram–Schmidt,
/// twice; drops columns that become dependent. Returns the number of columns kept (packed first).
fn orthonormalise(s: &mut [f64], n: usize, q: usize) -> usize {
    orthonormalise_after(s, n, 0, q)
}

/// [`orthonormalise`] for columns `fixed..q` against the first `fixed` columns, which are taken
/// as orthonormal in 1⊥ and left unchanged. Returns the number of columns kept, `fixed`
/// included.
///
/// Each column is projected out of the kept ones by classical Gram–Schmidt applied twice
/// ("twice is enough": orthogonal to working precision unless the column is numerically
/// dependent, and those are dropped): the coefficients against all kept columns come from one
/// [`row_products`] pass, and the update subtracts four columns per pass over the column.
fn orthonormalise_after(s: &mut [f64], n: usize, fixed: usize, q: usize) -> usize {
    crate::simd::run(
        #[inline(always)]
        || orthonormalise_after_body(s, n, fixed, q),
    )
}

/// [`orthonormalise_after`]'s body, compiled twice ([`crate::simd::run`]).
#[inline(always)]
fn orthonormalise_after_body(s: &mut [f64], n: usize, fixed: usize, q: usize) -> usize {
    let mut kept = fixed;
    let mut coef = alloc::vec![0.0; q];
    for j in fixed..q {
        let (head, tail) = s.split_at_mut(j * n);
        let col = &mut tail[..n];
        let norm0 = libm::sqrt(dot(col, col));
        for _pass in 0..2 {
            deflate_ones(col);
            let c = &mut coef[..kept];
            row_products(col, head, n, kept, |i, x| c[i] = x);
            let mut i = 0;
            while i + 4 <= kept {
                let b = |t: usize| &head[(i + t) * n..(i + t + 1) * n];
                let (b0, b1, b2, b3) = (b(0), b(1), b(2), b(3));
                let (c0, c1, c2, c3) = (c[i], c[i + 1], c[i + 2], c[i + 3]);
                for (x, (((y0, y1), y2), y3)) in
                    col.iter_mut().zip(b0.iter().zip(b1).zip(b2).zip(b3))
                {
                    *x -= (c0 * y0 + c1 * y1) + (c2 * y2 + c3 * y3);
                }
                i += 4;
            }
            for (t, &ct) in c.iter().enumerate().skip(i) {
                let b = &head[t * n..(t + 1) * n];
                col.iter_mut().zip(b).for_each(|(x, y)| *x -= ct * y);
            }
        }
        let norm = libm::sqrt(dot(col, col));
        if norm > 1e-8 * norm0.max(f64::MIN_POSITIVE) && norm > 1e-200 {
            col.iter_mut().for_each(|x| *x /= norm);
            if kept != j {
                let (h, t) = s.split_at_mut(j * n);
                h[kept * n..(kept + 1) * n].copy_from_slice(&t[..n]);
            }
            kept += 1;
        }
    }
    kept
}

/// Re-orthonormalises the p columns of `v` (column-major, in 1⊥ and orthonormal up to rounding)
/// by one pass of modified Gram–Schmidt, applying the same column operations to `w` = B·V so
/// that it stays B times the new V. The operations are a near-identity (V is already
/// orthonormal), so no error is amplified; `false` when a column has drifted far from unit
/// length (the caller then orthonormalises afresh and recomputes B·V).
fn reorthonormalise_tracked(v: &mut [f64], w: &mut [f64], n: usize, p: usize) -> bool {
    for j in 0..p {
        let (vh, vt) = v.split_at_mut(j * n);
        let (wh, wt) = w.split_at_mut(j * n);
        let (vc, wc) = (&mut vt[..n], &mut wt[..n]);
        for i in 0..j {
            let (vi, wi) = (&vh[i * n..(i + 1) * n], &wh[i * n..(i + 1) * n]);
            let c = dot(vc, vi);
            vc.iter_mut().zip(vi).for_each(|(x, y)| *x -= c * y);
            wc.iter_mut().zip(wi).for_each(|(x, y)| *x -= c * y);
        }
        let norm = libm::sqrt(dot(vc, vc));
        if !(norm > 0.5 && norm < 2.0) {
            return false;
        }
        vc.iter_mut().for_each(|x| *x /= norm);
        wc.iter_mut().for_each(|x| *x /= norm);
    }
    true
}

/// Warm-startable state of the low-rank projection.
#[derive(Debug, Clone)]
pub struct LowRank {
    n: usize,
    /// Current block size p.
    p: usize,
    /// p orthonormal columns in 1⊥ (column-major n×p): the previous call's Ritz vectors.
    v: Vec<f64>,
    /// B·V (B = P·M·P) for the current `v` and the matrix of the current call (column-major
    /// n×p), when `bv_valid`; the next round reuses it instead of multiplying again.
    bv: Vec<f64>,
    bv_valid: bool,
    rng: ChaCha8Rng,
    /// The block before the last Rayleigh–Ritz update (LOBPCG's search direction lives in
    /// span(V, prev)); empty when unknown.
    prev: Vec<f64>,
    /// Scratch: the basis S and B·S (column-major n×3p each).
    s: Vec<f64>,
    bs: Vec<f64>,
    /// Ritz rounds used by the last call.
    pub last_rounds: usize,
    /// Calls accepted by the span check alone ([`Self::ritz_span`]).
    pub span_accepted: usize,
    /// Calls that skip the span check (after it failed: [`SPAN_BACKOFF_MAX`]), and the
    /// current back-off.
    span_skip: usize,
    span_backoff: usize,
    /// The last projection's active weights μ > 0 (descending) and their columns of V
    /// (column-major n×r): X = 11ᵀ/n + V·diag(μ)·Vᵀ ([`Self::last_factor`]).
    factor_mu: Vec<f64>,
    factor_v: Vec<f64>,
}

impl LowRank {
    /// A fresh state with a random block of size k + OVERSAMPLE (capped at n − 1).
    pub fn new(n: usize, k: usize, seed: u64) -> Self {
        let mut lr = LowRank {
            n,
            p: 0,
            v: Vec::new(),
            bv: Vec::new(),
            bv_valid: false,
            rng: ChaCha8Rng::seed_from_u64(seed),
            prev: Vec::new(),
            s: Vec::new(),
            bs: Vec::new(),
            last_rounds: 0,
            span_accepted: 0,
            span_skip: 0,
            span_backoff: 0,
            factor_mu: Vec::new(),
            factor_v: Vec::new(),
        };
        lr.resize((k + OVERSAMPLE).min(n - 1).max(1));
        lr
    }

    /// Changes the block size, keeping existing columns and filling new ones at random.
    fn resize(&mut self, p: usize) {
        let n = self.n;
        let old = self.p.min(p);
        let mut v = alloc::vec![0.0; n * p];
        v[..old * n].copy_from_slice(&self.v[..old * n]);
        for x in v[old * n..].iter_mut() {
            *x = normal(&mut self.rng);
        }
        let kept = orthonormalise(&mut v, n, p);
        // Random columns are independent with probability one; refill if not.
        for j in kept..p {
            for x in v[j * n..(j + 1) * n].iter_mut() {
                *x = normal(&mut self.rng);
            }
        }
        if kept < p {
            orthonormalise(&mut v, n, p);
        }
        self.install(v, p);
    }

    /// Makes the n×p column-major `v` the block, with fresh workspaces and no history.
    fn install(&mut self, v: Vec<f64>, p: usize) {
        let n = self.n;
        self.v = v;
        self.p = p;
        self.s = alloc::vec![0.0; n * 3 * p];
        self.bs = alloc::vec![0.0; n * 3 * p];
        self.prev.clear();
        self.bv_valid = false;
    }

    /// Current block size p.
    pub fn block(&self) -> usize {
        self.p
    }

    /// The last successful projection factored: (μ > 0 descending, the matching columns of V
    /// column-major), so that it wrote `11ᵀ/n + V·diag(μ)·Vᵀ`.
    pub fn last_factor(&self) -> (&[f64], &[f64]) {
        (&self.factor_mu, &self.factor_v)
    }

    /// X = 11ᵀ/n + Σ μ_j v_j v_jᵀ into `out` from the current block, keeping the active
    /// weights and columns as [`Self::last_factor`].
    #[inline(always)]
    fn write_x(&mut self, mu: &[f64], out: &mut [f64]) {
        let n = self.n;
        self.factor_mu.clear();
        self.factor_v.clear();
        for (j, &w) in mu.iter().enumerate().take(self.p) {
            if w > 0.0 {
                self.factor_mu.push(w);
                self.factor_v.extend_from_slice(&self.v[j * n..(j + 1) * n]);
            }
        }
        form_x(&self.v, n, mu, out);
    }

    /// Restarts the block from the top eigenpairs of a full projection (values descending,
    /// vectors column-major): the top p eigenvectors, p = max(current block, #values above
    /// `theta` + OVERSAMPLE), or as many as `top` holds when fewer.
    pub(crate) fn reset_from(&mut self, top: &super::projection::TopPairs, theta: f64) {
        let n = self.n;
        let above = top.values.iter().filter(|&&l| l > theta).count();
        let p = self.p.max(above + OVERSAMPLE).min(n - 1).min(top.count);
        if p == 0 || top.vectors.len() < n * p {
            return;
        }
        let mut v = top.vectors[..n * p].to_vec();
        // The eigenvectors of P·M·P − c·11ᵀ/n above θ are ⟂ 1; re-orthonormalise in 1⊥ anyway.
        let kept = orthonormalise(&mut v, n, p);
        if kept < p {
            return;
        }
        self.install(v, p);
    }

    /// Rayleigh–Ritz on span(V) alone (no new directions): B·V (p products), then V and B·V
    /// rotated to the Ritz vectors of Vᵀ·B·V (p×p). Returns as [`Self::ritz_round`] (the scale from
    /// the p Ritz values). The cheap first look of a call: when the warm-started V already
    /// spans the wanted eigenvectors of the new matrix to the tolerance, the expansion (2p more
    /// products) is not needed; otherwise the rounds continue from the rotated V and its B·V.
    #[inline(always)]
    fn ritz_span(&mut self, m: &[f64]) -> Option<(Vec<f64>, Vec<f64>, f64)> {
        let n = self.n;
        let p = self.p;
        if self.bv.len() != n * p {
            self.bv = alloc::vec![0.0; n * p];
        }
        self.bv_valid = false;
        if orthonormalise(&mut self.v, n, p) < p {
            return None;
        }
        apply_pmp(m, n, &self.v, p, &mut self.bv);
        self.bv_valid = true;
        let mut h = alloc::vec![0.0; p * p];
        for a in 0..p {
            let va = &self.v[a * n..(a + 1) * n];
            row_products(va, &self.bv[a * n..p * n], n, p - a, |c, x| {
                h[a * p + a + c] = x;
                h[(a + c) * p + a] = x;
            });
        }
        let (values, _, y) = crate::eigen::select_with_limit(&h, p, |_| 0..p, 0)?;
        let scale = values
            .iter()
            .fold(0.0f64, |s, x| s.max(x.abs()))
            .max(f64::MIN_POSITIVE);
        if values.len() < p || !scale.is_finite() {
            self.bv_valid = false;
            return None;
        }
        let mut nv = alloc::vec![0.0; n * p];
        let mut nbv = alloc::vec![0.0; n * p];
        for j in 0..p {
            let (vj, bvj) = (&mut nv[j * n..(j + 1) * n], &mut nbv[j * n..(j + 1) * n]);
            for a in 0..p {
                let c = y[j * p + a];
                if c != 0.0 {
                    let (sa, ba) = (&self.v[a * n..(a + 1) * n], &self.bv[a * n..(a + 1) * n]);
                    for i in 0..n {
                        vj[i] += c * sa[i];
                        bvj[i] += c * ba[i];
                    }
                }
            }
        }
        self.v = nv;
        self.bv = nbv;
        let res = residual_norms(&self.v, &self.bv, &values, n, p);
        Some((values, res, scale))
    }

    /// One Rayleigh–Ritz round on B = P·M·P over span(V, residuals, previous V) (the previous V
    /// only when `use_prev`): updates V to the top p Ritz vectors and returns (the top p Ritz
    /// values descending, residual norm of each of them, the largest |Ritz value|). `None` when
    /// the basis degenerates or the small eigenproblem fails.
    ///
    /// Products with B: p for B·V (none when the previous round of the same call left it in
    /// `bv`) and one per new basis direction (≤ 2p, p without the previous V); B·S for the V
    /// part of the basis is B·V.
    ///
    /// [`LowRank::project`] leaves the previous V out of a call's first round: it is the block
    /// of the previous ADMM iteration's matrix, so its "search direction" belongs to another
    /// eigenproblem, while V (warm, just rotated by the span look) plus the residuals already
    /// hold the correction. From the second round on (the same matrix) it is the conjugate
    /// direction and stays. Planted n = 100, k = 3: 7–9 % fewer instructions per solve (p new
    /// products per round instead of 2p, for 2–5 more rounds in about 45 iterations). Over 62
    /// solves (planted, unequal and `generate large`, n = 100–300, right and wrong k): 2.7 %
    /// fewer in total, the same partitions, bounds within 3.2e-7 relative, and slow degenerate
    /// solves (wrong k) anywhere from −20 % to +10 % (method.md §3, "Low rank").
    #[inline(always)]
    fn ritz_round(&mut self, m: &[f64], use_prev: bool) -> Option<(Vec<f64>, Vec<f64>, f64)> {
        let n = self.n;
        let p = self.p;
        if self.bv.len() != n * p {
            self.bv = alloc::vec![0.0; n * p];
            self.bv_valid = false;
        }
        if self.bv_valid && !reorthonormalise_tracked(&mut self.v, &mut self.bv, n, p) {
            self.bv_valid = false;
        }
        if !self.bv_valid {
            if orthonormalise(&mut self.v, n, p) < p {
                return None;
            }
            apply_pmp(m, n, &self.v, p, &mut self.bv);
        }
        // S = [V, orth(R, previous V)] with the residuals R = B·V − V·diag(vᵀ·B·v), each scaled
        // to unit norm first: same span as [V, B·V], but the new directions do not vanish in
        // the orthogonalisation as V converges.
        self.s[..n * p].copy_from_slice(&self.v);
        self.bs[..n * p].copy_from_slice(&self.bv);
        {
            let (sv, sw) = self.s.split_at_mut(n * p);
            for j in 0..p {
                let (vj, wj) = (&sv[j * n..(j + 1) * n], &mut sw[j * n..(j + 1) * n]);
                wj.copy_from_slice(&self.bv[j * n..(j + 1) * n]);
                let l = dot(vj, wj);
                wj.iter_mut().zip(vj).for_each(|(w, v)| *w -= l * v);
                let nr = libm::sqrt(dot(wj, wj));
                if nr > 0.0 {
                    wj.iter_mut().for_each(|w| *w /= nr);
                }
            }
        }
        // LOBPCG-style third block: the previous V (its part outside span(V) is the last
        // search direction), which turns the iteration from steepest-descent into
        // conjugate-gradient-like convergence (rounds on the same matrix only: `use_prev`).
        let mut cols = 2 * p;
        if use_prev && self.prev.len() == n * p {
            self.s[2 * n * p..3 * n * p].copy_from_slice(&self.prev);
            cols = 3 * p;
        }
        let q = orthonormalise_after(&mut self.s, n, p, cols);
        {
            let (_, bnew) = self.bs.split_at_mut(n * p);
            apply_pmp(m, n, &self.s[n * p..n * q], q - p, &mut bnew[..n * (q - p)]);
        }
        // H = Sᵀ·B·S (q×q, symmetrised), Ritz pairs.
        // Upper triangle h_ab = s_a·(B·s_b), a ≤ b (four products per pass over s_a), mirrored:
        // exactly symmetric; the two one-sided products differ by rounding (≈ ε·‖B‖) only.
        let mut h = alloc::vec![0.0; q * q];
        for a in 0..q {
            let sa = &self.s[a * n..(a + 1) * n];
            row_products(sa, &self.bs[a * n..q * n], n, q - a, |c, x| {
                h[a * q + a + c] = x;
                h[(a + c) * q + a] = x;
            });
        }
        // Top p Ritz pairs (tridiagonal path: Sturm/QL values, inverse-iteration vectors for
        // the p kept ones only) and λ_min, for the scale max|λ|.
        let mut lmin = f64::NAN;
        // p + 1 values: by bisection only when that is cheaper than QL for all q of them.
        let limit = crate::eigen::bisect_limit(q);
        let limit = if p < limit { limit } else { 0 };
        let (values, _, y) = crate::eigen::select_with_limit(
            &h,
            q,
            |spec| {
                lmin = spec.value(q - 1);
                0..p
            },
            limit,
        )?;
        let scale = values
            .iter()
            .chain(core::iter::once(&lmin))
            .fold(0.0f64, |s, x| s.max(x.abs()))
            .max(f64::MIN_POSITIVE);
        if values.len() < p || !scale.is_finite() {
            return None;
        }
        // New V = S·Y (top p), B·V = BS·Y.
        self.prev.clear();
        self.prev.extend_from_slice(&self.v);
        for j in 0..p {
            let (vj, bvj) = (
                &mut self.v[j * n..(j + 1) * n],
                &mut self.bv[j * n..(j + 1) * n],
            );
            vj.iter_mut().for_each(|x| *x = 0.0);
            bvj.iter_mut().for_each(|x| *x = 0.0);
            for a in 0..q {
                let y = y[j * q + a];
                if y != 0.0 {
                    let (sa, ba) = (&self.s[a * n..(a + 1) * n], &self.bs[a * n..(a + 1) * n]);
                    for i in 0..n {
                        vj[i] += y * sa[i];
                        bvj[i] += y * ba[i];
                    }
                }
            }
        }
        self.bv_valid = true;
        let res = residual_norms(&self.v, &self.bv, &values, n, p);
        Some((values, res, scale))
    }

    /// Writes `Proj_C1(M)` into `out` (M symmetric, row-major n×n). `None` when the iteration did
    /// not converge within its budget or the block would exceed n/8 (use the full decomposition).
    /// `eig_tol`: relative residual at which Ritz pairs count as converged (≥ [`EIG_TOL`]).
    ///
    /// `allow_truncated`: when the block reaches its cap `max(2k + 16, 32)` (≤ n/8) with every
    /// Ritz value active, accept the projection onto {X ∈ C1 : range(X − 11ᵀ/n) ⊆ span(V)}
    /// instead of growing: still feasible for C1, but not the exact projection. ADMM allows it
    /// only in its early iterations, where the spectrum is high-rank and accuracy is not needed.
    pub fn project(
        &mut self,
        m: &[f64],
        k: usize,
        out: &mut [f64],
        eig_tol: f64,
        allow_truncated: bool,
    ) -> Option<ProjectionInfo> {
        crate::simd::run(
            #[inline(always)]
            || self.project_body(m, k, out, eig_tol, allow_truncated),
        )
    }

    /// [`Self::project`]'s body, compiled twice ([`crate::simd::run`]).
    #[inline(always)]
    fn project_body(
        &mut self,
        m: &[f64],
        k: usize,
        out: &mut [f64],
        eig_tol: f64,
        allow_truncated: bool,
    ) -> Option<ProjectionInfo> {
        let eig_tol = eig_tol.max(EIG_TOL);
        let n = self.n;
        let total = k as f64 - 1.0;
        let mut rounds = 0;
        // A new matrix: B·V from the last call is stale. First look: Rayleigh–Ritz on span(V)
        // alone, accepted under the rules of a full round (enough inactive vectors, active
        // residuals within the tolerance; it counts as one round then).
        // After a failed look the next 1, 2, 4, ... SPAN_BACKOFF_MAX calls go straight to the
        // rounds (which then form B·V themselves: the same products, without the look's p×p
        // eigenproblem and rotation); an accepted look resets the back-off.
        self.bv_valid = false;
        if self.span_skip > 0 {
            self.span_skip -= 1;
        } else {
            if let Some((values, res, scale)) = self.ritz_span(m) {
                let p = self.p;
                let mut mu = alloc::vec![0.0; p];
                let theta = project_simplex(&values[..p], total, &mut mu);
                let active = mu.iter().filter(|&&w| w > 0.0).count();
                let max_res = res[..active].iter().fold(0.0f64, |a, &b| a.max(b));
                if active + 2 <= p && max_res <= eig_tol * scale {
                    self.last_rounds = 1;
                    self.span_accepted += 1;
                    self.span_backoff = 0;
                    self.write_x(&mu, out);
                    return Some(ProjectionInfo {
                        rank: active,
                        theta,
                    });
                }
            }
            self.span_backoff = (2 * self.span_backoff).clamp(1, SPAN_BACKOFF_MAX);
            self.span_skip = self.span_backoff;
        }
        loop {
            rounds += 1;
            if rounds > max_rounds(n, self.p) {
                self.last_rounds = rounds;
                return None;
            }
            let p = self.p;
            // The previous block only from the second round on (see `ritz_round`).
            let (values, res, scale) = self.ritz_round(m, rounds > 1)?;
            let lam = &values[..p];
            let mut mu = alloc::vec![0.0; p];
            let theta = project_simplex(lam, total, &mut mu);
            let active = mu.iter().filter(|&&w| w > 0.0).count();
            // Residuals of the pairs that matter: the active ones.
            let max_res = res[..active].iter().fold(0.0f64, |a, &b| a.max(b));
            // The block must reach well below θ: keep at least two inactive Ritz vectors.
            let cap = (2 * k + 16).max(32).min(n / MAX_BLOCK_FRACTION);
            if active + 2 > p && !(allow_truncated && p >= cap) {
                // With an inactive Ritz value in the block, the count above θ is seen: grow to
                // it plus the margin; with none, it is not: double.
                let want = if active < p {
                    (active + 2 + OVERSAMPLE).max(p + 1)
                } else {
                    2 * p
                };
                let grow = if allow_truncated {
                    want.min(cap)
                } else {
                    want.min(n - 1)
                };
                if grow == p || grow > n / MAX_BLOCK_FRACTION {
                    self.last_rounds = rounds;
                    return None;
                }
                self.resize(grow);
                continue;
            }
            // A truncated projection is a rough early step anyway: the bulk Ritz pairs need not
            // converge; three rounds improve the captured subspace enough.
            let truncated = allow_truncated && active + 2 > p;
            if max_res > eig_tol * scale && !(truncated && rounds >= 3) {
                continue;
            }
            // Converged: X = 11ᵀ/n + Σ μ_j v_j v_jᵀ; shrink an oversized block.
            self.last_rounds = rounds;
            self.write_x(&mu, out);
            let want = (active + OVERSAMPLE).max(k + OVERSAMPLE).min(n - 1);
            if p > want + OVERSAMPLE {
                self.resize(want);
            }
            return Some(ProjectionInfo {
                rank: active,
                theta,
            });
        }
    }
}

/// The top `count` eigenpairs of P·A·P on 1⊥ (A symmetric row-major n×n), to relative residual
/// `tol`: (values descending, vectors column-major n×count). `None` if not converged within the
/// round budget (callers fall back to the full decomposition).
pub(crate) fn top_eigen_1perp(
    a: &[f64],
    n: usize,
    count: usize,
    tol: f64,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let (values, mut vecs) = top_eigen_1perp_from(a, n, count, tol, None)?;
    vecs.truncate(n * count);
    Some((values, vecs))
}

/// [`top_eigen_1perp`] warm-started from `start` (column-major, n rows: e.g. the block a
/// previous call returned for a nearby matrix; at most the block's p columns are used, the rest
/// of the block is random). Returns the `count` values and the whole block (n×p, its first
/// `count` columns the eigenvectors): the block, not just the eigenvectors, is the warm start
/// that keeps a call for a nearby matrix short when its top eigenvalues cluster.
pub(crate) fn top_eigen_1perp_from(
    a: &[f64],
    n: usize,
    count: usize,
    tol: f64,
    start: Option<&[f64]>,
) -> Option<(Vec<f64>, Vec<f64>)> {
    if count == 0 || count + OVERSAMPLE >= n {
        return None;
    }
    let p = (count + OVERSAMPLE).min(n - 1);
    let mut lr = LowRank::new(n, count, 0x51f1_5eed);
    if let Some(v0) = start.filter(|v| v.len() >= n * count && v.len() % n == 0) {
        let c = (v0.len() / n).min(p);
        lr.v = v0[..n * c].to_vec();
        lr.p = c;
    }
    lr.resize(p);
    for _ in 0..max_rounds(n, lr.p).max(30) {
        let (values, res, scale) = lr.ritz_round(a, true)?;
        if res[..count].iter().all(|&r| r <= tol * scale) {
            return Some((values[..count].to_vec(), lr.v));
        }
    }
    None
}

/// out = 11ᵀ/n + Σ_j μ_j v_j v_jᵀ for column-major V (n×p), symmetric fill.
fn form_x(v: &[f64], n: usize, mu: &[f64], out: &mut [f64]) {
    let act: Vec<usize> = (0..mu.len()).filter(|&j| mu[j] > 0.0).collect();
    let r = act.len();
    // A: column-major n×r with column t = √μ_t · v_t.
    let mut a = alloc::vec![0.0; n * r];
    for (t, &j) in act.iter().enumerate() {
        let s = libm::sqrt(mu[j]);
        for i in 0..n {
            a[t * n + i] = s * v[j * n + i];
        }
    }
    let j0 = 1.0 / n as f64;
    crate::par::fill_gram(out, n, &a, r, |_, _| j0);
}

/// ‖B·v_j − λ_j·v_j‖ for the first p columns v_j (length n, stored one after another in `v`,
/// their products in `bv`) and values λ_j (`values` holds at least p).
fn residual_norms(v: &[f64], bv: &[f64], values: &[f64], n: usize, p: usize) -> Vec<f64> {
    (0..p)
        .map(|j| {
            let l = values.get(j).copied().unwrap_or(0.0);
            let (vj, bvj) = (&v[j * n..(j + 1) * n], &bv[j * n..(j + 1) * n]);
            libm::sqrt(
                bvj.iter()
                    .zip(vj)
                    .map(|(b, v)| (b - l * v) * (b - l * v))
                    .sum::<f64>(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::projection::project_c1;

    /// The largest entrywise |a − b|.
    fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    /// The four-column kernel gives every product exactly as `dot` does (any n mod 4).
    #[test]
    fn apply_pmp_equals_single_dots() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for (n, q) in [(13, 7), (16, 4), (30, 9), (5, 3), (11, 6), (9, 2), (7, 1)] {
            let m: Vec<f64> = (0..n * n).map(|_| normal(&mut rng)).collect();
            let s: Vec<f64> = (0..n * q).map(|_| normal(&mut rng)).collect();
            let mut out = alloc::vec![0.0; n * q];
            apply_pmp(&m, n, &s, q, &mut out);
            for j in 0..q {
                let mut col: Vec<f64> = (0..n)
                    .map(|i| dot(&m[i * n..(i + 1) * n], &s[j * n..(j + 1) * n]))
                    .collect();
                deflate_ones(&mut col);
                for i in 0..n {
                    assert_eq!(out[j * n + i].to_bits(), col[i].to_bits(), "n={n} q={q}");
                }
            }
        }
    }

    /// Classical Gram–Schmidt twice: the kept columns are orthonormal in 1⊥ to working
    /// precision, the fixed ones untouched, and a dependent column is dropped.
    #[test]
    fn orthonormalise_after_keeps_an_orthonormal_basis() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let n = 50;
        let q = 11;
        let mut s: Vec<f64> = (0..n * q).map(|_| normal(&mut rng)).collect();
        assert_eq!(orthonormalise(&mut s, n, 5), 5);
        let fixed = s[..5 * n].to_vec();
        // Column 7 a combination of columns 0 and 6 (plus 1, which is projected out anyway).
        for i in 0..n {
            s[7 * n + i] = 2.0 * s[i] - 0.5 * s[6 * n + i] + 3.0;
        }
        let kept = orthonormalise_after(&mut s, n, 5, q);
        assert_eq!(kept, q - 1);
        assert_eq!(&s[..5 * n], &fixed[..]);
        for a in 0..kept {
            let ca = &s[a * n..(a + 1) * n];
            assert!(ca.iter().sum::<f64>().abs() < 1e-13, "column {a} not ⟂ 1");
            for b in 0..=a {
                let d = dot(ca, &s[b * n..(b + 1) * n]);
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((d - want).abs() < 1e-14, "<s{a}, s{b}> = {d}");
            }
        }
    }

    #[test]
    fn matches_full_projection() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // (90, 5): rank k + 1 leaves one inactive Ritz value in the starting block, so it grows
        // to rank + 2 + OVERSAMPLE = 10 (doubling would pass n/8 and give up); (200, 10): rank
        // k + 2 fills the starting block, so it doubles.
        for (n, k) in [(40, 3), (90, 5), (120, 2), (200, 10)] {
            // Low-rank-ish M: a few strong directions plus noise.
            let mut m = alloc::vec![0.0; n * n];
            let dirs: Vec<Vec<f64>> = (0..k + 2)
                .map(|_| (0..n).map(|_| normal(&mut rng)).collect())
                .collect();
            for (t, d) in dirs.iter().enumerate() {
                let w = 3.0 / (1.0 + t as f64) / n as f64;
                for i in 0..n {
                    for j in 0..n {
                        m[i * n + j] += w * d[i] * d[j];
                    }
                }
            }
            for i in 0..n {
                for j in i..n {
                    let x = 0.01 * normal(&mut rng) / n as f64;
                    m[i * n + j] += x;
                    if i != j {
                        m[j * n + i] += x;
                    }
                }
            }
            let mut full = alloc::vec![0.0; n * n];
            project_c1(&m, n, k, &mut full).unwrap();
            let mut lr = LowRank::new(n, k, 1);
            let mut low = alloc::vec![0.0; n * n];
            lr.project(&m, k, &mut low, 0.0, false).unwrap();
            let err = max_abs_diff(&full, &low);
            assert!(err < 1e-8, "n={n} k={k}: max diff {err}");
            // Warm call on a perturbed M converges in few rounds.
            for x in m.iter_mut() {
                *x *= 1.001;
            }
            lr.project(&m, k, &mut low, 0.0, false).unwrap();
            project_c1(&m, n, k, &mut full).unwrap();
            let err = max_abs_diff(&full, &low);
            assert!(err < 1e-8, "warm n={n} k={k}: max diff {err}");
            // M scaled by 1.001 has the same eigenvectors: the span check accepts the warm
            // block without new directions (one round, p products), and it is exact.
            for x in m.iter_mut() {
                *x *= 1.001;
            }
            // (The cold call's look failed, so the first warm call skipped it.)
            assert_eq!((lr.span_skip, lr.span_backoff), (0, 1), "n={n} k={k}");
            let before = lr.span_accepted;
            lr.project(&m, k, &mut low, 0.0, false).unwrap();
            assert_eq!(
                (lr.last_rounds, lr.span_accepted, lr.span_backoff),
                (1, before + 1, 0),
                "n={n} k={k}"
            );
            project_c1(&m, n, k, &mut full).unwrap();
            let err = max_abs_diff(&full, &low);
            assert!(err < 1e-8, "span check n={n} k={k}: max diff {err}");
            // A look that fails skips the looks of the next 1, 2, 4, ... calls (a new, unrelated
            // M each time, so every look would fail): the rounds alone stay exact.
            let mut looks = 0;
            for call in 0..12 {
                let tried = lr.span_skip == 0;
                looks += usize::from(tried);
                let mut other = m.clone();
                for (i, x) in other.iter_mut().enumerate() {
                    *x += libm::sin((i * (call + 3)) as f64);
                }
                let sym: Vec<f64> = (0..n * n)
                    .map(|i| 0.5 * (other[i] + other[(i % n) * n + i / n]))
                    .collect();
                lr.project(&sym, k, &mut low, 0.0, false).unwrap();
                project_c1(&sym, n, k, &mut full).unwrap();
                let err = max_abs_diff(&full, &low);
                assert!(err < 1e-8, "after call {call}, n={n} k={k}: max diff {err}");
            }
            // Looks at calls 0, 2, 5, 10 (skipping 1, 2, 4, then 8).
            assert_eq!(looks, 4, "n={n} k={k}");
        }
    }
}
