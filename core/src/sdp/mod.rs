//! The SDP relaxation `max ⟨T, X⟩ s.t. X·1 = 1, Tr X = k, X ≥ 0, X ⪰ 0` (paper Eq. 5).
//!
//! [`solve_sdp`] runs ADMM ([`admm`]) with the closed-form projection of [`projection`] and
//! returns an [`SdpSolution`] with a certified upper bound ([`certificate`]).
//!
//! The ADMM loop is written once ([`admm`]): an [`AdmmState`] stepped by [`AdmmState::step`]
//! and [`AdmmState::decide`] around a pluggable [`Projector`], with the shared rules
//! ([`barycentre`], [`initial_rho`], [`is_trivial`], [`converged`], [`rho_factor`],
//! [`RHO_RANGE`]) public so that other backends (taskgroup-gpu) reuse them instead of copies.

pub mod admm;
pub mod certificate;
pub mod factored;
pub(crate) mod lanczos;
pub mod lowrank;
pub mod projection;

use alloc::vec::Vec;

pub use lanczos::{f32_storage_error, BlockOp, DenseOp, DenseOpF32};

pub use admm::{
    auto_low_rank, barycentre, converged, finish_iterate, initial_rho, is_trivial, rho_factor,
    run_admm, solve_centered_with, solve_sdp, AdmmIterate, AdmmState, FnProjector, FullProjector,
    Projector, StepContext, RHO_RANGE,
};

use crate::affinity::Centered;
use crate::error::Error;
use crate::partition::Partition;

/// How the ADMM solver ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolverStatus {
    /// Both relative residuals fell below the tolerance.
    Converged,
    /// The iteration budget ran out first; X is the last iterate (still in C1, bound still valid).
    MaxIterations,
    /// An eigendecomposition failed or produced non-finite values; X is the last good iterate.
    NumericalError,
    /// The progress callback asked to stop; X is the last iterate.
    Interrupted,
    /// Stopped early ([`Stop::Certified`], inside [`group`](crate::group)): the rounded
    /// partition of the current iterate was certified optimal by the dual bound of that
    /// iterate (valid from any iterate, method.md §4). The SDP itself is not solved to the
    /// tolerance: its objective and residuals are the iterate's.
    Certified,
    /// Stopped early ([`Stop::Certified`], inside [`group`](crate::group)): no partition could
    /// be certified, and the iterate's dual bound had settled (method.md §3, "Settled stop":
    /// a gap above 1e-4 of ‖T_c‖_F, residuals below 30× the tolerance, the same rounded
    /// partition at three checks in a row, and the bound down by at most 1e-3 of the gap over
    /// the last 40 iterations or more). The bound and gap are the iterate's (valid); the SDP
    /// is not solved to the tolerance.
    Settled,
}

impl SolverStatus {
    /// A short lower-case name (`converged`, `max_iterations`, `numerical_error`, `interrupted`,
    /// `certified`, `settled`).
    pub fn as_str(self) -> &'static str {
        match self {
            SolverStatus::Converged => "converged",
            SolverStatus::MaxIterations => "max_iterations",
            SolverStatus::NumericalError => "numerical_error",
            SolverStatus::Interrupted => "interrupted",
            SolverStatus::Certified => "certified",
            SolverStatus::Settled => "settled",
        }
    }
}

/// Settings of the ADMM solver; `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverSettings {
    /// Relative tolerance on both residuals (default 1e-6; range (0, 1)).
    ///
    /// Primal: ‖X − Z‖_F / max(‖X‖_F, ‖Z‖_F). Dual: ρ‖Z − Z_prev‖_F / max(‖ρU‖_F, ‖C‖_F), in the
    /// units of the centred, unit-norm affinity C, so both are invariant to a·T, T + c·11ᵀ,
    /// T + c·I and T + a1ᵀ + 1aᵀ.
    pub tolerance: f64,
    /// Iteration budget (default 10 000; ≥ 1).
    pub max_iterations: usize,
    /// Initial penalty ρ in units of the unit-norm C (default `None`: 1/√k).
    pub rho: Option<f64>,
    /// Residual balancing: every this many iterations, double ρ when the primal residual is
    /// `rho_balance`× the dual one, halve it in the opposite case (default 10; 0 = fixed ρ).
    pub adapt_rho_every: usize,
    /// Ratio of residuals that triggers a ρ change (default 10; > 1).
    pub rho_balance: f64,
    /// Over-relaxation α (default 1.6; range [1, 2)).
    pub relaxation: f64,
    /// How the projection onto C1 computes eigenpairs (default `Auto`).
    pub projection: ProjectionMethod,
    /// Which solver runs (default `Auto`: ADMM below [`FACTORED_MIN_N`] tasks, the factored
    /// large-n path from there or when ADMM's n×n buffers do not fit in memory).
    pub path: SolverPath,
    /// When a solve inside [`group`](crate::group) (and the k search) may stop (default
    /// [`Stop::Certified`]). [`solve_sdp`] alone has no partition and always runs to the
    /// tolerance.
    pub stop: Stop,
    /// How the factored path stores C for its block products (default `F64`; ignored by ADMM).
    /// `F32` reads an f32 copy of C in every product (half the memory traffic; on the CPU it
    /// costs 0.5× the matrix more memory, since the rounding still reads the f64 C) and pads the
    /// certificate by k·‖C − fl₃₂(C)‖_F so that it stays a bound for C (method.md §4a).
    pub storage: Storage,
    /// Memory m of the Anderson acceleration of the ADMM iteration (method.md §3): `None` (the
    /// default) is [`ANDERSON_AUTO_MEMORY`] under `ProjectionMethod::Auto` for n <
    /// [`ANDERSON_AUTO_MAX_N`], across every iteration (full or low-rank projection); `Some(0)`
    /// is off; `Some(m)`, 1 ≤ m ≤ 20, applies to every iteration for n ≤
    /// [`admm::ANDERSON_MAX_N`]. Costs about (m + 3)/2 extra n×n f64 matrices (packed upper
    /// triangles, differences in f32), allocated from the second iteration.
    pub anderson: Option<usize>,
}

/// Largest n (exclusive) for the default Anderson acceleration (its (m + 3)/2 = 6.5 extra n×n
/// matrices' worth of memory is 19 MB at n = 600; not measured above it).
pub const ANDERSON_AUTO_MAX_N: usize = 600;

/// The Anderson memory that `SolverSettings::anderson = None` uses where it applies: measured
/// on planted and random instances at n = 60–300 (method.md §3), 10 takes 25–67 % fewer
/// iterations than no acceleration; 5 saves about half as much.
pub const ANDERSON_AUTO_MEMORY: usize = 10;

/// When the ADMM solve of [`group`](crate::group) stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stop {
    /// As soon as the robust rounding of an iterate is certified optimal against that
    /// iterate's dual bound (checked every few iterations; status [`SolverStatus::Certified`]),
    /// or, when no partition can be certified, once that bound has settled (status
    /// [`SolverStatus::Settled`]), else at the tolerance like `Converged` (default). The
    /// partition and the certificate are those of a full solve (a certified partition is
    /// optimal up to the certification tolerance; a settled bound's gap was within 2 % of the
    /// converged one's on every bench solve, `bench/SETTLE.md`); the SDP value is not.
    #[default]
    Certified,
    /// Always solve the SDP to the tolerance (for callers who need the relaxation's value).
    Converged,
}

/// Which solver a solve uses (`SolverSettings::path`) or used (`SdpSolution::path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SolverPath {
    /// Settings only: [`SolverPath::Admm`] for n < [`FACTORED_MIN_N`] unless its memory
    /// (≈ 7 n×n buffers) is unavailable, else [`SolverPath::Factored`] (default).
    #[default]
    Auto,
    /// ADMM on dense n×n iterates (method.md §3).
    Admm,
    /// The large-n path: spectral start, factored X = UUᵀ with U ≥ 0, matrix-free certificate
    /// (method.md §3a, §4a); no n×n buffer beyond the centred affinity.
    Factored,
}

impl SolverPath {
    /// `auto`, `admm` or `factored`.
    pub fn as_str(self) -> &'static str {
        match self {
            SolverPath::Auto => "auto",
            SolverPath::Admm => "admm",
            SolverPath::Factored => "factored",
        }
    }

    /// The path that runs for n tasks (never `Auto`): `Auto` picks `Factored` from
    /// [`FACTORED_MIN_N`], or from n ≥ 1000 when 7 n×n f64 buffers cannot be reserved.
    pub fn resolve(self, n: usize) -> SolverPath {
        match self {
            SolverPath::Auto => {
                if n >= FACTORED_MIN_N
                    || (n >= 1000
                        && crate::memory::check_available(crate::memory::square_f64_bytes(n, 7))
                            .is_err())
                {
                    SolverPath::Factored
                } else {
                    SolverPath::Admm
                }
            }
            p => p,
        }
    }
}

/// How the factored path's block products store C (`SolverSettings::storage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Storage {
    /// f64, the matrix itself (default).
    #[default]
    F64,
    /// An f32 copy (products still accumulate in f64; the certificate is padded, method.md §4a).
    F32,
}

impl Storage {
    /// `f64` or `f32`.
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::F64 => "f64",
            Storage::F32 => "f32",
        }
    }

    /// The storage named `f64` or `f32`; `None` otherwise.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "f64" => Some(Storage::F64),
            "f32" => Some(Storage::F32),
            _ => None,
        }
    }
}

impl core::fmt::Display for Storage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Smallest n for which `SolverPath::Auto` runs the factored large-n path.
pub const FACTORED_MIN_N: usize = 4000;

/// Eigen-solver used by the projection onto C1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectionMethod {
    /// `LowRank` where [`auto_low_rank`] says so (from n ≥ [`LOW_RANK_MIN_N`] when k + 2 ≤ n/8,
    /// from n ≥ 200 for every k), `Full` otherwise (default).
    #[default]
    Auto,
    /// Full symmetric eigendecomposition every iteration: O(n³).
    Full,
    /// Top eigenpairs only (block Krylov, warm-started; falls back to `Full` for an iteration
    /// when it does not converge or the rank exceeds n/8): O(n²·(k + margin)).
    LowRank,
}

/// Smallest n for which `ProjectionMethod::Auto` uses the low-rank projection.
pub const LOW_RANK_MIN_N: usize = 100;

/// Vectors the low-rank projection's block holds beyond k (block p = k + 2 at the start; at
/// least two Ritz values below θ confirm each cut), and beyond one in the certificate's λ_max
/// estimate. 2, the fewest with two inactive vectors when k − 1 are active: against 4, a third
/// fewer block products per round, the same partitions and certificates on the bench and
/// multitask instances, and 9–14 % fewer instructions per solve (method.md §3, "Low rank").
pub const LOW_RANK_OVERSAMPLE: usize = 2;

impl Default for SolverSettings {
    fn default() -> Self {
        SolverSettings {
            tolerance: 1e-6,
            max_iterations: 10_000,
            rho: None,
            adapt_rho_every: 10,
            rho_balance: 10.0,
            relaxation: 1.6,
            projection: ProjectionMethod::Auto,
            path: SolverPath::Auto,
            stop: Stop::Certified,
            storage: Storage::F64,
            anderson: None,
        }
    }
}

impl SolverSettings {
    /// The Anderson memory a solve of n tasks uses ([`SolverSettings::anderson`]; 0: none).
    pub fn anderson_memory(&self, n: usize) -> usize {
        match self.anderson {
            Some(m) if n <= admm::ANDERSON_MAX_N => m,
            Some(_) => 0,
            None if self.projection == ProjectionMethod::Auto && n < ANDERSON_AUTO_MAX_N => {
                ANDERSON_AUTO_MEMORY
            }
            None => 0,
        }
    }

    /// Checks every setting against its documented range.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |name, reason| Err(Error::InvalidSetting { name, reason });
        if !(self.tolerance > 0.0 && self.tolerance < 1.0) {
            return bad("tolerance", "must be in (0, 1)");
        }
        if self.max_iterations == 0 {
            return bad("max_iterations", "must be at least 1");
        }
        if let Some(r) = self.rho {
            if !(r.is_finite() && r > 0.0) {
                return bad("rho", "must be finite and > 0");
            }
        }
        if !(self.rho_balance.is_finite() && self.rho_balance > 1.0) {
            return bad("rho_balance", "must be finite and > 1");
        }
        if !(self.relaxation >= 1.0 && self.relaxation < 2.0) {
            return bad("relaxation", "must be in [1, 2)");
        }
        if self.anderson.is_some_and(|m| m > 20) {
            return bad("anderson", "must be at most 20");
        }
        Ok(())
    }
}

/// Where ADMM starts.
#[derive(Debug, Clone, Copy)]
pub enum WarmStart<'a> {
    /// The barycentre `11ᵀ/n + (k−1)/(n−1)·(I − 11ᵀ/n)` of the feasible set.
    Cold,
    /// The partition's matrix `Σ_i v_i v_iᵀ / |C_i|` (any number of groups).
    Partition(&'a Partition),
    /// A dense row-major n×n matrix (finite entries), e.g. a previous solution's X.
    Matrix(&'a [f64]),
}

/// One line of solver progress, handed to the callback every iteration.
///
/// The objective is evaluated only when asked ([`Progress::objective`]): on the ADMM path it is
/// an O(n²) pass over the iterate, which a callback that only polls for interruption (the CLI's
/// Ctrl-C check) should not pay every iteration.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Iterations done so far (1-based).
    pub iteration: usize,
    /// Relative primal residual.
    pub primal_residual: f64,
    /// Relative dual residual.
    pub dual_residual: f64,
    /// Current penalty ρ (units of the unit-norm centred affinity).
    pub rho: f64,
    objective: Objective<'a>,
}

/// Where [`Progress::objective`] comes from: a value the solver already has, or the iterate.
#[derive(Debug, Clone, Copy)]
enum Objective<'a> {
    Value(f64),
    Iterate {
        cen: &'a Centered,
        x: &'a [f64],
        k: usize,
    },
}

impl<'a> Progress<'a> {
    fn new(
        iteration: usize,
        primal_residual: f64,
        dual_residual: f64,
        rho: f64,
        objective: Objective<'a>,
    ) -> Self {
        Progress {
            iteration,
            primal_residual,
            dual_residual,
            rho,
            objective,
        }
    }

    /// A progress line whose objective (T's units) is already known.
    pub fn with_objective(
        iteration: usize,
        primal_residual: f64,
        dual_residual: f64,
        rho: f64,
        objective: f64,
    ) -> Self {
        let objective = Objective::Value(objective);
        Progress::new(iteration, primal_residual, dual_residual, rho, objective)
    }

    /// A progress line whose objective is ⟨T, X⟩ for the row-major n×n iterate `x` of the
    /// centred affinity `cen` and k groups, computed only when [`Progress::objective`] is called.
    pub(crate) fn of_iterate(
        iteration: usize,
        primal_residual: f64,
        dual_residual: f64,
        rho: f64,
        (cen, x, k): (&'a Centered, &'a [f64], usize),
    ) -> Self {
        let objective = Objective::Iterate { cen, x, k };
        Progress::new(iteration, primal_residual, dual_residual, rho, objective)
    }

    /// ⟨T, X⟩ of the current iterate, in T's units (O(n²) on the ADMM path: call it only when
    /// the value is shown).
    pub fn objective(&self) -> f64 {
        match self.objective {
            Objective::Value(v) => v,
            Objective::Iterate { cen, x, k } => cen.to_value(lowrank::dot(&cen.c, x), k),
        }
    }
}

/// An ADMM iterate X as its projection formed it (method.md §3): `X = 11ᵀ/n + V·diag(μ)·Vᵀ`
/// with μ > 0 descending and V column-major n×r, orthonormal columns orthogonal to 1. The
/// rounding takes X's spectral embedding (and the geometry of X's rows) from it instead of
/// decomposing X again.
#[derive(Debug, Clone, Default)]
pub(crate) struct XFactor {
    /// The r weights μ_j, descending.
    pub mu: Vec<f64>,
    /// Column-major n×r.
    pub v: Vec<f64>,
}

impl XFactor {
    /// Replaces the contents with `mu` and `v` (buffers reused).
    pub fn set(&mut self, mu: &[f64], v: &[f64]) {
        self.mu.clear();
        self.mu.extend_from_slice(mu);
        self.v.clear();
        self.v.extend_from_slice(v);
    }

    /// Whether it describes an n×n X: r ≥ 1 weights, all finite and > 0, and n·r finite
    /// vector entries.
    pub fn fits(&self, n: usize) -> bool {
        !self.mu.is_empty()
            && self.v.len() == n * self.mu.len()
            && self.mu.iter().all(|m| m.is_finite() && *m > 0.0)
            && self.v.iter().all(|x| x.is_finite())
    }
}

/// The result of [`solve_sdp`].
#[derive(Debug, Clone)]
pub struct SdpSolution {
    /// How the solver ended.
    pub status: SolverStatus,
    /// Number of tasks.
    pub n: usize,
    /// Number of groups (Tr X).
    pub k: usize,
    /// X, row-major n×n: satisfies X·1 = 1, Tr X = k, X ⪰ 0 to rounding; X ≥ 0 to the primal residual.
    pub x: Vec<f64>,
    /// ⟨T, X⟩ in T's units (the SDP value at convergence; with status `Certified` the
    /// iterate's, which may lie outside [partition value, certified bound], the interval that
    /// holds the SDP's optimum).
    pub objective: f64,
    /// A valid upper bound on the value of every partition into k groups (and on the SDP optimum),
    /// padded for rounding error; from any iterate, tight at convergence.
    pub upper_bound: f64,
    /// Final relative primal residual.
    pub primal_residual: f64,
    /// Final relative dual residual.
    pub dual_residual: f64,
    /// Iterations run.
    pub iterations: usize,
    /// Final penalty ρ; pass it as `SolverSettings::rho` to warm-start a related solve.
    pub rho: f64,
    /// Iterations whose projection used the full eigendecomposition (all of them for
    /// `ProjectionMethod::Full`; low-rank fallbacks otherwise).
    pub full_projections: usize,
    /// Rayleigh–Ritz rounds of the low-rank projection, summed over iterations (0 for `Full`);
    /// on the factored path, the block products with C (eigen-solves and refinement).
    pub low_rank_rounds: usize,
    /// Restarts of ADMM at a rounded partition's primal-dual pair (0 or 1; method.md §3,
    /// "Restart at the partition's pair"): the early stop's first partition check restarts
    /// there when that partition is not certified.
    pub restarts: usize,
    /// The upper bound in centred units ⟨C, ·⟩ (pad included).
    pub(crate) bound_c: f64,
    /// Which solver ran (`Admm` or `Factored`).
    pub path: SolverPath,
    /// The factored path's U (row-major n×`rank`, U ≥ 0, X = UUᵀ); empty for ADMM. On the
    /// factored path `x` is empty (no n×n buffer is formed).
    pub factor: Vec<f64>,
    /// Columns of `factor` (0 for ADMM).
    pub rank: usize,
}
