//! A progress line on stderr, with an ETA, for solves that take over a second: on terminals
//! unless --quiet, or anywhere with --progress (then one plain line per second, for logs).
//! It only reads the solver's progress reports and the clock: stdout (the result, the JSON) and
//! the solve itself are the same with or without it.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Prints solver progress to stderr once a solve has run for `delay`, at most every 100 ms on a
/// terminal (rewriting one line) or every second otherwise (one line each).
pub struct ProgressLine {
    enabled: bool,
    terminal: bool,
    start: Instant,
    last: Option<Instant>,
    delay: Duration,
    shown: bool,
    eta: Eta,
}

/// The stopping rule the ETA extrapolates to: both residuals ≤ `tolerance`, or `budget`
/// iterations.
#[derive(Debug, Clone, Copy)]
pub struct EtaRule {
    /// The solver's relative tolerance.
    pub tolerance: f64,
    /// The iteration budget of the solve that runs (ADMM's, or the factored refinement's cap).
    pub budget: usize,
}

/// Estimates the time left from the recent decrease of log(max residual), capped by the time
/// the remaining iteration budget takes at the recent pace.
struct Eta {
    rule: EtaRule,
    label: String,
    /// (time s, iteration, log of the larger residual) when the current window started.
    anchor: Option<(f64, usize, f64)>,
}

impl Eta {
    /// Seconds left (None while unknown: a new solve, a phase without residuals, no decrease).
    fn update(&mut self, label: &str, now: f64, it: usize, residual: f64) -> Option<f64> {
        if label != self.label {
            self.label = label.to_string();
            self.anchor = None;
        }
        if !(residual.is_finite() && residual > 0.0) {
            self.anchor = None;
            return None;
        }
        let lr = residual.ln();
        let Some((t0, it0, lr0)) = self.anchor else {
            self.anchor = Some((now, it, lr));
            return None;
        };
        if it <= it0 || now <= t0 {
            if it < it0 {
                self.anchor = Some((now, it, lr));
            }
            return None;
        }
        let per_it = (now - t0) / (it - it0) as f64;
        let budget = (self.rule.budget.saturating_sub(it) as f64 * per_it).max(0.0);
        let rate = (lr0 - lr) / (now - t0);
        let target = self.rule.tolerance.ln();
        let converge = if lr <= target {
            0.0
        } else if rate > 0.0 {
            (lr - target) / rate
        } else {
            f64::INFINITY
        };
        // Slide the window: keep at most the last ~5 s.
        if now - t0 > 5.0 {
            self.anchor = Some((now, it, lr));
        }
        Some(converge.min(budget))
    }
}

impl ProgressLine {
    /// Enabled when not `quiet` and either stderr is a terminal or `forced` (`--progress`).
    pub fn new(quiet: bool, forced: bool, rule: EtaRule) -> Self {
        let terminal = std::io::stderr().is_terminal();
        ProgressLine {
            enabled: !quiet && (terminal || forced),
            terminal,
            start: Instant::now(),
            last: None,
            delay: Duration::from_secs(1),
            shown: false,
            eta: Eta {
                rule,
                label: String::new(),
                anchor: None,
            },
        }
    }

    /// Reports one solver iteration; `label` says which solve (e.g. "k = 3"), built only when
    /// the line is printed (this runs every iteration; the ETA is sampled at printed lines).
    pub fn update(&mut self, label: impl FnOnce() -> String, p: &taskgroup_core::Progress) {
        if !self.enabled || self.start.elapsed() < self.delay {
            return;
        }
        let now = Instant::now();
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        };
        if self.last.is_some_and(|l| now - l < every) {
            return;
        }
        // From here on at most once per `every`: the label and the ETA sample cost nothing on
        // the iterations in between.
        let label = label();
        let elapsed = (now - self.start).as_secs_f64();
        let eta = self.eta.update(
            &label,
            elapsed,
            p.iteration,
            p.primal_residual.max(p.dual_residual),
        );
        self.last = Some(now);
        self.shown = true;
        let eta = match eta {
            Some(s) if s.is_finite() => format!("  ETA {}", human_seconds(s)),
            _ => String::new(),
        };
        let line = if p.primal_residual.is_finite() {
            format!(
                "{label}: iteration {:>6}  primal {:.1e}  dual {:.1e}  objective {:.6}  {:.1} s{eta}",
                p.iteration, p.primal_residual, p.dual_residual, p.objective(), elapsed
            )
        } else {
            // The factored path's spectral start and certificate report no residuals.
            format!(
                "{label}: step {:>6}  objective {:.6}  {:.1} s",
                p.iteration,
                p.objective(),
                elapsed
            )
        };
        let mut e = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(e, "\r\x1b[2K{line}")
        } else {
            writeln!(e, "{line}")
        };
        let _ = e.flush();
    }

    /// Clears the line if anything was shown (terminals; plain lines stay).
    pub fn finish(&mut self) {
        if self.shown && self.terminal {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K");
            let _ = e.flush();
        }
        self.shown = false;
    }
}

/// `42 s`, `3 min 5 s`, `2 h 1 min`.
fn human_seconds(s: f64) -> String {
    let s = s.round() as u64;
    if s < 60 {
        format!("~{s} s")
    } else if s < 3600 {
        format!("~{} min {} s", s / 60, s % 60)
    } else {
        format!("~{} h {} min", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eta(tolerance: f64, budget: usize) -> Eta {
        Eta {
            rule: EtaRule { tolerance, budget },
            label: String::new(),
            anchor: None,
        }
    }

    #[test]
    fn extrapolates_a_linear_decrease_of_the_log_residual() {
        // Residual ×0.1 per second, one iteration per 0.1 s: from 1e-2 at t = 2 to the 1e-6
        // tolerance takes 4 s more.
        let mut e = eta(1e-6, 10_000);
        assert_eq!(e.update("k = 3", 1.0, 10, 1e-1), None);
        let left = e.update("k = 3", 2.0, 20, 1e-2).unwrap();
        assert!((left - 4.0).abs() < 1e-9, "{left}");
    }

    #[test]
    fn budget_caps_the_estimate_and_stalls_give_the_budget() {
        let mut e = eta(1e-6, 30);
        e.update("a", 1.0, 10, 1e-1);
        // No decrease: the 10 iterations left at 0.1 s each.
        let left = e.update("a", 2.0, 20, 1e-1).unwrap();
        assert!((left - 1.0).abs() < 1e-9, "{left}");
    }

    #[test]
    fn a_new_solve_or_a_phase_without_residuals_restarts() {
        let mut e = eta(1e-6, 100);
        e.update("k = 2", 1.0, 10, 1e-1);
        assert_eq!(e.update("k = 3", 2.0, 20, 1e-2), None);
        assert_eq!(e.update("k = 3", 2.5, 21, f64::NAN), None);
        assert_eq!(e.update("k = 3", 3.0, 22, 1e-3), None);
        assert!(e.update("k = 3", 4.0, 32, 1e-4).is_some());
        assert_eq!(human_seconds(42.4), "~42 s");
        assert_eq!(human_seconds(185.0), "~3 min 5 s");
        assert_eq!(human_seconds(7260.0), "~2 h 1 min");
    }
}
