//! `taskgroup session ...` end to end: a whole campaign driven through the CLI with the
//! synthetic trainer, compared with an uninterrupted in-process run; concurrent reports; bad
//! reports and corrupt checkpoints change nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use taskgroup_core::session::adagroup::{AdaGroupSession, AdaGroupSettings};
use taskgroup_core::session::trainer::{run_with_trainer, SubsetTrainer};
use taskgroup_eval::trainer::{SyntheticTrainer, SyntheticTrainerSettings};

fn tg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskgroup"))
        .args(args)
        .output()
        .expect("run taskgroup")
}

fn ok(args: &[&str]) -> String {
    let o = tg(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("taskgroup-session-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

const N: usize = 24;
const K: usize = 6;
const STEPS: usize = 3;
const SEED: u64 = 5;

fn trainer() -> SyntheticTrainer {
    SyntheticTrainer::new(SyntheticTrainerSettings::new(N, 3, 11)).unwrap()
}

fn new_session(dir: &Path) {
    ok(&[
        "session",
        "new",
        "--tasks",
        &N.to_string(),
        "-k",
        &K.to_string(),
        "--steps",
        &STEPS.to_string(),
        "--subset-size",
        "4",
        "--seed",
        &SEED.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ]);
}

fn pending(dir: &Path) -> Vec<(String, Vec<usize>)> {
    ok(&["session", "next", dir.to_str().unwrap(), "--json"])
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("one JSON object per line");
            let tasks = v["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_u64().unwrap() as usize)
                .collect();
            (v["id"].as_str().unwrap().to_string(), tasks)
        })
        .collect()
}

fn scores_arg(s: &[f64]) -> String {
    s.iter()
        .map(|x| format!("{x:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn status(dir: &Path) -> Value {
    serde_json::from_str(&ok(&["session", "status", dir.to_str().unwrap(), "--json"])).unwrap()
}

#[test]
fn cli_campaign_matches_in_process_run() {
    let dir = tmpdir("campaign");
    new_session(&dir);
    let t = trainer();
    let mut rounds = 0;
    while !status(&dir)["done"].as_bool().unwrap() {
        let mut reqs = pending(&dir);
        assert!(!reqs.is_empty());
        reqs.reverse(); // out of order
        for (id, tasks) in reqs {
            let s = t.train(&tasks).unwrap();
            ok(&[
                "session",
                "report",
                dir.to_str().unwrap(),
                "--id",
                &id,
                "--scores",
                &scores_arg(&s),
            ]);
        }
        rounds += 1;
        assert!(rounds <= STEPS);
    }
    let st = status(&dir);
    assert_eq!(st["step"], STEPS);
    assert_eq!(st["pending"], 0);
    let mut settings = AdaGroupSettings::new(N, K, STEPS);
    settings.subset_size = 4;
    settings.seed = SEED;
    let mut s = AdaGroupSession::new(settings).unwrap();
    run_with_trainer(&mut s, &t).unwrap();
    assert_eq!(
        st["groups"],
        serde_json::json!(s.groups()),
        "CLI and in-process runs disagree"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn concurrent_reports_are_not_lost() {
    let dir = tmpdir("concurrent");
    new_session(&dir);
    let t = trainer();
    let reqs = pending(&dir);
    let handles: Vec<_> = reqs
        .iter()
        .map(|(id, tasks)| {
            let s = scores_arg(&t.train(tasks).unwrap());
            Command::new(env!("CARGO_BIN_EXE_taskgroup"))
                .args([
                    "session",
                    "report",
                    dir.to_str().unwrap(),
                    "--id",
                    id,
                    "--scores",
                    &s,
                ])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut h in handles {
        assert!(h.wait().unwrap().success());
    }
    let st = status(&dir);
    // Every report of step 0 landed: the session advanced to step 1.
    assert_eq!(st["step"], 1, "{st}");
    assert_eq!(st["history"][0]["subsets_trained"], reqs.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_reports_and_corrupt_checkpoints_change_nothing() {
    let dir = tmpdir("bad");
    new_session(&dir);
    let d = dir.to_str().unwrap();
    let ck = dir.join("session.tgck");
    let before = std::fs::read(&ck).unwrap();
    let reqs = pending(&dir);
    let (id, tasks) = &reqs[0];
    let good = vec![0.5; tasks.len()];
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--id".into(),
                "s0-9999".into(),
                "--scores".into(),
                scores_arg(&good),
            ],
            "s0-9999",
        ),
        (
            vec![
                "--id".into(),
                "bogus".into(),
                "--scores".into(),
                scores_arg(&good),
            ],
            "bogus",
        ),
        (
            vec!["--id".into(), id.clone(), "--scores".into(), "0.5".into()],
            id,
        ),
        (
            vec![
                "--id".into(),
                id.clone(),
                "--scores".into(),
                scores_arg(&vec![f64::NAN; tasks.len()]),
            ],
            "not finite",
        ),
        (
            vec!["--id".into(), id.clone(), "--scores".into(), "a,b".into()],
            "not a number",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["session", "report", d];
        args.extend(extra.iter().map(String::as_str));
        let o = tg(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(
            std::fs::read(&ck).unwrap(),
            before,
            "{args:?} changed the session"
        );
    }
    // A conflicting duplicate is refused; an identical one is accepted and changes nothing.
    ok(&[
        "session",
        "report",
        d,
        "--id",
        id,
        "--scores",
        &scores_arg(&good),
    ]);
    let after_one = std::fs::read(&ck).unwrap();
    ok(&[
        "session",
        "report",
        d,
        "--id",
        id,
        "--scores",
        &scores_arg(&good),
    ]);
    assert_eq!(std::fs::read(&ck).unwrap(), after_one);
    let o = tg(&[
        "session",
        "report",
        d,
        "--id",
        id,
        "--scores",
        &scores_arg(&vec![0.25; tasks.len()]),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&ck).unwrap(), after_one);
    // Corrupt, truncated and foreign checkpoints: a clear error, exit 2, the file untouched.
    for (name, bytes) in [
        ("truncated", after_one[..after_one.len() / 2].to_vec()),
        ("flipped", {
            let mut b = after_one.clone();
            let i = b.len() - 3;
            b[i] ^= 0x40;
            b
        }),
        ("garbage", b"not a checkpoint at all".to_vec()),
        ("empty", Vec::new()),
    ] {
        std::fs::write(&ck, &bytes).unwrap();
        let o = tg(&["session", "status", d]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("session.tgck"),
            "{name}"
        );
        assert_eq!(std::fs::read(&ck).unwrap(), bytes, "{name}: file changed");
    }
    // Refuses to overwrite an existing session.
    std::fs::write(&ck, &after_one).unwrap();
    let o = tg(&[
        "session", "new", "--tasks", "4", "-k", "2", "--steps", "1", "--out", d,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&ck).unwrap(), after_one);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn named_tasks_and_csv_reports() {
    let dir = tmpdir("names");
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("tasks.txt");
    let names: Vec<String> = (0..8).map(|i| format!("task{i}")).collect();
    std::fs::write(&list, names.join("\n")).unwrap();
    let sdir = dir.join("s");
    ok(&[
        "session",
        "new",
        "--tasks",
        list.to_str().unwrap(),
        "-k",
        "3",
        "--steps",
        "2",
        "--subset-size",
        "3",
        "--out",
        sdir.to_str().unwrap(),
    ]);
    let text = ok(&["session", "next", sdir.to_str().unwrap()]);
    assert!(text.contains("task"), "{text}");
    let t = SyntheticTrainer::new(SyntheticTrainerSettings::new(8, 2, 3)).unwrap();
    let mut csv = String::from("id,scores\n");
    for (id, tasks) in pending(&sdir) {
        csv.push_str(&format!("{id},{}\n", scores_arg(&t.train(&tasks).unwrap())));
    }
    let f = dir.join("results.csv");
    std::fs::write(&f, csv).unwrap();
    ok(&[
        "session",
        "report",
        sdir.to_str().unwrap(),
        "--from-csv",
        f.to_str().unwrap(),
    ]);
    let st = status(&sdir);
    assert_eq!(st["step"], 1);
    assert!(st["group_names"].is_array());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn duplicate_task_names_are_refused() {
    let dir = tmpdir("dupnames");
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("tasks.txt");
    std::fs::write(&list, "a\nb\na\n").unwrap();
    let out = dir.join("s");
    let o = tg(&[
        "session",
        "new",
        "--tasks",
        list.to_str().unwrap(),
        "-k",
        "2",
        "--steps",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("listed twice"));
    assert!(!out.join("session.tgck").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
