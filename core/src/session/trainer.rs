//! The trainer seam of a session: anything that trains one model on a subset of tasks and
//! scores every member, and the loops that drive a session with it.

use alloc::vec::Vec;

use super::adagroup::{AdaGroupSession, StepSummary};
use crate::error::Error;

/// Anything that trains one model on a subset of tasks and scores every member.
pub trait SubsetTrainer {
    /// Trains on `subset` (sorted, distinct 0-based tasks) and returns one score per member,
    /// in the order of `subset`.
    fn train(&self, subset: &[usize]) -> Result<Vec<f64>, Error>;
}

/// Trains and reports every pending request of the current step (in id order), then advances.
pub fn run_step_with_trainer<T: SubsetTrainer + ?Sized>(
    session: &mut AdaGroupSession,
    trainer: &T,
) -> Result<StepSummary, Error> {
    for req in session.next_requests() {
        let scores = trainer.train(&req.tasks)?;
        session.report(req.id, &scores)?;
    }
    session.advance().cloned()
}

/// Runs the remaining steps of a session with a trainer until it is done.
pub fn run_with_trainer<T: SubsetTrainer + ?Sized>(
    session: &mut AdaGroupSession,
    trainer: &T,
) -> Result<(), Error> {
    while !session.is_done() {
        run_step_with_trainer(session, trainer)?;
    }
    Ok(())
}
