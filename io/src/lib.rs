//! taskgroup-io: every file format of the project, read and written in one place (std).
//!
//! - [`matrix`]: affinity matrices as text (CSV, TSV, whitespace; optional task names);
//! - [`npy`]: NumPy `.npy` arrays;
//! - [`subsets`]: tables of subset-training results (`task,subset,score`);
//! - [`standley`]: the exhaustive subset-training tables of Standley et al. (Taskonomy);
//! - [`manifest`]: a JSON list of every task's feature and label `.npy` arrays (trainers).
//!
//! The CLI, the gpu crate and the fuzz targets (`fuzz/`) call these readers; every reader
//! returns a clear error for malformed input and never panics. Large files are memory-mapped
//! ([`mapped`]), the crate's only `unsafe` (one call, with its safety argument).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod manifest;
pub mod mapped;
pub mod matrix;
pub mod npy;
pub mod standley;
pub mod subsets;
#[cfg(test)]
mod test_util;

pub use matrix::{read_matrix, require_square, InputError, Matrix};
