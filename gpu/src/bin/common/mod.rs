//! Start-up shared by the CUDA benchmark binaries (`gpu-bench`, `gpu-large`).

use taskgroup_gpu::Backend;

/// The arguments `parse` returns, once CUDA is known to work; otherwise prints `{bin}: {error}`
/// on stderr and exits with status 2 (bad arguments) or 1 (no usable CUDA device).
pub fn args_with_cuda<A>(bin: &str, parse: impl FnOnce() -> Result<A, String>) -> A {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{bin}: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = Backend::Cuda.check() {
        eprintln!("{bin}: {e}");
        std::process::exit(1);
    }
    args
}
