//! Helpers the command-line tests share: running the `taskgroup` binary and scratch paths.
// Each test binary includes this module and uses only some of it.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `taskgroup` binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_taskgroup"))
}

/// Runs the binary with `args` and returns its output.
pub fn output(args: &[&str]) -> Output {
    bin().args(args).output().expect("run taskgroup")
}

/// (exit code, stdout, stderr) of a finished run; the code is -1 when a signal ended it.
pub fn parts(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The standard error of a finished run, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the binary and returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    parts(&output(args))
}

/// Runs the binary with `stdin` and returns (exit code, stdout, stderr).
pub fn run_with(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run taskgroup");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    parts(&child.wait_with_output().expect("wait"))
}

/// A path in the temporary directory that is this test process's own: `taskgroup-{pid}-{name}`
/// (the name last, so that its extension is the path's).
pub fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("taskgroup-{}-{name}", std::process::id()))
}

/// A fresh, empty scratch directory named as by [`tmp`].
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = tmp(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// The 12-task example affinity matrix shipped in `examples/`.
pub fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/affinity-12.csv")
}

/// Writes the planted model with `n` tasks (`taskgroup generate planted`) to `out`; `extra`
/// adds options such as `--seed`. Fails the test when the command fails.
pub fn generate_planted(n: usize, extra: &[&str], out: &Path) {
    let n = n.to_string();
    let mut args = vec!["generate", "planted", "--n", &n];
    args.extend_from_slice(extra);
    args.extend(["--output", out.to_str().expect("UTF-8 path")]);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
}

/// Runs the binary and fails the test unless it exits 0; returns its output.
pub fn ok(args: &[&str]) -> Output {
    let out = output(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    out
}

/// Drops every `seconds` field (timings) and passes every float through `round`, so that a
/// snapshot does not depend on the clock or on the last bits of a solve.
pub fn stabilize(v: &mut serde_json::Value, round: &dyn Fn(f64) -> f64) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            m.remove("seconds");
            m.values_mut().for_each(|x| stabilize(x, round));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| stabilize(x, round)),
        Value::Number(n) if n.is_f64() => {
            *v = serde_json::json!(round(n.as_f64().unwrap_or(0.0)));
        }
        _ => {}
    }
}

/// An `n`×`n` matrix of f64 (`vals`, row-major) as a version-1 `.npy` file, written by hand so
/// that the reader is tested against the format rather than against our own writer.
pub fn npy_square(n: usize, vals: &[f64]) -> Vec<u8> {
    assert_eq!(vals.len(), n * n);
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({n}, {n}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    vals.iter()
        .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
    bytes
}
