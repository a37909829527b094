//! One interface over every grouping method, for evaluations and comparisons.
//!
//! [`run_method`] takes the same input (an [`Affinity`], k, a seed) for the SDP path (robust or
//! the paper's threshold rounding) and for the baselines (spectral clustering, Lloyd's k-means),
//! and returns the same [`MethodOutcome`]: the partition, its value and average density on the
//! affinity that was grouped, and, for SDP methods only, the certificate (upper bound, gap,
//! certified flag) and the solver's iterations and status.
//!
//! [`run_case`] adds the normalisation step ([`Normalization`]) and scores the outcome against a
//! benchmark case's ground truth on the case's *raw* affinity, so that methods run on different
//! normalisations are compared by the same objective. Timing is left to the caller (no clock in
//! `no_std`).

use core::fmt;
use core::str::FromStr;

use crate::baselines::{lloyd_kmeans, spectral_clustering, BaselineSettings};
use crate::benchmark::Case;
use crate::metrics::adjusted_rand_index;
use taskgroup_core::normalize::{normalize, Normalization};
use taskgroup_core::Affinity;
use taskgroup_core::Error;
use taskgroup_core::Partition;
use taskgroup_core::SolverStatus;
use taskgroup_core::{group, GroupSettings};
use taskgroup_core::{Rounding, RoundingSettings};
use taskgroup_core::{SolverPath, Stop};

/// A grouping method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// SDP relaxation + robust rounding (exactly k groups) + certificate.
    SdpRobust,
    /// SDP relaxation + the paper's threshold rounding (components of X_uv > c/n); the number of
    /// groups found may differ from k.
    SdpThreshold {
        /// Threshold multiplier c (> 0, finite; the paper: 1).
        c: f64,
    },
    /// Spectral clustering (Ng–Jordan–Weiss) on the affinity shifted to be non-negative.
    Spectral,
    /// Lloyd's k-means on the rows of the affinity.
    Lloyd,
}

impl Method {
    /// The methods the paper compares, in table order: SDP robust, SDP threshold with c = 1,
    /// spectral, Lloyd.
    pub const PAPER: [Method; 4] = [
        Method::SdpRobust,
        Method::SdpThreshold { c: 1.0 },
        Method::Spectral,
        Method::Lloyd,
    ];

    /// The method's family name: `sdp-robust`, `sdp-threshold`, `spectral` or `lloyd`
    /// (without the threshold's c; [`fmt::Display`] adds it, e.g. `sdp-threshold(c=1)`).
    pub fn name(&self) -> &'static str {
        match self {
            Method::SdpRobust => "sdp-robust",
            Method::SdpThreshold { .. } => "sdp-threshold",
            Method::Spectral => "spectral",
            Method::Lloyd => "lloyd",
        }
    }

    /// Whether the method solves the SDP (and so reports a bound, gap and iterations).
    pub fn is_sdp(&self) -> bool {
        matches!(self, Method::SdpRobust | Method::SdpThreshold { .. })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Method::SdpThreshold { c } => write!(f, "sdp-threshold(c={c})"),
            m => f.write_str(m.name()),
        }
    }
}

const METHOD_NAMES: &str =
    "sdp-robust, sdp-threshold, sdp-threshold(c=C), sdp-threshold=C, spectral, lloyd";

impl FromStr for Method {
    type Err = Error;

    /// Parses `sdp-robust` (or `sdp`), `sdp-threshold` (c = 1), `sdp-threshold=C` or
    /// `sdp-threshold(c=C)` (C a positive number), `spectral`, `lloyd` (or `kmeans`); ASCII
    /// case-insensitive. The output of [`fmt::Display`] parses back to the same method.
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        let unknown = || Error::UnknownName {
            kind: "method",
            name: t.into(),
            expected: METHOD_NAMES,
        };
        let m = match lower.as_str() {
            "sdp-robust" | "sdp" => Method::SdpRobust,
            "sdp-threshold" => Method::SdpThreshold { c: 1.0 },
            "spectral" => Method::Spectral,
            "lloyd" | "kmeans" => Method::Lloyd,
            other => {
                let c = if let Some(rest) = other.strip_prefix("sdp-threshold=") {
                    rest
                } else if let Some(rest) = other
                    .strip_prefix("sdp-threshold(c=")
                    .and_then(|r| r.strip_suffix(')'))
                {
                    rest
                } else {
                    return Err(unknown());
                };
                let c: f64 = c.trim().parse().map_err(|_| unknown())?;
                if !(c.is_finite() && c > 0.0) {
                    return Err(Error::InvalidSetting {
                        name: "rounding.c",
                        reason: "must be finite and > 0",
                    });
                }
                Method::SdpThreshold { c }
            }
        };
        Ok(m)
    }
}

/// The result of one method on one affinity, the same shape for every method.
#[derive(Debug, Clone)]
pub struct MethodOutcome {
    /// The method that ran.
    pub method: Method,
    /// The number of groups asked for.
    pub k: usize,
    /// The groups found (exactly k, except possibly for `SdpThreshold`).
    pub partition: Partition,
    /// ⟨T, X_partition⟩ = Σ_i d_{C_i} on the affinity that was grouped, in its units.
    pub value: f64,
    /// value / number of groups found (paper Eq. 2).
    pub average_density: f64,
    /// SDP methods: upper bound on the value of every partition into k groups; `None` for
    /// baselines and when the partition does not have k groups.
    pub upper_bound: Option<f64>,
    /// SDP methods: (upper_bound − value)/|upper_bound|; `None` as for `upper_bound`.
    pub gap: Option<f64>,
    /// SDP methods: the partition is certified optimal among partitions into k groups
    /// (see [`taskgroup_core::CERTIFY_TOLERANCE`]); `None` for baselines.
    pub certified_optimal: Option<bool>,
    /// SDP methods: ADMM iterations; `None` for baselines.
    pub iterations: Option<usize>,
    /// SDP methods: how the solver ended; `None` for baselines.
    pub status: Option<SolverStatus>,
    /// SDP methods: the SDP objective ⟨T, X⟩ of the final iterate; `None` for baselines.
    pub sdp_objective: Option<f64>,
}

/// Runs `method` on `t` for k groups with default solver settings; `seed` seeds the robust
/// rounding's and the baselines' k-means restarts. Errors: k ∉ 1..=n, a threshold c that is not
/// finite and positive, numerical failures of the baselines.
pub fn run_method(
    t: &Affinity,
    k: usize,
    method: Method,
    seed: u64,
) -> Result<MethodOutcome, Error> {
    let n = t.n();
    if k == 0 || k > n {
        return Err(Error::InvalidK { k, n });
    }
    match method {
        Method::SdpRobust | Method::SdpThreshold { .. } => {
            let mode = match method {
                Method::SdpThreshold { c } => Rounding::Threshold { c },
                _ => Rounding::Robust,
            };
            let settings = GroupSettings {
                rounding: RoundingSettings {
                    mode,
                    seed,
                    ..RoundingSettings::default()
                },
                ..GroupSettings::default()
            };
            let r = group(t, k, &settings)?;
            Ok(MethodOutcome {
                method,
                k,
                partition: r.partition,
                value: r.value,
                average_density: r.average_density,
                upper_bound: r.upper_bound,
                gap: r.gap,
                certified_optimal: Some(r.certified_optimal),
                iterations: Some(r.sdp.iterations),
                status: Some(r.sdp.status),
                sdp_objective: Some(r.sdp.objective),
            })
        }
        Method::Spectral | Method::Lloyd => {
            let s = BaselineSettings::with_seed(seed);
            let partition = if method == Method::Spectral {
                spectral_clustering(t, k, &s)?
            } else {
                lloyd_kmeans(t, k, &s)?
            };
            let value = partition.value(t)?;
            Ok(MethodOutcome {
                method,
                k,
                average_density: value / partition.num_groups() as f64,
                partition,
                value,
                upper_bound: None,
                gap: None,
                certified_optimal: None,
                iterations: None,
                status: None,
                sdp_objective: None,
            })
        }
    }
}

/// A method's outcome on a benchmark case, scored against the case's ground truth.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    /// The normalisation applied before grouping.
    pub normalization: Normalization,
    /// The method's outcome on the normalised affinity (its `value` is in normalised units).
    pub outcome: MethodOutcome,
    /// The partition equals the ground truth.
    pub recovered: bool,
    /// Adjusted Rand index of the partition against the ground truth.
    pub ari: f64,
    /// Value ⟨T, X_partition⟩ of the partition on the case's raw affinity.
    pub raw_value: f64,
    /// Value of the ground truth on the case's raw affinity.
    pub truth_value: f64,
}

/// Normalises the case's directed scores by `how` ([`taskgroup_core::normalize::normalize_scores`]),
/// runs `method` for the case's k, and scores the partition against the ground truth.
pub fn run_case(
    case: &Case,
    method: Method,
    how: Normalization,
    seed: u64,
) -> Result<CaseOutcome, Error> {
    let grouped = if how == Normalization::None {
        case.affinity.clone()
    } else {
        taskgroup_core::normalize::normalize_scores(&case.scores, case.affinity.n(), how)?
    };
    let outcome = run_method(&grouped, case.k, method, seed)?;
    let ari = adjusted_rand_index(&outcome.partition, &case.truth)?;
    Ok(CaseOutcome {
        normalization: how,
        recovered: outcome.partition == case.truth,
        ari,
        raw_value: outcome.partition.value(&case.affinity)?,
        truth_value: case.truth.value(&case.affinity)?,
        outcome,
    })
}

/// Counts over a set of case outcomes (one method, one normalisation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of cases.
    pub cases: usize,
    /// Cases whose ground truth was recovered exactly.
    pub recovered: usize,
    /// Mean adjusted Rand index (0 when there are no cases).
    pub mean_ari: f64,
}

/// Summarises outcomes: number of cases, exact recoveries and mean ARI.
pub fn summarize(outcomes: &[CaseOutcome]) -> Summary {
    let cases = outcomes.len();
    let recovered = outcomes.iter().filter(|o| o.recovered).count();
    let mean_ari = if cases > 0 {
        outcomes.iter().map(|o| o.ari).sum::<f64>() / cases as f64
    } else {
        0.0
    };
    Summary {
        cases,
        recovered,
        mean_ari,
    }
}

/// Convenience: normalise `t` by `how`, then [`run_method`] on the result.
pub fn run_normalized(
    t: &Affinity,
    how: Normalization,
    k: usize,
    method: Method,
    seed: u64,
) -> Result<MethodOutcome, Error> {
    let g = normalize(t, how)?;
    run_method(&g, k, method, seed)
}

/// Default settings on solver `path`; ADMM solves the SDP to its tolerance
/// ([`Stop::Converged`]), so that its objective is the relaxation's value that every valid
/// bound must reach (an early-stopped iterate's is not).
pub fn path_settings(path: SolverPath) -> GroupSettings {
    let mut s = GroupSettings::default();
    s.solver.path = path;
    if path == SolverPath::Admm {
        s.solver.stop = Stop::Converged;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn names_parse_back() {
        for m in [
            Method::SdpRobust,
            Method::SdpThreshold { c: 1.0 },
            Method::SdpThreshold { c: 1.5 },
            Method::Spectral,
            Method::Lloyd,
        ] {
            assert_eq!(m.to_string().parse::<Method>().unwrap(), m);
        }
        assert_eq!(
            "sdp-threshold=2".parse::<Method>().unwrap(),
            Method::SdpThreshold { c: 2.0 }
        );
        assert!("sdp-threshold=-1".parse::<Method>().is_err());
        assert!(matches!(
            "louvain".parse::<Method>(),
            Err(Error::UnknownName { .. })
        ));
    }

    #[test]
    fn every_method_same_shape() {
        let labels = [0, 0, 1, 1, 2, 2];
        let n = labels.len();
        let mut d = vec![0.0; n * n];
        for u in 0..n {
            for v in 0..n {
                d[u * n + v] = if labels[u] == labels[v] { 3.0 } else { 0.0 } + 0.01 * u as f64;
            }
        }
        let t = Affinity::from_row_major(&d, n).unwrap();
        let truth = Partition::from_labels(&labels).unwrap();
        for m in Method::PAPER {
            let o = run_method(&t, 3, m, 0).unwrap();
            assert_eq!(o.partition, truth, "{m}");
            assert_eq!(o.upper_bound.is_some(), m.is_sdp());
            assert_eq!(o.iterations.is_some(), m.is_sdp());
            assert!((o.value - truth.value(&t).unwrap()).abs() < 1e-12);
        }
        assert!(run_method(&t, 0, Method::Lloyd, 0).is_err());
        assert!(run_method(&t, 3, Method::SdpThreshold { c: 0.0 }, 0).is_err());
    }
}
