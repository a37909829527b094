//! Seeded k-means (k-means++ initialisation, Lloyd iterations, restarts) on dense row vectors.
//!
//! Used by the robust rounding (on the top eigenvectors of X) and by the Lloyd and spectral
//! baselines. Always returns exactly k non-empty clusters when there are at least k points.

use alloc::vec::Vec;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::random::uniform;

/// Settings of [`kmeans`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KMeansSettings {
    /// Independent k-means++ restarts; the lowest within-cluster sum of squares wins (default 10; ≥ 1).
    pub restarts: usize,
    /// Lloyd iterations per restart (default 100).
    pub max_iterations: usize,
    /// RNG seed (ChaCha8).
    pub seed: u64,
}

impl Default for KMeansSettings {
    fn default() -> Self {
        KMeansSettings {
            restarts: 10,
            max_iterations: 100,
            seed: 0,
        }
    }
}

/// Clusters the rows of `points` (n rows × d columns, row-major) into k clusters.
/// Returns one label in 0..k per row with every label used, or `None` when k = 0, k > n,
/// d = 0 or a value is not finite.
pub fn kmeans(
    points: &[f64],
    n: usize,
    d: usize,
    k: usize,
    settings: &KMeansSettings,
) -> Option<Vec<usize>> {
    if k == 0 || k > n || d == 0 || points.len() != n * d || points.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let mut best: Option<(f64, Vec<usize>)> = None;
    for (cost, labels) in kmeans_restarts(points, n, d, k, settings)? {
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, labels));
        }
    }
    best.map(|(_, l)| l)
}

/// Every restart of [`kmeans`] with its within-cluster sum of squares, in restart order
/// (`None` on the same inputs as [`kmeans`]).
pub fn kmeans_restarts(
    points: &[f64],
    n: usize,
    d: usize,
    k: usize,
    settings: &KMeansSettings,
) -> Option<Vec<(f64, Vec<usize>)>> {
    if k == 0 || k > n || d == 0 || points.len() != n * d || points.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    Some(
        (0..settings.restarts.max(1))
            .map(|_| one_run(points, n, d, k, settings.max_iterations, &mut rng))
            .collect(),
    )
}

/// Squared Euclidean distance, summed in four lanes (vectorises without fast-math; points of
/// X's rows have d = n coordinates).
fn dist2(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0f64; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..4 {
            let e = x[l] - y[l];
            s[l] += e * e;
        }
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        t += (x - y) * (x - y);
    }
    t
}

fn one_run(
    p: &[f64],
    n: usize,
    d: usize,
    k: usize,
    iters: usize,
    rng: &mut ChaCha8Rng,
) -> (f64, Vec<usize>) {
    // k-means++ seeding.
    let mut centres: Vec<f64> = Vec::with_capacity(k * d);
    let first = (uniform(rng) * n as f64) as usize % n;
    centres.extend_from_slice(&p[first * d..(first + 1) * d]);
    let mut dmin: Vec<f64> = (0..n)
        .map(|i| dist2(&p[i * d..(i + 1) * d], &centres[0..d]))
        .collect();
    for _ in 1..k {
        let total: f64 = dmin.iter().sum();
        let pick = if total > 0.0 {
            let mut r = uniform(rng) * total;
            let mut chosen = n - 1;
            for (i, &w) in dmin.iter().enumerate() {
                if r < w {
                    chosen = i;
                    break;
                }
                r -= w;
            }
            chosen
        } else {
            (uniform(rng) * n as f64) as usize % n
        };
        let c0 = centres.len();
        centres.extend_from_slice(&p[pick * d..(pick + 1) * d]);
        for i in 0..n {
            let dd = dist2(&p[i * d..(i + 1) * d], &centres[c0..c0 + d]);
            if dd < dmin[i] {
                dmin[i] = dd;
            }
        }
    }
    let mut labels = alloc::vec![0usize; n];
    for it in 0..iters.max(1) {
        let mut changed = false;
        for i in 0..n {
            let row = &p[i * d..(i + 1) * d];
            let mut bj = 0;
            let mut bd = f64::INFINITY;
            for j in 0..k {
                let dd = dist2(row, &centres[j * d..(j + 1) * d]);
                if dd < bd {
                    bd = dd;
                    bj = j;
                }
            }
            if labels[i] != bj || it == 0 {
                changed |= labels[i] != bj;
                labels[i] = bj;
            }
        }
        repair_empty(p, n, d, k, &mut labels, &centres);
        // Update centres.
        let mut counts = alloc::vec![0usize; k];
        centres.iter_mut().for_each(|x| *x = 0.0);
        for i in 0..n {
            counts[labels[i]] += 1;
            for t in 0..d {
                centres[labels[i] * d + t] += p[i * d + t];
            }
        }
        for j in 0..k {
            let c = counts[j].max(1) as f64;
            centres[j * d..(j + 1) * d].iter_mut().for_each(|x| *x /= c);
        }
        if !changed && it > 0 {
            break;
        }
    }
    let cost = (0..n)
        .map(|i| {
            dist2(
                &p[i * d..(i + 1) * d],
                &centres[labels[i] * d..(labels[i] + 1) * d],
            )
        })
        .sum();
    (cost, labels)
}

/// Gives every empty cluster the point farthest from its centre among clusters with ≥ 2 points.
fn repair_empty(p: &[f64], n: usize, d: usize, k: usize, labels: &mut [usize], centres: &[f64]) {
    loop {
        let mut counts = alloc::vec![0usize; k];
        labels.iter().for_each(|&l| counts[l] += 1);
        let Some(empty) = counts.iter().position(|&c| c == 0) else {
            return;
        };
        let mut far = None;
        let mut fd = -1.0;
        for i in 0..n {
            if counts[labels[i]] >= 2 {
                let dd = dist2(
                    &p[i * d..(i + 1) * d],
                    &centres[labels[i] * d..(labels[i] + 1) * d],
                );
                if dd > fd {
                    fd = dd;
                    far = Some(i);
                }
            }
        }
        match far {
            Some(i) => labels[i] = empty,
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_two_blobs_and_fills_clusters() {
        let pts = [0.0, 0.0, 0.1, 0.0, 10.0, 10.0, 10.1, 10.0];
        let l = kmeans(&pts, 4, 2, 2, &KMeansSettings::default()).unwrap();
        assert_eq!(l[0], l[1]);
        assert_eq!(l[2], l[3]);
        assert_ne!(l[0], l[2]);
        // identical points, k = n: every cluster non-empty
        let same = [1.0; 4];
        let l = kmeans(&same, 4, 1, 4, &KMeansSettings::default()).unwrap();
        let mut s = l.clone();
        s.sort();
        assert_eq!(s, alloc::vec![0, 1, 2, 3]);
        assert!(kmeans(&pts, 4, 2, 5, &KMeansSettings::default()).is_none());
    }
}
