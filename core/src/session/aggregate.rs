//! Affinity from subset training results (paper Eq. 6, App. B.3; method.md §7).
//!
//! A trainer fits one model on a subset S of the tasks and reports a score f_i(S) for each task
//! i ∈ S. [`AffinityBuilder`] collects such records one at a time, in any order, and turns them
//! into an affinity matrix in one of three ways:
//!
//! - [`AffinityBuilder::higher_order`] (paper Eq. 6): `T_ij` = mean of f_i(S) over the distinct
//!   recorded subsets S that contain both i and j; `T_ii` = mean of f_i(S) over those containing i.
//! - [`AffinityBuilder::pairwise`] (Standley-style): only subsets of size 2, relative to the
//!   single-task score: `A_ij = (f_i({i,j}) − f_i({i})) / |f_i({i})|`.
//! - [`AffinityBuilder::surrogate`] (paper App. B.3): per task i a linear model
//!   `f_i(S) ≈ Σ_{j∈S} θ_ij` fitted by ridge-regularised least squares, which also predicts
//!   whether a new subset transfers negatively to a task.
//!
//! **Direction.** Scores are "higher is better" by default. For losses set
//! `higher_is_better = false`: every score is negated (f = −loss) before anything else, so all
//! matrices this module returns are in "larger = better" units, as [`Affinity`] expects.
//! A per-task offset (task i's scores all shifted by a constant) moves row i of Eq. 6 by that
//! constant, which the grouping objective ignores (method.md §2): no per-task normalisation is
//! needed for offsets, only for scales.
//!
//! **Duplicates.** Records for the same (subset, task) are kept, counted and averaged: each
//! distinct subset enters every estimate once, with the mean of its records. Values are kept in
//! sorted order, so the result is bit-for-bit the same whatever order the records came in.
//!
//! **Coverage and fill.** Pairs never sampled together have no estimate. The directed coverage
//! `c_ij` counts the distinct subsets S ∋ i, j with a record of f_i(S) (`c_ii`: subsets ∋ i).
//! Missing entries are filled by a [`FillRule`] in the directed matrix, which is then
//! symmetrised as `(T + Tᵀ)/2` (the only part the objective sees). AdaGroup never samples across
//! two existing clusters, so its cross-cluster pairs are exactly the missing ones.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use nalgebra::{DMatrix, DVector};

use crate::affinity::Affinity;
use crate::error::Error;

/// How entries of pairs never sampled together are filled (all in "larger = better" units).
///
/// For every rule, a row with no observed off-diagonal entry (task i never sampled with another
/// task) falls back to its own diagonal `T_ii`, then to the same statistic over all observed
/// off-diagonal entries, then to 0; a missing diagonal (task i has no record at all) is the mean
/// of the observed diagonal entries, else 0. `Constant` fills every missing entry, diagonal
/// included, with its value.
#[derive(Debug, Clone, Copy, PartialEq, Default, bincode::Encode, bincode::Decode)]
pub enum FillRule {
    /// Missing `T_ij` := the minimum observed off-diagonal entry of row i: a pair never trained
    /// together counts as task i's worst observed partner (pessimistic; keeps AdaGroup's
    /// never-co-sampled clusters apart). Default.
    #[default]
    RowMin,
    /// Missing `T_ij` := the mean of the observed off-diagonal entries of row i (neutral).
    RowMean,
    /// Missing entries := this value (finite), in the units of the returned matrix.
    Constant(f64),
}

impl FillRule {
    /// Checks that a `Constant` is finite.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            FillRule::Constant(c) if !c.is_finite() => Err(Error::InvalidSetting {
                name: "fill",
                reason: "the constant must be finite",
            }),
            _ => Ok(()),
        }
    }
}

/// Settings of [`AffinityBuilder::higher_order`]; `Default`: scores, [`FillRule::RowMin`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggregateSettings {
    /// `true` (default): larger scores are better. `false`: scores are losses and are negated.
    pub higher_is_better: bool,
    /// How pairs never sampled together are filled.
    pub fill: FillRule,
}

impl Default for AggregateSettings {
    fn default() -> Self {
        AggregateSettings {
            higher_is_better: true,
            fill: FillRule::RowMin,
        }
    }
}

/// Settings of [`AffinityBuilder::pairwise`]; `Default`: scores, relative, [`FillRule::RowMin`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairwiseSettings {
    /// `true` (default): larger scores are better. `false`: scores are losses and are negated.
    pub higher_is_better: bool,
    /// `true` (default): divide the change by |f_i({i})| (Standley et al.); `false`: the plain
    /// difference `f_i({i,j}) − f_i({i})`.
    pub relative: bool,
    /// How pairs without a record (or tasks without a single-task record) are filled.
    pub fill: FillRule,
}

impl Default for PairwiseSettings {
    fn default() -> Self {
        PairwiseSettings {
            higher_is_better: true,
            relative: true,
            fill: FillRule::RowMin,
        }
    }
}

/// Settings of [`AffinityBuilder::surrogate`]; `Default`: scores, ridge 1e-3.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurrogateSettings {
    /// `true` (default): larger scores are better. `false`: scores are losses and are negated.
    pub higher_is_better: bool,
    /// Ridge weight λ on θ_ij for j ≠ i (the intercept θ_ii is not penalised); finite, > 0.
    /// It is added to the normal matrix, whose diagonal holds record counts, so 1e-3 (default)
    /// is small next to one record.
    pub ridge: f64,
}

impl Default for SurrogateSettings {
    fn default() -> Self {
        SurrogateSettings {
            higher_is_better: true,
            ridge: 1e-3,
        }
    }
}

/// One distinct (subset, task) entry of an [`AffinityBuilder`]: the mean of its records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubsetScore<'a> {
    /// The subset, sorted 0-based task indices.
    pub subset: &'a [usize],
    /// The task the score is for (a member of `subset`).
    pub task: usize,
    /// Mean of the recorded scores, in the caller's units (not negated).
    pub mean: f64,
    /// Number of records averaged (≥ 1; > 1 means duplicates).
    pub count: usize,
}

/// Collects subset results f_i(S) one at a time, in any order, for n tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct AffinityBuilder {
    n: usize,
    /// Sorted subset → per member (same order), the recorded values sorted by `total_cmp`.
    subsets: BTreeMap<Vec<usize>, Vec<Vec<f64>>>,
    records: usize,
}

impl AffinityBuilder {
    /// An empty collection for n tasks (0-based indices 0..n); n ≥ 1.
    pub fn new(n: usize) -> Result<Self, Error> {
        if n == 0 {
            return Err(Error::Empty);
        }
        Ok(AffinityBuilder {
            n,
            subsets: BTreeMap::new(),
            records: 0,
        })
    }

    /// Number of tasks n.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Records f_task(subset) = score. The subset may be in any order; it must be non-empty,
    /// without repeats, within 0..n and contain `task`; the score must be finite
    /// (`NonFiniteScore { index: 0 }` otherwise). On error nothing is recorded.
    pub fn add(&mut self, subset: &[usize], task: usize, score: f64) -> Result<(), Error> {
        let key = self.canonical(subset)?;
        let pos = key.binary_search(&task).map_err(|_| Error::InvalidSubset {
            reason: "the task is not a member of the subset",
        })?;
        if !score.is_finite() {
            return Err(Error::NonFiniteScore { index: 0 });
        }
        let len = key.len();
        let slots = self
            .subsets
            .entry(key)
            .or_insert_with(|| alloc::vec![Vec::new(); len]);
        if let Some(vals) = slots.get_mut(pos) {
            insert_sorted(vals, score);
        }
        self.records += 1;
        Ok(())
    }

    /// Records one result per member: `scores[p]` is f_{subset[p]}(subset), in the order the
    /// subset is given. All-or-nothing: on error (bad subset, wrong count, non-finite score at
    /// position p → `NonFiniteScore { index: p }`) nothing is recorded.
    pub fn add_subset(&mut self, subset: &[usize], scores: &[f64]) -> Result<(), Error> {
        let key = self.canonical(subset)?;
        check_scores(scores, subset.len())?;
        let len = key.len();
        let mut placed: Vec<(usize, f64)> = Vec::with_capacity(len);
        for (&t, &s) in subset.iter().zip(scores) {
            // canonical() checked membership and uniqueness, so the search succeeds.
            if let Ok(pos) = key.binary_search(&t) {
                placed.push((pos, s));
            }
        }
        let slots = self
            .subsets
            .entry(key)
            .or_insert_with(|| alloc::vec![Vec::new(); len]);
        for (pos, s) in placed {
            if let Some(vals) = slots.get_mut(pos) {
                insert_sorted(vals, s);
            }
        }
        self.records += scores.len();
        Ok(())
    }

    /// Total records added, duplicates included.
    pub fn num_records(&self) -> usize {
        self.records
    }

    /// Number of distinct subsets with at least one record.
    pub fn num_subsets(&self) -> usize {
        self.subsets.len()
    }

    /// Number of distinct (subset, task) entries with at least one record.
    pub fn num_entries(&self) -> usize {
        self.subsets
            .values()
            .flat_map(|v| v.iter())
            .filter(|v| !v.is_empty())
            .count()
    }

    /// Records that repeated an existing (subset, task) entry: `num_records − num_entries`.
    pub fn num_duplicates(&self) -> usize {
        self.records - self.num_entries()
    }

    /// Number of records of f_task(subset) (0 when none or when the subset is invalid).
    pub fn count(&self, subset: &[usize], task: usize) -> usize {
        self.values(subset, task).map_or(0, |v| v.len())
    }

    /// Mean of the records of f_task(subset) in the caller's units, or `None` when there is none.
    pub fn mean(&self, subset: &[usize], task: usize) -> Option<f64> {
        self.values(subset, task)
            .and_then(|v| mean_sorted(v.as_slice()))
    }

    /// Every distinct (subset, task) entry, subsets in lexicographic order, tasks ascending.
    pub fn entries(&self) -> impl Iterator<Item = SubsetScore<'_>> + '_ {
        self.subsets.iter().flat_map(|(s, slots)| {
            s.iter().zip(slots).filter_map(move |(&task, vals)| {
                mean_sorted(vals).map(|mean| SubsetScore {
                    subset: s,
                    task,
                    mean,
                    count: vals.len(),
                })
            })
        })
    }

    /// Higher-order affinity (paper Eq. 6) with coverage, fill and symmetrisation (module docs).
    pub fn higher_order(&self, settings: &AggregateSettings) -> Result<AffinityEstimate, Error> {
        settings.fill.validate()?;
        let n = self.n;
        let sign = if settings.higher_is_better { 1.0 } else { -1.0 };
        let mut sum: Vec<f64> = crate::memory::try_square(n)?;
        let mut cov: Vec<u32> = crate::memory::try_square(n)?;
        for (subset, slots) in &self.subsets {
            for (&i, vals) in subset.iter().zip(slots) {
                let Some(m) = mean_sorted(vals) else { continue };
                let f = sign * m;
                for &j in subset {
                    sum[i * n + j] += f;
                    cov[i * n + j] = cov[i * n + j].saturating_add(1);
                }
            }
        }
        for (s, &c) in sum.iter_mut().zip(&cov) {
            if c > 0 {
                *s /= f64::from(c);
            }
        }
        AffinityEstimate::from_parts(n, sum, cov, settings.fill)
    }

    /// Pairwise affinity from subsets of size 2, relative to the single-task score (module docs).
    ///
    /// `A_ij = (g_i({i,j}) − g_i({i})) / |g_i({i})|` with g = ±f by `higher_is_better` (positive:
    /// j helps i); `relative = false` drops the division. `A_ii = 0` when task i has a single-task
    /// record. Subsets of other sizes are ignored; a pair whose task has no single-task record is
    /// missing (coverage 0) and filled. Error `ZeroBaseline` when a used single-task score is 0
    /// in relative mode.
    pub fn pairwise(&self, settings: &PairwiseSettings) -> Result<AffinityEstimate, Error> {
        settings.fill.validate()?;
        let n = self.n;
        let sign = if settings.higher_is_better { 1.0 } else { -1.0 };
        let mut base: Vec<Option<f64>> = alloc::vec![None; n];
        for (subset, slots) in &self.subsets {
            if let ([i], [vals]) = (subset.as_slice(), slots.as_slice()) {
                if let (Some(b), Some(m)) = (base.get_mut(*i), mean_sorted(vals)) {
                    *b = Some(sign * m);
                }
            }
        }
        let mut val = alloc::vec![0.0; n * n];
        let mut cov = alloc::vec![0u32; n * n];
        for (i, b) in base.iter().enumerate() {
            if b.is_some() {
                cov[i * n + i] = 1;
            }
        }
        for (subset, slots) in &self.subsets {
            let ([a, b], [va, vb]) = (subset.as_slice(), slots.as_slice()) else {
                continue;
            };
            for (i, j, vals) in [(*a, *b, va), (*b, *a, vb)] {
                let (Some(m), Some(Some(bi))) = (mean_sorted(vals), base.get(i)) else {
                    continue;
                };
                let diff = sign * m - bi;
                let x = if settings.relative {
                    if *bi == 0.0 {
                        return Err(Error::ZeroBaseline { task: i });
                    }
                    diff / bi.abs()
                } else {
                    diff
                };
                if !x.is_finite() {
                    return Err(Error::NonFinite { row: i, col: j });
                }
                val[i * n + j] = x;
                cov[i * n + j] = 1;
            }
        }
        AffinityEstimate::from_parts(n, val, cov, settings.fill)
    }

    /// Fits the linear surrogate of paper App. B.3 (see [`LinearSurrogate`]).
    ///
    /// Per task i, over the distinct subsets S with a record of f_i(S) (duplicates averaged):
    /// minimise `Σ_S (g_i(S) − Σ_{j∈S} θ_ij)² + λ Σ_{j≠i} θ_ij²` (g = ±f by `higher_is_better`).
    /// Only tasks that share a recorded subset with i get a non-zero θ_ij.
    pub fn surrogate(&self, settings: &SurrogateSettings) -> Result<LinearSurrogate, Error> {
        if !(settings.ridge.is_finite() && settings.ridge > 0.0) {
            return Err(Error::InvalidSetting {
                name: "ridge",
                reason: "must be finite and > 0",
            });
        }
        let n = self.n;
        let sign = if settings.higher_is_better { 1.0 } else { -1.0 };
        // Observations per task: (subset, value).
        let mut obs: Vec<Vec<(&[usize], f64)>> = alloc::vec![Vec::new(); n];
        for (subset, slots) in &self.subsets {
            for (&i, vals) in subset.iter().zip(slots) {
                if let (Some(m), Some(o)) = (mean_sorted(vals), obs.get_mut(i)) {
                    o.push((subset.as_slice(), sign * m));
                }
            }
        }
        let mut theta: Vec<f64> = crate::memory::try_square(n)?;
        let mut coverage: Vec<u32> = crate::memory::try_square(n)?;
        let mut rms = alloc::vec![0.0; n];
        let mut used = alloc::vec![0usize; n];
        for (i, o) in obs.iter().enumerate() {
            if o.is_empty() {
                continue;
            }
            // Variables: the tasks that share a recorded subset with i (always includes i).
            let mut vars: Vec<usize> = o.iter().flat_map(|(s, _)| s.iter().copied()).collect();
            vars.sort_unstable();
            vars.dedup();
            let d = vars.len();
            let mut m = DMatrix::<f64>::zeros(d, d);
            let mut rhs = DVector::<f64>::zeros(d);
            let mut idx: Vec<usize> = Vec::new();
            for (s, y) in o {
                for &t in s.iter() {
                    coverage[i * n + t] = coverage[i * n + t].saturating_add(1);
                }
                idx.clear();
                idx.extend(s.iter().filter_map(|t| vars.binary_search(t).ok()));
                for &a in &idx {
                    rhs[a] += y;
                    for &b in &idx {
                        m[(a, b)] += 1.0;
                    }
                }
            }
            for (a, &t) in vars.iter().enumerate() {
                if t != i {
                    m[(a, a)] += settings.ridge;
                }
            }
            let chol = nalgebra::Cholesky::new(m).ok_or(Error::InvalidSetting {
                name: "ridge",
                reason: "the normal equations are singular",
            })?;
            let sol = chol.solve(&rhs);
            if sol.iter().any(|x| !x.is_finite()) {
                return Err(Error::NonFinite { row: i, col: i });
            }
            for (a, &t) in vars.iter().enumerate() {
                theta[i * n + t] = sol[a];
            }
            let mut sq = 0.0;
            for (s, y) in o {
                let p: f64 = s.iter().map(|&t| theta[i * n + t]).sum();
                sq += (y - p) * (y - p);
            }
            rms[i] = libm::sqrt(sq / o.len() as f64);
            used[i] = o.len();
        }
        Ok(LinearSurrogate {
            n,
            sign,
            theta,
            coverage,
            rms,
            used,
        })
    }

    /// The records of f_task(subset), sorted, or `None`.
    fn values(&self, subset: &[usize], task: usize) -> Option<&Vec<f64>> {
        let key = self.canonical(subset).ok()?;
        let pos = key.binary_search(&task).ok()?;
        self.subsets.get(&key).and_then(|slots| slots.get(pos))
    }

    /// The subset sorted, after checking it is non-empty, in range and without repeats.
    fn canonical(&self, subset: &[usize]) -> Result<Vec<usize>, Error> {
        canonical_subset(subset, self.n)
    }
}

/// Checks the scores of one subset: `expected` of them (one per member), every one finite
/// (else `NonFiniteScore` with the first bad position).
pub(crate) fn check_scores(scores: &[f64], expected: usize) -> Result<(), Error> {
    if scores.len() != expected {
        return Err(Error::ScoreCountMismatch {
            expected,
            found: scores.len(),
        });
    }
    if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::NonFiniteScore { index });
    }
    Ok(())
}

/// Sorts a subset after checking it is non-empty, within 0..n and without repeats.
pub fn canonical_subset(subset: &[usize], n: usize) -> Result<Vec<usize>, Error> {
    if subset.is_empty() {
        return Err(Error::InvalidSubset {
            reason: "the subset is empty",
        });
    }
    if subset.iter().any(|&t| t >= n) {
        return Err(Error::InvalidSubset {
            reason: "a task index is out of range (0-based, < n)",
        });
    }
    let mut key = subset.to_vec();
    key.sort_unstable();
    if key.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::InvalidSubset {
            reason: "a task appears twice in the subset",
        });
    }
    Ok(key)
}

fn insert_sorted(vals: &mut Vec<f64>, x: f64) {
    let pos = vals.partition_point(|v| v.total_cmp(&x).is_lt());
    vals.insert(pos, x);
}

/// Mean of values summed in their stored (sorted) order; `None` when empty.
fn mean_sorted(vals: &[f64]) -> Option<f64> {
    if vals.is_empty() {
        None
    } else {
        Some(vals.iter().sum::<f64>() / vals.len() as f64)
    }
}

/// An affinity estimated from subset records: the directed matrix after filling, its coverage,
/// and the symmetrised [`Affinity`] for the solver.
#[derive(Debug, Clone, PartialEq)]
pub struct AffinityEstimate {
    n: usize,
    directed: Vec<f64>,
    coverage: Vec<u32>,
    filled: usize,
    affinity: Affinity,
}

impl AffinityEstimate {
    pub(crate) fn from_parts(
        n: usize,
        mut directed: Vec<f64>,
        coverage: Vec<u32>,
        rule: FillRule,
    ) -> Result<Self, Error> {
        let filled = fill_missing(n, &mut directed, &coverage, rule);
        let affinity = Affinity::from_row_major(&directed, n)?;
        Ok(AffinityEstimate {
            n,
            directed,
            coverage,
            filled,
            affinity,
        })
    }

    /// Number of tasks n.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The symmetrised matrix `(T + Tᵀ)/2` of the filled directed matrix, ready for the solver.
    pub fn affinity(&self) -> &Affinity {
        &self.affinity
    }

    /// The directed matrix T after filling, row-major n×n (`T_ij`: how j helps i; larger = better).
    pub fn directed(&self) -> &[f64] {
        &self.directed
    }

    /// Directed coverage, row-major n×n: distinct subsets behind `T_ij` (0 = filled).
    pub fn coverage(&self) -> &[u32] {
        &self.coverage
    }

    /// Coverage of entry (i, j); 0 when filled or out of range.
    pub fn coverage_at(&self, i: usize, j: usize) -> u32 {
        if i < self.n && j < self.n {
            self.coverage[i * self.n + j]
        } else {
            0
        }
    }

    /// Number of directed entries (diagonal included) that were filled by the rule.
    pub fn filled(&self) -> usize {
        self.filled
    }

    /// Fraction of unordered pairs {i, j} (i ≠ j) observed in at least one direction (1 when n = 1).
    pub fn pair_coverage(&self) -> f64 {
        let all: Vec<usize> = (0..self.n).collect();
        self.pair_coverage_of(&all)
    }

    /// [`pair_coverage`](Self::pair_coverage) restricted to the given tasks (indices < n).
    pub fn pair_coverage_of(&self, tasks: &[usize]) -> f64 {
        let mut pairs = 0usize;
        let mut seen = 0usize;
        for (a, &i) in tasks.iter().enumerate() {
            for &j in tasks.iter().skip(a + 1) {
                pairs += 1;
                if self.coverage_at(i, j) > 0 || self.coverage_at(j, i) > 0 {
                    seen += 1;
                }
            }
        }
        if pairs == 0 {
            1.0
        } else {
            seen as f64 / pairs as f64
        }
    }

    /// The symmetrised sub-matrix on `tasks` (entry (a, b) is tasks[a] vs tasks[b]).
    /// Errors on an empty list, a repeated task or an index ≥ n.
    pub fn restrict(&self, tasks: &[usize]) -> Result<Affinity, Error> {
        let key = canonical_subset(tasks, self.n)?;
        if key.len() != tasks.len() {
            return Err(Error::InvalidSubset {
                reason: "a task appears twice",
            });
        }
        let m = tasks.len();
        let mut data: Vec<f64> = Vec::new();
        data.try_reserve_exact(m * m)
            .map_err(|_| Error::OutOfMemory {
                bytes: crate::memory::square_f64_bytes(m, 1),
            })?;
        for &i in tasks {
            for &j in tasks {
                data.push(self.directed[i * self.n + j]);
            }
        }
        Affinity::from_row_major(&data, m)
    }
}

/// Fills the entries with zero coverage by `rule` (see [`FillRule`]); returns how many.
fn fill_missing(n: usize, t: &mut [f64], cov: &[u32], rule: FillRule) -> usize {
    let off_observed = |i: usize, j: usize| i != j && cov[i * n + j] > 0;
    // Global statistics of the observed entries.
    let mut g_sum = 0.0;
    let mut g_cnt = 0usize;
    let mut g_min = f64::INFINITY;
    let mut d_sum = 0.0;
    let mut d_cnt = 0usize;
    for i in 0..n {
        for j in 0..n {
            if off_observed(i, j) {
                g_sum += t[i * n + j];
                g_cnt += 1;
                g_min = g_min.min(t[i * n + j]);
            }
        }
        if cov[i * n + i] > 0 {
            d_sum += t[i * n + i];
            d_cnt += 1;
        }
    }
    let g_mean = if g_cnt > 0 {
        Some(g_sum / g_cnt as f64)
    } else {
        None
    };
    let g_min = if g_cnt > 0 { Some(g_min) } else { None };
    let d_mean = if d_cnt > 0 { d_sum / d_cnt as f64 } else { 0.0 };
    let mut filled = 0;
    for i in 0..n {
        let diag = if cov[i * n + i] > 0 {
            Some(t[i * n + i])
        } else {
            None
        };
        let mut r_sum = 0.0;
        let mut r_cnt = 0usize;
        let mut r_min = f64::INFINITY;
        for j in 0..n {
            if off_observed(i, j) {
                r_sum += t[i * n + j];
                r_cnt += 1;
                r_min = r_min.min(t[i * n + j]);
            }
        }
        let off_fill = match rule {
            FillRule::Constant(c) => c,
            FillRule::RowMean if r_cnt > 0 => r_sum / r_cnt as f64,
            FillRule::RowMin if r_cnt > 0 => r_min,
            FillRule::RowMean => diag.or(g_mean).unwrap_or(0.0),
            FillRule::RowMin => diag.or(g_min).unwrap_or(0.0),
        };
        let diag_fill = match rule {
            FillRule::Constant(c) => c,
            _ => d_mean,
        };
        for j in 0..n {
            if cov[i * n + j] == 0 {
                t[i * n + j] = if i == j { diag_fill } else { off_fill };
                filled += 1;
            }
        }
    }
    filled
}

/// The linear surrogate of paper App. B.3: `g_i(S) ≈ Σ_{j∈S} θ_ij` per task i, with g = f for
/// scores and g = −loss for losses. `θ_ii` is task i's predicted single-task score and
/// `θ_ij` (j ≠ i) the predicted effect of adding j; a subset transfers negatively to i when
/// `Σ_{j∈S, j≠i} θ_ij < 0`, i.e. when it is predicted to do worse than training i alone.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearSurrogate {
    n: usize,
    sign: f64,
    theta: Vec<f64>,
    coverage: Vec<u32>,
    rms: Vec<f64>,
    used: Vec<usize>,
}

impl LinearSurrogate {
    /// Number of tasks n.
    pub fn n(&self) -> usize {
        self.n
    }

    /// θ_ij in "larger = better" units (0 when i and j never shared a recorded subset, or out of
    /// range).
    pub fn theta(&self, i: usize, j: usize) -> f64 {
        if i < self.n && j < self.n {
            self.theta[i * self.n + j]
        } else {
            0.0
        }
    }

    /// θ as a row-major n×n matrix ("larger = better" units).
    pub fn theta_matrix(&self) -> &[f64] {
        &self.theta
    }

    /// Number of distinct subsets used to fit task i's row (0: no records, θ row is 0).
    pub fn records_used(&self, i: usize) -> usize {
        self.used.get(i).copied().unwrap_or(0)
    }

    /// Root-mean-square residual of task i's fit ("larger = better" units; 0 without records).
    pub fn residual_rms(&self, i: usize) -> f64 {
        self.rms.get(i).copied().unwrap_or(0.0)
    }

    /// Predicted f_task(subset) in the caller's units (a loss when `higher_is_better = false`).
    pub fn predict(&self, task: usize, subset: &[usize]) -> Result<f64, Error> {
        let key = self.check(task, subset)?;
        Ok(self.sign
            * key
                .iter()
                .map(|&j| self.theta[task * self.n + j])
                .sum::<f64>())
    }

    /// Predicted transfer `Σ_{j∈S, j≠i} θ_ij` to `task` ("larger = better"; < 0 = negative).
    pub fn transfer(&self, task: usize, subset: &[usize]) -> Result<f64, Error> {
        let key = self.check(task, subset)?;
        Ok(key
            .iter()
            .filter(|&&j| j != task)
            .map(|&j| self.theta[task * self.n + j])
            .sum())
    }

    /// Whether `subset` is predicted to do worse for `task` than training it alone.
    pub fn is_negative_transfer(&self, task: usize, subset: &[usize]) -> Result<bool, Error> {
        Ok(self.transfer(task, subset)? < 0.0)
    }

    /// θ as an affinity matrix (symmetrised) for the grouping solver, diagonal included.
    pub fn to_affinity(&self) -> Result<Affinity, Error> {
        Affinity::from_row_major(&self.theta, self.n)
    }

    /// The transfer part of θ as an [`AffinityEstimate`]: `T_ij = θ_ij` (j ≠ i) and `T_ii = 0`.
    ///
    /// The intercept θ_ii is task i's single-task score, not a transfer: kept on the diagonal,
    /// it would make high-scoring tasks prefer small groups. Coverage `c_ij` counts the distinct
    /// subsets S ∋ i, j behind θ_ij; pairs never sampled together (θ_ij = 0 by the ridge) are
    /// filled by `fill` like the other estimators. Tasks without records get a filled row.
    pub fn transfer_estimate(&self, fill: FillRule) -> Result<AffinityEstimate, Error> {
        fill.validate()?;
        let n = self.n;
        let mut t = self.theta.clone();
        let cov = self.coverage.clone();
        for i in 0..n {
            t[i * n + i] = 0.0;
        }
        AffinityEstimate::from_parts(n, t, cov, fill)
    }

    fn check(&self, task: usize, subset: &[usize]) -> Result<Vec<usize>, Error> {
        let key = canonical_subset(subset, self.n)?;
        if key.binary_search(&task).is_err() {
            return Err(Error::InvalidSubset {
                reason: "the task is not a member of the subset",
            });
        }
        if self.records_used(task) == 0 {
            return Err(Error::NoRecords { task });
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_records_and_changes_nothing() {
        let mut b = AffinityBuilder::new(3).unwrap();
        assert!(matches!(
            b.add(&[], 0, 1.0),
            Err(Error::InvalidSubset { .. })
        ));
        assert!(matches!(
            b.add(&[0, 3], 0, 1.0),
            Err(Error::InvalidSubset { .. })
        ));
        assert!(matches!(
            b.add(&[1, 1], 1, 1.0),
            Err(Error::InvalidSubset { .. })
        ));
        assert!(matches!(
            b.add(&[0, 1], 2, 1.0),
            Err(Error::InvalidSubset { .. })
        ));
        assert_eq!(
            b.add(&[0, 1], 0, f64::NAN),
            Err(Error::NonFiniteScore { index: 0 })
        );
        assert_eq!(
            b.add_subset(&[0, 1], &[1.0]),
            Err(Error::ScoreCountMismatch {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            b.add_subset(&[0, 1], &[1.0, f64::INFINITY]),
            Err(Error::NonFiniteScore { index: 1 })
        );
        assert_eq!(b.num_records(), 0);
        assert_eq!(b.num_subsets(), 0);
        assert_eq!(AffinityBuilder::new(0), Err(Error::Empty));
    }

    #[test]
    fn duplicates_are_averaged_and_counted() {
        let mut b = AffinityBuilder::new(3).unwrap();
        b.add_subset(&[1, 0], &[2.0, 1.0]).unwrap();
        b.add(&[0, 1], 0, 3.0).unwrap();
        assert_eq!(b.count(&[1, 0], 0), 2);
        assert_eq!(b.mean(&[0, 1], 0), Some(2.0));
        assert_eq!(b.mean(&[0, 1], 1), Some(2.0));
        assert_eq!(b.num_records(), 3);
        assert_eq!(b.num_entries(), 2);
        assert_eq!(b.num_duplicates(), 1);
        let e: Vec<_> = b.entries().map(|e| (e.task, e.mean, e.count)).collect();
        assert_eq!(e, alloc::vec![(0, 2.0, 2), (1, 2.0, 1)]);
    }

    #[test]
    fn fill_rules() {
        // Task 2 never sampled with 0: row 0 observes only (0,1).
        let mut b = AffinityBuilder::new(3).unwrap();
        b.add_subset(&[0, 1], &[1.0, 2.0]).unwrap();
        b.add_subset(&[1, 2], &[4.0, 6.0]).unwrap();
        let min = b.higher_order(&AggregateSettings::default()).unwrap();
        assert_eq!(min.coverage_at(0, 2), 0);
        assert_eq!(min.coverage_at(1, 1), 2);
        // T_01 = 1 is row 0's only observed entry; T_20 takes row 2's min = 6.
        assert_eq!(min.directed()[2], 1.0);
        assert_eq!(min.directed()[6], 6.0);
        assert_eq!(min.filled(), 2);
        let c = b
            .higher_order(&AggregateSettings {
                fill: FillRule::Constant(-1.0),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(c.directed()[2], -1.0);
        assert!((c.pair_coverage() - 2.0 / 3.0).abs() < 1e-15);
    }
}
