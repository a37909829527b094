//! Diagnostics of the factored path's partition certificate: `bound_debug FILE.npy K`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let m = read(&args[1]);
    let k: usize = args[2].parse().unwrap();
    let n = (m.len() as f64).sqrt() as usize;
    let t = taskgroup_core::Affinity::from_row_major(&m, n).unwrap();
    let cen = t.centered();
    let mut s = taskgroup_core::GroupSettings::default();
    s.solver.path = taskgroup_core::SolverPath::Factored;
    let r = taskgroup_core::group(&t, k, &s).unwrap();
    let b =
        taskgroup_core::sdp::factored::partition_bound_with_trace(&cen, &r.partition, &mut |t| {
            println!("{t:?} gap {:e}", t.bound - t.value);
            true
        });
    println!("{b:?}");
}
fn read(p: &str) -> Vec<f64> {
    let bytes = std::fs::read(p).unwrap();
    let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + hl..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}
