//! `taskgroup affinity`: an affinity matrix from a table of subset-training results.

use std::path::Path;

use taskgroup_core::session::aggregate::{AggregateSettings, FillRule, PairwiseSettings};
use taskgroup_eval::standley::{higher_order_scores, LossTransform, SubsetTable};

use crate::args::{Args, UsageError};
use crate::CliError;
use taskgroup_io::matrix::{write_csv_to, write_square, Matrix};
use taskgroup_io::subsets::read_subset_csv;

/// Usage text of `taskgroup affinity`.
pub const USAGE: &str = "usage: taskgroup affinity --from-subsets FILE [--format csv|standley]
                          [--lower-is-better] [--kind higher-order|pairwise]
                          [--fill row-min|row-mean|VALUE] [--transform neg-loss|relative]
                          --output FILE.csv|FILE.npy|-

FILE `-` reads standard input; --output `-` writes CSV to standard output. FILE.npy gets the
task names in FILE.names.txt beside it (read back by `taskgroup cluster --input FILE.npy`).

csv (default): one row per result: task,subset,score — the subset is task names separated by
  spaces or '+' (e.g. `sst2,sst2+imdb+rte,0.91`); an optional header row `task,subset,score`;
  '#' comments. Tasks are numbered in order of first appearance. Duplicated (subset, task)
  rows are averaged. Scores are higher-is-better unless --lower-is-better (losses, negated).
standley: the tab-separated table of Standley et al. (baseline row, then one line per
  trained subset; losses), turned into scores by --transform (default neg-loss).
The output is the directed Eq. 6 matrix T[i][j] = mean of f_i(S) over subsets S ∋ i, j
(T[i][i]: over S ∋ i); pairs never trained together are filled by --fill (default row-min).";

fn bad(msg: String) -> CliError {
    CliError::Input(msg)
}

/// The fill rule for unmeasured entries that `--fill` names: `row-min`, `row-mean` or a finite
/// constant.
pub(crate) fn fill_rule(v: &str) -> Result<FillRule, UsageError> {
    match v {
        "row-min" => Ok(FillRule::RowMin),
        "row-mean" => Ok(FillRule::RowMean),
        c => c
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(FillRule::Constant)
            .ok_or_else(|| {
                UsageError(format!(
                    "--fill expects row-min, row-mean or a finite number, got {c:?}"
                ))
            }),
    }
}

/// The options of `taskgroup affinity` that take a value.
pub const OPTIONS: &[&str] = &[
    "--from-subsets",
    "--format",
    "--output",
    "-o",
    "--kind",
    "--fill",
    "--transform",
];

/// Runs `taskgroup affinity` on its arguments (`--help` is handled before).
pub fn run(mut a: Args) -> Result<(), CliError> {
    let lower = a.flag("--lower-is-better");
    a.finish()?;
    let input = a
        .value(&["--from-subsets"])
        .ok_or_else(|| UsageError("--from-subsets FILE is required".into()))?;
    let output = a
        .value(&["--output", "-o"])
        .ok_or_else(|| UsageError("--output FILE.csv|.npy is required".into()))?;
    let fill = fill_rule(a.value(&["--fill"]).unwrap_or("row-min"))?;
    let text = if input == "-" {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)
            .map_err(|e| bad(format!("cannot read standard input: {e}")))?;
        t
    } else {
        std::fs::read_to_string(input).map_err(|e| bad(format!("cannot read {input}: {e}")))?
    };
    // What the messages call the input.
    let input = if input == "-" {
        "standard input"
    } else {
        input
    };
    let (n, data, names) = match a.value(&["--format"]).unwrap_or("csv") {
        "standley" => {
            let table = SubsetTable::parse(&text).map_err(|e| bad(format!("{input}: {e}")))?;
            let transforms = [
                ("neg-loss", LossTransform::NegativeLoss),
                ("relative", LossTransform::RelativeImprovement),
            ];
            let tr = a
                .choice("--transform", &transforms)?
                .unwrap_or(LossTransform::NegativeLoss);
            let m = table.tasks();
            let d = higher_order_scores(&table, tr).map_err(|e| bad(format!("{input}: {e}")))?;
            (m, d, None)
        }
        "csv" => {
            let (builder, names) =
                read_subset_csv(&text, input).map_err(|e| CliError::Input(e.to_string()))?;
            let est = match a.value(&["--kind"]).unwrap_or("higher-order") {
                "higher-order" => builder.higher_order(&AggregateSettings {
                    higher_is_better: !lower,
                    fill,
                }),
                "pairwise" => builder.pairwise(&PairwiseSettings {
                    higher_is_better: !lower,
                    fill,
                    ..Default::default()
                }),
                o => {
                    return Err(UsageError(format!(
                        "--kind expects higher-order or pairwise, got {o:?}"
                    ))
                    .into())
                }
            }
            .map_err(|e| bad(format!("{input}: {e}")))?;
            eprintln!(
                "{} tasks, {} distinct (subset, task) results ({} duplicates averaged); pair coverage {:.1}%, {} entries filled",
                names.len(),
                builder.num_entries(),
                builder.num_duplicates(),
                100.0 * est.pair_coverage(),
                est.filled()
            );
            // Tasks that are only ever partners: their whole row is made up by --fill.
            let mut scored = vec![false; names.len()];
            for e in builder.entries() {
                if let Some(s) = scored.get_mut(e.task) {
                    *s = true;
                }
            }
            let unscored: Vec<&str> = names
                .iter()
                .zip(&scored)
                .filter(|(_, &s)| !s)
                .map(|(n, _)| n.as_str())
                .collect();
            if !unscored.is_empty() {
                const SHOWN: usize = 10;
                let mut list = unscored
                    .iter()
                    .take(SHOWN)
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if unscored.len() > SHOWN {
                    list.push_str(&format!(" and {} more", unscored.len() - SHOWN));
                }
                eprintln!(
                    "taskgroup: warning: {} of {} tasks have no score of their own (they only \
                     appear in subsets): {list}; their rows of T are filled entirely by --fill",
                    unscored.len(),
                    names.len()
                );
            }
            (names.len(), est.directed().to_vec(), Some(names))
        }
        o => return Err(UsageError(format!("--format expects csv or standley, got {o:?}")).into()),
    };
    let out = Path::new(output);
    let res = if output == "-" {
        let mut so = std::io::stdout().lock();
        write_csv_to(
            &mut so,
            &Matrix {
                rows: n,
                cols: n,
                data,
                names,
            },
        )
        .and_then(|()| std::io::Write::flush(&mut so))
    } else {
        write_square(out, n, data, names)
    };
    res.map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidInput {
            bad(format!("cannot write {output}: {e}"))
        } else {
            // A failed write (full disk, read-only folder): exit 74.
            CliError::Io(format!("cannot write {output}: {e}"))
        }
    })
}
