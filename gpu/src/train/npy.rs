//! A minimal NumPy `.npy` reader and writer for feature and label arrays.
//!
//! Reads format versions 1.0, 2.0 and 3.0; 1-D or 2-D arrays; little-endian (or
//! byte-order-free) `f4`, `f8`, `i1`, `i2`, `i4`, `i8`, `u1`, `u2`, `u4`, `u8` and `b1`
//! (booleans and integers are for labels); C or Fortran order (Fortran is transposed to C
//! order). Writes version 1.0 little-endian `f4` in C order. Every malformed file is a
//! [`GpuError::InvalidInput`] naming the problem, never a panic.

use std::path::Path;

use crate::error::GpuError;

/// The magic string at the start of every `.npy` file.
const MAGIC: &[u8] = b"\x93NUMPY";

/// Largest number of elements accepted (2^40, a guard against absurd headers).
const MAX_ELEMENTS: u128 = 1 << 40;

/// An array read from a `.npy` file: its shape (1 or 2 dimensions) and its values in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The shape: `[m]` or `[m, d]`.
    pub shape: Vec<usize>,
    /// The values in C (row-major) order, converted to f64.
    pub data: Vec<f64>,
}

impl NpyArray {
    /// Number of rows (the first dimension).
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// Number of columns (1 for a 1-D array).
    pub fn cols(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1)
    }

    /// The values as f32 (f64 values outside the f32 range become ±inf and are then refused
    /// by [`crate::train::TaskData::new`]).
    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }
}

fn bad(why: impl Into<String>) -> GpuError {
    GpuError::InvalidInput(format!("invalid .npy file: {}", why.into()))
}

/// The value of key `key` in the header dict text, up to the next top-level comma or `}`.
fn header_field<'a>(header: &'a str, key: &str) -> Result<&'a str, GpuError> {
    let quoted = [format!("'{key}'"), format!("\"{key}\"")];
    let start = quoted
        .iter()
        .find_map(|q| header.find(q.as_str()).map(|p| p + q.len()))
        .ok_or_else(|| bad(format!("the header has no '{key}' entry")))?;
    let rest = header.get(start..).unwrap_or("");
    let rest = rest
        .trim_start()
        .strip_prefix(':')
        .ok_or_else(|| bad(format!("no ':' after '{key}' in the header")))?
        .trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|p| p + 1)
    } else {
        rest.find([',', '}'])
    }
    .ok_or_else(|| bad(format!("the '{key}' entry is not terminated")))?;
    Ok(rest.get(..end).unwrap_or("").trim())
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    F4,
    F8,
    Int(usize, bool), // size in bytes, signed
    Bool,
}

fn parse_descr(text: &str) -> Result<Kind, GpuError> {
    let d = text.trim_matches(|c| c == '\'' || c == '"');
    let (order, code) = d.split_at(d.len().min(1));
    if order == ">" {
        return Err(bad(format!(
            "big-endian data ({d:?}) is not supported; save it little-endian"
        )));
    }
    if !matches!(order, "<" | "|" | "=") {
        return Err(bad(format!("unsupported dtype {d:?}")));
    }
    Ok(match code {
        "f4" => Kind::F4,
        "f8" => Kind::F8,
        "b1" => Kind::Bool,
        "i1" => Kind::Int(1, true),
        "i2" => Kind::Int(2, true),
        "i4" => Kind::Int(4, true),
        "i8" => Kind::Int(8, true),
        "u1" => Kind::Int(1, false),
        "u2" => Kind::Int(2, false),
        "u4" => Kind::Int(4, false),
        "u8" => Kind::Int(8, false),
        _ => {
            return Err(bad(format!(
                "unsupported dtype {d:?} (expected float32/float64, an integer or bool type)"
            )))
        }
    })
}

fn parse_shape(text: &str) -> Result<Vec<usize>, GpuError> {
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| bad(format!("the shape {text:?} is not a tuple")))?;
    let dims: Result<Vec<usize>, GpuError> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| bad(format!("the shape {text:?} has a bad dimension {s:?}")))
        })
        .collect();
    let dims = dims?;
    if dims.is_empty() || dims.len() > 2 {
        return Err(bad(format!(
            "the array has {} dimensions; expected 1 or 2",
            dims.len()
        )));
    }
    Ok(dims)
}

/// Parses the bytes of a `.npy` file (see the module docs for what is supported).
pub fn parse_npy(bytes: &[u8]) -> Result<NpyArray, GpuError> {
    if bytes.get(..6) != Some(MAGIC) {
        return Err(bad(
            "missing the \\x93NUMPY magic string; not a NumPy .npy file",
        ));
    }
    let major = bytes
        .get(6)
        .copied()
        .ok_or_else(|| bad("truncated header"))?;
    let (hlen, hstart) = match major {
        1 => {
            let b = bytes.get(8..10).ok_or_else(|| bad("truncated header"))?;
            (usize::from(u16::from_le_bytes([b[0], b[1]])), 10usize)
        }
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(|| bad("truncated header"))?;
            let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (
                usize::try_from(len).map_err(|_| bad("header too large"))?,
                12,
            )
        }
        v => return Err(bad(format!("unsupported format version {v}"))),
    };
    let hend = hstart
        .checked_add(hlen)
        .ok_or_else(|| bad("header too large"))?;
    let header = bytes.get(hstart..hend).ok_or_else(|| {
        bad(format!(
            "the header says {hlen} bytes but the file is shorter"
        ))
    })?;
    let header = std::str::from_utf8(header).map_err(|_| bad("the header is not text"))?;
    let kind = parse_descr(header_field(header, "descr")?)?;
    let fortran = match header_field(header, "fortran_order")? {
        "False" => false,
        "True" => true,
        other => {
            return Err(bad(format!(
                "fortran_order is {other:?}, not True or False"
            )))
        }
    };
    let shape = parse_shape(header_field(header, "shape")?)?;
    let count = shape.iter().map(|&s| s as u128).product::<u128>();
    if count > MAX_ELEMENTS {
        return Err(bad(format!("the shape {shape:?} is too large")));
    }
    let count = count as usize;
    let size = match kind {
        Kind::F4 => 4,
        Kind::F8 => 8,
        Kind::Int(s, _) => s,
        Kind::Bool => 1,
    };
    let body = bytes.get(hend..).unwrap_or(&[]);
    let need = count
        .checked_mul(size)
        .ok_or_else(|| bad(format!("the shape {shape:?} is too large")))?;
    if body.len() != need {
        return Err(bad(format!(
            "the shape {shape:?} needs {need} data bytes but the file has {}{}",
            body.len(),
            if body.len() < need {
                " (truncated)"
            } else {
                ""
            }
        )));
    }
    let mut data: Vec<f64> = body
        .chunks_exact(size)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(c);
            match kind {
                Kind::F4 => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                Kind::F8 => f64::from_le_bytes(b),
                Kind::Bool => f64::from(u8::from(b[0] != 0)),
                Kind::Int(s, signed) => {
                    let u = u64::from_le_bytes(b);
                    if signed {
                        let shift = 64 - 8 * s as u32;
                        (((u << shift) as i64) >> shift) as f64
                    } else {
                        u as f64
                    }
                }
            }
        })
        .collect();
    if fortran && shape.len() == 2 {
        let (m, d) = (shape[0], shape[1]);
        let mut c = vec![0.0; data.len()];
        for i in 0..m {
            for j in 0..d {
                if let (Some(dst), Some(&src)) = (c.get_mut(i * d + j), data.get(j * m + i)) {
                    *dst = src;
                }
            }
        }
        data = c;
    }
    Ok(NpyArray { shape, data })
}

/// Reads a `.npy` file; errors name the file.
pub fn read_npy(path: &Path) -> Result<NpyArray, GpuError> {
    let bytes = std::fs::read(path)
        .map_err(|e| GpuError::InvalidInput(format!("cannot read {}: {e}", path.display())))?;
    parse_npy(&bytes).map_err(|e| match e {
        GpuError::InvalidInput(m) => GpuError::InvalidInput(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// The bytes of a version 1.0 `.npy` file holding `data` (f32, C order) with shape `shape`
/// (1 or 2 dimensions whose product is `data.len()`).
pub fn npy_bytes(data: &[f32], shape: &[usize]) -> Result<Vec<u8>, GpuError> {
    if shape.is_empty() || shape.len() > 2 || shape.iter().product::<usize>() != data.len() {
        return Err(GpuError::InvalidInput(format!(
            "cannot write {} values with shape {shape:?}",
            data.len()
        )));
    }
    let shape_text = match shape {
        [m] => format!("({m},)"),
        [m, d] => format!("({m}, {d})"),
        _ => String::new(),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
    let total = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let hlen = u16::try_from(header.len())
        .map_err(|_| GpuError::InvalidInput("npy header too long".into()))?;
    let mut out = Vec::with_capacity(10 + header.len() + 4 * data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&hlen.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Writes `data` (f32, C order) with `shape` as a version 1.0 `.npy` file.
pub fn write_npy(path: &Path, data: &[f32], shape: &[usize]) -> Result<(), GpuError> {
    let bytes = npy_bytes(data, shape)?;
    std::fs::write(path, bytes)
        .map_err(|e| GpuError::InvalidInput(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_1d_and_2d() {
        let x = [1.5f32, -2.0, 3.25, 4.0, 5.0, 6.0];
        let a = parse_npy(&npy_bytes(&x, &[2, 3]).unwrap()).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.to_f32(), x.to_vec());
        let b = parse_npy(&npy_bytes(&x, &[6]).unwrap()).unwrap();
        assert_eq!((b.rows(), b.cols()), (6, 1));
        assert_eq!(npy_bytes(&x, &[6]).unwrap().len() % 16, (6 * 4) % 16);
        assert!(npy_bytes(&x, &[4]).is_err());
    }

    fn raw(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
        let h = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n",
            if fortran { "True" } else { "False" }
        );
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn labels_as_integers_bools_and_fortran_order() {
        let body: Vec<u8> = [0i64, 1, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            parse_npy(&raw("<i8", false, "(3,)", &body)).unwrap().data,
            vec![0.0, 1.0, -1.0]
        );
        assert_eq!(
            parse_npy(&raw("|b1", false, "(2,)", &[0, 1])).unwrap().data,
            vec![0.0, 1.0]
        );
        let body: Vec<u8> = [1.0f64, 3.0, 2.0, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse_npy(&raw("<f8", true, "(2, 2)", &body)).unwrap();
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn corrupt_files_are_clear_errors() {
        let good = npy_bytes(&[1.0, 2.0], &[2]).unwrap();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"hello".to_vec(), "magic"),
            (good[..9].to_vec(), "truncated header"),
            (good[..good.len() - 1].to_vec(), "truncated"),
            ([good.clone(), vec![0]].concat(), "data bytes"),
            (raw(">f4", false, "(1,)", &[0; 4]), "big-endian"),
            (raw("<c8", false, "(1,)", &[0; 8]), "unsupported dtype"),
            (raw("<f4", false, "(1, 1, 1)", &[0; 4]), "3 dimensions"),
            (raw("<f4", false, "(a,)", &[0; 4]), "bad dimension"),
            (
                raw("<f4", false, "(99999999999999, 99999999999)", &[]),
                "too large",
            ),
        ];
        for (bytes, want) in cases {
            let e = parse_npy(&bytes).unwrap_err().to_string();
            assert!(e.contains(want), "{e} should mention {want}");
        }
        let mut v = good.clone();
        v[6] = 9;
        assert!(parse_npy(&v).unwrap_err().to_string().contains("version 9"));
    }
}
