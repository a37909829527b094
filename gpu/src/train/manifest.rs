//! Task data from and to a manifest of `.npy` arrays: the format is `taskgroup-io`'s
//! ([`taskgroup_io::manifest`]); this module turns it into checked [`TaskData`] and back.

use std::path::{Path, PathBuf};

use taskgroup_io::manifest;

pub use taskgroup_io::manifest::MANIFEST_FILE;

use crate::error::GpuError;
use crate::train::data::TaskData;

fn invalid(e: impl std::fmt::Display) -> GpuError {
    GpuError::InvalidInput(e.to_string())
}

/// Reads a manifest and every array it names, and checks them ([`TaskData::new`]); errors name
/// the file and the task.
pub fn read_manifest(path: &Path) -> Result<TaskData, GpuError> {
    let (dim, tasks) = manifest::read_manifest(path).map_err(invalid)?;
    TaskData::new(dim, tasks).map_err(|e| match e {
        GpuError::InvalidInput(m) => GpuError::InvalidInput(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// Writes every task's arrays as `.npy` files (`task{i}_train_x.npy`, …) into `dir` (created
/// if needed) and a [`MANIFEST_FILE`] naming them; returns the manifest's path.
pub fn write_manifest(dir: &Path, data: &TaskData) -> Result<PathBuf, GpuError> {
    manifest::write_manifest(dir, data.dim(), data.tasks()).map_err(invalid)
}
