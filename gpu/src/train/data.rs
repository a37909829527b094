//! The per-task feature data: training and validation rows (f32, row-major) with labels.

use crate::error::GpuError;
use crate::train::Model;

/// One task's data (the type of [`taskgroup_io::manifest`], which reads and writes it).
pub use taskgroup_io::manifest::TaskSet;

/// A checked set of tasks sharing one feature dimension d; task i is index i of subsets.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskData {
    dim: usize,
    tasks: Vec<TaskSet>,
    val_variance: Vec<f64>,
}

impl TaskData {
    /// Checks the tasks: at least one; d ≥ 1; every task with ≥ 1 training and ≥ 1 validation
    /// row; feature lengths multiples of d matching the label counts; every value finite.
    /// Errors name the task and what is wrong ([`GpuError::InvalidInput`]).
    pub fn new(dim: usize, tasks: Vec<TaskSet>) -> Result<Self, GpuError> {
        if tasks.is_empty() {
            return Err(GpuError::InvalidInput("no tasks".into()));
        }
        if dim == 0 {
            return Err(GpuError::InvalidInput(
                "the feature dimension d must be at least 1".into(),
            ));
        }
        for (i, t) in tasks.iter().enumerate() {
            let bad =
                |why: String| GpuError::InvalidInput(format!("task {i} ({:?}): {why}", t.name));
            for (split, x, y) in [
                ("training", &t.train_x, &t.train_y),
                ("validation", &t.val_x, &t.val_y),
            ] {
                if y.is_empty() {
                    return Err(bad(format!("the {split} set is empty")));
                }
                if x.len() % dim != 0 {
                    return Err(bad(format!(
                        "{split} features have {} values, not a multiple of d = {dim}",
                        x.len()
                    )));
                }
                if x.len() / dim != y.len() {
                    return Err(bad(format!(
                        "{split} features have {} rows of d = {dim} but there are {} labels",
                        x.len() / dim,
                        y.len()
                    )));
                }
                if let Some(p) = x.iter().position(|v| !v.is_finite()) {
                    return Err(bad(format!(
                        "{split} feature at row {}, column {} is not finite ({})",
                        p / dim,
                        p % dim,
                        x.get(p).copied().unwrap_or(f32::NAN)
                    )));
                }
                if let Some(p) = y.iter().position(|v| !v.is_finite()) {
                    return Err(bad(format!("{split} label {p} is not finite")));
                }
            }
        }
        let val_variance = tasks
            .iter()
            .map(|t| {
                let m = t.val_y.len() as f64;
                let mean = t.val_y.iter().map(|&v| f64::from(v)).sum::<f64>() / m;
                t.val_y
                    .iter()
                    .map(|&v| (f64::from(v) - mean) * (f64::from(v) - mean))
                    .sum::<f64>()
                    / m
            })
            .collect();
        Ok(TaskData {
            dim,
            tasks,
            val_variance,
        })
    }

    /// Checks the labels for a model: 0 or 1 for [`Model::Logistic`]; anything finite for ridge.
    pub fn check_labels(&self, model: Model) -> Result<(), GpuError> {
        if model != Model::Logistic {
            return Ok(());
        }
        for (i, t) in self.tasks.iter().enumerate() {
            for (split, y) in [("training", &t.train_y), ("validation", &t.val_y)] {
                if let Some(p) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
                    return Err(GpuError::InvalidInput(format!(
                        "task {i} ({:?}): {split} label {p} is {} but logistic regression needs \
                         labels 0 or 1",
                        t.name,
                        y.get(p).copied().unwrap_or(f32::NAN)
                    )));
                }
            }
        }
        Ok(())
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Always false (a `TaskData` has at least one task).
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The feature dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The tasks.
    pub fn tasks(&self) -> &[TaskSet] {
        &self.tasks
    }

    /// The task names.
    pub fn names(&self) -> Vec<String> {
        self.tasks.iter().map(|t| t.name.clone()).collect()
    }

    /// Number of training rows of task i (0 when out of range).
    pub fn train_rows(&self, i: usize) -> usize {
        self.tasks.get(i).map_or(0, |t| t.train_y.len())
    }

    /// Number of validation rows of task i (0 when out of range).
    pub fn val_rows(&self, i: usize) -> usize {
        self.tasks.get(i).map_or(0, |t| t.val_y.len())
    }

    /// Population variance of task i's validation labels (f64; 0 when out of range).
    pub fn val_variance(&self, i: usize) -> f64 {
        self.val_variance.get(i).copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(tx: Vec<f32>, ty: Vec<f32>) -> TaskSet {
        TaskSet {
            name: "t".into(),
            train_x: tx,
            train_y: ty,
            val_x: vec![0.0, 1.0],
            val_y: vec![1.0],
        }
    }

    #[test]
    fn shapes_and_values_are_checked() {
        let ok = task(vec![1.0, 2.0, 3.0, 4.0], vec![0.0, 1.0]);
        assert!(TaskData::new(2, vec![ok.clone()]).is_ok());
        assert!(TaskData::new(0, vec![ok.clone()]).is_err());
        assert!(TaskData::new(2, vec![]).is_err());
        let cases = [
            task(vec![1.0, 2.0, 3.0], vec![0.0, 1.0]),
            task(vec![1.0, 2.0], vec![0.0, 1.0]),
            task(vec![], vec![]),
            task(vec![1.0, f32::NAN, 3.0, 4.0], vec![0.0, 1.0]),
            task(vec![1.0, f32::INFINITY, 3.0, 4.0], vec![0.0, 1.0]),
            task(vec![1.0, 2.0, 3.0, 4.0], vec![0.0, f32::NAN]),
        ];
        for c in cases {
            let e = TaskData::new(2, vec![ok.clone(), c]).unwrap_err();
            assert!(
                matches!(e, GpuError::InvalidInput(ref m) if m.contains("task 1")),
                "{e}"
            );
        }
        let e = TaskData::new(2, vec![task(vec![1.0, f32::NAN, 3.0, 4.0], vec![0.0, 1.0])])
            .unwrap_err();
        assert!(e.to_string().contains("row 0, column 1"), "{e}");
    }

    #[test]
    fn logistic_labels_must_be_binary() {
        let d = TaskData::new(2, vec![task(vec![1.0, 2.0, 3.0, 4.0], vec![0.0, 2.0])]).unwrap();
        assert!(d.check_labels(Model::Ridge).is_ok());
        let e = d.check_labels(Model::Logistic).unwrap_err();
        assert!(e.to_string().contains("labels 0 or 1"), "{e}");
    }
}
