//! Opaque handles: boxed objects with a magic tag, registered while alive.
//!
//! A pointer from C is first looked up in the registry of live handles (without reading it), so
//! a freed, foreign or wrong-kind pointer gives `TG_STATUS_INVALID_HANDLE` instead of a read of
//! freed memory; then the object's magic tag is checked. Freeing removes the handle from the
//! registry and stamps the tag before the memory is released.
//!
//! Every call holds its handle as *in use* (a count in the registry, taken and given back
//! under the registry's lock) for as long as it reads the object. A free while the count is
//! not 0 (another thread is inside a call on the handle) returns `TG_STATUS_HANDLE_BUSY` and
//! frees nothing; a call that starts after a free finds no registered handle. So a free that
//! races a call on another thread is detected instead of freeing memory in use. What cannot be
//! detected: a stale pointer whose address a later `_new` reused for a new handle of the same
//! kind (it then names that new handle).

use std::collections::BTreeMap;
use std::ops::Deref;
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

/// A registered handle: the magic of its kind and the number of calls using it now.
#[derive(Debug, Clone, Copy)]
struct Entry {
    magic: u64,
    in_use: usize,
}

/// Live handles: address → entry.
static LIVE: Mutex<BTreeMap<usize, Entry>> = Mutex::new(BTreeMap::new());

fn live() -> MutexGuard<'static, BTreeMap<usize, Entry>> {
    // The map is never left half-updated, so a poisoned lock is still consistent.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The error for a pointer that is not a live handle of kind `T` (`entry`: what the registry
/// holds at its address).
fn not_live<T: Tagged>(entry: Option<&Entry>, name: &str) -> FfiError {
    match entry {
        Some(e) if e.magic == T::MAGIC => FfiError::new(
            tg_status::InvalidHandle,
            format!("argument `{name}`: internal error checking the {}", T::KIND),
        ),
        Some(_) => FfiError::new(
            tg_status::InvalidHandle,
            format!("argument `{name}` is a handle of another kind, not a {}", T::KIND),
        ),
        None => FfiError::new(
            tg_status::InvalidHandle,
            format!(
                "argument `{name}` is not a live {}: it was freed, or never created by this library",
                T::KIND
            ),
        ),
    }
}

/// Boxes `value`, registers it, and returns the pointer handed to C.
pub(crate) fn register<T: Tagged>(value: T) -> *mut T {
    let ptr = Box::into_raw(Box::new(value));
    live().insert(
        ptr as usize,
        Entry {
            magic: T::MAGIC,
            in_use: 0,
        },
    );
    ptr
}

/// A live handle held in use by one call: it cannot be freed until this is dropped.
pub(crate) struct Borrowed<'a, T: Tagged> {
    obj: &'a T,
}

impl<T: Tagged> Deref for Borrowed<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.obj
    }
}

impl<T: Tagged> Drop for Borrowed<'_, T> {
    fn drop(&mut self) {
        let mut map = live();
        if let Some(e) = map.get_mut(&(self.obj as *const T as usize)) {
            e.in_use = e.in_use.saturating_sub(1);
        }
    }
}

/// Borrows a live handle of kind `T`, holding it in use until the result is dropped (a free
/// in the meantime returns `TG_STATUS_HANDLE_BUSY`).
///
/// # Safety
/// `ptr` must be NULL, a handle from `register` (live or freed), or any other pointer value
/// that is never read (foreign pointers are refused by the registry before any read).
pub(crate) unsafe fn borrow<'a, T: Tagged>(
    ptr: *const T,
    name: &str,
) -> Result<Borrowed<'a, T>, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    {
        let mut map = live();
        match map.get_mut(&(ptr as usize)) {
            Some(e) if e.magic == T::MAGIC => e.in_use += 1,
            other => return Err(not_live::<T>(other.map(|e| &*e), name)),
        }
    }
    // SAFETY: registered handles are live boxes of `T` (registry checked above), and it stays
    // registered while in use (`release` refuses to free it).
    let held = Borrowed {
        obj: unsafe { &*ptr },
    };
    if held.magic() != T::MAGIC {
        return Err(FfiError::new(
            tg_status::InvalidHandle,
            format!(
                "argument `{name}`: the {} handle's tag is corrupted",
                T::KIND
            ),
        ));
    }
    Ok(held)
}

/// Frees a handle of kind `T`; NULL is a no-op. A freed or foreign pointer is an error, and so
/// is a handle in use by a call on another thread (`TG_STATUS_HANDLE_BUSY`, nothing freed).
///
/// # Safety
/// `ptr` as for [`borrow`].
pub(crate) unsafe fn release<T: Tagged>(ptr: *mut T, name: &str) -> Result<(), FfiError> {
    if ptr.is_null() {
        return Ok(());
    }
    {
        let mut map = live();
        match map.get(&(ptr as usize)) {
            Some(e) if e.magic == T::MAGIC && e.in_use == 0 => {
                map.remove(&(ptr as usize));
            }
            Some(e) if e.magic == T::MAGIC => {
                return Err(FfiError::new(
                    tg_status::HandleBusy,
                    format!(
                        "argument `{name}`: the {} is in use by {} call(s) on other threads; \
                         it was not freed (free it once they have returned)",
                        T::KIND,
                        e.in_use
                    ),
                ));
            }
            other => return Err(not_live::<T>(other, name)),
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

    /// A test kind of handle whose tag is `M`.
    struct Kind<const M: u64> {
        magic: u64,
    }
    impl<const M: u64> Tagged for Kind<M> {
        const MAGIC: u64 = M;
        const KIND: &'static str = "test handle";
        fn magic(&self) -> u64 {
            self.magic
        }
        fn magic_mut(&mut self) -> &mut u64 {
            &mut self.magic
        }
    }
    type A = Kind<1>;
    type B = Kind<2>;

    #[test]
    fn freed_and_wrong_kind_handles_are_refused() {
        let a = register(A { magic: A::MAGIC });
        // SAFETY: single-threaded test; pointers come from `register` or are bogus but never read.
        unsafe {
            assert!(borrow(a.cast_const(), "a").is_ok());
            // Held in use: a free is refused and changes nothing.
            let held = borrow(a.cast_const(), "a").unwrap();
            let held2 = borrow(a.cast_const(), "a").unwrap();
            let e = release(a, "a").unwrap_err();
            assert_eq!(e.status, tg_status::HandleBusy);
            assert!(e.message.contains("2 call(s)"), "{}", e.message);
            drop(held);
            assert_eq!(release(a, "a").unwrap_err().status, tg_status::HandleBusy);
            assert_eq!(held2.magic(), A::MAGIC);
            drop(held2);
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
