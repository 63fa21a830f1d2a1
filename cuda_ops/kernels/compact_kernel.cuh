// CUDA kernels of the compact (site-list) path: the halo im2col of a dense
// convolution at the sites and its gather-form backward, and the masked
// criss-cross attention with the degraded queries as rows (one warp per query for
// forward and the query gradients, one warp per key for the key/value gradients).
// Every output element has exactly one writer per launch: no atomics. The row
// pass and the column pass are separate launches on the same stream, the second
// adding to the first's outputs.
#pragma once

#include <cstdint>

#include "common.cuh"

namespace spairkit {
namespace cuda {

// Tap t of a k x k kernel at pixel (i, j): (i + (t / k - r) d, j + (t % k - r) d).
struct Taps {
  int64_t k, r, dilation;
  __device__ int64_t di(int64_t t) const { return (t / k - r) * dilation; }
  __device__ int64_t dj(int64_t t) const { return (t % k - r) * dilation; }
};

// cols[p, t*C + c]: the row of a degraded neighbour, the dense map at a clean
// one, 0 outside the image.
template <typename scalar_t>
__global__ void halo_cols_kernel(const scalar_t* __restrict__ rows,
                                 const scalar_t* __restrict__ dense,
                                 const int64_t* __restrict__ active,
                                 const int32_t* __restrict__ nbr, scalar_t* __restrict__ cols,
                                 int64_t p_total, int64_t c, int64_t h, int64_t w, Taps taps,
                                 int64_t sn, int64_t sc, int64_t sh, int64_t sw) {
  const int64_t nt = taps.k * taps.k, hw = h * w;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       idx < p_total * nt * c; idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = idx % c, pt = idx / c, p = pt / nt, t = pt % nt;
    const int32_t q = nbr[pt];
    scalar_t v = scalar_t(0);
    if (q >= 0) {
      v = rows[static_cast<int64_t>(q) * c + ch];
    } else {
      const int64_t pix = active[p], img = pix / hw;
      const int64_t ii = (pix % hw) / w + taps.di(t), jj = pix % w + taps.dj(t);
      if (ii >= 0 && ii < h && jj >= 0 && jj < w) v = dense[img * sn + ch * sc + ii * sh + jj * sw];
    }
    cols[idx] = v;
  }
}

// grad_rows[q, c] = sum_t gcols[s, t*C + c] over the sites s seeing q at tap t
// (s = nbr[q, flipped t]).
template <typename scalar_t, typename acc_t>
__global__ void halo_rows_grad_kernel(const scalar_t* __restrict__ gcols,
                                      const int32_t* __restrict__ nbr,
                                      scalar_t* __restrict__ g_rows, int64_t p_total, int64_t c,
                                      int64_t nt) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       idx < p_total * c; idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t q = idx / c, ch = idx % c;
    acc_t sum = 0;
    for (int64_t t = 0; t < nt; ++t) {
      const int32_t s = nbr[q * nt + (nt - 1 - t)];
      if (s >= 0) sum += static_cast<acc_t>(gcols[(static_cast<int64_t>(s) * nt + t) * c + ch]);
    }
    g_rows[idx] = static_cast<scalar_t>(sum);
  }
}

// grad_dense (N, C, H, W) contiguous: at a clean pixel the sum over the degraded
// sites that see it, 0 at degraded pixels and where no site looks.
template <typename scalar_t, typename acc_t>
__global__ void halo_dense_grad_kernel(const scalar_t* __restrict__ gcols,
                                       const int64_t* __restrict__ row_of,
                                       scalar_t* __restrict__ g_dense, int64_t n, int64_t c,
                                       int64_t h, int64_t w, Taps taps) {
  const int64_t hw = h * w, nt = taps.k * taps.k;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       idx < n * c * hw; idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t local = idx % hw, ch = (idx / hw) % c, img = idx / (c * hw);
    const int64_t i = local / w, j = local % w;
    acc_t sum = 0;
    if (row_of[img * hw + local] < 0) {
      for (int64_t t = 0; t < nt; ++t) {
        const int64_t si = i - taps.di(t), sj = j - taps.dj(t);
        if (si < 0 || si >= h || sj < 0 || sj >= w) continue;
        const int64_t s = row_of[img * hw + si * w + sj];
        if (s >= 0) sum += static_cast<acc_t>(gcols[(s * nt + t) * c + ch]);
      }
    }
    g_dense[idx] = static_cast<scalar_t>(sum);
  }
}

// out[n, c, i, j] = rows[p, c] at site p (any strides); out holds the dense copy.
template <typename scalar_t>
__global__ void write_sites_kernel(const scalar_t* __restrict__ rows,
                                   const int64_t* __restrict__ active, scalar_t* __restrict__ out,
                                   int64_t p_total, int64_t c, int64_t h, int64_t w, int64_t sn,
                                   int64_t sc, int64_t sh, int64_t sw) {
  const int64_t hw = h * w;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       idx < p_total * c; idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t p = idx / c, ch = idx % c, pix = active[p];
    out[(pix / hw) * sn + ch * sc + ((pix % hw) / w) * sh + (pix % w) * sw] = rows[idx];
  }
}

// ---------------------------------------------------------------- criss-cross
// One pass's line lists (see spairkit.ops.sites.LineLists) and the dense maps.
struct LinePass {
  const int64_t* q_ptr;
  const int64_t* q_idx;
  const int64_t* q_split;
  const int64_t* k_ptr;
  const int64_t* k_pix;
  int64_t lines, queries, keys, dir0;
};

struct DenseMap {
  int64_t sn, sc, sh, sw, hw, w;
  __device__ int64_t at(int64_t pix, int64_t ch) const {
    return (pix / hw) * sn + ch * sc + ((pix % hw) / w) * sh + (pix % w) * sw;
  }
};

// The line holding entry e of a CSR pointer array ptr (L+1 entries).
__device__ __forceinline__ int64_t line_of(const int64_t* ptr, int64_t lines, int64_t e) {
  int64_t lo = 0, hi = lines;  // ptr[lo] <= e < ptr[hi]
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    if (ptr[mid] <= e) lo = mid; else hi = mid;
  }
  return lo;
}

template <typename scalar_t, typename acc_t>
__device__ acc_t warp_dot_rows(const scalar_t* q, const scalar_t* kd, DenseMap km, int64_t pix,
                               int64_t cq) {
  acc_t part = 0;
  for (int64_t ch = threadIdx.x % kWarp; ch < cq; ch += kWarp) {
    part += static_cast<acc_t>(q[ch]) * static_cast<acc_t>(kd[km.at(pix, ch)]);
  }
  return warp_sum(part);
}

// Forward: one warp per query entry; online (max-subtracted) softmax per ray,
// accumulators of both rays in shared memory (2 x C per warp). Adds
// w_before g_before + w_after g_after to out[row].
template <typename scalar_t, typename acc_t>
__global__ void cca_sites_forward_kernel(const scalar_t* __restrict__ q_rows,
                                         const scalar_t* __restrict__ key,
                                         const scalar_t* __restrict__ value,
                                         const scalar_t* __restrict__ w_rows,
                                         scalar_t* __restrict__ out, LinePass lp, DenseMap km,
                                         DenseMap vm, int64_t cq, int64_t c, acc_t scale) {
  extern __shared__ unsigned char smem_raw[];
  acc_t* acc = reinterpret_cast<acc_t*>(smem_raw) + (threadIdx.x / kWarp) * 2 * c;
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x / kWarp) + threadIdx.x / kWarp;
       e < lp.queries; e += warps) {
    const int64_t l = line_of(lp.q_ptr, lp.lines, e);
    const int64_t row = lp.q_idx[e], split = lp.q_split[e];
    const int64_t k0 = lp.k_ptr[l], k1 = lp.k_ptr[l + 1];
    const scalar_t* q = q_rows + row * cq;
    for (int64_t ch = lane; ch < 2 * c; ch += kWarp) acc[ch] = 0;
    __syncwarp();
    acc_t mx[2] = {-INFINITY, -INFINITY}, sum[2] = {0, 0};
    for (int64_t kk = k0; kk < k1; ++kk) {
      const int ray = (kk - k0) < split ? 0 : 1;
      const int64_t pix = lp.k_pix[kk];
      const acc_t logit = scale * warp_dot_rows<scalar_t, acc_t>(q, key, km, pix, cq);
      const acc_t new_mx = logit > mx[ray] ? logit : mx[ray];
      const acc_t decay = exp_(mx[ray] - new_mx);  // 0 for the first key of the ray
      const acc_t p = exp_(logit - new_mx);
      sum[ray] = sum[ray] * decay + p;
      mx[ray] = new_mx;
      acc_t* a = acc + ray * c;
      for (int64_t ch = lane; ch < c; ch += kWarp) {
        a[ch] = a[ch] * decay + p * static_cast<acc_t>(value[vm.at(pix, ch)]);
      }
    }
    __syncwarp();
    const scalar_t* wr = w_rows + row * 4 + lp.dir0;
    const acc_t f0 = sum[0] > 0 ? static_cast<acc_t>(wr[0]) / sum[0] : acc_t(0);
    const acc_t f1 = sum[1] > 0 ? static_cast<acc_t>(wr[1]) / sum[1] : acc_t(0);
    for (int64_t ch = lane; ch < c; ch += kWarp) {
      const acc_t v = f0 * acc[ch] + f1 * acc[c + ch];
      out[row * c + ch] = static_cast<scalar_t>(static_cast<acc_t>(out[row * c + ch]) + v);
    }
    __syncwarp();
  }
}

// Backward, query side: one warp per query entry. Computes the log-sum-exp and
// d_ray = <dL/dout, g_ray> of both rays (kept in stats (Q, 4): lse0, lse1, d0, d1
// for the key-side kernel), the weight gradients and adds the query gradient.
template <typename scalar_t, typename acc_t>
__global__ void cca_sites_query_grad_kernel(
    const scalar_t* __restrict__ grad_out, const scalar_t* __restrict__ q_rows,
    const scalar_t* __restrict__ key, const scalar_t* __restrict__ value,
    const scalar_t* __restrict__ w_rows, scalar_t* __restrict__ gq, scalar_t* __restrict__ gw,
    acc_t* __restrict__ stats, LinePass lp, DenseMap km, DenseMap vm, int64_t cq, int64_t c,
    acc_t scale) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x / kWarp) + threadIdx.x / kWarp;
       e < lp.queries; e += warps) {
    const int64_t l = line_of(lp.q_ptr, lp.lines, e);
    const int64_t row = lp.q_idx[e], split = lp.q_split[e];
    const int64_t k0 = lp.k_ptr[l], k1 = lp.k_ptr[l + 1];
    const scalar_t* q = q_rows + row * cq;
    const scalar_t* g = grad_out + row * c;
    acc_t mx[2] = {-INFINITY, -INFINITY}, sum[2] = {0, 0};
    for (int64_t kk = k0; kk < k1; ++kk) {
      const int ray = (kk - k0) < split ? 0 : 1;
      const acc_t logit = scale * warp_dot_rows<scalar_t, acc_t>(q, key, km, lp.k_pix[kk], cq);
      const acc_t new_mx = logit > mx[ray] ? logit : mx[ray];
      sum[ray] = sum[ray] * exp_(mx[ray] - new_mx) + exp_(logit - new_mx);
      mx[ray] = new_mx;
    }
    const acc_t lse[2] = {sum[0] > 0 ? mx[0] + log_(sum[0]) : acc_t(0),
                          sum[1] > 0 ? mx[1] + log_(sum[1]) : acc_t(0)};
    acc_t d[2] = {0, 0};
    for (int64_t kk = k0; kk < k1; ++kk) {
      const int ray = (kk - k0) < split ? 0 : 1;
      const int64_t pix = lp.k_pix[kk];
      const acc_t p = exp_(scale * warp_dot_rows<scalar_t, acc_t>(q, key, km, pix, cq) - lse[ray]);
      acc_t part = 0;
      for (int64_t ch = lane; ch < c; ch += kWarp) {
        part += static_cast<acc_t>(g[ch]) * static_cast<acc_t>(value[vm.at(pix, ch)]);
      }
      d[ray] += p * warp_sum(part);
    }
    const scalar_t* wr = w_rows + row * 4 + lp.dir0;
    const acc_t wray[2] = {static_cast<acc_t>(wr[0]), static_cast<acc_t>(wr[1])};
    // gq += sum_j w p (u - d) scale k_j, one channel slice per lane.
    for (int64_t ch0 = 0; ch0 < cq; ch0 += kWarp) {
      const int64_t ch = ch0 + lane;
      acc_t gacc = 0;
      for (int64_t kk = k0; kk < k1; ++kk) {
        const int ray = (kk - k0) < split ? 0 : 1;
        const int64_t pix = lp.k_pix[kk];
        const acc_t p =
            exp_(scale * warp_dot_rows<scalar_t, acc_t>(q, key, km, pix, cq) - lse[ray]);
        acc_t part = 0;
        for (int64_t cc = lane; cc < c; cc += kWarp) {
          part += static_cast<acc_t>(g[cc]) * static_cast<acc_t>(value[vm.at(pix, cc)]);
        }
        const acc_t ds = wray[ray] * p * (warp_sum(part) - d[ray]) * scale;
        if (ch < cq) gacc += ds * static_cast<acc_t>(key[km.at(pix, ch)]);
      }
      if (ch < cq) gq[row * cq + ch] = static_cast<scalar_t>(static_cast<acc_t>(gq[row * cq + ch]) + gacc);
    }
    if (lane == 0) {
      gw[row * 4 + lp.dir0] = static_cast<scalar_t>(d[0]);
      gw[row * 4 + lp.dir0 + 1] = static_cast<scalar_t>(d[1]);
      acc_t* st = stats + e * 4;
      st[0] = lse[0];
      st[1] = lse[1];
      st[2] = d[0];
      st[3] = d[1];
    }
  }
}

// Backward, key side: one warp per key entry of the pass; sums over the queries of
// its line and adds to the dense key and value gradients (contiguous NCHW).
template <typename scalar_t, typename acc_t>
__global__ void cca_sites_key_grad_kernel(
    const scalar_t* __restrict__ grad_out, const scalar_t* __restrict__ q_rows,
    const scalar_t* __restrict__ key, const scalar_t* __restrict__ value,
    const scalar_t* __restrict__ w_rows, const acc_t* __restrict__ stats,
    scalar_t* __restrict__ gk, scalar_t* __restrict__ gv, LinePass lp, DenseMap km,
    DenseMap vm, DenseMap gm_k, DenseMap gm_v, int64_t cq, int64_t c, acc_t scale) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x / kWarp) + threadIdx.x / kWarp;
       e < lp.keys; e += warps) {
    const int64_t l = line_of(lp.k_ptr, lp.lines, e);
    const int64_t pos = e - lp.k_ptr[l];  // index of this key among its line's keys
    const int64_t pix = lp.k_pix[e];
    for (int64_t ch0 = 0; ch0 < (cq > c ? cq : c); ch0 += kWarp) {
      const int64_t ch = ch0 + lane;
      acc_t gk_acc = 0, gv_acc = 0;
      for (int64_t a = lp.q_ptr[l]; a < lp.q_ptr[l + 1]; ++a) {
        const int64_t row = lp.q_idx[a];
        const int ray = pos < lp.q_split[a] ? 0 : 1;
        const acc_t* st = stats + a * 4;
        const scalar_t* q = q_rows + row * cq;
        const scalar_t* g = grad_out + row * c;
        const acc_t p = exp_(scale * warp_dot_rows<scalar_t, acc_t>(q, key, km, pix, cq) - st[ray]);
        acc_t part = 0;
        for (int64_t cc = lane; cc < c; cc += kWarp) {
          part += static_cast<acc_t>(g[cc]) * static_cast<acc_t>(value[vm.at(pix, cc)]);
        }
        const acc_t wray = static_cast<acc_t>(w_rows[row * 4 + lp.dir0 + ray]);
        const acc_t ds = wray * p * (warp_sum(part) - st[2 + ray]) * scale;
        if (ch < cq) gk_acc += ds * static_cast<acc_t>(q[ch]);
        if (ch < c) gv_acc += wray * p * static_cast<acc_t>(g[ch]);
      }
      if (ch < cq) {
        scalar_t* dst = gk + gm_k.at(pix, ch);
        *dst = static_cast<scalar_t>(static_cast<acc_t>(*dst) + gk_acc);
      }
      if (ch < c) {
        scalar_t* dst = gv + gm_v.at(pix, ch);
        *dst = static_cast<scalar_t>(static_cast<acc_t>(*dst) + gv_acc);
      }
    }
  }
}

}  // namespace cuda
}  // namespace spairkit
