//! The real CUDA kernels of `kernels/sdp.cu` and `kernels/factored.cu`, run on the CPU by
//! `kernels/emu/sdp_emu.cpp` and `kernels/emu/factored_emu.cpp` (one fiber per CUDA thread,
//! barriers for `__syncthreads` and warp shuffles; `kernels/emu/harness.h`), against core's
//! projection and solver, and against the twin `TiledOp` and core's dense product. Needs a C++17 compiler (`$CXX` or `g++`); without one every test says
//! so on stderr and passes, unless TASKGROUP_REQUIRE_EMU=1 is set.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::{full_settings, max_abs_diff, random_symmetric};
use taskgroup_core::sdp::projection::project_c1;
use taskgroup_core::sdp::{barycentre, finish_iterate, initial_rho, AdmmIterate};
use taskgroup_core::{solve_sdp, Affinity, SolverStatus, WarmStart};
use taskgroup_eval::synthetic::PlantedModel;

/// Builds the emulator of sdp.cu once; `None` when no C++ compiler is available.
fn emulator() -> Option<&'static PathBuf> {
    static EXE: OnceLock<Option<PathBuf>> = OnceLock::new();
    build_emulator(&EXE, "sdp_emu")
}

/// Builds the emulator of factored.cu once; `None` when no C++ compiler is available.
fn factored_emulator() -> Option<&'static PathBuf> {
    static EXE: OnceLock<Option<PathBuf>> = OnceLock::new();
    build_emulator(&EXE, "factored_emu")
}

fn build_emulator(
    cell: &'static OnceLock<Option<PathBuf>>,
    name: &str,
) -> Option<&'static PathBuf> {
    let exe = cell.get_or_init(|| {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("kernels/emu/{name}.cpp"));
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
        let status = Command::new(&cxx)
            .args(["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&out)
            .arg(&src)
            .status();
        match status {
            Ok(s) if s.success() => Some(out),
            Ok(s) => panic!("{cxx} failed on {} ({s})", src.display()),
            Err(e) => {
                common::skip(
                    "TASKGROUP_REQUIRE_EMU",
                    &format!("{cxx} cannot run: {e}"),
                    &format!("no C++ compiler ({cxx}: {e})"),
                );
                None
            }
        }
    });
    exe.as_ref()
}

/// The final state of one problem as the emulated device leaves it.
struct Emulated {
    state: i32,
    iters: usize,
    rp: f64,
    rd: f64,
    rho: f64,
    sweeps: usize,
    x: Vec<f64>,
    u: Vec<f64>,
}

struct Run<'a> {
    /// Run the fibers of a block in reverse order between barriers (EMU_REVERSE=1).
    reverse: bool,
    n: usize,
    threads: usize,
    /// (max_it, adapt_every, check_every, alpha, tol, balance) for a solve; None = projection.
    solve: Option<(usize, usize, usize, f64, f64, f64)>,
    ks: &'a [usize],
    rho: &'a [f64],
    c: &'a [f64],
    z: &'a [f64],
}

/// Runs the emulator `exe` with the environment `env` on `input`; its standard output.
fn emulate(exe: &PathBuf, env: &[(&str, &str)], input: &str) -> String {
    let mut child = Command::new(exe)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("emulator starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write input");
    let out = child.wait_with_output().expect("emulator runs");
    assert!(out.status.success(), "emulator failed: {}", out.status);
    String::from_utf8(out.stdout).expect("utf-8")
}

fn run(exe: &PathBuf, r: &Run<'_>) -> Vec<Emulated> {
    let mut input = String::new();
    let mode = usize::from(r.solve.is_some());
    input += &format!("{mode} {} {} {}\n", r.n, r.ks.len(), r.threads);
    if let Some((mi, ae, ce, a, t, b)) = r.solve {
        input += &format!("{mi} {ae} {ce} {a:e} {t:e} {b:e}\n");
    }
    for (k, rho) in r.ks.iter().zip(r.rho) {
        input += &format!("{k} {rho:e}\n");
    }
    for v in r.c.iter().chain(r.z) {
        input += &format!("{v:e} ");
    }
    input.push('\n');
    let reverse = if r.reverse { "1" } else { "0" };
    let text = emulate(exe, &[("EMU_REVERSE", reverse)], &input);
    let mut it = text.split_whitespace();
    let mut num = || {
        it.next()
            .expect("more output")
            .parse::<f64>()
            .expect("a number")
    };
    let nn = r.n * r.n;
    (0..r.ks.len())
        .map(|_| {
            let state = num() as i32;
            let iters = num() as usize;
            let (rp, rd, rho) = (num(), num(), num());
            let sweeps = num() as usize;
            let x = (0..nn).map(|_| num()).collect();
            let u = (0..nn).map(|_| num()).collect();
            Emulated {
                state,
                iters,
                rp,
                rd,
                rho,
                sweeps,
                x,
                u,
            }
        })
        .collect()
}

#[test]
fn emulated_projection_kernels_match_core() {
    let Some(exe) = emulator() else { return };
    for (n, threads, ks) in [
        (1usize, 32usize, vec![1usize]),
        (2, 32, vec![1, 2]),
        (3, 64, vec![2]),
        (7, 64, vec![1, 3, 7]),
        (16, 96, vec![2, 5]),
        (33, 64, vec![4, 2]),
        (48, 128, vec![3]),
        (40, 1024, vec![3]),
        (129, 256, vec![6]),
    ] {
        let b = ks.len();
        let ms: Vec<f64> = (0..b)
            .flat_map(|i| random_symmetric(n, (n * 10 + i) as u64, 1.0 / n as f64))
            .collect();
        let zeros = vec![0.0; ms.len()];
        let rho = vec![1.0; b];
        for reverse in [false, true] {
            let out = run(
                exe,
                &Run {
                    reverse,
                    n,
                    threads,
                    solve: None,
                    ks: &ks,
                    rho: &rho,
                    c: &ms,
                    z: &zeros,
                },
            );
            for (i, (e, &k)) in out.iter().zip(&ks).enumerate() {
                assert_eq!(e.state, 0, "n={n} #{i}: state");
                let mut want = vec![0.0; n * n];
                project_c1(&ms[i * n * n..(i + 1) * n * n], n, k, &mut want).expect("core");
                let err = max_abs_diff(&want, &e.x);
                assert!(
                    err < 1e-12,
                    "n={n} k={k} threads={threads}: max diff {err:e}"
                );
                eprintln!(
                    "projection n={n} k={k}: {} Jacobi sweeps, max diff {err:.1e}",
                    e.sweeps
                );
            }
        }
    }
}

/// The kernels' whole ADMM iteration (with the host loop of solve/cuda.rs: 10 iterations between
/// state reads) against core's solver with `ProjectionMethod::Full`: same status, iterations and
/// ρ, objective and bound within 1e-8 relative. The planted case with seed 11 doubles ρ at
/// iteration 70: a budget of 80 checks the dual rescaling (a race there was found this way).
#[test]
fn emulated_admm_kernels_match_core_solver() {
    let Some(exe) = emulator() else { return };
    let planted = |seed| PlantedModel::paper(5).sample(seed).expect("planted");
    let random =
        |n, seed| Affinity::from_row_major(&random_symmetric(n, seed, 1.0), n).expect("finite");
    // (T, k, threads per block, iteration budget, reverse fiber order)
    let cases: Vec<(Affinity, usize, usize, usize, bool)> = vec![
        (planted(14), 3, 64, 10_000, false),
        (random(16, 12), 2, 64, 10_000, false),
        (random(21, 13), 5, 96, 10_000, false),
        (planted(11), 3, 64, 80, false),
        (planted(11), 3, 64, 80, true),
        (random(16, 12), 2, 32, 23, true),
    ];
    for (t, k, threads, max_iterations, reverse) in &cases {
        let settings = full_settings(*max_iterations);
        let n = t.n();
        let cen = t.centered();
        let rho0 = initial_rho(&settings, *k);
        let out = run(
            exe,
            &Run {
                reverse: *reverse,
                n,
                threads: *threads,
                solve: Some((
                    settings.max_iterations,
                    settings.adapt_rho_every,
                    10,
                    settings.relaxation,
                    settings.tolerance,
                    settings.rho_balance,
                )),
                ks: &[*k],
                rho: &[rho0],
                c: &cen.c,
                z: &barycentre(n, *k),
            },
        );
        let e = &out[0];
        let status = match e.state {
            1 => SolverStatus::Converged,
            2 => SolverStatus::MaxIterations,
            _ => SolverStatus::NumericalError,
        };
        let sol = finish_iterate(
            &cen,
            *k,
            AdmmIterate {
                status,
                x: e.x.clone(),
                u_dual: &e.u,
                rho: e.rho,
                primal_residual: e.rp,
                dual_residual: e.rd,
                iterations: e.iters,
            },
        );
        let core = solve_sdp(t, *k, &settings, WarmStart::Cold, None).expect("core");
        let rel = (core.objective - sol.objective).abs() / core.objective.abs();
        eprintln!(
            "emulated n={n} k={k} budget {max_iterations} reverse {reverse}: {} it (core {}), \
             rel diff {rel:.1e}",
            sol.iterations, core.iterations
        );
        assert_eq!(core.status, sol.status, "n={n} k={k}: status");
        assert_eq!(core.iterations, sol.iterations, "n={n} k={k}: iterations");
        assert!(rel < 1e-8, "n={n} k={k}: objective rel diff {rel:e}");
        assert!(
            (core.upper_bound - sol.upper_bound).abs() <= 1e-8 * core.upper_bound.abs(),
            "n={n} k={k}: bound {} vs {}",
            core.upper_bound,
            sol.upper_bound
        );
        assert!((core.rho - sol.rho).abs() <= 1e-12 * core.rho, "rho");
    }
}

/// Runs `fac_gemm_f64` (storage 0) or `fac_gemm_f32` (1) on the emulator: C·x and the number
/// of blocks launched.
fn run_gemm(
    exe: &PathBuf,
    storage: usize,
    n: usize,
    q: usize,
    c: &[f64],
    x: &[f64],
) -> (Vec<f64>, usize) {
    let mut input = format!("{storage} {n} {q}\n");
    for v in c.iter().chain(x) {
        input += &format!("{v:e} ");
    }
    input.push('\n');
    let text = emulate(exe, &[], &input);
    let vals: Vec<f64> = text
        .split_whitespace()
        .map(|t| t.parse::<f64>().expect("a number"))
        .collect();
    assert_eq!(vals.len(), n * q + 1, "output size");
    (vals[..n * q].to_vec(), vals[n * q] as usize)
}

/// The tiled GEMM of factored.cu (partial row and column tiles, several tiles each way, one
/// column, n below one panel) gives the twin's sums bit for bit (same order; g++ does not
/// contract to FMA here) and core's dense product to rounding, in f64 and f32 storage.
#[test]
fn emulated_gemm_kernels_match_twin_and_core() {
    use taskgroup_core::sdp::{BlockOp, DenseOp};
    use taskgroup_gpu::solve::twin::TiledOp;
    use taskgroup_gpu::Storage;
    let Some(exe) = factored_emulator() else {
        return;
    };
    for (n, q) in [
        (1usize, 1usize),
        (7, 3),
        (33, 16),
        (129, 17),
        (300, 33),
        (260, 1),
    ] {
        let c = random_symmetric(n, n as u64 * 7 + q as u64, 1.0 / n as f64);
        let x = random_symmetric(n.max(q), 100 + n as u64, 1.0)[..n * q].to_vec();
        let mut core = vec![0.0; n * q];
        DenseOp::new(&c, n).unwrap().apply(&x, q, &mut core);
        for (storage, st) in [(0, Storage::F64), (1, Storage::F32)] {
            let (emu, blocks) = run_gemm(exe, storage, n, q, &c, &x);
            assert_eq!(blocks, n.div_ceil(128) * q.div_ceil(16), "grid");
            let mut twin = vec![0.0; n * q];
            let mut op = TiledOp::new(&c, n, st).unwrap();
            op.apply(&x, q, &mut twin);
            let mismatched = emu
                .iter()
                .zip(&twin)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            assert_eq!(mismatched, 0, "n={n} q={q} {st}: emulated kernel vs twin");
            let err = max_abs_diff(&emu, &core);
            let tol = if st == Storage::F64 { 1e-12 } else { 1e-6 };
            assert!(err < tol, "n={n} q={q} {st}: max diff to core {err:e}");
            eprintln!("gemm n={n} q={q} {st}: {blocks} blocks, max diff to core {err:.1e}");
        }
    }
}
