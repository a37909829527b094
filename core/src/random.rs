//! Seeded random draws shared by the solver, the sessions and the evaluation crate: every
//! stream is a `ChaCha8Rng`, so results depend only on the seed, never on the platform.

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

/// A uniform draw in [0, 1) with 53 random bits.
pub fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box–Muller; consumes two uniforms).
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - uniform(rng); // (0, 1]
    let u2 = uniform(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2)
}

/// A uniform integer in 0..n (n ≥ 1) by the multiply-high method (0 when n = 0).
pub fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// Fisher–Yates shuffle of `v` in place: for i = len−1 down to 1, swaps `v[i]` with `v[below(i + 1)]`.
pub fn shuffle<T>(v: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}

/// The SplitMix64 finaliser: a bijective 64-bit mixer (every input bit affects every output bit).
pub fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of stream `stream` derived from a user seed (AdaGroup: one stream per step).
pub fn stream_seed(seed: u64, stream: u64) -> u64 {
    splitmix64(
        seed ^ stream
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0x6A09_E667_F3BC_C909),
    )
}
