//! Scaled ADMM for the SDP relaxation (method.md §3), on the centred, unit-norm affinity C.
//!
//! Maximising ⟨C, X⟩ over C1 ∩ C2 (C1 = {X ⪰ 0, X·1 = 1, Tr X = k}, C2 = {X ≥ 0}):
//! `X ← Proj_C1(Z − U + C/ρ)`, `X̂ ← αX + (1 − α)Z`, `Z ← max(X̂ + U, 0)`, `U ← U + X̂ − Z`,
//! with residual balancing of ρ. Because C is the same matrix for a·T, T + c·11ᵀ, T + c·I and
//! T + a1ᵀ + 1aᵀ, the iterates and the stopping decisions are too.

use alloc::vec::Vec;

use super::certificate::bound_centered;
use super::lowrank::{dot, was_expensive, LowRank};
use super::projection::project_c1_with;
use super::{
    Progress, ProjectionMethod, SdpSolution, SolverSettings, SolverStatus, WarmStart,
    LOW_RANK_MIN_N,
};
use crate::affinity::{Affinity, Centered};
use crate::error::Error;

/// Iterations in which the low-rank projection may be truncated (see `LowRank::project`).
const TRUNCATED_ITERATIONS: usize = 30;

/// Bounds on ρ relative to its starting value, so that balancing cannot run away.
const RHO_RANGE: f64 = 1e6;

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
            if m.len() != n * n {
                return Err(Error::InvalidWarmStart {
                    reason: "the matrix is not n×n",
                });
            }
            if m.iter().any(|x| !x.is_finite()) {
                return Err(Error::InvalidWarmStart {
                    reason: "the matrix has a non-finite entry",
                });
            }
        }
    }
    Ok(())
}

/// The barycentre of the feasible set: 11ᵀ/n + (k−1)/(n−1)·(I − 11ᵀ/n).
fn barycentre(n: usize, k: usize) -> Vec<f64> {
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

pub(crate) fn solve_centered(
    cen: &Centered,
    k: usize,
    settings: &SolverSettings,
    warm: WarmStart<'_>,
    mut progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<SdpSolution, Error> {
    settings.validate()?;
    let n = cen.n;
    check_inputs(n, k, &warm)?;
    let c = &cen.c;

    // Trivial cases: a single feasible point (k = 1: 11ᵀ/n; k = n: I), or no signal (C = 0,
    // every feasible X is optimal).
    if k == 1 || k == n || cen.s == 0.0 {
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
        let inner = dot(c, &x);
        let bound_c = bound_centered(cen, k, None).unwrap_or(inner);
        return Ok(SdpSolution {
            status: SolverStatus::Converged,
            n,
            k,
            objective: cen.to_value(inner, k),
            upper_bound: cen.to_value(bound_c.max(inner), k),
            x,
            primal_residual: 0.0,
            dual_residual: 0.0,
            iterations: 0,
            rho: settings.rho.unwrap_or(1.0 / libm::sqrt(k as f64)),
            full_projections: 0,
            low_rank_rounds: 0,
            bound_c: bound_c.max(inner),
        });
    }

    let rho0 = settings.rho.unwrap_or(1.0 / libm::sqrt(k as f64));
    let mut rho = rho0;
    let alpha = settings.relaxation;
    let mut z = match warm {
        WarmStart::Cold => barycentre(n, k),
        WarmStart::Partition(p) => p.matrix(),
        WarmStart::Matrix(m) => m.to_vec(),
    };
    // Symmetrise a user-given start.
    for u in 0..n {
        for v in (u + 1)..n {
            let s = 0.5 * (z[u * n + v] + z[v * n + u]);
            z[u * n + v] = s;
            z[v * n + u] = s;
        }
    }
    let mut u_dual = alloc::vec![0.0; n * n];
    let mut x = barycentre(n, k);
    let mut m = alloc::vec![0.0; n * n];
    let mut status = SolverStatus::MaxIterations;
    let (mut rp, mut rd) = (f64::INFINITY, f64::INFINITY);
    let mut iterations = 0;
    let mut x_next = alloc::vec![0.0; n * n];
    let use_low_rank = match settings.projection {
        ProjectionMethod::Full => false,
        ProjectionMethod::LowRank => n >= 4,
        ProjectionMethod::Auto => n >= LOW_RANK_MIN_N,
    };
    let mut full_projections = 0;
    let (mut skip_low_rank, mut backoff) = (0usize, 0usize);
    let mut low_rank_rounds = 0;
    let mut low_rank = if use_low_rank {
        Some(LowRank::new(n, k, 0x7a5c_6e0d))
    } else {
        None
    };

    for it in 1..=settings.max_iterations {
        let inv_rho = 1.0 / rho;
        for i in 0..n * n {
            m[i] = z[i] - u_dual[i] + c[i] * inv_rho;
        }
        let done = match low_rank.as_mut() {
            Some(lr) if skip_low_rank == 0 => {
                // Inexact projections early on: eigen residuals 100× below ADMM's residuals,
                // between 1e-3·tolerance and 1e-3.
                let eig_tol = (1e-2 * rp.min(rd)).clamp(1e-3 * settings.tolerance, 1e-3);
                // Truncated (rank-capped) projections only in the first TRUNCATED_ITERATIONS
                // iterations and while both residuals exceed 1e-2: afterwards every projection
                // is exact (low-rank when it converges, else the full decomposition), so a
                // high-rank solution cannot stall the solver.
                let truncate = it <= TRUNCATED_ITERATIONS && rp.min(rd) > 1e-2;
                let ok = lr.project(&m, k, &mut x_next, eig_tol, truncate).is_some();
                low_rank_rounds += lr.last_rounds;
                // Back off after a failure or a projection that cost more than a good share of a
                // full decomposition (a high-rank or clustered spectrum): skip 1, 2, 4, ... up
                // to 64 iterations (full decompositions meanwhile); reset on a cheap success.
                if ok && !was_expensive(n, lr.block(), lr.last_rounds) {
                    backoff = 0;
                } else {
                    backoff = (2 * backoff).clamp(1, 64);
                    skip_low_rank = backoff;
                }
                ok
            }
            Some(_) => {
                skip_low_rank -= 1;
                false
            }
            None => false,
        };
        if !done {
            full_projections += 1;
        }
        if !done
            && project_c1_with(&m, n, k, &mut x_next, |e| {
                if let Some(lr) = low_rank.as_mut() {
                    let mut mu = alloc::vec![0.0; n];
                    let theta =
                        super::projection::project_simplex(&e.values, k as f64 - 1.0, &mut mu);
                    lr.reset_from(e, theta);
                }
            })
            .is_none()
        {
            status = SolverStatus::NumericalError;
            break;
        }
        core::mem::swap(&mut x, &mut x_next);
        // One fused pass: over-relaxation, Z ← max(X̂ + U, 0), U ← U + X̂ − Z, and the sums of
        // the residuals and norms (no copy of the previous Z is kept).
        let (mut dxz, mut dz, mut xx, mut zz, mut uu) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..n * n {
            let (xi, z_old) = (x[i], z[i]);
            let xh = alpha * xi + (1.0 - alpha) * z_old;
            let zi = (xh + u_dual[i]).max(0.0);
            let ui = u_dual[i] + xh - zi;
            u_dual[i] = ui;
            z[i] = zi;
            dxz += (xi - zi) * (xi - zi);
            dz += (zi - z_old) * (zi - z_old);
            xx += xi * xi;
            zz += zi * zi;
            uu += ui * ui;
        }
        iterations = it;
        let (nx, nz) = (libm::sqrt(xx), libm::sqrt(zz));
        rp = libm::sqrt(dxz) / nx.max(nz).max(f64::MIN_POSITIVE);
        rd = rho * libm::sqrt(dz) / (rho * libm::sqrt(uu)).max(1.0);
        if !(rp.is_finite() && rd.is_finite()) {
            status = SolverStatus::NumericalError;
            break;
        }
        if let Some(cb) = progress.as_mut() {
            let p = Progress {
                iteration: it,
                primal_residual: rp,
                dual_residual: rd,
                rho,
                objective: cen.to_value(dot(c, &x), k),
            };
            if !cb(&p) {
                status = SolverStatus::Interrupted;
                break;
            }
        }
        if rp <= settings.tolerance && rd <= settings.tolerance {
            status = SolverStatus::Converged;
            break;
        }
        if settings.adapt_rho_every > 0 && it % settings.adapt_rho_every == 0 {
            let mu = settings.rho_balance;
            let factor = if rp > mu * rd && rho < rho0 * RHO_RANGE {
                2.0
            } else if rd > mu * rp && rho > rho0 / RHO_RANGE {
                0.5
            } else {
                1.0
            };
            if factor != 1.0 {
                rho *= factor;
                u_dual.iter_mut().for_each(|v| *v /= factor);
            }
        }
    }

    // Free the iteration buffers before the certificate needs its own.
    drop(m);
    drop(x_next);
    drop(low_rank);
    let mut sol = finish_iterate(
        cen,
        k,
        AdmmIterate {
            status,
            x,
            u_dual: &u_dual,
            rho,
            primal_residual: rp,
            dual_residual: rd,
            iterations,
        },
    );
    sol.full_projections = full_projections;
    sol.low_rank_rounds = low_rank_rounds;
    Ok(sol)
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
        bound_c,
    }
}
