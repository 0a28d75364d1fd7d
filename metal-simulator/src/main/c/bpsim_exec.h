// The Metal simulator's execution of compiled MSL kernels: threadgroups in parallel on a small
// worker pool, the threads of one threadgroup as fibers on one OS thread (so that
// threadgroup_barrier suspends a thread until its whole group reached it).
#ifndef BPSIM_EXEC_H
#define BPSIM_EXEC_H

#include <stdint.h>

// One threadgroup, as the generated entry points receive it. Keep in step with struct bpsim_group in
// metal-simulator/src/main/cpp/msl_shim.h.
typedef struct bpsim_group {
    uint32_t tgid[3];  // threadgroup_position_in_grid
    uint32_t size[3];  // threads_per_threadgroup (this group's; smaller at the edge of the grid)
    uint32_t dsize[3]; // dispatch_threads_per_threadgroup
    uint32_t tpg[3];   // threads_per_grid
    uint32_t ntg[3];   // threadgroups_per_grid
    uint32_t cur;      // the thread the group loop is running (read by the barrier)
    int32_t stop;      // set when the group switched to one fiber per thread
} bpsim_group;

// What the generated code calls back (struct bpsim_host_api in msl_shim.h).
typedef struct bpsim_host_api {
    unsigned version;
    void (*barrier)(void);
} bpsim_host_api;

#define BPSIM_ABI_VERSION 1

// A kernel of a compiled library: `group` runs every thread of one threadgroup in a loop, `thread`
// runs one thread (linear index in its group).
typedef void (*bpsim_group_fn)(void *const *bindings, bpsim_group *g);
typedef void (*bpsim_thread_fn)(void *const *bindings, bpsim_group *g, uint32_t index);

typedef struct BPSimKernel {
    char name[128];
    bpsim_group_fn group;
    bpsim_thread_fn thread;
    unsigned max_threads; // [[max_total_threads_per_threadgroup(n)]], else 1024
} BPSimKernel;

extern const bpsim_host_api bpsim_host_callbacks;

// Runs one dispatch to completion on the calling thread (and the pool's helpers). `grid` is the
// number of threads (dispatchThreads, `uniform` 0: partial groups at the edge) or of threadgroups
// (dispatchThreadgroups, `uniform` 1).
void bpsim_exec_dispatch(const BPSimKernel *k, void *const *bindings, const unsigned long grid[3], const unsigned long group[3],
                         int uniform);

#endif
