//! Gives the shared library an ELF soname when `TASKGROUP_SONAME` is set (scripts/install-c.sh
//! sets it): `libtaskgroup.so.0.1` for version 0.1.x (cargo-c's rule: `so.MAJOR` from 1.0 on,
//! `so.0.MINOR` before, since a 0.x minor release may break the ABI). Off by default, so that
//! programs linked against `target/*/libtaskgroup.so` in the tree (the C tests, ffi-check.sh)
//! need no versioned symlink next to it.

fn main() {
    println!("cargo:rerun-if-env-changed=TASKGROUP_SONAME");
    let wanted = std::env::var_os("TASKGROUP_SONAME").is_some_and(|v| !v.is_empty() && v != "0");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if !wanted || !(target_os == "linux" || target_os == "android" || target_os.ends_with("bsd")) {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_else(|_| "0".into());
    let sover = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtaskgroup.so.{sover}");
}
