// Batched subset training (taskgroup-gpu, gpu/src/train/mod.rs documents the algorithm).
//
// One block per subset. Features and labels are f32 in device memory; weights, dot products,
// residuals and every sum are f64, as in the CPU reference (gpu/src/train/cpu.rs). The order of
// summation differs from the CPU's (a warp tree for w·x, strided partial sums for the
// gradient) but is fixed, so a run is deterministic and agrees with the CPU to ~1e-12 relative.
//
// Per iteration:
//   phase 1: one warp per training row r: z_r = w·x_r + b; e_r = sigmoid(z_r) − y_r (logistic)
//            or z_r − y_r (ridge), stored in the subset's scratch.
//   phase 2: g_j = Σ_r e_r x_rj (column d: Σ_r e_r). With cols = d + 1 < blockDim, P = blockDim
//            / cols threads share a column (rows r ≡ p mod P), then one thread per column adds
//            the P partials in order; otherwise one thread per column sums every row in order.
//            w_j ← w_j − step·(g_j / N + l2·w_j) (no l2 on the bias).
// After the iterations, one warp per validation row writes 1/0 (correct prediction, logistic)
// or the squared error (ridge) to the scratch and one thread per member adds its rows in order.
//
// Launch: grid = number of subsets, block = 256 threads (a multiple of 32),
// dynamic shared memory = blockDim.x doubles.

#define FULL_MASK 0xffffffffu

__device__ __forceinline__ double tg_sigmoid(double z) {
    if (z >= 0.0) {
        return 1.0 / (1.0 + exp(-z));
    }
    double e = exp(z);
    return e / (1.0 + e);
}

// w·x + b for one row, computed by a whole warp; every lane gets the result.
__device__ __forceinline__ double tg_warp_predict(const double* w, const float* x, int d,
                                                  int lane) {
    double acc = 0.0;
    for (int j = lane; j < d; j += 32) {
        acc += w[j] * (double)x[j];
    }
    for (int off = 16; off > 0; off >>= 1) {
        acc += __shfl_xor_sync(FULL_MASK, acc, off);
    }
    return w[d] + acc;
}

// One value per row of the subset's members (rows, features x, labels y and starts of one
// split: training or validation), in member order from e[0]: one warp per row computes
// z = w·x + b, then lane 0 writes the row's training residual (sigmoid(z) − y logistic, z − y
// ridge) or, when `score`, its validation result (1/0 correct prediction logistic, squared
// error ridge).
__device__ __forceinline__ void tg_rows_eval(
    const double* w, const int* __restrict__ members, int m0, int m1,
    const float* __restrict__ xs, const float* __restrict__ ys,
    const long long* __restrict__ start, const int* __restrict__ rows_of, int d, int model,
    bool score, double* e, int lane, int warp, int nwarps) {
    long long base = 0;
    for (int m = m0; m < m1; ++m) {
        const int t = members[m];
        const int rows = rows_of[t];
        const float* X = xs + start[t] * (long long)d;
        const float* Y = ys + start[t];
        for (int r = warp; r < rows; r += nwarps) {
            const double z = tg_warp_predict(w, X + (long long)r * d, d, lane);
            if (lane == 0) {
                const double y = (double)Y[r];
                double v;
                if (!score) {
                    v = model == 0 ? tg_sigmoid(z) - y : z - y;
                } else if (model == 0) {
                    v = ((z >= 0.0) == (y > 0.5)) ? 1.0 : 0.0;
                } else {
                    v = (z - y) * (z - y);
                }
                e[base + r] = v;
            }
        }
        base += rows;
    }
}

// Σ e_r x_rj over the training rows r ≡ p (mod P) of the subset's members (row index counted
// across the members, in member order; column d is the bias: x_rd = 1), summed in row order.
__device__ __forceinline__ double tg_column_sum(
    int j, int p, int P, const int* __restrict__ members, int m0, int m1,
    const float* __restrict__ xs, const long long* __restrict__ start,
    const int* __restrict__ rows_of, int d, const double* e) {
    double g = 0.0;
    long long rbase = 0;
    for (int m = m0; m < m1; ++m) {
        const int t = members[m];
        const int rows = rows_of[t];
        const float* X = xs + start[t] * (long long)d;
        // First local row r with (rbase + r) ≡ p (mod P).
        int r = (int)(((long long)p - rbase % P + P) % P);
        for (; r < rows; r += P) {
            const double x = j < d ? (double)X[(long long)r * d + j] : 1.0;
            g += e[rbase + r] * x;
        }
        rbase += rows;
    }
    return g;
}

extern "C" __global__ void train_linear(
    const float* __restrict__ train_x,      // all tasks' training rows, row-major, d columns
    const float* __restrict__ train_y,      // all tasks' training labels
    const long long* __restrict__ train_start,  // per task: first row in train_x / train_y
    const int* __restrict__ train_rows,     // per task: number of training rows
    const float* __restrict__ val_x,
    const float* __restrict__ val_y,
    const long long* __restrict__ val_start,
    const int* __restrict__ val_rows,
    const int* __restrict__ members,        // every subset's members, sorted, concatenated
    const int* __restrict__ member_off,     // subsets + 1 offsets into members
    const long long* __restrict__ scratch_off,  // subsets offsets into scratch
    double* __restrict__ scratch,           // per subset: max(train rows, val rows) doubles
    double* __restrict__ weights,           // subsets × (d + 1): initial on entry, final on exit
    double* __restrict__ member_sums,       // per member: correct count or sum of squared errors
    int d, int model, int iterations, double step, double l2) {
    extern __shared__ double partial[];
    const int s = blockIdx.x;
    const int m0 = member_off[s];
    const int m1 = member_off[s + 1];
    const int cols = d + 1;
    const int T = blockDim.x;
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const int nwarps = T >> 5;
    double* w = weights + (long long)s * cols;
    double* e = scratch + scratch_off[s];

    long long n = 0;
    for (int m = m0; m < m1; ++m) {
        n += train_rows[members[m]];
    }
    const double nf = (double)n;
    const int P = cols >= T ? 1 : T / cols;

    for (int it = 0; it < iterations; ++it) {
        // Phase 1: residuals.
        tg_rows_eval(w, members, m0, m1, train_x, train_y, train_start, train_rows, d, model,
                     false, e, lane, warp, nwarps);
        __syncthreads();

        // Phase 2: gradient and update.
        if (P == 1) {
            for (int j = tid; j < cols; j += T) {
                const double g = tg_column_sum(j, 0, 1, members, m0, m1, train_x, train_start,
                                               train_rows, d, e);
                const double reg = j < d ? l2 * w[j] : 0.0;
                w[j] -= step * (g / nf + reg);
            }
        } else {
            if (tid < cols * P) {
                const int j = tid % cols;
                const int p = tid / cols;
                partial[tid] = tg_column_sum(j, p, P, members, m0, m1, train_x, train_start,
                                             train_rows, d, e);
            }
            __syncthreads();
            if (tid < cols) {
                double g = 0.0;
                for (int p = 0; p < P; ++p) {
                    g += partial[p * cols + tid];
                }
                const double reg = tid < d ? l2 * w[tid] : 0.0;
                w[tid] -= step * (g / nf + reg);
            }
        }
        __syncthreads();
    }

    // Validation: per-row results, then per-member sums in row order.
    tg_rows_eval(w, members, m0, m1, val_x, val_y, val_start, val_rows, d, model, true, e, lane,
                 warp, nwarps);
    __syncthreads();
    for (int m = m0 + tid; m < m1; m += T) {
        long long off = 0;
        for (int q = m0; q < m; ++q) {
            off += val_rows[members[q]];
        }
        const int rows = val_rows[members[m]];
        double acc = 0.0;
        for (int r = 0; r < rows; ++r) {
            acc += e[off + r];
        }
        member_sums[m] = acc;
    }
}
