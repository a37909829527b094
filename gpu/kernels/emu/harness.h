// The CUDA emulation harness shared by the emulators of this folder (sdp_emu.cpp runs
// ../sdp.cu, factored_emu.cpp runs ../factored.cu): one fiber (ucontext) per CUDA thread,
// barriers for __syncthreads and warp shuffles, dynamic shared memory filled with NaN before
// every block, emu_launch, and rd_num (the stdin reader). See sdp_emu.cpp for what is and is
// not emulated.

#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <vector>

#include <ucontext.h>

using std::copysign;
using std::fabs;
using std::fmax;
using std::hypot;
using std::isfinite;
using std::sqrt;

struct EmuDim {
    unsigned x;
};
// Set by the scheduler before it switches to a fiber.
EmuDim threadIdx;
EmuDim blockIdx;
EmuDim blockDim;

constexpr size_t EMU_SHARED_DOUBLES = 48 * 1024 / 8;
alignas(16) double sh[EMU_SHARED_DOUBLES];
double emu_xchg[1024];

// One fiber (ucontext) per CUDA thread of the running block.
enum EmuState { EMU_RUNNABLE, EMU_WAIT_BLOCK, EMU_WAIT_WARP, EMU_DONE };
struct EmuFiber {
    ucontext_t ctx;
    std::vector<char> stack;
    EmuState state;
};
ucontext_t emu_main;
// EMU_REVERSE=1: run the fibers of a block from the last thread to the first between barriers
// (a thread that reads what another writes between the same two barriers then sees a
// different value in the two orders).
bool emu_reverse = false;
std::vector<EmuFiber> emu_fibers;
unsigned emu_current;
std::function<void()> emu_job;

void emu_wait(EmuState why) {
    emu_fibers[emu_current].state = why;
    swapcontext(&emu_fibers[emu_current].ctx, &emu_main);
}

void __syncthreads() { emu_wait(EMU_WAIT_BLOCK); }

double __shfl_down_sync(unsigned, double v, int off) {
    const unsigned lane = threadIdx.x & 31;
    emu_xchg[threadIdx.x] = v;
    emu_wait(EMU_WAIT_WARP);
    const double r = lane + off < 32 ? emu_xchg[threadIdx.x + off] : v;
    emu_wait(EMU_WAIT_WARP);
    return r;
}

void emu_entry() {
    emu_job();
    emu_fibers[emu_current].state = EMU_DONE;
}

// Runs one block: every fiber until it waits or ends, then releases a warp whose live lanes
// all wait at a shuffle, or the block when every live thread waits at __syncthreads
// (exited threads count as arrived, as on sm_70+). A deadlock aborts.
void emu_run_block(unsigned threads) {
    const size_t stack = 64 * 1024;
    if (emu_fibers.size() < threads) emu_fibers.resize(threads);
    for (unsigned t = 0; t < threads; ++t) {
        EmuFiber& f = emu_fibers[t];
        if (f.stack.size() != stack) f.stack.resize(stack);
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack.data();
        f.ctx.uc_stack.ss_size = stack;
        f.ctx.uc_link = &emu_main;
        makecontext(&f.ctx, emu_entry, 0);
        f.state = EMU_RUNNABLE;
    }
    for (;;) {
        bool ran = false;
        for (unsigned i = 0; i < threads; ++i) {
            const unsigned t = emu_reverse ? threads - 1 - i : i;
            if (emu_fibers[t].state == EMU_RUNNABLE) {
                emu_current = t;
                threadIdx.x = t;
                swapcontext(&emu_main, &emu_fibers[t].ctx);
                ran = true;
            }
        }
        bool released = false, live = false, all_block = true;
        for (unsigned w = 0; w * 32 < threads; ++w) {
            bool any = false, all = true;
            for (unsigned t = w * 32; t < std::min(threads, w * 32 + 32); ++t) {
                const EmuState s = emu_fibers[t].state;
                if (s == EMU_DONE) continue;
                live = true;
                any = any || s == EMU_WAIT_WARP;
                all = all && s == EMU_WAIT_WARP;
                all_block = all_block && s == EMU_WAIT_BLOCK;
            }
            if (any && all) {
                for (unsigned t = w * 32; t < std::min(threads, w * 32 + 32); ++t) {
                    if (emu_fibers[t].state == EMU_WAIT_WARP) emu_fibers[t].state = EMU_RUNNABLE;
                }
                released = true;
            }
        }
        if (!live) return;
        if (all_block && !released) {
            for (unsigned t = 0; t < threads; ++t) {
                if (emu_fibers[t].state == EMU_WAIT_BLOCK) emu_fibers[t].state = EMU_RUNNABLE;
            }
            released = true;
        }
        if (!ran && !released) {
            std::fprintf(stderr, "emulator: deadlock (threads wait at different barriers)\n");
            std::exit(4);
        }
    }
}

#define __global__
#define __device__
#define __forceinline__
#define __shared__
#define __restrict__ __restrict

// Runs `kernel(args...)` on `grid` blocks of `threads` threads with `shared` bytes of dynamic
// shared memory (filled with NaN before each block).
template <typename... P, typename... A>
void emu_launch(void (*kernel)(P...), unsigned grid, unsigned threads, size_t shared, A... args) {
    if (threads % 32 != 0 || threads == 0 || threads > 1024 || shared > sizeof(sh)) {
        std::fprintf(stderr, "bad launch: %u threads, %zu bytes shared\n", threads, shared);
        std::exit(3);
    }
    blockDim.x = threads;
    emu_job = [=]() { kernel(args...); };
    for (unsigned b = 0; b < grid; ++b) {
        std::fill(sh, sh + EMU_SHARED_DOUBLES, std::numeric_limits<double>::quiet_NaN());
        blockIdx.x = b;
        emu_run_block(threads);
    }
}

// The next whitespace-separated number on stdin; exits with status 2 on bad or missing input.
static double rd_num() {
    double x;
    if (std::scanf("%lf", &x) != 1) {
        std::fprintf(stderr, "bad input\n");
        std::exit(2);
    }
    return x;
}
