// Backplane's CUDA kernels. Compiled to PTX by cuda-backend-bundle/build-ptx.sh (nvcc); the PTX is
// committed, loaded with cuModuleLoadData and JIT-compiled by the driver for the GPU at hand, so
// users need only the NVIDIA driver, not the CUDA toolkit. Float semantics follow the API: IEEE
// arithmetic, NaN propagation, Java's max/min for maximum, minimum, relu and max reductions.
// Reductions are fixed trees (no atomics): the same inputs always give the same bits.

#include <stdint.h>

#define MAX_RANK 8

struct Dims {
    long long d[MAX_RANK];
};

__device__ __forceinline__ float java_max(float a, float b) {
    if (a != a || b != b) return __int_as_float(0x7fc00000);
    if (a > b) return a;
    if (b > a) return b;
    return signbit(a) ? b : a;  // max(-0, +0) = +0
}

__device__ __forceinline__ float java_min(float a, float b) {
    if (a != a || b != b) return __int_as_float(0x7fc00000);
    if (a < b) return a;
    if (b < a) return b;
    return signbit(a) ? a : b;  // min(-0, +0) = -0
}

// Op codes, in the order of the Java enums UnaryOp and BinaryOp.
enum Unary { NEG, ABS, EXP, LOG, SQRT, TANH, SIGMOID, RELU };
enum Binary { ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM };
enum Reduce { SUM, MAX, MEAN };

__device__ __forceinline__ float unary(int op, float x) {
    switch (op) {
        case NEG: return -x;
        case ABS: return fabsf(x);
        case EXP: return expf(x);
        case LOG: return logf(x);
        case SQRT: return sqrtf(x);
        case TANH: return tanhf(x);
        case SIGMOID: return 1.0f / (1.0f + expf(-x));
        default: return java_max(x, 0.0f);
    }
}

__device__ __forceinline__ float binary(int op, float a, float b) {
    switch (op) {
        case ADD: return a + b;
        case SUB: return a - b;
        case MUL: return a * b;
        case DIV: return a / b;
        case MAXIMUM: return java_max(a, b);
        default: return java_min(a, b);
    }
}

extern "C" __global__ void bp_fill(float* out, float value, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = value;
    }
}

extern "C" __global__ void bp_unary(int op, const float* x, float* out, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = unary(op, x[i]);
    }
}

// Same shapes, contiguous: four elements per thread where the pointers allow it.
extern "C" __global__ void bp_binary_same(int op, const float* a, const float* b, float* out, long long n) {
    long long stride = (long long) gridDim.x * blockDim.x;
    long long first = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    bool aligned = ((((uintptr_t) a) | ((uintptr_t) b) | ((uintptr_t) out)) & 15) == 0;
    if (aligned) {
        long long n4 = n / 4;
        const float4* a4 = (const float4*) a;
        const float4* b4 = (const float4*) b;
        float4* o4 = (float4*) out;
        for (long long i = first; i < n4; i += stride) {
            float4 x = a4[i];
            float4 y = b4[i];
            o4[i] = make_float4(binary(op, x.x, y.x), binary(op, x.y, y.y), binary(op, x.z, y.z), binary(op, x.w, y.w));
        }
        for (long long i = n4 * 4 + first; i < n; i += stride) {
            out[i] = binary(op, a[i], b[i]);
        }
    } else {
        for (long long i = first; i < n; i += stride) {
            out[i] = binary(op, a[i], b[i]);
        }
    }
}

// NumPy broadcasting: output dims, and element strides of a and b (0 along broadcast axes).
extern "C" __global__ void bp_binary_broadcast(int op, const float* a, const float* b, float* out, long long n, int rank,
                                               Dims dims, Dims sa, Dims sb) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        long long rem = i;
        long long ia = 0;
        long long ib = 0;
        for (int d = rank - 1; d >= 0; d--) {
            long long idx = rem % dims.d[d];
            rem /= dims.d[d];
            ia += idx * sa.d[d];
            ib += idx * sb.d[d];
        }
        out[i] = binary(op, a[ia], b[ib]);
    }
}

// General permutation: output dims and, for each output axis, the input stride of the axis it takes.
extern "C" __global__ void bp_transpose(const float* x, float* out, long long n, int rank, Dims dims, Dims strides) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        long long rem = i;
        long long src = 0;
        for (int d = rank - 1; d >= 0; d--) {
            src += (rem % dims.d[d]) * strides.d[d];
            rem /= dims.d[d];
        }
        out[i] = x[src];
    }
}

// Batched matrix transpose [batch, r, c] -> [batch, c, r] through shared-memory tiles.
extern "C" __global__ void bp_transpose2d(const float* x, float* out, int rows, int cols) {
    __shared__ float tile[32][33];
    long long base = (long long) blockIdx.z * rows * cols;
    int c = blockIdx.x * 32 + threadIdx.x;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        int r = blockIdx.y * 32 + j;
        if (r < rows && c < cols) tile[j][threadIdx.x] = x[base + (long long) r * cols + c];
    }
    __syncthreads();
    int r = blockIdx.y * 32 + threadIdx.x;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        int cc = blockIdx.x * 32 + j;
        if (r < rows && cc < cols) out[base + (long long) cc * rows + r] = tile[threadIdx.x][j];
    }
}

__device__ __forceinline__ float combine(int op, float a, float b) {
    return op == MAX ? java_max(a, b) : a + b;
}

// Reduces x[0, len) with the block's threads in a fixed tree; every thread gets the result.
__device__ float block_reduce(int op, const float* x, long long len, float* partial) {
    float acc = op == MAX ? __int_as_float(0xff800000) : 0.0f;
    for (long long i = threadIdx.x; i < len; i += blockDim.x) {
        acc = combine(op, acc, x[i]);
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) partial[threadIdx.x] = combine(op, partial[threadIdx.x], partial[threadIdx.x + s]);
        __syncthreads();
    }
    float v = partial[0];
    __syncthreads();
    return v;
}

// Reduce rows of a contiguous [rows, len] view: one block per row, a fixed tree. MEAN divides by
// `divisor` (the row length, or the original length when the rows are partial results).
extern "C" __global__ void bp_reduce_rows(int op, const float* x, float* out, long long rows, long long len, long long divisor) {
    __shared__ float partial[256];
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        float v = block_reduce(op == MEAN ? SUM : op, x + row * len, len, partial);
        if (threadIdx.x == 0) {
            out[row] = op == MEAN ? v / (float) divisor : v;
        }
    }
}

// First pass for long rows and few of them: block (c, row) reduces chunk c of the row into
// partial[row * chunks + c], so every multiprocessor has work. Fixed chunks: same inputs, same bits.
extern "C" __global__ void bp_reduce_chunks(int op, const float* x, float* partial_out, long long len, long long chunk) {
    __shared__ float partial[256];
    long long row = blockIdx.y;
    long long start = (long long) blockIdx.x * chunk;
    long long n = min(chunk, len - start);
    float v = block_reduce(op == MEAN ? SUM : op, x + row * len + start, n, partial);
    if (threadIdx.x == 0) {
        partial_out[row * gridDim.x + blockIdx.x] = v;
    }
}

// Reduce the middle axis of a [outer, len, inner] view: one thread per output, coalesced over inner.
extern "C" __global__ void bp_reduce_columns(int op, const float* x, float* out, long long outer, long long len, long long inner) {
    long long n = outer * inner;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        long long o = i / inner;
        long long j = i % inner;
        const float* p = x + o * len * inner + j;
        float acc = op == MAX ? __int_as_float(0xff800000) : 0.0f;
        for (long long a = 0; a < len; a++) {
            acc = combine(op, acc, p[a * inner]);
        }
        out[i] = op == MEAN ? acc / (float) len : acc;
    }
}

// Softmax over rows of a contiguous [rows, n] view: one block per row.
extern "C" __global__ void bp_softmax(const float* x, float* out, long long rows, long long n) {
    __shared__ float partial[256];
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* r = x + row * n;
        float* o = out + row * n;
        float m = __int_as_float(0xff800000);
        for (long long i = threadIdx.x; i < n; i += blockDim.x) m = java_max(m, r[i]);
        partial[threadIdx.x] = m;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) partial[threadIdx.x] = java_max(partial[threadIdx.x], partial[threadIdx.x + s]);
            __syncthreads();
        }
        m = partial[0];
        __syncthreads();
        float sum = 0.0f;
        for (long long i = threadIdx.x; i < n; i += blockDim.x) {
            float e = expf(r[i] - m);
            o[i] = e;
            sum += e;
        }
        partial[threadIdx.x] = sum;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
            __syncthreads();
        }
        float inv = 1.0f / partial[0];
        for (long long i = threadIdx.x; i < n; i += blockDim.x) o[i] *= inv;
        __syncthreads();
    }
}

// Matrix product without cuBLAS (used where libcublas is missing): C[b] = A[b] x B[b], row-major,
// 32x32 shared-memory tiles; batch strides may be 0 (broadcast batch).
extern "C" __global__ void bp_matmul(const float* a, const float* b, float* c, int m, int n, int k,
                                     long long strideA, long long strideB) {
    __shared__ float ta[32][33];
    __shared__ float tb[32][33];
    const float* A = a + blockIdx.z * strideA;
    const float* B = b + blockIdx.z * strideB;
    float* C = c + (long long) blockIdx.z * m * n;
    int row = blockIdx.y * 32 + threadIdx.y;
    int col = blockIdx.x * 32 + threadIdx.x;
    float acc = 0.0f;
    for (int t = 0; t < k; t += 32) {
        ta[threadIdx.y][threadIdx.x] = (row < m && t + threadIdx.x < k) ? A[(long long) row * k + t + threadIdx.x] : 0.0f;
        tb[threadIdx.y][threadIdx.x] = (t + threadIdx.y < k && col < n) ? B[(long long) (t + threadIdx.y) * n + col] : 0.0f;
        __syncthreads();
        for (int q = 0; q < 32; q++) acc = fmaf(ta[threadIdx.y][q], tb[q][threadIdx.x], acc);
        __syncthreads();
    }
    if (row < m && col < n) C[(long long) row * n + col] = acc;
}

// Writes far outside any allocation: a real illegal-address fault (CUDA error 700), used only by
// fault injection with real faults enabled. It ends CUDA for the whole process.
extern "C" __global__ void bp_illegal_address(float* p) {
    p[(long long) 1 << 40] = 1.0f;
}
