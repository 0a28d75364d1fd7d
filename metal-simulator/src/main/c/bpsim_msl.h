// The Metal simulator's MSL compiler: newLibraryWithSource:options:error: compiles the MSL source
// it is given as C++ (clang++, with the shim msl_shim.h) into a shared library, cached on disk by
// the SHA-256 of the source, and loads it.
#ifndef BPSIM_MSL_H
#define BPSIM_MSL_H

#include <stddef.h>

#include "bpsim_exec.h"

typedef struct BPSimProgram {
    unsigned char key[32];
    void *handle;
    int count;
    BPSimKernel *kernels;
    struct BPSimProgram *next;
} BPSimProgram;

// Compiles `source` (or finds it compiled). On failure returns NULL and sets *message (malloc'd) to
// the compiler's diagnostics, which name the source "program_source" as Metal's compiler does.
// Programs are never unloaded.
const BPSimProgram *bpsim_msl_compile(const char *source, char **message);

const BPSimKernel *bpsim_msl_kernel(const BPSimProgram *p, const char *name);

// For tests: the parts of compile and load.
void bpsim_sha256(const void *data, size_t len, unsigned char out[32]);

#endif
