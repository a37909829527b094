//! Seeded synthetic affinity matrices with a planted grouping (method.md §8).

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use taskgroup_core::random::{normal, uniform};
use taskgroup_core::Affinity;
use taskgroup_core::Error;
use taskgroup_core::Partition;

/// The labels of consecutive blocks of `sizes[0]`, `sizes[1]`, ... items: block b's items get b.
pub fn block_labels(sizes: &[usize]) -> Vec<usize> {
    sizes
        .iter()
        .enumerate()
        .flat_map(|(b, &s)| core::iter::repeat_n(b, s))
        .collect()
}

/// A planted block model: entry (u, v) with u in group a and v in group b is drawn from
/// N(mean[a][b], sd[a][b]²), every entry independently (T is not symmetric; the solver uses
/// its symmetric part, whose noise is sd/√2 off the diagonal).
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedModel {
    /// Group sizes (each ≥ 1).
    pub sizes: Vec<usize>,
    /// Means, g×g row-major (symmetric; the upper triangle is read).
    pub mean: Vec<f64>,
    /// Standard deviations, g×g row-major (≥ 0, upper triangle read).
    pub sd: Vec<f64>,
}

impl PlantedModel {
    /// The paper's model (App. B.1): three groups of `size` tasks; within N(12, 4²), N(14, 2²),
    /// N(14, 2²); between 1–2 N(8, 4²), 1–3 N(7, 4²), 2–3 N(13, 2²). `size = 50` gives n = 150.
    pub fn paper(size: usize) -> Self {
        PlantedModel {
            sizes: vec![size; 3],
            mean: vec![12.0, 8.0, 7.0, 8.0, 14.0, 13.0, 7.0, 13.0, 14.0],
            sd: vec![4.0, 4.0, 4.0, 4.0, 2.0, 2.0, 4.0, 2.0, 2.0],
        }
    }

    /// Number of tasks (sum of sizes).
    pub fn n(&self) -> usize {
        self.sizes.iter().sum()
    }

    /// The planted partition: tasks 0..sizes[0] in group 0, the next sizes[1] in group 1, ...
    pub fn truth(&self) -> Result<Partition, Error> {
        Partition::from_labels(&block_labels(&self.sizes))
    }

    /// Draws one affinity matrix (row-major n×n) with the given seed.
    pub fn sample(&self, seed: u64) -> Result<Affinity, Error> {
        let g = self.sizes.len();
        Error::require_setting(
            g != 0 && !self.sizes.contains(&0),
            "sizes",
            "need at least one group, each of size ≥ 1",
        )?;
        Error::require_setting(
            self.mean.len() == g * g && self.sd.len() == g * g,
            "mean/sd",
            "must be g×g for g groups",
        )?;
        Error::require_setting(
            !(self.mean.iter().chain(&self.sd).any(|x| !x.is_finite())
                || self.sd.iter().any(|&s| s < 0.0)),
            "mean/sd",
            "must be finite, sd ≥ 0",
        )?;
        let n = self.n();
        let truth = self.truth()?;
        let lab = truth.labels();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut t = vec![0.0; n * n];
        for u in 0..n {
            for v in 0..n {
                let (a, b) = (lab[u] as usize, lab[v] as usize);
                let (a, b) = (a.min(b), a.max(b));
                t[u * n + v] = self.mean[a * g + b] + self.sd[a * g + b] * normal(&mut rng);
            }
        }
        Affinity::from_row_major(&t, n)
    }
}

/// Group sizes of [`unequal_offsets`]: 40%, 25%, 20% and the rest (15%) of n, in index order.
pub fn unequal_sizes(n: usize) -> [usize; 4] {
    let a = (40 * n + 50) / 100;
    let b = (25 * n + 50) / 100;
    let c = (20 * n + 50) / 100;
    [a, b, c, n - a - b - c]
}

/// A random symmetric n×n affinity: (A + Aᵀ)/2 with A's entries N(0, 1) from a ChaCha8 stream
/// seeded by `seed` (row-major draws). No group structure, so its relaxation is not tight (the
/// bench's and the tests' "random" family, k = 5). `n ≥ 1`.
pub fn random_symmetric(n: usize, seed: u64) -> Result<Affinity, Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a: Vec<f64> = (0..n * n).map(|_| normal(&mut rng)).collect();
    let sym: Vec<f64> = (0..n * n)
        .map(|i| 0.5 * (a[i] + a[(i % n) * n + i / n]))
        .collect();
    Affinity::from_row_major(&sym, n)
}

/// Four planted groups of unequal sizes ([`unequal_sizes`]: 40/25/20/15 at n = 100) with
/// different within-group means, and a per-task offset on every row (T_uv + a_u, a_u ~ N(0, 3²)):
/// the shape of issue 16's slow instances (k = 4). Within N(11, 2²), N(12, 2²), N(10, 2²),
/// N(13, 2²); between N(7, 2²). Returns T and the planted partition. `n ≥ 8`.
pub fn unequal_offsets(n: usize, seed: u64) -> Result<(Affinity, Partition), Error> {
    if n < 8 {
        return Err(Error::InvalidSetting {
            name: "n",
            reason: "must be at least 8 (four groups)",
        });
    }
    let within = [11.0, 12.0, 10.0, 13.0];
    let mut mean = vec![7.0; 16];
    for g in 0..4 {
        mean[g * 4 + g] = within[g];
    }
    let m = PlantedModel {
        sizes: unequal_sizes(n).to_vec(),
        mean,
        sd: vec![2.0; 16],
    };
    let t = m.sample(seed)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0ff5_e7ed);
    let offsets: Vec<f64> = (0..n).map(|_| 3.0 * normal(&mut rng)).collect();
    let mut data = t.as_slice().to_vec();
    for u in 0..n {
        for v in 0..n {
            data[u * n + v] += offsets[u];
        }
    }
    Ok((Affinity::from_row_major(&data, n)?, m.truth()?))
}

/// Issue 17's large model without its noise: `groups` planted groups of sizes ∝ 2, 3, …,
/// groups + 1, mean 1 within a group and U(0, 0.5) between each pair of groups, and a per-task
/// offset U(−5, 5) on every row. Shared by [`large_offsets`] and gpu's `gpu-large`.
#[derive(Debug, Clone, PartialEq)]
pub struct LargeModel {
    // The group count, every task's label, the groups×groups row-major block means (symmetric,
    // 1 on the diagonal) and every task's row offset.
    groups: usize,
    labels: Vec<usize>,
    mean: Vec<f64>,
    offsets: Vec<f64>,
}

impl LargeModel {
    /// Draws the model for n tasks from `rng`: the block means first, then the offsets.
    /// Needs `groups ≥ 1` and `n ≥ 2·groups + 2` (every group non-empty).
    pub fn draw(n: usize, groups: usize, rng: &mut ChaCha8Rng) -> Self {
        let weights: Vec<usize> = (2..groups + 2).collect();
        let total: usize = weights.iter().sum::<usize>().max(1);
        let mut sizes: Vec<usize> = weights.iter().map(|w| n * w / total).collect();
        let short = n.saturating_sub(sizes.iter().sum::<usize>());
        if let Some(last) = sizes.last_mut() {
            *last += short;
        }
        let labels = block_labels(&sizes);
        let mut mean = vec![1.0; groups * groups];
        for a in 0..groups {
            for b in (a + 1)..groups {
                let m = 0.5 * uniform(rng);
                mean[a * groups + b] = m;
                mean[b * groups + a] = m;
            }
        }
        let offsets: Vec<f64> = (0..n).map(|_| 10.0 * uniform(rng) - 5.0).collect();
        LargeModel {
            groups,
            labels,
            mean,
            offsets,
        }
    }

    /// The planted labels, one per task in 0..groups.
    pub fn into_labels(self) -> Vec<usize> {
        self.labels
    }

    /// Entry (u, v) without noise: task u's offset plus the mean of (u's group, v's group).
    pub fn expected(&self, u: usize, v: usize) -> f64 {
        self.offsets[u] + self.mean[self.labels[u] * self.groups + self.labels[v]]
    }
}

/// Issue 17's large instance: [`LargeModel`] plus N(0, sd²) noise on every entry, all from one
/// stream seeded by `seed`. Returns the row-major n×n scores (not symmetric) and the planted
/// labels. Needs `groups ≥ 1` and `n ≥ 2·groups + 2` (every group non-empty).
pub fn large_offsets(n: usize, groups: usize, sd: f64, seed: u64) -> (Vec<f64>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let model = LargeModel::draw(n, groups, &mut rng);
    let mut t = vec![0.0; n * n];
    for u in 0..n {
        for v in 0..n {
            t[u * n + v] = model.expected(u, v) + sd * normal(&mut rng);
        }
    }
    (t, model.into_labels())
}

/// [`large_offsets`] as an [`Affinity`] and its planted [`Partition`]; errors as
/// [`Affinity::from_row_major`] and [`Partition::from_labels`] do.
pub fn large_instance(
    n: usize,
    groups: usize,
    sd: f64,
    seed: u64,
) -> Result<(Affinity, Partition), Error> {
    let (t, labels) = large_offsets(n, groups, sd, seed);
    Ok((
        Affinity::from_row_major(&t, n)?,
        Partition::from_labels(&labels)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_symmetric_is_symmetric_and_seeded() {
        let n = 7;
        let a = random_symmetric(n, 3).unwrap();
        let m = a.as_slice();
        for u in 0..n {
            for v in 0..n {
                assert_eq!(m[u * n + v].to_bits(), m[v * n + u].to_bits());
            }
        }
        assert_eq!(m, random_symmetric(n, 3).unwrap().as_slice());
        assert_ne!(m, random_symmetric(n, 4).unwrap().as_slice());
    }
}
