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
// The hot loops are compiled for AVX-512, AVX2+FMA and the baseline ISA and the
// best one is picked at load time (SPAIRKIT_CPU_CLONES, GCC/Clang ifunc on x86-64
// Linux): the extension is built without -march flags, so it runs everywhere.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define SPAIRKIT_CPU_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SPAIRKIT_CPU_CLONES
#endif
#if defined(__GNUC__) || defined(__clang__)
#define SPAIRKIT_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SPAIRKIT_ALWAYS_INLINE inline
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

// Register block of gemm_bcast: R rows of C by one 64-byte vector of columns
// (16 floats, 8 doubles). The vector is a GCC/Clang vector type, lowered to the
// ISA of each target clone (one zmm, two ymm or four xmm registers): plain loops
// over a 2-D accumulator array were not kept in registers by the compiler.
template <typename T>
struct Vec;
template <>
struct Vec<float> {
  typedef float type __attribute__((vector_size(64), aligned(4), may_alias));
};
template <>
struct Vec<double> {
  typedef double type __attribute__((vector_size(64), aligned(8), may_alias));
};
template <typename T>
constexpr int64_t kGemmCols = 64 / sizeof(T);
constexpr int64_t kGemmRows = 4;

// C[i, j] = (accumulate ? C[i, j] : 0) + alpha * sum_p A(i, p) B[p, j] for
// i < m, j < n, p < k, with A(i, p) = a[i * a_rs + p * a_cs], B row-major (ldb),
// C row-major (ldc). Inner loop: one vector of a row of B times R broadcast
// elements of A into R vector accumulators; the last n % J columns go through
// gemm_block_tail.
template <typename T, int64_t R>
SPAIRKIT_ALWAYS_INLINE void gemm_block(int64_t i0, int64_t j0, int64_t k, T alpha, const T* a,
                                       int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb,
                                       T* c, int64_t ldc, bool accumulate) {
  using V = typename Vec<T>::type;
  V acc[R];
  for (int64_t r = 0; r < R; ++r) acc[r] = V{} ;
  const T* ap = a + i0 * a_rs;
  const T* bp = b + j0;
  for (int64_t p = 0; p < k; ++p, bp += ldb, ap += a_cs) {
    const V bv = *reinterpret_cast<const V*>(bp);
    for (int64_t r = 0; r < R; ++r) acc[r] += ap[r * a_rs] * bv;
  }
  for (int64_t r = 0; r < R; ++r) {
    V* cr = reinterpret_cast<V*>(c + (i0 + r) * ldc + j0);
    *cr = accumulate ? *cr + alpha * acc[r] : alpha * acc[r];
  }
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

template <typename T>
SPAIRKIT_ALWAYS_INLINE void gemm_bcast(int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                                       int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb, T* c,
                                       int64_t ldc, bool accumulate) {
  constexpr int64_t J = kGemmCols<T>;
  if (m <= 0 || n <= 0) return;
  int64_t j0 = 0;
  for (; j0 + J <= n; j0 += J) {
    int64_t i0 = 0;
    for (; i0 + kGemmRows <= m; i0 += kGemmRows) {
      gemm_block<T, kGemmRows>(i0, j0, k, alpha, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
    }
    for (; i0 < m; ++i0) {
      gemm_block<T, 1>(i0, j0, k, alpha, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
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
SPAIRKIT_ALWAYS_INLINE void exp_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::max(x[i], -87.0f);
    // v = k ln2 + r, |r| <= ln2 / 2; k by the round-to-nearest magic constant.
    const float kf = (v * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = (v - kf * 0.693359375f) + kf * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    const int32_t bits = (static_cast<int32_t>(kf) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof(scale));
    x[i] = p * scale;
  }
}
SPAIRKIT_ALWAYS_INLINE void exp_inplace(double* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

}  // namespace cpu
}  // namespace spairkit
