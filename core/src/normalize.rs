//! Affinity normalisations applied before grouping (method.md §8: the normalisation is part of
//! the method; measure every option instead of assuming the raw objective is robust).
//!
//! Every option maps a matrix to a new [`Affinity`] (whose symmetric part the grouping sees):
//!
//! - [`Normalization::None`]: T unchanged.
//! - [`Normalization::SymmetricDegree`]: `D^{-1/2} A D^{-1/2}` with `A = T − min(0, min T)`
//!   (T shifted so that its smallest entry is 0 when it has a negative entry; otherwise A = T)
//!   and `D = diag(row sums of A)`. A row whose sum is 0 (only possible when all of its entries
//!   equal the minimum) gets degree⁻¹ᐟ² = 0, so its row and column become 0 (the
//!   pseudo-inverse convention). Undoes block-wise scale differences such as a group whose
//!   scores are 100× larger (method.md §8, the in-context-learning case).
//! - [`Normalization::Standardize`]: each row u (task u's scores, diagonal included) is
//!   standardised to mean 0 and (population) standard deviation 1; a constant row becomes 0.
//!   Undoes per-task offsets and scales `T_uv = a_u·B_uv + b_u` exactly when applied to the
//!   directed scores ([`normalize_scores`]).
//! - [`Normalization::RelativeToSingleTask`]: `(T_uv − T_uu) / |T_uu|`, the gain of v for u
//!   relative to u's own (diagonal) score. For `T = −loss` this is the relative loss improvement
//!   `(L_uu − L_uv) / L_uu`. Errors with [`Error::ZeroReference`] when some `T_uu = 0`.
//!
//! [`normalize`] works on an [`Affinity`] (its symmetric part); [`normalize_scores`] works on the
//! directed, row-major scores before symmetrisation, which is what row-wise options
//! (standardisation, relative scores) are meant for when the directed matrix is available.

use alloc::vec::Vec;

use crate::affinity::Affinity;
use crate::error::Error;

/// How to normalise an affinity matrix before grouping (see the module docs for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Normalization {
    /// T unchanged (default).
    #[default]
    None,
    /// `D^{-1/2} A D^{-1/2}`, A = T shifted to be non-negative, D = row sums of A.
    SymmetricDegree,
    /// Each row standardised to mean 0, standard deviation 1.
    Standardize,
    /// `(T_uv − T_uu) / |T_uu|`: gain relative to the task's own (diagonal) score.
    RelativeToSingleTask,
}

crate::named_options!(
    Normalization,
    "normalization",
    None => "none",
    SymmetricDegree => "degree",
    Standardize => "standardize",
    RelativeToSingleTask => "relative",
);

/// Normalises the symmetric part of `t` (see the module docs); the result is a new affinity.
pub fn normalize(t: &Affinity, how: Normalization) -> Result<Affinity, Error> {
    if how == Normalization::None {
        return Ok(t.clone());
    }
    normalize_scores(t.as_slice(), t.n(), how)
}

/// Normalises directed, row-major n×n scores (`data[u*n + v]`: how much v helps u) and returns
/// the affinity of the result (its symmetric part). Errors as [`Affinity::from_row_major`], and
/// [`Error::ZeroReference`] for [`Normalization::RelativeToSingleTask`] with a zero diagonal.
pub fn normalize_scores(data: &[f64], n: usize, how: Normalization) -> Result<Affinity, Error> {
    // No normalisation: the affinity is the one copy (a large input is held twice at most,
    // the caller's data and the affinity, not three times).
    if matches!(how, Normalization::None) {
        return Affinity::from_row_major(data, n);
    }
    // Validate shape and finiteness first, so the arithmetic below only sees good input.
    Affinity::from_row_major(data, n)?;
    let out = match how {
        Normalization::None => data.to_vec(),
        Normalization::SymmetricDegree => degree_normalized(data, n),
        Normalization::Standardize => standardized_rows(data, n),
        Normalization::RelativeToSingleTask => relative_to_diagonal(data, n)?,
    };
    Affinity::from_row_major(&out, n)
}

/// `D^{-1/2} A D^{-1/2}` of the (possibly non-symmetric) matrix, with A shifted non-negative.
fn degree_normalized(data: &[f64], n: usize) -> Vec<f64> {
    let min = data.iter().copied().fold(f64::INFINITY, f64::min);
    let shift = if min < 0.0 { -min } else { 0.0 };
    // Scale by the largest shifted entry first so that huge inputs cannot overflow the sums.
    let max = data.iter().map(|&x| x + shift).fold(0.0f64, f64::max);
    let s = if max > 0.0 && max.is_finite() {
        1.0 / max
    } else {
        1.0
    };
    let a: Vec<f64> = data.iter().map(|&x| ((x + shift) * s).max(0.0)).collect();
    let inv_sqrt: Vec<f64> = a
        .chunks(n.max(1))
        .map(|row| {
            let d: f64 = row.iter().sum();
            if d > 0.0 {
                1.0 / libm::sqrt(d)
            } else {
                0.0
            }
        })
        .collect();
    let mut out = alloc::vec![0.0; n * n];
    for u in 0..n {
        for v in 0..n {
            out[u * n + v] = inv_sqrt[u] * a[u * n + v] * inv_sqrt[v];
        }
    }
    out
}

/// Each row to mean 0 and population standard deviation 1; constant rows become 0.
fn standardized_rows(data: &[f64], n: usize) -> Vec<f64> {
    let mut out = alloc::vec![0.0; n * n];
    let nf = n as f64;
    for u in 0..n {
        let row = &data[u * n..(u + 1) * n];
        // Work relative to the row's largest magnitude so that squares cannot overflow.
        let m = row.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if m == 0.0 {
            continue;
        }
        let mean = row.iter().map(|x| x / m).sum::<f64>() / nf;
        let var = row
            .iter()
            .map(|x| (x / m - mean) * (x / m - mean))
            .sum::<f64>()
            / nf;
        let sd = libm::sqrt(var);
        // A row that is constant up to rounding carries no signal.
        if sd <= 16.0 * f64::EPSILON * (1.0 + mean.abs()) {
            continue;
        }
        for v in 0..n {
            out[u * n + v] = (row[v] / m - mean) / sd;
        }
    }
    out
}

/// `(T_uv − T_uu) / |T_uu|`; the diagonal becomes 0.
fn relative_to_diagonal(data: &[f64], n: usize) -> Result<Vec<f64>, Error> {
    let mut out = alloc::vec![0.0; n * n];
    for u in 0..n {
        let d = data[u * n + u];
        if d == 0.0 {
            return Err(Error::ZeroReference {
                task: u,
                what: "the diagonal (single-task) score",
            });
        }
        let ad = d.abs();
        for v in 0..n {
            // (x − d)/|d| = x/|d| − sign(d): no overflow in the difference. A quotient that
            // overflows (tiny |d|) is caught by the validation of the result.
            out[u * n + v] = data[u * n + v] / ad - d.signum();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aff(d: &[f64], n: usize) -> Affinity {
        Affinity::from_row_major(d, n).unwrap()
    }

    #[test]
    fn names_round_trip() {
        for m in Normalization::ALL {
            assert_eq!(m.as_str().parse::<Normalization>().unwrap(), m);
        }
        assert_eq!(
            " Degree ".parse::<Normalization>().unwrap(),
            Normalization::SymmetricDegree
        );
        assert!(matches!(
            "l2".parse::<Normalization>(),
            Err(Error::UnknownName { .. })
        ));
    }

    #[test]
    fn degree_normalisation_matches_formula_and_handles_negatives() {
        let t = aff(&[2.0, 1.0, 1.0, 4.0], 2);
        let d = normalize(&t, Normalization::SymmetricDegree).unwrap();
        // Row sums 3 and 5 (after scaling by 1/4: 0.75, 1.25); the scale cancels out.
        let expect01 = 1.0 / libm::sqrt(3.0 * 5.0);
        assert!((d.get(0, 1) - expect01).abs() < 1e-12);
        assert!((d.get(0, 0) - 2.0 / 3.0).abs() < 1e-12);
        // A negative entry: the matrix is shifted by its minimum first; a zero row stays 0.
        let neg = aff(&[-1.0, -1.0, -1.0, 3.0], 2);
        let dn = normalize(&neg, Normalization::SymmetricDegree).unwrap();
        assert_eq!(dn.get(0, 0), 0.0);
        assert_eq!(dn.get(0, 1), 0.0);
        assert!((dn.get(1, 1) - 1.0).abs() < 1e-12);
        // Invariant to a positive scale.
        let t10 = aff(&[20.0, 10.0, 10.0, 40.0], 2);
        let d10 = normalize(&t10, Normalization::SymmetricDegree).unwrap();
        for (a, b) in d.as_slice().iter().zip(d10.as_slice()) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn standardize_undoes_row_scale_and_offset() {
        let n = 3;
        let base = [1.0, 0.2, -0.5, 0.2, 1.0, 0.3, -0.5, 0.3, 1.0];
        let (a, b) = ([1.0, 7.0, 0.3], [0.0, -5.0, 4.0]);
        let mut scaled = alloc::vec![0.0; 9];
        for u in 0..n {
            for v in 0..n {
                scaled[u * n + v] = a[u] * base[u * n + v] + b[u];
            }
        }
        let x = normalize_scores(&base, n, Normalization::Standardize).unwrap();
        let y = normalize_scores(&scaled, n, Normalization::Standardize).unwrap();
        for (p, q) in x.as_slice().iter().zip(y.as_slice()) {
            assert!((p - q).abs() < 1e-12);
        }
        // A constant row becomes 0.
        let c = normalize_scores(&[3.0, 3.0, 1.0, 2.0], 2, Normalization::Standardize).unwrap();
        assert_eq!(c.get(0, 0), 0.0);
    }

    #[test]
    fn relative_scores_and_zero_diagonal() {
        // -loss: T_uu = -0.1, T_uv = -0.08 -> relative improvement 0.2.
        let r = normalize_scores(
            &[-0.1, -0.08, -0.3, -0.2],
            2,
            Normalization::RelativeToSingleTask,
        )
        .unwrap();
        // Directed: (0,1) = 0.2, (1,0) = (-0.3 + 0.2)/0.2 = -0.5; symmetric part: -0.15.
        assert!((r.get(0, 1) + 0.15).abs() < 1e-12);
        assert_eq!(r.get(0, 0), 0.0);
        let z = normalize(
            &aff(&[0.0, 1.0, 1.0, 2.0], 2),
            Normalization::RelativeToSingleTask,
        );
        assert!(matches!(z, Err(Error::ZeroReference { task: 0, .. })));
        assert!(normalize_scores(&[1.0, f64::NAN, 0.0, 1.0], 2, Normalization::None).is_err());
    }
}
