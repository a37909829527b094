//! Affinity from subset training results (paper Eq. 6) behind an opaque builder handle.

use std::sync::Mutex;

use taskgroup_core::session::aggregate::{AffinityBuilder, AggregateSettings, FillRule};

use crate::handle::{borrow, release};
use crate::memory::{borrow_slice, not_null, out_buffer, out_param, read_optional, write_optional};
use crate::status::{tg_status, FfiError};

/// How pairs never trained together are filled (values of `fill` fields).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_fill {
    /// The minimum observed off-diagonal entry of the row (pessimistic; default).
    RowMin = 0,
    /// The mean of the observed off-diagonal entries of the row (neutral).
    RowMean = 1,
    /// A constant (`fill_constant`, finite).
    Constant = 2,
}

/// The library's fill rule for a `tg_fill` value and constant.
pub(crate) fn fill_rule(fill: u32, constant: f64) -> Result<FillRule, FfiError> {
    let rule = match fill {
        0 => FillRule::RowMin,
        1 => FillRule::RowMean,
        2 => FillRule::Constant(constant),
        v => {
            return Err(FfiError::unknown_enum(
                "fill",
                v,
                "TG_FILL_ROW_MIN, TG_FILL_ROW_MEAN or TG_FILL_CONSTANT",
            ))
        }
    };
    rule.validate()?;
    Ok(rule)
}

/// Settings of `tg_affinity_builder_compute`; start from `tg_aggregate_options_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct tg_aggregate_options {
    /// true (default): larger scores are better; false: scores are losses (negated first).
    pub higher_is_better: bool,
    /// A `tg_fill` value (default `TG_FILL_ROW_MIN`).
    pub fill: u32,
    /// The value of `TG_FILL_CONSTANT` (finite; default 0).
    pub fill_constant: f64,
}

/// The default aggregation settings (scores, row-minimum fill).
#[no_mangle]
pub extern "C" fn tg_aggregate_options_default() -> tg_aggregate_options {
    ffi_boundary!(value(default_aggregate()): { default_aggregate() })
}

fn default_aggregate() -> tg_aggregate_options {
    let d = AggregateSettings::default();
    let (fill, fill_constant) = match d.fill {
        FillRule::RowMin => (tg_fill::RowMin, 0.0),
        FillRule::RowMean => (tg_fill::RowMean, 0.0),
        FillRule::Constant(c) => (tg_fill::Constant, c),
    };
    tg_aggregate_options {
        higher_is_better: d.higher_is_better,
        fill: fill as u32,
        fill_constant,
    }
}

/// Collects subset results f_i(S) for n tasks, in any order (opaque). Create with
/// `tg_affinity_builder_new`, free with `tg_affinity_builder_free`.
///
/// Threads: as `tg_session` (calls serialised; the free must not race other calls, and a free
/// during a call returns `TG_STATUS_HANDLE_BUSY` and frees nothing).
pub struct tg_affinity_builder {
    magic: u64,
    inner: Mutex<AffinityBuilder>,
}

tagged_handle!(tg_affinity_builder, AffinityBuilder, 0x7467_4146_4649_4E42); // "tgAFFINB"

/// An empty collection for n ≥ 1 tasks (0-based indices). On success `*out` gets a new handle.
///
/// # Safety
/// `out` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_affinity_builder_new(
    n: usize,
    out: *mut *mut tg_affinity_builder,
) -> tg_status {
    ffi_boundary!(status: {
        let out = out_param(out, "out")?;
        if u32::try_from(n).is_err() {
            return Err(FfiError::invalid_argument(format!(
                "n = {n} tasks do not fit the uint32_t task indices"
            )));
        }
        let b = AffinityBuilder::new(n)?;
        let h = tg_affinity_builder::new(b);
        // SAFETY: the caller's contract.
        unsafe { out.set(h) };
        Ok(())
    })
}

/// Records one result per member of a trained subset: `scores[p]` is the score of task
/// `subset[p]` when trained with the whole subset. All-or-nothing: on error (empty subset,
/// repeated or out-of-range task → `INVALID_SUBSET`; count → `SCORE_COUNT_MISMATCH`; NaN or
/// ±Inf → `NON_FINITE_SCORE` naming the position) nothing is recorded.
///
/// # Safety
/// `builder` a live handle; `subset` and `scores` valid for reads of their lengths.
#[no_mangle]
pub unsafe extern "C" fn tg_affinity_builder_add(
    builder: *mut tg_affinity_builder,
    subset: *const u32,
    subset_len: usize,
    scores: *const f64,
    num_scores: usize,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(builder.cast_const(), "builder") }?;
        let subset = unsafe { borrow_slice(subset, subset_len, "subset") }?;
        let scores = unsafe { borrow_slice(scores, num_scores, "scores") }?;
        let tasks: Vec<usize> = subset.iter().map(|&t| t as usize).collect();
        h.lock().add_subset(&tasks, scores)?;
        Ok(())
    })
}

/// Computes the higher-order affinity (paper Eq. 6) from every record: `matrix[i*n + j]` =
/// mean score of task i over the recorded subsets containing i and j (larger = better), with
/// pairs never trained together filled by `opts->fill`. `opts` may be NULL (defaults).
/// `coverage` (may be NULL with length 0) gets, per entry, the number of distinct subsets
/// behind it (0 = filled). Both buffers need n·n entries; `needed` (may be NULL) gets n·n on
/// success and on `TG_STATUS_BUFFER_TOO_SMALL`. A builder with no results at all gives
/// `TG_STATUS_NO_RECORDS` (tasks without results of their own are filled by `opts->fill`).
///
/// # Safety
/// `builder` a live handle; `opts` NULL or valid; `matrix` valid for writes of `matrix_len`
/// doubles; `coverage` NULL or valid for writes of `coverage_len` entries; `needed` NULL or
/// valid for writes.
#[no_mangle]
pub unsafe extern "C" fn tg_affinity_builder_compute(
    builder: *const tg_affinity_builder,
    opts: *const tg_aggregate_options,
    matrix: *mut f64,
    matrix_len: usize,
    coverage: *mut u32,
    coverage_len: usize,
    needed: *mut usize,
) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        let h = unsafe { borrow(builder, "builder") }?;
        let o = unsafe { read_optional(opts) }.unwrap_or_else(default_aggregate);
        let settings = AggregateSettings {
            higher_is_better: o.higher_is_better,
            fill: fill_rule(o.fill, o.fill_constant)?,
        };
        let b = h.lock();
        let n = b.n();
        let nn = n * n; // n < 2³² (checked at creation), so n·n fits in 64 bits.
        let short = if matrix_len < nn {
            Some(("matrix", matrix_len))
        } else if !coverage.is_null() && coverage_len < nn {
            Some(("coverage", coverage_len))
        } else {
            None
        };
        if let Some((name, have)) = short {
            // SAFETY: the caller's contract; the needed length is the one output of this error.
            unsafe { write_optional(needed, nn) };
            return Err(FfiError::too_small(name, have, nn));
        }
        not_null(matrix.is_null(), "matrix")?;
        let m_out = out_buffer(matrix, matrix_len, "matrix")?;
        let c_out = if coverage.is_null() {
            None
        } else {
            Some(out_buffer(coverage, coverage_len, "coverage")?)
        };
        if b.num_records() == 0 {
            return Err(FfiError::new(
                tg_status::NoRecords,
                format!(
                    "no subset results were added to the builder (n = {n}): add at least one \
                     trained subset with tg_affinity_builder_add before computing the affinity"
                ),
            ));
        }
        let est = b.higher_order(&settings)?;
        // SAFETY: both buffers hold ≥ n·n entries (checked above).
        unsafe {
            m_out.write(est.directed());
            if let Some(c) = c_out {
                c.write(est.coverage());
            }
            write_optional(needed, nn);
        }
        Ok(())
    })
}

/// Frees a builder. NULL is a no-op; a freed or foreign pointer gives
/// `TG_STATUS_INVALID_HANDLE`.
///
/// Threads: the free must not race other calls on the same builder. If another thread is
/// inside a call on it, this returns `TG_STATUS_HANDLE_BUSY` and frees nothing (free it after
/// that call returns); calls made after the free return `TG_STATUS_INVALID_HANDLE`.
///
/// # Safety
/// `builder` NULL, or a pointer from this library (live or freed) that no call made after
/// this one uses, unless a later `_new` returned the same address.
#[no_mangle]
pub unsafe extern "C" fn tg_affinity_builder_free(builder: *mut tg_affinity_builder) -> tg_status {
    ffi_boundary!(status: {
        // SAFETY: the caller's contract.
        unsafe { release(builder, "builder") }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_an_affinity_from_records() {
        let mut b: *mut tg_affinity_builder = std::ptr::null_mut();
        // SAFETY: valid pointers and lengths throughout.
        unsafe {
            assert_eq!(tg_affinity_builder_new(3, &mut b), tg_status::Ok);
            let mut m0 = [7.0; 9];
            let st = tg_affinity_builder_compute(
                b,
                std::ptr::null(),
                m0.as_mut_ptr(),
                9,
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
            );
            assert_eq!((st, m0), (tg_status::NoRecords, [7.0; 9]));
            let s = [0u32, 1];
            assert_eq!(
                tg_affinity_builder_add(b, s.as_ptr(), 2, [1.0, 2.0].as_ptr(), 2),
                tg_status::Ok
            );
            let bad = [0u32, 0];
            assert_eq!(
                tg_affinity_builder_add(b, bad.as_ptr(), 2, [1.0, 2.0].as_ptr(), 2),
                tg_status::InvalidSubset
            );
            assert_eq!(
                tg_affinity_builder_add(b, s.as_ptr(), 2, [1.0, f64::NAN].as_ptr(), 2),
                tg_status::NonFiniteScore
            );
            let mut m = [0.0; 9];
            let mut cov = [0u32; 9];
            let mut need = 0usize;
            let st = tg_affinity_builder_compute(
                b,
                std::ptr::null(),
                m.as_mut_ptr(),
                8,
                std::ptr::null_mut(),
                0,
                &mut need,
            );
            assert_eq!((st, need), (tg_status::BufferTooSmall, 9));
            let st = tg_affinity_builder_compute(
                b,
                std::ptr::null(),
                m.as_mut_ptr(),
                9,
                cov.as_mut_ptr(),
                9,
                &mut need,
            );
            assert_eq!(st, tg_status::Ok);
            assert_eq!(m[1], 1.0); // T_01 = f_0({0,1})
            assert_eq!(m[3], 2.0); // T_10 = f_1({0,1})
            assert_eq!(cov[1], 1);
            assert_eq!(cov[2], 0); // pair (0,2) never trained together: filled
            assert_eq!(tg_affinity_builder_free(b), tg_status::Ok);
            assert_eq!(tg_affinity_builder_free(b), tg_status::InvalidHandle);
            assert_eq!(
                tg_affinity_builder_free(std::ptr::null_mut()),
                tg_status::Ok
            );
        }
    }
}
