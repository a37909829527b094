//! Task data from and to a manifest of `.npy` arrays: the format is `taskgroup-io`'s
//! ([`taskgroup_io::manifest`]); this module turns it into checked [`TaskData`] and back.

use std::path::{Path, PathBuf};

use taskgroup_io::manifest::{self, TaskArrays};

pub use taskgroup_io::manifest::MANIFEST_FILE;

use crate::error::GpuError;
use crate::train::data::{TaskData, TaskSet};

fn invalid(e: impl std::fmt::Display) -> GpuError {
    GpuError::InvalidInput(e.to_string())
}

/// Reads a manifest and every array it names, and checks them ([`TaskData::new`]); errors name
/// the file and the task.
pub fn read_manifest(path: &Path) -> Result<TaskData, GpuError> {
    let arrays = manifest::read_manifest(path).map_err(invalid)?;
    let dim = arrays.first().map_or(0, |t| t.dim);
    let tasks = arrays
        .into_iter()
        .map(|t| TaskSet {
            name: t.name,
            train_x: t.train_x,
            train_y: t.train_y,
            val_x: t.val_x,
            val_y: t.val_y,
        })
        .collect();
    TaskData::new(dim, tasks).map_err(|e| match e {
        GpuError::InvalidInput(m) => GpuError::InvalidInput(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// Writes every task's arrays as `.npy` files (`task{i}_train_x.npy`, …) into `dir` (created
/// if needed) and a [`MANIFEST_FILE`] naming them; returns the manifest's path.
pub fn write_manifest(dir: &Path, data: &TaskData) -> Result<PathBuf, GpuError> {
    let tasks: Vec<TaskArrays> = data
        .tasks()
        .iter()
        .map(|t| TaskArrays {
            name: t.name.clone(),
            dim: data.dim(),
            train_x: t.train_x.clone(),
            train_y: t.train_y.clone(),
            val_x: t.val_x.clone(),
            val_y: t.val_y.clone(),
        })
        .collect();
    manifest::write_manifest(dir, &tasks).map_err(invalid)
}
