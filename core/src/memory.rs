//! Fallible allocation of the large (n×n) buffers: a request the allocator cannot satisfy is
//! [`Error::OutOfMemory`], never a process abort, so callers (a session's step, the CLI) can
//! report it and keep their state intact.

use alloc::vec::Vec;

use crate::error::Error;

/// `len` zeroed (default) elements, or [`Error::OutOfMemory`] (also when the byte count
/// overflows `usize`).
pub fn try_zeroed<T: Clone + Default>(len: usize) -> Result<Vec<T>, Error> {
    let bytes = len.saturating_mul(core::mem::size_of::<T>());
    let mut v: Vec<T> = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| Error::OutOfMemory { bytes })?;
    v.resize(len, T::default());
    Ok(v)
}

/// An n×n zeroed buffer (`n·n` elements), or [`Error::OutOfMemory`].
pub fn try_square<T: Clone + Default>(n: usize) -> Result<Vec<T>, Error> {
    let len = n
        .checked_mul(n)
        .ok_or(Error::OutOfMemory { bytes: usize::MAX })?;
    try_zeroed(len)
}

/// Checks that `bytes` can be allocated now, by reserving and releasing them (pages are not
/// touched). Used before work whose many buffers are allocated infallibly deeper down (the
/// SDP solver), so that a request far beyond the memory limit is an error, not an abort.
pub fn check_available(bytes: usize) -> Result<(), Error> {
    let mut v: Vec<u8> = Vec::new();
    v.try_reserve_exact(bytes)
        .map_err(|_| Error::OutOfMemory { bytes })
}

/// Bytes of `count` n×n f64 buffers (saturating).
pub fn square_f64_bytes(n: usize, count: usize) -> usize {
    n.saturating_mul(n)
        .saturating_mul(core::mem::size_of::<f64>())
        .saturating_mul(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_errors_not_aborts() {
        assert!(matches!(
            try_zeroed::<f64>(usize::MAX / 4),
            Err(Error::OutOfMemory { .. })
        ));
        assert!(matches!(
            try_square::<f64>(usize::MAX / 2),
            Err(Error::OutOfMemory { bytes: usize::MAX })
        ));
        assert!(matches!(
            check_available(usize::MAX),
            Err(Error::OutOfMemory { bytes: usize::MAX })
        ));
        assert_eq!(try_square::<u32>(3).unwrap(), alloc::vec![0u32; 9]);
        assert!(check_available(1 << 20).is_ok());
        assert_eq!(square_f64_bytes(20_000, 1), 3_200_000_000);
    }
}
