// Runs the real kernels of ../sdp.cu on the CPU, one fiber (ucontext) per CUDA thread, so that the
// CUDA source (indexing, shared-memory layout, barriers, warp shuffles, reductions, state
// machine) is tested on machines without a GPU (gpu/tests/kernel_emulation.rs builds this with
// g++ -std=c++17 and compares its results with core's solver).
//
// Emulated: __global__/__device__ qualifiers, threadIdx/blockIdx/blockDim, dynamic shared
// memory (`extern __shared__ double sh[]`, filled with NaN before every block so that a read of
// unwritten shared memory shows), __syncthreads (a block barrier), __shfl_down_sync (a warp
// barrier + exchange; blockDim must be a multiple of 32). Blocks run one after another; inside a
// block the fibers run in turn between barriers, so a data race that needs true concurrency
// between two barriers is NOT detected (the kernels are written so that no two threads touch
// the same address between barriers, except reads). FMA contraction (nvcc fuses a*b+c; g++
// here does not) is not emulated either: results differ from the device's by rounding.
//
// Protocol (stdin, whitespace-separated numbers; stdout likewise):
//   mode n B threads            mode 0 = projection, 1 = ADMM solve
//   mode 1 only: max_it adapt_every check_every alpha tol balance
//   per problem: k rho
//   C (B·n² values), Z start (B·n² values; mode 0: ignored zeros)
// Output: per problem: state iters rp rd rho sweeps (Jacobi sweeps of the last projection),
// then X (n² values), then U (n² values).

#include "harness.h"

#include "../sdp.cu"

int main() {
    const int mode = (int)rd_num(), n = (int)rd_num(), B = (int)rd_num();
    const unsigned threads = (unsigned)rd_num();
    int max_it = 0, adapt = 0, check_every = 1;
    double alpha = 1.0, tol = 1e-6, balance = 10.0;
    if (mode == 1) {
        max_it = (int)rd_num();
        adapt = (int)rd_num();
        check_every = (int)rd_num();
        alpha = rd_num();
        tol = rd_num();
        balance = rd_num();
    }
    std::vector<int> kk(B), state(B, SDP_RUNNING), sweeps(B, 0), iters(B, 0);
    std::vector<double> rho(B), rho0(B), rp(B, INFINITY), rdv(B, INFINITY);
    for (int b = 0; b < B; ++b) {
        kk[b] = (int)rd_num();
        rho[b] = rho0[b] = rd_num();
    }
    const size_t nn = (size_t)n * n, total = nn * B;
    std::vector<double> C(total), Z(total), U(total, 0.0), X(total), A(total, 0.0), Vt(total, 0.0),
        rowmean((size_t)n * B, 0.0);
    for (auto& x : C) x = rd_num();
    for (auto& x : Z) x = rd_num();
    X = Z;
    const int m = n + (n & 1);
    int pw = 1;
    while (pw < n) pw <<= 1;
    const size_t sh_red = 32 * 8, sh_jac = 32 * 8 + 2 * (size_t)(m / 2) * 8,
                 sh_re = 8 + (size_t)pw * 8 + (size_t)n * 2;
    auto projection = [&]() {
        emu_launch(sdp_prepare, B, threads, sh_red, (const double*)C.data(),
                   (const double*)Z.data(), (const double*)U.data(), A.data(), rowmean.data(),
                   (const int*)state.data(), (const double*)rho.data(), n);
        emu_launch(sdp_jacobi, B, threads, sh_jac, A.data(), Vt.data(), state.data(),
                   sweeps.data(), n);
        emu_launch(sdp_reassemble, B, threads, sh_re, (const double*)A.data(),
                   (const double*)Vt.data(), X.data(), (const int*)state.data(),
                   (const int*)kk.data(), n);
    };
    // Debugging: EMU_DUMP_AT=i prints problem 0's shifted matrix and X of iteration i to stderr.
    const char* dump_env = std::getenv("EMU_DUMP_AT");
    const int dump_at = dump_env ? std::atoi(dump_env) : 0;
    const char* rev_env = std::getenv("EMU_REVERSE");
    emu_reverse = rev_env && rev_env[0] == '1';
    if (mode == 0) {
        projection();
    } else {
        int done = 0;
        while (done < max_it) {
            const int chunk = std::min(check_every, max_it - done);
            for (int i = 0; i < chunk; ++i) {
                if (dump_at > 0 && iters[0] + 1 == dump_at) {
                    emu_launch(sdp_prepare, B, threads, sh_red, (const double*)C.data(),
                               (const double*)Z.data(), (const double*)U.data(), A.data(),
                               rowmean.data(), (const int*)state.data(),
                               (const double*)rho.data(), n);
                    for (size_t j = 0; j < nn; ++j) std::fprintf(stderr, "%.17g ", A[j]);
                    std::fprintf(stderr, "\n");
                    projection();
                    for (size_t j = 0; j < nn; ++j) std::fprintf(stderr, "%.17g ", X[j]);
                    std::fprintf(stderr, "\n");
                } else {
                    projection();
                }
                emu_launch(sdp_update, B, threads, sh_red, (const double*)X.data(), Z.data(),
                           U.data(), state.data(), iters.data(), rp.data(), rdv.data(),
                           rho.data(), (const double*)rho0.data(), n, alpha, tol, adapt,
                           balance, max_it);
            }
            done += chunk;
            bool running = false;
            for (int s : state) running |= s == SDP_RUNNING;
            if (!running) break;
        }
    }
    for (int b = 0; b < B; ++b) {
        std::printf("%d %d %.17g %.17g %.17g %d\n", state[b], iters[b], rp[b], rdv[b], rho[b],
                    sweeps[b]);
        for (size_t i = 0; i < nn; ++i) std::printf("%.17g ", X[b * nn + i]);
        std::printf("\n");
        for (size_t i = 0; i < nn; ++i) std::printf("%.17g ", U[b * nn + i]);
        std::printf("\n");
    }
    return 0;
}
