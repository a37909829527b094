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
    /// A library error with no code of its own (the message says what it is).
    OtherError = 199,
}

/// Every status, in value order (for `tg_status_message` and the tests).
pub(crate) const ALL_STATUSES: [tg_status; 24] = [
    tg_status::Ok,
    tg_status::NullArgument,
    tg_status::BufferTooSmall,
    tg_status::Panic,
    tg_status::InvalidHandle,
    tg_status::InvalidArgument,
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
            tg_status::OtherError => "error\0",
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
        Error::UnknownRequest { .. } | Error::MalformedRequestId { .. } => {
            tg_status::UnknownRequest
        }
        Error::ScoreCountMismatch { .. } => tg_status::ScoreCountMismatch,
        Error::NonFiniteScore { .. } => tg_status::NonFiniteScore,
        Error::ConflictingReport { .. } => tg_status::ConflictingReport,
        Error::StepIncomplete { .. } => tg_status::StepIncomplete,
        Error::SessionDone => tg_status::SessionDone,
        Error::CorruptCheckpoint { .. } => tg_status::CorruptCheckpoint,
        Error::UnsupportedCheckpointVersion { .. } => tg_status::UnsupportedCheckpointVersion,
        Error::NumericalFailure { .. } => tg_status::NumericalFailure,
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
            tg_status::OtherError
        );
    }
}
