//! Opaque handles: boxed objects with a magic tag, registered while alive.
//!
//! A pointer from C is first looked up in the registry of live handles (without reading it), so
//! a freed, foreign or wrong-kind pointer gives `TG_STATUS_INVALID_HANDLE` instead of a read of
//! freed memory; then the object's magic tag is checked. Freeing removes the handle from the
//! registry and stamps the tag before the memory is released.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::status::{tg_status, FfiError};

/// The tag written into a handle when it is freed.
pub(crate) const FREED_MAGIC: u64 = 0xDEAD_F4EE_DEAD_F4EE;

/// An object handed to C behind an opaque pointer.
pub(crate) trait Tagged {
    /// The tag of live objects of this kind.
    const MAGIC: u64;
    /// The kind's name in messages (e.g. "tg_session").
    const KIND: &'static str;
    /// The object's current tag.
    fn magic(&self) -> u64;
    /// Where the tag is stored (stamped with [`FREED_MAGIC`] on free).
    fn magic_mut(&mut self) -> &mut u64;
}

/// Live handles: address → magic of their kind.
static LIVE: Mutex<BTreeMap<usize, u64>> = Mutex::new(BTreeMap::new());

fn live() -> MutexGuard<'static, BTreeMap<usize, u64>> {
    // The map is never left half-updated, so a poisoned lock is still consistent.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Checks that `ptr` is a live handle of kind `T` without reading it.
fn check_live<T: Tagged>(ptr: *const T, name: &str) -> Result<(), FfiError> {
    match live().get(&(ptr as usize)) {
        Some(&m) if m == T::MAGIC => Ok(()),
        Some(_) => Err(FfiError::new(
            tg_status::InvalidHandle,
            format!("argument `{name}` is a handle of another kind, not a {}", T::KIND),
        )),
        None => Err(FfiError::new(
            tg_status::InvalidHandle,
            format!(
                "argument `{name}` is not a live {}: it was freed, or never created by this library",
                T::KIND
            ),
        )),
    }
}

/// Boxes `value`, registers it, and returns the pointer handed to C.
pub(crate) fn register<T: Tagged>(value: T) -> *mut T {
    let ptr = Box::into_raw(Box::new(value));
    live().insert(ptr as usize, T::MAGIC);
    ptr
}

/// Borrows a live handle of kind `T`.
///
/// # Safety
/// If `ptr` is a live handle, no other thread may free it during `'a`.
pub(crate) unsafe fn borrow<'a, T: Tagged>(ptr: *const T, name: &str) -> Result<&'a T, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    check_live(ptr, name)?;
    // SAFETY: registered handles are live boxes of `T` (registry checked above).
    let r = unsafe { &*ptr };
    if r.magic() != T::MAGIC {
        return Err(FfiError::new(
            tg_status::InvalidHandle,
            format!(
                "argument `{name}`: the {} handle's tag is corrupted",
                T::KIND
            ),
        ));
    }
    Ok(r)
}

/// Frees a handle of kind `T`; NULL is a no-op. A freed or foreign pointer is an error.
///
/// # Safety
/// No other thread may use the handle during or after this call.
pub(crate) unsafe fn release<T: Tagged>(ptr: *mut T, name: &str) -> Result<(), FfiError> {
    if ptr.is_null() {
        return Ok(());
    }
    {
        let mut map = live();
        match map.get(&(ptr as usize)) {
            Some(&m) if m == T::MAGIC => {
                map.remove(&(ptr as usize));
            }
            _ => {
                drop(map);
                return check_live(ptr.cast_const(), name);
            }
        }
    }
    // SAFETY: the pointer was a registered live box of `T`, now unregistered: we own it.
    let mut b = unsafe { Box::from_raw(ptr) };
    // A volatile write so that the stamp is not optimised away before the memory is released.
    // SAFETY: `magic_mut` is a valid, aligned `u64` inside the box.
    unsafe { std::ptr::write_volatile(b.magic_mut(), FREED_MAGIC) };
    drop(b);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct A {
        magic: u64,
    }
    impl Tagged for A {
        const MAGIC: u64 = 1;
        const KIND: &'static str = "A";
        fn magic(&self) -> u64 {
            self.magic
        }
        fn magic_mut(&mut self) -> &mut u64 {
            &mut self.magic
        }
    }
    struct B {
        magic: u64,
    }
    impl Tagged for B {
        const MAGIC: u64 = 2;
        const KIND: &'static str = "B";
        fn magic(&self) -> u64 {
            self.magic
        }
        fn magic_mut(&mut self) -> &mut u64 {
            &mut self.magic
        }
    }

    #[test]
    fn freed_and_wrong_kind_handles_are_refused() {
        let a = register(A { magic: A::MAGIC });
        // SAFETY: single-threaded test; pointers come from `register` or are bogus but never read.
        unsafe {
            assert!(borrow(a.cast_const(), "a").is_ok());
            let wrong = a.cast::<B>();
            let e = borrow(wrong.cast_const(), "a").err().unwrap();
            assert_eq!(e.status, tg_status::InvalidHandle);
            assert!(e.message.contains("another kind"));
            assert!(release(wrong, "a").is_err());
            assert!(release(a, "a").is_ok());
            let e = borrow(a.cast_const(), "a").err().unwrap();
            assert!(e.message.contains("freed"), "{}", e.message);
            assert!(release(a, "a").is_err());
            assert!(release::<A>(std::ptr::null_mut(), "a").is_ok());
            let bogus = 0x1000 as *const A;
            assert_eq!(
                borrow(bogus, "a").err().unwrap().status,
                tg_status::InvalidHandle
            );
        }
    }
}
