//! The library version, from Cargo.toml (`CARGO_PKG_VERSION`); the header's version macros
//! are these constants, and a test checks that they agree.

use std::ffi::c_char;

/// Major version (from Cargo.toml; checked by a test).
pub const TASKGROUP_VERSION_MAJOR: u32 = 0;
/// Minor version (from Cargo.toml; checked by a test).
pub const TASKGROUP_VERSION_MINOR: u32 = 1;
/// Patch version (from Cargo.toml; checked by a test).
pub const TASKGROUP_VERSION_PATCH: u32 = 0;
/// The version string "MAJOR.MINOR.PATCH" (from Cargo.toml; checked by a test).
pub const TASKGROUP_VERSION: &str = "0.1.0";

/// The version of the library actually linked, NUL-terminated, static ("MAJOR.MINOR.PATCH");
/// compare with the header's `TASKGROUP_VERSION`.
#[no_mangle]
pub extern "C" fn taskgroup_version() -> *const c_char {
    ffi_boundary!(value(VERSION_C.as_ptr().cast()): { VERSION_C.as_ptr().cast() })
}

/// `CARGO_PKG_VERSION` with a NUL terminator.
const VERSION_C: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_agree_with_cargo_toml() {
        assert_eq!(TASKGROUP_VERSION, env!("CARGO_PKG_VERSION"));
        assert_eq!(
            TASKGROUP_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            TASKGROUP_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            TASKGROUP_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        // SAFETY: a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(taskgroup_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
