//! `tg_group` (one k) and `tg_group_auto` (a range of k): solve, round, certify.

use taskgroup_core::{group, search_k, Affinity, Error};

use crate::memory::{
    borrow_slice, not_null, out_buffer, out_param, square_len, write_optional, OutBuffer,
};
use crate::options::{read_k_search, read_options, tg_k_search, tg_options, tg_report};
use crate::status::{tg_status, FfiError};

/// Validates the row-major n×n matrix at `affinity`.
///
/// # Safety
/// `affinity` must be NULL or valid for reads of n·n doubles.
unsafe fn read_affinity(affinity: *const f64, n: usize) -> Result<Affinity, FfiError> {
    not_null(affinity.is_null(), "affinity")?;
    let len = square_len(n)?;
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
    not_null(labels.is_null(), "labels")?;
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
        not_null(labels.is_null(), "labels")?;
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
        not_null(labels.is_null(), "labels")?;
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

/// One row of the k table of `tg_group_auto_table`: the result for one k.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct tg_k_row {
    /// Values and certificate of the partition found for this k (`report.k` is the k).
    pub report: tg_report,
    /// The elbow score Δ_k − Δ_{k+1}, Δ_k = V_k − V_{k−1} (T's units; larger = sharper elbow).
    pub elbow_score: f64,
}

/// The choices of `tg_group_auto_table`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tg_k_choice {
    /// The k picked by `search->k_rule` (its groups are in `labels`).
    pub k: usize,
    /// The k the paper's rule picks (highest average density).
    pub k_by_density: usize,
    /// The k the elbow rule picks (largest drop in marginal gain).
    pub k_by_elbow: usize,
}

/// `tg_group_auto` with its whole k table: one row per k in `search->k_min ..= search->k_max`
/// (k_max 0 = n), ascending, as the CLI's `cluster --k-range --json` prints it.
///
/// `rows` needs k_max − k_min + 1 entries: a shorter buffer gives `BUFFER_TOO_SMALL` before
/// anything is solved, with the number needed in `*num_rows` (pass `rows` NULL and
/// `rows_len` 0 to ask). On success `*num_rows` gets the number of rows written, `labels[0..n]`
/// the groups of the chosen k (canonical order) and `choice` (may be NULL) the k picked by
/// `search->k_rule`, by the paper's average-density rule and by the elbow rule. The chosen
/// row's `report` is what `tg_group_auto` reports. Errors as `tg_group_auto`.
///
/// # Safety
/// As `tg_group_auto`; `rows` NULL with `rows_len` 0 or valid for writes of `rows_len`
/// entries; `num_rows` valid for writes; `choice` NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_group_auto_table(
    affinity: *const f64,
    n: usize,
    opts: *const tg_options,
    search: *const tg_k_search,
    labels: *mut u32,
    labels_len: usize,
    rows: *mut tg_k_row,
    rows_len: usize,
    num_rows: *mut usize,
    choice: *mut tg_k_choice,
) -> tg_status {
    ffi_boundary!(status: {
        not_null(labels.is_null(), "labels")?;
        not_null(num_rows.is_null(), "num_rows")?;
        // SAFETY: the caller's contract for every pointer below.
        let t = unsafe { read_affinity(affinity, n) }?;
        let settings = unsafe { read_options(opts) }.to_settings()?;
        let ks = unsafe { read_k_search(search) };
        let rule = ks.k_rule()?;
        let out = labels_buffer(labels, labels_len, n)?;
        let lo = ks.k_min;
        let hi = if ks.k_max == 0 { n } else { ks.k_max };
        if lo == 0 || lo > hi || hi > n {
            return Err(Error::InvalidKRange { lo, hi, n }.into());
        }
        let needed = hi - lo + 1;
        if rows_len < needed {
            // SAFETY: the caller's contract; the needed count is the one output of this error.
            unsafe { write_optional(num_rows, needed) };
            return Err(FfiError::too_small("rows", rows_len, needed));
        }
        let rows_out = out_buffer(rows, rows_len, "rows")?;
        let s = search_k(&t, lo, hi, &settings, rule, None)?;
        let table: Vec<tg_k_row> = s
            .rows
            .iter()
            .map(|r| tg_k_row {
                report: tg_report::of(&r.result, r.k),
                elbow_score: r.elbow_score,
            })
            .collect();
        let k_of = |i: usize| -> Result<usize, FfiError> {
            s.rows
                .get(i)
                .map(|r| r.k)
                .ok_or_else(|| FfiError::new(tg_status::OtherError, "the k search returned no row"))
        };
        let c = tg_k_choice {
            k: k_of(s.chosen)?,
            k_by_density: k_of(s.chosen_by_density)?,
            k_by_elbow: k_of(s.chosen_by_elbow)?,
        };
        unsafe {
            out.write(s.rows[s.chosen].result.partition.labels());
            rows_out.write(&table);
            write_optional(num_rows, table.len());
            write_optional(choice, c);
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

    /// `tg_group_auto` on `t` (n = 5) with default options, no report.
    fn auto(t: &[f64], o: &tg_k_search, labels: &mut [u32; 5], k: &mut usize) -> tg_status {
        // SAFETY: valid buffers of the stated lengths.
        unsafe {
            tg_group_auto(
                t.as_ptr(),
                5,
                std::ptr::null(),
                o,
                labels.as_mut_ptr(),
                labels.len(),
                k,
                std::ptr::null_mut(),
            )
        }
    }

    /// `tg_group_auto_table` on `t` (n = 5) with default options; empty `rows` pass NULL.
    fn auto_table(
        t: &[f64],
        o: &tg_k_search,
        labels: &mut [u32; 5],
        rows: &mut [tg_k_row],
        count: &mut usize,
        choice: Option<&mut tg_k_choice>,
    ) -> tg_status {
        let rows_ptr = if rows.is_empty() {
            std::ptr::null_mut()
        } else {
            rows.as_mut_ptr()
        };
        let choice = choice.map_or(std::ptr::null_mut(), |c| c as *mut tg_k_choice);
        // SAFETY: valid buffers of the stated lengths.
        unsafe {
            tg_group_auto_table(
                t.as_ptr(),
                5,
                std::ptr::null(),
                o,
                labels.as_mut_ptr(),
                labels.len(),
                rows_ptr,
                rows.len(),
                count,
                choice,
            )
        }
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
        let s = auto(&t, &o, &mut labels, &mut k);
        assert_eq!(s, tg_status::Ok);
        assert_eq!(k, 2);
        assert_eq!(labels, [0, 0, 0, 1, 1]);
        let mut labels = [9u32; 5];
        k = 77;
        o.k_max = 6;
        let s = auto(&t, &o, &mut labels, &mut k);
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

    #[test]
    fn auto_table_has_one_row_per_k_and_asks_for_its_size() {
        let t = planted();
        let mut labels = [9u32; 5];
        let mut o = tg_k_search_default();
        o.k_min = 1;
        o.k_max = 4;
        o.k_rule = crate::options::tg_k_rule::Elbow as u32;
        let mut count = 0usize;
        // Rows: NULL with length 0.
        let s = auto_table(&t, &o, &mut labels, &mut [], &mut count, None);
        assert_eq!((s, count, labels), (tg_status::BufferTooSmall, 4, [9; 5]));
        let zero = tg_k_row {
            report: tg_report::of(
                &group(
                    &Affinity::from_row_major(&t, 5).unwrap(),
                    1,
                    &Default::default(),
                )
                .unwrap(),
                1,
            ),
            elbow_score: 0.0,
        };
        let mut rows = [zero; 4];
        let mut choice = tg_k_choice {
            k: 0,
            k_by_density: 0,
            k_by_elbow: 0,
        };
        let s = auto_table(
            &t,
            &o,
            &mut labels,
            &mut rows,
            &mut count,
            Some(&mut choice),
        );
        assert_eq!(s, tg_status::Ok);
        assert_eq!(count, 4);
        assert_eq!(choice.k, 2);
        assert_eq!(choice.k_by_elbow, 2);
        assert_eq!(labels, [0, 0, 0, 1, 1]);
        let ks: Vec<usize> = rows.iter().map(|r| r.report.k).collect();
        assert_eq!(ks, [1, 2, 3, 4]);
        assert!(rows[1].report.certified_optimal);
    }
}
