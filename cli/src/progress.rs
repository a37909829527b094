//! A progress line on stderr for solves that take over a second (terminals only, off with --quiet).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Prints solver progress to stderr once a solve has run for `delay`, at most every 100 ms.
pub struct ProgressLine {
    enabled: bool,
    start: Instant,
    last: Option<Instant>,
    delay: Duration,
    shown: bool,
}

impl ProgressLine {
    /// Enabled when not `quiet` and stderr is a terminal.
    pub fn new(quiet: bool) -> Self {
        ProgressLine {
            enabled: !quiet && std::io::stderr().is_terminal(),
            start: Instant::now(),
            last: None,
            delay: Duration::from_secs(1),
            shown: false,
        }
    }

    /// Reports one solver iteration; `label` says which solve (e.g. "k = 3"), built only when
    /// the line is printed (this runs every iteration).
    pub fn update(&mut self, label: impl FnOnce() -> String, p: &taskgroup_core::Progress) {
        if !self.enabled || self.start.elapsed() < self.delay {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|l| now - l < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        self.shown = true;
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "\r\x1b[2K{}: iteration {:>6}  primal {:.1e}  dual {:.1e}  objective {:.6}  {:.1} s",
            label(),
            p.iteration,
            p.primal_residual,
            p.dual_residual,
            p.objective(),
            self.start.elapsed().as_secs_f64()
        );
        let _ = e.flush();
    }

    /// Clears the line if anything was shown.
    pub fn finish(&mut self) {
        if self.shown {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K");
            let _ = e.flush();
            self.shown = false;
        }
    }
}
