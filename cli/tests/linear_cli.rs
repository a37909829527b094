//! `taskgroup demo --adagroup --trainer linear`: synthetic features, a manifest written with
//! --save-data and read back, and the refusals (CUDA not built in, bad options, bad files).

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::output;

/// `taskgroup demo --adagroup --trainer linear` followed by `more`.
fn linear(more: &[&str]) -> Output {
    let mut args = vec!["demo", "--adagroup", "--trainer", "linear"];
    args.extend_from_slice(more);
    output(&args)
}

fn text(o: &Output) -> (String, String) {
    let (_, out, err) = common::parts(o);
    (out, err)
}

fn scratch(name: &str) -> PathBuf {
    let dir = common::tmp(&format!("linear-cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn synthetic_campaign_recovers_the_planted_groups() {
    // 24 tasks in 4 groups, 4 steps of 60 subsets (seed 0): recovered at the last step.
    let o = linear(&["--n", "24", "--groups", "4", "--subsets-per-step", "60"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("logistic regression"), "{out}");
    let last = out
        .lines()
        .rfind(|l| l.trim_start().starts_with(char::is_numeric))
        .unwrap_or("");
    assert!(last.ends_with("1.000        yes"), "{out}");
}

#[test]
fn manifest_written_then_read_back() {
    let dir = scratch("manifest");
    let d = dir.to_str().unwrap_or("");
    // Ridge, 3 steps of 20 subsets, then `more`.
    let ridge = |more: &[&str]| {
        let mut args = vec![
            "--model",
            "ridge",
            "--steps",
            "3",
            "--subsets-per-step",
            "20",
        ];
        args.extend_from_slice(more);
        linear(&args)
    };
    let o = ridge(&["--n", "12", "--groups", "3", "--save-data", d]);
    assert!(o.status.success(), "{}", text(&o).1);
    let manifest = dir.join("manifest.json");
    let m = manifest.to_str().unwrap_or("");
    let o = ridge(&["--manifest", m, "-k", "3"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("12 tasks from"), "{out}");
    assert!(out.contains("group 1: t"), "{out}");
    // Logistic regression on real-valued labels: a clear error, exit 2.
    let o = linear(&["--manifest", m]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("labels 0 or 1"), "{}", text(&o).1);
    // A corrupt array: named, exit 2.
    std::fs::write(dir.join("task3_val_x.npy"), b"\x93NUMPY\x01\x00").unwrap();
    let o = linear(&["--model", "ridge", "--manifest", m]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("task3_val_x.npy"), "{}", text(&o).1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refusals_exit_2() {
    for (args, want) in [
        (
            &[
                "demo",
                "--adagroup",
                "--trainer",
                "linear",
                "--backend",
                "cuda",
            ][..],
            "built without CUDA",
        ),
        (
            &[
                "demo",
                "--adagroup",
                "--trainer",
                "linear",
                "--backend",
                "tpu",
            ],
            "--backend",
        ),
        (
            &[
                "demo",
                "--adagroup",
                "--trainer",
                "linear",
                "--model",
                "svm",
            ],
            "--model",
        ),
        (
            &["demo", "--adagroup", "--trainer", "linear", "--step", "-1"],
            "step",
        ),
        (&["demo", "--adagroup", "--trainer", "forest"], "--trainer"),
        (
            &["demo", "--adagroup", "--backend", "cpu"],
            "needs --trainer linear",
        ),
        (&["demo", "--trainer", "linear"], "needs demo --adagroup"),
        (
            &[
                "demo",
                "--adagroup",
                "--trainer",
                "linear",
                "--manifest",
                "/nonexistent/m.json",
            ],
            "cannot read",
        ),
    ] {
        let o = output(args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
