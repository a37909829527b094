//! The whole pipeline for one k: solve the SDP, round, certify.

use crate::affinity::{Affinity, Centered};
use crate::error::Error;
use crate::partition::{block_value, Partition};
use crate::round::{round_centered, RoundingSettings};
use crate::sdp::admm::{is_trivial, solve_centered};
use crate::sdp::factored::solve_factored;
use crate::sdp::SolverPath;
use crate::sdp::{Progress, SdpSolution, SolverSettings, SolverStatus, WarmStart};

/// A partition is `certified_optimal` when its value is within this fraction of ‖T_c‖_F below
/// the padded upper bound, where T_c is T with every component removed that no feasible X can
/// see (method.md §2: so the test is invariant to a·T, T + c·11ᵀ, T + c·I, T + a1ᵀ + 1aᵀ).
/// Distinct partitions closer than this are treated as ties. With the default solver tolerance
/// (1e-6) the bound of a tight relaxation lands within ~1e-6 of the optimum.
pub const CERTIFY_TOLERANCE: f64 = 1e-5;

/// Settings of [`group`]: the solver's and the rounding's; `Default` gives both defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupSettings {
    /// ADMM settings.
    pub solver: SolverSettings,
    /// Rounding settings.
    pub rounding: RoundingSettings,
}

impl GroupSettings {
    /// Checks both parts against their documented ranges.
    pub fn validate(&self) -> Result<(), Error> {
        self.solver.validate()?;
        self.rounding.validate()
    }
}

/// The groups for one k, with their value and the certificate.
#[derive(Debug, Clone)]
pub struct GroupResult {
    /// The groups found (exactly k for robust rounding; the threshold rule may find another count).
    pub partition: Partition,
    /// ⟨T, X_partition⟩ = Σ_i d_{C_i}, in T's units (symmetric part of T).
    pub value: f64,
    /// value / number of groups (paper Eq. 2).
    pub average_density: f64,
    /// Upper bound on the value of every partition into k groups (padded); `None` when the
    /// partition does not have k groups (the bound is for k).
    pub upper_bound: Option<f64>,
    /// (upper_bound − value) / |upper_bound| (method.md §4); `None` as for `upper_bound`.
    pub gap: Option<f64>,
    /// (upper_bound − value) / ‖T_c‖_F: the invariant gap that `certified_optimal` tests.
    pub gap_normalized: Option<f64>,
    /// `gap_normalized ≤ CERTIFY_TOLERANCE`: no partition into k groups beats this one by more
    /// than that tolerance.
    pub certified_optimal: bool,
    /// The SDP solve (X, objective ⟨T, X⟩, bound, status, residuals, iterations, ρ).
    pub sdp: SdpSolution,
}

impl GroupResult {
    /// The solver's status.
    pub fn status(&self) -> SolverStatus {
        self.sdp.status
    }
}

/// Groups the tasks of `t` into k groups with default progress handling (none) and a cold start.
pub fn group(t: &Affinity, k: usize, settings: &GroupSettings) -> Result<GroupResult, Error> {
    group_with(t, k, settings, WarmStart::Cold, None)
}

/// [`group`] with a warm start and an optional progress callback (return `false` to stop early;
/// the result is then rounded from the last iterate and marked `Interrupted`).
pub fn group_with(
    t: &Affinity,
    k: usize,
    settings: &GroupSettings,
    warm: WarmStart<'_>,
    progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<GroupResult, Error> {
    settings.validate()?;
    let cen = t.centered();
    group_centered(t, &cen, k, settings, warm, progress)
}

/// [`group_with`] on an already centred affinity (callers that group one matrix many times).
pub fn group_centered(
    t: &Affinity,
    cen: &Centered,
    k: usize,
    settings: &GroupSettings,
    warm: WarmStart<'_>,
    progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<GroupResult, Error> {
    let (partition, sdp) = if settings.solver.path.resolve(cen.n) == SolverPath::Factored
        && !is_trivial(cen.n, k, cen.s)
    {
        // The large-n path (method.md §3a): no n×n iterate; it rounds and certifies itself.
        settings.solver.validate()?;
        crate::sdp::admm::check_inputs(cen.n, k, &warm)?;
        let f = solve_factored(cen, k, &settings.solver, &settings.rounding, warm, progress);
        (f.partition, f.sdp)
    } else {
        let sdp = solve_centered(cen, k, &settings.solver, warm, progress)?;
        let partition = round_centered(cen, &sdp.x, k, &settings.rounding);
        (partition, sdp)
    };
    let r = certify(t, cen, partition, sdp);
    // Values beyond the f64 range (entries near f64::MAX summed over a group) cannot be
    // reported: an error, never a silent Inf/NaN or a "certified" flag next to one.
    let finite = [Some(r.value), Some(r.sdp.objective), r.upper_bound, r.gap]
        .iter()
        .flatten()
        .all(|x| x.is_finite());
    if !finite {
        return Err(Error::ValueOverflow);
    }
    Ok(r)
}

/// The certification test of method.md §4 for a partition `gap` (T's units) below an upper
/// bound: `max(gap, 0) / ‖T_c‖_F ≤ CERTIFY_TOLERANCE`, invariant to the shifts of §2.
pub fn is_certified(cen: &Centered, gap: f64) -> bool {
    let gap = gap.max(0.0);
    let norm = cen.scale * cen.s;
    gap == 0.0 || (norm > 0.0 && gap / norm <= CERTIFY_TOLERANCE)
}

/// Values and certificate of a partition against a solved relaxation.
pub fn certify(
    t: &Affinity,
    cen: &Centered,
    partition: Partition,
    sdp: SdpSolution,
) -> GroupResult {
    let value = block_value(t.as_slice(), &partition);
    let groups = partition.num_groups();
    let average_density = value / groups as f64;
    let (upper_bound, gap, gap_normalized, certified_optimal) = if groups == sdp.k {
        let v_c = block_value(&cen.c, &partition);
        let gap_c = (sdp.bound_c - v_c).max(0.0);
        let ub = value + cen.to_units(gap_c);
        let gap = if ub != 0.0 {
            (ub - value) / ub.abs()
        } else {
            0.0
        };
        (Some(ub), Some(gap), Some(gap_c), gap_c <= CERTIFY_TOLERANCE)
    } else {
        (None, None, None, false)
    };
    GroupResult {
        partition,
        value,
        average_density,
        upper_bound,
        gap,
        gap_normalized,
        certified_optimal,
        sdp,
    }
}
