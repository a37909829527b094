//! AdaGroup's defaults on a trainer family the sample-efficiency study never uses (issue 13:
//! "checked with trainers you never see"): **losses** (lower is better) with **multiplicative**
//! partner effects and **heavy-tailed** noise,
//!
//! `L_i(S) = b_i · exp(−m_i(S)) · (1 + 0.03·t₃(S, i))`, `m_i(S)` = mean of w_ij over j ∈ S∖{i},
//!
//! with b_i log-uniform in [0.1, 10] (scales differing 100×), w_ij = +0.12 within and −0.06
//! across four planted groups of unequal sizes (5, 7, 9, 11 of n = 32) plus a fixed per-pair
//! N(0, 0.05²), and t₃ a Student-t with 3 degrees of freedom (infinite fourth moment), fixed by
//! (seed, S, i). max_groups = 8, the paper's budget (5n subsets of 5).
//!
//! It is about 5× noisier than the study's families: at the paper's budget neither AdaGroup
//! nor uniform subsets recover it reliably (3/10 and 1/10), at 10n both do (10/10, 9/10).
//! `default_sessions_recover_an_unseen_family` runs one seed at 10n; the ignored
//! `unseen_family_recovery_table` prints AdaGroup against uniform subsets at 2n, 5n and 10n
//! over 10 seeds: `cargo test --release -p taskgroup-tests --test unseen_trainer -- --ignored
//! --nocapture`.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use taskgroup_core::random::{normal, shuffle, splitmix64, stream_seed, uniform};
use taskgroup_core::session::adagroup::{AdaGroupSession, AdaGroupSettings, Sampling};
use taskgroup_core::session::trainer::{run_with_trainer, SubsetTrainer};
use taskgroup_core::{Error, Partition};
use taskgroup_eval::synthetic::block_labels;

const N: usize = 32;
const SIZES: [usize; 4] = [5, 7, 9, 11];

struct LossTrainer {
    seed: u64,
    labels: Vec<usize>,
    base: Vec<f64>,
    w: Vec<f64>,
}

impl LossTrainer {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(seed, 0x1055));
        let mut labels = block_labels(&SIZES);
        shuffle(&mut labels, &mut rng);
        let base = (0..N)
            .map(|_| (100f64.ln() * uniform(&mut rng)).exp() / 10.0)
            .collect();
        let mut w = vec![0.0; N * N];
        for i in 0..N {
            for j in 0..N {
                if i != j {
                    let m = if labels[i] == labels[j] { 0.12 } else { -0.06 };
                    w[i * N + j] = m + 0.05 * normal(&mut rng);
                }
            }
        }
        LossTrainer {
            seed,
            labels,
            base,
            w,
        }
    }

    fn truth(&self) -> Partition {
        Partition::from_labels(&self.labels).unwrap()
    }
}

impl SubsetTrainer for LossTrainer {
    fn train(&self, subset: &[usize]) -> Result<Vec<f64>, Error> {
        let mut key = subset.to_vec();
        key.sort_unstable();
        Ok(subset
            .iter()
            .map(|&i| {
                let others = key.iter().filter(|&&j| j != i);
                let m =
                    others.map(|&j| self.w[i * N + j]).sum::<f64>() / (key.len().max(2) - 1) as f64;
                let mut h = 0x7E57_u64;
                for x in std::iter::once(i).chain(key.iter().copied()) {
                    h = splitmix64(h ^ x as u64);
                }
                let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(self.seed ^ 0x7173, h));
                let z = normal(&mut rng);
                let chi2: f64 = (0..3).map(|_| normal(&mut rng).powi(2)).sum();
                let t3 = z / (chi2 / 3.0).sqrt().max(1e-6);
                self.base[i] * (-m).exp() * (1.0 + 0.03 * t3).max(0.05)
            })
            .collect())
    }
}

/// (exact recovery, groups found) of one campaign at `budget`·n subsets.
fn campaign(seed: u64, uniform_sampling: bool, budget: usize) -> (bool, usize) {
    let tr = LossTrainer::new(seed);
    let steps = if uniform_sampling { 1 } else { 5 };
    let mut st = AdaGroupSettings::new(N, 8, steps);
    st.seed = seed;
    st.higher_is_better = false;
    st.subsets_per_step = Some(budget * N / steps);
    if uniform_sampling {
        st.sampling = Sampling::Uniform;
    }
    let mut s = AdaGroupSession::new(st).unwrap();
    run_with_trainer(&mut s, &tr).unwrap();
    let found = s.partition().unwrap();
    (found == tr.truth(), found.num_groups())
}

#[test]
fn default_sessions_recover_an_unseen_family() {
    let (exact, k) = campaign(0, false, 10);
    assert!(exact, "found {k} groups");
}

#[test]
#[ignore = "minutes in release: prints the recovery table of this family"]
fn unseen_family_recovery_table() {
    println!("| method | 2×n | 5×n | 10×n |\n|---|---|---|---|");
    for (name, uni) in [("adagroup", false), ("uniform", true)] {
        let mut row = format!("| {name} |");
        for budget in [2, 5, 10] {
            let runs: Vec<(bool, usize)> = (0..10).map(|s| campaign(s, uni, budget)).collect();
            let exact = runs.iter().filter(|r| r.0).count();
            let k = runs.iter().map(|r| r.1 as f64).sum::<f64>() / runs.len() as f64;
            row.push_str(&format!(" {exact}/10 (k̄ {k:.1}) |"));
        }
        println!("{row}");
    }
}
