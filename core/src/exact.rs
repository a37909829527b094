//! Exhaustive search over all partitions into exactly k non-empty groups (small n only).
//!
//! Used by tests and the evaluation to check the rounding against the true optimum. The number
//! of partitions is the Stirling number S(n, k) (at most ≈ 1.4·10⁶ for n = 12).

use alloc::vec::Vec;

use crate::affinity::Affinity;
use crate::error::Error;
use crate::partition::{block_value, Partition};

/// Largest n accepted by [`exact_partition`].
pub const EXACT_MAX_N: usize = 12;

/// The best partition of `t` into exactly k groups and its value ⟨T, X_partition⟩ (T's units).
/// Ties go to the first partition in restricted-growth order. Errors: k ∉ 1..=n, n > 12.
pub fn exact_partition(t: &Affinity, k: usize) -> Result<(Partition, f64), Error> {
    let n = t.n();
    if k == 0 || k > n {
        return Err(Error::InvalidK { k, n });
    }
    if n > EXACT_MAX_N {
        return Err(Error::TooLarge {
            n,
            max: EXACT_MAX_N,
        });
    }
    let cen = t.centered();
    let mut st = State {
        a: &cen.c,
        n,
        k,
        lab: alloc::vec![0; n],
        tot: alloc::vec![0.0; k],
        size: alloc::vec![0; k],
        best: f64::NEG_INFINITY,
        best_lab: alloc::vec![0; n],
    };
    st.recurse(0, 0);
    let p = Partition::from_dense(&st.best_lab);
    let value = block_value(t.as_slice(), &p);
    Ok((p, value))
}

struct State<'a> {
    a: &'a [f64],
    n: usize,
    k: usize,
    lab: Vec<usize>,
    tot: Vec<f64>,
    size: Vec<usize>,
    best: f64,
    best_lab: Vec<usize>,
}

impl State<'_> {
    fn recurse(&mut self, i: usize, used: usize) {
        if i == self.n {
            if used == self.k {
                let v: f64 = (0..self.k).map(|g| self.tot[g] / self.size[g] as f64).sum();
                if v > self.best + 1e-13 {
                    self.best = v;
                    self.best_lab.copy_from_slice(&self.lab);
                }
            }
            return;
        }
        // Remaining tasks must be able to open the missing groups.
        if self.n - i < self.k - used {
            return;
        }
        let limit = if used < self.k { used + 1 } else { used };
        for g in 0..limit {
            // Add task i to group g: tot += 2·Σ_{v<i, v∈g} A_iv + A_ii.
            let mut add = self.a[i * self.n + i];
            for v in 0..i {
                if self.lab[v] == g {
                    add += 2.0 * self.a[i * self.n + v];
                }
            }
            self.lab[i] = g;
            self.tot[g] += add;
            self.size[g] += 1;
            self.recurse(i + 1, if g == used { used + 1 } else { used });
            self.tot[g] -= add;
            self.size[g] -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks() {
        let n = 5;
        let groups = [0, 1, 0, 1, 1];
        let mut d = alloc::vec![0.0; n * n];
        for u in 0..n {
            for v in 0..n {
                d[u * n + v] = if groups[u] == groups[v] { 2.0 } else { -1.0 };
            }
        }
        let t = Affinity::from_row_major(&d, n).unwrap();
        let (p, _) = exact_partition(&t, 2).unwrap();
        assert_eq!(p, Partition::from_labels(&groups).unwrap());
        assert_eq!(
            exact_partition(&t, 6).unwrap_err(),
            Error::InvalidK { k: 6, n: 5 }
        );
    }
}
