//! The AVX2 copies of the hot loops (`taskgroup_core::simd`) give bit-identical results: whole
//! solves with it switched on and off agree in every bit of X, the objective, the bound and the
//! value, in the iteration count and in the partition. One test in its own binary, because it
//! switches a process-wide setting.

use taskgroup_core::{group, simd, Affinity, GroupResult, GroupSettings, Stop};
use taskgroup_eval::synthetic::{random_symmetric, unequal_offsets, PlantedModel};

/// X, labels, (value, objective, SDP bound), partition bound, iterations, status.
type Fingerprint = (Vec<u64>, Vec<u32>, [u64; 3], Option<u64>, usize, String);

/// Everything a solve reports, as bits.
fn fingerprint(r: &GroupResult) -> Fingerprint {
    (
        r.sdp.x.iter().map(|x| x.to_bits()).collect(),
        r.partition.labels().to_vec(),
        [
            r.value.to_bits(),
            r.sdp.objective.to_bits(),
            r.sdp.upper_bound.to_bits(),
        ],
        r.upper_bound.map(f64::to_bits),
        r.sdp.iterations,
        format!("{:?}", r.sdp.status),
    )
}

#[test]
fn avx2_and_baseline_solves_are_bit_identical() {
    let mut cases: Vec<(&str, Affinity, usize)> = vec![
        // Low-rank projections, Anderson, the early-stop checks and the exact z search.
        (
            "planted n=102",
            PlantedModel::paper(34).sample(0).unwrap(),
            3,
        ),
        ("unequal n=100", unequal_offsets(100, 1).unwrap().0, 4),
        // Full projections (n < 100) and many iterations.
        ("random n=80", random_symmetric(80, 2).unwrap(), 5),
        ("unequal n=60", unequal_offsets(60, 3).unwrap().0, 4),
        // From n = 200: block-iteration estimates and the Cholesky verification.
        (
            "planted n=210",
            PlantedModel::paper(70).sample(4).unwrap(),
            3,
        ),
    ];
    // A wrong k (a degenerate, slowly converging relaxation).
    cases.push((
        "planted n=102, k=5",
        PlantedModel::paper(34).sample(5).unwrap(),
        5,
    ));
    let restore = simd::enabled();
    eprintln!("AVX2 available on this machine: {}", simd::available());
    for (name, t, k) in &cases {
        for stop in [Stop::Certified, Stop::Converged] {
            let mut s = GroupSettings::default();
            s.solver.stop = stop;
            simd::set_enabled(true);
            let on = group(t, *k, &s).unwrap();
            simd::set_enabled(false);
            assert!(!simd::enabled());
            let off = group(t, *k, &s).unwrap();
            assert!(
                fingerprint(&on) == fingerprint(&off),
                "{name} ({stop:?}): results differ with and without AVX2"
            );
        }
    }
    simd::set_enabled(restore);
}
