//! Command-line arguments shared by the `diag` and `probe` examples.

use taskgroup_eval::study::Family;

/// `FAMILY N GROUPS BUDGET SEEDS` from `a[1..=5]` (`a[0]` the program): a study family by
/// name, n tasks, planted groups, budget in multiples of n subsets, seeds 0..SEEDS. Panics on a
/// missing or malformed argument (diagnostic examples, not a user interface).
pub fn campaign_args(a: &[String]) -> (Family, usize, usize, usize, u64) {
    let fam = Family::ALL
        .iter()
        .copied()
        .find(|f| f.name() == a[1])
        .unwrap();
    let n: usize = a[2].parse().unwrap();
    let g: usize = a[3].parse().unwrap();
    let b: usize = a[4].parse().unwrap();
    let seeds: u64 = a[5].parse().unwrap();
    (fam, n, g, b, seeds)
}
