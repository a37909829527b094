//! Checkpoints of AdaGroup sessions: [`AdaGroupSession::save`] and [`AdaGroupSession::load`].
//!
//! Layout (all integers little-endian):
//! `MAGIC (8 bytes) | format version (u32) | payload length (u64) | FNV-1a-64 of the payload (u64) | payload`,
//! the payload being the session encoded with bincode 2 (standard configuration). A truncated
//! or corrupt file (wrong magic, wrong length, checksum mismatch, undecodable or inconsistent
//! payload) is `Error::CorruptCheckpoint`; a newer format is
//! `Error::UnsupportedCheckpointVersion`. Loading rebuilds the derived record store from the
//! reports and re-checks every invariant, so a loaded session continues exactly like the one that
//! was saved.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::adagroup::{
    AdaGroupSession, AdaGroupSettings, AffinityEstimator, GroupCountRow, Request, RequestId,
    Sampling, StepSummary, TaskOrder,
};
use super::aggregate::{AffinityBuilder, FillRule};
use crate::error::Error;
use crate::group::GroupSettings;
use crate::ksearch::KRule;
use crate::round::{Rounding, RoundingSettings};
use crate::sdp::{ProjectionMethod, SolverSettings};

/// The first 8 bytes of every checkpoint.
pub const MAGIC: [u8; 8] = *b"TGSESS\r\n";
/// The format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 2;
/// Bytes before the payload.
const HEADER_LEN: usize = 8 + 4 + 8 + 8;

/// FNV-1a, 64 bit: the payload checksum.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[derive(bincode::Encode, bincode::Decode)]
struct SolverWire {
    tolerance: f64,
    max_iterations: u64,
    rho: Option<f64>,
    adapt_rho_every: u64,
    rho_balance: f64,
    relaxation: f64,
    projection: u8,
}

#[derive(bincode::Encode, bincode::Decode)]
struct RoundingWire {
    threshold_c: Option<f64>,
    seed: u64,
    kmeans_restarts: u64,
    local_search: bool,
}

/// The settings (format 2): format 1's fields, then the sampling rule and the replicates. A
/// nested struct encodes as its fields in order, so these are the same bytes as one flat list.
#[derive(bincode::Encode, bincode::Decode)]
struct SettingsWire {
    base: SettingsWireV1,
    sampling: Sampling,
    replicates: u64,
}

/// Format 1's settings (the first fields of format 2's): no sampling rule (the paper's) and no
/// replicates.
#[derive(bincode::Encode, bincode::Decode)]
struct SettingsWireV1 {
    n: u64,
    max_groups: u64,
    steps: u64,
    subsets_per_step: Option<u64>,
    subset_size: u64,
    seed: u64,
    task_order: TaskOrder,
    higher_is_better: bool,
    fill: FillRule,
    count_rule: KRule,
    estimator: AffinityEstimator,
    solver: SolverWire,
    rounding: RoundingWire,
}

/// Format 1's table row (no separation test).
#[derive(bincode::Encode, bincode::Decode)]
struct GroupCountRowV1 {
    k: usize,
    groups: usize,
    value: f64,
    average_density: f64,
    upper_bound: Option<f64>,
    certified_optimal: bool,
    from_warm_start: bool,
    elbow_score: Option<f64>,
    in_range: bool,
}

/// Format 1's step summary.
#[derive(bincode::Encode, bincode::Decode)]
struct StepSummaryV1 {
    step: usize,
    new_tasks: Vec<usize>,
    subsets_trained: usize,
    total_subsets_trained: usize,
    tasks_seen: usize,
    pair_coverage: f64,
    filled_entries: usize,
    k_range: (usize, usize),
    table: Vec<GroupCountRowV1>,
    chosen: usize,
    groups: Vec<Vec<usize>>,
    value: f64,
    average_density: f64,
}

#[derive(bincode::Encode, bincode::Decode)]
struct SessionWireV1 {
    settings: SettingsWireV1,
    order: Vec<u64>,
    step: u64,
    requests: Vec<Request>,
    reports: Vec<(RequestId, Vec<f64>)>,
    groups: Vec<Vec<u64>>,
    history: Vec<StepSummaryV1>,
}

impl SessionWireV1 {
    /// A format-1 session as format 2: the paper's sampling, no replicates, no separation test.
    fn upgrade(self) -> SessionWire {
        SessionWire {
            settings: SettingsWire {
                base: self.settings,
                sampling: Sampling::Paper,
                replicates: 1,
            },
            order: self.order,
            step: self.step,
            requests: self.requests,
            reports: self.reports,
            groups: self.groups,
            history: self
                .history
                .into_iter()
                .map(|h| StepSummary {
                    step: h.step,
                    new_tasks: h.new_tasks,
                    subsets_trained: h.subsets_trained,
                    total_subsets_trained: h.total_subsets_trained,
                    tasks_seen: h.tasks_seen,
                    pair_coverage: h.pair_coverage,
                    filled_entries: h.filled_entries,
                    k_range: h.k_range,
                    table: h
                        .table
                        .into_iter()
                        .map(|r| GroupCountRow {
                            k: r.k,
                            groups: r.groups,
                            value: r.value,
                            average_density: r.average_density,
                            upper_bound: r.upper_bound,
                            certified_optimal: r.certified_optimal,
                            from_warm_start: r.from_warm_start,
                            elbow_score: r.elbow_score,
                            in_range: r.in_range,
                            separation: None,
                            critical_z: None,
                            effect: None,
                        })
                        .collect(),
                    chosen: h.chosen,
                    groups: h.groups,
                    value: h.value,
                    average_density: h.average_density,
                })
                .collect(),
        }
    }
}

#[derive(bincode::Encode, bincode::Decode)]
struct SessionWire {
    settings: SettingsWire,
    order: Vec<u64>,
    step: u64,
    requests: Vec<Request>,
    reports: Vec<(RequestId, Vec<f64>)>,
    groups: Vec<Vec<u64>>,
    history: Vec<StepSummary>,
}

fn corrupt(reason: &'static str) -> Error {
    Error::CorruptCheckpoint { reason }
}

fn to_usize(x: u64) -> Result<usize, Error> {
    usize::try_from(x).map_err(|_| corrupt("a number does not fit this platform"))
}

impl SettingsWire {
    fn from(s: &AdaGroupSettings) -> Self {
        let sv = &s.group.solver;
        let ro = &s.group.rounding;
        let base = SettingsWireV1 {
            n: s.n as u64,
            max_groups: s.max_groups as u64,
            steps: s.steps as u64,
            subsets_per_step: s.subsets_per_step.map(|m| m as u64),
            subset_size: s.subset_size as u64,
            seed: s.seed,
            task_order: s.task_order.clone(),
            higher_is_better: s.higher_is_better,
            fill: s.fill,
            count_rule: s.count_rule,
            estimator: s.estimator,
            solver: SolverWire {
                tolerance: sv.tolerance,
                max_iterations: sv.max_iterations as u64,
                rho: sv.rho,
                adapt_rho_every: sv.adapt_rho_every as u64,
                rho_balance: sv.rho_balance,
                relaxation: sv.relaxation,
                projection: match sv.projection {
                    ProjectionMethod::Auto => 0,
                    ProjectionMethod::Full => 1,
                    ProjectionMethod::LowRank => 2,
                },
            },
            rounding: RoundingWire {
                threshold_c: match ro.mode {
                    Rounding::Robust => None,
                    Rounding::Threshold { c } => Some(c),
                },
                seed: ro.seed,
                kmeans_restarts: ro.kmeans_restarts as u64,
                local_search: ro.local_search,
            },
        };
        SettingsWire {
            base,
            sampling: s.sampling,
            replicates: s.replicates as u64,
        }
    }

    fn into_settings(self) -> Result<AdaGroupSettings, Error> {
        let SettingsWire {
            base: b,
            sampling,
            replicates,
        } = self;
        let (w, r) = (b.solver, b.rounding);
        Ok(AdaGroupSettings {
            n: to_usize(b.n)?,
            max_groups: to_usize(b.max_groups)?,
            steps: to_usize(b.steps)?,
            subsets_per_step: b.subsets_per_step.map(to_usize).transpose()?,
            subset_size: to_usize(b.subset_size)?,
            seed: b.seed,
            task_order: b.task_order,
            higher_is_better: b.higher_is_better,
            fill: b.fill,
            count_rule: b.count_rule,
            estimator: b.estimator,
            sampling,
            replicates: to_usize(replicates)?,
            group: GroupSettings {
                solver: SolverSettings {
                    tolerance: w.tolerance,
                    max_iterations: to_usize(w.max_iterations)?,
                    rho: w.rho,
                    adapt_rho_every: to_usize(w.adapt_rho_every)?,
                    rho_balance: w.rho_balance,
                    relaxation: w.relaxation,
                    projection: match w.projection {
                        0 => ProjectionMethod::Auto,
                        1 => ProjectionMethod::Full,
                        2 => ProjectionMethod::LowRank,
                        _ => return Err(corrupt("unknown projection method")),
                    },
                    // Not stored (format 1): a loaded session chooses the path by n.
                    path: crate::sdp::SolverPath::Auto,
                    // Not stored (format unchanged): sessions use the default stopping rule.
                    stop: crate::sdp::Stop::default(),
                    // Not stored: a loaded session's factored path stores C as f64.
                    storage: crate::sdp::Storage::F64,
                    anderson: SolverSettings::default().anderson,
                },
                rounding: RoundingSettings {
                    mode: match r.threshold_c {
                        None => Rounding::Robust,
                        Some(c) => Rounding::Threshold { c },
                    },
                    seed: r.seed,
                    kmeans_restarts: to_usize(r.kmeans_restarts)?,
                    local_search: r.local_search,
                },
            },
        })
    }
}

impl AdaGroupSession {
    /// The session as checkpoint bytes (header, checksum, bincode payload); see the module docs.
    pub fn save(&self) -> Result<Vec<u8>, Error> {
        let wire = SessionWire {
            settings: SettingsWire::from(&self.settings),
            order: self.order.iter().map(|&t| t as u64).collect(),
            step: self.step as u64,
            requests: self.requests.clone(),
            reports: self
                .reports
                .iter()
                .map(|(id, s)| (*id, s.clone()))
                .collect(),
            groups: self
                .groups
                .iter()
                .map(|g| g.iter().map(|&t| t as u64).collect())
                .collect(),
            history: self.history.clone(),
        };
        let payload = bincode::encode_to_vec(&wire, bincode::config::standard())
            .map_err(|_| Error::CheckpointEncode)?;
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&fnv1a64(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Restores a session from [`AdaGroupSession::save`]'s bytes; never panics on any input.
    pub fn load(bytes: &[u8]) -> Result<AdaGroupSession, Error> {
        if bytes.len() < HEADER_LEN {
            return Err(corrupt(
                "the file is shorter than the checkpoint header (truncated?)",
            ));
        }
        if bytes[..8] != MAGIC {
            return Err(corrupt(
                "not a taskgroup session checkpoint (wrong magic bytes)",
            ));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(a)
        };
        let version = u32_at(8);
        if version == 0 {
            return Err(corrupt("format version 0 does not exist"));
        }
        if version > FORMAT_VERSION {
            return Err(Error::UnsupportedCheckpointVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let len = u64_at(12);
        let payload = &bytes[HEADER_LEN..];
        if (payload.len() as u64) < len {
            return Err(corrupt(
                "the payload is shorter than its header says (truncated)",
            ));
        }
        if (payload.len() as u64) > len {
            return Err(corrupt("trailing bytes after the payload"));
        }
        if fnv1a64(payload) != u64_at(20) {
            return Err(corrupt(
                "checksum mismatch: the file was modified or damaged",
            ));
        }
        let config = bincode::config::standard().with_limit::<{ 1 << 30 }>();
        let (wire, used): (SessionWire, usize) = if version == 1 {
            let (w, used): (SessionWireV1, usize) = bincode::decode_from_slice(payload, config)
                .map_err(|_| corrupt("the payload does not decode (format 1)"))?;
            (w.upgrade(), used)
        } else {
            bincode::decode_from_slice(payload, config)
                .map_err(|_| corrupt("the payload does not decode"))?
        };
        if used != payload.len() {
            return Err(corrupt("the payload has undecoded bytes"));
        }
        Self::from_wire(wire)
    }

    fn from_wire(w: SessionWire) -> Result<AdaGroupSession, Error> {
        let settings = w.settings.into_settings()?;
        settings
            .validate()
            .map_err(|_| corrupt("the settings are out of range"))?;
        let n = settings.n;
        // Before anything of size n is built: n must match what the payload actually holds.
        if w.order.len() != n {
            return Err(corrupt("the task order does not list n tasks"));
        }
        let order: Vec<usize> = w
            .order
            .into_iter()
            .map(to_usize)
            .collect::<Result<_, _>>()?;
        if order != settings.resolved_order() {
            return Err(corrupt("the task order does not match the settings"));
        }
        let step = to_usize(w.step)?;
        if step > settings.steps || w.history.len() != step {
            return Err(corrupt("the step counter and the history disagree"));
        }
        let mut requests = w.requests;
        if requests.windows(2).any(|p| p[0].id >= p[1].id) {
            return Err(corrupt("requests are not sorted by id or repeat an id"));
        }
        for r in &mut requests {
            if r.id.step as usize > step || r.tasks.is_empty() || r.tasks.iter().any(|&t| t >= n) {
                return Err(corrupt("a request is out of range"));
            }
            if r.tasks.windows(2).any(|p| p[0] >= p[1]) {
                return Err(corrupt("a request's tasks are not sorted and distinct"));
            }
        }
        let mut records = AffinityBuilder::new(n)?;
        let mut reports = BTreeMap::new();
        for (id, scores) in w.reports {
            let req = requests
                .binary_search_by(|r| r.id.cmp(&id))
                .ok()
                .and_then(|i| requests.get(i))
                .ok_or(corrupt("a report names a request that was never issued"))?;
            records
                .add_subset(&req.tasks, &scores)
                .map_err(|_| corrupt("a report does not fit its request"))?;
            if reports.insert(id, scores).is_some() {
                return Err(corrupt("a request is reported twice"));
            }
        }
        let groups: Vec<Vec<usize>> = w
            .groups
            .into_iter()
            .map(|g| g.into_iter().map(to_usize).collect::<Result<Vec<_>, _>>())
            .collect::<Result<_, _>>()?;
        if groups.iter().flatten().any(|&t| t >= n) {
            return Err(corrupt("a group holds a task out of range"));
        }
        let s = AdaGroupSession {
            settings,
            order,
            step,
            requests,
            reports,
            groups,
            history: w.history,
            records,
        };
        // Every request of an earlier step must be reported (steps advance only when complete).
        if s.requests
            .iter()
            .any(|r| (r.id.step as usize) < step && !s.reports.contains_key(&r.id))
        {
            return Err(corrupt("an earlier step has unreported requests"));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session with `settings` after its first step (fixed scores for every request).
    fn after_first_step(settings: AdaGroupSettings) -> AdaGroupSession {
        let mut s = AdaGroupSession::new(settings).unwrap();
        for (i, r) in s.next_requests().into_iter().enumerate() {
            let sc: Vec<f64> = r.tasks.iter().map(|&t| (t * 7 + i) as f64 * 0.01).collect();
            s.report(r.id, &sc).unwrap();
        }
        s.advance().unwrap();
        s
    }

    fn session() -> AdaGroupSession {
        let mut s = after_first_step(AdaGroupSettings::new(12, 3, 3));
        let r = s.next_requests()[0].clone();
        s.report(r.id, &alloc::vec![0.5; r.tasks.len()]).unwrap();
        s
    }

    #[test]
    fn round_trip_is_exact() {
        let s = session();
        let b = s.save().unwrap();
        let t = AdaGroupSession::load(&b).unwrap();
        assert_eq!(s, t);
        assert_eq!(t.save().unwrap(), b);
    }

    #[test]
    fn damage_is_detected_and_never_panics() {
        let b = session().save().unwrap();
        for cut in 0..b.len() {
            assert!(
                AdaGroupSession::load(&b[..cut]).is_err(),
                "prefix {cut} accepted"
            );
        }
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x10;
            assert!(AdaGroupSession::load(&c).is_err(), "flip at {i} accepted");
        }
        let mut future = b.clone();
        future[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert_eq!(
            AdaGroupSession::load(&future).unwrap_err(),
            Error::UnsupportedCheckpointVersion {
                found: FORMAT_VERSION + 1,
                supported: FORMAT_VERSION
            }
        );
    }

    /// A format-1 checkpoint (written before sampling rules and replicates existed) still
    /// loads, as a session with the paper's sampling, and continues.
    #[test]
    fn format_1_checkpoints_still_load() {
        let mut st = AdaGroupSettings::paper(12, 3, 3);
        st.count_rule = KRule::Value;
        let s = after_first_step(st);
        let w = SettingsWire::from(&s.settings);
        let v1 = SessionWireV1 {
            settings: w.base,
            order: s.order.iter().map(|&t| t as u64).collect(),
            step: s.step as u64,
            requests: s.requests.clone(),
            reports: s.reports.iter().map(|(id, v)| (*id, v.clone())).collect(),
            groups: s
                .groups
                .iter()
                .map(|g| g.iter().map(|&t| t as u64).collect())
                .collect(),
            history: s
                .history
                .iter()
                .map(|h| StepSummaryV1 {
                    step: h.step,
                    new_tasks: h.new_tasks.clone(),
                    subsets_trained: h.subsets_trained,
                    total_subsets_trained: h.total_subsets_trained,
                    tasks_seen: h.tasks_seen,
                    pair_coverage: h.pair_coverage,
                    filled_entries: h.filled_entries,
                    k_range: h.k_range,
                    table: h
                        .table
                        .iter()
                        .map(|r| GroupCountRowV1 {
                            k: r.k,
                            groups: r.groups,
                            value: r.value,
                            average_density: r.average_density,
                            upper_bound: r.upper_bound,
                            certified_optimal: r.certified_optimal,
                            from_warm_start: r.from_warm_start,
                            elbow_score: r.elbow_score,
                            in_range: r.in_range,
                        })
                        .collect(),
                    chosen: h.chosen,
                    groups: h.groups.clone(),
                    value: h.value,
                    average_density: h.average_density,
                })
                .collect(),
        };
        let payload = bincode::encode_to_vec(&v1, bincode::config::standard()).unwrap();
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        b.extend_from_slice(&fnv1a64(&payload).to_le_bytes());
        b.extend_from_slice(&payload);
        let mut t = AdaGroupSession::load(&b).unwrap();
        assert_eq!(t.settings().sampling, Sampling::Paper);
        assert_eq!(t.settings().replicates, 1);
        assert_eq!(t, s);
        for r in t.next_requests() {
            t.report(r.id, &alloc::vec![0.5; r.tasks.len()]).unwrap();
        }
        t.advance().unwrap();
    }
}
