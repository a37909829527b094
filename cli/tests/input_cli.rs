//! What users have, read as they have it (issue 14): standard input and output, spreadsheet
//! CSV, task names through .npy, open and oversized k ranges, options that do nothing,
//! normalisation, losses, and the SVG of a result.

mod common;

use std::path::PathBuf;

use common::{example, generate_planted, run, run_with};
use serde_json::Value;

fn tmp(tag: &str) -> PathBuf {
    common::tmp(&format!("input-cli-{tag}"))
}

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).expect("one JSON object")
}

#[test]
fn stdin_and_stdout_are_dash() {
    let csv = std::fs::read(example()).unwrap();
    let (code, out, err) = run_with(&["cluster", "--input", "-", "-k", "3", "--json"], &csv);
    assert_eq!(code, 0, "{err}");
    let from_file = run(&[
        "cluster",
        "--input",
        example().to_str().unwrap(),
        "-k",
        "3",
        "--json",
    ]);
    assert_eq!(json(&out), json(&from_file.1));
    // --output FILE gets exactly what stdout would have.
    let f = tmp("result.json");
    let (code, out2, err) = run_with(
        &[
            "cluster",
            "-i",
            "-",
            "-k",
            "3",
            "--json",
            "--output",
            f.to_str().unwrap(),
        ],
        &csv,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out2.is_empty());
    assert_eq!(std::fs::read_to_string(&f).unwrap(), out);
    let _ = std::fs::remove_file(&f);
    // .npy on stdin is recognised by its magic bytes.
    let npy = tmp("stdin.npy");
    generate_planted(12, &[], &npy);
    let (code, out, err) = run_with(
        &["cluster", "-i", "-", "-k", "3", "--json"],
        &std::fs::read(&npy).unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["n"], 12);
    let _ = std::fs::remove_file(&npy);
    // affinity: results on stdin, CSV on stdout.
    let (code, out, err) = run_with(
        &["affinity", "--from-subsets", "-", "--output", "-"],
        b"a,a+b,0.5\nb,a+b,0.25\na,a,0.4\nb,b,0.3\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "a,b\n0.45,0.5\n0.25,0.275\n");
}

#[test]
fn spreadsheet_csv_reads_as_written() {
    // pandas' to_csv with an index, a name with a comma, and Excel's CRLF + doubled quotes.
    let pandas = ",\"flan, cot\",sst2,\"say \"\"hi\"\"\"\r\n\"flan, cot\",1.0,0.9,0.1\r\n\
                  sst2,0.9,1.0,0.1\r\n\"say \"\"hi\"\"\",0.1,0.1,1.0\r\n";
    let (code, out, err) = run_with(
        &["cluster", "-i", "-", "-k", "2", "--json"],
        pandas.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(
        v["group_names"],
        serde_json::json!([["flan, cot", "sst2"], ["say \"hi\""]])
    );
    // Trailing commas on every line: no header, no empty name.
    let (code, out, err) = run_with(
        &["cluster", "-i", "-", "-k", "2", "--json"],
        b"1,0.9,0.1,\n0.9,1,0.1,\n0.1,0.1,1,\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["n"], 3);
}

#[test]
fn npy_keeps_task_names_beside_it() {
    let sub = tmp("subsets.csv");
    std::fs::write(
        &sub,
        "sst2,sst2+imdb,0.9\nimdb,sst2+imdb,0.8\nrte,rte+mnli,0.7\nmnli,rte+mnli,0.6\n\
         sst2,sst2,0.5\nimdb,imdb,0.5\nrte,rte,0.5\nmnli,mnli,0.5\n",
    )
    .unwrap();
    let npy = tmp("T.npy");
    let names = tmp("T.names.txt");
    let (code, _, err) = run(&[
        "affinity",
        "--from-subsets",
        sub.to_str().unwrap(),
        "--output",
        npy.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(&names).unwrap(),
        "sst2\nimdb\nrte\nmnli\n"
    );
    let (code, out, err) = run(&["cluster", "-i", npy.to_str().unwrap(), "-k", "2", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        json(&out)["names"],
        serde_json::json!(["sst2", "imdb", "rte", "mnli"])
    );
    // A names file that does not fit is an error, never a silent mislabelling.
    std::fs::write(&names, "a\nb\n").unwrap();
    let (code, _, err) = run(&["cluster", "-i", npy.to_str().unwrap(), "-k", "2"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("2 names but the matrix has 4 tasks"), "{err}");
    for f in [sub, npy, names] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn k_ranges_open_and_beyond_n_are_capped_at_n() {
    let ex = example();
    let ex = ex.to_str().unwrap();
    for spec in ["2..", "2..40"] {
        let (code, out, err) = run(&["cluster", "-i", ex, "--k-range", spec, "--json"]);
        assert_eq!(code, 0, "{err}");
        let table = json(&out)["table"].as_array().unwrap().clone();
        assert_eq!(table.len(), 11, "{spec}: k = 2..12");
        assert_eq!(table.last().unwrap()["k"], 12);
        assert_eq!(
            err.contains("capped at n = 12"),
            spec == "2..40",
            "{spec}: {err}"
        );
    }
    let (code, _, err) = run(&["cluster", "-i", ex, "--k-range", "13.."]);
    assert_eq!(code, 2);
    assert!(err.contains("at most n = 12"), "{err}");
}

#[test]
fn options_that_do_nothing_are_warned_about() {
    let ex = example();
    let ex = ex.to_str().unwrap();
    for (args, needle) in [
        (vec!["-k", "3", "--k-rule", "elbow"], "--k-rule"),
        (vec!["-k", "3", "--timing"], "--timing"),
        (
            vec!["-k", "3", "--rounding", "paper", "--seed", "4"],
            "--seed",
        ),
    ] {
        let mut full = vec!["cluster", "-i", ex, "--quiet"];
        full.extend(args.iter().copied());
        let (code, _, err) = run(&full);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("warning") && err.contains(needle) && err.contains("does nothing"),
            "{args:?}: {err}"
        );
    }
    let (_, _, err) = run(&["cluster", "-i", ex, "-k", "3", "--json", "--timing"]);
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn normalize_and_losses() {
    let ex = example();
    let ex = ex.to_str().unwrap();
    let plain = json(&run(&["cluster", "-i", ex, "-k", "3", "--json"]).1);
    assert!(plain.get("normalize").is_none());
    for mode in ["none", "standardize", "degree", "relative"] {
        let (code, out, err) = run(&[
            "cluster",
            "-i",
            ex,
            "-k",
            "3",
            "--json",
            "--normalize",
            mode,
        ]);
        assert_eq!(code, 0, "{mode}: {err}");
        let v = json(&out);
        assert_eq!(v["num_groups"], 3);
        if mode == "none" {
            assert_eq!(v, plain);
        } else {
            assert_eq!(v["normalize"], mode);
        }
    }
    let (code, _, err) = run(&["cluster", "-i", ex, "-k", "3", "--normalize", "zscore"]);
    assert_eq!(code, 2);
    assert!(err.contains("--normalize expects"), "{err}");
    // Losses: grouping L with --lower-is-better is grouping -L.
    let loss = "1,9,9\n9,1,2\n9,2,1\n";
    let neg = "-1,-9,-9\n-9,-1,-2\n-9,-2,-1\n";
    let a = json(
        &run_with(
            &[
                "cluster",
                "-i",
                "-",
                "-k",
                "2",
                "--json",
                "--lower-is-better",
            ],
            loss.as_bytes(),
        )
        .1,
    );
    let b = json(&run_with(&["cluster", "-i", "-", "-k", "2", "--json"], neg.as_bytes()).1);
    assert_eq!(a["groups"], serde_json::json!([[0], [1, 2]]));
    assert_eq!(a["groups"], b["groups"]);
    assert_eq!(a["value"], b["value"]);
    assert_eq!(a["lower_is_better"], true);
}

#[test]
fn svg_of_the_result() {
    let ex = example();
    let ex = ex.to_str().unwrap();
    let svg = tmp("groups.svg");
    // `cluster -i EXAMPLE K_ARGS --quiet --svg FILE`; returns the SVG written.
    let draw = |k_args: &[&str]| -> String {
        let mut args = vec!["cluster", "-i", ex];
        args.extend_from_slice(k_args);
        args.extend(["--quiet", "--svg", svg.to_str().unwrap()]);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        std::fs::read_to_string(&svg).unwrap()
    };
    let s = draw(&["-k", "3"]);
    assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
    assert_eq!(
        s.matches("<rect x=").count(),
        144 + 2,
        "12×12 cells, frame, legend"
    );
    assert!(
        s.contains("{sst2 imdb yelp copa}"),
        "groups named in the subtitle"
    );
    let s = draw(&["--k-range", "2..5"]);
    assert!(s.contains("k (chosen: "), "k curve");
    assert_eq!(s.matches("<polyline").count(), 3, "value, bound, density");
    let _ = std::fs::remove_file(&svg);
}

#[test]
fn unscored_tasks_are_named() {
    let (code, _, err) = run_with(
        &["affinity", "--from-subsets", "-", "--output", "-"],
        b"a,a+b+c+d,0.5\nb,a+b+c+d,0.25\na,a,0.4\nb,b,0.3\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("2 of 4 tasks have no score of their own") && err.contains("\"c\", \"d\""),
        "{err}"
    );
}
