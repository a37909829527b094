//! With the `cuda` feature: compiles every `kernels/*.cu` to PTX (sm_90) with nvcc into OUT_DIR.
//! Without it: nothing (the crate then builds everywhere, with the CPU reference only).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=kernels");
    println!("cargo:rerun-if-env-changed=NVCC");
    println!("cargo:rerun-if-env-changed=TASKGROUP_CUDA_ARCH");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let kernels = Path::new("kernels");
    let nvcc = std::env::var("NVCC").unwrap_or_else(|_| "nvcc".to_string());
    let arch = std::env::var("TASKGROUP_CUDA_ARCH").unwrap_or_else(|_| "sm_90".to_string());
    let mut sources: Vec<PathBuf> = std::fs::read_dir(kernels)
        .expect("gpu/kernels exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cu"))
        .collect();
    sources.sort();
    for src in &sources {
        let stem = src
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 kernel name");
        let ptx = out.join(format!("{stem}.ptx"));
        let status = Command::new(&nvcc)
            .args(["-ptx", &format!("-arch={arch}"), "-I"])
            .arg(kernels)
            .arg(src)
            .arg("-o")
            .arg(&ptx)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("nvcc failed on {} ({s})", src.display()),
            Err(e) => panic!(
                "the `cuda` feature needs nvcc ({nvcc}: {e}). Install it without a GPU with the \
                 recipe in gpu/README.md (nvidia-cuda-nvcc 13.0 from PyPI, then put its bin/ on \
                 PATH or set NVCC), or build without `--features cuda`."
            ),
        }
    }
}
