//! faer against taskgroup-core's tridiagonal path and nalgebra on the matrices the full
//! projection sees (issue 16, item "measure nalgebra against faer"). Single thread (faer without
//! rayon). `cargo run --release --manifest-path bench/eigen-compare/Cargo.toml [-- N1 N2 ...]`
//! prints one Markdown row per n: median ms of each decomposition.

use std::hint::black_box;
use std::time::Instant;

use taskgroup_core::sdp::projection::{centered_shifted, project_c1};
use taskgroup_core::{solve_sdp, WarmStart};
use taskgroup_eval::synthetic::unequal_offsets;

/// Median of `reps` timings of `f`, in ms.
fn time<F: FnMut()>(reps: usize, mut f: F) -> f64 {
    let mut v: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![50, 100, 200, 300, 600] } else { sizes };
    println!("| n | nalgebra SymmetricEigen ms | faer self_adjoint_eigen ms | faer eigenvalues ms | taskgroup tridiagonal values ms | taskgroup values + top k vectors ms | taskgroup projection ms | max |λ_faer − λ_taskgroup| / max |λ| |");
    println!("|---|---|---|---|---|---|---|---|");
    for &n in &sizes {
        // The matrix a projection sees near the end of a solve: X + C/ρ, centred and shifted.
        let (t, _) = unequal_offsets(n, 0).expect("unequal");
        let k = 4;
        let sol = solve_sdp(&t, k, &Default::default(), WarmStart::Cold, None).expect("solve");
        let cen = t.centered();
        let m: Vec<f64> = sol.x.iter().zip(&cen.c).map(|(x, c)| x + c / sol.rho).collect();
        let b = centered_shifted(&m, n);
        let reps = if n <= 200 { 21 } else { 5 };
        let fm = faer::Mat::<f64>::from_fn(n, n, |i, j| b[i * n + j]);
        let t_nalg = time(reps, || {
            black_box(taskgroup_core::eigen::sym_eigen(&b, n));
        });
        let t_faer = time(reps, || {
            black_box(fm.self_adjoint_eigen(faer::Side::Lower).ok());
        });
        let t_faer_vals = time(reps, || {
            black_box(fm.self_adjoint_eigenvalues(faer::Side::Lower).ok());
        });
        let t_vals = time(reps, || {
            black_box(taskgroup_core::eigen::sym_eigenvalues(&b, n));
        });
        let t_sel = time(reps, || {
            black_box(taskgroup_core::eigen::sym_eigen_select(&b, n, |_| 0..k));
        });
        let mut out = vec![0.0; n * n];
        let t_proj = time(reps, || {
            black_box(project_c1(&m, n, k, &mut out));
        });
        let ours = taskgroup_core::eigen::sym_eigenvalues(&b, n).expect("values");
        let mut theirs = fm.self_adjoint_eigenvalues(faer::Side::Lower).expect("faer");
        theirs.sort_by(|a, b| b.total_cmp(a));
        let scale = ours.iter().fold(0.0f64, |s, x| s.max(x.abs()));
        let diff = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        println!(
            "| {n} | {t_nalg:.3} | {t_faer:.3} | {t_faer_vals:.3} | {t_vals:.3} | {t_sel:.3} | {t_proj:.3} | {:.1e} |",
            diff / scale
        );
    }
}
