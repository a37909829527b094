//! Choosing the number of groups k over a range (method.md §6).
//!
//! Every k in the range is solved (warm-started from the previous k's partition and ρ), rounded
//! and certified. Two rules pick k from the table:
//! - [`KRule::AverageDensity`] (the paper's): the highest average density value/k. Not invariant:
//!   under T + c·11ᵀ the average density of k groups moves by c·n/k, so positive offsets favour
//!   small k and negative ones (e.g. negated losses) large k.
//! - [`KRule::Elbow`]: the largest drop in marginal gain, `Δ_k − Δ_{k+1}` with
//!   `Δ_k = V_k − V_{k−1}` (V_k: best partition value found for k). Under a·T, T + c·11ᵀ,
//!   T + c·I and T + a1ᵀ + 1aᵀ, V_k becomes a·V_k + c₁ + c₂·k, so second differences only scale
//!   by a > 0 and the choice is invariant. V_{k−1} and V_{k+1} at the range ends are solved too
//!   (V_1 is closed form); at k = n, Δ_{n+1} = Δ_n is used (no gain past n).

use alloc::vec::Vec;

use crate::affinity::Affinity;
use crate::error::Error;
use crate::group::{group_centered, GroupResult, GroupSettings};
use crate::sdp::{Progress, WarmStart};

/// A progress callback for [`search_k`]: (k being solved, solver progress) → continue?
pub type KProgress<'a> = &'a mut dyn FnMut(usize, &Progress) -> bool;

/// How [`search_k`] picks k from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KRule {
    /// The paper's rule: highest average density (value / k). Default.
    #[default]
    AverageDensity,
    /// Largest second difference of the value curve: invariant to the shifts of method.md §2.
    Elbow,
}

/// One row of the k-search table.
#[derive(Debug, Clone)]
pub struct KSearchRow {
    /// Number of groups.
    pub k: usize,
    /// The grouping result for this k.
    pub result: GroupResult,
    /// The elbow score Δ_k − Δ_{k+1} (T's units; larger = more pronounced elbow).
    pub elbow_score: f64,
}

/// The k-search table and the chosen k.
#[derive(Debug, Clone)]
pub struct KSearch {
    /// One row per k in the range, ascending.
    pub rows: Vec<KSearchRow>,
    /// The rule used for `chosen`.
    pub rule: KRule,
    /// Index into `rows` of the chosen k.
    pub chosen: usize,
    /// Index into `rows` chosen by the paper's rule (average density).
    pub chosen_by_density: usize,
    /// Index into `rows` chosen by the elbow rule.
    pub chosen_by_elbow: usize,
}

impl KSearch {
    /// The chosen row.
    pub fn best(&self) -> &KSearchRow {
        &self.rows[self.chosen]
    }
}

/// Solves every k in `lo..=hi` and picks one by `rule`. `progress` receives (k, solver progress)
/// and may return `false` to stop: the current solve ends with status `Interrupted` and, once k
/// ≥ lo, the search ends there (the table then stops at that k).
pub fn search_k(
    t: &Affinity,
    lo: usize,
    hi: usize,
    settings: &GroupSettings,
    rule: KRule,
    mut progress: Option<KProgress<'_>>,
) -> Result<KSearch, Error> {
    let n = t.n();
    if lo == 0 || lo > hi || hi > n {
        return Err(Error::InvalidKRange { lo, hi, n });
    }
    settings.validate()?;
    let cen = t.centered();
    // Solve lo−1 (if ≥ 1) .. min(hi+1, n) so that the elbow has both neighbours.
    let first = if lo > 1 { lo - 1 } else { lo };
    let planned_last = if hi < n { hi + 1 } else { hi };
    let mut stopped_at: Option<usize> = None;
    let mut results: Vec<GroupResult> = Vec::new();
    let mut s = settings.clone();
    for k in first..=planned_last {
        let prev = results.last().map(|r| r.partition.clone());
        let warm = match &prev {
            Some(p) => WarmStart::Partition(p),
            None => WarmStart::Cold,
        };
        // Only hand the solver a callback when the caller has one: it costs an O(n²)
        // objective evaluation per iteration.
        let r = match progress.as_mut() {
            Some(f) => {
                let mut cb = |p: &Progress| f(k, p);
                group_centered(t, &cen, k, &s, warm, Some(&mut cb))?
            }
            None => group_centered(t, &cen, k, &s, warm, None)?,
        };
        s.solver.rho = Some(r.sdp.rho);
        let stop = r.sdp.status == crate::sdp::SolverStatus::Interrupted && k >= lo;
        results.push(r);
        if stop {
            stopped_at = Some(k);
            break;
        }
    }
    let last = stopped_at.unwrap_or(planned_last);
    let hi = stopped_at.map_or(hi, |k| hi.min(k));
    let value_at = |k: usize| -> Option<f64> {
        if k >= first && k <= last {
            Some(results[k - first].value)
        } else {
            None
        }
    };
    let v1 = crate::partition::block_value(
        t.as_slice(),
        &crate::partition::Partition::from_dense(&alloc::vec![0; n]),
    );
    let mut rows = Vec::new();
    for k in lo..=hi {
        let vk = results[k - first].value;
        let vprev = if k == 1 {
            None
        } else {
            value_at(k - 1).or(if k == 2 { Some(v1) } else { None })
        };
        let dk = vprev.map(|p| vk - p);
        let dnext = value_at(k + 1).map(|nx| nx - vk);
        let elbow = match (dk, dnext) {
            (Some(a), Some(b)) => a - b,
            (Some(_), None) => 0.0, // k = n: Δ_{n+1} = Δ_n
            (None, Some(b)) => -b,  // k = 1: Δ_1 = 0
            (None, None) => 0.0,
        };
        rows.push(KSearchRow {
            k,
            result: results[k - first].clone(),
            elbow_score: elbow,
        });
    }
    let argmax = |f: &dyn Fn(&KSearchRow) -> f64| -> usize {
        let mut best = 0;
        for (i, r) in rows.iter().enumerate() {
            if f(r) > f(&rows[best]) {
                best = i;
            }
        }
        best
    };
    let chosen_by_density = argmax(&|r: &KSearchRow| r.result.average_density);
    let chosen_by_elbow = argmax(&|r: &KSearchRow| r.elbow_score);
    let chosen = match rule {
        KRule::AverageDensity => chosen_by_density,
        KRule::Elbow => chosen_by_elbow,
    };
    Ok(KSearch {
        rows,
        rule,
        chosen,
        chosen_by_density,
        chosen_by_elbow,
    })
}
