//! Batched eigen-projections for the SDP solver and batched subset training, with a CPU
//! reference path that always builds and CUDA kernels (through cust) behind the `cuda` feature.
//!
//! Layout: [`solve`] (batched SDP solves; `solve::cuda` is the CUDA host code, [`solve::twin`]
//! the CPU model of the kernels; [`solve::large`] the large-n path, core's factored path with its
//! products on the device through `solve::cuda_large`) and [`train`] (batched subset training), each a folder with its
//! `mod.rs`; the bench binary (`src/bin/gpu-bench.rs`) does all the printing.
//!
//! Without `cuda` (the default) the crate has no GPU dependency at all: the CLI and the C
//! library link it and [`Backend::Cuda`] is refused with [`GpuError::NotCompiled`].

#![warn(missing_docs)]

pub mod backend;
#[cfg(feature = "cuda")]
pub mod device;
pub mod error;
pub mod solve;
pub mod train;

/// The CPU model of the SDP kernels (at `solve::twin`; also here, where it used to live).
pub use solve::twin;

pub use backend::Backend;
pub use error::GpuError;
pub use solve::large::{group_large, Storage};
pub use solve::{project_batch, solve_batch, BatchProblem};
