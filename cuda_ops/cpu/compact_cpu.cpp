// CPU kernels of the compact (site-list) path of the mask-guided blocks.
//
// A decoder level gathers its degraded sites once into rows (P, C); SC and SNL
// then work on those rows and read the dense map only at clean pixels (SNL's
// keys/values and the clean neighbours of its fusion-weight convolution). This
// file holds what that needs beyond the sparse-conv pieces of sparse_conv_cpu.cpp:
//
// * scatter_sites: the dense map with the rows written back at the sites (the
//   block exit; clean pixels are copied unchanged).
// * halo_cols: the im2col of a dense (not submanifold) convolution evaluated at
//   the sites only: a degraded neighbour is read from the rows, a clean one from
//   the dense map, one outside the image is zero. Backward in gather form: the
//   row gradient through the flipped neighbour table, the dense gradient per
//   pixel through the pixel -> row map. No atomics anywhere.
// (The criss-cross attention on sites is in criss_cross_sites_cpu.cpp.)
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "criss_cross_lines.h"
#include "spairkit_ops.h"

namespace spairkit {

namespace {
constexpr int64_t kGrain = 256;

struct Strides {
  int64_t n, c, h, w;
  explicit Strides(const at::Tensor& t) : n(t.stride(0)), c(t.stride(1)), h(t.stride(2)), w(t.stride(3)) {}
  int64_t pixel(int64_t pix, int64_t hw, int64_t width) const {
    return (pix / hw) * n + ((pix % hw) / width) * h + (pix % width) * w;
  }
};

}  // namespace

// ------------------------------------------------------------------ scatter
at::Tensor scatter_sites_cpu(const at::Tensor& dense, const at::Tensor& rows_in,
                             const at::Tensor& active) {
  at::Tensor out = dense.clone();
  const int64_t p_total = active.size(0), c = dense.size(1);
  if (p_total == 0 || c == 0) return out;
  const at::Tensor rows = rows_in.to(dense.scalar_type()).contiguous();
  const int64_t hw = dense.size(2) * dense.size(3), width = dense.size(3);
  const Strides s(out);
  const int64_t* ap = active.const_data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, out.scalar_type(), "scatter_sites_cpu",
                                  [&] {
    const scalar_t* rp = rows.const_data_ptr<scalar_t>();
    scalar_t* op = out.data_ptr<scalar_t>();
    at::parallel_for(0, p_total, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        scalar_t* base = op + s.pixel(ap[p], hw, width);
        const scalar_t* in = rp + p * c;
        for (int64_t ch = 0; ch < c; ++ch) base[ch * s.c] = in[ch];
      }
    });
  });
  return out;
}

// ---------------------------------------------------------------- halo conv
at::Tensor halo_cols_cpu(const at::Tensor& rows_in, const at::Tensor& dense,
                         const at::Tensor& active, const at::Tensor& nbr, int64_t kernel_size,
                         int64_t dilation) {
  const at::Tensor rows = rows_in.contiguous();
  const int64_t p_total = rows.size(0), c = rows.size(1), taps = kernel_size * kernel_size;
  const int64_t h = dense.size(2), w = dense.size(3), hw = h * w, r = kernel_size / 2;
  at::Tensor cols = at::empty({p_total, taps * c}, rows.options());
  if (p_total == 0 || c == 0) return cols;
  const Strides s(dense);
  const int64_t* ap = active.const_data_ptr<int64_t>();
  const int32_t* np = nbr.const_data_ptr<int32_t>();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(), "halo_cols_cpu",
                                  [&] {
    const scalar_t* rp = rows.const_data_ptr<scalar_t>();
    const scalar_t* dp = dense.const_data_ptr<scalar_t>();
    scalar_t* cp = cols.data_ptr<scalar_t>();
    at::parallel_for(0, p_total, kGrain / 4, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        const int64_t pix = ap[p], img = pix / hw, i = (pix % hw) / w, j = pix % w;
        scalar_t* out = cp + p * taps * c;
        for (int64_t t = 0; t < taps; ++t, out += c) {
          const int32_t q = np[p * taps + t];
          const int64_t ii = i + (t / kernel_size - r) * dilation;
          const int64_t jj = j + (t % kernel_size - r) * dilation;
          if (q >= 0) {
            std::memcpy(out, rp + static_cast<int64_t>(q) * c, sizeof(scalar_t) * c);
          } else if (ii >= 0 && ii < h && jj >= 0 && jj < w) {
            const scalar_t* base = dp + img * s.n + ii * s.h + jj * s.w;
            for (int64_t ch = 0; ch < c; ++ch) out[ch] = base[ch * s.c];
          } else {
            std::fill(out, out + c, scalar_t(0));
          }
        }
      }
    });
  });
  return cols;
}

std::tuple<at::Tensor, at::Tensor> halo_cols_backward_cpu(
    const at::Tensor& gcols_in, const at::Tensor& active, const at::Tensor& nbr,
    const at::Tensor& row_of, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kernel_size,
    int64_t dilation) {
  const at::Tensor gcols = gcols_in.contiguous();
  const int64_t p_total = gcols.size(0), taps = kernel_size * kernel_size, hw = h * w;
  const int64_t r = kernel_size / 2;
  at::Tensor g_rows = at::empty({p_total, c}, gcols.options());
  at::Tensor g_dense = at::empty({n, c, h, w}, gcols.options());
  const int32_t* np = nbr.const_data_ptr<int32_t>();
  const int64_t* rop = row_of.const_data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(gcols.scalar_type(), "halo_cols_backward_cpu", [&] {
    const scalar_t* gp = gcols.const_data_ptr<scalar_t>();
    scalar_t* grp = g_rows.data_ptr<scalar_t>();
    scalar_t* gdp = g_dense.data_ptr<scalar_t>();
    // Row q gets, for every tap t, the column block t of the site that sees q at
    // tap t: that site is q's neighbour at the flipped tap (taps - 1 - t).
    at::parallel_for(0, p_total, kGrain / 4, [&](int64_t b, int64_t e) {
      for (int64_t q = b; q < e; ++q) {
        scalar_t* out = grp + q * c;
        std::fill(out, out + c, scalar_t(0));
        for (int64_t t = 0; t < taps; ++t) {
          const int32_t s = np[q * taps + (taps - 1 - t)];
          if (s < 0) continue;
          const scalar_t* in = gp + (static_cast<int64_t>(s) * taps + t) * c;
          for (int64_t ch = 0; ch < c; ++ch) out[ch] += in[ch];
        }
      }
    });
    // Dense (NCHW) gradient, one writer per pixel: a clean pixel gets the column
    // blocks of the degraded sites that see it; degraded pixels (read from the
    // rows) and pixels no site sees get 0. Parallel over (image, image row).
    at::parallel_for(0, n * h, 1, [&](int64_t b, int64_t e) {
      for (int64_t line = b; line < e; ++line) {
        const int64_t img = line / h, i = line % h;
        for (int64_t ch = 0; ch < c; ++ch) {
          std::fill(gdp + (img * c + ch) * hw + i * w, gdp + (img * c + ch) * hw + (i + 1) * w,
                    scalar_t(0));
        }
        for (int64_t j = 0; j < w; ++j) {
          const int64_t pix = img * hw + i * w + j;
          if (rop[pix] >= 0) continue;
          for (int64_t t = 0; t < taps; ++t) {
            const int64_t si = i - (t / kernel_size - r) * dilation;
            const int64_t sj = j - (t % kernel_size - r) * dilation;
            if (si < 0 || si >= h || sj < 0 || sj >= w) continue;
            const int64_t s = rop[img * hw + si * w + sj];
            if (s < 0) continue;
            const scalar_t* in = gp + (s * taps + t) * c;
            scalar_t* out = gdp + img * c * hw + i * w + j;
            for (int64_t ch = 0; ch < c; ++ch) out[ch * hw] += in[ch];
          }
        }
      }
    });
  });
  return {g_rows, g_dense};
}

// ------------------------------------------------------------------- plan
namespace {

// Line lists of one pass (see spairkit.ops.sites.LineLists): lines_per_image lines
// of length len; pixel (line, pos) of image img is img*hw + line*line_step + pos*pix_step.
std::vector<at::Tensor> pass_lists(const bool* m, const int64_t* row_of,
                                   int64_t n, int64_t hw, int64_t lines_per_image, int64_t len,
                                   int64_t line_step, int64_t pix_step,
                                   const at::TensorOptions& opts) {
  // The same line lists as the dense operator builds, with queries named by site row.
  const cpu::cca::LineLists lists = cpu::cca::build_lines(
      m, n, hw, lines_per_image, len, line_step, pix_step,
      [row_of](int64_t pix) { return row_of[pix]; });
  std::vector<at::Tensor> out;
  for (const auto* v : {&lists.q_ptr, &lists.q_id, &lists.q_split, &lists.k_ptr, &lists.k_pix}) {
    at::Tensor t = at::empty({static_cast<int64_t>(v->size())}, opts);
    if (!v->empty()) std::memcpy(t.data_ptr<int64_t>(), v->data(), sizeof(int64_t) * v->size());
    out.push_back(t);
  }
  return out;
}

}  // namespace

std::vector<at::Tensor> site_plan_cpu(const at::Tensor& mask, int64_t kernel_size,
                                      int64_t dilation) {
  const int64_t n = mask.size(0), h = mask.size(2), w = mask.size(3), hw = h * w;
  const at::Tensor mc = (mask.reshape({n * hw}) != 0).contiguous();
  const bool* m = mc.const_data_ptr<bool>();
  const at::TensorOptions lopt = mask.options().dtype(at::kLong);
  at::Tensor row_of = at::empty({n * hw}, lopt);
  int64_t* ro = row_of.data_ptr<int64_t>();
  int64_t p_total = 0;
  for (int64_t pix = 0; pix < n * hw; ++pix) ro[pix] = m[pix] ? p_total++ : -1;
  at::Tensor active = at::empty({p_total}, lopt);
  int64_t* ap = active.data_ptr<int64_t>();
  for (int64_t pix = 0; pix < n * hw; ++pix) {
    if (m[pix]) ap[ro[pix]] = pix;
  }
  // Neighbour table (as sparse_plan_cpu), from the pixel -> row map.
  const int64_t taps = kernel_size * kernel_size, r = kernel_size / 2;
  at::Tensor nbr = at::empty({p_total, taps}, mask.options().dtype(at::kInt));
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
          *out++ = inside ? static_cast<int32_t>(ro[img * hw + ii * w + jj]) : -1;
        }
      }
    }
  });
  std::vector<at::Tensor> out{active, row_of, nbr};
  for (const at::Tensor& t : pass_lists(m, ro, n, hw, h, w, w, 1, lopt)) out.push_back(t);
  for (const at::Tensor& t : pass_lists(m, ro, n, hw, w, h, 1, w, lopt)) out.push_back(t);
  return out;
}

}  // namespace spairkit
