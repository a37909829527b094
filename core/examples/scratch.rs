use taskgroup_core::*;
use taskgroup_core::synthetic::PlantedModel;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size: usize = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(50);
    for seed in 0..10 {
        let m = PlantedModel::paper(size);
        let t = m.sample(seed).unwrap();
        let r = group(&t, 3, &GroupSettings::default()).unwrap();
        let truth = m.truth().unwrap();
        let diff = r.partition.labels().iter().zip(truth.labels()).filter(|(a,b)| a!=b).count();
        let mut s = GroupSettings::default(); s.rounding.local_search = false;
        let r2 = round_partition(&t, &r.sdp.x, 3, &s.rounding).unwrap();
        let r3 = round_partition(&t, &r.sdp.x, 3, &RoundingSettings{mode: Rounding::Threshold{c:1.0}, ..Default::default()}).unwrap();
        println!("seed={seed} it={} val={:.3} truth={:.3} diff={diff} nols_rec={} nols_val={:.3} paper_rec={} gapn={:.4}", r.sdp.iterations, r.value, truth.value(&t).unwrap(), r2==truth, r2.value(&t).unwrap(), r3==truth, r.gap_normalized.unwrap());
    }
}
