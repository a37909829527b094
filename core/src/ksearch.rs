//! Choosing the number of groups k over a range (method.md §6).
//!
//! Every k in the range is solved (warm-started from the previous k's partition and ρ), rounded
//! and certified. One rule type, [`KRule`], picks k here and in AdaGroup sessions:
//! - [`KRule::Value`]: the largest value Σ_i d_{C_i} (ties to fewer groups).
//! - [`KRule::AverageDensity`] (the paper's): the highest average density value/k. Not invariant:
//!   under T + c·11ᵀ the average density of k groups moves by c·n/k, so positive offsets favour
//!   small k and negative ones (e.g. negated losses) large k.
//! - [`KRule::Elbow`]: the largest drop in marginal gain, `Δ_k − Δ_{k+1}` with
//!   `Δ_k = V_k − V_{k−1}` (V_k: best partition value found for k). Under a·T, T + c·11ᵀ,
//!   T + c·I and T + a1ᵀ + 1aᵀ, V_k becomes a·V_k + c₁ + c₂·k, so second differences only scale
//!   by a > 0 and the choice is invariant for ranges with lo ≥ 2 (with lo = 1 the convention
//!   Δ_1 = 0 makes k = 1's score move by −c under T + c·I). V_{k−1} and V_{k+1} at the range ends
//!   are solved too; at k = n, Δ_{n+1} = Δ_n is used (no gain past n).

use alloc::vec::Vec;

use crate::affinity::Affinity;
use crate::error::Error;
use crate::group::{group_centered, GroupResult, GroupSettings};
use crate::sdp::{Progress, WarmStart};

/// A progress callback for [`search_k`]: (k being solved, solver progress) → continue?
pub type KProgress<'a> = &'a mut dyn FnMut(usize, &Progress) -> bool;

/// How the number of groups is picked from a table of solved counts ([`search_k`], and
/// AdaGroup's `count_rule`). Ties go to fewer groups. The bincode tags (Value = 0,
/// AverageDensity = 1, Elbow = 2, Significant = 3) are part of the checkpoint format: new
/// variants go at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub enum KRule {
    /// The largest value Σ_i d_{C_i} = ⟨T, X⟩ (Eq. 2 without the 1/k). Invariant to a·T,
    /// T + c·11ᵀ and T + a1ᵀ + 1aᵀ (per-task offsets), not to T + c·I; splitting a group of
    /// diagonal d and cross terms a changes it by d − a (method.md §6), so it over-splits when
    /// the diagonal dominates.
    Value,
    /// The paper's rule: highest average density (value / k). Not shift-invariant: with
    /// positive scores it favours few groups (method.md §6).
    AverageDensity,
    /// Largest drop in marginal gain Δ_k − Δ_{k+1}: invariant to the shifts of method.md §2
    /// (see [`elbow_score`]); needs the counts on each side of the range solved too.
    Elbow,
    /// AdaGroup sessions only: the largest count whose groups are all separated on held-out
    /// subsets (4 folds: the groups found on three of them are tested on the fourth, in turn;
    /// [`crate::session::evidence`]); one group when no split is supported.
    /// [`search_k`] has no subsets and refuses it.
    Significant,
}

impl KRule {
    /// The score this rule maximises for a row (`elbow`: `None` when not computable).
    pub fn score(self, value: f64, average_density: f64, elbow: Option<f64>) -> f64 {
        match self {
            KRule::Value => value,
            KRule::AverageDensity => average_density,
            KRule::Elbow => elbow.unwrap_or(f64::NEG_INFINITY),
            KRule::Significant => f64::NEG_INFINITY,
        }
    }
}

/// The elbow score Δ_k − Δ_{k+1} of k among n tasks with value `vk` = V_k, where
/// Δ_k = V_k − V_{k−1}, Δ_1 = 0 and Δ_{n+1} = Δ_n (no gain past n); `value_of(j)` gives the
/// other V_j (`None` when not solved, and then so is the score).
pub fn elbow_score(
    k: usize,
    n: usize,
    vk: f64,
    value_of: impl Fn(usize) -> Option<f64>,
) -> Option<f64> {
    let dk = if k <= 1 { 0.0 } else { vk - value_of(k - 1)? };
    let dnext = if k >= n { dk } else { value_of(k + 1)? - vk };
    Some(dk - dnext)
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
    if rule == KRule::Significant {
        return Err(Error::InvalidSetting {
            name: "k_rule",
            reason: "the significant rule needs the trained subsets (AdaGroup sessions only)",
        });
    }
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
        // Only hand the solver a callback when the caller has one.
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
    let mut rows = Vec::new();
    for k in lo..=hi {
        rows.push(KSearchRow {
            k,
            result: results[k - first].clone(),
            // Every count next to the range is solved, so the score always exists.
            elbow_score: elbow_score(k, n, results[k - first].value, value_at).unwrap_or(0.0),
        });
    }
    let argmax = |rule: KRule| -> usize {
        let score = |r: &KSearchRow| {
            rule.score(
                r.result.value,
                r.result.average_density,
                Some(r.elbow_score),
            )
        };
        let mut best = 0;
        for (i, r) in rows.iter().enumerate() {
            if score(r) > score(&rows[best]) {
                best = i;
            }
        }
        best
    };
    let chosen = argmax(rule);
    let chosen_by_density = argmax(KRule::AverageDensity);
    let chosen_by_elbow = argmax(KRule::Elbow);
    Ok(KSearch {
        rows,
        rule,
        chosen,
        chosen_by_density,
        chosen_by_elbow,
    })
}
