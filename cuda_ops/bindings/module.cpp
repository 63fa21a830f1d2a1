// The pybind11 module of spairkit's compiled operators: each operator family
// registers its functions from its own binding file.
#include <torch/extension.h>

namespace spairkit {
void bind_sparse_conv(pybind11::module_& m);
void bind_criss_cross(pybind11::module_& m);
void bind_compact(pybind11::module_& m);
}  // namespace spairkit

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "spairkit compiled operators (sources: cuda_ops/; Python side: spairkit.ops)";
  m.def("with_cuda", [] {
#ifdef SPAIRKIT_WITH_CUDA
    return true;
#else
    return false;
#endif
  }, "Whether this build holds the CUDA kernels");
  spairkit::bind_sparse_conv(m);
  spairkit::bind_criss_cross(m);
  spairkit::bind_compact(m);
}
