//! Exact recovery, found group count, ARI and regret per seed for the study's methods:
//! `cargo run --release -p taskgroup-eval --example probe FAMILY N GROUPS BUDGET SEEDS
//! [METHOD,...]` (budget in multiples of N subsets; all methods when none are named).
use taskgroup_eval::study::*;

mod common;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (fam, n, g, b, seeds) = common::campaign_args(&a);
    let cfg = StudyConfig::default_study();
    for m in StudyMethod::ALL {
        if a.len() > 6 && !a[6].split(',').any(|x| x == m.name()) {
            continue;
        }
        for seed in 0..seeds {
            let t = std::time::Instant::now();
            let r = run_one(&cfg, fam, n, g, seed, m, b).unwrap();
            println!(
                "{:10} seed {seed} trained {:5} k {:2} exact {} ari {:.2} regret {:.4} {:.1}s",
                m.name(),
                r.trained,
                r.found_groups,
                r.exact,
                r.ari,
                r.regret,
                t.elapsed().as_secs_f64()
            );
        }
    }
}
