//! Solver and rounding settings (`tg_options`), the k search of `tg_group_auto`
//! (`tg_k_search`) and the grouping report (`tg_report`).
//!
//! `tg_options` is the `repr(C)` twin of [`GroupSettings`]; conversions go both ways, so
//! `tg_options_default()` returns exactly the library's documented defaults.

use taskgroup_core::{
    GroupResult, GroupSettings, KRule, ProjectionMethod, Rounding, RoundingSettings,
    SolverSettings, SolverStatus,
};

use crate::status::FfiError;

/// Rounding rule (values of `tg_options.rounding`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_rounding {
    /// Candidate partitions with exactly k groups, improved by local search (default).
    Robust = 0,
    /// The paper's rule: connected components of {X_uv > c/n}, c = `threshold_c`; may find
    /// another number of groups than k.
    Threshold = 1,
}

/// Smallest n for which `TG_PROJECTION_AUTO` uses the low-rank projection, when k + 2 ≤ n/8
/// (the library's `taskgroup_core::sdp::LOW_RANK_MIN_N`; the build fails if they differ).
pub const TG_LOW_RANK_MIN_N: usize = 100;
const _: () = assert!(TG_LOW_RANK_MIN_N == taskgroup_core::sdp::LOW_RANK_MIN_N);

/// Eigen-solver of the projection (values of `tg_options.projection`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_projection {
    /// Low-rank from n ≥ `TG_LOW_RANK_MIN_N` (100) while k + 2 ≤ n/8 and from n ≥ 200 for every
    /// k, full otherwise (default).
    Auto = 0,
    /// Full eigendecomposition every iteration.
    Full = 1,
    /// Top eigenpairs only (falls back to full when needed).
    LowRank = 2,
}

/// How `tg_group_auto` picks k (values of `tg_k_search.k_rule`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_k_rule {
    /// The paper's rule: highest average density (default; not invariant to shifts of T).
    AverageDensity = 0,
    /// Largest drop in marginal gain (invariant to a·T, T + c·11ᵀ, T + c·I).
    Elbow = 1,
    /// Largest value Σ_i d_{C_i} (ties to fewer groups; the AdaGroup default).
    Value = 2,
}

/// How the solver ended (`tg_report.solver_status`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_solver_status {
    /// Both relative residuals fell below the tolerance.
    Converged = 0,
    /// The iteration budget ran out first (the bound is still valid).
    MaxIterations = 1,
    /// An eigendecomposition failed; X is the last good iterate.
    NumericalError = 2,
    /// Stopped early on request.
    Interrupted = 3,
    /// Stopped early because the rounded partition was certified optimal (the SDP is not
    /// solved to the tolerance).
    Certified = 4,
    /// Stopped early because no partition could be certified and the dual bound had settled
    /// (the bound and gap are valid; the SDP is not solved to the tolerance).
    Settled = 5,
}

impl From<SolverStatus> for tg_solver_status {
    fn from(s: SolverStatus) -> Self {
        match s {
            SolverStatus::Converged => tg_solver_status::Converged,
            SolverStatus::MaxIterations => tg_solver_status::MaxIterations,
            SolverStatus::NumericalError => tg_solver_status::NumericalError,
            SolverStatus::Interrupted => tg_solver_status::Interrupted,
            SolverStatus::Certified => tg_solver_status::Certified,
            SolverStatus::Settled => tg_solver_status::Settled,
        }
    }
}

/// Solver and rounding settings of `tg_group`, `tg_group_auto` and sessions, by value. Start
/// from `tg_options_default()` and change fields; every range is checked when the options are
/// used. (The k range and rule of `tg_group_auto` are in `tg_k_search`.)
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct tg_options {
    /// Relative tolerance on both ADMM residuals, in (0, 1) (default 1e-6).
    pub tolerance: f64,
    /// ADMM iteration budget, ≥ 1 (default 10000).
    pub max_iterations: usize,
    /// Initial ADMM penalty ρ, > 0, in units of the unit-norm centred affinity; 0 = automatic
    /// (1/√k, default).
    pub rho: f64,
    /// Residual balancing of ρ every this many iterations; 0 = fixed ρ (default 10).
    pub adapt_rho_every: usize,
    /// Residual ratio that triggers a ρ change, > 1 (default 10).
    pub rho_balance: f64,
    /// Over-relaxation α in [1, 2) (default 1.6).
    pub relaxation: f64,
    /// A `tg_projection` value (default `TG_PROJECTION_AUTO`).
    pub projection: u32,
    /// A `tg_rounding` value (default `TG_ROUNDING_ROBUST`).
    pub rounding: u32,
    /// Threshold multiplier c of `TG_ROUNDING_THRESHOLD`, finite and > 0 (default 1).
    pub threshold_c: f64,
    /// Seed of the rounding's k-means restarts (default 0).
    pub seed: u64,
    /// k-means++ restarts per embedding, ≥ 1 (default 10).
    pub kmeans_restarts: usize,
    /// Improve robust candidates by local search (default true).
    pub local_search: bool,
    /// Solve the SDP to the tolerance even when the rounded partition is certified optimal
    /// earlier (default false: stop there, solver status `TG_SOLVER_STATUS_CERTIFIED`) or no
    /// partition can be certified and the bound has settled (`TG_SOLVER_STATUS_SETTLED`).
    pub solve_to_tolerance: bool,
}

/// The k search of `tg_group_auto`, by value. Start from `tg_k_search_default()` and change
/// fields; the range is checked against n when used.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tg_k_search {
    /// Smallest k tried, ≥ 1 (default 1).
    pub k_min: usize,
    /// Largest k tried; 0 = n (default 0).
    pub k_max: usize,
    /// A `tg_k_rule` value (default `TG_K_RULE_AVERAGE_DENSITY`).
    pub k_rule: u32,
}

impl From<&GroupSettings> for tg_options {
    fn from(s: &GroupSettings) -> Self {
        let (rounding, threshold_c) = match s.rounding.mode {
            Rounding::Robust => (tg_rounding::Robust, 1.0),
            Rounding::Threshold { c } => (tg_rounding::Threshold, c),
        };
        let projection = match s.solver.projection {
            ProjectionMethod::Auto => tg_projection::Auto,
            ProjectionMethod::Full => tg_projection::Full,
            ProjectionMethod::LowRank => tg_projection::LowRank,
        };
        tg_options {
            tolerance: s.solver.tolerance,
            max_iterations: s.solver.max_iterations,
            rho: s.solver.rho.unwrap_or(0.0),
            adapt_rho_every: s.solver.adapt_rho_every,
            rho_balance: s.solver.rho_balance,
            relaxation: s.solver.relaxation,
            projection: projection as u32,
            rounding: rounding as u32,
            threshold_c,
            seed: s.rounding.seed,
            kmeans_restarts: s.rounding.kmeans_restarts,
            local_search: s.rounding.local_search,
            solve_to_tolerance: s.solver.stop == taskgroup_core::Stop::Converged,
        }
    }
}

impl tg_options {
    /// The library settings these options describe (enum values checked; ranges are checked
    /// by the library when used).
    pub(crate) fn to_settings(self) -> Result<GroupSettings, FfiError> {
        let projection = match self.projection {
            0 => ProjectionMethod::Auto,
            1 => ProjectionMethod::Full,
            2 => ProjectionMethod::LowRank,
            v => {
                return Err(FfiError::unknown_enum(
                    "projection",
                    v,
                    "TG_PROJECTION_AUTO, _FULL or _LOW_RANK",
                ))
            }
        };
        let mode = match self.rounding {
            0 => Rounding::Robust,
            1 => Rounding::Threshold {
                c: self.threshold_c,
            },
            v => {
                return Err(FfiError::unknown_enum(
                    "rounding",
                    v,
                    "TG_ROUNDING_ROBUST or TG_ROUNDING_THRESHOLD",
                ))
            }
        };
        let settings = GroupSettings {
            solver: SolverSettings {
                tolerance: self.tolerance,
                max_iterations: self.max_iterations,
                rho: if self.rho == 0.0 {
                    None
                } else {
                    Some(self.rho)
                },
                adapt_rho_every: self.adapt_rho_every,
                rho_balance: self.rho_balance,
                relaxation: self.relaxation,
                projection,
                path: Default::default(),
                stop: if self.solve_to_tolerance {
                    taskgroup_core::Stop::Converged
                } else {
                    taskgroup_core::Stop::Certified
                },
                storage: SolverSettings::default().storage,
                anderson: SolverSettings::default().anderson,
            },
            rounding: RoundingSettings {
                mode,
                seed: self.seed,
                kmeans_restarts: self.kmeans_restarts,
                local_search: self.local_search,
            },
        };
        settings.validate()?;
        Ok(settings)
    }
}

impl tg_k_search {
    /// The k rule of `tg_group_auto`.
    pub(crate) fn k_rule(self) -> Result<KRule, FfiError> {
        match self.k_rule {
            0 => Ok(KRule::AverageDensity),
            1 => Ok(KRule::Elbow),
            2 => Ok(KRule::Value),
            v => Err(FfiError::unknown_enum(
                "k_rule",
                v,
                "TG_K_RULE_AVERAGE_DENSITY, TG_K_RULE_ELBOW or TG_K_RULE_VALUE",
            )),
        }
    }
}

/// The library's default settings: the same values as the Rust defaults.
#[no_mangle]
pub extern "C" fn tg_options_default() -> tg_options {
    ffi_boundary!(value(default_options()): { default_options() })
}

/// The defaults (also the panic fallback of `tg_options_default`).
pub(crate) fn default_options() -> tg_options {
    tg_options::from(&GroupSettings::default())
}

/// Reads optional options: NULL means the defaults.
///
/// # Safety
/// `opts` must be NULL or valid for reads of one `tg_options`.
pub(crate) unsafe fn read_options(opts: *const tg_options) -> tg_options {
    // SAFETY: the caller's contract.
    unsafe { crate::memory::read_optional(opts) }.unwrap_or_else(default_options)
}

/// The default k search: every k from 1 to n, the paper's average-density rule.
#[no_mangle]
pub extern "C" fn tg_k_search_default() -> tg_k_search {
    ffi_boundary!(value(default_k_search()): { default_k_search() })
}

/// The default k search (also the panic fallback of `tg_k_search_default`).
pub(crate) fn default_k_search() -> tg_k_search {
    tg_k_search {
        k_min: 1,
        k_max: 0,
        k_rule: tg_k_rule::AverageDensity as u32,
    }
}

/// Reads an optional k search: NULL means the defaults.
///
/// # Safety
/// `search` must be NULL or valid for reads of one `tg_k_search`.
pub(crate) unsafe fn read_k_search(search: *const tg_k_search) -> tg_k_search {
    // SAFETY: the caller's contract.
    unsafe { crate::memory::read_optional(search) }.unwrap_or_else(default_k_search)
}

/// What `tg_group` and `tg_group_auto` found, besides the labels.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct tg_report {
    /// Number of tasks n.
    pub n: usize,
    /// Number of groups asked for (the chosen k for `tg_group_auto`).
    pub k: usize,
    /// Number of groups found (= k for robust rounding).
    pub num_groups: usize,
    /// Σ_i density(C_i) = ⟨T, X_partition⟩, in T's units (symmetric part of T).
    pub value: f64,
    /// value / num_groups (the paper's objective).
    pub average_density: f64,
    /// ⟨T, X⟩ of the SDP solution.
    pub sdp_value: f64,
    /// Certified upper bound on the value of every partition into k groups; NaN when the
    /// rounding found another number of groups than k.
    pub upper_bound: f64,
    /// (upper_bound − value) / |upper_bound|; NaN as for `upper_bound`.
    pub gap: f64,
    /// (upper_bound − value) / ‖T_c‖_F, the invariant gap that `certified_optimal` tests; NaN
    /// as for `upper_bound`.
    pub gap_normalized: f64,
    /// No partition into k groups beats this one by more than the certification tolerance.
    pub certified_optimal: bool,
    /// How the solver ended.
    pub solver_status: tg_solver_status,
    /// ADMM iterations run.
    pub iterations: usize,
    /// Final relative primal residual.
    pub primal_residual: f64,
    /// Final relative dual residual.
    pub dual_residual: f64,
}

impl tg_report {
    /// The report of one grouping result for k groups.
    pub(crate) fn of(r: &GroupResult, k: usize) -> Self {
        tg_report {
            n: r.partition.n(),
            k,
            num_groups: r.partition.num_groups(),
            value: r.value,
            average_density: r.average_density,
            sdp_value: r.sdp.objective,
            upper_bound: r.upper_bound.unwrap_or(f64::NAN),
            gap: r.gap.unwrap_or(f64::NAN),
            gap_normalized: r.gap_normalized.unwrap_or(f64::NAN),
            certified_optimal: r.certified_optimal,
            solver_status: r.status().into(),
            iterations: r.sdp.iterations,
            primal_residual: r.sdp.primal_residual,
            dual_residual: r.sdp.dual_residual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::tg_status;

    #[test]
    fn defaults_round_trip_to_the_library_defaults() {
        let d = tg_options_default();
        assert_eq!(d.to_settings().unwrap(), GroupSettings::default());
        assert_eq!(d.tolerance, 1e-6);
        let k = tg_k_search_default();
        assert_eq!((k.k_min, k.k_max), (1, 0));
        assert_eq!(k.k_rule().unwrap(), KRule::AverageDensity);
        let mut t = d;
        t.rounding = tg_rounding::Threshold as u32;
        t.threshold_c = 0.5;
        t.rho = 2.0;
        t.projection = tg_projection::Full as u32;
        let s = t.to_settings().unwrap();
        assert_eq!(s.rounding.mode, Rounding::Threshold { c: 0.5 });
        assert_eq!(s.solver.rho, Some(2.0));
        assert_eq!(tg_options::from(&s), t);
    }

    #[test]
    fn bad_values_are_refused() {
        let mut t = tg_options_default();
        t.rounding = 9;
        assert_eq!(
            t.to_settings().unwrap_err().status,
            tg_status::InvalidSetting
        );
        let mut t = tg_options_default();
        t.tolerance = 2.0;
        let e = t.to_settings().unwrap_err();
        assert_eq!(e.status, tg_status::InvalidSetting);
        assert!(e.message.contains("tolerance"), "{}", e.message);
        let mut k = tg_k_search_default();
        k.k_rule = 5;
        assert_eq!(k.k_rule().unwrap_err().status, tg_status::InvalidSetting);
    }
}
