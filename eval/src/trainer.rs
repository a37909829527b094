//! A built-in synthetic trainer for tests and demos: tasks in planted groups, subset scores
//! from a known ground-truth model, and seeded noise.
//!
//! Ground truth: task i has a single-task score `b_i` (uniform in `base_range`), and every pair
//! has an effect `w_ij` = `within` (same planted group) or `between` (different groups), plus a
//! fixed per-pair jitter `pair_sd · z_ij`. Training on a subset S gives task i ∈ S
//!
//! `f_i(S) = b_i + (1/(|S|−1)) Σ_{j∈S, j≠i} w_ij + noise · ε(seed, S, i)`   (`f_i({i}) = b_i + noise · ε`)
//!
//! with ε a standard normal that is a deterministic function of (seed, sorted S, i): the same
//! subset always gives the same scores, whatever order or how often it is trained. With the
//! defaults, partners in the same group help (+0.1) and others interfere (−0.05).

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use taskgroup_core::random::{normal, shuffle, stream_seed};
use taskgroup_core::session::aggregate::canonical_subset;
use taskgroup_core::session::trainer::SubsetTrainer;
use taskgroup_core::{Error, Partition};

/// Settings of [`SyntheticTrainer`]; [`SyntheticTrainerSettings::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticTrainerSettings {
    /// Number of tasks n (≥ 1).
    pub n: usize,
    /// Number of planted groups (1..=n); sizes differ by at most one, members drawn by `seed`.
    pub groups: usize,
    /// Effect of a partner from the same group (default 0.1; finite).
    pub within: f64,
    /// Effect of a partner from another group (default −0.05; finite).
    pub between: f64,
    /// Standard deviation of the fixed per-pair jitter of the effects (default 0.02; ≥ 0).
    pub pair_sd: f64,
    /// Standard deviation of the per-(subset, task) noise (default 0.01; ≥ 0).
    pub noise: f64,
    /// Range of the single-task scores b_i (default (0.5, 0.9); finite, lo ≤ hi).
    pub base_range: (f64, f64),
    /// Seed of the group assignment, the scores, the jitter and the noise.
    pub seed: u64,
}

impl SyntheticTrainerSettings {
    /// n tasks in `groups` planted groups with the given seed; other settings at their defaults.
    pub fn new(n: usize, groups: usize, seed: u64) -> Self {
        SyntheticTrainerSettings {
            n,
            groups,
            within: 0.1,
            between: -0.05,
            pair_sd: 0.02,
            noise: 0.01,
            base_range: (0.5, 0.9),
            seed,
        }
    }
}

/// The synthetic trainer: see the module docs for the ground-truth model.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticTrainer {
    settings: SyntheticTrainerSettings,
    labels: Vec<usize>,
    base: Vec<f64>,
}

impl SyntheticTrainer {
    /// Validates the settings and draws the planted groups and single-task scores.
    pub fn new(settings: SyntheticTrainerSettings) -> Result<Self, Error> {
        let s = &settings;
        let bad = |name, reason| Err(Error::InvalidSetting { name, reason });
        if s.n == 0 {
            return Err(Error::Empty);
        }
        if s.groups == 0 || s.groups > s.n {
            return Err(Error::InvalidK {
                k: s.groups,
                n: s.n,
            });
        }
        if !(s.within.is_finite() && s.between.is_finite()) {
            return bad("within/between", "must be finite");
        }
        if !(s.pair_sd.is_finite() && s.pair_sd >= 0.0 && s.noise.is_finite() && s.noise >= 0.0) {
            return bad("pair_sd/noise", "must be finite and ≥ 0");
        }
        let (lo, hi) = s.base_range;
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return bad("base_range", "must be finite with lo ≤ hi");
        }
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(s.seed, 0x5EED_0001));
        let mut labels: Vec<usize> = (0..s.n).map(|i| i % s.groups).collect();
        shuffle(&mut labels, &mut rng);
        let base = (0..s.n)
            .map(|_| lo + (hi - lo) * taskgroup_core::random::uniform(&mut rng))
            .collect();
        Ok(SyntheticTrainer {
            settings,
            labels,
            base,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &SyntheticTrainerSettings {
        &self.settings
    }

    /// The planted group (0..groups) of every task.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The planted partition.
    pub fn truth(&self) -> Result<Partition, Error> {
        Partition::from_labels(&self.labels)
    }

    /// The effect w_ij of partner j on task i (i ≠ j), jitter included.
    pub fn effect(&self, i: usize, j: usize) -> f64 {
        let s = &self.settings;
        let same = self.labels.get(i) == self.labels.get(j);
        let w = if same { s.within } else { s.between };
        if s.pair_sd == 0.0 {
            return w;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(
            s.seed ^ 0xA11C_E5ED,
            ((i as u64) << 32) ^ j as u64,
        ));
        w + s.pair_sd * normal(&mut rng)
    }

    /// The noise-free score of `task` trained on `subset` (the ground truth).
    pub fn expected_score(&self, task: usize, subset: &[usize]) -> Result<f64, Error> {
        Ok(self.expected(task, &self.member_key(task, subset)?))
    }

    /// The noisy score of `task` trained on `subset`: deterministic in (seed, subset, task).
    pub fn score(&self, task: usize, subset: &[usize]) -> Result<f64, Error> {
        Ok(self.noisy(task, &self.member_key(task, subset)?))
    }

    /// The canonical (sorted) form of `subset`; an error when it is not a valid subset of the
    /// n tasks or does not hold `task`.
    fn member_key(&self, task: usize, subset: &[usize]) -> Result<Vec<usize>, Error> {
        let key = canonical_subset(subset, self.settings.n)?;
        if key.binary_search(&task).is_err() {
            return Err(Error::InvalidSubset {
                reason: "the task is not a member of the subset",
            });
        }
        Ok(key)
    }

    fn expected(&self, task: usize, key: &[usize]) -> f64 {
        let b = self.base.get(task).copied().unwrap_or(0.0);
        if key.len() < 2 {
            return b;
        }
        let sum: f64 = key
            .iter()
            .filter(|&&j| j != task)
            .map(|&j| self.effect(task, j))
            .sum();
        b + sum / (key.len() - 1) as f64
    }

    fn noisy(&self, task: usize, key: &[usize]) -> f64 {
        let s = &self.settings;
        let e = self.expected(task, key);
        if s.noise == 0.0 {
            return e;
        }
        // FNV-1a over (task, subset), then mixed with the seed.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for x in core::iter::once(task).chain(key.iter().copied()) {
            for byte in (x as u64).to_le_bytes() {
                h ^= u64::from(byte);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(s.seed ^ 0x0015_E0DD, h));
        e + s.noise * normal(&mut rng)
    }
}

impl SubsetTrainer for SyntheticTrainer {
    fn train(&self, subset: &[usize]) -> Result<Vec<f64>, Error> {
        let key = canonical_subset(subset, self.settings.n)?;
        Ok(subset.iter().map(|&t| self.noisy(t, &key)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::adjusted_rand_index;

    #[test]
    fn scores_are_deterministic_and_order_free() {
        let t = SyntheticTrainer::new(SyntheticTrainerSettings::new(12, 3, 7)).unwrap();
        let a = t.train(&[1, 5, 9]).unwrap();
        let b = t.train(&[9, 1, 5]).unwrap();
        assert_eq!(a[0].to_bits(), b[1].to_bits());
        assert_eq!(a[2].to_bits(), b[0].to_bits());
        assert_eq!(t.score(5, &[5, 9, 1]).unwrap().to_bits(), a[1].to_bits());
        assert!(t.train(&[1, 1]).is_err());
        assert!(t.score(2, &[1, 3]).is_err());
        let sizes = t.truth().unwrap().sizes();
        assert_eq!(sizes, vec![4, 4, 4]);
    }

    #[test]
    fn same_group_partners_help() {
        let mut s = SyntheticTrainerSettings::new(6, 2, 1);
        s.noise = 0.0;
        s.pair_sd = 0.0;
        let t = SyntheticTrainer::new(s).unwrap();
        let l = t.labels().to_vec();
        let same = (1..6).find(|&j| l[j] == l[0]).unwrap();
        let other = (1..6).find(|&j| l[j] != l[0]).unwrap();
        let alone = t.score(0, &[0]).unwrap();
        assert!((t.score(0, &[0, same]).unwrap() - alone - 0.1).abs() < 1e-12);
        assert!((t.score(0, &[0, other]).unwrap() - alone + 0.05).abs() < 1e-12);
    }

    #[test]
    fn ari_basics() {
        let a = Partition::from_labels(&[0, 0, 1, 1]).unwrap();
        let b = Partition::from_labels(&[5, 5, 2, 2]).unwrap();
        let c = Partition::from_labels(&[0, 1, 0, 1]).unwrap();
        assert_eq!(adjusted_rand_index(&a, &b).unwrap(), 1.0);
        assert!(adjusted_rand_index(&a, &c).unwrap() < 0.0);
        let one = Partition::from_labels(&[0, 0, 0]).unwrap();
        assert_eq!(adjusted_rand_index(&one, &one).unwrap(), 1.0);
    }
}
