// Standalone test of the Metal simulator: drives it like the Metal backend does (Objective-C
// messages found with the GCC runtime's objc_msg_lookup, blocks as completion handlers), compiles
// MSL of its own and the backend's real backplane_kernels.metal, and checks the results against
// straightforward CPU computations. Built and run by metal-simulator/src/test/run-tests.sh.
//
//   sim_test <path of backplane_kernels.metal> [--bench]
#include <Block.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpsim_control.h"

// The GCC Objective-C runtime, as the backend binds it.
typedef struct objc_object *id;
typedef struct objc_selector *SEL;
typedef id (*IMP)(id, SEL, ...);
extern SEL sel_registerName(const char *name);
extern IMP objc_msg_lookup(id receiver, SEL op);
extern id objc_getClass(const char *name);
extern void *objc_autoreleasePoolPush(void);
extern void objc_autoreleasePoolPop(void *pool);
extern id MTLCreateSystemDefaultDevice(void);

typedef struct {
    unsigned long width, height, depth;
} MTLSize;

#define SEND(type, receiver, sel) ((type) objc_msg_lookup((id) (receiver), sel_registerName(sel)))

static id msg(id r, const char *sel) {
    return SEND(id(*)(id, SEL), r, sel)(r, sel_registerName(sel));
}
static unsigned long msg_ul(id r, const char *sel) {
    return SEND(unsigned long (*)(id, SEL), r, sel)(r, sel_registerName(sel));
}
static long msg_l(id r, const char *sel) {
    return SEND(long (*)(id, SEL), r, sel)(r, sel_registerName(sel));
}
static const char *msg_str(id r, const char *sel) {
    id s = msg(r, sel);
    return s ? SEND(const char *(*) (id, SEL), s, "UTF8String")(s, sel_registerName("UTF8String")) : NULL;
}
static id msg_p(id r, const char *sel, const void *p) {
    return SEND(id(*)(id, SEL, const void *), r, sel)(r, sel_registerName(sel), p);
}
static id nsstring(const char *s) {
    id o = msg(objc_getClass("NSString"), "alloc");
    return msg_p(o, "initWithUTF8String:", s);
}

static int failures;
#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (!(cond)) {                                                \
            failures++;                                               \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
            fprintf(stderr, __VA_ARGS__);                             \
            fprintf(stderr, "\n");                                    \
        }                                                             \
    } while (0)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// ------------------------------------------------------------------ driving the simulator

static id device;

// newLibraryWithSource:options:error: with fast math off; *error gets the NSError, if any.
static id library(const char *source, id *error) {
    id opts = msg(objc_getClass("MTLCompileOptions"), "new");
    SEND(void (*)(id, SEL, unsigned char), opts, "setFastMathEnabled:")(opts, sel_registerName("setFastMathEnabled:"), 0);
    id err = NULL;
    id lib = SEND(id(*)(id, SEL, id, id, id *), device, "newLibraryWithSource:options:error:")(
            device, sel_registerName("newLibraryWithSource:options:error:"), nsstring(source), opts, &err);
    if (error) *error = err;
    return lib;
}

static id pipeline(id lib, const char *name) {
    id fn = msg_p(lib, "newFunctionWithName:", nsstring(name));
    if (fn == NULL) {
        fprintf(stderr, "FAIL: no function %s\n", name);
        failures++;
        return NULL;
    }
    id err = NULL;
    id p = SEND(id(*)(id, SEL, id, id *), device, "newComputePipelineStateWithFunction:error:")(
            device, sel_registerName("newComputePipelineStateWithFunction:error:"), fn, &err);
    return p;
}

static id new_buffer(unsigned long bytes) {
    return SEND(id(*)(id, SEL, unsigned long, unsigned long), device, "newBufferWithLength:options:")(
            device, sel_registerName("newBufferWithLength:options:"), bytes, 0);
}

static void *contents(id buffer) {
    return SEND(void *(*) (id, SEL), buffer, "contents")(buffer, sel_registerName("contents"));
}

static id queue(const char *label) {
    id q = msg(device, "newCommandQueue");
    SEND(void (*)(id, SEL, id), q, "setLabel:")(q, sel_registerName("setLabel:"), nsstring(label));
    return q;
}

// One command buffer with one encoder, as the backend builds a batch.
typedef struct {
    id cb, enc;
} Batch;

static Batch begin(id q) {
    Batch b;
    b.cb = msg(q, "commandBuffer");
    b.enc = msg(b.cb, "computeCommandEncoder");
    return b;
}

static void use(Batch *b, id pso) {
    SEND(void (*)(id, SEL, id), b->enc, "setComputePipelineState:")(b->enc, sel_registerName("setComputePipelineState:"), pso);
}

static void buffer_at(Batch *b, id buffer, unsigned long offset, unsigned long index) {
    SEND(void (*)(id, SEL, id, unsigned long, unsigned long), b->enc, "setBuffer:offset:atIndex:")(
            b->enc, sel_registerName("setBuffer:offset:atIndex:"), buffer, offset, index);
}

static void bytes_at(Batch *b, const void *bytes, unsigned long length, unsigned long index) {
    SEND(void (*)(id, SEL, const void *, unsigned long, unsigned long), b->enc, "setBytes:length:atIndex:")(
            b->enc, sel_registerName("setBytes:length:atIndex:"), bytes, length, index);
}

static void dispatch(Batch *b, MTLSize grid, MTLSize group) {
    SEND(void (*)(id, SEL, MTLSize, MTLSize), b->enc, "dispatchThreads:threadsPerThreadgroup:")(
            b->enc, sel_registerName("dispatchThreads:threadsPerThreadgroup:"), grid, group);
}

static void dispatch_groups(Batch *b, MTLSize groups, MTLSize group) {
    SEND(void (*)(id, SEL, MTLSize, MTLSize), b->enc, "dispatchThreadgroups:threadsPerThreadgroup:")(
            b->enc, sel_registerName("dispatchThreadgroups:threadsPerThreadgroup:"), groups, group);
}

static MTLSize size1(unsigned long w) {
    MTLSize s = {w, 1, 1};
    return s;
}

static MTLSize size2(unsigned long w, unsigned long h) {
    MTLSize s = {w, h, 1};
    return s;
}

static long handler_thread_calls;
static pthread_t main_thread;

// endEncoding, a completion handler, commit, wait; the status (4: completed).
static unsigned long finish(Batch *b) {
    msg(b->enc, "endEncoding");
    void (^handler)(id) = ^(id cb) {
        (void) cb;
        if (!pthread_equal(pthread_self(), main_thread)) __atomic_fetch_add(&handler_thread_calls, 1, __ATOMIC_SEQ_CST);
    };
    SEND(void (*)(id, SEL, void (^)(id)), b->cb, "addCompletedHandler:")(b->cb, sel_registerName("addCompletedHandler:"), handler);
    msg(b->cb, "commit");
    msg(b->cb, "waitUntilCompleted");
    return msg_ul(b->cb, "status");
}

// ------------------------------------------------------------------ data

static uint32_t seed = 12345;
static float rnd(float lo, float hi) {
    seed = seed * 1664525u + 1013904223u;
    return lo + (hi - lo) * ((seed >> 8) / 16777216.0f);
}

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static int same(float a, float b) {
    return (a != a && b != b) || bits(a) == bits(b);
}

// Compares n floats bit for bit (NaN equals NaN); reports the first difference.
static void expect_floats(const char *what, const float *got, const float *want, long n) {
    for (long i = 0; i < n; i++) {
        if (!same(got[i], want[i])) {
            CHECK(0, "%s[%ld]: got %.9g (%08x), want %.9g (%08x)", what, i, got[i], bits(got[i]), want[i], bits(want[i]));
            return;
        }
    }
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t) n + 1);
    s[fread(s, 1, (size_t) n, f)] = 0;
    fclose(f);
    return s;
}

// ------------------------------------------------------------------ our own kernels

static const char *TEST_MSL =
        "#include <metal_stdlib>\n"
        "using namespace metal;\n"
        "\n"
        "kernel void saxpy(device const float *x [[buffer(0)]], device float *y [[buffer(1)]], constant float &a [[buffer(2)]],\n"
        "                  uint i [[thread_position_in_grid]]) {\n"
        "    y[i] = fma(a, x[i], y[i]);\n"
        "}\n"
        "\n"
        "kernel void literal(device const float *x [[buffer(0)]], device float *const y [[buffer(1)]], uint i [[thread_position_in_grid]]) {\n"
        "    y[i] = x[i] * 0.1 + 1e-3;\n"
        "}\n"
        "\n"
        "static void combine(threadgroup float *t, uint a, uint b) {\n"
        "    t[a] += t[b];\n"
        "}\n"
        "\n"
        "// A tree reduction over each (possibly partial) threadgroup.\n"
        "kernel void block_sum(device const float *x [[buffer(0)]], device float *partial [[buffer(1)]],\n"
        "                      uint gid [[thread_position_in_grid]], uint lid [[thread_position_in_threadgroup]],\n"
        "                      uint tg [[threadgroup_position_in_grid]], uint size [[threads_per_threadgroup]]) {\n"
        "    threadgroup float tmp[1024];\n"
        "    tmp[lid] = x[gid];\n"
        "    threadgroup_barrier(mem_flags::mem_threadgroup);\n"
        "    for (uint s = 1; s < size; s *= 2) {\n"
        "        if (lid % (2 * s) == 0 && lid + s < size) combine(tmp, lid, lid + s);\n"
        "        threadgroup_barrier(mem_flags::mem_threadgroup);\n"
        "    }\n"
        "    if (lid == 0) partial[tg] = tmp[0];\n"
        "}\n"
        "\n"
        "// Threads past the end return before the second barrier; a threadgroup atomic counts the others.\n"
        "kernel void tail_sum(device const float *x [[buffer(0)]], device float *out [[buffer(1)]], constant uint &n [[buffer(2)]],\n"
        "                     uint gid [[thread_position_in_grid]], ushort lid [[thread_index_in_threadgroup]],\n"
        "                     uint tg [[threadgroup_position_in_grid]]) {\n"
        "    threadgroup float tmp[256];\n"
        "    threadgroup atomic_uint count;\n"
        "    if (lid == 0) atomic_store_explicit(&count, 0u, memory_order_relaxed);\n"
        "    threadgroup_barrier(mem_flags::mem_threadgroup);\n"
        "    if (gid >= n) return;\n"
        "    atomic_fetch_add_explicit(&count, 1u, memory_order_relaxed);\n"
        "    tmp[lid] = x[gid];\n"
        "    threadgroup_barrier(mem_flags::mem_threadgroup | mem_flags::mem_device);\n"
        "    if (lid == 0) {\n"
        "        uint c = atomic_load_explicit(&count, memory_order_relaxed);\n"
        "        float s = 0.0f;\n"
        "        for (uint k = 0; k < c; k++) s += tmp[k];\n"
        "        out[tg] = s;\n"
        "    }\n"
        "}\n"
        "\n"
        "// The first threads of each group return at once: the group turns into fibers at thread 3.\n"
        "kernel void skip_first(device const float *x [[buffer(0)]], device float *out [[buffer(1)]],\n"
        "                       uint gid [[thread_position_in_grid]], uint lid [[thread_index_in_threadgroup]],\n"
        "                       uint tg [[threadgroup_position_in_grid]], uint size [[threads_per_threadgroup]]) {\n"
        "    threadgroup float tmp[128];\n"
        "    if (lid < 3) return;\n"
        "    tmp[lid] = x[gid];\n"
        "    threadgroup_barrier(mem_flags::mem_threadgroup);\n"
        "    if (lid == 3) {\n"
        "        float s = 0.0f;\n"
        "        for (uint k = 3; k < size; k++) s += tmp[k];\n"
        "        out[tg] = s;\n"
        "    }\n"
        "}\n"
        "\n"
        "// Out-of-range indices set an error word (an atomic flag, a count and the largest bad index).\n"
        "kernel void gather_checked(device const float *src [[buffer(0)]], device const long *idx [[buffer(1)]],\n"
        "                           device float *out [[buffer(2)]], device atomic_uint *err [[buffer(3)]],\n"
        "                           constant long *p [[buffer(4)]], uint i [[thread_position_in_grid]]) {\n"
        "    long j = idx[i];\n"
        "    if (j < 0 || j >= p[0]) {\n"
        "        atomic_fetch_or_explicit(err, 1u, memory_order_relaxed);\n"
        "        atomic_fetch_add_explicit(err + 1, 1u, memory_order_relaxed);\n"
        "        atomic_fetch_max_explicit((device atomic_int *) (err + 2), (int) j, memory_order_relaxed);\n"
        "        out[i] = 0.0f;\n"
        "        return;\n"
        "    }\n"
        "    out[i] = src[j];\n"
        "}\n"
        "\n"
        "kernel void positions(device uint *out [[buffer(0)]], uint2 gid [[thread_position_in_grid]],\n"
        "                      uint2 lid [[thread_position_in_threadgroup]], uint2 tg [[threadgroup_position_in_grid]],\n"
        "                      uint2 tptg [[threads_per_threadgroup]], uint2 tpg [[threads_per_grid]],\n"
        "                      ushort li [[thread_index_in_threadgroup]], uint2 ntg [[threadgroups_per_grid]],\n"
        "                      uint3 dtptg [[dispatch_threads_per_threadgroup]]) {\n"
        "    device uint *o = out + (gid.y * tpg.x + gid.x) * 10;\n"
        "    o[0] = lid.x; o[1] = lid.y; o[2] = tg.x; o[3] = tg.y; o[4] = tptg.x; o[5] = tptg.y;\n"
        "    o[6] = li; o[7] = ntg.x * 1000 + ntg.y; o[8] = dtptg.x * 1000 + dtptg.y; o[9] = 1;\n"
        "}\n"
        "\n"
        "// half and bfloat: conversions (round to nearest even), half arithmetic rounded per operation,\n"
        "// half literals, and raw bytes.\n"
        "kernel void small_floats(device const float *x [[buffer(0)]], device half *h [[buffer(1)]],\n"
        "                         device bfloat *b [[buffer(2)]], device half *hs [[buffer(3)]],\n"
        "                         device const uchar *raw [[buffer(4)]], device float *back [[buffer(5)]],\n"
        "                         uint i [[thread_position_in_grid]]) {\n"
        "    half v = half(x[i]);\n"
        "    h[i] = v;\n"
        "    b[i] = bfloat(x[i]);\n"
        "    hs[i] = v * v + v * 1.5h;\n"
        "    back[i] = float(as_type<half>(*((device const ushort *) raw + i)));\n"
        "}\n"
        "\n"
        "// Metal's float semantics the backend relies on.\n"
        "kernel void float_rules(device const float *a [[buffer(0)]], device const float *b [[buffer(1)]],\n"
        "                        device float *out [[buffer(2)]], uint i [[thread_position_in_grid]]) {\n"
        "    device float *o = out + i * 8;\n"
        "    o[0] = fmax(a[i], b[i]);\n"
        "    o[1] = fmin(a[i], b[i]);\n"
        "    o[2] = max(a[i], b[i]);\n"
        "    o[3] = clamp(a[i], -1.0f, 1.0f);\n"
        "    o[4] = precise::sqrt(fabs(a[i]));\n"
        "    o[5] = select(a[i], b[i], isnan(a[i]) || isinf(b[i]));\n"
        "    o[6] = copysign(1.0f, a[i]) + (signbit(b[i]) ? 10.0f : 0.0f);\n"
        "    o[7] = as_type<float>(as_type<uint>(a[i]) ^ 0x80000000u);\n"
        "}\n"
        "\n"
        "// Vectors, integer functions and limits compile and behave.\n"
        "kernel void vectors(device float4 *v [[buffer(0)]], device int *o [[buffer(1)]], uint i [[thread_position_in_grid]]) {\n"
        "    float4 a = v[i];\n"
        "    float2 lo = a.xy;\n"
        "    float4 c = float4(lo, a.z, 1.0f) * 2.0f + float4(0.5f);\n"
        "    v[i] = select(c, float4(-1.0f), c > float4(100.0f));\n"
        "    int4 k = int4(a);\n"
        "    o[i * 4 + 0] = k.x + k.y;\n"
        "    o[i * 4 + 1] = popcount(uint(i)) + clz(1u) * 100;\n"
        "    o[i * 4 + 2] = abs(-int(i)) + max(int(i), 3) * 1000;\n"
        "    o[i * 4 + 3] = int(dot(lo, lo)) + (numeric_limits<int>::max() == 2147483647 ? 100000 : 0);\n"
        "}\n"
        "\n"
        "template <typename T>\n"
        "kernel void scale_t(device const T *x [[buffer(0)]], device T *y [[buffer(1)]], constant float &s [[buffer(2)]],\n"
        "                    uint i [[thread_position_in_grid]]) {\n"
        "    y[i] = T(float(x[i]) * s);\n"
        "}\n"
        "template [[host_name(\"scale_float\")]] kernel void scale_t<float>(device const float *x [[buffer(0)]],\n"
        "    device float *y [[buffer(1)]], constant float &s [[buffer(2)]], uint i [[thread_position_in_grid]]);\n"
        "template [[host_name(\"scale_bfloat\")]] kernel void scale_t<bfloat>(device const bfloat *x [[buffer(0)]],\n"
        "    device bfloat *y [[buffer(1)]], constant float &s [[buffer(2)]], uint i [[thread_position_in_grid]]);\n"
        "\n"
        "#define NEG_KERNEL(NAME, T) \\\n"
        "    kernel void NAME(device const T *x [[buffer(0)]], device T *y [[buffer(1)]], uint i [[thread_position_in_grid]]) { \\\n"
        "        y[i] = -x[i]; \\\n"
        "    }\n"
        "NEG_KERNEL(neg_int, int)\n"
        "NEG_KERNEL(neg_long, long)\n"
        "\n"
        "namespace extra {\n"
        "kernel void iota(device uint *y [[buffer(0)]], constant bool *flag [[buffer(1)]], uint i [[thread_position_in_grid]]) {\n"
        "    y[i] = flag[0] ? i : 0u;\n"
        "}\n"
        "}\n"
        "\n"
        "// The shim's math, each against libm's single-precision function.\n"
        "kernel void coverage(device const float *x [[buffer(0)]], device float *o [[buffer(1)]],\n"
        "                     device atomic_uint *w [[buffer(2)]], volatile device atomic_int *v [[buffer(3)]],\n"
        "                     ushort2 lid2 [[thread_position_in_threadgroup]], uint i [[thread_position_in_grid]]) {\n"
        "    float a = x[i];\n"
        "    device float *r = o + i * 24;\n"
        "    r[0] = exp(a); r[1] = exp2(a); r[2] = log(fabs(a)); r[3] = log2(fabs(a)); r[4] = pow(fabs(a), 1.7f);\n"
        "    r[5] = powr(fabs(a), 0.3f); r[6] = tanh(a); r[7] = sin(a); r[8] = cos(a); r[9] = floor(a); r[10] = ceil(a);\n"
        "    r[11] = round(a); r[12] = trunc(a); r[13] = rsqrt(fabs(a)); r[14] = fast::exp(a); r[15] = precise::tanh(a);\n"
        "    r[16] = metal::fast::sqrt(fabs(a)); r[17] = isinf(a) ? 1.0f : 0.0f; r[18] = float(exp(half(a)));\n"
        "    r[19] = bfloat(a) < bfloat(0.5f) ? 1.0f : 0.0f; r[20] = float(abs(int2(int(a), -3)).y); r[21] = float(lid2.x);\n"
        "    r[22] = min(a, 2.0f); r[23] = fmin(abs(a), 1e30f);\n"
        "    atomic_fetch_min_explicit(w, uint(i + 7), memory_order_relaxed);\n"
        "    atomic_exchange_explicit(w + 1, 42u, memory_order_relaxed);\n"
        "    atomic_fetch_sub_explicit(v, 2, memory_order_relaxed);\n"
        "    int expected = atomic_load_explicit(v + 1, memory_order_relaxed);\n"
        "    while (!atomic_compare_exchange_weak_explicit(v + 1, &expected, expected + 3, memory_order_relaxed, memory_order_relaxed)) {}\n"
        "}\n"
        "\n"
        "[[max_total_threads_per_threadgroup(64)]]\n"
        "kernel void nothing(device float *x [[buffer(0)]], uint i [[thread_position_in_grid]]) {\n"
        "}\n";

static float half_to_float(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float) m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float) (m | 1024), e - 25);
    return (h & 0x8000) ? -v : v;
}

// Reference float -> half: the nearest half by searching, ties to the even one.
static uint16_t ref_half(float f) {
    if (f != f) return 0x7e00;
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    double a = fabs((double) f);
    if (a >= 65520.0) return sign | 0x7c00;
    uint16_t lo = 0, hi = 0x7bff; // largest finite half <= a
    while (lo < hi) {
        uint16_t mid = (uint16_t) ((lo + hi + 1) / 2);
        if ((double) half_to_float(mid) <= a) lo = mid; else hi = (uint16_t) (mid - 1);
    }
    uint16_t best = lo;
    if (lo < 0x7bff || a > 65504.0) {
        double dlo = a - half_to_float(lo), dhi = (lo == 0x7bff ? 65536.0 : half_to_float((uint16_t) (lo + 1))) - a;
        if (dhi < dlo || (dhi == dlo && (lo & 1))) best = (uint16_t) (lo + 1);
    }
    return sign | best;
}

static float bfloat_to_float(uint16_t b) {
    uint32_t u = (uint32_t) b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint16_t ref_bfloat(float f) {
    if (f != f) return 0x7fc0;
    uint32_t u = bits(f);
    uint16_t lo = (uint16_t) (u >> 16);
    float flo, fhi;
    uint32_t a = (uint32_t) lo << 16, b = (uint32_t) (lo + 1) << 16;
    memcpy(&flo, &a, 4);
    memcpy(&fhi, &b, 4);
    double dlo = fabs((double) f - flo), dhi = fabs((double) fhi - f);
    if ((u & 0x7fffffffu) >= 0x7f7f8000u && (u & 0x7fffffffu) < 0x7f800000u) return (uint16_t) (lo + ((u & 0xffff) > 0x8000 || ((u & 0xffff) == 0x8000 && (lo & 1)))); // near overflow
    return (dhi < dlo || (dhi == dlo && (lo & 1))) ? (uint16_t) (lo + 1) : lo;
}

static float java_max(float a, float b) {
    if (a != a || b != b) return NAN;
    if (a > b) return a;
    if (b > a) return b;
    return signbit(a) ? b : a;
}

static float java_min(float a, float b) {
    if (a != a || b != b) return NAN;
    if (a < b) return a;
    if (b < a) return b;
    return signbit(a) ? a : b;
}

static void test_own_kernels(void) {
    id err = NULL;
    double t0 = now();
    id lib = library(TEST_MSL, &err);
    double t1 = now();
    CHECK(lib != NULL, "test library did not compile: %s", err ? msg_str(err, "localizedDescription") : "?");
    if (lib == NULL) return;
    printf("  test library: compiled in %.3f s\n", t1 - t0);
    id q = queue("own");

    // saxpy with buffer offsets
    {
        const int n = 1000;
        id x = new_buffer((n + 16) * 4), y = new_buffer((n + 32) * 4);
        float *xs = contents(x), *ys = contents(y), want[1000];
        for (int i = 0; i < n + 16; i++) xs[i] = rnd(-2, 2);
        for (int i = 0; i < n + 32; i++) ys[i] = rnd(-2, 2);
        float a = 1.75f;
        for (int i = 0; i < n; i++) want[i] = fmaf(a, xs[i + 16], ys[i + 32]);
        Batch b = begin(q);
        use(&b, pipeline(lib, "saxpy"));
        buffer_at(&b, x, 16 * 4, 0);
        buffer_at(&b, y, 32 * 4, 1);
        bytes_at(&b, &a, 4, 2);
        dispatch(&b, size1(n), size1(256));
        CHECK(finish(&b) == 4, "saxpy status");
        expect_floats("saxpy", ys + 32, want, n);
        CHECK(ys[0] != 0 || ys[31] != 0, "saxpy wrote outside its view");
    }
    // float literals are single precision, as in MSL
    {
        const int n = 4096;
        id x = new_buffer(n * 4), y = new_buffer(n * 4);
        float *xs = contents(x), want[4096];
        for (int i = 0; i < n; i++) {
            xs[i] = rnd(-100, 100);
            want[i] = xs[i] * 0.1f + 1e-3f;
        }
        Batch b = begin(q);
        use(&b, pipeline(lib, "literal"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, y, 0, 1);
        dispatch(&b, size1(n), size1(1024));
        CHECK(finish(&b) == 4, "literal status");
        expect_floats("literal", contents(y), want, n);
    }
    // tree reduction with barriers over partial groups (1000 = 3 x 256 + 232; 1 x 7 groups too)
    int sizes[][2] = {{1000, 256}, {4096, 1024}, {7, 7}, {70, 3}, {1, 1}, {5000, 100}};
    for (int s = 0; s < 6; s++) {
        int n = sizes[s][0], g = sizes[s][1], groups = (n + g - 1) / g;
        id x = new_buffer(n * 4), out = new_buffer(groups * 4);
        float *xs = contents(x);
        for (int i = 0; i < n; i++) xs[i] = rnd(-1, 1);
        float want[64], tmp[1024];
        for (int t = 0; t < groups; t++) {
            int size = t == groups - 1 ? n - t * g : g;
            for (int l = 0; l < size; l++) tmp[l] = xs[t * g + l];
            for (int st = 1; st < size; st *= 2) {
                for (int l = 0; l < size; l++) {
                    if (l % (2 * st) == 0 && l + st < size) tmp[l] += tmp[l + st];
                }
            }
            want[t] = tmp[0];
        }
        Batch b = begin(q);
        use(&b, pipeline(lib, "block_sum"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, out, 0, 1);
        dispatch(&b, size1(n), size1(g));
        CHECK(finish(&b) == 4, "block_sum status");
        expect_floats("block_sum", contents(out), want, groups);
    }
    // early return before a barrier (returned threads count as arrived), threadgroup atomics
    {
        const unsigned n = 1000, g = 256, groups = 4;
        id x = new_buffer(groups * g * 4), out = new_buffer(groups * 4);
        float *xs = contents(x), want[4];
        for (unsigned i = 0; i < groups * g; i++) xs[i] = rnd(-1, 1);
        for (unsigned t = 0; t < groups; t++) {
            float s = 0;
            for (unsigned l = 0; l < g && t * g + l < n; l++) s += xs[t * g + l];
            want[t] = s;
        }
        Batch b = begin(q);
        use(&b, pipeline(lib, "tail_sum"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, out, 0, 1);
        bytes_at(&b, &n, 4, 2);
        dispatch_groups(&b, size1(groups), size1(g));
        CHECK(finish(&b) == 4, "tail_sum status");
        expect_floats("tail_sum", contents(out), want, groups);
    }
    // a group that turns into fibers at its fourth thread
    {
        const int n = 1000, g = 128, groups = (n + g - 1) / g;
        id x = new_buffer(n * 4), out = new_buffer(groups * 4);
        float *xs = contents(x), want[8];
        for (int i = 0; i < n; i++) xs[i] = rnd(-1, 1);
        for (int t = 0; t < groups; t++) {
            int size = t == groups - 1 ? n - t * g : g;
            float sum = 0.0f;
            for (int k = 3; k < size; k++) sum += xs[t * g + k];
            want[t] = sum;
        }
        Batch b = begin(q);
        use(&b, pipeline(lib, "skip_first"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, out, 0, 1);
        dispatch(&b, size1(n), size1(g));
        CHECK(finish(&b) == 4, "skip_first status");
        expect_floats("skip_first", contents(out), want, groups);
    }
    // atomic error word
    {
        const int n = 3000;
        id src = new_buffer(100 * 4), idx = new_buffer(n * 8), out = new_buffer(n * 4), err_word = new_buffer(16);
        float *ss = contents(src), want[3000];
        long *is = contents(idx);
        for (int i = 0; i < 100; i++) ss[i] = (float) i * 0.5f;
        unsigned bad = 0;
        int worst = -1000;
        for (int i = 0; i < n; i++) {
            is[i] = (i * 7919) % 113 - 5; // -5 .. 107
            int ok = is[i] >= 0 && is[i] < 100;
            want[i] = ok ? ss[is[i]] : 0.0f;
            if (!ok) {
                bad++;
                if (is[i] > worst) worst = (int) is[i];
            }
        }
        long p[1] = {100};
        Batch b = begin(q);
        use(&b, pipeline(lib, "gather_checked"));
        buffer_at(&b, src, 0, 0);
        buffer_at(&b, idx, 0, 1);
        buffer_at(&b, out, 0, 2);
        buffer_at(&b, err_word, 0, 3);
        bytes_at(&b, p, 8, 4);
        dispatch(&b, size1(n), size1(64));
        CHECK(finish(&b) == 4, "gather status");
        expect_floats("gather", contents(out), want, n);
        uint32_t *e = contents(err_word);
        CHECK(e[0] == 1 && e[1] == bad && (int) e[2] == worst, "error word %u %u %d, want 1 %u %d", e[0], e[1], (int) e[2], bad, worst);
    }
    // thread positions in a 2D grid with partial groups at both edges
    {
        const unsigned W = 37, H = 11, GW = 8, GH = 4;
        id out = new_buffer(W * H * 10 * 4);
        Batch b = begin(q);
        use(&b, pipeline(lib, "positions"));
        buffer_at(&b, out, 0, 0);
        dispatch(&b, size2(W, H), size2(GW, GH));
        CHECK(finish(&b) == 4, "positions status");
        uint32_t *o = contents(out);
        int bad = 0;
        for (unsigned y = 0; y < H && !bad; y++) {
            for (unsigned x = 0; x < W && !bad; x++) {
                uint32_t *r = o + (y * W + x) * 10;
                unsigned tx = x / GW, ty = y / GH, sx = tx == W / GW ? W % GW : GW, sy = ty == H / GH ? H % GH : GH;
                unsigned lx = x % GW, ly = y % GH;
                uint32_t want[10] = {lx, ly, tx, ty, sx, sy, ly * sx + lx, 5 * 1000 + 3, GW * 1000 + GH, 1};
                if (memcmp(r, want, sizeof want) != 0) {
                    bad = 1;
                    CHECK(0, "positions at (%u,%u): got %u %u %u %u %u %u %u %u %u", x, y, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]);
                }
            }
        }
    }
    // half and bfloat
    {
        const int n = 20000;
        id x = new_buffer(n * 4), h = new_buffer(n * 2), bf = new_buffer(n * 2), hs = new_buffer(n * 2), raw = new_buffer(n * 2),
           back = new_buffer(n * 4);
        float *xs = contents(x);
        uint16_t *rs = contents(raw);
        for (int i = 0; i < n; i++) {
            float v;
            if (i < 4000) v = half_to_float((uint16_t) (i * 16)) + (i % 3 - 1) * ldexpf(half_to_float((uint16_t) (i * 16)), -12); // near halves
            else if (i < 4100) v = (float) (i - 4050) * 1e-7f;     // subnormal halves
            else if (i < 4110) v = 65504.0f + (float) (i - 4100) * 4.0f; // overflow edge
            else if (i >= 4300 && i < 4800) { // exactly between two halves: ties to even
                uint16_t c = (uint16_t) (((i - 4300) * 61) % 0x7bff);
                v = (half_to_float(c) + half_to_float((uint16_t) (c + 1))) / 2 * (i % 2 ? -1.0f : 1.0f);
            }
            else v = rnd(-300, 300) * (i % 7 == 0 ? 1e-4f : 1.0f);
            if (i == 4200) v = NAN;
            if (i == 4201) v = -INFINITY;
            if (i == 4202) v = -0.0f;
            xs[i] = v;
            rs[i] = (uint16_t) (i * 3);
        }
        Batch b = begin(q);
        use(&b, pipeline(lib, "small_floats"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, h, 0, 1);
        buffer_at(&b, bf, 0, 2);
        buffer_at(&b, hs, 0, 3);
        buffer_at(&b, raw, 0, 4);
        buffer_at(&b, back, 0, 5);
        dispatch(&b, size1(n), size1(512));
        CHECK(finish(&b) == 4, "small_floats status");
        uint16_t *hv = contents(h), *bv = contents(bf), *hsv = contents(hs);
        float *bk = contents(back);
        int bad = 0;
        for (int i = 0; i < n && bad < 3; i++) {
            uint16_t want_h = ref_half(xs[i]);
            int nan_in = xs[i] != xs[i], sign_in = signbit(xs[i]) ? 1 : 0;
            if (nan_in && (hv[i] & 0x7fff) > 0x7c00 && (hv[i] >> 15) == sign_in) want_h = hv[i]; // a NaN of the same sign
            if (hv[i] != want_h) {
                bad++;
                CHECK(0, "half(%.9g) = %04x, want %04x", xs[i], hv[i], want_h);
            }
            uint16_t want_b = ref_bfloat(xs[i]);
            if (nan_in && (bv[i] & 0x7fff) > 0x7f80 && (bv[i] >> 15) == sign_in) want_b = bv[i];
            if (bv[i] != want_b) {
                bad++;
                CHECK(0, "bfloat(%.9g) = %04x, want %04x", xs[i], bv[i], want_b);
            }
            float hf = half_to_float(want_h);
            uint16_t want_s = ref_half(half_to_float(ref_half(hf * hf)) + half_to_float(ref_half(hf * 1.5f)));
            int nan_s = (want_s & 0x7fff) > 0x7c00 && (hsv[i] & 0x7fff) > 0x7c00;
            if (hsv[i] != want_s && !nan_s) {
                bad++;
                CHECK(0, "half arithmetic at %.9g: %04x, want %04x", xs[i], hsv[i], want_s);
            }
            if (!same(bk[i], half_to_float(rs[i]))) {
                bad++;
                CHECK(0, "as_type<half>(%04x) = %g", rs[i], bk[i]);
            }
        }
    }
    // Metal's float rules
    {
        float as[] = {1.0f, NAN, -3.0f, -0.0f, 0.0f, INFINITY, 0.25f, -INFINITY};
        float bs[] = {NAN, 2.0f, 5.0f, 0.0f, -0.0f, 1.0f, INFINITY, -2.0f};
        const int n = 8;
        id a = new_buffer(n * 4), bb = new_buffer(n * 4), out = new_buffer(n * 8 * 4);
        memcpy(contents(a), as, sizeof as);
        memcpy(contents(bb), bs, sizeof bs);
        Batch b = begin(q);
        use(&b, pipeline(lib, "float_rules"));
        buffer_at(&b, a, 0, 0);
        buffer_at(&b, bb, 0, 1);
        buffer_at(&b, out, 0, 2);
        dispatch(&b, size1(n), size1(n));
        CHECK(finish(&b) == 4, "float_rules status");
        float *o = contents(out);
        for (int i = 0; i < n; i++) {
            float x = as[i], y = bs[i];
            float want[8] = {fmaxf(x, y), fminf(x, y), fmaxf(x, y), fminf(fmaxf(x, -1.0f), 1.0f), sqrtf(fabsf(x)),
                             (isnan(x) || isinf(y)) ? y : x, copysignf(1.0f, x) + (signbit(y) ? 10.0f : 0.0f), -x};
            if (x == 0 && y == 0) want[0] = o[i * 8], want[1] = o[i * 8 + 1], want[2] = o[i * 8 + 2]; // either zero
            char what[64];
            snprintf(what, sizeof what, "float_rules[%d]", i);
            expect_floats(what, o + i * 8, want, 8);
            CHECK(!isnan(o[i * 8]) || (isnan(x) && isnan(y)), "fmax with one NaN gives the other");
        }
    }
    // vectors and integer functions
    {
        const int n = 64;
        id v = new_buffer(n * 16), o = new_buffer(n * 16);
        float *vs = contents(v), in[256];
        for (int i = 0; i < n * 4; i++) vs[i] = in[i] = rnd(-60, 60);
        Batch b = begin(q);
        use(&b, pipeline(lib, "vectors"));
        buffer_at(&b, v, 0, 0);
        buffer_at(&b, o, 0, 1);
        dispatch(&b, size1(n), size1(32));
        CHECK(finish(&b) == 4, "vectors status");
        int32_t *os = contents(o);
        for (int i = 0; i < n; i++) {
            float *a = in + 4 * i, want[4];
            float c[4] = {a[0] * 2 + 0.5f, a[1] * 2 + 0.5f, a[2] * 2 + 0.5f, 1.0f * 2 + 0.5f};
            for (int k = 0; k < 4; k++) want[k] = c[k] > 100.0f ? -1.0f : c[k];
            char what[64];
            snprintf(what, sizeof what, "vectors[%d]", i);
            expect_floats(what, vs + 4 * i, want, 4);
            int32_t wi[4] = {(int) a[0] + (int) a[1], __builtin_popcount(i) + 31 * 100, i + (i > 3 ? i : 3) * 1000,
                             (int) (a[0] * a[0] + a[1] * a[1]) + 100000};
            CHECK(memcmp(os + 4 * i, wi, 16) == 0, "vectors ints[%d]: %d %d %d %d, want %d %d %d %d", i, os[4 * i], os[4 * i + 1],
                  os[4 * i + 2], os[4 * i + 3], wi[0], wi[1], wi[2], wi[3]);
        }
    }
    // template instantiations, kernels from macros, kernels in namespaces, bool bytes
    {
        const int n = 300;
        id x = new_buffer(n * 4), y = new_buffer(n * 4), xb = new_buffer(n * 2), yb = new_buffer(n * 2), xi = new_buffer(n * 8),
           yi = new_buffer(n * 8), io = new_buffer(n * 4);
        float *xs = contents(x), want[300];
        uint16_t *xbs = contents(xb), wantb[300];
        int64_t *xis = contents(xi);
        float s = 1.25f;
        for (int i = 0; i < n; i++) {
            xs[i] = rnd(-5, 5);
            want[i] = xs[i] * s;
            xbs[i] = ref_bfloat(xs[i]);
            float bf;
            uint32_t u = (uint32_t) xbs[i] << 16;
            memcpy(&bf, &u, 4);
            wantb[i] = ref_bfloat(bf * s);
            xis[i] = (int64_t) i * 3000000000LL - 7;
        }
        unsigned char yes = 1;
        Batch b = begin(q);
        use(&b, pipeline(lib, "scale_float"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, y, 0, 1);
        bytes_at(&b, &s, 4, 2);
        dispatch(&b, size1(n), size1(128));
        use(&b, pipeline(lib, "scale_bfloat"));
        buffer_at(&b, xb, 0, 0);
        buffer_at(&b, yb, 0, 1);
        dispatch(&b, size1(n), size1(128));
        use(&b, pipeline(lib, "neg_long"));
        buffer_at(&b, xi, 0, 0);
        buffer_at(&b, yi, 0, 1);
        dispatch(&b, size1(n), size1(128));
        use(&b, pipeline(lib, "iota"));
        buffer_at(&b, io, 0, 0);
        bytes_at(&b, &yes, 1, 1);
        dispatch(&b, size1(n), size1(128));
        CHECK(finish(&b) == 4, "templates status");
        expect_floats("scale_float", contents(y), want, n);
        CHECK(memcmp(contents(yb), wantb, n * 2) == 0, "scale_bfloat");
        int64_t *yis = contents(yi);
        uint32_t *ios = contents(io);
        for (int i = 0; i < n; i++) {
            CHECK(yis[i] == -xis[i], "neg_long[%d]", i);
            CHECK(ios[i] == (uint32_t) i, "iota[%d]", i);
            if (yis[i] != -xis[i] || ios[i] != (uint32_t) i) break;
        }
        CHECK(pipeline(lib, "neg_int") != NULL, "neg_int");
        id fn = msg_p(lib, "newFunctionWithName:", nsstring("scale_t"));
        CHECK(fn == NULL, "a template itself is no function");
        fn = msg_p(lib, "newFunctionWithName:", nsstring("no_such_kernel"));
        CHECK(fn == NULL, "unknown function");
    }
    // the shim's math against libm, atomics
    {
        const int n = 100;
        id x = new_buffer(n * 4), o = new_buffer(n * 24 * 4), w = new_buffer(8), v = new_buffer(8);
        float *xs = contents(x);
        for (int i = 0; i < n; i++) xs[i] = i == 0 ? INFINITY : i == 1 ? -0.0f : rnd(-8, 8);
        uint32_t *ws = contents(w);
        ws[0] = 1000;
        Batch b = begin(q);
        use(&b, pipeline(lib, "coverage"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, o, 0, 1);
        buffer_at(&b, w, 0, 2);
        buffer_at(&b, v, 0, 3);
        dispatch(&b, size1(n), size1(16));
        CHECK(finish(&b) == 4, "coverage status");
        float *os = contents(o);
        for (int i = 0; i < n; i++) {
            float a = xs[i];
            uint16_t ha = ref_half(a);
            float want[24] = {expf(a), exp2f(a), logf(fabsf(a)), log2f(fabsf(a)), powf(fabsf(a), 1.7f), powf(fabsf(a), 0.3f), tanhf(a),
                              sinf(a), cosf(a), floorf(a), ceilf(a), roundf(a), truncf(a), 1.0f / sqrtf(fabsf(a)), expf(a), tanhf(a),
                              sqrtf(fabsf(a)), isinf(a) ? 1.0f : 0.0f, half_to_float(ref_half(expf(half_to_float(ha)))),
                              bfloat_to_float(ref_bfloat(a)) < 0.5f ? 1.0f : 0.0f, 3.0f, (float) (i % 16),
                              fminf(a, 2.0f), fminf(fabsf(a), 1e30f)};
            char what[32];
            snprintf(what, sizeof what, "coverage[%d]", i);
            expect_floats(what, os + i * 24, want, 24);
        }
        int32_t *vs = contents(v);
        CHECK(ws[0] == 7 && ws[1] == 42 && vs[0] == -2 * n && vs[1] == 3 * n, "atomics: %u %u %d %d", ws[0], ws[1], vs[0], vs[1]);
    }
    // [[max_total_threads_per_threadgroup]]
    {
        id p = pipeline(lib, "nothing");
        CHECK(msg_ul(p, "maxTotalThreadsPerThreadgroup") == 64, "maxTotalThreadsPerThreadgroup %lu", msg_ul(p, "maxTotalThreadsPerThreadgroup"));
        CHECK(msg_ul(p, "threadExecutionWidth") == 32, "threadExecutionWidth");
        CHECK(msg_ul(pipeline(lib, "saxpy"), "maxTotalThreadsPerThreadgroup") == 1024, "maxTotalThreadsPerThreadgroup 1024");
    }
}

// ------------------------------------------------------------------ compile errors

static int shown_errors;

static void expect_compile_error(const char *source, const char *text1, const char *text2) {
    id err = NULL;
    id lib = library(source, &err);
    CHECK(lib == NULL, "library compiled, expected an error containing '%s'", text1);
    CHECK(err != NULL, "no NSError");
    if (err == NULL) return;
    const char *d = msg_str(err, "localizedDescription");
    const char *domain = msg_str(err, "domain");
    if (shown_errors++ < 2) printf("  NSError %ld: %s\n", msg_l(err, "code"), d);
    CHECK(msg_l(err, "code") == 3, "code %ld", msg_l(err, "code"));
    CHECK(domain && strcmp(domain, "MTLLibraryErrorDomain") == 0, "domain %s", domain);
    CHECK(d && strstr(d, text1) && (!text2 || strstr(d, text2)), "description does not contain '%s' / '%s':\n%s", text1, text2 ? text2 : "",
          d ? d : "(null)");
}

static void test_compile_errors(void) {
    expect_compile_error("#include <metal_stdlib>\nusing namespace metal;\n\n"
                         "kernel void broken(device float *x [[buffer(0)]], uint i [[thread_position_in_grid]]) {\n"
                         "    x[i] = undefined_thing;\n}\n",
                         "program_source:5:12: error: use of undeclared identifier 'undefined_thing'", NULL);
    expect_compile_error("kernel void tex(texture2d<float> t [[texture(0)]], uint i [[thread_position_in_grid]]) {}\n",
                         "kernel 'tex' parameter 't'", "[[texture(0)]] is not supported");
    expect_compile_error("kernel void k(device float *x [[buffer(0)]], int i [[thread_position_in_grid]]) {}\n", "kernel 'k' parameter 'i'",
                         "must be uint");
    expect_compile_error("kernel void k(device float *x, uint i [[thread_position_in_grid]]) {}\n", "kernel 'k' parameter 'x'", "no attribute");
    expect_compile_error("kernel void k(float x [[buffer(0)]]) {}\n", "kernel 'k' parameter 'x'", "device or constant pointer");
    expect_compile_error("kernel void k(threadgroup float *x [[threadgroup(0)]]) {}\n", "kernel 'k' parameter 'x'", "[[threadgroup(0)]]");
    expect_compile_error("kernel void k(device float *x [[buffer(0)]], uint i [[thread_position_in_grid]]) { simd_sum(x[i]); }\n",
                         "program_source:1:", "simd_sum");
    expect_compile_error("#include <metal_stdlib>\n#error this source is broken\n", "program_source:2:2: error: this source is broken", NULL);
    {
        id err = NULL;
        id lib = library("// no kernels here\nconstant float k = 1.0f;\n", &err);
        CHECK(lib != NULL, "a library without kernels compiles");
        CHECK(lib == NULL || msg_p(lib, "newFunctionWithName:", nsstring("k")) == NULL, "no function in it");
    }
    bpsim_fail_next_compile("use of undeclared identifier 'x2'");
    expect_compile_error("kernel void fine(device float *x [[buffer(0)]], uint i [[thread_position_in_grid]]) { x[i] = 1; }\n",
                         "program_source:1:1: error: use of undeclared identifier 'x2'", NULL);
    // the hook fails only the next compile
    id err = NULL;
    id lib = library("kernel void fine(device float *x [[buffer(0)]], uint i [[thread_position_in_grid]]) { x[i] = 1; }\n", &err);
    CHECK(lib != NULL, "compile after the injected failure");
}

// ------------------------------------------------------------------ the backend's kernels

// A smoke test of every kernel family of backplane_kernels.metal through the simulator, dispatched as
// MetalLowering dispatches them, against straightforward CPU computations: exact where the math is
// exact (the same operations in the same order, or integers), within a relative tolerance where the
// kernel sums in a tree or the reference is computed in double. The full numeric proof of the ops is
// the Java conformance suite; this checks the MSL through the simulator.

// The type, family, domain and op codes at the top of the .metal file (org.backplane.spi.device.KernelOps).
enum { T_F32, T_F16, T_BF16, T_I32, T_I64, T_BOOL };
enum { FAM_UNARY, FAM_BINARY, FAM_BINARY_SCALAR, FAM_WHERE, FAM_COPY, FAM_FILL };
enum { DOM_FLOAT, DOM_INT, DOM_BOOL };
enum { UN_NEG, UN_ABS, UN_EXP, UN_LOG, UN_SQRT, UN_TANH, UN_SIGMOID, UN_RELU, UN_RSQRT, UN_ERF, UN_GELU, UN_GELU_TANH, UN_SILU, UN_SIN,
       UN_COS, UN_RECIPROCAL };
enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_MAXIMUM, BIN_MINIMUM, BIN_POW, BIN_EQUAL, BIN_NOT_EQUAL, BIN_LESS, BIN_LESS_EQUAL, BIN_GREATER,
       BIN_GREATER_EQUAL };
enum { RED_SUM, RED_MAX, RED_MEAN, RED_MIN, RED_PROD, RED_VAR };

// The argument structs of the .metal file, laid out as MSL lays them out; the sizes are those
// MetalLowering passes to setBytes:length:atIndex:.
typedef struct {
    int64_t offset;
    int64_t s[8];
    int32_t dtype, unused;
} Operand;

typedef struct {
    int32_t family, op, domain, ctype;
    int64_t n;
    int32_t rank, scalar_first;
    float fscalar;
    int32_t unused;
    int64_t iscalar;
    int64_t dims[8];
    Operand out, a, b, c;
} ElementwiseArgs;

typedef struct {
    int32_t op, xt, ot, unused;
    int64_t outer, len, inner;
} AxisArgs;

typedef struct {
    int32_t t, center, has_weight, has_bias;
    int64_t rows, n;
    float epsilon;
    int32_t unused;
} NormArgs;

typedef struct {
    int32_t bytes, it;
    uint32_t slot;
    int32_t unused;
    int64_t outer, n, nidx, inner;
} TakeArgs;

typedef struct {
    int32_t t, ct, m, n, k, trans_b;
    float alpha;
    int32_t unused;
    int64_t stride_a, stride_b;
} MatmulArgs;

typedef struct {
    int32_t mt, t;
    int64_t rows, n;
} AttentionArgs;

_Static_assert(sizeof(Operand) == 80 && offsetof(Operand, dtype) == 72, "Operand layout");
_Static_assert(sizeof(ElementwiseArgs) == 432 && offsetof(ElementwiseArgs, iscalar) == 40 && offsetof(ElementwiseArgs, dims) == 48 &&
                       offsetof(ElementwiseArgs, out) == 112 && offsetof(ElementwiseArgs, a) == 192,
               "ElementwiseArgs layout");
_Static_assert(sizeof(AxisArgs) == 40 && offsetof(AxisArgs, outer) == 16, "AxisArgs layout");
_Static_assert(sizeof(NormArgs) == 40 && offsetof(NormArgs, epsilon) == 32, "NormArgs layout");
_Static_assert(sizeof(TakeArgs) == 48 && offsetof(TakeArgs, outer) == 16, "TakeArgs layout");
_Static_assert(sizeof(MatmulArgs) == 48 && offsetof(MatmulArgs, alpha) == 24 && offsetof(MatmulArgs, stride_a) == 32, "MatmulArgs layout");
_Static_assert(sizeof(AttentionArgs) == 24, "AttentionArgs layout");

static id bk_lib, bk_queue;

// One dispatch in its own command buffer: buffers at 0.., the argument struct after them (as
// MetalLowering.bind does). groups: dispatchThreadgroups (grid counts threadgroups), else dispatchThreads.
static int run_kernel(const char *kernel, id *bufs, int nbufs, const void *args, unsigned long arg_bytes, MTLSize grid, MTLSize group,
                      int groups) {
    id pso = pipeline(bk_lib, kernel);
    if (pso == NULL) return 0;
    Batch b = begin(bk_queue);
    use(&b, pso);
    for (int i = 0; i < nbufs; i++) buffer_at(&b, bufs[i], 0, (unsigned long) i);
    bytes_at(&b, args, arg_bytes, (unsigned long) nbufs);
    if (groups) dispatch_groups(&b, grid, group);
    else dispatch(&b, grid, group);
    unsigned long status = finish(&b);
    CHECK(status == 4, "%s status %lu", kernel, status);
    return status == 4;
}

// One thread per element, in groups of min(n, 1024) (MetalLowering.threads).
static int run_threads(const char *kernel, id *bufs, int nbufs, const void *args, unsigned long arg_bytes, unsigned long n) {
    return run_kernel(kernel, bufs, nbufs, args, arg_bytes, size1(n), size1(n < 1024 ? n : 1024), 0);
}

// One threadgroup of 256 threads per row (MetalLowering.groups).
static int run_rows(const char *kernel, id *bufs, int nbufs, const void *args, unsigned long arg_bytes, unsigned long rows) {
    return run_kernel(kernel, bufs, nbufs, args, arg_bytes, size1(rows), size1(256), 1);
}

static id filled_buffer(unsigned long bytes, int byte) {
    id b = new_buffer(bytes);
    memset(contents(b), byte, bytes);
    return b;
}

// got within tol * scale of want (scale: the error's natural magnitude; |want| where scale is NULL);
// a NaN wanted must be a NaN, an infinity the same infinity. Reports the first difference.
static void expect_near(const char *what, const float *got, const double *want, const double *scale, long n, double tol) {
    for (long i = 0; i < n; i++) {
        double g = got[i], w = want[i], s = scale ? scale[i] : fabs(w);
        int ok = isnan(w) ? isnan(g) : isinf(w) ? g == w : fabs(g - w) <= tol * s;
        if (!ok) {
            CHECK(0, "%s[%ld]: got %.9g, want %.9g (within %.3g)", what, i, g, w, tol * s);
            return;
        }
    }
}

static void expect_longs(const char *what, const int64_t *got, const int64_t *want, long n) {
    for (long i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            CHECK(0, "%s[%ld]: got %lld, want %lld", what, i, (long long) got[i], (long long) want[i]);
            return;
        }
    }
}

// halves bit for bit, any NaN for a NaN
static void expect_halves(const char *what, const uint16_t *got, const uint16_t *want, long n) {
    for (long i = 0; i < n; i++) {
        int nan_w = (want[i] & 0x7fff) > 0x7c00, nan_g = (got[i] & 0x7fff) > 0x7c00;
        if (nan_w ? !nan_g : got[i] != want[i]) {
            CHECK(0, "%s[%ld]: got %04x, want %04x", what, i, got[i], want[i]);
            return;
        }
    }
}

static Operand operand(int64_t offset, int dtype, int64_t s0, int64_t s1) {
    Operand o;
    memset(&o, 0, sizeof o);
    o.offset = offset;
    o.s[0] = s0;
    o.s[1] = s1;
    o.dtype = dtype;
    return o;
}

// bp_elementwise over a [d0, d1] index space; unused operand buffers are the output (as the backend binds them).
static int elementwise(ElementwiseArgs *p, int64_t d0, int64_t d1, id out, id a, id b, id c) {
    p->n = d0 * d1;
    p->rank = 2;
    p->dims[0] = d0;
    p->dims[1] = d1;
    id bufs[4] = {out, a ? a : out, b ? b : out, c ? c : out};
    return run_threads("bp_elementwise", bufs, 4, p, sizeof *p, (unsigned long) p->n);
}

static float ref_unary_f(int op, float x) {
    switch (op) {
        case UN_NEG: return -x;
        case UN_ABS: return fabsf(x);
        case UN_EXP: return expf(x);
        case UN_LOG: return logf(x);
        case UN_SQRT: return sqrtf(x);
        case UN_TANH: return tanhf(x);
        case UN_SIGMOID: return 1.0f / (1.0f + expf(-x));
        case UN_RELU: return java_max(x, 0.0f);
        case UN_RSQRT: return 1.0f / sqrtf(x);
        case UN_SILU: return x / (1.0f + expf(-x));
        case UN_SIN: return sinf(x);
        case UN_COS: return cosf(x);
        default: return 1.0f / x; // UN_RECIPROCAL
    }
}

// Java's (int) of a float: truncation, saturation, NaN to 0.
static int32_t ref_f2i(float v) {
    if (v != v) return 0;
    if (v >= 2147483648.0f) return INT32_MAX;
    if (v <= -2147483648.0f) return INT32_MIN;
    return (int32_t) v;
}

static void test_elementwise(void) {
    // float32 add, out [30, 100] = a^T (a stored [100, 30] at element offset 7, read transposed) + b [1, 100] broadcast
    {
        const int64_t r = 30, c = 100;
        id a = new_buffer((7 + r * c) * 4), b = new_buffer((3 + c) * 4), out = filled_buffer(r * c * 4 + 64, 0x5a);
        float *as = contents(a), *bs = contents(b), want[3000];
        float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f, 3.4e38f, -104.0f, 1.0f};
        for (int64_t i = 0; i < 7 + r * c; i++) as[i] = i >= 7 && i < 17 ? special[i - 7] : rnd(-4, 4);
        for (int64_t j = 0; j < 3 + c; j++) bs[j] = j >= 3 && j < 13 ? special[(j + 4) % 10] : rnd(-4, 4);
        ElementwiseArgs p;
        memset(&p, 0, sizeof p);
        p.family = FAM_BINARY;
        p.op = BIN_ADD;
        p.domain = DOM_FLOAT;
        p.ctype = T_F32;
        p.out = operand(0, T_F32, c, 1);
        p.a = operand(7, T_F32, 1, r);
        p.b = operand(3, T_F32, 0, 1);
        if (elementwise(&p, r, c, out, a, b, NULL)) {
            for (int64_t i = 0; i < r; i++)
                for (int64_t j = 0; j < c; j++) want[i * c + j] = as[7 + i + j * r] + bs[3 + j];
            float *o = contents(out);
            expect_floats("bp_elementwise f32 add", o, want, r * c);
            CHECK(same(o[0], NAN) && o[r * c - 1] == as[7 + r * c - 1] + bs[3 + c - 1], "bp_elementwise f32 add corners");
            CHECK(((uint32_t *) o)[r * c] == 0x5a5a5a5au, "bp_elementwise wrote past its output");
        }
    }
    // float16 unary ops, [8, 256] halves covering every exponent, NaN, infinities, zeros and subnormals
    {
        const int64_t n = 2048;
        uint16_t specials[] = {0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x0001, 0x03ff, 0x7bff, 0xfbff, 0x3c00, 0xbc00, 0x4900, 0xc900};
        id x = new_buffer(n * 2), out = new_buffer(n * 2);
        uint16_t *xs = contents(x), want[2048];
        for (int64_t i = 0; i < n; i++) xs[i] = i < 13 ? specials[i] : (uint16_t) (i * 32 + (i * 7) % 32);
        int ops[] = {UN_NEG, UN_ABS, UN_EXP, UN_LOG, UN_SQRT, UN_TANH, UN_SIGMOID, UN_RELU, UN_RSQRT, UN_SILU, UN_SIN, UN_COS, UN_RECIPROCAL};
        for (unsigned k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            ElementwiseArgs p;
            memset(&p, 0, sizeof p);
            p.family = FAM_UNARY;
            p.op = ops[k];
            p.domain = DOM_FLOAT;
            p.ctype = T_F32;
            p.out = operand(0, T_F16, 256, 1);
            p.a = operand(0, T_F16, 256, 1);
            if (!elementwise(&p, 8, 256, out, x, NULL, NULL)) continue;
            for (int64_t i = 0; i < n; i++) want[i] = ref_half(ref_unary_f(ops[k], half_to_float(xs[i])));
            char what[48];
            snprintf(what, sizeof what, "bp_elementwise f16 unary op %d", ops[k]);
            expect_halves(what, contents(out), want, n);
        }
    }
    // int32 comparisons giving bool: a [40, 50] against b [1, 50] broadcast along rows, with the int32 extremes
    {
        const int64_t r = 40, c = 50;
        id a = new_buffer(r * c * 4), b = new_buffer(c * 4), out = filled_buffer(r * c, 0x77);
        int32_t *as = contents(a), *bs = contents(b);
        int32_t extremes[] = {INT32_MIN, INT32_MAX, 0, -1, 1};
        for (int64_t i = 0; i < r * c; i++) as[i] = i % 11 == 0 ? extremes[(i / 11) % 5] : (int32_t) floorf(rnd(-3, 4));
        for (int64_t j = 0; j < c; j++) bs[j] = j % 7 == 0 ? extremes[(j / 7) % 5] : (int32_t) floorf(rnd(-3, 4));
        int64_t got[2000], want[2000];
        for (int op = BIN_EQUAL; op <= BIN_GREATER_EQUAL; op++) {
            ElementwiseArgs p;
            memset(&p, 0, sizeof p);
            p.family = FAM_BINARY;
            p.op = op;
            p.domain = DOM_INT;
            p.ctype = T_I32;
            p.out = operand(0, T_BOOL, c, 1);
            p.a = operand(0, T_I32, c, 1);
            p.b = operand(0, T_I32, 0, 1);
            if (!elementwise(&p, r, c, out, a, b, NULL)) continue;
            uint8_t *o = contents(out);
            for (int64_t i = 0; i < r * c; i++) {
                int32_t x = as[i], y = bs[i % c];
                switch (op) {
                    case BIN_EQUAL: want[i] = x == y; break;
                    case BIN_NOT_EQUAL: want[i] = x != y; break;
                    case BIN_LESS: want[i] = x < y; break;
                    case BIN_LESS_EQUAL: want[i] = x <= y; break;
                    case BIN_GREATER: want[i] = x > y; break;
                    default: want[i] = x >= y;
                }
                got[i] = o[i];
            }
            char what[48];
            snprintf(what, sizeof what, "bp_elementwise i32 compare op %d", op);
            expect_longs(what, got, want, r * c);
        }
    }
    // cast float32 -> int32: truncation toward zero, saturation, NaN to 0 (a copy in the float domain)
    {
        static const struct {
            float in;
            int32_t out;
        } table[] = {{NAN, 0},
                     {-NAN, 0},
                     {INFINITY, INT32_MAX},
                     {-INFINITY, INT32_MIN},
                     {3e9f, INT32_MAX},
                     {-3e9f, INT32_MIN},
                     {2147483648.0f, INT32_MAX},
                     {2147483520.0f, 2147483520},
                     {-2147483648.0f, INT32_MIN},
                     {-2147483520.0f, -2147483520},
                     {1.9f, 1},
                     {-1.9f, -1},
                     {-0.5f, 0},
                     {-0.0f, 0},
                     {1e-40f, 0},
                     {16777217.0f, 16777216},
                     {1e38f, INT32_MAX},
                     {-1e38f, INT32_MIN}};
        const int64_t nt = sizeof table / sizeof table[0], n = 1000;
        id x = new_buffer(n * 4), out = filled_buffer(n * 4, 0x33);
        float *xs = contents(x);
        int64_t got[1000], want[1000];
        for (int64_t i = 0; i < n; i++) {
            xs[i] = i < nt ? table[i].in : rnd(-3e9f, 3e9f) * (i % 3 == 0 ? 1e-6f : 1.0f);
            want[i] = i < nt ? table[i].out : ref_f2i(xs[i]);
        }
        ElementwiseArgs p;
        memset(&p, 0, sizeof p);
        p.family = FAM_COPY;
        p.domain = DOM_FLOAT;
        p.ctype = T_F32;
        p.out = operand(0, T_I32, 100, 1);
        p.a = operand(0, T_F32, 100, 1);
        if (elementwise(&p, 10, 100, out, x, NULL, NULL)) {
            int32_t *o = contents(out);
            for (int64_t i = 0; i < n; i++) got[i] = o[i];
            expect_longs("bp_elementwise cast f32->i32", got, want, n);
        }
    }
    printf("  bp_elementwise: f32 add (transposed and broadcast operands), f16 unary x13, i32 comparisons -> bool x6, "
           "f32 -> i32 cast\n");
}

// float sums of rows: bp_reduce_rows sums in a tree of 256 threads, so against double within a tolerance
// (exactly on a row of small integers, where every order gives the same float).
static void test_reductions(void) {
    // bp_reduce_rows, float32: rows of 1000 (several elements per thread) and of 37 (idle threads)
    int64_t shapes[][2] = {{5, 1000}, {3, 37}};
    for (int s = 0; s < 2; s++) {
        const int64_t rows = shapes[s][0], len = shapes[s][1];
        id x = new_buffer(rows * len * 4), out = filled_buffer(64, 0x11);
        float *xs = contents(x);
        for (int64_t i = 0; i < rows * len; i++) xs[i] = rnd(-4, 4) + 1.5f;
        for (int64_t i = 0; i < len; i++) xs[len + i] = floorf(rnd(-100, 100)); // row 1: small integers
        if (rows > 4) xs[4 * len + 777] = NAN;                                 // row 4: a NaN
        int ops[] = {RED_SUM, RED_MAX, RED_VAR};
        for (int k = 0; k < 3; k++) {
            AxisArgs p = {ops[k], T_F32, T_F32, 0, rows, len, 1};
            id bufs[2] = {x, out};
            if (!run_rows("bp_reduce_rows", bufs, 2, &p, sizeof p, (unsigned long) rows)) continue;
            float *o = contents(out);
            char what[64];
            snprintf(what, sizeof what, "bp_reduce_rows op %d [%lld, %lld]", ops[k], (long long) rows, (long long) len);
            for (int64_t r = 0; r < rows; r++) {
                const float *row = xs + r * len;
                double sum = 0, abs_sum = 0, sq = 0, mx = -INFINITY;
                int nan = 0;
                for (int64_t i = 0; i < len; i++) {
                    sum += row[i];
                    abs_sum += fabs(row[i]);
                    nan |= isnan(row[i]);
                    if (row[i] > mx) mx = row[i];
                }
                double mean = sum / len;
                for (int64_t i = 0; i < len; i++) sq += (row[i] - mean) * (row[i] - mean);
                double want = nan ? NAN : ops[k] == RED_SUM ? sum : ops[k] == RED_MAX ? mx : sq / len;
                double scale = ops[k] == RED_SUM ? abs_sum : fabs(want);
                if (ops[k] == RED_MAX || (ops[k] == RED_SUM && r == 1)) {
                    float w = (float) want; // exact: a maximum, or a sum of small integers
                    expect_floats(what, o + r, &w, 1);
                } else {
                    expect_near(what, o + r, &want, &scale, 1, 1e-5);
                }
            }
        }
    }
    // bp_reduce_rows, int32: sums in 64 bits (int64 output), minimum (int32 output)
    {
        const int64_t rows = 4, len = 300;
        id x = new_buffer(rows * len * 4), out = filled_buffer(rows * 8, 0x11);
        int32_t *xs = contents(x);
        for (int64_t i = 0; i < rows * len; i++) xs[i] = i % 5 == 0 ? INT32_MAX - (int32_t) i : (int32_t) rnd(-2e9f, 2e9f);
        xs[2 * len + 123] = INT32_MIN;
        int64_t got[4], want[4];
        AxisArgs p = {RED_SUM, T_I32, T_I64, 0, rows, len, 1};
        id bufs[2] = {x, out};
        if (run_rows("bp_reduce_rows", bufs, 2, &p, sizeof p, rows)) {
            for (int64_t r = 0; r < rows; r++) {
                want[r] = 0;
                for (int64_t i = 0; i < len; i++) want[r] += xs[r * len + i];
            }
            expect_longs("bp_reduce_rows i32 sum -> i64", contents(out), want, rows);
        }
        p.op = RED_MIN;
        p.ot = T_I32;
        if (run_rows("bp_reduce_rows", bufs, 2, &p, sizeof p, rows)) {
            int32_t *o = contents(out);
            for (int64_t r = 0; r < rows; r++) {
                want[r] = INT32_MAX;
                for (int64_t i = 0; i < len; i++) want[r] = xs[r * len + i] < want[r] ? xs[r * len + i] : want[r];
                got[r] = o[r];
            }
            expect_longs("bp_reduce_rows i32 min", got, want, rows);
            CHECK(got[2] == INT32_MIN, "bp_reduce_rows i32 min of a row holding INT32_MIN");
        }
    }
    // bp_reduce_columns: every op over the middle axis of [4, 50, 30], one thread per output, in the
    // natural order: a plain loop gives the same bits
    {
        const int64_t outer = 4, len = 50, inner = 30;
        id x = new_buffer(outer * len * inner * 4), out = new_buffer(outer * inner * 4);
        float *xs = contents(x), want[120];
        for (int64_t i = 0; i < outer * len * inner; i++) xs[i] = rnd(-2, 2);
        xs[1 * len * inner + 17 * inner + 5] = NAN;
        xs[2 * len * inner + 3 * inner + 9] = INFINITY;
        for (int op = RED_SUM; op <= RED_VAR; op++) {
            AxisArgs p = {op, T_F32, T_F32, 0, outer, len, inner};
            id bufs[2] = {x, out};
            if (!run_threads("bp_reduce_columns", bufs, 2, &p, sizeof p, outer * inner)) continue;
            for (int64_t i = 0; i < outer * inner; i++) {
                const float *col = xs + (i / inner) * len * inner + i % inner;
                float acc = op == RED_MAX ? -INFINITY : op == RED_MIN ? INFINITY : op == RED_PROD ? 1.0f : 0.0f;
                for (int64_t a = 0; a < len; a++) {
                    float v = col[a * inner];
                    acc = op == RED_MAX ? java_max(acc, v) : op == RED_MIN ? java_min(acc, v) : op == RED_PROD ? acc * v : acc + v;
                }
                if (op == RED_MEAN || op == RED_VAR) acc /= (float) len;
                if (op == RED_VAR) {
                    float mean = acc, sq = 0.0f;
                    for (int64_t a = 0; a < len; a++) sq += (col[a * inner] - mean) * (col[a * inner] - mean);
                    acc = sq / (float) len;
                }
                want[i] = acc;
            }
            char what[48];
            snprintf(what, sizeof what, "bp_reduce_columns op %d", op);
            expect_floats(what, contents(out), want, outer * inner);
        }
    }
    printf("  bp_reduce_rows: f32 sum, max, var over rows of 1000 and 37; i32 sum -> i64, min; bp_reduce_columns: every op\n");
}

// The first index of the extreme along the middle axis of [outer, len, inner]; the first NaN if any.
static int64_t ref_arg(const float *x, int64_t len, int64_t inner, int max) {
    for (int64_t a = 0; a < len; a++)
        if (isnan(x[a * inner])) return a;
    float m = x[0];
    for (int64_t a = 1; a < len; a++) m = max ? fmaxf(m, x[a * inner]) : fminf(m, x[a * inner]);
    for (int64_t a = 0;; a++)
        if (x[a * inner] == m) return a;
}

static void test_along_axis(void) {
    // bp_argreduce: float32 [3, 40, 7] of small integers (many ties), two NaNs in one line; int32 [2, 30, 5]
    {
        const int64_t outer = 3, len = 40, inner = 7;
        id x = new_buffer(outer * len * inner * 4), xi = new_buffer(2 * 30 * 5 * 4), out = new_buffer(outer * inner * 8);
        float *xs = contents(x);
        int32_t *xis = contents(xi);
        for (int64_t i = 0; i < outer * len * inner; i++) xs[i] = floorf(rnd(-5, 5));
        xs[1 * len * inner + 12 * inner + 4] = NAN;
        xs[1 * len * inner + 30 * inner + 4] = NAN;
        xs[2 * len * inner + 0 * inner + 2] = -0.0f;
        for (int64_t i = 0; i < 300; i++) xis[i] = (int32_t) floorf(rnd(-6, 6));
        xis[17] = INT32_MAX;
        xis[5 * 5 + 3] = INT32_MIN;
        for (int max = 0; max <= 1; max++) {
            AxisArgs p = {max, T_F32, T_I64, 0, outer, len, inner};
            id bufs[2] = {x, out};
            int64_t want[21];
            if (run_threads("bp_argreduce", bufs, 2, &p, sizeof p, outer * inner)) {
                for (int64_t i = 0; i < outer * inner; i++) want[i] = ref_arg(xs + (i / inner) * len * inner + i % inner, len, inner, max);
                CHECK(want[1 * inner + 4] == 12, "the first NaN wins");
                expect_longs(max ? "bp_argreduce f32 max" : "bp_argreduce f32 min", contents(out), want, outer * inner);
            }
            AxisArgs pi = {max, T_I32, T_I64, 0, 2, 30, 5};
            id bufs_i[2] = {xi, out};
            if (run_threads("bp_argreduce", bufs_i, 2, &pi, sizeof pi, 10)) {
                for (int64_t i = 0; i < 10; i++) {
                    const int32_t *line = xis + (i / 5) * 150 + i % 5;
                    int64_t best = 0;
                    for (int64_t a = 1; a < 30; a++)
                        if (max ? line[a * 5] > line[best * 5] : line[a * 5] < line[best * 5]) best = a;
                    want[i] = best;
                }
                expect_longs(max ? "bp_argreduce i32 max" : "bp_argreduce i32 min", contents(out), want, 10);
            }
        }
    }
    // bp_cumsum: float32 [3, 40, 7] (a running float sum: the plain loop's bits), int32 [2, 30, 5] -> int64
    {
        const int64_t outer = 3, len = 40, inner = 7, n = outer * len * inner;
        id x = new_buffer(n * 4), out = new_buffer(n * 4), xi = new_buffer(300 * 4), outi = new_buffer(300 * 8);
        float *xs = contents(x), want[840];
        int32_t *xis = contents(xi);
        int64_t wanti[300];
        for (int64_t i = 0; i < n; i++) xs[i] = rnd(-3, 3);
        xs[2 * len * inner + 20 * inner + 1] = NAN;
        for (int64_t i = 0; i < 300; i++) xis[i] = i % 4 == 0 ? INT32_MAX - (int32_t) i : (int32_t) rnd(-2e9f, 2e9f);
        AxisArgs p = {0, T_F32, T_F32, 0, outer, len, inner};
        id bufs[2] = {x, out};
        if (run_threads("bp_cumsum", bufs, 2, &p, sizeof p, outer * inner)) {
            for (int64_t i = 0; i < outer * inner; i++) {
                int64_t base = (i / inner) * len * inner + i % inner;
                float acc = 0.0f;
                for (int64_t a = 0; a < len; a++) want[base + a * inner] = acc += xs[base + a * inner];
            }
            expect_floats("bp_cumsum f32", contents(out), want, n);
        }
        AxisArgs pi = {0, T_I32, T_I64, 0, 2, 30, 5};
        id bufs_i[2] = {xi, outi};
        if (run_threads("bp_cumsum", bufs_i, 2, &pi, sizeof pi, 10)) {
            for (int64_t i = 0; i < 10; i++) {
                int64_t base = (i / 5) * 150 + i % 5, acc = 0;
                for (int64_t a = 0; a < 30; a++) wanti[base + a * 5] = acc += xis[base + a * 5];
            }
            expect_longs("bp_cumsum i32 -> i64", contents(outi), wanti, 300);
        }
    }
    printf("  bp_argreduce: f32 (ties, NaN) and i32, max and min; bp_cumsum: f32, i32 -> i64\n");
}

// Softmax of a line in double: probabilities, or log-probabilities (log_scale gets max(|want|, 1)).
static void ref_softmax(const float *x, int64_t len, int64_t stride, int log_softmax, double *want, int64_t out_stride) {
    double m = -INFINITY, sum = 0;
    int nan = 0;
    for (int64_t i = 0; i < len; i++) {
        nan |= isnan(x[i * stride]);
        if (x[i * stride] > m) m = x[i * stride];
    }
    for (int64_t i = 0; i < len; i++) sum += exp((double) x[i * stride] - m);
    for (int64_t i = 0; i < len; i++) {
        double s = (double) x[i * stride] - m;
        want[i * out_stride] = nan ? NAN : log_softmax ? s - log(sum) : exp(s) / sum;
    }
}

static void test_softmax_norm(void) {
    // bp_softmax over rows of 700: random rows, a row with -inf entries (exactly 0, or -inf as log), a row with a NaN (all NaN)
    {
        const int64_t rows = 5, len = 700, n = rows * len;
        id x = new_buffer(n * 4), out = new_buffer(n * 4);
        float *xs = contents(x);
        double *want = malloc(n * sizeof(double)), *scale = malloc(n * sizeof(double));
        for (int64_t i = 0; i < n; i++) xs[i] = rnd(-8, 8) * (i < len ? 2.0f : 1.0f);
        for (int64_t i = 0; i < len; i += 3) xs[3 * len + i] = -INFINITY;
        xs[4 * len + 500] = NAN;
        for (int log_softmax = 0; log_softmax <= 1; log_softmax++) {
            AxisArgs p = {log_softmax, T_F32, T_F32, 0, rows, len, 1};
            id bufs[2] = {x, out};
            if (!run_rows("bp_softmax", bufs, 2, &p, sizeof p, rows)) continue;
            for (int64_t r = 0; r < rows; r++) ref_softmax(xs + r * len, len, 1, log_softmax, want + r * len, 1);
            for (int64_t i = 0; i < n; i++) scale[i] = log_softmax ? fmax(fabs(want[i]), 1.0) : fabs(want[i]);
            float *o = contents(out);
            expect_near(log_softmax ? "bp_softmax log" : "bp_softmax", o, want, scale, n, 1e-5);
            CHECK(log_softmax ? o[3 * len] == -INFINITY : o[3 * len] == 0.0f && !signbit(o[3 * len]), "bp_softmax of -inf");
        }
        free(want);
        free(scale);
    }
    // bp_softmax_columns along the middle axis of [3, 20, 10]
    {
        const int64_t outer = 3, len = 20, inner = 10, n = outer * len * inner;
        id x = new_buffer(n * 4), out = new_buffer(n * 4);
        float *xs = contents(x);
        double want[600], scale[600];
        for (int64_t i = 0; i < n; i++) xs[i] = rnd(-10, 10);
        for (int log_softmax = 0; log_softmax <= 1; log_softmax++) {
            AxisArgs p = {log_softmax, T_F32, T_F32, 0, outer, len, inner};
            id bufs[2] = {x, out};
            if (!run_threads("bp_softmax_columns", bufs, 2, &p, sizeof p, outer * inner)) continue;
            for (int64_t i = 0; i < outer * inner; i++) {
                int64_t base = (i / inner) * len * inner + i % inner;
                ref_softmax(xs + base, len, inner, log_softmax, want + base, inner);
            }
            for (int64_t i = 0; i < n; i++) scale[i] = log_softmax ? fmax(fabs(want[i]), 1.0) : fabs(want[i]);
            expect_near(log_softmax ? "bp_softmax_columns log" : "bp_softmax_columns", contents(out), want, scale, n, 1e-5);
        }
    }
    // bp_normalize: layer norm with weight and bias, and RMS norm with a weight, over rows of 600
    {
        const int64_t rows = 6, len = 600, n = rows * len;
        const float eps = 1e-2f; // large enough that a lost epsilon shows
        id x = new_buffer(n * 4), w = new_buffer(len * 4), bias = new_buffer(len * 4), out = new_buffer(n * 4);
        float *xs = contents(x), *ws = contents(w), *bs = contents(bias);
        double *want = malloc(n * sizeof(double)), *scale = malloc(n * sizeof(double));
        for (int64_t i = 0; i < n; i++) xs[i] = rnd(-3, 5) * (float) (1 + i / len);
        for (int64_t i = 0; i < len; i++) {
            ws[i] = rnd(0.5f, 1.5f);
            bs[i] = rnd(-1, 1);
        }
        for (int center = 1; center >= 0; center--) {
            NormArgs p = {T_F32, center, 1, center, rows, len, eps, 0};
            id bufs[4] = {x, w, center ? bias : x, out};
            if (!run_rows("bp_normalize", bufs, 4, &p, sizeof p, rows)) continue;
            for (int64_t r = 0; r < rows; r++) {
                const float *row = xs + r * len;
                double mean = 0, sq = 0;
                if (center) {
                    for (int64_t i = 0; i < len; i++) mean += row[i];
                    mean /= len;
                }
                for (int64_t i = 0; i < len; i++) sq += (row[i] - mean) * (row[i] - mean);
                double inv = 1.0 / sqrt(sq / len + eps);
                for (int64_t i = 0; i < len; i++) {
                    double b = center ? bs[i] : 0.0;
                    want[r * len + i] = (row[i] - mean) * inv * ws[i] + b;
                    scale[r * len + i] = (fabs(row[i]) + fabs(mean)) * inv * ws[i] + fabs(b);
                }
            }
            expect_near(center ? "bp_normalize layer norm" : "bp_normalize rms norm", contents(out), want, scale, n, 1e-5);
        }
        free(want);
        free(scale);
    }
    printf("  bp_softmax, bp_softmax_columns: softmax and log-softmax; bp_normalize: layer norm (weight, bias), RMS norm\n");
}

// One bp_take case: element bytes, index type, error slot; x is [outer, n, inner] of distinct bytes.
// Out-of-range elements must be zero; the error slots are checked by the caller.
static void take_case(id errors, int bytes, int it, uint32_t slot, int64_t outer, int64_t n, int64_t inner, const int64_t *idx, int64_t nidx) {
    int64_t total = outer * nidx * inner;
    id x = new_buffer(outer * n * inner * bytes), ib = new_buffer(nidx * 8), out = filled_buffer(total * bytes, 0xee);
    uint8_t *xs = contents(x), want[4096];
    for (int64_t i = 0; i < outer * n * inner * bytes; i++) xs[i] = (uint8_t) (i * 13 + 1 + i / 251);
    for (int64_t j = 0; j < nidx; j++) {
        if (it == T_I32) ((int32_t *) contents(ib))[j] = (int32_t) idx[j];
        else ((int64_t *) contents(ib))[j] = idx[j];
    }
    TakeArgs p = {bytes, it, slot, 0, outer, n, nidx, inner};
    id bufs[4] = {x, ib, out, errors};
    if (!run_threads("bp_take", bufs, 4, &p, sizeof p, total)) return;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < nidx; j++) {
            int64_t k = idx[j] < 0 ? idx[j] + n : idx[j];
            for (int64_t in = 0; in < inner; in++) {
                uint8_t *dst = want + ((o * nidx + j) * inner + in) * bytes;
                if (k < 0 || k >= n) memset(dst, 0, bytes);
                else memcpy(dst, xs + ((o * n + k) * inner + in) * bytes, bytes);
            }
        }
    }
    uint8_t *got = contents(out);
    for (int64_t i = 0; i < total * bytes; i++) {
        if (got[i] != want[i]) {
            CHECK(0, "bp_take (%d-byte elements, slot %u): byte %lld is %02x, want %02x", bytes, slot, (long long) i, got[i], want[i]);
            break;
        }
    }
}

static void test_take(void) {
    id errors = filled_buffer(6 * 16, 0);
    const int64_t bad = -7000000001LL; // out of range, with both 32-bit halves in use
    int64_t a[] = {0, 9, -1, -10, bad, 5};
    int64_t b[] = {6, -7, 3, -1, 0};
    int64_t c[] = {4, 0, 2, -5};
    int64_t d[] = {2, -3, 1, 0};
    int64_t e[] = {7, 1, -6, 4}; // two different indices out of range: one of them is reported
    take_case(errors, 4, T_I64, 2, 3, 10, 4, a, 6);
    take_case(errors, 2, T_I32, 1, 2, 7, 3, b, 5);
    take_case(errors, 8, T_I32, 0, 1, 5, 1, c, 4);
    take_case(errors, 1, T_I64, 4, 4, 3, 2, d, 4);
    take_case(errors, 4, T_I32, 3, 2, 5, 3, e, 4);
    uint32_t *s = contents(errors);
    uint32_t lo = (uint32_t) ((uint64_t) bad & 0xffffffffu), hi = (uint32_t) ((uint64_t) bad >> 32);
    CHECK(s[2 * 4] == 1 && s[2 * 4 + 1] == lo && s[2 * 4 + 2] == hi && s[2 * 4 + 3] == 0, "bp_take error slot 2: %u %08x %08x %u, want 1 %08x %08x 0",
          s[8], s[9], s[10], s[11], lo, hi);
    int64_t reported = (int64_t) ((uint64_t) s[3 * 4 + 1] | (uint64_t) s[3 * 4 + 2] << 32);
    CHECK(s[3 * 4] == 1 && (reported == 7 || reported == -6) && s[3 * 4 + 3] == 0, "bp_take error slot 3: %u %lld", s[12], (long long) reported);
    for (int k = 0; k < 6; k++) {
        if (k == 2 || k == 3) continue;
        CHECK(s[k * 4] == 0 && s[k * 4 + 1] == 0 && s[k * 4 + 2] == 0 && s[k * 4 + 3] == 0, "bp_take error slot %d written", k);
    }
    printf("  bp_take: 1-, 2-, 4- and 8-byte elements, int32 and int64 indices, negative indices, out of range (error slots)\n");
}

// bp_matmul as MetalLowering.gemm dispatches it: (ceil(n / 16), ceil(m / 16), batch) threadgroups of 16 x 16.
static int matmul(id a, id b, id c, MatmulArgs *p, int64_t batch) {
    id bufs[3] = {a, b, c};
    MTLSize grid = {(unsigned long) (p->n + 15) / 16, (unsigned long) (p->m + 15) / 16, (unsigned long) batch}, group = {16, 16, 1};
    return run_kernel("bp_matmul", bufs, 3, p, sizeof *p, grid, group, 1);
}

static void test_matmul_attention(void) {
    // [37, 45] x [45, 29], float32: against double, within 1e-5 of sum |a b|; nothing written past C
    {
        const int64_t m = 37, k = 45, n = 29;
        id a = new_buffer(m * k * 4), b = new_buffer(k * n * 4), c = filled_buffer((m * n + 64) * 4, 0x5a);
        float *as = contents(a), *bs = contents(b);
        double want[37 * 29], scale[37 * 29];
        for (int64_t i = 0; i < m * k; i++) as[i] = rnd(-2, 2);
        for (int64_t i = 0; i < k * n; i++) bs[i] = rnd(-2, 2);
        MatmulArgs p = {T_F32, T_F32, (int32_t) m, (int32_t) n, (int32_t) k, 0, 1.0f, 0, m * k, k * n};
        if (matmul(a, b, c, &p, 1)) {
            for (int64_t i = 0; i < m; i++) {
                for (int64_t j = 0; j < n; j++) {
                    double s = 0, abs_s = 0;
                    for (int64_t q = 0; q < k; q++) {
                        s += (double) as[i * k + q] * bs[q * n + j];
                        abs_s += fabs((double) as[i * k + q] * bs[q * n + j]);
                    }
                    want[i * n + j] = s;
                    scale[i * n + j] = abs_s;
                }
            }
            float *cs = contents(c);
            expect_near("bp_matmul [37, 45] x [45, 29]", cs, want, scale, m * n, 1e-5);
            int untouched = 1;
            for (int64_t i = m * n; i < m * n + 64; i++) untouched &= ((uint32_t *) cs)[i] == 0x5a5a5a5au;
            CHECK(untouched, "bp_matmul wrote past C");
        }
    }
    // transB (B stored [n, k], as attention's q k^T), batch 2 with batch strides, alpha 0.125; small
    // integers, so every order of the sums gives the same float
    {
        const int64_t m = 20, k = 33, n = 18, batch = 2;
        id a = new_buffer(batch * m * k * 4), b = new_buffer(batch * n * k * 4), c = new_buffer(batch * m * n * 4);
        float *as = contents(a), *bs = contents(b), want[2 * 20 * 18];
        for (int64_t i = 0; i < batch * m * k; i++) as[i] = floorf(rnd(-8, 8));
        for (int64_t i = 0; i < batch * n * k; i++) bs[i] = floorf(rnd(-8, 8));
        MatmulArgs p = {T_F32, T_F32, (int32_t) m, (int32_t) n, (int32_t) k, 1, 0.125f, 0, m * k, n * k};
        if (matmul(a, b, c, &p, batch)) {
            for (int64_t z = 0; z < batch; z++) {
                for (int64_t i = 0; i < m; i++) {
                    for (int64_t j = 0; j < n; j++) {
                        float s = 0.0f;
                        for (int64_t q = 0; q < k; q++) s += as[z * m * k + i * k + q] * bs[z * n * k + j * k + q];
                        want[(z * m + i) * n + j] = 0.125f * s;
                    }
                }
            }
            expect_floats("bp_matmul transB", contents(c), want, batch * m * n);
        }
    }
    // bp_attention_softmax with a bool mask over rows of 300: masked keys exactly 0, a row with every key masked NaN
    {
        const int64_t rows = 5, len = 300, n = rows * len;
        id scores = new_buffer(n * 4), mask = new_buffer(n), probs = new_buffer(n * 4);
        float *ss = contents(scores);
        uint8_t *ms = contents(mask);
        double *want = malloc(n * sizeof(double));
        for (int64_t i = 0; i < n; i++) {
            ss[i] = rnd(-6, 6);
            ms[i] = i < len ? 1 : i >= 3 * len && i < 4 * len ? 0 : (i * 7) % 10 < 7;
        }
        AttentionArgs p = {T_BOOL, T_F32, rows, len};
        id bufs[3] = {scores, mask, probs};
        if (run_rows("bp_attention_softmax", bufs, 3, &p, sizeof p, rows)) {
            for (int64_t r = 0; r < rows; r++) {
                double m = -INFINITY, sum = 0;
                for (int64_t i = r * len; i < (r + 1) * len; i++)
                    if (ms[i] && ss[i] > m) m = ss[i];
                for (int64_t i = r * len; i < (r + 1) * len; i++) sum += ms[i] ? exp(ss[i] - m) : 0.0;
                for (int64_t i = r * len; i < (r + 1) * len; i++) want[i] = m == -INFINITY ? NAN : ms[i] ? exp(ss[i] - m) / sum : 0.0;
            }
            float *o = contents(probs);
            expect_near("bp_attention_softmax", o, want, NULL, n, 1e-5);
            int zeros = 1;
            for (int64_t i = 0; i < n; i++)
                if (!ms[i] && (i < 3 * len || i >= 4 * len)) zeros &= bits(o[i]) == 0;
            CHECK(zeros, "bp_attention_softmax: masked keys are +0");
        }
        free(want);
    }
    printf("  bp_matmul: [37, 45] x [45, 29], transB batch 2 with alpha; bp_attention_softmax: bool mask, a fully masked row\n");
}

static void test_backend_kernels(const char *path) {
    char *src = read_text(path);
    CHECK(src != NULL, "cannot read %s", path);
    if (src == NULL) return;
    id err = NULL;
    double t0 = now();
    id lib = library(src, &err);
    double t1 = now();
    CHECK(lib != NULL, "backplane_kernels.metal did not compile:\n%s", err ? msg_str(err, "localizedDescription") : "?");
    if (lib == NULL) return;
    printf("  backplane_kernels.metal: compiled (or loaded from the cache) in %.3f s\n", t1 - t0);
    double t2 = now();
    id again = library(src, &err);
    printf("  backplane_kernels.metal again (in-process cache): %.6f s\n", now() - t2);
    CHECK(again != NULL, "second compile");
    bk_lib = lib;
    bk_queue = queue("backend");
    test_elementwise();
    test_reductions();
    test_along_axis();
    test_softmax_norm();
    test_take();
    test_matmul_attention();
    free(src);
}

// ------------------------------------------------------------------ the rest of the simulator

static void test_faults(void) {
    id lib = library("kernel void one(device float *x [[buffer(0)]], uint i [[thread_position_in_grid]]) { x[i] = 1.0f; }\n", NULL);
    id pso = pipeline(lib, "one");
    id q = queue("faulty");
    id buf = new_buffer(64);
    bpsim_fail_command_buffer("faulty", 0, 3);
    Batch b = begin(q);
    use(&b, pso);
    buffer_at(&b, buf, 0, 0);
    dispatch(&b, size1(16), size1(16));
    CHECK(finish(&b) == 5, "failed command buffer status");
    id err = msg(b.cb, "error");
    CHECK(err && msg_l(err, "code") == 3, "page fault code");
    CHECK(((float *) contents(buf))[0] == 0.0f, "a failed command buffer ran its kernels");
    Batch b2 = begin(q);
    use(&b2, pso);
    buffer_at(&b2, buf, 0, 0);
    dispatch(&b2, size1(16), size1(16));
    CHECK(finish(&b2) == 5, "the command buffer behind a failed one fails");
    CHECK(msg_l(msg(b2.cb, "error"), "code") == 7, "code 7 behind a failure");
    CHECK(bpsim_calls_for("faulty") > 0, "call log");
    for (int i = 0; i < 200 && bpsim_pending_handlers() > 0; i++) usleep(1000);
    CHECK(bpsim_pending_handlers() == 0, "pending handlers %ld", bpsim_pending_handlers());
    CHECK(handler_thread_calls > 0, "completion handlers ran on another thread");
}

// Several queues at once share the worker pool.
typedef struct {
    id lib;
    int index;
    int ok;
} Worker;

static void *queue_worker(void *arg) {
    Worker *w = arg;
    void *pool = objc_autoreleasePoolPush();
    char label[32];
    snprintf(label, sizeof label, "parallel-%d", w->index);
    id q = queue(label);
    id pso = pipeline(w->lib, "block_sum");
    const int n = 65536, g = 256;
    id x = new_buffer(n * 4), out = new_buffer(n / g * 4);
    float *xs = contents(x);
    for (int i = 0; i < n; i++) xs[i] = (float) ((i * 31 + w->index) % 17);
    w->ok = 1;
    for (int round = 0; round < 20; round++) {
        void *inner = objc_autoreleasePoolPush();
        Batch b = begin(q);
        use(&b, pso);
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, out, 0, 1);
        dispatch(&b, size1(n), size1(g));
        if (finish(&b) != 4) w->ok = 0;
        objc_autoreleasePoolPop(inner);
        float *o = contents(out);
        for (int t = 0; t < n / g; t++) {
            float s = 0;
            for (int l = 0; l < g; l++) s += xs[t * g + l];
            if (o[t] != s) w->ok = 0; // small integers: exact in any order
        }
    }
    objc_autoreleasePoolPop(pool);
    return NULL;
}

static void test_parallel_queues(void) {
    id lib = library(TEST_MSL, NULL);
    Worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i].lib = lib;
        w[i].index = i;
        pthread_create(&t[i], NULL, queue_worker, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].ok, "parallel queue %d", i);
    }
}

// ------------------------------------------------------------------ overhead

static void bench(void) {
    id lib = library(TEST_MSL, NULL);
    id q = queue("bench");
    id nothing = pipeline(lib, "nothing"), sum = pipeline(lib, "block_sum"), saxpy = pipeline(lib, "saxpy");
    id buf = new_buffer(1 << 24);
    id out = new_buffer(4096 * 4);
    float a = 0.5f;
    // an empty dispatch per command buffer (commit, run, handler, wait)
    int rounds = 2000;
    double t0 = now();
    for (int i = 0; i < rounds; i++) {
        void *pool = objc_autoreleasePoolPush();
        Batch b = begin(q);
        use(&b, nothing);
        buffer_at(&b, buf, 0, 0);
        dispatch(&b, size1(1), size1(1));
        finish(&b);
        objc_autoreleasePoolPop(pool);
    }
    double per_cb = (now() - t0) / rounds;
    // empty dispatches inside one command buffer
    int dispatches = 20000;
    t0 = now();
    {
        void *pool = objc_autoreleasePoolPush();
        Batch b = begin(q);
        use(&b, nothing);
        buffer_at(&b, buf, 0, 0);
        for (int i = 0; i < dispatches; i++) dispatch(&b, size1(1), size1(1));
        finish(&b);
        objc_autoreleasePoolPop(pool);
    }
    double per_dispatch = (now() - t0) / dispatches;
    // a threadgroup reduction: 4096 groups x 256 threads, 9 barriers per group
    t0 = now();
    {
        void *pool = objc_autoreleasePoolPush();
        Batch b = begin(q);
        use(&b, sum);
        buffer_at(&b, buf, 0, 0);
        buffer_at(&b, out, 0, 1);
        dispatch(&b, size1(4096 * 256), size1(256));
        finish(&b);
        objc_autoreleasePoolPop(pool);
    }
    double reduction = now() - t0;
    // elementwise, 4M threads
    t0 = now();
    {
        void *pool = objc_autoreleasePoolPush();
        Batch b = begin(q);
        use(&b, saxpy);
        buffer_at(&b, buf, 0, 0);
        buffer_at(&b, buf, 0, 1);
        bytes_at(&b, &a, 4, 2);
        dispatch(&b, size1(1 << 22), size1(1024));
        finish(&b);
        objc_autoreleasePoolPop(pool);
    }
    double elementwise = now() - t0;
    printf("  empty dispatch, one per command buffer (commit..wait): %.1f us\n", per_cb * 1e6);
    printf("  empty dispatch, %d in one command buffer: %.2f us each\n", dispatches, per_dispatch * 1e6);
    printf("  threadgroup reduction, 4096 groups x 256 threads (9 barriers each): %.1f ms\n", reduction * 1e3);
    printf("  elementwise saxpy over 4M threads (groups of 1024): %.1f ms\n", elementwise * 1e3);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: sim_test <backplane_kernels.metal> [--bench]\n");
        return 2;
    }
    main_thread = pthread_self();
    device = MTLCreateSystemDefaultDevice();
    void *pool = objc_autoreleasePoolPush();
    printf("device: %s\n", msg_str(device, "name"));
    printf("backend kernels:\n");
    test_backend_kernels(argv[1]);
    printf("own kernels:\n");
    test_own_kernels();
    printf("compile errors\n");
    test_compile_errors();
    printf("faults, handlers\n");
    test_faults();
    printf("parallel queues\n");
    test_parallel_queues();
    if (argc > 2 && strcmp(argv[2], "--bench") == 0) {
        printf("overhead:\n");
        bench();
    }
    objc_autoreleasePoolPop(pool);
    if (failures) {
        printf("%d FAILURES\n", failures);
        return 1;
    }
    printf("all passed\n");
    return 0;
}
