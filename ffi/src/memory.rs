//! Checked access to caller memory: borrowed input slices, output buffers, out-parameters.
//!
//! Inputs are only ever borrowed with `slice::from_raw_parts`; outputs are written with
//! `ptr::copy_nonoverlapping`/`write_unaligned`, after every check has passed, so that
//! out-parameters are written only on success.

use std::mem::{align_of, size_of};
use std::ptr::NonNull;

use crate::status::FfiError;

/// Checks that `len` elements of `T` fit in an allocation (≤ isize::MAX bytes).
fn check_len<T>(len: usize, name: &str) -> Result<(), FfiError> {
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(FfiError::invalid_argument(format!(
            "buffer `{name}`: {len} elements is more than any allocation can hold"
        ))),
    }
}

/// Checks that a non-NULL pointer is aligned for `T`.
fn check_aligned<T>(ptr: *const T, name: &str) -> Result<(), FfiError> {
    if ptr.is_aligned() {
        Ok(())
    } else {
        Err(FfiError::invalid_argument(format!(
            "pointer `{name}` is not aligned to {} bytes",
            align_of::<T>()
        )))
    }
}

/// Borrows `len` elements at `ptr` as a slice. NULL is allowed only when `len` is 0.
///
/// # Safety
/// When non-NULL, `ptr` must be valid for reads of `len` elements for `'a`, and not written
/// during that time.
pub(crate) unsafe fn borrow_slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], FfiError> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    check_aligned(ptr, name)?;
    check_len::<T>(len, name)?;
    // SAFETY: non-NULL, aligned, size checked; validity for reads is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// `NULL_ARGUMENT` naming the argument `name` when `is_null` (pass `ptr.is_null()`).
pub(crate) fn not_null(is_null: bool, name: &str) -> Result<(), FfiError> {
    if is_null {
        Err(FfiError::null(name))
    } else {
        Ok(())
    }
}

/// n·n, the number of entries of an n×n matrix; `INVALID_ARGUMENT` when it overflows.
pub(crate) fn square_len(n: usize) -> Result<usize, FfiError> {
    n.checked_mul(n).ok_or_else(|| {
        FfiError::invalid_argument(format!("n = {n}: n·n overflows the address space"))
    })
}

/// Reads a struct passed by pointer; `None` when the pointer is NULL.
///
/// # Safety
/// When non-NULL, `ptr` must be valid for reads of one `T`.
pub(crate) unsafe fn read_optional<T: Copy>(ptr: *const T) -> Option<T> {
    if ptr.is_null() {
        None
    } else {
        // SAFETY: non-NULL and valid for reads (caller contract); alignment not required.
        Some(unsafe { ptr.read_unaligned() })
    }
}

/// A caller output buffer that passed the checks: NULL only when its length is 0.
pub(crate) struct OutBuffer<T> {
    ptr: *mut T,
    len: usize,
}

/// Checks an output buffer of `len` elements at `ptr` (NULL allowed when `len` is 0).
pub(crate) fn out_buffer<T>(ptr: *mut T, len: usize, name: &str) -> Result<OutBuffer<T>, FfiError> {
    if len > 0 {
        if ptr.is_null() {
            return Err(FfiError::null(name));
        }
        check_aligned(ptr.cast_const(), name)?;
        check_len::<T>(len, name)?;
    }
    Ok(OutBuffer { ptr, len })
}

impl<T: Copy> OutBuffer<T> {
    /// Number of elements the buffer holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Checks that the buffer holds at least `need` elements.
    pub fn require(&self, need: usize, name: &str) -> Result<(), FfiError> {
        if self.len < need {
            Err(FfiError::too_small(name, self.len, need))
        } else {
            Ok(())
        }
    }

    /// Copies `data` to the start of the buffer (at most `len` elements).
    ///
    /// # Safety
    /// The buffer must be valid for writes of `len` elements (the caller's contract for the
    /// pointer it passed), and not overlap `data`.
    pub unsafe fn write(&self, data: &[T]) {
        let count = data.len().min(self.len);
        if count > 0 {
            // SAFETY: non-NULL (len > 0), aligned, count ≤ len, no overlap (caller contract).
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr, count) };
        }
    }
}

/// A required out-parameter that passed the NULL check.
pub(crate) struct Out<T>(NonNull<T>);

/// Checks a required out-parameter.
pub(crate) fn out_param<T>(ptr: *mut T, name: &str) -> Result<Out<T>, FfiError> {
    NonNull::new(ptr)
        .map(Out)
        .ok_or_else(|| FfiError::null(name))
}

impl<T> Out<T> {
    /// Writes the value (no alignment needed; the previous contents are not read or dropped).
    ///
    /// # Safety
    /// The pointer must be valid for writes of one `T`.
    pub unsafe fn set(self, value: T) {
        // SAFETY: non-NULL; validity for writes is the caller's contract.
        unsafe { self.0.as_ptr().write_unaligned(value) }
    }
}

/// Writes `value` through `ptr` when it is not NULL (an optional out-parameter).
///
/// # Safety
/// `ptr` must be NULL or valid for writes of one `T`.
pub(crate) unsafe fn write_optional<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: non-NULL and valid for writes (caller contract); alignment not required.
        unsafe { ptr.write_unaligned(value) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::tg_status;

    #[test]
    fn slices_and_buffers_are_checked() {
        let data = [1.0f64, 2.0];
        // SAFETY: valid pointers and lengths, or NULL with length 0.
        unsafe {
            assert_eq!(borrow_slice(data.as_ptr(), 2, "d").unwrap(), &data);
            assert!(borrow_slice::<f64>(std::ptr::null(), 0, "d")
                .unwrap()
                .is_empty());
            let e = borrow_slice::<f64>(std::ptr::null(), 1, "d").unwrap_err();
            assert_eq!(e.status, tg_status::NullArgument);
            let odd = (data.as_ptr() as *const u8).wrapping_add(1).cast::<f64>();
            let e = borrow_slice(odd, 1, "d").unwrap_err();
            assert_eq!(e.status, tg_status::InvalidArgument);
            let e = borrow_slice(data.as_ptr(), usize::MAX / 4, "d").unwrap_err();
            assert_eq!(e.status, tg_status::InvalidArgument);
        }
        let mut out = [0u32; 3];
        let b = out_buffer(out.as_mut_ptr(), 3, "o").unwrap();
        assert!(b.require(4, "o").is_err());
        assert!(b.require(3, "o").is_ok());
        // SAFETY: `out` holds 3 elements.
        unsafe { b.write(&[7, 8, 9, 10]) };
        assert_eq!(out, [7, 8, 9]);
        assert!(out_buffer::<u32>(std::ptr::null_mut(), 0, "o").is_ok());
        assert!(out_param::<u32>(std::ptr::null_mut(), "o").is_err());
    }
}
