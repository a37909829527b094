//! The whole pipeline for one k: solve the SDP, round, certify.

use alloc::vec::Vec;

use crate::affinity::{Affinity, Centered};
use crate::error::Error;
use crate::partition::{block_value, Partition};
use crate::round::Rounding;
use crate::round::{round_centered, round_centered_check, RoundingSettings};
use crate::sdp::admm::{is_trivial, solve_centered_checked, AdmmState, CheckStop};
use crate::sdp::certificate::{
    bound_centered, bound_estimate, partition_bound, partition_bound_or_dual, VERIFIED_MIN_N,
};
use crate::sdp::factored::solve_factored;
use crate::sdp::{
    BlockOp, DenseOp, DenseOpF32, Progress, SdpSolution, SolverPath, SolverSettings, SolverStatus,
    Stop, Storage, WarmStart,
};

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
    let early = settings.solver.stop == Stop::Certified
        && settings.rounding.mode == Rounding::Robust
        && k > 1
        && k < cen.n;
    let (partition, sdp) = if settings.solver.path.resolve(cen.n) == SolverPath::Factored
        && !is_trivial(cen.n, k, cen.s)
    {
        // The large-n path (method.md §3a): no n×n iterate; it rounds and certifies itself.
        let not_square = Error::NotSquare {
            rows: cen.n,
            len: cen.c.len(),
        };
        return match settings.solver.storage {
            Storage::F64 => {
                let mut op = DenseOp::new(&cen.c, cen.n).ok_or(not_square)?;
                group_factored_with(t, cen, k, settings, warm, progress, &mut op)
            }
            Storage::F32 => {
                let mut op = DenseOpF32::new(&cen.c, cen.n).ok_or(not_square)?;
                group_factored_with(t, cen, k, settings, warm, progress, &mut op)
            }
        };
    } else if early {
        let mut checker = EarlyStop::new(cen, k, &settings.rounding, settings.solver.tolerance);
        let (sdp, factor) =
            solve_centered_checked(cen, k, &settings.solver, warm, progress, &mut |st| {
                checker.check(st)
            })?;
        let partition = match (sdp.status, checker.certified) {
            (SolverStatus::Certified, Some(p)) => p,
            _ => round_centered(cen, &sdp.x, factor.as_ref(), k, &settings.rounding),
        };
        (partition, sdp)
    } else {
        let (sdp, factor) =
            solve_centered_checked(cen, k, &settings.solver, warm, progress, &mut |_| None)?;
        let partition = round_centered(cen, &sdp.x, factor.as_ref(), k, &settings.rounding);
        (partition, sdp)
    };
    finish_group(t, cen, partition, sdp)
}

/// The factored large-n path (method.md §3a, §4a) whatever `settings.solver.path` says, with
/// every product by C in its iterations done by `c_op` (an operator equal to C, e.g. taskgroup-gpu's
/// CUDA op with C on the device; [`DenseOp`] on `cen.c` is what [`group_centered`] uses). The
/// rounding still reads `cen.c` on the host. Trivial problems (k = 1, k = n, C = 0) take
/// [`group_centered`]'s non-iterating path. Errors as [`group_centered`]'s, and
/// `InvalidSetting` when `c_op.n()` is not the affinity's n.
pub fn group_factored_with(
    t: &Affinity,
    cen: &Centered,
    k: usize,
    settings: &GroupSettings,
    warm: WarmStart<'_>,
    progress: Option<&mut dyn FnMut(&Progress) -> bool>,
    c_op: &mut dyn BlockOp,
) -> Result<GroupResult, Error> {
    if is_trivial(cen.n, k, cen.s) {
        let mut s = settings.clone();
        s.solver.path = SolverPath::Admm;
        return group_centered(t, cen, k, &s, warm, progress);
    }
    if c_op.n() != cen.n {
        return Err(Error::InvalidSetting {
            name: "block operator",
            reason: "its dimension is not the affinity's n",
        });
    }
    settings.validate()?;
    crate::sdp::admm::check_inputs(cen.n, k, &warm)?;
    let f = solve_factored(
        cen,
        c_op,
        k,
        &settings.solver,
        &settings.rounding,
        warm,
        progress,
    );
    finish_group(t, cen, f.partition, f.sdp)
}

/// [`certify`], then the overflow check every path shares.
fn finish_group(
    t: &Affinity,
    cen: &Centered,
    partition: Partition,
    sdp: SdpSolution,
) -> Result<GroupResult, Error> {
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

/// First iteration at which [`Stop::Certified`] checks the iterate.
const FIRST_CHECK: usize = 10;
/// Iterations of the earlier checks of the rounded partition against its own certificate only
/// (method.md §4, partition certificate; a partition already tried is not tried again); they
/// leave the schedule of the full checks alone.
const PARTITION_CHECKS: [usize; 2] = [1, 5];
/// k-means restarts of the rounding inside a check.
const CHECK_RESTARTS: usize = 2;
/// Fewest iterations between two checks ...
const MIN_INTERVAL: usize = 3;
/// ... and most (the interval follows the gap's observed rate of decrease, see
/// `EarlyStop::check`).
const MAX_INTERVAL: usize = 40;
/// The settled stop (method.md §3, "Settled stop"): with a gap above `SETTLE_MIN_GAP` (never
/// near certification) the bound estimate fell by at most `SETTLE_FRACTION` of the gap over
/// the last `SETTLE_WINDOW` iterations or more, with the same rounded partition throughout and
/// both residuals below `SETTLE_RESIDUAL`× the solver's tolerance. Chosen on 84 solves
/// (planted and unequal, n = 100 and 150, k = 2–8, seeds 0–2; method.md §3): 81 % fewer
/// iterations, every gap within 0.4 % of the converged run's; residuals below 100× the
/// tolerance instead of 30× allowed gaps 31 % larger (an ADMM plateau). Held out
/// (`bench/SETTLE.md`): 80 % fewer iterations, gaps within 0.4 % but one seed (+3.1 %).
const SETTLE_FRACTION: f64 = 1e-3;
/// ... the window (iterations) ...
const SETTLE_WINDOW: usize = 40;
/// ... the residual factor ...
const SETTLE_RESIDUAL: f64 = 30.0;
/// ... and the smallest gap (centred units, as [`CERTIFY_TOLERANCE`]).
const SETTLE_MIN_GAP: f64 = 10.0 * CERTIFY_TOLERANCE;

/// The early-stopping rule of [`Stop::Certified`]: every few iterations, round the iterate's X
/// (robust rounding, as at the end of a solve) and compare the partition's value with the
/// iterate's dual bound (method.md §4: valid from any iterate), and each new partition once
/// against its own certificate (method.md §4, partition certificate; also valid, and tight
/// without a converged iterate when P's groups admit it). The cheap estimate of the bound
/// is computed first; the certified bound (and, from n = 200, its Cholesky verification) only
/// when the estimate already certifies. Checks are spaced by extrapolating the gap's linear
/// decrease to the tolerance.
struct EarlyStop<'a> {
    cen: &'a Centered,
    k: usize,
    rounding: &'a RoundingSettings,
    next: usize,
    interval: usize,
    /// The last rounded partition and its value in centred units.
    last: Option<(Partition, f64)>,
    /// The partition certified at the stop, and the bound that certified it.
    certified: Option<Partition>,
    bound: Option<f64>,
    /// The iteration and gap of the last check.
    prev: Option<(usize, f64)>,
    /// Warm start of the bound estimate's eigenvector (n ≥ 200).
    warm: Option<Vec<f64>>,
    /// Checks so far, and how many consecutive roundings gave the same partition.
    checks: usize,
    stable: usize,
    /// The last partition whose own certificate (method.md §4, partition certificate) was
    /// tried: it depends on the partition alone, so it is not tried twice in a row.
    tried: Option<Partition>,
    /// Warm start of that certificate's eigenvector (n ≥ 200).
    warm_p: Option<Vec<f64>>,
    /// Whether ADMM was restarted at a partition's primal-dual pair (once per solve).
    restarted: bool,
    /// The solver's residual tolerance (the settled stop needs residuals below 30× it).
    tolerance: f64,
    /// (iteration, bound estimate) of the full checks since the rounded partition last
    /// changed (the settled stop's window).
    estimates: Vec<(usize, f64)>,
}

impl<'a> EarlyStop<'a> {
    fn new(cen: &'a Centered, k: usize, rounding: &'a RoundingSettings, tolerance: f64) -> Self {
        EarlyStop {
            cen,
            k,
            rounding,
            next: FIRST_CHECK,
            interval: FIRST_CHECK / 2,
            last: None,
            certified: None,
            bound: None,
            prev: None,
            warm: None,
            checks: 0,
            stable: 0,
            tried: None,
            warm_p: None,
            restarted: false,
            tolerance,
            estimates: Vec::new(),
        }
    }

    fn check(&mut self, st: &mut AdmmState) -> Option<CheckStop> {
        if st.iterations() < self.next {
            if PARTITION_CHECKS.contains(&st.iterations()) {
                return self.try_partition(st).map(CheckStop::Certified);
            }
            return None;
        }
        let it = st.iterations();
        let gap = self.try_certify(st);
        if let Some(b) = self.bound {
            return Some(CheckStop::Certified(b));
        }
        if let Some(g) = gap {
            if self.settled(st, g) {
                return Some(CheckStop::Settled);
            }
        }
        // Next check: where the gap's linear decrease since the last check would reach the
        // tolerance (ADMM converges linearly), within [MIN_INTERVAL, MAX_INTERVAL]; twice the
        // last interval when there is no decrease to extrapolate.
        let interval = match (gap, self.prev) {
            (Some(g), Some((it0, g0))) if g > 0.0 && g < g0 && it > it0 => {
                let rate = libm::log(g / g0) / (it - it0) as f64;
                let need = libm::log(CERTIFY_TOLERANCE / g) / rate;
                if need.is_finite() {
                    (need as usize).clamp(MIN_INTERVAL, MAX_INTERVAL)
                } else {
                    MAX_INTERVAL
                }
            }
            _ => (2 * self.interval).min(MAX_INTERVAL),
        };
        self.prev = gap.map(|g| (it, g));
        self.interval = interval;
        self.next = it + interval;
        None
    }

    /// Whether the bound has settled (method.md §3, "Settled stop") at this full check, whose
    /// gap (bound estimate − partition value, centred units) is `gap`: see [`SETTLE_FRACTION`].
    fn settled(&self, st: &AdmmState, gap: f64) -> bool {
        let limit = SETTLE_RESIDUAL * self.tolerance;
        let Some(&(it, est)) = self.estimates.last() else {
            return false;
        };
        if self.stable < 2
            || gap <= SETTLE_MIN_GAP
            || st.primal_residual() > limit
            || st.dual_residual() > limit
        {
            return false;
        }
        // The latest estimate at least SETTLE_WINDOW iterations back (same partition).
        self.estimates
            .iter()
            .rev()
            .find(|(i, _)| i + SETTLE_WINDOW <= it)
            .is_some_and(|&(_, then)| then - est <= SETTLE_FRACTION * gap)
    }

    /// The early partition-only check: round the iterate (the checks' lighter rounding) and
    /// stop with its own certificate when that certifies it; the partition is remembered as
    /// tried either way (its certificate depends on it alone). The first time it does not
    /// certify, ADMM restarts at the partition's primal-dual pair (X_p and the Z_d its
    /// certificate tried; method.md §3, "Restart at the partition's pair").
    fn try_partition(&mut self, st: &mut AdmmState) -> Option<f64> {
        let (cen, k) = (self.cen, self.k);
        let p = round_centered_check(cen, st.x(), st.x_factor(), k, &self.quick_rounding());
        if p.num_groups() != k || self.tried.as_ref() == Some(&p) {
            return None;
        }
        let v = block_value(&cen.c, &p);
        self.tried = Some(p.clone());
        let want_dual = !self.restarted;
        let (b, dual) =
            partition_bound_or_dual(cen, &p, CERTIFY_TOLERANCE, &mut self.warm_p, want_dual);
        if let Some(b) = b.filter(|b| b - v <= CERTIFY_TOLERANCE) {
            self.certified = Some(p);
            self.bound = Some(b);
            return Some(b);
        }
        if let Some(dual) = dual {
            self.restarted = st.restart_at(p.matrix(), &dual);
        }
        None
    }

    /// A lighter robust rounding (2 k-means restarts instead of the settings' count): whatever
    /// partition passes a check is optimal up to the tolerance, however it was found.
    fn quick_rounding(&self) -> RoundingSettings {
        RoundingSettings {
            kmeans_restarts: self.rounding.kmeans_restarts.min(CHECK_RESTARTS),
            ..*self.rounding
        }
    }

    /// One check: the gap (centred units) of the best partition at hand against the bound
    /// estimate, or against the certified bound when the estimate passes (then `certified`
    /// and `bound` are set when it passes too). `None` when an eigen-solver failed.
    fn try_certify(&mut self, st: &AdmmState) -> Option<f64> {
        let (cen, k) = (self.cen, self.k);
        let n = cen.n;
        let est = bound_estimate(cen, k, st.u(), st.rho(), &mut self.warm)?;
        // Re-round unless the last partition already passes the estimate, or it has come out
        // the same twice in a row (then only every fourth check).
        self.checks += 1;
        let passes = matches!(&self.last, Some((_, v)) if est - v <= CERTIFY_TOLERANCE);
        let settled = self.stable >= 2 && !self.checks.is_multiple_of(4);
        if !passes && !settled {
            let p = round_centered_check(cen, st.x(), st.x_factor(), k, &self.quick_rounding());
            let v = block_value(&cen.c, &p);
            match &self.last {
                Some((q, _)) if *q == p => self.stable += 1,
                _ => {
                    self.stable = 0;
                    self.estimates.clear();
                }
            }
            self.last = Some((p, v));
        }
        self.estimates.push((st.iterations(), est));
        let (p, v) = self.last.as_ref()?;
        let gap = est - v;
        if gap > CERTIFY_TOLERANCE {
            // The partition's own certificate (a valid bound too; the smaller one counts),
            // once per new partition.
            // (Only a partition into k groups: its bound is for partitions into its own count.)
            if p.num_groups() == k && self.tried.as_ref() != Some(p) {
                self.tried = Some(p.clone());
                if let Some(b) = partition_bound(cen, p, CERTIFY_TOLERANCE, &mut self.warm_p) {
                    if b - v <= CERTIFY_TOLERANCE {
                        self.certified = Some(p.clone());
                        self.bound = Some(b);
                        return Some((b - v).max(0.0));
                    }
                }
            }
            return Some(gap);
        }
        let b = if n < VERIFIED_MIN_N {
            est
        } else {
            bound_centered(cen, k, Some((st.u(), st.rho())))?
        };
        let gap = (b - v).max(0.0);
        if gap <= CERTIFY_TOLERANCE {
            self.certified = Some(p.clone());
            self.bound = Some(b);
        }
        Some(gap)
    }
}
