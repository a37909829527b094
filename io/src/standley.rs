//! The exhaustive subset-training tables of Standley et al. (ICML 2020,
//! `tstandley/taskgrouping`).
//!
//! **Format** (tab-separated text; see `eval/data/standley-taskonomy/README.md`): line 1
//! holds the loss of every task trained alone in a half-size network (the *baseline row*; m
//! non-empty cells fix the number of tasks m). Every further line is one trained network: a
//! non-empty cell is the loss of that column's task in the network trained on exactly the tasks
//! whose cells are non-empty on the line. Cells are numbers (spaces around them are ignored);
//! trailing empty cells may be omitted; `\r\n` line ends and blank lines at the end of the text
//! are accepted. Lower is better. Errors name the 1-based line and cell
//! ([`Error::MalformedTable`]); nothing panics on bad input. The analysis (Eq. 6, true losses
//! of partitions, regret) is in the evaluation crate.

use std::str::FromStr;

use taskgroup_core::Error;

/// Most tasks (columns) a table may have (subsets are stored densely, 2^m entries).
pub const MAX_TABLE_TASKS: usize = 16;

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
        let mut losses: Vec<Option<Vec<f64>>> = vec![None; 1usize << tasks];
        let mut order = Vec::new();
        for (i, line) in rest.iter().enumerate() {
            let lineno = i + 2;
            let cells = parse_cells(line, lineno, Some(tasks))?;
            let mut mask = 0u32;
            let mut row = vec![0.0; tasks];
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
    pub fn need(&self, subset: u32, task: usize) -> Result<f64, Error> {
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
pub fn members(mask: u32, tasks: usize) -> Vec<usize> {
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
