//! Why a study campaign does or does not recover its planted groups (method.md §6, "Why four
//! folds"): `cargo run --release -p taskgroup-eval --example diag FAMILY N GROUPS BUDGET SEEDS`.
//! Per seed, for the default AdaGroup campaign and for uniform subsets at the same budget
//! (BUDGET·N subsets): the count after each step, exact recovery, per-task appearances, the
//! mean coverage of within- and cross-group pairs and the uncovered pairs; the held-out test of
//! the *planted* partition (combined z against the critical value, effect, τ̂ per fold); the
//! last step's table (z / critical z and effect per count); and the partitions found at the
//! planted count on all subsets and without fold 0 or 1 (ARI, their value and the planted
//! partition's value on the same estimate: a found value above the planted one means noise
//! was fitted, not a search failure).
use taskgroup_core::session::adagroup::*;
use taskgroup_core::session::evidence::{self, Fold};
use taskgroup_core::session::trainer::*;
use taskgroup_eval::study::*;

mod common;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (fam, n, g, b, seeds) = common::campaign_args(&a);
    for seed in 0..seeds {
        for uni in [false, true] {
            let sim = fam.settings(n, g, seed);
            let tr = SimTrainer::new(sim).unwrap();
            let truth = tr.truth().unwrap();
            let tl: Vec<usize> = truth.labels().iter().map(|&x| x as usize).collect();
            let steps = 5.min(n / 4).max(1);
            let mut st =
                AdaGroupSettings::new(n, (2 * g).max(4).min(n), if uni { 1 } else { steps });
            st.seed = seed;
            if uni {
                st.sampling = Sampling::Uniform;
                st.subsets_per_step = Some(b * n);
            } else {
                st.subsets_per_step = Some(b * n / steps);
            }
            let mut s = AdaGroupSession::new(st).unwrap();
            let mut ks = vec![];
            while !s.is_done() {
                let h = run_step_with_trainer(&mut s, &tr).unwrap();
                ks.push(h.groups.len());
            }
            let p = s.partition().unwrap();
            let ex = taskgroup_eval::metrics::agreement(&p, &truth)
                .unwrap()
                .exact;
            let mut app = vec![0usize; n];
            let mut cov = vec![0usize; n * n];
            for r in s.all_requests() {
                for &t in &r.tasks {
                    app[t] += 1;
                    for &u in &r.tasks {
                        cov[t * n + u] += 1;
                    }
                }
            }
            let (mut wc, mut wn, mut bc, mut bn, mut zero) = (0, 0, 0, 0, 0);
            for i in 0..n {
                for j in 0..n {
                    if i != j {
                        if tl[i] == tl[j] {
                            wc += cov[i * n + j];
                            wn += 1
                        } else {
                            bc += cov[i * n + j];
                            bn += 1
                        }
                        if cov[i * n + j] == 0 {
                            zero += 1
                        }
                    }
                }
            }
            let mut sep = 0.0;
            let mut eff = f64::INFINITY;
            let mut tau = vec![];
            for f in 0..evidence::FOLDS {
                let t = evidence::separation(s.records(), true, Fold::Only(f), &tl).unwrap();
                sep += t.min_z().unwrap_or(f64::NAN) / (evidence::FOLDS as f64).sqrt();
                eff = eff.min(t.min_effect().unwrap_or(f64::NAN));
                tau.push(t.pair_spread);
            }
            let mut extra = String::new();
            for fo in [Fold::All, Fold::Except(0), Fold::Except(1)] {
                let est = evidence::standardized(
                    s.records(),
                    true,
                    taskgroup_core::session::aggregate::FillRule::RowMean,
                    fo,
                )
                .unwrap();
                let all: Vec<usize> = (0..n).collect();
                let t = est.restrict(&all).unwrap();
                let r = taskgroup_core::group(&t, g, &Default::default()).unwrap();
                let ari = taskgroup_eval::metrics::agreement(&r.partition, &truth)
                    .unwrap()
                    .ari;
                extra += &format!(
                    " [{:?} ari {:.2} v {:.2} vt {:.2}]",
                    fo,
                    ari,
                    r.partition.value(&t).unwrap(),
                    truth.value(&t).unwrap()
                );
            }
            let tabl: Vec<String> = s
                .history()
                .last()
                .unwrap()
                .table
                .iter()
                .map(|r| {
                    format!(
                        "k{} z{:.1}/{:.1} e{:.2}",
                        r.k,
                        r.separation.unwrap_or(f64::NAN),
                        r.critical_z.unwrap_or(f64::NAN),
                        r.effect.unwrap_or(f64::NAN)
                    )
                })
                .collect();
            println!("seed {seed} {} ks {:?} exact {ex} app {}-{} cov w {:.2} b {:.2} zero {zero} | truth sep {sep:.2} (crit {:.2}) eff {eff:.2} tau {:.3?} | {}",
                if uni {"unif"} else {"adap"}, ks, app.iter().min().unwrap(), app.iter().max().unwrap(), wc as f64 / wn as f64, bc as f64 / bn as f64, evidence::critical_z(g), tau, tabl.join("; "));
            println!("    {extra}");
        }
    }
}
