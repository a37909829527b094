//! Solver timing on the paper's planted model (no Python, no peers): `cargo bench -p
//! taskgroup-core --bench solver [-- N1 N2 ...]`. Prints one Markdown table row per n:
//! iterations, seconds, SDP value, gap, recovery. Single thread.

use std::time::Instant;

use taskgroup_core::{group, GroupSettings};
use taskgroup_eval::synthetic::PlantedModel;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100, 300, 600]
    } else {
        sizes
    };
    println!("| n | k | iterations | seconds | s/iteration | SDP value | partition value | normalised gap | certified | planted recovered |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &n in &sizes {
        let mut m = PlantedModel::paper(n / 3);
        m.sizes[0] = n - 2 * (n / 3);
        let t = m.sample(0).expect("planted model");
        let s0 = Instant::now();
        let _ = taskgroup_core::solve_sdp(
            &t,
            3,
            &Default::default(),
            taskgroup_core::WarmStart::Cold,
            None,
        );
        eprintln!(
            "n={} solve_sdp alone: {:.2} s",
            t.n(),
            s0.elapsed().as_secs_f64()
        );
        let start = Instant::now();
        let r = group(&t, 3, &GroupSettings::default()).expect("solve");
        let secs = start.elapsed().as_secs_f64();
        let truth = m.truth().expect("truth");
        println!(
            "| {} | 3 | {} ({} full, {} rounds) | {:.2} | {:.4} | {:.4} | {:.4} | {:.2e} | {} | {} |",
            t.n(),
            r.sdp.iterations,
            r.sdp.full_projections,
            r.sdp.low_rank_rounds,
            secs,
            secs / r.sdp.iterations.max(1) as f64,
            r.sdp.objective,
            r.value,
            r.gap_normalized.unwrap_or(f64::NAN),
            r.certified_optimal,
            r.partition == truth
        );
    }
    variants_table(&sizes);
}

/// Iteration counts of the ADMM variants (issue 5, "fewer iterations"): plain ADMM with a fixed
/// ρ, with residual balancing, and with over-relaxation α = 1.6 (the default) — same instances.
fn variants_table(sizes: &[usize]) {
    use taskgroup_core::{solve_sdp, SolverSettings, WarmStart};
    println!();
    println!("| n | fixed ρ, α = 1 | balanced ρ, α = 1 | balanced ρ, α = 1.6 (default) |");
    println!("|---|---|---|---|");
    for &n in sizes {
        let mut m = PlantedModel::paper(n / 3);
        m.sizes[0] = n - 2 * (n / 3);
        let t = m.sample(0).expect("planted model");
        let run = |adapt: usize, alpha: f64| {
            let s = SolverSettings {
                adapt_rho_every: adapt,
                relaxation: alpha,
                ..Default::default()
            };
            let start = Instant::now();
            let r = solve_sdp(&t, 3, &s, WarmStart::Cold, None).expect("solve");
            format!(
                "{} it ({}, {:.2} s)",
                r.iterations,
                r.status.as_str(),
                start.elapsed().as_secs_f64()
            )
        };
        println!(
            "| {} | {} | {} | {} |",
            t.n(),
            run(0, 1.0),
            run(10, 1.0),
            run(10, 1.6)
        );
    }
}
