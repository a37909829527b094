//! Exhaustive subset-training tables (Standley et al., ICML 2020, `tstandley/taskgrouping`):
//! a reader, the higher-order affinity of Eq. 6, true losses of partitions, exhaustive search
//! and regret.
//!
//! **Format** (tab-separated text; see `tests/fixtures/standley-taskonomy/README.md`): line 1
//! holds the loss of every task trained alone in a half-size network (the *baseline row*; m
//! non-empty cells fix the number of tasks m). Every further line is one trained network: a
//! non-empty cell is the loss of that column's task in the network trained on exactly the tasks
//! whose cells are non-empty on the line. Cells are numbers (spaces around them are ignored);
//! trailing empty cells may be omitted; `\r\n` line ends and blank lines at the end of the text
//! are accepted. Lower is better. Errors name the 1-based line and cell
//! ([`Error::MalformedTable`]); nothing panics on bad input.
//!
//! **Affinity (paper Eq. 6).** With a per-network score f_i(S) for task i ∈ S (larger =
//! better): `T_ij` = mean of f_i(S) over the table's subsets S that contain both i and j (i ≠ j),
//! `T_ii` = mean of f_i(S) over the subsets that contain i. The loss transform
//! ([`LossTransform`]) says how a loss becomes a score:
//! - `NegativeLoss`: f_i(S) = −L_i(S);
//! - `RelativeImprovement`: f_i(S) = (L_i({i}) − L_i(S)) / L_i({i}), the relative improvement
//!   over task i's single-task network (the line whose only non-empty cell is i; *not* the
//!   half-size baseline row), positive when training with others helps.
//!
//! **Scoring.** The true total loss of a partition {G_1, …, G_k} is Σ_i L_i(G(i)), G(i) the group
//! containing i: the sum of the losses of the k networks trained on exactly the groups. Choose
//! on the validation table, score on the test table ([`regret`]).

use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use crate::affinity::Affinity;
use crate::error::Error;
use crate::partition::Partition;

/// Most tasks (columns) a table may have (subsets are stored densely, 2^m entries).
pub const MAX_TABLE_TASKS: usize = 16;

/// Most tasks for which [`ranked_partitions`] enumerates every partition (Bell(10) = 115 975).
pub const MAX_EXHAUSTIVE_TASKS: usize = 10;

/// A parsed subset-training table: the baseline row and the losses of every trained subset.
#[derive(Debug, Clone, PartialEq)]
pub struct SubsetTable {
    tasks: usize,
    baseline: Vec<f64>,
    /// Indexed by subset bit mask (bit i = task i): the losses of the subset's tasks, by task
    /// (entries of tasks outside the subset are 0 and never read).
    losses: Vec<Option<Vec<f64>>>,
    /// Subset masks in file order.
    order: Vec<u32>,
}

impl SubsetTable {
    /// Parses the tab-separated format described in the module docs.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut lines: Vec<&str> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        let Some((first, rest)) = lines.split_first() else {
            return Err(Error::MalformedTable {
                line: 1,
                column: None,
                reason: "the table is empty: expected the baseline row",
            });
        };
        let head = parse_cells(first, 1, None)?;
        let tasks = head.len();
        if tasks > MAX_TABLE_TASKS {
            return Err(Error::MalformedTable {
                line: 1,
                column: Some(MAX_TABLE_TASKS + 1),
                reason: "too many columns (at most 16 tasks)",
            });
        }
        let mut baseline = Vec::with_capacity(tasks);
        for (c, cell) in head.iter().enumerate() {
            match cell {
                Some(x) => baseline.push(*x),
                None => {
                    return Err(Error::MalformedTable {
                        line: 1,
                        column: Some(c + 1),
                        reason: "the baseline row needs a loss for every task",
                    })
                }
            }
        }
        let mut losses: Vec<Option<Vec<f64>>> = alloc::vec![None; 1usize << tasks];
        let mut order = Vec::new();
        for (i, line) in rest.iter().enumerate() {
            let lineno = i + 2;
            let cells = parse_cells(line, lineno, Some(tasks))?;
            let mut mask = 0u32;
            let mut row = alloc::vec![0.0; tasks];
            for (c, cell) in cells.iter().enumerate() {
                if let Some(x) = cell {
                    mask |= 1 << c;
                    row[c] = *x;
                }
            }
            if mask == 0 {
                return Err(Error::MalformedTable {
                    line: lineno,
                    column: None,
                    reason: "no loss on this line (blank lines are only allowed at the end)",
                });
            }
            let slot = &mut losses[mask as usize];
            if slot.is_some() {
                return Err(Error::MalformedTable {
                    line: lineno,
                    column: None,
                    reason: "a second line for the same subset of tasks",
                });
            }
            *slot = Some(row);
            order.push(mask);
        }
        Ok(SubsetTable {
            tasks,
            baseline,
            losses,
            order,
        })
    }

    /// Number of tasks m (columns).
    pub fn tasks(&self) -> usize {
        self.tasks
    }

    /// The baseline row: each task's loss when trained alone in a half-size network.
    pub fn baseline(&self) -> &[f64] {
        &self.baseline
    }

    /// The subsets that have a line, as bit masks (bit i = task i), in file order.
    pub fn subsets(&self) -> &[u32] {
        &self.order
    }

    /// True when every one of the 2^m − 1 non-empty subsets has a line.
    pub fn is_complete(&self) -> bool {
        self.order.len() + 1 == self.losses.len()
    }

    /// The loss of `task` in the network trained on `subset` (bit mask); `None` when the table
    /// has no line for the subset or the task is not in it.
    pub fn loss(&self, subset: u32, task: usize) -> Option<f64> {
        if task >= self.tasks || subset & (1u32 << task) == 0 {
            return None;
        }
        self.losses
            .get(subset as usize)?
            .as_ref()
            .and_then(|r| r.get(task).copied())
    }

    /// [`SubsetTable::loss`], or [`Error::MissingSubset`] naming the subset.
    fn need(&self, subset: u32, task: usize) -> Result<f64, Error> {
        self.loss(subset, task).ok_or_else(|| Error::MissingSubset {
            tasks: members(subset, self.tasks),
        })
    }
}

impl FromStr for SubsetTable {
    type Err = Error;

    /// Same as [`SubsetTable::parse`].
    fn from_str(s: &str) -> Result<Self, Error> {
        SubsetTable::parse(s)
    }
}

/// The 0-based tasks of a subset bit mask, ascending.
fn members(mask: u32, tasks: usize) -> Vec<usize> {
    (0..tasks).filter(|&t| mask & (1u32 << t) != 0).collect()
}

/// Splits a line into cells; `expect` = the number of columns (more is an error, fewer are
/// padded with empty cells).
fn parse_cells(
    line: &str,
    lineno: usize,
    expect: Option<usize>,
) -> Result<Vec<Option<f64>>, Error> {
    let mut out = Vec::new();
    for (c, raw) in line.split('\t').enumerate() {
        if expect.is_some_and(|m| c >= m) {
            if raw.trim().is_empty() {
                continue;
            }
            return Err(Error::MalformedTable {
                line: lineno,
                column: Some(c + 1),
                reason: "more cells than the baseline row has tasks",
            });
        }
        if c > MAX_TABLE_TASKS {
            return Err(Error::MalformedTable {
                line: lineno,
                column: Some(c + 1),
                reason: "too many columns (at most 16 tasks)",
            });
        }
        let cell = raw.trim();
        if cell.is_empty() {
            out.push(None);
            continue;
        }
        let x: f64 = cell.parse().map_err(|_| Error::MalformedTable {
            line: lineno,
            column: Some(c + 1),
            reason: "not a number",
        })?;
        if !x.is_finite() {
            return Err(Error::MalformedTable {
                line: lineno,
                column: Some(c + 1),
                reason: "the loss is not finite",
            });
        }
        out.push(Some(x));
    }
    if let Some(m) = expect {
        out.resize(m, None);
    }
    Ok(out)
}

/// How a loss becomes a score for Eq. 6 (larger = better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LossTransform {
    /// f_i(S) = −L_i(S) (default).
    #[default]
    NegativeLoss,
    /// f_i(S) = (L_i({i}) − L_i(S)) / L_i({i}): relative improvement over the single-task network.
    RelativeImprovement,
}

impl LossTransform {
    /// Both transforms, in a fixed order.
    pub const ALL: [LossTransform; 2] = [
        LossTransform::NegativeLoss,
        LossTransform::RelativeImprovement,
    ];

    /// Short name: `neg-loss` or `relative`.
    pub fn as_str(self) -> &'static str {
        match self {
            LossTransform::NegativeLoss => "neg-loss",
            LossTransform::RelativeImprovement => "relative",
        }
    }
}

impl fmt::Display for LossTransform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LossTransform {
    type Err = Error;

    /// Parses `neg-loss` or `relative` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Error> {
        LossTransform::ALL
            .iter()
            .copied()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownName {
                kind: "loss transform",
                name: s.into(),
                expected: "neg-loss, relative",
            })
    }
}

/// The directed Eq. 6 scores (row-major m×m, `[i*m + j]` = T_ij, see the module docs).
/// Errors: [`Error::MissingSubset`] when a pair (or a task) is in no line, or a single-task line
/// needed by `RelativeImprovement` is missing; [`Error::ZeroReference`] for a zero single-task
/// loss.
pub fn higher_order_scores(
    table: &SubsetTable,
    transform: LossTransform,
) -> Result<Vec<f64>, Error> {
    let m = table.tasks;
    let mut single = alloc::vec![0.0; m];
    if transform == LossTransform::RelativeImprovement {
        for (i, s) in single.iter_mut().enumerate() {
            *s = table.need(1u32 << i, i)?;
            if *s == 0.0 {
                return Err(Error::ZeroReference {
                    task: i,
                    what: "the single-task loss",
                });
            }
        }
    }
    let score = |mask: u32, i: usize| -> f64 {
        let l = table.loss(mask, i).unwrap_or(0.0);
        match transform {
            LossTransform::NegativeLoss => -l,
            LossTransform::RelativeImprovement => (single[i] - l) / single[i],
        }
    };
    let mut sum = alloc::vec![0.0; m * m];
    let mut count = alloc::vec![0usize; m * m];
    for &mask in &table.order {
        for i in 0..m {
            if mask & (1u32 << i) == 0 {
                continue;
            }
            let f = score(mask, i);
            for j in 0..m {
                if mask & (1u32 << j) != 0 {
                    sum[i * m + j] += f;
                    count[i * m + j] += 1;
                }
            }
        }
    }
    for i in 0..m {
        for j in 0..m {
            let c = count[i * m + j];
            if c == 0 {
                let mut tasks = alloc::vec![i.min(j), i.max(j)];
                tasks.dedup();
                return Err(Error::MissingSubset { tasks });
            }
            sum[i * m + j] /= c as f64;
        }
    }
    Ok(sum)
}

/// The Eq. 6 affinity (the symmetric part of [`higher_order_scores`]).
pub fn higher_order_affinity(
    table: &SubsetTable,
    transform: LossTransform,
) -> Result<Affinity, Error> {
    let s = higher_order_scores(table, transform)?;
    Affinity::from_row_major(&s, table.tasks)
}

/// The true total loss of a partition of the table's tasks: Σ_i L_i(group of i). Errors:
/// another number of tasks ([`Error::InvalidPartition`]), a group without a line
/// ([`Error::MissingSubset`]).
pub fn partition_loss(table: &SubsetTable, partition: &Partition) -> Result<f64, Error> {
    if partition.n() != table.tasks {
        return Err(Error::InvalidPartition {
            reason: "the partition and the table have different numbers of tasks",
        });
    }
    let mut total = 0.0;
    for g in partition.groups() {
        let mask = g.iter().fold(0u32, |m, &t| m | (1u32 << t));
        for &t in &g {
            total += table.need(mask, t)?;
        }
    }
    Ok(total)
}

/// Every partition of the table's tasks into exactly k groups with its true total loss, best
/// (lowest) first; ties keep restricted-growth order. Errors: k ∉ 1..=m, m > 10, missing lines.
pub fn ranked_partitions(table: &SubsetTable, k: usize) -> Result<Vec<(Partition, f64)>, Error> {
    let m = table.tasks;
    if k == 0 || k > m {
        return Err(Error::InvalidK { k, n: m });
    }
    if m > MAX_EXHAUSTIVE_TASKS {
        return Err(Error::TooLarge {
            n: m,
            max: MAX_EXHAUSTIVE_TASKS,
        });
    }
    let mut out = Vec::new();
    let mut labels = alloc::vec![0usize; m];
    enumerate(
        &mut labels,
        1,
        1,
        k,
        &mut |l: &[usize]| -> Result<(), Error> {
            let p = Partition::from_labels(l)?;
            let loss = partition_loss(table, &p)?;
            out.push((p, loss));
            Ok(())
        },
    )?;
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(out)
}

/// Restricted-growth strings of length labels.len() with exactly k blocks (labels[0] = 0).
fn enumerate(
    labels: &mut [usize],
    i: usize,
    used: usize,
    k: usize,
    visit: &mut dyn FnMut(&[usize]) -> Result<(), Error>,
) -> Result<(), Error> {
    let m = labels.len();
    if i == m {
        return if used == k { visit(labels) } else { Ok(()) };
    }
    if m - i < k.saturating_sub(used) {
        return Ok(());
    }
    let limit = if used < k { used + 1 } else { used };
    for g in 0..limit {
        labels[i] = g;
        enumerate(labels, i + 1, used.max(g + 1), k, visit)?;
    }
    Ok(())
}

/// The partition into k groups with the lowest true total loss on the table, and that loss.
pub fn best_partition(table: &SubsetTable, k: usize) -> Result<(Partition, f64), Error> {
    ranked_partitions(table, k)?
        .into_iter()
        .next()
        .ok_or(Error::InvalidK { k, n: table.tasks })
}

/// A partition's regret on the test table, for k groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Regret {
    /// The number of groups compared against.
    pub k: usize,
    /// The partition's true total loss on the test table.
    pub loss: f64,
    /// The lowest test loss of any partition into k groups.
    pub best_loss: f64,
    /// The highest test loss of any partition into k groups.
    pub worst_loss: f64,
    /// The test loss of the partition an exhaustive search on the validation table picks.
    pub validation_pick_loss: f64,
    /// loss − best_loss (≥ 0 for a partition into k groups).
    pub regret: f64,
    /// loss − validation_pick_loss (negative when the method beats the validation search).
    pub regret_vs_validation_pick: f64,
    /// 1 + the number of partitions into k groups with a strictly lower test loss.
    pub rank: usize,
    /// Number of partitions into k groups (the Stirling number S(m, k)).
    pub count: usize,
}

/// Scores `partition` (chosen on `validation`) on `test` against every partition into k groups
/// and against the validation table's exhaustive pick. The partition may have another number of
/// groups than k (the paper's threshold rounding); it is still compared with k-group partitions.
/// Errors: tables with different numbers of tasks ([`Error::InvalidSetting`]), and as
/// [`ranked_partitions`] and [`partition_loss`].
pub fn regret(
    validation: &SubsetTable,
    test: &SubsetTable,
    partition: &Partition,
    k: usize,
) -> Result<Regret, Error> {
    if validation.tasks != test.tasks {
        return Err(Error::InvalidSetting {
            name: "tables",
            reason: "the validation and test tables have different numbers of tasks",
        });
    }
    let ranked = ranked_partitions(test, k)?;
    let (pick, _) = best_partition(validation, k)?;
    let loss = partition_loss(test, partition)?;
    let validation_pick_loss = partition_loss(test, &pick)?;
    let best_loss = ranked.first().map_or(loss, |r| r.1);
    let worst_loss = ranked.last().map_or(loss, |r| r.1);
    let rank = 1 + ranked.iter().filter(|r| r.1 < loss).count();
    Ok(Regret {
        k,
        loss,
        best_loss,
        worst_loss,
        validation_pick_loss,
        regret: loss - best_loss,
        regret_vs_validation_pick: loss - validation_pick_loss,
        rank,
        count: ranked.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tasks, every subset; losses chosen by hand.
    const T3: &str = "1\t2\t3\n\
        1.0\t\t\n\
        \t2.0\t\n\
        \t\t3.0\n\
        0.5\t1.5\t\n\
        0.9\t\t2.8\n\
        \t2.2\t3.3\n\
        0.6\t1.8\t2.9\n";

    #[test]
    fn parses_and_looks_up() {
        let t = SubsetTable::parse(T3).unwrap();
        assert_eq!(t.tasks(), 3);
        assert!(t.is_complete());
        assert_eq!(t.baseline(), &[1.0, 2.0, 3.0]);
        assert_eq!(t.loss(0b011, 1), Some(1.5));
        assert_eq!(t.loss(0b011, 2), None);
        assert_eq!(t.subsets()[3], 0b011);
        // CRLF, omitted trailing cells, trailing blank lines.
        let crlf = "1\t2\r\n1\r\n\t2\r\n\r\n";
        let t2 = SubsetTable::parse(crlf).unwrap();
        assert_eq!(t2.loss(0b01, 0), Some(1.0));
        assert!(!t2.is_complete());
    }

    #[test]
    fn bad_input_names_the_line() {
        let cases: [(&str, usize, Option<usize>); 7] = [
            ("", 1, None),
            ("1\t\t3\n", 1, Some(2)),
            ("1\t2\nx\t\n", 2, Some(1)),
            ("1\t2\n1\t\t5\n", 2, Some(3)),
            ("1\t2\n\t\n1\t\n", 2, None),
            ("1\t2\n1\t\n1\t\n", 3, None),
            ("1\t2\n1\tinf\n", 2, Some(2)),
        ];
        for (text, line, column) in cases {
            match SubsetTable::parse(text) {
                Err(Error::MalformedTable {
                    line: l, column: c, ..
                }) => assert_eq!((l, c), (line, column), "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn eq6_by_hand() {
        let t = SubsetTable::parse(T3).unwrap();
        let s = higher_order_scores(&t, LossTransform::NegativeLoss).unwrap();
        // T_01: subsets containing 0 and 1: {0,1} (0.5), {0,1,2} (0.6) -> -(0.55).
        assert!((s[1] + 0.55).abs() < 1e-12);
        // T_00: {0} 1.0, {0,1} 0.5, {0,2} 0.9, {0,1,2} 0.6 -> -0.75.
        assert!((s[0] + 0.75).abs() < 1e-12);
        let r = higher_order_scores(&t, LossTransform::RelativeImprovement).unwrap();
        // T_10: task 1 in {0,1} (1.5) and {0,1,2} (1.8), single 2.0 -> mean(0.25, 0.1) = 0.175.
        assert!((r[3] - 0.175).abs() < 1e-12);
        let a = higher_order_affinity(&t, LossTransform::NegativeLoss).unwrap();
        assert!((a.get(0, 1) - 0.5 * (s[1] + s[3])).abs() < 1e-12);
        assert_eq!(
            "relative".parse::<LossTransform>().unwrap(),
            LossTransform::RelativeImprovement
        );
        // A pair never trained together.
        let partial = SubsetTable::parse("1\t2\n1\t\n\t2\n").unwrap();
        assert_eq!(
            higher_order_scores(&partial, LossTransform::NegativeLoss),
            Err(Error::MissingSubset {
                tasks: alloc::vec![0, 1]
            })
        );
        let zero = SubsetTable::parse("1\t2\n0\t\n\t2\n0.5\t1\n").unwrap();
        assert!(matches!(
            higher_order_scores(&zero, LossTransform::RelativeImprovement),
            Err(Error::ZeroReference { task: 0, .. })
        ));
    }

    #[test]
    fn exhaustive_and_regret() {
        let t = SubsetTable::parse(T3).unwrap();
        // k = 2: {01}{2}: 0.5+1.5+3 = 5.0; {02}{1}: 0.9+2.8+2 = 5.7; {0}{12}: 1+2.2+3.3 = 6.5.
        let ranked = ranked_partitions(&t, 2).unwrap();
        assert_eq!(ranked.len(), 3);
        assert!((ranked[0].1 - 5.0).abs() < 1e-12);
        assert_eq!(ranked[0].0, Partition::from_labels(&[0, 0, 1]).unwrap());
        assert_eq!(ranked_partitions(&t, 1).unwrap().len(), 1);
        assert_eq!(ranked_partitions(&t, 3).unwrap().len(), 1);
        assert!(ranked_partitions(&t, 4).is_err());
        let p = Partition::from_labels(&[0, 1, 1]).unwrap();
        let r = regret(&t, &t, &p, 2).unwrap();
        assert!((r.regret - 1.5).abs() < 1e-12);
        assert!((r.regret_vs_validation_pick - 1.5).abs() < 1e-12);
        assert_eq!((r.rank, r.count), (3, 3));
        assert!((r.worst_loss - 6.5).abs() < 1e-12);
        assert!(partition_loss(&t, &Partition::from_labels(&[0, 1]).unwrap()).is_err());
    }
}
