//! Reading and writing dense matrices: CSV/TSV/whitespace text with optional task names, and
//! NumPy `.npy` (f64/f32, 2-D). Every failure is an [`InputError`] that names the position.

use std::fmt;
use std::path::Path;

/// A dense row-major matrix read from a file, with optional task names.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Values, row-major (rows × cols).
    pub data: Vec<f64>,
    /// Task names from a header row or a first column, if the file has them.
    pub names: Option<Vec<String>>,
}

/// Why an input file could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum InputError {
    /// The file could not be opened or read.
    Io {
        /// The path.
        path: String,
        /// The system's message.
        message: String,
    },
    /// No data rows.
    Empty,
    /// A row (1-based file line) has a different number of cells than the first.
    Ragged {
        /// 1-based line in the file.
        line: usize,
        /// Cells expected.
        expected: usize,
        /// Cells found.
        found: usize,
    },
    /// A cell that is not a number (1-based line and column).
    NotANumber {
        /// 1-based line in the file.
        line: usize,
        /// 1-based column (cell) in the line.
        column: usize,
        /// The cell's text.
        text: String,
    },
    /// NaN or ±Inf at a 0-based matrix position.
    NonFinite {
        /// 0-based row.
        row: usize,
        /// 0-based column.
        col: usize,
        /// The value.
        value: f64,
    },
    /// The matrix is not square.
    NotSquare {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// A malformed or unsupported `.npy` file.
    Npy(String),
    /// Header names and first-column names disagree.
    NamesMismatch(String),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io { path, message } => write!(f, "cannot read {path}: {message}"),
            InputError::Empty => write!(f, "the file is empty: no data rows"),
            InputError::Ragged { line, expected, found } => {
                write!(f, "line {line} has {found} values, expected {expected} like the first data row")
            }
            InputError::NotANumber { line, column, text } => {
                write!(f, "line {line}, column {column}: {text:?} is not a number")
            }
            InputError::NonFinite { row, col, value } => write!(
                f,
                "non-finite value {value} at row {}, column {} (1-based; matrix entry [{row}][{col}] 0-based)",
                row + 1,
                col + 1
            ),
            InputError::NotSquare { rows, cols } => {
                write!(f, "the matrix is not square: {rows} rows × {cols} columns")
            }
            InputError::Npy(m) => write!(f, "bad .npy file: {m}"),
            InputError::NamesMismatch(m) => write!(f, "task names disagree: {m}"),
        }
    }
}

impl std::error::Error for InputError {}

/// Reads a matrix: `.npy` by extension, otherwise text. Values must be finite.
pub fn read_matrix(path: &Path) -> Result<Matrix, InputError> {
    let io = |e: std::io::Error| InputError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let is_npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        parse_npy(&bytes)
    } else {
        let text = String::from_utf8(bytes).map_err(|e| InputError::Io {
            path: path.display().to_string(),
            message: format!("not UTF-8 text: {e}"),
        })?;
        parse_text_matrix(&text)
    }
}

/// Fails with `NotSquare` unless rows == cols.
pub fn require_square(m: &Matrix) -> Result<(), InputError> {
    if m.rows != m.cols {
        return Err(InputError::NotSquare {
            rows: m.rows,
            cols: m.cols,
        });
    }
    Ok(())
}

fn parse_cell(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    match t.to_ascii_lowercase().as_str() {
        "nan" | "+nan" | "-nan" => return Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    t.parse::<f64>().ok()
}

fn check_finite(m: &Matrix) -> Result<(), InputError> {
    for (i, &v) in m.data.iter().enumerate() {
        if !v.is_finite() {
            return Err(InputError::NonFinite {
                row: i / m.cols,
                col: i % m.cols,
                value: v,
            });
        }
    }
    Ok(())
}

/// Parses CSV/TSV/whitespace text (see the module docs for the rules).
pub fn parse_text_matrix(text: &str) -> Result<Matrix, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let Some(&(_, first)) = lines.first() else {
        return Err(InputError::Empty);
    };
    let delim: Option<char> = if first.contains('\t') {
        Some('\t')
    } else if first.contains(',') {
        Some(',')
    } else {
        None
    };
    let split = |l: &str| -> Vec<String> {
        match delim {
            Some(d) => l.split(d).map(|c| c.trim().to_string()).collect(),
            None => l.split_whitespace().map(str::to_string).collect(),
        }
    };
    let mut rows: Vec<(usize, Vec<String>)> = lines.iter().map(|&(n, l)| (n, split(l))).collect();
    // Header: any cell of the first line (other than an empty corner) is not a number.
    let header_cells = &rows[0].1;
    let is_header = header_cells
        .iter()
        .enumerate()
        .any(|(i, c)| !(i == 0 && c.is_empty()) && parse_cell(c).is_none())
        && !(header_cells.len() > 1 && rows.len() > 1 && looks_like_named_data_row(header_cells));
    let header: Option<Vec<String>> = if is_header {
        Some(rows.remove(0).1)
    } else {
        None
    };
    if rows.is_empty() {
        return Err(InputError::Empty);
    }
    // First column of names: the first cell of every data row is not a number.
    let name_col = rows.iter().all(|(_, r)| {
        r.first()
            .is_some_and(|c| parse_cell(c).is_none() && !c.is_empty())
    });
    let mut row_names = Vec::new();
    let mut data = Vec::new();
    let expected = rows[0].1.len();
    for (line, cells) in &rows {
        if cells.len() != expected {
            return Err(InputError::Ragged {
                line: *line,
                expected,
                found: cells.len(),
            });
        }
        let start = usize::from(name_col);
        if name_col {
            row_names.push(cells[0].clone());
        }
        for (j, c) in cells.iter().enumerate().skip(start) {
            match parse_cell(c) {
                Some(v) => data.push(v),
                None => {
                    return Err(InputError::NotANumber {
                        line: *line,
                        column: j + 1,
                        text: c.clone(),
                    })
                }
            }
        }
    }
    let cols = expected - usize::from(name_col);
    if cols == 0 {
        return Err(InputError::Empty);
    }
    let nrows = rows.len();
    let names = match (header, name_col) {
        (Some(h), true) => {
            let h: Vec<String> = if h.len() == expected {
                h[1..].to_vec()
            } else {
                h
            };
            if h.len() != cols {
                return Err(InputError::Ragged {
                    line: lines[0].0,
                    expected: cols + 1,
                    found: h.len() + 1,
                });
            }
            if let Some(i) = (0..cols.min(nrows)).find(|&i| h[i] != row_names[i]) {
                return Err(InputError::NamesMismatch(format!(
                    "column {} is named {:?} in the header but row {} is named {:?}",
                    i + 1,
                    h[i],
                    i + 1,
                    row_names[i]
                )));
            }
            Some(h)
        }
        (Some(h), false) => {
            if h.len() != cols {
                return Err(InputError::Ragged {
                    line: lines[0].0,
                    expected: cols,
                    found: h.len(),
                });
            }
            Some(h)
        }
        (None, true) => Some(row_names),
        (None, false) => None,
    };
    let m = Matrix {
        rows: nrows,
        cols,
        data,
        names,
    };
    check_finite(&m)?;
    Ok(m)
}

/// A first line like `name,1,2,3` is a data row with a name, not a header.
fn looks_like_named_data_row(cells: &[String]) -> bool {
    parse_cell(&cells[0]).is_none()
        && !cells[0].is_empty()
        && cells[1..].iter().all(|c| parse_cell(c).is_some())
}

/// Parses a NumPy `.npy` file holding a 2-D f64 or f32 array.
pub fn parse_npy(bytes: &[u8]) -> Result<Matrix, InputError> {
    let err = |m: String| InputError::Npy(m);
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(err("missing the \\x93NUMPY magic".into()));
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            let b = bytes
                .get(8..12)
                .ok_or_else(|| err("truncated header".into()))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(err(format!("unsupported format version {v}"))),
    };
    let end = start
        .checked_add(hlen)
        .ok_or_else(|| err("header length overflows".into()))?;
    let header = bytes
        .get(start..end)
        .ok_or_else(|| err("truncated header".into()))?;
    let header = std::str::from_utf8(header).map_err(|_| err("header is not text".into()))?;
    let descr = dict_value(header, "descr").ok_or_else(|| err("header has no 'descr'".into()))?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let fortran = dict_value(header, "fortran_order")
        .map(|v| v.trim().starts_with("True"))
        .unwrap_or(false);
    let shape_txt =
        dict_value(header, "shape").ok_or_else(|| err("header has no 'shape'".into()))?;
    let shape_txt = shape_txt.trim().trim_start_matches('(');
    let shape_txt = shape_txt.split(')').next().unwrap_or("");
    let dims: Vec<usize> = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| err(format!("bad shape entry {s:?}")))
        })
        .collect::<Result<_, _>>()?;
    if dims.len() != 2 {
        return Err(err(format!(
            "expected a 2-D array, found {} dimensions {dims:?}",
            dims.len()
        )));
    }
    let (r, c) = (dims[0], dims[1]);
    let (size, big, is_f32) = match descr {
        "<f8" | "=f8" | "f8" | "float64" => (8, false, false),
        ">f8" => (8, true, false),
        "<f4" | "=f4" | "f4" | "float32" => (4, false, true),
        ">f4" => (4, true, true),
        other => {
            return Err(err(format!(
                "unsupported dtype {other:?}: only float64 and float32 are read"
            )))
        }
    };
    let count = r
        .checked_mul(c)
        .ok_or_else(|| err("shape overflows".into()))?;
    let need = count
        .checked_mul(size)
        .ok_or_else(|| err("shape overflows".into()))?;
    let body = &bytes[end.min(bytes.len())..];
    if body.len() != need {
        return Err(err(format!(
            "data has {} bytes, the shape ({r}, {c}) needs {need}",
            body.len()
        )));
    }
    let mut vals: Vec<f64> = Vec::with_capacity(count);
    for ch in body.chunks_exact(size) {
        let v = if is_f32 {
            let a = [ch[0], ch[1], ch[2], ch[3]];
            (if big {
                f32::from_be_bytes(a)
            } else {
                f32::from_le_bytes(a)
            }) as f64
        } else {
            let mut a = [0u8; 8];
            a.copy_from_slice(ch);
            if big {
                f64::from_be_bytes(a)
            } else {
                f64::from_le_bytes(a)
            }
        };
        vals.push(v);
    }
    let data = if fortran {
        let mut d = vec![0.0; count];
        for i in 0..r {
            for j in 0..c {
                d[i * c + j] = vals[j * r + i];
            }
        }
        d
    } else {
        vals
    };
    if count == 0 {
        return Err(InputError::Empty);
    }
    let m = Matrix {
        rows: r,
        cols: c,
        data,
        names: None,
    };
    check_finite(&m)?;
    Ok(m)
}

/// The text after `'key':` in a Python dict literal, up to the next top-level comma.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat1 = format!("'{key}'");
    let pat2 = format!("\"{key}\"");
    let pos = header.find(&pat1).or_else(|| header.find(&pat2))?;
    let rest = &header[pos + pat1.len()..];
    let rest = rest.trim_start().strip_prefix(':')?;
    let mut depth = 0i32;
    for (i, ch) in rest.char_indices() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    Some(rest)
}

/// The bytes of an NPY v1.0 file holding a rows × cols f64 array (little-endian, C order).
pub fn npy_bytes(rows: usize, cols: usize, data: &[f64]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Writes an NPY v1.0 file (f64, C order).
#[allow(dead_code)]
pub fn write_npy(path: &Path, rows: usize, cols: usize, data: &[f64]) -> std::io::Result<()> {
    std::fs::write(path, npy_bytes(rows, cols, data))
}

/// Writes a CSV file: a header of names if present, then rows with shortest round-trip floats.
#[allow(dead_code)]
pub fn write_csv(path: &Path, m: &Matrix) -> std::io::Result<()> {
    let mut s = String::new();
    if let Some(n) = &m.names {
        s.push_str(&n.join(","));
        s.push('\n');
    }
    for r in 0..m.rows {
        let row: Vec<String> = m.data[r * m.cols..(r + 1) * m.cols]
            .iter()
            .map(|x| format!("{x:?}"))
            .collect();
        s.push_str(&row.join(","));
        s.push('\n');
    }
    std::fs::write(path, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_variants() {
        let m = parse_text_matrix("1,2\n3,4\n").unwrap();
        assert_eq!((m.rows, m.cols, m.names.clone()), (2, 2, None));
        let m = parse_text_matrix("a\tb\n1\t2\n3\t4\n").unwrap();
        assert_eq!(m.names, Some(vec!["a".into(), "b".into()]));
        let m = parse_text_matrix("\u{feff}# c\n,a,b\r\na,1,2\r\n\nb,3,4\r\n").unwrap();
        assert_eq!(m.names, Some(vec!["a".into(), "b".into()]));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        let m = parse_text_matrix("a 1 2\nb 3 4\n").unwrap();
        assert_eq!(m.names, Some(vec!["a".into(), "b".into()]));
        assert!(matches!(
            parse_text_matrix(",a,b\nb,1,2\na,3,4\n"),
            Err(InputError::NamesMismatch(_))
        ));
    }

    #[test]
    fn text_errors() {
        assert_eq!(parse_text_matrix(""), Err(InputError::Empty));
        assert!(matches!(
            parse_text_matrix("1,2\n3\n"),
            Err(InputError::Ragged { line: 2, .. })
        ));
        assert!(matches!(
            parse_text_matrix("1,2\n3,x\n"),
            Err(InputError::NotANumber {
                line: 2,
                column: 2,
                ..
            })
        ));
        assert!(matches!(
            parse_text_matrix("1,2\n3,NaN\n"),
            Err(InputError::NonFinite { row: 1, col: 1, .. })
        ));
        assert!(matches!(
            parse_text_matrix("1,2\n3,-inf\n"),
            Err(InputError::NonFinite { .. })
        ));
        let m = parse_text_matrix("1,2,3\n4,5,6\n").unwrap();
        assert!(matches!(
            require_square(&m),
            Err(InputError::NotSquare { rows: 2, cols: 3 })
        ));
    }

    #[test]
    fn npy_round_trip_and_garbage() {
        let b = npy_bytes(2, 2, &[1.0, 2.0, 3.0, 4.0]);
        let m = parse_npy(&b).unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        // f32, Fortran order
        let mut h = String::from("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut f = b"\x93NUMPY\x01\x00".to_vec();
        f.extend_from_slice(&(h.len() as u16).to_le_bytes());
        f.extend_from_slice(h.as_bytes());
        for x in [1.0f32, 3.0, 2.0, 4.0] {
            f.extend_from_slice(&x.to_le_bytes());
        }
        assert_eq!(parse_npy(&f).unwrap().data, vec![1.0, 2.0, 3.0, 4.0]);
        for cut in 0..b.len() {
            assert!(parse_npy(&b[..cut]).is_err());
        }
        let bad = String::from_utf8_lossy(&b).replace("<f8", "<i8");
        assert!(parse_npy(bad.as_bytes()).is_err());
        let three = String::from_utf8_lossy(&b).replace("(2, 2)", "(1,2,2)");
        assert!(parse_npy(three.as_bytes()).is_err());
        for seed in 0..200u32 {
            let junk: Vec<u8> = (0..(seed % 90))
                .map(|i| (i.wrapping_mul(2654435761u32.wrapping_add(seed)) >> 13) as u8)
                .collect();
            let _ = parse_npy(&junk);
            let mut j2 = b"\x93NUMPY\x01\x00".to_vec();
            j2.extend_from_slice(&junk);
            let _ = parse_npy(&j2);
        }
    }
}
