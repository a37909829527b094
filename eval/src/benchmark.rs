//! Benchmark cases with a known ground truth (method.md §8): the paper's planted model, a
//! synthetic multitask benchmark with the shapes of the paper's 57 cases, and an
//! in-context-learning-like case whose groups differ ~100× in scale.
//!
//! A [`Case`] carries the directed scores, their [`Affinity`], the ground-truth partition, k, and
//! how the ground truth was verified to be the optimal partition into k groups for the grouping
//! objective ([`Verification`], computed by [`verify_truth`]).
//!
//! **Multitask benchmark** ([`MultitaskModel`], [`multitask_cases`]). 19 tasks in 6 categories
//! (one of 4 tasks, five of 3). A task's scores are `T_uv = b_u + a_u·B_uv`: a base affinity B
//! (`B_uv ~ N(μ_within, σ²)` when u, v share a category, diagonal included, and
//! `N(μ_cat(u),cat(v), σ²)` otherwise, with one between-category mean per pair of categories)
//! seen through a per-task scale `a_u` (log-uniform over a 10× range) and offset `b_u` (uniform
//! over several units), like losses of different magnitudes. Scales, offsets and
//! between-category means are drawn once per seed, so every case sees the same 19 tasks; the
//! noise of B is drawn per case. The cases are *all* choices of 2 to 6 of the 6 categories:
//! C(6,2) = 15, C(6,3) = 20, C(6,4) = 15, C(6,5) = 6 and C(6,6) = 1, 57 in all (so no subset
//! has to be picked), ordered by k then lexicographically; the tasks of a case are shuffled.
//! Every case's ground truth (its categories) is verified optimal: exhaustively for n ≤ 12
//! ([`taskgroup_core::exact_partition`]), by the SDP certificate for the truth otherwise. A draw that
//! fails verification is redrawn with fresh noise (up to [`MultitaskModel::max_draws`] draws;
//! [`Case::draws`] records how many it took, and a case that never verifies keeps the
//! verification of its last draw, never silently `Exhaustive`/`Certificate`).
//!
//! Per-task offsets are invisible to the objective (method.md §2), per-task scales are not: the
//! symmetric part weighs pair (u, v) by (a_u + a_v)/2, so verification is a real check, and some
//! first draws fail it (the categories are beaten by another partition, or, for n > 12, the
//! relaxation is not tight enough to decide). Caveat: for n > 12 the only proof available is
//! the SDP certificate, so redrawing keeps only instances whose relaxation is tight at the
//! truth, which favours the SDP on those cases; [`Case::draws`] shows which cases were redrawn
//! (`MultitaskModel { max_draws: 1, .. }` gives the first draws to measure the effect).

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::synthetic::{block_labels, PlantedModel};
use taskgroup_core::random::uniform;
use taskgroup_core::random::{normal, splitmix64};
use taskgroup_core::Affinity;
use taskgroup_core::Error;
use taskgroup_core::WarmStart;
use taskgroup_core::{block_value, Partition};
use taskgroup_core::{certify, group_centered, GroupSettings, CERTIFY_TOLERANCE};
use taskgroup_core::{exact_partition, EXACT_MAX_N};

/// How a case's ground truth was checked against the grouping objective (for its k).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verification {
    /// Exhaustive search over all partitions into k groups: the truth is the best one.
    Exhaustive,
    /// The SDP upper bound is within [`CERTIFY_TOLERANCE`] of the truth's value: no partition
    /// into k groups is better (beyond that tolerance).
    Certificate,
    /// Refuted: another partition into k groups has a larger value.
    NotOptimal,
    /// Neither proved nor refuted (n > 12 and the relaxation is not tight at the truth).
    Unverified,
    /// Not checked (verification was skipped, e.g. for the large planted model).
    NotChecked,
}

impl Verification {
    /// A short name: `exhaustive`, `certificate`, `not-optimal`, `unverified`, `not-checked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Exhaustive => "exhaustive",
            Verification::Certificate => "certificate",
            Verification::NotOptimal => "not-optimal",
            Verification::Unverified => "unverified",
            Verification::NotChecked => "not-checked",
        }
    }

    /// True for `Exhaustive` and `Certificate`: the truth is proven optimal.
    pub fn is_proven(self) -> bool {
        matches!(self, Verification::Exhaustive | Verification::Certificate)
    }
}

/// One benchmark instance: scores, affinity, ground truth and its verification.
#[derive(Debug, Clone)]
pub struct Case {
    /// A short unique name, e.g. `planted-n150-s3`, `mt3-c025` (categories 0, 2, 5), `icl-s7`.
    pub name: String,
    /// The directed scores, row-major n×n (`scores[u*n + v]`: how much v helps u); for the
    /// planted model (which exposes only its affinity) the symmetric part.
    pub scores: Vec<f64>,
    /// The affinity of `scores` (their symmetric part), what every method groups.
    pub affinity: Affinity,
    /// The ground-truth partition.
    pub truth: Partition,
    /// The number of groups to ask for (the truth's number of groups).
    pub k: usize,
    /// How the truth was verified optimal on `affinity` for k groups.
    pub verified: Verification,
    /// Draws the generator needed until the truth verified (1 = first draw).
    pub draws: u32,
}

impl Case {
    /// Number of tasks n.
    pub fn n(&self) -> usize {
        self.affinity.n()
    }
}

/// Checks whether `truth` is the optimal partition of `t` into `truth.num_groups()` groups:
/// exhaustively when n ≤ [`EXACT_MAX_N`], else with the SDP certificate (default settings).
/// Errors: sizes differ ([`Error::InvalidPartition`]), solver setting errors.
pub fn verify_truth(t: &Affinity, truth: &Partition) -> Result<Verification, Error> {
    if truth.n() != t.n() {
        return Err(Error::InvalidPartition {
            reason: "partition and affinity differ in size",
        });
    }
    let k = truth.num_groups();
    if t.n() <= EXACT_MAX_N {
        let (best, _) = exact_partition(t, k)?;
        return Ok(if best == *truth {
            Verification::Exhaustive
        } else {
            Verification::NotOptimal
        });
    }
    let cen = t.centered();
    let r = group_centered(t, &cen, k, &GroupSettings::default(), WarmStart::Cold, None)?;
    let rounded_c = block_value(&cen.c, &r.partition);
    let truth_c = block_value(&cen.c, truth);
    let check = certify(t, &cen, truth.clone(), r.sdp);
    Ok(if check.certified_optimal {
        Verification::Certificate
    } else if rounded_c > truth_c + CERTIFY_TOLERANCE {
        Verification::NotOptimal
    } else {
        Verification::Unverified
    })
}

/// One sample of the paper's planted model (method.md §8; `size` = 50 gives n = 150) as a case
/// named `planted-n{n}-s{seed}`, with verification `NotChecked` (call [`verify_truth`] for it).
pub fn planted_case(model: &PlantedModel, seed: u64) -> Result<Case, Error> {
    let affinity = model.sample(seed)?;
    let truth = model.truth()?;
    Ok(Case {
        name: format!("planted-n{}-s{}", model.n(), seed),
        scores: affinity.as_slice().to_vec(),
        k: truth.num_groups(),
        affinity,
        truth,
        verified: Verification::NotChecked,
        draws: 1,
    })
}

/// The paper's planted model with groups of `size` (50 for the paper's n = 150) for seeds
/// `0..seeds`.
pub fn paper_planted_cases(size: usize, seeds: u64) -> Result<Vec<Case>, Error> {
    let model = PlantedModel::paper(size);
    (0..seeds).map(|s| planted_case(&model, s)).collect()
}

/// The generator of the synthetic multitask benchmark (see the module docs for the model).
#[derive(Debug, Clone, PartialEq)]
pub struct MultitaskModel {
    /// Category sizes (default [4, 3, 3, 3, 3, 3]: 19 tasks; at most 16 categories, each ≥ 1).
    pub category_sizes: Vec<usize>,
    /// Smallest number of categories in a case (default 2; ≥ 1).
    pub min_categories: usize,
    /// Mean of the base affinity within a category, diagonal included (default 1.0).
    pub within_mean: f64,
    /// Range [lo, hi) of the between-category means, one uniform draw per pair of categories
    /// (default [0.0, 0.6)).
    pub between_mean: (f64, f64),
    /// Standard deviation of every base entry (default 0.2; ≥ 0).
    pub noise_sd: f64,
    /// Per-task scale a_u = lo·(hi/lo)^U, log-uniform over [lo, hi) (default [1, 10); lo > 0).
    pub scale: (f64, f64),
    /// Per-task offset b_u, uniform over [lo, hi) (default [−5, 5)).
    pub offset: (f64, f64),
    /// Draws per case before giving up on verification (default 20; ≥ 1).
    pub max_draws: u32,
}

impl Default for MultitaskModel {
    fn default() -> Self {
        MultitaskModel {
            category_sizes: vec![4, 3, 3, 3, 3, 3],
            min_categories: 2,
            within_mean: 1.0,
            between_mean: (0.0, 0.6),
            noise_sd: 0.2,
            scale: (1.0, 10.0),
            offset: (-5.0, 5.0),
            max_draws: 20,
        }
    }
}

/// The per-seed quantities shared by all cases: per-task scale and offset, category means.
struct Tasks {
    category: Vec<usize>,
    scale: Vec<f64>,
    offset: Vec<f64>,
    /// g×g category means (within on the diagonal).
    mean: Vec<f64>,
}

impl MultitaskModel {
    /// Total number of tasks (sum of the category sizes).
    pub fn n(&self) -> usize {
        self.category_sizes.iter().sum()
    }

    /// Checks the settings against their documented ranges.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |name, reason| Err(Error::InvalidSetting { name, reason });
        let g = self.category_sizes.len();
        if g == 0 || g > 16 || self.category_sizes.contains(&0) {
            return bad(
                "category_sizes",
                "need 1 to 16 categories, each of size ≥ 1",
            );
        }
        if self.min_categories == 0 || self.min_categories > g {
            return bad("min_categories", "must be in 1..=number of categories");
        }
        let finite = [
            self.within_mean,
            self.between_mean.0,
            self.between_mean.1,
            self.noise_sd,
            self.scale.0,
            self.scale.1,
            self.offset.0,
            self.offset.1,
        ];
        if finite.iter().any(|x| !x.is_finite()) {
            return bad("multitask model", "every parameter must be finite");
        }
        if self.noise_sd < 0.0 {
            return bad("noise_sd", "must be ≥ 0");
        }
        if !(self.scale.0 > 0.0 && self.scale.1 >= self.scale.0) {
            return bad("scale", "need 0 < lo ≤ hi");
        }
        if self.between_mean.1 < self.between_mean.0 || self.offset.1 < self.offset.0 {
            return bad("between_mean/offset", "need lo ≤ hi");
        }
        if self.max_draws == 0 {
            return bad("max_draws", "must be at least 1");
        }
        Ok(())
    }

    fn tasks(&self, seed: u64) -> Tasks {
        let g = self.category_sizes.len();
        let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, 0x7461_736b));
        let category = block_labels(&self.category_sizes);
        let n = category.len();
        let ratio = self.scale.1 / self.scale.0;
        let scale: Vec<f64> = (0..n)
            .map(|_| self.scale.0 * libm::pow(ratio, uniform(&mut rng)))
            .collect();
        let offset: Vec<f64> = (0..n)
            .map(|_| self.offset.0 + (self.offset.1 - self.offset.0) * uniform(&mut rng))
            .collect();
        let mut mean = vec![self.within_mean; g * g];
        for a in 0..g {
            for b in (a + 1)..g {
                let m = self.between_mean.0
                    + (self.between_mean.1 - self.between_mean.0) * uniform(&mut rng);
                mean[a * g + b] = m;
                mean[b * g + a] = m;
            }
        }
        Tasks {
            category,
            scale,
            offset,
            mean,
        }
    }

    /// Every case (all choices of `min_categories..=g` categories), each verified (see the
    /// module docs). Cost: one exhaustive search or one SDP solve per draw.
    pub fn cases(&self, seed: u64) -> Result<Vec<Case>, Error> {
        self.validate()?;
        let g = self.category_sizes.len();
        let tasks = self.tasks(seed);
        let mut subsets: Vec<u32> = (1u32..(1u32 << g))
            .filter(|m| m.count_ones() as usize >= self.min_categories)
            .collect();
        // By number of categories, then lexicographically by the sorted category list.
        subsets.sort_by_key(|&m| (m.count_ones(), lex_key(m, g)));
        let mut out = Vec::with_capacity(subsets.len());
        for (index, &mask) in subsets.iter().enumerate() {
            out.push(self.case(&tasks, mask, mix(seed, 1 + index as u64))?);
        }
        Ok(out)
    }

    /// The case of the categories in `mask`, redrawn until verified (or `max_draws`).
    fn case(&self, tasks: &Tasks, mask: u32, case_seed: u64) -> Result<Case, Error> {
        let g = self.category_sizes.len();
        let cats: Vec<usize> = (0..g).filter(|&c| mask & (1 << c) != 0).collect();
        let mut members: Vec<usize> = (0..tasks.category.len())
            .filter(|&u| mask & (1 << tasks.category[u]) != 0)
            .collect();
        let k = cats.len();
        let n = members.len();
        let name: String = format!(
            "mt{}-c{}",
            k,
            cats.iter().map(|c| format!("{c}")).collect::<String>()
        );
        let mut last: Option<Case> = None;
        for draw in 0..self.max_draws {
            let mut rng = ChaCha8Rng::seed_from_u64(mix(case_seed, draw as u64));
            shuffle(&mut members, &mut rng);
            let mut scores = vec![0.0; n * n];
            for (i, &u) in members.iter().enumerate() {
                for (j, &v) in members.iter().enumerate() {
                    let (cu, cv) = (tasks.category[u], tasks.category[v]);
                    let base = tasks.mean[cu * g + cv] + self.noise_sd * normal(&mut rng);
                    scores[i * n + j] = tasks.offset[u] + tasks.scale[u] * base;
                }
            }
            let affinity = Affinity::from_row_major(&scores, n)?;
            let labels: Vec<usize> = members.iter().map(|&u| tasks.category[u]).collect();
            let truth = Partition::from_labels(&labels)?;
            let verified = verify_truth(&affinity, &truth)?;
            let case = Case {
                name: name.clone(),
                scores,
                affinity,
                truth,
                k,
                verified,
                draws: draw + 1,
            };
            if verified.is_proven() {
                return Ok(case);
            }
            last = Some(case);
        }
        last.ok_or(Error::InvalidSetting {
            name: "max_draws",
            reason: "must be at least 1",
        })
    }
}

/// The 57-case multitask benchmark with the default [`MultitaskModel`] (see the module docs).
pub fn multitask_cases(seed: u64) -> Result<Vec<Case>, Error> {
    MultitaskModel::default().cases(seed)
}

/// The in-context-learning-like case (method.md §8, paper Fig. 3/7): 9 tasks in 3 groups of 3
/// (tasks 0–2, 3–5, 6–8); directed entries within the groups N(1, 0.1²), N(1.2, 0.1²) and
/// N(100, 10²), between groups uniform in [0.5, 0.6). Named `icl-s{seed}`; the truth is checked
/// exhaustively on the raw affinity, where it is usually *not* optimal (the objective prefers to
/// split the high-valued group): normalise first (e.g. `Normalization::SymmetricDegree`).
pub fn icl_case(seed: u64) -> Result<Case, Error> {
    let n = 9;
    let group = |u: usize| u / 3;
    let within = [(1.0, 0.1), (1.2, 0.1), (100.0, 10.0)];
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, 0x69636c));
    let mut scores = vec![0.0; n * n];
    for u in 0..n {
        for v in 0..n {
            scores[u * n + v] = if group(u) == group(v) {
                let (m, s) = within[group(u)];
                m + s * normal(&mut rng)
            } else {
                0.5 + 0.1 * uniform(&mut rng)
            };
        }
    }
    let affinity = Affinity::from_row_major(&scores, n)?;
    let labels: Vec<usize> = (0..n).map(group).collect();
    let truth = Partition::from_labels(&labels)?;
    let verified = verify_truth(&affinity, &truth)?;
    Ok(Case {
        name: format!("icl-s{seed}"),
        scores,
        affinity,
        truth,
        k: 3,
        verified,
        draws: 1,
    })
}

/// Sort key that orders category sets lexicographically by their sorted members.
fn lex_key(mask: u32, g: usize) -> Vec<usize> {
    (0..g).filter(|&c| mask & (1 << c) != 0).collect()
}

/// Fisher–Yates shuffle with the given RNG.
fn shuffle(v: &mut [usize], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Derives a seed from two numbers (SplitMix64 finaliser of a combination).
fn mix(a: u64, b: u64) -> u64 {
    splitmix64(
        a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(b.wrapping_mul(0xD1B5_4A32_D192_ED03))
            .wrapping_add(0x2545_F491_4F6C_DD1D),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_the_57_cases() {
        let m = MultitaskModel::default();
        assert_eq!(m.n(), 19);
        let cases = m.cases(0).unwrap();
        assert_eq!(cases.len(), 57);
        let mut per_k = [0usize; 7];
        for c in &cases {
            per_k[c.k] += 1;
            assert_eq!(c.truth.num_groups(), c.k);
            assert_eq!(c.scores.len(), c.n() * c.n());
            let sizes = c.truth.sizes();
            assert!(sizes.iter().all(|&s| s == 3 || s == 4));
        }
        assert_eq!(per_k, [0, 0, 15, 20, 15, 6, 1]);
        assert_eq!(cases[0].name, "mt2-c01");
        assert_eq!(cases[56].name, "mt6-c012345");
        assert_eq!(cases[56].n(), 19);
    }

    #[test]
    fn verification_detects_non_optimal_truth() {
        // Two obvious blocks; claim a wrong truth.
        let labels = [0, 0, 0, 1, 1, 1];
        let mut d = vec![0.0; 36];
        for u in 0..6 {
            for v in 0..6 {
                d[u * 6 + v] = if labels[u] == labels[v] { 2.0 } else { 0.0 };
            }
        }
        let t = Affinity::from_row_major(&d, 6).unwrap();
        let good = Partition::from_labels(&labels).unwrap();
        let bad = Partition::from_labels(&[0, 0, 1, 1, 1, 1]).unwrap();
        assert_eq!(verify_truth(&t, &good).unwrap(), Verification::Exhaustive);
        assert_eq!(verify_truth(&t, &bad).unwrap(), Verification::NotOptimal);
        assert!(verify_truth(&t, &Partition::from_labels(&[0, 1]).unwrap()).is_err());
    }

    #[test]
    fn generator_settings_are_checked() {
        let m = MultitaskModel {
            scale: (0.0, 1.0),
            ..MultitaskModel::default()
        };
        assert!(m.cases(0).is_err());
        let m = MultitaskModel {
            category_sizes: vec![],
            ..MultitaskModel::default()
        };
        assert!(m.validate().is_err());
    }
}
