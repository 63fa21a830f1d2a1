// CUDA kernels of the masked criss-cross attention (SPAIR eqs. 3-5).
//
// One warp per degraded query (forward, query gradient) or per clean key pixel
// (key/value gradient). A warp walks the rays of its pixel; each dot product is
// split over the lanes by channel and reduced with a fixed shuffle tree, and
// every lane accumulates only the channels c = lane (mod 32) of its warp's
// shared-memory accumulators, so no synchronisation beyond the shuffles and no
// atomics are needed: results are deterministic.
//
// Softmax: online (running max and sum, rescaled accumulators) in float32 for
// half/bf16/float, float64 for double; an empty ray has sum 0 and contributes 0.
// The forward pass stores the log-sum-exp of every (query, direction) so that
// backward does not redo the sums; -inf marks an empty ray.
//
// Pixel-major layouts: q, k (N*H*W, Cq), v, grad (N*H*W, C); weights (N, 4, H*W);
// mask (N*H*W) bool, true = degraded; deg (P) flat pixel of query p (row-major).
#pragma once

#include <cstdint>

#include "common.cuh"

namespace spairkit {
namespace cuda {

struct Geometry {
  int64_t h, w, hw, cq, c;
};

// The rays of pixel (i, j): direction d = 0 left, 1 right, 2 up, 3 down.
// Position s = 0, 1, ... along the ray is the pixel returned (or -1 past the end).
__device__ __forceinline__ int64_t ray_pixel(const Geometry& g, int64_t img, int64_t i, int64_t j,
                                             int d, int64_t s) {
  int64_t ii = i, jj = j;
  switch (d) {
    case 0: jj = j - 1 - s; break;
    case 1: jj = j + 1 + s; break;
    case 2: ii = i - 1 - s; break;
    default: ii = i + 1 + s; break;
  }
  if (ii < 0 || ii >= g.h || jj < 0 || jj >= g.w) return -1;
  return img * g.hw + ii * g.w + jj;
}

template <typename scalar_t, typename acc_t>
__device__ __forceinline__ acc_t warp_dot(const scalar_t* __restrict__ a,
                                          const scalar_t* __restrict__ b, int64_t n, int lane) {
  acc_t s = 0;
  for (int64_t c = lane; c < n; c += kWarp) s += static_cast<acc_t>(a[c]) * static_cast<acc_t>(b[c]);
  return warp_sum(s);
}

// out[pix] = sum_d w_d * softmax-weighted values of ray d; lse[p, d] for backward.
// Shared memory per warp: acc (C) + res (C).
template <typename scalar_t, typename acc_t>
__global__ void cca_forward_kernel(const scalar_t* __restrict__ q, const scalar_t* __restrict__ k,
                                   const scalar_t* __restrict__ v,
                                   const scalar_t* __restrict__ weights,
                                   const bool* __restrict__ mask, const int64_t* __restrict__ deg,
                                   int64_t p_total, Geometry g, acc_t scale,
                                   scalar_t* __restrict__ out, acc_t* __restrict__ lse) {
  extern __shared__ unsigned char smem_raw[];
  acc_t* smem = reinterpret_cast<acc_t*>(smem_raw);
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x / kWarp) + warp;
  if (p >= p_total) return;
  acc_t* acc = smem + warp * 2 * g.c;
  acc_t* res = acc + g.c;
  const int64_t pix = deg[p], img = pix / g.hw, local = pix % g.hw;
  const int64_t i = local / g.w, j = local % g.w;
  const scalar_t* qp = q + pix * g.cq;
  for (int64_t c = lane; c < g.c; c += kWarp) res[c] = 0;
  for (int d = 0; d < 4; ++d) {
    for (int64_t c = lane; c < g.c; c += kWarp) acc[c] = 0;
    acc_t mx = -INFINITY, sum = 0;
    for (int64_t s = 0;; ++s) {
      const int64_t kp = ray_pixel(g, img, i, j, d, s);
      if (kp < 0) break;
      if (mask[kp]) continue;  // degraded pixels are never keys (warp-uniform branch)
      const acc_t logit = scale * warp_dot<scalar_t, acc_t>(qp, k + kp * g.cq, g.cq, lane);
      const acc_t m_new = logit > mx ? logit : mx;
      const acc_t corr = exp_(mx - m_new);  // exp(-inf) = 0 on the first key
      const acc_t e = exp_(logit - m_new);
      sum = sum * corr + e;
      const scalar_t* vp = v + kp * g.c;
      for (int64_t c = lane; c < g.c; c += kWarp) {
        acc[c] = acc[c] * corr + e * static_cast<acc_t>(vp[c]);
      }
      mx = m_new;
    }
    if (sum > 0) {
      const acc_t wd = static_cast<acc_t>(weights[(img * 4 + d) * g.hw + local]) / sum;
      for (int64_t c = lane; c < g.c; c += kWarp) res[c] += wd * acc[c];
    }
    if (lane == 0) lse[p * 4 + d] = sum > 0 ? mx + log_(sum) : -INFINITY;
  }
  for (int64_t c = lane; c < g.c; c += kWarp) out[pix * g.c + c] = static_cast<scalar_t>(res[c]);
}

// Per degraded query p: grad_weights[p, d] = D_d = sum_q a u and
// grad_q(p) = scale * sum_d w_d (sum_q a u k(q) - D_d sum_q a k(q)),
// with a = exp(s - lse_d) and u = <grad_out(p), v(q)>. Also stores D (P, 4).
// Shared memory per warp: t1, t2, gq (Cq each).
template <typename scalar_t, typename acc_t>
__global__ void cca_backward_query_kernel(
    const scalar_t* __restrict__ q, const scalar_t* __restrict__ k,
    const scalar_t* __restrict__ v, const scalar_t* __restrict__ weights,
    const bool* __restrict__ mask, const int64_t* __restrict__ deg,
    const scalar_t* __restrict__ grad, const acc_t* __restrict__ lse, int64_t p_total,
    Geometry g, acc_t scale, scalar_t* __restrict__ grad_q, scalar_t* __restrict__ grad_w,
    acc_t* __restrict__ dsum) {
  extern __shared__ unsigned char smem_raw[];
  acc_t* smem = reinterpret_cast<acc_t*>(smem_raw);
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x / kWarp) + warp;
  if (p >= p_total) return;
  acc_t* t1 = smem + warp * 3 * g.cq;
  acc_t* t2 = t1 + g.cq;
  acc_t* gq = t2 + g.cq;
  const int64_t pix = deg[p], img = pix / g.hw, local = pix % g.hw;
  const int64_t i = local / g.w, j = local % g.w;
  const scalar_t* qp = q + pix * g.cq;
  const scalar_t* gp = grad + pix * g.c;
  for (int64_t c = lane; c < g.cq; c += kWarp) gq[c] = 0;
  for (int d = 0; d < 4; ++d) {
    const acc_t l = lse[p * 4 + d];
    const int64_t widx = (img * 4 + d) * g.hw + local;
    acc_t dd = 0;
    if (l != -INFINITY) {
      for (int64_t c = lane; c < g.cq; c += kWarp) t1[c] = t2[c] = 0;
      for (int64_t s = 0;; ++s) {
        const int64_t kp = ray_pixel(g, img, i, j, d, s);
        if (kp < 0) break;
        if (mask[kp]) continue;
        const scalar_t* kk = k + kp * g.cq;
        const acc_t a = exp_(scale * warp_dot<scalar_t, acc_t>(qp, kk, g.cq, lane) - l);
        const acc_t u = warp_dot<scalar_t, acc_t>(gp, v + kp * g.c, g.c, lane);
        dd += a * u;
        for (int64_t c = lane; c < g.cq; c += kWarp) {
          const acc_t kc = static_cast<acc_t>(kk[c]);
          t1[c] += a * u * kc;
          t2[c] += a * kc;
        }
      }
      const acc_t wd = static_cast<acc_t>(weights[widx]);
      for (int64_t c = lane; c < g.cq; c += kWarp) gq[c] += scale * wd * (t1[c] - dd * t2[c]);
    }
    if (lane == 0) {
      grad_w[widx] = static_cast<scalar_t>(dd);
      dsum[p * 4 + d] = dd;
    }
  }
  for (int64_t c = lane; c < g.cq; c += kWarp) grad_q[pix * g.cq + c] = static_cast<scalar_t>(gq[c]);
}

// Per clean pixel: the gradients of its key and value, gathered over the degraded
// pixels of its row (row_ptr: CSR over queries, which are in row-major order)
// and of its column (col_ptr/col_items: CSR of query indices per column).
// Shared memory per warp: gk (Cq) + gv (C).
template <typename scalar_t, typename acc_t>
__global__ void cca_backward_key_kernel(
    const scalar_t* __restrict__ q, const scalar_t* __restrict__ k,
    const scalar_t* __restrict__ v, const scalar_t* __restrict__ weights,
    const bool* __restrict__ mask, const int64_t* __restrict__ deg,
    const scalar_t* __restrict__ grad, const acc_t* __restrict__ lse,
    const acc_t* __restrict__ dsum, const int64_t* __restrict__ row_ptr,
    const int64_t* __restrict__ col_ptr, const int64_t* __restrict__ col_items,
    int64_t n_pixels, Geometry g, acc_t scale, scalar_t* __restrict__ grad_k,
    scalar_t* __restrict__ grad_v) {
  extern __shared__ unsigned char smem_raw[];
  acc_t* smem = reinterpret_cast<acc_t*>(smem_raw);
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int64_t kp = blockIdx.x * static_cast<int64_t>(blockDim.x / kWarp) + warp;
  if (kp >= n_pixels || mask[kp]) return;  // degraded pixels are never keys: grads stay 0
  acc_t* gk = smem + warp * (g.cq + g.c);
  acc_t* gv = gk + g.cq;
  const int64_t img = kp / g.hw, local = kp % g.hw, i = local / g.w, j = local % g.w;
  const scalar_t* kk = k + kp * g.cq;
  const scalar_t* vv = v + kp * g.c;
  for (int64_t c = lane; c < g.cq; c += kWarp) gk[c] = 0;
  for (int64_t c = lane; c < g.c; c += kWarp) gv[c] = 0;
  for (int pass = 0; pass < 2; ++pass) {
    const int64_t line = pass == 0 ? img * g.h + i : img * g.w + j;
    const int64_t* ptr = pass == 0 ? row_ptr : col_ptr;
    for (int64_t e = ptr[line]; e < ptr[line + 1]; ++e) {
      const int64_t p = pass == 0 ? e : col_items[e];
      const int64_t qpix = deg[p], qlocal = qpix % g.hw;
      // The key lies in the query's ray towards it: left/up if before, right/down if after.
      const int d = pass == 0 ? (j < qlocal % g.w ? 0 : 1) : (i < qlocal / g.w ? 2 : 3);
      const scalar_t* qp = q + qpix * g.cq;
      const scalar_t* gp = grad + qpix * g.c;
      const acc_t a = exp_(scale * warp_dot<scalar_t, acc_t>(qp, kk, g.cq, lane) - lse[p * 4 + d]);
      const acc_t u = warp_dot<scalar_t, acc_t>(gp, vv, g.c, lane);
      const acc_t wd = static_cast<acc_t>(weights[(img * 4 + d) * g.hw + qlocal]);
      const acc_t ds = scale * wd * a * (u - dsum[p * 4 + d]);
      for (int64_t c = lane; c < g.cq; c += kWarp) gk[c] += ds * static_cast<acc_t>(qp[c]);
      for (int64_t c = lane; c < g.c; c += kWarp) gv[c] += wd * a * static_cast<acc_t>(gp[c]);
    }
  }
  for (int64_t c = lane; c < g.cq; c += kWarp) grad_k[kp * g.cq + c] = static_cast<scalar_t>(gk[c]);
  for (int64_t c = lane; c < g.c; c += kWarp) grad_v[kp * g.c + c] = static_cast<scalar_t>(gv[c]);
}

}  // namespace cuda
}  // namespace spairkit
