// Declarations shared by the CPU implementations, the CUDA launchers and the
// bindings of spairkit's compiled operators (see docs/operators.md).
//
// Layout (as in MMCV): kernels/ holds device code shared by the launchers,
// cpu/ the ATen CPU implementations, cuda/ the CUDA launchers, bindings/ one file
// per operator family that validates arguments and dispatches on the device, and
// module.cpp, the one file that registers them all with pybind11.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

namespace spairkit {

// ---------------------------------------------------------------- sparse conv
// A plan lists the active (degraded) pixels of a mask and, for each of them and
// each kernel tap, the row of the active neighbour in that list (-1 when the
// neighbour is clean or outside the image). It depends on the mask, the kernel
// size and the dilation only, so one plan serves every layer of an SC block.
//   active: int64 (P,)   flat pixel index n*H*W + i*W + j, row-major order
//   nbr:    int32 (P, k*k) row in `active` of the neighbour at tap (a, b), or -1
std::tuple<at::Tensor, at::Tensor> sparse_plan_cpu(const at::Tensor& mask, int64_t kernel_size,
                                                   int64_t dilation);
// rows (P, C) = src[n, :, i, j] at the active pixels; src may have any strides.
at::Tensor gather_rows_cpu(const at::Tensor& src, const at::Tensor& active);
// cols (P, T*C): cols[p, t*C + c] = rows[nbr[p, t], c], or 0 where nbr is -1.
at::Tensor gather_cols_cpu(const at::Tensor& rows, const at::Tensor& nbr);
// (P, Cout) = im2col(rows, nbr) @ wmat^T (+ bias); wmat is (Cout, T*C).
at::Tensor sparse_gemm_cpu(const at::Tensor& rows, const at::Tensor& nbr, const at::Tensor& wmat,
                           const std::optional<at::Tensor>& bias);
// out (N, C, H, W) in `format`, zero except at the active pixels, which get `rows`.
at::Tensor scatter_rows_cpu(const at::Tensor& rows, const at::Tensor& active, int64_t n,
                            int64_t h, int64_t w, at::MemoryFormat format);

#ifdef SPAIRKIT_WITH_CUDA
std::tuple<at::Tensor, at::Tensor> sparse_plan_cuda(const at::Tensor& mask, int64_t kernel_size,
                                                    int64_t dilation);
at::Tensor gather_rows_cuda(const at::Tensor& src, const at::Tensor& active);
at::Tensor gather_cols_cuda(const at::Tensor& rows, const at::Tensor& nbr);
at::Tensor sparse_gemm_cuda(const at::Tensor& rows, const at::Tensor& nbr,
                            const at::Tensor& wmat, const std::optional<at::Tensor>& bias);
at::Tensor scatter_rows_cuda(const at::Tensor& rows, const at::Tensor& active, int64_t n,
                             int64_t h, int64_t w, at::MemoryFormat format);
#endif

// ------------------------------------------------------- criss-cross attention
// Forward returns (out, stats). The CPU version recomputes in backward and
// returns an empty `stats`; the CUDA version returns the per-(query, direction)
// log-sum-exp (P, 4) float32 so that backward does not redo the softmax sums.
// mask: (N, 1, H, W) bool, true = degraded (query), false = clean (key).
std::tuple<at::Tensor, at::Tensor> cca_forward_cpu(const at::Tensor& query, const at::Tensor& key,
                                                   const at::Tensor& value, const at::Tensor& mask,
                                                   const at::Tensor& weights, double scale);
// Returns (grad_query, grad_key, grad_value, grad_weights).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_backward_cpu(
    const at::Tensor& grad_out, const at::Tensor& query, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& mask, const at::Tensor& weights, double scale,
    const at::Tensor& stats);

#ifdef SPAIRKIT_WITH_CUDA
std::tuple<at::Tensor, at::Tensor> cca_forward_cuda(const at::Tensor& query,
                                                    const at::Tensor& key,
                                                    const at::Tensor& value,
                                                    const at::Tensor& mask,
                                                    const at::Tensor& weights, double scale);
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_backward_cuda(
    const at::Tensor& grad_out, const at::Tensor& query, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& mask, const at::Tensor& weights, double scale,
    const at::Tensor& stats);
#endif

// ------------------------------------------------------------- compact path
// The sites of one mask level as rows (P, C) in the order of `active` (see
// cpu/compact_cpu.cpp and spairkit/ops/compact.py).
// The whole plan of a mask (N, 1, H, W): {active, row_of, nbr, then the
// row pass and the column pass line lists (q_ptr, q_idx, q_split, k_ptr, k_pix)},
// exactly as spairkit.ops.sites builds it with tensor operations.
std::vector<at::Tensor> site_plan_cpu(const at::Tensor& mask, int64_t kernel_size,
                                      int64_t dilation);
// out = dense with rows[p] written at pixel active[p] (clean pixels copied).
at::Tensor scatter_sites_cpu(const at::Tensor& dense, const at::Tensor& rows,
                             const at::Tensor& active);
// im2col (P, k*k*C) of a dense convolution at the sites: degraded neighbours
// from `rows` (nbr >= 0), clean ones from `dense`, outside the image 0.
at::Tensor halo_cols_cpu(const at::Tensor& rows, const at::Tensor& dense,
                         const at::Tensor& active, const at::Tensor& nbr, int64_t kernel_size,
                         int64_t dilation);
// Gradients of halo_cols: (grad_rows (P, C), grad_dense (N, C, H, W), 0 at sites).
// row_of: int64 (N*H*W) pixel -> row in `active`, -1 at clean pixels.
std::tuple<at::Tensor, at::Tensor> halo_cols_backward_cpu(
    const at::Tensor& gcols, const at::Tensor& active, const at::Tensor& nbr,
    const at::Tensor& row_of, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kernel_size,
    int64_t dilation);
// Masked criss-cross attention with the degraded queries as rows: q_rows (P, Cq),
// key (N, Cq, H, W) and value (N, C, H, W) read at the clean pixels of busy lines
// only, w_rows (P, 4) -> out rows (P, C). `lists`: the row pass then the column
// pass, each (q_ptr, q_idx, q_split, k_ptr, k_pix), all int64.
at::Tensor cca_sites_forward_cpu(const at::Tensor& q_rows, const at::Tensor& key,
                                 const at::Tensor& value, const at::Tensor& w_rows,
                                 const std::vector<at::Tensor>& lists, double scale);
// -> (grad_q_rows, grad_key (dense), grad_value (dense), grad_w_rows); when key and
// value are one tensor its whole gradient is grad_key and grad_value is undefined.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_sites_backward_cpu(
    const at::Tensor& grad_out, const at::Tensor& q_rows, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& w_rows,
    const std::vector<at::Tensor>& lists, double scale);

#ifdef SPAIRKIT_WITH_CUDA
at::Tensor scatter_sites_cuda(const at::Tensor& dense, const at::Tensor& rows,
                              const at::Tensor& active);
at::Tensor halo_cols_cuda(const at::Tensor& rows, const at::Tensor& dense,
                          const at::Tensor& active, const at::Tensor& nbr, int64_t kernel_size,
                          int64_t dilation);
std::tuple<at::Tensor, at::Tensor> halo_cols_backward_cuda(
    const at::Tensor& gcols, const at::Tensor& active, const at::Tensor& nbr,
    const at::Tensor& row_of, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kernel_size,
    int64_t dilation);
at::Tensor cca_sites_forward_cuda(const at::Tensor& q_rows, const at::Tensor& key,
                                  const at::Tensor& value, const at::Tensor& w_rows,
                                  const std::vector<at::Tensor>& lists, double scale);
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_sites_backward_cuda(
    const at::Tensor& grad_out, const at::Tensor& q_rows, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& w_rows,
    const std::vector<at::Tensor>& lists, double scale);
#endif

}  // namespace spairkit

// Calls fn_cuda(...) for a CUDA tensor `t` and fn_cpu(...) otherwise; a CUDA
// tensor reaching a CPU-only build is an error, not a silent copy.
namespace spairkit {
inline void require_cpu_build(const at::Tensor& t) {
  TORCH_CHECK(!t.is_cuda(),
              "spairkit ops: this build has no CUDA kernels (rebuild on a machine with a GPU "
              "and a CUDA toolkit: `spairkit ops build --cuda`)");
}
}  // namespace spairkit
#ifdef SPAIRKIT_WITH_CUDA
#define SPAIRKIT_DISPATCH_DEVICE(t, fn, ...) \
  ((t).is_cuda() ? spairkit::fn##_cuda(__VA_ARGS__) : spairkit::fn##_cpu(__VA_ARGS__))
#else
#define SPAIRKIT_DISPATCH_DEVICE(t, fn, ...) \
  (spairkit::require_cpu_build(t), spairkit::fn##_cpu(__VA_ARGS__))
#endif
