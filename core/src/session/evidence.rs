//! How much the trained subsets support a grouping (method.md §7, "Choosing the number of
//! groups from the subsets"): the standardised affinity, the held-out separation test of
//! [`KRule::Significant`](crate::KRule::Significant), per-task assignment margins and the
//! resampling stability of each task's group.
//!
//! **Standardised affinity** ([`standardized`]). Each task's scores are centred and divided by
//! their standard deviation over the subsets it was trained in (`z_i(S) = (f_i(S) − mean_i) /
//! sd_i`), then averaged as in Eq. 6: `D_ij` = mean of z_i(S) over the subsets S ∋ i, j, and
//! `D_ii = 0`. Per-task offsets and scales (a task whose scores are 30× larger) disappear, and
//! every entry is in units of the task's own spread, so one noise model fits all rows.
//!
//! **Folds.** Every distinct trained subset belongs to one of [`FOLDS`] = 4 folds by a hash of
//! its members ([`fold_of`]): deterministic, independent of the scores and of the order results
//! arrived in. The groups tested on fold f are found on the other three (cross-fitting): groups
//! found on half of the subsets were often wrong at the paper's budget (5n subsets), so a
//! two-fold test under-split structures that all the subsets together showed clearly
//! (method.md §6). Each task's mean
//! and sd in z_i(S) come from all its subsets whatever the fold (a quarter of a task's subsets
//! gives a noisy sd that would rescale its whole row).
//!
//! **Separation test** ([`separation`]). For a partition P (found on the other folds) and two of its
//! groups a, b, the contrast δ_ab = mean of D over the directed pairs inside a or inside b minus
//! the mean over the pairs across a and b, both on the held-out fold. δ is a linear combination
//! of independent observations z_i(S), so its variance is `Σ w_iS²·σ²` with the exact weights;
//! σ² = 1 bounds the variance of a standardised score (signal included), so the z-statistic
//! `δ / sd(δ)` is conservative. Over the folds, the smallest z of each fold are combined as
//! Σ_f z_f / √K, and the smallest δ of each fold and their τ̂ are averaged before the ratio.
//! A split is supported when every pair of groups is separated at
//! a one-sided family level of 1% (Bonferroni over the pairs, [`critical_z`]) **and** by more
//! than the spread τ̂ of the pair effects inside the groups (δ_ab ≥ τ̂, [`Separation::min_effect`];
//! τ̂ subtracts the estimation noise of each entry, measured on every subset, from the spread
//! of the fold's within-group entries around their task's level in its group, pooled over the
//! folds, [`Separation::pooled_spread`]):
//! groups must differ by more than pairs of one group differ from each other. Without this,
//! fixed pair-to-pair differences with no group structure (which replicate across folds, so no
//! significance test removes them) would always support some split once enough is trained.

use alloc::vec;
use alloc::vec::Vec;

use super::aggregate::{AffinityBuilder, AffinityEstimate, FillRule};
use crate::error::Error;

/// One-sided family-wise level of the separation test (Bonferroni over pairs of groups).
pub const FAMILY_LEVEL: f64 = 0.01;

/// Number of folds K of the cross-fitted separation test: each fold's groups are found on the
/// other K − 1 folds (3/4 of the subsets) and tested on it.
pub const FOLDS: u8 = 4;

/// Which distinct subsets an estimate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// Every subset.
    All,
    /// Only the subsets of fold f (0..[`FOLDS`], [`fold_of`]).
    Only(u8),
    /// Every subset but those of fold f.
    Except(u8),
}

impl Fold {
    /// Whether this selection uses `subset`.
    pub fn admits(self, subset: &[usize]) -> bool {
        match self {
            Fold::All => true,
            Fold::Only(f) => fold_of(subset) == f,
            Fold::Except(f) => fold_of(subset) != f,
        }
    }
}

/// The fold (0..[`FOLDS`]) of a subset: a hash of its sorted members.
pub fn fold_of(subset: &[usize]) -> u8 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &t in subset {
        h = crate::random::splitmix64(h ^ t as u64);
    }
    ((h >> 32) % u64::from(FOLDS)) as u8
}

/// Standardised observations z_i(S) of one fold: (subset, task, z), in the builder's order.
pub(crate) struct Observations<'a> {
    pub(crate) obs: Vec<(&'a [usize], usize, f64)>,
}

/// The standardised observations of a fold (module docs); `sign` = +1 for scores, −1 for losses.
pub(crate) fn observations(
    b: &AffinityBuilder,
    higher_is_better: bool,
    fold: Fold,
) -> Observations<'_> {
    let n = b.n();
    let sign = if higher_is_better { 1.0 } else { -1.0 };
    let mut sum = vec![0.0; n];
    let mut sq = vec![0.0; n];
    let mut cnt = vec![0usize; n];
    let mut raw: Vec<(&[usize], usize, f64)> = Vec::new();
    // Every task's mean and sd come from all its subsets, whatever the fold: a fold holds a
    // few observations per task, and standardising by their own sd would rescale whole rows by
    // a noisy factor (spread that the pair-spread τ̂ would mistake for pair effects).
    for e in b.entries() {
        let v = sign * e.mean;
        if let (Some(s), Some(c)) = (sum.get_mut(e.task), cnt.get_mut(e.task)) {
            *s += v;
            *c += 1;
        }
        raw.push((e.subset, e.task, v));
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&cnt)
        .map(|(&s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
        .collect();
    for &(_, i, v) in &raw {
        if let (Some(q), Some(m)) = (sq.get_mut(i), mean.get(i)) {
            *q += (v - m) * (v - m);
        }
    }
    let sd: Vec<f64> = sq
        .iter()
        .zip(&cnt)
        .map(|(&q, &c)| {
            let s = if c > 0 { libm::sqrt(q / c as f64) } else { 0.0 };
            if s.is_finite() && s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect();
    let obs = raw
        .into_iter()
        .filter(|&(s, _, _)| fold.admits(s))
        .map(|(s, i, v)| {
            let m = mean.get(i).copied().unwrap_or(0.0);
            let d = sd.get(i).copied().unwrap_or(1.0);
            (s, i, (v - m) / d)
        })
        .collect();
    Observations { obs }
}

/// Directed coverage of a set of observations (n×n, row-major).
fn coverage_of(n: usize, o: &Observations<'_>) -> Result<Vec<u32>, Error> {
    let mut cov: Vec<u32> = crate::memory::try_square(n)?;
    for &(s, i, _) in &o.obs {
        for &j in s {
            if let Some(c) = cov.get_mut(i * n + j) {
                *c = c.saturating_add(1);
            }
        }
    }
    Ok(cov)
}

/// The standardised Eq. 6 affinity of one fold (module docs), filled by `fill`.
pub fn standardized(
    b: &AffinityBuilder,
    higher_is_better: bool,
    fill: FillRule,
    fold: Fold,
) -> Result<AffinityEstimate, Error> {
    fill.validate()?;
    let n = b.n();
    let o = observations(b, higher_is_better, fold);
    let cov = coverage_of(n, &o)?;
    let mut sum: Vec<f64> = crate::memory::try_square(n)?;
    for &(s, i, z) in &o.obs {
        for &j in s {
            if j != i {
                if let Some(x) = sum.get_mut(i * n + j) {
                    *x += z;
                }
            }
        }
    }
    for (x, &c) in sum.iter_mut().zip(&cov) {
        if c > 0 {
            *x /= f64::from(c);
        }
    }
    AffinityEstimate::from_parts(n, sum, cov, fill)
}

/// The separation of every pair of groups of a partition, measured on one fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Separation {
    /// Number of groups g.
    pub groups: usize,
    /// z-statistic of every pair (a, b), a < b, row-major g×g (upper triangle used); `None`
    /// when the fold has no within or no across pair for them.
    pub z: Vec<Option<f64>>,
    /// The contrast δ_ab of every pair (same layout), in standardised units.
    pub delta: Vec<Option<f64>>,
    /// τ̂: the spread (standard deviation) of the pair effects D_ij inside the groups, each
    /// around its task's level in its group (the mean of row i over i's group), with the
    /// estimation noise of each entry removed (0 when the noise explains all of it).
    pub pair_spread: f64,
    /// The parts of τ̂² = max(0, (spread_ss − spread_noise) / spread_df), so that folds can be
    /// pooled ([`Separation::pooled_spread`]): the within-group entries' squared deviations
    /// from their task's level in its group, the estimation noise expected in them, and their
    /// degrees of freedom (0 when no task has two partners of its group measured).
    pub spread_ss: f64,
    /// See [`Separation::spread_ss`].
    pub spread_noise: f64,
    /// See [`Separation::spread_ss`].
    pub spread_df: f64,
}

impl Separation {
    /// τ̂ over several folds' separations: sums of squares, noise and degrees of freedom pooled
    /// before the square root (per-fold τ̂ from a few noisy entries, each truncated at 0 and
    /// then averaged, is biased upwards where noise dominates); 0 with no degrees of freedom.
    pub fn pooled_spread<'a>(folds: impl IntoIterator<Item = &'a Separation>) -> f64 {
        let (mut ss, mut noise, mut df) = (0.0, 0.0, 0.0);
        for f in folds {
            ss += f.spread_ss;
            noise += f.spread_noise;
            df += f.spread_df;
        }
        spread_from(ss, noise, df)
    }

    /// The smallest δ_ab / τ̂ over all pairs of groups: how far apart the groups are in units
    /// of how much pairs inside a group differ (`None` when a pair is untestable or g < 2;
    /// +inf when τ̂ = 0).
    pub fn min_effect(&self) -> Option<f64> {
        let tau = self.pair_spread;
        self.min_over_pairs(&self.delta, |d| {
            if tau > 0.0 {
                d / tau
            } else if d > 0.0 {
                f64::INFINITY
            } else {
                0.0
            }
        })
    }

    /// The smallest contrast δ_ab over all pairs of groups, in standardised units (`None` when
    /// a pair is untestable or g < 2).
    pub fn min_delta(&self) -> Option<f64> {
        self.min_over_pairs(&self.delta, |d| d)
    }

    /// The smallest z over all pairs of groups (`None` when a pair is untestable or g < 2).
    pub fn min_z(&self) -> Option<f64> {
        self.min_over_pairs(&self.z, |z| z)
    }

    /// The smallest `f(v_ab)` over the pairs a < b of a g×g table (`None` when an entry is
    /// missing or g < 2).
    fn min_over_pairs(&self, table: &[Option<f64>], f: impl Fn(f64) -> f64) -> Option<f64> {
        let g = self.groups;
        if g < 2 {
            return None;
        }
        let mut m = f64::INFINITY;
        for a in 0..g {
            for b in a + 1..g {
                m = m.min(f(table.get(a * g + b).copied().flatten()?));
            }
        }
        Some(m)
    }
}

/// The number of groups `labels` names: one more than its largest label other than
/// `usize::MAX` (tasks outside the partition), 0 when there is none.
fn group_count(labels: &[usize]) -> usize {
    labels
        .iter()
        .filter(|&&l| l != usize::MAX)
        .max()
        .map_or(0, |&m| m + 1)
}

/// The separation test of the module docs for `labels` (group of every task, `usize::MAX`
/// for tasks outside the partition) on the observations of `fold`.
pub fn separation(
    b: &AffinityBuilder,
    higher_is_better: bool,
    fold: Fold,
    labels: &[usize],
) -> Result<Separation, Error> {
    let n = b.n();
    let g = group_count(labels);
    let o = observations(b, higher_is_better, fold);
    let cov = coverage_of(n, &o)?;
    let lab = |t: usize| labels.get(t).copied().unwrap_or(usize::MAX);
    let mut nw = vec![0usize; g];
    let mut nx = vec![0usize; g * g];
    for i in 0..n {
        let li = lab(i);
        if li == usize::MAX {
            continue;
        }
        for j in 0..n {
            let lj = lab(j);
            if i == j || lj == usize::MAX || cov.get(i * n + j).copied().unwrap_or(0) == 0 {
                continue;
            }
            if li == lj {
                nw[li] += 1;
            } else {
                nx[li * g + lj] += 1;
            }
        }
    }
    let mut sw = vec![0.0; g];
    let mut qww = vec![0.0; g];
    let mut sx = vec![0.0; g * g];
    let mut qwc = vec![0.0; g * g];
    let mut qcc = vec![0.0; g * g];
    let mut uc = vec![0.0; g];
    let mut touched: Vec<usize> = Vec::new();
    for &(s, i, z) in &o.obs {
        let li = lab(i);
        if li == usize::MAX {
            continue;
        }
        let mut uw = 0.0;
        touched.clear();
        for &j in s {
            let lj = lab(j);
            if j == i || lj == usize::MAX {
                continue;
            }
            let c = f64::from(cov.get(i * n + j).copied().unwrap_or(1).max(1));
            if lj == li {
                uw += 1.0 / c;
            } else {
                if uc[lj] == 0.0 {
                    touched.push(lj);
                }
                uc[lj] += 1.0 / c;
            }
        }
        sw[li] += z * uw;
        qww[li] += uw * uw;
        for &h in &touched {
            sx[li * g + h] += z * uc[h];
            qwc[li * g + h] += uw * uc[h];
            qcc[li * g + h] += uc[h] * uc[h];
        }
        // Pairs (li, h) with no partner of h in S still carry u_w·0 cross terms: only
        // Q_ww, accumulated above, sees them.
        for &h in &touched {
            uc[h] = 0.0;
        }
    }
    // The fold's entries D_ij (each the mean of c_ij observations); s² below is measured on
    // every subset, not only this fold's (a fold holds few entries measured twice,
    // [`noise_variance`]).
    let mut dsum = vec![0.0; n * n];
    for &(s, i, z) in &o.obs {
        for &j in s {
            if j != i {
                if let Some(a) = dsum.get_mut(i * n + j) {
                    *a += z;
                }
            }
        }
    }
    // The spread of the pair effects inside groups, around each task's own level in its group
    // (pooled over the rows, Σ (m_i − 1) degrees of freedom for a row of m_i within-group
    // entries): how far one task's partners in its group differ from each other. A task's
    // level (its own benefit from its group; after standardisation also the offset and scale
    // of a task trained in few subsets, and the level of its group) is not pair-to-pair spread.
    // The estimation noise removed is what it adds to those residuals, (1 − 1/m_i)·Σ_j s²/c_ij
    // per row, s² the pooled variance of observations around their entry.
    let (mut ss, mut df, mut inv) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let li = lab(i);
        if li == usize::MAX {
            continue;
        }
        let (mut sum, mut sq, mut cnt, mut row_inv) = (0.0, 0.0, 0.0, 0.0);
        for j in 0..n {
            let c = cov.get(i * n + j).copied().unwrap_or(0);
            if i == j || c == 0 || lab(j) != li {
                continue;
            }
            let cf = f64::from(c);
            let mean = dsum.get(i * n + j).copied().unwrap_or(0.0) / cf;
            sum += mean;
            sq += mean * mean;
            cnt += 1.0;
            row_inv += 1.0 / cf;
        }
        if cnt >= 2.0 {
            ss += (sq - sum * sum / cnt).max(0.0);
            df += cnt - 1.0;
            inv += (1.0 - 1.0 / cnt) * row_inv;
        }
    }
    let noise_var = noise_variance(&observations(b, higher_is_better, Fold::All), n)?;
    let spread_noise = noise_var * inv;
    let pair_spread = spread_from(ss, spread_noise, df);
    let mut zs = vec![None; g * g];
    let mut deltas = vec![None; g * g];
    for a in 0..g {
        for bb in a + 1..g {
            let nwt = (nw[a] + nw[bb]) as f64;
            let nxt = (nx[a * g + bb] + nx[bb * g + a]) as f64;
            if nwt == 0.0 || nxt == 0.0 {
                continue;
            }
            let mw = (sw[a] + sw[bb]) / nwt;
            let mc = (sx[a * g + bb] + sx[bb * g + a]) / nxt;
            let var = (qww[a] + qww[bb]) / (nwt * nwt)
                - 2.0 * (qwc[a * g + bb] + qwc[bb * g + a]) / (nwt * nxt)
                + (qcc[a * g + bb] + qcc[bb * g + a]) / (nxt * nxt);
            deltas[a * g + bb] = Some(mw - mc);
            if var > 0.0 && var.is_finite() {
                zs[a * g + bb] = Some((mw - mc) / libm::sqrt(var));
            }
        }
    }
    Ok(Separation {
        groups: g,
        z: zs,
        delta: deltas,
        pair_spread,
        spread_ss: ss,
        spread_noise,
        spread_df: df,
    })
}

/// τ̂ = √max(0, (ss − noise) / df); 0 when df < 1.
fn spread_from(ss: f64, noise: f64, df: f64) -> f64 {
    if df >= 1.0 {
        libm::sqrt(((ss - noise) / df).max(0.0))
    } else {
        0.0
    }
}

/// The pooled variance of standardised observations around the mean of their entry D_ij, over
/// the entries measured at least twice (the estimation noise of one observation); 0 when no
/// entry is measured twice, so that the pair spread τ̂ is then the raw spread of the entries
/// (an upper bound: conservative for the effect criterion).
fn noise_variance(o: &Observations<'_>, n: usize) -> Result<f64, Error> {
    let cov = coverage_of(n, o)?;
    let mut dsum: Vec<f64> = crate::memory::try_square(n)?;
    let mut dsq: Vec<f64> = crate::memory::try_square(n)?;
    for &(s, i, z) in &o.obs {
        for &j in s {
            if j != i {
                if let (Some(a), Some(b)) = (dsum.get_mut(i * n + j), dsq.get_mut(i * n + j)) {
                    *a += z;
                    *b += z * z;
                }
            }
        }
    }
    let (mut ss, mut df) = (0.0, 0.0);
    for ((&c, &a), &q) in cov.iter().zip(&dsum).zip(&dsq) {
        if c >= 2 {
            let cf = f64::from(c);
            let m = a / cf;
            ss += (q - cf * m * m).max(0.0);
            df += cf - 1.0;
        }
    }
    Ok(if df > 0.0 { ss / df } else { 0.0 })
}

/// The one-sided critical value for g groups: Φ⁻¹(1 − [`FAMILY_LEVEL`] / pairs), pairs =
/// g(g−1)/2 (Bonferroni).
pub fn critical_z(groups: usize) -> f64 {
    let pairs = (groups * groups.saturating_sub(1) / 2).max(1) as f64;
    upper_quantile(FAMILY_LEVEL / pairs)
}

/// z with P(N(0,1) > z) = p, for p in (0, 0.5] (bisection on erfc; 1e-12 accuracy).
pub fn upper_quantile(p: f64) -> f64 {
    let tail = |z: f64| 0.5 * libm::erfc(z / core::f64::consts::SQRT_2);
    let (mut lo, mut hi) = (0.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if tail(mid) > p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// How settled every task's group is: for task u in group g, the margin
/// `(m_g − max_{h≠g} m_h) / sqrt(s_g²/c_g + s_h²/c_h)` where m_h is the mean standardised
/// affinity (symmetrised) of u to the observed members of h, c_h their number and s_h² their
/// sample variance (1 with fewer than three). `None` for tasks
/// outside the partition; 0 when a margin cannot be measured (no observed partner).
pub fn assignment_margins(est: &AffinityEstimate, labels: &[usize]) -> Vec<Option<f64>> {
    let n = est.n();
    let g = group_count(labels);
    let d = est.directed();
    let mut out = vec![None; n];
    let mut sum = vec![0.0; g];
    let mut sq = vec![0.0; g];
    let mut cnt = vec![0usize; g];
    for (u, o) in out.iter_mut().enumerate() {
        let lu = labels.get(u).copied().unwrap_or(usize::MAX);
        if lu == usize::MAX {
            continue;
        }
        sum.iter_mut().for_each(|x| *x = 0.0);
        sq.iter_mut().for_each(|x| *x = 0.0);
        cnt.iter_mut().for_each(|x| *x = 0);
        for v in 0..n {
            let lv = labels.get(v).copied().unwrap_or(usize::MAX);
            if v == u || lv == usize::MAX {
                continue;
            }
            if est.coverage_at(u, v) == 0 && est.coverage_at(v, u) == 0 {
                continue;
            }
            let x = 0.5
                * (d.get(u * n + v).copied().unwrap_or(0.0)
                    + d.get(v * n + u).copied().unwrap_or(0.0));
            sum[lv] += x;
            sq[lv] += x * x;
            cnt[lv] += 1;
        }
        let own = cnt[lu];
        let mut best: Option<(f64, usize)> = None;
        for h in 0..g {
            if h == lu || cnt[h] == 0 {
                continue;
            }
            let m = sum[h] / cnt[h] as f64;
            if best.is_none_or(|(bm, _)| m > bm) {
                best = Some((m, h));
            }
        }
        // Squared standard error of a group's mean: the entries' sample variance over their
        // number (1 per entry, the bound for standardised scores, with fewer than 3 entries).
        let se2 = |h: usize| -> f64 {
            let c = cnt[h] as f64;
            if cnt[h] < 3 {
                return 1.0 / c.max(1.0);
            }
            let m = sum[h] / c;
            ((sq[h] - c * m * m) / (c - 1.0)).max(1e-12) / c
        };
        *o = Some(match best {
            None if g <= 1 => f64::INFINITY,
            None => 0.0,
            Some(_) if own == 0 => 0.0,
            Some((m, h)) => {
                let mo = sum[lu] / own as f64;
                (mo - m) / libm::sqrt(se2(lu) + se2(h))
            }
        });
    }
    out
}

/// A distinct subset with its members' (task, value) pairs.
type SubsetValues<'a> = (&'a [usize], Vec<(usize, f64)>);

/// How stable every task's group is when the trained subsets are resampled: over `resamples`
/// bootstrap draws of the distinct subsets (with replacement, seeded), the fraction in which the
/// task's mean standardised affinity (both directions) is highest to its own group of `labels`.
/// `None` for tasks outside the partition; 1 for every task when there is one group.
pub fn assignment_stability(
    b: &AffinityBuilder,
    higher_is_better: bool,
    labels: &[usize],
    resamples: usize,
    seed: u64,
) -> Vec<Option<f64>> {
    use rand_core::SeedableRng;
    let n = b.n();
    let g = group_count(labels);
    let lab = |t: usize| labels.get(t).copied().unwrap_or(usize::MAX);
    let mut out: Vec<Option<f64>> = (0..n)
        .map(|t| (lab(t) != usize::MAX).then_some(if g <= 1 { 1.0 } else { 0.0 }))
        .collect();
    if g <= 1 || resamples == 0 {
        return out;
    }
    // Distinct subsets with their members' values (sign applied).
    let sign = if higher_is_better { 1.0 } else { -1.0 };
    let mut subsets: Vec<SubsetValues<'_>> = Vec::new();
    for e in b.entries() {
        match subsets.last_mut() {
            Some((s, v)) if *s == e.subset => v.push((e.task, sign * e.mean)),
            _ => subsets.push((e.subset, alloc::vec![(e.task, sign * e.mean)])),
        }
    }
    let m = subsets.len();
    if m == 0 {
        return out;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(crate::random::stream_seed(seed, 0xB007));
    let mut hits = vec![0usize; n];
    let mut w = vec![0.0f64; m];
    let mut mean = vec![0.0; n];
    let mut sd = vec![0.0; n];
    let mut tot = vec![0.0; n];
    let mut num = vec![0.0; n * g];
    let mut den = vec![0.0; n * g];
    for _ in 0..resamples {
        w.iter_mut().for_each(|x| *x = 0.0);
        for _ in 0..m {
            w[crate::random::below(&mut rng, m)] += 1.0;
        }
        mean.iter_mut().for_each(|x| *x = 0.0);
        sd.iter_mut().for_each(|x| *x = 0.0);
        tot.iter_mut().for_each(|x| *x = 0.0);
        for ((_, vals), &ws) in subsets.iter().zip(&w) {
            for &(t, v) in vals {
                mean[t] += ws * v;
                tot[t] += ws;
            }
        }
        for t in 0..n {
            if tot[t] > 0.0 {
                mean[t] /= tot[t];
            }
        }
        for ((_, vals), &ws) in subsets.iter().zip(&w) {
            for &(t, v) in vals {
                sd[t] += ws * (v - mean[t]) * (v - mean[t]);
            }
        }
        for t in 0..n {
            let s2 = if tot[t] > 0.0 { sd[t] / tot[t] } else { 0.0 };
            sd[t] = if s2 > 0.0 { libm::sqrt(s2) } else { 1.0 };
        }
        num.iter_mut().for_each(|x| *x = 0.0);
        den.iter_mut().for_each(|x| *x = 0.0);
        for ((s, vals), &ws) in subsets.iter().zip(&w) {
            if ws == 0.0 {
                continue;
            }
            for &(i, v) in vals {
                let z = (v - mean[i]) / sd[i];
                for &j in s.iter() {
                    let lj = lab(j);
                    let li = lab(i);
                    if j == i || lj == usize::MAX || li == usize::MAX {
                        continue;
                    }
                    // i's score with partner j informs i about j's group and j about i's.
                    num[i * g + lj] += ws * z;
                    den[i * g + lj] += ws;
                    num[j * g + li] += ws * z;
                    den[j * g + li] += ws;
                }
            }
        }
        for t in 0..n {
            let lt = lab(t);
            if lt == usize::MAX {
                continue;
            }
            let mut best: Option<(f64, usize)> = None;
            for h in 0..g {
                let d = den[t * g + h];
                if d > 0.0 {
                    let x = num[t * g + h] / d;
                    if best.is_none_or(|(bx, _)| x > bx) {
                        best = Some((x, h));
                    }
                }
            }
            if best.is_some_and(|(_, h)| h == lt) {
                hits[t] += 1;
            }
        }
    }
    for (o, &h) in out.iter_mut().zip(&hits) {
        if o.is_some() {
            *o = Some(h as f64 / resamples as f64);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        assert!((upper_quantile(0.025) - 1.959_964).abs() < 1e-5);
        assert!((upper_quantile(0.01) - 2.326_348).abs() < 1e-5);
        assert!(critical_z(5) > critical_z(2));
    }

    #[test]
    fn folds_are_balanced_and_order_free() {
        let mut c = [0usize; FOLDS as usize];
        for a in 0..30 {
            for b in a + 1..30 {
                c[fold_of(&[a, b]) as usize] += 1;
            }
        }
        // 435 pairs: about 109 a fold.
        assert!(c.iter().all(|&x| x > 80), "{c:?}");
    }

    /// Two groups of 3 and 9 tasks, every pair trained once, score +1 with a partner of the
    /// same group and 0 otherwise, no pair effects and no noise. After standardisation the small
    /// group's within-group entries sit higher than the large group's (each task is centred on
    /// its mostly cross-group subsets), but no two pairs of one group differ: τ̂ = 0 up to
    /// rounding. Measured around one mean over both groups, τ̂ was the gap between the levels.
    #[test]
    fn pair_spread_ignores_differences_between_group_levels() -> Result<(), Error> {
        let n = 12;
        let labels: Vec<usize> = (0..n).map(|t| usize::from(t >= 3)).collect();
        let mut b = AffinityBuilder::new(n)?;
        for i in 0..n {
            for j in i + 1..n {
                let s = if labels[i] == labels[j] { 1.0 } else { 0.0 };
                b.add_subset(&[i, j], &[s, s])?;
            }
        }
        let sep = separation(&b, true, Fold::All, &labels)?;
        // Entries are O(1); the variance cancels to ~1e-16, so τ̂ is ~1e-8 from rounding.
        assert!(sep.pair_spread < 1e-6, "τ̂ = {}", sep.pair_spread);
        let effect = sep.min_effect().ok_or(Error::Empty)?;
        assert!(effect > 1e5, "effect {effect}");
        let z = sep.z.get(1).copied().flatten().ok_or(Error::Empty)?;
        assert!(z > 0.0, "z = {z}");
        Ok(())
    }
}
