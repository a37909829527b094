// Runs the real kernels of ../factored.cu on the CPU with the fiber harness of harness.h (one
// fiber per CUDA thread, barriers, NaN-filled shared memory), so that the tiled GEMM's indexing,
// shared-memory staging, padding of partial tiles and 64-bit offsets are tested on machines
// without a GPU (gpu/tests/kernel_emulation.rs builds this with g++ -std=c++17 and compares
// with the CPU twin `TiledOp` and with core's dense product).
//
// Protocol (stdin, whitespace-separated numbers; stdout likewise):
//   storage n q        storage 0 = f64 (fac_gemm_f64), 1 = f32 (fac_gemm_f32: C rounded to
//                      float here, as the host does before the upload)
//   C (n² values, row-major), x (n·q values, column-major)
// Output: out = C·x (n·q values, column-major), then the number of blocks launched.

#include "harness.h"

#include "../factored.cu"

int main() {
    const int storage = (int)rd_num(), n = (int)rd_num(), q = (int)rd_num();
    if (n < 1 || q < 1 || storage < 0 || storage > 1) {
        std::fprintf(stderr, "bad sizes\n");
        return 2;
    }
    const size_t nn = (size_t)n * (size_t)n;
    std::vector<double> c(nn), x((size_t)n * q), out((size_t)n * q,
                                                     std::numeric_limits<double>::quiet_NaN());
    for (auto& v : c) v = rd_num();
    for (auto& v : x) v = rd_num();
    const unsigned grid = (unsigned)(((n + FAC_BM - 1) / FAC_BM) * ((q + FAC_BN - 1) / FAC_BN));
    if (storage == 0) {
        const double* cp = c.data();
        const double* xp = x.data();
        double* op = out.data();
        emu_launch(fac_gemm_f64, grid, FAC_THREADS, FAC_SHARED_BYTES, cp, xp, op, n, q);
    } else {
        std::vector<float> cf(nn);
        for (size_t i = 0; i < nn; ++i) cf[i] = (float)c[i];
        const float* cp = cf.data();
        const double* xp = x.data();
        double* op = out.data();
        emu_launch(fac_gemm_f32, grid, FAC_THREADS, FAC_SHARED_BYTES, cp, xp, op, n, q);
    }
    for (double v : out) std::printf("%.17g ", v);
    std::printf("\n%u\n", grid);
    return 0;
}
