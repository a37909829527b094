//! Exhaustive subset-training tables (Standley et al., ICML 2020, `tstandley/taskgrouping`;
//! the table and its reader are [`taskgroup_io::standley`]): the higher-order affinity of Eq. 6,
//! true losses of partitions, exhaustive search and regret.
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

use taskgroup_core::session::aggregate::{AffinityBuilder, AggregateSettings};
use taskgroup_core::Affinity;
use taskgroup_core::Error;
use taskgroup_core::Partition;
use taskgroup_io::standley::members;
pub use taskgroup_io::standley::{SubsetTable, MAX_TABLE_TASKS};

/// The Taskonomy tables of Standley et al. (ICML 2020), shipped inside this crate
/// (`eval/data/standley-taskonomy/`, see its README): `(setting, validation table, test table)`
/// for setting 1 (the paper's main table) and setting 2 (the larger network).
pub const TASKONOMY: [(&str, &str, &str); 2] = [
    (
        "setting 1",
        include_str!("../data/standley-taskonomy/results.txt"),
        include_str!("../data/standley-taskonomy/results_test.txt"),
    ),
    (
        "setting 2",
        include_str!("../data/standley-taskonomy/results_large.txt"),
        include_str!("../data/standley-taskonomy/results_large_test.txt"),
    ),
];

/// Most tasks for which [`ranked_partitions`] enumerates every partition (Bell(10) = 115 975).
pub const MAX_EXHAUSTIVE_TASKS: usize = 10;

/// How a loss becomes a score for Eq. 6 (larger = better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LossTransform {
    /// f_i(S) = −L_i(S) (default).
    #[default]
    NegativeLoss,
    /// f_i(S) = (L_i({i}) − L_i(S)) / L_i({i}): relative improvement over the single-task network.
    RelativeImprovement,
}

taskgroup_core::named_options!(
    LossTransform,
    "loss transform",
    NegativeLoss => "neg-loss",
    RelativeImprovement => "relative",
);

/// The directed Eq. 6 scores (row-major m×m, `[i*m + j]` = T_ij, see the module docs).
/// Errors: [`Error::MissingSubset`] when a pair (or a task) is in no line, or a single-task line
/// needed by `RelativeImprovement` is missing; [`Error::ZeroReference`] for a zero single-task
/// loss.
pub fn higher_order_scores(
    table: &SubsetTable,
    transform: LossTransform,
) -> Result<Vec<f64>, Error> {
    let m = table.tasks();
    let mut single = vec![0.0; m];
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
    // Eq. 6 itself is the session's estimator: one record per (network, task).
    let mut builder = AffinityBuilder::new(m)?;
    for &mask in table.subsets() {
        let tasks = members(mask, m);
        let scores: Vec<f64> = tasks.iter().map(|&i| score(mask, i)).collect();
        builder.add_subset(&tasks, &scores)?;
    }
    let estimate = builder.higher_order(&AggregateSettings::default())?;
    for i in 0..m {
        for j in 0..m {
            if estimate.coverage_at(i, j) == 0 {
                let mut tasks = vec![i.min(j), i.max(j)];
                tasks.dedup();
                return Err(Error::MissingSubset { tasks });
            }
        }
    }
    Ok(estimate.directed().to_vec())
}

/// The Eq. 6 affinity (the symmetric part of [`higher_order_scores`]).
pub fn higher_order_affinity(
    table: &SubsetTable,
    transform: LossTransform,
) -> Result<Affinity, Error> {
    let s = higher_order_scores(table, transform)?;
    Affinity::from_row_major(&s, table.tasks())
}

/// The true total loss of a partition of the table's tasks: Σ_i L_i(group of i). Errors:
/// another number of tasks ([`Error::InvalidPartition`]), a group without a line
/// ([`Error::MissingSubset`]).
pub fn partition_loss(table: &SubsetTable, partition: &Partition) -> Result<f64, Error> {
    if partition.n() != table.tasks() {
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
    let m = table.tasks();
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
    let mut labels = vec![0usize; m];
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
        .ok_or(Error::InvalidK {
            k,
            n: table.tasks(),
        })
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
    if validation.tasks() != test.tasks() {
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
            Err(Error::MissingSubset { tasks: vec![0, 1] })
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
