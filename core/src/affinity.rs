//! The validated affinity matrix, and its centred form that the solver works on.

use alloc::vec::Vec;

use crate::error::Error;

/// A validated n×n affinity matrix (n ≥ 1, all entries finite).
///
/// `T[u][v]` says how much task `v` helps task `u` (larger is better; for losses pass `-loss` or
/// a relative improvement). Only the symmetric part `(T + Tᵀ)/2` matters to the objective, so
/// that is what is stored: `get(u, v) == get(v, u)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Affinity {
    n: usize,
    sym: Vec<f64>,
}

impl Affinity {
    /// Validates a row-major n×n matrix (`data.len() == n*n`) and keeps its symmetric part.
    pub fn from_row_major(data: &[f64], n: usize) -> Result<Self, Error> {
        if n == 0 {
            return Err(Error::Empty);
        }
        match n.checked_mul(n) {
            Some(nn) if nn == data.len() => {}
            _ => {
                return Err(Error::NotSquare {
                    rows: n,
                    len: data.len(),
                })
            }
        }
        for (i, &x) in data.iter().enumerate() {
            if !x.is_finite() {
                return Err(Error::NonFinite {
                    row: i / n,
                    col: i % n,
                });
            }
        }
        let mut sym: Vec<f64> = crate::memory::try_square(n)?;
        for u in 0..n {
            for v in 0..n {
                sym[u * n + v] = half_sum(data[u * n + v], data[v * n + u]);
            }
        }
        Ok(Affinity { n, sym })
    }

    /// Validates a matrix given as rows; every row must have as many entries as there are rows.
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R]) -> Result<Self, Error> {
        let n = rows.len();
        if n == 0 {
            return Err(Error::Empty);
        }
        let mut data = Vec::with_capacity(n * n);
        for r in rows {
            let r = r.as_ref();
            if r.len() != n {
                return Err(Error::NotSquare {
                    rows: n,
                    len: n * (n - 1) + r.len(),
                });
            }
            data.extend_from_slice(r);
        }
        Self::from_row_major(&data, n)
    }

    /// Number of tasks n (≥ 1).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Entry (u, v) of the symmetric part, `(T_uv + T_vu)/2`.
    pub fn get(&self, u: usize, v: usize) -> f64 {
        self.sym[u * self.n + v]
    }

    /// The symmetric part, row-major, n×n.
    pub fn as_slice(&self) -> &[f64] {
        &self.sym
    }

    /// ⟨T, X⟩ for a dense row-major n×n matrix X.
    pub fn inner(&self, x: &[f64]) -> f64 {
        self.sym.iter().zip(x).map(|(a, b)| a * b).sum()
    }

    /// The centred, scaled form used by the solver and the rounding (see [`Centered`]).
    /// Public so that other solvers of the same iteration (taskgroup-gpu) start from the same C.
    pub fn centered(&self) -> Centered {
        Centered::new(self)
    }
}

/// The affinity with every component removed that no feasible X can see.
///
/// For X with X·1 = 1 and Tr X = k: `⟨T, X⟩ = 2^e · (⟨C, X⟩·s + n·g + μ·(k − 1))`, where
/// `T̂ = T / 2^e` (exact power-of-two scaling so that max|T̂| ∈ [1, 2); 2^e ≤ 2^1023 is always finite), `P = I − 11ᵀ/n`,
/// `g = 1ᵀT̂1/n²`, `μ = Tr(P T̂ P)/(n − 1)`, and `C = (P T̂ P − μ P)/s` with `s = ‖P T̂ P − μ P‖_F`
/// (so ‖C‖_F = 1). C is identical for a·T (a > 0), T + c·11ᵀ, T + c·I and T + a1ᵀ + 1aᵀ (method.md
/// §2), which makes the solver's iterates and stopping rules invariant to those transforms.
#[derive(Debug, Clone)]
pub struct Centered {
    /// Number of tasks n.
    pub n: usize,
    /// C, row-major, unit Frobenius norm (all zeros when s = 0).
    pub c: Vec<f64>,
    /// s: Frobenius norm of the centred matrix, in units of T̂ (0 when T has no grouping signal).
    pub s: f64,
    /// 2^e: the power-of-two scale of T.
    pub scale: f64,
    /// g = 1ᵀT̂1/n².
    pub g: f64,
    /// μ = Tr(P T̂ P)/(n − 1) (0 when n = 1).
    pub mu: f64,
    /// max |T̂| (< 2): enters the rounding-error pad of the certificate.
    pub max_abs: f64,
}

impl Centered {
    fn new(a: &Affinity) -> Self {
        let n = a.n;
        let max_abs_t = a.sym.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let scale = if max_abs_t > 0.0 {
            pow2_at_most(max_abs_t)
        } else {
            1.0
        };
        let (inv, inv2) = inverse_pow2(scale);
        // T̂ = T·inv·inv2 is never stored (one n×n buffer less at large n): each entry is
        // recomputed, with the same rounding, where it is used.
        let t = &a.sym;
        let nf = n as f64;
        let mut r = alloc::vec![0.0; n];
        for u in 0..n {
            r[u] = t[u * n..(u + 1) * n]
                .iter()
                .map(|x| x * inv * inv2)
                .sum::<f64>()
                / nf;
        }
        let g = r.iter().sum::<f64>() / nf;
        let mut c = alloc::vec![0.0; n * n];
        let mut tr = 0.0;
        for u in 0..n {
            for v in 0..n {
                let x = t[u * n + v] * inv * inv2 - r[u] - r[v] + g;
                c[u * n + v] = x;
            }
            tr += c[u * n + u];
        }
        let mu = if n > 1 { tr / (nf - 1.0) } else { 0.0 };
        for u in 0..n {
            for v in 0..n {
                let p = if u == v { 1.0 - 1.0 / nf } else { -1.0 / nf };
                c[u * n + v] -= mu * p;
            }
        }
        let s = libm::sqrt(c.iter().map(|x| x * x).sum::<f64>());
        // Below this the centred matrix is rounding noise of the shifts: treat it as zero.
        let noise = 64.0 * f64::EPSILON * nf;
        let s = if s > noise { s } else { 0.0 };
        if s > 0.0 {
            c.iter_mut().for_each(|x| *x /= s);
        } else {
            c.iter_mut().for_each(|x| *x = 0.0);
        }
        Centered {
            n,
            c,
            s,
            scale,
            g,
            mu,
            max_abs: max_abs_t * inv * inv2,
        }
    }

    /// Converts ⟨C, X⟩ (for X with X·1 = 1, Tr X = k) to ⟨T, X⟩ in the caller's units.
    pub fn to_value(&self, inner_c: f64, k: usize) -> f64 {
        self.scale * (inner_c * self.s + self.n as f64 * self.g + self.mu * (k as f64 - 1.0))
    }

    /// Converts a difference of ⟨C, ·⟩ values to the caller's units.
    pub fn to_units(&self, diff_c: f64) -> f64 {
        self.scale * self.s * diff_c
    }
}

/// (a + b)/2 without overflow near f64::MAX and without losing subnormal inputs: halving first
/// (exact for normal numbers) when an entry is huge, adding first otherwise (exact for
/// subnormals). Both give the correctly rounded result wherever they apply.
fn half_sum(a: f64, b: f64) -> f64 {
    const BIG: f64 = f64::MAX / 4.0;
    if a.abs() > BIG || b.abs() > BIG {
        0.5 * a + 0.5 * b
    } else {
        (a + b) * 0.5
    }
}

/// Two factors whose product is 1/`scale` (a power of two, 2^-1074 ..= 2^1023), each finite:
/// multiplying by both scales exactly even when 1/scale itself exceeds the f64 range (a
/// subnormal scale, from a matrix of subnormal entries). The second factor is 1 otherwise.
pub(crate) fn inverse_pow2(scale: f64) -> (f64, f64) {
    let inv = 1.0 / scale;
    if inv.is_finite() {
        (inv, 1.0)
    } else {
        let (_, e) = frexp(scale); // scale = 2^(e−1)
        let half = (1 - e) / 2;
        (ldexp(1.0, half), ldexp(1.0, 1 - e - half))
    }
}

/// The largest power of two ≤ x (x > 0, finite), computed exactly.
fn pow2_at_most(x: f64) -> f64 {
    let (_, e) = frexp(x);
    // x = m·2^e with m in [0.5, 1): 2^(e−1) ≤ x < 2^e, and 2^(e−1) ≤ 2^1023 never overflows.
    ldexp(1.0, e - 1)
}

fn frexp(x: f64) -> (f64, i32) {
    libm::frexp(x)
}

fn ldexp(x: f64, e: i32) -> f64 {
    libm::ldexp(x, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_shapes_and_values() {
        assert_eq!(Affinity::from_row_major(&[], 0), Err(Error::Empty));
        assert_eq!(
            Affinity::from_row_major(&[1.0, 2.0, 3.0], 2),
            Err(Error::NotSquare { rows: 2, len: 3 })
        );
        assert_eq!(
            Affinity::from_row_major(&[1.0, 2.0, f64::NAN, 3.0], 2),
            Err(Error::NonFinite { row: 1, col: 0 })
        );
        assert!(Affinity::from_rows(&[[1.0, 2.0], [3.0, 4.0]]).is_ok());
    }

    #[test]
    fn symmetric_part_without_overflow() {
        let a = Affinity::from_row_major(&[1.0, f64::MAX, f64::MAX, 0.0], 2).unwrap();
        assert_eq!(a.get(0, 1), f64::MAX);
        let b = Affinity::from_row_major(&[0.0, 1.0, 3.0, 0.0], 2).unwrap();
        assert_eq!(b.get(0, 1), 2.0);
        assert_eq!(b.get(1, 0), 2.0);
    }

    #[test]
    fn centred_value_identity() {
        // ⟨T, X⟩ = to_value(⟨C, X⟩) for a feasible X (a partition matrix).
        let n = 4;
        let t = [
            1.0, 2.0, -1.0, 0.5, 2.0, 3.0, 0.0, 1.0, -1.0, 0.0, 5.0, 2.0, 0.5, 1.0, 2.0, -3.0,
        ];
        let a = Affinity::from_row_major(&t, n).unwrap();
        let c = a.centered();
        // groups {0,1}, {2}, {3}
        let mut x = [0.0; 16];
        x[0] = 0.5;
        x[1] = 0.5;
        x[4] = 0.5;
        x[5] = 0.5;
        x[10] = 1.0;
        x[15] = 1.0;
        let direct = a.inner(&x);
        let ic: f64 = c.c.iter().zip(&x).map(|(p, q)| p * q).sum();
        assert!((c.to_value(ic, 3) - direct).abs() < 1e-12);
    }
}
