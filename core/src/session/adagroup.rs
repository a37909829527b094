//! AdaGroup (paper §4.2, Procedure 2, Algorithm 3; method.md §7) as a state machine.
//!
//! The n tasks arrive in s batches (in [`TaskOrder`]). Each step hands out m subsets to train
//! ([`AdaGroupSession::next_requests`]); each subset is drawn from the step's new tasks together
//! with one randomly picked existing cluster (none at the first step). Results come back in any
//! order ([`AdaGroupSession::report`]); once a step is complete, [`AdaGroupSession::advance`]
//! recomputes the affinity from every record so far (Eq. 6, [`super::aggregate`]), re-solves
//! the SDP warm-started from the current clusters (new tasks joined to the cluster they have
//! the highest mean affinity with) for every number of groups between the current count and
//! `max_groups`, keeps for each count the better of the rounded SDP partition and the warm
//! start, and picks the count by [`KRule`]. After the last step
//! [`AdaGroupSession::groups`] covers all n tasks.
//!
//! Everything is deterministic: the subsets of step t are drawn from a ChaCha8 stream seeded
//! by (seed, t), so they depend on the clusters and the seed only, never on the order reports
//! arrived in. A session is saved and restored with [`super::checkpoint`].

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use super::aggregate::{
    AffinityBuilder, AffinityEstimate, AggregateSettings, FillRule, SurrogateSettings,
};
use super::evidence::{self, Fold};
use crate::affinity::Affinity;
use crate::error::Error;
use crate::group::{group_with, GroupSettings};
use crate::ksearch::{elbow_score, KRule};
use crate::partition::Partition;
use crate::random::{below, shuffle, stream_seed, uniform};
use crate::sdp::WarmStart;

/// Largest number of subsets per step that [`AdaGroupSettings::validate`] accepts.
pub const MAX_SUBSETS_PER_STEP: usize = 1_000_000;

/// Largest number of tasks a session accepts (the SDP at n = 100 000 would need ~1 TB).
pub const MAX_TASKS: usize = 100_000;

/// n×n f64 buffers a step's aggregation and SDP solves hold at once (an upper estimate: the
/// solver's ~7, the all-subset estimate and the [`super::evidence::FOLDS`] = 4 fold fits at
/// ~2.5 each — directed scores, coverage, affinity — and the held-out fold's working copies).
const STEP_BUFFERS: usize = 25;

/// Attempts to draw a subset not requested before in the step; after them the draw is dropped
/// (the step asks for fewer subsets rather than the same one twice).
const DRAW_ATTEMPTS: usize = 64;

/// [`KRule::Significant`] stops searching after this many counts in a row tested and rejected
/// (counts whose fold groups cannot be matched do not count).
const UNSUPPORTED_IN_A_ROW: usize = 3;

/// Largest [`AdaGroupSettings::replicates`].
pub const MAX_REPLICATES: usize = 100;

/// The order in which tasks arrive (batch t holds the t-th slice of this order).
#[derive(Debug, Clone, PartialEq, Eq, Default, bincode::Encode, bincode::Decode)]
pub enum TaskOrder {
    /// Tasks 0, 1, …, n−1 (default).
    #[default]
    Identity,
    /// A permutation drawn from the session seed.
    Shuffled,
    /// This permutation of 0..n (every task exactly once).
    Custom(Vec<usize>),
}

/// Which affinity [`AdaGroupSession::advance`] groups on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bincode::Encode, bincode::Decode)]
pub enum AffinityEstimator {
    /// Paper Eq. 6: mean score of i over the subsets containing i and j (default).
    #[default]
    HigherOrder,
    /// The transfer part of the linear surrogate (paper App. B.3), which controls for the other
    /// members of each subset (see [`super::aggregate::LinearSurrogate::transfer_estimate`]).
    Surrogate,
    /// Eq. 6 on each task's standardised scores (centred, divided by their standard deviation;
    /// zero diagonal): per-task offsets and scales disappear ([`super::evidence::standardized`]).
    /// Default.
    Standardized,
}

/// How each step's subsets are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bincode::Encode, bincode::Decode)]
pub enum Sampling {
    /// The paper's: the step's new tasks plus one randomly picked existing cluster.
    Paper,
    /// Uniform subsets of every task seen so far (the new batch included).
    Uniform,
    /// Default. Every task seen so far, weighted: half of each subset favours tasks trained in
    /// few subsets (the new batch first), and every slot favours tasks whose group is not
    /// settled (small assignment margin, [`super::evidence::assignment_margins`]). Subsets mix
    /// groups, so every pair of groups is measured, not filled.
    #[default]
    Adaptive,
}

/// Settings of an AdaGroup session. [`AdaGroupSettings::new`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaGroupSettings {
    /// Number of tasks n (1..=[`MAX_TASKS`]); tasks are 0-based indices 0..n.
    pub n: usize,
    /// Largest number of groups k (1 ≤ k ≤ n).
    pub max_groups: usize,
    /// Number of steps s (1 ≤ s ≤ n); step t brings the t-th batch of ⌊n/s⌋ or ⌈n/s⌉ new tasks
    /// (the first n mod s batches get one more).
    pub steps: usize,
    /// Subsets to train per step, m (1..=[`MAX_SUBSETS_PER_STEP`]); `None` (default): 5·b for a
    /// batch of b new tasks (the paper's m = 5n/s).
    pub subsets_per_step: Option<usize>,
    /// Subset size α (2 ≤ α ≤ n; default min(5, n); the paper used 3, 5, 10). A subset has min(α, pool) tasks,
    /// where the pool is the new batch plus the picked cluster.
    pub subset_size: usize,
    /// Seed of the subset draws (and of [`TaskOrder::Shuffled`]).
    pub seed: u64,
    /// Arrival order of the tasks (default identity).
    pub task_order: TaskOrder,
    /// `true` (default): reported scores are "higher is better"; `false`: losses (negated).
    pub higher_is_better: bool,
    /// Fill rule for pairs never trained together (default [`FillRule::RowMean`]).
    pub fill: FillRule,
    /// How the number of groups is chosen (default [`KRule::Significant`]).
    pub count_rule: KRule,
    /// The affinity the groups are solved on (default [`AffinityEstimator::Standardized`]).
    pub estimator: AffinityEstimator,
    /// How subsets are drawn (default [`Sampling::Adaptive`]).
    pub sampling: Sampling,
    /// Times each distinct subset is requested within a step (default 1; 1..=[`MAX_REPLICATES`]).
    /// Without replicates no subset is requested twice in a step.
    pub replicates: usize,
    /// Solver and rounding settings of every SDP solve (default: the crate defaults).
    pub group: GroupSettings,
}

impl AdaGroupSettings {
    /// n tasks, at most `max_groups` groups, `steps` steps; every other setting at its default.
    pub fn new(n: usize, max_groups: usize, steps: usize) -> Self {
        AdaGroupSettings {
            n,
            max_groups,
            steps,
            subsets_per_step: None,
            subset_size: n.clamp(2, 5),
            seed: 0,
            task_order: TaskOrder::Identity,
            higher_is_better: true,
            fill: FillRule::RowMean,
            count_rule: KRule::Significant,
            estimator: AffinityEstimator::Standardized,
            sampling: Sampling::Adaptive,
            replicates: 1,
            group: GroupSettings::default(),
        }
    }

    /// The paper's configuration (Eq. 6, row-min fill, batch + one cluster, count by average
    /// density), kept for reproduction.
    pub fn paper(n: usize, max_groups: usize, steps: usize) -> Self {
        AdaGroupSettings {
            fill: FillRule::RowMin,
            count_rule: KRule::AverageDensity,
            estimator: AffinityEstimator::HigherOrder,
            sampling: Sampling::Paper,
            ..Self::new(n, max_groups, steps)
        }
    }

    /// Checks every setting against its documented range (a distinct error for each).
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |name, reason| Err(Error::InvalidSetting { name, reason });
        if self.n == 0 {
            return bad("n", "at least one task is needed");
        }
        if self.n > MAX_TASKS {
            return bad("n", "must be at most 100000 tasks");
        }
        if self.max_groups == 0 || self.max_groups > self.n {
            return Err(Error::InvalidK {
                k: self.max_groups,
                n: self.n,
            });
        }
        if self.steps == 0 || self.steps > self.n {
            return bad("steps", "must be between 1 and the number of tasks n");
        }
        if let Some(m) = self.subsets_per_step {
            if m == 0 || m > MAX_SUBSETS_PER_STEP {
                return bad("subsets_per_step", "must be between 1 and 1000000");
            }
        }
        if self.subset_size < 2 {
            return bad("subset_size", "must be at least 2");
        }
        if self.subset_size > self.n.max(2) {
            return bad(
                "subset_size",
                "is larger than the number of tasks (a subset holds distinct tasks)",
            );
        }
        if self.replicates == 0 || self.replicates > MAX_REPLICATES {
            return bad("replicates", "must be between 1 and 100");
        }
        if let TaskOrder::Custom(order) = &self.task_order {
            if order.len() != self.n {
                return bad("task_order", "must list every task exactly once (length n)");
            }
            let mut seen = alloc::vec![false; self.n];
            for &t in order {
                match seen.get_mut(t) {
                    Some(s) if !*s => *s = true,
                    Some(_) => return bad("task_order", "lists a task twice"),
                    None => return bad("task_order", "has a task index ≥ n"),
                }
            }
        }
        self.fill.validate()?;
        self.group.validate()
    }

    /// The resolved arrival order (a permutation of 0..n). Call after `validate`.
    pub fn resolved_order(&self) -> Vec<usize> {
        match &self.task_order {
            TaskOrder::Identity => (0..self.n).collect(),
            TaskOrder::Custom(o) => o.clone(),
            TaskOrder::Shuffled => {
                let mut o: Vec<usize> = (0..self.n).collect();
                let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(self.seed, u64::MAX));
                shuffle(&mut o, &mut rng);
                o
            }
        }
    }

    /// The 0-based range into the arrival order of step t's new tasks (empty when t ≥ s).
    /// With [`Sampling::Paper`] the t-th of s batches; otherwise every task arrives at step 0
    /// (later steps bring none and spend their subsets where the groups are least settled).
    pub fn batch_range(&self, step: usize) -> core::ops::Range<usize> {
        if step >= self.steps || self.steps == 0 {
            return 0..0;
        }
        if self.sampling != Sampling::Paper {
            return if step == 0 { 0..self.n } else { self.n..self.n };
        }
        self.paper_batch_range(step)
    }

    /// The t-th of s batches of ⌊n/s⌋ or ⌈n/s⌉ tasks (the paper's arrival schedule).
    fn paper_batch_range(&self, step: usize) -> core::ops::Range<usize> {
        if step >= self.steps || self.steps == 0 {
            return 0..0;
        }
        let (q, r) = (self.n / self.steps, self.n % self.steps);
        let start = step * q + step.min(r);
        let len = q + usize::from(step < r);
        start..start + len
    }

    /// m for step t: `subsets_per_step`, or 5 × the t-th paper batch's size (5n subsets in all).
    pub fn subsets_in_step(&self, step: usize) -> usize {
        self.subsets_per_step
            .unwrap_or(5 * self.paper_batch_range(step).len())
    }
}

/// The id of a request: step (0-based) and index within the step (0-based). Displayed and
/// parsed as `s{step}-{index}`, e.g. `s0-3`. Stable across save and load.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, bincode::Encode, bincode::Decode,
)]
pub struct RequestId {
    /// The step that issued it (0-based).
    pub step: u32,
    /// Its index within the step (0-based).
    pub index: u32,
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}-{}", self.step, self.index)
    }
}

impl FromStr for RequestId {
    type Err = Error;

    /// Parses `s{step}-{index}` (decimal, no signs or spaces).
    fn from_str(s: &str) -> Result<Self, Error> {
        let rest = s.strip_prefix('s').ok_or(Error::MalformedRequestId {
            reason: "it must start with `s`",
        })?;
        let (a, b) = rest.split_once('-').ok_or(Error::MalformedRequestId {
            reason: "it has no `-`",
        })?;
        let num = |x: &str| -> Result<u32, Error> {
            if x.is_empty() || !x.bytes().all(|c| c.is_ascii_digit()) {
                return Err(Error::MalformedRequestId {
                    reason: "step and index must be decimal numbers",
                });
            }
            x.parse::<u32>().map_err(|_| Error::MalformedRequestId {
                reason: "a number is too large",
            })
        };
        Ok(RequestId {
            step: num(a)?,
            index: num(b)?,
        })
    }
}

/// A subset to train: report one score per task, in the order of `tasks`.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Request {
    /// Stable id.
    pub id: RequestId,
    /// The tasks to train together: sorted, distinct 0-based indices.
    pub tasks: Vec<usize>,
}

/// What [`AdaGroupSession::report`] did with a valid report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The scores were recorded.
    Recorded,
    /// The request had already been reported with exactly these scores; nothing changed.
    AlreadyRecorded,
}

/// One candidate number of groups in a step's table.
#[derive(Debug, Clone, PartialEq, bincode::Encode, bincode::Decode)]
pub struct GroupCountRow {
    /// Number of groups asked for.
    pub k: usize,
    /// Number of groups of the kept partition (= k with robust rounding).
    pub groups: usize,
    /// Σ_i d_{C_i} of the kept partition, in the affinity's units.
    pub value: f64,
    /// value / groups (paper Eq. 2).
    pub average_density: f64,
    /// Certified upper bound on every partition into k groups (`None` when the count differs).
    pub upper_bound: Option<f64>,
    /// The bound proves the kept partition optimal for k (k = 1 and k = tasks seen: always).
    pub certified_optimal: bool,
    /// The warm start (current clusters plus new tasks) beat the rounded SDP partition.
    pub from_warm_start: bool,
    /// Δ_k − Δ_{k+1} when both neighbours were solved (Δ_1 = 0, Δ_{n+1} = Δ_n).
    pub elbow_score: Option<f64>,
    /// Whether k is in the searched range (rows outside it are only the elbow's neighbours).
    pub in_range: bool,
    /// [`KRule::Significant`] only: over the pairs of groups, the smallest held-out separation
    /// z combined over the [`super::evidence::FOLDS`] folds (Σ_f z_f / √K; `None` for k = 1,
    /// when a pair of groups was never measured on a fold, or when a fold's groups do not match
    /// the groups one to one); k is supported when it reaches `critical_z`.
    pub separation: Option<f64>,
    /// The critical z for k groups ([`super::evidence::critical_z`]; `None` for other rules).
    pub critical_z: Option<f64>,
    /// [`KRule::Significant`] only: the smallest held-out contrast between two groups (averaged
    /// over the folds) over the spread of pair effects inside groups pooled over the folds
    /// ([`super::evidence::Separation::pooled_spread`]); k is supported only when it is at
    /// least 1.
    pub effect: Option<f64>,
}

impl GroupCountRow {
    /// The defaults of a fresh solve for k groups (`groups` kept): no warm start, in the
    /// searched range, no elbow score or separation test yet; value 0, no bound and not
    /// certified until the caller sets them.
    fn fresh(k: usize, groups: usize) -> Self {
        GroupCountRow {
            k,
            groups,
            value: 0.0,
            average_density: 0.0,
            upper_bound: None,
            certified_optimal: false,
            from_warm_start: false,
            elbow_score: None,
            in_range: true,
            separation: None,
            critical_z: None,
            effect: None,
        }
    }
}

/// What one step did: the record of [`AdaGroupSession::history`].
#[derive(Debug, Clone, PartialEq, bincode::Encode, bincode::Decode)]
pub struct StepSummary {
    /// The step (0-based).
    pub step: usize,
    /// The tasks that arrived in this step.
    pub new_tasks: Vec<usize>,
    /// Subsets trained in this step.
    pub subsets_trained: usize,
    /// Subsets trained so far, this step included.
    pub total_subsets_trained: usize,
    /// Tasks grouped after this step.
    pub tasks_seen: usize,
    /// Fraction of pairs of seen tasks trained together at least once.
    pub pair_coverage: f64,
    /// Directed affinity entries among the seen tasks filled by the fill rule.
    pub filled_entries: usize,
    /// The searched range of group counts (current count ..= min(max_groups, tasks seen)).
    pub k_range: (usize, usize),
    /// One row per solved count, ascending.
    pub table: Vec<GroupCountRow>,
    /// Index into `table` of the chosen count.
    pub chosen: usize,
    /// The groups after this step (sorted tasks, groups ordered by smallest task).
    pub groups: Vec<Vec<usize>>,
    /// Value Σ_i d_{C_i} of the chosen groups.
    pub value: f64,
    /// Average density of the chosen groups.
    pub average_density: f64,
}

/// An AdaGroup campaign in progress: what to train next, what came back, the groups so far.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaGroupSession {
    pub(crate) settings: AdaGroupSettings,
    pub(crate) order: Vec<usize>,
    /// Current step (0-based); `settings.steps` when done.
    pub(crate) step: usize,
    /// Every request issued so far, sorted by id.
    pub(crate) requests: Vec<Request>,
    /// Reported scores by id (aligned with the request's tasks).
    pub(crate) reports: BTreeMap<RequestId, Vec<f64>>,
    /// Current clusters over the tasks seen so far (global indices, canonical order).
    pub(crate) groups: Vec<Vec<usize>>,
    pub(crate) history: Vec<StepSummary>,
    /// Every reported score, derived from `reports`.
    pub(crate) records: AffinityBuilder,
}

impl AdaGroupSession {
    /// Validates the settings and starts step 0 (its requests are ready at once).
    pub fn new(settings: AdaGroupSettings) -> Result<Self, Error> {
        settings.validate()?;
        let order = settings.resolved_order();
        let records = AffinityBuilder::new(settings.n)?;
        let mut s = AdaGroupSession {
            settings,
            order,
            step: 0,
            requests: Vec::new(),
            reports: BTreeMap::new(),
            groups: Vec::new(),
            history: Vec::new(),
            records,
        };
        let reqs = s.draw_requests(0);
        s.requests = reqs;
        Ok(s)
    }

    /// The settings.
    pub fn settings(&self) -> &AdaGroupSettings {
        &self.settings
    }

    /// The current step (0-based); equals [`num_steps`](Self::num_steps) when done.
    pub fn step(&self) -> usize {
        self.step
    }

    /// Number of steps s.
    pub fn num_steps(&self) -> usize {
        self.settings.steps
    }

    /// Whether every step has been advanced past.
    pub fn is_done(&self) -> bool {
        self.step >= self.settings.steps
    }

    /// The arrival order of the tasks (a permutation of 0..n).
    pub fn task_order(&self) -> &[usize] {
        &self.order
    }

    /// The tasks arriving in step t (empty when t ≥ s).
    pub fn batch(&self, step: usize) -> &[usize] {
        self.order
            .get(self.settings.batch_range(step))
            .unwrap_or(&[])
    }

    /// The tasks grouped so far (arrival order): those of the steps already advanced.
    pub fn tasks_seen(&self) -> &[usize] {
        let end = if self.step == 0 {
            0
        } else {
            self.settings.batch_range(self.step - 1).end
        };
        self.order.get(..end).unwrap_or(&[])
    }

    /// The current step's requests not yet reported, by id. Empty when done.
    pub fn next_requests(&self) -> Vec<Request> {
        self.step_requests()
            .iter()
            .filter(|r| !self.reports.contains_key(&r.id))
            .cloned()
            .collect()
    }

    /// Every request of the current step, reported or not, by id.
    pub fn step_requests(&self) -> &[Request] {
        let step = self.step as u32;
        let lo = self.requests.partition_point(|r| r.id.step < step);
        let hi = self.requests.partition_point(|r| r.id.step <= step);
        self.requests.get(lo..hi).unwrap_or(&[])
    }

    /// Every request issued so far (all steps), by id.
    pub fn all_requests(&self) -> &[Request] {
        &self.requests
    }

    /// The request with this id, if it was issued.
    pub fn request(&self, id: RequestId) -> Option<&Request> {
        self.requests
            .binary_search_by(|r| r.id.cmp(&id))
            .ok()
            .and_then(|i| self.requests.get(i))
    }

    /// The scores reported for this id, if any.
    pub fn reported_scores(&self, id: RequestId) -> Option<&[f64]> {
        self.reports.get(&id).map(|v| v.as_slice())
    }

    /// Requests of the current step handed out but not reported.
    pub fn pending_count(&self) -> usize {
        self.step_requests().len() - self.reported_count()
    }

    /// Requests of the current step already reported.
    pub fn reported_count(&self) -> usize {
        self.step_requests()
            .iter()
            .filter(|r| self.reports.contains_key(&r.id))
            .count()
    }

    /// Requests reported over the whole session (= subsets trained).
    pub fn total_reported(&self) -> usize {
        self.reports.len()
    }

    /// Whether every request of the current step is reported (false when done).
    pub fn is_step_complete(&self) -> bool {
        !self.is_done() && self.pending_count() == 0
    }

    /// Records the scores of request `id`, one per task in the order of its `tasks`.
    ///
    /// Errors, with nothing changed: `SessionDone` (the session has finished: results are no
    /// longer taken, except an identical retry), `UnknownRequest` (never issued), `ScoreCountMismatch`,
    /// `NonFiniteScore`, `ConflictingReport` (already reported with other scores). Reporting
    /// the same scores again (e.g. a retried worker) returns `AlreadyRecorded`.
    pub fn report(&mut self, id: RequestId, scores: &[f64]) -> Result<ReportOutcome, Error> {
        if self.is_done() {
            // A finished session takes nothing new; a retried identical report is still fine.
            let same = self.reports.get(&id).is_some_and(|prev| {
                prev.len() == scores.len()
                    && prev
                        .iter()
                        .zip(scores)
                        .all(|(a, b)| a.to_bits() == b.to_bits())
            });
            return if same {
                Ok(ReportOutcome::AlreadyRecorded)
            } else {
                Err(Error::SessionDone)
            };
        }
        let idx = self
            .requests
            .binary_search_by(|r| r.id.cmp(&id))
            .map_err(|_| Error::UnknownRequest { id: id.to_string() })?;
        let tasks = self
            .requests
            .get(idx)
            .map_or(&[][..], |r| r.tasks.as_slice());
        super::aggregate::check_scores(scores, tasks.len())?;
        if let Some(prev) = self.reports.get(&id) {
            let same = prev.len() == scores.len()
                && prev
                    .iter()
                    .zip(scores)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
            return if same {
                Ok(ReportOutcome::AlreadyRecorded)
            } else {
                Err(Error::ConflictingReport { id: id.to_string() })
            };
        }
        // Validated above (the tasks of an issued request are a valid subset).
        self.records.add_subset(tasks, scores)?;
        self.reports.insert(id, scores.to_vec());
        Ok(ReportOutcome::Recorded)
    }

    /// Completes the current step: aggregates every record, re-solves, picks the groups, and
    /// issues the next step's requests. Errors (nothing changed): `SessionDone`,
    /// `StepIncomplete`, or a solver error.
    pub fn advance(&mut self) -> Result<&StepSummary, Error> {
        if self.is_done() {
            return Err(Error::SessionDone);
        }
        let pending = self.pending_count();
        if pending > 0 {
            return Err(Error::StepIncomplete { pending });
        }
        let end = self.settings.batch_range(self.step).end;
        let seen: Vec<usize> = self.order.get(..end).unwrap_or(&[]).to_vec();
        let summary = self.solve_step(&seen)?;
        // Commit.
        self.groups = summary.groups.clone();
        self.history.push(summary);
        self.step += 1;
        if !self.is_done() {
            let reqs = self.draw_requests(self.step);
            self.requests.extend(reqs);
        }
        self.history.last().ok_or(Error::SessionDone)
    }

    /// The current groups over the tasks seen so far (sorted tasks, ordered by smallest task);
    /// empty before the first advance, all n tasks when done.
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// The groups as a [`Partition`] of all n tasks, once every task is grouped (when done).
    pub fn partition(&self) -> Option<Partition> {
        if self.tasks_seen().len() == self.settings.n {
            Partition::from_groups(&self.groups, self.settings.n).ok()
        } else {
            None
        }
    }

    /// One summary per completed step.
    pub fn history(&self) -> &[StepSummary] {
        &self.history
    }

    /// Every reported score.
    pub fn records(&self) -> &AffinityBuilder {
        &self.records
    }

    /// The Eq. 6 affinity of all n tasks from every record so far, with the session's direction
    /// and fill rule (tasks without records are filled too).
    pub fn current_affinity(&self) -> Result<AffinityEstimate, Error> {
        match self.settings.estimator {
            AffinityEstimator::HigherOrder => self.records.higher_order(&self.aggregate_settings()),
            AffinityEstimator::Surrogate => {
                let ss = SurrogateSettings {
                    higher_is_better: self.settings.higher_is_better,
                    ..Default::default()
                };
                self.records
                    .surrogate(&ss)?
                    .transfer_estimate(self.settings.fill)
            }
            AffinityEstimator::Standardized => evidence::standardized(
                &self.records,
                self.settings.higher_is_better,
                self.settings.fill,
                Fold::All,
            ),
        }
    }

    /// The current affinity estimated from the trained subsets `fold` admits only.
    fn fold_affinity(&self, fold: Fold) -> Result<AffinityEstimate, Error> {
        match self.settings.estimator {
            AffinityEstimator::Standardized => evidence::standardized(
                &self.records,
                self.settings.higher_is_better,
                self.settings.fill,
                fold,
            ),
            _ => {
                let mut b = AffinityBuilder::new(self.settings.n)?;
                for e in self.records.entries() {
                    if fold.admits(e.subset) {
                        b.add(e.subset, e.task, e.mean)?;
                    }
                }
                let mut tmp = self.clone();
                tmp.records = b;
                tmp.current_affinity()
            }
        }
    }

    /// How settled each task's group is: the assignment margin z of
    /// [`evidence::assignment_margins`] on the standardised affinity (`None`: not grouped yet).
    pub fn assignment_margins(&self) -> Result<Vec<Option<f64>>, Error> {
        if self.groups.is_empty() {
            return Ok(alloc::vec![None; self.settings.n]);
        }
        let est = evidence::standardized(
            &self.records,
            self.settings.higher_is_better,
            FillRule::RowMean,
            Fold::All,
        )?;
        Ok(evidence::assignment_margins(&est, &self.labels()))
    }

    /// Per task, the fraction of `resamples` bootstrap resamples of the trained subsets in which
    /// it is still closest to its own group ([`evidence::assignment_stability`]); `None` for
    /// tasks not grouped yet.
    pub fn assignment_stability(&self, resamples: usize) -> Vec<Option<f64>> {
        if self.groups.is_empty() {
            return alloc::vec![None; self.settings.n];
        }
        evidence::assignment_stability(
            &self.records,
            self.settings.higher_is_better,
            &self.labels(),
            resamples,
            self.settings.seed,
        )
    }

    /// A rough estimate of the subsets still needed (both z statistics grow like the square
    /// root of the subsets trained, so reaching z* from z takes `total · ((z*/z)² − 1)` more):
    /// the larger of (a) until every task's assignment margin reaches z* = 3, and (b) with
    /// [`KRule::Significant`], until the first larger count the last step rejected for lack of
    /// evidence only (its groups differ by more than the pair spread, effect ≥ 1, but its
    /// combined z is positive and below the critical z) reaches its critical z. 0 when all is
    /// settled; `None` when nothing is grouped or the smallest margin is not positive (more
    /// data of the same kind may not settle it).
    pub fn subsets_still_needed(&self) -> Option<usize> {
        let m = self.assignment_margins().ok()?;
        if m.iter().all(Option::is_none) {
            return None;
        }
        let zmin = m.iter().flatten().copied().fold(f64::INFINITY, f64::min);
        if zmin <= 0.0 {
            return None;
        }
        let total = self.reports.len() as f64;
        let more = |z: f64, target: f64| total * ((target / z) * (target / z) - 1.0);
        let margins = if zmin.is_finite() {
            more(zmin, 3.0)
        } else {
            0.0
        };
        let counts = self.history.last().and_then(|h| {
            let chosen = h.table.get(h.chosen)?.k;
            h.table.iter().filter(|r| r.k > chosen).find_map(|r| {
                match (r.separation, r.critical_z, r.effect) {
                    (Some(z), Some(c), Some(e)) if e >= 1.0 && z > 0.0 && z < c => Some(more(z, c)),
                    _ => None,
                }
            })
        });
        let need = margins.max(counts.unwrap_or(0.0));
        Some(if need > 0.0 {
            libm::ceil(need) as usize
        } else {
            0
        })
    }

    /// Group index of every task in [`groups`](Self::groups) (`usize::MAX`: not grouped yet).
    pub fn labels(&self) -> Vec<usize> {
        let mut l = alloc::vec![usize::MAX; self.settings.n];
        for (c, g) in self.groups.iter().enumerate() {
            for &t in g {
                if let Some(x) = l.get_mut(t) {
                    *x = c;
                }
            }
        }
        l
    }

    fn aggregate_settings(&self) -> AggregateSettings {
        AggregateSettings {
            higher_is_better: self.settings.higher_is_better,
            fill: self.settings.fill,
        }
    }

    /// Draws step t's requests (deterministic in seed, t, clusters and records; never in the
    /// order reports arrived in). No subset is drawn twice in a step; each is requested
    /// `replicates` times.
    fn draw_requests(&self, step: usize) -> Vec<Request> {
        let batch = self.batch(step).to_vec();
        let m = self.settings.subsets_in_step(step);
        let alpha = self.settings.subset_size;
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(self.settings.seed, step as u64));
        let before: BTreeSet<Vec<usize>> = self.requests.iter().map(|r| r.tasks.clone()).collect();
        let mut used: BTreeSet<Vec<usize>> = BTreeSet::new();
        let mut picks: Vec<Vec<usize>> = Vec::with_capacity(m);
        let seen_end = self.settings.batch_range(step).end;
        let all_seen: Vec<usize> = self.order.get(..seen_end).unwrap_or(&[]).to_vec();
        match self.settings.sampling {
            Sampling::Paper => {
                let mut pool: Vec<usize> = Vec::new();
                for _ in 0..m {
                    pool.clear();
                    pool.extend_from_slice(&batch);
                    if !self.groups.is_empty() {
                        let c = below(&mut rng, self.groups.len());
                        if let Some(g) = self.groups.get(c) {
                            pool.extend_from_slice(g);
                        }
                    }
                    let size = alpha.min(pool.len());
                    let mut fallback = None;
                    let mut got = None;
                    for _ in 0..DRAW_ATTEMPTS {
                        let pick = uniform_pick(&mut rng, &mut pool, size);
                        if used.contains(&pick) {
                            continue;
                        }
                        if !before.contains(&pick) {
                            got = Some(pick);
                            break;
                        }
                        if fallback.is_none() {
                            fallback = Some(pick);
                        }
                    }
                    if let Some(p) = got.or(fallback) {
                        used.insert(p.clone());
                        picks.push(p);
                    }
                }
            }
            Sampling::Uniform | Sampling::Adaptive => {
                let size = alpha.min(all_seen.len());
                if binomial_at_most(all_seen.len(), size, m) {
                    // Few distinct subsets exist: request each of them once.
                    picks = all_subsets(&all_seen, size);
                } else {
                    let weights = self.draw_weights(step, &all_seen);
                    let mut appear: BTreeMap<usize, usize> = BTreeMap::new();
                    for r in &self.requests {
                        for &t in &r.tasks {
                            *appear.entry(t).or_insert(0) += 1;
                        }
                    }
                    let mut pool = all_seen.clone();
                    for _ in 0..m {
                        let mut got = None;
                        for attempt in 0..DRAW_ATTEMPTS {
                            let pick = match &weights {
                                None => uniform_pick(&mut rng, &mut pool, size),
                                Some(w) => weighted_pick(&mut rng, &all_seen, w, &appear, size),
                            };
                            let fresh = !before.contains(&pick) || attempt + 1 >= DRAW_ATTEMPTS / 2;
                            if !used.contains(&pick) && fresh {
                                got = Some(pick);
                                break;
                            }
                        }
                        if let Some(p) = got {
                            for &t in &p {
                                *appear.entry(t).or_insert(0) += 1;
                            }
                            used.insert(p.clone());
                            picks.push(p);
                        }
                    }
                }
            }
        }
        let reps = self.settings.replicates.max(1);
        let mut out = Vec::with_capacity(picks.len() * reps);
        for p in picks {
            for _ in 0..reps {
                out.push(Request {
                    id: RequestId {
                        step: step as u32,
                        index: out.len() as u32,
                    },
                    tasks: p.clone(),
                });
            }
        }
        out
    }

    /// Adaptive sampling weights 1 + u_t of the seen tasks (u: 3 for tasks not grouped yet,
    /// `3 / (1 + (z/2)²)` for an assignment margin z ≥ 0); `None` for uniform sampling.
    fn draw_weights(&self, _step: usize, seen: &[usize]) -> Option<Vec<f64>> {
        if self.settings.sampling != Sampling::Adaptive {
            return None;
        }
        let margins = if self.groups.is_empty() {
            alloc::vec![None; self.settings.n]
        } else {
            self.assignment_margins()
                .unwrap_or_else(|_| alloc::vec![None; self.settings.n])
        };
        Some(
            seen.iter()
                .map(|&t| {
                    let u = match margins.get(t).copied().flatten() {
                        None => 3.0,
                        Some(z) => {
                            let z = z.max(0.0) / 2.0;
                            3.0 / (1.0 + z * z)
                        }
                    };
                    1.0 + u
                })
                .collect(),
        )
    }

    /// Aggregates, solves every candidate count and picks the groups over `seen`.
    fn solve_step(&self, seen: &[usize]) -> Result<StepSummary, Error> {
        // The aggregation and the solver hold about this many n×n f64 buffers at once; most of
        // the solver's are allocated infallibly, so check first that the memory exists: too
        // large a step is `OutOfMemory` (nothing changed), not an abort.
        crate::memory::check_available(crate::memory::square_f64_bytes(
            self.settings.n,
            STEP_BUFFERS,
        ))?;
        let est = self.current_affinity()?;
        let t = est.restrict(seen)?;
        let ns = seen.len();
        let mut local = alloc::vec![usize::MAX; self.settings.n];
        for (a, &g) in seen.iter().enumerate() {
            local[g] = a;
        }
        let warm = self.warm_partition(&t, seen, &local)?;
        let current = warm.as_ref().map_or(1, |p| p.num_groups());
        let hi = self.settings.max_groups.min(ns);
        if self.settings.count_rule == KRule::Significant {
            return self.solve_step_significant(&est, &t, seen, warm.as_ref(), hi);
        }
        let lo = current.min(hi);
        let (first, last) = if self.settings.count_rule == KRule::Elbow {
            (
                if lo > 1 { lo - 1 } else { lo },
                if hi < ns { hi + 1 } else { hi },
            )
        } else {
            (lo, hi)
        };
        let mut table: Vec<GroupCountRow> = Vec::new();
        let mut parts: Vec<Partition> = Vec::new();
        for k in first..=last {
            let (row, p) = self.solve_count(&t, k, warm.as_ref())?;
            table.push(GroupCountRow {
                in_range: (lo..=hi).contains(&k),
                ..row
            });
            parts.push(p);
        }
        let v1 = t.as_slice().iter().sum::<f64>() / ns as f64;
        let value_of = |k: usize| -> Option<f64> {
            if k == 1 {
                return Some(v1);
            }
            table.iter().find(|r| r.k == k).map(|r| r.value)
        };
        let elbows: Vec<Option<f64>> = table
            .iter()
            .map(|r| elbow_score(r.k, ns, r.value, value_of))
            .collect();
        for (r, e) in table.iter_mut().zip(elbows) {
            r.elbow_score = e;
        }
        let rule = self.settings.count_rule;
        let score = |r: &GroupCountRow| rule.score(r.value, r.average_density, r.elbow_score);
        let mut chosen: Option<usize> = None;
        for (i, r) in table.iter().enumerate() {
            if !r.in_range {
                continue;
            }
            if chosen
                .and_then(|c| table.get(c))
                .is_none_or(|b| score(r) > score(b))
            {
                chosen = Some(i);
            }
        }
        let chosen = chosen.ok_or(Error::InvalidKRange { lo, hi, n: ns })?;
        let part = parts
            .get(chosen)
            .ok_or(Error::InvalidKRange { lo, hi, n: ns })?;
        let row = table
            .get(chosen)
            .ok_or(Error::InvalidKRange { lo, hi, n: ns })?;
        let groups = to_global_groups(part, seen);
        let total = self.reports.len();
        let step_trained = self.step_requests().len();
        Ok(StepSummary {
            step: self.step,
            new_tasks: self.batch(self.step).to_vec(),
            subsets_trained: step_trained,
            total_subsets_trained: total,
            tasks_seen: ns,
            pair_coverage: est.pair_coverage_of(seen),
            filled_entries: count_filled(&est, seen),
            k_range: (lo, hi),
            value: row.value,
            average_density: row.average_density,
            table,
            chosen,
            groups,
        })
    }

    /// [`KRule::Significant`] (method.md §6): counts 1, 2, … are solved on all subsets and, for
    /// each of the K folds, on the other K − 1; a count is supported when those partitions,
    /// matched to the all-subset groups, separate every pair of groups on the held-out folds
    /// (combined z at the critical value, effect ≥ 1); the search stops after
    /// [`UNSUPPORTED_IN_A_ROW`] counts in a row tested and rejected (unmatched counts are
    /// skipped, not counted).
    fn solve_step_significant(
        &self,
        est: &AffinityEstimate,
        t: &Affinity,
        seen: &[usize],
        warm: Option<&Partition>,
        hi: usize,
    ) -> Result<StepSummary, Error> {
        let ns = seen.len();
        // Fit affinities: every fold but f (the groups tested on fold f are found on them).
        let mut fits = Vec::with_capacity(usize::from(evidence::FOLDS));
        for f in 0..evidence::FOLDS {
            fits.push(self.fold_affinity(Fold::Except(f))?.restrict(seen)?);
        }
        let mut table: Vec<GroupCountRow> = Vec::new();
        let mut parts: Vec<Partition> = Vec::new();
        // Before the last step the groups only steer the sampling: the count moves by at most
        // one per step (counts current − 1 ..= current + 1); the last step searches from 1.
        // (Searching from 1 at every step was measured and is worse at 2n subsets: additive
        // 5/10 exact against 7/10, scales-30x 3 of seeds 0–5 against 5 — early steps fit the noise of
        // few subsets and steer the sampling and warm starts by it.)
        let last_step = self.step + 1 >= self.settings.steps;
        let current = warm.map_or(1, |p| p.num_groups());
        let (lo, top) = if last_step {
            (1, hi)
        } else {
            (current.saturating_sub(1).max(1), (current + 1).min(hi))
        };
        let mut best = 0usize; // index into table
        let mut rejected = 0usize; // counts tested and rejected since the best
        for k in lo..=top {
            let (mut row, p) = self.solve_count(t, k, warm)?;
            if k >= 2 && k > lo {
                let crit = evidence::critical_z(k);
                // Per pair of groups of p (each fold's groups matched to p's by their largest
                // overlap): the sum of held-out z and of held-out δ over the folds, so that the
                // smallest pair is taken once over pooled evidence, not once per fold.
                let g = p.num_groups();
                let mut zsum = alloc::vec![Some(0.0); g * g];
                let mut dsum = alloc::vec![Some(0.0); g * g];
                let mut spread: Vec<evidence::Separation> = Vec::new();
                for (f, tf) in (0..evidence::FOLDS).zip(&fits) {
                    let fp = if k == ns {
                        p.clone()
                    } else {
                        group_with(tf, k, &self.settings.group, WarmStart::Partition(&p), None)?
                            .partition
                    };
                    let mut labels = alloc::vec![usize::MAX; self.settings.n];
                    for (a, &l) in fp.labels().iter().enumerate() {
                        if let Some(&gl) = seen.get(a) {
                            labels[gl] = l as usize;
                        }
                    }
                    let test = evidence::separation(
                        &self.records,
                        self.settings.higher_is_better,
                        Fold::Only(f),
                        &labels,
                    )?;
                    spread.push(test.clone());
                    let map = match_groups(&fp, &p);
                    for a in 0..test.groups {
                        for b in a + 1..test.groups {
                            let at = |tab: &[Option<f64>]| tab.get(a * test.groups + b).copied();
                            // Unmatched folds count as an untestable pair (unsupported).
                            let slot = map
                                .as_ref()
                                .and_then(|m| Some((*m.get(a)?, *m.get(b)?)))
                                .map(|(x, y)| x.min(y) * g + x.max(y));
                            let add = |sum: &mut [Option<f64>], v: Option<Option<f64>>| {
                                if let Some(cell) = slot.and_then(|i| sum.get_mut(i)) {
                                    *cell = match (*cell, v.flatten()) {
                                        (Some(x), Some(y)) => Some(x + y),
                                        _ => None,
                                    };
                                } else {
                                    sum.iter_mut().for_each(|c| *c = None);
                                }
                            };
                            add(&mut zsum, at(&test.z));
                            add(&mut dsum, at(&test.delta));
                        }
                    }
                }
                let kf = f64::from(evidence::FOLDS);
                let mut sep: Option<f64> = None;
                let mut delta: Option<f64> = None;
                let mut untestable = g < 2;
                for a in 0..g {
                    for b in a + 1..g {
                        match (zsum[a * g + b], dsum[a * g + b]) {
                            (Some(z), Some(d)) => {
                                let z = z / libm::sqrt(kf);
                                sep = Some(sep.map_or(z, |s: f64| s.min(z)));
                                delta = Some(delta.map_or(d / kf, |s: f64| s.min(d / kf)));
                            }
                            _ => untestable = true,
                        }
                    }
                }
                if untestable {
                    sep = None;
                    delta = None;
                }
                let spread = evidence::Separation::pooled_spread(&spread);
                let effect = delta.map(|d| {
                    if spread > 0.0 {
                        d / spread
                    } else if d > 0.0 {
                        f64::INFINITY
                    } else {
                        0.0
                    }
                });
                row.separation = sep;
                row.critical_z = Some(crit);
                row.effect = effect;
                let supported = sep.is_some_and(|z| z >= crit) && effect.is_some_and(|e| e >= 1.0);
                table.push(row);
                parts.push(p);
                if supported {
                    best = table.len() - 1;
                    rejected = 0;
                } else if sep.is_some() {
                    // Tested and rejected. A count whose fold groups do not match (`None`:
                    // e.g. 2 groups when 5 are planted, merged differently on each fold) is
                    // ambiguous, not evidence against larger counts: it does not stop the search.
                    rejected += 1;
                    if rejected >= UNSUPPORTED_IN_A_ROW {
                        break;
                    }
                }
            } else {
                table.push(row);
                parts.push(p);
            }
        }
        let v1 = t.as_slice().iter().sum::<f64>() / ns as f64;
        let snapshot: Vec<(usize, f64)> = table.iter().map(|r| (r.k, r.value)).collect();
        let value_of = |k: usize| -> Option<f64> {
            if k == 1 {
                return Some(v1);
            }
            snapshot.iter().find(|r| r.0 == k).map(|r| r.1)
        };
        for r in table.iter_mut() {
            r.elbow_score = elbow_score(r.k, ns, r.value, value_of);
        }
        let last_k = table.last().map_or(1, |r| r.k);
        let part = parts
            .get(best)
            .ok_or(Error::InvalidKRange { lo: 1, hi, n: ns })?;
        let row = table
            .get(best)
            .ok_or(Error::InvalidKRange { lo: 1, hi, n: ns })?;
        let groups = to_global_groups(part, seen);
        Ok(StepSummary {
            step: self.step,
            new_tasks: self.batch(self.step).to_vec(),
            subsets_trained: self.step_requests().len(),
            total_subsets_trained: self.reports.len(),
            tasks_seen: ns,
            pair_coverage: est.pair_coverage_of(seen),
            filled_entries: count_filled(est, seen),
            k_range: (lo, last_k),
            value: row.value,
            average_density: row.average_density,
            table,
            chosen: best,
            groups,
        })
    }

    /// The current clusters plus each new task joined to the cluster with the highest mean
    /// affinity to it (ties: the first), in local indices; `None` at the first step.
    fn warm_partition(
        &self,
        t: &Affinity,
        seen: &[usize],
        local: &[usize],
    ) -> Result<Option<Partition>, Error> {
        if self.groups.is_empty() {
            return Ok(None);
        }
        let ns = seen.len();
        let mut labels = alloc::vec![usize::MAX; ns];
        let mut members: Vec<Vec<usize>> = Vec::with_capacity(self.groups.len());
        for (c, g) in self.groups.iter().enumerate() {
            let mut m = Vec::with_capacity(g.len());
            for &task in g {
                let a = local.get(task).copied().unwrap_or(usize::MAX);
                let slot = labels.get_mut(a).ok_or(Error::InvalidPartition {
                    reason: "a grouped task is not seen",
                })?;
                *slot = c;
                m.push(a);
            }
            members.push(m);
        }
        for (a, l) in labels.iter_mut().enumerate() {
            if *l != usize::MAX {
                continue;
            }
            let mut best = (f64::NEG_INFINITY, 0);
            for (c, m) in members.iter().enumerate() {
                let mean = m.iter().map(|&b| t.get(a, b)).sum::<f64>() / m.len().max(1) as f64;
                if mean > best.0 {
                    best = (mean, c);
                }
            }
            *l = best.1;
        }
        Partition::from_labels(&labels).map(Some)
    }

    /// The kept partition and its row for k groups.
    fn solve_count(
        &self,
        t: &Affinity,
        k: usize,
        warm: Option<&Partition>,
    ) -> Result<(GroupCountRow, Partition), Error> {
        let ns = t.n();
        if k == 1 || k == ns {
            let labels: Vec<usize> = if k == 1 {
                alloc::vec![0; ns]
            } else {
                (0..ns).collect()
            };
            let p = Partition::from_labels(&labels)?;
            let value = p.value(t)?;
            let row = GroupCountRow {
                value,
                average_density: value / k as f64,
                upper_bound: Some(value),
                certified_optimal: true,
                ..GroupCountRow::fresh(k, k)
            };
            return Ok((row, p));
        }
        let start = match warm {
            Some(p) => WarmStart::Partition(p),
            None => WarmStart::Cold,
        };
        let r = group_with(t, k, &self.settings.group, start, None)?;
        let mut row = GroupCountRow {
            value: r.value,
            average_density: r.average_density,
            upper_bound: r.upper_bound,
            certified_optimal: r.certified_optimal,
            ..GroupCountRow::fresh(k, r.partition.num_groups())
        };
        let mut part = r.partition;
        if let Some(w) = warm {
            if w.num_groups() == k {
                let wv = w.value(t)?;
                if wv > row.value {
                    row.value = wv;
                    row.average_density = wv / k as f64;
                    row.groups = k;
                    // The bound holds for every partition into k groups; test the warm
                    // start's gap in the same invariant units as `group` does.
                    let cen = t.centered();
                    row.certified_optimal = row
                        .upper_bound
                        .is_some_and(|ub| crate::group::is_certified(&cen, ub - wv));
                    row.from_warm_start = true;
                    part = w.clone();
                }
            }
        }
        Ok((row, part))
    }
}

/// For every group of `fold` (by label), the group of `all` it overlaps most (ties: the
/// first); `None` unless this matches the groups one to one.
fn match_groups(fold: &Partition, all: &Partition) -> Option<Vec<usize>> {
    let (gf, ga) = (fold.num_groups(), all.num_groups());
    if gf != ga || fold.n() != all.n() {
        return None;
    }
    let mut overlap = alloc::vec![0usize; gf * ga];
    for (&x, &y) in fold.labels().iter().zip(all.labels()) {
        if let Some(c) = overlap.get_mut(x as usize * ga + y as usize) {
            *c += 1;
        }
    }
    let mut map = Vec::with_capacity(gf);
    let mut used = alloc::vec![false; ga];
    for a in 0..gf {
        let row = overlap.get(a * ga..(a + 1) * ga)?;
        let mut best = 0;
        for (b, &c) in row.iter().enumerate() {
            if c > row[best] {
                best = b;
            }
        }
        if core::mem::replace(used.get_mut(best)?, true) {
            return None;
        }
        map.push(best);
    }
    Some(map)
}

/// A uniform sample of `size` members of `pool` (partial Fisher–Yates), sorted.
fn uniform_pick(rng: &mut ChaCha8Rng, pool: &mut [usize], size: usize) -> Vec<usize> {
    let size = size.min(pool.len());
    for a in 0..size {
        let b = a + below(rng, pool.len() - a);
        pool.swap(a, b);
    }
    let mut pick = pool.get(..size).unwrap_or(&[]).to_vec();
    pick.sort_unstable();
    pick
}

/// A weighted sample without replacement of `size` tasks of `seen`: the first ⌈size/2⌉ slots
/// with weight w_t / (1 + appearances_t) (tasks trained in few subsets first), the others with
/// weight w_t. Sorted.
fn weighted_pick(
    rng: &mut ChaCha8Rng,
    seen: &[usize],
    w: &[f64],
    appear: &BTreeMap<usize, usize>,
    size: usize,
) -> Vec<usize> {
    let mut taken = alloc::vec![false; seen.len()];
    let mut pick = Vec::with_capacity(size);
    let first = size.div_ceil(2);
    for slot in 0..size.min(seen.len()) {
        let weight = |i: usize| -> f64 {
            if taken.get(i).copied().unwrap_or(true) {
                return 0.0;
            }
            let base = w.get(i).copied().unwrap_or(1.0);
            if slot < first {
                let a = seen
                    .get(i)
                    .and_then(|t| appear.get(t))
                    .copied()
                    .unwrap_or(0);
                base / (1.0 + a as f64)
            } else {
                base
            }
        };
        let total: f64 = (0..seen.len()).map(weight).sum();
        let mut x = uniform(rng) * total;
        let mut chosen = None;
        for i in 0..seen.len() {
            let wi = weight(i);
            if wi <= 0.0 {
                continue;
            }
            chosen = Some(i);
            if x < wi {
                break;
            }
            x -= wi;
        }
        if let Some(i) = chosen {
            if let Some(tk) = taken.get_mut(i) {
                *tk = true;
            }
            if let Some(&t) = seen.get(i) {
                pick.push(t);
            }
        }
    }
    pick.sort_unstable();
    pick
}

/// Whether C(n, k) ≤ m (without overflow).
fn binomial_at_most(n: usize, k: usize, m: usize) -> bool {
    let k = k.min(n - k.min(n));
    let mut c: u128 = 1;
    for i in 0..k {
        c = c * (n - i) as u128 / (i + 1) as u128;
        if c > m as u128 {
            return false;
        }
    }
    c <= m as u128
}

/// Every subset of `size` members of `pool` (lexicographic in pool order), each sorted.
fn all_subsets(pool: &[usize], size: usize) -> Vec<Vec<usize>> {
    let n = pool.len();
    let mut out = Vec::new();
    if size > n {
        return out;
    }
    let mut idx: Vec<usize> = (0..size).collect();
    loop {
        let mut p: Vec<usize> = idx.iter().filter_map(|&i| pool.get(i).copied()).collect();
        p.sort_unstable();
        out.push(p);
        let Some(i) = (0..size).rev().find(|&i| idx[i] < i + n - size) else {
            return out;
        };
        idx[i] += 1;
        for j in i + 1..size {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// Groups of a local partition mapped to global task indices, canonical order.
fn to_global_groups(p: &Partition, seen: &[usize]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = p
        .groups()
        .into_iter()
        .map(|g| {
            let mut v: Vec<usize> = g.into_iter().filter_map(|a| seen.get(a).copied()).collect();
            v.sort_unstable();
            v
        })
        .collect();
    groups.sort();
    groups
}

fn count_filled(est: &AffinityEstimate, seen: &[usize]) -> usize {
    let mut c = 0;
    for &i in seen {
        for &j in seen {
            if est.coverage_at(i, j) == 0 {
                c += 1;
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_round_trip_and_errors() {
        let id = RequestId { step: 3, index: 17 };
        assert_eq!(id.to_string(), "s3-17");
        assert_eq!("s3-17".parse::<RequestId>(), Ok(id));
        for bad in [
            "",
            "3-17",
            "s3",
            "s-1",
            "s3-",
            "s+3-1",
            "s3-1x",
            "s99999999999-0",
        ] {
            assert!(
                matches!(
                    bad.parse::<RequestId>(),
                    Err(Error::MalformedRequestId { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn batches_cover_the_order() {
        let d = AdaGroupSettings::new(10, 3, 3);
        // Default (adaptive) sampling: every task at step 0, 5n/s subsets per step.
        assert_eq!(d.batch_range(0), 0..10);
        assert_eq!(d.batch_range(1), 10..10);
        assert_eq!(d.subsets_in_step(0), 20);
        assert_eq!(d.subsets_in_step(2), 15);
        let s = AdaGroupSettings::paper(10, 3, 3);
        assert_eq!(s.batch_range(0), 0..4);
        assert_eq!(s.batch_range(1), 4..7);
        assert_eq!(s.batch_range(2), 7..10);
        assert_eq!(s.batch_range(3), 0..0);
        assert_eq!(s.subsets_in_step(0), 20);
    }

    #[test]
    fn settings_validation() {
        let ok = AdaGroupSettings::new(10, 3, 3);
        assert!(ok.validate().is_ok());
        let with = |f: &dyn Fn(&mut AdaGroupSettings)| {
            let mut s = ok.clone();
            f(&mut s);
            s.validate()
        };
        assert!(matches!(
            with(&|s| s.n = 0),
            Err(Error::InvalidSetting { name: "n", .. })
        ));
        assert_eq!(
            with(&|s| s.max_groups = 0),
            Err(Error::InvalidK { k: 0, n: 10 })
        );
        assert_eq!(
            with(&|s| s.max_groups = 11),
            Err(Error::InvalidK { k: 11, n: 10 })
        );
        assert!(matches!(
            with(&|s| s.steps = 11),
            Err(Error::InvalidSetting { name: "steps", .. })
        ));
        assert!(matches!(
            with(&|s| s.subset_size = 1),
            Err(Error::InvalidSetting {
                name: "subset_size",
                ..
            })
        ));
        assert!(matches!(
            with(&|s| s.subsets_per_step = Some(0)),
            Err(Error::InvalidSetting { .. })
        ));
        assert!(matches!(
            with(&|s| s.task_order = TaskOrder::Custom(alloc::vec![0; 10])),
            Err(Error::InvalidSetting {
                name: "task_order",
                ..
            })
        ));
        assert!(matches!(
            with(&|s| s.fill = FillRule::Constant(f64::NAN)),
            Err(Error::InvalidSetting { .. })
        ));
    }

    #[test]
    fn shuffled_order_is_a_permutation() {
        let mut s = AdaGroupSettings::new(20, 3, 4);
        s.task_order = TaskOrder::Shuffled;
        let mut o = s.resolved_order();
        assert_ne!(o, (0..20).collect::<Vec<_>>());
        o.sort_unstable();
        assert_eq!(o, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn first_step_requests_come_from_the_first_batch() {
        let mut s = AdaGroupSettings::paper(12, 3, 3);
        s.subset_size = 3;
        let sess = AdaGroupSession::new(s).unwrap();
        let r = sess.next_requests();
        // 20 asked for, but a batch of 4 has only C(4, 3) = 4 distinct subsets of 3.
        assert_eq!(r.len(), 4);
        for q in &r {
            assert_eq!(q.tasks.len(), 3);
            assert!(q.tasks.iter().all(|&t| t < 4));
        }
        assert_eq!(sess.pending_count(), 4);
        assert!(!sess.is_step_complete());
    }

    #[test]
    fn no_subset_twice_in_a_step_and_replicates_on_request() {
        // 6 tasks, subsets of 3: the old sampler asked for `0 1 2` fifteen times.
        for sampling in [Sampling::Paper, Sampling::Uniform, Sampling::Adaptive] {
            let mut st = AdaGroupSettings::new(6, 2, 2);
            st.subset_size = 3;
            st.sampling = sampling;
            let sess = AdaGroupSession::new(st.clone()).unwrap();
            let r = sess.next_requests();
            assert!(!r.is_empty());
            let distinct: BTreeSet<Vec<usize>> = r.iter().map(|q| q.tasks.clone()).collect();
            assert_eq!(distinct.len(), r.len(), "{sampling:?}");
            st.replicates = 3;
            let rep = AdaGroupSession::new(st).unwrap().next_requests();
            assert_eq!(rep.len(), 3 * r.len());
            assert_eq!(rep[0].tasks, rep[2].tasks);
        }
        // Fewer distinct subsets than asked for: each once (C(5, 4) = 5 < 20).
        let mut st = AdaGroupSettings::new(5, 2, 1);
        st.subset_size = 4;
        st.subsets_per_step = Some(20);
        assert_eq!(AdaGroupSession::new(st).unwrap().next_requests().len(), 5);
    }

    #[test]
    fn subset_size_larger_than_the_tasks_is_an_error() {
        let mut st = AdaGroupSettings::new(30, 2, 2);
        st.subset_size = 50;
        assert!(matches!(
            st.validate(),
            Err(Error::InvalidSetting {
                name: "subset_size",
                ..
            })
        ));
        st.subset_size = 30;
        assert!(st.validate().is_ok());
    }

    #[test]
    fn all_subsets_enumerates_combinations() {
        let v = all_subsets(&[3, 1, 2, 0], 2);
        assert_eq!(v.len(), 6);
        assert!(binomial_at_most(4, 2, 6) && !binomial_at_most(4, 2, 5));
        assert!(!binomial_at_most(200, 5, 1_000_000));
    }
}
