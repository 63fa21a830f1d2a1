// CUDA launchers of the sparse convolution building blocks (see
// kernels/sparse_conv_kernel.cuh); the composition and GEMMs are in
// bindings/sparse_conv.cpp. Every launcher guards the device, runs on the
// current stream, checks the launch and launches nothing for an empty plan.
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <limits>

#include "sparse_conv_kernel.cuh"
#include "spairkit_ops.h"

namespace spairkit {

using cuda::blocks_for;
using cuda::kThreads;

std::tuple<at::Tensor, at::Tensor> sparse_plan_cuda(const at::Tensor& mask, int64_t kernel_size,
                                                    int64_t dilation) {
  const c10::cuda::CUDAGuard guard(mask.device());
  const int64_t n = mask.size(0), h = mask.size(2), w = mask.size(3);
  TORCH_CHECK(n * h * w < std::numeric_limits<int32_t>::max(),
              "sparse_conv2d: N*H*W must be below 2^31");
  const at::Tensor flat = mask.reshape({n * h * w}) != 0;
  const at::Tensor active = at::nonzero(flat).squeeze(1).contiguous();  // row-major order
  const int64_t p_total = active.size(0);
  const int64_t taps = kernel_size * kernel_size;
  at::Tensor nbr = at::empty({p_total, taps}, mask.options().dtype(at::kInt));
  if (p_total == 0) return {active, nbr};
  at::Tensor row_of = at::full({n * h * w}, -1, mask.options().dtype(at::kInt));
  row_of.index_put_({active}, at::arange(p_total, mask.options().dtype(at::kInt)));
  const auto stream = at::cuda::getCurrentCUDAStream();
  cuda::plan_neighbours_kernel<<<blocks_for(p_total * taps), kThreads, 0, stream>>>(
      active.const_data_ptr<int64_t>(), row_of.const_data_ptr<int32_t>(),
      nbr.data_ptr<int32_t>(), p_total, h, w, kernel_size, dilation);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {active, nbr};
}

at::Tensor gather_rows_cuda(const at::Tensor& src, const at::Tensor& active) {
  const c10::cuda::CUDAGuard guard(src.device());
  const int64_t p_total = active.size(0), c = src.size(1);
  at::Tensor rows = at::empty({p_total, c}, src.options());
  if (p_total == 0 || c == 0) return rows;
  const auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, src.scalar_type(),
                                  "gather_rows_cuda", [&] {
    cuda::gather_rows_kernel<scalar_t><<<blocks_for(p_total * c), kThreads, 0, stream>>>(
        src.const_data_ptr<scalar_t>(), active.const_data_ptr<int64_t>(),
        rows.data_ptr<scalar_t>(), p_total, c, src.size(2), src.size(3), src.stride(0),
        src.stride(1), src.stride(2), src.stride(3));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return rows;
}

at::Tensor gather_cols_cuda(const at::Tensor& rows_in, const at::Tensor& nbr) {
  const c10::cuda::CUDAGuard guard(rows_in.device());
  const at::Tensor rows = rows_in.contiguous();
  const int64_t p_total = rows.size(0), c = rows.size(1), taps = nbr.size(1);
  at::Tensor cols = at::empty({p_total, taps * c}, rows.options());
  if (p_total == 0 || c == 0) return cols;
  const auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(),
                                  "gather_cols_cuda", [&] {
    cuda::gather_cols_kernel<scalar_t><<<blocks_for(p_total * taps * c), kThreads, 0, stream>>>(
        rows.const_data_ptr<scalar_t>(), nbr.const_data_ptr<int32_t>(),
        cols.data_ptr<scalar_t>(), p_total, taps, c);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return cols;
}

at::Tensor sparse_gemm_cuda(const at::Tensor& rows, const at::Tensor& nbr,
                            const at::Tensor& wmat, const std::optional<at::Tensor>& bias) {
  // On the GPU one im2col buffer and one cuBLAS GEMM (fp32 accumulation for
  // half/bf16) beat tiling: the buffer is small next to device memory bandwidth.
  const c10::cuda::CUDAGuard guard(rows.device());
  const at::Tensor cols = nbr.size(1) == 1 ? rows : gather_cols_cuda(rows, nbr);
  return bias ? at::addmm(*bias, cols, wmat.t()) : at::mm(cols, wmat.t());
}

at::Tensor scatter_rows_cuda(const at::Tensor& rows_in, const at::Tensor& active, int64_t n,
                             int64_t h, int64_t w, at::MemoryFormat format) {
  const c10::cuda::CUDAGuard guard(rows_in.device());
  const at::Tensor rows = rows_in.contiguous();
  const int64_t p_total = rows.size(0), c = rows.size(1);
  at::Tensor out = at::empty({n, c, h, w}, rows.options(), format).zero_();
  if (p_total == 0 || c == 0) return out;
  const auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, rows.scalar_type(),
                                  "scatter_rows_cuda", [&] {
    cuda::scatter_rows_kernel<scalar_t><<<blocks_for(p_total * c), kThreads, 0, stream>>>(
        rows.const_data_ptr<scalar_t>(), active.const_data_ptr<int64_t>(),
        out.data_ptr<scalar_t>(), p_total, c, h, w, out.stride(0), out.stride(1), out.stride(2),
        out.stride(3));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace spairkit
