//! `tg_normalize`: the library's affinity normalisations (`taskgroup_core::normalize`), applied
//! to a caller's matrix before grouping.

use taskgroup_core::normalize::{normalize_scores, Normalization};

use crate::memory::{borrow_slice, not_null, out_buffer, square_len};
use crate::status::tg_status;
use crate::status::FfiError;

/// How `tg_normalize` transforms a matrix (values of its `how` argument).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tg_normalization {
    /// T unchanged (the output is its symmetric part).
    None = 0,
    /// `D^{-1/2} A D^{-1/2}`, A = T shifted so that its smallest entry is 0 when it has a
    /// negative one, D = row sums of A (a zero row stays 0). Undoes block-wise scale
    /// differences, e.g. a group of tasks whose scores are 100× larger.
    SymmetricDegree = 1,
    /// Each row (task u's scores, diagonal included) standardised to mean 0 and standard
    /// deviation 1 (a constant row becomes 0). Undoes per-task offsets and scales.
    Standardize = 2,
    /// `(T_uv − T_uu) / |T_uu|`: the gain of v for u relative to u's own (diagonal) score;
    /// `TG_STATUS_ZERO_REFERENCE` when some T_uu = 0.
    RelativeToSingleTask = 3,
}

/// The library's normalisation for a `tg_normalization` value.
fn normalization(how: u32) -> Result<Normalization, FfiError> {
    Ok(match how {
        0 => Normalization::None,
        1 => Normalization::SymmetricDegree,
        2 => Normalization::Standardize,
        3 => Normalization::RelativeToSingleTask,
        v => {
            return Err(FfiError::unknown_enum(
                "how",
                v,
                "TG_NORMALIZATION_NONE, _SYMMETRIC_DEGREE, _STANDARDIZE or \
                 _RELATIVE_TO_SINGLE_TASK",
            ))
        }
    })
}

/// Normalises the row-major n×n scores at `affinity` (directed: `affinity[u*n + v]` is how much
/// task v helps task u) with `how` (a `tg_normalization` value) and writes the symmetric part
/// of the result, the matrix the grouping sees, to `out[0..n*n]` (row-major). Pass `out` to
/// `tg_group` / `tg_group_auto` to group the normalised tasks. Row-wise options
/// (`STANDARDIZE`, `RELATIVE_TO_SINGLE_TASK`) act on the directed rows, before symmetrisation.
///
/// Errors: `NULL_ARGUMENT`, `EMPTY` (n = 0), `NON_FINITE` (the message names the row and
/// column), `INVALID_SETTING` (unknown `how`), `ZERO_REFERENCE` (relative with a zero
/// diagonal entry), `BUFFER_TOO_SMALL` (`out_len` < n·n), `INVALID_ARGUMENT` (n·n overflows,
/// misaligned pointer). `out` is written only on success.
///
/// # Safety
/// `affinity` valid for reads of n·n doubles; `out` valid for writes of `out_len` doubles and
/// not overlapping `affinity`.
#[no_mangle]
pub unsafe extern "C" fn tg_normalize(
    affinity: *const f64,
    n: usize,
    how: u32,
    out: *mut f64,
    out_len: usize,
) -> tg_status {
    ffi_boundary!(status: {
        not_null(affinity.is_null(), "affinity")?;
        not_null(out.is_null(), "out")?;
        let how = normalization(how)?;
        let len = square_len(n)?;
        let out = out_buffer(out, out_len, "out")?;
        out.require(len, "out")?;
        // SAFETY: the caller's contract.
        let data = unsafe { borrow_slice(affinity, len, "affinity") }?;
        let t = normalize_scores(data, n, how)?;
        // SAFETY: `out` holds ≥ n·n entries (checked above) and does not overlap `affinity`.
        unsafe { out.write(t.as_slice()) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degree_normalisation_matches_the_core() {
        let t = [1.0, 2.0, 3.0, 4.0];
        let mut out = [9.0; 4];
        // SAFETY: valid buffers of the stated lengths.
        let s = unsafe { tg_normalize(t.as_ptr(), 2, 1, out.as_mut_ptr(), 4) };
        assert_eq!(s, tg_status::Ok);
        let want = normalize_scores(&t, 2, Normalization::SymmetricDegree).unwrap();
        assert_eq!(&out[..], want.as_slice());
        // None: the symmetric part.
        // SAFETY: as above.
        let s = unsafe { tg_normalize(t.as_ptr(), 2, 0, out.as_mut_ptr(), 4) };
        assert_eq!(s, tg_status::Ok);
        assert_eq!(out, [1.0, 2.5, 2.5, 4.0]);
    }

    #[test]
    fn errors_leave_the_output_untouched() {
        let t = [1.0, 2.0, 3.0, 0.0];
        let mut out = [9.0; 4];
        for (affinity, n, how, out_len, want) in [
            (t.as_ptr(), 2, 3, 4, tg_status::ZeroReference),
            (t.as_ptr(), 2, 7, 4, tg_status::InvalidSetting),
            (t.as_ptr(), 2, 1, 3, tg_status::BufferTooSmall),
            (t.as_ptr(), 0, 1, 4, tg_status::Empty),
            (std::ptr::null(), 2, 1, 4, tg_status::NullArgument),
        ] {
            // SAFETY: valid buffers of the stated lengths (or shorter, as stated).
            let s = unsafe { tg_normalize(affinity, n, how, out.as_mut_ptr(), out_len) };
            assert_eq!(s, want, "n {n}, how {how}, out_len {out_len}");
        }
        assert_eq!(out, [9.0; 4]);
    }
}
