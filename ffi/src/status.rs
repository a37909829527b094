//! The status codes, their static messages, and the thread-local detailed last error.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_char;

use taskgroup_core::Error;

/// Result of every fallible call. Values are fixed and never reused: new codes get new values.
///
/// 0–99: the C interface itself; 100 and up: the library's own errors (input, settings,
/// sessions). The detailed message of a failure is read with `tg_last_error_message`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A caller buffer is too short; the needed length is reported where the function has an
    /// out-parameter for it.
    BufferTooSmall = 2,
    /// A bug inside the library was caught at the boundary (the call had no effect on outputs).
    Panic = 3,
    /// A handle that is freed, foreign, or of another kind.
    InvalidHandle = 4,
    /// An argument of the C interface that cannot be used (size overflow, misaligned pointer).
    InvalidArgument = 5,
    /// A handle was freed while another call on it was still running (on another thread): the
    /// free did nothing and the handle is still live. Handles must not be freed while in use.
    HandleBusy = 6,
    /// The affinity matrix is empty (n = 0).
    Empty = 100,
    /// The affinity data is not n×n.
    NotSquare = 101,
    /// The affinity matrix has a NaN or ±Inf entry.
    NonFinite = 102,
    /// The number of groups k is not in 1..=n.
    InvalidK = 103,
    /// A k range that is empty or leaves 1..=n.
    InvalidKRange = 104,
    /// A setting is out of its documented range (or an unknown enum value).
    InvalidSetting = 105,
    /// A partition (labels, groups) that does not fit the problem.
    InvalidPartition = 106,
    /// A subset of tasks that is empty, repeats a task, or has an index out of range.
    InvalidSubset = 107,
    /// A report names a request this session never issued.
    UnknownRequest = 108,
    /// A report has another number of scores than its subset has tasks.
    ScoreCountMismatch = 109,
    /// A reported score is NaN or ±Inf.
    NonFiniteScore = 110,
    /// A request already reported is reported again with different scores.
    ConflictingReport = 111,
    /// `advance` before every request of the step was reported.
    StepIncomplete = 112,
    /// The session has finished all its steps.
    SessionDone = 113,
    /// A checkpoint is truncated, corrupt or inconsistent.
    CorruptCheckpoint = 114,
    /// A checkpoint written in a format version this build cannot read.
    UnsupportedCheckpointVersion = 115,
    /// A numerical step failed (non-finite values, no convergence).
    NumericalFailure = 116,
    /// A request id text that is not `s{step}-{index}` with step and index in 0..2³²−1.
    MalformedRequestId = 117,
    /// A warm-start matrix with the wrong number of entries or non-finite entries.
    InvalidWarmStart = 118,
    /// The instance is too large for an exhaustive method.
    TooLarge = 119,
    /// Encoding a session checkpoint failed (internal; the session is unchanged).
    CheckpointEncode = 120,
    /// Relative pairwise affinity divides by a single-task score of 0.
    ZeroBaseline = 121,
    /// A task has no records, so nothing can be predicted for it.
    NoRecords = 122,
    /// A relative score divides by a reference value (diagonal entry, single-task loss) of 0.
    ZeroReference = 123,
    /// A name (method, normalisation, transform) that is not one of the known names.
    UnknownName = 124,
    /// A subset-results table that does not follow its format.
    MalformedTable = 125,
    /// A subset-results table has no line for a subset that is needed.
    MissingSubset = 126,
    /// A value (Σ densities, SDP objective or bound) exceeds the f64 range: rescale T.
    ValueOverflow = 127,
    /// Memory for the problem's n×n buffers could not be allocated; nothing was changed.
    OutOfMemory = 128,
    /// An unexpected library error with no code of its own (the message says what it is); every
    /// error the library documents has its own status, so this one indicates a bug or a
    /// library newer than this interface.
    OtherError = 199,
}

/// Every status, in value order (for `tg_status_message` and the tests).
pub(crate) const ALL_STATUSES: [tg_status; 37] = [
    tg_status::Ok,
    tg_status::NullArgument,
    tg_status::BufferTooSmall,
    tg_status::Panic,
    tg_status::InvalidHandle,
    tg_status::InvalidArgument,
    tg_status::HandleBusy,
    tg_status::Empty,
    tg_status::NotSquare,
    tg_status::NonFinite,
    tg_status::InvalidK,
    tg_status::InvalidKRange,
    tg_status::InvalidSetting,
    tg_status::InvalidPartition,
    tg_status::InvalidSubset,
    tg_status::UnknownRequest,
    tg_status::ScoreCountMismatch,
    tg_status::NonFiniteScore,
    tg_status::ConflictingReport,
    tg_status::StepIncomplete,
    tg_status::SessionDone,
    tg_status::CorruptCheckpoint,
    tg_status::UnsupportedCheckpointVersion,
    tg_status::NumericalFailure,
    tg_status::MalformedRequestId,
    tg_status::InvalidWarmStart,
    tg_status::TooLarge,
    tg_status::CheckpointEncode,
    tg_status::ZeroBaseline,
    tg_status::NoRecords,
    tg_status::ZeroReference,
    tg_status::UnknownName,
    tg_status::MalformedTable,
    tg_status::MissingSubset,
    tg_status::ValueOverflow,
    tg_status::OutOfMemory,
    tg_status::OtherError,
];

impl tg_status {
    /// The static message of this status, NUL-terminated.
    pub fn message(self) -> &'static str {
        match self {
            tg_status::Ok => "ok\0",
            tg_status::NullArgument => "a required pointer argument is NULL\0",
            tg_status::BufferTooSmall => "a caller buffer is too small\0",
            tg_status::Panic => "internal error: a panic was caught at the C boundary\0",
            tg_status::InvalidHandle => "invalid handle: freed, foreign, or of another kind\0",
            tg_status::InvalidArgument => {
                "invalid argument (size overflow or misaligned pointer)\0"
            }
            tg_status::HandleBusy => "the handle is in use by another call: it was not freed\0",
            tg_status::Empty => "the affinity matrix is empty (n = 0)\0",
            tg_status::NotSquare => "the affinity matrix is not square\0",
            tg_status::NonFinite => "the affinity matrix has a NaN or infinite entry\0",
            tg_status::InvalidK => "the number of groups k is out of range 1..n\0",
            tg_status::InvalidKRange => "the k range is empty or outside 1..n\0",
            tg_status::InvalidSetting => "a setting is out of its documented range\0",
            tg_status::InvalidPartition => "invalid partition\0",
            tg_status::InvalidSubset => "invalid subset of tasks\0",
            tg_status::UnknownRequest => "unknown request id\0",
            tg_status::ScoreCountMismatch => "wrong number of scores for the request\0",
            tg_status::NonFiniteScore => "a reported score is NaN or infinite\0",
            tg_status::ConflictingReport => "the request was already reported with other scores\0",
            tg_status::StepIncomplete => "the step still has unreported requests\0",
            tg_status::SessionDone => "the session has finished all its steps\0",
            tg_status::CorruptCheckpoint => "corrupt or truncated checkpoint\0",
            tg_status::UnsupportedCheckpointVersion => "unsupported checkpoint format version\0",
            tg_status::NumericalFailure => "numerical failure\0",
            tg_status::MalformedRequestId => "malformed request id (expected s{step}-{index})\0",
            tg_status::InvalidWarmStart => "invalid warm start\0",
            tg_status::TooLarge => "the instance is too large for an exhaustive method\0",
            tg_status::CheckpointEncode => "could not encode the session checkpoint\0",
            tg_status::ZeroBaseline => "a single-task score is 0: relative affinity is undefined\0",
            tg_status::NoRecords => "a task has no records\0",
            tg_status::ZeroReference => "a reference value is 0: a relative score is undefined\0",
            tg_status::UnknownName => "unknown name\0",
            tg_status::MalformedTable => "malformed subset-results table\0",
            tg_status::MissingSubset => "the subset-results table lacks a needed subset\0",
            tg_status::ValueOverflow => "a value exceeds the f64 range (rescale the affinity)\0",
            tg_status::OutOfMemory => {
                "out of memory: the problem's buffers could not be allocated\0"
            }
            tg_status::OtherError => "unexpected library error\0",
        }
    }

    /// The status with this value, if there is one.
    pub fn from_u32(value: u32) -> Option<tg_status> {
        ALL_STATUSES.iter().copied().find(|s| *s as u32 == value)
    }
}

/// A failure to report across the boundary: its status and detailed message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FfiError {
    /// The status returned to C.
    pub status: tg_status,
    /// The detailed message stored as the thread's last error.
    pub message: String,
}

impl FfiError {
    /// An error with this status and message.
    pub fn new(status: tg_status, message: impl Into<String>) -> Self {
        FfiError {
            status,
            message: message.into(),
        }
    }

    /// A required pointer argument `name` was NULL.
    pub fn null(name: &str) -> Self {
        Self::new(
            tg_status::NullArgument,
            format!("argument `{name}` is NULL but is required"),
        )
    }

    /// Buffer `name` has `have` elements, `need` are needed.
    pub fn too_small(name: &str, have: usize, need: usize) -> Self {
        Self::new(
            tg_status::BufferTooSmall,
            format!("buffer `{name}` holds {have} elements but {need} are needed"),
        )
    }

    /// An unusable argument of the C interface.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(tg_status::InvalidArgument, message)
    }

    /// An unknown value for an enumerated setting.
    pub fn unknown_enum(field: &str, value: u32, expected: &str) -> Self {
        Self::new(
            tg_status::InvalidSetting,
            format!("invalid setting `{field}`: unknown value {value} (expected {expected})"),
        )
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        FfiError::new(status_of(&e), e.to_string())
    }
}

/// The status for a library error.
pub(crate) fn status_of(e: &Error) -> tg_status {
    match e {
        Error::Empty => tg_status::Empty,
        Error::NotSquare { .. } => tg_status::NotSquare,
        Error::NonFinite { .. } => tg_status::NonFinite,
        Error::InvalidK { .. } => tg_status::InvalidK,
        Error::InvalidKRange { .. } => tg_status::InvalidKRange,
        Error::InvalidSetting { .. } => tg_status::InvalidSetting,
        Error::InvalidPartition { .. } => tg_status::InvalidPartition,
        Error::InvalidSubset { .. } => tg_status::InvalidSubset,
        Error::UnknownRequest { .. } => tg_status::UnknownRequest,
        Error::MalformedRequestId { .. } => tg_status::MalformedRequestId,
        Error::ScoreCountMismatch { .. } => tg_status::ScoreCountMismatch,
        Error::NonFiniteScore { .. } => tg_status::NonFiniteScore,
        Error::ConflictingReport { .. } => tg_status::ConflictingReport,
        Error::StepIncomplete { .. } => tg_status::StepIncomplete,
        Error::SessionDone => tg_status::SessionDone,
        Error::CorruptCheckpoint { .. } => tg_status::CorruptCheckpoint,
        Error::UnsupportedCheckpointVersion { .. } => tg_status::UnsupportedCheckpointVersion,
        Error::NumericalFailure { .. } => tg_status::NumericalFailure,
        Error::InvalidWarmStart { .. } => tg_status::InvalidWarmStart,
        Error::TooLarge { .. } => tg_status::TooLarge,
        Error::CheckpointEncode => tg_status::CheckpointEncode,
        Error::ZeroBaseline { .. } => tg_status::ZeroBaseline,
        Error::NoRecords { .. } => tg_status::NoRecords,
        Error::ZeroReference { .. } => tg_status::ZeroReference,
        Error::UnknownName { .. } => tg_status::UnknownName,
        Error::MalformedTable { .. } => tg_status::MalformedTable,
        Error::MissingSubset { .. } => tg_status::MissingSubset,
        Error::ValueOverflow => tg_status::ValueOverflow,
        Error::OutOfMemory { .. } => tg_status::OutOfMemory,
        // `Error` is #[non_exhaustive]: a variant added to the library after this list. The
        // test `every_core_error_variant_has_its_own_status` fails until it gets a status.
        _ => tg_status::OtherError,
    }
}

thread_local! {
    /// The detailed message of the last failed call on this thread ("" after a success).
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Forgets the last error of this thread (at the start of every fallible call).
pub(crate) fn clear_last_error() {
    LAST_ERROR.with(|e| e.borrow_mut().clear());
}

/// Stores `message` as the last error of this thread.
pub(crate) fn set_last_error(message: &str) {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        e.clear();
        e.push_str(message);
    });
}

/// Records a caught panic as the last error of this thread.
pub(crate) fn record_panic(payload: Box<dyn Any + Send>) {
    let what = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    };
    set_last_error(&format!(
        "internal error (a bug in taskgroup, please report it): panic: {what}"
    ));
}

/// Turns the outcome of a boundary body into the status returned to C; an error's message
/// becomes the thread's last error when `record` is set (a panic's always does).
pub(crate) fn finish(result: std::thread::Result<Result<(), FfiError>>, record: bool) -> tg_status {
    match result {
        Ok(Ok(())) => tg_status::Ok,
        Ok(Err(e)) => {
            if record {
                set_last_error(&e.message);
            }
            e.status
        }
        Err(payload) => {
            record_panic(payload);
            tg_status::Panic
        }
    }
}

/// The static, NUL-terminated message of a status (never NULL; an unknown value gives
/// "unknown status"). Takes the value as `uint32_t` so that any integer is safe to pass.
#[no_mangle]
pub extern "C" fn tg_status_message(status: u32) -> *const c_char {
    ffi_boundary!(value(c"internal error".as_ptr()): {
        match tg_status::from_u32(status) {
            Some(s) => s.message().as_ptr().cast::<c_char>(),
            None => c"unknown status".as_ptr(),
        }
    })
}

/// Copies the detailed message of the last failed call on this thread into `buf`
/// (NUL-terminated; "" when the last fallible call succeeded), e.g. which entry was NaN.
///
/// `needed` (may be NULL) receives the buffer size the message needs, NUL included, on
/// success and on `TG_STATUS_BUFFER_TOO_SMALL`. `buf` may be NULL when `buf_len` is 0 (to ask
/// for the size). This call does not change the last error.
///
/// # Safety
/// `buf` must be NULL or valid for writes of `buf_len` bytes; `needed` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn tg_last_error_message(
    buf: *mut c_char,
    buf_len: usize,
    needed: *mut usize,
) -> tg_status {
    ffi_boundary!(status_keep_error: {
        let message = LAST_ERROR.with(|e| e.borrow().clone());
        let need = message.len() + 1;
        if buf_len < need {
            // SAFETY: `needed` is NULL or valid for writes (caller contract).
            unsafe { crate::memory::write_optional(needed, need) };
            return Err(FfiError::too_small("buf", buf_len, need));
        }
        let out = crate::memory::out_buffer(buf, buf_len, "buf")?;
        let mut bytes = message.into_bytes();
        bytes.push(0);
        let bytes: Vec<c_char> = bytes.into_iter().map(|b| b as c_char).collect();
        // SAFETY: `out` holds at least `need` elements (checked above).
        unsafe {
            out.write(&bytes);
            crate::memory::write_optional(needed, need);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_fixed_and_distinct() {
        assert_eq!(tg_status::Ok as u32, 0);
        assert_eq!(tg_status::Panic as u32, 3);
        assert_eq!(tg_status::NonFinite as u32, 102);
        let mut v: Vec<u32> = ALL_STATUSES.iter().map(|s| *s as u32).collect();
        v.dedup();
        assert_eq!(v.len(), ALL_STATUSES.len());
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        for s in ALL_STATUSES {
            assert!(s.message().ends_with('\0'));
            assert_eq!(s.message().matches('\0').count(), 1);
        }
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let r: tg_status = ffi_boundary!(status: {
            let v: Vec<u32> = Vec::new();
            let i = v.len() + 3;
            if v.get(i).is_none() {
                panic!("boom {i}");
            }
            Ok(())
        });
        assert_eq!(r, tg_status::Panic);
        let msg = LAST_ERROR.with(|e| e.borrow().clone());
        assert!(msg.contains("boom 3"), "{msg}");
        let v: u32 = ffi_boundary!(value(7): {
            if msg.is_empty() {
                0
            } else {
                panic!("again")
            }
        });
        assert_eq!(v, 7);
        let ok: tg_status = ffi_boundary!(status: { Ok(()) });
        assert_eq!(ok, tg_status::Ok);
        assert_eq!(LAST_ERROR.with(|e| e.borrow().clone()), "");
    }

    #[test]
    fn the_last_error_is_per_thread() {
        set_last_error("on the main thread");
        let other = std::thread::spawn(|| {
            let before = LAST_ERROR.with(|e| e.borrow().clone());
            set_last_error("on another thread");
            before
        })
        .join()
        .unwrap();
        assert_eq!(other, "");
        assert_eq!(
            LAST_ERROR.with(|e| e.borrow().clone()),
            "on the main thread"
        );
    }

    #[test]
    fn library_errors_map_to_their_status() {
        let e = FfiError::from(Error::NonFinite { row: 1, col: 2 });
        assert_eq!(e.status, tg_status::NonFinite);
        assert!(e.message.contains("row 1, column 2"));
        assert_eq!(
            status_of(&Error::TooLarge { n: 1, max: 0 }),
            tg_status::TooLarge
        );
        assert_eq!(
            status_of(&Error::MalformedRequestId { reason: "x" }),
            tg_status::MalformedRequestId
        );
    }

    /// One value of every variant of `taskgroup_core::Error`, each a different variant.
    fn one_of_each_error() -> Vec<Error> {
        vec![
            Error::Empty,
            Error::NotSquare { rows: 2, len: 3 },
            Error::NonFinite { row: 0, col: 1 },
            Error::InvalidK { k: 0, n: 3 },
            Error::InvalidKRange { lo: 2, hi: 1, n: 3 },
            Error::InvalidSetting {
                name: "tolerance",
                reason: "r",
            },
            Error::InvalidPartition { reason: "r" },
            Error::InvalidWarmStart { reason: "r" },
            Error::TooLarge { n: 20, max: 12 },
            Error::InvalidSubset { reason: "r" },
            Error::UnknownRequest { id: "s9-9".into() },
            Error::MalformedRequestId { reason: "r" },
            Error::ScoreCountMismatch {
                expected: 3,
                found: 1,
            },
            Error::NonFiniteScore { index: 1 },
            Error::ConflictingReport { id: "s0-0".into() },
            Error::StepIncomplete { pending: 2 },
            Error::SessionDone,
            Error::CorruptCheckpoint { reason: "r" },
            Error::UnsupportedCheckpointVersion {
                found: 9,
                supported: 1,
            },
            Error::CheckpointEncode,
            Error::ZeroBaseline { task: 0 },
            Error::NoRecords { task: 0 },
            Error::NumericalFailure { what: "w" },
            Error::ZeroReference { task: 0, what: "w" },
            Error::UnknownName {
                kind: "method",
                name: "x".into(),
                expected: "a, b",
            },
            Error::MalformedTable {
                line: 1,
                column: None,
                reason: "r",
            },
            Error::MissingSubset { tasks: vec![0, 1] },
            Error::ValueOverflow,
            Error::OutOfMemory { bytes: 1 },
        ]
    }

    /// The variant name of an error, from its derived `Debug` (`Name` or `Name { .. }`).
    fn variant_name(e: &Error) -> String {
        format!("{e:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap_or("")
            .to_string()
    }

    /// The variant names of `pub enum Error` in core's source (core's `Error` is
    /// #[non_exhaustive], so from this crate the compiler cannot list them for us).
    fn core_error_variants() -> Vec<String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/src/error.rs");
        let src = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!("cannot read core's error enum at {path} ({e}): update this test's path")
        });
        let start = src
            .find("pub enum Error {")
            .unwrap_or_else(|| panic!("`pub enum Error {{` not found in {path}"));
        let mut names = Vec::new();
        let mut depth = 0usize;
        for line in src[start..].lines() {
            let t = line.trim();
            if depth == 1 && !t.starts_with("//") && !t.starts_with('#') {
                let name: String = t
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                    names.push(name);
                }
            }
            let code = t.split("//").next().unwrap_or("");
            depth += code.matches('{').count();
            depth -= code.matches('}').count().min(depth);
            if depth == 0 && !names.is_empty() {
                break;
            }
        }
        names
    }

    #[test]
    fn every_core_error_variant_has_its_own_status() {
        let variants = core_error_variants();
        assert!(
            variants.len() >= 28,
            "parsed too few variants: {variants:?}"
        );
        let samples = one_of_each_error();
        let sampled: Vec<String> = samples.iter().map(variant_name).collect();
        let mut a = variants.clone();
        let mut b = sampled.clone();
        a.sort();
        b.sort();
        for v in &a {
            assert!(
                b.contains(v),
                "taskgroup_core::Error::{v} has no tg_status: append a status for it in \
                 ffi/src/status.rs (status_of, message, ALL_STATUSES), a Python error class, \
                 and a sample in one_of_each_error()"
            );
        }
        assert_eq!(a, b, "one_of_each_error() must hold each core variant once");
        let mut seen = std::collections::BTreeMap::new();
        for e in &samples {
            let s = status_of(e);
            assert_ne!(s, tg_status::OtherError, "{e:?} maps to OtherError");
            assert!(s as u32 >= 100, "{e:?} maps to an interface status {s:?}");
            if let Some(other) = seen.insert(s as u32, variant_name(e)) {
                panic!("{e:?} and {other} share the status {s:?}");
            }
            // The message of the error is its Display text.
            assert_eq!(FfiError::from(e.clone()).message, e.to_string());
        }
        // Every library status (100..199) except OtherError is some variant's.
        for s in ALL_STATUSES {
            let v = s as u32;
            if (100..199).contains(&v) {
                assert!(seen.contains_key(&v), "{s:?} is no core variant's status");
            }
        }
    }
}
