//! The choice of where batched work runs: the CPU reference or a CUDA device.

use core::fmt;
use core::str::FromStr;

use crate::error::GpuError;

/// Where batched work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The CPU reference implementation (always available; the default).
    #[default]
    Cpu,
    /// A CUDA device through cust (needs the `cuda` feature, a driver and a device).
    Cuda,
}

impl Backend {
    /// A short lower-case name (`cpu`, `cuda`).
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Cuda => "cuda",
        }
    }

    /// True when this build contains the CUDA backend (the `cuda` feature).
    pub fn cuda_compiled() -> bool {
        cfg!(feature = "cuda")
    }

    /// Checks that the backend can run here: the CPU always can; CUDA needs the feature, an
    /// initialisable driver and at least one device (checked without any cust call that panics).
    pub fn check(self) -> Result<(), GpuError> {
        match self {
            Backend::Cpu => Ok(()),
            Backend::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    crate::device::probe()
                }
                #[cfg(not(feature = "cuda"))]
                {
                    Err(GpuError::NotCompiled)
                }
            }
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = GpuError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GpuError::parse_choice(
            s,
            "backend",
            [("cpu", Backend::Cpu), ("cuda", Backend::Cuda)],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names() {
        assert_eq!("cpu".parse::<Backend>().unwrap(), Backend::Cpu);
        assert_eq!("cuda".parse::<Backend>().unwrap(), Backend::Cuda);
        assert!("gpu".parse::<Backend>().is_err());
        assert_eq!(Backend::Cuda.to_string(), "cuda");
        assert!(Backend::Cpu.check().is_ok());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_is_refused_without_the_feature() {
        assert_eq!(Backend::Cuda.check(), Err(GpuError::NotCompiled));
        assert!(GpuError::NotCompiled
            .to_string()
            .contains("--features cuda"));
    }
}
