//! The CUDA block operator of the large-n path (feature `cuda`): C uploaded once (f64 or f32)
//! and kept on the device; each [`BlockOp::apply`] uploads the block X (n×q, column-major),
//! launches `fac_gemm_f64`/`fac_gemm_f32` of `kernels/factored.cu` once and downloads C·X.
//! Core's factored path drives it (see [`crate::solve::large`]); there is no solver logic here.
//!
//! [`BlockOp::apply`] cannot fail: on a CUDA error the op writes NaN into `out` (core then ends
//! its solve with a numerical-error status or a non-finite value) and keeps the first error for
//! [`CudaOp::take_error`], which [`crate::group_large`] turns into its `Err`.

use cust::function::Function;
use cust::memory::{CopyDestination, DeviceBuffer};
use cust::module::Module;
use cust::prelude::*;

use taskgroup_core::sdp::BlockOp;

use crate::device::{cuda_err, Gpu};
use crate::error::GpuError;
use crate::solve::large::{Storage, FAC_BM, FAC_BN, FAC_SHARED_BYTES, FAC_THREADS};
use taskgroup_core::sdp::f32_storage_error;

/// C on the device, stored as f64 or f32.
enum DeviceC {
    F64(DeviceBuffer<f64>),
    F32(DeviceBuffer<f32>),
}

/// An element type of C on the device, with the kernel of factored.cu that reads it.
trait GemmElement: cust::memory::DeviceCopy {
    /// The name of the GEMM kernel whose C is an array of Self.
    const KERNEL: &'static str;
}

impl GemmElement for f64 {
    const KERNEL: &'static str = "fac_gemm_f64";
}

impl GemmElement for f32 {
    const KERNEL: &'static str = "fac_gemm_f32";
}

/// The CUDA [`BlockOp`] of a symmetric row-major n×n C (see the module docs).
pub struct CudaOp {
    c: DeviceC,
    n: usize,
    error: f64,
    failed: Option<GpuError>,
    /// Products launched (for diagnostics).
    pub launches: usize,
    module: Module,
    // Dropped last (declared last): the context must outlive the module and every buffer.
    gpu: Gpu,
}

impl CudaOp {
    /// Creates a context, loads the kernels and uploads `c` (row-major n×n) as `storage`.
    /// Errors: `c.len() != n²`, n beyond the kernels' 32-bit sizes, no device, a failed upload
    /// (e.g. C larger than the device memory).
    pub fn new(c: &[f64], n: usize, storage: Storage) -> Result<Self, GpuError> {
        if n == 0 || n.checked_mul(n) != Some(c.len()) {
            return Err(GpuError::InvalidInput("C is not n×n".into()));
        }
        if i32::try_from(n).is_err() {
            return Err(GpuError::InvalidInput(format!(
                "n = {n} is too large for the CUDA kernels"
            )));
        }
        let gpu = Gpu::new()?;
        let module = gpu.module(crate::ptx!("factored"))?;
        let (dc, error) = match storage {
            Storage::F64 => (
                DeviceC::F64(DeviceBuffer::from_slice(c).map_err(cuda_err("upload of C (f64)"))?),
                0.0,
            ),
            Storage::F32 => {
                let lowered: Vec<f32> = c.iter().map(|&x| x as f32).collect();
                (
                    DeviceC::F32(
                        DeviceBuffer::from_slice(&lowered)
                            .map_err(cuda_err("upload of C (f32)"))?,
                    ),
                    f32_storage_error(c),
                )
            }
        };
        cust::context::CurrentContext::synchronize().map_err(cuda_err("cuCtxSynchronize"))?;
        Ok(CudaOp {
            c: dc,
            n,
            error,
            failed: None,
            launches: 0,
            module,
            gpu,
        })
    }

    /// The first CUDA error of the products so far, if any (and clears it).
    pub fn take_error(&mut self) -> Option<GpuError> {
        self.failed.take()
    }

    fn function(&self, name: &str) -> Result<Function<'_>, GpuError> {
        self.module
            .get_function(name)
            .map_err(|e| GpuError::Cuda(format!("kernel {name} not found: {e:?}")))
    }

    /// Launches T's GEMM kernel on the stream: dout = c·dx with c the n×n C (n = `ni`) and dx,
    /// dout n×q (q = `qi`).
    fn launch_gemm<T: GemmElement>(
        &self,
        c: &DeviceBuffer<T>,
        dx: &DeviceBuffer<f64>,
        dout: &DeviceBuffer<f64>,
        grid: u32,
        ni: i32,
        qi: i32,
    ) -> Result<(), GpuError> {
        let name = T::KERNEL;
        let f = self.function(name)?;
        let stream = &self.gpu.stream;
        // SAFETY: c holds n² T (uploaded in `new`), the element type of kernel T::KERNEL; dx and
        // dout hold n·q f64 (checked by `try_apply`); the kernel reads
        // C[u·n + v] and x[j·n + v] and writes out[j·n + u] only for u, v < n, j < q, with the
        // launch shape and shared size documented in factored.cu.
        unsafe {
            launch!(f<<<grid, FAC_THREADS, FAC_SHARED_BYTES, stream>>>(
                c.as_device_ptr(),
                dx.as_device_ptr(),
                dout.as_device_ptr(),
                ni,
                qi
            ))
            .map_err(|e| GpuError::Cuda(format!("launch of {name}: {e:?}")))?;
        }
        Ok(())
    }

    /// out = C·x on the device (x column-major n×q).
    fn try_apply(&mut self, x: &[f64], q: usize, out: &mut [f64]) -> Result<(), GpuError> {
        let n = self.n;
        let len = n
            .checked_mul(q)
            .filter(|&l| l <= x.len() && l <= out.len())
            .ok_or_else(|| GpuError::InvalidInput("block sizes do not match n×q".into()))?;
        let qi = i32::try_from(q)
            .map_err(|_| GpuError::InvalidInput(format!("q = {q} is too large")))?;
        let ni = i32::try_from(n).map_err(|_| GpuError::InvalidInput("n too large".into()))?;
        let blocks = n.div_ceil(FAC_BM) * q.div_ceil(FAC_BN);
        let grid = u32::try_from(blocks)
            .map_err(|_| GpuError::InvalidInput(format!("{blocks} blocks are too many")))?;
        let dx = DeviceBuffer::from_slice(&x[..len]).map_err(cuda_err("upload of X"))?;
        let dout = DeviceBuffer::from_slice(&out[..len]).map_err(cuda_err("output buffer"))?;
        // The copies above are synchronous on the legacy stream, which our blocking stream
        // waits for.
        match &self.c {
            DeviceC::F64(c) => self.launch_gemm(c, &dx, &dout, grid, ni, qi)?,
            DeviceC::F32(c) => self.launch_gemm(c, &dx, &dout, grid, ni, qi)?,
        }
        let stream = &self.gpu.stream;
        stream
            .synchronize()
            .map_err(cuda_err("fac_gemm (stream synchronize)"))?;
        self.launches += 1;
        dout.copy_to(&mut out[..len])
            .map_err(cuda_err("download of C·X"))?;
        Ok(())
    }
}

impl BlockOp for CudaOp {
    fn n(&self) -> usize {
        self.n
    }
    fn apply(&mut self, x: &[f64], q: usize, out: &mut [f64]) {
        if self.failed.is_some() {
            out.iter_mut().for_each(|v| *v = f64::NAN);
            return;
        }
        if let Err(e) = self.try_apply(x, q, out) {
            out.iter_mut().for_each(|v| *v = f64::NAN);
            self.failed = Some(e);
        }
    }
    fn storage_error(&self) -> f64 {
        self.error
    }
}
