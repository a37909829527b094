// Block products for core's factored large-n path (taskgroup-gpu: gpu/src/solve/cuda_large.rs
// drives it as a taskgroup_core::sdp::BlockOp; gpu/src/solve/twin.rs `TiledOp` is the CPU model
// of these kernels, tested against core's CPU path without a GPU, and kernels/emu/ runs this
// file on the CPU).
//
// C (the centred, unit-norm affinity, n×n row-major) stays resident on the device, stored as f64
// (fac_gemm_f64) or f32 (fac_gemm_f32); every product reads it once per 16 columns of the
// block. The host logic (LOBPCG, the factored refinement, the certificate) is core's and runs on
// the host; only the products C·X (X column-major n×q) run here.
//
//   fac_gemm_*   out[j·n + u] = Σ_v C[u·n + v]·x[j·n + v] for u < n, j < q: tiled GEMM, tiles of
//                FAC_BM rows × FAC_BN columns per block, FAC_BK-wide panels of C and x staged in
//                shared memory; each thread accumulates 4 rows × 2 columns in registers, in the
//                order v = 0, 1, …, n − 1 (the twin sums in the same order), in f64 whatever
//                the storage.
//
// Launch: blockDim.x = FAC_THREADS (256); a 1-D grid of ceil(n/FAC_BM)·ceil(q/FAC_BN) blocks,
// blockIdx.x = row tile + (row tiles)·column tile; dynamic shared memory FAC_SHARED_BYTES
// (37 888 bytes). Indices into C are 64-bit (n² exceeds 2³¹ from n = 46 341). No static shared
// memory (kernels/emu/ runs this file on the CPU).

#define FAC_BM 128
#define FAC_BN 16
#define FAC_BK 32
#define FAC_THREADS 256
#define FAC_SHARED_BYTES ((FAC_BM * (FAC_BK + 1) + FAC_BK * FAC_BN) * 8)

template <typename S>
__device__ void fac_gemm_body(const S* __restrict__ c, const double* __restrict__ x,
                              double* __restrict__ out, int n, int q) {
    extern __shared__ double sh[];
    double* ts = sh;                         // FAC_BM × (FAC_BK + 1): rows of C's panel
    double* xs = sh + FAC_BM * (FAC_BK + 1); // FAC_BK × FAC_BN: xs[kk·FAC_BN + col]
    const int rowtiles = (n + FAC_BM - 1) / FAC_BM;
    const int row0 = (int)(blockIdx.x % rowtiles) * FAC_BM;
    const int col0 = (int)(blockIdx.x / rowtiles) * FAC_BN;
    const int tid = threadIdx.x;
    const int c2 = (tid % (FAC_BN / 2)) * 2; // first of the thread's 2 columns
    const int r4 = (tid / (FAC_BN / 2)) * 4; // first of the thread's 4 rows
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (int v0 = 0; v0 < n; v0 += FAC_BK) {
        // Consecutive threads read consecutive v of one row of C (coalesced).
        for (int e = tid; e < FAC_BM * FAC_BK; e += FAC_THREADS) {
            const int i = e / FAC_BK, kk = e % FAC_BK;
            const int u = row0 + i, v = v0 + kk;
            ts[i * (FAC_BK + 1) + kk] =
                (u < n && v < n) ? (double)c[(size_t)u * (size_t)n + (size_t)v] : 0.0;
        }
        for (int e = tid; e < FAC_BK * FAC_BN; e += FAC_THREADS) {
            const int cc = e / FAC_BK, kk = e % FAC_BK;
            const int j = col0 + cc, v = v0 + kk;
            xs[kk * FAC_BN + cc] = (j < q && v < n) ? x[(size_t)j * (size_t)n + (size_t)v] : 0.0;
        }
        __syncthreads();
        const int kmax = n - v0 < FAC_BK ? n - v0 : FAC_BK;
        for (int kk = 0; kk < kmax; ++kk) {
            const double x0 = xs[kk * FAC_BN + c2];
            const double x1 = xs[kk * FAC_BN + c2 + 1];
            for (int i = 0; i < 4; ++i) {
                const double t = ts[(r4 + i) * (FAC_BK + 1) + kk];
                acc[2 * i] += t * x0;
                acc[2 * i + 1] += t * x1;
            }
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; ++i) {
        const int u = row0 + r4 + i;
        for (int jj = 0; jj < 2; ++jj) {
            const int j = col0 + c2 + jj;
            if (u < n && j < q) {
                out[(size_t)j * (size_t)n + (size_t)u] = acc[2 * i + jj];
            }
        }
    }
}

// out = C·x with C stored as f64.
extern "C" __global__ void fac_gemm_f64(const double* __restrict__ c,
                                        const double* __restrict__ x, double* __restrict__ out,
                                        int n, int q) {
    fac_gemm_body<double>(c, x, out, n, q);
}

// out = C·x with C stored as f32 (each entry widened to f64 before the product).
extern "C" __global__ void fac_gemm_f32(const float* __restrict__ c,
                                        const double* __restrict__ x, double* __restrict__ out,
                                        int n, int q) {
    fac_gemm_body<float>(c, x, out, n, q);
}
