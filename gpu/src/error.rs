//! Errors of the GPU crate: a bad request, a missing CUDA build or device, or a core error.

use core::fmt;

/// Why a GPU-crate call was refused or failed. Never a panic.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum GpuError {
    /// `Backend::Cuda` was asked for, but this build has no `cuda` feature.
    NotCompiled,
    /// The CUDA driver could not be initialised or there is no device (the driver's message).
    NoDevice(String),
    /// A CUDA call failed after initialisation (the call and the driver's error code).
    Cuda(String),
    /// The inputs are inconsistent (what and why).
    InvalidInput(String),
    /// An error from taskgroup-core.
    Core(taskgroup_core::Error),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::NotCompiled => write!(
                f,
                "the CUDA backend is not compiled in: rebuild with `--features cuda` \
                 (see gpu/README.md), or use the CPU backend"
            ),
            GpuError::NoDevice(why) => write!(f, "no usable CUDA device or driver: {why}"),
            GpuError::Cuda(why) => write!(f, "CUDA error: {why}"),
            GpuError::InvalidInput(why) => write!(f, "invalid input: {why}"),
            GpuError::Core(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for GpuError {}

impl From<taskgroup_core::Error> for GpuError {
    fn from(e: taskgroup_core::Error) -> Self {
        GpuError::Core(e)
    }
}

impl GpuError {
    /// The value of the two `choices` (name, value) that `s` names, or an `InvalidInput` error:
    /// "unknown {kind} "s" (expected `a` or `b`)". Backs the `FromStr` of the option enums.
    pub(crate) fn parse_choice<T: Copy>(
        s: &str,
        kind: &str,
        choices: [(&str, T); 2],
    ) -> Result<T, GpuError> {
        choices
            .iter()
            .find(|(name, _)| *name == s)
            .map(|&(_, v)| v)
            .ok_or_else(|| {
                GpuError::InvalidInput(format!(
                    "unknown {kind} {s:?} (expected `{}` or `{}`)",
                    choices[0].0, choices[1].0
                ))
            })
    }
}
