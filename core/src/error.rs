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
    /// A subset of tasks that is empty, repeats a task, has an index out of range, or does not
    /// contain the task a score is for.
    InvalidSubset {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A report names a request id that this session never issued (`id` as displayed, `s0-3`).
    UnknownRequest {
        /// The id, as displayed.
        id: alloc::string::String,
    },
    /// A request id string that is not of the form `s{step}-{index}` (e.g. `s0-3`).
    MalformedRequestId {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A report has another number of scores than its subset has tasks.
    ScoreCountMismatch {
        /// Number of tasks in the subset.
        expected: usize,
        /// Number of scores given.
        found: usize,
    },
    /// A reported score is NaN or ±Inf.
    NonFiniteScore {
        /// 0-based position of the score in the reported list.
        index: usize,
    },
    /// A request that was already reported is reported again with different scores.
    ConflictingReport {
        /// The id, as displayed.
        id: alloc::string::String,
    },
    /// `advance` was called before every request of the step was reported.
    StepIncomplete {
        /// Requests of the step still unreported.
        pending: usize,
    },
    /// The session has run all its steps: nothing left to advance.
    SessionDone,
    /// A checkpoint is truncated, corrupt (checksum), or inconsistent.
    CorruptCheckpoint {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A checkpoint written in a format version this build cannot read.
    UnsupportedCheckpointVersion {
        /// Version found in the header.
        found: u32,
        /// Newest version this build reads.
        supported: u32,
    },
    /// Encoding a checkpoint failed (an internal error; the session is unchanged).
    CheckpointEncode,
    /// Relative pairwise affinity needs a non-zero single-task score.
    ZeroBaseline {
        /// 0-based task whose single-task score is 0.
        task: usize,
    },
    /// A task has no records, so the surrogate cannot predict it.
    NoRecords {
        /// 0-based task.
        task: usize,
    },
    /// An eigendecomposition or a clustering step failed (non-finite values or no convergence).
    NumericalFailure {
        /// The step that failed.
        what: &'static str,
    },
    /// A relative score divides by a reference value (a diagonal entry or a single-task loss)
    /// that is 0.
    ZeroReference {
        /// 0-based task whose reference value is 0.
        task: usize,
        /// Which reference value it is.
        what: &'static str,
    },
    /// A name (of a method, a normalisation, a transform) that is not one of the known names.
    UnknownName {
        /// What kind of name was expected.
        kind: &'static str,
        /// The name given.
        name: alloc::string::String,
        /// The accepted names, comma-separated.
        expected: &'static str,
    },
    /// A subset-results table that does not follow its format (line: 1-based; column: 1-based
    /// tab-separated cell, when one cell is at fault).
    MalformedTable {
        /// 1-based line number.
        line: usize,
        /// 1-based cell number on that line, when one cell is at fault.
        column: Option<usize>,
        /// What is wrong.
        reason: &'static str,
    },
    /// A subset-results table has no line for a subset that is needed (0-based tasks).
    MissingSubset {
        /// The subset's tasks, 0-based, ascending.
        tasks: alloc::vec::Vec<usize>,
    },
    /// A value (Σ densities, SDP objective or bound) exceeds the f64 range: rescale T.
    ValueOverflow,
    /// A buffer of this many bytes could not be allocated (the problem is too large for the
    /// memory available); nothing was changed.
    OutOfMemory {
        /// Bytes requested (`usize::MAX` when the size overflows).
        bytes: usize,
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
            Error::OutOfMemory { bytes } => write!(
                f,
                "out of memory: could not allocate {:.1} GB ({bytes} bytes); the problem is too large for the memory available",
                *bytes as f64 / 1e9
            ),
            Error::ValueOverflow => write!(
                f,
                "the objective exceeds the f64 range (entries too close to ±1.8e308): divide T by a constant (the groups do not change)"
            ),
            Error::InvalidPartition { reason } => write!(f, "invalid partition: {reason}"),
            Error::InvalidWarmStart { reason } => write!(f, "invalid warm start: {reason}"),
            Error::TooLarge { n, max } => {
                write!(f, "n = {n} tasks is too large for exhaustive search (at most {max})")
            }
            Error::InvalidSubset { reason } => write!(f, "invalid subset of tasks: {reason}"),
            Error::UnknownRequest { id } => {
                write!(f, "unknown request id `{id}`: this session never issued it")
            }
            Error::MalformedRequestId { reason } => {
                write!(f, "malformed request id: {reason} (expected `s{{step}}-{{index}}`, e.g. `s0-3`)")
            }
            Error::ScoreCountMismatch { expected, found } => write!(
                f,
                "wrong number of scores: the subset has {expected} tasks but {found} scores were given"
            ),
            Error::NonFiniteScore { index } => {
                write!(f, "score {index} (0-based) is not finite (NaN or ±Inf)")
            }
            Error::ConflictingReport { id } => write!(
                f,
                "request `{id}` was already reported with different scores; the first report is kept"
            ),
            Error::StepIncomplete { pending } => write!(
                f,
                "the step is not complete: {pending} request(s) still have no reported scores"
            ),
            Error::SessionDone => write!(
                f,
                "the session has finished all its steps: it takes no more results and has nothing more to train (its groups, affinity and results can still be read)"
            ),
            Error::CorruptCheckpoint { reason } => write!(f, "corrupt checkpoint: {reason}"),
            Error::UnsupportedCheckpointVersion { found, supported } => write!(
                f,
                "checkpoint format version {found} is not supported (this build reads versions 1 to {supported})"
            ),
            Error::CheckpointEncode => write!(f, "could not encode the session checkpoint (internal error)"),
            Error::ZeroBaseline { task } => write!(
                f,
                "task {task} has a single-task score of 0: relative pairwise affinity is undefined (use relative = false)"
            ),
            Error::NoRecords { task } => write!(f, "task {task} has no records: nothing to predict from"),
            Error::NumericalFailure { what } => write!(f, "numerical failure: {what}"),
            Error::ZeroReference { task, what } => write!(
                f,
                "task {task} (0-based): {what} is 0, so a score relative to it is undefined"
            ),
            Error::UnknownName { kind, name, expected } => {
                write!(f, "unknown {kind} `{name}` (expected one of: {expected})")
            }
            Error::MalformedTable { line, column, reason } => match column {
                Some(c) => write!(f, "malformed table at line {line}, cell {c}: {reason}"),
                None => write!(f, "malformed table at line {line}: {reason}"),
            },
            Error::MissingSubset { tasks } => write!(
                f,
                "the table has no line for the subset of tasks {tasks:?} (0-based), which is needed here"
            ),
        }
    }
}

impl core::error::Error for Error {}

impl Error {
    /// `Ok` when `ok`, else [`Error::InvalidSetting`] for the setting `name` with `reason`: the
    /// one-line range check of the settings' `validate` methods.
    pub fn require_setting(
        ok: bool,
        name: &'static str,
        reason: &'static str,
    ) -> Result<(), Error> {
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidSetting { name, reason })
        }
    }

    /// The one of `all` whose name (`name_of`) is `s`, trimmed and ASCII case-insensitive, or
    /// [`Error::UnknownName`] for `kind` with the `expected` names. Backs the `FromStr` of the
    /// named options (e.g. [`crate::normalize::Normalization`]).
    pub fn parse_name<T: Copy>(
        s: &str,
        all: &[T],
        name_of: fn(T) -> &'static str,
        kind: &'static str,
        expected: &'static str,
    ) -> Result<T, Error> {
        all.iter()
            .copied()
            .find(|&v| name_of(v).eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownName {
                kind,
                name: s.into(),
                expected,
            })
    }
}

/// For a fieldless enum `$t` whose variants have short names: `ALL` (every variant, in the
/// order given), `as_str` (the name), `Display` (the name) and `FromStr` (a name, trimmed and
/// ASCII case-insensitive, through [`Error::parse_name`]: an unknown one is
/// [`Error::UnknownName`] for `$kind`, listing the names).
#[macro_export]
macro_rules! named_options {
    ($t:ident, $kind:literal, $first:ident => $first_name:literal $(, $v:ident => $name:literal)* $(,)?) => {
        impl $t {
            /// Every option, in a fixed order (for tables that try them all).
            pub const ALL: [$t; 1 $(+ $crate::named_options!(@one $v))*] = [$t::$first $(, $t::$v)*];

            #[doc = concat!("The option's short name: `", $first_name, "`" $(, ", `", $name, "`")* , ".")]
            pub fn as_str(self) -> &'static str {
                match self {
                    $t::$first => $first_name,
                    $($t::$v => $name,)*
                }
            }
        }

        impl ::core::fmt::Display for $t {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for $t {
            type Err = $crate::Error;

            /// Parses the names of `as_str` (trimmed, ASCII case-insensitive).
            fn from_str(s: &str) -> ::core::result::Result<Self, $crate::Error> {
                $crate::Error::parse_name(
                    s,
                    &$t::ALL,
                    $t::as_str,
                    $kind,
                    concat!($first_name $(, ", ", $name)*),
                )
            }
        }
    };
    (@one $v:ident) => {
        1
    };
}
