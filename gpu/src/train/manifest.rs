//! The manifest of a feature data set: one JSON file naming every task's `.npy` arrays.
//!
//! ```json
//! {
//!   "tasks": [
//!     {"name": "sst2", "train_x": "sst2/train_x.npy", "train_y": "sst2/train_y.npy",
//!      "val_x": "sst2/val_x.npy", "val_y": "sst2/val_y.npy"}
//!   ]
//! }
//! ```
//!
//! Relative paths are relative to the manifest's folder. Features are 2-D (rows × d, the same d
//! for every task), labels 1-D (or rows × 1); see [`crate::train::npy`] for the dtypes read.
//! Task i of the manifest is task i of every subset. Unknown keys are ignored.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::GpuError;
use crate::train::data::{TaskData, TaskSet};
use crate::train::npy::{read_npy, write_npy, NpyArray};

/// The file name [`write_manifest`] uses inside its folder.
pub const MANIFEST_FILE: &str = "manifest.json";

fn bad(path: &Path, why: impl core::fmt::Display) -> GpuError {
    GpuError::InvalidInput(format!("{}: {why}", path.display()))
}

fn features(a: &NpyArray, file: &Path) -> Result<(usize, Vec<f32>), GpuError> {
    if a.shape.len() != 2 {
        return Err(bad(
            file,
            format!(
                "features must be a 2-D array (rows × d), got shape {:?}",
                a.shape
            ),
        ));
    }
    Ok((a.cols(), a.to_f32()))
}

fn labels(a: &NpyArray, file: &Path) -> Result<Vec<f32>, GpuError> {
    if a.shape.len() == 2 && a.cols() != 1 {
        return Err(bad(
            file,
            format!("labels must be 1-D (or rows × 1), got shape {:?}", a.shape),
        ));
    }
    Ok(a.to_f32())
}

/// Reads a manifest and every array it names, and checks them ([`TaskData::new`]).
pub fn read_manifest(path: &Path) -> Result<TaskData, GpuError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, format!("cannot read: {e}")))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| bad(path, format!("not valid JSON: {e}")))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let list = v
        .get("tasks")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(path, "expected an object with a \"tasks\" list"))?;
    if list.is_empty() {
        return Err(bad(path, "the \"tasks\" list is empty"));
    }
    let mut dim: Option<(usize, PathBuf)> = None;
    let mut tasks = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let name = match t.get("name") {
            Some(Value::String(s)) => s.clone(),
            None => format!("task{i}"),
            Some(_) => return Err(bad(path, format!("task {i}: \"name\" is not a string"))),
        };
        let file = |key: &str| -> Result<PathBuf, GpuError> {
            let p = t.get(key).and_then(Value::as_str).ok_or_else(|| {
                bad(
                    path,
                    format!("task {i} ({name:?}): missing the \"{key}\" path"),
                )
            })?;
            Ok(base.join(p))
        };
        let (tx, ty, vx, vy) = (
            file("train_x")?,
            file("train_y")?,
            file("val_x")?,
            file("val_y")?,
        );
        let (d_train, train_x) = features(&read_npy(&tx)?, &tx)?;
        let (d_val, val_x) = features(&read_npy(&vx)?, &vx)?;
        for (d, f) in [(d_train, &tx), (d_val, &vx)] {
            match &dim {
                None => dim = Some((d, f.clone())),
                Some((d0, f0)) if *d0 != d => {
                    return Err(bad(
                        f,
                        format!(
                            "features have d = {d} columns but {} has d = {d0}",
                            f0.display()
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        tasks.push(TaskSet {
            name,
            train_x,
            train_y: labels(&read_npy(&ty)?, &ty)?,
            val_x,
            val_y: labels(&read_npy(&vy)?, &vy)?,
        });
    }
    let d = dim.map_or(0, |(d, _)| d);
    TaskData::new(d, tasks).map_err(|e| match e {
        GpuError::InvalidInput(m) => bad(path, m),
        other => other,
    })
}

/// Writes every task's arrays as `.npy` files (`task{i}_train_x.npy`, …) into `dir` (created
/// if needed) and a [`MANIFEST_FILE`] naming them; returns the manifest's path.
pub fn write_manifest(dir: &Path, data: &TaskData) -> Result<PathBuf, GpuError> {
    std::fs::create_dir_all(dir).map_err(|e| bad(dir, format!("cannot create: {e}")))?;
    let d = data.dim();
    let mut list = Vec::with_capacity(data.len());
    for (i, t) in data.tasks().iter().enumerate() {
        let names = [
            format!("task{i}_train_x.npy"),
            format!("task{i}_train_y.npy"),
            format!("task{i}_val_x.npy"),
            format!("task{i}_val_y.npy"),
        ];
        write_npy(&dir.join(&names[0]), &t.train_x, &[t.train_y.len(), d])?;
        write_npy(&dir.join(&names[1]), &t.train_y, &[t.train_y.len()])?;
        write_npy(&dir.join(&names[2]), &t.val_x, &[t.val_y.len(), d])?;
        write_npy(&dir.join(&names[3]), &t.val_y, &[t.val_y.len()])?;
        list.push(json!({
            "name": t.name,
            "train_x": names[0], "train_y": names[1], "val_x": names[2], "val_y": names[3],
        }));
    }
    let path = dir.join(MANIFEST_FILE);
    let text = serde_json::to_string_pretty(&json!({ "tasks": list }))
        .map_err(|e| bad(&path, format!("cannot encode: {e}")))?;
    std::fs::write(&path, text + "\n").map_err(|e| bad(&path, format!("cannot write: {e}")))?;
    Ok(path)
}
