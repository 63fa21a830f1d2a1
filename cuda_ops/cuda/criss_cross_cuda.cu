// CUDA launchers of the masked criss-cross attention (kernels in
// kernels/criss_cross_kernel.cuh): device guard, current stream, dtype dispatch
// (half/bf16 accumulate in float32), checked launches, and nothing launched for
// an image batch without degraded pixels.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "criss_cross_kernel.cuh"
#include "spairkit_ops.h"

namespace spairkit {
namespace {

constexpr int64_t kSharedBudget = 48 * 1024;  // default dynamic shared memory per block

// Warps per block so that `floats_per_warp` accumulators of each warp fit.
int warps_per_block(int64_t floats_per_warp, int64_t elem_size) {
  const int64_t per_warp = floats_per_warp * elem_size;
  TORCH_CHECK(per_warp <= kSharedBudget, "masked_criss_cross_attention: ", floats_per_warp,
              " channels of accumulators exceed the shared memory of a block");
  int64_t warps = kSharedBudget / (per_warp > 0 ? per_warp : 1);
  return static_cast<int>(warps < 1 ? 1 : (warps > 8 ? 8 : warps));
}

at::Tensor pixel_major(const at::Tensor& t) { return t.permute({0, 2, 3, 1}).contiguous(); }

at::Tensor from_pixel_major(const at::Tensor& pm, const at::Tensor& like) {
  return pm.permute({0, 3, 1, 2}).contiguous(like.suggest_memory_format());
}

cuda::Geometry geometry(const at::Tensor& query, const at::Tensor& value) {
  const int64_t h = value.size(2), w = value.size(3);
  return {h, w, h * w, query.size(1), value.size(1)};
}

at::ScalarType acc_type(at::ScalarType t) {
  return t == at::kDouble ? at::kDouble : at::kFloat;
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> cca_forward_cuda(const at::Tensor& query,
                                                    const at::Tensor& key,
                                                    const at::Tensor& value,
                                                    const at::Tensor& mask,
                                                    const at::Tensor& weights, double scale) {
  const c10::cuda::CUDAGuard guard(value.device());
  const cuda::Geometry g = geometry(query, value);
  const int64_t n = value.size(0);
  const at::Tensor m = (mask.reshape({n * g.hw}) != 0).contiguous();
  const at::Tensor deg = at::nonzero(m).squeeze(1).contiguous();
  const int64_t p_total = deg.size(0);
  at::Tensor out = at::zeros({n, g.h, g.w, g.c}, value.options());
  at::Tensor lse = at::empty({p_total, 4}, value.options().dtype(acc_type(value.scalar_type())));
  if (p_total == 0) return {from_pixel_major(out, value), lse};
  const at::Tensor q = pixel_major(query), k = pixel_major(key), v = pixel_major(value);
  const at::Tensor w = weights.contiguous();
  const auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, value.scalar_type(),
                                  "cca_forward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const int warps = warps_per_block(2 * g.c, sizeof(acc_t));
    const int64_t blocks = (p_total + warps - 1) / warps;
    cuda::cca_forward_kernel<scalar_t, acc_t>
        <<<blocks, warps * cuda::kWarp, warps * 2 * g.c * sizeof(acc_t), stream>>>(
            q.const_data_ptr<scalar_t>(), k.const_data_ptr<scalar_t>(),
            v.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(), m.const_data_ptr<bool>(),
            deg.const_data_ptr<int64_t>(), p_total, g, static_cast<acc_t>(scale),
            out.data_ptr<scalar_t>(), lse.data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {from_pixel_major(out, value), lse};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_backward_cuda(
    const at::Tensor& grad_out, const at::Tensor& query, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& mask, const at::Tensor& weights, double scale,
    const at::Tensor& lse) {
  const c10::cuda::CUDAGuard guard(value.device());
  const cuda::Geometry g = geometry(query, value);
  const int64_t n = value.size(0);
  const at::Tensor m = (mask.reshape({n * g.hw}) != 0).contiguous();
  const at::Tensor deg = at::nonzero(m).squeeze(1).contiguous();
  const int64_t p_total = deg.size(0);
  TORCH_CHECK(lse.dim() == 2 && lse.size(0) == p_total && lse.size(1) == 4,
              "masked_criss_cross_attention backward: stats do not match the mask");
  at::Tensor gq = at::zeros({n, g.h, g.w, g.cq}, query.options());
  at::Tensor gk = at::zeros({n, g.h, g.w, g.cq}, key.options());
  at::Tensor gv = at::zeros({n, g.h, g.w, g.c}, value.options());
  at::Tensor gw = at::zeros({n, 4, g.h, g.w}, weights.options());
  if (p_total > 0) {
    const at::Tensor q = pixel_major(query), k = pixel_major(key), v = pixel_major(value);
    const at::Tensor go = pixel_major(grad_out), w = weights.contiguous();
    const at::Tensor stats = lse.contiguous();
    at::Tensor dsum = at::empty({p_total, 4}, stats.options());
    // CSR of the queries per row (they are in row-major order) and per column.
    const at::Tensor m3 = m.view({n, g.h, g.w});
    const at::Tensor zero = at::zeros({1}, deg.options());
    const at::Tensor row_ptr = at::cat({zero, m3.sum(2, false, at::kLong).reshape(-1).cumsum(0)});
    const at::Tensor col_ptr =
        at::cat({zero, m3.sum(1, false, at::kLong).reshape(-1).cumsum(0)});
    at::Tensor query_of = at::full({n * g.hw}, -1, deg.options());
    query_of.index_put_({deg}, at::arange(p_total, deg.options()));
    const at::Tensor col_nz = at::nonzero(m3.transpose(1, 2));  // (n, j, i), column-major
    const at::Tensor col_pix = col_nz.select(1, 0) * g.hw + col_nz.select(1, 2) * g.w +
                               col_nz.select(1, 1);
    const at::Tensor col_items = query_of.index_select(0, col_pix).contiguous();
    const auto stream = at::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, value.scalar_type(),
                                    "cca_backward_cuda", [&] {
      using acc_t = at::opmath_type<scalar_t>;
      TORCH_CHECK(stats.scalar_type() == c10::CppTypeToScalarType<acc_t>::value,
                  "masked_criss_cross_attention backward: stats have the wrong dtype");
      const int wq = warps_per_block(3 * g.cq, sizeof(acc_t));
      cuda::cca_backward_query_kernel<scalar_t, acc_t>
          <<<(p_total + wq - 1) / wq, wq * cuda::kWarp, wq * 3 * g.cq * sizeof(acc_t), stream>>>(
              q.const_data_ptr<scalar_t>(), k.const_data_ptr<scalar_t>(),
              v.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(),
              m.const_data_ptr<bool>(), deg.const_data_ptr<int64_t>(),
              go.const_data_ptr<scalar_t>(), stats.const_data_ptr<acc_t>(), p_total, g,
              static_cast<acc_t>(scale), gq.data_ptr<scalar_t>(), gw.data_ptr<scalar_t>(),
              dsum.data_ptr<acc_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      const int64_t n_pixels = n * g.hw;
      const int wk = warps_per_block(g.cq + g.c, sizeof(acc_t));
      cuda::cca_backward_key_kernel<scalar_t, acc_t>
          <<<(n_pixels + wk - 1) / wk, wk * cuda::kWarp, wk * (g.cq + g.c) * sizeof(acc_t),
             stream>>>(
              q.const_data_ptr<scalar_t>(), k.const_data_ptr<scalar_t>(),
              v.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(),
              m.const_data_ptr<bool>(), deg.const_data_ptr<int64_t>(),
              go.const_data_ptr<scalar_t>(), stats.const_data_ptr<acc_t>(),
              dsum.const_data_ptr<acc_t>(), row_ptr.const_data_ptr<int64_t>(),
              col_ptr.const_data_ptr<int64_t>(), col_items.const_data_ptr<int64_t>(), n_pixels,
              g, static_cast<acc_t>(scale), gk.data_ptr<scalar_t>(), gv.data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  return {from_pixel_major(gq, query), from_pixel_major(gk, key), from_pixel_major(gv, value),
          gw.contiguous(weights.suggest_memory_format())};
}

}  // namespace spairkit
