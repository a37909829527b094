//! The bytes of an input file: memory-mapped from [`MAP_MIN_BYTES`] up, read into a buffer
//! below. Mapping lets the one parser of each format (`npy::parse`, the text reader) work on
//! the file's bytes without a second, anonymous copy of them: at n = 20 000 an `.npy` affinity
//! is 3.2 GB, and reading it into a `Vec<u8>` before decoding held the file twice. The mapped
//! pages are clean page cache, which the kernel can drop and re-read under memory pressure
//! (they still count in the process's RSS while mapped).

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::Path;

/// Files of at least this many bytes are mapped (64 MiB: below it a read costs little memory,
/// and a mapping's set-up and page faults cost more than they save).
pub const MAP_MIN_BYTES: u64 = 64 << 20;

/// A file's whole contents, mapped or read.
pub enum FileBytes {
    /// A read-only private mapping of the file.
    Mapped(memmap2::Mmap),
    /// The file read into memory.
    Read(Vec<u8>),
}

impl FileBytes {
    /// The contents of `path`: mapped when the file has ≥ `min_map` bytes (and mapping
    /// succeeds), read otherwise.
    pub fn open_with(path: &Path, min_map: u64) -> io::Result<Self> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        if len >= min_map && len > 0 {
            if let Some(m) = map(&file) {
                return Ok(FileBytes::Mapped(m));
            }
        }
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut buf)?;
        Ok(FileBytes::Read(buf))
    }

    /// [`FileBytes::open_with`] with [`MAP_MIN_BYTES`].
    pub fn open(path: &Path) -> io::Result<Self> {
        Self::open_with(path, MAP_MIN_BYTES)
    }

    /// True when the bytes are a mapping.
    pub fn is_mapped(&self) -> bool {
        matches!(self, FileBytes::Mapped(_))
    }
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Read(v) => v,
        }
    }
}

/// A read-only mapping of the whole file; `None` when the system refuses it (the caller reads
/// the file instead).
#[allow(unsafe_code)]
fn map(file: &File) -> Option<memmap2::Mmap> {
    // SAFETY: memmap2's contract is that the file is not modified (or truncated) while mapped,
    // which no code here can ensure against other processes. The readers only read the bytes
    // once, front to back, into their own values, and every value is checked (finite, in
    // range) after decoding, so a concurrent writer can change what is read, as it could with
    // `fs::read`; a truncation can end the process with SIGBUS instead of an error. Input
    // files are not expected to change while taskgroup reads them (numpy's mmap_mode has the
    // same caveat).
    unsafe { memmap2::Mmap::map(file) }.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::temp_path;

    #[test]
    fn mapped_and_read_bytes_are_the_same() {
        let p = temp_path("mapped-bytes.bin");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let m = FileBytes::open_with(&p, 0).unwrap();
        let r = FileBytes::open_with(&p, u64::MAX).unwrap();
        assert!(m.is_mapped() && !r.is_mapped());
        assert_eq!(&m[..], &data[..]);
        assert_eq!(&r[..], &data[..]);
        // An empty file is read (a zero-length mapping is refused on some systems).
        std::fs::write(&p, b"").unwrap();
        let e = FileBytes::open_with(&p, 0).unwrap();
        assert!(!e.is_mapped() && e.is_empty());
        let _ = std::fs::remove_file(&p);
        assert!(FileBytes::open(&p).is_err());
    }

    /// A file above the threshold goes through the mapping in `read_matrix` and parses to the
    /// same matrix as its bytes do.
    #[test]
    fn read_matrix_maps_a_large_npy_and_parses_it_the_same() {
        let n = 2900; // 8·n² + header > 64 MiB
        let data: Vec<f64> = (0..n * n).map(|i| (i % 1009) as f64 * 0.5 - 7.0).collect();
        let p = temp_path("mapped-large.npy");
        crate::npy::write_npy(&p, n, n, &data).unwrap();
        assert!(FileBytes::open(&p).unwrap().is_mapped());
        let m = crate::read_matrix(&p).unwrap();
        assert_eq!((m.rows, m.cols), (n, n));
        assert!(m.data == data);
        let bytes = std::fs::read(&p).unwrap();
        assert!(crate::npy::parse_npy(&bytes).unwrap().data == m.data);
        let _ = std::fs::remove_file(&p);
    }
}
