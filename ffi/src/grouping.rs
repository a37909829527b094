//! `tg_group` (one k) and `tg_group_auto` (a range of k): solve, round, certify.

use taskgroup_core::{group, search_k, Affinity};

use crate::memory::{borrow_slice, out_buffer, out_param, write_optional, OutBuffer};
use crate::options::{read_k_search, read_options, tg_k_search, tg_options, tg_report};
use crate::status::{tg_status, FfiError};

/// Validates the row-major n×n matrix at `affinity`.
///
/// # Safety
/// `affinity` must be NULL or valid for reads of n·n doubles.
unsafe fn read_affinity(affinity: *const f64, n: usize) -> Result<Affinity, FfiError> {
    if affinity.is_null() {
        return Err(FfiError::null("affinity"));
    }
    let len = n.checked_mul(n).ok_or_else(|| {
        FfiError::invalid_argument(format!("n = {n}: n·n overflows the address space"))
    })?;
    // SAFETY: the caller's contract.
    let data = unsafe { borrow_slice(affinity, len, "affinity") }?;
    Ok(Affinity::from_row_major(data, n)?)
}

/// Checks the labels buffer: non-NULL and at least n entries.
fn labels_buffer(
    labels: *mut u32,
    labels_len: usize,
    n: usize,
) -> Result<OutBuffer<u32>, FfiError> {
    if labels.is_null() {
        return Err(FfiError::null("labels"));
    }
    let out = out_buffer(labels, labels_len, "labels")?;
    out.require(n, "labels")?;
    Ok(out)
}

/// Groups n tasks into k groups: solves the SDP relaxation, rounds it, and certifies the
/// result against an upper bound.
///
/// `affinity`: row-major n×n (T[u][v] at `affinity[u*n + v]`: how much task v helps task u;
/// larger is better; only (T + Tᵀ)/2 matters). `opts` may be NULL (defaults). On success `labels[0..n]` gets each task's group in canonical order (task 0 is in
/// group 0, the next task that starts a new group gets 1, ...), and `report` (may be NULL)
/// the values and certificate.
///
/// Errors: `NULL_ARGUMENT`, `EMPTY` (n = 0), `NON_FINITE` (the message names the row and
/// column), `INVALID_K` (k not in 1..n), `INVALID_SETTING`, `BUFFER_TOO_SMALL`
/// (`labels_len` < n), `INVALID_ARGUMENT` (n·n overflows, misaligned pointer).
///
/// # Safety
/// `affinity` valid for reads of n·n doubles; `opts` NULL or valid; `labels` valid for writes
/// of `labels_len` entries; `report` NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_group(
    affinity: *const f64,
    n: usize,
    k: usize,
    opts: *const tg_options,
    labels: *mut u32,
    labels_len: usize,
    report: *mut tg_report,
) -> tg_status {
    ffi_boundary!(status: {
        if labels.is_null() {
            return Err(FfiError::null("labels"));
        }
        // SAFETY: the caller's contract for every pointer below.
        let t = unsafe { read_affinity(affinity, n) }?;
        let settings = unsafe { read_options(opts) }.to_settings()?;
        let out = labels_buffer(labels, labels_len, n)?;
        let r = group(&t, k, &settings)?;
        let rep = tg_report::of(&r, k);
        unsafe {
            out.write(r.partition.labels());
            write_optional(report, rep);
        }
        Ok(())
    })
}

/// Groups n tasks for every k in `search->k_min ..= search->k_max` (k_max 0 = n),
/// warm-starting each k from the previous one, and keeps the k picked by `search->k_rule`.
///
/// `opts` (solver and rounding settings) may be NULL for the defaults; `search` may be NULL
/// for `tg_k_search_default()` (k from 1 to n, the paper's average-density rule). On success
/// `*k_chosen` gets the chosen k, `labels[0..n]` its groups (canonical order) and `report`
/// (may be NULL) its values and certificate. Errors as `tg_group`, plus `INVALID_K_RANGE`.
///
/// # Safety
/// As `tg_group`; `search` NULL or valid for reads; `k_chosen` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_group_auto(
    affinity: *const f64,
    n: usize,
    opts: *const tg_options,
    search: *const tg_k_search,
    labels: *mut u32,
    labels_len: usize,
    k_chosen: *mut usize,
    report: *mut tg_report,
) -> tg_status {
    ffi_boundary!(status: {
        if labels.is_null() {
            return Err(FfiError::null("labels"));
        }
        let k_out = out_param(k_chosen, "k_chosen")?;
        // SAFETY: the caller's contract for every pointer below.
        let t = unsafe { read_affinity(affinity, n) }?;
        let settings = unsafe { read_options(opts) }.to_settings()?;
        let ks = unsafe { read_k_search(search) };
        let rule = ks.k_rule()?;
        let out = labels_buffer(labels, labels_len, n)?;
        let hi = if ks.k_max == 0 { n } else { ks.k_max };
        let s = search_k(&t, ks.k_min, hi, &settings, rule, None)?;
        let row = s
            .rows
            .get(s.chosen)
            .ok_or_else(|| FfiError::new(tg_status::OtherError, "the k search returned no row"))?;
        let rep = tg_report::of(&row.result, row.k);
        unsafe {
            out.write(row.result.partition.labels());
            k_out.set(row.k);
            write_optional(report, rep);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tg_k_search_default;

    fn planted() -> Vec<f64> {
        // Two blocks {0,1,2} and {3,4}, strong inside, weak across.
        let n = 5;
        let mut t = vec![0.1; n * n];
        for u in 0..n {
            for v in 0..n {
                if (u < 3) == (v < 3) {
                    t[u * n + v] = 1.0;
                }
            }
        }
        t
    }

    #[test]
    fn groups_a_planted_matrix() {
        let t = planted();
        let mut labels = [9u32; 5];
        let mut rep = std::mem::MaybeUninit::<tg_report>::uninit();
        // SAFETY: valid buffers of the stated lengths.
        let s = unsafe {
            tg_group(
                t.as_ptr(),
                5,
                2,
                std::ptr::null(),
                labels.as_mut_ptr(),
                5,
                rep.as_mut_ptr(),
            )
        };
        assert_eq!(s, tg_status::Ok);
        assert_eq!(labels, [0, 0, 0, 1, 1]);
        // SAFETY: written on success.
        let rep = unsafe { rep.assume_init() };
        assert_eq!(rep.num_groups, 2);
        assert!(rep.certified_optimal);
    }

    #[test]
    fn auto_picks_k_and_outputs_stay_untouched_on_error() {
        let t = planted();
        let mut labels = [9u32; 5];
        let mut k = 77usize;
        let mut o = tg_k_search_default();
        o.k_min = 2;
        o.k_max = 4;
        // SAFETY: valid buffers of the stated lengths.
        let s = unsafe {
            tg_group_auto(
                t.as_ptr(),
                5,
                std::ptr::null(),
                &o,
                labels.as_mut_ptr(),
                5,
                &mut k,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(s, tg_status::Ok);
        assert_eq!(k, 2);
        assert_eq!(labels, [0, 0, 0, 1, 1]);
        let mut labels = [9u32; 5];
        k = 77;
        o.k_max = 6;
        // SAFETY: as above.
        let s = unsafe {
            tg_group_auto(
                t.as_ptr(),
                5,
                std::ptr::null(),
                &o,
                labels.as_mut_ptr(),
                5,
                &mut k,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(s, tg_status::InvalidKRange);
        assert_eq!((labels, k), ([9; 5], 77));
        // SAFETY: as above; the short buffer is refused before anything is written.
        let s = unsafe {
            tg_group(
                t.as_ptr(),
                5,
                2,
                std::ptr::null(),
                labels.as_mut_ptr(),
                4,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(s, tg_status::BufferTooSmall);
        assert_eq!(labels, [9; 5]);
    }
}
