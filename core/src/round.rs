//! Rounding an SDP solution X to a partition (method.md §5).
//!
//! - [`Rounding::Threshold`]: the paper's rule, kept for reproduction: u ~ v when X_uv > c/n,
//!   groups = connected components. The number of groups it finds may differ from k.
//! - [`Rounding::Robust`] (default): candidate partitions with exactly k groups (the
//!   single-linkage cut of X, k-means on the top k − 1 eigenpairs of X on 1⊥ scaled by √λ, k-means on the
//!   rows of X), each improved by local search (move or swap single tasks while the objective
//!   strictly increases, never emptying a group); the best by the objective wins.

use alloc::vec::Vec;

use crate::affinity::{Affinity, Centered};
use crate::error::Error;
use crate::kmeans::{kmeans, kmeans_restarts, KMeansSettings};
use crate::partition::{block_value, Partition};
use crate::sdp::XFactor;

/// Which rounding rule turns X into groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rounding {
    /// Candidates + local search; always exactly k groups (default).
    Robust,
    /// The paper's rule: connected components of {X_uv > c/n}; c > 0 (the paper: c = 1).
    Threshold {
        /// Threshold multiplier c (> 0, finite).
        c: f64,
    },
}

/// Settings of the rounding step; `Default` gives robust rounding, seed 0, 10 restarts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundingSettings {
    /// The rule.
    pub mode: Rounding,
    /// Seed of the k-means restarts (ChaCha8).
    pub seed: u64,
    /// k-means++ restarts per embedding (default 10; ≥ 1).
    pub kmeans_restarts: usize,
    /// Improve robust candidates by local search (default true).
    pub local_search: bool,
}

impl Default for RoundingSettings {
    fn default() -> Self {
        RoundingSettings {
            mode: Rounding::Robust,
            seed: 0,
            kmeans_restarts: 10,
            local_search: true,
        }
    }
}

impl RoundingSettings {
    /// Checks the settings against their documented ranges.
    pub fn validate(&self) -> Result<(), Error> {
        if let Rounding::Threshold { c } = self.mode {
            Error::require_setting(
                c.is_finite() && c > 0.0,
                "rounding.c",
                "must be finite and > 0",
            )?;
        }
        Error::require_setting(
            self.kmeans_restarts != 0,
            "rounding.kmeans_restarts",
            "must be at least 1",
        )
    }
}

/// Smallest objective increase (in units of the unit-norm centred affinity) that local search
/// accepts; anything smaller is rounding noise, and refusing it guarantees termination.
const IMPROVE_EPS: f64 = 1e-12;
/// Largest n for which every k-means restart (not only the best) is a rounding candidate.
const ALL_RESTARTS_MAX_N: usize = 300;

/// Largest n for which k-means on the rows of X is one of the candidates.
const ROWS_KMEANS_MAX_N: usize = 200;

/// Smallest n for which the rounding's top eigenpairs come from the block iteration (below it,
/// the full decomposition: cheap there, and it fixes the answers the tests snapshot).
const BLOCK_EIGEN_MIN_N: usize = 200;

/// Top r eigenpairs of P·X·P (values descending, vectors column-major n×r): block iteration for
/// n ≥ [`BLOCK_EIGEN_MIN_N`], full decomposition otherwise or as the fallback.
fn top_eigenpairs_of(
    xs: &[f64],
    n: usize,
    r: usize,
    block_min_n: usize,
) -> Option<(Vec<f64>, Vec<f64>)> {
    if n >= block_min_n {
        if let Some(e) = crate::sdp::lowrank::top_eigen_1perp(xs, n, r, 1e-8) {
            return Some(e);
        }
    }
    let b = crate::sdp::projection::centered_shifted(xs, n);
    let (values, _, vecs) = crate::eigen::sym_eigen_select(&b, n, |_| 0..r)?;
    Some((values[..r.min(n)].to_vec(), vecs))
}

/// Cap on local-search rounds (each round: one move pass and one swap pass).
const MAX_ROUNDS: usize = 1000;

/// Rounds a (near-)feasible X (row-major n×n) for affinity T to a partition.
pub fn round_partition(
    t: &Affinity,
    x: &[f64],
    k: usize,
    settings: &RoundingSettings,
) -> Result<Partition, Error> {
    let n = t.n();
    if k == 0 || k > n {
        return Err(Error::InvalidK { k, n });
    }
    crate::sdp::admm::check_matrix(x, n, ["X is not n×n", "X has a non-finite entry"])?;
    settings.validate()?;
    Ok(round_centered(&t.centered(), x, None, k, settings))
}

/// The robust (or threshold) rounding of X on the centred affinity. `factor`: X as the ADMM
/// projection formed it (`X = 11ᵀ/n + V·diag(μ)·Vᵀ`), when known: the same candidates, with
/// X's spectral embedding and the geometry of its rows read from it instead of an
/// eigendecomposition of X.
pub(crate) fn round_centered(
    cen: &Centered,
    x: &[f64],
    factor: Option<&XFactor>,
    k: usize,
    settings: &RoundingSettings,
) -> Partition {
    round_centered_at(cen, (x, factor), k, settings, BLOCK_EIGEN_MIN_N)
}

/// [`round_centered`] for the early stop's checks: the spectral embedding from the block
/// iteration already from n ≥ [`LOW_RANK_MIN_N`](crate::sdp::LOW_RANK_MIN_N) (its top
/// eigenvectors to a 1e-8 residual instead of the full decomposition; planted n = 100 through
/// the CLI, about five check roundings: 17.7 → 16.4 ms). A check's partition only has to be
/// certified, not to match the final rounding's.
pub(crate) fn round_centered_check(
    cen: &Centered,
    x: &[f64],
    factor: Option<&XFactor>,
    k: usize,
    settings: &RoundingSettings,
) -> Partition {
    round_centered_at(cen, (x, factor), k, settings, crate::sdp::LOW_RANK_MIN_N)
}

/// [`round_centered`] with the block iteration for the embedding from n ≥ `block_min_n` (when
/// X has no factor).
fn round_centered_at(
    cen: &Centered,
    (x, factor): (&[f64], Option<&XFactor>),
    k: usize,
    settings: &RoundingSettings,
    block_min_n: usize,
) -> Partition {
    let n = cen.n;
    match settings.mode {
        Rounding::Threshold { c } => threshold_components(x, n, c / n as f64),
        Rounding::Robust => {
            let mut best: Option<(f64, Partition)> = None;
            let mut cands = candidates((x, factor), n, k, settings, block_min_n);
            cands.sort_by(|a, b| a.labels().cmp(b.labels()));
            cands.dedup();
            for cand in cands {
                let p = if settings.local_search {
                    local_search(&cen.c, cand)
                } else {
                    cand
                };
                let v = block_value(&cen.c, &p);
                if best.as_ref().is_none_or(|(bv, _)| v > *bv + IMPROVE_EPS) {
                    best = Some((v, p));
                }
            }
            // Candidates always include the single-linkage cut, so `best` is set; fall back to
            // the round-robin partition for safety.
            best.map(|(_, p)| p).unwrap_or_else(|| round_robin(n, k))
        }
    }
}

/// Tasks assigned to groups 0, 1, ..., k−1, 0, 1, ... (a valid k-partition for any k ≤ n).
fn round_robin(n: usize, k: usize) -> Partition {
    let labels: Vec<usize> = (0..n).map(|i| i % k).collect();
    Partition::from_dense(&labels)
}

fn candidates(
    (x, factor): (&[f64], Option<&XFactor>),
    n: usize,
    k: usize,
    settings: &RoundingSettings,
    block_min_n: usize,
) -> Vec<Partition> {
    let mut out = Vec::new();
    out.push(single_linkage_cut(x, n, k));
    let km = KMeansSettings {
        restarts: settings.kmeans_restarts,
        max_iterations: 100,
        seed: settings.seed,
    };
    let factor = factor.filter(|f| f.fits(n));
    // Spectral embedding of X: rows of V·diag(√λ) for the top k − 1 eigenpairs of X on 1⊥
    // (X = 11ᵀ/n + W; the direction 1 is constant over tasks and does not separate them).
    // For a partition X these rows are the group indicators scaled by 1/√|C|. With X's factor
    // those pairs are its first k − 1 (μ_j, v_j) (zero columns beyond its rank).
    // Without a factor, both candidates read the symmetrised X.
    let xs: Option<Vec<f64>> = factor.is_none().then(|| {
        (0..n * n)
            .map(|i| 0.5 * (x[i] + x[(i % n) * n + i / n]))
            .collect()
    });
    let r = k - 1;
    if r >= 1 {
        let owned;
        let pairs = match (factor, &xs) {
            (Some(f), _) => Some((f.mu.as_slice(), f.v.as_slice())),
            (None, Some(xs)) => {
                owned = top_eigenpairs_of(xs, n, r, block_min_n);
                owned.as_ref().map(|(v, w)| (v.as_slice(), w.as_slice()))
            }
            (None, None) => None,
        };
        if let Some((vals, vecs)) = pairs {
            let mut emb = alloc::vec![0.0; n * r];
            for j in 0..r.min(vals.len()) {
                let s = libm::sqrt(vals[j].max(0.0));
                for i in 0..n {
                    emb[i * r + j] = vecs[j * n + i] * s;
                }
            }
            // Small n: every restart is a candidate (local search then starts from several
            // basins); large n: the best restart only.
            if n <= ALL_RESTARTS_MAX_N {
                for (_, l) in kmeans_restarts(&emb, n, r, k, &km).unwrap_or_default() {
                    out.push(Partition::from_dense(&l));
                }
            } else if let Some(l) = kmeans(&emb, n, r, k, &km) {
                out.push(Partition::from_dense(&l));
            }
        }
    }
    // k-means on the rows of X (cost O(n²·k) per Lloyd step: small n only). With X's factor,
    // on the rows of V·diag(μ) instead (r coordinates): the same distances between rows and
    // centroids (V has orthonormal columns), so the same clustering up to rounding.
    if n <= ROWS_KMEANS_MAX_N {
        let rows = match factor {
            Some(f) => {
                let d = f.mu.len();
                let mut pts = alloc::vec![0.0; n * d];
                for (j, &w) in f.mu.iter().enumerate() {
                    for i in 0..n {
                        pts[i * d + j] = f.v[j * n + i] * w;
                    }
                }
                kmeans(&pts, n, d, k, &km)
            }
            None => xs.as_ref().and_then(|xs| kmeans(xs, n, n, k, &km)),
        };
        if let Some(l) = rows {
            out.push(Partition::from_dense(&l));
        }
    }
    out.retain(|p| p.num_groups() == k);
    out
}

/// Connected components of the graph {u ~ v : X_uv > thr} (X symmetrised).
pub(crate) fn threshold_components(x: &[f64], n: usize, thr: f64) -> Partition {
    connected_components(n, |u, v| 0.5 * (x[u * n + v] + x[v * n + u]) > thr)
}

/// Connected components of the graph on tasks 0..n with an edge u ~ v (u < v) wherever
/// `linked(u, v)`; each component is labelled by its smallest task (union–find).
pub(crate) fn connected_components(
    n: usize,
    mut linked: impl FnMut(usize, usize) -> bool,
) -> Partition {
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut a: usize) -> usize {
        while p[a] != a {
            p[a] = p[p[a]];
            a = p[a];
        }
        a
    }
    for u in 0..n {
        for v in (u + 1)..n {
            if linked(u, v) {
                let (a, b) = (find(&mut parent, u), find(&mut parent, v));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let labels: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    Partition::from_dense(&labels)
}

/// The single-linkage cut with exactly k groups: the maximum spanning tree of X (symmetrised,
/// off-diagonal) without its k − 1 weakest edges. Equals the threshold rule at the threshold
/// that yields exactly k components.
fn single_linkage_cut(x: &[f64], n: usize, k: usize) -> Partition {
    // Prim's algorithm, O(n²).
    let w = |u: usize, v: usize| 0.5 * (x[u * n + v] + x[v * n + u]);
    let mut in_tree = alloc::vec![false; n];
    let mut best = alloc::vec![f64::NEG_INFINITY; n];
    let mut from = alloc::vec![0usize; n];
    let mut edges: Vec<(f64, usize, usize)> = Vec::with_capacity(n.saturating_sub(1));
    in_tree[0] = true;
    for (v, b) in best.iter_mut().enumerate().skip(1) {
        *b = w(0, v);
    }
    for _ in 1..n {
        let mut pick = usize::MAX;
        let mut bw = f64::NEG_INFINITY;
        for v in 0..n {
            if !in_tree[v] && (pick == usize::MAX || best[v] > bw) {
                bw = best[v];
                pick = v;
            }
        }
        in_tree[pick] = true;
        edges.push((bw, from[pick], pick));
        for v in 0..n {
            if !in_tree[v] {
                let wv = w(pick, v);
                if wv > best[v] {
                    best[v] = wv;
                    from[v] = pick;
                }
            }
        }
    }
    // Keep the n − k strongest edges (stable order for ties: by weight, then by discovery).
    let mut idx: Vec<usize> = (0..edges.len()).collect();
    idx.sort_by(|&a, &b| edges[b].0.total_cmp(&edges[a].0).then(a.cmp(&b)));
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut a: usize) -> usize {
        while p[a] != a {
            p[a] = p[p[a]];
            a = p[a];
        }
        a
    }
    for &e in idx.iter().take(n - k) {
        let (_, u, v) = edges[e];
        let (a, b) = (find(&mut parent, u), find(&mut parent, v));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let labels: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    Partition::from_dense(&labels)
}

/// Local search on Σ_i (Σ_{u,v∈C_i} A_uv)/|C_i| for a symmetric row-major A: moves of single tasks
/// (best target group per task) and swaps of two tasks in different groups, applied while they
/// improve the objective by more than `IMPROVE_EPS`; never empties a group.
pub(crate) fn local_search(a: &[f64], p: Partition) -> Partition {
    let n = p.n();
    let k = p.num_groups();
    if k <= 1 || k >= n {
        return p;
    }
    let mut lab: Vec<usize> = p.labels().iter().map(|&l| l as usize).collect();
    let mut size = alloc::vec![0usize; k];
    lab.iter().for_each(|&l| size[l] += 1);
    // s[u*k + g] = Σ_{v ∈ g} A_uv ; tot[g] = Σ_{u,v ∈ g} A_uv.
    let mut s = alloc::vec![0.0; n * k];
    for u in 0..n {
        for v in 0..n {
            s[u * k + lab[v]] += a[u * n + v];
        }
    }
    let mut tot = alloc::vec![0.0; k];
    for u in 0..n {
        tot[lab[u]] += s[u * k + lab[u]];
    }
    for _round in 0..MAX_ROUNDS {
        let mut improved = false;
        // Moves.
        for u in 0..n {
            let ga = lab[u];
            if size[ga] < 2 {
                continue;
            }
            let auu = a[u * n + u];
            let na = size[ga] as f64;
            let d_rem = (tot[ga] - 2.0 * s[u * k + ga] + auu) / (na - 1.0) - tot[ga] / na;
            let mut best = (IMPROVE_EPS, usize::MAX);
            for gb in 0..k {
                if gb == ga {
                    continue;
                }
                let nb = size[gb] as f64;
                let d_add = (tot[gb] + 2.0 * s[u * k + gb] + auu) / (nb + 1.0) - tot[gb] / nb;
                if d_rem + d_add > best.0 {
                    best = (d_rem + d_add, gb);
                }
            }
            if best.1 != usize::MAX {
                let gb = best.1;
                tot[ga] += -2.0 * s[u * k + ga] + auu;
                tot[gb] += 2.0 * s[u * k + gb] + auu;
                size[ga] -= 1;
                size[gb] += 1;
                lab[u] = gb;
                for w in 0..n {
                    let awu = a[w * n + u];
                    s[w * k + ga] -= awu;
                    s[w * k + gb] += awu;
                }
                improved = true;
            }
        }
        // Swaps.
        for u in 0..n {
            for v in (u + 1)..n {
                let (ga, gb) = (lab[u], lab[v]);
                if ga == gb {
                    continue;
                }
                let (auu, avv, auv) = (a[u * n + u], a[v * n + v], a[u * n + v]);
                let da = -2.0 * s[u * k + ga] + auu + 2.0 * (s[v * k + ga] - auv) + avv;
                let db = -2.0 * s[v * k + gb] + avv + 2.0 * (s[u * k + gb] - auv) + auu;
                let delta = da / size[ga] as f64 + db / size[gb] as f64;
                if delta > IMPROVE_EPS {
                    tot[ga] += da;
                    tot[gb] += db;
                    lab[u] = gb;
                    lab[v] = ga;
                    for w in 0..n {
                        let (awu, awv) = (a[w * n + u], a[w * n + v]);
                        s[w * k + ga] += awv - awu;
                        s[w * k + gb] += awu - awv;
                    }
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    Partition::from_dense(&lab)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_linkage_gives_k_groups() {
        let p = Partition::from_labels(&[0, 0, 1, 1, 2]).unwrap();
        let x = p.matrix();
        for k in 1..=5 {
            assert_eq!(single_linkage_cut(&x, 5, k).num_groups(), k);
        }
        assert_eq!(single_linkage_cut(&x, 5, 3), p);
        assert_eq!(threshold_components(&x, 5, 0.2), p);
    }

    #[test]
    fn local_search_fixes_a_misplaced_task() {
        // Two blocks {0,1,2} and {3,4,5}; start with task 2 misplaced.
        let n = 6;
        let mut a = alloc::vec![0.0; n * n];
        for u in 0..n {
            for v in 0..n {
                a[u * n + v] = if (u < 3) == (v < 3) { 1.0 } else { -1.0 };
            }
        }
        let start = Partition::from_labels(&[0, 0, 1, 1, 1, 1]).unwrap();
        let p = local_search(&a, start);
        assert_eq!(p, Partition::from_labels(&[0, 0, 0, 1, 1, 1]).unwrap());
    }
}
