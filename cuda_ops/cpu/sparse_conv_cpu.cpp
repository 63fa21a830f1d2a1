// CPU building blocks of the submanifold sparse convolution: the active-site
// plan, gathers and the scatter. The GEMMs are ATen calls made by the binding
// (bindings/sparse_conv.cpp), so the arithmetic runs in the BLAS of the build.
// Every loop is an at::parallel_for over independent output rows: no atomics,
// the result does not depend on the number of threads.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "spairkit_ops.h"

namespace spairkit {

namespace {
constexpr int64_t kGrain = 256;  // rows per task: enough work to amortise scheduling
constexpr int64_t kChannelBlock = 16;  // planes visited together in NCHW gathers/scatters
}  // namespace

std::tuple<at::Tensor, at::Tensor> sparse_plan_cpu(const at::Tensor& mask, int64_t kernel_size,
                                                   int64_t dilation) {
  TORCH_CHECK(mask.dim() == 4 && mask.size(1) == 1, "mask must be (N, 1, H, W)");
  const int64_t n = mask.size(0), h = mask.size(2), w = mask.size(3), hw = h * w;
  TORCH_CHECK(n * hw < std::numeric_limits<int32_t>::max(),
              "sparse_conv2d: N*H*W must be below 2^31");
  const at::Tensor m = (mask.reshape({n, hw}) != 0).contiguous();
  const bool* mp = m.data_ptr<bool>();

  // Count per image, then fill per image: rows come out in row-major order.
  std::vector<int64_t> offset(n + 1, 0);
  at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
    for (int64_t img = b; img < e; ++img) {
      offset[img + 1] = std::count(mp + img * hw, mp + (img + 1) * hw, true);
    }
  });
  for (int64_t img = 0; img < n; ++img) offset[img + 1] += offset[img];
  const int64_t p_total = offset[n];

  const int64_t taps = kernel_size * kernel_size;
  at::Tensor active = at::empty({p_total}, mask.options().dtype(at::kLong));
  at::Tensor nbr = at::empty({p_total, taps}, mask.options().dtype(at::kInt));
  if (p_total == 0) return {active, nbr};

  int64_t* ap = active.data_ptr<int64_t>();
  std::vector<int32_t> row_of(n * hw);  // pixel -> row in `active`, -1 if clean
  at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
    for (int64_t img = b; img < e; ++img) {
      int64_t row = offset[img];
      for (int64_t pix = img * hw; pix < (img + 1) * hw; ++pix) {
        if (mp[pix]) {
          ap[row] = pix;
          row_of[pix] = static_cast<int32_t>(row++);
        } else {
          row_of[pix] = -1;
        }
      }
    }
  });

  const int64_t r = kernel_size / 2;
  int32_t* np = nbr.data_ptr<int32_t>();
  at::parallel_for(0, p_total, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t pix = ap[p], img = pix / hw, i = (pix % hw) / w, j = pix % w;
      int32_t* out = np + p * taps;
      for (int64_t a = 0; a < kernel_size; ++a) {
        const int64_t ii = i + (a - r) * dilation;
        for (int64_t c = 0; c < kernel_size; ++c) {
          const int64_t jj = j + (c - r) * dilation;
          const bool inside = ii >= 0 && ii < h && jj >= 0 && jj < w;
          *out++ = inside ? row_of[img * hw + ii * w + jj] : -1;
        }
      }
    }
  });
  return {active, nbr};
}

at::Tensor gather_rows_cpu(const at::Tensor& src, const at::Tensor& active) {
  const int64_t c = src.size(1), h = src.size(2), w = src.size(3), hw = h * w;
  const int64_t p_total = active.size(0);
  at::Tensor rows = at::empty({p_total, c}, src.options());
  if (p_total == 0 || c == 0) return rows;
  const int64_t sn = src.stride(0), sc = src.stride(1), sh = src.stride(2), sw = src.stride(3);
  const int64_t* ap = active.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, src.scalar_type(), "gather_rows_cpu",
                                  [&] {
    const scalar_t* sp = src.const_data_ptr<scalar_t>();
    scalar_t* rp = rows.data_ptr<scalar_t>();
    at::parallel_for(0, p_total, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        const int64_t pix = ap[p];
        const scalar_t* base = sp + (pix / hw) * sn + ((pix % hw) / w) * sh + (pix % w) * sw;
        scalar_t* out = rp + p * c;
        if (sc == 1) std::memcpy(out, base, sizeof(scalar_t) * c);
      }
      if (sc == 1) return;
      // Channel-strided (NCHW) input: visit kChannelBlock planes at a time so the
      // reads of consecutive sites stay within a few pages (one plane per channel
      // would touch C pages per site and thrash the TLB).
      for (int64_t c0 = 0; c0 < c; c0 += kChannelBlock) {
        const int64_t c1 = std::min(c, c0 + kChannelBlock);
        for (int64_t p = b; p < e; ++p) {
          const int64_t pix = ap[p];
          const scalar_t* base = sp + (pix / hw) * sn + ((pix % hw) / w) * sh + (pix % w) * sw;
          scalar_t* out = rp + p * c;
          for (int64_t ch = c0; ch < c1; ++ch) out[ch] = base[ch * sc];
        }
      }
    });
  });
  return rows;
}

at::Tensor gather_cols_cpu(const at::Tensor& rows_in, const at::Tensor& nbr) {
  const at::Tensor rows = rows_in.contiguous();
  const int64_t p_total = rows.size(0), c = rows.size(1), taps = nbr.size(1);
  at::Tensor cols = at::empty({p_total, taps * c}, rows.options());
  if (p_total == 0 || c == 0) return cols;
  const int32_t* np = nbr.const_data_ptr<int32_t>();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(), "gather_cols_cpu",
                                  [&] {
    const scalar_t* rp = rows.const_data_ptr<scalar_t>();
    scalar_t* cp = cols.data_ptr<scalar_t>();
    at::parallel_for(0, p_total, kGrain / 4, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        scalar_t* out = cp + p * taps * c;
        for (int64_t t = 0; t < taps; ++t, out += c) {
          const int32_t q = np[p * taps + t];
          if (q >= 0) {
            std::memcpy(out, rp + static_cast<int64_t>(q) * c, sizeof(scalar_t) * c);
          } else {
            std::fill(out, out + c, scalar_t(0));
          }
        }
      }
    });
  });
  return cols;
}

at::Tensor scatter_rows_cpu(const at::Tensor& rows_in, const at::Tensor& active, int64_t n,
                            int64_t h, int64_t w, at::MemoryFormat format) {
  // One pass over the output: active pixels get their row, the others zeros
  // (no separate zero fill, which would write the whole tensor twice).
  const at::Tensor rows = rows_in.contiguous();
  const int64_t p_total = rows.size(0), c = rows.size(1), hw = h * w, pixels = n * hw;
  at::Tensor out = at::empty({n, c, h, w}, rows.options(), format);
  if (pixels == 0 || c == 0) return out;
  const int64_t sn = out.stride(0), sc = out.stride(1), sh = out.stride(2), sw = out.stride(3);
  const int64_t* ap = active.const_data_ptr<int64_t>();
  if (format == at::MemoryFormat::Contiguous) {
    // NCHW: per image and block of planes, zero the planes with sequential writes,
    // then place the active rows (kChannelBlock planes at a time, see gather_rows).
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(),
                                    "scatter_rows_cpu", [&] {
      const scalar_t* rp = rows.const_data_ptr<scalar_t>();
      scalar_t* op = out.data_ptr<scalar_t>();
      const int64_t blocks = (c + kChannelBlock - 1) / kChannelBlock;
      at::parallel_for(0, n * blocks, 1, [&](int64_t b, int64_t e) {
        for (int64_t job = b; job < e; ++job) {
          const int64_t img = job / blocks, c0 = (job % blocks) * kChannelBlock;
          const int64_t c1 = std::min(c, c0 + kChannelBlock);
          scalar_t* planes = op + img * c * hw;
          std::fill(planes + c0 * hw, planes + c1 * hw, scalar_t(0));
          const int64_t pb = std::lower_bound(ap, ap + p_total, img * hw) - ap;
          const int64_t pe = std::lower_bound(ap, ap + p_total, (img + 1) * hw) - ap;
          for (int64_t p = pb; p < pe; ++p) {
            const int64_t local = ap[p] - img * hw;
            const scalar_t* in = rp + p * c;
            for (int64_t ch = c0; ch < c1; ++ch) planes[ch * hw + local] = in[ch];
          }
        }
      });
    });
    return out;
  }
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(),
                                  "scatter_rows_cpu", [&] {
    const scalar_t* rp = rows.const_data_ptr<scalar_t>();
    scalar_t* op = out.data_ptr<scalar_t>();
    at::parallel_for(0, pixels, 1024, [&](int64_t b, int64_t e) {
      const int64_t p_first = std::lower_bound(ap, ap + p_total, b) - ap;  // first >= b
      // Channel-strided (NCHW) output: kChannelBlock planes at a time (see gather_rows).
      const int64_t block = sc == 1 ? c : kChannelBlock;
      for (int64_t c0 = 0; c0 < c; c0 += block) {
        const int64_t c1 = std::min(c, c0 + block);
        int64_t p = p_first;
        for (int64_t pix = b; pix < e; ++pix) {
          scalar_t* base = op + (pix / hw) * sn + ((pix % hw) / w) * sh + (pix % w) * sw;
          const bool is_active = p < p_total && ap[p] == pix;
          if (sc == 1) {
            if (is_active) {
              std::memcpy(base, rp + p * c, sizeof(scalar_t) * c);
            } else {
              std::fill(base, base + c, scalar_t(0));
            }
          } else if (is_active) {
            const scalar_t* in = rp + p * c;
            for (int64_t ch = c0; ch < c1; ++ch) base[ch * sc] = in[ch];
          } else {
            for (int64_t ch = c0; ch < c1; ++ch) base[ch * sc] = scalar_t(0);
          }
          if (is_active) ++p;
        }
      }
    });
  });
  return out;
}

at::Tensor sparse_gemm_cpu(const at::Tensor& rows_in, const at::Tensor& nbr,
                           const at::Tensor& wmat, const std::optional<at::Tensor>& bias) {
  // out[p] = sum_t rows[nbr[p, t]] @ W_t^T (+ bias), block by block: the im2col of
  // a block of sites (about 8 MB) is built in parallel, then one multi-threaded
  // GEMM consumes it, and the buffer is reused for the next block. So the
  // (P, k*k*C) matrix never exists whole (no huge allocation and page faults), and
  // no GEMM runs inside a parallel region (nested BLAS threading is slow).
  const at::Tensor rows = rows_in.contiguous();
  const int64_t p_total = rows.size(0), c = rows.size(1), taps = nbr.size(1);
  const int64_t cout = wmat.size(0);
  at::Tensor out = at::empty({p_total, cout}, rows.options());
  if (p_total == 0) return out;
  const at::Tensor wt = wmat.t();
  if (taps == 1) {  // a 1x1 kernel's only tap is the site itself: no gather needed
    return bias ? at::addmm_out(out, *bias, rows, wt) : at::mm_out(out, rows, wt);
  }
  const int64_t row_bytes = std::max<int64_t>(1, taps * c * rows.element_size());
  const int64_t block = std::min(p_total, std::max<int64_t>(256, (int64_t{8} << 20) / row_bytes));
  at::Tensor cols = at::empty({block, taps * c}, rows.options());
  const int32_t* np = nbr.const_data_ptr<int32_t>();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(),
                                  "sparse_gemm_cpu", [&] {
    const scalar_t* rp = rows.const_data_ptr<scalar_t>();
    scalar_t* cp = cols.data_ptr<scalar_t>();
    for (int64_t p0 = 0; p0 < p_total; p0 += block) {
      const int64_t count = std::min(block, p_total - p0);
      at::parallel_for(0, count, kGrain / 4, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          scalar_t* dst = cp + r * taps * c;
          const int32_t* nb = np + (p0 + r) * taps;
          for (int64_t t = 0; t < taps; ++t, dst += c) {
            if (nb[t] >= 0) {
              std::memcpy(dst, rp + static_cast<int64_t>(nb[t]) * c, sizeof(scalar_t) * c);
            } else {
              std::fill(dst, dst + c, scalar_t(0));
            }
          }
        }
      });
      at::Tensor out_block = out.narrow(0, p0, count);
      const at::Tensor cols_block = cols.narrow(0, 0, count);
      if (bias) {
        at::addmm_out(out_block, *bias, cols_block, wt);
      } else {
        at::mm_out(out_block, cols_block, wt);
      }
    }
  });
  return out;
}

}  // namespace spairkit
