use taskgroup_eval::study::*;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let fam = Family::ALL
        .iter()
        .copied()
        .find(|f| f.name() == a[1])
        .unwrap();
    let n: usize = a[2].parse().unwrap();
    let g: usize = a[3].parse().unwrap();
    let b: usize = a[4].parse().unwrap();
    let seeds: u64 = a[5].parse().unwrap();
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
#[allow(dead_code)]
fn dummy() {}
