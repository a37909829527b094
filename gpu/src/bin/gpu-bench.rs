//! `gpu-bench`: times the batched SDP work on the CPU (core, one problem after another) and on
//! CUDA, and prints one Markdown table (needs the `cuda` feature; run on a GPU machine, e.g. by
//! gpu/device-check.sh). Usage: `gpu-bench [--budget-s SECONDS] [--sizes 128,512,2048]
//! [--batches 1,16,64] [--train SUBSETS]`. With `--train`, it also prints the batched
//! subset-training table (`train::bench::train_table`, d = 64) for that many subsets. The
//! library returns data; all the printing is here.
//!
//! Rows: the batched projection onto C1 (the solver's expensive step) for every n and B, and
//! the whole solve (`ProjectionMethod::Full`, planted model, k = 3) for n = 128. CPU times for
//! B > 4 are extrapolated from the first 4 problems (the CPU backend is sequential: time is
//! linear in B); cases whose estimated time exceeds the remaining budget are skipped and say so.

mod common;

use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use taskgroup_core::random::normal;
use taskgroup_core::{Affinity, ProjectionMethod, SolverSettings};
use taskgroup_eval::synthetic::PlantedModel;
use taskgroup_gpu::solve::cuda::SdpDevice;
use taskgroup_gpu::train::bench::train_table;
use taskgroup_gpu::{project_batch, solve_batch, Backend, BatchProblem, GpuError};

/// Problems the CPU runs before its time is extrapolated to the whole batch.
const CPU_SAMPLE: usize = 4;

struct Args {
    budget_s: f64,
    sizes: Vec<usize>,
    batches: Vec<usize>,
    /// Subsets for the training table (`--train`); none by default.
    train: Option<usize>,
}

fn parse_list(s: &str) -> Result<Vec<usize>, String> {
    s.split(',')
        .map(|x| x.trim().parse::<usize>().map_err(|e| format!("{x:?}: {e}")))
        .collect()
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        budget_s: 150.0,
        sizes: vec![128, 512, 2048],
        batches: vec![1, 16, 64],
        train: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let val = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--budget-s" => a.budget_s = val.parse().map_err(|e| format!("--budget-s: {e}"))?,
            "--sizes" => a.sizes = parse_list(&val)?,
            "--batches" => a.batches = parse_list(&val)?,
            "--train" => a.train = Some(val.parse().map_err(|e| format!("--train: {e}"))?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

/// Symmetric matrices shaped like ADMM's M = Z − U + C/ρ near a solution: a rank-3 block signal
/// plus noise, scaled by 1/n.
fn matrices(n: usize, b: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ms = vec![0.0; b * n * n];
    for m in ms.chunks_exact_mut(n * n) {
        for i in 0..n {
            for j in i..n {
                let block = if i * 3 / n == j * 3 / n { 3.0 } else { 0.0 };
                let x = (block + 0.3 * normal(&mut rng)) / n as f64;
                m[i * n + j] = x;
                m[j * n + i] = x;
            }
        }
    }
    ms
}

fn fmt_s(t: Option<f64>, estimated: bool) -> String {
    match t {
        Some(t) if estimated => format!("≈{t:.3}"),
        Some(t) => format!("{t:.3}"),
        None => "skipped".into(),
    }
}

/// Times the batched projection and solve on CPU and CUDA and prints one Markdown table.
fn print_solve_table(args: &Args) -> Result<(), GpuError> {
    let started = Instant::now();
    let left = |started: &Instant| args.budget_s - started.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let dev = SdpDevice::new()?;
    let t_ctx = t0.elapsed().as_secs_f64();
    // Warm-up: load the module's functions and the first allocation.
    dev.project(8, &matrices(8, 1, 0), &[3])?;
    println!("| work | n | B | CPU (s) | CUDA (s) | CPU/CUDA | max abs diff |");
    println!("|---|---|---|---|---|---|---|");
    let mut per_n_gpu: Vec<(usize, f64)> = Vec::new();
    for &n in &args.sizes {
        let mut cpu_one: Option<f64> = None;
        for &b in &args.batches {
            let ks = vec![3usize.min(n); b];
            // Estimates before running: CUDA from the last measured size (n³ per block, B
            // blocks in parallel up to the number of SMs), CPU from its per-problem time.
            let est_gpu = per_n_gpu
                .last()
                .map(|&(m, t)| t * (n as f64 / m as f64).powi(3) * (b as f64 / 132.0).max(1.0));
            if est_gpu.is_some_and(|e| e > left(&started)) {
                println!(
                    "| projection | {n} | {b} | – | skipped (est. {:.0} s) | | |",
                    est_gpu.unwrap_or(0.0)
                );
                continue;
            }
            let ms = matrices(n, b, 7 + n as u64);
            let t0 = Instant::now();
            let gpu = dev.project(n, &ms, &ks)?;
            let t_gpu = t0.elapsed().as_secs_f64();
            if b == 1 || per_n_gpu.last().map(|&(m, _)| m) != Some(n) {
                per_n_gpu.push((n, t_gpu / (b as f64 / 132.0).max(1.0)));
            }
            // CPU: up to CPU_SAMPLE problems, extrapolated.
            let sample = b.min(CPU_SAMPLE);
            let est_cpu = cpu_one.map(|t| t * sample as f64);
            let (t_cpu, diff) = if est_cpu.is_some_and(|e| e > left(&started)) {
                (cpu_one.map(|t| t * b as f64), None)
            } else {
                let nn = n * n;
                let t0 = Instant::now();
                let cpu = project_batch(Backend::Cpu, &ms[..sample * nn], n, &ks[..sample])?;
                let t = t0.elapsed().as_secs_f64() / sample as f64;
                cpu_one = Some(t);
                let d = cpu
                    .iter()
                    .zip(&gpu)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                (Some(t * b as f64), Some(d))
            };
            let ratio = t_cpu.map_or(String::new(), |c| format!("{:.1}", c / t_gpu));
            println!(
                "| projection | {n} | {b} | {} | {t_gpu:.3} | {ratio} | {} |",
                fmt_s(t_cpu, b > sample),
                diff.map_or("–".into(), |d| format!("{d:.1e}"))
            );
        }
    }
    // Whole solves at n = 128.
    let n = 128;
    let mut model = PlantedModel::paper(1);
    model.sizes = vec![n - 2 * (n / 3), n / 3, n / 3];
    let settings = SolverSettings {
        projection: ProjectionMethod::Full,
        ..SolverSettings::default()
    };
    let mut gpu_one: Option<f64> = None;
    for &b in &args.batches {
        let ts: Vec<Affinity> = (0..b)
            .map(|i| model.sample(100 + i as u64))
            .collect::<Result<_, _>>()?;
        let problems: Vec<BatchProblem<'_>> = ts
            .iter()
            .map(|t| BatchProblem { affinity: t, k: 3 })
            .collect();
        if gpu_one.is_some_and(|t| t * (b as f64 / 132.0).max(1.0) > left(&started)) {
            println!("| solve (planted, k = 3) | {n} | {b} | – | skipped (budget) | | |");
            continue;
        }
        let t0 = Instant::now();
        let gpu = solve_batch(Backend::Cuda, &problems, &settings)?;
        let t_gpu = t0.elapsed().as_secs_f64();
        gpu_one.get_or_insert(t_gpu);
        let sample = b.min(CPU_SAMPLE);
        let t0 = Instant::now();
        let cpu = solve_batch(Backend::Cpu, &problems[..sample], &settings)?;
        let t_cpu = t0.elapsed().as_secs_f64() / sample as f64 * b as f64;
        let mut diff = 0.0f64;
        let mut iters = Vec::new();
        for (c, g) in cpu.iter().zip(&gpu) {
            if let (Ok(c), Ok(g)) = (c, g) {
                diff = diff.max((c.objective - g.objective).abs() / c.objective.abs());
                iters.push(g.iterations);
            }
        }
        println!(
            "| solve (planted, k = 3; {} it) | {n} | {b} | {} | {t_gpu:.3} | {:.1} | {diff:.1e} (rel. objective) |",
            iters.first().copied().unwrap_or(0),
            fmt_s(Some(t_cpu), b > sample),
            t_cpu / t_gpu
        );
    }
    println!();
    println!(
        "CUDA times include uploads and downloads, not the context creation ({t_ctx:.2} s). \
         ≈: CPU time extrapolated from {CPU_SAMPLE} problems (sequential)."
    );
    Ok(())
}

fn main() {
    let args = common::args_with_cuda("gpu-bench", parse_args);
    if let Err(e) = print_solve_table(&args) {
        eprintln!("gpu-bench: {e}");
        std::process::exit(1);
    }
    if let Some(subsets) = args.train {
        match train_table(subsets, 64) {
            Ok(table) => print!("\n{table}"),
            Err(e) => {
                eprintln!("gpu-bench: {e}");
                std::process::exit(1);
            }
        }
    }
}
