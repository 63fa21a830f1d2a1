// Building blocks shared by the CPU kernels of spairkit's compiled operators
// (sparse_conv_cpu.cpp, criss_cross_cpu.cpp, criss_cross_sites_cpu.cpp).
//
// Why they exist: the operators work on many small, irregular pieces (a block of
// sites, one image line). Calling BLAS (or any ATen op) per piece inside
// at::parallel_for nests threading (the BLAS library's own threads inside the
// intra-op threads) and adds one dispatch per piece; calling it once per big
// piece outside a parallel region leaves the gathers around it as separate
// parallel regions, each a barrier. On a small or shared machine every barrier
// costs a scheduler time slice for a thread that has to wait for a core, so the
// second thread made things slower, not faster. Instead:
//
// * parallel_tasks: ONE parallel region per pass, the threads claim tasks (a line,
//   a block of sites) from a shared counter, so a thread that got less CPU simply
//   takes fewer tasks (no static split that waits for the slowest thread). The
//   counter only hands out work; every task owns its outputs, so results do not
//   depend on the number of threads or the order in which tasks ran.
// * gemm_bcast: a small register-blocked GEMM written as plain loops that the
//   compiler vectorises, C (+)= alpha A B with B contiguous along the columns of C
//   and A read one broadcast element at a time (any strides: A^T costs nothing).
// * exp_inplace: a vectorisable float exp (Cephes polynomial, ~1 ulp) for the
//   softmax; double uses std::exp (double is for gradient checks, not speed).
//
// The hot loops are compiled for AVX-512, AVX2+FMA and the baseline ISA, each with
// vectors of its own register width, and the best one the CPU supports is picked
// once at run time (with_isa below): the extension is built without -march flags,
// so it runs everywhere. (They were GCC target_clones of one source with 64-byte
// vectors: on a CPU without AVX-512 the compiler split every such vector into
// halves kept on the stack, and the kernels ran at a tenth of the machine's
// multiply-add rate; measured 7 against 71-77 GFLOP/s on an AVX2 EPYC.)
#pragma once

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SPAIRKIT_X86_VARIANTS 1
#define SPAIRKIT_TARGET_AVX512 __attribute__((target("arch=x86-64-v4")))
#define SPAIRKIT_TARGET_AVX2 __attribute__((target("arch=x86-64-v3")))
#else
#define SPAIRKIT_X86_VARIANTS 0
#endif
#if defined(__GNUC__) || defined(__clang__)
#define SPAIRKIT_ALWAYS_INLINE inline __attribute__((always_inline))
// For the generic lambdas handed to with_isa: inlined into the ISA's wrapper, so
// that their body is compiled for that ISA.
#define SPAIRKIT_INLINE_LAMBDA __attribute__((always_inline))
#else
#define SPAIRKIT_ALWAYS_INLINE inline
#define SPAIRKIT_INLINE_LAMBDA
#endif

namespace spairkit {
namespace cpu {

// Runs body(task, scratch) for every task in [0, count): on the calling thread when
// there is one thread (or we already are inside a parallel region), else in one
// at::parallel_for region whose threads claim tasks dynamically. `make_scratch()`
// builds each thread's private buffers once.
template <typename MakeScratch, typename Body>
void parallel_tasks(int64_t count, const MakeScratch& make_scratch, const Body& body) {
  if (count <= 0) return;
  const int64_t threads = std::min<int64_t>(at::get_num_threads(), count);
  if (threads <= 1 || at::in_parallel_region()) {
    auto scratch = make_scratch();
    for (int64_t t = 0; t < count; ++t) body(t, scratch);
    return;
  }
  std::atomic<int64_t> next{0};
  at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
    auto scratch = make_scratch();
    for (int64_t t = next.fetch_add(1, std::memory_order_relaxed); t < count;
         t = next.fetch_add(1, std::memory_order_relaxed)) {
      body(t, scratch);
    }
  });
}

// Tasks of about `target` units of work each over items [0, n) with cost(i):
// bounds[k]..bounds[k+1] is task k. A few tasks per thread balance the load
// without paying a claim per item.
template <typename Cost>
std::vector<int64_t> split_by_cost(int64_t n, const Cost& cost, int64_t target) {
  std::vector<int64_t> bounds{0};
  int64_t acc = 0;
  for (int64_t i = 0; i < n; ++i) {
    acc += cost(i);
    if (acc >= target) {
      bounds.push_back(i + 1);
      acc = 0;
    }
  }
  if (bounds.back() != n) bounds.push_back(n);
  return bounds;
}

// The instruction sets the kernels are compiled for, widest first.
enum class Isa { kBase = 0, kAvx2 = 1, kAvx512 = 2 };

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    default: return "base";
  }
}

// The widest ISA this CPU runs (x86-64-v4 / -v3 feature sets; anything else: base).
inline Isa detected_isa() {
#if SPAIRKIT_X86_VARIANTS
  __builtin_cpu_init();
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                  __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
                  __builtin_cpu_supports("avx") && __builtin_cpu_supports("popcnt");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return v4 ? Isa::kAvx512 : (v3 ? Isa::kAvx2 : Isa::kBase);
#else
  return Isa::kBase;
#endif
}

// The ISA the kernels use: the detected one, or a narrower one named by the
// environment variable SPAIRKIT_CPU_ISA (avx512 | avx2 | base), read once per
// process, so that every variant can be tested on one machine. Asking for an ISA
// the CPU lacks is an error, not a silent fallback.
inline Isa resolve_isa(const char* requested) {
  const Isa best = detected_isa();
  if (requested == nullptr || *requested == '\0') return best;
  const std::string name(requested);
  for (const Isa isa : {Isa::kBase, Isa::kAvx2, Isa::kAvx512}) {
    if (name != isa_name(isa)) continue;
    TORCH_CHECK(static_cast<int>(isa) <= static_cast<int>(best), "SPAIRKIT_CPU_ISA=", name,
                ": this CPU supports at most ", isa_name(best));
    return isa;
  }
  TORCH_CHECK(false, "SPAIRKIT_CPU_ISA=", name, ": expected avx512, avx2 or base");
}

inline Isa active_isa() {
  static const Isa isa = resolve_isa(std::getenv("SPAIRKIT_CPU_ISA"));
  return isa;
}

// Tag of one native vector width B in bytes (64: a zmm, 32: a ymm, 16: an xmm).
template <int B>
struct Width {
  static constexpr int bytes = B;
};

template <typename F>
SPAIRKIT_ALWAYS_INLINE void run_base(const F& f) {
  f(Width<16>{});
}
#if SPAIRKIT_X86_VARIANTS
template <typename F>
SPAIRKIT_TARGET_AVX512 void run_avx512(const F& f) {
  f(Width<64>{});
}
template <typename F>
SPAIRKIT_TARGET_AVX2 void run_avx2(const F& f) {
  f(Width<32>{});
}
#endif

// f(Width<B>{}) compiled for the active ISA: f must be a generic lambda marked
// SPAIRKIT_INLINE_LAMBDA whose kernels are SPAIRKIT_ALWAYS_INLINE templates on B,
// so that all of it is inlined into (and compiled for) the ISA's wrapper. Cheap
// enough to call per task (one switch on a constant).
template <typename F>
SPAIRKIT_ALWAYS_INLINE void with_isa(const F& f) {
#if SPAIRKIT_X86_VARIANTS
  switch (active_isa()) {
    case Isa::kAvx512: run_avx512(f); return;
    case Isa::kAvx2: run_avx2(f); return;
    default: break;
  }
#endif
  run_base(f);
}

// A native vector of T, B bytes (a GCC/Clang vector type: plain loops over a 2-D
// accumulator array were not kept in registers by the compiler).
template <typename T, int B>
struct Vec {
  typedef T type __attribute__((vector_size(B), aligned(sizeof(T)), may_alias));
};

// Register blocks are R rows of C by 64 bytes of columns (16 floats, 8 doubles),
// i.e. 64 / B native vectors per row; the line buffers are padded to whole blocks.
template <typename T>
constexpr int64_t kGemmCols = 64 / sizeof(T);
template <int B>
constexpr int64_t kVecsPerBlock = 64 / B;
// Rows per block so that the R x 64/B accumulators, one row of B and a broadcast
// fit the register file (32 zmm; 16 ymm or xmm).
template <int B>
constexpr int64_t kGemmRows = B == 64 ? 4 : (B == 32 ? 6 : 2);

// One 64-byte row of B-byte vectors.
template <typename T, int B>
struct BlockRow {
  using V = typename Vec<T, B>::type;
  static constexpr int64_t N = kVecsPerBlock<B>;
  static constexpr int64_t L = B / sizeof(T);  // lanes per vector
  V v[N];
  SPAIRKIT_ALWAYS_INLINE void zero() {
    for (int64_t i = 0; i < N; ++i) v[i] = V{};
  }
  SPAIRKIT_ALWAYS_INLINE void load(const T* p) {
    for (int64_t i = 0; i < N; ++i) v[i] = *reinterpret_cast<const V*>(p + i * L);
  }
  // this += a * b
  SPAIRKIT_ALWAYS_INLINE void fma(T a, const BlockRow& b) {
    for (int64_t i = 0; i < N; ++i) v[i] += a * b.v[i];
  }
  // p = (accumulate ? p : 0) + alpha * this (+ bias)
  SPAIRKIT_ALWAYS_INLINE void store(T* p, T alpha, bool accumulate) const {
    for (int64_t i = 0; i < N; ++i) {
      V* d = reinterpret_cast<V*>(p + i * L);
      *d = accumulate ? *d + alpha * v[i] : alpha * v[i];
    }
  }
  SPAIRKIT_ALWAYS_INLINE void store_plus(T* p, const BlockRow& b) const {
    for (int64_t i = 0; i < N; ++i) *reinterpret_cast<V*>(p + i * L) = v[i] + b.v[i];
  }
};

// C[i, j] = (accumulate ? C[i, j] : 0) + alpha * sum_p A(i, p) B[p, j] for
// i < m, j < n, p < k, with A(i, p) = a[i * a_rs + p * a_cs], B row-major (ldb),
// C row-major (ldc). Inner loop: one 64-byte row of B times R broadcast elements
// of A into R accumulator rows; the last n % J columns go through gemm_block_tail.
template <typename T, int B, int64_t R>
SPAIRKIT_ALWAYS_INLINE void gemm_block(int64_t i0, int64_t j0, int64_t k, T alpha, const T* a,
                                       int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb,
                                       T* c, int64_t ldc, bool accumulate) {
  BlockRow<T, B> acc[R];
  for (int64_t r = 0; r < R; ++r) acc[r].zero();
  const T* ap = a + i0 * a_rs;
  const T* bp = b + j0;
  for (int64_t p = 0; p < k; ++p, bp += ldb, ap += a_cs) {
    BlockRow<T, B> bv;
    bv.load(bp);
    for (int64_t r = 0; r < R; ++r) acc[r].fma(ap[r * a_rs], bv);
  }
  for (int64_t r = 0; r < R; ++r) acc[r].store(c + (i0 + r) * ldc + j0, alpha, accumulate);
}

template <typename T>
SPAIRKIT_ALWAYS_INLINE void gemm_block_tail(int64_t i0, int64_t j0, int64_t jn, int64_t k,
                                            T alpha, const T* a, int64_t a_rs, int64_t a_cs,
                                            const T* b, int64_t ldb, T* c, int64_t ldc,
                                            bool accumulate) {
  constexpr int64_t J = kGemmCols<T>;
  T acc[J] = {};
  const T* ap = a + i0 * a_rs;
  const T* bp = b + j0;
  for (int64_t p = 0; p < k; ++p, bp += ldb, ap += a_cs) {
    const T ar = *ap;
    for (int64_t j = 0; j < jn; ++j) acc[j] += ar * bp[j];
  }
  T* cr = c + i0 * ldc + j0;
  for (int64_t j = 0; j < jn; ++j) cr[j] = (accumulate ? cr[j] : T(0)) + alpha * acc[j];
}

template <typename T, int B>
SPAIRKIT_ALWAYS_INLINE void gemm_bcast(int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                                       int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb, T* c,
                                       int64_t ldc, bool accumulate) {
  constexpr int64_t J = kGemmCols<T>;
  constexpr int64_t R = kGemmRows<B>;
  if (m <= 0 || n <= 0) return;
  int64_t j0 = 0;
  for (; j0 + J <= n; j0 += J) {
    int64_t i0 = 0;
    for (; i0 + R <= m; i0 += R) {
      gemm_block<T, B, R>(i0, j0, k, alpha, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
    }
    for (; i0 < m; ++i0) {
      gemm_block<T, B, 1>(i0, j0, k, alpha, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
    }
  }
  if (j0 < n) {
    for (int64_t i0 = 0; i0 < m; ++i0) {
      gemm_block_tail<T>(i0, j0, n - j0, k, alpha, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
    }
  }
}

// x[i] <- exp(x[i]) for x[i] <= 0 (max-subtracted logits); inputs below -87 give
// exp(-87) ~ 1.6e-38 instead of a denormal or 0, which no softmax sum (>= 1) sees.
// Cephes' polynomial, ~1 ulp. Written once for a scalar or a vector of floats
// (S = float or Vec<float, B>::type, I the matching int32), because the compiler
// did not vectorise the scalar loop (the bit cast of the exponent), and a line's
// softmax was a quarter of the criss-cross forward.
template <typename To, typename From>
SPAIRKIT_ALWAYS_INLINE To bit_cast(const From& from) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast between sizes");
  To to;
  std::memcpy(&to, &from, sizeof(to));
  return to;
}

template <typename S, typename I>
SPAIRKIT_ALWAYS_INLINE S exp_poly(S v) {
  // v = k ln2 + r, |r| <= ln2 / 2; k by the round-to-nearest magic constant.
  const S kf = (v * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const S r = (v - kf * 0.693359375f) + kf * 2.12194440e-4f;
  S p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  I k;
  if constexpr (std::is_same_v<S, float>) {
    k = static_cast<I>(kf);
  } else {
    k = __builtin_convertvector(kf, I);
  }
  return p * bit_cast<S>((k + 127) << 23);
}

template <int B>
SPAIRKIT_ALWAYS_INLINE void exp_inplace(float* x, int64_t n) {
  using V = typename Vec<float, B>::type;
  using VI = typename Vec<int32_t, B>::type;
  constexpr int64_t L = B / sizeof(float);
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    V v = *reinterpret_cast<const V*>(x + i);
    v = v < -87.0f ? V{} - 87.0f : v;
    *reinterpret_cast<V*>(x + i) = exp_poly<V, VI>(v);
  }
  for (; i < n; ++i) x[i] = exp_poly<float, int32_t>(std::max(x[i], -87.0f));
}
template <int B>
SPAIRKIT_ALWAYS_INLINE void exp_inplace(double* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

}  // namespace cpu
}  // namespace spairkit
