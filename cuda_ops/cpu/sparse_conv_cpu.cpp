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
        if (sc == 1) {
          std::memcpy(out, base, sizeof(scalar_t) * c);
        } else {
          for (int64_t ch = 0; ch < c; ++ch) out[ch] = base[ch * sc];
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
  const at::Tensor rows = rows_in.contiguous();
  const int64_t p_total = rows.size(0), c = rows.size(1), hw = h * w;
  at::Tensor out = at::empty({n, c, h, w}, rows.options(), format).zero_();
  if (p_total == 0 || c == 0) return out;
  const int64_t sn = out.stride(0), sc = out.stride(1), sh = out.stride(2), sw = out.stride(3);
  const int64_t* ap = active.const_data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(),
                                  "scatter_rows_cpu", [&] {
    const scalar_t* rp = rows.const_data_ptr<scalar_t>();
    scalar_t* op = out.data_ptr<scalar_t>();
    at::parallel_for(0, p_total, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        const int64_t pix = ap[p];
        scalar_t* base = op + (pix / hw) * sn + ((pix % hw) / w) * sh + (pix % w) * sw;
        const scalar_t* in = rp + p * c;
        if (sc == 1) {
          std::memcpy(base, in, sizeof(scalar_t) * c);
        } else {
          for (int64_t ch = 0; ch < c; ++ch) base[ch * sc] = in[ch];
        }
      }
    });
  });
  return out;
}

}  // namespace spairkit
