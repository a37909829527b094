//! `gpu-large`: times the large-n path (core's factored path, products on the device,
//! `taskgroup_gpu::group_large`) on CUDA with C stored as f64 and f32, and on the CPU (core's
//! own products) for n up to `--cpu-max-n`, in the same run; prints one Markdown table and the
//! f32-against-f64 accuracy (needs the `cuda` feature; run by gpu/device-check.sh).
//!
//! Usage: `gpu-large [--sizes 10000,50000] [--k 8] [--seed 1] [--cpu-max-n 10000]
//! [--storage f64,f32]`.
//!
//! Instance: bench/large.py's model (`taskgroup generate large`: k planted groups of sizes
//! ∝ 2..k+1, per-task offsets in [−5, 5), block means 1 inside and U[0, 0.5) across, noise
//! sd 0.5), drawn by `eval::synthetic::LargeModel`, but every row's noise drawn from its own
//! seeded stream so that the 16 cores of a device machine generate n = 50 000 (2.5·10⁹
//! entries) in seconds; so the matrices are not those of `eval::synthetic::large_offsets` for
//! the same seed. "solve s" is `group_large` as a caller
//! sees it: centring C on the host, the upload, the whole factored path (its rounding and
//! block values on the host), the certificate.

mod common;

use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use taskgroup_core::random::{normal, stream_seed};
use taskgroup_core::{Affinity, GroupResult, GroupSettings, Partition};
use taskgroup_eval::synthetic::LargeModel;
use taskgroup_gpu::{group_large, Backend, Storage};

struct Args {
    sizes: Vec<usize>,
    k: usize,
    seed: u64,
    cpu_max_n: usize,
    storage: Vec<Storage>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        sizes: vec![10_000, 50_000],
        k: 8,
        seed: 1,
        cpu_max_n: 10_000,
        storage: vec![Storage::F64, Storage::F32],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let val = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|e| format!("{flag}: {e}"))
        };
        match flag.as_str() {
            "--sizes" => a.sizes = val.split(',').map(num).collect::<Result<_, _>>()?,
            "--k" => a.k = num(&val)?,
            "--seed" => a.seed = num(&val)? as u64,
            "--cpu-max-n" => a.cpu_max_n = num(&val)?,
            "--storage" => {
                a.storage = val
                    .split(',')
                    .map(|s| {
                        Storage::parse(s.trim()).ok_or_else(|| format!("--storage: unknown {s:?}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

/// The instance (row-major n×n) and its planted labels; rows in parallel, one stream each.
fn instance(n: usize, groups: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
    let sd = 0.5;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let model = LargeModel::draw(n, groups, &mut rng);
    let mut t = vec![0.0; n * n];
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let rows_per = n.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (chunk, block) in t.chunks_mut(rows_per * n).enumerate() {
            let model = &model;
            s.spawn(move || {
                for (i, row) in block.chunks_mut(n).enumerate() {
                    let u = chunk * rows_per + i;
                    let mut r = ChaCha8Rng::seed_from_u64(stream_seed(seed, u as u64));
                    for (v, x) in row.iter_mut().enumerate() {
                        *x = model.expected(u, v) + sd * normal(&mut r);
                    }
                }
            });
        }
    });
    (t, model.into_labels())
}

fn row(n: usize, what: &str, secs: f64, r: &GroupResult, truth: &Partition) -> String {
    format!(
        "| {n} | {what} | {secs:.1} | {} | {} | {} | {:.2e} | {} | {:.10e} | {:.10e} |",
        r.sdp.low_rank_rounds,
        if &r.partition == truth { "yes" } else { "no" },
        r.certified_optimal,
        r.gap_normalized.unwrap_or(f64::NAN),
        r.sdp.status.as_str(),
        r.value,
        r.upper_bound.unwrap_or(f64::NAN),
    )
}

fn main() {
    let args = common::args_with_cuda("gpu-large", parse_args);
    let settings = GroupSettings::default();
    println!("| n | backend | solve s | products | planted groups | certified | gap_normalized | status | value | upper bound |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut notes = Vec::new();
    let mut failed = false;
    for &n in &args.sizes {
        let t0 = Instant::now();
        let (raw, labels) = instance(n, args.k, args.seed);
        let t = match Affinity::from_row_major(&raw, n) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("gpu-large: n = {n}: {e}");
                std::process::exit(1);
            }
        };
        drop(raw);
        let truth = Partition::from_labels(&labels).expect("planted labels");
        notes.push(format!(
            "n = {n}: instance generated in {:.1} s",
            t0.elapsed().as_secs_f64()
        ));
        let mut f64_result: Option<GroupResult> = None;
        let mut runs: Vec<(String, Backend, Storage)> = Vec::new();
        if n <= args.cpu_max_n {
            runs.push(("cpu (core)".into(), Backend::Cpu, Storage::F64));
        }
        for &st in &args.storage {
            runs.push((format!("cuda {st}"), Backend::Cuda, st));
        }
        for (what, backend, st) in runs {
            let t1 = Instant::now();
            let mut settings = settings.clone();
            settings.solver.storage = st;
            match group_large(backend, &t, args.k, &settings) {
                Ok(r) => {
                    let secs = t1.elapsed().as_secs_f64();
                    println!("{}", row(n, &what, secs, &r, &truth));
                    if backend == Backend::Cuda && st == Storage::F64 {
                        f64_result = Some(r);
                    } else if backend == Backend::Cuda && st == Storage::F32 {
                        if let Some(b) = &f64_result {
                            notes.push(format!(
                                "n = {n}: f32 storage vs f64: same partition {}, value rel diff {:.1e}, \
                                 objective ⟨T, UUᵀ⟩ rel diff {:.1e}, bound rel diff {:.1e}, \
                                 gap_normalized {:.2e} vs {:.2e}",
                                r.partition == b.partition,
                                (r.value - b.value).abs() / b.value.abs(),
                                (r.sdp.objective - b.sdp.objective).abs() / b.sdp.objective.abs(),
                                (r.upper_bound.unwrap_or(f64::NAN)
                                    - b.upper_bound.unwrap_or(f64::NAN))
                                .abs()
                                    / b.upper_bound.unwrap_or(f64::NAN).abs(),
                                r.gap_normalized.unwrap_or(f64::NAN),
                                b.gap_normalized.unwrap_or(f64::NAN),
                            ));
                        }
                    }
                }
                Err(e) => {
                    failed = true;
                    println!("| {n} | {what} | – | – | – | – | – | error: {e} | – | – |");
                }
            }
        }
    }
    println!();
    for n in notes {
        println!("- {n}");
    }
    if failed {
        std::process::exit(1);
    }
}
