// CUDA kernels of the submanifold sparse convolution: the neighbour table of
// the plan, gathers and the scatter. Each output element has exactly one writer
// (grid-stride loops over output elements), so there are no atomics; the GEMMs
// between them are cuBLAS calls made through ATen.
#pragma once

#include <cstdint>

#include "common.cuh"

namespace spairkit {
namespace cuda {

// nbr[p, t] = row of the active neighbour of site p at tap t, or -1.
__global__ void plan_neighbours_kernel(const int64_t* __restrict__ active,
                                       const int32_t* __restrict__ row_of,
                                       int32_t* __restrict__ nbr, int64_t p_total, int64_t h,
                                       int64_t w, int64_t k, int64_t dilation) {
  const int64_t taps = k * k, hw = h * w, r = k / 2;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       idx < p_total * taps; idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t p = idx / taps, t = idx % taps;
    const int64_t pix = active[p], img = pix / hw, i = (pix % hw) / w, j = pix % w;
    const int64_t ii = i + (t / k - r) * dilation, jj = j + (t % k - r) * dilation;
    nbr[idx] = (ii >= 0 && ii < h && jj >= 0 && jj < w) ? row_of[img * hw + ii * w + jj] : -1;
  }
}

// rows[p, c] = src[n, c, i, j] at active site p (any strides).
template <typename scalar_t>
__global__ void gather_rows_kernel(const scalar_t* __restrict__ src,
                                   const int64_t* __restrict__ active,
                                   scalar_t* __restrict__ rows, int64_t p_total, int64_t c,
                                   int64_t h, int64_t w, int64_t sn, int64_t sc, int64_t sh,
                                   int64_t sw) {
  const int64_t hw = h * w;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       idx < p_total * c; idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t p = idx / c, ch = idx % c, pix = active[p];
    rows[idx] = src[(pix / hw) * sn + ch * sc + ((pix % hw) / w) * sh + (pix % w) * sw];
  }
}

// cols[p, t*C + c] = rows[nbr[p, t], c], or 0 for a clean/outside neighbour.
template <typename scalar_t>
__global__ void gather_cols_kernel(const scalar_t* __restrict__ rows,
                                   const int32_t* __restrict__ nbr, scalar_t* __restrict__ cols,
                                   int64_t p_total, int64_t taps, int64_t c) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       idx < p_total * taps * c; idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = idx % c, pt = idx / c;  // pt = p * taps + t
    const int32_t q = nbr[pt];
    cols[idx] = q >= 0 ? rows[static_cast<int64_t>(q) * c + ch] : scalar_t(0);
  }
}

// out[n, c, i, j] = rows[p, c] at active site p (out already zeroed; any strides).
template <typename scalar_t>
__global__ void scatter_rows_kernel(const scalar_t* __restrict__ rows,
                                    const int64_t* __restrict__ active,
                                    scalar_t* __restrict__ out, int64_t p_total, int64_t c,
                                    int64_t h, int64_t w, int64_t sn, int64_t sc, int64_t sh,
                                    int64_t sw) {
  const int64_t hw = h * w;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       idx < p_total * c; idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t p = idx / c, ch = idx % c, pix = active[p];
    out[(pix / hw) * sn + ch * sc + ((pix % hw) / w) * sh + (pix % w) * sw] = rows[idx];
  }
}

}  // namespace cuda
}  // namespace spairkit
