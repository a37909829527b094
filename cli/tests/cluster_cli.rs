//! End-to-end tests of `taskgroup cluster`: JSON snapshots and every bad-input path.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, example, generate_planted, run, stabilize, tmp};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Rounds every float to 6 significant digits and drops timings, for stable snapshots.
fn stable(v: &mut Value) {
    // Residuals and tiny gaps are solver noise: keep only their order of magnitude class.
    stabilize(v, &|x| {
        if x == 0.0 {
            0.0
        } else {
            format!("{x:.5e}").parse::<f64>().unwrap_or(x)
        }
    });
}

fn json_of(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "stderr: {err}");
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "--json must print exactly one line: {out}");
    serde_json::from_str(lines[0]).expect("valid JSON")
}

/// `taskgroup cluster --input INPUT` followed by `more`.
fn cluster_args<'a>(input: &'a Path, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["cluster", "--input", input.to_str().unwrap()];
    args.extend_from_slice(more);
    args
}

/// The JSON of `taskgroup cluster --input INPUT MORE --json`.
fn cluster_json(input: &Path, more: &[&str]) -> Value {
    let mut args = cluster_args(input, more);
    args.push("--json");
    json_of(&args)
}

fn snapshot_fields(v: &Value, keys: &[&str]) -> Value {
    let mut o = serde_json::Map::new();
    for k in keys {
        if let Some(x) = v.get(*k) {
            o.insert((*k).to_string(), x.clone());
        }
    }
    let mut o = Value::Object(o);
    stable(&mut o);
    o
}

const STABLE_KEYS: &[&str] = &[
    "n",
    "k",
    "num_groups",
    "groups",
    "names",
    "value",
    "average_density",
    "sdp_value",
    "upper_bound",
    "certified_optimal",
    "status",
    "rounding",
];

#[test]
fn example_file_json_snapshot() {
    let ex = example();
    let v = cluster_json(&ex, &["-k", "3", "--timing"]);
    // Every key of the snapshot, and those left out of it because they vary.
    for key in STABLE_KEYS.iter().chain(&["gap", "iterations", "seconds"]) {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    insta::assert_json_snapshot!("example_k3", snapshot_fields(&v, STABLE_KEYS));
}

#[test]
fn small_matrix_json_snapshot() {
    let f = data("four.csv");
    let v = cluster_json(&f, &["-k", "2", "--quiet"]);
    assert_eq!(v["groups"], serde_json::json!([[0, 1], [2, 3]]));
    assert_eq!(v["certified_optimal"], Value::Bool(true));
    insta::assert_json_snapshot!("four_k2", snapshot_fields(&v, STABLE_KEYS));
}

#[test]
fn k_range_table_snapshot() {
    let ex = example();
    let v = cluster_json(&ex, &["--k-range", "2..5"]);
    let table = v["table"].as_array().expect("table");
    assert_eq!(table.len(), 4);
    let mut rows = Value::Array(
        table
            .iter()
            .map(|r| {
                snapshot_fields(
                    r,
                    &[
                        "k",
                        "sdp_value",
                        "value",
                        "average_density",
                        "certified_optimal",
                        "status",
                    ],
                )
            })
            .collect(),
    );
    stable(&mut rows);
    insta::assert_json_snapshot!(
        "example_krange",
        serde_json::json!({
            "k": v["k"], "k_by_density": v["k_by_density"], "k_by_elbow": v["k_by_elbow"], "groups": v["groups"], "table": rows
        })
    );
}

#[test]
fn paper_rounding_and_human_output() {
    let ex = example();
    let (code, out, _) = run(&cluster_args(
        &ex,
        &["-k", "3", "--rounding", "threshold:1.5"],
    ));
    assert_eq!(code, 0);
    assert!(out.contains("threshold:1.5 rounding"), "{out}");
    assert!(
        out.contains("upper bound") && out.contains("solver"),
        "{out}"
    );
    assert!(out.contains("sst2"), "names are shown: {out}");
}

fn assert_bad(args: &[&str], needle: &str) {
    let (code, out, err) = run(args);
    assert_eq!(
        code, 2,
        "expected exit 2 for {args:?}; stdout {out}; stderr {err}"
    );
    assert!(
        err.contains(needle),
        "stderr of {args:?} should mention {needle:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_gives_clear_errors_and_exit_2() {
    // `cluster --input FILE` (a file of tests/data) with more options, and what stderr names.
    for (file, rest, needle) in [
        ("nan.csv", &["-k", "2"][..], "row 2, column 2"),
        ("notsquare.tsv", &["-k", "1"], "square"),
        ("ragged.csv", &["-k", "1"], "line 2"),
        ("word.csv", &["-k", "1"], "abc"),
        ("empty.csv", &["-k", "1"], "empty"),
        ("onerow.csv", &["-k", "1"], "square"),
        ("missing.csv", &["-k", "1"], "missing.csv"),
        ("four.csv", &["-k", "5"], "k = 5"),
        ("four.csv", &["-k", "0"], "k = 0"),
        // A range that starts beyond n (one that only ends beyond n is capped: input_cli.rs).
        ("four.csv", &["--k-range", "5..9"], "5..9"),
        ("four.csv", &["--k-range", "x"], "--k-range"),
        ("four.csv", &[], "-k"),
        (
            "four.csv",
            &["-k", "2", "--rounding", "magic"],
            "--rounding",
        ),
        ("four.csv", &["-k", "2", "--tolerance", "0"], "tolerance"),
        ("four.csv", &["-k", "2", "--bogus"], "--bogus"),
    ] {
        assert_bad(&cluster_args(&data(file), rest), needle);
    }
    assert_bad(&["cluster", "-k", "2"], "--input");
    assert_bad(&["frobnicate"], "unknown command");
}

#[test]
fn npy_input_matches_csv() {
    // Write the 4×4 example as .npy (f64, C order) and compare results.
    let vals = [
        1.0f64, 0.9, 0.1, 0.0, 0.9, 1.0, 0.0, 0.1, 0.1, 0.0, 1.0, 0.8, 0.0, 0.1, 0.8, 1.0,
    ];
    let bytes = common::npy_square(4, &vals);
    let dir = common::scratch_dir("npy");
    let f = dir.join("four.npy");
    std::fs::write(&f, &bytes).unwrap();
    let a = cluster_json(&f, &["-k", "2"]);
    let c = cluster_json(&data("four.csv"), &["-k", "2"]);
    assert_eq!(a["groups"], c["groups"]);
    assert_eq!(a["value"], c["value"]);
    // truncated .npy is a clear error
    std::fs::write(&f, &bytes[..bytes.len() - 5]).unwrap();
    assert_bad(&cluster_args(&f, &["-k", "2"]), "four.npy");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn planted_150_grouped_correctly_with_a_gap() {
    use taskgroup_eval::synthetic::PlantedModel;
    let m = PlantedModel::paper(50);
    // The same instance the library draws (seed 0), written by `taskgroup generate`.
    let f = tmp("cluster-planted150.npy");
    generate_planted(150, &["--seed", "0"], &f);
    let v = cluster_json(&f, &["-k", "3"]);
    let truth: Vec<Vec<usize>> = m.truth().unwrap().groups();
    assert_eq!(v["groups"], serde_json::json!(truth));
    let gap = v["gap"].as_f64().expect("gap reported");
    assert!((0.0..0.01).contains(&gap), "gap {gap}");
    assert_eq!(v["status"], "converged");
    let _ = std::fs::remove_file(&f);
}

#[test]
fn json_is_bit_identical_across_runs_without_timing() {
    // The planted model at n = 240 takes the low-rank projection path; a k range covers the
    // k search. Without --timing nothing in the JSON depends on the clock.
    let f = tmp("cluster-planted240.npy");
    generate_planted(240, &["--seed", "5"], &f);
    for args in [
        vec!["-k", "3"],
        vec!["--k-range", "2..4"],
        vec!["-k", "5", "--rounding", "paper"],
    ] {
        let mut full = cluster_args(&f, &["--json", "--quiet"]);
        full.extend(args.iter().copied());
        let (c1, a, e1) = run(&full);
        let (c2, b, e2) = run(&full);
        assert_eq!((c1, c2), (0, 0), "{e1}{e2}");
        assert_eq!(a, b, "JSON differs between two runs of {args:?}");
        let v: Value = serde_json::from_str(&a).unwrap();
        assert!(
            v.get("seconds").is_none(),
            "clock-dependent field without --timing"
        );
    }
    let _ = std::fs::remove_file(&f);
}

#[test]
fn json_is_bit_identical_for_any_thread_count() {
    // Issue 16: --threads only changes the time. n = 260 takes the low-rank path (block
    // products and X split over threads).
    let f = tmp("cluster-planted260-threads.npy");
    generate_planted(260, &["--seed", "3"], &f);
    let mut outs = Vec::new();
    for threads in ["1", "2", "4"] {
        let args = cluster_args(&f, &["-k", "3", "--json", "--quiet", "--threads", threads]);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        outs.push(out);
    }
    assert_eq!(outs[0], outs[1], "--threads 2 differs from --threads 1");
    assert_eq!(outs[0], outs[2], "--threads 4 differs from --threads 1");
    assert_bad(
        &cluster_args(&f, &["-k", "3", "--threads", "0"]),
        "--threads",
    );
    assert_bad(
        &cluster_args(&f, &["-k", "3", "--threads", "x"]),
        "--threads",
    );
    let (code, _, err) = {
        let out = bin()
            .args(cluster_args(&f, &["-k", "3", "--quiet"]))
            .env("TASKGROUP_THREADS", "many")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("TASKGROUP_THREADS"), "{err}");
    let _ = std::fs::remove_file(&f);
}

#[test]
fn json_is_bit_identical_with_and_without_avx2() {
    // TASKGROUP_SIMD=off runs the baseline copies of the hot loops: only the time changes.
    let f = tmp("cluster-planted102-simd.npy");
    generate_planted(102, &["--seed", "5"], &f);
    let run_env = |simd: &str| {
        let out = bin()
            .args(cluster_args(&f, &["-k", "3", "--json", "--quiet"]))
            .env("TASKGROUP_SIMD", simd)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (c1, on, e1) = run_env("on");
    let (c2, off, e2) = run_env("off");
    assert_eq!((c1, c2), (0, 0), "{e1}{e2}");
    assert_eq!(on, off, "TASKGROUP_SIMD=off changes the result");
    let (code, _, err) = run_env("fast");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("TASKGROUP_SIMD"), "{err}");
    let _ = std::fs::remove_file(&f);
}

// ---- issue 18, "Reliability, round two" ----

/// Sends SIGINT to `child` with `kill -INT`, as Ctrl-C in a terminal would.
fn send_sigint(child: &std::process::Child) {
    let k = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(k.success());
}

fn tmpfile(tag: &str) -> PathBuf {
    tmp(&format!("cluster-{tag}"))
}

#[test]
fn sigint_stops_a_long_solve_with_the_best_partition_and_exit_130() {
    let f = tmpfile("sigint.npy");
    generate_planted(300, &["--seed", "3"], &f);
    for json in [true, false] {
        let mut c = bin();
        c.args(cluster_args(
            &f,
            &[
                "-k",
                "3",
                "--tolerance",
                "1e-15",
                "--max-iterations",
                "100000000",
            ],
        ));
        if json {
            c.arg("--json");
        }
        let child = c
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let t0 = std::time::Instant::now();
        send_sigint(&child);
        let out = child.wait_with_output().unwrap();
        let stop = t0.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(stop < std::time::Duration::from_secs(10), "{stop:?}");
        if json {
            let v: Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(v["status"], "interrupted");
            assert_eq!(v["num_groups"], 3);
            assert!(v["upper_bound"].as_f64().unwrap() >= v["value"].as_f64().unwrap());
        } else {
            assert!(
                stdout.contains("solver               interrupted"),
                "{stdout}"
            );
            assert!(stdout.contains("upper bound"), "{stdout}");
        }
    }
    let _ = std::fs::remove_file(&f);
}

#[test]
fn a_failed_write_exits_with_the_io_code() {
    let (code, _, err) = run(&["generate", "planted", "--n", "30", "--output", "/dev/full"]);
    assert_eq!(code, 74, "{err}");
    assert!(err.contains("/dev/full"), "{err}");
    let sub = tmpfile("subsets.csv");
    std::fs::write(&sub, "a,a+b,0.5\nb,a+b,0.25\na,a,0.4\nb,b,0.3\n").unwrap();
    let (code, _, err) = run(&[
        "affinity",
        "--from-subsets",
        sub.to_str().unwrap(),
        "--output",
        "/dev/full",
    ]);
    assert_eq!(code, 74, "{err}");
    let _ = std::fs::remove_file(&sub);
}

#[test]
fn a_huge_k_range_is_refused() {
    let f = tmpfile("range.npy");
    generate_planted(300, &[], &f);
    let (code, _, err) = run(&cluster_args(&f, &["--k-range", "1..300"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at most 200"), "{err}");
    let _ = std::fs::remove_file(&f);
}

// ---- issue 17: --progress ----

#[test]
fn progress_flag_prints_lines_on_a_pipe_and_leaves_stdout_alone() {
    let f = tmpfile("progress.npy");
    generate_planted(300, &["--seed", "3"], &f);
    // A quick solve: the same JSON with and without --progress.
    let plain = run(&cluster_args(&f, &["-k", "3", "--json"]));
    let with = run(&cluster_args(&f, &["-k", "3", "--json", "--progress"]));
    assert_eq!((plain.0, with.0), (0, 0), "{}{}", plain.2, with.2);
    assert_eq!(plain.1, with.1, "--progress changed stdout");
    // A long one (a tolerance no iterate reaches), stopped after 2.5 s: plain progress lines on
    // stderr (not a terminal here), one per line, no carriage returns.
    let child = bin()
        .args(cluster_args(
            &f,
            &[
                "-k",
                "3",
                "--json",
                "--progress",
                "--tolerance",
                "1e-300",
                "--max-iterations",
                "100000000",
            ],
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    send_sigint(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("iteration")).collect();
    assert!(!lines.is_empty(), "no progress line: {stderr}");
    assert!(lines.iter().all(|l| l.starts_with("k = 3: ")), "{stderr}");
    assert!(
        !stderr.contains('\r'),
        "terminal escapes on a pipe: {stderr:?}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "interrupted");
    // Without the flag a pipe gets none.
    let (code, _, quiet) = run(&cluster_args(&f, &["-k", "3", "--json"]));
    assert_eq!(code, 0);
    assert!(!quiet.contains("iteration"), "{quiet}");
    let _ = std::fs::remove_file(&f);
}
