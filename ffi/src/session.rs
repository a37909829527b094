//! AdaGroup sessions behind an opaque handle: requests out, scores in, groups after each step,
//! checkpoints to and from caller memory.

use std::ffi::c_char;
use std::sync::Mutex;

use taskgroup_core::session::adagroup::{
    AdaGroupSession, AdaGroupSettings, AffinityEstimator, ReportOutcome, RequestId, Sampling,
    TaskOrder,
};
use taskgroup_core::{Error, KRule};

use crate::affinity::{fill_rule, tg_fill};
use crate::handle::{borrow, release};
use crate::memory::{borrow_slice, out_buffer, out_param, read_optional, write_optional};
use crate::options::tg_options;
use crate::status::{tg_status, FfiError};

/// The label `tg_session_groups` gives a task that has not arrived yet.
pub const TG_NO_GROUP: u32 = u32::MAX;

/// Arrival order of the tasks (values of `tg_session_settings.task_order`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_task_order {
    /// Tasks 0, 1, ..., n−1 (default).
    Identity = 0,
    /// A permutation drawn from the session seed.
    Shuffled = 1,
}

/// How each step picks the number of groups (values of `tg_session_settings.count_rule`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_count_rule {
    /// The largest value Σ_i density(C_i) (shift-invariant).
    Value = 0,
    /// The paper's rule: the largest average density.
    AverageDensity = 1,
    /// The largest drop in marginal gain.
    Elbow = 2,
    /// The largest count whose groups are separated on held-out subsets (default).
    Significant = 3,
}

/// How each step's subsets are drawn (values of `tg_session_settings.sampling`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_sampling {
    /// The paper's: the step's new batch plus one existing cluster.
    Paper = 0,
    /// Uniform subsets of every task seen.
    Uniform = 1,
    /// Weighted towards tasks trained in few subsets and tasks whose group is not settled
    /// (default).
    Adaptive = 2,
}

/// How each step estimates the affinity from the reported scores (values of
/// `tg_session_settings.estimator`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_affinity_estimator {
    /// Paper Eq. 6: mean score of i over the subsets containing i and j (default).
    HigherOrder = 0,
    /// The transfer part of the linear surrogate (paper App. B.3), which controls for the other
    /// members of each subset.
    Surrogate = 1,
    /// Eq. 6 on each task's standardised scores (default).
    Standardized = 2,
}

/// What `tg_session_report` did with a valid report.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_report_outcome {
    /// The scores were recorded.
    Recorded = 0,
    /// The request had already been reported with exactly these scores; nothing changed.
    AlreadyRecorded = 1,
}

/// Settings of an AdaGroup session; start from `tg_session_settings_default(n, max_groups,
/// steps)` and change fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct tg_session_settings {
    /// Number of tasks n, 1 ≤ n < 2³² (tasks are 0-based indices).
    pub n: usize,
    /// Largest number of groups, 1 ≤ max_groups ≤ n.
    pub max_groups: usize,
    /// Number of steps s, 1 ≤ s ≤ n: step t brings the t-th batch of about n/s new tasks.
    pub steps: usize,
    /// Subsets to train per step, ≤ 1000000; 0 = 5 × the batch size (default).
    pub subsets_per_step: usize,
    /// Tasks per subset, ≥ 2 (default 5).
    pub subset_size: usize,
    /// Seed of the subset draws and of the shuffled order (default 0).
    pub seed: u64,
    /// A `tg_task_order` value (default `TG_TASK_ORDER_IDENTITY`).
    pub task_order: u32,
    /// true (default): reported scores are "higher is better"; false: losses.
    pub higher_is_better: bool,
    /// A `tg_fill` value for pairs never trained together (default `TG_FILL_ROW_MEAN`).
    pub fill: u32,
    /// The value of `TG_FILL_CONSTANT` (finite; default 0).
    pub fill_constant: f64,
    /// A `tg_count_rule` value (default `TG_COUNT_RULE_SIGNIFICANT`).
    pub count_rule: u32,
    /// A `tg_affinity_estimator` value (default `TG_AFFINITY_ESTIMATOR_STANDARDIZED`).
    pub estimator: u32,
    /// Solver and rounding settings of every solve.
    pub group: tg_options,
    /// A `tg_sampling` value (default `TG_SAMPLING_ADAPTIVE`).
    pub sampling: u32,
    /// Times each distinct subset is requested in a step, 1..=100 (default 1).
    pub replicates: usize,
}

impl tg_session_settings {
    /// The library settings (every range checked).
    fn to_settings(self) -> Result<AdaGroupSettings, FfiError> {
        if u32::try_from(self.n).is_err() {
            return Err(FfiError::new(
                tg_status::InvalidSetting,
                format!(
                    "invalid setting `n`: {} tasks do not fit the uint32_t task indices",
                    self.n
                ),
            ));
        }
        let mut s = AdaGroupSettings::new(self.n, self.max_groups, self.steps);
        s.subsets_per_step = (self.subsets_per_step != 0).then_some(self.subsets_per_step);
        s.subset_size = self.subset_size;
        s.seed = self.seed;
        s.task_order = match self.task_order {
            0 => TaskOrder::Identity,
            1 => TaskOrder::Shuffled,
            v => {
                return Err(FfiError::unknown_enum(
                    "task_order",
                    v,
                    "TG_TASK_ORDER_IDENTITY or TG_TASK_ORDER_SHUFFLED",
                ))
            }
        };
        s.higher_is_better = self.higher_is_better;
        s.fill = fill_rule(self.fill, self.fill_constant)?;
        s.count_rule = match self.count_rule {
            0 => KRule::Value,
            1 => KRule::AverageDensity,
            2 => KRule::Elbow,
            3 => KRule::Significant,
            v => {
                return Err(FfiError::unknown_enum(
                    "count_rule",
                    v,
                    "TG_COUNT_RULE_VALUE, _AVERAGE_DENSITY, _ELBOW or _SIGNIFICANT",
                ))
            }
        };
        s.sampling = match self.sampling {
            0 => Sampling::Paper,
            1 => Sampling::Uniform,
            2 => Sampling::Adaptive,
            v => {
                return Err(FfiError::unknown_enum(
                    "sampling",
                    v,
                    "TG_SAMPLING_PAPER, _UNIFORM or _ADAPTIVE",
                ))
            }
        };
        s.replicates = self.replicates;
        s.estimator = match self.estimator {
            0 => AffinityEstimator::HigherOrder,
            1 => AffinityEstimator::Surrogate,
            2 => AffinityEstimator::Standardized,
            v => {
                return Err(FfiError::unknown_enum(
                    "estimator",
                    v,
                    "TG_AFFINITY_ESTIMATOR_HIGHER_ORDER, _SURROGATE or _STANDARDIZED",
                ))
            }
        };
        s.group = self.group.to_settings()?;
        s.validate()?;
        Ok(s)
    }
}

/// The default session settings for n tasks, at most `max_groups` groups, in `steps` steps.
#[no_mangle]
pub extern "C" fn tg_session_settings_default(
    n: usize,
    max_groups: usize,
    steps: usize,
) -> tg_session_settings {
    ffi_boundary!(value(default_settings(n, max_groups, steps)): {
        default_settings(n, max_groups, steps)
    })
}

fn default_settings(n: usize, max_groups: usize, steps: usize) -> tg_session_settings {
    let s = AdaGroupSettings::new(n, max_groups, steps);
    tg_session_settings {
        n,
        max_groups,
        steps,
        subsets_per_step: s.subsets_per_step.unwrap_or(0),
        subset_size: s.subset_size,
        seed: s.seed,
        task_order: tg_task_order::Identity as u32,
        higher_is_better: s.higher_is_better,
        fill: tg_fill::RowMean as u32,
        fill_constant: 0.0,
        count_rule: match s.count_rule {
            KRule::Value => tg_count_rule::Value,
            KRule::AverageDensity => tg_count_rule::AverageDensity,
            KRule::Elbow => tg_count_rule::Elbow,
            KRule::Significant => tg_count_rule::Significant,
        } as u32,
        estimator: match s.estimator {
            AffinityEstimator::HigherOrder => tg_affinity_estimator::HigherOrder,
            AffinityEstimator::Surrogate => tg_affinity_estimator::Surrogate,
            AffinityEstimator::Standardized => tg_affinity_estimator::Standardized,
        } as u32,
        group: tg_options::from(&s.group),
        sampling: match s.sampling {
            Sampling::Paper => tg_sampling::Paper,
            Sampling::Uniform => tg_sampling::Uniform,
            Sampling::Adaptive => tg_sampling::Adaptive,
        } as u32,
        replicates: s.replicates,
    }
}

/// An AdaGroup session (opaque). Create with `tg_session_new` or `tg_session_load`, free with
/// `tg_session_free`.
///
/// Threads: calls on one session are serialised (each locks it), but the handle is not meant to
/// be shared without the caller's own synchronisation; `tg_session_free` must not race other
/// calls (a free during a call returns `TG_STATUS_HANDLE_BUSY` and frees nothing).
pub struct tg_session {
    magic: u64,
    inner: Mutex<AdaGroupSession>,
}

tagged_handle!(tg_session, AdaGroupSession, 0x7467_5345_5353_494F); // "tgSESSIO"

/// The id of a request: step and index within the step (displayed as `s{step}-{index}`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tg_request_id {
    /// The step that issued it (0-based).
    pub step: u32,
    /// Its index within the step (0-based).
    pub index: u32,
}

/// Parses a request id displayed as `s{step}-{index}` (e.g. `s0-3`: decimal digits, no signs
/// or spaces; step and index in 0..=4294967295). `text` holds `len` bytes (no NUL needed; may
/// be NULL when `len` is 0). On success `*out` gets the id. Errors: `MALFORMED_REQUEST_ID`
/// (also for a step or index that does not fit `uint32_t`: it is refused, never truncated).
///
/// # Safety
/// `text` valid for reads of `len` bytes; `out` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_request_id_parse(
    text: *const c_char,
    len: usize,
    out: *mut tg_request_id,
) -> tg_status {
    ffi_boundary!(status: {
        let out = out_param(out, "out")?;
        // SAFETY: the caller's contract.
        let bytes = unsafe { borrow_slice(text.cast::<u8>(), len, "text") }?;
        let text = std::str::from_utf8(bytes).map_err(|_| Error::MalformedRequestId {
            reason: "it is not UTF-8 text",
        })?;
        let id: RequestId = text.parse()?;
        // SAFETY: the caller's contract.
        unsafe {
            out.set(tg_request_id {
                step: id.step,
                index: id.index,
            })
        };
        Ok(())
    })
}

/// A subset to train: its tasks are `tasks[first_task .. first_task + num_tasks]` of the
/// tasks buffer filled by the same `tg_session_next_requests` call (sorted, 0-based).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tg_request {
    /// Stable id, to pass back to `tg_session_report`.
    pub id: tg_request_id,
    /// Offset of its first task in the tasks buffer.
    pub first_task: usize,
    /// Number of tasks (scores to report).
    pub num_tasks: usize,
}

/// Where a session stands.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tg_session_progress {
    /// Number of tasks n.
    pub n: usize,
    /// Current step (0-based); equals `num_steps` when done.
    pub step: usize,
    /// Number of steps s.
    pub num_steps: usize,
    /// Every step has been advanced past.
    pub done: bool,
    /// Requests of the current step not yet reported.
    pub pending: usize,
    /// Requests of the current step already reported.
    pub reported: usize,
    /// Requests reported over the whole session.
    pub total_reported: usize,
    /// Tasks grouped so far.
    pub tasks_seen: usize,
    /// Current number of groups (0 before the first advance).
    pub num_groups: usize,
}

/// What one `tg_session_advance` did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct tg_step_summary {
    /// The step just completed (0-based).
    pub step: usize,
    /// Tasks grouped after this step.
    pub tasks_seen: usize,
    /// Number of groups chosen.
    pub num_groups: usize,
    /// Smallest group count searched.
    pub k_min: usize,
    /// Largest group count searched.
    pub k_max: usize,
    /// Σ_i density(C_i) of the chosen groups.
    pub value: f64,
    /// Average density of the chosen groups.
    pub average_density: f64,
    /// Fraction of pairs of seen tasks trained together at least once.
    pub pair_coverage: f64,
    /// Subsets trained in this step.
    pub subsets_trained: usize,
    /// Subsets trained so far.
    pub total_subsets_trained: usize,
    /// Directed affinity entries among the seen tasks filled by the fill rule.
    pub filled_entries: usize,
    /// The bound proves the chosen groups optimal for their count.
    pub certified_optimal: bool,
    /// The warm start (previous groups plus new tasks) beat the rounded SDP partition.
    pub from_warm_start: bool,
}

/// Starts a session (its first requests are ready at once). On success `*out` gets a new
/// handle, to free with `tg_session_free`.
///
/// # Safety
/// `settings` valid for reads; `out` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_new(
    settings: *const tg_session_settings,
    out: *mut *mut tg_session,
) -> tg_status {
    ffi_boundary!(status: {
        let out = out_param(out, "out")?;
        // SAFETY: the caller's contract.
        let s = unsafe { read_optional(settings) }.ok_or_else(|| FfiError::null("settings"))?;
        let session = AdaGroupSession::new(s.to_settings()?)?;
        // SAFETY: the caller's contract.
        unsafe { out.set(tg_session::new(session)) };
        Ok(())
    })
}

/// Frees a session. NULL is a no-op (`TG_STATUS_OK`); a freed or foreign pointer gives
/// `TG_STATUS_INVALID_HANDLE` and frees nothing.
///
/// Threads: the free must not race other calls on the same session. If another thread is
/// inside a call on it, this returns `TG_STATUS_HANDLE_BUSY` and frees nothing (free it after
/// that call returns); calls made after the free return `TG_STATUS_INVALID_HANDLE`.
///
/// # Safety
/// `session` NULL, or a pointer from this library (live or freed) that no call made after
/// this one uses, unless a later `_new` returned the same address.
#[no_mangle]
pub unsafe extern "C" fn tg_session_free(session: *mut tg_session) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        unsafe { release(session, "session") }
    })
}

/// Where the session stands (step, pending and reported counts, done).
///
/// # Safety
/// `session` a live handle; `out` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_get_progress(
    session: *const tg_session,
    out: *mut tg_session_progress,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(session, "session") }?;
        let out = out_param(out, "out")?;
        let s = h.lock();
        let p = tg_session_progress {
            n: s.settings().n,
            step: s.step(),
            num_steps: s.num_steps(),
            done: s.is_done(),
            pending: s.pending_count(),
            reported: s.reported_count(),
            total_reported: s.total_reported(),
            tasks_seen: s.tasks_seen().len(),
            num_groups: s.groups().len(),
        };
        // SAFETY: the caller's contract.
        unsafe { out.set(p) };
        Ok(())
    })
}

/// The current step's requests not yet reported. Request i's tasks are
/// `tasks[requests[i].first_task ..][.. requests[i].num_tasks]`.
///
/// `*num_requests` and `*num_tasks` get the counts written, on success, or the lengths needed
/// with `TG_STATUS_BUFFER_TOO_SMALL` (call with NULL buffers and lengths 0 to ask). Done
/// sessions have no requests.
///
/// # Safety
/// `session` a live handle; each buffer NULL (length 0) or valid for writes of its length;
/// `num_requests`, `num_tasks` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_next_requests(
    session: *const tg_session,
    requests: *mut tg_request,
    requests_len: usize,
    tasks: *mut u32,
    tasks_len: usize,
    num_requests: *mut usize,
    num_tasks: *mut usize,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(session, "session") }?;
        let count_out = out_param(num_requests, "num_requests")?;
        let tasks_count_out = out_param(num_tasks, "num_tasks")?;
        let req_buf = out_buffer(requests, requests_len, "requests")?;
        let task_buf = out_buffer(tasks, tasks_len, "tasks")?;
        let reqs = h.lock().next_requests();
        let mut flat_reqs = Vec::with_capacity(reqs.len());
        let mut flat_tasks: Vec<u32> = Vec::new();
        for r in &reqs {
            flat_reqs.push(tg_request {
                id: tg_request_id {
                    step: r.id.step,
                    index: r.id.index,
                },
                first_task: flat_tasks.len(),
                num_tasks: r.tasks.len(),
            });
            // Task indices are < n < 2³² (checked when the session was created).
            flat_tasks.extend(r.tasks.iter().map(|&t| t as u32));
        }
        if req_buf.len() < flat_reqs.len() || task_buf.len() < flat_tasks.len() {
            // SAFETY: the caller's contract; the counts are the one output of this error.
            unsafe {
                count_out.set(flat_reqs.len());
                tasks_count_out.set(flat_tasks.len());
            }
            let (name, have, need) = if req_buf.len() < flat_reqs.len() {
                ("requests", req_buf.len(), flat_reqs.len())
            } else {
                ("tasks", task_buf.len(), flat_tasks.len())
            };
            return Err(FfiError::new(
                tg_status::BufferTooSmall,
                format!(
                    "buffer `{name}` holds {have} elements but {need} are needed \
                     ({} requests with {} tasks in all)",
                    flat_reqs.len(),
                    flat_tasks.len()
                ),
            ));
        }
        // SAFETY: both buffers hold at least as many elements as written (checked above).
        unsafe {
            req_buf.write(&flat_reqs);
            task_buf.write(&flat_tasks);
            count_out.set(flat_reqs.len());
            tasks_count_out.set(flat_tasks.len());
        }
        Ok(())
    })
}

/// Records the scores of request `id`: `scores[i]` for the i-th task of the request.
/// `outcome` (may be NULL) tells whether the scores were new or a repeat of the same report.
///
/// Errors (nothing changed): `UNKNOWN_REQUEST`, `SCORE_COUNT_MISMATCH`, `NON_FINITE_SCORE`,
/// `CONFLICTING_REPORT` (reported before with other scores).
///
/// # Safety
/// `session` a live handle; `scores` valid for reads of `num_scores` doubles (NULL when 0);
/// `outcome` NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_report(
    session: *mut tg_session,
    id: tg_request_id,
    scores: *const f64,
    num_scores: usize,
    outcome: *mut tg_report_outcome,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(session.cast_const(), "session") }?;
        let scores = unsafe { borrow_slice(scores, num_scores, "scores") }?;
        let id = RequestId {
            step: id.step,
            index: id.index,
        };
        let o = match h.lock().report(id, scores)? {
            ReportOutcome::Recorded => tg_report_outcome::Recorded,
            ReportOutcome::AlreadyRecorded => tg_report_outcome::AlreadyRecorded,
        };
        // SAFETY: the caller's contract.
        unsafe { write_optional(outcome, o) };
        Ok(())
    })
}

/// Completes the current step (every request reported): aggregates the scores, re-solves,
/// picks the groups and issues the next step's requests. `summary` (may be NULL) gets what
/// the step did. Errors (nothing changed): `STEP_INCOMPLETE`, `SESSION_DONE`, solver errors.
///
/// # Safety
/// `session` a live handle; `summary` NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_advance(
    session: *mut tg_session,
    summary: *mut tg_step_summary,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(session.cast_const(), "session") }?;
        let mut s = h.lock();
        let st = s.advance()?;
        let row = st.table.get(st.chosen);
        let sum = tg_step_summary {
            step: st.step,
            tasks_seen: st.tasks_seen,
            num_groups: st.groups.len(),
            k_min: st.k_range.0,
            k_max: st.k_range.1,
            value: st.value,
            average_density: st.average_density,
            pair_coverage: st.pair_coverage,
            subsets_trained: st.subsets_trained,
            total_subsets_trained: st.total_subsets_trained,
            filled_entries: st.filled_entries,
            certified_optimal: row.is_some_and(|r| r.certified_optimal),
            from_warm_start: row.is_some_and(|r| r.from_warm_start),
        };
        // SAFETY: the caller's contract.
        unsafe { write_optional(summary, sum) };
        Ok(())
    })
}

/// The current groups as one label per task: `labels[t]` is the group of task t (groups
/// numbered by their smallest task), or `TG_NO_GROUP` for a task that has not arrived yet
/// (all tasks have a group once the session is done).
///
/// `labels_len` must be ≥ n; `labels_needed` (may be NULL) gets n on success and on
/// `TG_STATUS_BUFFER_TOO_SMALL`; `num_groups` (may be NULL) the number of groups.
///
/// # Safety
/// `session` a live handle; `labels` valid for writes of `labels_len` entries; the others NULL
/// or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_groups(
    session: *const tg_session,
    labels: *mut u32,
    labels_len: usize,
    labels_needed: *mut usize,
    num_groups: *mut usize,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(session, "session") }?;
        let s = h.lock();
        let n = s.settings().n;
        if labels_len < n {
            // SAFETY: the caller's contract; the needed length is the one output of this error.
            unsafe { write_optional(labels_needed, n) };
            return Err(FfiError::too_small("labels", labels_len, n));
        }
        let out = out_buffer(labels, labels_len, "labels")?;
        let mut l = vec![TG_NO_GROUP; n];
        for (g, members) in s.groups().iter().enumerate() {
            for &t in members {
                if let Some(slot) = l.get_mut(t) {
                    // Group count ≤ n < 2³².
                    *slot = g as u32;
                }
            }
        }
        // SAFETY: `out` holds ≥ n entries; the others are the caller's contract.
        unsafe {
            out.write(&l);
            write_optional(labels_needed, n);
            write_optional(num_groups, s.groups().len());
        }
        Ok(())
    })
}

/// The current affinity estimate of all n tasks (directed, filled; row-major n×n, `T_ij`: how
/// j helps i) into `affinity` and the number of distinct trained subsets behind each entry
/// (0 = filled) into `coverage` (either may be NULL with length 0 to skip it). With a buffer
/// shorter than n·n: `TG_STATUS_BUFFER_TOO_SMALL` and `*needed` = n·n.
///
/// # Safety
/// `session` a live handle; each buffer NULL (length 0) or valid for writes of its length;
/// `needed` NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_affinity(
    session: *const tg_session,
    affinity: *mut f64,
    affinity_len: usize,
    coverage: *mut u32,
    coverage_len: usize,
    needed: *mut usize,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(session, "session") }?;
        let s = h.lock();
        let n = s.settings().n;
        let nn = n * n;
        // SAFETY: the caller's contract.
        unsafe { write_optional(needed, nn) };
        if (!affinity.is_null() && affinity_len < nn) || (!coverage.is_null() && coverage_len < nn) {
            return Err(FfiError::too_small("affinity/coverage", affinity_len.min(coverage_len), nn));
        }
        let est = s.current_affinity()?;
        if !affinity.is_null() {
            let out = out_buffer(affinity, affinity_len, "affinity")?;
            // SAFETY: ≥ n·n entries checked above.
            unsafe { out.write(est.directed()) };
        }
        if !coverage.is_null() {
            let out = out_buffer(coverage, coverage_len, "coverage")?;
            // SAFETY: ≥ n·n entries checked above.
            unsafe { out.write(est.coverage()) };
        }
        Ok(())
    })
}

/// Per task, how settled its group is: `margin[t]` the assignment margin z (NaN for tasks not
/// grouped yet, +inf with one group) and `stability[t]` the fraction of `resamples` bootstrap
/// resamples of the trained subsets in which it stays closest to its own group (NaN when not
/// grouped); `*still_needed` an estimate of the subsets still needed to settle every task and
/// to test a larger count rejected for lack of data (`SIZE_MAX` when unknown). Buffers of length ≥ n (or NULL with length 0 to skip).
///
/// # Safety
/// `session` a live handle; buffers NULL (length 0) or valid for writes of their lengths;
/// `still_needed` NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_confidence(
    session: *const tg_session,
    resamples: usize,
    margin: *mut f64,
    margin_len: usize,
    stability: *mut f64,
    stability_len: usize,
    still_needed: *mut usize,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(session, "session") }?;
        let s = h.lock();
        let n = s.settings().n;
        if (!margin.is_null() && margin_len < n) || (!stability.is_null() && stability_len < n) {
            return Err(FfiError::too_small("margin/stability", margin_len.min(stability_len), n));
        }
        if !margin.is_null() {
            let m: Vec<f64> = s.assignment_margins()?.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect();
            let out = out_buffer(margin, margin_len, "margin")?;
            // SAFETY: ≥ n entries checked above.
            unsafe { out.write(&m) };
        }
        if !stability.is_null() {
            let st: Vec<f64> = s
                .assignment_stability(resamples)
                .into_iter()
                .map(|x| x.unwrap_or(f64::NAN))
                .collect();
            let out = out_buffer(stability, stability_len, "stability")?;
            // SAFETY: ≥ n entries checked above.
            unsafe { out.write(&st) };
        }
        // SAFETY: the caller's contract.
        unsafe { write_optional(still_needed, s.subsets_still_needed().unwrap_or(usize::MAX)) };
        Ok(())
    })
}

/// Every reported result, one row per (trained subset, member) in request-id order, members in
/// the request's order: `subset[r]` numbers the trained subset (0, 1, …; rows of one subset are
/// consecutive), `task[r]` the task and `score[r]` its reported score, as given. With buffers
/// shorter than the rows: `TG_STATUS_BUFFER_TOO_SMALL` and `*needed` = the number of rows.
///
/// # Safety
/// `session` a live handle; each buffer NULL (length 0) or valid for writes of `len` entries;
/// `needed` NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_results(
    session: *const tg_session,
    subset: *mut u32,
    task: *mut u32,
    score: *mut f64,
    len: usize,
    needed: *mut usize,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(session, "session") }?;
        let s = h.lock();
        let mut sub: Vec<u32> = Vec::new();
        let mut tk: Vec<u32> = Vec::new();
        let mut sc: Vec<f64> = Vec::new();
        let mut k = 0u32;
        for r in s.all_requests() {
            if let Some(v) = s.reported_scores(r.id) {
                for (&t, &x) in r.tasks.iter().zip(v) {
                    sub.push(k);
                    // n < 2³² (checked when the session was made).
                    tk.push(t as u32);
                    sc.push(x);
                }
                k = k.saturating_add(1);
            }
        }
        // SAFETY: the caller's contract.
        unsafe { write_optional(needed, sc.len()) };
        if len < sc.len() {
            return Err(FfiError::too_small("results", len, sc.len()));
        }
        for (ptr, name) in [(subset.is_null(), "subset"), (task.is_null(), "task"), (score.is_null(), "score")] {
            if ptr && !sc.is_empty() {
                return Err(FfiError::new(tg_status::NullArgument, format!("`{name}` is NULL")));
            }
        }
        if !sc.is_empty() {
            let o1 = out_buffer(subset, len, "subset")?;
            let o2 = out_buffer(task, len, "task")?;
            let o3 = out_buffer(score, len, "score")?;
            // SAFETY: each holds ≥ rows entries (checked above).
            unsafe {
                o1.write(&sub);
                o2.write(&tk);
                o3.write(&sc);
            }
        }
        Ok(())
    })
}

/// Writes a checkpoint of the session (format header, version and checksum included) into
/// `buf`. `*size` gets the bytes written on success, or the bytes needed with
/// `TG_STATUS_BUFFER_TOO_SMALL` (call with NULL and 0 to ask). Load it with `tg_session_load`,
/// in this process or another; continuing gives the same groups as never stopping.
///
/// # Safety
/// `session` a live handle; `buf` NULL (length 0) or valid for writes of `buf_len` bytes;
/// `size` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_save(
    session: *const tg_session,
    buf: *mut u8,
    buf_len: usize,
    size: *mut usize,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(session, "session") }?;
        let size = out_param(size, "size")?;
        let out = out_buffer(buf, buf_len, "buf")?;
        let bytes = save_checkpoint(&h.lock())?;
        if out.len() < bytes.len() {
            // SAFETY: the caller's contract; the needed size is the one output of this error.
            unsafe { size.set(bytes.len()) };
            return Err(FfiError::too_small("buf", buf_len, bytes.len()));
        }
        // SAFETY: `out` holds ≥ bytes.len() bytes.
        unsafe {
            out.write(&bytes);
            size.set(bytes.len());
        }
        Ok(())
    })
}

/// Restores a session from `len` bytes written by `tg_session_save`. On success `*out` gets a
/// new handle. Errors: `CORRUPT_CHECKPOINT` (truncated, wrong checksum, inconsistent),
/// `UNSUPPORTED_CHECKPOINT_VERSION`.
///
/// # Safety
/// `bytes` valid for reads of `len` bytes; `out` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_session_load(
    bytes: *const u8,
    len: usize,
    out: *mut *mut tg_session,
) -> tg_status {
    ffi_boundary!(status: {
        let out = out_param(out, "out")?;
        if bytes.is_null() {
            return Err(FfiError::null("bytes"));
        }
        // SAFETY: the caller's contract.
        let data = unsafe { borrow_slice(bytes, len, "bytes") }?;
        let session = load_checkpoint(data)?;
        // SAFETY: the caller's contract.
        unsafe { out.set(tg_session::new(session)) };
        Ok(())
    })
}

/// The session's checkpoint bytes.
fn save_checkpoint(s: &AdaGroupSession) -> Result<Vec<u8>, Error> {
    s.save()
}

/// A session from checkpoint bytes.
fn load_checkpoint(bytes: &[u8]) -> Result<AdaGroupSession, Error> {
    AdaGroupSession::load(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<tg_request_id, tg_status> {
        let mut id = tg_request_id { step: 7, index: 7 };
        // SAFETY: `text` holds `len` bytes; `id` is valid for writes.
        let s = unsafe { tg_request_id_parse(text.as_ptr().cast(), text.len(), &mut id) };
        if s == tg_status::Ok {
            Ok(id)
        } else {
            assert_eq!(id, tg_request_id { step: 7, index: 7 });
            Err(s)
        }
    }

    #[test]
    fn request_ids_parse_and_out_of_range_ones_are_refused() {
        assert_eq!(parse("s0-3"), Ok(tg_request_id { step: 0, index: 3 }));
        assert_eq!(
            parse("s4294967295-4294967295"),
            Ok(tg_request_id {
                step: u32::MAX,
                index: u32::MAX
            })
        );
        for bad in [
            "s4294967296-0",
            "s0-4294967296",
            "s18446744073709551621-1",
            "x0-1",
            "s-1-2",
            "s+1-2",
            "s1",
            "",
            "s 1-2",
        ] {
            assert_eq!(parse(bad), Err(tg_status::MalformedRequestId), "{bad}");
        }
    }

    #[test]
    fn freeing_a_session_in_use_is_refused() {
        let settings = tg_session_settings_default(6, 2, 2);
        let mut h: *mut tg_session = std::ptr::null_mut();
        // SAFETY: valid pointers; `h` is a live handle until freed below.
        unsafe {
            assert_eq!(tg_session_new(&settings, &mut h), tg_status::Ok);
            // Another call is inside the session (what a call on another thread holds).
            let in_use = borrow(h.cast_const(), "session").unwrap();
            assert_eq!(tg_session_free(h), tg_status::HandleBusy);
            // Still live and usable.
            let mut p = std::mem::MaybeUninit::<tg_session_progress>::uninit();
            assert_eq!(tg_session_get_progress(h, p.as_mut_ptr()), tg_status::Ok);
            assert_eq!(p.assume_init().n, 6);
            drop(in_use);
            assert_eq!(tg_session_free(h), tg_status::Ok);
            assert_eq!(
                tg_session_get_progress(h, p.as_mut_ptr()),
                tg_status::InvalidHandle
            );
            assert_eq!(tg_session_free(h), tg_status::InvalidHandle);
        }
    }
}
