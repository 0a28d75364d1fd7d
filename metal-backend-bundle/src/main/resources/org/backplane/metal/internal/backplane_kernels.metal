// Backplane's Metal kernels, compiled at run time with newLibraryWithSource:options:error: (fast math
// off: IEEE arithmetic, NaN propagation, Java's max/min for maximum, minimum, relu and max
// reductions). One thread per output element; parameters come as an array of 64-bit integers set
// with setBytes. The Metal simulator on Linux runs CPU implementations of these kernels, by name, to
// the same semantics: keep them in step (metal-simulator/src/main/objc/metal_simulator.m).

#include <metal_stdlib>
using namespace metal;

// Op codes, in the order of the Java enums UnaryOp, BinaryOp and ReduceOp.
constant long U_NEG = 0;
constant long U_ABS = 1;
constant long U_EXP = 2;
constant long U_LOG = 3;
constant long U_SQRT = 4;
constant long U_TANH = 5;
constant long U_SIGMOID = 6;
constant long B_ADD = 0;
constant long B_SUB = 1;
constant long B_MUL = 2;
constant long B_DIV = 3;
constant long B_MAXIMUM = 4;
constant long R_MAX = 1;
constant long R_MEAN = 2;

static float java_max(float a, float b) {
    if (a != a || b != b) return as_type<float>(0x7fc00000u);
    if (a > b) return a;
    if (b > a) return b;
    return signbit(a) ? b : a;
}

static float java_min(float a, float b) {
    if (a != a || b != b) return as_type<float>(0x7fc00000u);
    if (a < b) return a;
    if (b < a) return b;
    return signbit(a) ? a : b;
}

static float unary_op(long op, float x) {
    switch (op) {
        case U_NEG: return -x;
        case U_ABS: return fabs(x);
        case U_EXP: return exp(x);
        case U_LOG: return log(x);
        case U_SQRT: return sqrt(x);
        case U_TANH: return tanh(x);
        case U_SIGMOID: return 1.0f / (1.0f + exp(-x));
        default: return java_max(x, 0.0f);
    }
}

static float binary_op(long op, float a, float b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        case B_MAXIMUM: return java_max(a, b);
        default: return java_min(a, b);
    }
}

kernel void bp_fill(device float *out [[buffer(0)]], constant float &value [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = value;
}

// p: op
kernel void bp_unary(device const float *x [[buffer(0)]], device float *out [[buffer(1)]], constant long *p [[buffer(2)]],
                     uint i [[thread_position_in_grid]]) {
    out[i] = unary_op(p[0], x[i]);
}

// p: op, rank, output dims[rank], element strides of a[rank] and of b[rank] (0 along broadcast axes)
kernel void bp_binary(device const float *a [[buffer(0)]], device const float *b [[buffer(1)]], device float *out [[buffer(2)]],
                      constant long *p [[buffer(3)]], uint i [[thread_position_in_grid]]) {
    long rank = p[1];
    long rem = i;
    long ia = 0;
    long ib = 0;
    for (long d = rank - 1; d >= 0; d--) {
        long idx = rem % p[2 + d];
        rem /= p[2 + d];
        ia += idx * p[2 + rank + d];
        ib += idx * p[2 + 2 * rank + d];
    }
    out[i] = binary_op(p[0], a[ia], b[ib]);
}

// p: m, n, k, batch stride of a, batch stride of b (0: broadcast batch); grid (n, m, batch)
kernel void bp_matmul(device const float *a [[buffer(0)]], device const float *b [[buffer(1)]], device float *out [[buffer(2)]],
                      constant long *p [[buffer(3)]], uint3 gid [[thread_position_in_grid]]) {
    long m = p[0];
    long n = p[1];
    long k = p[2];
    device const float *A = a + gid.z * p[3] + gid.y * k;
    device const float *B = b + gid.z * p[4] + gid.x;
    float acc = 0.0f;
    for (long q = 0; q < k; q++) {
        acc = fma(A[q], B[q * n], acc);
    }
    out[gid.z * m * n + gid.y * n + gid.x] = acc;
}

// p: rank, output dims[rank], for each output axis the input stride of the axis it takes[rank]
kernel void bp_transpose(device const float *x [[buffer(0)]], device float *out [[buffer(1)]], constant long *p [[buffer(2)]],
                         uint i [[thread_position_in_grid]]) {
    long rank = p[0];
    long rem = i;
    long src = 0;
    for (long d = rank - 1; d >= 0; d--) {
        src += (rem % p[1 + d]) * p[1 + rank + d];
        rem /= p[1 + d];
    }
    out[i] = x[src];
}

// p: op, outer, len, inner: reduces the middle axis of an [outer, len, inner] view, one thread per output
kernel void bp_reduce(device const float *x [[buffer(0)]], device float *out [[buffer(1)]], constant long *p [[buffer(2)]],
                      uint i [[thread_position_in_grid]]) {
    long op = p[0];
    long len = p[2];
    long inner = p[3];
    long o = i / inner;
    long j = i % inner;
    device const float *s = x + o * len * inner + j;
    float acc = op == R_MAX ? as_type<float>(0xff800000u) : 0.0f;
    for (long q = 0; q < len; q++) {
        acc = op == R_MAX ? java_max(acc, s[q * inner]) : acc + s[q * inner];
    }
    out[i] = op == R_MEAN ? acc / (float) len : acc;
}

// p: rows, n: softmax over rows of a contiguous [rows, n] view, one thread per row
kernel void bp_softmax(device const float *x [[buffer(0)]], device float *out [[buffer(1)]], constant long *p [[buffer(2)]],
                       uint row [[thread_position_in_grid]]) {
    long n = p[1];
    device const float *r = x + row * n;
    device float *o = out + row * n;
    float m = as_type<float>(0xff800000u);
    for (long i = 0; i < n; i++) {
        m = java_max(m, r[i]);
    }
    float sum = 0.0f;
    for (long i = 0; i < n; i++) {
        o[i] = exp(r[i] - m);
        sum += o[i];
    }
    float inv = 1.0f / sum;
    for (long i = 0; i < n; i++) {
        o[i] *= inv;
    }
}
