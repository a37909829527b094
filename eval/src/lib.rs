//! taskgroup-eval: how well the grouping works, measured (std).
//!
//! Generators with a known truth ([`synthetic`], [`benchmark`]), a simulated subset trainer for
//! AdaGroup ([`trainer`]), baselines at the same task ([`baselines`]: spectral clustering,
//! Lloyd's k-means), metrics ([`metrics`]: ARI, exact recovery), one runner for every method on
//! every case ([`methods`]), and the real Taskonomy tables of Standley et al. ([`standley`]:
//! Eq. 6 affinity, true losses of partitions, regret). The CLI's `demo` and `eval` print what
//! these compute.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod baselines;
pub mod benchmark;
pub mod methods;
pub mod metrics;
pub mod standley;
pub mod study;
pub mod synthetic;
pub mod trainer;
