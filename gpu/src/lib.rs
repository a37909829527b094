//! Batched eigen-projections for the SDP solver and batched subset training, with a CPU
//! reference path that always builds and CUDA kernels (through cust) behind the `cuda` feature.
//!
//! Without `cuda` (the default) the crate has no GPU dependency at all: the CLI and the C
//! library link it and [`Backend::Cuda`] is refused with [`GpuError::NotCompiled`].

#![warn(missing_docs)]

pub mod backend;
#[cfg(feature = "cuda")]
pub mod device;
pub mod error;
pub mod solve;
#[cfg(feature = "cuda")]
pub mod solve_cuda;
pub mod train;
pub mod twin;

pub use backend::Backend;
pub use error::GpuError;
pub use solve::{project_batch, solve_batch, BatchProblem};
