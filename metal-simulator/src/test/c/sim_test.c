// Standalone test of the Metal simulator: drives it like the Metal backend does (Objective-C
// messages found with the GCC runtime's objc_msg_lookup, blocks as completion handlers), compiles
// MSL of its own and the backend's real backplane_kernels.metal, and checks the results against
// straightforward CPU computations. Built and run by metal-simulator/src/test/run-tests.sh.
//
//   sim_test <path of backplane_kernels.metal> [--bench]
#include <Block.h>
#include <math.h>
#include <pthread.h>
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

enum { U_NEG, U_ABS, U_EXP, U_LOG, U_SQRT, U_TANH, U_SIGMOID, U_RELU };

static float ref_unary(long op, float x) {
    switch (op) {
        case U_NEG: return -x;
        case U_ABS: return fabsf(x);
        case U_EXP: return expf(x);
        case U_LOG: return logf(x);
        case U_SQRT: return sqrtf(x);
        case U_TANH: return tanhf(x);
        case U_SIGMOID: return 1.0f / (1.0f + expf(-x));
        default: return java_max(x, 0.0f);
    }
}

static float ref_binary(long op, float a, float b) {
    switch (op) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4: return java_max(a, b);
        default: return java_min(a, b);
    }
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
    id q = queue("backend");
    const int n = 3001;
    float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f, 88.8f, -104.0f, 1.0f};
    id x = new_buffer(n * 4), y = new_buffer(n * 4), out = new_buffer(n * 4);
    float *xs = contents(x), *ys = contents(y), want[4096];
    for (int i = 0; i < n; i++) {
        xs[i] = i < 10 ? special[i] : rnd(-4, 4);
        ys[i] = i % 10 == 3 ? special[(i / 10) % 10] : rnd(-4, 4);
    }
    // bp_fill
    {
        float v = -2.5f;
        Batch b = begin(q);
        use(&b, pipeline(lib, "bp_fill"));
        buffer_at(&b, out, 0, 0);
        bytes_at(&b, &v, 4, 1);
        dispatch(&b, size1(n), size1(1024));
        CHECK(finish(&b) == 4, "bp_fill status");
        for (int i = 0; i < n; i++) want[i] = v;
        expect_floats("bp_fill", contents(out), want, n);
    }
    // bp_unary, every op
    for (long op = 0; op <= U_RELU; op++) {
        Batch b = begin(q);
        use(&b, pipeline(lib, "bp_unary"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, out, 0, 1);
        bytes_at(&b, &op, 8, 2);
        dispatch(&b, size1(n), size1(1024));
        CHECK(finish(&b) == 4, "bp_unary status");
        for (int i = 0; i < n; i++) want[i] = ref_unary(op, xs[i]);
        char what[32];
        snprintf(what, sizeof what, "bp_unary op %ld", op);
        expect_floats(what, contents(out), want, n);
    }
    // bp_binary with broadcasting: a [3001] (as [1, 3001]) op b [3001] read as [7, 3001 / 7 ...]: use [n] x [n] and [r, c] x [1, c]
    for (long op = 0; op <= 5; op++) {
        const long r = 30, c = 100; // out [30, 100]; a [30, 100]; b [1, 100] broadcast along rows
        long p[2 + 3 * 2] = {op, 2, r, c, c, 1, 0, 1};
        Batch b = begin(q);
        use(&b, pipeline(lib, "bp_binary"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, y, 0, 1);
        buffer_at(&b, out, 0, 2);
        bytes_at(&b, p, sizeof p, 3);
        dispatch(&b, size1(r * c), size1(1024));
        CHECK(finish(&b) == 4, "bp_binary status");
        for (long i = 0; i < r * c; i++) want[i] = ref_binary(op, xs[i], ys[i % c]);
        char what[32];
        snprintf(what, sizeof what, "bp_binary op %ld", op);
        expect_floats(what, contents(out), want, r * c);
    }
    // bp_matmul: batch 2 of [5, 7] x [7, 9] (b broadcast: batch stride 0), as the backend dispatches it
    {
        const long m = 5, nn = 9, k = 7, batch = 2;
        long p[5] = {m, nn, k, m * k, 0};
        Batch b = begin(q);
        use(&b, pipeline(lib, "bp_matmul"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, y, 100 * 4, 1);
        buffer_at(&b, out, 0, 2);
        bytes_at(&b, p, sizeof p, 3);
        MTLSize grid = {nn, m, batch}, group = {9, 5, 1};
        dispatch(&b, grid, group);
        CHECK(finish(&b) == 4, "bp_matmul status");
        const float *bb = ys + 100; // (a starts with the special values: some outputs are NaN, as they should be)
        for (long z = 0; z < batch; z++) {
            for (long row = 0; row < m; row++) {
                for (long col = 0; col < nn; col++) {
                    float acc = 0.0f;
                    for (long q2 = 0; q2 < k; q2++) acc = fmaf(xs[z * m * k + row * k + q2], bb[q2 * nn + col], acc);
                    want[z * m * nn + row * nn + col] = acc;
                }
            }
        }
        expect_floats("bp_matmul", contents(out), want, batch * m * nn);
    }
    // bp_transpose: [20, 30, 5] -> axes (2, 0, 1): out [5, 20, 30]
    {
        const long d0 = 20, d1 = 30, d2 = 5;
        long p[1 + 2 * 3] = {3, d2, d0, d1, 1, d1 * d2, d2};
        Batch b = begin(q);
        use(&b, pipeline(lib, "bp_transpose"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, out, 0, 1);
        bytes_at(&b, p, sizeof p, 2);
        dispatch(&b, size1(d0 * d1 * d2), size1(1024));
        CHECK(finish(&b) == 4, "bp_transpose status");
        for (long c = 0; c < d2; c++)
            for (long a = 0; a < d0; a++)
                for (long bq = 0; bq < d1; bq++) want[(c * d0 + a) * d1 + bq] = xs[(a * d1 + bq) * d2 + c];
        expect_floats("bp_transpose", contents(out), want, d0 * d1 * d2);
    }
    // bp_reduce: sum, max, mean over the middle axis of [6, 50, 10]
    for (long op = 0; op <= 2; op++) {
        const long outer = 6, len = 50, inner = 10;
        long p[4] = {op, outer, len, inner};
        Batch b = begin(q);
        use(&b, pipeline(lib, "bp_reduce"));
        buffer_at(&b, x, 0, 0);
        buffer_at(&b, out, 0, 1);
        bytes_at(&b, p, sizeof p, 2);
        dispatch(&b, size1(outer * inner), size1(32));
        CHECK(finish(&b) == 4, "bp_reduce status");
        for (long i = 0; i < outer * inner; i++) {
            long o = i / inner, j = i % inner;
            float acc = op == 1 ? -INFINITY : 0.0f;
            for (long q2 = 0; q2 < len; q2++) {
                float v = xs[o * len * inner + j + q2 * inner];
                acc = op == 1 ? java_max(acc, v) : acc + v;
            }
            want[i] = op == 2 ? acc / (float) len : acc;
        }
        char what[32];
        snprintf(what, sizeof what, "bp_reduce op %ld", op);
        expect_floats(what, contents(out), want, outer * inner);
    }
    // bp_softmax: rows of 37 (from index 20: no special values), one thread per row
    {
        const long rows = 50, cols = 37;
        long p[2] = {rows, cols};
        Batch b = begin(q);
        use(&b, pipeline(lib, "bp_softmax"));
        buffer_at(&b, x, 20 * 4, 0);
        buffer_at(&b, out, 0, 1);
        bytes_at(&b, p, sizeof p, 2);
        dispatch(&b, size1(rows), size1(rows));
        CHECK(finish(&b) == 4, "bp_softmax status");
        for (long r = 0; r < rows; r++) {
            const float *in = xs + 20 + r * cols;
            float mx = -INFINITY, sum = 0.0f;
            for (long i = 0; i < cols; i++) mx = java_max(mx, in[i]);
            for (long i = 0; i < cols; i++) {
                want[r * cols + i] = expf(in[i] - mx);
                sum += want[r * cols + i];
            }
            float inv = 1.0f / sum;
            for (long i = 0; i < cols; i++) want[r * cols + i] *= inv;
        }
        expect_floats("bp_softmax", contents(out), want, rows * cols);
    }
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
