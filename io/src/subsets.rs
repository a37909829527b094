//! Tables of subset-training results: one row `task,subset,score` per (task, trained subset)
//! pair, read into an [`AffinityBuilder`] (paper Eq. 6, method.md §7).
//!
//! Format: comma- or tab-separated (tab when the line holds one), three cells per line; the
//! subset's members are separated by `+` or spaces; task names are numbered by first
//! appearance; an optional header line `task,subset,score`; blank lines and `#` comments are
//! skipped. Every error names the file and the 1-based line.
//!
//! [`parse_scores`] reads the score list of one trained subset (`session report --scores`).

use std::collections::BTreeMap;

use taskgroup_core::session::aggregate::AffinityBuilder;

use crate::matrix::InputError;

fn bad(msg: String) -> InputError {
    InputError::Malformed(msg)
}

/// Parses `task,subset,score` rows into a builder; tasks numbered by first appearance.
pub fn read_subset_csv(
    text: &str,
    file: &str,
) -> Result<(AffinityBuilder, Vec<String>), InputError> {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut rows: Vec<(usize, Vec<usize>, f64, usize)> = Vec::new();
    let intern = |s: &str, ids: &mut BTreeMap<String, usize>, names: &mut Vec<String>| -> usize {
        *ids.entry(s.to_string()).or_insert_with(|| {
            names.push(s.to_string());
            names.len() - 1
        })
    };
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = if line.contains('\t') {
            line.split('\t').collect()
        } else {
            line.split(',').collect()
        };
        if cells.len() != 3 {
            return Err(bad(format!(
                "{file}: line {ln}: expected 3 cells task,subset,score, found {}",
                cells.len()
            )));
        }
        let (task, subset, score) = (cells[0].trim(), cells[1].trim(), cells[2].trim());
        if ln == 1 && task.eq_ignore_ascii_case("task") && score.eq_ignore_ascii_case("score") {
            continue;
        }
        let v: f64 = score.parse().map_err(|_| {
            bad(format!(
                "{file}: line {ln}: score {score:?} is not a number"
            ))
        })?;
        if !v.is_finite() {
            return Err(bad(format!(
                "{file}: line {ln}: score {score} is not finite"
            )));
        }
        if task.is_empty() {
            return Err(bad(format!("{file}: line {ln}: empty task name")));
        }
        let members: Vec<&str> = subset
            .split(|c: char| c == '+' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        if members.is_empty() {
            return Err(bad(format!("{file}: line {ln}: empty subset")));
        }
        let t = intern(task, &mut ids, &mut names);
        let mut s: Vec<usize> = members
            .iter()
            .map(|m| intern(m, &mut ids, &mut names))
            .collect();
        s.sort_unstable();
        if s.windows(2).any(|w| w[0] == w[1]) {
            return Err(bad(format!(
                "{file}: line {ln}: a task appears twice in the subset {subset:?}"
            )));
        }
        if !s.contains(&t) {
            return Err(bad(format!(
                "{file}: line {ln}: task {task:?} is not in its subset {subset:?}"
            )));
        }
        rows.push((t, s, v, ln));
    }
    if names.is_empty() {
        return Err(bad(format!("{file}: no results")));
    }
    let mut b = AffinityBuilder::new(names.len()).map_err(|e| bad(e.to_string()))?;
    for (t, s, v, ln) in rows {
        b.add(&s, t, v)
            .map_err(|e| bad(format!("{file}: line {ln}: {e}")))?;
    }
    Ok((b, names))
}

/// Parses a list of finite scores separated by commas and/or whitespace.
pub fn parse_scores(text: &str) -> Result<Vec<f64>, InputError> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|c| !c.is_empty())
        .enumerate()
        .map(|(i, c)| {
            let v: f64 = c.parse().map_err(|_| {
                InputError::Malformed(format!("score {} ({c:?}) is not a number", i + 1))
            })?;
            if !v.is_finite() {
                return Err(InputError::Malformed(format!(
                    "score {} is not finite ({c})",
                    i + 1
                )));
            }
            Ok(v)
        })
        .collect()
}
