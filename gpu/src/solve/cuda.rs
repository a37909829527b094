//! The CUDA backend of [`crate::solve`] (feature `cuda`): drives the kernels of
//! `kernels/sdp.cu` (one block per problem; see that file). The start and ρ₀ are core's
//! (`taskgroup_core::sdp::{barycentre, initial_rho}`); the device's `sdp_update` runs core's
//! `AdmmState::step`/`decide` arithmetic (tested against core through `kernels/emu/`). The host launches
//! [`CHECK_EVERY`](crate::solve::CHECK_EVERY) iterations (four kernels each) on one stream and
//! then reads the problems' states: there is no host round trip inside those iterations.

use cust::function::Function;
use cust::memory::{CopyDestination, DeviceBuffer, DeviceCopy};
use cust::module::Module;
use cust::prelude::*;

use taskgroup_core::sdp::{barycentre, initial_rho};
use taskgroup_core::{SolverSettings, SolverStatus};

use crate::device::{cuda_err, Gpu};
use crate::error::GpuError;
use crate::solve::{DeviceFinal, DeviceJob, CHECK_EVERY};

/// Kernel state codes (`SDP_*` in sdp.cu).
const RUNNING: i32 = 0;
const CONVERGED: i32 = 1;
const MAX_ITERATIONS: i32 = 2;

/// Threads per block for matrices of size n (a multiple of 32, at most 1024).
pub fn threads_for(n: usize) -> u32 {
    match n {
        0..=48 => 64,
        49..=128 => 256,
        129..=256 => 512,
        _ => 1024,
    }
}

/// Dynamic shared memory (bytes) of each kernel for size n: (prepare/update, jacobi, reassemble).
pub fn shared_bytes(n: usize) -> (u32, u32, u32) {
    let m = n + (n & 1);
    let pw = n.max(1).next_power_of_two();
    let red = 32 * 8;
    (
        red as u32,
        (red + 2 * (m / 2) * 8) as u32,
        (8 + pw * 8 + n * 2) as u32,
    )
}

fn int(v: usize, what: &str) -> Result<i32, GpuError> {
    i32::try_from(v).map_err(|_| {
        GpuError::InvalidInput(format!("{what} = {v} is too large for the CUDA backend"))
    })
}

fn upload<T: DeviceCopy>(v: &[T], what: &str) -> Result<DeviceBuffer<T>, GpuError> {
    DeviceBuffer::from_slice(v).map_err(|e| GpuError::Cuda(format!("upload of {what}: {e:?}")))
}

fn download<T: DeviceCopy + Default + Clone>(
    d: &DeviceBuffer<T>,
    what: &str,
) -> Result<Vec<T>, GpuError> {
    let mut v = vec![T::default(); d.len()];
    d.copy_to(&mut v[..])
        .map_err(|e| GpuError::Cuda(format!("download of {what}: {e:?}")))?;
    Ok(v)
}

/// The device buffers of one batch of B problems of size n.
struct Batch {
    c: DeviceBuffer<f64>,
    z: DeviceBuffer<f64>,
    u: DeviceBuffer<f64>,
    x: DeviceBuffer<f64>,
    a: DeviceBuffer<f64>,
    vt: DeviceBuffer<f64>,
    rowmean: DeviceBuffer<f64>,
    state: DeviceBuffer<i32>,
    sweeps: DeviceBuffer<i32>,
    kk: DeviceBuffer<i32>,
    iters: DeviceBuffer<i32>,
    rp: DeviceBuffer<f64>,
    rd: DeviceBuffer<f64>,
    rho: DeviceBuffer<f64>,
    rho0: DeviceBuffer<f64>,
    b: u32,
    n: i32,
}

/// A CUDA context with the `sdp` module loaded.
pub struct SdpDevice {
    module: Module,
    // Dropped last (declared last): the context must outlive the module and every buffer.
    gpu: Gpu,
}

impl SdpDevice {
    /// Creates a context on device 0 and loads the kernels (checks the driver first).
    pub fn new() -> Result<Self, GpuError> {
        let gpu = Gpu::new()?;
        let module = gpu.module(crate::ptx!("sdp"))?;
        Ok(SdpDevice { module, gpu })
    }

    fn function(&self, name: &str) -> Result<Function<'_>, GpuError> {
        self.module
            .get_function(name)
            .map_err(|e| GpuError::Cuda(format!("kernel {name} not found: {e:?}")))
    }

    /// Uploads a batch: C per problem, Z = X = `start` per problem, U = 0, ρ per problem.
    fn batch(
        &self,
        n: usize,
        c: &[f64],
        start: &[f64],
        ks: &[usize],
        rho: &[f64],
    ) -> Result<Batch, GpuError> {
        let b = ks.len();
        let ni = int(n, "n")?;
        let grid = u32::try_from(b)
            .map_err(|_| GpuError::InvalidInput("too many problems in one batch".into()))?;
        let kk: Vec<i32> = ks.iter().map(|&k| int(k, "k")).collect::<Result<_, _>>()?;
        let zeros = vec![0.0f64; c.len()];
        let batch = Batch {
            c: upload(c, "C")?,
            z: upload(start, "Z")?,
            u: upload(&zeros, "U")?,
            x: upload(start, "X")?,
            a: upload(&zeros, "work matrices")?,
            vt: upload(&zeros, "eigenvectors")?,
            rowmean: upload(&vec![0.0f64; b * n], "row means")?,
            state: upload(&vec![RUNNING; b], "states")?,
            sweeps: upload(&vec![0i32; b], "sweep counts")?,
            kk: upload(&kk, "k")?,
            iters: upload(&vec![0i32; b], "iteration counts")?,
            rp: upload(&vec![f64::INFINITY; b], "primal residuals")?,
            rd: upload(&vec![f64::INFINITY; b], "dual residuals")?,
            rho: upload(rho, "rho")?,
            rho0: upload(rho, "rho0")?,
            b: grid,
            n: ni,
        };
        // The uploads are synchronous copies on the legacy stream: finish them before any
        // kernel on our stream reads the buffers.
        cust::context::CurrentContext::synchronize().map_err(cuda_err("cuCtxSynchronize"))?;
        Ok(batch)
    }

    /// Launches the projection kernels (prepare, Jacobi, reassemble) once on the batch.
    fn launch_projection(&self, bt: &Batch) -> Result<(), GpuError> {
        let n = bt.n as usize;
        let threads = threads_for(n);
        let (sh_red, sh_jac, sh_re) = shared_bytes(n);
        let stream = &self.gpu.stream;
        let prepare = self.function("sdp_prepare")?;
        let jacobi = self.function("sdp_jacobi")?;
        let reassemble = self.function("sdp_reassemble")?;
        let grid = bt.b;
        // SAFETY: every pointer is a live device buffer: C, Z, U, A, Vt, X hold B·n² values,
        // rowmean B·n, the per-problem arrays B values; the kernels index exactly these ranges
        // (problem blockIdx.x < B), and the shared sizes are those documented in sdp.cu.
        unsafe {
            launch!(prepare<<<grid, threads, sh_red, stream>>>(
                bt.c.as_device_ptr(),
                bt.z.as_device_ptr(),
                bt.u.as_device_ptr(),
                bt.a.as_device_ptr(),
                bt.rowmean.as_device_ptr(),
                bt.state.as_device_ptr(),
                bt.rho.as_device_ptr(),
                bt.n
            ))
            .map_err(cuda_err("launch of sdp_prepare"))?;
            launch!(jacobi<<<grid, threads, sh_jac, stream>>>(
                bt.a.as_device_ptr(),
                bt.vt.as_device_ptr(),
                bt.state.as_device_ptr(),
                bt.sweeps.as_device_ptr(),
                bt.n
            ))
            .map_err(cuda_err("launch of sdp_jacobi"))?;
            launch!(reassemble<<<grid, threads, sh_re, stream>>>(
                bt.a.as_device_ptr(),
                bt.vt.as_device_ptr(),
                bt.x.as_device_ptr(),
                bt.state.as_device_ptr(),
                bt.kk.as_device_ptr(),
                bt.n
            ))
            .map_err(cuda_err("launch of sdp_reassemble"))?;
        }
        Ok(())
    }

    /// Projects each matrix of `ms` (B·n² values, symmetric) onto C1 with its k.
    pub fn project(&self, n: usize, ms: &[f64], ks: &[usize]) -> Result<Vec<f64>, GpuError> {
        if ks.is_empty() {
            return Ok(Vec::new());
        }
        let zeros = vec![0.0f64; ms.len()];
        let bt = self.batch(n, ms, &zeros, ks, &vec![1.0; ks.len()])?;
        self.launch_projection(&bt)?;
        self.gpu
            .stream
            .synchronize()
            .map_err(cuda_err("projection (stream synchronize)"))?;
        let state = download(&bt.state, "states")?;
        if state.iter().any(|&s| s != RUNNING) {
            return Err(GpuError::InvalidInput(
                "the Jacobi eigensolver failed (non-finite values or no convergence)".into(),
            ));
        }
        download(&bt.x, "X")
    }

    /// Runs core's ADMM iteration (cold start) on every job until each has converged, failed or
    /// used `settings.max_iterations`.
    pub fn solve(
        &self,
        n: usize,
        jobs: &[DeviceJob<'_>],
        settings: &SolverSettings,
    ) -> Result<Vec<DeviceFinal>, GpuError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let nn = n * n;
        let mut c = Vec::with_capacity(jobs.len() * nn);
        let mut start = Vec::with_capacity(jobs.len() * nn);
        let mut ks = Vec::with_capacity(jobs.len());
        let mut rho = Vec::with_capacity(jobs.len());
        for j in jobs {
            if j.c.len() != nn {
                return Err(GpuError::InvalidInput("C is not n×n".into()));
            }
            c.extend_from_slice(j.c);
            start.extend_from_slice(&barycentre(n, j.k));
            ks.push(j.k);
            rho.push(initial_rho(settings, j.k));
        }
        let max_it = int(settings.max_iterations, "max_iterations")?;
        let adapt = int(settings.adapt_rho_every, "adapt_rho_every")?;
        let bt = self.batch(n, &c, &start, &ks, &rho)?;
        let threads = threads_for(n);
        let (sh_red, _, _) = shared_bytes(n);
        let update = self.function("sdp_update")?;
        let stream = &self.gpu.stream;
        let grid = bt.b;
        let mut done = 0usize;
        while done < settings.max_iterations {
            let chunk = CHECK_EVERY.min(settings.max_iterations - done);
            for _ in 0..chunk {
                self.launch_projection(&bt)?;
                // SAFETY: as in `launch_projection`; X, Z, U hold B·n² values, the
                // per-problem arrays B values.
                unsafe {
                    launch!(update<<<grid, threads, sh_red, stream>>>(
                        bt.x.as_device_ptr(),
                        bt.z.as_device_ptr(),
                        bt.u.as_device_ptr(),
                        bt.state.as_device_ptr(),
                        bt.iters.as_device_ptr(),
                        bt.rp.as_device_ptr(),
                        bt.rd.as_device_ptr(),
                        bt.rho.as_device_ptr(),
                        bt.rho0.as_device_ptr(),
                        bt.n,
                        settings.relaxation,
                        settings.tolerance,
                        adapt,
                        settings.rho_balance,
                        max_it
                    ))
                    .map_err(cuda_err("launch of sdp_update"))?;
                }
            }
            done += chunk;
            stream
                .synchronize()
                .map_err(cuda_err("ADMM iterations (stream synchronize)"))?;
            let state = download(&bt.state, "states")?;
            if state.iter().all(|&s| s != RUNNING) {
                break;
            }
        }
        let state = download(&bt.state, "states")?;
        let iters = download(&bt.iters, "iteration counts")?;
        let rp = download(&bt.rp, "primal residuals")?;
        let rd = download(&bt.rd, "dual residuals")?;
        let rho = download(&bt.rho, "rho")?;
        let x = download(&bt.x, "X")?;
        let u = download(&bt.u, "U")?;
        let mut out = Vec::with_capacity(jobs.len());
        for (i, ((xs, us), &s)) in x
            .chunks_exact(nn)
            .zip(u.chunks_exact(nn))
            .zip(&state)
            .enumerate()
        {
            let status = match s {
                CONVERGED => SolverStatus::Converged,
                MAX_ITERATIONS | RUNNING => SolverStatus::MaxIterations,
                _ => SolverStatus::NumericalError,
            };
            out.push(DeviceFinal {
                status,
                x: xs.to_vec(),
                u: us.to_vec(),
                rho: rho.get(i).copied().unwrap_or(f64::NAN),
                primal_residual: rp.get(i).copied().unwrap_or(f64::NAN),
                dual_residual: rd.get(i).copied().unwrap_or(f64::NAN),
                iterations: iters.get(i).map_or(0, |&v| v.max(0) as usize),
            });
        }
        Ok(out)
    }
}
