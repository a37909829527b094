//! The large-n path (method.md §3a, §4a): no n×n buffer beyond the centred affinity C.
//!
//! 1. **Spectral start**: the top k − 1 eigenpairs of C on 1⊥ by matrix-free LOBPCG
//!    ([`super::lanczos`]), k-means on the rows of V·diag(√λ⁺), local search on C.
//! 2. **Factored refinement** (Burer–Monteiro with a non-negative factor): X = UUᵀ with
//!    U ≥ 0 (n×r, r = 2k), started at the partition's factor (columns 1_a/√|a| plus small
//!    positive ones), maximising ⟨C, UUᵀ⟩ subject to U(Uᵀ1) = 1 by an augmented Lagrangian on the
//!    row sums and projected gradient steps on {U ≥ 0, ‖U‖_F² = k} (clamp, then rescale onto
//!    the sphere). X ≥ 0 and Tr X = k hold by construction. The rows of U are rounded again
//!    (k-means + local search) and the better partition is kept.
//! 3. **Certificate** from the partition: a dual point (y, z, Z_d ≥ 0) of the form used for the
//!    k-means SDP, Z_d rank one on every off-diagonal block, applied implicitly in O(n·k), and
//!    λ_max(P(C + Z_d)P) by LOBPCG with a residual pad. Valid for any partition and any z
//!    (Z_d ≥ 0 by construction); tight when the relaxation is tight at the partition and the
//!    dual of that form exists.

#![allow(clippy::needless_range_loop)]

use alloc::vec::Vec;

use super::lanczos::{deflate_ones, lobpcg_top, BlockOp, DenseOp};
use super::lowrank::dot;
use super::{Progress, SdpSolution, SolverPath, SolverSettings, SolverStatus, WarmStart};
use crate::affinity::Centered;
use crate::kmeans::{kmeans, KMeansSettings};
use crate::partition::{block_value, Partition};
use crate::round::{local_search, Rounding, RoundingSettings};

/// The centred affinity C (C·1 = 0) as a block operator on 1⊥: the products of `c`, deflated.
struct COp<'a> {
    c: &'a mut dyn BlockOp,
}

impl BlockOp for COp<'_> {
    fn n(&self) -> usize {
        self.c.n()
    }
    fn apply(&mut self, x: &[f64], q: usize, out: &mut [f64]) {
        let n = self.c.n();
        self.c.apply(x, q, out);
        for j in 0..q {
            deflate_ones(&mut out[j * n..(j + 1) * n]);
        }
    }
}

/// What the factored path did, for the solution's statistics.
#[derive(Debug, Clone, Default)]
pub(crate) struct FactoredStats {
    /// Operator products with C (each over a block of columns).
    pub products: usize,
    /// Refinement iterations.
    pub iterations: usize,
}

/// The result of the factored path: the partition, and the solution with its certificate.
pub(crate) struct FactoredResult {
    pub partition: Partition,
    pub sdp: SdpSolution,
}

fn kmeans_settings(r: &RoundingSettings) -> KMeansSettings {
    KMeansSettings {
        restarts: r.kmeans_restarts,
        max_iterations: 100,
        seed: r.seed,
    }
}

/// Rounds an embedding (rows of a row-major n×d matrix) by k-means + local search on C.
fn round_embedding(
    cen: &Centered,
    emb: &[f64],
    d: usize,
    k: usize,
    rounding: &RoundingSettings,
) -> Option<Partition> {
    let n = cen.n;
    let labels = kmeans(emb, n, d, k, &kmeans_settings(rounding))?;
    let p = Partition::from_dense(&labels);
    if p.num_groups() != k {
        return None;
    }
    Some(if rounding.local_search {
        local_search(&cen.c, p)
    } else {
        p
    })
}

/// The partition's factor: column a is 1_a/√|a| (X = UUᵀ is the partition matrix), then
/// `extra` columns of small positive values, row-major n×(k + extra), rescaled to ‖U‖_F² = k.
fn partition_factor(p: &Partition, extra: usize, seed: u64) -> Vec<f64> {
    let n = p.n();
    let k = p.num_groups();
    let r = k + extra;
    let sizes = p.sizes();
    let mut u = alloc::vec![0.0; n * r];
    let mut h = crate::random::splitmix64(seed);
    for i in 0..n {
        let a = p.labels()[i] as usize;
        u[i * r + a] = 1.0 / libm::sqrt(sizes[a] as f64);
        for j in k..r {
            h = crate::random::splitmix64(h);
            let unit = (h >> 11) as f64 / (1u64 << 53) as f64;
            u[i * r + j] = 1e-3 * unit / libm::sqrt(n as f64);
        }
    }
    project_sphere(&mut u, k as f64);
    u
}

/// Projection onto {U ≥ 0, ‖U‖_F² = k}: clamp, then rescale (exact for a non-zero clamp).
fn project_sphere(u: &mut [f64], k: f64) -> bool {
    u.iter_mut().for_each(|x| *x = x.max(0.0));
    let nrm2: f64 = u.iter().map(|x| x * x).sum();
    if !(nrm2 > 0.0 && nrm2.is_finite()) {
        return false;
    }
    let s = libm::sqrt(k / nrm2);
    u.iter_mut().for_each(|x| *x *= s);
    true
}

/// C·U for a row-major n×r U (returned row-major n×r), through the column-major block op.
fn c_times(c: &mut dyn BlockOp, u: &[f64], r: usize) -> Vec<f64> {
    let n = c.n();
    let mut cm = alloc::vec![0.0; n * r];
    for i in 0..n {
        for j in 0..r {
            cm[j * n + i] = u[i * r + j];
        }
    }
    let mut out = alloc::vec![0.0; n * r];
    c.apply(&cm, r, &mut out);
    let mut rm = alloc::vec![0.0; n * r];
    for i in 0..n {
        for j in 0..r {
            rm[i * r + j] = out[j * n + i];
        }
    }
    rm
}

/// ⟨C, UUᵀ⟩ = Σ_ij U_ij (CU)_ij.
fn objective(u: &[f64], cu: &[f64]) -> f64 {
    dot(u, cu)
}

/// Row-sum residual e = U(Uᵀ1) − 1 and w = Uᵀ1.
fn row_residual(u: &[f64], n: usize, r: usize) -> (Vec<f64>, Vec<f64>) {
    let mut w = alloc::vec![0.0; r];
    for i in 0..n {
        for j in 0..r {
            w[j] += u[i * r + j];
        }
    }
    let e = (0..n)
        .map(|i| dot(&u[i * r..(i + 1) * r], &w) - 1.0)
        .collect();
    (e, w)
}

/// The factored refinement (augmented Lagrangian on U(Uᵀ1) = 1, projected gradient on
/// {U ≥ 0, ‖U‖_F² = k}). Returns U, its relative row-sum residual ‖e‖/√n, the relative change
/// of the last step and the iterations run. Stops early when `keep_going` returns false.
#[allow(clippy::too_many_arguments)]
fn refine(
    cen: &Centered,
    op: &mut dyn BlockOp,
    k: usize,
    mut u: Vec<f64>,
    y0: Vec<f64>,
    r: usize,
    max_iter: usize,
    tol: f64,
    stats: &mut FactoredStats,
    keep_going: &mut dyn FnMut(usize, f64, f64, f64) -> bool,
) -> (Vec<f64>, f64, f64, bool) {
    let n = cen.n;
    let nf = n as f64;
    // Penalty in units where the row-sum term matches ⟨C, X⟩ (‖C‖_F = 1, ‖X‖_F ≈ √k):
    // σ·‖e‖² with ‖e‖² ~ n, so σ ~ 1/n.
    let mut sigma = 64.0 / nf;
    let mut y = y0;
    let mut step = 0.25;
    let mut cu = c_times(op, &u, r);
    stats.products += 1;
    let (mut e, mut w) = row_residual(&u, n, r);
    let mut feas = libm::sqrt(e.iter().map(|x| x * x).sum::<f64>() / nf);
    let mut change = f64::INFINITY;
    let mut interrupted = false;
    for it in 0..max_iter {
        // Augmented Lagrangian (maximisation of ⟨C, UUᵀ⟩ − yᵀe − σ/2‖e‖²), ascent direction:
        // 2CU − (g wᵀ + 1 (gᵀU)) with g = y + σe.
        let g: Vec<f64> = y.iter().zip(&e).map(|(y, e)| y + sigma * e).collect();
        let mut gu = alloc::vec![0.0; r];
        for i in 0..n {
            for j in 0..r {
                gu[j] += g[i] * u[i * r + j];
            }
        }
        let mut next = u.clone();
        for i in 0..n {
            for j in 0..r {
                let d = 2.0 * cu[i * r + j] - (g[i] * w[j] + gu[j]);
                next[i * r + j] += step * d;
            }
        }
        if !project_sphere(&mut next, k as f64) {
            break;
        }
        let diff: f64 = next
            .iter()
            .zip(&u)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>();
        change = libm::sqrt(diff / k as f64);
        let next_cu = c_times(op, &next, r);
        stats.products += 1;
        let (ne, nw) = row_residual(&next, n, r);
        let nfeas = libm::sqrt(ne.iter().map(|x| x * x).sum::<f64>() / nf);
        // Merit (augmented Lagrangian) must not drop: else halve the step and retry.
        let merit = |u: &[f64], cu: &[f64], e: &[f64]| {
            objective(u, cu)
                - e.iter().zip(&y).map(|(e, y)| e * y).sum::<f64>()
                - 0.5 * sigma * e.iter().map(|x| x * x).sum::<f64>()
        };
        if merit(&next, &next_cu, &ne) + 1e-15 < merit(&u, &cu, &e) {
            step *= 0.5;
            if step < 1e-8 {
                break;
            }
            continue;
        }
        u = next;
        cu = next_cu;
        e = ne;
        w = nw;
        feas = nfeas;
        step = (step * 1.5).min(4.0);
        // Multiplier update, and a larger penalty while feasibility lags.
        for (y, e) in y.iter_mut().zip(&e) {
            *y += sigma * e;
        }
        if feas > 0.25 * change.max(tol) {
            sigma = (sigma * 1.5).min(1e6 / nf);
        }
        stats.iterations = it + 1;
        if !keep_going(it + 1, feas, change, objective(&u, &cu)) {
            interrupted = true;
            break;
        }
        if feas <= tol && change <= tol {
            break;
        }
    }
    (u, feas, change, interrupted)
}

/// The residual pad added to the top Ritz value θ₁ (method.md §4a). With V' the leading Ritz
/// vectors whose residuals are converged (≤ 1e-7) and R' their residual block, P·G·P in the basis
/// [V', V'⊥] is [[Θ', E], [Eᵀ, A₂₂]] with ‖E‖₂ ≤ ‖R'‖_F, so λ_max ≤ max(θ₁, λ_max(A₂₂)) + ‖R'‖_F.
/// The pad is ‖R'‖_F when the next Ritz pair's inclusion interval θ_{j+1} + r_{j+1} lies below θ₁
/// (the block sees nothing of A₂₂ above θ₁), else the Frobenius norm of the whole residual block.
fn ritz_pad(values: &[f64], residuals: &[f64]) -> f64 {
    let full = libm::sqrt(residuals.iter().map(|r| r * r).sum::<f64>());
    let j = residuals.iter().take_while(|&&r| r <= 1e-7).count();
    if j == 0 || j >= residuals.len() {
        return full;
    }
    if values[j] + residuals[j] < values[0] {
        libm::sqrt(residuals[..j].iter().map(|r| r * r).sum::<f64>())
    } else {
        full
    }
}

/// Row-sum multipliers of a partition's factor: y_u = 2·(C1_a)_u/n_a − 1_aᵀC1_a/n_a² for u ∈ a,
/// the stationarity condition of ⟨C, UUᵀ⟩ − yᵀ(UUᵀ1 − 1) on the partition's support (up to the
/// sphere's multiplier, which the projection absorbs).
fn partition_multipliers(op: &mut dyn BlockOp, p: &Partition) -> Vec<f64> {
    let n = op.n();
    let sizes = p.sizes();
    let lab = p.labels();
    let k = p.num_groups();
    let labels: Vec<usize> = lab.iter().map(|&l| l as usize).collect();
    let m = op.indicator_product(&labels, k);
    let own: Vec<f64> = (0..n).map(|u| m[u * k + labels[u]]).collect();
    let mut q = alloc::vec![0.0; p.num_groups()];
    for u in 0..n {
        q[lab[u] as usize] += own[u];
    }
    (0..n)
        .map(|u| {
            let a = lab[u] as usize;
            let na = sizes[a] as f64;
            2.0 * own[u] / na - q[a] / (na * na)
        })
        .collect()
}

/// Connected components of {u ~ v : (UUᵀ)_uv > thr} for the row-major n×r factor U.
fn threshold_factor(u: &[f64], n: usize, r: usize, thr: f64) -> Partition {
    let row = |a: usize| &u[a * r..(a + 1) * r];
    crate::round::connected_components(n, |a, b| dot(row(a), row(b)) > thr)
}

/// The implicit dual operator x ↦ P(C + Z_d)P·x of the certificate (see [`PartitionDual`]).
struct DualOp<'a> {
    c: &'a mut dyn BlockOp,
    dual: &'a PartitionDual,
}

impl BlockOp for DualOp<'_> {
    fn n(&self) -> usize {
        self.dual.n
    }
    fn apply(&mut self, x: &[f64], q: usize, out: &mut [f64]) {
        let n = self.dual.n;
        self.c.apply(x, q, out);
        for j in 0..q {
            self.dual
                .add_apply(&x[j * n..(j + 1) * n], &mut out[j * n..(j + 1) * n]);
            deflate_ones(&mut out[j * n..(j + 1) * n]);
        }
    }
}

/// Z_d ≥ 0 built from a partition (groups a, sizes n_a) and a scalar z: for u ∈ b, v ∈ a ≠ b,
/// `Z_d(u, v) = r⁺_{u,a}·r⁺_{v,b} / d_ab`, zero inside groups, where r_{u,a} is the row sum over
/// a that makes S·1_a = 0 for the dual slack S (method.md §4a) and d_ab the larger of the two
/// block sums of r⁺ (so every entry is ≥ 0, whatever z and whatever the signs of r).
pub(crate) struct PartitionDual {
    n: usize,
    k: usize,
    labels: Vec<usize>,
    /// r⁺, row-major n×k (0 on the own group).
    rplus: Vec<f64>,
    /// 1/d_ab (0 when d_ab = 0), k×k.
    inv_d: Vec<f64>,
}

impl PartitionDual {
    pub(crate) fn new(
        labels: &[usize],
        k: usize,
        m: &[f64],
        sizes: &[usize],
        q: &[f64],
        z: f64,
    ) -> Self {
        let n = labels.len();
        let mut rplus = alloc::vec![0.0; n * k];
        let mut colsum = alloc::vec![0.0; k * k]; // colsum[b*k + a] = Σ_{u∈b} r⁺_{u,a}
        for u in 0..n {
            let b = labels[u];
            let nb = sizes[b] as f64;
            for a in 0..k {
                if a == b {
                    continue;
                }
                let na = sizes[a] as f64;
                let r = r0(m, k, u, a, b, na, nb, q) - z * (na + nb) / (2.0 * nb);
                let rp = if r.is_finite() { r.max(0.0) } else { 0.0 };
                rplus[u * k + a] = rp;
                colsum[b * k + a] += rp;
            }
        }
        let mut inv_d = alloc::vec![0.0; k * k];
        for a in 0..k {
            for b in 0..k {
                if a != b {
                    let d = colsum[b * k + a].max(colsum[a * k + b]);
                    inv_d[a * k + b] = if d > 0.0 { 1.0 / d } else { 0.0 };
                }
            }
        }
        PartitionDual {
            n,
            k,
            labels: labels.to_vec(),
            rplus,
            inv_d,
        }
    }

    /// out += Z_d·x.
    fn add_apply(&self, x: &[f64], out: &mut [f64]) {
        let k = self.k;
        // t[a*k + b] = Σ_{v∈a} r⁺_{v,b} x_v
        let mut t = alloc::vec![0.0; k * k];
        for (v, &xv) in x.iter().enumerate() {
            let a = self.labels[v];
            let row = &self.rplus[v * k..(v + 1) * k];
            for b in 0..k {
                t[a * k + b] += row[b] * xv;
            }
        }
        for (u, o) in out.iter_mut().enumerate() {
            let b = self.labels[u];
            let row = &self.rplus[u * k..(u + 1) * k];
            let mut s = 0.0;
            for a in 0..k {
                if a != b {
                    s += row[a] * t[a * k + b] * self.inv_d[a * k + b];
                }
            }
            *o += s;
        }
    }

    /// Z_d(u, v) (0 inside groups).
    pub(crate) fn entry(&self, u: usize, v: usize) -> f64 {
        let (a, b) = (self.labels[v], self.labels[u]);
        if a == b {
            return 0.0;
        }
        let k = self.k;
        self.rplus[u * k + a] * self.rplus[v * k + b] * self.inv_d[a * k + b]
    }

    /// g += Z_d for the row-major n×n `g` (the dense form; the certificate's tests compare the
    /// early stop's cancelling Z_d with it).
    #[cfg(test)]
    pub(crate) fn add_dense(&self, g: &mut [f64]) {
        let (n, k) = (self.n, self.k);
        for u in 0..n {
            let b = self.labels[u];
            let ru = &self.rplus[u * k..(u + 1) * k];
            let row = &mut g[u * n..(u + 1) * n];
            for (v, x) in row.iter_mut().enumerate() {
                let a = self.labels[v];
                if a != b {
                    *x += ru[a] * self.rplus[v * k + b] * self.inv_d[a * k + b];
                }
            }
        }
    }

    /// ‖Z_d‖_F.
    fn fro(&self) -> f64 {
        let k = self.k;
        let mut sq = alloc::vec![0.0; k * k]; // sq[b*k + a] = Σ_{u∈b} (r⁺_{u,a})²
        for u in 0..self.n {
            let b = self.labels[u];
            for a in 0..k {
                sq[b * k + a] += self.rplus[u * k + a] * self.rplus[u * k + a];
            }
        }
        let mut s = 0.0;
        for a in 0..k {
            for b in 0..k {
                if a != b {
                    s += sq[b * k + a]
                        * sq[a * k + b]
                        * self.inv_d[a * k + b]
                        * self.inv_d[a * k + b];
                }
            }
        }
        libm::sqrt(s)
    }
}

/// r_{u,a} at z = 0 for u ∈ b ≠ a: `(n_a/n_b)·m_{u,b} − m_{u,a} + Q_a/(2n_a) − n_a·Q_b/(2n_b²)`
/// with m = C·H (H the group indicators) and Q_a = 1_aᵀC1_a.
#[allow(clippy::too_many_arguments)]
fn r0(m: &[f64], k: usize, u: usize, a: usize, b: usize, na: f64, nb: f64, q: &[f64]) -> f64 {
    (na / nb) * m[u * k + b] - m[u * k + a] + q[a] / (2.0 * na) - na * q[b] / (2.0 * nb * nb)
}

/// From m = C·H (row-major n×k, H the indicators of `labels`, group sizes `sizes`): the block
/// sums Q_a = 1_aᵀC1_a, and z*, the largest z that clamps no row sum r_{u,a}(z) (method.md §4a;
/// 0 when there is no off-diagonal block).
pub(crate) fn block_sums_and_zstar(
    m: &[f64],
    labels: &[usize],
    sizes: &[usize],
) -> (Vec<f64>, f64) {
    let k = sizes.len();
    let mut q = alloc::vec![0.0; k];
    for (u, &b) in labels.iter().enumerate() {
        q[b] += m[u * k + b];
    }
    let mut zstar = f64::INFINITY;
    for (u, &b) in labels.iter().enumerate() {
        let nb = sizes[b] as f64;
        for (a, &sa) in sizes.iter().enumerate() {
            if a != b {
                let na = sa as f64;
                zstar = zstar.min(2.0 * nb * r0(m, k, u, a, b, na, nb, &q) / (na + nb));
            }
        }
    }
    if !zstar.is_finite() {
        zstar = 0.0;
    }
    (q, zstar)
}

/// One evaluation of the partition certificate at a given z (diagnostics).
#[derive(Debug, Clone, Copy)]
pub struct BoundTrial {
    /// The scalar z of the dual construction.
    pub z: f64,
    /// 1ᵀG1/n.
    pub total: f64,
    /// Top Ritz value of P·G·P.
    pub theta: f64,
    /// Frobenius norm of the Ritz residual block.
    pub residual: f64,
    /// Residual norms of the Ritz pairs, and their values.
    pub residuals: [f64; 4],
    /// The first Ritz values.
    pub values: [f64; 4],
    /// The padded bound (centred units).
    pub bound: f64,
    /// The partition's value ⟨C, X_p⟩.
    pub value: f64,
}

/// The certified upper bound (centred units ⟨C, ·⟩, pad included) on every k-partition's value
/// from the partition `p` (method.md §4a), matrix-free; every z tried is reported to `trace`,
/// which may return `false` to stop the search (the best bound so far is returned; it is valid).
/// `None` for k ≤ 1, k ≥ n or when no eigen-solve succeeded.
pub fn partition_bound_with_trace(
    cen: &Centered,
    p: &Partition,
    trace: &mut dyn FnMut(&BoundTrial) -> bool,
) -> Option<f64> {
    let mut op = DenseOp::new(&cen.c, cen.n)?;
    partition_bound_trace(cen, &mut op, p, &mut FactoredStats::default(), trace)
}

fn partition_bound_trace(
    cen: &Centered,
    c_op: &mut dyn BlockOp,
    p: &Partition,
    stats: &mut FactoredStats,
    trace: &mut dyn FnMut(&BoundTrial) -> bool,
) -> Option<f64> {
    let n = cen.n;
    let k = p.num_groups();
    if k <= 1 || k >= n {
        return None;
    }
    let labels: Vec<usize> = p.labels().iter().map(|&l| l as usize).collect();
    let sizes = p.sizes();
    // m = C·H (one indicator product), Q_a, 1ᵀC1.
    let m = c_op.indicator_product(&labels, k);
    let (q, zstar) = block_sums_and_zstar(&m, &labels, &sizes);
    let ones_c: f64 = m.iter().sum();
    let pblock = (k + 6).min(n.saturating_sub(2));
    let mut best: Option<f64> = None;
    let mut start: Option<Vec<f64>> = None;
    // z* first; while λ_max(P·G·P) = θ exceeds z (S not PSD), move z towards θ (a fixed-point
    // step z ← θ, which clamps a few r at zero: still valid), keeping the best bound.
    let v_c = block_value(&cen.c, p);
    let mut z = zstar;
    let mut tried = 0;
    let mut best_z = zstar;
    let mut best_gap_dir = 0.0;
    let mut mult = 0.5;
    // A stored approximation Ã = C + E of C moves 1ᵀG1/n and λ_max by at most ‖E‖₂ each: the
    // bound adds k·‖E‖₂ (every z alike, so the search stops within 1e-8 of value + pad).
    let storage = k as f64 * c_op.storage_error();
    while tried < MAX_Z_TRIALS {
        tried += 1;
        let dual = PartitionDual::new(&labels, k, &m, &sizes, &q, z);
        let ones = alloc::vec![1.0; n];
        let mut zd1 = alloc::vec![0.0; n];
        dual.add_apply(&ones, &mut zd1);
        let total = (ones_c + zd1.iter().sum::<f64>()) / n as f64;
        let mut op = DualOp {
            c: &mut *c_op,
            dual: &dual,
        };
        let seed = 0x5eed + tried as u64;
        let Some(e) = lobpcg_top(&mut op, pblock, 1, start.as_deref(), seed, 1e-10, 400) else {
            break;
        };
        stats.products += e.products;
        let res_f = ritz_pad(&e.values, &e.residuals);
        let lam = e.values[0] + res_f + 1e-13 * (1.0 + e.values[0].abs());
        let fro_g = 1.0 + dual.fro();
        let b = total
            + (k as f64 - 1.0) * lam
            + super::certificate::rounding_pad(cen, k, fro_g)
            + storage;
        let go_on = trace(&BoundTrial {
            z,
            total,
            theta: e.values[0],
            residual: res_f,
            residuals: core::array::from_fn(|i| e.residuals.get(i * 3).copied().unwrap_or(0.0)),
            values: core::array::from_fn(|i| e.values.get(i * 3).copied().unwrap_or(0.0)),
            bound: b,
            value: v_c,
        });
        if !go_on {
            if b.is_finite() && best.is_none_or(|x| b < x) {
                best = Some(b);
            }
            break;
        }
        let theta = e.values[0];
        start = Some(e.vectors);
        let improved = b.is_finite() && best.is_none_or(|x| b < x);
        if improved {
            best = Some(b);
        }
        if best.is_some_and(|bb| bb - v_c <= 1e-8 + storage) {
            break;
        }
        // Accelerated search: step by mult·(θ − z) from the best z so far, doubling mult after
        // an improvement and halving it (from the best z) after a failure.
        if improved {
            best_z = z;
            best_gap_dir = theta - z;
            if best_gap_dir <= 0.0 {
                break;
            }
            mult *= 2.0;
        } else {
            mult *= 0.25;
        }
        z = best_z + mult * best_gap_dir;
    }
    best
}

/// The whole large-n pipeline for one k (spectral start, factored refinement, rounding,
/// certificate). `warm` with k groups is one more candidate partition.
///
/// `c_op` computes the products with C (`cen.c` on the CPU through [`DenseOp`], or a device copy
/// of it); `cen.c` itself is still read on the host by the rounding (local search, block values).
pub(crate) fn solve_factored(
    cen: &Centered,
    c_op: &mut dyn BlockOp,
    k: usize,
    settings: &SolverSettings,
    rounding: &RoundingSettings,
    warm: WarmStart<'_>,
    mut progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) -> FactoredResult {
    let n = cen.n;
    let mut stats = FactoredStats::default();
    let mut status = SolverStatus::Converged;
    let mut cands: Vec<Partition> = Vec::new();
    if let WarmStart::Partition(p) = warm {
        if p.num_groups() == k && p.n() == n {
            cands.push(if rounding.local_search {
                local_search(&cen.c, p.clone())
            } else {
                p.clone()
            });
        }
    }
    // 1. Spectral start.
    let d = k - 1;
    let pblock = (k + 4).min(n.saturating_sub(2)).max(d);
    let mut op = COp { c: &mut *c_op };
    if let Some(e) = lobpcg_top(&mut op, pblock, d, None, 0x7a5c_6e0d, 1e-6, 300) {
        stats.products += e.products;
        let mut emb = alloc::vec![0.0; n * d];
        for j in 0..d {
            let s = libm::sqrt(e.values[j].max(0.0));
            for i in 0..n {
                emb[i * d + j] = e.vectors[j * n + i] * s;
            }
        }
        if let Some(p) = round_embedding(cen, &emb, d, k, rounding) {
            cands.push(p);
        }
    } else {
        status = SolverStatus::NumericalError;
    }
    if cands.is_empty() {
        let labels: Vec<usize> = (0..n).map(|i| i % k).collect();
        cands.push(Partition::from_dense(&labels));
    }
    let pick = |cands: &[Partition]| -> Partition {
        let mut best: Option<(f64, &Partition)> = None;
        for c in cands {
            let v = block_value(&cen.c, c);
            if best.is_none_or(|(bv, _)| v > bv + 1e-12) {
                best = Some((v, c));
            }
        }
        best.map(|(_, p)| p.clone())
            .unwrap_or_else(|| cands[0].clone())
    };
    let start = pick(&cands);
    let mut shown = 0usize;
    let report = |progress: &mut Option<&mut dyn FnMut(&Progress) -> bool>,
                  obj: f64,
                  shown: &mut usize|
     -> bool {
        *shown += 1;
        match progress.as_mut() {
            Some(cb) => cb(&Progress::with_objective(
                *shown,
                f64::NAN,
                f64::NAN,
                0.0,
                cen.to_value(obj, k),
            )),
            None => true,
        }
    };
    let early_stop = !report(&mut progress, block_value(&cen.c, &start), &mut shown);
    // 2. Factored refinement from the start's factor.
    let extra = k;
    let r = k + extra;
    let u0 = partition_factor(&start, extra, rounding.seed);
    let budget = if early_stop {
        0
    } else {
        settings.max_iterations.min(FACTORED_MAX_ITERATIONS)
    };
    let mut keep_going = |it: usize, feas: f64, change: f64, obj: f64| -> bool {
        match progress.as_mut() {
            Some(cb) => cb(&Progress::with_objective(
                it,
                feas,
                change,
                0.0,
                cen.to_value(obj, k),
            )),
            None => true,
        }
    };
    let y0 = partition_multipliers(c_op, &start);
    let (u, feas, change, interrupted) = refine(
        cen,
        c_op,
        k,
        u0,
        y0,
        r,
        budget,
        settings.tolerance.max(1e-6),
        &mut stats,
        &mut keep_going,
    );
    let interrupted = interrupted || early_stop;
    if interrupted {
        status = SolverStatus::Interrupted;
    }
    // 3. Round the factor's rows (X = UUᵀ: the rows of U are the embedding) and keep the best.
    if !interrupted {
        if let Some(p) = round_embedding(cen, &u, r, k, rounding) {
            cands.push(p);
        }
    }
    let partition = match rounding.mode {
        // The paper's rule on X = UUᵀ, entries formed on the fly (O(n²·r), nothing n×n).
        Rounding::Threshold { c } => threshold_factor(&u, n, r, c / n as f64),
        Rounding::Robust => pick(&cands),
    };
    let cu = c_times(c_op, &u, r);
    stats.products += 1;
    let inner = objective(&u, &cu);
    // 4. Certificate of the chosen partition (≥ every partition's value, whatever X is).
    let v_c = block_value(&cen.c, &partition);
    // Interrupted: one z only (a valid, maybe looser bound); else report each z tried.
    let mut stop_cert = interrupted;
    let mut trace = |t: &BoundTrial| -> bool {
        if stop_cert {
            return false;
        }
        if !report(&mut progress, t.value, &mut shown) {
            stop_cert = true;
            return false;
        }
        true
    };
    let bound = partition_bound_trace(cen, c_op, &partition, &mut stats, &mut trace);
    if stop_cert {
        status = SolverStatus::Interrupted;
    }
    let bound_c = match bound {
        Some(b) => b.max(v_c),
        None => {
            status = SolverStatus::NumericalError;
            super::certificate::bound_centered(cen, k, None).unwrap_or(f64::INFINITY)
        }
    };
    if status == SolverStatus::Converged
        && !(feas <= settings.tolerance.max(1e-6) && change <= settings.tolerance.max(1e-6))
        && stats.iterations >= budget
    {
        status = SolverStatus::MaxIterations;
    }
    let sdp = SdpSolution {
        status,
        n,
        k,
        x: Vec::new(),
        objective: cen.to_value(inner, k),
        upper_bound: cen.to_value(bound_c, k),
        primal_residual: feas,
        dual_residual: change,
        iterations: stats.iterations,
        rho: 0.0,
        full_projections: 0,
        low_rank_rounds: stats.products,
        restarts: 0,
        bound_c,
        path: SolverPath::Factored,
        factor: u,
        rank: r,
    };
    FactoredResult { partition, sdp }
}

/// Values of z tried by the partition certificate (each one eigen-solve, warm-started).
const MAX_Z_TRIALS: usize = 12;

/// Iteration cap of the factored refinement (each iteration costs one product C·U).
pub const FACTORED_MAX_ITERATIONS: usize = 200;
