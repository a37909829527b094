// Batched ADMM for the SDP relaxation (taskgroup-gpu: gpu/src/solve/cuda.rs drives it;
// gpu/src/solve/twin.rs is the CPU model of every kernel here, core's ADMM loop with this file's
// Jacobi projection, tested against core's solver without a GPU).
//
// B problems of the same n; problem b owns the n×n row-major slices at b·n² of C (centred,
// unit-norm affinity), Z, U, X, A (work: M, then the shifted matrix, then its eigenvalues on the
// diagonal) and Vt (eigenvectors as ROWS: Vt[i·n + r] = V[r][i]). One iteration of core's ADMM
// (ProjectionMethod::Full) is four launches, each with grid = B, one block per problem:
//   sdp_prepare     A = P·sym(Z − U + C/ρ)·P − c·11ᵀ/n, c = ‖P·sym(M)·P‖_F + 2
//   sdp_jacobi      A = V·diag(λ)·Vᵀ by parallel two-sided cyclic Jacobi (round-robin pairs)
//   sdp_reassemble  μ = simplex projection of λ (sum k − 1); X = 11ᵀ/n + Σ μ_i v_i v_iᵀ
//   sdp_update      X̂ = αX + (1−α)Z; Z = max(X̂ + U, 0); U += X̂ − Z; residuals; stopping
//                   rule; ρ balancing (U /= factor)
// Every kernel returns at once for a problem whose state is not RUNNING, so the host launches
// several iterations between two reads of the states. f64 throughout.
//
// Launch: blockDim.x a multiple of 32, at most 1024. Dynamic shared memory (bytes):
//   sdp_prepare, sdp_update: 32·8;  sdp_jacobi: 32·8 + 2·(m/2)·8 with m = n rounded up to even;
//   sdp_reassemble: 8 + P·8 + n·2 with P = the power of two ≥ n. n ≤ 4096 (16-bit indices;
//   the shared memory then stays within 48 KiB). No static shared memory (kernels/emu/ runs
//   this file on the CPU with one std::thread per CUDA thread).

#define FULL_MASK 0xffffffffu

#define SDP_RUNNING 0
#define SDP_CONVERGED 1
#define SDP_MAX_ITERATIONS 2
#define SDP_NUMERICAL_ERROR 3

// Device code cannot import Rust constants: RHO_RANGE is core's taskgroup_core::sdp::RHO_RANGE,
// the JACOBI_* the twin's; a unit test of gpu/src/solve/mod.rs checks that they are equal.
#define JACOBI_TOL 1e-15
#define JACOBI_MAX_SWEEPS 60
#define RHO_RANGE 1e6

// Sum over the block, in a fixed order (warp trees, then warp 0 over the warp sums); every
// thread gets the result. `red` holds 32 doubles. Must be called by every thread of the block.
__device__ double sdp_block_sum(double v, double* red) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int nwarps = (blockDim.x + 31) >> 5;
    for (int off = 16; off > 0; off >>= 1) {
        v += __shfl_down_sync(FULL_MASK, v, off);
    }
    __syncthreads();
    if (lane == 0) {
        red[warp] = v;
    }
    __syncthreads();
    if (warp == 0) {
        v = lane < nwarps ? red[lane] : 0.0;
        for (int off = 16; off > 0; off >>= 1) {
            v += __shfl_down_sync(FULL_MASK, v, off);
        }
        if (lane == 0) {
            red[0] = v;
        }
    }
    __syncthreads();
    double r = red[0];
    __syncthreads();
    return r;
}

// The pair of slot s in round r of the round-robin ordering on m (even) indices, p < q.
__device__ __forceinline__ void sdp_pair(int m, int r, int s, int* p, int* q) {
    int a, b;
    if (s == 0) {
        a = r;
        b = m - 1;
    } else {
        a = (r + s) % (m - 1);
        b = (r + (m - 1) - s) % (m - 1);
    }
    *p = a < b ? a : b;
    *q = a < b ? b : a;
}

// M = Z − U + C/ρ, then A = P·sym(M)·P − c·11ᵀ/n with c = ‖P·sym(M)·P‖_F + 2 (core's
// centered_shifted). `rowmean` is B·n scratch.
extern "C" __global__ void sdp_prepare(const double* __restrict__ C, const double* __restrict__ Z,
                                       const double* __restrict__ U, double* __restrict__ A,
                                       double* __restrict__ rowmean, const int* __restrict__ state,
                                       const double* __restrict__ rho, int n) {
    extern __shared__ double sh[];
    double* red = sh;
    const int b = blockIdx.x;
    if (state[b] != SDP_RUNNING) {
        return;
    }
    const size_t nn = (size_t)n * (size_t)n;
    const size_t base = (size_t)b * nn;
    const double* c = C + base;
    const double* z = Z + base;
    const double* u = U + base;
    double* a = A + base;
    double* r = rowmean + (size_t)b * n;
    const double inv_rho = 1.0 / rho[b];
    const double nf = (double)n;
    for (size_t i = threadIdx.x; i < nn; i += blockDim.x) {
        a[i] = z[i] - u[i] + c[i] * inv_rho;
    }
    __syncthreads();
    // sym(M): each unordered pair (i < j) by one thread.
    for (size_t idx = threadIdx.x; idx < nn; idx += blockDim.x) {
        const int i = (int)(idx / n), j = (int)(idx % n);
        if (i < j) {
            const double s = 0.5 * (a[(size_t)i * n + j] + a[(size_t)j * n + i]);
            a[(size_t)i * n + j] = s;
            a[(size_t)j * n + i] = s;
        }
    }
    __syncthreads();
    double gsum = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        double s = 0.0;
        for (int j = 0; j < n; ++j) {
            s += a[(size_t)i * n + j];
        }
        r[i] = s / nf;
        gsum += r[i];
    }
    const double g = sdp_block_sum(gsum, red) / nf;
    double fro = 0.0;
    for (size_t idx = threadIdx.x; idx < nn; idx += blockDim.x) {
        const int i = (int)(idx / n), j = (int)(idx % n);
        const double x = a[idx] - r[i] - r[j] + g;
        fro += x * x;
    }
    const double shift = (sqrt(sdp_block_sum(fro, red)) + 2.0) / nf;
    for (size_t idx = threadIdx.x; idx < nn; idx += blockDim.x) {
        const int i = (int)(idx / n), j = (int)(idx % n);
        a[idx] = (a[idx] - r[i] - r[j] + g) - shift;
    }
}

// A = V·diag(λ)·Vᵀ in place (λ on the diagonal of A, unsorted; eigenvectors as rows of Vt).
// Stops when the off-diagonal norm is ≤ JACOBI_TOL·‖A‖_F; a non-finite entry or no convergence
// within JACOBI_MAX_SWEEPS sets the state to SDP_NUMERICAL_ERROR. `sweeps` (B ints) receives
// the sweeps used (may be NULL).
extern "C" __global__ void sdp_jacobi(double* __restrict__ A, double* __restrict__ Vt,
                                      int* __restrict__ state, int* __restrict__ sweeps, int n) {
    extern __shared__ double sh[];
    double* red = sh;
    const int b = blockIdx.x;
    if (state[b] != SDP_RUNNING) {
        return;
    }
    const int m = n + (n & 1);
    const int half = m / 2;
    double* cs = sh + 32;
    double* sn = cs + half;
    const size_t nn = (size_t)n * (size_t)n;
    double* a = A + (size_t)b * nn;
    double* vt = Vt + (size_t)b * nn;
    for (size_t idx = threadIdx.x; idx < nn; idx += blockDim.x) {
        vt[idx] = (idx / n == idx % n) ? 1.0 : 0.0;
    }
    if (n < 2) {
        if (threadIdx.x == 0 && sweeps) {
            sweeps[b] = 0;
        }
        return;
    }
    double f = 0.0;
    for (size_t idx = threadIdx.x; idx < nn; idx += blockDim.x) {
        f += a[idx] * a[idx];
    }
    const double fro2 = sdp_block_sum(f, red);
    for (int sweep = 0; sweep <= JACOBI_MAX_SWEEPS; ++sweep) {
        double o = 0.0;
        for (size_t idx = threadIdx.x; idx < nn; idx += blockDim.x) {
            if (idx / n != idx % n) {
                o += a[idx] * a[idx];
            }
        }
        const double off2 = sdp_block_sum(o, red);
        // Uniform decisions: every thread sees the same off2 and fro2.
        if (!isfinite(off2) || !isfinite(fro2)) {
            if (threadIdx.x == 0) {
                state[b] = SDP_NUMERICAL_ERROR;
            }
            return;
        }
        if (off2 <= JACOBI_TOL * JACOBI_TOL * fro2) {
            if (threadIdx.x == 0 && sweeps) {
                sweeps[b] = sweep;
            }
            return;
        }
        if (sweep == JACOBI_MAX_SWEEPS) {
            break;
        }
        for (int r = 0; r < m - 1; ++r) {
            // Phase 1: the rotations of this round.
            for (int s = threadIdx.x; s < half; s += blockDim.x) {
                int p, q;
                sdp_pair(m, r, s, &p, &q);
                double c = 1.0, sv = 0.0;
                if (q < n) {
                    const double apq = a[(size_t)p * n + q];
                    if (apq != 0.0) {
                        const double app = a[(size_t)p * n + p];
                        const double aqq = a[(size_t)q * n + q];
                        const double theta = (aqq - app) / (2.0 * apq);
                        const double t = copysign(1.0, theta) / (fabs(theta) + hypot(theta, 1.0));
                        c = 1.0 / sqrt(1.0 + t * t);
                        sv = t * c;
                    }
                }
                cs[s] = c;
                sn[s] = sv;
            }
            __syncthreads();
            // Phase 2: A ← RᵀAR, one 2×2 block per (pair bi rows, pair bj columns).
            const size_t blocks = (size_t)half * (size_t)half;
            for (size_t idx = threadIdx.x; idx < blocks; idx += blockDim.x) {
                const int bi = (int)(idx / half), bj = (int)(idx % half);
                int p1, q1, p2, q2;
                sdp_pair(m, r, bi, &p1, &q1);
                const double c1 = cs[bi], s1 = sn[bi];
                if (bi == bj) {
                    if (q1 < n && s1 != 0.0) {
                        const double apq = a[(size_t)p1 * n + q1];
                        const double t1 = s1 / c1;
                        a[(size_t)p1 * n + p1] -= t1 * apq;
                        a[(size_t)q1 * n + q1] += t1 * apq;
                        a[(size_t)p1 * n + q1] = 0.0;
                        a[(size_t)q1 * n + p1] = 0.0;
                    }
                    continue;
                }
                sdp_pair(m, r, bj, &p2, &q2);
                const double c2 = cs[bj], s2 = sn[bj];
                const bool q1in = q1 < n, q2in = q2 < n;
                const double b00 = a[(size_t)p1 * n + p2];
                const double b01 = q2in ? a[(size_t)p1 * n + q2] : 0.0;
                const double b10 = q1in ? a[(size_t)q1 * n + p2] : 0.0;
                const double b11 = (q1in && q2in) ? a[(size_t)q1 * n + q2] : 0.0;
                const double r00 = c1 * b00 - s1 * b10, r01 = c1 * b01 - s1 * b11;
                const double r10 = s1 * b00 + c1 * b10, r11 = s1 * b01 + c1 * b11;
                a[(size_t)p1 * n + p2] = c2 * r00 - s2 * r01;
                if (q2in) {
                    a[(size_t)p1 * n + q2] = s2 * r00 + c2 * r01;
                }
                if (q1in) {
                    a[(size_t)q1 * n + p2] = c2 * r10 - s2 * r11;
                }
                if (q1in && q2in) {
                    a[(size_t)q1 * n + q2] = s2 * r10 + c2 * r11;
                }
            }
            // Phase 3: V ← VR (rows p, q of Vt), one (pair, row) per thread.
            const size_t vwork = (size_t)half * (size_t)n;
            for (size_t idx = threadIdx.x; idx < vwork; idx += blockDim.x) {
                const int s = (int)(idx / n), i = (int)(idx % n);
                const double c = cs[s], sv = sn[s];
                if (sv == 0.0) {
                    continue;
                }
                int p, q;
                sdp_pair(m, r, s, &p, &q);
                const double vp = vt[(size_t)p * n + i], vq = vt[(size_t)q * n + i];
                vt[(size_t)p * n + i] = c * vp - sv * vq;
                vt[(size_t)q * n + i] = sv * vp + c * vq;
            }
            __syncthreads();
        }
    }
    if (threadIdx.x == 0) {
        state[b] = SDP_NUMERICAL_ERROR;
    }
}

// μ = projection of the eigenvalues (diagonal of A) onto {μ ≥ 0, Σμ = k − 1} (core's
// project_simplex: sort descending, running sums), then X = 11ᵀ/n + Σ_i μ_i v_i v_iᵀ over the
// active i in index order. `kk` holds k per problem.
extern "C" __global__ void sdp_reassemble(const double* __restrict__ A,
                                          const double* __restrict__ Vt, double* __restrict__ X,
                                          const int* __restrict__ state,
                                          const int* __restrict__ kk, int n) {
    extern __shared__ double sh[];
    const int b = blockIdx.x;
    if (state[b] != SDP_RUNNING) {
        return;
    }
    int pw = 1;
    while (pw < n) {
        pw <<= 1;
    }
    // sh[0]: the number of active pairs (as an int). After θ is known the sorted values are not
    // needed: μ of the active pairs reuses them.
    int* nact_sh = (int*)sh;
    double* sorted = sh + 1;
    double* mu = sorted;
    unsigned short* act = (unsigned short*)(sorted + pw);
    const size_t nn = (size_t)n * (size_t)n;
    const double* a = A + (size_t)b * nn;
    const double* vt = Vt + (size_t)b * nn;
    double* x = X + (size_t)b * nn;
    const double total = (double)kk[b] - 1.0;
    for (int i = threadIdx.x; i < pw; i += blockDim.x) {
        sorted[i] = i < n ? a[(size_t)i * n + i] : -INFINITY;
    }
    __syncthreads();
    // Bitonic sort, descending.
    for (int size = 2; size <= pw; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int i = threadIdx.x; i < pw; i += blockDim.x) {
                const int j = i ^ stride;
                if (j > i) {
                    const bool desc = (i & size) == 0;
                    const double u = sorted[i], v = sorted[j];
                    if (desc ? (u < v) : (u > v)) {
                        sorted[i] = v;
                        sorted[j] = u;
                    }
                }
            }
            __syncthreads();
        }
    }
    if (threadIdx.x == 0) {
        double theta;
        if (total <= 0.0) {
            theta = sorted[0];
        } else {
            double cum = 0.0;
            theta = sorted[0] - total;
            for (int j = 0; j < n; ++j) {
                const double l = sorted[j];
                cum += l;
                const double t = (cum - total) / ((double)j + 1.0);
                if (l - t > 0.0) {
                    theta = t;
                } else {
                    break;
                }
            }
        }
        int cnt = 0;
        for (int i = 0; i < n; ++i) {
            const double w = fmax(a[(size_t)i * n + i] - theta, 0.0);
            if (w > 0.0) {
                mu[cnt] = w;
                act[cnt] = (unsigned short)i;
                ++cnt;
            }
        }
        *nact_sh = cnt;
    }
    __syncthreads();
    const int cnt = *nact_sh;
    const double j0 = 1.0 / (double)n;
    for (size_t idx = threadIdx.x; idx < nn; idx += blockDim.x) {
        const int r = (int)(idx / n), c = (int)(idx % n);
        double s = j0;
        for (int t = 0; t < cnt; ++t) {
            const size_t row = (size_t)act[t] * n;
            s += mu[t] * vt[row + r] * vt[row + c];
        }
        x[idx] = s;
    }
}

// Over-relaxation, Z = max(X̂ + U, 0), U += X̂ − Z, the residuals, the stopping rule and ρ
// balancing of core's ADMM. Per problem: iters (iterations done), rp/rd (last residuals), rho,
// rho0 (start, for the ρ range), state.
extern "C" __global__ void sdp_update(const double* __restrict__ X, double* __restrict__ Z,
                                      double* __restrict__ U, int* __restrict__ state,
                                      int* __restrict__ iters, double* __restrict__ rp_out,
                                      double* __restrict__ rd_out, double* __restrict__ rho,
                                      const double* __restrict__ rho0, int n, double alpha,
                                      double tol, int adapt_every, double balance,
                                      int max_iterations) {
    extern __shared__ double sh[];
    double* red = sh;
    const int b = blockIdx.x;
    if (state[b] != SDP_RUNNING) {
        return;
    }
    // Every thread reads the per-problem scalars here, before the first barrier: thread 0
    // overwrites them at the end, after the last barrier (reading them later is a race that
    // the CPU emulator, kernels/emu/, caught).
    const int it = iters[b] + 1;
    const double r = rho[b];
    const double r0 = rho0[b];
    const size_t nn = (size_t)n * (size_t)n;
    const size_t base = (size_t)b * nn;
    const double* x = X + base;
    double* z = Z + base;
    double* u = U + base;
    double dxz = 0.0, dz = 0.0, xx = 0.0, zz = 0.0, uu = 0.0;
    for (size_t i = threadIdx.x; i < nn; i += blockDim.x) {
        const double xi = x[i], z_old = z[i];
        const double xh = alpha * xi + (1.0 - alpha) * z_old;
        const double zi = fmax(xh + u[i], 0.0);
        const double ui = u[i] + xh - zi;
        u[i] = ui;
        z[i] = zi;
        dxz += (xi - zi) * (xi - zi);
        dz += (zi - z_old) * (zi - z_old);
        xx += xi * xi;
        zz += zi * zi;
        uu += ui * ui;
    }
    dxz = sdp_block_sum(dxz, red);
    dz = sdp_block_sum(dz, red);
    xx = sdp_block_sum(xx, red);
    zz = sdp_block_sum(zz, red);
    uu = sdp_block_sum(uu, red);
    const double rp = sqrt(dxz) / fmax(fmax(sqrt(xx), sqrt(zz)), 2.2250738585072014e-308);
    const double rd = r * sqrt(dz) / fmax(r * sqrt(uu), 1.0);
    double factor = 1.0;
    int next = SDP_RUNNING;
    if (!(isfinite(rp) && isfinite(rd))) {
        next = SDP_NUMERICAL_ERROR;
    } else if (rp <= tol && rd <= tol) {
        next = SDP_CONVERGED;
    } else {
        if (adapt_every > 0 && it % adapt_every == 0) {
            if (rp > balance * rd && r < r0 * RHO_RANGE) {
                factor = 2.0;
            } else if (rd > balance * rp && r > r0 / RHO_RANGE) {
                factor = 0.5;
            }
        }
        if (it >= max_iterations) {
            next = SDP_MAX_ITERATIONS;
        }
    }
    if (factor != 1.0) {
        for (size_t i = threadIdx.x; i < nn; i += blockDim.x) {
            u[i] /= factor;
        }
    }
    if (threadIdx.x == 0) {
        // As core: the iteration counts and its residuals are kept even when not finite.
        iters[b] = it;
        rp_out[b] = rp;
        rd_out[b] = rd;
        rho[b] = r * factor;
        state[b] = next;
    }
}
