//! The CUDA context (feature `cuda`): driver probe, module loading from the PTX that build.rs
//! compiled, and a stream. cust errors are formatted with `{:?}`: their Display calls into the
//! driver and panics on a stub library.

use cust::context::Context;
use cust::module::Module;
use cust::stream::{Stream, StreamFlags};

use crate::error::GpuError;

/// Maps a cust error to [`GpuError::Cuda`], naming the call that failed.
pub fn cuda_err(what: &str) -> impl Fn(cust::error::CudaError) -> GpuError + '_ {
    move |e| GpuError::Cuda(format!("{what}: {e:?}"))
}

/// Initialises the driver and checks that a device exists.
pub fn probe() -> Result<(), GpuError> {
    cust::init(cust::CudaFlags::empty())
        .map_err(|e| GpuError::NoDevice(format!("cuInit: {e:?}")))?;
    let n = cust::device::Device::num_devices()
        .map_err(|e| GpuError::NoDevice(format!("cuDeviceGetCount: {e:?}")))?;
    if n == 0 {
        return Err(GpuError::NoDevice("the driver reports 0 devices".into()));
    }
    Ok(())
}

/// A CUDA context on device 0 with one stream; modules are loaded from embedded PTX.
///
/// The stream is a blocking one (`StreamFlags::DEFAULT`): it synchronises with the legacy
/// default stream, on which cust's synchronous copies (`DeviceBuffer::from_slice`,
/// `copy_to`) run, so a kernel launched after an upload sees the uploaded data.
pub struct Gpu {
    /// The stream all kernels of this context run on.
    pub stream: Stream,
    // Dropped last: the context must outlive the stream and every module and buffer.
    _context: Context,
}

impl Gpu {
    /// Probes the driver, then creates a context on device 0 and a blocking stream.
    pub fn new() -> Result<Self, GpuError> {
        probe()?;
        let device = cust::device::Device::get_device(0).map_err(cuda_err("cuDeviceGet"))?;
        let context = Context::new(device).map_err(cuda_err("cuCtxCreate"))?;
        let stream = Stream::new(StreamFlags::DEFAULT, None).map_err(cuda_err("cuStreamCreate"))?;
        Ok(Gpu {
            stream,
            _context: context,
        })
    }

    /// Loads a PTX module (one of the `ptx!` constants).
    pub fn module(&self, ptx: &str) -> Result<Module, GpuError> {
        Module::from_ptx(ptx, &[]).map_err(cuda_err("cuModuleLoadData"))
    }
}

/// The PTX text of `kernels/<name>.cu`, compiled by build.rs (e.g. `ptx!("eigen")`).
#[macro_export]
macro_rules! ptx {
    ($name:literal) => {
        include_str!(concat!(env!("OUT_DIR"), "/", $name, ".ptx"))
    };
}
