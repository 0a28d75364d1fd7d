// Backplane's Metal kernels, compiled at run time with newLibraryWithSource:options:error: (fast math
// off). On Linux the Metal simulator compiles and runs this very source (as C++17 with clang,
// through its MSL shim; metal-simulator/README.md lists the MSL subset it supports and what a run
// there does not prove).
//
// Semantics follow the API's type rules (org.backplane.api.DType), as the CUDA kernels do: float16
// and bfloat16 are loaded into float, computed there and rounded to nearest even once when stored
// (bfloat16 is kept as its 16 bits, so no MSL 3.1 type is needed); integer ops compute in 64 bits
// and int32 results wrap; float-to-integer conversions truncate and saturate, NaN giving 0. IEEE
// arithmetic with NaN propagation and Java's max/min. Reductions are fixed trees: the same inputs
// always give the same bits.
//
// The op and type codes are org.backplane.spi.device.KernelOps and ElementwiseKernel; change them
// together. Buffers are bound at offset 0; operands carry their own element offsets and strides.

#include <metal_stdlib>
using namespace metal;

constant int F32 = 0;
constant int F16 = 1;
constant int BF16 = 2;
constant int I32 = 3;
constant int I64 = 4;
constant int BOOL_T = 5;

constant int U_NEG = 0;
constant int U_ABS = 1;
constant int U_EXP = 2;
constant int U_LOG = 3;
constant int U_SQRT = 4;
constant int U_TANH = 5;
constant int U_SIGMOID = 6;
constant int U_RELU = 7;
constant int U_RSQRT = 8;
constant int U_ERF = 9;
constant int U_GELU = 10;
constant int U_GELU_TANH = 11;
constant int U_SILU = 12;
constant int U_SIN = 13;
constant int U_COS = 14;
constant int U_RECIPROCAL = 15;
constant int U_FLOOR = 17;

constant int B_ADD = 0;
constant int B_SUB = 1;
constant int B_MUL = 2;
constant int B_DIV = 3;
constant int B_MAXIMUM = 4;
constant int B_MINIMUM = 5;
constant int B_POW = 6;
constant int B_EQUAL = 7;
constant int B_NOT_EQUAL = 8;
constant int B_LESS = 9;
constant int B_LESS_EQUAL = 10;
constant int B_GREATER = 11;
constant int B_GREATER_EQUAL = 12;
constant int B_LOGICAL_AND = 13;

constant int R_SUM = 0;
constant int R_MAX = 1;
constant int R_MEAN = 2;
constant int R_MIN = 3;
constant int R_PROD = 4;
constant int R_VAR = 5;

constant int E_UNARY = 0;
constant int E_BINARY = 1;
constant int E_BINARY_SCALAR = 2;
constant int E_WHERE = 3;
constant int E_COPY = 4;

constant int D_FLOAT = 0;
constant int D_INT = 1;

constant int GROUP = 256;  // threads of the threadgroup kernels (a power of two)

// ------------------------------------------------------------------ element access and conversions

static float java_max(float a, float b) {
    if (a != a || b != b) return as_type<float>(0x7fc00000u);
    if (a > b) return a;
    if (b > a) return b;
    return signbit(a) ? b : a;  // max(-0, +0) = +0
}

static float java_min(float a, float b) {
    if (a != a || b != b) return as_type<float>(0x7fc00000u);
    if (a < b) return a;
    if (b < a) return b;
    return signbit(a) ? a : b;  // min(-0, +0) = -0
}

static float bf16_to_float(ushort bits) {
    return as_type<float>(uint(bits) << 16);
}

static ushort float_to_bf16(float f) {
    uint bits = as_type<uint>(f);
    if (f != f) return ushort((bits >> 16) | 0x40u);
    return ushort((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

static float ldf(device const uchar *p, int t, long i) {
    switch (t) {
        case F32: return ((device const float *) p)[i];
        case F16: return float(as_type<half>(((device const ushort *) p)[i]));
        case BF16: return bf16_to_float(((device const ushort *) p)[i]);
        case I32: return float(((device const int *) p)[i]);
        case I64: return float(((device const long *) p)[i]);
        default: return p[i] != 0 ? 1.0f : 0.0f;
    }
}

// Java's float-to-long: truncation toward zero, saturating, NaN to 0.
static long java_f2l(float v) {
    if (v != v) return 0;
    if (v >= 9.2233720368547758e18f) return 0x7fffffffffffffffL;
    if (v <= -9.2233720368547758e18f) return -0x7fffffffffffffffL - 1;
    return long(v);
}

static int java_f2i(float v) {
    if (v != v) return 0;
    if (v >= 2147483648.0f) return 0x7fffffff;
    if (v <= -2147483648.0f) return -0x7fffffff - 1;
    return int(v);
}

static long ldi(device const uchar *p, int t, long i) {
    switch (t) {
        case I32: return ((device const int *) p)[i];
        case I64: return ((device const long *) p)[i];
        case BOOL_T: return p[i] != 0 ? 1 : 0;
        default: return java_f2l(ldf(p, t, i));
    }
}

static bool ldb(device const uchar *p, int t, long i) {
    if (t == I32 || t == I64 || t == BOOL_T) return ldi(p, t, i) != 0;
    float v = ldf(p, t, i);
    return v != 0.0f || v != v;
}

static void stf(device uchar *p, int t, long i, float v) {
    switch (t) {
        case F32: ((device float *) p)[i] = v; break;
        case F16: ((device ushort *) p)[i] = as_type<ushort>(half(v)); break;
        case BF16: ((device ushort *) p)[i] = float_to_bf16(v); break;
        case I32: ((device int *) p)[i] = java_f2i(v); break;
        case I64: ((device long *) p)[i] = java_f2l(v); break;
        default: p[i] = (v != 0.0f || v != v) ? 1 : 0;
    }
}

static void sti(device uchar *p, int t, long i, long v) {
    switch (t) {
        case I32: ((device int *) p)[i] = int(v); break;  // wraps
        case I64: ((device long *) p)[i] = v; break;
        case BOOL_T: p[i] = v != 0 ? 1 : 0; break;
        default: stf(p, t, i, float(v));
    }
}

// A float as type t would hold it (operands computed in a half type are rounded to it first).
static float rounded(int t, float v) {
    if (t == F16) return float(half(v));
    if (t == BF16) return bf16_to_float(float_to_bf16(v));
    return v;
}

// ------------------------------------------------------------------ erf (MSL has none)

// erf(x)/x on [0, 1] as a polynomial in x^2, and log(erfc(x)) on [1, 3.92] as a polynomial in
// x - 2.46: least-squares fits on Chebyshev nodes (the CPU backend's VectorMath uses the same).
static float erf_small(float x) {
    float z = x * x;
    float p = 7.933493907330558e-05f;
    p = fma(p, z, -0.0008034846396185458f);
    p = fma(p, z, 0.005191218573600054f);
    p = fma(p, z, -0.02685539983212948f);
    p = fma(p, z, 0.11283625662326813f);
    p = fma(p, z, -0.3761262893676758f);
    p = fma(p, z, 1.128379225730896f);
    return x * p;
}

// erfc(a) for a >= 0.
static float erfc_abs(float a) {
    if (a <= 1.0f) return 1.0f - erf_small(a);
    if (a >= 3.92f) return 0.0f;
    float u = a - 2.46f;
    float p = -4.778926410153872e-08f;
    p = fma(p, u, -5.307429873369074e-08f);
    p = fma(p, u, 1.8996348671862506e-06f);
    p = fma(p, u, -1.3553495591622777e-05f);
    p = fma(p, u, 8.059704850893468e-05f);
    p = fma(p, u, -0.0004396395233925432f);
    p = fma(p, u, 0.002251584315672517f);
    p = fma(p, u, -0.011211467906832695f);
    p = fma(p, u, -0.9425697326660156f);
    p = fma(p, u, -5.277222156524658f);
    p = fma(p, u, -7.594217777252197f);
    return exp(p);
}

static float erf_(float x) {
    if (x != x) return x;
    float a = fabs(x);
    if (a <= 1.0f) return erf_small(x);
    float r = 1.0f - erfc_abs(a);
    return x < 0.0f ? -r : r;
}

// ------------------------------------------------------------------ the ops on one element

static float unary_f(int op, float x) {
    switch (op) {
        case U_NEG: return -x;
        case U_ABS: return fabs(x);
        case U_EXP: return exp(x);
        case U_LOG: return log(x);
        case U_SQRT: return sqrt(x);
        case U_TANH: return tanh(x);
        case U_SIGMOID: return 1.0f / (1.0f + exp(-x));
        case U_RELU: return java_max(x, 0.0f);
        case U_RSQRT: return 1.0f / sqrt(x);
        case U_ERF: return erf_(x);
        // Exact GELU through erfc below zero, where 1 + erf(x) would cancel.
        case U_GELU: {
            if (x != x) return x;
            float u = x * 0.70710678118654752f;
            return x < 0.0f ? 0.5f * x * erfc_abs(-u) : 0.5f * x * (1.0f + erf_(u));
        }
        // x (1 + tanh(u)) / 2 written as x sigmoid(2u): the same function without the cancellation.
        case U_GELU_TANH: {
            float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
            return x / (1.0f + exp(-2.0f * u));
        }
        case U_SILU: return x / (1.0f + exp(-x));
        case U_SIN: return sin(x);
        case U_COS: return cos(x);
        case U_RECIPROCAL: return 1.0f / x;
        case U_FLOOR: return floor(x);
        default: return x == 0.0f ? 1.0f : 0.0f;
    }
}

static long unary_i(int op, long x) {
    switch (op) {
        case U_NEG: return long(0ul - ulong(x));  // wraps, like every integer op here
        case U_ABS: return x < 0 ? long(0ul - ulong(x)) : x;
        case U_RELU: return x > 0 ? x : 0;
        case U_FLOOR: return x;
        default: return x == 0 ? 1 : 0;
    }
}

// C99 pow: pow(x, 0) = 1 and pow(1, y) = 1 even for NaN; pow(-1, +-inf) = 1.
static float pow_c99(float x, float y) {
    if (y == 0.0f || x == 1.0f) return 1.0f;
    if (x == -1.0f && isinf(y)) return 1.0f;
    return pow(x, y);
}

static float binary_f(int op, float a, float b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        case B_MAXIMUM: return java_max(a, b);
        case B_MINIMUM: return java_min(a, b);
        case B_POW: return pow_c99(a, b);
        case B_EQUAL: return a == b ? 1.0f : 0.0f;
        case B_NOT_EQUAL: return a != b ? 1.0f : 0.0f;
        case B_LESS: return a < b ? 1.0f : 0.0f;
        case B_LESS_EQUAL: return a <= b ? 1.0f : 0.0f;
        case B_GREATER: return a > b ? 1.0f : 0.0f;
        default: return a >= b ? 1.0f : 0.0f;
    }
}

static long binary_i(int op, long a, long b) {
    switch (op) {
        case B_ADD: return long(ulong(a) + ulong(b));  // wraps
        case B_SUB: return long(ulong(a) - ulong(b));
        case B_MUL: return long(ulong(a) * ulong(b));
        case B_MAXIMUM: return a > b ? a : b;
        case B_MINIMUM: return a < b ? a : b;
        case B_EQUAL: return a == b ? 1 : 0;
        case B_NOT_EQUAL: return a != b ? 1 : 0;
        case B_LESS: return a < b ? 1 : 0;
        case B_LESS_EQUAL: return a <= b ? 1 : 0;
        case B_GREATER: return a > b ? 1 : 0;
        case B_GREATER_EQUAL: return a >= b ? 1 : 0;
        case B_LOGICAL_AND: return (a != 0 && b != 0) ? 1 : 0;
        default: return (a != 0 || b != 0) ? 1 : 0;
    }
}

// ------------------------------------------------------------------ elementwise

// One operand of the elementwise kernel: where the element at each index of the output's (collapsed)
// index space lies in its buffer: offset + sum(index[d] * s[d]) elements.
struct Operand {
    long offset;
    long s[8];
    int dtype;
    int unused;
};

struct ElementwiseArgs {
    int family;
    int op;
    int domain;
    int ctype;
    long n;
    int rank;
    int scalar_first;
    float fscalar;
    int unused;
    long iscalar;
    long dims[8];
    Operand out;
    Operand a;
    Operand b;
    Operand c;
};

// Every elementwise op, on strided operands of any type: one thread per output element.
kernel void bp_elementwise(device uchar *out [[buffer(0)]], device const uchar *a [[buffer(1)]],
                           device const uchar *b [[buffer(2)]], device const uchar *c [[buffer(3)]],
                           constant ElementwiseArgs &args [[buffer(4)]], uint gid [[thread_position_in_grid]]) {
    long i = gid;
    if (i >= args.n) return;
    long po = args.out.offset, pa = args.a.offset, pb = args.b.offset, pc = args.c.offset;
    long rem = i;
    for (int d = args.rank - 1; d >= 0; d--) {
        long idx = rem % args.dims[d];
        rem /= args.dims[d];
        po += idx * args.out.s[d];
        pa += idx * args.a.s[d];
        pb += idx * args.b.s[d];
        pc += idx * args.c.s[d];
    }
    int op = args.op;
    int at = args.a.dtype;
    if (args.domain == D_FLOAT) {
        float r;
        switch (args.family) {
            case E_UNARY: r = unary_f(op, ldf(a, at, pa)); break;
            case E_BINARY:
                r = binary_f(op, rounded(args.ctype, ldf(a, at, pa)), rounded(args.ctype, ldf(b, args.b.dtype, pb)));
                break;
            case E_BINARY_SCALAR: {
                float x = rounded(args.ctype, ldf(a, at, pa));
                r = args.scalar_first ? binary_f(op, args.fscalar, x) : binary_f(op, x, args.fscalar);
                break;
            }
            case E_WHERE: r = ldb(a, at, pa) ? ldf(b, args.b.dtype, pb) : ldf(c, args.c.dtype, pc); break;
            case E_COPY: r = ldf(a, at, pa); break;
            default: r = args.fscalar;
        }
        stf(out, args.out.dtype, po, r);
    } else if (args.domain == D_INT) {
        long r;
        switch (args.family) {
            case E_UNARY: r = unary_i(op, ldi(a, at, pa)); break;
            case E_BINARY: r = binary_i(op, ldi(a, at, pa), ldi(b, args.b.dtype, pb)); break;
            case E_BINARY_SCALAR: {
                long x = ldi(a, at, pa);
                r = args.scalar_first ? binary_i(op, args.iscalar, x) : binary_i(op, x, args.iscalar);
                break;
            }
            case E_WHERE: r = ldb(a, at, pa) ? ldi(b, args.b.dtype, pb) : ldi(c, args.c.dtype, pc); break;
            case E_COPY: r = ldi(a, at, pa); break;
            default: r = args.iscalar;
        }
        sti(out, args.out.dtype, po, r);
    } else {
        // Truth values: only logical not, and, or come here (ElementwiseKernel decides).
        long x = ldb(a, at, pa) ? 1 : 0;
        long s = args.iscalar != 0 ? 1 : 0;
        long r;
        switch (args.family) {
            case E_UNARY: r = x == 0 ? 1 : 0; break;
            case E_BINARY: r = binary_i(op, x, ldb(b, args.b.dtype, pb) ? 1 : 0); break;
            case E_BINARY_SCALAR: r = args.scalar_first ? binary_i(op, s, x) : binary_i(op, x, s); break;
            default: r = 0;
        }
        sti(out, args.out.dtype, po, r);
    }
}

// ------------------------------------------------------------------ reductions

static float combine_f(int op, float a, float b) {
    switch (op) {
        case R_MAX: return java_max(a, b);
        case R_MIN: return java_min(a, b);
        case R_PROD: return a * b;
        default: return a + b;
    }
}

static float identity_f(int op) {
    switch (op) {
        case R_MAX: return -INFINITY;
        case R_MIN: return INFINITY;
        case R_PROD: return 1.0f;
        default: return 0.0f;
    }
}

static long combine_i(int op, long a, long b) {
    switch (op) {
        case R_MAX: return a > b ? a : b;
        case R_MIN: return a < b ? a : b;
        case R_PROD: return long(ulong(a) * ulong(b));
        default: return long(ulong(a) + ulong(b));
    }
}

static long identity_i(int op) {
    switch (op) {
        case R_MAX: return -0x7fffffffffffffffL - 1;
        case R_MIN: return 0x7fffffffffffffffL;
        case R_PROD: return 1;
        default: return 0;
    }
}

static bool int_reduction(int op, int t) {
    return (t == I32 || t == I64 || t == BOOL_T) && op != R_MEAN && op != R_VAR;
}

// Reduces x[base + i], i < len, over the threadgroup in a fixed tree (squares of deviations from
// `shift` when `squares`); every thread gets the result.
static float group_reduce_f(int op, device const uchar *x, int t, long base, long len, float shift, bool squares,
                            threadgroup float *partial, uint tid, uint size) {
    float acc = identity_f(op);
    for (long i = tid; i < len; i += size) {
        float v = ldf(x, t, base + i);
        if (squares) v = (v - shift) * (v - shift);
        acc = combine_f(op, acc, v);
    }
    partial[tid] = acc;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = size / 2; s > 0; s >>= 1) {
        if (tid < s) partial[tid] = combine_f(op, partial[tid], partial[tid + s]);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    float v = partial[0];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    return v;
}

static long group_reduce_i(int op, device const uchar *x, int t, long base, long len, threadgroup long *partial,
                           uint tid, uint size) {
    long acc = identity_i(op);
    for (long i = tid; i < len; i += size) acc = combine_i(op, acc, ldi(x, t, base + i));
    partial[tid] = acc;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = size / 2; s > 0; s >>= 1) {
        if (tid < s) partial[tid] = combine_i(op, partial[tid], partial[tid + s]);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    long v = partial[0];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    return v;
}

struct AxisArgs {
    int op;     // reduce op, argmax flag, or log flag
    int xt;     // input type
    int ot;     // output type
    int unused;
    long outer;
    long len;
    long inner;
};

// Reduces rows of a contiguous [outer, len] array: one threadgroup per row. MEAN and VAR in float
// (VAR two-pass: the mean, then the mean squared deviation); integer sums, products and extremes in
// 64 bits.
kernel void bp_reduce_rows(device const uchar *x [[buffer(0)]], device uchar *out [[buffer(1)]],
                           constant AxisArgs &p [[buffer(2)]], uint row [[threadgroup_position_in_grid]],
                           uint tid [[thread_position_in_threadgroup]], uint size [[threads_per_threadgroup]]) {
    threadgroup float partial_f[GROUP];
    threadgroup long partial_i[GROUP];
    long base = long(row) * p.len;
    if (int_reduction(p.op, p.xt)) {
        long v = group_reduce_i(p.op, x, p.xt, base, p.len, partial_i, tid, size);
        if (tid == 0) sti(out, p.ot, row, v);
        return;
    }
    bool moment = p.op == R_MEAN || p.op == R_VAR;
    float v = group_reduce_f(moment ? R_SUM : p.op, x, p.xt, base, p.len, 0.0f, false, partial_f, tid, size);
    if (moment) v = v / float(p.len);
    if (p.op == R_VAR) v = group_reduce_f(R_SUM, x, p.xt, base, p.len, v, true, partial_f, tid, size) / float(p.len);
    if (tid == 0) stf(out, p.ot, row, v);
}

// Reduces the middle axis of a contiguous [outer, len, inner] array: one thread per output.
kernel void bp_reduce_columns(device const uchar *x [[buffer(0)]], device uchar *out [[buffer(1)]],
                              constant AxisArgs &p [[buffer(2)]], uint gid [[thread_position_in_grid]]) {
    long i = gid;
    if (i >= p.outer * p.inner) return;
    long base = (i / p.inner) * p.len * p.inner + i % p.inner;
    if (int_reduction(p.op, p.xt)) {
        long acc = identity_i(p.op);
        for (long a = 0; a < p.len; a++) acc = combine_i(p.op, acc, ldi(x, p.xt, base + a * p.inner));
        sti(out, p.ot, i, acc);
        return;
    }
    bool moment = p.op == R_MEAN || p.op == R_VAR;
    int first = moment ? R_SUM : p.op;
    float acc = identity_f(first);
    for (long a = 0; a < p.len; a++) acc = combine_f(first, acc, ldf(x, p.xt, base + a * p.inner));
    if (moment) acc = acc / float(p.len);
    if (p.op == R_VAR) {
        float mean = acc;
        acc = 0.0f;
        for (long a = 0; a < p.len; a++) {
            float d = ldf(x, p.xt, base + a * p.inner) - mean;
            acc += d * d;
        }
        acc = acc / float(p.len);
    }
    stf(out, p.ot, i, acc);
}

// Index (int64) of the first largest (op 1) or smallest element along the middle axis; a NaN counts
// as the extreme (the first NaN wins), as in NumPy.
kernel void bp_argreduce(device const uchar *x [[buffer(0)]], device long *out [[buffer(1)]],
                         constant AxisArgs &p [[buffer(2)]], uint gid [[thread_position_in_grid]]) {
    long i = gid;
    if (i >= p.outer * p.inner) return;
    long base = (i / p.inner) * p.len * p.inner + i % p.inner;
    bool max = p.op != 0;
    long best = 0;
    if (p.xt == I32 || p.xt == I64 || p.xt == BOOL_T) {
        long bv = ldi(x, p.xt, base);
        for (long a = 1; a < p.len; a++) {
            long v = ldi(x, p.xt, base + a * p.inner);
            if (max ? v > bv : v < bv) {
                best = a;
                bv = v;
            }
        }
    } else {
        float bv = ldf(x, p.xt, base);
        for (long a = 1; a < p.len && bv == bv; a++) {
            float v = ldf(x, p.xt, base + a * p.inner);
            if (v != v || (max ? v > bv : v < bv)) {
                best = a;
                bv = v;
            }
        }
    }
    out[i] = best;
}

// Inclusive running sums along the middle axis: one thread per line, in float for floating types
// and 64-bit integers for the others.
kernel void bp_cumsum(device const uchar *x [[buffer(0)]], device uchar *out [[buffer(1)]],
                      constant AxisArgs &p [[buffer(2)]], uint gid [[thread_position_in_grid]]) {
    long i = gid;
    if (i >= p.outer * p.inner) return;
    long base = (i / p.inner) * p.len * p.inner + i % p.inner;
    if (p.xt == I32 || p.xt == I64 || p.xt == BOOL_T) {
        long acc = 0;
        for (long a = 0; a < p.len; a++) {
            acc = long(ulong(acc) + ulong(ldi(x, p.xt, base + a * p.inner)));  // wraps
            sti(out, p.ot, base + a * p.inner, acc);
        }
    } else {
        float acc = 0.0f;
        for (long a = 0; a < p.len; a++) {
            acc += ldf(x, p.xt, base + a * p.inner);
            stf(out, p.ot, base + a * p.inner, acc);
        }
    }
}

// ------------------------------------------------------------------ softmax and normalisation

// Softmax (or log-softmax, op 1) over rows of a contiguous [outer, len] array of floating type xt:
// one threadgroup per row. A row holding a NaN is all NaN.
kernel void bp_softmax(device const uchar *x [[buffer(0)]], device uchar *out [[buffer(1)]],
                       constant AxisArgs &p [[buffer(2)]], uint row [[threadgroup_position_in_grid]],
                       uint tid [[thread_position_in_threadgroup]], uint size [[threads_per_threadgroup]]) {
    threadgroup float partial[GROUP];
    long base = long(row) * p.len;
    float m = group_reduce_f(R_MAX, x, p.xt, base, p.len, 0.0f, false, partial, tid, size);
    float sum = 0.0f;
    for (long i = tid; i < p.len; i += size) sum += exp(ldf(x, p.xt, base + i) - m);
    partial[tid] = sum;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = size / 2; s > 0; s >>= 1) {
        if (tid < s) partial[tid] += partial[tid + s];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    sum = partial[0];
    float log_sum = log(sum);
    float inv = 1.0f / sum;
    for (long i = tid; i < p.len; i += size) {
        float shifted = ldf(x, p.xt, base + i) - m;
        stf(out, p.xt, base + i, p.op != 0 ? shifted - log_sum : exp(shifted) * inv);
    }
}

// Softmax along the middle axis of [outer, len, inner] (not the last axis): one thread per line.
kernel void bp_softmax_columns(device const uchar *x [[buffer(0)]], device uchar *out [[buffer(1)]],
                               constant AxisArgs &p [[buffer(2)]], uint gid [[thread_position_in_grid]]) {
    long i = gid;
    if (i >= p.outer * p.inner) return;
    long base = (i / p.inner) * p.len * p.inner + i % p.inner;
    float m = -INFINITY;
    for (long a = 0; a < p.len; a++) m = java_max(m, ldf(x, p.xt, base + a * p.inner));
    float sum = 0.0f;
    for (long a = 0; a < p.len; a++) sum += exp(ldf(x, p.xt, base + a * p.inner) - m);
    float log_sum = log(sum);
    for (long a = 0; a < p.len; a++) {
        float shifted = ldf(x, p.xt, base + a * p.inner) - m;
        stf(out, p.xt, base + a * p.inner, p.op != 0 ? shifted - log_sum : exp(shifted) / sum);
    }
}

struct NormArgs {
    int t;
    int center;
    int has_weight;
    int has_bias;
    long rows;
    long n;
    float epsilon;
    int unused;
};

// Layer normalisation (center) or RMS normalisation of rows of a contiguous [rows, n] array, with
// an optional weight and bias of length n: one threadgroup per row, statistics in float, the
// variance from the deviations (two passes over the row).
kernel void bp_normalize(device const uchar *x [[buffer(0)]], device const uchar *weight [[buffer(1)]],
                         device const uchar *bias [[buffer(2)]], device uchar *out [[buffer(3)]],
                         constant NormArgs &p [[buffer(4)]], uint row [[threadgroup_position_in_grid]],
                         uint tid [[thread_position_in_threadgroup]], uint size [[threads_per_threadgroup]]) {
    threadgroup float partial[GROUP];
    long base = long(row) * p.n;
    float mean = p.center != 0
        ? group_reduce_f(R_SUM, x, p.t, base, p.n, 0.0f, false, partial, tid, size) / float(p.n)
        : 0.0f;
    float sq = group_reduce_f(R_SUM, x, p.t, base, p.n, mean, true, partial, tid, size);
    float scale = 1.0f / sqrt(sq / float(p.n) + p.epsilon);
    for (long i = tid; i < p.n; i += size) {
        float v = (ldf(x, p.t, base + i) - mean) * scale;
        if (p.has_weight != 0) v *= ldf(weight, p.t, i);
        if (p.has_bias != 0) v += ldf(bias, p.t, i);
        stf(out, p.t, base + i, v);
    }
}

// ------------------------------------------------------------------ indexing

struct TakeArgs {
    int bytes;       // element size of x
    int it;          // index type (int32 or int64)
    uint slot;       // this take's error slot
    int unused;
    long outer;
    long n;          // length of the axis taken from
    long nidx;
    long inner;
};

// take along an axis of a contiguous x seen as [outer, n, inner]: one thread per output element of
// [outer, nidx, inner]. A negative index counts from the end; one out of range writes a zero element
// and reports itself in the error slot (flag, then the index as two 32-bit halves), which the host
// reads when the command buffer has completed.
kernel void bp_take(device const uchar *x [[buffer(0)]], device const uchar *idx [[buffer(1)]],
                    device uchar *out [[buffer(2)]], device atomic_uint *errors [[buffer(3)]],
                    constant TakeArgs &p [[buffer(4)]], uint gid [[thread_position_in_grid]]) {
    long i = gid;
    if (i >= p.outer * p.nidx * p.inner) return;
    long in = i % p.inner;
    long j = (i / p.inner) % p.nidx;
    long o = i / p.inner / p.nidx;
    long k = p.it == I32 ? long(((device const int *) idx)[j]) : ((device const long *) idx)[j];
    long kk = k < 0 ? k + p.n : k;
    bool bad = kk < 0 || kk >= p.n;
    if (bad) {
        device atomic_uint *slot = errors + p.slot * 4;
        // An exchange, not a weak compare-exchange: that may fail spuriously and lose the error.
        if (atomic_exchange_explicit(slot, 1u, memory_order_relaxed) == 0u) {
            atomic_store_explicit(slot + 1, uint(ulong(k) & 0xffffffffu), memory_order_relaxed);
            atomic_store_explicit(slot + 2, uint(ulong(k) >> 32), memory_order_relaxed);
        }
    }
    long src = (o * p.n + (bad ? 0 : kk)) * p.inner + in;
    switch (p.bytes) {
        case 1: out[i] = bad ? 0 : x[src]; break;
        case 2: ((device ushort *) out)[i] = bad ? 0 : ((device const ushort *) x)[src]; break;
        case 4: ((device uint *) out)[i] = bad ? 0 : ((device const uint *) x)[src]; break;
        default: ((device ulong *) out)[i] = bad ? 0 : ((device const ulong *) x)[src];
    }
}

// ------------------------------------------------------------------ matrix products and attention

struct MatmulArgs {
    int t;        // type of A and B
    int ct;       // type of C
    int m;
    int n;
    int k;
    int trans_b;  // B stored [n, k] (attention's q k^T)
    float alpha;
    int unused;
    long stride_a;  // batch strides in elements (0: one matrix for the whole batch)
    long stride_b;
};

// C[b] = alpha A[b] x op(B[b]), row-major, float accumulation, 16x16 threadgroup tiles; the grid is
// (ceil(n / 16), ceil(m / 16), batch) threadgroups.
kernel void bp_matmul(device const uchar *a [[buffer(0)]], device const uchar *b [[buffer(1)]],
                      device uchar *c [[buffer(2)]], constant MatmulArgs &p [[buffer(3)]],
                      uint3 group [[threadgroup_position_in_grid]], uint3 tid [[thread_position_in_threadgroup]]) {
    threadgroup float ta[16][17];
    threadgroup float tb[16][17];
    long base_a = long(group.z) * p.stride_a;
    long base_b = long(group.z) * p.stride_b;
    long base_c = long(group.z) * long(p.m) * long(p.n);
    int row = int(group.y) * 16 + int(tid.y);
    int col = int(group.x) * 16 + int(tid.x);
    float acc = 0.0f;
    for (int s = 0; s < p.k; s += 16) {
        int ka = s + int(tid.x);
        ta[tid.y][tid.x] = (row < p.m && ka < p.k) ? ldf(a, p.t, base_a + long(row) * p.k + ka) : 0.0f;
        int kb = s + int(tid.y);
        float bv = 0.0f;
        if (kb < p.k && col < p.n) {
            bv = p.trans_b != 0 ? ldf(b, p.t, base_b + long(col) * p.k + kb) : ldf(b, p.t, base_b + long(kb) * p.n + col);
        }
        tb[tid.y][tid.x] = bv;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (int q = 0; q < 16; q++) acc = fma(ta[tid.y][q], tb[q][tid.x], acc);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (row < p.m && col < p.n) stf(c, p.ct, base_c + long(row) * p.n + col, p.alpha * acc);
}

struct AttentionArgs {
    int mt;  // mask type, or -1 for none
    int t;   // type of the probabilities written
    long rows;
    long n;
};

static float masked(device const float *scores, device const uchar *mask, int mt, long i) {
    float s = scores[i];
    if (mt == BOOL_T) return mask[i] != 0 ? s : -INFINITY;
    if (mt >= 0) return s + ldf(mask, mt, i);
    return s;
}

// The masked softmax of attention: rows of float scores [rows, n] (already scaled) plus an optional
// mask of the same rows (bool: keep where true; else added), written as probabilities of type t for
// the second product. One threadgroup per row; a row with every key masked is NaN.
kernel void bp_attention_softmax(device const float *scores [[buffer(0)]], device const uchar *mask [[buffer(1)]],
                                 device uchar *probabilities [[buffer(2)]], constant AttentionArgs &p [[buffer(3)]],
                                 uint row [[threadgroup_position_in_grid]], uint tid [[thread_position_in_threadgroup]],
                                 uint size [[threads_per_threadgroup]]) {
    threadgroup float partial[GROUP];
    long base = long(row) * p.n;
    float m = -INFINITY;
    for (long i = tid; i < p.n; i += size) m = java_max(m, masked(scores, mask, p.mt, base + i));
    partial[tid] = m;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = size / 2; s > 0; s >>= 1) {
        if (tid < s) partial[tid] = java_max(partial[tid], partial[tid + s]);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    m = partial[0];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float sum = 0.0f;
    for (long i = tid; i < p.n; i += size) sum += exp(masked(scores, mask, p.mt, base + i) - m);
    partial[tid] = sum;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = size / 2; s > 0; s >>= 1) {
        if (tid < s) partial[tid] += partial[tid + s];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    float inv = 1.0f / partial[0];
    for (long i = tid; i < p.n; i += size) {
        stf(probabilities, p.t, base + i, exp(masked(scores, mask, p.mt, base + i) - m) * inv);
    }
}
