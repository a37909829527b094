//! Batched subset training: the paper's f(S) with a fast linear proxy.
//!
//! Every task i has a training and a validation set of feature vectors (f32, dimension d) with
//! labels ([`TaskData`]). For each subset S of a batch, one linear model (weights w ∈ R^d and a
//! bias b) is trained on the union of the training rows of S's tasks, and every member's
//! validation score is returned ([`train_batch`]). The algorithm, identical on both backends:
//!
//! 1. **Initialisation**: w_j = `init_scale` · N(0, 1) from a ChaCha8 stream seeded by
//!    (`seed`, the sorted subset) — so a subset gives the same model whatever batch or order it
//!    is trained in — and b = 0.
//! 2. **Full-batch gradient descent**, `iterations` steps of size `step` on
//!    L(w, b) = (1/N) Σ_r ℓ(w·x_r + b, y_r) + (l2/2)‖w‖² (N rows, bias not regularised), with
//!    ℓ the logistic loss (labels 0/1; residual σ(z) − y) or half the squared error (residual
//!    z − y). The update is w_j ← w_j − step·((Σ_r e_r x_rj)/N + l2·w_j), b ← b − step·(Σ_r e_r)/N.
//! 3. **Scores** (higher is better): [`Model::Logistic`]: the validation accuracy (predict 1
//!    when w·x + b ≥ 0); [`Model::Ridge`]: the validation R² = 1 − MSE / Var(y_val) (population
//!    variance of the task's validation labels), or −MSE when those labels are constant.
//!
//! Arithmetic: features and labels are stored as f32; weights, dot products, residuals and
//! sums are f64 on both backends. The CPU reference ([`cpu`]) sums in a fixed order (tasks in
//! ascending index, rows in file order, features in index order); the CUDA kernel sums the same
//! terms in another fixed order (warp trees and strided partial sums), so the two agree to
//! about 1e-12 relative in the weights, and a validation prediction can only differ when
//! |w·x + b| is below that.
//!
//! The trainer plugs into AdaGroup as a [`SubsetTrainer`] ([`LinearTrainer`]), or trains a
//! whole step's requests in one batch ([`run_step_batched`], [`run_batched`]).

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use taskgroup_core::session::adagroup::{AdaGroupSession, StepSummary};
use taskgroup_core::session::trainer::SubsetTrainer;

use crate::backend::Backend;
use crate::error::GpuError;

pub mod bench;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod data;
pub mod manifest;
pub mod synthetic;

pub use data::{TaskData, TaskSet};

/// The linear model trained on each subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Model {
    /// Logistic regression on labels 0/1; the score is the validation accuracy (default).
    #[default]
    Logistic,
    /// Ridge (least-squares) regression; the score is the validation R² (−MSE for constant
    /// validation labels).
    Ridge,
}

impl Model {
    /// A short lower-case name (`logistic`, `ridge`).
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Logistic => "logistic",
            Model::Ridge => "ridge",
        }
    }

    /// The code the CUDA kernel uses (0 logistic, 1 ridge).
    pub fn code(self) -> i32 {
        match self {
            Model::Logistic => 0,
            Model::Ridge => 1,
        }
    }
}

impl core::str::FromStr for Model {
    type Err = GpuError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GpuError::parse_choice(
            s,
            "model",
            [("logistic", Model::Logistic), ("ridge", Model::Ridge)],
        )
    }
}

/// Largest number of gradient steps [`LinearSettings::validate`] accepts.
pub const MAX_ITERATIONS: usize = 1_000_000;

/// Settings of the subset training; [`LinearSettings::default`] gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearSettings {
    /// The model (default [`Model::Logistic`]).
    pub model: Model,
    /// Number of full-batch gradient steps (1..=[`MAX_ITERATIONS`]; default 200).
    pub iterations: usize,
    /// Step size (finite, > 0; default 0.5). Gradient descent is stable when step × the
    /// largest curvature is below 2; for unit-variance features (ridge) that curvature is about
    /// (√d + √N)²/N for N rows, so 0.5 suits d up to a few tens with tens of rows per subset.
    /// Lower it for larger d, fewer rows or larger features (divergence is reported).
    pub step: f64,
    /// L2 penalty on the weights, not the bias (finite, ≥ 0; default 1e-3).
    pub l2: f64,
    /// Standard deviation of the initial weights (finite, ≥ 0; default 0.01).
    pub init_scale: f64,
    /// Seed of the initial weights (mixed with the subset; default 0).
    pub seed: u64,
}

impl Default for LinearSettings {
    fn default() -> Self {
        LinearSettings {
            model: Model::Logistic,
            iterations: 200,
            step: 0.5,
            l2: 1e-3,
            init_scale: 0.01,
            seed: 0,
        }
    }
}

impl LinearSettings {
    /// Checks every setting against its documented range.
    pub fn validate(&self) -> Result<(), GpuError> {
        let bad = |what: &str| Err(GpuError::InvalidInput(format!("LinearSettings: {what}")));
        if self.iterations == 0 || self.iterations > MAX_ITERATIONS {
            return bad("iterations must be between 1 and 1000000");
        }
        if !(self.step.is_finite() && self.step > 0.0) {
            return bad("step must be finite and > 0");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2 must be finite and ≥ 0");
        }
        if !(self.init_scale.is_finite() && self.init_scale >= 0.0) {
            return bad("init_scale must be finite and ≥ 0");
        }
        Ok(())
    }
}

/// One subset of a batch, checked and sorted, with its initial weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The members, sorted ascending (the training order).
    pub sorted: Vec<usize>,
    /// For each member in the caller's order, its position in `sorted`.
    pub caller_to_sorted: Vec<usize>,
    /// Initial weights w (d values) then the bias (0).
    pub init: Vec<f64>,
}

/// Per-member sums the backends return: the number of correct validation predictions
/// (logistic) or the validation sum of squared errors (ridge), in the order of `Job::sorted`,
/// and the final weights (d values, then the bias).
#[derive(Debug, Clone, PartialEq)]
pub struct JobResult {
    /// One sum per member, in sorted order.
    pub sums: Vec<f64>,
    /// Final weights then bias.
    pub weights: Vec<f64>,
}

/// The seed of a subset's initial weights: FNV-1a over the sorted members, mixed with `seed`.
pub fn subset_seed(seed: u64, sorted: &[usize]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in sorted {
        for byte in (x as u64).to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    let mut z = seed
        ^ h.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0x6A09_E667_F3BC_C909);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Checks the subsets against `n` tasks and draws their initial weights.
pub fn prepare_jobs(
    n: usize,
    d: usize,
    subsets: &[Vec<usize>],
    settings: &LinearSettings,
) -> Result<Vec<Job>, GpuError> {
    subsets
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let bad = |why: String| GpuError::InvalidInput(format!("subset {k}: {why}"));
            if s.is_empty() {
                return Err(bad("is empty".into()));
            }
            let mut order: Vec<usize> = (0..s.len()).collect();
            order.sort_by_key(|&i| s.get(i).copied().unwrap_or(usize::MAX));
            let sorted: Vec<usize> = order.iter().filter_map(|&i| s.get(i).copied()).collect();
            if let Some(&t) = sorted.iter().find(|&&t| t >= n) {
                return Err(bad(format!(
                    "task {t} is out of range (there are {n} tasks)"
                )));
            }
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Err(bad(format!("task {} is listed twice", w[0])));
            }
            let mut caller_to_sorted = vec![0; s.len()];
            for (pos, &i) in order.iter().enumerate() {
                if let Some(c) = caller_to_sorted.get_mut(i) {
                    *c = pos;
                }
            }
            let mut rng = ChaCha8Rng::seed_from_u64(subset_seed(settings.seed, &sorted));
            let mut init: Vec<f64> = (0..d)
                .map(|_| settings.init_scale * taskgroup_core::random::normal(&mut rng))
                .collect();
            init.push(0.0);
            Ok(Job {
                sorted,
                caller_to_sorted,
                init,
            })
        })
        .collect()
}

/// Turns a backend's per-member sums into scores in the caller's member order, and checks
/// that training did not diverge.
pub fn finish_scores(
    data: &TaskData,
    model: Model,
    jobs: &[Job],
    results: &[JobResult],
) -> Result<Vec<Vec<f64>>, GpuError> {
    jobs.iter()
        .zip(results)
        .map(|(job, res)| {
            if res.weights.iter().any(|w| !w.is_finite()) {
                return Err(GpuError::InvalidInput(format!(
                    "training diverged on subset {:?} (weights not finite): lower `step` or \
                     rescale the features",
                    job.sorted
                )));
            }
            job.caller_to_sorted
                .iter()
                .map(|&p| {
                    let task = job.sorted.get(p).copied().unwrap_or(0);
                    let sum = res.sums.get(p).copied().unwrap_or(f64::NAN);
                    let m = data.val_rows(task) as f64;
                    let score = match model {
                        Model::Logistic => sum / m,
                        Model::Ridge => {
                            let mse = sum / m;
                            let var = data.val_variance(task);
                            if var > 0.0 {
                                1.0 - mse / var
                            } else {
                                -mse
                            }
                        }
                    };
                    if score.is_finite() {
                        Ok(score)
                    } else {
                        Err(GpuError::InvalidInput(format!(
                            "training diverged on subset {:?} (score not finite): lower `step`",
                            job.sorted
                        )))
                    }
                })
                .collect()
        })
        .collect()
}

/// Trains one model per subset on the union of its tasks' training rows and returns every
/// member's validation score (in the order the subset lists its members; higher is better).
///
/// Subsets may list members in any order; the model depends only on the set. Errors
/// ([`GpuError::InvalidInput`], never a panic): bad settings, labels that are not 0/1 for
/// [`Model::Logistic`], an empty subset, a task index out of range or listed twice, divergence.
/// [`Backend::Cuda`] needs the `cuda` feature and a device. With `Backend::Cuda` this creates
/// a CUDA context and uploads the data on every call; [`LinearTrainer`] keeps them.
pub fn train_batch(
    backend: Backend,
    data: &TaskData,
    subsets: &[Vec<usize>],
    settings: &LinearSettings,
) -> Result<Vec<Vec<f64>>, GpuError> {
    settings.validate()?;
    data.check_labels(settings.model)?;
    let jobs = prepare_jobs(data.len(), data.dim(), subsets, settings)?;
    let results = match backend {
        Backend::Cpu => cpu::train_jobs(data, &jobs, settings),
        Backend::Cuda => {
            #[cfg(feature = "cuda")]
            {
                cuda::CudaTrainer::new(data)?.train_jobs(&jobs, settings)?
            }
            #[cfg(not(feature = "cuda"))]
            {
                return Err(GpuError::NotCompiled);
            }
        }
    };
    finish_scores(data, settings.model, &jobs, &results)
}

/// A [`SubsetTrainer`] over a [`TaskData`] set: AdaGroup asks, it trains linear models.
///
/// With [`Backend::Cuda`] the CUDA context and the uploaded data are created on first use and
/// kept (so the trainer must stay on the thread that first used it, as CUDA contexts are
/// per-thread).
pub struct LinearTrainer {
    data: TaskData,
    settings: LinearSettings,
    backend: Backend,
    #[cfg(feature = "cuda")]
    cuda: std::cell::RefCell<Option<cuda::CudaTrainer>>,
}

impl core::fmt::Debug for LinearTrainer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LinearTrainer")
            .field("tasks", &self.data.len())
            .field("dim", &self.data.dim())
            .field("settings", &self.settings)
            .field("backend", &self.backend)
            .finish()
    }
}

impl LinearTrainer {
    /// Validates the settings, the labels for the model and the backend ([`Backend::check`]).
    pub fn new(
        data: TaskData,
        settings: LinearSettings,
        backend: Backend,
    ) -> Result<Self, GpuError> {
        settings.validate()?;
        data.check_labels(settings.model)?;
        backend.check()?;
        Ok(LinearTrainer {
            data,
            settings,
            backend,
            #[cfg(feature = "cuda")]
            cuda: std::cell::RefCell::new(None),
        })
    }

    /// The task data.
    pub fn data(&self) -> &TaskData {
        &self.data
    }

    /// The settings.
    pub fn settings(&self) -> &LinearSettings {
        &self.settings
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Trains a batch of subsets (as [`train_batch`], reusing this trainer's CUDA state).
    pub fn train_batch(&self, subsets: &[Vec<usize>]) -> Result<Vec<Vec<f64>>, GpuError> {
        let jobs = prepare_jobs(self.data.len(), self.data.dim(), subsets, &self.settings)?;
        let results = match self.backend {
            Backend::Cpu => cpu::train_jobs(&self.data, &jobs, &self.settings),
            Backend::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    let mut slot = self.cuda.try_borrow_mut().map_err(|_| {
                        GpuError::Cuda(
                            "the CUDA trainer is already in use (re-entrant call)".into(),
                        )
                    })?;
                    if slot.is_none() {
                        *slot = Some(cuda::CudaTrainer::new(&self.data)?);
                    }
                    match slot.as_ref() {
                        Some(t) => t.train_jobs(&jobs, &self.settings)?,
                        None => return Err(GpuError::Cuda("no CUDA trainer".into())),
                    }
                }
                #[cfg(not(feature = "cuda"))]
                {
                    return Err(GpuError::NotCompiled);
                }
            }
        };
        finish_scores(&self.data, self.settings.model, &jobs, &results)
    }
}

impl SubsetTrainer for LinearTrainer {
    fn train(&self, subset: &[usize]) -> Result<Vec<f64>, taskgroup_core::Error> {
        // core's error carries static reasons only: the kind is kept, the detail is in the
        // error of `LinearTrainer::train_batch`.
        let mut out = self.train_batch(&[subset.to_vec()]).map_err(|e| match e {
            GpuError::Core(c) => c,
            GpuError::InvalidInput(_) => taskgroup_core::Error::InvalidSubset {
                reason: "invalid subset, or linear training diverged",
            },
            _ => taskgroup_core::Error::NumericalFailure {
                what: "linear subset training on the CUDA backend",
            },
        })?;
        Ok(out.pop().unwrap_or_default())
    }
}

/// Trains every pending request of the session's current step in one batch, reports the
/// scores (in id order) and advances the session.
pub fn run_step_batched(
    session: &mut AdaGroupSession,
    trainer: &LinearTrainer,
) -> Result<StepSummary, GpuError> {
    let requests = session.next_requests();
    let subsets: Vec<Vec<usize>> = requests.iter().map(|r| r.tasks.clone()).collect();
    let scores = trainer.train_batch(&subsets)?;
    for (req, s) in requests.iter().zip(&scores) {
        session.report(req.id, s)?;
    }
    Ok(session.advance()?.clone())
}

/// Runs the remaining steps of a session, one batch per step, until it is done.
pub fn run_batched(session: &mut AdaGroupSession, trainer: &LinearTrainer) -> Result<(), GpuError> {
    while !session.is_done() {
        run_step_batched(session, trainer)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_seed_depends_on_the_set_only_through_sorting() {
        let s = LinearSettings::default();
        let a = prepare_jobs(5, 3, &[vec![3, 1, 4]], &s).unwrap();
        let b = prepare_jobs(5, 3, &[vec![1, 4, 3]], &s).unwrap();
        assert_eq!(a[0].sorted, vec![1, 3, 4]);
        assert_eq!(a[0].init, b[0].init);
        assert_eq!(a[0].caller_to_sorted, vec![1, 0, 2]);
        assert_eq!(a[0].init.len(), 4);
        let c = prepare_jobs(5, 3, &[vec![1, 3]], &s).unwrap();
        assert_ne!(a[0].init, c[0].init);
    }

    #[test]
    fn bad_subsets_and_settings_are_refused() {
        let s = LinearSettings::default();
        for bad in [vec![], vec![5], vec![1, 1]] {
            assert!(matches!(
                prepare_jobs(5, 2, &[bad], &s),
                Err(GpuError::InvalidInput(_))
            ));
        }
        let mut t = s;
        t.iterations = 0;
        assert!(t.validate().is_err());
        t = s;
        t.step = f64::NAN;
        assert!(t.validate().is_err());
        t = s;
        t.l2 = -1.0;
        assert!(t.validate().is_err());
        assert!("ridge".parse::<Model>().is_ok());
        assert!("svm".parse::<Model>().is_err());
    }
}
