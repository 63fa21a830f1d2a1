// CUDA launchers of the compact (site-list) path (kernels in
// kernels/compact_kernel.cuh; the gather is the sparse conv's gather_rows_cuda): device guard, current stream, dtype dispatch
// (half/bf16 accumulate in float32), checked launches, nothing launched for an
// empty plan. The plan itself is built on the GPU by the tensor operations of
// spairkit.ops.sites.reference_site_plan.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>

#include "compact_kernel.cuh"
#include "spairkit_ops.h"

namespace spairkit {

using cuda::blocks_for;
using cuda::kThreads;

namespace {

constexpr int kWarpsPerBlock = 4;

cuda::DenseMap dense_map(const at::Tensor& t) {
  return {t.stride(0), t.stride(1), t.stride(2), t.stride(3), t.size(2) * t.size(3), t.size(3)};
}

cuda::LinePass line_pass(const std::vector<at::Tensor>& lists, size_t first, int64_t dir0) {
  return {lists[first].const_data_ptr<int64_t>(),
          lists[first + 1].const_data_ptr<int64_t>(),
          lists[first + 2].const_data_ptr<int64_t>(),
          lists[first + 3].const_data_ptr<int64_t>(),
          lists[first + 4].const_data_ptr<int64_t>(),
          lists[first].size(0) - 1,
          lists[first + 1].size(0),
          lists[first + 4].size(0),
          dir0};
}

int64_t warp_blocks(int64_t items) {
  return std::max<int64_t>(1, std::min<int64_t>((items + kWarpsPerBlock - 1) / kWarpsPerBlock,
                                                cuda::kMaxBlocks));
}

}  // namespace

at::Tensor scatter_sites_cuda(const at::Tensor& dense, const at::Tensor& rows_in,
                              const at::Tensor& active) {
  const c10::cuda::CUDAGuard guard(dense.device());
  at::Tensor out = dense.clone();
  const int64_t p_total = active.size(0), c = dense.size(1);
  if (p_total == 0 || c == 0) return out;
  const at::Tensor rows = rows_in.to(dense.scalar_type()).contiguous();
  const auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, out.scalar_type(),
                                  "scatter_sites_cuda", [&] {
    cuda::write_sites_kernel<scalar_t><<<blocks_for(p_total * c), kThreads, 0, stream>>>(
        rows.const_data_ptr<scalar_t>(), active.const_data_ptr<int64_t>(),
        out.data_ptr<scalar_t>(), p_total, c, out.size(2), out.size(3), out.stride(0),
        out.stride(1), out.stride(2), out.stride(3));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor halo_cols_cuda(const at::Tensor& rows_in, const at::Tensor& dense,
                          const at::Tensor& active, const at::Tensor& nbr, int64_t kernel_size,
                          int64_t dilation) {
  const c10::cuda::CUDAGuard guard(rows_in.device());
  const at::Tensor rows = rows_in.contiguous();
  const int64_t p_total = rows.size(0), c = rows.size(1), nt = kernel_size * kernel_size;
  at::Tensor cols = at::empty({p_total, nt * c}, rows.options());
  if (p_total == 0 || c == 0) return cols;
  const auto stream = at::cuda::getCurrentCUDAStream();
  const cuda::Taps taps{kernel_size, kernel_size / 2, dilation};
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(), "halo_cols_cuda",
                                  [&] {
    cuda::halo_cols_kernel<scalar_t><<<blocks_for(p_total * nt * c), kThreads, 0, stream>>>(
        rows.const_data_ptr<scalar_t>(), dense.const_data_ptr<scalar_t>(),
        active.const_data_ptr<int64_t>(), nbr.const_data_ptr<int32_t>(),
        cols.data_ptr<scalar_t>(), p_total, c, dense.size(2), dense.size(3), taps,
        dense.stride(0), dense.stride(1), dense.stride(2), dense.stride(3));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return cols;
}

std::tuple<at::Tensor, at::Tensor> halo_cols_backward_cuda(
    const at::Tensor& gcols_in, const at::Tensor& active, const at::Tensor& nbr,
    const at::Tensor& row_of, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kernel_size,
    int64_t dilation) {
  const c10::cuda::CUDAGuard guard(gcols_in.device());
  const at::Tensor gcols = gcols_in.contiguous();
  const int64_t p_total = gcols.size(0), nt = kernel_size * kernel_size;
  at::Tensor g_rows = at::empty({p_total, c}, gcols.options());
  at::Tensor g_dense = at::empty({n, c, h, w}, gcols.options());
  if (n * c * h * w == 0) return {g_rows, g_dense};
  const auto stream = at::cuda::getCurrentCUDAStream();
  const cuda::Taps taps{kernel_size, kernel_size / 2, dilation};
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, gcols.scalar_type(),
                                  "halo_cols_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    if (p_total > 0) {
      cuda::halo_rows_grad_kernel<scalar_t, acc_t>
          <<<blocks_for(p_total * c), kThreads, 0, stream>>>(
              gcols.const_data_ptr<scalar_t>(), nbr.const_data_ptr<int32_t>(),
              g_rows.data_ptr<scalar_t>(), p_total, c, nt);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    cuda::halo_dense_grad_kernel<scalar_t, acc_t>
        <<<blocks_for(n * c * h * w), kThreads, 0, stream>>>(
            gcols.const_data_ptr<scalar_t>(), row_of.const_data_ptr<int64_t>(),
            g_dense.data_ptr<scalar_t>(), n, c, h, w, taps);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {g_rows, g_dense};
}

at::Tensor cca_sites_forward_cuda(const at::Tensor& q_rows_in, const at::Tensor& key,
                                  const at::Tensor& value, const at::Tensor& w_rows_in,
                                  const std::vector<at::Tensor>& lists, double scale) {
  const c10::cuda::CUDAGuard guard(value.device());
  const at::Tensor q_rows = q_rows_in.contiguous(), w_rows = w_rows_in.contiguous();
  const int64_t p_total = q_rows.size(0), cq = q_rows.size(1), c = value.size(1);
  at::Tensor out = at::zeros({p_total, c}, q_rows.options());
  if (p_total == 0) return out;
  const auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, value.scalar_type(),
                                  "cca_sites_forward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const size_t smem = sizeof(acc_t) * 2 * c * kWarpsPerBlock;
    TORCH_CHECK(smem <= 48 * 1024, "masked criss-cross on sites: ", c,
                " value channels exceed the shared memory of a block");
    for (const size_t first : {size_t{0}, size_t{5}}) {  // row pass writes, column pass adds
      const cuda::LinePass lp = line_pass(lists, first, first == 0 ? 0 : 2);
      if (lp.queries == 0 || lp.keys == 0) continue;
      cuda::cca_sites_forward_kernel<scalar_t, acc_t>
          <<<warp_blocks(lp.queries), kWarpsPerBlock * cuda::kWarp, smem, stream>>>(
              q_rows.const_data_ptr<scalar_t>(), key.const_data_ptr<scalar_t>(),
              value.const_data_ptr<scalar_t>(), w_rows.const_data_ptr<scalar_t>(),
              out.data_ptr<scalar_t>(), lp, dense_map(key), dense_map(value), cq, c,
              static_cast<acc_t>(scale));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_sites_backward_cuda(
    const at::Tensor& grad_out_in, const at::Tensor& q_rows_in, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& w_rows_in, const std::vector<at::Tensor>& lists,
    double scale) {
  const c10::cuda::CUDAGuard guard(value.device());
  const at::Tensor grad_out = grad_out_in.contiguous(), q_rows = q_rows_in.contiguous();
  const at::Tensor w_rows = w_rows_in.contiguous();
  const int64_t p_total = q_rows.size(0), cq = q_rows.size(1), c = value.size(1);
  at::Tensor gq = at::zeros_like(q_rows), gw = at::zeros_like(w_rows);
  at::Tensor gk = at::zeros(key.sizes(), key.options());
  at::Tensor gv = at::zeros(value.sizes(), value.options());
  const bool shared = key.is_same(value);
  if (p_total > 0) {
    const auto stream = at::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, value.scalar_type(),
                                    "cca_sites_backward_cuda", [&] {
      using acc_t = at::opmath_type<scalar_t>;
      for (const size_t first : {size_t{0}, size_t{5}}) {
        const cuda::LinePass lp = line_pass(lists, first, first == 0 ? 0 : 2);
        if (lp.queries == 0 || lp.keys == 0) continue;
        at::Tensor stats = at::empty({lp.queries, 4}, q_rows.options().dtype(
                                                          c10::CppTypeToScalarType<acc_t>::value));
        cuda::cca_sites_query_grad_kernel<scalar_t, acc_t>
            <<<warp_blocks(lp.queries), kWarpsPerBlock * cuda::kWarp, 0, stream>>>(
                grad_out.const_data_ptr<scalar_t>(), q_rows.const_data_ptr<scalar_t>(),
                key.const_data_ptr<scalar_t>(), value.const_data_ptr<scalar_t>(),
                w_rows.const_data_ptr<scalar_t>(), gq.data_ptr<scalar_t>(),
                gw.data_ptr<scalar_t>(), stats.data_ptr<acc_t>(), lp, dense_map(key),
                dense_map(value), cq, c, static_cast<acc_t>(scale));
        C10_CUDA_KERNEL_LAUNCH_CHECK();
        cuda::cca_sites_key_grad_kernel<scalar_t, acc_t>
            <<<warp_blocks(lp.keys), kWarpsPerBlock * cuda::kWarp, 0, stream>>>(
                grad_out.const_data_ptr<scalar_t>(), q_rows.const_data_ptr<scalar_t>(),
                key.const_data_ptr<scalar_t>(), value.const_data_ptr<scalar_t>(),
                w_rows.const_data_ptr<scalar_t>(), stats.const_data_ptr<acc_t>(),
                gk.data_ptr<scalar_t>(), gv.data_ptr<scalar_t>(), lp, dense_map(key),
                dense_map(value), dense_map(gk), dense_map(gv), cq, c,
                static_cast<acc_t>(scale));
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      }
    });
  }
  // As on the CPU: one tensor's whole gradient as the key's when key is value.
  if (shared) return {gq, gk.add_(gv), at::Tensor(), gw};
  return {gq, gk, gv, gw};
}

}  // namespace spairkit
