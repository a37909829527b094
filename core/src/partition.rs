//! Partitions of tasks into non-empty groups, in a canonical labelling.

use alloc::vec::Vec;

use crate::affinity::Affinity;
use crate::error::Error;

/// A partition of n tasks into non-empty groups, canonically labelled: task 0 is in group 0,
/// and each next task that starts a new group gets the next label. So equal partitions compare
/// equal, and groups are ordered by their smallest task.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Partition {
    labels: Vec<u32>,
    num_groups: usize,
}

impl Partition {
    /// Builds a partition from any labels (one per task; label values are arbitrary ids).
    /// Errors on zero tasks.
    pub fn from_labels(labels: &[usize]) -> Result<Self, Error> {
        if labels.is_empty() {
            return Err(Error::InvalidPartition { reason: "no tasks" });
        }
        let mut map: Vec<(usize, u32)> = Vec::new();
        let mut out = Vec::with_capacity(labels.len());
        for &l in labels {
            let id = match map.iter().find(|(a, _)| *a == l) {
                Some(&(_, id)) => id,
                None => {
                    let id = map.len() as u32;
                    map.push((l, id));
                    id
                }
            };
            out.push(id);
        }
        Ok(Partition {
            labels: out,
            num_groups: map.len(),
        })
    }

    /// Builds a partition from groups of 0-based task indices that must cover 0..n exactly once.
    pub fn from_groups<G: AsRef<[usize]>>(groups: &[G], n: usize) -> Result<Self, Error> {
        let mut labels = alloc::vec![usize::MAX; n];
        for (g, members) in groups.iter().enumerate() {
            let members = members.as_ref();
            if members.is_empty() {
                return Err(Error::InvalidPartition {
                    reason: "a group is empty",
                });
            }
            for &t in members {
                if t >= n {
                    return Err(Error::InvalidPartition {
                        reason: "a task index is out of range",
                    });
                }
                if labels[t] != usize::MAX {
                    return Err(Error::InvalidPartition {
                        reason: "a task is in two groups",
                    });
                }
                labels[t] = g;
            }
        }
        if labels.contains(&usize::MAX) {
            return Err(Error::InvalidPartition {
                reason: "a task is in no group",
            });
        }
        Self::from_labels(&labels)
    }

    /// Fast path for labels known to be in 0..k with every label used (canonicalised anyway).
    pub(crate) fn from_dense(labels: &[usize]) -> Self {
        // Labels are never empty here; from_labels only fails on empty input.
        Self::from_labels(labels).unwrap_or(Partition {
            labels: Vec::new(),
            num_groups: 0,
        })
    }

    /// Number of tasks.
    pub fn n(&self) -> usize {
        self.labels.len()
    }

    /// Number of (non-empty) groups.
    pub fn num_groups(&self) -> usize {
        self.num_groups
    }

    /// Canonical label of each task, in 0..num_groups.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The groups as sorted lists of 0-based task indices, ordered by their smallest task.
    pub fn groups(&self) -> Vec<Vec<usize>> {
        let mut g = alloc::vec![Vec::new(); self.num_groups];
        for (t, &l) in self.labels.iter().enumerate() {
            g[l as usize].push(t);
        }
        g
    }

    /// Sizes of the groups, in label order.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = alloc::vec![0; self.num_groups];
        for &l in &self.labels {
            s[l as usize] += 1;
        }
        s
    }

    /// The partition's matrix X = Σ_i v_i v_iᵀ / |C_i| (row-major n×n).
    pub fn matrix(&self) -> Vec<f64> {
        let n = self.n();
        let sizes = self.sizes();
        let mut x = alloc::vec![0.0; n * n];
        for u in 0..n {
            for v in 0..n {
                if self.labels[u] == self.labels[v] {
                    x[u * n + v] = 1.0 / sizes[self.labels[u] as usize] as f64;
                }
            }
        }
        x
    }

    /// Σ_i d_{C_i} = ⟨T, X_partition⟩ = Σ_i (Σ_{u,v∈C_i} T_uv)/|C_i| (Eq. 1 summed), in T's units.
    /// Panics never; a partition of another size than T gives `Err(InvalidPartition)`.
    pub fn value(&self, t: &Affinity) -> Result<f64, Error> {
        if t.n() != self.n() {
            return Err(Error::InvalidPartition {
                reason: "partition and affinity differ in size",
            });
        }
        Ok(block_value(t.as_slice(), self))
    }

    /// Average density (1/k)·Σ_i d_{C_i} (paper Eq. 2) with k = number of groups.
    pub fn average_density(&self, t: &Affinity) -> Result<f64, Error> {
        Ok(self.value(t)? / self.num_groups as f64)
    }
}

/// Σ_i (Σ_{u,v∈C_i} A_uv)/|C_i| for a row-major n×n matrix A.
///
/// The sums run on A scaled by an exact power of two (max |A| → [1, 2)), so entries near
/// f64::MAX cannot overflow in the middle; the result is ±Inf only when the value itself exceeds
/// the f64 range.
pub fn block_value(a: &[f64], p: &Partition) -> f64 {
    crate::simd::run(
        #[inline(always)]
        || block_value_body(a, p),
    )
}

/// [`block_value`]'s body, compiled twice ([`crate::simd::run`]).
#[inline(always)]
fn block_value_body(a: &[f64], p: &Partition) -> f64 {
    let n = p.n();
    let k = p.num_groups();
    let max = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 && max.is_finite() {
        libm::ldexp(1.0, libm::frexp(max).1 - 1)
    } else {
        1.0
    };
    let (inv, inv2) = crate::affinity::inverse_pow2(scale);
    let mut sums = alloc::vec![0.0; k];
    let sizes = p.sizes();
    for u in 0..n {
        let lu = p.labels[u];
        let row = &a[u * n..(u + 1) * n];
        let mut s = 0.0;
        for (v, &x) in row.iter().enumerate() {
            if p.labels[v] == lu {
                s += x * inv * inv2;
            }
        }
        sums[lu as usize] += s;
    }
    scale
        * sums
            .iter()
            .zip(&sizes)
            .map(|(s, &c)| s / c as f64)
            .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_labels_and_groups() {
        let p = Partition::from_labels(&[7, 3, 7, 9]).unwrap();
        assert_eq!(p.labels(), &[0, 1, 0, 2]);
        assert_eq!(
            p.groups(),
            alloc::vec![alloc::vec![0, 2], alloc::vec![1], alloc::vec![3]]
        );
        let q = Partition::from_groups(&[alloc::vec![3], alloc::vec![1], alloc::vec![0, 2]], 4)
            .unwrap();
        assert_eq!(p, q);
        assert!(Partition::from_groups(&[alloc::vec![0, 0]], 1).is_err());
        assert!(Partition::from_groups(&[alloc::vec![0]], 2).is_err());
        assert!(Partition::from_labels(&[]).is_err());
    }

    #[test]
    fn value_matches_matrix_inner_product() {
        let t =
            Affinity::from_row_major(&[1.0, 2.0, 0.0, 2.0, 3.0, 1.0, 0.0, 1.0, 4.0], 3).unwrap();
        let p = Partition::from_labels(&[0, 0, 1]).unwrap();
        let v = p.value(&t).unwrap();
        assert!((v - t.inner(&p.matrix())).abs() < 1e-12);
        assert!((v - ((1.0 + 2.0 + 2.0 + 3.0) / 2.0 + 4.0)).abs() < 1e-12);
    }
}
