// Device helpers shared by the CUDA launchers of spairkit's operators.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace spairkit {
namespace cuda {

constexpr int kWarp = 32;
constexpr int kThreads = 256;  // elementwise kernels: threads per block
constexpr int64_t kMaxBlocks = 65535LL * 16;

inline int64_t blocks_for(int64_t work, int threads = kThreads) {
  const int64_t b = (work + threads - 1) / threads;
  return b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b);
}

// Sum over the warp; every lane gets the result. A fixed butterfly order makes
// it deterministic.
template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset >>= 1) {
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  }
  return v;
}

__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float log_(float x) { return logf(x); }
__device__ __forceinline__ double log_(double x) { return log(x); }

}  // namespace cuda
}  // namespace spairkit
