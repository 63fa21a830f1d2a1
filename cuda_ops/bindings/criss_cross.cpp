// Masked criss-cross attention: argument checks and device dispatch.
#include "entry_points.h"

namespace spairkit {
namespace {

void check_inputs(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
                  const at::Tensor& mask, const at::Tensor& weights) {
  TORCH_CHECK(query.dim() == 4 && key.sizes() == query.sizes(),
              "masked_criss_cross_attention: query and key must be (N, Cq, H, W)");
  TORCH_CHECK(value.dim() == 4 && value.size(0) == query.size(0) &&
                  value.size(2) == query.size(2) && value.size(3) == query.size(3),
              "masked_criss_cross_attention: value must be (N, C, H, W)");
  TORCH_CHECK(weights.dim() == 4 && weights.size(0) == query.size(0) && weights.size(1) == 4 &&
                  weights.size(2) == query.size(2) && weights.size(3) == query.size(3),
              "masked_criss_cross_attention: weights must be (N, 4, H, W)");
  TORCH_CHECK(mask.dim() == 4 && mask.size(0) == query.size(0) && mask.size(1) == 1 &&
                  mask.size(2) == query.size(2) && mask.size(3) == query.size(3),
              "masked_criss_cross_attention: mask must be (N, 1, H, W)");
  for (const at::Tensor* t : {&key, &value, &weights}) {
    TORCH_CHECK(t->scalar_type() == query.scalar_type(),
                "masked_criss_cross_attention: query, key, value and weights must share a dtype");
  }
  for (const at::Tensor* t : {&key, &value, &weights, &mask}) {
    TORCH_CHECK(t->device() == query.device(),
                "masked_criss_cross_attention: all inputs must be on one device");
  }
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> cca_forward(const at::Tensor& query, const at::Tensor& key,
                                               const at::Tensor& value, const at::Tensor& mask,
                                               const at::Tensor& weights, double scale) {
  check_inputs(query, key, value, mask, weights);
  return SPAIRKIT_DISPATCH_DEVICE(value, cca_forward, query, key, value, mask, weights, scale);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_backward(
    const at::Tensor& grad_out, const at::Tensor& query, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& mask, const at::Tensor& weights, double scale,
    const at::Tensor& stats) {
  check_inputs(query, key, value, mask, weights);
  TORCH_CHECK(grad_out.sizes() == value.sizes(),
              "masked_criss_cross_attention backward: grad_out must have the shape of value");
  return SPAIRKIT_DISPATCH_DEVICE(value, cca_backward, grad_out.to(value.scalar_type()), query,
                                  key, value, mask, weights, scale, stats);
}

}  // namespace spairkit
