// Sparse convolution: argument checks, device dispatch and the device-agnostic
// composition gather -> im2col of the active sites -> GEMM -> scatter.
//
// Forward:  out_act = cols(x_act) @ W^T (+ bias), with W reshaped (Cout, k*k*Cin)
//   (sparse_gemm: tiled on the CPU so the im2col never exists for the whole image).
// Backward (no atomics): grad_bias = sum of grad_out over active sites;
//   grad_W = grad_out_act^T @ cols(x_act)   (one GEMM);
//   grad_x_act = cols(grad_out_act) @ W'^T, where W' is W flipped spatially and
//   transposed (Cin, k*k*Cout): the input gradient of a submanifold convolution is
//   itself a submanifold convolution on the same plan (neighbourhoods are symmetric).
// A full mask runs the dense convolution (and its backward): it is the same operator.
#include "entry_points.h"

namespace spairkit {
namespace {

void check_plan(const at::Tensor& ref, const at::Tensor& active, const at::Tensor& nbr,
                int64_t taps) {
  TORCH_CHECK(active.scalar_type() == at::kLong && active.dim() == 1,
              "sparse_conv2d: plan.active must be a 1-D int64 tensor");
  TORCH_CHECK(nbr.scalar_type() == at::kInt && nbr.dim() == 2 && nbr.size(0) == active.size(0),
              "sparse_conv2d: plan.nbr must be an int32 (P, k*k) tensor");
  TORCH_CHECK(nbr.size(1) == taps, "sparse_conv2d: the plan was built for a ", nbr.size(1),
              "-tap kernel but the weight has ", taps, " taps");
  TORCH_CHECK(active.device() == ref.device() && nbr.device() == ref.device(),
              "sparse_conv2d: plan and tensors must be on the same device");
  TORCH_CHECK(active.is_contiguous() && nbr.is_contiguous(),
              "sparse_conv2d: plan tensors must be contiguous");
}

void check_weight(const at::Tensor& x, const at::Tensor& weight) {
  TORCH_CHECK(x.dim() == 4, "sparse_conv2d: x must be (N, C, H, W)");
  TORCH_CHECK(weight.dim() == 4 && weight.size(2) == weight.size(3) && weight.size(2) % 2 == 1,
              "sparse_conv2d: weight must be (Cout, Cin, k, k) with odd k");
  TORCH_CHECK(weight.size(1) == x.size(1), "sparse_conv2d: weight has ", weight.size(1),
              " input channels, x has ", x.size(1));
  TORCH_CHECK(weight.scalar_type() == x.scalar_type() && weight.device() == x.device(),
              "sparse_conv2d: x and weight must share dtype and device");
}

at::Tensor im2col(const at::Tensor& rows, const at::Tensor& nbr) {
  // A 1x1 kernel's only tap is the site itself: the rows already are the columns.
  if (nbr.size(1) == 1) return rows;
  return SPAIRKIT_DISPATCH_DEVICE(rows, gather_cols, rows, nbr);
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> sparse_plan(const at::Tensor& mask, int64_t kernel_size,
                                               int64_t dilation) {
  TORCH_CHECK(mask.dim() == 4 && mask.size(1) == 1, "sparse_conv2d: mask must be (N, 1, H, W)");
  TORCH_CHECK(kernel_size >= 1 && kernel_size % 2 == 1, "sparse_conv2d: kernel size must be odd");
  TORCH_CHECK(dilation >= 1, "sparse_conv2d: dilation must be >= 1");
  return SPAIRKIT_DISPATCH_DEVICE(mask, sparse_plan, mask, kernel_size, dilation);
}

std::tuple<at::Tensor, at::Tensor> sparse_conv_forward(const at::Tensor& x,
                                                       const at::Tensor& weight,
                                                       const std::optional<at::Tensor>& bias,
                                                       const at::Tensor& active,
                                                       const at::Tensor& nbr, int64_t dilation) {
  check_weight(x, weight);
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t cout = weight.size(0), cin = weight.size(1), k = weight.size(2);
  check_plan(x, active, nbr, k * k);
  if (bias) {
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == cout &&
                    bias->scalar_type() == x.scalar_type() && bias->device() == x.device(),
                "sparse_conv2d: bias must be (Cout,) with the dtype and device of x");
  }
  const at::MemoryFormat format = x.suggest_memory_format();
  if (active.size(0) == n * h * w && n * h * w > 0) {
    // Every pixel is active: the submanifold convolution is the dense one (clean
    // neighbours only exist outside the image, where both pad with zeros), so the
    // backend's dense convolution runs. x itself is saved for the dense backward.
    const at::Tensor out = at::conv2d(x, weight, bias ? *bias : at::Tensor(), 1,
                                      dilation * (k / 2), dilation);
    return {out.contiguous(format), x};
  }
  at::Tensor x_act = SPAIRKIT_DISPATCH_DEVICE(x, gather_rows, x, active);
  if (active.size(0) == 0) {  // nothing to compute, nothing launched
    return {at::empty({n, cout, h, w}, x.options(), format).zero_(), x_act};
  }
  const at::Tensor wmat = weight.permute({0, 2, 3, 1}).reshape({cout, k * k * cin});
  const at::Tensor out_act = SPAIRKIT_DISPATCH_DEVICE(x, sparse_gemm, x_act, nbr, wmat, bias);
  at::Tensor out = SPAIRKIT_DISPATCH_DEVICE(x, scatter_rows, out_act, active, n, h, w, format);
  return {out, x_act};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sparse_conv_backward(
    const at::Tensor& grad_out, const at::Tensor& saved, const at::Tensor& weight,
    const at::Tensor& active, const at::Tensor& nbr, int64_t dilation, bool need_input,
    bool need_weight, bool need_bias) {
  TORCH_CHECK(grad_out.dim() == 4 && grad_out.size(1) == weight.size(0),
              "sparse_conv2d backward: grad_out must be (N, Cout, H, W)");
  const int64_t n = grad_out.size(0), h = grad_out.size(2), w = grad_out.size(3);
  const int64_t cout = weight.size(0), cin = weight.size(1), k = weight.size(2);
  check_plan(grad_out, active, nbr, k * k);
  const at::MemoryFormat format = grad_out.suggest_memory_format();
  at::Tensor gx, gw, gb;
  if (saved.dim() == 4) {  // full mask: forward ran the dense convolution on `saved` = x
    auto grads = at::convolution_backward(
        grad_out.to(saved.scalar_type()), saved, weight, at::IntArrayRef{cout}, {1, 1},
        {dilation * (k / 2), dilation * (k / 2)}, {dilation, dilation}, false, {0, 0}, 1,
        {need_input, need_weight, need_bias});
    return {std::get<0>(grads), std::get<1>(grads), std::get<2>(grads)};
  }
  const at::Tensor& x_act = saved;
  if (active.size(0) == 0) {
    if (need_input) gx = at::empty({n, cin, h, w}, grad_out.options(), format).zero_();
    if (need_weight) gw = at::zeros_like(weight);
    if (need_bias) gb = at::zeros({cout}, weight.options());
    return {gx, gw, gb};
  }
  const at::Tensor go_act = SPAIRKIT_DISPATCH_DEVICE(grad_out, gather_rows, grad_out, active);
  if (need_bias) gb = go_act.sum(0);
  if (need_weight) {
    gw = at::mm(go_act.t(), im2col(x_act, nbr))
             .view({cout, k, k, cin})
             .permute({0, 3, 1, 2})
             .contiguous();
  }
  if (need_input) {
    const at::Tensor wt = weight.flip({2, 3}).permute({1, 2, 3, 0}).reshape({cin, k * k * cout});
    const at::Tensor gx_act =
        SPAIRKIT_DISPATCH_DEVICE(grad_out, sparse_gemm, go_act, nbr, wt, std::nullopt);
    gx = SPAIRKIT_DISPATCH_DEVICE(grad_out, scatter_rows, gx_act, active, n, h, w, format);
  }
  return {gx, gw, gb};
}

}  // namespace spairkit
