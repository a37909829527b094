//! Runtime dispatch of the hot loops to 256-bit vector code (AVX2) on x86-64 CPUs that have it.
//!
//! The portable build targets baseline x86-64 (SSE2: two f64 per instruction). `run` calls a
//! closure either as it is or inside a function compiled with AVX2 enabled, where the closure
//! and the `#[inline(always)]` loop bodies it calls are inlined and vectorised four f64 wide.
//! Both copies do the same floating-point operations in the same order: Rust never
//! reassociates or contracts (no fast-math, FMA is not enabled), and every reduction in the
//! solver has an explicit lane structure ([`crate::sdp::lowrank::dot`]'s four lanes), so
//! results are **bit-identical** with and without it (tested on whole solves in
//! `core/tests/simd.rs`). The choice is made once per process from CPUID (no `std` needed) and
//! can be switched off with [`set_enabled`] (the CLI reads `TASKGROUP_SIMD=off`).
//!
//! Planted n = 100 (k = 3): 112 M → 90 M instructions per solve (callgrind); 1.09–1.19× less
//! time per solve at n = 100–600 (`bench/SIMD.md`).
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicU8, Ordering};

/// 0: not yet detected; 1: baseline; 2: AVX2; 3: AVX2 present but switched off.
static LEVEL: AtomicU8 = AtomicU8::new(0);

/// Whether the solver uses the AVX2 copy: the CPU (and the OS, for the 256-bit registers) supports
/// AVX2 and [`set_enabled`] did not switch it off.
pub fn enabled() -> bool {
    level() == 2
}

/// Whether this CPU supports the AVX2 copy at all (whatever [`set_enabled`] said).
pub fn available() -> bool {
    matches!(level(), 2 | 3)
}

/// Switches the AVX2 copy on (when [`available`]) or off, for the whole process. Results do not
/// change either way; this exists to measure the difference and to rule it out when
/// investigating a platform problem.
pub fn set_enabled(on: bool) {
    if available() {
        LEVEL.store(if on { 2 } else { 3 }, Ordering::Relaxed);
    }
}

fn level() -> u8 {
    match LEVEL.load(Ordering::Relaxed) {
        0 => {
            let l = if detect() { 2 } else { 1 };
            // A concurrent `set_enabled` wins over the first detection.
            let _ = LEVEL.compare_exchange(0, l, Ordering::Relaxed, Ordering::Relaxed);
            LEVEL.load(Ordering::Relaxed)
        }
        l => l,
    }
}

/// AVX2 in CPUID leaf 7 and AVX with OS-enabled YMM state (OSXSAVE, XCR0 bits 1–2).
#[cfg(target_arch = "x86_64")]
fn detect() -> bool {
    use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
    // CPUID exists on every x86-64 CPU (the intrinsics are safe).
    let max_leaf = __cpuid(0).eax;
    if max_leaf < 7 {
        return false;
    }
    let leaf1 = __cpuid(1);
    let (osxsave, avx) = (leaf1.ecx & (1 << 27) != 0, leaf1.ecx & (1 << 28) != 0);
    if !(osxsave && avx) {
        return false;
    }
    // SAFETY: OSXSAVE set means the OS enabled XGETBV (the `xsave` feature it needs).
    let xcr0 = unsafe { _xgetbv(0) };
    if xcr0 & 0b110 != 0b110 {
        return false;
    }
    // Leaf 7 exists (max_leaf ≥ 7).
    let leaf7 = __cpuid_count(7, 0);
    leaf7.ebx & (1 << 5) != 0
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> bool {
    false
}

/// Calls `f`, inside an AVX2-compiled function when [`enabled`]: `f` (a closure calling an
/// `#[inline(always)]` body) is then inlined and compiled for AVX2. Same results either way.
#[inline(always)]
pub(crate) fn run<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if enabled() {
        // SAFETY: `enabled` implies the CPU and OS support AVX2.
        return unsafe { run_avx2(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn run_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_is_stable_and_switchable() {
        let avail = available();
        assert_eq!(available(), avail);
        // The closure runs exactly once on either path.
        let mut calls = 0;
        assert_eq!(
            run(|| {
                calls += 1;
                7
            }),
            7
        );
        assert_eq!(calls, 1);
        if !avail {
            set_enabled(true);
            assert!(!enabled());
        }
    }
}
