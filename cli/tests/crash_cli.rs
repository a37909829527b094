//! Crash safety of `taskgroup session report`: processes killed with SIGKILL at varying points
//! never leave an unloadable session, and every acknowledged (exit 0) result survives. The kill
//! timing depends on the scheduler; the asserted invariants hold for every timing.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{bin, ok, output as tg, stderr};

/// Starts `taskgroup ARGS`, sends it SIGKILL after `delay` and returns whether it had already
/// exited successfully.
fn killed_after(args: &[&str], delay: Duration) -> bool {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill(); // SIGKILL; an error means it already exited
    child.wait().unwrap().success()
}

#[test]
fn killed_reports_never_corrupt_or_lose_acknowledged_results() {
    let dir = common::tmp("crash");
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    ok(&[
        "session",
        "new",
        "--tasks",
        "40",
        "-k",
        "4",
        "--steps",
        "2",
        "--subsets-per-step",
        "60",
        "--out",
        d,
    ]);
    let next = |d: &str| -> Vec<(String, usize)> {
        let o = tg(&["session", "next", d, "--json"]);
        assert!(o.status.success(), "session unloadable: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["id"].as_str().unwrap().to_string(),
                    v["tasks"].as_array().unwrap().len(),
                )
            })
            .collect()
    };
    let reqs = next(d);
    assert_eq!(reqs.len(), 60);
    let mut acknowledged = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    // All but the last request: the step must not advance, so `next` shows what is missing.
    for (i, (id, len)) in reqs.iter().take(reqs.len() - 1).enumerate() {
        let scores: Vec<String> = (0..*len)
            .map(|t| format!("{}", 0.5 + 0.01 * ((i * 7 + t) % 13) as f64))
            .collect();
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let args = [
            "session",
            "report",
            d,
            "--id",
            id,
            "--scores",
            &scores.join(","),
        ];
        if killed_after(&args, Duration::from_micros((x >> 33) % 4000)) {
            acknowledged.push(id.clone());
        }
        // Whatever happened, the session loads, and no acknowledged result is missing.
        let pending: Vec<String> = next(d).into_iter().map(|(id, _)| id).collect();
        for a in &acknowledged {
            assert!(!pending.contains(a), "acknowledged result {a} was lost");
        }
        assert!(pending.contains(&reqs[reqs.len() - 1].0));
    }
    // Temp files of killed writers are removed by the next command that takes the lock: a
    // writer (readers take none), here a report that is refused after taking it.
    let refused = tg(&["session", "report", d, "--id", "s99-0", "--scores", "1"]);
    assert_eq!(refused.status.code(), Some(2));
    let stray = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".session.tgck.tmp")
        })
        .count();
    eprintln!(
        "{} of {} killed reports had been acknowledged",
        acknowledged.len(),
        reqs.len() - 1
    );
    assert_eq!(stray, 0, "temp files of killed writers were not cleaned up");

    // The last request completes the step: its report also solves the SDP and saves a larger
    // state. Kill it after growing delays until one run finishes: every time, the session is
    // either exactly before the step (request still pending) or exactly after it.
    let last = &reqs[reqs.len() - 1];
    for (id, len) in next(d).into_iter().filter(|(id, _)| id != &last.0) {
        let sc: Vec<String> = (0..len)
            .map(|t| format!("{}", 0.5 + 0.01 * t as f64))
            .collect();
        ok(&[
            "session",
            "report",
            d,
            "--id",
            &id,
            "--scores",
            &sc.join(","),
        ]);
    }
    assert_eq!(next(d).len(), 1);
    let scores: Vec<String> = (0..last.1)
        .map(|t| format!("{}", 0.6 + 0.01 * t as f64))
        .collect();
    let mut delay_us = 200u64;
    let mut kills = 0;
    loop {
        let args = [
            "session",
            "report",
            d,
            "--id",
            &last.0,
            "--scores",
            &scores.join(","),
        ];
        let ok = killed_after(&args, Duration::from_micros(delay_us));
        let st = status(d);
        let step = st["step"].as_u64().unwrap();
        if ok {
            assert_eq!(step, 1, "an acknowledged step-completing report was lost");
            break;
        }
        kills += 1;
        if step == 1 {
            break; // killed after the rename: the advanced state is complete and loadable
        }
        assert_eq!(step, 0);
        assert!(next(d).iter().any(|(id, _)| id == &last.0));
        delay_us = delay_us * 3 / 2 + 100;
        assert!(delay_us < 60_000_000, "the report never finished");
    }
    eprintln!("the step-completing report was killed {kills} time(s) before it finished");

    // A batch report (--from-csv) is all or nothing, whenever it is killed.
    let reqs2 = next(d);
    assert!(!reqs2.is_empty());
    let csv = dir.join("batch.csv");
    let body: String = reqs2
        .iter()
        .map(|(id, len)| {
            let sc: Vec<String> = (0..*len)
                .map(|t| format!("{}", 0.7 - 0.01 * t as f64))
                .collect();
            format!("{id},{}\n", sc.join(","))
        })
        .collect();
    std::fs::write(&csv, body).unwrap();
    let before = status(d)["total_reported"].as_u64().unwrap();
    let mut delay_us = 100u64;
    loop {
        let args = ["session", "report", d, "--from-csv", csv.to_str().unwrap()];
        let ok = killed_after(&args, Duration::from_micros(delay_us));
        let after = status(d)["total_reported"].as_u64().unwrap();
        let all = before + reqs2.len() as u64;
        assert!(
            after == before || after == all,
            "partial batch: {before} -> {after}"
        );
        if ok {
            assert_eq!(after, all, "an acknowledged batch was lost");
        }
        if after == all {
            break;
        }
        delay_us = delay_us * 3 / 2 + 100;
        assert!(delay_us < 60_000_000, "the batch report never finished");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn status(d: &str) -> serde_json::Value {
    let o = tg(&["session", "status", d, "--json"]);
    assert!(o.status.success(), "session unloadable: {}", stderr(&o));
    serde_json::from_str(&String::from_utf8_lossy(&o.stdout)).unwrap()
}
