//! `taskgroup demo` and `taskgroup eval`: the paper's claim, checkable in one command.
//!
//! Datasets: the paper's planted model (n = 150, 10 seeds), the 57-case multitask benchmark, the
//! in-context-learning-like case (20 seeds, raw and degree-normalised), and the real Taskonomy
//! subset-training tables (Standley et al.; choose on validation, score on test). Methods: SDP
//! with robust rounding, SDP with the paper's threshold rounding (c = 1), spectral clustering
//! and Lloyd's k-means — all through `taskgroup_eval::methods::run_method`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use taskgroup_core::normalize::Normalization;
use taskgroup_core::session::adagroup::{AdaGroupSettings, TaskOrder};
use taskgroup_eval::benchmark::{icl_case, multitask_cases, paper_planted_cases, Case};
use taskgroup_eval::methods::{run_case, Method};
use taskgroup_eval::metrics::adjusted_rand_index;
use taskgroup_eval::standley::{
    higher_order_affinity, regret, LossTransform, SubsetTable, TASKONOMY,
};
use taskgroup_eval::study::{
    recovery_curves, run_study, study_table, summarize_study, StudyConfig,
};

use crate::args::Args;
use crate::svg::heatmap;
use crate::CliError;

/// Usage text of `taskgroup demo` / `taskgroup eval`.
pub const USAGE: &str = "usage: taskgroup demo [--out DIR] [--quick]
       taskgroup demo --adagroup [--n N] [--steps S] [--groups G] [-k K] [--seed SEED]
                                 [--subsets-per-step M]
       taskgroup demo --adagroup --trainer linear [--model logistic|ridge] [--backend cpu|cuda]
                                 [--manifest FILE | --save-data DIR] [--iterations I] [--step X]
                                 [--n N] [--steps S] [--groups G] [-k K] [--seed SEED]
                                 [--subsets-per-step M]
       taskgroup eval --json [--quick]
       taskgroup eval --adagroup [--full] [--json] [--out DIR]

Runs the paper's planted model (n = 150, 10 seeds), the 57-case multitask benchmark, the
in-context-learning-like case (20 seeds) and the real Taskonomy tables with SDP (robust and
paper rounding), spectral clustering and Lloyd's k-means; prints one table per dataset and
(demo) writes SVG heatmaps to DIR (default demo-out). --quick: 3 planted seeds, 5 ICL seeds.
--adagroup: a whole AdaGroup campaign (default n = 100 tasks in 10 planted groups, 10 steps,
up to K = 10 groups, M = 200 subsets of 5 tasks per step) with the built-in synthetic trainer;
per step the requests, the groups and the recovery.
--trainer linear: every subset is really trained (one logistic or ridge regression per subset on
the union of its tasks' feature data, full-batch gradient descent; gpu/README-train.md), on
seeded synthetic features (default n = 40 tasks in G = 4 planted groups, 4 steps, K = G) or on
the tasks of a manifest (--manifest FILE: JSON naming .npy arrays per task; no ground truth, the
final groups are printed by name). --save-data DIR writes the synthetic features as such a
manifest. --backend cuda needs a build with CUDA, which this binary is not.
eval --adagroup: the sample-efficiency study (README, method.md §8): simulated trainers, AdaGroup
against uniform sampling, all pairs and the paper's configuration at budgets of 1-10 x n subsets;
a table of exact recoveries and recovery-against-budget.svg in DIR (default demo-out). --full:
n up to 200, 1-10 groups, budgets up to 20 x n (long). `demo` prints a small version of it.";

/// One table row: a method (and normalisation) on a dataset.
#[derive(Debug, Clone)]
pub struct Row {
    /// Method name.
    pub method: String,
    /// Normalisation applied first.
    pub normalization: String,
    /// Number of cases.
    pub cases: usize,
    /// Cases recovered (ground truth, or the test-best partition for Taskonomy).
    pub recovered: usize,
    /// Mean ARI against the ground truth (Taskonomy: against the test-best partition).
    pub mean_ari: f64,
    /// Mean regret: (truth value − found value)/|truth value| on the raw affinity (negative when
    /// the method found a better partition than the planted one); Taskonomy: test loss − best.
    pub mean_regret: f64,
    /// Taskonomy only: mean test loss − the test loss of the exhaustive validation pick.
    pub mean_regret_vs_validation: Option<f64>,
    /// Wall time of the method over all cases, seconds.
    pub seconds: f64,
}

/// One dataset's table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Short name (`planted`, `multitask`, `icl`, `taskonomy`).
    pub name: String,
    /// What it is.
    pub description: String,
    /// Rows.
    pub rows: Vec<Row>,
}

/// A figure to draw: matrix, groups, title.
struct Figure {
    file: String,
    values: Vec<f64>,
    n: usize,
    groups: Vec<Vec<usize>>,
    title: String,
    subtitle: String,
}

fn err(e: taskgroup_core::Error) -> CliError {
    CliError::Internal(e.to_string())
}

fn case_rows(
    cases: &[Case],
    methods: &[Method],
    norms: &[Normalization],
    figure_case: Option<usize>,
    figs: &mut Vec<Figure>,
    prefix: &str,
) -> Result<Vec<Row>, CliError> {
    let mut rows = Vec::new();
    for &how in norms {
        for &m in methods {
            let start = Instant::now();
            let (mut rec, mut ari, mut reg) = (0, 0.0, 0.0);
            for (i, c) in cases.iter().enumerate() {
                let o = run_case(c, m, how, 0).map_err(err)?;
                rec += usize::from(o.recovered);
                ari += o.ari;
                reg += (o.truth_value - o.raw_value) / o.truth_value.abs().max(f64::MIN_POSITIVE);
                if figure_case == Some(i) && how == norms[0] {
                    figs.push(Figure {
                        file: format!("{prefix}-{}.svg", m.name()),
                        values: c.affinity.as_slice().to_vec(),
                        n: c.n(),
                        groups: o.outcome.partition.groups(),
                        title: format!("{} — {}", c.name, m),
                        subtitle: format!(
                            "{} tasks, {} groups found (k = {}); recovered: {}; ARI {:.3}",
                            c.n(),
                            o.outcome.partition.num_groups(),
                            c.k,
                            if o.recovered { "yes" } else { "no" },
                            o.ari
                        ),
                    });
                }
            }
            let nc = cases.len().max(1) as f64;
            rows.push(Row {
                method: m.to_string(),
                normalization: how.as_str().to_string(),
                cases: cases.len(),
                recovered: rec,
                mean_ari: ari / nc,
                mean_regret: reg / nc,
                mean_regret_vs_validation: None,
                seconds: start.elapsed().as_secs_f64(),
            });
        }
    }
    Ok(rows)
}

fn taskonomy_rows(methods: &[Method], figs: &mut Vec<Figure>) -> Result<Vec<Row>, CliError> {
    let mut rows = Vec::new();
    let tables: Vec<(&str, SubsetTable, SubsetTable)> = TASKONOMY
        .iter()
        .map(|(name, v, t)| Ok((*name, SubsetTable::parse(v)?, SubsetTable::parse(t)?)))
        .collect::<Result<_, taskgroup_core::Error>>()
        .map_err(err)?;
    for &m in methods {
        let start = Instant::now();
        let (mut cases, mut rec, mut ari, mut reg, mut regv) = (0, 0, 0.0, 0.0, 0.0);
        for (name, val, test) in &tables {
            for tr in LossTransform::ALL {
                let t = higher_order_affinity(val, tr).map_err(err)?;
                for k in [2usize, 3] {
                    let o = taskgroup_eval::methods::run_method(&t, k, m, 0).map_err(err)?;
                    let r = regret(val, test, &o.partition, k).map_err(err)?;
                    let (best, _) =
                        taskgroup_eval::standley::best_partition(test, k).map_err(err)?;
                    cases += 1;
                    rec += usize::from(r.regret <= 0.0);
                    ari += adjusted_rand_index(&o.partition, &best).map_err(err)?;
                    reg += r.regret;
                    regv += r.regret_vs_validation_pick;
                    if *name == "setting 1" && tr == LossTransform::NegativeLoss && k == 3 {
                        figs.push(Figure {
                            file: format!("taskonomy-s1-k3-{}.svg", m.name()),
                            values: t.as_slice().to_vec(),
                            n: t.n(),
                            groups: o.partition.groups(),
                            title: format!("Taskonomy {name}, −loss affinity (Eq. 6), k = 3 — {m}"),
                            subtitle: format!(
                                "test loss {:.5} (best {:.5}, worst {:.5}); rank {} of {}",
                                r.loss, r.best_loss, r.worst_loss, r.rank, r.count
                            ),
                        });
                    }
                }
            }
        }
        let nc = cases.max(1) as f64;
        rows.push(Row {
            method: m.to_string(),
            normalization: "none".into(),
            cases,
            recovered: rec,
            mean_ari: ari / nc,
            mean_regret: reg / nc,
            mean_regret_vs_validation: Some(regv / nc),
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    Ok(rows)
}

/// Runs every dataset; returns the tables and the figures to draw.
fn evaluate(quick: bool) -> Result<(Vec<Table>, Vec<Figure>), CliError> {
    let methods = Method::PAPER;
    let mut figs = Vec::new();
    let mut tables = Vec::new();

    let planted = paper_planted_cases(50, if quick { 3 } else { 10 }).map_err(err)?;
    tables.push(Table {
        name: "planted".into(),
        description: format!(
            "the paper's planted model: 3 groups of 50 tasks (n = 150), {} seeds",
            planted.len()
        ),
        rows: case_rows(
            &planted,
            &methods,
            &[Normalization::None],
            Some(0),
            &mut figs,
            "planted",
        )?,
    });

    let mt = multitask_cases(0).map_err(err)?;
    let big = mt
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| c.n())
        .map(|(i, _)| i);
    tables.push(Table {
        name: "multitask".into(),
        description: format!(
            "{} multitask cases (2–6 of 6 task categories, per-task scales and offsets; truth verified optimal)",
            mt.len()
        ),
        rows: case_rows(&mt, &methods, &[Normalization::None, Normalization::Standardize], big, &mut figs, "multitask")?,
    });

    let icl: Vec<Case> = (0..if quick { 5 } else { 20 })
        .map(icl_case)
        .collect::<Result<_, _>>()
        .map_err(err)?;
    tables.push(Table {
        name: "icl".into(),
        description: format!(
            "in-context-learning-like case: 9 tasks in 3 groups, one group's scores ~100× larger; {} seeds",
            icl.len()
        ),
        rows: case_rows(&icl, &methods, &[Normalization::None, Normalization::SymmetricDegree], Some(0), &mut figs, "icl")?,
    });

    tables.push(Table {
        name: "taskonomy".into(),
        description: "real Taskonomy subset-training losses (Standley et al.): settings 1 and 2 × {−loss, relative improvement} × k ∈ {2, 3}; chosen on validation, scored on test (regret in test loss)".into(),
        rows: taskonomy_rows(&methods, &mut figs)?,
    });
    Ok((tables, figs))
}

/// The tables as JSON (`seconds` included; snapshot tests drop it).
pub fn tables_json(tables: &[Table]) -> Value {
    json!({
        "datasets": tables.iter().map(|t| json!({
            "name": t.name,
            "description": t.description,
            "rows": t.rows.iter().map(|r| json!({
                "method": r.method,
                "normalization": r.normalization,
                "cases": r.cases,
                "recovered": r.recovered,
                "mean_ari": r.mean_ari,
                "mean_regret": r.mean_regret,
                "mean_regret_vs_validation": r.mean_regret_vs_validation,
                "seconds": r.seconds,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()
    })
}

/// The tables as text.
pub fn tables_text(tables: &[Table]) -> String {
    let mut s = String::new();
    for t in tables {
        s.push_str(&format!("== {}: {}\n", t.name, t.description));
        s.push_str(&format!(
            "{:<22} {:<12} {:>10} {:>9} {:>12} {:>9}\n",
            "method", "normalise", "recovered", "mean ARI", "mean regret", "time (s)"
        ));
        for r in &t.rows {
            s.push_str(&format!(
                "{:<22} {:<12} {:>10} {:>9.3} {:>12.5} {:>9.2}\n",
                r.method,
                r.normalization,
                format!("{}/{}", r.recovered, r.cases),
                r.mean_ari,
                r.mean_regret,
                r.seconds
            ));
        }
        s.push('\n');
    }
    s
}

/// The options of `taskgroup demo` and `taskgroup eval` that take a value; the last six
/// ([`LINEAR_ONLY`]) are those of `demo --adagroup --trainer linear` only.
pub const OPTIONS: &[&str] = &[
    "--out",
    "-o",
    "--n",
    "--steps",
    "--groups",
    "--seed",
    "-k",
    "--max-groups",
    "--subsets-per-step",
    "--trainer",
    "--backend",
    "--manifest",
    "--model",
    "--save-data",
    "--iterations",
    "--step",
];

/// The options of `demo --adagroup --trainer linear` only: the last six of [`OPTIONS`].
const LINEAR_ONLY: &[&str] = OPTIONS.split_at(OPTIONS.len() - 6).1;

/// Runs `taskgroup demo` (`eval == false`) or `taskgroup eval` on its arguments (`--help` is
/// handled before).
pub fn run(mut a: Args, eval: bool) -> Result<(), CliError> {
    if eval && a.flag("--adagroup") {
        let json_out = a.flag("--json");
        let full = a.flag("--full");
        a.finish()?;
        let cfg = if full {
            StudyConfig::full()
        } else {
            StudyConfig::default_study()
        };
        let dir = PathBuf::from(a.value(&["--out", "-o"]).unwrap_or("demo-out"));
        return study(&cfg, json_out, Some(&dir));
    }
    let adagroup = !eval && a.flag("--adagroup");
    if !adagroup {
        if let Some(o) = std::iter::once("--trainer")
            .chain(LINEAR_ONLY.iter().copied())
            .find(|o| a.value(&[o]).is_some())
        {
            return Err(CliError::Usage(format!("{o} needs demo --adagroup")));
        }
    }
    if adagroup {
        a.finish()?;
        match a.value(&["--trainer"]).unwrap_or("synthetic") {
            "linear" => return linear_demo(&a),
            "synthetic" => {}
            other => {
                return Err(CliError::Usage(format!(
                    "--trainer expects `synthetic` or `linear`, got {other:?}"
                )))
            }
        }
        if let Some(o) = LINEAR_ONLY.iter().find(|o| a.value(&[o]).is_some()) {
            return Err(CliError::Usage(format!("{o} needs --trainer linear")));
        }
        let n = a.parsed_or::<usize>(&["--n"], "a positive integer", 100)?;
        let steps = a.parsed_or::<usize>(&["--steps"], "a positive integer", 10)?;
        let groups = a.parsed_or::<usize>(&["--groups"], "a positive integer", 10)?;
        let seed = a.parsed_or::<u64>(&["--seed"], "a non-negative integer", 0)?;
        // Up to k groups (default: the planted count); AdaGroup finds the count itself.
        let max_k = a.parsed_or(&["-k", "--max-groups"], "a positive integer", groups)?;
        let settings = campaign_settings(&a, n, max_k.min(n), steps, seed)?;
        return adagroup_demo(settings, groups);
    }
    let json_out = a.flag("--json");
    let quick = a.flag("--quick");
    a.finish()?;
    let start = Instant::now();
    let (tables, figs) = evaluate(quick)?;
    if eval {
        if json_out {
            println!(
                "{}",
                serde_json::to_string(&tables_json(&tables))
                    .map_err(|e| CliError::Internal(e.to_string()))?
            );
        } else {
            print!("{}", tables_text(&tables));
        }
        return Ok(());
    }
    print!("{}", tables_text(&tables));
    let dir = PathBuf::from(a.value(&["--out", "-o"]).unwrap_or("demo-out"));
    println!("\n## AdaGroup sample efficiency (small configuration; `taskgroup eval --adagroup` runs the study)");
    study(&StudyConfig::quick(), false, None)?;
    std::fs::create_dir_all(&dir).map_err(|e| crate::io_failure("cannot create", &dir, &e))?;
    for f in &figs {
        let p = dir.join(&f.file);
        std::fs::write(
            &p,
            heatmap(&f.values, f.n, &f.groups, &f.title, &f.subtitle),
        )
        .map_err(|e| crate::io_failure("cannot write", &p, &e))?;
    }
    println!(
        "wrote {} SVG heatmaps to {}/ (open them in a browser); total {:.1} s",
        figs.len(),
        dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs a sample-efficiency study, prints its table (or JSON) and, with a folder, writes the
/// recovery-against-budget plot there.
fn study(cfg: &StudyConfig, json_out: bool, dir: Option<&Path>) -> Result<(), CliError> {
    let start = Instant::now();
    let runs = run_study(cfg).map_err(err)?;
    let cells = summarize_study(&runs);
    let curves = recovery_curves(cfg, &runs);
    if json_out {
        let rows: Vec<Value> = cells
            .iter()
            .map(|c| {
                json!({"family": c.family.name(), "n": c.n, "groups": c.groups,
                       "method": c.method.name(), "budget_times_n": c.budget, "runs": c.runs,
                       "exact": c.exact, "mean_ari": c.ari, "mean_regret": c.regret,
                       "mean_groups_found": c.found_groups})
            })
            .collect();
        println!("{}", json!({ "cells": rows }));
    } else {
        print!("{}", study_table(cfg, &cells));
        println!("recovery over all cases (exact fraction / mean ARI):");
        for (m, b, ex, ari) in &curves {
            println!("  {:9} {b:>2}×n  {ex:.2} / {ari:.2}", m.name());
        }
    }
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| crate::io_failure("cannot create", dir, &e))?;
        let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for (m, b, ex, _) in &curves {
            match series.iter_mut().find(|s| s.0 == m.name()) {
                Some(s) => s.1.push((*b as f64, *ex)),
                None => series.push((m.name().to_string(), vec![(*b as f64, *ex)])),
            }
        }
        let p = dir.join("recovery-against-budget.svg");
        std::fs::write(
            &p,
            crate::svg::line_plot(
                "Exact recovery against budget",
                "trained subsets / n",
                "fraction of runs recovering the planted groups",
                &series,
                true,
            ),
        )
        .map_err(|e| crate::io_failure("cannot write", &p, &e))?;
        if !json_out {
            println!("wrote {}", p.display());
        }
    }
    if !json_out {
        println!(
            "study: {} runs in {:.1} s",
            runs.len(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The settings of a demo campaign: n tasks arriving in shuffled order over `steps` steps, up
/// to `max_k` groups, `seed`, and `--subsets-per-step` subsets per step. Its default is 20
/// per new task: at the paper's 5 per new task, each pair of tasks is trained together about
/// once and the trainers' noise hides the groups (see README).
fn campaign_settings(
    a: &Args,
    n: usize,
    max_k: usize,
    steps: usize,
    seed: u64,
) -> Result<AdaGroupSettings, CliError> {
    let m = a.parsed_or(
        &["--subsets-per-step"],
        "a positive integer",
        20 * n.div_ceil(steps.max(1)),
    )?;
    let mut settings = AdaGroupSettings::new(n, max_k, steps);
    settings.seed = seed;
    settings.task_order = TaskOrder::Shuffled;
    settings.subsets_per_step = Some(m);
    Ok(settings)
}

/// `taskgroup demo --adagroup`: a whole campaign with the synthetic trainer, whose `groups`
/// planted groups the campaign should recover.
fn adagroup_demo(settings: AdaGroupSettings, groups: usize) -> Result<(), CliError> {
    use taskgroup_core::session::trainer::run_step_with_trainer;
    use taskgroup_eval::trainer::{SyntheticTrainer, SyntheticTrainerSettings};

    let bad = |e: taskgroup_core::Error| CliError::Input(e.to_string());
    let (n, seed, steps) = (settings.n, settings.seed, settings.steps);
    let trainer =
        SyntheticTrainer::new(SyntheticTrainerSettings::new(n, groups, seed)).map_err(bad)?;
    let truth: Vec<usize> = trainer
        .truth()
        .map_err(bad)?
        .labels()
        .iter()
        .map(|&l| l as usize)
        .collect();
    let max_groups = settings.max_groups;
    let subsets_per_step = settings.subsets_per_step.unwrap_or(0);
    println!(
        "AdaGroup: {n} tasks in {groups} planted groups (synthetic trainer, seed {seed}); {steps} steps, up to {max_groups} groups, {subsets_per_step} subsets per step"
    );
    adagroup_campaign(settings, Some(&truth), None, |session| {
        run_step_with_trainer(session, &trainer).map_err(bad)
    })
}

/// Runs a campaign step by step with `step` (which trains, reports and advances), printing
/// one line per step (with the recovery of `truth` when known) and a summary; with `names`,
/// the final groups by name.
fn adagroup_campaign(
    settings: taskgroup_core::session::adagroup::AdaGroupSettings,
    truth: Option<&[usize]>,
    names: Option<&[String]>,
    mut step: impl FnMut(
        &mut taskgroup_core::session::adagroup::AdaGroupSession,
    ) -> Result<taskgroup_core::session::adagroup::StepSummary, CliError>,
) -> Result<(), CliError> {
    use taskgroup_core::session::adagroup::AdaGroupSession;
    let bad = |e: taskgroup_core::Error| CliError::Input(e.to_string());
    let n = settings.n;
    let mut session = AdaGroupSession::new(settings).map_err(bad)?;
    print!(
        "{:>4}  {:>5}  {:>9}  {:>10}  {:>8}  {:>6}",
        "step", "seen", "requests", "trained", "coverage", "groups"
    );
    if truth.is_some() {
        print!("  {:>7}  {:>9}", "ARI", "recovered");
    }
    println!();
    let start = Instant::now();
    while !session.is_done() {
        let requests = session.next_requests().len();
        let h = step(&mut session)?;
        print!(
            "{:>4}  {:>5}  {:>9}  {:>10}  {:>7.1}%  {:>6}",
            h.step + 1,
            h.tasks_seen,
            requests,
            h.total_subsets_trained,
            100.0 * h.pair_coverage,
            h.groups.len(),
        );
        if let Some(truth) = truth {
            // Recovery on the tasks seen so far: the truth restricted to them.
            let seen: Vec<usize> = session.tasks_seen().to_vec();
            let mut pos = vec![usize::MAX; n];
            seen.iter().enumerate().for_each(|(i, &t)| pos[t] = i);
            let mut found = vec![0usize; seen.len()];
            for (g, members) in h.groups.iter().enumerate() {
                for &t in members {
                    found[pos[t]] = g;
                }
            }
            let truth_seen: Vec<usize> = seen.iter().map(|&t| truth[t]).collect();
            let (pf, pt) = (
                taskgroup_core::Partition::from_labels(&found).map_err(bad)?,
                taskgroup_core::Partition::from_labels(&truth_seen).map_err(bad)?,
            );
            let ari = adjusted_rand_index(&pf, &pt).map_err(bad)?;
            print!("  {:>7.3}  {:>9}", ari, if pf == pt { "yes" } else { "no" });
        }
        println!();
    }
    let total = session
        .history()
        .last()
        .map(|h| h.total_subsets_trained)
        .unwrap_or(0);
    let pairs = n * (n - 1) / 2;
    println!(
        "trained {total} subsets in total, against {pairs} pairs (+{n} single tasks) for a full pairwise campaign ({:.1}× fewer); {:.1} s",
        (pairs + n) as f64 / total.max(1) as f64,
        start.elapsed().as_secs_f64()
    );
    if let Some(names) = names {
        for (g, members) in session.groups().iter().enumerate() {
            let list: Vec<&str> = members
                .iter()
                .map(|&t| names.get(t).map_or("?", String::as_str))
                .collect();
            println!("group {}: {}", g + 1, list.join(" "));
        }
    }
    Ok(())
}

/// `taskgroup demo --adagroup --trainer linear`: a campaign that trains a linear model per
/// subset (taskgroup-gpu), on synthetic features or on the tasks of a manifest.
fn linear_demo(a: &Args) -> Result<(), CliError> {
    use std::path::Path;
    use taskgroup_gpu::train::manifest::{read_manifest, write_manifest};
    use taskgroup_gpu::train::synthetic::{synthetic_features, SyntheticFeatureSettings};
    use taskgroup_gpu::train::{run_step_batched, LinearSettings, LinearTrainer, Model};
    use taskgroup_gpu::{Backend, GpuError};

    let gpu_err = |e: GpuError| match e {
        GpuError::InvalidInput(m) => CliError::Input(m),
        GpuError::Core(c) => CliError::Input(c.to_string()),
        other => CliError::Internal(other.to_string()),
    };
    let backend: Backend = a
        .value(&["--backend"])
        .unwrap_or("cpu")
        .parse()
        .map_err(|_| CliError::Usage("--backend expects `cpu` or `cuda`".into()))?;
    match backend.check() {
        Ok(()) => {}
        Err(GpuError::NotCompiled) => {
            return Err(CliError::Input(
                "--backend cuda: this taskgroup binary is built without CUDA (the command-line \
                 tool never links the CUDA driver); use --backend cpu, or call the taskgroup-gpu \
                 library built with its `cuda` feature"
                    .into(),
            ))
        }
        Err(e) => return Err(CliError::Input(format!("--backend cuda: {e}"))),
    }
    let model: Model = a
        .value(&["--model"])
        .unwrap_or("logistic")
        .parse()
        .map_err(|_| CliError::Usage("--model expects `logistic` or `ridge`".into()))?;
    let seed = a.parsed_or::<u64>(&["--seed"], "a non-negative integer", 0)?;
    let mut linear = LinearSettings {
        model,
        seed,
        ..LinearSettings::default()
    };
    if let Some(it) = a.parsed::<usize>(&["--iterations"], "a positive integer")? {
        linear.iterations = it;
    }
    if let Some(x) = a.parsed::<f64>(&["--step"], "a positive number")? {
        linear.step = x;
    }
    linear.validate().map_err(gpu_err)?;
    let manifest = a.value(&["--manifest"]);
    let save = a.value(&["--save-data"]);
    if manifest.is_some() && save.is_some() {
        return Err(CliError::Usage(
            "--save-data writes synthetic data; it cannot be combined with --manifest".into(),
        ));
    }
    let (data, truth, groups) = match manifest {
        Some(file) => {
            if a.value(&["--n"]).is_some() || a.value(&["--groups"]).is_some() {
                return Err(CliError::Usage(
                    "--n and --groups describe synthetic data; a manifest sets its own tasks"
                        .into(),
                ));
            }
            let data = read_manifest(Path::new(file)).map_err(gpu_err)?;
            let groups = data.len().min(10);
            (data, None, groups)
        }
        None => {
            let n = a.parsed_or::<usize>(&["--n"], "a positive integer", 40)?;
            let groups = a.parsed_or::<usize>(&["--groups"], "a positive integer", 4)?;
            let mut fs = SyntheticFeatureSettings::new(n, groups, seed);
            fs.model = model;
            let syn = synthetic_features(&fs).map_err(gpu_err)?;
            if let Some(dir) = save {
                let path = write_manifest(Path::new(dir), &syn.data).map_err(gpu_err)?;
                println!("wrote the synthetic features to {}", path.display());
            }
            (syn.data, Some(syn.labels), groups)
        }
    };
    let n = data.len();
    let steps = a
        .parsed_or::<usize>(
            &["--steps"],
            "a positive integer",
            if truth.is_some() { 4 } else { 10 },
        )?
        .min(n);
    let max_k = a
        .parsed_or::<usize>(&["-k", "--max-groups"], "a positive integer", groups)?
        .min(n);
    let settings = campaign_settings(a, n, max_k, steps, seed)?;
    let m = settings.subsets_per_step.unwrap_or(0);
    let names = data.names();
    let dim = data.dim();
    let trainer = LinearTrainer::new(data, linear, backend).map_err(gpu_err)?;
    let what = match (&truth, manifest) {
        (Some(_), _) => format!("{n} tasks in {groups} planted groups (synthetic features, "),
        (None, Some(f)) => format!("{n} tasks from {f} ("),
        (None, None) => format!("{n} tasks ("),
    };
    println!(
        "AdaGroup: {what}d = {dim}; {} regression, {} steps of size {}, {backend} backend, seed {seed}); {steps} steps, up to {max_k} groups, {m} subsets per step",
        model.as_str(),
        linear.iterations,
        linear.step
    );
    adagroup_campaign(
        settings,
        truth.as_deref(),
        if truth.is_none() { Some(&names) } else { None },
        |session| run_step_batched(session, &trainer).map_err(gpu_err),
    )
}
