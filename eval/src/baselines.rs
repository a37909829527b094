//! The paper's baselines: spectral clustering and Lloyd's k-means, on the same [`Affinity`] input
//! as the SDP path (its symmetric part), returning a [`Partition`] with exactly k groups.
//!
//! - [`spectral_clustering`]: Ng–Jordan–Weiss. `A` = the affinity with its diagonal set to 0 and
//!   shifted by `−min(0, min_{u≠v} T_uv)` off the diagonal (so A ≥ 0); `D` = row sums of A;
//!   the top-k eigenvectors of `D^{-1/2} A D^{-1/2}` (degree 0 → weight 0) as columns; each row
//!   normalised to unit length (zero rows stay 0); k-means++ with seeded restarts on the rows.
//! - [`lloyd_kmeans`]: Lloyd's k-means (k-means++ initialisation, seeded restarts) on the rows of
//!   T, each row being a task's vector of n scores.
//!
//! Neither is invariant to per-task offsets or scales (method.md §2), which is the point of the
//! comparison. Both are deterministic for a given seed.

use taskgroup_core::eigen::sym_eigen;
use taskgroup_core::kmeans::{kmeans, KMeansSettings};
use taskgroup_core::Affinity;
use taskgroup_core::Error;
use taskgroup_core::Partition;

/// Settings of the baselines; `Default`: 10 restarts, 100 Lloyd iterations, seed 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineSettings {
    /// k-means++ restarts; the lowest within-cluster sum of squares wins (default 10; ≥ 1).
    pub restarts: usize,
    /// Lloyd iterations per restart (default 100; ≥ 1).
    pub max_iterations: usize,
    /// Seed of the k-means++ restarts (ChaCha8).
    pub seed: u64,
}

impl Default for BaselineSettings {
    fn default() -> Self {
        BaselineSettings {
            restarts: 10,
            max_iterations: 100,
            seed: 0,
        }
    }
}

impl BaselineSettings {
    /// Default settings with the given seed.
    pub fn with_seed(seed: u64) -> Self {
        BaselineSettings {
            seed,
            ..Self::default()
        }
    }

    /// Checks the settings against their documented ranges.
    pub fn validate(&self) -> Result<(), Error> {
        Error::require_setting(self.restarts != 0, "restarts", "must be at least 1")?;
        Error::require_setting(
            self.max_iterations != 0,
            "max_iterations",
            "must be at least 1",
        )
    }

    fn kmeans(&self) -> KMeansSettings {
        KMeansSettings {
            restarts: self.restarts,
            max_iterations: self.max_iterations,
            seed: self.seed,
        }
    }
}

/// Checks k ∈ 1..=n and the settings; returns n.
fn check(t: &Affinity, k: usize, settings: &BaselineSettings) -> Result<usize, Error> {
    let n = t.n();
    if k == 0 || k > n {
        return Err(Error::InvalidK { k, n });
    }
    settings.validate()?;
    Ok(n)
}

/// k-means of the rows of `points` (row-major, `dim` columns) into k groups, as a partition;
/// `what` names the points in the error of a failed run.
fn kmeans_partition(
    points: &[f64],
    dim: usize,
    k: usize,
    settings: &BaselineSettings,
    what: &'static str,
) -> Result<Partition, Error> {
    let labels = kmeans(points, points.len() / dim, dim, k, &settings.kmeans())
        .ok_or(Error::NumericalFailure { what })?;
    Partition::from_labels(&labels)
}

/// Spectral clustering (Ng–Jordan–Weiss, see the module docs) of the tasks into k groups.
/// Errors: k ∉ 1..=n, bad settings, or a failed eigendecomposition ([`Error::NumericalFailure`]).
pub fn spectral_clustering(
    t: &Affinity,
    k: usize,
    settings: &BaselineSettings,
) -> Result<Partition, Error> {
    let n = check(t, k, settings)?;
    if k == 1 {
        return Partition::from_labels(&vec![0; n]);
    }
    let emb = spectral_embedding(t, k)?;
    kmeans_partition(&emb, k, k, settings, "k-means on the spectral embedding")
}

/// Rows of the top-k eigenvectors of the normalised, shifted affinity, each of unit length
/// (n×k, row-major).
fn spectral_embedding(t: &Affinity, k: usize) -> Result<Vec<f64>, Error> {
    let n = t.n();
    let s = t.as_slice();
    let mut min_off = f64::INFINITY;
    let mut max_abs = 0.0f64;
    for u in 0..n {
        for v in 0..n {
            if u != v {
                min_off = min_off.min(s[u * n + v]);
                max_abs = max_abs.max(s[u * n + v].abs());
            }
        }
    }
    let shift = if min_off < 0.0 { -min_off } else { 0.0 };
    // Divide by 2·max|T| so that the shifted entries stay ≤ 1 (no overflow; the scale cancels
    // in D^{-1/2} A D^{-1/2}).
    let scale = if max_abs > 0.0 { 0.5 / max_abs } else { 1.0 };
    let mut a = vec![0.0; n * n];
    for u in 0..n {
        for v in 0..n {
            if u != v {
                a[u * n + v] = (s[u * n + v] * scale + shift * scale).max(0.0);
            }
        }
    }
    let inv_sqrt: Vec<f64> = (0..n)
        .map(|u| {
            let d: f64 = a[u * n..(u + 1) * n].iter().sum();
            if d > 0.0 {
                1.0 / libm::sqrt(d)
            } else {
                0.0
            }
        })
        .collect();
    for u in 0..n {
        for v in 0..n {
            a[u * n + v] *= inv_sqrt[u] * inv_sqrt[v];
        }
    }
    let e = sym_eigen(&a, n).ok_or(Error::NumericalFailure {
        what: "eigendecomposition of the normalised affinity",
    })?;
    let mut emb = vec![0.0; n * k];
    for i in 0..n {
        let row = &mut emb[i * k..(i + 1) * k];
        for (j, x) in row.iter_mut().enumerate() {
            *x = e.vectors[(i, j)];
        }
        let norm = libm::sqrt(row.iter().map(|x| x * x).sum::<f64>());
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
    }
    Ok(emb)
}

/// Lloyd's k-means (k-means++, seeded restarts) on the rows of the affinity, into k groups.
/// Errors: k ∉ 1..=n, bad settings.
pub fn lloyd_kmeans(
    t: &Affinity,
    k: usize,
    settings: &BaselineSettings,
) -> Result<Partition, Error> {
    let n = check(t, k, settings)?;
    // Rescale by max|T| so that squared distances cannot overflow (k-means is scale invariant).
    let max_abs = t.as_slice().iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let scale = if max_abs > 0.0 { 1.0 / max_abs } else { 1.0 };
    let rows: Vec<f64> = t.as_slice().iter().map(|x| x * scale).collect();
    kmeans_partition(&rows, n, k, settings, "k-means on the rows of the affinity")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(labels: &[usize], inside: f64, outside: f64) -> Affinity {
        let n = labels.len();
        let mut d = vec![0.0; n * n];
        for u in 0..n {
            for v in 0..n {
                // A little deterministic asymmetry-free jitter so ties are broken.
                let j = 0.01 * (((u * 7 + v * 7 + u * v) % 5) as f64);
                d[u * n + v] = if labels[u] == labels[v] {
                    inside
                } else {
                    outside
                } + j;
            }
        }
        Affinity::from_row_major(&d, n).unwrap()
    }

    #[test]
    fn both_recover_clean_blocks() {
        let truth = [0, 1, 0, 2, 1, 2, 0, 1, 2];
        let t = blocks(&truth, 5.0, 1.0);
        let want = Partition::from_labels(&truth).unwrap();
        let s = BaselineSettings::default();
        assert_eq!(spectral_clustering(&t, 3, &s).unwrap(), want);
        assert_eq!(lloyd_kmeans(&t, 3, &s).unwrap(), want);
        // Negative entries are shifted for spectral clustering.
        let tn = blocks(&truth, 1.0, -3.0);
        assert_eq!(spectral_clustering(&tn, 3, &s).unwrap(), want);
    }

    #[test]
    fn edge_cases() {
        let t = blocks(&[0, 0, 1], 1.0, 0.0);
        let s = BaselineSettings::default();
        assert_eq!(spectral_clustering(&t, 1, &s).unwrap().num_groups(), 1);
        assert_eq!(spectral_clustering(&t, 3, &s).unwrap().num_groups(), 3);
        assert_eq!(lloyd_kmeans(&t, 3, &s).unwrap().num_groups(), 3);
        assert!(matches!(
            lloyd_kmeans(&t, 4, &s),
            Err(Error::InvalidK { k: 4, n: 3 })
        ));
        let zero = Affinity::from_row_major(&[0.0; 4], 2).unwrap();
        assert_eq!(spectral_clustering(&zero, 2, &s).unwrap().num_groups(), 2);
        let bad = BaselineSettings { restarts: 0, ..s };
        assert!(spectral_clustering(&t, 2, &bad).is_err());
    }
}
