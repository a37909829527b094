//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): the one reader and writer of the
//! project (affinity matrices for the CLI, feature and label arrays for the gpu crate's
//! trainers).
//!
//! - [`parse_npy`] reads an affinity matrix: a 2-D `f8` or `f4` array (either byte order, C or
//!   Fortran order, finite values) into a [`Matrix`];
//! - [`parse_npy_array`] reads a 1-D or 2-D array of `f4`, `f8`, `i1`..`i8`, `u1`..`u8` or `b1`
//!   (integers and booleans are for labels) into an [`NpyArray`] of f64 in C order;
//! - [`npy_bytes`] / [`write_npy`] write NPY v1.0 `<f8` matrices, [`npy_bytes_f32`] /
//!   [`write_npy_f32`] `<f4` arrays of 1 or 2 dimensions.
//!
//! Every malformed file is an [`InputError::Npy`] naming the problem, never a panic; a reader
//! allocates only what the file's bytes hold.

use std::io;
use std::path::Path;

use crate::matrix::{shorten, InputError, Matrix};
// ---------------------------------------------------------------------------------------------
// NumPy .npy

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// Deepest nesting accepted in an `.npy` header literal.
const MAX_DEPTH: usize = 16;

/// A Python literal, as found in an `.npy` header.
#[derive(Debug, Clone, PartialEq)]
enum PyValue {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<PyValue>),
    List(Vec<PyValue>),
    Dict(Vec<(PyValue, PyValue)>),
}

/// A small parser for the Python literal (a dict) in an `.npy` header.
struct PyParser {
    chars: Vec<char>,
    pos: usize,
}

impl PyParser {
    fn new(text: &str) -> Self {
        PyParser {
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!(
            "malformed header dictionary: {what} at character {}",
            self.pos + 1
        ))
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(&format!("expected {c:?}"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<PyValue, String> {
        if depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        self.skip_ws();
        match self.peek() {
            None => self.fail("unexpected end"),
            Some('{') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some('}') {
                        self.pos += 1;
                        return Ok(PyValue::Dict(items));
                    }
                    let key = self.value(depth + 1)?;
                    self.expect(':')?;
                    let value = self.value(depth + 1)?;
                    items.push((key, value));
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => self.pos += 1,
                        Some('}') => {}
                        _ => return self.fail("expected ',' or '}'"),
                    }
                }
            }
            Some(open @ ('(' | '[')) => {
                let close = if open == '(' { ')' } else { ']' };
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        return Ok(if open == '(' {
                            PyValue::Tuple(items)
                        } else {
                            PyValue::List(items)
                        });
                    }
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => self.pos += 1,
                        Some(c) if c == close => {}
                        _ => return self.fail(&format!("expected ',' or {close:?}")),
                    }
                }
            }
            Some(quote @ ('\'' | '"')) => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return self.fail("unterminated string"),
                        Some('\\') => {
                            self.pos += 1;
                            match self.peek() {
                                None => return self.fail("unterminated string"),
                                Some(c) => s.push(c),
                            }
                        }
                        Some(c) if c == quote => {
                            self.pos += 1;
                            return Ok(PyValue::Str(s));
                        }
                        Some(c) => s.push(c),
                    }
                    self.pos += 1;
                }
            }
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => {
                let negative = c == '-';
                if !c.is_ascii_digit() {
                    self.pos += 1;
                }
                let mut value: i128 = 0;
                let mut digits = 0;
                while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
                    value = match value.checked_mul(10).and_then(|v| v.checked_add(d.into())) {
                        Some(v) => v,
                        None => return self.fail("integer too large"),
                    };
                    digits += 1;
                    self.pos += 1;
                }
                if digits == 0 {
                    return self.fail("expected digits");
                }
                // Python 2 long suffix, as written by old NumPy versions.
                if matches!(self.peek(), Some('L' | 'l')) {
                    self.pos += 1;
                }
                Ok(PyValue::Int(if negative { -value } else { value }))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.pos += 1;
                }
                let word: String = self
                    .chars
                    .get(start..self.pos)
                    .unwrap_or_default()
                    .iter()
                    .collect();
                match word.as_str() {
                    "True" => Ok(PyValue::Bool(true)),
                    "False" => Ok(PyValue::Bool(false)),
                    "None" => Ok(PyValue::None),
                    _ => {
                        self.pos = start;
                        self.fail(&format!("unknown name {:?}", shorten(&word)))
                    }
                }
            }
            Some(c) => self.fail(&format!("unexpected character {c:?}")),
        }
    }
}

/// The dict of an `.npy` header text.
fn parse_header_dict(text: &str) -> Result<Vec<(PyValue, PyValue)>, String> {
    let mut p = PyParser::new(text);
    let value = p.value(0)?;
    p.skip_ws();
    // Some writers pad with NUL bytes instead of spaces.
    while p.peek() == Some('\0') {
        p.pos += 1;
        p.skip_ws();
    }
    if p.peek().is_some() {
        return p.fail("unexpected text after the dictionary");
    }
    match value {
        PyValue::Dict(items) => Ok(items),
        _ => Err("the header is not a dictionary".into()),
    }
}

fn dict_get<'a>(items: &'a [(PyValue, PyValue)], key: &str) -> Result<&'a PyValue, String> {
    items
        .iter()
        .find(|(k, _)| matches!(k, PyValue::Str(s) if s == key))
        .map(|(_, v)| v)
        .ok_or_else(|| format!("the header has no '{key}' entry"))
}

/// A Python-style rendering of a shape: `(3,)`, `(2, 3)`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// The element type of an `.npy` array that this module reads.
#[derive(Clone, Copy, PartialEq, Debug)]
struct Dtype {
    /// Bytes per element (1, 2, 4 or 8).
    size: usize,
    big_endian: bool,
    kind: Kind,
}

/// What the elements are.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Float,
    Int { signed: bool },
    Bool,
}

impl Dtype {
    /// The element as f64 (integers wider than 53 bits are rounded).
    fn decode(self, chunk: &[u8]) -> f64 {
        let mut b = [0u8; 8];
        if self.big_endian {
            // Right-align, then read big-endian.
            b[8 - self.size..].copy_from_slice(chunk);
        } else {
            b[..self.size].copy_from_slice(chunk);
        }
        let u = if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        };
        match (self.kind, self.size) {
            (Kind::Float, 8) => f64::from_bits(u),
            (Kind::Float, _) => f64::from(f32::from_bits(u as u32)),
            (Kind::Bool, _) => f64::from(u8::from(u != 0)),
            (Kind::Int { signed: false }, _) => u as f64,
            (Kind::Int { signed: true }, size) => {
                let shift = 64 - 8 * size as u32;
                (((u << shift) as i64) >> shift) as f64
            }
        }
    }

    /// NumPy's name of the type.
    fn name(self) -> &'static str {
        match (self.kind, self.size) {
            (Kind::Float, 8) => "float64",
            (Kind::Float, _) => "float32",
            (Kind::Bool, _) => "bool",
            (Kind::Int { signed: true }, 1) => "int8",
            (Kind::Int { signed: true }, 2) => "int16",
            (Kind::Int { signed: true }, 4) => "int32",
            (Kind::Int { signed: true }, _) => "int64",
            (Kind::Int { signed: false }, 1) => "uint8",
            (Kind::Int { signed: false }, 2) => "uint16",
            (Kind::Int { signed: false }, 4) => "uint32",
            (Kind::Int { signed: false }, _) => "uint64",
        }
    }
}

/// What a caller accepts: an affinity matrix (2-D floats) or a feature/label array.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Want {
    Matrix,
    Array,
}

fn parse_descr(descr: &PyValue, want: Want) -> Result<Dtype, String> {
    let text = match descr {
        PyValue::Str(s) => s,
        PyValue::List(_) => {
            return Err(
                "structured (record) arrays are not supported; save a plain 2-D float64 array"
                    .into(),
            )
        }
        other => return Err(format!("the 'descr' entry is not a string: {other:?}")),
    };
    let unsupported = || match want {
        Want::Matrix => format!(
            "unsupported dtype {:?}: only float64 ('<f8') and float32 ('<f4') arrays are supported",
            shorten(text)
        ),
        Want::Array => format!(
            "unsupported dtype {:?} (expected float32/float64, an integer or bool type)",
            shorten(text)
        ),
    };
    let native_big = cfg!(target_endian = "big");
    let (big_endian, code) = if let Some(rest) = text.strip_prefix('<') {
        (false, rest)
    } else if let Some(rest) = text.strip_prefix('>') {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix('=') {
        (native_big, rest)
    } else if let Some(rest) = text.strip_prefix('|') {
        // "Byte order not applicable": only single-byte types may say so.
        if !matches!(rest, "b1" | "i1" | "u1") || want == Want::Matrix {
            return Err(unsupported());
        }
        (native_big, rest)
    } else {
        (native_big, text.as_str())
    };
    let (kind, size) = match code {
        "f8" | "d" | "float64" => (Kind::Float, 8),
        "f4" | "f" | "float32" => (Kind::Float, 4),
        _ if want == Want::Matrix => return Err(unsupported()),
        "b1" | "?" | "bool" => (Kind::Bool, 1),
        "i1" | "int8" => (Kind::Int { signed: true }, 1),
        "i2" | "int16" => (Kind::Int { signed: true }, 2),
        "i4" | "int32" => (Kind::Int { signed: true }, 4),
        "i8" | "int64" => (Kind::Int { signed: true }, 8),
        "u1" | "uint8" => (Kind::Int { signed: false }, 1),
        "u2" | "uint16" => (Kind::Int { signed: false }, 2),
        "u4" | "uint32" => (Kind::Int { signed: false }, 4),
        "u8" | "uint64" => (Kind::Int { signed: false }, 8),
        _ => return Err(unsupported()),
    };
    Ok(Dtype {
        size,
        big_endian,
        kind,
    })
}

fn parse_shape(shape: &PyValue) -> Result<Vec<usize>, String> {
    let items = match shape {
        PyValue::Tuple(items) | PyValue::List(items) => items,
        other => return Err(format!("the 'shape' entry is not a tuple: {other:?}")),
    };
    items
        .iter()
        .map(|item| match item {
            PyValue::Int(n) => {
                usize::try_from(*n).map_err(|_| format!("invalid dimension {n} in 'shape'"))
            }
            other => Err(format!("invalid dimension {other:?} in 'shape'")),
        })
        .collect()
}

/// An array read by [`parse_npy_array`]: its shape (1 or 2 dimensions) and its values in C
/// order, converted to f64.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The shape: `[m]` or `[m, d]`.
    pub shape: Vec<usize>,
    /// The values in C (row-major) order.
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

    /// The values as f32 (f64 values outside the f32 range become ±inf).
    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }
}

/// Parses the bytes of a NumPy `.npy` file holding a 2-D `f8` or `f4` array (any byte order,
/// C or Fortran order) as an affinity matrix: every value finite. Never panics, whatever the
/// bytes.
pub fn parse_npy(bytes: &[u8]) -> Result<Matrix, InputError> {
    let (shape, data) = parse(bytes, Want::Matrix)?;
    let (rows, cols) = match shape[..] {
        [rows, cols] => (rows, cols),
        _ => return Err(InputError::Empty),
    };
    if data.is_empty() {
        return Err(InputError::Empty);
    }
    if let Some(k) = data.iter().position(|v| !v.is_finite()) {
        return Err(InputError::NonFinite {
            row: k / cols,
            col: k % cols,
            value: data.get(k).copied().unwrap_or(f64::NAN),
        });
    }
    Ok(Matrix {
        rows,
        cols,
        data,
        names: None,
    })
}

/// Parses the bytes of a NumPy `.npy` file holding a 1-D or 2-D array of floats, integers or
/// booleans (any byte order, C or Fortran order); values are not checked for finiteness.
/// Never panics, whatever the bytes.
pub fn parse_npy_array(bytes: &[u8]) -> Result<NpyArray, InputError> {
    let (shape, data) = parse(bytes, Want::Array)?;
    Ok(NpyArray { shape, data })
}

/// The shared parser: the shape and the values in C order.
fn parse(bytes: &[u8], want: Want) -> Result<(Vec<usize>, Vec<f64>), InputError> {
    let npy = InputError::Npy;
    if bytes.get(..NPY_MAGIC.len()) != Some(NPY_MAGIC) {
        return Err(npy(
            if bytes.len() < NPY_MAGIC.len() && NPY_MAGIC.starts_with(bytes) {
                format!("truncated: only {} bytes", bytes.len())
            } else {
                "missing the \\x93NUMPY magic string at the start; not a NumPy .npy file".into()
            },
        ));
    }
    let (major, minor) = match (bytes.get(6), bytes.get(7)) {
        (Some(&major), Some(&minor)) => (major, minor),
        _ => {
            return Err(npy(format!(
                "truncated: {} bytes end inside the format version",
                bytes.len()
            )))
        }
    };
    let len_size = match major {
        1 => 2,
        2 | 3 => 4,
        _ => {
            return Err(npy(format!(
                "unsupported format version {major}.{minor} (1.0, 2.0 and 3.0 are read)"
            )))
        }
    };
    let header_start = 8 + len_size;
    let len_field = bytes.get(8..header_start).ok_or_else(|| {
        npy(format!(
            "truncated: {} bytes end inside the header length",
            bytes.len()
        ))
    })?;
    let mut len_bytes = [0u8; 4];
    for (dst, src) in len_bytes.iter_mut().zip(len_field) {
        *dst = *src;
    }
    let header_len = usize::try_from(u32::from_le_bytes(len_bytes))
        .map_err(|_| npy("the header length does not fit in memory".into()))?;
    let header_end = header_start
        .checked_add(header_len)
        .ok_or_else(|| npy("the header length is too large".into()))?;
    let header_bytes = bytes.get(header_start..header_end).ok_or_else(|| {
        npy(format!(
            "truncated header: it declares {header_len} bytes but only {} follow",
            bytes.len().saturating_sub(header_start)
        ))
    })?;
    let header: String = if major >= 3 {
        std::str::from_utf8(header_bytes)
            .map_err(|_| npy("the header is not valid UTF-8".into()))?
            .to_string()
    } else {
        // Versions 1 and 2 use Latin-1.
        header_bytes.iter().map(|&b| char::from(b)).collect()
    };
    let items = parse_header_dict(&header).map_err(npy)?;
    let dtype = parse_descr(dict_get(&items, "descr").map_err(npy)?, want).map_err(npy)?;
    let fortran = match dict_get(&items, "fortran_order").map_err(npy)? {
        PyValue::Bool(b) => *b,
        other => {
            return Err(npy(format!(
                "the 'fortran_order' entry is not True or False: {other:?}"
            )))
        }
    };
    let shape = parse_shape(dict_get(&items, "shape").map_err(npy)?).map_err(npy)?;
    let (rows, cols) = match (&shape[..], want) {
        ([rows, cols], _) => (*rows, *cols),
        ([rows], Want::Array) => (*rows, 1),
        (_, Want::Matrix) => {
            return Err(npy(format!(
                "the array has shape {} ({}-D); a 2-D matrix is required",
                shape_text(&shape),
                shape.len()
            )))
        }
        (_, Want::Array) => {
            return Err(npy(format!(
                "the array has shape {} ({}-D); a 1-D or 2-D array is required",
                shape_text(&shape),
                shape.len()
            )))
        }
    };
    let descr_name = dtype.name();
    let count = rows
        .checked_mul(cols)
        .ok_or_else(|| npy(format!("shape {} is too large", shape_text(&shape))))?;
    let expected_bytes = count
        .checked_mul(dtype.size)
        .ok_or_else(|| npy(format!("shape {} is too large", shape_text(&shape))))?;
    let body = bytes.get(header_end..).unwrap_or_default();
    if body.len() < expected_bytes {
        return Err(npy(format!(
            "truncated data: shape {} of {descr_name} needs {expected_bytes} bytes but only {} \
             are present",
            shape_text(&shape),
            body.len()
        )));
    }
    if body.len() > expected_bytes {
        return Err(npy(format!(
            "unexpected trailing data: shape {} of {descr_name} needs {expected_bytes} bytes but \
             {} are present",
            shape_text(&shape),
            body.len()
        )));
    }
    let values: Vec<f64> = body
        .chunks_exact(dtype.size)
        .map(|chunk| dtype.decode(chunk))
        .collect();
    let data = if fortran && shape.len() == 2 {
        // Column-major storage: entry (i, j) is at j * rows + i.
        let mut data = Vec::with_capacity(count);
        for i in 0..rows {
            for j in 0..cols {
                data.push(values.get(j * rows + i).copied().unwrap_or(f64::NAN));
            }
        }
        data
    } else {
        values
    };
    Ok((shape, data))
}

/// An NPY v1.0 header for `descr` and `shape`, padded so that the data starts 64-byte aligned.
fn header_bytes(descr: &str, shape: &[usize], payload: usize) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        shape_text(shape)
    );
    let unpadded = NPY_MAGIC.len() + 4 + header.len() + 1;
    header.extend(std::iter::repeat_n(' ', (64 - unpadded % 64) % 64));
    header.push('\n');
    let header_len = u16::try_from(header.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(10 + header.len() + payload);
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

/// The bytes of an NPY v1.0 file holding a `rows × cols` float64 array (`<f8`, C order).
///
/// # Panics
/// If `data.len() != rows * cols` (use [`write_npy`] for a checked version).
pub fn npy_bytes(rows: usize, cols: usize, data: &[f64]) -> Vec<u8> {
    assert_eq!(
        Some(data.len()),
        rows.checked_mul(cols),
        "npy_bytes: data length does not match the shape ({rows}, {cols})"
    );
    let mut out = header_bytes("<f8", &[rows, cols], data.len() * 8);
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Writes a `rows × cols` row-major float64 matrix as an NPY v1.0 file (`<f8`, C order).
/// Fails with `InvalidInput` when `data.len() != rows * cols`.
pub fn write_npy(path: &Path, rows: usize, cols: usize, data: &[f64]) -> io::Result<()> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} values do not make a {rows} × {cols} matrix", data.len()),
        ));
    }
    std::fs::write(path, npy_bytes(rows, cols, data))
}

/// The bytes of an NPY v1.0 file holding `data` (`<f4`, C order) with `shape` (1 or 2
/// dimensions whose product is `data.len()`); `InvalidInput` otherwise.
pub fn npy_bytes_f32(data: &[f32], shape: &[usize]) -> io::Result<Vec<u8>> {
    if shape.is_empty() || shape.len() > 2 || shape.iter().product::<usize>() != data.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot write {} values with shape {shape:?}", data.len()),
        ));
    }
    let mut out = header_bytes("<f4", shape, data.len() * 4);
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Writes `data` (f32, C order) with `shape` as an NPY v1.0 file (see [`npy_bytes_f32`]).
pub fn write_npy_f32(path: &Path, data: &[f32], shape: &[usize]) -> io::Result<()> {
    std::fs::write(path, npy_bytes_f32(data, shape)?)
}

/// Reads a `.npy` array file ([`parse_npy_array`]); errors name the file.
pub fn read_npy_array(path: &Path) -> Result<NpyArray, InputError> {
    let shown = path.display().to_string();
    let bytes = crate::mapped::FileBytes::open(path).map_err(|e| InputError::Io {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    parse_npy_array(&bytes).map_err(|e| InputError::Malformed(format!("{shown}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{temp_path, xorshift};

    /// An `.npy` file built by hand from a header dict and raw data.
    fn npy_with(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
        let len_size = if major == 1 { 2 } else { 4 };
        let mut header = dict.to_string();
        while !(8 + len_size + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut out = NPY_MAGIC.to_vec();
        out.extend_from_slice(&[major, 0]);
        if major == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    /// Parses `bytes` and checks its shape (rows, cols) and its values.
    fn parsed(bytes: &[u8], shape: (usize, usize), data: &[f64]) {
        let m = parse_npy(bytes).unwrap();
        assert_eq!((m.rows, m.cols), shape);
        assert_eq!(m.data, data);
    }

    fn f64_le(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn npy_err(bytes: &[u8]) -> String {
        match parse_npy(bytes) {
            Ok(m) => panic!("expected an error, got {m:?}"),
            Err(InputError::Npy(msg)) => msg,
            Err(e) => panic!("expected an Npy error, got {e:?}"),
        }
    }

    #[test]
    fn npy_f64_round_trip() {
        let data: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.1 - 0.5).collect();
        let bytes = npy_bytes(3, 4, &data);
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let hlen = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + hlen) % 64, 0);
        assert_eq!(bytes[10 + hlen - 1], b'\n');
        assert_eq!(bytes.len(), 10 + hlen + 12 * 8);
        let m = parse_npy(&bytes).unwrap();
        assert_eq!((m.rows, m.cols, m.names.clone()), (3, 4, None));
        assert_eq!(m.data, data);
        // Numpy's own header layout.
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        assert!(header.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"));
        // write_npy refuses a wrong length.
        let p = temp_path("bad.npy");
        assert_eq!(
            write_npy(&p, 2, 2, &[1.0]).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn npy_f32_and_fortran_order() {
        // C order f32.
        let vals = [1.5f32, -2.0, 0.25, 4.0, 5.0, 6.0];
        let raw: Vec<u8> = vals.iter().flat_map(|x| x.to_le_bytes()).collect();
        let f = npy_with(
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            &raw,
        );
        parsed(&f, (2, 3), &[1.5, -2.0, 0.25, 4.0, 5.0, 6.0]);
        // Fortran order f32: the 2 × 3 matrix [[1,2,3],[4,5,6]] stored column by column.
        let colmajor = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0];
        let raw: Vec<u8> = colmajor.iter().flat_map(|x| x.to_le_bytes()).collect();
        let f = npy_with(
            1,
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
            &raw,
        );
        parsed(&f, (2, 3), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        // Fortran order f64, keys in another order, double quotes, no trailing comma.
        let raw = f64_le(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let f = npy_with(
            1,
            "{\"shape\": (2,3), \"fortran_order\": True, \"descr\": \"<f8\"}",
            &raw,
        );
        assert_eq!(
            parse_npy(&f).unwrap().data,
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
    }

    #[test]
    fn npy_byte_orders_and_versions() {
        let vals = [1.0f64, 2.0, 3.0, 4.0];
        let be: Vec<u8> = vals.iter().flat_map(|x| x.to_be_bytes()).collect();
        let f = npy_with(
            1,
            "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 2), }",
            &be,
        );
        assert_eq!(parse_npy(&f).unwrap().data, vals.to_vec());
        let be32: Vec<u8> = vals
            .iter()
            .flat_map(|x| (*x as f32).to_be_bytes())
            .collect();
        let f = npy_with(
            1,
            "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }",
            &be32,
        );
        assert_eq!(parse_npy(&f).unwrap().data, vals.to_vec());
        if cfg!(target_endian = "little") {
            let f = npy_with(
                1,
                "{'descr': '=f8', 'fortran_order': False, 'shape': (2, 2), }",
                &f64_le(&vals),
            );
            assert_eq!(parse_npy(&f).unwrap().data, vals.to_vec());
        }
        for major in [2, 3] {
            let f = npy_with(
                major,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                &f64_le(&vals),
            );
            assert_eq!(
                parse_npy(&f).unwrap().data,
                vals.to_vec(),
                "version {major}"
            );
        }
        // Python 2 style long integers in the shape.
        let f = npy_with(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 2L), }",
            &f64_le(&vals),
        );
        assert_eq!(parse_npy(&f).unwrap().rows, 2);
        // Unknown version.
        let mut f = npy_bytes(1, 1, &[1.0]);
        f[6] = 4;
        assert!(npy_err(&f).contains("version 4.0"));
    }

    #[test]
    fn npy_truncated_and_trailing() {
        let bytes = npy_bytes(2, 2, &[1.0, 2.0, 3.0, 4.0]);
        let msg = npy_err(&bytes[..bytes.len() - 3]);
        assert!(msg.contains("truncated"), "{msg}");
        assert!(msg.contains("32 bytes") && msg.contains("only 29"), "{msg}");
        let mut longer = bytes.clone();
        longer.push(0);
        let msg = npy_err(&longer);
        assert!(msg.contains("32 bytes") && msg.contains("33"), "{msg}");
        let msg = npy_err(&bytes[..20]);
        assert!(msg.contains("truncated header"), "{msg}");
        assert!(npy_err(&bytes[..3]).contains("truncated"));
        assert!(npy_err(b"PK\x03\x04 not numpy").contains("magic"));
        assert!(npy_err(b"").contains("truncated"));
    }

    #[test]
    fn npy_wrong_dtype() {
        for dtype in ["<i8", "<f2", "|u1", "<c16", "|b1", "<U3", "|O", "|f8"] {
            let dict = format!("{{'descr': '{dtype}', 'fortran_order': False, 'shape': (1, 1), }}");
            let msg = npy_err(&npy_with(1, &dict, &[0; 8]));
            assert!(msg.contains(dtype), "{dtype}: {msg}");
            assert!(msg.contains("unsupported dtype"), "{msg}");
        }
        let msg = npy_err(&npy_with(
            1,
            "{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (1, 1), }",
            &[0; 12],
        ));
        assert!(msg.contains("structured"), "{msg}");
    }

    #[test]
    fn npy_shapes() {
        let msg = npy_err(&npy_with(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 2), }",
            &f64_le(&[0.0; 8]),
        ));
        assert!(
            msg.contains("(2, 2, 2)") && msg.contains("3-D") && msg.contains("2-D"),
            "{msg}"
        );
        let msg = npy_err(&npy_with(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }",
            &f64_le(&[0.0; 4]),
        ));
        assert!(msg.contains("(4,)") && msg.contains("1-D"), "{msg}");
        let msg = npy_err(&npy_with(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
            &f64_le(&[0.0]),
        ));
        assert!(msg.contains("0-D"), "{msg}");
        // Overflowing shape products fail cleanly.
        let huge = format!(
            "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}), }}",
            usize::MAX,
            usize::MAX
        );
        assert!(npy_err(&npy_with(1, &huge, &[])).contains("too large"));
        let huge = format!(
            "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, 1), }}",
            usize::MAX / 4
        );
        assert!(npy_err(&npy_with(1, &huge, &[])).contains("too large"));
        let msg = npy_err(&npy_with(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 2), }",
            &[],
        ));
        assert!(msg.contains("-1"), "{msg}");
        // Empty array.
        let f = npy_with(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }",
            &[],
        );
        assert_eq!(parse_npy(&f), Err(InputError::Empty));
    }

    #[test]
    fn npy_header_errors() {
        let data = f64_le(&[1.0]);
        for (dict, needle) in [
            ("{'fortran_order': False, 'shape': (1, 1), }", "'descr'"),
            ("{'descr': '<f8', 'shape': (1, 1), }", "'fortran_order'"),
            ("{'descr': '<f8', 'fortran_order': False, }", "'shape'"),
            (
                "{'descr': '<f8', 'fortran_order': 0, 'shape': (1, 1), }",
                "fortran_order",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': 1, }",
                "shape",
            ),
            ("['descr', '<f8']", "not a dictionary"),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), } x",
                "after",
            ),
            ("{'descr': '<f8' 'fortran_order': False}", "malformed"),
            ("{'descr': '<f8", "unterminated"),
            ("{'descr': nope}", "unknown name"),
        ] {
            let msg = npy_err(&npy_with(1, dict, &data));
            assert!(msg.contains(needle), "{dict}: {msg}");
        }
        // Deep nesting is refused, not a stack overflow.
        let deep = format!("{{'descr': {}", "(".repeat(10_000));
        assert!(npy_err(&npy_with(2, &deep, &data)).contains("nested too deeply"));
    }

    #[test]
    fn npy_non_finite() {
        let f = npy_bytes(2, 2, &[1.0, 2.0, f64::NAN, 4.0]);
        assert!(matches!(
            parse_npy(&f),
            Err(InputError::NonFinite { row: 1, col: 0, .. })
        ));
        // Fortran order: reported at its matrix position.
        let raw = f64_le(&[1.0, 2.0, 3.0, f64::INFINITY, 5.0, 6.0]);
        let f = npy_with(
            1,
            "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
            &raw,
        );
        // Column-major index 3 is (row 1, column 1).
        assert!(matches!(
            parse_npy(&f),
            Err(InputError::NonFinite { row: 1, col: 1, .. })
        ));
    }

    #[test]
    fn npy_never_panics() {
        let valid = npy_bytes(3, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        assert!(parse_npy(&valid).is_ok());
        for cut in 0..valid.len() {
            assert!(parse_npy(&valid[..cut]).is_err(), "prefix {cut}");
        }
        let fortran = npy_with(
            3,
            "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 2), }",
            &[0; 16],
        );
        for cut in 0..fortran.len() {
            assert!(parse_npy(&fortran[..cut]).is_err(), "prefix {cut}");
        }
        // Pseudo-random garbage, raw and behind a valid magic and version, and single-byte
        // corruptions of a valid file.
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..2000u64 {
            let len = (next() % 300) as usize;
            let junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = parse_npy(&junk);
            for major in [1u8, 2, 3] {
                let mut j = NPY_MAGIC.to_vec();
                j.extend_from_slice(&[major, 0]);
                j.extend_from_slice(&junk);
                let _ = parse_npy(&j);
            }
            let mut corrupt = valid.clone();
            let at = (next() as usize) % corrupt.len();
            corrupt[at] = next() as u8;
            if round % 2 == 0 {
                let at2 = (next() as usize) % corrupt.len();
                corrupt[at2] = b"(){}[],:'\" 0123456789-LTFN"[(next() % 26) as usize];
            }
            let _ = parse_npy(&corrupt);
        }
        // Header declaring a huge length.
        let mut f = NPY_MAGIC.to_vec();
        f.extend_from_slice(&[2, 0, 0xff, 0xff, 0xff, 0xff, b'{']);
        assert!(npy_err(&f).contains("truncated header"));
    }

    // ----- arrays (features and labels) ---------------------------------------------------------

    #[test]
    fn f32_arrays_round_trip_in_1d_and_2d() {
        let x = [1.5f32, -2.0, 3.25, 4.0, 5.0, 6.0];
        let a = parse_npy_array(&npy_bytes_f32(&x, &[2, 3]).unwrap()).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.to_f32(), x.to_vec());
        let b = parse_npy_array(&npy_bytes_f32(&x, &[6]).unwrap()).unwrap();
        assert_eq!((b.rows(), b.cols()), (6, 1));
        assert!(npy_bytes_f32(&x, &[4]).is_err());
        assert!(npy_bytes_f32(&x, &[1, 2, 3]).is_err());
        // An affinity matrix must be 2-D.
        let one_d = npy_err(&npy_bytes_f32(&x, &[6]).unwrap());
        assert!(one_d.contains("2-D matrix is required"), "{one_d}");
    }

    #[test]
    fn labels_as_integers_bools_any_byte_order_and_fortran_order() {
        let body: Vec<u8> = [0i64, 1, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
        assert_eq!(
            parse_npy_array(&npy_with(1, dict, &body)).unwrap().data,
            vec![0.0, 1.0, -1.0]
        );
        let dict = "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }";
        assert_eq!(
            parse_npy_array(&npy_with(1, dict, &[0xff, 0xfe, 0, 7]))
                .unwrap()
                .data,
            vec![-2.0, 7.0]
        );
        let dict = "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }";
        assert_eq!(
            parse_npy_array(&npy_with(1, dict, &[0, 1])).unwrap().data,
            vec![0.0, 1.0]
        );
        let dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }";
        assert_eq!(
            parse_npy_array(&npy_with(1, dict, &[0, 200])).unwrap().data,
            vec![0.0, 200.0]
        );
        let dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }";
        let a = parse_npy_array(&npy_with(1, dict, &f64_le(&[1.0, 3.0, 2.0, 4.0]))).unwrap();
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0]);
        // Integer affinity matrices are still refused.
        let dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1), }";
        assert!(npy_err(&npy_with(1, dict, &[0; 8])).contains("unsupported dtype"));
    }

    #[test]
    fn corrupt_arrays_are_clear_errors() {
        let good = npy_bytes_f32(&[1.0, 2.0], &[2]).unwrap();
        let arr = |d: &str, shape: &str, body: &[u8]| {
            npy_with(
                1,
                &format!("{{'descr': '{d}', 'fortran_order': False, 'shape': {shape}, }}"),
                body,
            )
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"hello".to_vec(), "magic"),
            (good[..9].to_vec(), "truncated"),
            (good[..good.len() - 1].to_vec(), "truncated"),
            ([good.clone(), vec![0]].concat(), "trailing"),
            (arr("<c8", "(1,)", &[0; 8]), "unsupported dtype"),
            (arr("|f4", "(1,)", &[0; 4]), "unsupported dtype"),
            (arr("<f4", "(1, 1, 1)", &[0; 4]), "1-D or 2-D"),
            (
                arr("<f4", "(99999999999999, 99999999999)", &[]),
                "too large",
            ),
        ];
        for (bytes, want) in cases {
            let e = parse_npy_array(&bytes).unwrap_err().to_string();
            assert!(e.contains(want), "{e} should mention {want}");
        }
    }
}
