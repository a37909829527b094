//! Reading and writing dense numeric matrices, std only.
//!
//! Two input formats are read by [`read_matrix`]:
//!
//! * **Text** (CSV, TSV or whitespace separated), parsed by [`parse_text_matrix`]:
//!   - The delimiter is chosen per file from the first content line (the first line that is
//!     neither blank nor a `#` comment): tab if it holds a tab, else comma if it holds a comma,
//!     else runs of whitespace.
//!   - Blank lines and lines whose first non-blank character is `#` are skipped. A UTF-8 byte
//!     order mark and CRLF line ends are accepted; cells are trimmed.
//!   - An optional header row of task names: the first content line is a header when one of its
//!     cells is not a number. (A first line such as `a,1,2` whose only text is its first cell is
//!     a named data row instead when every following line also starts with text.)
//!   - An optional first column of task names: when the first cell of every data row is text, or
//!     when the header's top-left (corner) cell is empty. With both a header and a names column,
//!     the corner cell is ignored (it may be empty or absent) and the row names must equal the
//!     header names; otherwise whichever is present gives the names.
//!   - Numbers are Rust `f64` literals; `nan`, `inf`, `-inf`, `Infinity` (any case) are parsed
//!     so that they can be reported as [`InputError::NonFinite`].
//! * **NumPy `.npy`** (format versions 1.0, 2.0 and 3.0), parsed by [`crate::npy::parse_npy`]: a 2-D array
//!   of `f8` or `f4`, either byte order, C or Fortran order.
//!
//! Every value must be finite. Squareness is checked separately by [`require_square`].
//!
//! [`crate::npy::write_npy`] writes NPY v1.0 (`<f8`, C order) and [`write_csv`] writes a
//! comma-separated file that [`parse_text_matrix`] reads back exactly.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::npy::parse_npy;

/// A dense row-major matrix read from a file, with optional task names.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// The values, row-major: entry (i, j) is `data[i * cols + j]`.
    pub data: Vec<f64>,
    /// Task names from a header row (one per column) or a first column (one per row).
    pub names: Option<Vec<String>>,
}

/// Why an input file could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum InputError {
    /// The file could not be opened, read, or decoded as UTF-8 text.
    Io {
        /// The file's path, as displayed.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The input holds no matrix data.
    Empty,
    /// A line has a different number of cells than expected.
    Ragged {
        /// 1-based line in the file.
        line: usize,
        /// Cells expected (set by the header or the first data row).
        expected: usize,
        /// Cells found on that line.
        found: usize,
    },
    /// A data cell is not a number.
    NotANumber {
        /// 1-based line in the file.
        line: usize,
        /// 1-based cell (field) position in the line, counting a names column if present.
        column: usize,
        /// The cell's trimmed text (empty for an empty cell).
        text: String,
    },
    /// A NaN or infinite value; the first one in row-major order.
    NonFinite {
        /// 0-based matrix row.
        row: usize,
        /// 0-based matrix column.
        col: usize,
        /// The value.
        value: f64,
    },
    /// The matrix is not square (from [`require_square`]).
    NotSquare {
        /// Number of rows.
        rows: usize,
        /// Number of columns.
        cols: usize,
    },
    /// A malformed or unsupported `.npy` file.
    Npy(String),
    /// Task names are inconsistent (header versus first column, or an empty name).
    NamesMismatch(String),
    /// A malformed line of a table (subset results): the message names the file and line.
    Malformed(String),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io { path, message } => write!(f, "cannot read {path}: {message}"),
            InputError::Empty => write!(f, "no matrix data: the input has no numeric rows"),
            InputError::Ragged {
                line,
                expected,
                found,
            } => write!(
                f,
                "line {line} has {found} {}, expected {expected}",
                if *found == 1 { "cell" } else { "cells" }
            ),
            InputError::NotANumber { line, column, text } => {
                if text.is_empty() {
                    write!(
                        f,
                        "empty cell at line {line}, column {column}: expected a number"
                    )
                } else {
                    write!(
                        f,
                        "not a number at line {line}, column {column}: {:?}",
                        shorten(text)
                    )
                }
            }
            InputError::NonFinite { row, col, value } => write!(
                f,
                "non-finite value {value} at row {}, column {} (values must be finite)",
                row + 1,
                col + 1
            ),
            InputError::NotSquare { rows, cols } => write!(
                f,
                "the matrix must be square, but it has {rows} {} and {cols} {}",
                if *rows == 1 { "row" } else { "rows" },
                if *cols == 1 { "column" } else { "columns" }
            ),
            InputError::Npy(message) => write!(f, "invalid .npy file: {message}"),
            InputError::NamesMismatch(message) => write!(f, "task names: {message}"),
            InputError::Malformed(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for InputError {}

/// At most 40 characters of `s`, with an ellipsis when cut.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// Reads a matrix from a file: NumPy format when the extension is `.npy` (any case), text
/// otherwise. All values must be finite; squareness is not required (see [`require_square`]).
pub fn read_matrix(path: &Path) -> Result<Matrix, InputError> {
    let io_error = |message: String| InputError::Io {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| io_error(e.to_string()))?;
    let is_npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        return parse_npy(&bytes);
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => parse_text_matrix(text),
        Err(e) => {
            let good = bytes.get(..e.valid_up_to()).unwrap_or(&[]);
            let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
            Err(io_error(format!(
                "not UTF-8 text (invalid byte at line {line}); \
                 NumPy files need the .npy extension"
            )))
        }
    }
}

/// Fails with [`InputError::NotSquare`] unless the matrix has as many rows as columns.
pub fn require_square(m: &Matrix) -> Result<(), InputError> {
    if m.rows == m.cols {
        Ok(())
    } else {
        Err(InputError::NotSquare {
            rows: m.rows,
            cols: m.cols,
        })
    }
}

/// A trimmed cell as a number: Rust `f64` syntax, which also takes `nan`, `inf`, `infinity`
/// (any case, optional sign).
fn parse_number(cell: &str) -> Option<f64> {
    let t = cell.trim();
    if let Ok(v) = t.parse::<f64>() {
        return Some(v);
    }
    match t.to_ascii_lowercase().as_str() {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

fn is_number(cell: &str) -> bool {
    parse_number(cell).is_some()
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Delimiter {
    Tab,
    Comma,
    Whitespace,
}

/// One content line: its 1-based number in the file and its trimmed cells (at least one).
struct Line<'a> {
    number: usize,
    cells: Vec<&'a str>,
}

impl Line<'_> {
    fn first_is_text(&self) -> bool {
        self.cells.first().is_some_and(|c| !is_number(c))
    }
}

fn split_cells(line: &str, delimiter: Delimiter) -> Vec<&str> {
    match delimiter {
        Delimiter::Tab => line.split('\t').map(str::trim).collect(),
        Delimiter::Comma => line.split(',').map(str::trim).collect(),
        Delimiter::Whitespace => line.split_whitespace().collect(),
    }
}

/// Parses a text matrix (CSV, TSV or whitespace separated; see the module documentation).
pub fn parse_text_matrix(text: &str) -> Result<Matrix, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let content: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .filter_map(|(i, raw)| {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let t = line.trim();
            (!t.is_empty() && !t.starts_with('#')).then_some((i + 1, line))
        })
        .collect();
    let Some(&(_, first)) = content.first() else {
        return Err(InputError::Empty);
    };
    let delimiter = if first.contains('\t') {
        Delimiter::Tab
    } else if first.contains(',') {
        Delimiter::Comma
    } else {
        Delimiter::Whitespace
    };
    let lines: Vec<Line<'_>> = content
        .iter()
        .map(|&(number, l)| Line {
            number,
            cells: split_cells(l, delimiter),
        })
        .filter(|l| !l.cells.is_empty())
        .collect();
    let Some(first) = lines.first() else {
        return Err(InputError::Empty);
    };

    // Header row: some cell of the first line is text. A first line whose only text is its
    // first cell is a named data row when every later line starts with text too.
    let has_header = if first.cells.iter().skip(1).any(|c| !is_number(c)) {
        true
    } else if first.first_is_text() {
        let rest = lines.get(1..).unwrap_or_default();
        rest.is_empty() || !rest.iter().all(Line::first_is_text)
    } else {
        false
    };
    let (header, data_lines) = if has_header {
        (Some(first), lines.get(1..).unwrap_or_default())
    } else {
        (None, &lines[..])
    };
    let Some(first_data) = data_lines.first() else {
        return Err(InputError::Empty);
    };

    // Names column: forced by an empty corner cell, else detected from the data rows.
    let corner_empty = header.is_some_and(|h| h.cells.first().is_some_and(|c| c.is_empty()));
    let names_col = corner_empty || data_lines.iter().all(Line::first_is_text);
    let skip = usize::from(names_col);

    // Cells per data row, and the header's task names with the header column of each.
    // (the header line, how many header cells precede the first name, the names)
    type HeaderNames<'h> = (&'h Line<'h>, usize, &'h [&'h str]);
    let (expected, header_names): (usize, Option<HeaderNames<'_>>) = match header {
        None => (first_data.cells.len(), None),
        Some(h) => {
            let width = h.cells.len();
            if names_col && (corner_empty || first_data.cells.len() == width) {
                // The header has a corner cell above the names column: ignore it.
                (width, Some((h, 1, h.cells.get(1..).unwrap_or_default())))
            } else if names_col {
                // No corner cell (e.g. whitespace separated): every header cell is a name.
                (width + 1, Some((h, 0, &h.cells[..])))
            } else {
                (width, Some((h, 0, &h.cells[..])))
            }
        }
    };
    if let Some((h, offset, names)) = header_names {
        if let Some(k) = names.iter().position(|n| n.is_empty()) {
            return Err(InputError::NamesMismatch(format!(
                "empty task name in the header at line {}, column {}",
                h.number,
                offset + k + 1
            )));
        }
    }
    let cols = expected.saturating_sub(skip);

    let mut data = Vec::with_capacity(data_lines.len().saturating_mul(cols));
    let mut row_names: Vec<(usize, &str)> = Vec::new();
    for (row, line) in data_lines.iter().enumerate() {
        if line.cells.len() != expected {
            return Err(InputError::Ragged {
                line: line.number,
                expected,
                found: line.cells.len(),
            });
        }
        if names_col {
            let name = line.cells.first().copied().unwrap_or_default();
            if name.is_empty() {
                return Err(InputError::NamesMismatch(format!(
                    "empty task name at line {}, column 1",
                    line.number
                )));
            }
            row_names.push((line.number, name));
        }
        for (k, cell) in line.cells.iter().enumerate().skip(skip) {
            match parse_number(cell) {
                None => {
                    return Err(InputError::NotANumber {
                        line: line.number,
                        column: k + 1,
                        text: (*cell).to_string(),
                    })
                }
                Some(value) if !value.is_finite() => {
                    return Err(InputError::NonFinite {
                        row,
                        col: k - skip,
                        value,
                    })
                }
                Some(value) => data.push(value),
            }
        }
    }
    if cols == 0 {
        return Err(InputError::Empty);
    }

    let names = match (header_names, names_col) {
        (Some((h, offset, names)), true) => {
            check_same_names(h.number, offset, names, &row_names)?;
            Some(names.iter().map(|s| (*s).to_string()).collect())
        }
        (Some((_, _, names)), false) => Some(names.iter().map(|s| (*s).to_string()).collect()),
        (None, true) => Some(row_names.iter().map(|(_, s)| (*s).to_string()).collect()),
        (None, false) => None,
    };
    Ok(Matrix {
        rows: data_lines.len(),
        cols,
        data,
        names,
    })
}

/// With both a header and a names column, the row names must equal the header names.
fn check_same_names(
    header_line: usize,
    offset: usize,
    header: &[&str],
    rows: &[(usize, &str)],
) -> Result<(), InputError> {
    for (k, (h, (line, r))) in header.iter().zip(rows).enumerate() {
        if h != r {
            return Err(InputError::NamesMismatch(format!(
                "the row names differ from the header names at task {}: the header \
                 (line {header_line}, column {}) says {:?} but the row name at line {line}, \
                 column 1 is {:?}",
                k + 1,
                offset + k + 1,
                shorten(h),
                shorten(r)
            )));
        }
    }
    if header.len() != rows.len() {
        return Err(InputError::NamesMismatch(format!(
            "the header names {} tasks but there are {} rows with names; \
             the first {} names agree",
            header.len(),
            rows.len(),
            header.len().min(rows.len())
        )));
    }
    Ok(())
}

/// Writes a comma-separated file: a header row of the task names when `m.names` has one per
/// column (or a first column of names when it has one per row), then one line per row with each
/// value in Rust's shortest round-trip form (`{:?}`), so [`parse_text_matrix`] reads it back
/// exactly. Fails with `InvalidInput` for inconsistent sizes or names that would not survive
/// the trip (empty, containing a comma, tab or line break, surrounded by spaces, starting a line
/// with `#`, or looking like numbers where that would hide them).
#[allow(dead_code)]
pub fn write_csv(path: &Path, m: &Matrix) -> io::Result<()> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    if m.rows.checked_mul(m.cols) != Some(m.data.len()) {
        return Err(invalid(format!(
            "{} values do not make a {} × {} matrix",
            m.data.len(),
            m.rows,
            m.cols
        )));
    }
    #[derive(PartialEq)]
    enum NamesAt {
        None,
        Header,
        Column,
    }
    let names_at = match &m.names {
        None => NamesAt::None,
        Some(n) if n.len() == m.cols => NamesAt::Header,
        Some(n) if n.len() == m.rows => NamesAt::Column,
        Some(n) => {
            return Err(invalid(format!(
                "{} task names for a {} × {} matrix",
                n.len(),
                m.rows,
                m.cols
            )))
        }
    };
    let names: &[String] = m.names.as_deref().unwrap_or_default();
    for name in names {
        if name.is_empty()
            || name.trim() != name
            || name.contains([',', '\t', '\r', '\n'])
            || name.starts_with('\u{feff}')
        {
            return Err(invalid(format!(
                "task name {name:?} cannot be written to CSV (it is empty, has surrounding \
                 spaces, or holds a comma, tab or line break)"
            )));
        }
    }
    match names_at {
        NamesAt::Header => {
            if names.first().is_some_and(|n| n.starts_with('#')) {
                return Err(invalid(
                    "the first task name starts with '#' and would read back as a comment".into(),
                ));
            }
            if names.iter().all(|n| is_number(n)) {
                return Err(invalid(
                    "the task names all look like numbers and would read back as data".into(),
                ));
            }
        }
        NamesAt::Column => {
            if let Some(n) = names.iter().find(|n| n.starts_with('#') || is_number(n)) {
                return Err(invalid(format!(
                    "task name {n:?} cannot start a CSV line (it looks like a number or a comment)"
                )));
            }
        }
        NamesAt::None => {}
    }

    let mut out = BufWriter::new(File::create(path)?);
    if names_at == NamesAt::Header {
        writeln!(out, "{}", names.join(","))?;
    }
    if m.cols > 0 {
        for (i, row) in m.data.chunks_exact(m.cols).enumerate() {
            if names_at == NamesAt::Column {
                if let Some(name) = names.get(i) {
                    write!(out, "{name},")?;
                }
            }
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{v:?}")?;
            }
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::write_npy;

    fn names(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| (*s).to_string()).collect())
    }

    fn ok(text: &str) -> Matrix {
        match parse_text_matrix(text) {
            Ok(m) => m,
            Err(e) => panic!("parse failed for {text:?}: {e}"),
        }
    }

    fn err(text: &str) -> InputError {
        match parse_text_matrix(text) {
            Ok(m) => panic!("expected an error for {text:?}, got {m:?}"),
            Err(e) => e,
        }
    }

    /// A scratch file path unique to this process and test.
    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("taskgroup-input-{}-{name}", std::process::id()))
    }

    // ----- text: layouts -----------------------------------------------------------------

    #[test]
    fn plain_comma_no_names() {
        let m = ok("1,2,3\n4,5,6\n");
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(m.names, None);
    }

    #[test]
    fn header_row_only() {
        let m = ok("a,b\n1,2\n3,4\n");
        assert_eq!((m.rows, m.cols), (2, 2));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.names, names(&["a", "b"]));
    }

    #[test]
    fn header_with_some_numeric_names() {
        // One text cell is enough to make a header.
        let m = ok("1,b\n1,2\n3,4\n");
        assert_eq!(m.names, names(&["1", "b"]));
        let m = ok("x,2\n1,2\n3,4\n");
        assert_eq!(m.names, names(&["x", "2"]));
        assert_eq!(m.rows, 2);
        // Single column with a header.
        let m = ok("x\n1\n2\n");
        assert_eq!((m.rows, m.cols, m.names), (2, 1, names(&["x"])));
    }

    #[test]
    fn names_column_only() {
        let m = ok("a,1,2\nb,3,4\n");
        assert_eq!((m.rows, m.cols), (2, 2));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.names, names(&["a", "b"]));
        let m = ok("a 1 2\nb 3 4\n");
        assert_eq!(m.names, names(&["a", "b"]));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        // A single named row cannot be told from a header: it is a header with no data.
        assert_eq!(err("a,1,2\n"), InputError::Empty);
    }

    #[test]
    fn header_and_names_column() {
        for text in [
            ",a,b\na,1,2\nb,3,4\n",
            "task,a,b\na,1,2\nb,3,4\n",
            "\ta\tb\na\t1\t2\nb\t3\t4\n",
            // Whitespace separated: no corner cell at all.
            "a b\na 1 2\nb 3 4\n",
            // Comma separated without the corner cell.
            "a,b\na,1,2\nb,3,4\n",
        ] {
            let m = ok(text);
            assert_eq!((m.rows, m.cols), (2, 2), "{text:?}");
            assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0], "{text:?}");
            assert_eq!(m.names, names(&["a", "b"]), "{text:?}");
        }
        // An empty corner forces a names column even when the names look like numbers.
        let m = ok(",1,2\n1,0.5,0.25\n2,0.25,0.5\n");
        assert_eq!(m.names, names(&["1", "2"]));
        assert_eq!(m.data, vec![0.5, 0.25, 0.25, 0.5]);
    }

    #[test]
    fn names_mismatch() {
        let e = err(",a,b\nb,1,2\na,3,4\n");
        let InputError::NamesMismatch(msg) = &e else {
            panic!("{e:?}")
        };
        assert!(msg.contains("task 1"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("\"a\"") && msg.contains("\"b\""), "{msg}");
        let e = err(",a,b,c\na,1,2,3\nb,3,4,5\nd,5,6,7\n");
        let InputError::NamesMismatch(msg) = &e else {
            panic!("{e:?}")
        };
        assert!(msg.contains("task 3") && msg.contains("line 4"), "{msg}");
        // Different counts (non-square) with agreeing prefix.
        let e = err(",a,b\na,1,2\n");
        let InputError::NamesMismatch(msg) = &e else {
            panic!("{e:?}")
        };
        assert!(msg.contains("2 tasks") && msg.contains("1 rows"), "{msg}");
    }

    #[test]
    fn empty_names_rejected() {
        assert!(matches!(err("a,,c\n1,2,3\n"), InputError::NamesMismatch(_)));
        let e = err("a,,c\n1,2,3\n");
        assert!(e.to_string().contains("line 1, column 2"), "{e}");
        // The empty corner is allowed, an empty row name is not.
        let e = err(",a,b\na,1,2\n,3,4\n");
        assert!(e.to_string().contains("line 3, column 1"), "{e}");
    }

    #[test]
    fn delimiters() {
        let expect = vec![1.0, 2.5, -3.0, 4e-3];
        for text in [
            "1,2.5\n-3,4e-3\n",
            "1\t2.5\n-3\t4e-3\n",
            "1 2.5\n-3 4e-3\n",
            "  1    2.5  \n\t-3 \t 4e-3\n",
            "1 ,  2.5\n -3, 4e-3 \n",
            "1\t 2.5 \n -3 \t4e-3\n",
        ] {
            let m = ok(text);
            assert_eq!((m.rows, m.cols), (2, 2), "{text:?}");
            assert_eq!(m.data, expect, "{text:?}");
        }
        // Tab wins over commas when both appear: the commas are then inside cells.
        let e = err("1\t2\n3\t4,5\n");
        assert_eq!(
            e,
            InputError::NotANumber {
                line: 2,
                column: 2,
                text: "4,5".into()
            }
        );
        // Tab-separated names may contain spaces.
        let m = ok("task one\ttask two\n1\t2\n3\t4\n");
        assert_eq!(m.names, names(&["task one", "task two"]));
    }

    #[test]
    fn comments_blank_lines_crlf_bom() {
        let text = "\u{feff}# affinity matrix, made by hand\r\n\r\n  # indented comment\r\n\
                    a,b\r\n\r\n1,2\r\n# middle\r\n3,4\r\n\r\n";
        let m = ok(text);
        assert_eq!(m.names, names(&["a", "b"]));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        // The comment line with a comma does not decide the delimiter.
        let m = ok("# x, y\n1 2\n3 4");
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        // BOM directly before a header name is not part of the name.
        let m = ok("\u{feff}a,b\n1,2\n3,4\n");
        assert_eq!(m.names, names(&["a", "b"]));
        // Line numbers count skipped lines.
        let e = err("# c\n\n1,2\r\n3,x\r\n");
        assert_eq!(
            e,
            InputError::NotANumber {
                line: 4,
                column: 2,
                text: "x".into()
            }
        );
    }

    #[test]
    fn empty_inputs() {
        for text in [
            "",
            "\n\n",
            "# only a comment\n",
            "\u{feff}",
            "   \r\n\t\n",
            "a,b\n",
        ] {
            assert_eq!(err(text), InputError::Empty, "{text:?}");
        }
        // Names only, no numeric columns.
        assert_eq!(err("a\nb\n"), InputError::Empty);
    }

    // ----- text: errors -----------------------------------------------------------------------

    #[test]
    fn ragged_rows() {
        assert_eq!(
            err("1,2,3\n4,5\n"),
            InputError::Ragged {
                line: 2,
                expected: 3,
                found: 2
            }
        );
        assert_eq!(
            err("a,b\n1,2\n\n# c\n1,2,3\n"),
            InputError::Ragged {
                line: 5,
                expected: 2,
                found: 3
            }
        );
        // Rows longer than the header.
        assert_eq!(
            err("a,b\n1,2,3\n"),
            InputError::Ragged {
                line: 2,
                expected: 2,
                found: 3
            }
        );
        let e = err("1 2\n3 4 5\n");
        assert_eq!(e.to_string(), "line 2 has 3 cells, expected 2");
    }

    #[test]
    fn not_a_number_positions() {
        assert_eq!(
            err("1,2,3\n4,five,6\n"),
            InputError::NotANumber {
                line: 2,
                column: 2,
                text: "five".into()
            }
        );
        // The column counts the names column.
        assert_eq!(
            err(",a,b\na,1,2\nb,3,oops\n"),
            InputError::NotANumber {
                line: 3,
                column: 3,
                text: "oops".into()
            }
        );
        // An empty cell.
        let e = err("1,2\n3,\n");
        assert_eq!(
            e,
            InputError::NotANumber {
                line: 2,
                column: 2,
                text: String::new()
            }
        );
        assert!(
            e.to_string().contains("empty cell at line 2, column 2"),
            "{e}"
        );
        // A row with a text first cell in a file without a names column.
        assert_eq!(
            err("1,2\nx,4\n"),
            InputError::NotANumber {
                line: 2,
                column: 1,
                text: "x".into()
            }
        );
        let e = err("1,2\n3,4x\n");
        assert_eq!(e.to_string(), "not a number at line 2, column 2: \"4x\"");
    }

    #[test]
    fn non_finite_positions() {
        for (cell, is_nan) in [
            ("nan", true),
            ("NaN", true),
            ("NAN", true),
            ("inf", false),
            ("-inf", false),
            ("Infinity", false),
            ("-INFINITY", false),
            ("+inf", false),
            ("1e999", false),
        ] {
            let text = format!("a,b,c\n1,2,3\n4,5,{cell}\n7,8,9\n");
            let e = err(&text);
            let InputError::NonFinite { row, col, value } = e else {
                panic!("{cell}: {e:?}")
            };
            assert_eq!((row, col), (1, 2), "{cell}");
            assert_eq!(value.is_nan(), is_nan, "{cell}");
        }
        // Displayed 1-based.
        let e = err("0,0,0,0,0\n0,0,0,0,0\n0,0,0,0,NaN\n");
        assert_eq!(
            e.to_string(),
            "non-finite value NaN at row 3, column 5 (values must be finite)"
        );
        // First offender in row-major order, counted without the names column.
        let e = err("a,1,2\nb,inf,nan\n");
        assert!(
            matches!(e, InputError::NonFinite { row: 1, col: 0, value } if value == f64::INFINITY),
            "{e:?}"
        );
        // nan/inf are numbers, so a row of them is not a header.
        assert!(matches!(
            err("nan,1\n1,1\n"),
            InputError::NonFinite { row: 0, col: 0, .. }
        ));
    }

    #[test]
    fn number_syntax() {
        let m = ok("+1,-2.5e3\n.5,5.\n");
        assert_eq!(m.data, vec![1.0, -2500.0, 0.5, 5.0]);
        let m = ok("1E2 0.1\n-0 3");
        assert_eq!(m.data, vec![100.0, 0.1, -0.0, 3.0]);
    }

    #[test]
    fn require_square_checks() {
        let m = ok("1,2,3\n4,5,6\n");
        let e = require_square(&m).unwrap_err();
        assert_eq!(e, InputError::NotSquare { rows: 2, cols: 3 });
        assert_eq!(
            e.to_string(),
            "the matrix must be square, but it has 2 rows and 3 columns"
        );
        assert!(require_square(&ok("1,2\n3,4\n")).is_ok());
    }

    #[test]
    fn display_messages() {
        let e = InputError::Io {
            path: "x.csv".into(),
            message: "No such file".into(),
        };
        assert_eq!(e.to_string(), "cannot read x.csv: No such file");
        assert!(InputError::Npy("bad".into()).to_string().contains("bad"));
        assert!(InputError::Empty.to_string().contains("no matrix data"));
        let long = InputError::NotANumber {
            line: 1,
            column: 1,
            text: "y".repeat(100),
        };
        assert!(long.to_string().chars().count() < 100);
        // Messages are one line.
        let msgs = [
            err(",a,b\nb,1,2\na,3,4\n").to_string(),
            crate::npy::parse_npy(b"\x93NUMPY\x01\x00\x04\x00{}\n\n")
                .unwrap_err()
                .to_string(),
        ];
        for m in msgs {
            assert!(!m.contains('\n'), "{m}");
        }
        let _: &dyn std::error::Error = &InputError::Empty;
    }

    #[test]
    fn text_never_panics() {
        let alphabet: Vec<char> = "0123456789.,-+eE\t \r\n#abNnIiF\u{feff}é,,\n\n"
            .chars()
            .collect();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5000 {
            let len = (next() % 60) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            if let Ok(m) = parse_text_matrix(&text) {
                assert_eq!(m.data.len(), m.rows * m.cols, "{text:?}");
                assert!(m.rows > 0 && m.cols > 0, "{text:?}");
                assert!(m.data.iter().all(|v| v.is_finite()), "{text:?}");
                if let Some(n) = &m.names {
                    assert!(n.len() == m.rows || n.len() == m.cols, "{text:?}");
                }
            }
        }
    }

    // ----- files --------------------------------------------------------------------------------

    #[test]
    fn read_matrix_dispatches_on_extension() {
        let csv = temp_path("m.csv");
        std::fs::write(&csv, "a,b\n1,2\n3,4\n").unwrap();
        let m = read_matrix(&csv).unwrap();
        assert_eq!(m.names, names(&["a", "b"]));

        let npy = temp_path("m.NPY");
        write_npy(&npy, 2, 2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
        let m = read_matrix(&npy).unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.names, None);

        // An .npy file under another extension is reported as non-text.
        let disguised = temp_path("npy.txt");
        std::fs::copy(&npy, &disguised).unwrap();
        let e = read_matrix(&disguised).unwrap_err();
        assert!(matches!(e, InputError::Io { .. }), "{e:?}");

        let missing = temp_path("does-not-exist.csv");
        let e = read_matrix(&missing).unwrap_err();
        let InputError::Io { path, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(path.contains("does-not-exist.csv"));
        for p in [csv, npy, disguised] {
            let _ = std::fs::remove_file(p);
        }
    }

    #[test]
    fn csv_round_trip() {
        let data = vec![
            0.1,
            1.0 / 3.0,
            -2.5e-300,
            1e300,
            0.0,
            -0.0,
            123_456_789.123_456_79,
            f64::MIN_POSITIVE,
            std::f64::consts::PI,
        ];
        let path = temp_path("rt.csv");
        for names_opt in [None, names(&["a", "task b", "c"])] {
            let m = Matrix {
                rows: 3,
                cols: 3,
                data: data.clone(),
                names: names_opt,
            };
            write_csv(&path, &m).unwrap();
            let back = read_matrix(&path).unwrap();
            assert_eq!(back.rows, 3);
            assert_eq!(back.cols, 3);
            assert_eq!(back.names, m.names);
            for (a, b) in back.data.iter().zip(&m.data) {
                assert_eq!(a.to_bits(), b.to_bits());
            }
        }
        // Names per row of a non-square matrix go in a first column.
        let m = Matrix {
            rows: 2,
            cols: 3,
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            names: names(&["r1", "r2"]),
        };
        write_csv(&path, &m).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "r1,1.0,2.0,3.0\nr2,4.0,5.0,6.0\n"
        );
        assert_eq!(read_matrix(&path).unwrap(), m);
        // Names that would not survive are refused.
        for bad in [
            &["a,b", "c"][..],
            &["", "c"],
            &[" a", "c"],
            &["#a", "c"],
            &["1", "2"],
        ] {
            let m = Matrix {
                rows: 2,
                cols: 2,
                data: vec![0.0; 4],
                names: names(bad),
            };
            let e = write_csv(&path, &m).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        let m = Matrix {
            rows: 2,
            cols: 2,
            data: vec![0.0; 3],
            names: None,
        };
        assert!(write_csv(&path, &m).is_err());
        let _ = std::fs::remove_file(path);
    }

    // ----- npy ---------------------------------------------------------------------------------
}
