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

/// `session new --tasks TASKS -k K --steps STEPS EXTRA... --out OUT`.
fn new_args<'a>(
    tasks: &'a str,
    k: &'a str,
    steps: &'a str,
    extra: &[&'a str],
    out: &'a str,
) -> Vec<&'a str> {
    let mut args = vec![
        "session", "new", "--tasks", tasks, "-k", k, "--steps", steps,
    ];
    args.extend_from_slice(extra);
    args.extend(["--out", out]);
    args
}

/// `session report DIR --id ID --scores SCORES`.
fn report_args<'a>(dir: &'a str, id: &'a str, scores: &'a str) -> [&'a str; 7] {
    ["session", "report", dir, "--id", id, "--scores", scores]
}

/// A new session (N tasks, up to K groups, STEPS steps, SEED) in the fresh folder `tmpdir(tag)`,
/// which it returns.
fn new_session(tag: &str) -> PathBuf {
    let dir = tmpdir(tag);
    ok(&new_args(
        &N.to_string(),
        &K.to_string(),
        &STEPS.to_string(),
        &["--subset-size", "4", "--seed", &SEED.to_string()],
        dir.to_str().unwrap(),
    ));
    dir
}

/// The fresh folder `tmpdir(tag)` holding `tasks.txt` with `names` (one task name per line):
/// (the folder, the file).
fn task_list(tag: &str, names: &str) -> (PathBuf, PathBuf) {
    let dir = tmpdir(tag);
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("tasks.txt");
    std::fs::write(&list, names).unwrap();
    (dir, list)
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

/// A new session in the fresh folder `tmpdir(tag)` with `tasks` tasks, k = 3, `steps` steps and
/// `subsets_per_step` subsets of `subset_size` tasks per step; and its first requests.
fn planned_session(
    tag: &str,
    tasks: &str,
    steps: &str,
    subset_size: &str,
    subsets_per_step: &str,
) -> (PathBuf, Vec<(String, Vec<usize>)>) {
    let dir = tmpdir(tag);
    let plan = [
        "--subset-size",
        subset_size,
        "--subsets-per-step",
        subsets_per_step,
    ];
    ok(&new_args(tasks, "3", steps, &plan, dir.to_str().unwrap()));
    let reqs = pending(&dir);
    (dir, reqs)
}

fn scores_arg(s: &[f64]) -> String {
    s.iter()
        .map(|x| format!("{x:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Reports `train`'s scores for every request of `reqs`, in that order, to the session in
/// `sdir` with one `session report --from-csv` call through the CSV file `f`.
fn report_via_csv(
    sdir: &Path,
    f: &Path,
    reqs: Vec<(String, Vec<usize>)>,
    train: impl Fn(&[usize]) -> Vec<f64>,
) {
    let mut csv = String::from("id,scores\n");
    for (id, tasks) in reqs {
        csv.push_str(&format!("{id},{}\n", scores_arg(&train(&tasks))));
    }
    std::fs::write(f, csv).unwrap();
    ok(&[
        "session",
        "report",
        sdir.to_str().unwrap(),
        "--from-csv",
        f.to_str().unwrap(),
    ]);
}

fn status(dir: &Path) -> Value {
    serde_json::from_str(&ok(&["session", "status", dir.to_str().unwrap(), "--json"])).unwrap()
}

#[test]
fn cli_campaign_matches_in_process_run() {
    let dir = new_session("campaign");
    let t = trainer();
    let mut rounds = 0;
    while !status(&dir)["done"].as_bool().unwrap() {
        let mut reqs = pending(&dir);
        assert!(!reqs.is_empty());
        reqs.reverse(); // out of order
        for (id, tasks) in reqs {
            let s = t.train(&tasks).unwrap();
            ok(&report_args(dir.to_str().unwrap(), &id, &scores_arg(&s)));
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
    let dir = new_session("concurrent");
    let t = trainer();
    let reqs = pending(&dir);
    let handles: Vec<_> = reqs
        .iter()
        .map(|(id, tasks)| {
            let s = scores_arg(&t.train(tasks).unwrap());
            Command::new(env!("CARGO_BIN_EXE_taskgroup"))
                .args(report_args(dir.to_str().unwrap(), id, &s))
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
    let dir = new_session("bad");
    let d = dir.to_str().unwrap();
    let ck = dir.join("session.tgck");
    let before = std::fs::read(&ck).unwrap();
    let reqs = pending(&dir);
    let (id, tasks) = &reqs[0];
    let good = vec![0.5; tasks.len()];
    // (request id, scores, what the error names)
    let cases: Vec<(&str, String, &str)> = vec![
        ("s0-9999", scores_arg(&good), "s0-9999"),
        ("bogus", scores_arg(&good), "bogus"),
        (id, "0.5".into(), id),
        (id, scores_arg(&vec![f64::NAN; tasks.len()]), "not finite"),
        (id, "a,b".into(), "not a number"),
    ];
    for (request, scores, needle) in cases {
        let args = report_args(d, request, &scores);
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
    ok(&report_args(d, id, &scores_arg(&good)));
    let after_one = std::fs::read(&ck).unwrap();
    ok(&report_args(d, id, &scores_arg(&good)));
    assert_eq!(std::fs::read(&ck).unwrap(), after_one);
    let o = tg(&report_args(d, id, &scores_arg(&vec![0.25; tasks.len()])));
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
    let o = tg(&new_args("4", "2", "1", &[], d));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&ck).unwrap(), after_one);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn named_tasks_and_csv_reports() {
    let names: Vec<String> = (0..8).map(|i| format!("task{i}")).collect();
    let (dir, list) = task_list("names", &names.join("\n"));
    let sdir = dir.join("s");
    ok(&new_args(
        list.to_str().unwrap(),
        "3",
        "2",
        &["--subset-size", "3"],
        sdir.to_str().unwrap(),
    ));
    let text = ok(&["session", "next", sdir.to_str().unwrap()]);
    assert!(text.contains("task"), "{text}");
    let t = SyntheticTrainer::new(SyntheticTrainerSettings::new(8, 2, 3)).unwrap();
    let f = dir.join("results.csv");
    report_via_csv(&sdir, &f, pending(&sdir), |tasks| t.train(tasks).unwrap());
    let st = status(&sdir);
    assert_eq!(st["step"], 1);
    assert!(st["group_names"].is_array());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn duplicate_task_names_are_refused() {
    let (dir, list) = task_list("dupnames", "a\nb\na\n");
    let out = dir.join("s");
    let o = tg(&new_args(
        list.to_str().unwrap(),
        "2",
        "1",
        &[],
        out.to_str().unwrap(),
    ));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("listed twice"));
    assert!(!out.join("session.tgck").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- issue 18, "Reliability, round two" ----

fn code_of(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn concurrent_new_to_one_folder_creates_exactly_one_session() {
    let dir = tmpdir("new-race");
    for round in 0..3 {
        let _ = std::fs::remove_dir_all(&dir);
        let children: Vec<_> = (0..8)
            .map(|seed| {
                Command::new(env!("CARGO_BIN_EXE_taskgroup"))
                    .args(new_args(
                        "24",
                        "4",
                        "3",
                        &["--seed", &seed.to_string()],
                        dir.to_str().unwrap(),
                    ))
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let winners = outs.iter().filter(|o| o.status.success()).count();
        assert_eq!(winners, 1, "round {round}: exactly one `new` may succeed");
        for o in outs.iter().filter(|o| !o.status.success()) {
            assert_eq!(code_of(o), 2);
            assert!(
                String::from_utf8_lossy(&o.stderr).contains("already holds a session"),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        assert_eq!(status(&dir)["n"], 24);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stale_names_of_a_killed_new_are_not_adopted() {
    let dir = tmpdir("stale-names");
    std::fs::create_dir_all(&dir).unwrap();
    // What a `new --tasks names.txt` killed between its two writes leaves behind.
    std::fs::write(dir.join("names.json"), r#"["a","b","c"]"#).unwrap();
    let d = dir.to_str().unwrap();
    ok(&new_args("300", "3", "30", &[], d));
    assert!(
        !dir.join("names.json").exists(),
        "the stale names are removed"
    );
    let first = ok(&["session", "next", d, "--json"]);
    let v: Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert!(v.get("names").is_none(), "{v}");
    assert!(status(&dir).get("group_names").is_none());
    let _ = std::fs::remove_dir_all(&dir);

    // A stale names file with other names is replaced by the new list, never mixed in.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("names.json"), r#"["x","y","z","w"]"#).unwrap();
    let list = dir.with_extension("tasks.txt");
    std::fs::write(&list, "a\nb\nc\nd\n").unwrap();
    ok(&new_args(list.to_str().unwrap(), "2", "1", &[], d));
    let text = ok(&["session", "next", d]);
    assert!(text.contains('a') && !text.contains('x'), "{text}");

    // Names whose count is not the session's n are refused, not silently used.
    std::fs::write(dir.join("names.json"), r#"["x","y"]"#).unwrap();
    let o = tg(&["session", "status", d]);
    assert_eq!(code_of(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 task names, but the session has 4"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&list);
}

#[test]
fn readers_need_no_lock_and_work_on_read_only_sessions() {
    let dir = new_session("read-only");
    let d = dir.to_str().unwrap();
    // Readers never open the lock file for writing: without one they do not create it.
    std::fs::remove_file(dir.join("lock")).unwrap();
    ok(&["session", "status", d, "--json"]);
    ok(&["session", "next", d]);
    assert!(!dir.join("lock").exists(), "a reader created the lock file");

    // A writer holding the lock (a `report` solving a step) does not block `status`.
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .unwrap();
    held.lock().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_taskgroup"))
        .args(["session", "status", d])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    let done = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if t0.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(
        done.is_some_and(|s| s.success()),
        "status waited behind the lock"
    );
    drop(held);

    // A truly read-only folder: as a user without write permission (root ignores modes, so
    // as root the check runs as `nobody` through setpriv when it exists).
    use std::os::unix::fs::PermissionsExt;
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let setpriv = Path::new("/usr/bin/setpriv").exists();
    if is_root && !setpriv {
        eprintln!("skipped the read-only part: root without setpriv");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let as_reader = |args: &[&str]| -> Output {
        let mut c = if is_root {
            let mut c = Command::new("/usr/bin/setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_taskgroup"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_taskgroup"))
        };
        c.args(args).output().unwrap()
    };
    let probe = as_reader(&["version"]);
    if probe.status.success() {
        for args in [["session", "status", d], ["session", "next", d]] {
            let o = as_reader(&args);
            assert!(
                o.status.success(),
                "{args:?} on a read-only session: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        // A writer there fails with the I/O exit code and a clear message.
        let o = as_reader(&[
            "session", "report", d, "--id", "s0-0", "--scores", "1,2,3,4",
        ]);
        assert_eq!(code_of(&o), 74, "{}", String::from_utf8_lossy(&o.stderr));
    } else {
        eprintln!("skipped the read-only part: cannot run the binary as another user");
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_csv_report_of_10000_lines_is_linear() {
    let (dir, reqs) = planned_session("csv-10000", "60", "2", "5", "10000");
    let d = dir.to_str().unwrap();
    assert_eq!(reqs.len(), 10_000);
    let mut csv = String::new();
    for (id, tasks) in &reqs[..9_999] {
        let s: Vec<String> = tasks.iter().map(|t| format!("0.{t}")).collect();
        csv.push_str(&format!("{id},{}\n", s.join(",")));
    }
    let f = dir.with_extension("csv");
    std::fs::write(&f, csv).unwrap();
    let out = ok(&["session", "report", d, "--from-csv", f.to_str().unwrap()]);
    assert!(out.starts_with("recorded 9999 result(s)"), "{out}");
    assert_eq!(status(&dir)["pending"], 1);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&f);
}

#[test]
fn a_step_too_large_for_memory_is_an_error_that_saves_nothing() {
    let (dir, reqs) = planned_session("oom", "20000", "1", "2", "1");
    let d = dir.to_str().unwrap();
    let before = std::fs::read(dir.join("session.tgck")).unwrap();
    // The step-completing report needs n×n buffers of 3.2 GB: under a 3 GB address-space
    // limit that is an error (exit 74), not an allocation abort, and nothing is saved.
    let o = Command::new("sh")
        .args([
            "-c",
            "ulimit -v 3000000 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_taskgroup"),
            "session",
            "report",
            d,
            "--id",
            &reqs[0].0,
            "--scores",
            "0.5,0.25",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code_of(&o), 74, "{err}");
    assert!(
        err.contains("out of memory") && err.contains("unchanged"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("session.tgck")).unwrap(), before);
    assert_eq!(status(&dir)["pending"], 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_plan_of_too_many_subsets_is_refused() {
    let dir = tmpdir("huge-plan");
    let o = tg(&new_args("100000", "3", "1", &[], dir.to_str().unwrap()));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code_of(&o), 2, "{err}");
    assert!(
        err.contains("500000 subsets") && err.contains("more --steps"),
        "{err}"
    );
    assert!(!dir.exists());
}

/// A campaign driven only through the CLI, with max_groups (6) above the planted count (3):
/// the session's defaults must return the planted groups, not max_groups. The trainer is the
/// study's scaled-scores family (scores of 30 tasks differing 30×, `eval::study`), each step's
/// results reported in one `--from-csv` call, out of order.
#[test]
fn cli_campaign_recovers_planted_groups_when_max_groups_exceeds_them() {
    use taskgroup_eval::study::{Family, SimTrainer};
    let n = 30;
    let t = SimTrainer::new(Family::Scales.settings(n, 3, 2)).unwrap();
    let dir = tmpdir("recover");
    std::fs::create_dir_all(&dir).unwrap();
    let sdir = dir.join("s");
    ok(&[
        "session",
        "new",
        "--tasks",
        &n.to_string(),
        "-k",
        "6",
        "--steps",
        "5",
        "--seed",
        "1",
        "--out",
        sdir.to_str().unwrap(),
    ]);
    let mut rounds = 0;
    while !status(&sdir)["done"].as_bool().unwrap() {
        let mut reqs = pending(&sdir);
        reqs.reverse();
        let f = dir.join("results.csv");
        report_via_csv(&sdir, &f, reqs, |tasks| t.train(tasks).unwrap());
        rounds += 1;
        assert!(rounds <= 5);
    }
    let st = status(&sdir);
    let truth = t.truth().unwrap().groups();
    assert_eq!(st["groups"], serde_json::json!(truth), "{st}");
    let _ = std::fs::remove_dir_all(&dir);
}
