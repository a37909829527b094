//! Errors for bad input and bad settings: every fallible function returns [`Error`].

use core::fmt;

/// Why an input or a setting was refused. Never a panic: every check returns one of these.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The matrix has no rows (n = 0).
    Empty,
    /// The data is not n×n: `len` values were given for `rows` rows.
    NotSquare {
        /// Rows claimed (n).
        rows: usize,
        /// Number of values given.
        len: usize,
    },
    /// Entry (row, col) (0-based) is NaN or ±Inf, or the symmetric part overflowed.
    NonFinite {
        /// 0-based row.
        row: usize,
        /// 0-based column.
        col: usize,
    },
    /// The number of groups is not in 1..=n.
    InvalidK {
        /// Requested number of groups.
        k: usize,
        /// Number of tasks.
        n: usize,
    },
    /// A k range `lo..=hi` that is empty or leaves 1..=n.
    InvalidKRange {
        /// Smallest k asked for.
        lo: usize,
        /// Largest k asked for.
        hi: usize,
        /// Number of tasks.
        n: usize,
    },
    /// A setting is out of its documented range.
    InvalidSetting {
        /// Name of the setting.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A partition (labels) that does not fit the problem: wrong length, or an empty group.
    InvalidPartition {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A warm-start matrix with the wrong number of entries or non-finite entries.
    InvalidWarmStart {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The instance is too large for an exhaustive method.
    TooLarge {
        /// Number of tasks.
        n: usize,
        /// Largest supported n.
        max: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Empty => write!(f, "the affinity matrix is empty (n = 0): at least one task is needed"),
            Error::NotSquare { rows, len } => write!(
                f,
                "the affinity matrix is not square: {len} values for {rows} rows (expected {rows}×{rows})"
            ),
            Error::NonFinite { row, col } => write!(
                f,
                "the affinity matrix has a non-finite value (NaN or ±Inf) at row {row}, column {col} (0-based)"
            ),
            Error::InvalidK { k, n } => {
                write!(f, "k = {k} groups is out of range: it must be between 1 and the number of tasks n = {n}")
            }
            Error::InvalidKRange { lo, hi, n } => write!(
                f,
                "the k range {lo}..{hi} is invalid: it must be non-empty and within 1..{n} (n = number of tasks)"
            ),
            Error::InvalidSetting { name, reason } => write!(f, "invalid setting `{name}`: {reason}"),
            Error::InvalidPartition { reason } => write!(f, "invalid partition: {reason}"),
            Error::InvalidWarmStart { reason } => write!(f, "invalid warm start: {reason}"),
            Error::TooLarge { n, max } => {
                write!(f, "n = {n} tasks is too large for exhaustive search (at most {max})")
            }
        }
    }
}

impl core::error::Error for Error {}
