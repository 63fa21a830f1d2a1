// The entry points the Python module binds: one function per operator call, each
// validating its arguments and dispatching on the device (defined in
// bindings/<family>.cpp). Kept apart from pybind11 so that only module.cpp pays for
// the Python headers (torch/python.h costs about 17 s of compile time per file).
#pragma once

#include <string>

#include "spairkit_ops.h"

namespace spairkit {

// cpu_isa.cpp: the instruction set the CPU kernels run with (cpu_kernels.h).
std::string cpu_isa();

// sparse_conv.cpp
std::tuple<at::Tensor, at::Tensor> sparse_plan(const at::Tensor& mask, int64_t kernel_size,
                                               int64_t dilation);
std::tuple<at::Tensor, at::Tensor> sparse_conv_forward(const at::Tensor& x,
                                                       const at::Tensor& weight,
                                                       const std::optional<at::Tensor>& bias,
                                                       const at::Tensor& active,
                                                       const at::Tensor& nbr, int64_t dilation);
std::tuple<at::Tensor, at::Tensor, at::Tensor> sparse_conv_backward(
    const at::Tensor& grad_out, const at::Tensor& saved, const at::Tensor& weight,
    const at::Tensor& active, const at::Tensor& nbr, int64_t dilation, bool need_input,
    bool need_weight, bool need_bias);

// criss_cross.cpp
std::tuple<at::Tensor, at::Tensor> cca_forward(const at::Tensor& query, const at::Tensor& key,
                                               const at::Tensor& value, const at::Tensor& mask,
                                               const at::Tensor& weights, double scale);
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_backward(
    const at::Tensor& grad_out, const at::Tensor& query, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& mask, const at::Tensor& weights, double scale,
    const at::Tensor& stats);

// compact.cpp
std::vector<at::Tensor> site_plan(const at::Tensor& mask, int64_t kernel_size, int64_t dilation);
at::Tensor gather_sites(const at::Tensor& dense, const at::Tensor& active);
at::Tensor scatter_sites_zero(const at::Tensor& rows, const at::Tensor& active, int64_t n,
                              int64_t h, int64_t w);
at::Tensor scatter_sites(const at::Tensor& dense, const at::Tensor& rows,
                         const at::Tensor& active);
at::Tensor site_conv_forward(const at::Tensor& rows, const at::Tensor& weight,
                             const std::optional<at::Tensor>& bias, const at::Tensor& nbr);
std::tuple<at::Tensor, at::Tensor, at::Tensor> site_conv_backward(
    const at::Tensor& grad_out, const at::Tensor& rows, const at::Tensor& weight,
    const at::Tensor& nbr, bool need_rows, bool need_weight, bool need_bias);
at::Tensor halo_cols(const at::Tensor& rows, const at::Tensor& dense, const at::Tensor& active,
                     const at::Tensor& nbr, int64_t kernel_size, int64_t dilation);
std::tuple<at::Tensor, at::Tensor> halo_cols_backward(
    const at::Tensor& gcols, const at::Tensor& active, const at::Tensor& nbr,
    const at::Tensor& row_of, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kernel_size,
    int64_t dilation);
at::Tensor cca_sites_forward(const at::Tensor& q_rows, const at::Tensor& key,
                             const at::Tensor& value, const at::Tensor& w_rows,
                             const std::vector<at::Tensor>& lists, double scale);
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_sites_backward(
    const at::Tensor& grad_out, const at::Tensor& q_rows, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& w_rows, const std::vector<at::Tensor>& lists,
    double scale);

}  // namespace spairkit
