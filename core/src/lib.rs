//! taskgroup-core: partition tasks into groups that train well together.
//!
//! Given an n×n affinity matrix T (T_uv: how much task v helps task u; larger is better), find a
//! partition of the tasks into k groups that maximises the average density
//! `(1/k) Σ_i v_iᵀ T v_i / v_iᵀ v_i` (NP-hard). The method solves the SDP relaxation
//! `max ⟨T, X⟩ s.t. X·1 = 1, Tr X = k, X ≥ 0, X ⪰ 0` with a first-order (ADMM) solver, rounds X to
//! a partition with exactly k groups, and reports a certified upper bound on the best partition's
//! value, so the user knows how far the answer can be from optimal.
//!
//! `#![no_std]` + `alloc`: no I/O, no panics on bad input (errors are [`Error`]). The `std`
//! feature (off by default) lets the O(n²·r) passes use threads ([`par::set_threads`]; results
//! are bit-identical for every thread count).
//!
//! Entry points: [`Affinity`] (validated input), [`group`] (solve + round + certify for one k),
//! [`search_k`] (a range of k), [`solve_sdp`] (the relaxation alone), [`exact_partition`]
//! (exhaustive search for small n), [`session`] (AdaGroup campaigns: subsets to train, the
//! affinity from their results, checkpoints).
//!
//! No `unsafe` outside [`simd`] (the CPU feature check and the call into AVX2-compiled code).
//!
//! The maths is in the repository's `docs/method.md`; `method.md §N` in these docs cites it.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod affinity;
pub mod eigen;
mod error;
mod exact;
mod group;
pub mod kmeans;
mod ksearch;
pub mod memory;
pub mod normalize;
pub mod par;
mod partition;
pub mod random;
mod round;
pub mod sdp;
pub mod session;
pub mod simd;

pub use affinity::{Affinity, Centered};
pub use error::Error;
pub use exact::{exact_partition, EXACT_MAX_N};
pub use group::{
    certify, group, group_centered, group_factored_with, group_with, GroupResult, GroupSettings,
    CERTIFY_TOLERANCE,
};
pub use ksearch::{elbow_score, search_k, KProgress, KRule, KSearch, KSearchRow};
pub use partition::{block_value, Partition};
pub use round::{round_partition, Rounding, RoundingSettings};
pub use sdp::{
    solve_sdp, Progress, ProjectionMethod, SdpSolution, SolverPath, SolverSettings, SolverStatus,
    Stop, Storage, WarmStart, FACTORED_MIN_N,
};
