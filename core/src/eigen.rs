//! Symmetric eigendecompositions through nalgebra, with an iteration cap so that no input can hang.

use alloc::vec::Vec;
use nalgebra::DMatrix;

/// Eigenpairs of a symmetric matrix: values in descending order, vectors as matching columns.
pub struct Eigen {
    /// Eigenvalues, largest first.
    pub values: Vec<f64>,
    /// n×n, column j is the unit eigenvector of `values[j]`.
    pub vectors: DMatrix<f64>,
}

/// QR sweeps allowed per dimension before the decomposition is declared failed.
const SWEEPS_PER_DIM: usize = 64;

/// Full eigendecomposition of a symmetric n×n row-major matrix (only the lower triangle is read).
/// `None` when an entry is not finite or the QR iteration did not converge.
pub fn sym_eigen(a: &[f64], n: usize) -> Option<Eigen> {
    if a.iter().any(|x| !x.is_finite()) {
        return None;
    }
    // Row-major symmetric = column-major symmetric (lower triangle read).
    let m = DMatrix::from_column_slice(n, n, a);
    let e = nalgebra::SymmetricEigen::try_new(m, f64::EPSILON, SWEEPS_PER_DIM * n.max(1))?;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| e.eigenvalues[j].total_cmp(&e.eigenvalues[i]));
    let values: Vec<f64> = order.iter().map(|&i| e.eigenvalues[i]).collect();
    if values.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let mut vectors = DMatrix::zeros(n, n);
    for (j, &i) in order.iter().enumerate() {
        vectors.set_column(j, &e.eigenvectors.column(i));
    }
    Some(Eigen { values, vectors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_and_nan() {
        let e = sym_eigen(&[1.0, 0.0, 0.0, 3.0], 2).unwrap();
        assert_eq!(e.values, alloc::vec![3.0, 1.0]);
        assert!((e.vectors[(1, 0)].abs() - 1.0).abs() < 1e-15);
        assert!(sym_eigen(&[f64::NAN, 0.0, 0.0, 1.0], 2).is_none());
    }
}
