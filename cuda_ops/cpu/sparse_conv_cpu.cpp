// CPU building blocks of the submanifold sparse convolution: the active-site
// plan, gathers, the scatter and the site GEMM (sparse_gemm: the convolution at
// the sites, straight from the neighbour rows; the weight-gradient GEMM is an
// ATen call made by the binding, bindings/sparse_conv.cpp).
// Every loop is an at::parallel_for over independent output rows: no atomics,
// the result does not depend on the number of threads.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu_kernels.h"
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

namespace {

// out[p] = sum_t rows[nbr[p, t]] W_t^T (+ bias) for sites [p0, p1), without an
// im2col: R sites at a time, each tap's neighbour rows are read in place (a missing
// neighbour contributes nothing, a tap missing for all R sites is skipped) and
// multiplied into R vector accumulators per block of output channels
// (cpu_kernels.h's register block, with the A operand gathered through nbr).
// wt is W^T (taps*C, Cout) row-major. taps == 1 is a 1x1 convolution: the only
// tap is the site itself.
template <typename T, int B, int64_t R>
SPAIRKIT_ALWAYS_INLINE void conv_block(int64_t p0, int64_t j0, const T* rows, int64_t c,
                                       const int32_t* nbr, int64_t taps, const T* wt,
                                       int64_t cout, const T* bias, T* out) {
  using Row = cpu::BlockRow<T, B>;
  Row acc[R];
  for (int64_t r = 0; r < R; ++r) acc[r].zero();
  for (int64_t t = 0; t < taps; ++t) {
    const T* a[R];
    bool any = false;
    for (int64_t r = 0; r < R; ++r) {
      const int64_t q = taps == 1 ? p0 + r : nbr[(p0 + r) * taps + t];
      a[r] = q >= 0 ? rows + q * c : nullptr;
      any = any || q >= 0;
    }
    if (!any) continue;
    const T* bp = wt + t * c * cout + j0;
    if (std::all_of(a, a + R, [](const T* x) { return x != nullptr; })) {
      for (int64_t ch = 0; ch < c; ++ch, bp += cout) {
        Row bv;
        bv.load(bp);
        for (int64_t r = 0; r < R; ++r) acc[r].fma(a[r][ch], bv);
      }
    } else {
      for (int64_t ch = 0; ch < c; ++ch, bp += cout) {
        Row bv;
        bv.load(bp);
        for (int64_t r = 0; r < R; ++r) {
          if (a[r]) acc[r].fma(a[r][ch], bv);
        }
      }
    }
  }
  Row b;
  b.zero();
  if (bias) b.load(bias + j0);
  for (int64_t r = 0; r < R; ++r) acc[r].store_plus(out + (p0 + r) * cout + j0, b);
}

// The last cout % J output channels of one site, scalar.
template <typename T>
SPAIRKIT_ALWAYS_INLINE void conv_tail(int64_t p, int64_t j0, const T* rows, int64_t c,
                                      const int32_t* nbr, int64_t taps, const T* wt,
                                      int64_t cout, const T* bias, T* out) {
  for (int64_t j = j0; j < cout; ++j) {
    T acc = bias ? bias[j] : T(0);
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t q = taps == 1 ? p : nbr[p * taps + t];
      if (q < 0) continue;
      const T* a = rows + q * c;
      const T* w = wt + t * c * cout + j;
      for (int64_t ch = 0; ch < c; ++ch) acc += a[ch] * w[ch * cout];
    }
    out[p * cout + j] = acc;
  }
}

// Sites per register block: R x 64/B accumulators (8 zmm, 12 ymm, 8 xmm).
template <int B>
constexpr int64_t kConvRows = B == 64 ? 8 : (B == 32 ? 6 : 2);

template <typename T, int B>
SPAIRKIT_ALWAYS_INLINE void conv_sites(int64_t p0, int64_t p1, const T* rows, int64_t c,
                                       const int32_t* nbr, int64_t taps, const T* wt,
                                       int64_t cout, const T* bias, T* out) {
  constexpr int64_t J = cpu::kGemmCols<T>;
  constexpr int64_t R = kConvRows<B>;
  const int64_t full = cout / J * J;
  for (int64_t j0 = 0; j0 < full; j0 += J) {
    int64_t p = p0;
    for (; p + R <= p1; p += R) {
      conv_block<T, B, R>(p, j0, rows, c, nbr, taps, wt, cout, bias, out);
    }
    for (; p < p1; ++p) conv_block<T, B, 1>(p, j0, rows, c, nbr, taps, wt, cout, bias, out);
  }
  if (full < cout) {
    for (int64_t p = p0; p < p1; ++p) conv_tail<T>(p, full, rows, c, nbr, taps, wt, cout, bias, out);
  }
}

// The active ISA's kernels (cpu::with_isa).
template <typename T>
void conv_sites_isa(int64_t p0, int64_t p1, const T* rows, int64_t c, const int32_t* nbr,
                    int64_t taps, const T* wt, int64_t cout, const T* bias, T* out) {
  cpu::with_isa([&](auto w) SPAIRKIT_INLINE_LAMBDA {
    conv_sites<T, decltype(w)::bytes>(p0, p1, rows, c, nbr, taps, wt, cout, bias, out);
  });
}

// Sites per task: about 64k multiply-adds (a few microseconds), a multiple of the
// register block, so that claims are cheap next to the work and the threads end
// together.
int64_t sites_per_task(int64_t taps, int64_t c, int64_t cout) {
  const int64_t per_site = std::max<int64_t>(1, taps * c * cout);
  const int64_t sites = std::clamp<int64_t>((int64_t{1} << 16) / per_site, 1, 256);
  return (sites + 23) / 24 * 24;  // whole register blocks of conv_sites (8, 6 or 2 sites)
}

// Half and bfloat16 (not used by the CPU operators, which compute in float32 or
// float64, but accepted by this building block): im2col blocks and ATen GEMMs.
at::Tensor sparse_gemm_reduced(const at::Tensor& rows, const at::Tensor& nbr,
                               const at::Tensor& wmat, const std::optional<at::Tensor>& bias) {
  const at::Tensor wt = wmat.t();
  const at::Tensor cols = nbr.size(1) == 1 ? rows : gather_cols_cpu(rows, nbr);
  return bias ? at::addmm(*bias, cols, wt) : at::mm(cols, wt);
}

}  // namespace

at::Tensor sparse_gemm_cpu(const at::Tensor& rows_in, const at::Tensor& nbr,
                           const at::Tensor& wmat, const std::optional<at::Tensor>& bias) {
  // One parallel region: the threads claim blocks of sites (cpu_kernels.h), each
  // block computed straight from the neighbour rows (no im2col buffer, no BLAS call
  // per block, no nested threading). Every block owns its output rows.
  const at::Tensor rows = rows_in.contiguous();
  const int64_t p_total = rows.size(0), c = rows.size(1), taps = nbr.size(1);
  const int64_t cout = wmat.size(0);
  if (rows.scalar_type() != at::kFloat && rows.scalar_type() != at::kDouble) {
    return sparse_gemm_reduced(rows, nbr, wmat, bias);
  }
  at::Tensor out = at::empty({p_total, cout}, rows.options());
  if (p_total == 0) return out;
  const at::Tensor wt = wmat.to(rows.scalar_type()).t().contiguous();  // (taps*C, Cout)
  const at::Tensor b = bias ? bias->to(rows.scalar_type()).contiguous() : at::Tensor();
  const int32_t* np = nbr.const_data_ptr<int32_t>();
  const int64_t block = sites_per_task(taps, c, cout);
  const int64_t tasks = (p_total + block - 1) / block;
  AT_DISPATCH_FLOATING_TYPES(rows.scalar_type(), "sparse_gemm_cpu", [&] {
    const scalar_t* rp = rows.const_data_ptr<scalar_t>();
    const scalar_t* wp = wt.const_data_ptr<scalar_t>();
    const scalar_t* bp = b.defined() ? b.const_data_ptr<scalar_t>() : nullptr;
    scalar_t* op = out.data_ptr<scalar_t>();
    cpu::parallel_tasks(tasks, [] { return 0; }, [&](int64_t task, int) {
      const int64_t p0 = task * block, p1 = std::min(p_total, p0 + block);
      conv_sites_isa(p0, p1, rp, c, np, taps, wp, cout, bp, op);
    });
  });
  return out;
}

}  // namespace spairkit
