//! Scratch: time `group` on one .npy with projection/anderson variants: `small_probe FILE K`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let m = read(&args[1]);
    let k: usize = args[2].parse().unwrap();
    let n = (m.len() as f64).sqrt() as usize;
    let t = taskgroup_core::Affinity::from_row_major(&m, n).unwrap();
    use taskgroup_core::sdp::ProjectionMethod as P;
    for (name, proj, and, conv) in [("full", P::Full, 0, false), ("lowrank", P::LowRank, 0, false), ("full-conv", P::Full, 0, true), ("lowrank-conv", P::LowRank, 0, true)] {
        let mut s = taskgroup_core::GroupSettings::default();
        if conv { s.solver.stop = taskgroup_core::Stop::Converged; }
        s.solver.projection = proj;
        s.solver.anderson = and;
        let t0 = std::time::Instant::now();
        let reps = 10;
        let mut r = None;
        for _ in 0..reps {
            r = Some(taskgroup_core::group(&t, k, &s).unwrap());
        }
        let r = r.unwrap();
        println!("{name:12} {:8.3} ms  it {:4} status {:?} obj {:.9} bound {:?} lr_rounds {} full {}", t0.elapsed().as_secs_f64() * 1e3 / reps as f64, r.sdp.iterations, r.sdp.status, r.sdp.objective, r.upper_bound, r.sdp.low_rank_rounds, r.sdp.full_projections);
    }
}
fn read(p: &str) -> Vec<f64> {
    let bytes = std::fs::read(p).unwrap();
    let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + hl..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}
