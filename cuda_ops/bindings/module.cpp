// The pybind11 module of spairkit's compiled operators. Every entry point is
// defined (checks, dispatch) in bindings/<family>.cpp and declared in
// entry_points.h; this is the one file that includes the Python headers, as in
// MMCV's pybind.cpp, so the build parses them once.
#include <torch/python.h>

#include "entry_points.h"

namespace py = pybind11;

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "spairkit compiled operators (sources: cuda_ops/; Python side: spairkit.ops)";
  m.def("with_cuda", [] {
#ifdef SPAIRKIT_WITH_CUDA
    return true;
#else
    return false;
#endif
  }, "Whether this build holds the CUDA kernels");
  m.def("cpu_isa", &spairkit::cpu_isa, "The instruction set the CPU kernels run with: avx512, avx2 or base "
        "(the widest this CPU has, or SPAIRKIT_CPU_ISA)");

  // sparse convolution (sparse_conv.cpp)
  m.def("sparse_plan", &spairkit::sparse_plan, "Active-site plan (active, nbr) of a mask",
        py::arg("mask"), py::arg("kernel_size"), py::arg("dilation"));
  m.def("sparse_conv_forward", &spairkit::sparse_conv_forward,
        "Submanifold sparse conv forward -> (out, saved input: x_active, or x for a full mask)",
        py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("active"), py::arg("nbr"),
        py::arg("dilation"));
  m.def("sparse_conv_backward", &spairkit::sparse_conv_backward,
        "Submanifold sparse conv backward -> (grad_x, grad_weight, grad_bias)",
        py::arg("grad_out"), py::arg("saved"), py::arg("weight"),
        py::arg("active"), py::arg("nbr"), py::arg("dilation"), py::arg("need_input"),
        py::arg("need_weight"), py::arg("need_bias"));

  // masked criss-cross attention (criss_cross.cpp)
  m.def("cca_forward", &spairkit::cca_forward,
        "Masked criss-cross attention forward -> (out, stats for backward)",
        py::arg("query"), py::arg("key"), py::arg("value"),
        py::arg("mask"), py::arg("weights"), py::arg("scale"));
  m.def("cca_backward", &spairkit::cca_backward,
        "Masked criss-cross attention backward -> (grad_query, grad_key, grad_value, "
        "grad_weights)",
        py::arg("grad_out"), py::arg("query"), py::arg("key"),
        py::arg("value"), py::arg("mask"), py::arg("weights"),
        py::arg("scale"), py::arg("stats"));

  // compact (site-list) path (compact.cpp)
  m.def("site_plan", &spairkit::site_plan, "The compact-path plan of a CPU mask (13 tensors)",
        py::arg("mask"), py::arg("kernel_size"), py::arg("dilation"));
  m.def("gather_sites", &spairkit::gather_sites, "rows (P, C) = dense at the active pixels",
        py::arg("dense"), py::arg("active"));
  m.def("scatter_sites", &spairkit::scatter_sites, "dense with the rows written at the active pixels",
        py::arg("dense"), py::arg("rows"), py::arg("active"));
  m.def("scatter_sites_zero", &spairkit::scatter_sites_zero, "zeros with the rows at the active pixels",
        py::arg("rows"), py::arg("active"), py::arg("n"), py::arg("h"), py::arg("w"));
  m.def("site_conv_forward", &spairkit::site_conv_forward, "Submanifold conv on site rows",
        py::arg("rows"), py::arg("weight"), py::arg("bias"), py::arg("nbr"));
  m.def("site_conv_backward", &spairkit::site_conv_backward,
        "Submanifold conv on site rows, backward -> (grad_rows, grad_weight, grad_bias)",
        py::arg("grad_out"), py::arg("rows"), py::arg("weight"), py::arg("nbr"),
        py::arg("need_rows"), py::arg("need_weight"), py::arg("need_bias"));
  m.def("halo_cols", &spairkit::halo_cols, "im2col of a dense conv at the sites (rows + dense)",
        py::arg("rows"), py::arg("dense"), py::arg("active"), py::arg("nbr"),
        py::arg("kernel_size"), py::arg("dilation"));
  m.def("halo_cols_backward", &spairkit::halo_cols_backward, "-> (grad_rows, grad_dense)",
        py::arg("gcols"), py::arg("active"), py::arg("nbr"), py::arg("row_of"), py::arg("n"),
        py::arg("c"), py::arg("h"), py::arg("w"), py::arg("kernel_size"), py::arg("dilation"));
  m.def("cca_sites_forward", &spairkit::cca_sites_forward,
        "Masked criss-cross attention of the site rows -> out rows (P, C)", py::arg("q_rows"),
        py::arg("key"), py::arg("value"), py::arg("w_rows"), py::arg("lists"),
        py::arg("scale"));
  m.def("cca_sites_backward", &spairkit::cca_sites_backward,
        "-> (grad_q_rows, grad_key, grad_value, grad_w_rows)", py::arg("grad_out"),
        py::arg("q_rows"), py::arg("key"), py::arg("value"), py::arg("w_rows"),
        py::arg("lists"), py::arg("scale"));
}
