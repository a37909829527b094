//! Agreement between partitions: exact recovery and the adjusted Rand index (Hubert & Arabie).

use taskgroup_core::Error;
use taskgroup_core::Partition;

/// How a found partition compares with a reference (ground-truth) partition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    /// The partitions are identical (same groups; labels do not matter).
    pub exact: bool,
    /// Adjusted Rand index in [−1, 1] (1 = identical, ≈ 0 = chance level).
    pub ari: f64,
}

/// True when `found` and `truth` have the same groups (labels do not matter; a partition of
/// another number of tasks is never a recovery).
pub fn exact_recovery(found: &Partition, truth: &Partition) -> bool {
    // Partitions are canonically labelled, so equal groups means equal labels.
    found == truth
}

/// The adjusted Rand index of two partitions of the same tasks, in [−1, 1].
///
/// ARI = (I − E) / (M − E) with I = Σ_ij C(n_ij, 2) over the contingency table, A = Σ_i C(a_i, 2),
/// B = Σ_j C(b_j, 2), E = A·B / C(n, 2), M = (A + B)/2. M = E only when the two partitions are
/// equal (both one group, or both all singletons) or n < 2: the index is then 1. Errors with
/// [`Error::InvalidPartition`] when the partitions have different numbers of tasks.
pub fn adjusted_rand_index(a: &Partition, b: &Partition) -> Result<f64, Error> {
    if a.n() != b.n() {
        return Err(Error::InvalidPartition {
            reason: "the two partitions have different numbers of tasks",
        });
    }
    let n = a.n();
    let (ka, kb) = (a.num_groups(), b.num_groups());
    let mut table: Vec<u64> = vec![0; ka * kb];
    for (&la, &lb) in a.labels().iter().zip(b.labels()) {
        table[la as usize * kb + lb as usize] += 1;
    }
    let pairs = |c: u64| (c as f64) * (c as f64 - 1.0) / 2.0;
    let index: f64 = table.iter().map(|&c| pairs(c)).sum();
    let sa: f64 = a.sizes().iter().map(|&c| pairs(c as u64)).sum();
    let sb: f64 = b.sizes().iter().map(|&c| pairs(c as u64)).sum();
    let total = pairs(n as u64);
    if total == 0.0 {
        return Ok(1.0);
    }
    let expected = sa * sb / total;
    let max = 0.5 * (sa + sb);
    if max == expected {
        return Ok(1.0);
    }
    Ok((index - expected) / (max - expected))
}

/// Exact recovery and ARI of `found` against `truth` (errors as [`adjusted_rand_index`]).
pub fn agreement(found: &Partition, truth: &Partition) -> Result<Agreement, Error> {
    Ok(Agreement {
        exact: exact_recovery(found, truth),
        ari: adjusted_rand_index(found, truth)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(l: &[usize]) -> Partition {
        Partition::from_labels(l).unwrap()
    }

    #[test]
    fn known_values() {
        // Identical up to labels.
        assert_eq!(
            adjusted_rand_index(&p(&[0, 0, 1, 1]), &p(&[5, 5, 2, 2])).unwrap(),
            1.0
        );
        // sklearn: adjusted_rand_score([0,0,1,1],[0,1,0,1]) = -0.5.
        let x = adjusted_rand_index(&p(&[0, 0, 1, 1]), &p(&[0, 1, 0, 1])).unwrap();
        assert!((x + 0.5).abs() < 1e-12);
        // sklearn: adjusted_rand_score([0,0,1,2],[0,0,1,1]) = 0.5714285714285715.
        let y = adjusted_rand_index(&p(&[0, 0, 1, 2]), &p(&[0, 0, 1, 1])).unwrap();
        assert!((y - 4.0 / 7.0).abs() < 1e-12);
        // Degenerate cases: equal trivial partitions score 1; one group vs all singletons 0.
        assert_eq!(
            adjusted_rand_index(&p(&[0, 0, 0]), &p(&[1, 1, 1])).unwrap(),
            1.0
        );
        assert_eq!(
            adjusted_rand_index(&p(&[0, 1, 2]), &p(&[2, 1, 0])).unwrap(),
            1.0
        );
        assert_eq!(
            adjusted_rand_index(&p(&[0, 0, 0]), &p(&[0, 1, 2])).unwrap(),
            0.0
        );
        assert_eq!(adjusted_rand_index(&p(&[0]), &p(&[0])).unwrap(), 1.0);
        assert!(adjusted_rand_index(&p(&[0, 0]), &p(&[0])).is_err());
        let g = agreement(&p(&[0, 0, 1]), &p(&[1, 1, 0])).unwrap();
        assert!(g.exact && g.ari == 1.0);
    }
}
