//! `taskgroup affinity`: Eq. 6 from a CSV of subset results (hand-computed), the Standley table
//! format, and bad rows.

mod common;

use std::path::Path;
use std::process::Output;

use common::{output as tg, scratch_dir, stderr};

/// `taskgroup affinity --from-subsets INPUT [MORE] --output OUT`.
fn from_subsets(input: &str, more: &[&str], out: &Path) -> Output {
    let mut args = vec!["affinity", "--from-subsets", input];
    args.extend_from_slice(more);
    args.extend(["--output", out.to_str().unwrap()]);
    tg(&args)
}

fn read_csv_matrix(p: &std::path::Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
        .collect();
    (header, rows)
}

#[test]
fn eq6_from_subset_csv_matches_hand_computation() {
    let dir = scratch_dir("aff");
    let input = dir.join("results.csv");
    std::fs::write(
        &input,
        "task,subset,score\na,a+b,1.0\nb,a+b,2.0\na,a b c,3.0\nb,a+b+c,4.0\nc,c+b+a,5.0\na,a,0.5\n# duplicate, averaged\nc,a+b+c,5.0\n",
    )
    .unwrap();
    let out = dir.join("T.csv");
    let o = from_subsets(input.to_str().unwrap(), &[], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let (names, t) = read_csv_matrix(&out);
    assert_eq!(names, ["a", "b", "c"]);
    // T_ij = mean of f_i(S) over S ∋ i, j; T_ii over S ∋ i.
    let want = [[1.5, 2.0, 3.0], [3.0, 3.0, 4.0], [5.0, 5.0, 5.0]];
    for i in 0..3 {
        for j in 0..3 {
            assert!(
                (t[i][j] - want[i][j]).abs() < 1e-12,
                "T[{i}][{j}] = {} want {}",
                t[i][j],
                want[i][j]
            );
        }
    }
    // .npy output feeds `cluster` directly.
    let npy = dir.join("T.npy");
    assert!(from_subsets(input.to_str().unwrap(), &[], &npy)
        .status
        .success());
    assert!(tg(&[
        "cluster",
        "--input",
        npy.to_str().unwrap(),
        "-k",
        "2",
        "--json"
    ])
    .status
    .success());
    // Bad rows: clear errors with line numbers, exit 2.
    for (body, needle) in [
        ("a,a+b,x\n", "line 1"),
        ("a,b+c,1.0\n", "not in its subset"),
        ("a,a+a,1.0\n", "twice"),
        ("a,,1.0\n", "empty subset"),
        ("a,a+b\n", "3 cells"),
        ("a,a+b,inf\n", "not finite"),
    ] {
        std::fs::write(&input, body).unwrap();
        let o = from_subsets(input.to_str().unwrap(), &[], &out);
        assert_eq!(o.status.code(), Some(2), "{body}");
        let err = stderr(&o);
        assert!(err.contains(needle), "{body}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn standley_table_format() {
    let dir = scratch_dir("aff-st");
    let out = dir.join("T.csv");
    let table = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../eval/data/standley-taskonomy/results.txt"
    );
    let o = from_subsets(table, &["--format", "standley"], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 5);
    // T_00 = −mean loss of task 0 over the 16 subsets that contain it.
    assert!(rows[0][0] < 0.0 && rows[0][0] > -0.09);
    let _ = std::fs::remove_dir_all(&dir);
}
