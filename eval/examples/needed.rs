//! Calibration of "subsets still needed" (`AdaGroupSession::subsets_still_needed`, shown by
//! `session status`): `cargo run --release -p taskgroup-eval --example needed [SEEDS]`. For every
//! study family at n = 30 (3 groups, up to 6) and each seed, default AdaGroup campaigns at
//! 1, 2, 5 and 10 × n subsets; for each campaign that did not recover the planted groups, the
//! estimate at its end against the extra subsets the smallest recovering budget of the same
//! (family, seed) actually took (an upper bound on what was needed).
use taskgroup_core::session::adagroup::{AdaGroupSession, AdaGroupSettings};
use taskgroup_core::session::trainer::run_with_trainer;
use taskgroup_eval::study::{Family, SimTrainer};

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let n = 30;
    println!("family seed budget exact estimate actual_extra ratio");
    for f in Family::ALL {
        for seed in 0..seeds {
            let mut rows = Vec::new();
            for b in [1usize, 2, 5, 10] {
                let s = f.settings(n, 3, seed);
                let g = s.groups;
                let tr = SimTrainer::new(s).expect("trainer");
                let mut st = AdaGroupSettings::new(n, (2 * g).max(4), 5);
                st.seed = seed;
                st.subsets_per_step = Some(b * n / 5);
                let mut sess = AdaGroupSession::new(st).expect("session");
                run_with_trainer(&mut sess, &tr).expect("campaign");
                let exact = sess.partition() == tr.truth().ok();
                rows.push((b, exact, sess.subsets_still_needed()));
            }
            for &(b, exact, est) in &rows {
                if exact {
                    continue;
                }
                let first = rows.iter().find(|r| r.0 > b && r.1).map(|r| (r.0 - b) * n);
                let ratio = match (est, first) {
                    (Some(e), Some(a)) if a > 0 => format!("{:.1}", e as f64 / a as f64),
                    _ => "-".into(),
                };
                println!("{} {seed} {b}n {exact} {est:?} {first:?} {ratio}", f.name());
            }
        }
    }
}
