//! Manifest + `.npy` input: a round trip through the writer, and clear errors for corrupt or
//! inconsistent files.

use std::path::PathBuf;

use taskgroup_gpu::train::manifest::{read_manifest, write_manifest};
use taskgroup_gpu::train::synthetic::{synthetic_features, SyntheticFeatureSettings};
use taskgroup_gpu::train::{train_batch, LinearSettings};
use taskgroup_gpu::{Backend, GpuError};
use taskgroup_io::npy::{npy_bytes_f32 as npy_bytes, read_npy_array as read_npy};

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("taskgroup-train-io-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn message(r: Result<impl std::fmt::Debug, GpuError>) -> String {
    match r {
        Err(GpuError::InvalidInput(m)) => m,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn manifest_round_trip() {
    let dir = scratch("round");
    let syn = synthetic_features(&SyntheticFeatureSettings::new(6, 2, 3)).unwrap();
    let path = write_manifest(&dir, &syn.data).unwrap();
    let back = read_manifest(&path).unwrap();
    assert_eq!(back, syn.data);
    let st = LinearSettings::default();
    let subsets = vec![vec![0, 1, 2], vec![3, 4, 5]];
    assert_eq!(
        train_batch(Backend::Cpu, &back, &subsets, &st).unwrap(),
        train_batch(Backend::Cpu, &syn.data, &subsets, &st).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_and_inconsistent_inputs_are_named() {
    let dir = scratch("bad");
    let syn = synthetic_features(&SyntheticFeatureSettings::new(3, 1, 1)).unwrap();
    let path = write_manifest(&dir, &syn.data).unwrap();
    // A truncated array names its file.
    let f = dir.join("task1_train_x.npy");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() - 3]).unwrap();
    let m = message(read_manifest(&path));
    assert!(
        m.contains("task1_train_x.npy") && m.contains("truncated"),
        "{m}"
    );
    // Not an npy file at all.
    std::fs::write(&f, b"col1,col2\n1,2\n").unwrap();
    assert!(read_npy(&f).unwrap_err().to_string().contains("magic"));
    // Another d in one task.
    std::fs::write(&f, npy_bytes(&[0.0; 24 * 5], &[24, 5]).unwrap()).unwrap();
    let m = message(read_manifest(&path));
    assert!(m.contains("d = 5"), "{m}");
    // Labels that do not match the rows.
    std::fs::write(&f, bytes).unwrap();
    std::fs::write(
        dir.join("task2_val_y.npy"),
        npy_bytes(&[1.0; 3], &[3]).unwrap(),
    )
    .unwrap();
    let m = message(read_manifest(&path));
    assert!(m.contains("task 2") && m.contains("labels"), "{m}");
    // NaN features.
    std::fs::write(
        dir.join("task2_val_y.npy"),
        npy_bytes(&syn.data.tasks()[2].val_y, &[200]).unwrap(),
    )
    .unwrap();
    let mut x = syn.data.tasks()[0].val_x.clone();
    x[17] = f32::NAN;
    std::fs::write(
        dir.join("task0_val_x.npy"),
        npy_bytes(&x, &[200, 16]).unwrap(),
    )
    .unwrap();
    let m = message(read_manifest(&path));
    assert!(
        m.contains("row 1, column 1") && m.contains("not finite"),
        "{m}"
    );
    // Manifest problems.
    for (text, want) in [
        ("{", "not valid JSON"),
        ("[]", "\"tasks\" list"),
        ("{\"tasks\": []}", "empty"),
        ("{\"tasks\": [{\"name\": \"a\"}]}", "missing the \"train_x\" path"),
        (
            "{\"tasks\": [{\"train_x\": \"nope.npy\", \"train_y\": \"a\", \"val_x\": \"b\", \"val_y\": \"c\"}]}",
            "cannot read",
        ),
    ] {
        let p = dir.join("m.json");
        std::fs::write(&p, text).unwrap();
        let m = message(read_manifest(&p));
        assert!(m.contains(want), "{m} should contain {want}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
