//! Scaled ADMM for the SDP relaxation (method.md §3), on the centred, unit-norm affinity C.
//!
//! Maximising ⟨C, X⟩ over C1 ∩ C2 (C1 = {X ⪰ 0, X·1 = 1, Tr X = k}, C2 = {X ≥ 0}):
//! `X ← Proj_C1(Z − U + C/ρ)`, `X̂ ← αX + (1 − α)Z`, `Z ← max(X̂ + U, 0)`, `U ← U + X̂ − Z`,
//! with residual balancing of ρ. Because C is the same matrix for a·T, T + c·11ᵀ, T + c·I and
//! T + a1ᵀ + 1aᵀ, the iterates and the stopping decisions are too.
//!
//! # The seam: one loop, several projection backends
//!
//! The iteration is written once, here, around a [`Projector`] (the expensive step, X ←
//! Proj_C1(M)); everything else is shared by every backend:
//!
//! - [`AdmmState`]: X, Z, U, ρ (and its start ρ₀), the last residuals, the iteration count and
//!   the status. [`AdmmState::new`] is the start ([`barycentre`] for a cold start, ρ₀ =
//!   [`initial_rho`]); [`AdmmState::finish`] turns the final state into an [`SdpSolution`] with
//!   the certificate ([`finish_iterate`]).
//! - [`AdmmState::step`]: one iteration (M, projection, over-relaxation, clamp, dual update,
//!   residuals); [`AdmmState::decide`]: the stopping rule ([`converged`]) and ρ balancing
//!   ([`rho_factor`], bounded by [`RHO_RANGE`]).
//! - [`run_admm`]: the loop (step, progress callback, decide) until convergence, failure,
//!   interruption or the budget; [`solve_centered_with`]: checks, the trivial cases
//!   ([`is_trivial`]), the loop and the certificate.
//!
//! [`solve_sdp`] is [`solve_centered_with`] with core's projector (nalgebra's full
//! eigendecomposition, or the warm-started low-rank one). taskgroup-gpu's CPU model of its CUDA
//! kernels runs the same loop with a Jacobi projector, and its CUDA host code takes the start,
//! ρ₀, the trivial cases and the certificate from here (the device kernels run the same
//! [`AdmmState::step`]/[`AdmmState::decide`] arithmetic, checked against this loop by an
//! emulator).

use alloc::vec::Vec;

use super::certificate::bound_centered;
use super::lowrank::{dot, lane_sums4, was_expensive, LowRank, MAX_BLOCK_FRACTION, OVERSAMPLE};
use super::projection::{project_c1_select, project_c1_top, ProjectionInfo, TopPairs};
use super::{
    Progress, ProjectionMethod, SdpSolution, SolverSettings, SolverStatus, WarmStart, XFactor,
    LOW_RANK_MIN_N,
};
use crate::affinity::{Affinity, Centered};
use crate::error::Error;

/// Iterations in which the low-rank projection may be truncated (see `LowRank::project`).
const TRUNCATED_ITERATIONS: usize = 30;

/// The low-rank projection's Ritz residual tolerance, as a fraction of the smaller ADMM
/// residual of the previous iteration (relative to the largest |Ritz value|; clamped to
/// [1e-3·tolerance, 1e-3]). Errors proportional to residuals that shrink geometrically are
/// summable, so the iteration keeps its fixed point (method.md §3, "Low rank"). Measured with
/// `cargo bench -p taskgroup-core --bench solver` and on planted n = 200–400, seeds 0–7:
/// 0.3 takes the same iterations as 0.01 (±6 %) with 2–3× fewer Ritz rounds, 20–40 % less time
/// where the relaxation is not tight; 1.0 starts to add iterations.
const EIG_RESIDUAL_FACTOR: f64 = 0.3;

/// Bounds on ρ relative to its starting value ρ₀, so that balancing cannot run away: ρ is only
/// doubled while ρ < ρ₀·`RHO_RANGE` and only halved while ρ > ρ₀/`RHO_RANGE`.
pub const RHO_RANGE: f64 = 1e6;

/// Solves the SDP relaxation for k groups. `progress`, when given, is called after every
/// iteration and may return `false` to stop (status `Interrupted`).
pub fn solve_sdp(
    t: &Affinity,
    k: usize,
    settings: &SolverSettings,
    warm: WarmStart<'_>,
    progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<SdpSolution, Error> {
    let cen = t.centered();
    solve_centered(&cen, k, settings, warm, progress)
}

/// Checks k and the warm start against n.
pub(crate) fn check_inputs(n: usize, k: usize, warm: &WarmStart<'_>) -> Result<(), Error> {
    if k == 0 || k > n {
        return Err(Error::InvalidK { k, n });
    }
    match warm {
        WarmStart::Cold => {}
        WarmStart::Partition(p) => {
            if p.n() != n {
                return Err(Error::InvalidWarmStart {
                    reason: "the partition has a different number of tasks",
                });
            }
        }
        WarmStart::Matrix(m) => {
            return check_matrix(
                m,
                n,
                ["the matrix is not n×n", "the matrix has a non-finite entry"],
            )
        }
    }
    Ok(())
}

/// Checks an n×n matrix handed in as a starting point: [`Error::InvalidWarmStart`] with
/// `reasons[0]` when `m` does not hold n² values, with `reasons[1]` when one is not finite.
pub(crate) fn check_matrix(m: &[f64], n: usize, reasons: [&'static str; 2]) -> Result<(), Error> {
    if m.len() != n * n {
        return Err(Error::InvalidWarmStart { reason: reasons[0] });
    }
    if m.iter().any(|x| !x.is_finite()) {
        return Err(Error::InvalidWarmStart { reason: reasons[1] });
    }
    Ok(())
}

/// The barycentre of the feasible set, `11ᵀ/n + (k−1)/(n−1)·(I − 11ᵀ/n)` (row-major n×n): the
/// cold start of Z and the first X.
pub fn barycentre(n: usize, k: usize) -> Vec<f64> {
    let nf = n as f64;
    let w = if n > 1 {
        (k as f64 - 1.0) / (nf - 1.0)
    } else {
        0.0
    };
    let mut x = alloc::vec![0.0; n * n];
    for u in 0..n {
        for v in 0..n {
            let p = if u == v { 1.0 - 1.0 / nf } else { -1.0 / nf };
            x[u * n + v] = 1.0 / nf + w * p;
        }
    }
    x
}

/// The starting penalty ρ₀: `settings.rho`, or 1/√k (units of the unit-norm C).
pub fn initial_rho(settings: &SolverSettings, k: usize) -> f64 {
    settings.rho.unwrap_or(1.0 / libm::sqrt(k as f64))
}

/// Whether the problem (n, k, signal s = `Centered::s`) is solved without iterating: a single
/// feasible point (k = 1: 11ᵀ/n; k = n: I) or no signal (s = 0: every feasible X is optimal).
/// Meant for valid k (1 ≤ k ≤ n); k = 0 and k > n also answer `true` (nothing to iterate on).
pub fn is_trivial(n: usize, k: usize, s: f64) -> bool {
    k <= 1 || k >= n || s == 0.0
}

/// The stopping rule: both relative residuals at or below `settings.tolerance`.
pub fn converged(settings: &SolverSettings, primal_residual: f64, dual_residual: f64) -> bool {
    primal_residual <= settings.tolerance && dual_residual <= settings.tolerance
}

/// Residual balancing after iteration `iteration` (1-based): the factor ρ is multiplied by (U
/// is divided by it). Every `settings.adapt_rho_every` iterations (never when 0): 2 when the
/// primal residual exceeds `rho_balance`× the dual one and ρ < ρ₀·[`RHO_RANGE`], ½ in the
/// opposite case while ρ > ρ₀/[`RHO_RANGE`], else 1.
pub fn rho_factor(
    settings: &SolverSettings,
    iteration: usize,
    primal_residual: f64,
    dual_residual: f64,
    rho: f64,
    rho0: f64,
) -> f64 {
    if settings.adapt_rho_every == 0 || !iteration.is_multiple_of(settings.adapt_rho_every) {
        return 1.0;
    }
    let (rp, rd, mu) = (primal_residual, dual_residual, settings.rho_balance);
    if rp > mu * rd && rho < rho0 * RHO_RANGE {
        2.0
    } else if rd > mu * rp && rho > rho0 / RHO_RANGE {
        0.5
    } else {
        1.0
    }
}

/// What a [`Projector`] is told about the iteration it projects for.
#[derive(Debug, Clone, Copy)]
pub struct StepContext {
    /// The iteration being run (1-based).
    pub iteration: usize,
    /// The relative primal residual of the previous iteration (∞ before the first).
    pub primal_residual: f64,
    /// The relative dual residual of the previous iteration (∞ before the first).
    pub dual_residual: f64,
    /// The solver's tolerance (`SolverSettings::tolerance`).
    pub tolerance: f64,
}

/// The projection backend of the ADMM loop: writes `Proj_C1(M)` (C1 = {X ⪰ 0, X·1 = 1,
/// Tr X = k}) into `out` for the symmetric row-major n×n `m`. Returns `false` when it failed
/// (non-finite input, no convergence); the loop then stops with `NumericalError` and keeps the
/// last good X.
pub trait Projector {
    /// One projection (`m` and `out` hold n² values).
    fn project(&mut self, m: &[f64], n: usize, k: usize, out: &mut [f64], at: &StepContext)
        -> bool;

    /// The last projection written, factored, when the backend knows it: `(μ, V)` with
    /// `out = 11ᵀ/n + V·diag(μ)·Vᵀ`, μ > 0 descending, V column-major n×r with orthonormal
    /// columns orthogonal to 1 (default `None`). The early stop's roundings and the final one
    /// then take X's spectral embedding from it instead of decomposing X.
    fn last_factor(&self) -> Option<(&[f64], &[f64])> {
        None
    }
}

/// The exact projection of [`project_c1`](super::projection::project_c1): a full
/// tridiagonalisation every iteration, eigenvectors only for the smaller side of the simplex
/// threshold (what `ProjectionMethod::Full` runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct FullProjector;

impl Projector for FullProjector {
    fn project(&mut self, m: &[f64], n: usize, k: usize, out: &mut [f64], _: &StepContext) -> bool {
        project_c1_select(m, n, k, out).is_some()
    }
}

/// A function as a projection backend: `FnProjector(f)` calls `f(m, n, k, out)`, which returns
/// `false` when it failed (what the iteration does not need, [`StepContext`], is not passed).
#[derive(Debug, Clone, Copy)]
pub struct FnProjector<F>(pub F);

impl<F: FnMut(&[f64], usize, usize, &mut [f64]) -> bool> Projector for FnProjector<F> {
    fn project(&mut self, m: &[f64], n: usize, k: usize, out: &mut [f64], _: &StepContext) -> bool {
        (self.0)(m, n, k, out)
    }
}

/// Whether `ProjectionMethod::Auto` uses the low-rank projection for n tasks and k groups:
/// from n = [`LOW_RANK_MIN_N`] while the starting block k + [`OVERSAMPLE`] is at most
/// n/[`MAX_BLOCK_FRACTION`] (a larger block costs about a full decomposition per round:
/// random n = 100, k = 16, 92 → 122 iterations and +36 % time with it), and from n =
/// [`LOW_RANK_ANY_K_MIN_N`] for every k (as measured before the threshold moved to 100).
pub fn auto_low_rank(n: usize, k: usize) -> bool {
    n >= LOW_RANK_ANY_K_MIN_N || (n >= LOW_RANK_MIN_N && (k + OVERSAMPLE) * MAX_BLOCK_FRACTION <= n)
}

/// Smallest n from which `ProjectionMethod::Auto` uses the low-rank projection for every k.
pub const LOW_RANK_ANY_K_MIN_N: usize = 200;

/// Core's projector for `ProjectionMethod::Auto`/`LowRank`/`Full`: the warm-started low-rank
/// projection where it applies (with back-off to the full decomposition), else the full one.
struct CoreProjector {
    method: ProjectionMethod,
    started: bool,
    low_rank: Option<LowRank>,
    skip_low_rank: usize,
    backoff: usize,
    full_projections: usize,
    low_rank_rounds: usize,
    /// Which projection wrote the last X, for [`Projector::last_factor`]: the low-rank block
    /// keeps its own factor; a full projection's active eigenpairs are kept in `full_factor`.
    factor_from: FactorFrom,
    full_factor: XFactor,
}

/// Where [`CoreProjector`]'s last X is factored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FactorFrom {
    /// Nowhere (no projection yet, or a full one written through the inactive side).
    None,
    /// The low-rank block ([`LowRank::last_factor`]).
    LowRank,
    /// `full_factor`.
    Full,
}

impl CoreProjector {
    /// The low-rank state is created at the first projection (when n and k are known valid).
    fn new(method: ProjectionMethod) -> Self {
        CoreProjector {
            method,
            started: false,
            low_rank: None,
            skip_low_rank: 0,
            backoff: 0,
            full_projections: 0,
            low_rank_rounds: 0,
            factor_from: FactorFrom::None,
            full_factor: XFactor::default(),
        }
    }

    /// Keeps the active side of a full projection as the factor (μ = λ − θ for the `rank`
    /// eigenvalues above θ); none when the projection wrote X through the inactive side.
    fn keep_top(&mut self, n: usize, info: &ProjectionInfo, top: Option<&TopPairs>) {
        self.factor_from = FactorFrom::None;
        if let Some(top) = top {
            let r = info.rank;
            if r >= 1 && r <= top.count && top.values.len() >= r && top.vectors.len() >= n * r {
                let f = &mut self.full_factor;
                f.mu.clear();
                f.mu.extend(top.values[..r].iter().map(|l| l - info.theta));
                f.v.clear();
                f.v.extend_from_slice(&top.vectors[..n * r]);
                self.factor_from = FactorFrom::Full;
            }
        }
    }
}

impl Projector for CoreProjector {
    fn project(
        &mut self,
        m: &[f64],
        n: usize,
        k: usize,
        out: &mut [f64],
        at: &StepContext,
    ) -> bool {
        let (rp, rd) = (at.primal_residual, at.dual_residual);
        self.factor_from = FactorFrom::None;
        if !self.started {
            self.started = true;
            let use_low_rank = match self.method {
                ProjectionMethod::Full => false,
                ProjectionMethod::LowRank => n >= 4,
                ProjectionMethod::Auto => auto_low_rank(n, k),
            };
            self.low_rank = use_low_rank.then(|| LowRank::new(n, k, 0x7a5c_6e0d));
        }
        let done = match self.low_rank.as_mut() {
            Some(lr) if self.skip_low_rank == 0 => {
                // Inexact projections: eigen residuals a fixed fraction of ADMM's residuals,
                // between 1e-3·tolerance and 1e-3.
                let eig_tol = (EIG_RESIDUAL_FACTOR * rp.min(rd)).clamp(1e-3 * at.tolerance, 1e-3);
                // Truncated (rank-capped) projections only in the first TRUNCATED_ITERATIONS
                // iterations and while both residuals exceed 1e-2: afterwards every projection
                // is exact (low-rank when it converges, else the full decomposition), so a
                // high-rank solution cannot stall the solver.
                let truncate = at.iteration <= TRUNCATED_ITERATIONS && rp.min(rd) > 1e-2;
                let ok = lr.project(m, k, out, eig_tol, truncate).is_some();
                self.low_rank_rounds += lr.last_rounds;
                if ok {
                    self.factor_from = FactorFrom::LowRank;
                }
                // Back off after a failure or a projection that cost more than a good share of a
                // full decomposition (a high-rank or clustered spectrum): skip 1, 2, 4, ... up
                // to 64 iterations (full decompositions meanwhile); reset on a cheap success.
                if ok && !was_expensive(n, lr.block(), lr.last_rounds) {
                    self.backoff = 0;
                } else {
                    self.backoff = (2 * self.backoff).clamp(1, 64);
                    self.skip_low_rank = self.backoff;
                }
                ok
            }
            Some(_) => {
                self.skip_low_rank -= 1;
                false
            }
            None => false,
        };
        if done {
            return true;
        }
        self.full_projections += 1;
        if self.low_rank.is_none() {
            let Some((info, top)) = project_c1_top(m, n, k, out, 0, 0) else {
                return false;
            };
            self.keep_top(n, &info, top.as_ref());
            return true;
        }
        // The fallback: the tridiagonal projection, with the top eigenvectors the low-rank
        // block restarts from (its current size, or the active ones + oversampling).
        let min_top = self.low_rank.as_ref().map_or(0, |lr| lr.block());
        let Some((info, top)) = project_c1_top(m, n, k, out, min_top, OVERSAMPLE) else {
            return false;
        };
        self.keep_top(n, &info, top.as_ref());
        if let (Some(lr), Some(top)) = (self.low_rank.as_mut(), top) {
            if top.vectors.len() / n.max(1) * MAX_BLOCK_FRACTION > n {
                // A high-rank iterate: a low-rank round would cost about as much as this
                // decomposition, several rounds more (measured: 4.7× at n = 300, rank 48), so
                // the next iteration is a full one too; low-rank resumes once the rank drops.
                self.skip_low_rank = self.skip_low_rank.max(1);
            } else {
                lr.reset_from(&top, info.theta);
            }
        }
        true
    }

    fn last_factor(&self) -> Option<(&[f64], &[f64])> {
        match self.factor_from {
            FactorFrom::None => None,
            FactorFrom::LowRank => self
                .low_rank
                .as_ref()
                .map(|lr| lr.last_factor())
                .filter(|(mu, _)| !mu.is_empty()),
            FactorFrom::Full => Some((&self.full_factor.mu, &self.full_factor.v)),
        }
    }
}

/// The state of one ADMM run: the iterates X, Z, U (row-major n×n), the penalty ρ and its
/// start ρ₀, the last residuals, the iterations run and the status so far.
#[derive(Debug, Clone)]
pub struct AdmmState {
    n: usize,
    k: usize,
    x: Vec<f64>,
    z: Vec<f64>,
    u: Vec<f64>,
    m: Vec<f64>,
    x_next: Vec<f64>,
    rho: f64,
    rho0: f64,
    primal_residual: f64,
    dual_residual: f64,
    iterations: usize,
    restarts: usize,
    status: SolverStatus,
    /// X factored as the projection formed it (`has_factor`; see [`Projector::last_factor`]).
    x_factor: XFactor,
    has_factor: bool,
}

impl AdmmState {
    /// The start for (n, k): Z from `warm` (symmetrised; the [`barycentre`] when cold), X the
    /// barycentre, U = 0, ρ = ρ₀ = [`initial_rho`], residuals ∞, status `MaxIterations` (what
    /// a run that is never stopped ends with). `warm` is assumed checked (a matrix of the
    /// wrong size starts from the barycentre instead).
    pub fn new(n: usize, k: usize, settings: &SolverSettings, warm: WarmStart<'_>) -> Self {
        let mut z = match warm {
            WarmStart::Cold => barycentre(n, k),
            WarmStart::Partition(p) if p.n() == n => p.matrix(),
            WarmStart::Matrix(m) if m.len() == n * n => m.to_vec(),
            _ => barycentre(n, k),
        };
        // Symmetrise a user-given start.
        for u in 0..n {
            for v in (u + 1)..n {
                let s = 0.5 * (z[u * n + v] + z[v * n + u]);
                z[u * n + v] = s;
                z[v * n + u] = s;
            }
        }
        let rho0 = initial_rho(settings, k);
        AdmmState {
            n,
            k,
            x: barycentre(n, k),
            z,
            u: alloc::vec![0.0; n * n],
            m: alloc::vec![0.0; n * n],
            x_next: alloc::vec![0.0; n * n],
            rho: rho0,
            rho0,
            primal_residual: f64::INFINITY,
            dual_residual: f64::INFINITY,
            iterations: 0,
            restarts: 0,
            status: SolverStatus::MaxIterations,
            x_factor: XFactor::default(),
            has_factor: false,
        }
    }

    /// X factored as the last projection formed it, when the projector said
    /// ([`Projector::last_factor`]) and the factor fits X's size.
    pub(crate) fn x_factor(&self) -> Option<&XFactor> {
        (self.has_factor && self.x_factor.fits(self.n)).then_some(&self.x_factor)
    }

    /// Number of tasks n.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Number of groups k.
    pub fn k(&self) -> usize {
        self.k
    }
    /// The last X (in C1).
    pub fn x(&self) -> &[f64] {
        &self.x
    }
    /// The last Z (≥ 0).
    pub fn z(&self) -> &[f64] {
        &self.z
    }
    /// The last scaled dual U.
    pub fn u(&self) -> &[f64] {
        &self.u
    }
    /// The current penalty ρ.
    pub fn rho(&self) -> f64 {
        self.rho
    }
    /// The starting penalty ρ₀.
    pub fn rho0(&self) -> f64 {
        self.rho0
    }
    /// The last relative primal residual (∞ before the first iteration).
    pub fn primal_residual(&self) -> f64 {
        self.primal_residual
    }
    /// The last relative dual residual (∞ before the first iteration).
    pub fn dual_residual(&self) -> f64 {
        self.dual_residual
    }
    /// Iterations run.
    pub fn iterations(&self) -> usize {
        self.iterations
    }
    /// The status so far (`MaxIterations` while running).
    pub fn status(&self) -> SolverStatus {
        self.status
    }

    /// Sets the status (e.g. `Interrupted` by a caller's own loop).
    pub fn set_status(&mut self, status: SolverStatus) {
        self.status = status;
    }

    /// Restarts the iteration at a primal-dual pair (method.md §3, "Restart at the partition's
    /// pair"): Z = `z` (a feasible X, e.g. a partition's matrix) and U = −`dual`/ρ (`dual` the
    /// multiplier Z_d ≥ 0 of X ≥ 0, zero where `z` is positive, in the units of the centred C);
    /// the iteration count, ρ and the residuals go on. `false` (nothing changed) when either
    /// has the wrong length or a non-finite or negative entry.
    pub(crate) fn restart_at(&mut self, z: Vec<f64>, dual: &[f64]) -> bool {
        let len = self.n * self.n;
        let ok = |v: &[f64]| v.len() == len && v.iter().all(|x| x.is_finite() && *x >= 0.0);
        if !ok(&z) || !ok(dual) {
            return false;
        }
        let inv_rho = 1.0 / self.rho;
        self.u
            .iter_mut()
            .zip(dual)
            .for_each(|(u, d)| *u = -d * inv_rho);
        self.z = z;
        self.restarts += 1;
        true
    }

    /// Restarts done by [`restart_at`](Self::restart_at).
    pub fn restarts(&self) -> usize {
        self.restarts
    }

    /// One iteration on the centred affinity `c` (n² values): M = Z − U + C/ρ, X =
    /// `projector`(M), then one fused pass for X̂ = αX + (1 − α)Z, Z = max(X̂ + U, 0),
    /// U = U + X̂ − Z and the residuals. Returns `false` (status `NumericalError`, X the last
    /// good iterate) when the projection failed, the residuals are not finite or `c` is not
    /// n×n; the iteration count and residuals are updated whenever the projection succeeded.
    pub fn step<P: Projector + ?Sized>(
        &mut self,
        c: &[f64],
        settings: &SolverSettings,
        projector: &mut P,
    ) -> bool {
        let (n, k) = (self.n, self.k);
        if c.len() != n * n {
            self.status = SolverStatus::NumericalError;
            return false;
        }
        let it = self.iterations + 1;
        let inv_rho = 1.0 / self.rho;
        crate::simd::run(
            #[inline(always)]
            || {
                for (((m, z), u), c) in self.m.iter_mut().zip(&self.z).zip(&self.u).zip(c) {
                    *m = z - u + c * inv_rho;
                }
            },
        );
        let at = StepContext {
            iteration: it,
            primal_residual: self.primal_residual,
            dual_residual: self.dual_residual,
            tolerance: settings.tolerance,
        };
        if !projector.project(&self.m, n, k, &mut self.x_next, &at) {
            self.status = SolverStatus::NumericalError;
            return false;
        }
        core::mem::swap(&mut self.x, &mut self.x_next);
        self.has_factor = match projector.last_factor() {
            Some((mu, v)) => {
                self.x_factor.set(mu, v);
                true
            }
            None => false,
        };
        // One fused pass: over-relaxation, Z ← max(X̂ + U, 0), U ← U + X̂ − Z, and the sums of
        // the residuals and norms (no copy of the previous Z is kept).
        let alpha = settings.relaxation;
        let (dxz, dz, xx, zz, uu) = crate::simd::run(
            #[inline(always)]
            || {
                // Four lanes per sum (entry i into lane i mod 4, then (l0 + l1) + (l2 + l3)):
                // independent chains instead of one serial sum per quantity; each chunk of four
                // in one inlined function, max(·, 0) as a select: the pass vectorises (planted
                // n = 100: about 40 % less time in it).
                let mut acc = [[0.0f64; 4]; 5];
                #[inline(always)]
                fn lanes4(
                    alpha: f64,
                    acc: &mut [[f64; 4]; 5],
                    x: &[f64],
                    z: &mut [f64],
                    u: &mut [f64],
                ) {
                    for l in 0..x.len().min(z.len()).min(u.len()).min(4) {
                        let (xi, z_old) = (x[l], z[l]);
                        let xh = alpha * xi + (1.0 - alpha) * z_old;
                        let t = xh + u[l];
                        let zi = positive_part(t);
                        let ui = u[l] + xh - zi;
                        u[l] = ui;
                        z[l] = zi;
                        acc[0][l] += (xi - zi) * (xi - zi);
                        acc[1][l] += (zi - z_old) * (zi - z_old);
                        acc[2][l] += xi * xi;
                        acc[3][l] += zi * zi;
                        acc[4][l] += ui * ui;
                    }
                }
                let mut xs = self.x.chunks_exact(4);
                let mut zs = self.z.chunks_exact_mut(4);
                let mut us = self.u.chunks_exact_mut(4);
                for ((x4, z4), u4) in (&mut xs).zip(&mut zs).zip(&mut us) {
                    lanes4(alpha, &mut acc, x4, z4, u4);
                }
                lanes4(
                    alpha,
                    &mut acc,
                    xs.remainder(),
                    zs.into_remainder(),
                    us.into_remainder(),
                );
                let sum = |a: [f64; 4]| (a[0] + a[1]) + (a[2] + a[3]);
                (
                    sum(acc[0]),
                    sum(acc[1]),
                    sum(acc[2]),
                    sum(acc[3]),
                    sum(acc[4]),
                )
            },
        );
        self.iterations = it;
        let rho = self.rho;
        let (nx, nz) = (libm::sqrt(xx), libm::sqrt(zz));
        self.primal_residual = libm::sqrt(dxz) / nx.max(nz).max(f64::MIN_POSITIVE);
        self.dual_residual = rho * libm::sqrt(dz) / (rho * libm::sqrt(uu)).max(1.0);
        if !(self.primal_residual.is_finite() && self.dual_residual.is_finite()) {
            self.status = SolverStatus::NumericalError;
            return false;
        }
        true
    }

    /// After a successful [`step`](Self::step): the stopping rule ([`converged`]: status
    /// `Converged`, returns `false`), else ρ balancing ([`rho_factor`]; U is rescaled with it)
    /// and `true` (go on).
    pub fn decide(&mut self, settings: &SolverSettings) -> bool {
        let (rp, rd) = (self.primal_residual, self.dual_residual);
        if converged(settings, rp, rd) {
            self.status = SolverStatus::Converged;
            return false;
        }
        let factor = rho_factor(settings, self.iterations, rp, rd, self.rho, self.rho0);
        if factor != 1.0 {
            self.rho *= factor;
            self.u.iter_mut().for_each(|v| *v /= factor);
        }
        true
    }

    /// The certified [`SdpSolution`] of this state on `cen` ([`finish_iterate`]): the
    /// objective ⟨T, X⟩ and the bound from the dual U. `full_projections` is set to the
    /// iterations, `low_rank_rounds` to 0.
    pub fn finish(self, cen: &Centered) -> SdpSolution {
        let AdmmState {
            k,
            x,
            u,
            m,
            x_next,
            rho,
            primal_residual,
            dual_residual,
            iterations,
            status,
            ..
        } = self;
        // Free the iteration buffers before the certificate needs its own.
        drop(m);
        drop(x_next);
        finish_iterate(
            cen,
            k,
            AdmmIterate {
                status,
                x,
                u_dual: &u,
                rho,
                primal_residual,
                dual_residual,
                iterations,
            },
        )
    }
}

/// The ADMM loop on the centred affinity `cen`: [`AdmmState::step`], then the `progress`
/// callback (may return `false`: status `Interrupted`), then [`AdmmState::decide`], until the
/// state stops or has run `settings.max_iterations` iterations in all.
pub fn run_admm<P: Projector + ?Sized>(
    state: &mut AdmmState,
    cen: &Centered,
    settings: &SolverSettings,
    projector: &mut P,
    progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) {
    run_admm_checked(state, cen, settings, projector, progress, &mut |_| None);
}

/// Why the stopping check of [`run_admm_checked`] ends a solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CheckStop {
    /// The caller's partition is certified by this bound (centred units): status `Certified`.
    Certified(f64),
    /// The caller's bound has settled (method.md §3, "Settled stop"): status `Settled`; the
    /// certificate is then computed from the iterate as after convergence.
    Settled,
}

/// [`run_admm`] with a stopping check after every iteration that did not converge: `check`
/// returns `Some(CheckStop::Certified(bound_c))` to stop with status `Certified` (the bound, in
/// centred units, that certified the caller's partition for this state) or
/// `Some(CheckStop::Settled)` to stop with status `Settled`, and may restart the state
/// ([`AdmmState::restart_at`]). Returns the certifying bound.
pub(crate) fn run_admm_checked<P: Projector + ?Sized>(
    state: &mut AdmmState,
    cen: &Centered,
    settings: &SolverSettings,
    projector: &mut P,
    mut progress: Option<&mut dyn FnMut(&Progress) -> bool>,
    check: &mut dyn FnMut(&mut AdmmState) -> Option<CheckStop>,
) -> Option<f64> {
    let n = state.n;
    let memory = settings.anderson_memory(n);
    let mut accel: Option<Anderson> = None;
    while state.iterations < settings.max_iterations {
        // From the second iteration on, so that a solve certified after its first one
        // allocates nothing. The ADMM state is one matrix y: Z = max(y, 0), U = min(y, 0)
        // (disjoint supports).
        let accelerate = memory > 0 && state.iterations >= 1;
        if accelerate {
            accel
                .get_or_insert_with(|| Anderson::new(n, memory))
                .start_from(&state.z, &state.u);
        }
        if !state.step(&cen.c, settings, projector) {
            return None;
        }
        if let Some(cb) = progress.as_mut() {
            let p = Progress::of_iterate(
                state.iterations,
                state.primal_residual,
                state.dual_residual,
                state.rho,
                (cen, &state.x, state.k),
            );
            if !cb(&p) {
                state.status = SolverStatus::Interrupted;
                return None;
            }
        }
        if converged(settings, state.primal_residual, state.dual_residual) {
            state.decide(settings);
            return None;
        }
        let restarts = state.restarts;
        match check(state) {
            Some(CheckStop::Certified(b)) => {
                state.status = SolverStatus::Certified;
                return Some(b);
            }
            Some(CheckStop::Settled) => {
                state.status = SolverStatus::Settled;
                return None;
            }
            None => {}
        }
        let rho = state.rho;
        if !state.decide(settings) {
            return None;
        }
        if let Some(aa) = accel.as_mut() {
            if !accelerate || state.rho != rho || state.restarts != restarts {
                aa.reset();
            } else {
                aa.step(&mut state.z, &mut state.u);
            }
        }
    }
    None
}

/// Largest n for which a forced [`SolverSettings::anderson`] applies (its memory is about
/// (m + 3)/2 n×n f64 matrices; the default stops below `ANDERSON_AUTO_MAX_N`).
pub const ANDERSON_MAX_N: usize = 1000;

/// Type-II Anderson acceleration of the ADMM fixed-point map y ↦ f(y) (y = Z + U), memory m,
/// in the Walker–Ni form `y ← f_k − ΔF·γ`, `γ = argmin ‖g_k − ΔG·γ‖_F` (g = f − y; Δ:
/// differences of consecutive iterates), with Tikhonov-regularised normal equations.
/// Safeguards: the memory is dropped when the fixed-point residual grows (‖g_k‖ > 2‖g_{k−1}‖),
/// when γ is not finite or huge, and at every ρ change or restart (the map changes).
///
/// Storage (method.md §3): y, f and g are symmetric, so only their upper triangles are kept
/// (row i's entries j ≥ i, packed; inner products weight the off-diagonal entries twice, so
/// they are the Frobenius ones), and the stored differences ΔF, ΔG in f32 (rounding them only
/// perturbs the extrapolated point, which the next ADMM step then maps; the Gram matrix is that
/// of the rounded columns, summed in f64). About (m + 3)/2 n×n f64 matrices of memory and of
/// traffic per step instead of 2m + 5: the history stays in cache at n ≈ 100.
///
/// Per step: one pass forming f, g and the new differences, the new row of ΔGᵀΔG in one pass
/// over the packed arrays ([`packed_dots32`]; the right-hand side ΔGᵀg_k = ΔGᵀg_{k−1} +
/// ΔGᵀΔg_k is updated from it), the mixing four columns per pass, and one pass writing the new
/// Z and U; the y of the next step is kept, not recomputed.
struct Anderson {
    m: usize,
    /// Order n of the matrices.
    n: usize,
    /// Packed entries n(n + 1)/2.
    size: usize,
    df: Vec<Vec<f32>>,
    dg: Vec<Vec<f32>>,
    /// Gram matrix ΔGᵀΔG of the stored columns (m×m, ring order).
    gram: Vec<f64>,
    /// ΔG_jᵀ·g of the last step's g, per stored column (ring order).
    rhs: Vec<f64>,
    next: usize,
    len: usize,
    /// The y the next step starts from (valid when `have_y`), and f, g of the last step
    /// (packed upper triangles).
    y: Vec<f64>,
    have_y: bool,
    prev_f: Vec<f64>,
    prev_g: Vec<f64>,
    prev_norm: f64,
    have_prev: bool,
}

impl Anderson {
    /// For n×n matrices. No buffer yet: each is allocated when first used (`ensure`; the
    /// differences from the second step, one slot per step until m are stored).
    fn new(n: usize, m: usize) -> Self {
        Anderson {
            m,
            n,
            size: n * (n + 1) / 2,
            df: (0..m).map(|_| Vec::new()).collect(),
            dg: (0..m).map(|_| Vec::new()).collect(),
            gram: alloc::vec![0.0; m * m],
            rhs: alloc::vec![0.0; m],
            next: 0,
            len: 0,
            y: Vec::new(),
            have_y: false,
            prev_f: Vec::new(),
            prev_g: Vec::new(),
            prev_norm: f64::INFINITY,
            have_prev: false,
        }
    }

    /// Drops the memory and the kept y (the next [`start_from`](Self::start_from) reads the
    /// state again).
    fn reset(&mut self) {
        self.len = 0;
        self.next = 0;
        self.have_prev = false;
        self.have_y = false;
        self.prev_norm = f64::INFINITY;
    }

    /// Before an ADMM step: y = Z + U of the state (upper triangle), unless the last step left
    /// it.
    fn start_from(&mut self, z: &[f64], u: &[f64]) {
        if !self.have_y {
            let n = self.n;
            ensure(&mut self.y, self.size);
            let mut p = 0;
            for i in 0..n {
                let (zr, ur) = (&z[i * n + i..(i + 1) * n], &u[i * n + i..(i + 1) * n]);
                let ys = &mut self.y[p..p + (n - i)];
                for ((y, z), u) in ys.iter_mut().zip(zr).zip(ur) {
                    *y = z + u;
                }
                p += n - i;
            }
            self.have_y = true;
        }
    }

    /// After an ADMM step from the kept y: f = Z + U of the state; writes the accelerated y
    /// into Z = max(y, 0), U = min(y, 0) (both triangles), or leaves them (f) when there is no
    /// memory yet or a safeguard fired. Keeps the y the next step starts from.
    fn step(&mut self, z: &mut [f64], u: &mut [f64]) {
        crate::simd::run(
            #[inline(always)]
            || self.step_body(z, u),
        )
    }

    /// [`Self::step`]'s body, compiled twice ([`crate::simd::run`]).
    #[inline(always)]
    fn step_body(&mut self, z: &mut [f64], u: &mut [f64]) {
        let n = self.n;
        ensure(&mut self.prev_f, self.size);
        ensure(&mut self.prev_g, self.size);
        // The new differences go to `slot` when there is a previous step; when a safeguard
        // drops the memory below, they are simply not counted.
        let slot = self.next;
        let diff = self.have_prev;
        if diff {
            ensure(&mut self.df[slot], self.size);
            ensure(&mut self.dg[slot], self.size);
        }
        // One pass: f, g = f − y, ‖g‖², the new differences and Δg·g_prev (weighted: the
        // diagonal once, the rest twice), f and g kept as the previous ones.
        let (mut gg, mut dg_gprev) = (0.0, 0.0);
        {
            let (dfs, dgs): (&mut [f32], &mut [f32]) = if diff {
                let (a, b) = (&mut self.df[slot], &mut self.dg[slot]);
                (a.as_mut_slice(), b.as_mut_slice())
            } else {
                (&mut [], &mut [])
            };
            let mut p = 0;
            for i in 0..n {
                let row = i * n + i..(i + 1) * n;
                let (zr, ur) = (&z[row.clone()], &u[row]);
                let seg = p..p + (n - i);
                let (d0, d1) = (seg.start..seg.start + 1, seg.start + 1..seg.end);
                for (w, r, s) in [(1.0, 0..1, d0), (2.0, 1..n - i, d1)] {
                    let parts = DiffRow {
                        z: &zr[r.clone()],
                        u: &ur[r],
                        y: &self.y[s.clone()],
                        pf: &mut self.prev_f[s.clone()],
                        pg: &mut self.prev_g[s.clone()],
                    };
                    let (a, b) = if diff {
                        parts.run(Some((&mut dfs[s.clone()], &mut dgs[s])))
                    } else {
                        parts.run(None)
                    };
                    gg += w * a;
                    dg_gprev += w * b;
                }
                p = seg.end;
            }
        }
        let norm = libm::sqrt(gg);
        self.have_y = false;
        if !norm.is_finite() {
            self.reset();
            return;
        }
        let grew = self.have_prev && norm > 2.0 * self.prev_norm;
        if grew {
            self.reset();
        }
        if diff && !grew {
            // The evicted column (if any) leaves; the others' ΔG_jᵀg grows by ΔG_jᵀΔg_new.
            self.len = (self.len + 1).min(self.m);
            self.next = (slot + 1) % self.m;
            let cols: Vec<&[f32]> = self.dg[..self.len].iter().map(|c| c.as_slice()).collect();
            let dots = packed_dots32(&self.dg[slot], &cols, n);
            for (j, &x) in dots.iter().enumerate() {
                self.gram[slot * self.m + j] = x;
                self.gram[j * self.m + slot] = x;
            }
            for j in 0..self.len {
                if j != slot {
                    self.rhs[j] += self.gram[j * self.m + slot];
                }
            }
            self.rhs[slot] = dg_gprev + self.gram[slot * self.m + slot];
        }
        self.prev_norm = norm;
        self.have_prev = true;
        // prev_f is this step's f. Without acceleration the next y is f (Z, U already hold it).
        let keep_f = |s: &mut Self| {
            ensure(&mut s.y, s.size);
            s.y.copy_from_slice(&s.prev_f);
            s.have_y = true;
        };
        if self.len == 0 {
            keep_f(self);
            return;
        }
        let Some(gamma) = self.solve_gamma() else {
            keep_f(self);
            return;
        };
        // y = f − ΔF·γ (packed, four columns per pass); Z, U from it row by row, mirrored
        // into the lower triangle.
        self.y.copy_from_slice(&self.prev_f);
        subtract_combination(&mut self.y, &gamma, &self.df[..gamma.len()]);
        let mut p = 0;
        for i in 0..n {
            let len = n - i;
            let ys = &self.y[p..p + len];
            let row = i * n + i..(i + 1) * n;
            for ((&y, z), u) in ys.iter().zip(&mut z[row.clone()]).zip(&mut u[row]) {
                *z = positive_part(y);
                *u = negative_part(y);
            }
            for (t, &y) in ys.iter().enumerate().skip(1) {
                let at = (i + t) * n + i;
                z[at] = positive_part(y);
                u[at] = negative_part(y);
            }
            p += len;
        }
        self.have_y = true;
    }

    /// γ from the regularised normal equations (ΔGᵀΔG + λI)γ = ΔGᵀg, λ = 1e-10·trace; `None`
    /// (memory dropped when γ is not finite or huge) when there is no usable γ.
    fn solve_gamma(&mut self) -> Option<Vec<f64>> {
        let l = self.len;
        let mut h = alloc::vec![0.0; l * (l + 1)];
        let mut trace = 0.0;
        for a in 0..l {
            trace += self.gram[a * self.m + a];
        }
        let reg = 1e-10 * trace.max(f64::MIN_POSITIVE);
        for a in 0..l {
            for b in 0..l {
                h[a * (l + 1) + b] = self.gram[a * self.m + b] + if a == b { reg } else { 0.0 };
            }
            h[a * (l + 1) + l] = self.rhs[a];
        }
        let gamma = solve_small(&mut h, l)?;
        if gamma.iter().any(|x| !x.is_finite() || x.abs() > 1e4) {
            self.reset();
            return None;
        }
        Some(gamma)
    }
}

/// One stretch of a row for [`Anderson::step`]'s first pass: Z, U of the state, the kept y,
/// and the previous f, g (overwritten with this step's).
struct DiffRow<'a> {
    z: &'a [f64],
    u: &'a [f64],
    y: &'a [f64],
    pf: &'a mut [f64],
    pg: &'a mut [f64],
}

impl DiffRow<'_> {
    /// Returns (Σ g², Σ Δg·g_prev) over the stretch, with Δg the f32-rounded difference that is
    /// stored (into `d` when given, with Δf).
    #[inline]
    fn run(self, d: Option<(&mut [f32], &mut [f32])>) -> (f64, f64) {
        let (mut gg, mut dgp) = (0.0, 0.0);
        let it = self
            .z
            .iter()
            .zip(self.u)
            .zip(self.y)
            .zip(self.pf.iter_mut().zip(self.pg));
        match d {
            Some((df, dg)) => {
                for ((((z, u), y), (pf, pg)), (df, dg)) in it.zip(df.iter_mut().zip(dg)) {
                    let f = z + u;
                    let g = f - y;
                    gg += g * g;
                    *df = (f - *pf) as f32;
                    *dg = (g - *pg) as f32;
                    dgp += f64::from(*dg) * *pg;
                    *pf = f;
                    *pg = g;
                }
            }
            None => {
                for (((z, u), y), (pf, pg)) in it {
                    let f = z + u;
                    let g = f - y;
                    gg += g * g;
                    *pf = f;
                    *pg = g;
                }
            }
        }
        (gg, dgp)
    }
}

/// ⟨A, B_j⟩_F of symmetric n×n matrices from their packed upper triangles (f32, products and
/// sums in f64) for each `bs[j]`: twice the sum of products over the whole packed array minus
/// the diagonal (one contiguous pass, four columns at a time).
fn packed_dots32(a: &[f32], bs: &[&[f32]], n: usize) -> Vec<f64> {
    let size = n * (n + 1) / 2;
    let mut out = alloc::vec![0.0; bs.len()];
    if a.len() < size || bs.iter().any(|b| b.len() < size) {
        return out;
    }
    let a = &a[..size];
    let tail = size - size % 8;
    for (o, group) in out.chunks_mut(4).zip(bs.chunks(4)) {
        // A group of fewer than four repeats its last column (those sums are not used).
        let last = group.len() - 1;
        let b = |c: usize| &group[c.min(last)][..size];
        let s = lane_sums4::<f32, 8>(a, [b(0), b(1), b(2), b(3)]);
        for (c, o) in o.iter_mut().enumerate() {
            let bc = b(c);
            let l = &s[c];
            let mut t = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
            for (x, y) in a[tail..].iter().zip(&bc[tail..]) {
                t += f64::from(*x) * f64::from(*y);
            }
            // The diagonal entries (packed position of row i's first entry) count once.
            let (mut diag, mut p) = (0.0, 0);
            for i in 0..n {
                diag += f64::from(a[p]) * f64::from(bc[p]);
                p += n - i;
            }
            *o = 2.0 * t - diag;
        }
    }
    out
}

/// y −= Σ_a γ_a·d_a over the packed arrays: four columns per pass over y, then any remaining
/// columns one by one (plain element loops, which LLVM vectorises without shuffles).
#[inline(always)]
fn subtract_combination(y: &mut [f64], gamma: &[f64], d: &[Vec<f32>]) {
    let cnt = gamma.len().min(d.len());
    let len = d[..cnt].iter().fold(y.len(), |m, c| m.min(c.len()));
    let y = &mut y[..len];
    let mut gs = gamma[..cnt].chunks_exact(4);
    let mut ds = d[..cnt].chunks_exact(4);
    for (g, d) in (&mut gs).zip(&mut ds) {
        let (g0, g1, g2, g3) = (g[0], g[1], g[2], g[3]);
        let (d0, d1, d2, d3) = (&d[0][..len], &d[1][..len], &d[2][..len], &d[3][..len]);
        for ((((o, x0), x1), x2), x3) in y.iter_mut().zip(d0).zip(d1).zip(d2).zip(d3) {
            *o -= (g0 * f64::from(*x0) + g1 * f64::from(*x1))
                + (g2 * f64::from(*x2) + g3 * f64::from(*x3));
        }
    }
    for (&g, d) in gs.remainder().iter().zip(ds.remainder()) {
        y.iter_mut()
            .zip(&d[..len])
            .for_each(|(o, &x)| *o -= g * f64::from(x));
    }
}

/// max(x, 0), NaN → 0 as `f64::max`, written as a select so that the loops using it vectorise
/// (`f64::max` lowers to a NaN-aware sequence that kept the ADMM pass scalar).
#[inline(always)]
fn positive_part(x: f64) -> f64 {
    if x > 0.0 {
        x
    } else {
        0.0
    }
}

/// min(x, 0), NaN → 0 as `f64::min`, as a select (see [`positive_part`]).
#[inline(always)]
fn negative_part(x: f64) -> f64 {
    if x < 0.0 {
        x
    } else {
        0.0
    }
}

/// Makes `v` hold `size` values (zeros when it is allocated here).
fn ensure<T: Copy + Default>(v: &mut Vec<T>, size: usize) {
    if v.len() != size {
        v.clear();
        v.resize(size, T::default());
    }
}

/// Solves the l×l system in `h` (row-major l×(l + 1), right-hand side last) by Gaussian
/// elimination with partial pivoting; `None` when singular.
fn solve_small(h: &mut [f64], l: usize) -> Option<Vec<f64>> {
    let w = l + 1;
    for c in 0..l {
        let p = (c..l).max_by(|&a, &b| h[a * w + c].abs().total_cmp(&h[b * w + c].abs()))?;
        if h[p * w + c] == 0.0 || !h[p * w + c].is_finite() {
            return None;
        }
        if p != c {
            for j in 0..w {
                h.swap(p * w + j, c * w + j);
            }
        }
        for r in (c + 1)..l {
            let f = h[r * w + c] / h[c * w + c];
            for j in c..w {
                h[r * w + j] -= f * h[c * w + j];
            }
        }
    }
    let mut x = alloc::vec![0.0; l];
    for r in (0..l).rev() {
        let mut s = h[r * w + l];
        for j in (r + 1)..l {
            s -= h[r * w + j] * x[j];
        }
        x[r] = s / h[r * w + r];
    }
    Some(x)
}

/// The solution of a trivial problem ([`is_trivial`]): k = 1 gives 11ᵀ/n, k = n gives I, no
/// signal gives the warm start's partition when it has k groups, else the barycentre; the
/// bound is the dual-free one. `None` for a problem that needs iterating.
fn trivial_solution(
    cen: &Centered,
    k: usize,
    settings: &SolverSettings,
    warm: WarmStart<'_>,
) -> Option<SdpSolution> {
    let n = cen.n;
    if !is_trivial(n, k, cen.s) {
        return None;
    }
    let x = match (k, warm) {
        (1, _) => alloc::vec![1.0 / n as f64; n * n],
        (_, _) if k == n => {
            let mut x = alloc::vec![0.0; n * n];
            (0..n).for_each(|i| x[i * n + i] = 1.0);
            x
        }
        (_, WarmStart::Partition(p)) if p.num_groups() == k => p.matrix(),
        _ => barycentre(n, k),
    };
    let inner = dot(&cen.c, &x);
    // k = 1 and k = n have a single feasible X (and a single partition), so its value is the
    // exact optimum and the bound; otherwise (no signal) the dual-free bound.
    let bound_c = if k <= 1 || k >= n {
        inner
    } else {
        bound_centered(cen, k, None).unwrap_or(inner)
    };
    Some(SdpSolution {
        status: SolverStatus::Converged,
        n,
        k,
        objective: cen.to_value(inner, k),
        upper_bound: cen.to_value(bound_c.max(inner), k),
        x,
        primal_residual: 0.0,
        dual_residual: 0.0,
        iterations: 0,
        rho: initial_rho(settings, k),
        full_projections: 0,
        low_rank_rounds: 0,
        restarts: 0,
        bound_c: bound_c.max(inner),
        path: super::SolverPath::Admm,
        factor: Vec::new(),
        rank: 0,
    })
}

/// [`solve_sdp`] on a centred affinity with any projection backend: checks the settings, k and
/// the warm start, answers the trivial cases ([`is_trivial`]) without iterating, else runs
/// [`run_admm`] from [`AdmmState::new`] and finishes with the certificate
/// ([`AdmmState::finish`]; `full_projections` = iterations, `low_rank_rounds` = 0).
pub fn solve_centered_with<P: Projector + ?Sized>(
    cen: &Centered,
    k: usize,
    settings: &SolverSettings,
    warm: WarmStart<'_>,
    projector: &mut P,
    progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<SdpSolution, Error> {
    settings.validate()?;
    check_inputs(cen.n, k, &warm)?;
    if let Some(sol) = trivial_solution(cen, k, settings, warm) {
        return Ok(sol);
    }
    let mut state = AdmmState::new(cen.n, k, settings, warm);
    run_admm(&mut state, cen, settings, projector, progress);
    Ok(state.finish(cen))
}

pub(crate) fn solve_centered(
    cen: &Centered,
    k: usize,
    settings: &SolverSettings,
    warm: WarmStart<'_>,
    progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<SdpSolution, Error> {
    solve_centered_checked(cen, k, settings, warm, progress, &mut |_| None).map(|(s, _)| s)
}

/// [`solve_centered`] with the early-stopping `check` of [`run_admm_checked`]: a run it stops
/// as certified ends with status `Certified` and the bound it returned (no second certificate
/// computed); one it stops as settled is finished like a converged one (status `Settled`).
/// Also returns the final X factored as its projection formed it, when known (for the rounding).
pub(crate) fn solve_centered_checked(
    cen: &Centered,
    k: usize,
    settings: &SolverSettings,
    warm: WarmStart<'_>,
    progress: Option<&mut dyn FnMut(&Progress) -> bool>,
    check: &mut dyn FnMut(&mut AdmmState) -> Option<CheckStop>,
) -> Result<(SdpSolution, Option<XFactor>), Error> {
    settings.validate()?;
    check_inputs(cen.n, k, &warm)?;
    if let Some(sol) = trivial_solution(cen, k, settings, warm) {
        return Ok((sol, None));
    }
    let mut projector = CoreProjector::new(settings.projection);
    let mut state = AdmmState::new(cen.n, k, settings, warm);
    let bound = run_admm_checked(&mut state, cen, settings, &mut projector, progress, check);
    let restarts = state.restarts;
    let factor = state.x_factor().cloned();
    let mut sol = match bound {
        Some(b) => {
            let inner = dot(&cen.c, &state.x);
            SdpSolution {
                status: state.status,
                n: cen.n,
                k,
                objective: cen.to_value(inner, k),
                upper_bound: cen.to_value(b, k),
                x: state.x,
                primal_residual: state.primal_residual,
                dual_residual: state.dual_residual,
                iterations: state.iterations,
                rho: state.rho,
                full_projections: 0,
                low_rank_rounds: 0,
                restarts: 0,
                bound_c: b,
                path: super::SolverPath::Admm,
                factor: Vec::new(),
                rank: 0,
            }
        }
        None => state.finish(cen),
    };
    sol.full_projections = projector.full_projections;
    sol.low_rank_rounds = projector.low_rank_rounds;
    sol.restarts = restarts;
    Ok((sol, factor))
}

/// The final state of an ADMM run of this module's iteration, possibly run elsewhere (the
/// batched CUDA solver of taskgroup-gpu runs the same iteration on a device).
#[derive(Debug, Clone)]
pub struct AdmmIterate<'a> {
    /// How the run ended.
    pub status: SolverStatus,
    /// The last X (row-major n×n, in C1).
    pub x: Vec<f64>,
    /// The last scaled dual U (row-major n×n).
    pub u_dual: &'a [f64],
    /// The last ρ (units of the unit-norm C).
    pub rho: f64,
    /// Last relative primal residual.
    pub primal_residual: f64,
    /// Last relative dual residual.
    pub dual_residual: f64,
    /// Iterations run.
    pub iterations: usize,
}

/// Turns a final ADMM iterate on the centred affinity `cen` into an [`SdpSolution`]: the
/// objective ⟨T, X⟩ and the certified bound from Z_d = max(−ρU, 0), exactly as [`solve_sdp`]
/// finishes. `full_projections` is set to the iterations, `low_rank_rounds` to 0. Public so that
/// a device solver of the same iteration (taskgroup-gpu) reports the same certificate.
pub fn finish_iterate(cen: &Centered, k: usize, it: AdmmIterate<'_>) -> SdpSolution {
    let AdmmIterate {
        mut status,
        x,
        u_dual,
        rho,
        primal_residual,
        dual_residual,
        iterations,
    } = it;
    let n = cen.n;
    // Dual certificate from the multiplier of X ≥ 0: Z_d = max(−ρU, 0).
    let inner = dot(&cen.c, &x);
    let dual = if u_dual.len() == n * n {
        bound_centered(cen, k, Some((u_dual, rho)))
    } else {
        None
    };
    let bound_c = match dual {
        Some(b) => b,
        None => {
            status = SolverStatus::NumericalError;
            // Fall back to the dual-free bound (Z_d = 0), which needs only C.
            bound_centered(cen, k, None).unwrap_or(f64::INFINITY)
        }
    };
    SdpSolution {
        status,
        n,
        k,
        objective: cen.to_value(inner, k),
        upper_bound: cen.to_value(bound_c, k),
        x,
        primal_residual,
        dual_residual,
        iterations,
        rho,
        full_projections: iterations,
        low_rank_rounds: 0,
        restarts: 0,
        bound_c,
        path: super::SolverPath::Admm,
        factor: Vec::new(),
        rank: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The factor the core projector hands on reproduces the X it wrote (X = 11ᵀ/n + V·diag(μ)·Vᵀ,
    /// μ > 0 descending, V orthonormal and ⟂ 1) on the full, low-rank and automatic paths, and
    /// rounding X with its factor gives the partition that rounding X alone gives.
    #[test]
    fn projection_factor_reproduces_x_and_its_rounding() {
        use crate::round::{round_centered, RoundingSettings};
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        for (n, k, method) in [
            (40, 3, ProjectionMethod::Full),
            (120, 4, ProjectionMethod::LowRank),
            (120, 4, ProjectionMethod::Auto),
        ] {
            let t: Vec<f64> = (0..n * n)
                .map(|i| {
                    let same = (i / n) % k == (i % n) % k;
                    crate::random::normal(&mut rng) + if same { 2.0 } else { 0.0 }
                })
                .collect();
            let cen = Affinity::from_row_major(&t, n).unwrap().centered();
            let settings = SolverSettings {
                projection: method,
                ..SolverSettings::default()
            };
            let mut state = AdmmState::new(n, k, &settings, WarmStart::Cold);
            let mut projector = CoreProjector::new(method);
            let mut seen = 0;
            for it in 0..12 {
                assert!(state.step(&cen.c, &settings, &mut projector));
                let Some(f) = state.x_factor() else {
                    state.decide(&settings);
                    continue;
                };
                seen += 1;
                let r = f.mu.len();
                assert!(f.mu.windows(2).all(|w| w[0] >= w[1]) && f.mu[r - 1] > 0.0);
                for a in 0..r {
                    let va = &f.v[a * n..(a + 1) * n];
                    assert!(va.iter().sum::<f64>().abs() < 1e-10, "{method:?}: not ⟂ 1");
                    for b in 0..=a {
                        let d = dot(va, &f.v[b * n..(b + 1) * n]);
                        let want = if a == b { 1.0 } else { 0.0 };
                        assert!((d - want).abs() < 1e-10, "{method:?}: V not orthonormal");
                    }
                }
                let x = state.x();
                for u in 0..n {
                    for v in 0..n {
                        let s = (0..r)
                            .map(|j| f.mu[j] * f.v[j * n + u] * f.v[j * n + v])
                            .sum::<f64>()
                            + 1.0 / n as f64;
                        assert!((s - x[u * n + v]).abs() <= 1e-12, "{method:?} it {it}");
                    }
                }
                if it % 3 == 2 {
                    let rs = RoundingSettings::default();
                    let with = round_centered(&cen, x, Some(f), k, &rs);
                    assert_eq!(
                        with,
                        round_centered(&cen, x, None, k, &rs),
                        "{method:?} it {it}"
                    );
                }
                state.decide(&settings);
            }
            assert!(
                seen >= 6,
                "{method:?}: factor on only {seen} of 12 iterations"
            );
        }
    }

    /// `restart_at` sets Z and U = −dual/ρ from a valid pair and leaves the state alone (and
    /// says so) for a pair of the wrong size or with a negative or non-finite entry.
    #[test]
    fn restart_at_checks_its_pair() {
        let (n, k) = (4, 2);
        let mut st = AdmmState::new(n, k, &SolverSettings::default(), WarmStart::Cold);
        let (z0, u0) = (st.z().to_vec(), st.u().to_vec());
        let good = alloc::vec![0.25; n * n];
        let dual = alloc::vec![0.5; n * n];
        let mut neg = dual.clone();
        neg[3] = -1e-3;
        let mut nan = dual.clone();
        nan[5] = f64::NAN;
        for (z, d) in [
            (good.clone(), neg),
            (good.clone(), nan),
            (good.clone(), alloc::vec![0.5; n * n - 1]),
            (alloc::vec![0.25; n * n + 1], dual.clone()),
        ] {
            assert!(!st.restart_at(z, &d));
            assert_eq!((st.z(), st.u(), st.restarts()), (&z0[..], &u0[..], 0));
        }
        assert!(st.restart_at(good.clone(), &dual));
        assert_eq!(st.restarts(), 1);
        assert_eq!(st.z(), &good[..]);
        let want = -0.5 / st.rho();
        assert!(st.u().iter().all(|&u| (u - want).abs() <= 1e-15));
    }

    /// The default Anderson acceleration (`anderson = None`) is memory
    /// [`ANDERSON_AUTO_MEMORY`](crate::sdp::ANDERSON_AUTO_MEMORY) below
    /// [`ANDERSON_AUTO_MAX_N`](crate::sdp::ANDERSON_AUTO_MAX_N) under the automatic projection
    /// (bit-identical to forcing it), and it takes fewer iterations than none here.
    #[test]
    fn default_anderson_is_memory_10() {
        let (n, k) = (40, 3);
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let a: Vec<f64> = (0..n * n)
            .map(|_| crate::random::normal(&mut rng))
            .collect();
        let t: Vec<f64> = (0..n * n)
            .map(|i| 0.5 * (a[i] + a[(i % n) * n + i / n]))
            .collect();
        let cen = Affinity::from_row_major(&t, n).unwrap().centered();
        let run = |anderson: Option<usize>| {
            let s = SolverSettings {
                anderson,
                ..SolverSettings::default()
            };
            let mut st = AdmmState::new(n, k, &s, WarmStart::Cold);
            run_admm(&mut st, &cen, &s, &mut FullProjector, None);
            (st.iterations(), st.x().to_vec())
        };
        let auto = run(None);
        assert_eq!(auto, run(Some(crate::sdp::ANDERSON_AUTO_MEMORY)));
        let none = run(Some(0));
        assert!(auto.0 < none.0, "{} vs {}", auto.0, none.0);
    }

    /// A random symmetric n×n matrix (row-major).
    fn symmetric(n: usize, seed: u64) -> Vec<f64> {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let a: Vec<f64> = (0..n * n)
            .map(|_| crate::random::normal(&mut rng))
            .collect();
        (0..n * n)
            .map(|i| 0.5 * (a[i] + a[(i % n) * n + i / n]))
            .collect()
    }

    /// The packed f32 inner product is the Frobenius product of the full symmetric matrices
    /// (of the f32-rounded entries), for every n including the remainders of the four lanes.
    #[test]
    fn packed_dot_is_the_frobenius_product() {
        let pack = |m: &[f64], n: usize| -> Vec<f32> {
            (0..n)
                .flat_map(|i| (i..n).map(move |j| (i, j)))
                .map(|(i, j)| m[i * n + j] as f32)
                .collect()
        };
        for n in [1, 2, 3, 5, 8, 13] {
            let a = symmetric(n, 1);
            // 1..=9 columns: whole groups of four and every remainder.
            let bs: Vec<Vec<f64>> = (0..9).map(|c| symmetric(n, 2 + c)).collect();
            let packed: Vec<Vec<f32>> = bs.iter().map(|b| pack(b, n)).collect();
            for cols in 1..=bs.len() {
                let refs: Vec<&[f32]> = packed[..cols].iter().map(|b| b.as_slice()).collect();
                let got = packed_dots32(&pack(&a, n), &refs, n);
                assert_eq!(got.len(), cols);
                for (c, b) in bs[..cols].iter().enumerate() {
                    let full: f64 = (0..n * n)
                        .map(|i| f64::from(a[i] as f32) * f64::from(b[i] as f32))
                        .sum();
                    let err = (got[c] - full).abs();
                    assert!(
                        err <= 1e-12 * full.abs().max(1.0),
                        "n {n}, {cols} cols, col {c}"
                    );
                }
            }
        }
    }

    /// y − Σ γ_a·d_a, four columns per pass and the rest one by one, equals the plain sum
    /// for 0..=9 columns and lengths with both remainders.
    #[test]
    fn subtract_combination_matches_the_plain_sum() {
        for len in [0, 1, 6, 7] {
            let d: Vec<Vec<f32>> = (0..9)
                .map(|c| {
                    (0..len)
                        .map(|i| (i as f32 + 1.0) * (c as f32 - 3.5))
                        .collect()
                })
                .collect();
            let gamma: Vec<f64> = (0..9).map(|c| 0.25 * c as f64 - 1.0).collect();
            for cols in 0..=9 {
                let mut y: Vec<f64> = (0..len).map(|i| 10.0 - i as f64).collect();
                let want: Vec<f64> = (0..len)
                    .map(|i| {
                        y[i] - (0..cols)
                            .map(|c| gamma[c] * f64::from(d[c][i]))
                            .sum::<f64>()
                    })
                    .collect();
                subtract_combination(&mut y, &gamma[..cols], &d[..cols]);
                for (g, w) in y.iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                        "len {len}, {cols}"
                    );
                }
            }
        }
    }

    /// Anderson's steps keep Z and U symmetric with disjoint supports (Z ≥ 0 ≥ U), and its
    /// packed y is the upper triangle of Z + U, once it extrapolates.
    #[test]
    fn anderson_writes_symmetric_z_and_u() {
        let n = 7;
        let mut aa = Anderson::new(n, 3);
        let (mut z, mut u) = (alloc::vec![0.0; n * n], alloc::vec![0.0; n * n]);
        let mut extrapolated = 0;
        for it in 0..6u64 {
            aa.start_from(&z, &u);
            // A stand-in for one ADMM step: a contraction towards a fixed symmetric matrix.
            let target = symmetric(n, 9);
            let noise = symmetric(n, 20 + it);
            let y: Vec<f64> = (0..n * n)
                .map(|i| {
                    let prev = z[i] + u[i];
                    0.5 * prev + 0.5 * target[i] + 0.1 * noise[i] / (it + 1) as f64
                })
                .collect();
            z = y.iter().map(|v| v.max(0.0)).collect();
            u = y.iter().map(|v| v.min(0.0)).collect();
            aa.step(&mut z, &mut u);
            extrapolated += usize::from(aa.len > 0);
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(z[i * n + j], z[j * n + i]);
                    assert_eq!(u[i * n + j], u[j * n + i]);
                    assert!(z[i * n + j] >= 0.0 && u[i * n + j] <= 0.0);
                    assert!(z[i * n + j] == 0.0 || u[i * n + j] == 0.0);
                }
            }
            let mut p = 0;
            for i in 0..n {
                for j in i..n {
                    assert_eq!(aa.y[p], z[i * n + j] + u[i * n + j]);
                    p += 1;
                }
            }
        }
        assert!(extrapolated >= 3, "{extrapolated}");
    }
}
