//! The manifest of a feature data set: one JSON file naming every task's `.npy` arrays (the
//! gpu crate's trainers read it through this module).
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
//! for every task), labels 1-D (or rows × 1); see [`crate::npy::parse_npy_array`] for the
//! dtypes read. Task i of the manifest is task i of every subset; a task without a name is
//! `task{i}`. Unknown keys are ignored. Every error names the file and the task.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::matrix::InputError;
use crate::npy::{read_npy_array, write_npy_f32, NpyArray};

/// The file name [`write_manifest`] uses inside its folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// One task of a manifest: its name and the paths of its four arrays (relative as written).
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestEntry {
    /// Task name (`task{i}` when the manifest gives none).
    pub name: String,
    /// Path of the training features.
    pub train_x: String,
    /// Path of the training labels.
    pub train_y: String,
    /// Path of the validation features.
    pub val_x: String,
    /// Path of the validation labels.
    pub val_y: String,
}

/// One task's data: `train_x` is m×d row-major with `train_y` of length m; the same for the
/// validation set (d: the data set's feature dimension, shared by every task).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSet {
    /// Task name (used in messages and by the CLI; may be empty).
    pub name: String,
    /// Training features, m_train × d, row-major.
    pub train_x: Vec<f32>,
    /// Training labels (m_train).
    pub train_y: Vec<f32>,
    /// Validation features, m_val × d, row-major.
    pub val_x: Vec<f32>,
    /// Validation labels (m_val).
    pub val_y: Vec<f32>,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> InputError {
    InputError::Malformed(format!("{}: {why}", path.display()))
}

/// Parses a manifest's JSON text (`shown`: the file name for messages). Never panics.
pub fn parse_manifest(text: &str, shown: &Path) -> Result<Vec<ManifestEntry>, InputError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| bad(shown, format!("not valid JSON: {e}")))?;
    let list = v
        .get("tasks")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(shown, "expected an object with a \"tasks\" list"))?;
    if list.is_empty() {
        return Err(bad(shown, "the \"tasks\" list is empty"));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let name = match t.get("name") {
            Some(Value::String(s)) => s.clone(),
            None => format!("task{i}"),
            Some(_) => return Err(bad(shown, format!("task {i}: \"name\" is not a string"))),
        };
        let file = |key: &str| -> Result<String, InputError> {
            t.get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    bad(
                        shown,
                        format!("task {i} ({name:?}): missing the \"{key}\" path"),
                    )
                })
        };
        out.push(ManifestEntry {
            train_x: file("train_x")?,
            train_y: file("train_y")?,
            val_x: file("val_x")?,
            val_y: file("val_y")?,
            name,
        });
    }
    Ok(out)
}

fn features(a: &NpyArray, file: &Path) -> Result<(usize, Vec<f32>), InputError> {
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

fn labels(a: &NpyArray, file: &Path) -> Result<Vec<f32>, InputError> {
    if a.shape.len() == 2 && a.cols() != 1 {
        return Err(bad(
            file,
            format!("labels must be 1-D (or rows × 1), got shape {:?}", a.shape),
        ));
    }
    Ok(a.to_f32())
}

/// Reads a manifest and every array it names: (the feature dimension d, the tasks); checks
/// shapes and that every task has the same d. Values are not checked here (the trainer's data
/// type does).
pub fn read_manifest(path: &Path) -> Result<(usize, Vec<TaskSet>), InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, format!("cannot read: {e}")))?;
    let entries = parse_manifest(&text, path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut dim: Option<(usize, PathBuf)> = None;
    let mut tasks = Vec::with_capacity(entries.len());
    for e in entries {
        let (tx, ty, vx, vy) = (
            base.join(&e.train_x),
            base.join(&e.train_y),
            base.join(&e.val_x),
            base.join(&e.val_y),
        );
        let (d_train, train_x) = features(&read_npy_array(&tx)?, &tx)?;
        let (d_val, val_x) = features(&read_npy_array(&vx)?, &vx)?;
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
            name: e.name,
            train_x,
            train_y: labels(&read_npy_array(&ty)?, &ty)?,
            val_x,
            val_y: labels(&read_npy_array(&vy)?, &vy)?,
        });
    }
    // The manifest's task list is never empty (`parse_manifest`), so d was set.
    Ok((dim.map_or(0, |(d, _)| d), tasks))
}

/// Writes every task's arrays as `.npy` files (`task{i}_train_x.npy`, …) into `dir` (created
/// if needed) and a [`MANIFEST_FILE`] naming them, the features as rows × `dim`; returns the
/// manifest's path.
pub fn write_manifest(dir: &Path, dim: usize, tasks: &[TaskSet]) -> Result<PathBuf, InputError> {
    let io_err = |p: &Path, e: std::io::Error| bad(p, format!("cannot write: {e}"));
    std::fs::create_dir_all(dir).map_err(|e| bad(dir, format!("cannot create: {e}")))?;
    let mut list = Vec::with_capacity(tasks.len());
    for (i, t) in tasks.iter().enumerate() {
        let names = [
            format!("task{i}_train_x.npy"),
            format!("task{i}_train_y.npy"),
            format!("task{i}_val_x.npy"),
            format!("task{i}_val_y.npy"),
        ];
        let arrays: [(&[f32], Vec<usize>); 4] = [
            (&t.train_x, vec![t.train_y.len(), dim]),
            (&t.train_y, vec![t.train_y.len()]),
            (&t.val_x, vec![t.val_y.len(), dim]),
            (&t.val_y, vec![t.val_y.len()]),
        ];
        for (name, (data, shape)) in names.iter().zip(arrays) {
            let p = dir.join(name);
            write_npy_f32(&p, data, &shape).map_err(|e| io_err(&p, e))?;
        }
        list.push(json!({
            "name": t.name,
            "train_x": names[0], "train_y": names[1], "val_x": names[2], "val_y": names[3],
        }));
    }
    let path = dir.join(MANIFEST_FILE);
    let text = serde_json::to_string_pretty(&json!({ "tasks": list }))
        .map_err(|e| bad(&path, format!("cannot encode: {e}")))?;
    std::fs::write(&path, text + "\n").map_err(|e| io_err(&path, e))?;
    Ok(path)
}
