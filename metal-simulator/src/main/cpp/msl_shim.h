// The Metal simulator's MSL shim: makes a subset of the Metal Shading Language compile as C++17 with
// clang (14 and later) on Linux, so that the simulator runs the MSL source it is given. It is
// embedded in libbackplane-metal-sim.so and written into the compile cache beside the generated
// code; every compile gets it with -include (and <metal_stdlib> resolves to an empty header).
//
// Address spaces: `device`, `constant` (read-only: `const`) and `thread` carry no meaning on a CPU.
// `threadgroup` variables are `static thread_local`: all threads of one threadgroup run as fibers
// on one OS thread, one group at a time per OS thread, so each group sees one shared copy. (The
// simulator blanks `threadgroup` where it qualifies a pointer or reference, so those stay plain.)
// `half` and `bfloat` are 16-bit storage types whose arithmetic is done in float and rounded back
// (round to nearest even) after each operation. Math is IEEE single precision through libm (no fast
// math: the kernels are compiled without -ffast-math, with -ffp-contract=off). See
// metal-simulator/README.md for what is supported and what this does not prove.
#ifndef BPSIM_MSL_SHIM_H
#define BPSIM_MSL_SHIM_H

#include <limits>
#include <stddef.h>
#include <stdint.h>
#include <type_traits>

// ------------------------------------------------------------------ the simulator's side

extern "C" {
// One threadgroup of a dispatch, as the simulator hands it to the generated entry points. Keep in
// step with bpsim_group in metal-simulator/src/main/c/bpsim_exec.h.
struct bpsim_group {
    uint32_t tgid[3];  // threadgroup_position_in_grid
    uint32_t size[3];  // threads_per_threadgroup (this group's; smaller at the edge of the grid)
    uint32_t dsize[3]; // dispatch_threads_per_threadgroup
    uint32_t tpg[3];   // threads_per_grid
    uint32_t ntg[3];   // threadgroups_per_grid
    uint32_t cur;      // the thread the group loop is running (read by the barrier)
    int32_t stop;      // set by the simulator when the group switched to one fiber per thread
};
struct bpsim_host_api {
    unsigned version;
    void (*barrier)(void);
};
extern __attribute__((visibility("hidden"))) const struct bpsim_host_api *bpsim_host;
}

// ------------------------------------------------------------------ address spaces, kernels

#define kernel __attribute__((always_inline)) inline
#define device
#define constant const
#define thread
#define threadgroup static thread_local

#define __METAL_VERSION__ 310
#define __HAVE_BFLOAT__ 1

// ------------------------------------------------------------------ scalar types

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;

namespace bpsim {
inline uint32_t f2u(float f) {
    uint32_t u;
    __builtin_memcpy(&u, &f, 4);
    return u;
}
inline float u2f(uint32_t u) {
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
}
// float -> IEEE binary16, round to nearest even; NaNs stay (quiet) NaNs.
inline uint16_t to_half(float f) {
    uint32_t x = f2u(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t) (sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) return (uint16_t) (sign | 0x7c00u); // >= 65520 rounds to infinity
    if (ax < 0x38800000u) {                                    // below 2^-14: subnormal or zero
        if (ax < 0x33000000u) return (uint16_t) sign;          // below 2^-25: zero
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - (ax >> 23);
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
        if (rem > halfway || (rem == halfway && (r & 1u))) r++;
        return (uint16_t) (sign | r);
    }
    uint32_t r = (ax - 0x38000000u) >> 13, rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r++;
    return (uint16_t) (sign | r);
}
inline float from_half(uint16_t h) {
    uint32_t sign = (uint32_t) (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) return u2f(sign | 0x7f800000u | (m << 13));
    if (e != 0) return u2f(sign | ((e + 112u) << 23) | (m << 13));
    return u2f(sign | f2u((float) m * 0x1p-24f));
}
// float -> bfloat16, round to nearest even; NaNs stay (quiet) NaNs.
inline uint16_t to_bfloat(float f) {
    uint32_t x = f2u(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t) ((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t) (x >> 16);
}
inline float from_bfloat(uint16_t b) {
    return u2f((uint32_t) b << 16);
}
} // namespace bpsim

#define BPSIM_ENABLE(...) typename std::enable_if<(__VA_ARGS__), int>::type = 0

#define BPSIM_SMALL_FLOAT(T, TO, FROM)                                                                      \
    struct T {                                                                                          \
        uint16_t bits;                                                                                  \
        T() = default;                                                                                  \
        T(float f) : bits(TO(f)) {}                                                                     \
        template <class U, BPSIM_ENABLE(std::is_arithmetic<U>::value && !std::is_same<U, float>::value)> \
        T(U v) : bits(TO(static_cast<float>(v))) {}                                                     \
        operator float() const { return FROM(bits); }                                                   \
        static T from_bits(uint16_t b) {                                                                \
            T t;                                                                                        \
            t.bits = b;                                                                                 \
            return t;                                                                                   \
        }                                                                                               \
    };                                                                                                  \
    inline T operator-(T a) { return T::from_bits((uint16_t) (a.bits ^ 0x8000u)); }                    \
    inline T operator+(T a) { return a; }                                                               \
    inline T &operator++(T &a) { return a = T(float(a) + 1.0f); }                                       \
    inline T &operator--(T &a) { return a = T(float(a) - 1.0f); }                                       \
    inline T operator++(T &a, int) { T old = a; a = T(float(a) + 1.0f); return old; }                   \
    inline T operator--(T &a, int) { T old = a; a = T(float(a) - 1.0f); return old; }                   \
    BPSIM_SF_ARITH(T, +) BPSIM_SF_ARITH(T, -) BPSIM_SF_ARITH(T, *) BPSIM_SF_ARITH(T, /)                 \
    BPSIM_SF_CMP(T, ==) BPSIM_SF_CMP(T, !=) BPSIM_SF_CMP(T, <) BPSIM_SF_CMP(T, >) BPSIM_SF_CMP(T, <=)   \
    BPSIM_SF_CMP(T, >=)

// T op T and T op integer give T (rounded after the operation); T op float gives float.
#define BPSIM_SF_ARITH(T, OP)                                                                              \
    inline T operator OP(T a, T b) { return T(float(a) OP float(b)); }                                     \
    template <class U, BPSIM_ENABLE(std::is_integral<U>::value)> inline T operator OP(T a, U b) {          \
        return T(float(a) OP float(b));                                                                    \
    }                                                                                                      \
    template <class U, BPSIM_ENABLE(std::is_integral<U>::value)> inline T operator OP(U a, T b) {          \
        return T(float(a) OP float(b));                                                                    \
    }                                                                                                      \
    template <class U, BPSIM_ENABLE(std::is_floating_point<U>::value)> inline U operator OP(T a, U b) {    \
        return U(float(a)) OP b;                                                                           \
    }                                                                                                      \
    template <class U, BPSIM_ENABLE(std::is_floating_point<U>::value)> inline U operator OP(U a, T b) {    \
        return a OP U(float(b));                                                                           \
    }                                                                                                      \
    template <class U> inline T &operator OP##=(T &a, U b) { return a = T(a OP b); }

#define BPSIM_SF_CMP(T, OP)                                                                              \
    inline bool operator OP(T a, T b) { return float(a) OP float(b); }                                   \
    template <class U, BPSIM_ENABLE(std::is_arithmetic<U>::value)> inline bool operator OP(T a, U b) {   \
        return float(a) OP b;                                                                            \
    }                                                                                                    \
    template <class U, BPSIM_ENABLE(std::is_arithmetic<U>::value)> inline bool operator OP(U a, T b) {   \
        return a OP float(b);                                                                            \
    }

BPSIM_SMALL_FLOAT(half, bpsim::to_half, bpsim::from_half)
BPSIM_SMALL_FLOAT(bfloat, bpsim::to_bfloat, bpsim::from_bfloat)
typedef bfloat bfloat16_t;

// MSL's half literals (1.5h): the simulator rewrites them to 1.5_h.
inline half operator""_h(long double v) {
    return half((double) v);
}
inline half operator""_h(unsigned long long v) {
    return half((double) v);
}

namespace bpsim {
template <class T> struct is_small_float : std::false_type {};
template <> struct is_small_float<half> : std::true_type {};
template <> struct is_small_float<bfloat> : std::true_type {};
template <class T> struct is_floatlike : std::integral_constant<bool, std::is_floating_point<T>::value || is_small_float<T>::value> {};
template <class T> struct is_scalar : std::integral_constant<bool, std::is_arithmetic<T>::value || is_small_float<T>::value> {};

// The type two scalars meet in: the usual arithmetic conversions, with half and bfloat ranked below
// float and above the integers.
template <class A, class B, class = void> struct common {
    typedef typename std::common_type<A, B>::type type;
};
template <class A> struct common<A, A, void> {
    typedef A type;
};
template <class A, class B>
struct common<A, B, typename std::enable_if<!std::is_same<A, B>::value && (is_small_float<A>::value || is_small_float<B>::value)>::type> {
    typedef typename std::conditional<
            is_small_float<A>::value && std::is_integral<B>::value, A,
            typename std::conditional<is_small_float<B>::value && std::is_integral<A>::value, B,
                                      typename std::conditional<std::is_floating_point<A>::value, A,
                                                                typename std::conditional<std::is_floating_point<B>::value, B, float>::type>::type>::type>::type type;
};
} // namespace bpsim

// ------------------------------------------------------------------ vector types

namespace bpsim {
template <class V> struct vec_traits {
    static const bool is_vec = false;
};
template <class T, int N> struct vec_of;

// half and bfloat vectors: element access (.x .y .z .w, []) and element-wise arithmetic, no swizzles.
template <class T, int N> struct svec;
template <class T> struct alignas(4) svec<T, 2> {
    T x, y;
    T &operator[](int i) { return (&x)[i]; }
    const T &operator[](int i) const { return (&x)[i]; }
};
template <class T> struct alignas(8) svec<T, 3> {
    T x, y, z;
    T &operator[](int i) { return (&x)[i]; }
    const T &operator[](int i) const { return (&x)[i]; }
};
template <class T> struct alignas(8) svec<T, 4> {
    T x, y, z, w;
    T &operator[](int i) { return (&x)[i]; }
    const T &operator[](int i) const { return (&x)[i]; }
};
template <class T, int N> struct vec_traits<svec<T, N>> {
    static const bool is_vec = true;
    typedef T elem;
    static const int n = N;
};
#define BPSIM_SVEC_OP(OP)                                                                                        \
    template <class T, int N> inline svec<T, N> operator OP(svec<T, N> a, svec<T, N> b) {                        \
        for (int i = 0; i < N; i++) a[i] = T(a[i] OP b[i]);                                                      \
        return a;                                                                                                \
    }                                                                                                            \
    template <class T, int N, class U, BPSIM_ENABLE(is_scalar<U>::value)> inline svec<T, N> operator OP(svec<T, N> a, U b) { \
        for (int i = 0; i < N; i++) a[i] = T(a[i] OP b);                                                         \
        return a;                                                                                                \
    }                                                                                                            \
    template <class T, int N, class U, BPSIM_ENABLE(is_scalar<U>::value)> inline svec<T, N> operator OP(U a, svec<T, N> b) { \
        for (int i = 0; i < N; i++) b[i] = T(a OP b[i]);                                                         \
        return b;                                                                                                \
    }                                                                                                            \
    template <class T, int N, class U> inline svec<T, N> &operator OP##=(svec<T, N> &a, U b) { return a = a OP b; }
BPSIM_SVEC_OP(+) BPSIM_SVEC_OP(-) BPSIM_SVEC_OP(*) BPSIM_SVEC_OP(/)
template <class T, int N> inline svec<T, N> operator-(svec<T, N> a) {
    for (int i = 0; i < N; i++) a[i] = -a[i];
    return a;
}

template <class E, class A> inline void put(E *e, int &k, A a) {
    if constexpr (vec_traits<A>::is_vec) {
        for (int i = 0; i < vec_traits<A>::n; i++) e[k++] = E(a[i]);
    } else {
        e[k++] = E(a);
    }
}
template <class A> constexpr int count() {
    if constexpr (vec_traits<A>::is_vec) {
        return vec_traits<A>::n;
    } else {
        return 1;
    }
}
// floatN(...), halfN(...) etc.: MSL's vector constructors (a scalar splats; vectors and scalars
// concatenate; a vector of another element type converts element-wise).
template <class V, class... A> inline V make(A... a) {
    typedef typename vec_traits<V>::elem E;
    const int n = vec_traits<V>::n;
    E e[n];
    int k = 0;
    if constexpr (sizeof...(A) == 0) {
        for (int i = 0; i < n; i++) e[i] = E(0);
    } else if constexpr (sizeof...(A) == 1 && (count<A>() + ...) == 1) {
        (put(e, k, a), ...);
        for (int i = 1; i < n; i++) e[i] = e[0];
    } else {
        static_assert((count<A>() + ...) == n, "wrong number of components for this vector type");
        (put(e, k, a), ...);
    }
    V v;
    for (int i = 0; i < n; i++) v[i] = e[i];
    return v;
}
} // namespace bpsim

#define BPSIM_VEC(T, NAME, N)                                                                  \
    typedef T NAME __attribute__((ext_vector_type(N)));                                        \
    template <> struct bpsim::vec_traits<NAME> {                                               \
        static const bool is_vec = true;                                                       \
        typedef T elem;                                                                        \
        static const int n = N;                                                                \
    };                                                                                         \
    template <> struct bpsim::vec_of<T, N> {                                                   \
        typedef NAME type;                                                                     \
    };
#define BPSIM_VECS(T, P) BPSIM_VEC(T, P##2, 2) BPSIM_VEC(T, P##3, 3) BPSIM_VEC(T, P##4, 4)
BPSIM_VECS(float, float)
BPSIM_VECS(int, int)
BPSIM_VECS(uint, uint)
BPSIM_VECS(short, short)
BPSIM_VECS(ushort, ushort)
BPSIM_VECS(char, char)
BPSIM_VECS(uchar, uchar)
BPSIM_VECS(long, long)
BPSIM_VECS(ulong, ulong)
#define BPSIM_SVECS(T)                                                   \
    typedef bpsim::svec<T, 2> T##2;                                      \
    typedef bpsim::svec<T, 3> T##3;                                      \
    typedef bpsim::svec<T, 4> T##4;                                      \
    template <> struct bpsim::vec_of<T, 2> { typedef T##2 type; };       \
    template <> struct bpsim::vec_of<T, 3> { typedef T##3 type; };       \
    template <> struct bpsim::vec_of<T, 4> { typedef T##4 type; };
BPSIM_SVECS(half)
BPSIM_SVECS(bfloat)

template <class T, int N> using vec = typename bpsim::vec_of<T, N>::type;

#define float2(...) ::bpsim::make<::float2>(__VA_ARGS__)
#define float3(...) ::bpsim::make<::float3>(__VA_ARGS__)
#define float4(...) ::bpsim::make<::float4>(__VA_ARGS__)
#define int2(...) ::bpsim::make<::int2>(__VA_ARGS__)
#define int3(...) ::bpsim::make<::int3>(__VA_ARGS__)
#define int4(...) ::bpsim::make<::int4>(__VA_ARGS__)
#define uint2(...) ::bpsim::make<::uint2>(__VA_ARGS__)
#define uint3(...) ::bpsim::make<::uint3>(__VA_ARGS__)
#define uint4(...) ::bpsim::make<::uint4>(__VA_ARGS__)
#define short2(...) ::bpsim::make<::short2>(__VA_ARGS__)
#define short3(...) ::bpsim::make<::short3>(__VA_ARGS__)
#define short4(...) ::bpsim::make<::short4>(__VA_ARGS__)
#define ushort2(...) ::bpsim::make<::ushort2>(__VA_ARGS__)
#define ushort3(...) ::bpsim::make<::ushort3>(__VA_ARGS__)
#define ushort4(...) ::bpsim::make<::ushort4>(__VA_ARGS__)
#define char2(...) ::bpsim::make<::char2>(__VA_ARGS__)
#define char3(...) ::bpsim::make<::char3>(__VA_ARGS__)
#define char4(...) ::bpsim::make<::char4>(__VA_ARGS__)
#define uchar2(...) ::bpsim::make<::uchar2>(__VA_ARGS__)
#define uchar3(...) ::bpsim::make<::uchar3>(__VA_ARGS__)
#define uchar4(...) ::bpsim::make<::uchar4>(__VA_ARGS__)
#define long2(...) ::bpsim::make<::long2>(__VA_ARGS__)
#define long3(...) ::bpsim::make<::long3>(__VA_ARGS__)
#define long4(...) ::bpsim::make<::long4>(__VA_ARGS__)
#define ulong2(...) ::bpsim::make<::ulong2>(__VA_ARGS__)
#define ulong3(...) ::bpsim::make<::ulong3>(__VA_ARGS__)
#define ulong4(...) ::bpsim::make<::ulong4>(__VA_ARGS__)
#define half2(...) ::bpsim::make<::half2>(__VA_ARGS__)
#define half3(...) ::bpsim::make<::half3>(__VA_ARGS__)
#define half4(...) ::bpsim::make<::half4>(__VA_ARGS__)
#define bfloat2(...) ::bpsim::make<::bfloat2>(__VA_ARGS__)
#define bfloat3(...) ::bpsim::make<::bfloat3>(__VA_ARGS__)
#define bfloat4(...) ::bpsim::make<::bfloat4>(__VA_ARGS__)

// ------------------------------------------------------------------ constants

#define MAXFLOAT 0x1.fffffep+127f
#define HUGE_VALF __builtin_huge_valf()
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define FLT_MAX 0x1.fffffep+127f
#define FLT_MIN 0x1p-126f
#define FLT_EPSILON 0x1p-23f
#define HALF_MAX 65504.0f
#define HALF_MIN 0x1p-14f
#define HALF_EPSILON 0x1p-10f
#define M_E_F 2.71828182845904523536028747135266250f
#define M_LOG2E_F 1.44269504088896340735992468100189214f
#define M_LOG10E_F 0.434294481903251827651128918916605082f
#define M_LN2_F 0.693147180559945309417232121458176568f
#define M_LN10_F 2.30258509299404568401799145468436421f
#define M_PI_F 3.14159265358979323846264338327950288f
#define M_PI_2_F 1.57079632679489661923132169163975144f
#define M_PI_4_F 0.785398163397448309615660845819875721f
#define M_1_PI_F 0.318309886183790671537767526745028724f
#define M_2_PI_F 0.636619772367581343075535053490057448f
#define M_2_SQRTPI_F 1.12837916709551257389615890312154517f
#define M_SQRT2_F 1.41421356237309504880168872420969808f
#define M_SQRT1_2_F 0.707106781186547524400844362104849039f

// ------------------------------------------------------------------ the metal namespace

namespace metal {

template <class T> struct numeric_limits : std::numeric_limits<T> {};
#define BPSIM_LIMITS(T, MAXB, MINB, LOWB, EPSB, DIGITS)                     \
    template <> struct numeric_limits<T> {                                  \
        static const bool is_specialized = true;                            \
        static const bool is_signed = true;                                 \
        static const bool has_infinity = true;                              \
        static const bool has_quiet_NaN = true;                             \
        static const int digits = DIGITS;                                   \
        static T max() { return T::from_bits(MAXB); }                       \
        static T min() { return T::from_bits(MINB); }                       \
        static T lowest() { return T::from_bits(LOWB); }                    \
        static T epsilon() { return T::from_bits(EPSB); }                   \
        static T infinity() { return T::from_bits(INF); }                   \
        static T quiet_NaN() { return T::from_bits(QNAN); }                 \
        static T denorm_min() { return T::from_bits(1); }                   \
    };
#define INF 0x7c00
#define QNAN 0x7e00
BPSIM_LIMITS(half, 0x7bff, 0x0400, 0xfbff, 0x1400, 11)
#undef INF
#undef QNAN
#define INF 0x7f80
#define QNAN 0x7fc0
BPSIM_LIMITS(bfloat, 0x7f7f, 0x0080, 0xff7f, 0x3c00, 8)
#undef INF
#undef QNAN
#undef BPSIM_LIMITS

template <class T, class U> inline T as_type(U u) {
    static_assert(sizeof(T) == sizeof(U), "as_type needs types of the same size");
    T t;
    __builtin_memcpy(&t, &u, sizeof(T));
    return t;
}

// One-argument float functions: float, half and bfloat (computed in float, rounded back), and
// element-wise on vectors.
#define BPSIM_UNARY(name, expr)                                                           \
    inline float name(float x) { return expr; }                                           \
    inline half name(half h) { return half(name(float(h))); }                             \
    inline bfloat name(bfloat h) { return bfloat(name(float(h))); }                       \
    template <class V, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec)> inline V name(V v) {   \
        for (int i = 0; i < bpsim::vec_traits<V>::n; i++) v[i] = name(v[i]);             \
        return v;                                                                         \
    }
BPSIM_UNARY(sqrt, __builtin_sqrtf(x))
BPSIM_UNARY(rsqrt, 1.0f / __builtin_sqrtf(x))
BPSIM_UNARY(exp, __builtin_expf(x))
BPSIM_UNARY(exp2, __builtin_exp2f(x))
BPSIM_UNARY(exp10, __builtin_powf(10.0f, x))
BPSIM_UNARY(log, __builtin_logf(x))
BPSIM_UNARY(log2, __builtin_log2f(x))
BPSIM_UNARY(log10, __builtin_log10f(x))
BPSIM_UNARY(sin, __builtin_sinf(x))
BPSIM_UNARY(cos, __builtin_cosf(x))
BPSIM_UNARY(tan, __builtin_tanf(x))
BPSIM_UNARY(asin, __builtin_asinf(x))
BPSIM_UNARY(acos, __builtin_acosf(x))
BPSIM_UNARY(atan, __builtin_atanf(x))
BPSIM_UNARY(sinh, __builtin_sinhf(x))
BPSIM_UNARY(cosh, __builtin_coshf(x))
BPSIM_UNARY(tanh, __builtin_tanhf(x))
BPSIM_UNARY(asinh, __builtin_asinhf(x))
BPSIM_UNARY(acosh, __builtin_acoshf(x))
BPSIM_UNARY(atanh, __builtin_atanhf(x))
BPSIM_UNARY(cbrt, __builtin_cbrtf(x))
BPSIM_UNARY(floor, __builtin_floorf(x))
BPSIM_UNARY(ceil, __builtin_ceilf(x))
BPSIM_UNARY(trunc, __builtin_truncf(x))
BPSIM_UNARY(round, __builtin_roundf(x))
BPSIM_UNARY(rint, __builtin_rintf(x))
BPSIM_UNARY(fabs, __builtin_fabsf(x))
BPSIM_UNARY(fract, __builtin_fminf(x - __builtin_floorf(x), 0x1.fffffep-1f))
BPSIM_UNARY(sign, x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x != x ? 0.0f : x)
BPSIM_UNARY(saturate, __builtin_fminf(__builtin_fmaxf(x, 0.0f), 1.0f))

// abs: fabs for floats, and for the integers.
inline float abs(float x) { return __builtin_fabsf(x); }
inline half abs(half x) { return half::from_bits((uint16_t) (x.bits & 0x7fffu)); }
inline bfloat abs(bfloat x) { return bfloat::from_bits((uint16_t) (x.bits & 0x7fffu)); }
template <class T, BPSIM_ENABLE(std::is_integral<T>::value)> inline T abs(T x) {
    return x < 0 ? T(-x) : x;
}
template <class V, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec)> inline V abs(V v) {
    for (int i = 0; i < bpsim::vec_traits<V>::n; i++) v[i] = abs(v[i]);
    return v;
}

// Relational functions.
inline bool isnan(float x) { return x != x; }
inline bool isinf(float x) { return __builtin_fabsf(x) == __builtin_inff(); }
inline bool isfinite(float x) { return __builtin_fabsf(x) < __builtin_inff(); }
inline bool isnormal(float x) { return __builtin_isnormal(x); }
inline bool signbit(float x) { return (bpsim::f2u(x) >> 31) != 0; }
#define BPSIM_SF_REL(T)                                                    \
    inline bool isnan(T x) { return isnan(float(x)); }                     \
    inline bool isinf(T x) { return isinf(float(x)); }                     \
    inline bool isfinite(T x) { return isfinite(float(x)); }               \
    inline bool isnormal(T x) { return isnormal(float(x)); }               \
    inline bool signbit(T x) { return (x.bits >> 15) != 0; }
BPSIM_SF_REL(half)
BPSIM_SF_REL(bfloat)
#define BPSIM_VEC_REL(name)                                                                  \
    template <class V, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec)> inline auto name(V v) {   \
        vec<int, bpsim::vec_traits<V>::n> r;                                                 \
        for (int i = 0; i < bpsim::vec_traits<V>::n; i++) r[i] = name(v[i]) ? -1 : 0;       \
        return r;                                                                            \
    }
BPSIM_VEC_REL(isnan)
BPSIM_VEC_REL(isinf)
BPSIM_VEC_REL(isfinite)
BPSIM_VEC_REL(isnormal)
BPSIM_VEC_REL(signbit)
template <class V, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec)> inline bool all(V v) {
    for (int i = 0; i < bpsim::vec_traits<V>::n; i++)
        if (!v[i]) return false;
    return true;
}
template <class V, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec)> inline bool any(V v) {
    for (int i = 0; i < bpsim::vec_traits<V>::n; i++)
        if (v[i]) return true;
    return false;
}
inline bool all(bool b) { return b; }
inline bool any(bool b) { return b; }
template <class T, BPSIM_ENABLE(!bpsim::vec_traits<T>::is_vec)> inline T select(T a, T b, bool c) {
    return c ? b : a;
}
template <class V, class C, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec && bpsim::vec_traits<C>::is_vec)>
inline V select(V a, V b, C c) {
    for (int i = 0; i < bpsim::vec_traits<V>::n; i++)
        if (c[i]) a[i] = b[i];
    return a;
}

// Two- and three-argument functions on scalars meet in a common type (half with half stays half);
// vectors work element-wise, with a scalar second argument where MSL allows one.
#define BPSIM_BINARY(name, fexpr, iexpr)                                                                           \
    template <class A, class B, BPSIM_ENABLE(bpsim::is_scalar<A>::value && bpsim::is_scalar<B>::value)>             \
    inline typename bpsim::common<A, B>::type name(A a_, B b_) {                                                   \
        typedef typename bpsim::common<A, B>::type R;                                                              \
        if constexpr (std::is_integral<R>::value) {                                                                \
            R a = R(a_), b = R(b_);                                                                                \
            return iexpr;                                                                                          \
        } else {                                                                                                   \
            float a = float(a_), b = float(b_);                                                                    \
            return R(fexpr);                                                                                       \
        }                                                                                                          \
    }                                                                                                              \
    template <class V, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec)> inline V name(V a, V b) {                       \
        for (int i = 0; i < bpsim::vec_traits<V>::n; i++) a[i] = name(a[i], b[i]);                                 \
        return a;                                                                                                  \
    }                                                                                                              \
    template <class V, class S, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec && bpsim::is_scalar<S>::value)>          \
    inline V name(V a, S b) {                                                                                      \
        for (int i = 0; i < bpsim::vec_traits<V>::n; i++) a[i] = name(a[i], typename bpsim::vec_traits<V>::elem(b)); \
        return a;                                                                                                  \
    }
// Metal's fmax/fmin (and max/min on floats) return the other operand when one is a NaN.
BPSIM_BINARY(fmax, __builtin_fmaxf(a, b), a > b ? a : b)
BPSIM_BINARY(fmin, __builtin_fminf(a, b), a < b ? a : b)
BPSIM_BINARY(max, __builtin_fmaxf(a, b), a > b ? a : b)
BPSIM_BINARY(min, __builtin_fminf(a, b), a < b ? a : b)
BPSIM_BINARY(pow, __builtin_powf(a, b), R(__builtin_powf(float(a), float(b))))
BPSIM_BINARY(powr, __builtin_powf(a, b), R(__builtin_powf(float(a), float(b))))
BPSIM_BINARY(fmod, __builtin_fmodf(a, b), R(a % b))
BPSIM_BINARY(atan2, __builtin_atan2f(a, b), R(__builtin_atan2f(float(a), float(b))))
BPSIM_BINARY(copysign, __builtin_copysignf(a, b), R(__builtin_copysignf(float(a), float(b))))
BPSIM_BINARY(fdim, __builtin_fdimf(a, b), R(a > b ? a - b : 0))
BPSIM_BINARY(hypot, __builtin_hypotf(a, b), R(__builtin_hypotf(float(a), float(b))))
BPSIM_BINARY(step, b < a ? 0.0f : 1.0f, R(b < a ? 0 : 1))
BPSIM_BINARY(divide, a / b, a / b)
#undef BPSIM_BINARY

template <class A, class B, class C, BPSIM_ENABLE(bpsim::is_scalar<A>::value && bpsim::is_scalar<B>::value && bpsim::is_scalar<C>::value)>
inline auto clamp(A x, B lo, C hi) {
    return min(max(x, lo), hi);
}
template <class V, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec)> inline V clamp(V x, V lo, V hi) {
    return min(max(x, lo), hi);
}
template <class V, class S, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec && bpsim::is_scalar<S>::value)>
inline V clamp(V x, S lo, S hi) {
    return min(max(x, lo), hi);
}
inline float fma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
inline half fma(half a, half b, half c) { return half(__builtin_fmaf(a, b, c)); }
inline bfloat fma(bfloat a, bfloat b, bfloat c) { return bfloat(__builtin_fmaf(a, b, c)); }
template <class V, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec)> inline V fma(V a, V b, V c) {
    for (int i = 0; i < bpsim::vec_traits<V>::n; i++) a[i] = fma(a[i], b[i], c[i]);
    return a;
}
inline float mix(float a, float b, float t) { return a + (b - a) * t; }
template <class V, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec)> inline V mix(V a, V b, V t) {
    for (int i = 0; i < bpsim::vec_traits<V>::n; i++) a[i] = mix(a[i], b[i], t[i]);
    return a;
}
inline float smoothstep(float e0, float e1, float x) {
    float t = __builtin_fminf(__builtin_fmaxf((x - e0) / (e1 - e0), 0.0f), 1.0f);
    return t * t * (3.0f - 2.0f * t);
}
inline float ldexp(float x, int e) { return __builtin_ldexpf(x, e); }
template <class V, BPSIM_ENABLE(bpsim::vec_traits<V>::is_vec)> inline typename bpsim::vec_traits<V>::elem dot(V a, V b) {
    typename bpsim::vec_traits<V>::elem s = 0;
    for (int i = 0; i < bpsim::vec_traits<V>::n; i++) s += a[i] * b[i];
    return s;
}

// Integer functions.
template <class T, BPSIM_ENABLE(std::is_integral<T>::value)> inline T popcount(T x) {
    return T(__builtin_popcountll((unsigned long long) (typename std::make_unsigned<T>::type) x));
}
template <class T, BPSIM_ENABLE(std::is_integral<T>::value)> inline T clz(T x) {
    typedef typename std::make_unsigned<T>::type U;
    const int bits = sizeof(T) * 8;
    return x == 0 ? T(bits) : T(__builtin_clzll((unsigned long long) (U) x) - (64 - bits));
}
template <class T, BPSIM_ENABLE(std::is_integral<T>::value)> inline T ctz(T x) {
    return x == 0 ? T(sizeof(T) * 8) : T(__builtin_ctzll((unsigned long long) x));
}

// IEEE functions under their precise:: and fast:: names (the simulator has no fast math).
#define BPSIM_MATH_NAMES                                                                                   \
    using metal::sqrt; using metal::rsqrt; using metal::exp; using metal::exp2; using metal::exp10;        \
    using metal::log; using metal::log2; using metal::log10; using metal::sin; using metal::cos;           \
    using metal::tan; using metal::asin; using metal::acos; using metal::atan; using metal::sinh;          \
    using metal::cosh; using metal::tanh; using metal::asinh; using metal::acosh; using metal::atanh;      \
    using metal::cbrt; using metal::floor; using metal::ceil; using metal::trunc; using metal::round;      \
    using metal::rint; using metal::fabs; using metal::fract; using metal::sign; using metal::saturate;    \
    using metal::fmax; using metal::fmin; using metal::max; using metal::min; using metal::pow;            \
    using metal::powr; using metal::fmod; using metal::atan2; using metal::copysign; using metal::fdim;    \
    using metal::hypot; using metal::step; using metal::divide; using metal::clamp; using metal::fma;      \
    using metal::mix; using metal::smoothstep; using metal::ldexp; using metal::abs; using metal::dot;
namespace precise {
BPSIM_MATH_NAMES
}
namespace fast {
BPSIM_MATH_NAMES
}
#undef BPSIM_MATH_NAMES

// ------------------------------------------------------------------ barriers

enum class mem_flags : unsigned {
    mem_none = 0,
    mem_device = 1,
    mem_threadgroup = 2,
    mem_texture = 4,
    mem_threadgroup_imageblock = 8,
    mem_object_data = 16
};
constexpr mem_flags operator|(mem_flags a, mem_flags b) {
    return mem_flags(unsigned(a) | unsigned(b));
}
constexpr mem_flags operator&(mem_flags a, mem_flags b) {
    return mem_flags(unsigned(a) & unsigned(b));
}
// Suspends this thread (a fiber) until every thread of its threadgroup that has not returned has
// reached a barrier.
inline void threadgroup_barrier(mem_flags) {
    bpsim_host->barrier();
}

// ------------------------------------------------------------------ atomics

enum memory_order { memory_order_relaxed, memory_order_acquire, memory_order_release, memory_order_acq_rel, memory_order_seq_cst };

} // namespace metal

struct atomic_int { int32_t __v; };
struct atomic_uint { uint32_t __v; };
struct atomic_bool { bool __v; };
struct atomic_float { float __v; };
struct atomic_long { int64_t __v; };
struct atomic_ulong { uint64_t __v; };

namespace bpsim {
template <class A> struct atomic_value;
template <> struct atomic_value<atomic_int> { typedef int32_t type; };
template <> struct atomic_value<atomic_uint> { typedef uint32_t type; };
template <> struct atomic_value<atomic_bool> { typedef bool type; };
template <> struct atomic_value<atomic_float> { typedef float type; };
template <> struct atomic_value<atomic_long> { typedef int64_t type; };
template <> struct atomic_value<atomic_ulong> { typedef uint64_t type; };
template <class T> struct atomic_of;
template <> struct atomic_of<int> { typedef atomic_int type; };
template <> struct atomic_of<uint> { typedef atomic_uint type; };
template <> struct atomic_of<bool> { typedef atomic_bool type; };
template <> struct atomic_of<float> { typedef atomic_float type; };
template <> struct atomic_of<long> { typedef atomic_long type; };
template <> struct atomic_of<ulong> { typedef atomic_ulong type; };
constexpr int order(metal::memory_order o) {
    return o == metal::memory_order_relaxed ? __ATOMIC_RELAXED : __ATOMIC_SEQ_CST;
}
template <class A> inline typename atomic_value<A>::type *word(const volatile A *a) {
    return const_cast<typename atomic_value<A>::type *>(&a->__v);
}
// Read-modify-write by compare-and-swap: float arithmetic, max and min.
template <class A, class F> inline typename atomic_value<A>::type rmw(const volatile A *a, F f) {
    typedef typename atomic_value<A>::type T;
    T *w = word(a);
    T old, next;
    __atomic_load(w, &old, __ATOMIC_RELAXED);
    do {
        next = f(old);
    } while (!__atomic_compare_exchange(w, &old, &next, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return old;
}
} // namespace bpsim

namespace metal {
template <class T> using atomic = typename bpsim::atomic_of<T>::type;
using ::atomic_bool;
using ::atomic_float;
using ::atomic_int;
using ::atomic_long;
using ::atomic_uint;
using ::atomic_ulong;

#define BPSIM_AV typename bpsim::atomic_value<A>::type
template <class A> inline void atomic_store_explicit(volatile A *a, BPSIM_AV v, memory_order o) {
    __atomic_store(bpsim::word(a), &v, bpsim::order(o));
}
template <class A> inline BPSIM_AV atomic_load_explicit(const volatile A *a, memory_order o) {
    BPSIM_AV v;
    __atomic_load(bpsim::word(a), &v, bpsim::order(o));
    return v;
}
template <class A> inline BPSIM_AV atomic_exchange_explicit(volatile A *a, BPSIM_AV v, memory_order o) {
    BPSIM_AV old;
    __atomic_exchange(bpsim::word(a), &v, &old, bpsim::order(o));
    return old;
}
template <class A>
inline bool atomic_compare_exchange_weak_explicit(volatile A *a, BPSIM_AV *expected, BPSIM_AV desired, memory_order s, memory_order) {
    return __atomic_compare_exchange(bpsim::word(a), expected, &desired, true, bpsim::order(s), __ATOMIC_RELAXED);
}
template <class A>
inline bool atomic_compare_exchange_strong_explicit(volatile A *a, BPSIM_AV *expected, BPSIM_AV desired, memory_order s, memory_order) {
    return __atomic_compare_exchange(bpsim::word(a), expected, &desired, false, bpsim::order(s), __ATOMIC_RELAXED);
}
#define BPSIM_ATOMIC_INT_OP(name, builtin)                                                     \
    template <class A, BPSIM_ENABLE(std::is_integral<BPSIM_AV>::value)>                         \
    inline BPSIM_AV name(volatile A *a, BPSIM_AV v, memory_order o) {                           \
        return builtin(bpsim::word(a), v, bpsim::order(o));                                     \
    }
BPSIM_ATOMIC_INT_OP(atomic_fetch_add_explicit, __atomic_fetch_add)
BPSIM_ATOMIC_INT_OP(atomic_fetch_sub_explicit, __atomic_fetch_sub)
BPSIM_ATOMIC_INT_OP(atomic_fetch_and_explicit, __atomic_fetch_and)
BPSIM_ATOMIC_INT_OP(atomic_fetch_or_explicit, __atomic_fetch_or)
BPSIM_ATOMIC_INT_OP(atomic_fetch_xor_explicit, __atomic_fetch_xor)
#undef BPSIM_ATOMIC_INT_OP
inline float atomic_fetch_add_explicit(volatile atomic_float *a, float v, memory_order) {
    return bpsim::rmw(a, [v](float old) { return old + v; });
}
inline float atomic_fetch_sub_explicit(volatile atomic_float *a, float v, memory_order) {
    return bpsim::rmw(a, [v](float old) { return old - v; });
}
template <class A> inline BPSIM_AV atomic_fetch_max_explicit(volatile A *a, BPSIM_AV v, memory_order) {
    return bpsim::rmw(a, [v](BPSIM_AV old) { return v > old ? v : old; });
}
template <class A> inline BPSIM_AV atomic_fetch_min_explicit(volatile A *a, BPSIM_AV v, memory_order) {
    return bpsim::rmw(a, [v](BPSIM_AV old) { return v < old ? v : old; });
}
#undef BPSIM_AV

} // namespace metal

#endif
