//! Data parallelism for the O(n²·r) passes of the solver (the block products of the low-rank
//! projection, forming X), behind the `std` feature; without it everything runs on the calling
//! thread.
//!
//! Results never depend on the thread count: work is split into rows, every value of a row is
//! computed from its own indices by the same arithmetic whichever thread runs it, and no
//! reduction is split (sums over rows stay on one thread, in their fixed order). So a solve is
//! bit-identical with 1, 2 or 64 threads; the count only changes the time.

#[cfg(feature = "std")]
use core::sync::atomic::{AtomicUsize, Ordering};

#[cfg(feature = "std")]
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Work below this many multiply-adds per thread runs on the calling thread (a scoped thread
/// costs tens of microseconds to start; this keeps that under a few percent of its work).
/// (In this crate's tests: 64, so that small instances exercise the threaded code.)
const MIN_WORK_PER_THREAD: usize = if cfg!(test) { 64 } else { 1 << 17 };

/// Sets the number of threads the solver may use (0 is taken as 1; default 1). Process-wide.
/// Without the `std` feature this does nothing (always one thread).
pub fn set_threads(threads: usize) {
    #[cfg(feature = "std")]
    THREADS.store(threads.max(1), Ordering::Relaxed);
    #[cfg(not(feature = "std"))]
    let _ = threads;
}

/// The number of threads the solver may use (≥ 1; always 1 without the `std` feature).
pub fn threads() -> usize {
    #[cfg(feature = "std")]
    {
        THREADS.load(Ordering::Relaxed).max(1)
    }
    #[cfg(not(feature = "std"))]
    {
        1
    }
}

/// How many threads a pass over `rows` rows of `work_per_row` multiply-adds each gets.
fn split(rows: usize, work_per_row: usize) -> usize {
    let by_work = rows.saturating_mul(work_per_row) / MIN_WORK_PER_THREAD;
    threads().min(rows).min(by_work.max(1))
}

/// Calls `f(first_row, block)` on consecutive blocks of whole rows of `out` (rows of `row_len`
/// values), in parallel where [`threads`] and the work allow. `f` must compute every row of its
/// block from the row's index alone (no state shared between rows), which makes the result
/// independent of how the rows are split.
pub(crate) fn rows_mut<F>(out: &mut [f64], row_len: usize, work_per_row: usize, f: F)
where
    F: Fn(usize, &mut [f64]) + Sync,
{
    if row_len == 0 {
        return;
    }
    let rows = out.len() / row_len;
    let t = split(rows, work_per_row);
    if t <= 1 {
        f(0, out);
        return;
    }
    #[cfg(feature = "std")]
    {
        use std::sync::Mutex;
        type Slot<'a> = Mutex<Option<(usize, &'a mut [f64])>>;
        let per = rows.div_ceil(t);
        let slots: alloc::vec::Vec<Slot<'_>> = out
            .chunks_mut(per * row_len)
            .enumerate()
            .map(|(b, block)| Mutex::new(Some((b * per, block))))
            .collect();
        // Whoever takes a block computes it: a started thread its own, the calling thread its
        // first block and then any block whose thread could not be started (not an error).
        let run = |slot: &Slot<'_>| {
            let taken = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some((start, block)) = taken {
                f(start, block);
            }
        };
        std::thread::scope(|scope| {
            for slot in slots.iter().skip(1) {
                let run = &run;
                let _ = std::thread::Builder::new().spawn_scoped(scope, move || run(slot));
            }
            for slot in &slots {
                run(slot);
            }
        });
    }
    #[cfg(not(feature = "std"))]
    f(0, out);
}

#[cfg(test)]
/// Fills the symmetric row-major n×n `out` with `out[u][v] = out[v][u] = value(u, v)` for
/// u ≤ v (`value` is only called with u ≤ v; `work_per_row`: its multiply-adds times n). One
/// thread: the upper triangle, mirrored; several: whole rows in parallel, the lower half from
/// `value(v, u)` again. The same `value` gives bit-identical matrices either way.
pub(crate) fn fill_symmetric<F>(out: &mut [f64], n: usize, work_per_row: usize, value: F)
where
    F: Fn(usize, usize) -> f64 + Sync,
{
    if split(n, work_per_row) <= 1 {
        for u in 0..n {
            for v in u..n {
                let x = value(u, v);
                out[u * n + v] = x;
                out[v * n + u] = x;
            }
        }
        return;
    }
    rows_mut(&mut out[..n * n], n, work_per_row, |first, block| {
        for (r, row) in block.chunks_mut(n).enumerate() {
            let u = first + r;
            for (v, o) in row.iter_mut().enumerate() {
                *o = if u <= v { value(u, v) } else { value(v, u) };
            }
        }
    });
}

/// Fills the symmetric row-major n×n `out` with
/// `out[u][v] = init(min(u, v), max(u, v)) + Σ_t a_t[u]·a_t[v]` for the r columns a_t of the
/// column-major n×r `a`, every sum formed exactly as [`crate::sdp::lowrank::dot`] forms it over
/// the rows (four lanes t mod 4 over the whole quadruples, combined as (l0 + l1) + (l2 + l3),
/// then the rest in order): bit-identical to filling the upper triangle with
/// `init(u, v) + dot(a_row(u), a_row(v))`. Computed row by row as r contiguous multiply-add
/// passes (vectorised, contiguous writes), whole rows in parallel where [`threads`] allow;
/// from rank [`GRAM_MIRROR_MIN_R`] over the upper part of each row only (columns u..n), then
/// mirrored into the lower triangle in 32×32 tiles: half the multiply-adds, the same values.
pub(crate) fn fill_gram<F>(out: &mut [f64], n: usize, a: &[f64], r: usize, init: F)
where
    F: Fn(usize, usize) -> f64 + Sync,
{
    // From rank GRAM_MIRROR_MIN_R: row u's upper part (columns u..n) only, half the
    // multiply-adds, and the lower triangle mirrored afterwards; below it, whole rows (the
    // mirror's strided copy costs more than the r multiply-adds per entry it saves). The
    // values are the same either way (products commute, the sums run in the same order).
    let upper = r >= GRAM_MIRROR_MIN_R;
    let work = if upper { n * r / 2 } else { n * r };
    rows_mut(&mut out[..n * n], n, work, |first, block| {
        crate::simd::run(
            #[inline(always)]
            || gram_rows(first, block, n, a, r, upper, &init),
        )
    });
    if upper {
        mirror_upper(out, n);
    }
}

/// Rows `first..` of [`fill_gram`] into `block` (whole rows of length n).
#[inline(always)]
fn gram_rows<F>(
    first: usize,
    block: &mut [f64],
    n: usize,
    a: &[f64],
    r: usize,
    upper: bool,
    init: &F,
) where
    F: Fn(usize, usize) -> f64,
{
    let whole = r - r % 4;
    let mut lanes = alloc::vec![0.0; if whole > 0 { 4 * n } else { 0 }];
    let mut tot = alloc::vec![0.0; n];
    for (i, row) in block.chunks_mut(n).enumerate() {
        let u = first + i;
        // Columns c0..n of row u.
        let c0 = if upper { u } else { 0 };
        let tot = &mut tot[c0..];
        if whole > 0 {
            for l in 0..4 {
                lanes[l * n + c0..(l + 1) * n]
                    .iter_mut()
                    .for_each(|x| *x = 0.0);
            }
            for t in 0..whole {
                let col = &a[t * n..(t + 1) * n];
                let c = col[u];
                let lane = &mut lanes[(t % 4) * n + c0..(t % 4 + 1) * n];
                lane.iter_mut()
                    .zip(&col[c0..])
                    .for_each(|(l, y)| *l += c * y);
            }
            let (l01, l23) = lanes.split_at(2 * n);
            let (l0, l1) = l01.split_at(n);
            let (l2, l3) = l23.split_at(n);
            let (l0, l1, l2, l3) = (&l0[c0..], &l1[c0..], &l2[c0..], &l3[c0..]);
            for (v, t) in tot.iter_mut().enumerate() {
                *t = (l0[v] + l1[v]) + (l2[v] + l3[v]);
            }
        } else {
            tot.iter_mut().for_each(|x| *x = 0.0);
        }
        for t in whole..r {
            let col = &a[t * n..(t + 1) * n];
            let c = col[u];
            tot.iter_mut()
                .zip(&col[c0..])
                .for_each(|(s, y)| *s += c * y);
        }
        for (v, (o, t)) in (c0..).zip(row[c0..].iter_mut().zip(tot.iter())) {
            *o = init(u.min(v), u.max(v)) + t;
        }
    }
}

/// Smallest rank r from which [`fill_gram`] computes the upper triangle only and mirrors it
/// (measured: at r ≈ 3, n = 100 the mirror costs more instructions than it saves; in a planted
/// n = 300, k = 9 solve, 332 full projections of rank ≈ 48, the X formation's share of the time
/// (perf samples) fell from 10.8 % to 7.1 %).
const GRAM_MIRROR_MIN_R: usize = 8;

/// Copies the upper triangle of the row-major n×n `out` into its lower one, in 32×32 tiles
/// (each tile's reads stay within 32 rows).
fn mirror_upper(out: &mut [f64], n: usize) {
    const TILE: usize = 32;
    for v0 in (0..n).step_by(TILE) {
        let v1 = (v0 + TILE).min(n);
        for u0 in (0..v1).step_by(TILE) {
            for v in v0..v1 {
                for u in u0..(u0 + TILE).min(v) {
                    out[v * n + u] = out[u * n + v];
                }
            }
        }
    }
}

/// [`fill_gram`] against the upper-triangle fill with `dot` it replaced, bit for bit.
#[cfg(test)]
mod gram_tests {
    use super::*;

    pub(super) fn check_gram(threads: usize) {
        set_threads(threads);
        // Ranks on both sides of GRAM_MIRROR_MIN_R; n = 70 spans several mirror tiles.
        for (n, r) in (0..10).map(|r| (29, r)).chain([(70, 3), (70, 9)]) {
            let a: alloc::vec::Vec<f64> = (0..n * r)
                .map(|i| libm::sin(i as f64 * 0.37) * 1e3)
                .collect();
            // Row-major copy for the reference dot products.
            let mut rm = alloc::vec![0.0; n * r];
            for t in 0..r {
                for i in 0..n {
                    rm[i * r + t] = a[t * n + i];
                }
            }
            let init = |u: usize, v: usize| 0.1 * u as f64 - 0.3 * v as f64;
            let (mut want, mut got) = (alloc::vec![0.0; n * n], alloc::vec![0.0; n * n]);
            fill_symmetric(&mut want, n, 1000, |u, v| {
                init(u, v)
                    + crate::sdp::lowrank::dot(&rm[u * r..(u + 1) * r], &rm[v * r..(v + 1) * r])
            });
            fill_gram(&mut got, n, &a, r, init);
            assert!(
                want.iter()
                    .zip(&got)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "n={n} r={r} threads={threads}"
            );
        }
        set_threads(1);
    }

    #[test]
    fn gram_matches_dot_fill() {
        check_gram(1);
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::{group_with, Affinity, GroupSettings, WarmStart};
    use alloc::vec::Vec;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    /// Unequal planted groups with per-task offsets and noise (the shape of issue 16's family).
    fn instance(n: usize, seed: u64) -> Affinity {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let group = |u: usize| [0usize, 0, 0, 0, 1, 1, 1, 2, 2, 3][u * 10 / n];
        let offs: Vec<f64> = (0..n).map(|_| crate::random::normal(&mut rng)).collect();
        let mut t = alloc::vec![0.0; n * n];
        for u in 0..n {
            for v in 0..n {
                let same = if group(u) == group(v) { 1.0 } else { 0.0 };
                t[u * n + v] = offs[u] + same + 0.6 * crate::random::normal(&mut rng);
            }
        }
        Affinity::from_row_major(&t, n).unwrap()
    }

    /// Every result of a solve (X, bound, value, iterations, partition) is bit-identical with
    /// 1, 2 and 4 threads, on the full projection (n < 200) and on the low-rank path.
    #[test]
    fn bit_identical_for_any_thread_count() {
        for (n, k) in [(90, 4), (240, 4)] {
            let t = instance(n, n as u64);
            let mut runs = Vec::new();
            for threads in [1, 2, 4] {
                set_threads(threads);
                let mut s = GroupSettings::default();
                s.solver.stop = crate::Stop::Converged;
                let r = group_with(&t, k, &s, WarmStart::Cold, None).unwrap();
                runs.push(r);
            }
            set_threads(1);
            let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
            for r in &runs[1..] {
                assert_eq!(r.sdp.iterations, runs[0].sdp.iterations, "n={n}");
                assert_eq!(bits(&r.sdp.x), bits(&runs[0].sdp.x), "n={n}: X differs");
                assert_eq!(
                    r.sdp.upper_bound.to_bits(),
                    runs[0].sdp.upper_bound.to_bits()
                );
                assert_eq!(r.value.to_bits(), runs[0].value.to_bits());
                assert_eq!(r.partition, runs[0].partition);
            }
            assert!(runs[0].sdp.iterations > 1, "n={n}: the solve must iterate");
        }
    }

    #[test]
    fn gram_matches_dot_fill_threaded() {
        super::gram_tests::check_gram(3);
    }

    /// The helpers themselves: a threaded fill and row pass equal the serial ones bit for bit,
    /// also when rows do not divide evenly among the threads.
    #[test]
    fn helpers_match_serial() {
        let n = 37;
        let a: Vec<f64> = (0..n * 3).map(|i| libm::sin(i as f64 * 0.37)).collect();
        let value = |u: usize, v: usize| {
            crate::sdp::lowrank::dot(&a[u * 3..u * 3 + 3], &a[v * 3..v * 3 + 3]) + 0.1
        };
        let mut outs = Vec::new();
        for threads in [1, 3, 8] {
            set_threads(threads);
            let mut out = alloc::vec![0.0; n * n];
            fill_symmetric(&mut out, n, 1000, value);
            let mut rows = alloc::vec![0.0; n * 5];
            rows_mut(&mut rows, 5, 1000, |first, block| {
                for (r, row) in block.chunks_mut(5).enumerate() {
                    for (c, x) in row.iter_mut().enumerate() {
                        *x = ((first + r) * 5 + c) as f64;
                    }
                }
            });
            outs.push((out, rows));
        }
        set_threads(1);
        for (out, rows) in &outs[1..] {
            assert!(out
                .iter()
                .zip(&outs[0].0)
                .all(|(x, y)| x.to_bits() == y.to_bits()));
            assert_eq!(rows, &outs[0].1);
        }
        assert!(outs[0].1.iter().enumerate().all(|(i, &x)| x == i as f64));
    }
}
