//! The CUDA backend of batched subset training (feature `cuda`): kernel `train_linear` of
//! `kernels/train.cu`, one block per subset (see that file for the parallel layout).

use cust::memory::{CopyDestination, DeviceBuffer};
use cust::module::Module;
use cust::prelude::*;

use crate::device::{cuda_err, Gpu};
use crate::error::GpuError;
use crate::train::data::TaskData;
use crate::train::{Job, JobResult, LinearSettings};

/// Threads per block (a multiple of 32).
const BLOCK: u32 = 256;

/// A CUDA context with the task data uploaded once; trains batches of jobs.
pub struct CudaTrainer {
    train_x: DeviceBuffer<f32>,
    train_y: DeviceBuffer<f32>,
    train_start: DeviceBuffer<i64>,
    train_rows: DeviceBuffer<i32>,
    val_x: DeviceBuffer<f32>,
    val_y: DeviceBuffer<f32>,
    val_start: DeviceBuffer<i64>,
    val_rows: DeviceBuffer<i32>,
    rows: Vec<(usize, usize)>,
    dim: usize,
    module: Module,
    // Dropped last (declared last): the context must outlive the buffers and the module.
    gpu: Gpu,
}

fn int(v: usize, what: &str) -> Result<i32, GpuError> {
    i32::try_from(v).map_err(|_| {
        GpuError::InvalidInput(format!("{what} = {v} is too large for the CUDA backend"))
    })
}

fn upload<T: cust::memory::DeviceCopy>(v: &[T], what: &str) -> Result<DeviceBuffer<T>, GpuError> {
    DeviceBuffer::from_slice(v).map_err(|e| GpuError::Cuda(format!("upload of {what}: {e:?}")))
}

impl CudaTrainer {
    /// Creates a context on device 0, loads the kernel and uploads every task's data.
    pub fn new(data: &TaskData) -> Result<Self, GpuError> {
        let gpu = Gpu::new()?;
        let module = gpu.module(crate::ptx!("train"))?;
        let d = data.dim();
        int(d, "the feature dimension d")?;
        let (mut tx, mut ty, mut vx, mut vy) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut ts, mut tr, mut vs, mut vr) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut rows = Vec::with_capacity(data.len());
        for t in data.tasks() {
            ts.push(ty.len() as i64);
            vs.push(vy.len() as i64);
            tr.push(int(t.train_y.len(), "training rows of a task")?);
            vr.push(int(t.val_y.len(), "validation rows of a task")?);
            rows.push((t.train_y.len(), t.val_y.len()));
            tx.extend_from_slice(&t.train_x);
            ty.extend_from_slice(&t.train_y);
            vx.extend_from_slice(&t.val_x);
            vy.extend_from_slice(&t.val_y);
        }
        Ok(CudaTrainer {
            train_x: upload(&tx, "training features")?,
            train_y: upload(&ty, "training labels")?,
            train_start: upload(&ts, "row offsets")?,
            train_rows: upload(&tr, "row counts")?,
            val_x: upload(&vx, "validation features")?,
            val_y: upload(&vy, "validation labels")?,
            val_start: upload(&vs, "row offsets")?,
            val_rows: upload(&vr, "row counts")?,
            rows,
            dim: d,
            module,
            gpu,
        })
    }

    /// Trains every job in one kernel launch (one block per job); results in job order.
    pub fn train_jobs(
        &self,
        jobs: &[Job],
        settings: &LinearSettings,
    ) -> Result<Vec<JobResult>, GpuError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let cols = self.dim + 1;
        let mut members: Vec<i32> = Vec::new();
        let mut member_off: Vec<i32> = vec![0];
        let mut scratch_off: Vec<i64> = Vec::with_capacity(jobs.len());
        let mut scratch_len: usize = 0;
        let mut weights: Vec<f64> = Vec::with_capacity(jobs.len() * cols);
        for job in jobs {
            let (mut tr, mut vr) = (0usize, 0usize);
            for &t in &job.sorted {
                let (a, b) =
                    self.rows.get(t).copied().ok_or_else(|| {
                        GpuError::InvalidInput(format!("task {t} is out of range"))
                    })?;
                tr += a;
                vr += b;
                members.push(int(t, "a task index")?);
            }
            member_off.push(int(members.len(), "the number of members in a batch")?);
            scratch_off.push(scratch_len as i64);
            scratch_len += tr.max(vr);
            weights.extend_from_slice(&job.init);
        }
        let grid = u32::try_from(jobs.len())
            .map_err(|_| GpuError::InvalidInput("too many subsets in one batch".into()))?;
        let iterations = int(settings.iterations, "iterations")?;
        let d = int(self.dim, "d")?;
        let members_d = upload(&members, "subset members")?;
        let member_off_d = upload(&member_off, "subset offsets")?;
        let scratch_off_d = upload(&scratch_off, "scratch offsets")?;
        let scratch_d = upload(&vec![0.0f64; scratch_len.max(1)], "scratch")?;
        let weights_d = upload(&weights, "initial weights")?;
        let sums_d = upload(&vec![0.0f64; members.len()], "member sums")?;
        // The uploads above are synchronous copies on the legacy stream, which a kernel on a
        // non-blocking stream does not wait for: finish them first.
        cust::context::CurrentContext::synchronize().map_err(cuda_err("cuCtxSynchronize"))?;
        let stream = &self.gpu.stream;
        let module = &self.module;
        let shared = BLOCK * core::mem::size_of::<f64>() as u32;
        // SAFETY: every pointer is a live device buffer of the length the kernel indexes:
        // member offsets come from `members`, row offsets and counts from the uploaded data,
        // scratch holds max(training, validation) rows per subset and weights (d + 1) per subset.
        unsafe {
            launch!(module.train_linear<<<grid, BLOCK, shared, stream>>>(
                self.train_x.as_device_ptr(),
                self.train_y.as_device_ptr(),
                self.train_start.as_device_ptr(),
                self.train_rows.as_device_ptr(),
                self.val_x.as_device_ptr(),
                self.val_y.as_device_ptr(),
                self.val_start.as_device_ptr(),
                self.val_rows.as_device_ptr(),
                members_d.as_device_ptr(),
                member_off_d.as_device_ptr(),
                scratch_off_d.as_device_ptr(),
                scratch_d.as_device_ptr(),
                weights_d.as_device_ptr(),
                sums_d.as_device_ptr(),
                d,
                settings.model.code(),
                iterations,
                settings.step,
                settings.l2
            ))
            .map_err(cuda_err("launch of train_linear"))?;
        }
        stream
            .synchronize()
            .map_err(cuda_err("train_linear (stream synchronize)"))?;
        let mut w_out = vec![0.0f64; weights.len()];
        weights_d
            .copy_to(&mut w_out[..])
            .map_err(cuda_err("download of weights"))?;
        let mut s_out = vec![0.0f64; members.len()];
        sums_d
            .copy_to(&mut s_out[..])
            .map_err(cuda_err("download of member sums"))?;
        let mut results = Vec::with_capacity(jobs.len());
        for (k, job) in jobs.iter().enumerate() {
            let lo = member_off.get(k).copied().unwrap_or(0) as usize;
            let hi = member_off.get(k + 1).copied().unwrap_or(0) as usize;
            results.push(JobResult {
                sums: s_out.get(lo..hi).unwrap_or(&[]).to_vec(),
                weights: w_out.get(k * cols..(k + 1) * cols).unwrap_or(&[]).to_vec(),
            });
            debug_assert_eq!(hi - lo, job.sorted.len());
        }
        Ok(results)
    }
}
