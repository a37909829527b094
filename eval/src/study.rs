//! Sample efficiency of AdaGroup campaigns (`taskgroup eval --adagroup`): how many trained
//! subsets it takes to recover planted groups, against uniform sampling at the same budget,
//! all pairs, and the paper's configuration.
//!
//! **Simulated trainers** ([`SimTrainer`]). Task i has a single-task score b_i, a score scale
//! a_i and a planted group; every ordered pair has a fixed transfer effect
//! `w_ij = μ_within or μ_between + pair_sd·z_ij` (some within-group pairs are negative when
//! pair_sd is large), and training on S gives
//!
//! `f_i(S) = b_i + a_i·r( (1/(|S|−1)) Σ_{j∈S, j≠i} w_ij ) + a_i·noise·ε(S, i)`
//!
//! with r the identity (`Response::Additive`) or a saturating `tanh(3x)/3` (`Saturating`: the
//! effects of partners no longer add). ε is a standard normal fixed by (seed, S, i). Families
//! ([`Family`]) cover equal and unequal group sizes, score scales differing 30×, noisy pair
//! effects with negative pairs inside groups, no structure (one group) and a mix of all of
//! them with the saturating response.
//!
//! **Truth and regret.** The planted partition is the truth; the true objective is the value
//! Σ_C Σ_{u≠v∈C} W_uv / |C| of the noise-free symmetric effect matrix W = (w + wᵀ)/2 (zero
//! diagonal, the scale a_i left out so that every task counts alike); regret is
//! (V(truth) − V(found)) / n, in effect units per task (≤ 0 when the found partition is at least
//! as good). A case is *identifiable* when all pairs (every pair trained once) recovers it.
//!
//! **Methods** at a budget of B subsets of size α: `adagroup` (the session defaults, s steps of
//! B/s subsets), `uniform` (the same estimator and count rule on B uniform subsets of all
//! tasks, one step), `paper` (Eq. 6, row-min fill, batch + one cluster, count by average
//! density) and `all-pairs` (every pair once: n(n−1)/2 subsets of two, whatever B).

use std::fmt::Write as _;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use taskgroup_core::random::{normal, shuffle, stream_seed, uniform};
use taskgroup_core::session::adagroup::{AdaGroupSession, AdaGroupSettings, Sampling};
use taskgroup_core::session::aggregate::canonical_subset;
use taskgroup_core::session::trainer::{run_with_trainer, SubsetTrainer};
use taskgroup_core::{Error, Partition};

use crate::metrics::agreement;
use crate::synthetic::block_labels;

/// How partner effects combine into a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// The mean partner effect, as is.
    Additive,
    /// `tanh(3x)/3` of the mean partner effect.
    Saturating,
}

/// Settings of a [`SimTrainer`].
#[derive(Debug, Clone, PartialEq)]
pub struct SimSettings {
    /// Number of tasks n.
    pub n: usize,
    /// Number of planted groups (1 = no structure).
    pub groups: usize,
    /// Group sizes: `false` as equal as possible, `true` drawn unequal (sizes ∝ 1 + 2u, each ≥ 2).
    pub unequal: bool,
    /// Mean effect of a partner from the same group.
    pub within: f64,
    /// Mean effect of a partner from another group.
    pub between: f64,
    /// Standard deviation of the fixed per-pair effect.
    pub pair_sd: f64,
    /// Standard deviation of the per-(subset, task) noise, in units of a_i.
    pub noise: f64,
    /// Ratio of the largest to the smallest score scale a_i (log-uniform; 1 = equal scales).
    pub scale_ratio: f64,
    /// How effects combine.
    pub response: Response,
    /// Seed of everything.
    pub seed: u64,
}

impl SimSettings {
    /// n tasks in `groups` equal groups, additive, within +0.1, between −0.05, pair sd 0.02,
    /// noise 0.01, equal scales.
    pub fn new(n: usize, groups: usize, seed: u64) -> Self {
        SimSettings {
            n,
            groups,
            unequal: false,
            within: 0.1,
            between: -0.05,
            pair_sd: 0.02,
            noise: 0.01,
            scale_ratio: 1.0,
            response: Response::Additive,
            seed,
        }
    }
}

/// A simulated trainer (module docs).
#[derive(Debug, Clone)]
pub struct SimTrainer {
    s: SimSettings,
    labels: Vec<usize>,
    base: Vec<f64>,
    scale: Vec<f64>,
    w: Vec<f64>,
}

impl SimTrainer {
    /// Draws the groups, scores, scales and pair effects.
    pub fn new(s: SimSettings) -> Result<Self, Error> {
        let n = s.n;
        if n == 0 {
            return Err(Error::Empty);
        }
        if s.groups == 0 || s.groups > n {
            return Err(Error::InvalidK { k: s.groups, n });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(s.seed, 0x57D1));
        let sizes: Vec<usize> = if s.unequal && s.groups > 1 {
            let w: Vec<f64> = (0..s.groups)
                .map(|_| 1.0 + 2.0 * uniform(&mut rng))
                .collect();
            // Every group gets at least 2 tasks (1 when 2·groups > n), the rest by weight.
            let least = if 2 * s.groups <= n { 2 } else { 1 };
            let free = n - least * s.groups;
            let tot: f64 = w.iter().sum();
            let mut sz: Vec<usize> = w
                .iter()
                .map(|x| least + (x / tot * free as f64).floor() as usize)
                .collect();
            let mut left = n - sz.iter().sum::<usize>();
            let mut i = 0;
            while left > 0 {
                sz[i % s.groups] += 1;
                left -= 1;
                i += 1;
            }
            sz
        } else {
            (0..s.groups)
                .map(|g| n / s.groups + usize::from(g < n % s.groups))
                .collect()
        };
        let mut labels = block_labels(&sizes);
        shuffle(&mut labels, &mut rng);
        let base = (0..n).map(|_| 0.5 + 0.4 * uniform(&mut rng)).collect();
        let lr = s.scale_ratio.max(1.0).ln();
        let scale = (0..n).map(|_| (lr * uniform(&mut rng)).exp()).collect();
        let mut w = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    let m = if labels[i] == labels[j] {
                        s.within
                    } else {
                        s.between
                    };
                    w[i * n + j] = m + s.pair_sd * normal(&mut rng);
                }
            }
        }
        Ok(SimTrainer {
            s,
            labels,
            base,
            scale,
            w,
        })
    }

    /// The planted partition.
    pub fn truth(&self) -> Result<Partition, Error> {
        Partition::from_labels(&self.labels)
    }

    /// The true objective of a partition (module docs): Σ_C Σ_{u≠v∈C} W_uv / |C|.
    pub fn true_value(&self, p: &Partition) -> f64 {
        let n = self.s.n;
        let mut v = 0.0;
        for g in p.groups() {
            let mut sum = 0.0;
            for &u in &g {
                for &x in &g {
                    if u != x {
                        sum += 0.5 * (self.w[u * n + x] + self.w[x * n + u]);
                    }
                }
            }
            v += sum / g.len() as f64;
        }
        v
    }

    fn score(&self, i: usize, key: &[usize]) -> f64 {
        let n = self.s.n;
        let mut e = 0.0;
        if key.len() > 1 {
            e = key
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| self.w[i * n + j])
                .sum::<f64>()
                / (key.len() - 1) as f64;
        }
        let r = match self.s.response {
            Response::Additive => e,
            Response::Saturating => (3.0 * e).tanh() / 3.0,
        };
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for x in std::iter::once(i).chain(key.iter().copied()) {
            h = taskgroup_core::random::splitmix64(h ^ x as u64);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(self.s.seed ^ 0xE550, h));
        self.base[i] + self.scale[i] * (r + self.s.noise * normal(&mut rng))
    }
}

impl SubsetTrainer for SimTrainer {
    fn train(&self, subset: &[usize]) -> Result<Vec<f64>, Error> {
        let key = canonical_subset(subset, self.s.n)?;
        Ok(subset.iter().map(|&t| self.score(t, &key)).collect())
    }
}

/// A family of simulated trainers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Equal groups, additive effects, equal scales.
    Additive,
    /// Score scales differing 30×.
    Scales,
    /// Noisy pair effects (pair sd 0.08: ≈ 10% of within-group pairs negative).
    NoisyPairs,
    /// Unequal group sizes.
    Unequal,
    /// No structure: one group (pair sd 0.05 around one mean).
    NoStructure,
    /// All of the above at once, with a saturating response.
    Mixed,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 6] = [
        Family::Additive,
        Family::Scales,
        Family::NoisyPairs,
        Family::Unequal,
        Family::NoStructure,
        Family::Mixed,
    ];

    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Family::Additive => "additive",
            Family::Scales => "scales-30x",
            Family::NoisyPairs => "noisy-pairs",
            Family::Unequal => "unequal-sizes",
            Family::NoStructure => "no-structure",
            Family::Mixed => "mixed-saturating",
        }
    }

    /// The trainer settings of this family for n tasks, g groups and a seed.
    pub fn settings(self, n: usize, groups: usize, seed: u64) -> SimSettings {
        let mut s = SimSettings::new(n, groups, seed);
        match self {
            Family::Additive => {}
            Family::Scales => s.scale_ratio = 30.0,
            Family::NoisyPairs => s.pair_sd = 0.08,
            Family::Unequal => s.unequal = true,
            Family::NoStructure => {
                s.groups = 1;
                s.pair_sd = 0.05;
            }
            Family::Mixed => {
                s.scale_ratio = 30.0;
                s.pair_sd = 0.06;
                s.unequal = true;
                s.response = Response::Saturating;
            }
        }
        s
    }
}

/// A method of the study.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudyMethod {
    /// The AdaGroup session defaults.
    AdaGroup,
    /// Uniform subsets of all tasks, same estimator and count rule.
    Uniform,
    /// The paper's configuration.
    Paper,
    /// Every pair once (its own budget).
    AllPairs,
}

impl StudyMethod {
    /// Every method.
    pub const ALL: [StudyMethod; 4] = [
        StudyMethod::AdaGroup,
        StudyMethod::Uniform,
        StudyMethod::Paper,
        StudyMethod::AllPairs,
    ];

    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            StudyMethod::AdaGroup => "adagroup",
            StudyMethod::Uniform => "uniform",
            StudyMethod::Paper => "paper",
            StudyMethod::AllPairs => "all-pairs",
        }
    }
}

/// One study configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyConfig {
    /// Families.
    pub families: Vec<Family>,
    /// Numbers of tasks n with their numbers of planted groups (no-structure cases use 1).
    pub sizes: Vec<(usize, usize)>,
    /// Budgets as multiples of n subsets.
    pub budgets: Vec<usize>,
    /// Seeds per (family, size).
    pub seeds: u64,
    /// Methods.
    pub methods: Vec<StudyMethod>,
    /// Subset size α.
    pub subset_size: usize,
    /// Steps of the AdaGroup campaigns (at most n / 4).
    pub steps: usize,
}

impl StudyConfig {
    /// The default study (a few minutes on two idle cores): every family at n = 30 (3 groups,
    /// up to 6), budgets 1, 2, 5 (the paper's) and 10 × n subsets, 3 seeds, 5 steps.
    pub fn default_study() -> Self {
        StudyConfig {
            families: Family::ALL.to_vec(),
            sizes: vec![(30, 3)],
            budgets: vec![1, 2, 5, 10],
            seeds: 3,
            methods: StudyMethod::ALL.to_vec(),
            subset_size: 5,
            steps: 5,
        }
    }

    /// The full grid: n up to 200, 1–10 groups, budgets 1–20 × n, 5 seeds. Long: 2 880
    /// campaigns; one at n = 100 took 30–120 s on two shared cores (issue 13's measurement,
    /// load ≈ 8) and the SDP solves grow like n³, so it is days of CPU there and was not run
    /// for the README (which shows a reduced grid at n = 60 and 100, one seed).
    pub fn full() -> Self {
        StudyConfig {
            sizes: vec![(40, 4), (60, 2), (100, 5), (100, 10), (200, 5), (200, 1)],
            budgets: vec![1, 2, 5, 10, 20],
            seeds: 5,
            steps: 10,
            ..Self::default_study()
        }
    }

    /// A small configuration for `taskgroup demo` (seconds): n = 24 in 3 groups (max 6), 30×
    /// score scales and no structure, at the paper's budget.
    pub fn quick() -> Self {
        StudyConfig {
            families: vec![Family::Scales, Family::NoStructure],
            sizes: vec![(24, 3)],
            budgets: vec![5],
            seeds: 2,
            methods: vec![
                StudyMethod::AdaGroup,
                StudyMethod::Uniform,
                StudyMethod::Paper,
            ],
            subset_size: 5,
            steps: 4,
        }
    }
}

/// The outcome of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyRun {
    /// Family.
    pub family: Family,
    /// Tasks.
    pub n: usize,
    /// Planted groups.
    pub groups: usize,
    /// Seed.
    pub seed: u64,
    /// Method.
    pub method: StudyMethod,
    /// Budget multiple (B = budget·n subsets; all-pairs reports its own).
    pub budget: usize,
    /// Subsets actually trained.
    pub trained: usize,
    /// Groups found.
    pub found_groups: usize,
    /// Exact recovery.
    pub exact: bool,
    /// ARI.
    pub ari: f64,
    /// Regret per task in the true objective.
    pub regret: f64,
}

/// Runs one method on one trainer at budget `budget`·n subsets.
pub fn run_one(
    cfg: &StudyConfig,
    family: Family,
    n: usize,
    groups: usize,
    seed: u64,
    method: StudyMethod,
    budget: usize,
) -> Result<StudyRun, Error> {
    let sim = family.settings(n, groups, seed);
    let planted = sim.groups;
    let trainer = SimTrainer::new(sim)?;
    let max_groups = (2 * planted).max(4).min(n);
    let steps = cfg.steps.min(n / 4).max(1);
    let b = budget * n;
    let mut st = match method {
        StudyMethod::AdaGroup => AdaGroupSettings::new(n, max_groups, steps),
        StudyMethod::Paper => AdaGroupSettings::paper(n, max_groups, steps),
        StudyMethod::Uniform | StudyMethod::AllPairs => {
            let mut s = AdaGroupSettings::new(n, max_groups, 1);
            s.sampling = Sampling::Uniform;
            s
        }
    };
    st.seed = seed;
    st.subset_size = cfg.subset_size.min(n);
    match method {
        StudyMethod::AdaGroup | StudyMethod::Paper => {
            st.subsets_per_step = Some((b / steps).max(1));
        }
        StudyMethod::Uniform => st.subsets_per_step = Some(b.max(1)),
        StudyMethod::AllPairs => {
            st.subset_size = 2;
            st.subsets_per_step = Some(n * (n - 1) / 2);
        }
    }
    let mut session = AdaGroupSession::new(st)?;
    run_with_trainer(&mut session, &trainer)?;
    let found = session.partition().ok_or(Error::InvalidPartition {
        reason: "the campaign did not group every task",
    })?;
    let truth = trainer.truth()?;
    if std::env::var_os("TG_STUDY_DEBUG").is_some() {
        if let Some(h) = session.history().last() {
            for r in &h.table {
                eprintln!(
                    "  k {} value {:.3} sep {:?} crit {:?} effect {:?}",
                    r.k, r.value, r.separation, r.critical_z, r.effect
                );
            }
        }
    }
    let a = agreement(&found, &truth)?;
    let regret = (trainer.true_value(&truth) - trainer.true_value(&found)) / n as f64;
    Ok(StudyRun {
        family,
        n,
        groups: planted,
        seed,
        method,
        budget: if method == StudyMethod::AllPairs {
            (n - 1) / 2
        } else {
            budget
        },
        trained: session.total_reported(),
        found_groups: found.num_groups(),
        exact: a.exact,
        ari: a.ari,
        regret,
    })
}

/// Every run of a configuration (all-pairs once per case, not per budget), in a fixed order.
pub fn run_study(cfg: &StudyConfig) -> Result<Vec<StudyRun>, Error> {
    let mut jobs = Vec::new();
    for &family in &cfg.families {
        for &(n, g) in &cfg.sizes {
            for seed in 0..cfg.seeds {
                for &method in &cfg.methods {
                    if method == StudyMethod::AllPairs {
                        jobs.push((family, n, g, seed, method, 0));
                    } else {
                        for &b in &cfg.budgets {
                            jobs.push((family, n, g, seed, method, b));
                        }
                    }
                }
            }
        }
    }
    let threads = std::thread::available_parallelism()
        .map(|x| x.get())
        .unwrap_or(1)
        .min(jobs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<StudyRun, Error>>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|sc| {
        for _ in 0..threads {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(f, n, g, seed, m, b)) = jobs.get(i) else {
                    break;
                };
                let r = run_one(cfg, f, n, g, seed, m, b);
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or(Err(Error::InvalidPartition {
                    reason: "a study run did not finish",
                }))
        })
        .collect()
}

/// One aggregated cell: (family, n, method, budget) over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyCell {
    /// Family.
    pub family: Family,
    /// Tasks.
    pub n: usize,
    /// Planted groups.
    pub groups: usize,
    /// Method.
    pub method: StudyMethod,
    /// Budget multiple.
    pub budget: usize,
    /// Runs.
    pub runs: usize,
    /// Exact recoveries.
    pub exact: usize,
    /// Mean ARI.
    pub ari: f64,
    /// Mean regret per task.
    pub regret: f64,
    /// Mean number of groups found.
    pub found_groups: f64,
}

/// Aggregates runs over seeds, in first-appearance order.
pub fn summarize_study(runs: &[StudyRun]) -> Vec<StudyCell> {
    let mut cells: Vec<StudyCell> = Vec::new();
    for r in runs {
        let pos = cells.iter().position(|c| {
            c.family == r.family && c.n == r.n && c.method == r.method && c.budget == r.budget
        });
        let c = match pos {
            Some(p) => &mut cells[p],
            None => {
                cells.push(StudyCell {
                    family: r.family,
                    n: r.n,
                    groups: r.groups,
                    method: r.method,
                    budget: r.budget,
                    runs: 0,
                    exact: 0,
                    ari: 0.0,
                    regret: 0.0,
                    found_groups: 0.0,
                });
                let l = cells.len() - 1;
                &mut cells[l]
            }
        };
        c.runs += 1;
        c.exact += usize::from(r.exact);
        c.ari += r.ari;
        c.regret += r.regret;
        c.found_groups += r.found_groups as f64;
    }
    for c in &mut cells {
        let k = c.runs.max(1) as f64;
        c.ari /= k;
        c.regret /= k;
        c.found_groups /= k;
    }
    cells
}

/// A markdown table: one row per (family, n, method), one column per budget ("exact/runs
/// (ARI)"), and all-pairs in its own column.
pub fn study_table(cfg: &StudyConfig, cells: &[StudyCell]) -> String {
    let mut out = String::new();
    let _ = write!(out, "| family | n (groups) | method |");
    for b in &cfg.budgets {
        let _ = write!(out, " {b}×n |");
    }
    let _ = writeln!(out, " all pairs |");
    let _ = write!(out, "|---|---|---|");
    for _ in &cfg.budgets {
        let _ = write!(out, "---|");
    }
    let _ = writeln!(out, "---|");
    for &f in &cfg.families {
        for &(n, _) in &cfg.sizes {
            for &m in &cfg.methods {
                if m == StudyMethod::AllPairs {
                    continue;
                }
                let g = cells
                    .iter()
                    .find(|c| c.family == f && c.n == n)
                    .map_or(0, |c| c.groups);
                let _ = write!(out, "| {} | {n} ({g}) | {} |", f.name(), m.name());
                for &b in &cfg.budgets {
                    match cells
                        .iter()
                        .find(|c| c.family == f && c.n == n && c.method == m && c.budget == b)
                    {
                        Some(c) => {
                            let _ = write!(
                                out,
                                " {}/{} ({:.2}, k̄ {:.1}) |",
                                c.exact, c.runs, c.ari, c.found_groups
                            );
                        }
                        None => out.push_str(" – |"),
                    }
                }
                match cells
                    .iter()
                    .find(|c| c.family == f && c.n == n && c.method == StudyMethod::AllPairs)
                {
                    Some(c) if m == StudyMethod::AdaGroup => {
                        let _ = writeln!(out, " {}/{} ({:.2}) |", c.exact, c.runs, c.ari);
                    }
                    _ => out.push_str(" |\n"),
                }
            }
        }
    }
    out
}

/// Recovery rate against budget per method over all runs (for the plot): (method, budget,
/// exact fraction, mean ARI).
pub fn recovery_curves(
    cfg: &StudyConfig,
    runs: &[StudyRun],
) -> Vec<(StudyMethod, usize, f64, f64)> {
    let mut out = Vec::new();
    for &m in &cfg.methods {
        if m == StudyMethod::AllPairs {
            continue;
        }
        for &b in &cfg.budgets {
            let sel: Vec<&StudyRun> = runs
                .iter()
                .filter(|r| r.method == m && r.budget == b)
                .collect();
            if sel.is_empty() {
                continue;
            }
            let k = sel.len() as f64;
            let ex = sel.iter().filter(|r| r.exact).count() as f64 / k;
            let ari = sel.iter().map(|r| r.ari).sum::<f64>() / k;
            out.push((m, b, ex, ari));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trainer_is_deterministic_and_planted() {
        let t = SimTrainer::new(Family::Unequal.settings(30, 3, 1)).unwrap();
        let a = t.train(&[1, 5, 9]).unwrap();
        let b = t.train(&[9, 5, 1]).unwrap();
        assert_eq!(a[0].to_bits(), b[2].to_bits());
        let p = t.truth().unwrap();
        assert_eq!(p.num_groups(), 3);
        assert!(p.sizes().iter().all(|&s| s >= 2));
        let one = Partition::from_labels(&[0; 30]).unwrap();
        assert!(t.true_value(&p) > t.true_value(&one));
    }

    /// Unequal sizes with 2·groups > n: every planted group still gets a task.
    #[test]
    fn unequal_sizes_keep_every_group_when_groups_are_many() {
        for (n, groups) in [(5, 4), (7, 4), (9, 9), (8, 4)] {
            let t = SimTrainer::new(Family::Unequal.settings(n, groups, 3)).unwrap();
            let p = t.truth().unwrap();
            assert_eq!(
                (p.n(), p.num_groups()),
                (n, groups),
                "n {n} groups {groups}"
            );
        }
    }
}
