//! Reading and writing dense numeric matrices, std only.
//!
//! Two input formats are read by [`read_matrix`]:
//!
//! * **Text** (CSV, TSV or whitespace separated), parsed by [`parse_text_matrix`]:
//!   - The delimiter is chosen per file from the first content line (the first line that is
//!     neither blank nor a `#` comment): tab if it holds a tab, else comma if it holds a comma,
//!     else runs of whitespace.
//!     Quoted parts (RFC 4180) do not count, so a quoted `"flan, cot"` in a TSV file is fine.
//!   - RFC 4180 quoting: a cell that starts with `"` runs to the matching `"` (`""` is a quote)
//!     and may hold delimiters and line breaks; the quotes are not part of the cell. This reads
//!     pandas' `to_csv` and Excel's CSV as written.
//!   - Blank lines and lines whose first non-blank character is `#` are skipped. A UTF-8 byte
//!     order mark and CRLF line ends are accepted; unquoted cells are trimmed. A delimiter at the
//!     end of every line (a trailing comma) adds no cell.
//!   - An optional header row of task names: the first content line is a header when one of its
//!     cells is text (not empty, not a number). (A first line such as `a,1,2` whose only text is
//!     its first cell is a named data row instead when every following line also starts with
//!     text; a first row that also holds numbers, above all-numeric rows, is data when only with
//!     it the matrix is square, so a typo such as `0.1O` is reported as not a number.)
//!   - Task names must be unique. When nothing can be read and lines split on `;` or `|` into
//!     numbers, the error says so ([`InputError::Delimiter`]).
//!   - An optional first column of task names: when the first cell of every data row is text, or
//!     when the header's top-left (corner) cell is empty. With both a header and a names column,
//!     the corner cell is ignored (it may be empty or absent) and the row names must equal the
//!     header names; otherwise whichever is present gives the names.
//!   - Numbers are Rust `f64` literals; `nan`, `inf`, `-inf`, `Infinity` (any case) are parsed
//!     so that they can be reported as [`InputError::NonFinite`].
//! * **NumPy `.npy`** (format versions 1.0, 2.0 and 3.0), parsed by [`crate::npy::parse_npy`]: a 2-D array
//!   of `f8` or `f4`, either byte order, C or Fortran order. Task names of a square `T.npy` are
//!   read from `T.names.txt` beside it when present ([`names_sidecar`]).
//!
//! Every value must be finite. Squareness is checked separately by [`require_square`].
//!
//! [`crate::npy::write_npy`] writes NPY v1.0 (`<f8`, C order) and [`write_csv`] writes a
//! comma-separated file that [`parse_text_matrix`] reads back exactly.

use std::borrow::Cow;
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
    /// A quoted cell (`"...`) that is never closed.
    UnterminatedQuote {
        /// 1-based line where the quoted cell starts.
        line: usize,
    },
    /// No matrix could be read, and the lines look separated by a character that is not a
    /// delimiter here (`;` or `|`).
    Delimiter {
        /// 1-based line that splits into numbers on `found`.
        line: usize,
        /// The character that seems to separate the cells.
        found: char,
        /// The numbers use a decimal comma (`0,5`), as spreadsheets of some locales write.
        decimal_comma: bool,
    },
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
            InputError::UnterminatedQuote { line } => write!(
                f,
                "the quoted cell that starts at line {line} has no closing quote (\")"
            ),
            InputError::Delimiter {
                line,
                found,
                decimal_comma: false,
            } => write!(
                f,
                "no matrix could be read, and line {line} looks separated by {found:?}, which is \
                 not a delimiter here: separate cells by commas, tabs or spaces (e.g. `tr \
                 '{found}' ','`)"
            ),
            InputError::Delimiter {
                line,
                found,
                decimal_comma: true,
            } => write!(
                f,
                "no matrix could be read, and line {line} looks separated by {found:?} with \
                 decimal commas (0,5): write numbers with a decimal point and separate cells \
                 by commas, tabs or spaces (e.g. `sed 's/,/./g; s/{found}/,/g'`)"
            ),
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
    // Mapped from 64 MiB up: the parsers read the file's bytes with no second copy of them.
    let bytes = crate::mapped::FileBytes::open(path).map_err(|e| io_error(e.to_string()))?;
    let is_npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        let mut m = parse_npy(&bytes)?;
        if m.rows == m.cols {
            m.names = read_names_sidecar(path, m.rows)?;
        }
        return Ok(m);
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

impl Delimiter {
    fn char(self) -> Option<char> {
        match self {
            Delimiter::Tab => Some('\t'),
            Delimiter::Comma => Some(','),
            Delimiter::Whitespace => None,
        }
    }
}

/// One record (a line, or several when a quoted cell holds line breaks): the 1-based number of
/// its first line in the file and its trimmed, unquoted cells (at least one).
struct Line<'a> {
    number: usize,
    cells: Vec<Cow<'a, str>>,
    /// The last cell is empty and was not quoted: the line ends with a delimiter.
    trailing_empty: bool,
}

impl Line<'_> {
    fn first_is_text(&self) -> bool {
        self.cells.first().is_some_and(|c| !is_number(c))
    }
}

/// The first record of `text` (up to a line break outside quotes) with its quoted parts
/// (RFC 4180: `"..."`, `""` inside) removed, for delimiter sniffing.
fn outside_quotes(text: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            if c == '\n' {
                break;
            }
            out.push(c);
        }
    }
    out
}

/// Splits `text` into records: RFC 4180 quoting (a cell that starts with `"` runs to the
/// matching `"`, `""` is a quote, and delimiters and line breaks inside are kept); blank lines
/// and `#` comment lines between records are skipped; unquoted cells are trimmed.
fn split_records(text: &str, delimiter: Delimiter) -> Result<Vec<Line<'_>>, InputError> {
    let bytes = text.as_bytes();
    let sep = delimiter.char().map(|c| c as u8);
    // Spaces skipped before a cell: never the delimiter itself.
    let is_pad = |b: u8| match sep {
        Some(sep) => (b == b' ' || b == b'\t' || b == b'\r') && b != sep,
        None => b.is_ascii_whitespace() && b != b'\n',
    };
    // Where the cell that continues at `from` ends: the line end, the delimiter or (whitespace
    // separated) any white space.
    let cell_end = |from: usize| {
        (from..bytes.len())
            .find(|&i| {
                bytes[i] == b'\n'
                    || Some(bytes[i]) == sep
                    || (sep.is_none() && bytes[i].is_ascii_whitespace())
            })
            .unwrap_or(bytes.len())
    };
    let mut records = Vec::new();
    let mut pos = 0usize;
    let mut line_no = 1usize;
    while pos < bytes.len() {
        // A physical line at a record start: skip it when blank or a comment.
        let eol = text[pos..].find('\n').map_or(bytes.len(), |i| pos + i);
        let t = text[pos..eol].trim();
        if t.is_empty() || t.starts_with('#') {
            pos = eol + 1;
            line_no += 1;
            continue;
        }
        let number = line_no;
        let mut cells: Vec<Cow<'_, str>> = Vec::new();
        let mut trailing_empty = false;
        loop {
            while pos < bytes.len() && is_pad(bytes[pos]) {
                pos += 1;
            }
            if sep.is_none() && (pos >= bytes.len() || bytes[pos] == b'\n') {
                break; // whitespace separated: no empty cells
            }
            let quoted = bytes.get(pos) == Some(&b'"');
            if quoted {
                let open_line = line_no;
                pos += 1;
                let mut cell = String::new();
                loop {
                    let Some(q) = text[pos..].find('"').map(|i| pos + i) else {
                        return Err(InputError::UnterminatedQuote { line: open_line });
                    };
                    line_no += text[pos..q].matches('\n').count();
                    cell.push_str(&text[pos..q]);
                    if bytes.get(q + 1) == Some(&b'"') {
                        cell.push('"');
                        pos = q + 2;
                    } else {
                        pos = q + 1;
                        break;
                    }
                }
                // Text after the closing quote (not RFC 4180) is kept, trimmed.
                let end = cell_end(pos);
                cell.push_str(text[pos..end].trim());
                pos = end;
                cells.push(Cow::Owned(cell));
                trailing_empty = false;
            } else {
                let end = cell_end(pos);
                let cell = text[pos..end].trim();
                trailing_empty = cell.is_empty();
                cells.push(Cow::Borrowed(cell));
                pos = end;
            }
            match bytes.get(pos) {
                Some(&b) if Some(b) == sep => pos += 1,
                Some(b'\n') | None => break,
                Some(_) => {} // whitespace separated: the next cell
            }
        }
        if pos < bytes.len() {
            pos += 1; // the line break
        }
        line_no += 1;
        trailing_empty &= cells.len() > 1;
        if !cells.is_empty() {
            records.push(Line {
                number,
                cells,
                trailing_empty,
            });
        }
    }
    Ok(records)
}

/// Parses a text matrix (CSV, TSV or whitespace separated; see the module documentation).
pub fn parse_text_matrix(text: &str) -> Result<Matrix, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match parse_records(text) {
        Ok(m) => Ok(m),
        Err(
            e @ (InputError::Empty | InputError::NotANumber { .. } | InputError::Ragged { .. }),
        ) => Err(delimiter_hint(text).unwrap_or(e)),
        Err(e) => Err(e),
    }
}

/// A [`InputError::Delimiter`] when the file looks separated by `;` or `|` (which are not
/// delimiters here): some content line splits on it into at least two numbers.
fn delimiter_hint(text: &str) -> Option<InputError> {
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        for found in [';', '|'] {
            let cells: Vec<&str> = line.split(found).map(str::trim).collect();
            let cells = match cells.split_last() {
                Some((&"", rest)) => rest.to_vec(),
                _ => cells,
            };
            if cells.len() < 2 {
                continue;
            }
            // The first cell may be a task name.
            let numbers = cells.get(1..).unwrap_or_default();
            if numbers.iter().all(|c| is_number(c)) {
                return Some(InputError::Delimiter {
                    line: i + 1,
                    found,
                    decimal_comma: false,
                });
            }
            if numbers
                .iter()
                .all(|c| c.contains(',') && is_number(&c.replace(',', ".")))
            {
                return Some(InputError::Delimiter {
                    line: i + 1,
                    found,
                    decimal_comma: true,
                });
            }
        }
    }
    None
}

fn parse_records(text: &str) -> Result<Matrix, InputError> {
    // The first record (the first line that is neither blank nor a comment, up to a line
    // break outside quotes), without its quoted parts.
    let mut offset = 0;
    let start = text.split_inclusive('\n').find_map(|l| {
        let t = l.trim();
        let here = offset;
        offset += l.len();
        (!t.is_empty() && !t.starts_with('#')).then_some(here)
    });
    let Some(start) = start else {
        return Err(InputError::Empty);
    };
    let first = outside_quotes(text.get(start..).unwrap_or_default());
    let delimiter = if first.contains('\t') {
        Delimiter::Tab
    } else if first.contains(',') {
        Delimiter::Comma
    } else {
        Delimiter::Whitespace
    };
    let mut lines = split_records(text, delimiter)?;
    if lines.is_empty() {
        return Err(InputError::Empty);
    }

    // A delimiter at the end of every line (some spreadsheets write one) adds no cell. The
    // header may have it while the data rows do not, or the other way round.
    let first_width = lines[0].cells.len();
    let all_trailing = lines.iter().skip(1).all(|l| l.trailing_empty);
    let rest_trailing = all_trailing
        && (lines[0].trailing_empty
            || lines
                .iter()
                .skip(1)
                .all(|l| l.cells.len() == first_width + 1));
    let drop_first = lines[0].trailing_empty
        && (all_trailing
            || lines
                .get(1)
                .is_some_and(|l| l.cells.len() + 1 == first_width));
    for (i, l) in lines.iter_mut().enumerate() {
        if (i == 0 && drop_first) || (i > 0 && rest_trailing && l.trailing_empty) {
            l.cells.pop();
        }
    }
    let Some(first) = lines.first() else {
        return Err(InputError::Empty);
    };

    // Header row: some cell of the first line is text (not empty, not a number). A first line
    // whose only text is its first cell is a named data row when every later line starts with
    // text too.
    let is_text = |c: &Cow<'_, str>| !c.is_empty() && !is_number(c);
    let rest = lines.get(1..).unwrap_or_default();
    let mut has_header = if first.cells.iter().skip(1).any(is_text) {
        true
    } else if first.first_is_text() {
        rest.is_empty() || !rest.iter().all(Line::first_is_text)
    } else {
        false
    };
    // A typo in the first row of an otherwise numeric square matrix (`0.1O`) is not a header:
    // the first row is data when it holds numbers too, every later line is all numbers, and the
    // matrix is square only with it.
    if has_header {
        let width = first.cells.len();
        let some_number = first.cells.iter().any(|c| is_number(c))
            && first.cells.first().is_some_and(|c| !c.is_empty());
        let rest_numeric = !rest.is_empty()
            && rest
                .iter()
                .all(|l| l.cells.len() == width && l.cells.iter().all(|c| is_number(c)));
        if some_number && rest_numeric && lines.len() == width && rest.len() != width {
            has_header = false;
        }
    }
    let (header, data_lines) = if has_header {
        (Some(first), rest)
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
    type HeaderNames<'h> = (&'h Line<'h>, usize, &'h [Cow<'h, str>]);
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
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (k, n) in names.iter().enumerate() {
            if let Some(j) = seen.insert(n, k) {
                return Err(InputError::NamesMismatch(format!(
                    "task {:?} is named twice in the header (line {}, columns {} and {}): \
                     task names must be unique",
                    shorten(n),
                    h.number,
                    offset + j + 1,
                    offset + k + 1
                )));
            }
        }
    }
    let cols = expected.saturating_sub(skip);

    let mut data = Vec::with_capacity(data_lines.len().saturating_mul(cols));
    let mut row_names: Vec<(usize, &str)> = Vec::new();
    let mut seen_rows: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (row, line) in data_lines.iter().enumerate() {
        if line.cells.len() != expected {
            return Err(InputError::Ragged {
                line: line.number,
                expected,
                found: line.cells.len(),
            });
        }
        if names_col {
            let name: &str = line.cells.first().map_or("", |c| c);
            if name.is_empty() {
                return Err(InputError::NamesMismatch(format!(
                    "empty task name at line {}, column 1",
                    line.number
                )));
            }
            if let Some(first_line) = seen_rows.insert(name, line.number) {
                return Err(InputError::NamesMismatch(format!(
                    "task {:?} is named twice in the first column (lines {first_line} and {}): \
                     task names must be unique",
                    shorten(name),
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
                        text: cell.to_string(),
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
            Some(names.iter().map(|s| s.to_string()).collect())
        }
        (Some((_, _, names)), false) => Some(names.iter().map(|s| s.to_string()).collect()),
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
    header: &[Cow<'_, str>],
    rows: &[(usize, &str)],
) -> Result<(), InputError> {
    for (k, (h, (line, r))) in header.iter().zip(rows).enumerate() {
        if h.as_ref() != *r {
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
/// exactly. Names are quoted as RFC 4180 says when they hold a comma, quote, tab or line break,
/// start with `#` or have surrounding spaces. Fails with `InvalidInput` for inconsistent sizes
/// or names that would not survive the trip (empty, or looking like numbers where that would
/// hide them).
pub fn write_csv(path: &Path, m: &Matrix) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    write_csv_to(&mut out, m)?;
    out.flush()
}

/// A task name as a CSV cell: quoted (RFC 4180) when it would not read back as itself.
fn csv_cell(name: &str) -> Cow<'_, str> {
    if name.contains([',', '"', '\t', '\r', '\n'])
        || name.starts_with('#')
        || name.starts_with('\u{feff}')
        || name.trim() != name
    {
        Cow::Owned(format!("\"{}\"", name.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(name)
    }
}

/// [`write_csv`] into any writer (e.g. stdout). Checks everything before writing anything.
pub fn write_csv_to(out: &mut dyn Write, m: &Matrix) -> io::Result<()> {
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
    if names.iter().any(String::is_empty) {
        return Err(invalid(
            "an empty task name cannot be written to CSV".into(),
        ));
    }
    match names_at {
        NamesAt::Header => {
            if names.iter().all(|n| is_number(n)) {
                return Err(invalid(
                    "the task names all look like numbers and would read back as data".into(),
                ));
            }
        }
        NamesAt::Column => {
            if let Some(n) = names.iter().find(|n| is_number(n)) {
                return Err(invalid(format!(
                    "task name {n:?} cannot start a CSV line (it looks like a number)"
                )));
            }
        }
        NamesAt::None => {}
    }

    if names_at == NamesAt::Header {
        let cells: Vec<Cow<'_, str>> = names.iter().map(|n| csv_cell(n)).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    if m.cols > 0 {
        for (i, row) in m.data.chunks_exact(m.cols).enumerate() {
            if names_at == NamesAt::Column {
                if let Some(name) = names.get(i) {
                    write!(out, "{},", csv_cell(name))?;
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
    Ok(())
}

/// The file beside an `.npy` matrix that holds its task names, one per line: `T.npy` →
/// `T.names.txt`. (`.npy` has no place for them; `taskgroup affinity` writes it and
/// `taskgroup cluster` reads it.)
pub fn names_sidecar(npy: &Path) -> std::path::PathBuf {
    let stem = npy.file_stem().unwrap_or_default().to_string_lossy();
    npy.with_file_name(format!("{stem}.names.txt"))
}

/// Writes `names` one per line to [`names_sidecar`] of `npy`. Fails with `InvalidInput` when a
/// name is empty or holds a line break (it would not read back).
pub fn write_names_sidecar(npy: &Path, names: &[String]) -> io::Result<()> {
    if let Some(n) = names
        .iter()
        .find(|n| n.is_empty() || n.contains(['\n', '\r']) || n.trim() != n.as_str())
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("task name {n:?} cannot be written one per line (empty, spaces around it, or a line break)"),
        ));
    }
    let mut text = names.join("\n");
    text.push('\n');
    std::fs::write(names_sidecar(npy), text)
}

/// Writes a square n×n matrix by the file's extension: `.npy` (any case) as NPY with its names
/// in [`names_sidecar`] (a stale names file is removed when there are none), anything else as
/// CSV through [`write_csv`]. `InvalidInput` for sizes or names that would not read back.
pub fn write_square(
    path: &Path,
    n: usize,
    data: Vec<f64>,
    names: Option<Vec<String>>,
) -> io::Result<()> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        crate::npy::write_npy(path, n, n, &data)?;
        match &names {
            Some(names) => write_names_sidecar(path, names),
            // No names: a names file left by an earlier run would mislabel this matrix.
            None => match std::fs::remove_file(names_sidecar(path)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    } else {
        write_csv(
            path,
            &Matrix {
                rows: n,
                cols: n,
                data,
                names,
            },
        )
    }
}

/// The task names of [`names_sidecar`] of `npy`, when that file exists; an error when it cannot
/// be read or does not hold one name per task (`n`), never a silent mislabelling.
pub fn read_names_sidecar(npy: &Path, n: usize) -> Result<Option<Vec<String>>, InputError> {
    let path = names_sidecar(npy);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(InputError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        }
    };
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != n {
        return Err(InputError::NamesMismatch(format!(
            "{} holds {} names but the matrix has {n} tasks (remove or fix it)",
            path.display(),
            names.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(d) = names.iter().find(|x| !seen.insert(x.as_str())) {
        return Err(InputError::NamesMismatch(format!(
            "task {:?} is named twice in {}: task names must be unique",
            shorten(d),
            path.display()
        )));
    }
    Ok(Some(names))
}

/// Reads a matrix from bytes (e.g. stdin): NumPy format when they start with the `.npy` magic,
/// text otherwise. `source` names the input in errors.
pub fn parse_matrix_bytes(bytes: &[u8], source: &str) -> Result<Matrix, InputError> {
    if bytes.starts_with(b"\x93NUMPY") {
        return parse_npy(bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_text_matrix(text),
        Err(e) => {
            let good = bytes.get(..e.valid_up_to()).unwrap_or(&[]);
            let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
            Err(InputError::Io {
                path: source.to_string(),
                message: format!("not UTF-8 text (invalid byte at line {line})"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::write_npy;
    use crate::test_util::{temp_path, xorshift};

    fn names(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| (*s).to_string()).collect())
    }

    fn ok(text: &str) -> Matrix {
        match parse_text_matrix(text) {
            Ok(m) => m,
            Err(e) => panic!("parse failed for {text:?}: {e}"),
        }
    }

    /// Parses `text` and checks its shape (rows, cols) and its values.
    fn ok_with(text: &str, shape: (usize, usize), data: &[f64]) -> Matrix {
        let m = ok(text);
        assert_eq!((m.rows, m.cols), shape, "{text:?}");
        assert_eq!(m.data, data, "{text:?}");
        m
    }

    fn not_a_number(line: usize, column: usize, text: &str) -> InputError {
        InputError::NotANumber {
            line,
            column,
            text: text.into(),
        }
    }

    fn err(text: &str) -> InputError {
        match parse_text_matrix(text) {
            Ok(m) => panic!("expected an error for {text:?}, got {m:?}"),
            Err(e) => e,
        }
    }

    // ----- text: layouts -----------------------------------------------------------------

    #[test]
    fn plain_comma_no_names() {
        let m = ok_with("1,2,3\n4,5,6\n", (2, 3), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(m.names, None);
    }

    #[test]
    fn header_row_only() {
        let m = ok_with("a,b\n1,2\n3,4\n", (2, 2), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.names, names(&["a", "b"]));
    }

    #[test]
    fn header_with_some_numeric_names() {
        // One text cell is enough to make a header.
        assert_eq!(ok("1,b\n1,2\n3,4\n").names, names(&["1", "b"]));
        let m = ok("x,2\n1,2\n3,4\n");
        assert_eq!(m.names, names(&["x", "2"]));
        assert_eq!(m.rows, 2);
        // Single column with a header.
        let m = ok("x\n1\n2\n");
        assert_eq!((m.rows, m.cols, m.names), (2, 1, names(&["x"])));
    }

    #[test]
    fn names_column_only() {
        let m = ok_with("a,1,2\nb,3,4\n", (2, 2), &[1.0, 2.0, 3.0, 4.0]);
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
            let m = ok_with(text, (2, 2), &[1.0, 2.0, 3.0, 4.0]);
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
            ok_with(text, (2, 2), &expect);
        }
        // Tab wins over commas when both appear: the commas are then inside cells.
        assert_eq!(err("1\t2\n3\t4,5\n"), not_a_number(2, 2, "4,5"));
        // Tab-separated names may contain spaces.
        assert_eq!(
            ok("task one\ttask two\n1\t2\n3\t4\n").names,
            names(&["task one", "task two"])
        );
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
        assert_eq!(ok("\u{feff}a,b\n1,2\n3,4\n").names, names(&["a", "b"]));
        // Line numbers count skipped lines.
        assert_eq!(err("# c\n\n1,2\r\n3,x\r\n"), not_a_number(4, 2, "x"));
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

    // ----- text: RFC 4180 quoting, spreadsheets, typos ------------------------------------

    #[test]
    fn rfc4180_quoted_names_as_pandas_and_excel_write_them() {
        // pandas `df.to_csv()`: an index column under an empty corner, quotes only where needed.
        let m = ok(",\"flan, cot\",sst2\n\"flan, cot\",1.0,0.5\nsst2,0.5,1.0\n");
        assert_eq!(m.names, names(&["flan, cot", "sst2"]));
        assert_eq!(m.data, vec![1.0, 0.5, 0.5, 1.0]);
        // Excel: CRLF, every text cell quoted, quotes doubled, a line break inside a name.
        let text = "\"\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\n\
                    \"say \"\"hi\"\"\",1,2\r\n\"two\r\nlines\",3,4\r\n";
        let m = ok(text);
        assert_eq!(m.names, names(&["say \"hi\"", "two\r\nlines"]));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0]);
        // Quoted numbers are numbers; line numbers count the lines inside quotes.
        let m = ok("\"1\",\"2\"\n3,4\n");
        assert_eq!((m.names, m.data), (None, vec![1.0, 2.0, 3.0, 4.0]));
        assert_eq!(err("\"a\nb\",c\n1,2\n3,x\n"), not_a_number(4, 2, "x"));
        // Quoted names in TSV and whitespace-separated files, with the delimiter inside.
        assert_eq!(ok("\"a\tb\"\tc\n1\t2\n3\t4\n").names, names(&["a\tb", "c"]));
        assert_eq!(
            ok("\"task one\" \"task two\"\n1 2\n3 4\n").names,
            names(&["task one", "task two"])
        );
        // A comma inside quotes does not make a comma-separated file.
        assert_eq!(ok("\"a,b\" c\n1 2\n3 4\n").names, names(&["a,b", "c"]));
        // Never closed.
        let e = err("a,\"b\n1,2\n");
        assert_eq!(e, InputError::UnterminatedQuote { line: 1 });
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn a_typo_in_the_first_row_is_not_a_header() {
        assert_eq!(
            err("0.1,0.1O,0.3\n0.2,0.5,0.1\n0.3,0.1,0.5\n"),
            not_a_number(1, 2, "0.1O")
        );
        let e = err("1O,2\n3,4\n");
        assert!(e.to_string().contains("line 1, column 1"), "{e}");
        // A real header still is one (square only without the first row).
        assert_eq!(
            ok("a,b,c\n1,2,3\n4,5,6\n7,8,9\n").names,
            names(&["a", "b", "c"])
        );
        assert_eq!(ok("1,b\n1,2\n3,4\n").names, names(&["1", "b"]));
    }

    #[test]
    fn trailing_delimiters_add_no_cell() {
        for text in ["1,2,\n3,4,\n", "1,2,\r\n3,4,\r\n", "1\t2\t\n3\t4\t\n"] {
            let m = ok(text);
            assert_eq!((m.rows, m.cols, m.names.clone()), (2, 2, None), "{text:?}");
        }
        assert_eq!(ok("a,b,\n1,2\n3,4\n").names, names(&["a", "b"]));
        assert_eq!(ok("a,b\n1,2,\n3,4,\n").names, names(&["a", "b"]));
        assert_eq!(ok("a,b,\n1,2,\n3,4,\n").names, names(&["a", "b"]));
        // A missing value is still reported, not taken for a header with an empty name.
        let e = err("1,2\n3,\n");
        assert!(
            e.to_string().contains("empty cell at line 2, column 2"),
            "{e}"
        );
        let e = err("1,,2\n3,4,5\n6,7,8\n");
        assert!(
            e.to_string().contains("empty cell at line 1, column 2"),
            "{e}"
        );
    }

    #[test]
    fn other_delimiters_get_a_hint() {
        let e = err("1;2\n3;4\n");
        assert_eq!(
            e,
            InputError::Delimiter {
                line: 1,
                found: ';',
                decimal_comma: false
            }
        );
        assert!(e.to_string().contains("';'"), "{e}");
        let e = err("a;b\n0,5;0,25\n0,25;0,5\n");
        assert!(
            matches!(
                e,
                InputError::Delimiter {
                    line: 2,
                    found: ';',
                    decimal_comma: true
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("decimal"), "{e}");
        let e = err("1|2\n3|4\n");
        assert!(
            matches!(e, InputError::Delimiter { found: '|', .. }),
            "{e:?}"
        );
        // Names with semicolons in a good file are fine.
        assert_eq!(ok("a;x,b\n1,2\n3,4\n").names, names(&["a;x", "b"]));
    }

    #[test]
    fn duplicate_task_names_are_refused() {
        let e = err("a,b,a\n1,2,3\n4,5,6\n7,8,9\n");
        let msg = e.to_string();
        assert!(matches!(e, InputError::NamesMismatch(_)), "{e:?}");
        assert!(
            msg.contains("\"a\" is named twice") && msg.contains("columns 1 and 3"),
            "{msg}"
        );
        let e = err("x,1,2\ny,3,4\nx,5,6\n");
        assert!(e.to_string().contains("lines 1 and 3"), "{e}");
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
        assert_eq!(err("1,2,3\n4,five,6\n"), not_a_number(2, 2, "five"));
        // The column counts the names column.
        assert_eq!(err(",a,b\na,1,2\nb,3,oops\n"), not_a_number(3, 3, "oops"));
        // An empty cell.
        let e = err("1,2\n3,\n");
        assert_eq!(e, not_a_number(2, 2, ""));
        assert!(
            e.to_string().contains("empty cell at line 2, column 2"),
            "{e}"
        );
        // A row with a text first cell in a file without a names column.
        assert_eq!(err("1,2\nx,4\n"), not_a_number(2, 1, "x"));
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
        let alphabet: Vec<char> = "0123456789.,-+eE\t \r\n#abNnIiF\u{feff}é,,\n\n\"\";|"
            .chars()
            .collect();
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..20000 {
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
                    let unique: std::collections::HashSet<&String> = n.iter().collect();
                    assert_eq!(unique.len(), n.len(), "{text:?}");
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
        // Names that need quotes get them, and read back as written.
        let odd = names(&["#a,b", " say \"hi\"", "two\nlines"]);
        for by_row in [false, true] {
            let m = Matrix {
                rows: 3,
                cols: if by_row { 2 } else { 3 },
                data: vec![0.5; if by_row { 6 } else { 9 }],
                names: odd.clone(),
            };
            write_csv(&path, &m).unwrap();
            assert_eq!(read_matrix(&path).unwrap(), m);
        }
        // Names that would not survive are refused.
        for bad in [&["", "c"][..], &["1", "2"]] {
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
