// Compact (site-list) path of the mask-guided blocks: argument checks and
// device dispatch. Every entry point is a plain function of tensors
// (and ints/floats), so it can be registered as a torch.library op unchanged.
//
// Compact convolution: the SC layers are submanifold convolutions on the rows;
// they reuse the sparse-conv building blocks (sparse_gemm on the rows with the
// plan's neighbour table, and for backward the flipped-weight GEMM on the same
// table), exposed here as rows -> rows functions.
#include "entry_points.h"

namespace spairkit {
namespace {

void check_sites(const at::Tensor& rows, const at::Tensor& active, const char* what) {
  TORCH_CHECK(rows.dim() == 2, what, ": rows must be (P, C)");
  TORCH_CHECK(active.scalar_type() == at::kLong && active.dim() == 1 && active.is_contiguous() &&
                  active.size(0) == rows.size(0),
              what, ": active must be a contiguous int64 (P,) tensor with one entry per row");
  TORCH_CHECK(active.device() == rows.device(), what, ": rows and plan on different devices");
}

void check_nbr(const at::Tensor& nbr, int64_t p_total, int64_t kernel_size, const char* what) {
  TORCH_CHECK(nbr.scalar_type() == at::kInt && nbr.dim() == 2 && nbr.is_contiguous() &&
                  nbr.size(0) == p_total && nbr.size(1) == kernel_size * kernel_size,
              what, ": nbr must be a contiguous int32 (P, k*k) tensor");
}

}  // namespace

std::vector<at::Tensor> site_plan(const at::Tensor& mask, int64_t kernel_size, int64_t dilation) {
  TORCH_CHECK(mask.dim() == 4 && mask.size(1) == 1, "site_plan: mask must be (N, 1, H, W)");
  TORCH_CHECK(kernel_size >= 1 && kernel_size % 2 == 1, "site_plan: kernel size must be odd");
  TORCH_CHECK(dilation >= 1, "site_plan: dilation must be >= 1");
  TORCH_CHECK(mask.device().is_cpu(), "site_plan: the compiled plan builder runs on CPU masks "
              "(CUDA masks use the tensor-operation builder of spairkit.ops.sites)");
  return site_plan_cpu(mask, kernel_size, dilation);
}

at::Tensor gather_sites(const at::Tensor& dense, const at::Tensor& active) {
  TORCH_CHECK(dense.dim() == 4, "gather_sites: dense must be (N, C, H, W)");
  TORCH_CHECK(active.scalar_type() == at::kLong && active.dim() == 1 && active.is_contiguous(),
              "gather_sites: active must be a contiguous int64 (P,) tensor");
  return SPAIRKIT_DISPATCH_DEVICE(dense, gather_rows, dense, active);
}

// (N, C, H, W) contiguous, zero except rows[p] at pixel active[p].
at::Tensor scatter_sites_zero(const at::Tensor& rows, const at::Tensor& active, int64_t n,
                              int64_t h, int64_t w) {
  check_sites(rows, active, "scatter_sites_zero");
  return SPAIRKIT_DISPATCH_DEVICE(rows, scatter_rows, rows, active, n, h, w,
                                  at::MemoryFormat::Contiguous);
}

at::Tensor scatter_sites(const at::Tensor& dense, const at::Tensor& rows,
                         const at::Tensor& active) {
  TORCH_CHECK(dense.dim() == 4, "scatter_sites: dense must be (N, C, H, W)");
  check_sites(rows, active, "scatter_sites");
  TORCH_CHECK(rows.size(1) == dense.size(1), "scatter_sites: rows have ", rows.size(1),
              " channels, dense has ", dense.size(1));
  return SPAIRKIT_DISPATCH_DEVICE(dense, scatter_sites, dense, rows, active);
}

// rows (P, Cin) -> (P, Cout): out[p] = sum_t rows[nbr[p, t]] W_t^T (+ bias).
at::Tensor site_conv_forward(const at::Tensor& rows, const at::Tensor& weight,
                             const std::optional<at::Tensor>& bias, const at::Tensor& nbr) {
  TORCH_CHECK(rows.dim() == 2 && weight.dim() == 4 && weight.size(1) == rows.size(1) &&
                  weight.size(2) == weight.size(3),
              "site_conv: rows (P, Cin) and weight (Cout, Cin, k, k) do not match");
  check_nbr(nbr, rows.size(0), weight.size(2), "site_conv");
  const int64_t cout = weight.size(0), cin = weight.size(1), k = weight.size(2);
  const at::Tensor wmat = weight.permute({0, 2, 3, 1}).reshape({cout, k * k * cin});
  return SPAIRKIT_DISPATCH_DEVICE(rows, sparse_gemm, rows, nbr, wmat, bias);
}

// -> (grad_rows, grad_weight, grad_bias); the gradients not asked for are undefined.
std::tuple<at::Tensor, at::Tensor, at::Tensor> site_conv_backward(
    const at::Tensor& grad_out, const at::Tensor& rows, const at::Tensor& weight,
    const at::Tensor& nbr, bool need_rows, bool need_weight, bool need_bias) {
  const int64_t cout = weight.size(0), cin = weight.size(1), k = weight.size(2);
  check_nbr(nbr, rows.size(0), k, "site_conv backward");
  TORCH_CHECK(grad_out.dim() == 2 && grad_out.size(0) == rows.size(0) && grad_out.size(1) == cout,
              "site_conv backward: grad_out must be (P, Cout)");
  const at::Tensor go = grad_out.to(rows.scalar_type()).contiguous();
  at::Tensor g_rows, g_w, g_b;
  if (need_bias) g_b = go.sum(0);
  if (need_weight) {
    const at::Tensor cols =
        k == 1 ? rows : SPAIRKIT_DISPATCH_DEVICE(rows, gather_cols, rows, nbr);
    g_w = at::mm(go.t(), cols).view({cout, k, k, cin}).permute({0, 3, 1, 2}).contiguous();
  }
  if (need_rows) {
    // The input gradient of a submanifold convolution is the submanifold
    // convolution with the flipped, transposed weights on the same neighbour table.
    const at::Tensor wt = weight.flip({2, 3}).permute({1, 2, 3, 0}).reshape({cin, k * k * cout});
    g_rows = SPAIRKIT_DISPATCH_DEVICE(rows, sparse_gemm, go, nbr, wt, std::nullopt);
  }
  return {g_rows, g_w, g_b};
}

at::Tensor halo_cols(const at::Tensor& rows, const at::Tensor& dense, const at::Tensor& active,
                     const at::Tensor& nbr, int64_t kernel_size, int64_t dilation) {
  check_sites(rows, active, "halo_cols");
  check_nbr(nbr, rows.size(0), kernel_size, "halo_cols");
  TORCH_CHECK(dense.dim() == 4 && dense.size(1) == rows.size(1) &&
                  dense.scalar_type() == rows.scalar_type() && dense.device() == rows.device(),
              "halo_cols: dense must be (N, C, H, W) with the dtype and device of rows");
  return SPAIRKIT_DISPATCH_DEVICE(rows, halo_cols, rows, dense, active, nbr, kernel_size,
                                  dilation);
}

std::tuple<at::Tensor, at::Tensor> halo_cols_backward(
    const at::Tensor& gcols, const at::Tensor& active, const at::Tensor& nbr,
    const at::Tensor& row_of, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kernel_size,
    int64_t dilation) {
  check_sites(gcols, active, "halo_cols backward");
  check_nbr(nbr, gcols.size(0), kernel_size, "halo_cols backward");
  TORCH_CHECK(gcols.size(1) == kernel_size * kernel_size * c,
              "halo_cols backward: gcols must be (P, k*k*C)");
  TORCH_CHECK(row_of.scalar_type() == at::kLong && row_of.is_contiguous() &&
                  row_of.numel() == n * h * w,
              "halo_cols backward: row_of must be a contiguous int64 (N*H*W,) tensor");
  return SPAIRKIT_DISPATCH_DEVICE(gcols, halo_cols_backward, gcols, active, nbr, row_of, n, c,
                                  h, w, kernel_size, dilation);
}

namespace {
void check_cca_sites(const at::Tensor& q_rows, const at::Tensor& key, const at::Tensor& value,
                     const at::Tensor& w_rows, const std::vector<at::Tensor>& lists) {
  TORCH_CHECK(q_rows.dim() == 2 && key.dim() == 4 && key.size(1) == q_rows.size(1),
              "cca_sites: q_rows (P, Cq) and key (N, Cq, H, W) do not match");
  TORCH_CHECK(value.dim() == 4 && value.size(0) == key.size(0) && value.size(2) == key.size(2) &&
                  value.size(3) == key.size(3),
              "cca_sites: value must be (N, C, H, W) with N, H, W of key");
  TORCH_CHECK(w_rows.dim() == 2 && w_rows.size(0) == q_rows.size(0) && w_rows.size(1) == 4,
              "cca_sites: w_rows must be (P, 4)");
  TORCH_CHECK(lists.size() == 10, "cca_sites: expected the 5 line lists of each of 2 passes");
  for (const at::Tensor* t : {&key, &value, &w_rows}) {
    TORCH_CHECK(t->scalar_type() == q_rows.scalar_type() && t->device() == q_rows.device(),
                "cca_sites: q_rows, key, value and w_rows must share dtype and device");
  }
  for (const at::Tensor& t : lists) {
    TORCH_CHECK(t.device() == q_rows.device(), "cca_sites: line lists on another device");
  }
}
}  // namespace

at::Tensor cca_sites_forward(const at::Tensor& q_rows, const at::Tensor& key,
                             const at::Tensor& value, const at::Tensor& w_rows,
                             const std::vector<at::Tensor>& lists, double scale) {
  check_cca_sites(q_rows, key, value, w_rows, lists);
  return SPAIRKIT_DISPATCH_DEVICE(value, cca_sites_forward, q_rows, key, value, w_rows, lists,
                                  scale);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_sites_backward(
    const at::Tensor& grad_out, const at::Tensor& q_rows, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& w_rows, const std::vector<at::Tensor>& lists,
    double scale) {
  check_cca_sites(q_rows, key, value, w_rows, lists);
  TORCH_CHECK(grad_out.dim() == 2 && grad_out.size(0) == q_rows.size(0) &&
                  grad_out.size(1) == value.size(1),
              "cca_sites backward: grad_out must be (P, C)");
  return SPAIRKIT_DISPATCH_DEVICE(value, cca_sites_backward, grad_out.to(value.scalar_type()),
                                  q_rows, key, value, w_rows, lists, scale);
}

}  // namespace spairkit
