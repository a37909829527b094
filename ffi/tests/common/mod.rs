//! Helpers of the integration tests: where the freshly built library and the header are, and
//! compiling C/C++ programs against them with the system compilers.

// Each test binary uses only some of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the workspace).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ffi/ has a parent")
        .to_path_buf()
}

/// The folder with `include/taskgroup.h`.
pub fn include_dir() -> PathBuf {
    repo_root().join("include")
}

/// The folder holding the `libtaskgroup.so`/`.a` that cargo built for this test run: the
/// test binary lives in `target/<profile>/deps`, next to the library's own outputs.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("test executable folder").to_path_buf();
    for dir in [
        deps.clone(),
        deps.parent().map(Path::to_path_buf).unwrap_or_default(),
    ] {
        if dir.join("libtaskgroup.so").is_file() {
            return dir;
        }
    }
    panic!("libtaskgroup.so not found next to {}", exe.display());
}

/// A scratch folder for build outputs of this test binary.
pub fn out_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("ffi-tests")
        .join(name);
    std::fs::create_dir_all(&d).expect("create scratch folder");
    d
}

/// Runs a command; panics with its output when it fails.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Compiles `sources` with `compiler` and the warning flags of CI, linking the shared
/// libtaskgroup (with an rpath) or, when `static_link`, libtaskgroup.a.
pub fn compile(compiler: &str, std: &str, sources: &[PathBuf], exe: &Path, static_link: bool) {
    let lib = lib_dir();
    let mut cmd = Command::new(compiler);
    cmd.arg(format!("-std={std}"))
        .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg("-I")
        .arg(include_dir())
        .args(sources)
        .arg("-o")
        .arg(exe);
    if static_link {
        cmd.arg(lib.join("libtaskgroup.a"))
            .args(["-lpthread", "-ldl", "-lm"]);
    } else {
        cmd.arg("-L")
            .arg(&lib)
            .arg("-ltaskgroup")
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .arg("-lm");
    }
    run(&mut cmd);
}

/// The exported function names declared in `include/taskgroup.h`.
pub fn header_functions() -> Vec<String> {
    let text = std::fs::read_to_string(include_dir().join("taskgroup.h")).expect("read header");
    let mut names = Vec::new();
    for line in text.lines() {
        // Declarations start at column 0 with a type; comments, macros and fields do not.
        if line.starts_with([' ', '/', '*', '#', '}']) || line.starts_with("typedef") {
            continue;
        }
        let Some(paren) = line.find('(') else {
            continue;
        };
        let before = &line[..paren];
        let name = before.rsplit([' ', '*']).next().unwrap_or("");
        if name.starts_with("tg_") || name.starts_with("taskgroup_") {
            names.push(name.to_string());
        }
    }
    names.sort();
    names
}
