// CPU masked criss-cross attention (SPAIR eqs. 3-5) on dense maps, forward and
// backward: queries at the degraded pixels, keys and values at the clean pixels
// of their row and column, output zero at clean pixels.
//
// The busy lines of the mask (a row or column with a degraded and a clean pixel)
// are listed once per call; the work per line is criss_cross_lines.h's engine,
// here with queries, weights and results read from / written to the dense maps
// in place (any strides: nothing is permuted or copied whole). Per pass (rows, then
// columns) one parallel region whose threads claim lines, largest first. Cost:
// sum over busy lines of queries x keys x (Cq + C), at most n (H + W) (Cq + C) for
// n degraded pixels, plus the zero fill of the dense outputs.
//
// Determinism without atomics: every pixel belongs to exactly one row and one
// column; the row pass adds each of its outputs once (lines in parallel), and the
// column pass, which runs after it, adds its own. Results do not depend on the
// number of threads.
#include <ATen/Dispatch.h>

#include <vector>

#include "criss_cross_lines.h"
#include "spairkit_ops.h"

namespace spairkit {
namespace {

using cpu::cca::Lines;
using cpu::cca::LineLists;
using cpu::cca::Map;
using cpu::cca::Problem;
using cpu::cca::Scratch;

// Queries addressed by flat pixel index into dense maps of any strides.
template <typename T>
struct DenseQueries {
  Map<T> q, w, out, g, gq, gw;
  int64_t cq, c;
  void load_q(int64_t pix, T* dst) const {
    const T* p = q.data + q.offset(pix);
    for (int64_t ch = 0; ch < cq; ++ch) dst[ch] = p[ch * q.sc];
  }
  void weights(int64_t pix, int64_t dir0, T* dst) const {
    const T* p = w.data + w.offset(pix) + dir0 * w.sc;
    dst[0] = p[0];
    dst[1] = p[w.sc];
  }
  void add_out(int64_t pix, const T* row) const {
    T* p = out.data + out.offset(pix);
    for (int64_t ch = 0; ch < c; ++ch) p[ch * out.sc] += row[ch];
  }
  void load_g(int64_t pix, T* dst) const {
    const T* p = g.data + g.offset(pix);
    for (int64_t ch = 0; ch < c; ++ch) dst[ch] = p[ch * g.sc];
  }
  void add_gq(int64_t pix, const T* row) const {
    T* p = gq.data + gq.offset(pix);
    for (int64_t ch = 0; ch < cq; ++ch) p[ch * gq.sc] += row[ch];
  }
  void set_gw(int64_t pix, int64_t dir0, T d0, T d1) const {
    T* p = gw.data + gw.offset(pix) + dir0 * gw.sc;
    p[0] = d0;
    p[gw.sc] = d1;
  }
};

at::ScalarType compute_type(const at::Tensor& t) {
  return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

template <typename T>
Map<T> map_of(const at::Tensor& t) {
  return t.defined() ? Map<T>(t, const_cast<T*>(t.const_data_ptr<T>())) : Map<T>();
}

// The row pass and the column pass of the mask, queries named by their pixel.
std::vector<LineLists> mask_lines(const at::Tensor& mask, int64_t n, int64_t h, int64_t w) {
  const at::Tensor m = (mask.reshape({n, h * w}) != 0).contiguous();
  const bool* mp = m.const_data_ptr<bool>();
  const auto pixel = [](int64_t pix) { return pix; };
  return {cpu::cca::build_lines(mp, n, h * w, h, w, w, 1, pixel),
          cpu::cca::build_lines(mp, n, h * w, w, h, 1, w, pixel)};
}

// Zeros shaped and laid out like `like`, in the compute type.
at::Tensor zeros_as(const at::Tensor& like, at::ScalarType type) {
  return at::zeros(like.sizes(),
                   like.options().dtype(type).memory_format(like.suggest_memory_format()));
}

// The lines' key and value maps (cpu::cca::key_maps) for the passes' lists.
cpu::cca::KeyMaps key_maps(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const std::vector<LineLists>& passes) {
  int64_t keys = 0;
  for (const LineLists& pass : passes) keys += pass.k_ptr.back();
  return cpu::cca::key_maps(k, v, q.size(1), keys);
}

// The problem (key / value maps, sizes, scale) of the dense operator, shared by
// forward and backward.
template <typename T>
Problem<T> dense_problem(const at::Tensor& q, const cpu::cca::KeyMaps& maps, double scale) {
  Problem<T> pb;
  pb.key = map_of<T>(maps.key);
  pb.value = map_of<T>(maps.value);
  pb.cq = q.size(1);
  pb.c = maps.value.size(1);
  pb.scale = static_cast<T>(scale);
  pb.shared = maps.shared;
  return pb;
}

template <typename T>
DenseQueries<T> dense_queries(const Problem<T>& pb, const at::Tensor& q, const at::Tensor& wt) {
  DenseQueries<T> qs;
  qs.q = map_of<T>(q);
  qs.w = map_of<T>(wt);
  qs.cq = pb.cq;
  qs.c = pb.c;
  return qs;
}

template <typename T, typename Line>
void run_passes(const std::vector<LineLists>& passes, const Line& line) {
  for (size_t p = 0; p < passes.size(); ++p) {  // rows, then columns
    const Lines lines = passes[p].view(p == 0 ? 0 : 2);
    const std::vector<int64_t> order = cpu::cca::by_cost(lines);
    cpu::parallel_tasks(lines.count, [] { return Scratch<T>(); },
                        [&](int64_t t, Scratch<T>& sc) { line(lines, order[t], sc); });
  }
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> cca_forward_cpu(const at::Tensor& query, const at::Tensor& key,
                                                   const at::Tensor& value, const at::Tensor& mask,
                                                   const at::Tensor& weights, double scale) {
  const int64_t n = value.size(0), h = value.size(2), w = value.size(3);
  const at::ScalarType type = compute_type(value);
  const at::Tensor q = query.to(type), k = key.to(type), v = value.to(type);
  const at::Tensor wt = weights.to(type);
  at::Tensor out = zeros_as(value, type);
  const std::vector<LineLists> passes = mask_lines(mask, n, h, w);
  const cpu::cca::KeyMaps maps = key_maps(q, k, v, passes);
  AT_DISPATCH_FLOATING_TYPES(type, "cca_forward_cpu", [&] {
    const Problem<scalar_t> pb = dense_problem<scalar_t>(q, maps, scale);
    DenseQueries<scalar_t> qs = dense_queries(pb, q, wt);
    qs.out = map_of<scalar_t>(out);
    run_passes<scalar_t>(passes, [&](const Lines& lines, int64_t l, Scratch<scalar_t>& sc) {
      cpu::cca::forward_line_isa(pb, lines, l, qs, sc);
    });
  });
  // No saved statistics: backward recomputes the line softmaxes.
  return {out.to(value.scalar_type()), at::empty({0}, value.options().dtype(at::kFloat))};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_backward_cpu(
    const at::Tensor& grad_out, const at::Tensor& query, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& mask, const at::Tensor& weights, double scale,
    const at::Tensor& /*stats: unused, the CPU path recomputes*/) {
  const int64_t n = value.size(0), h = value.size(2), w = value.size(3);
  const at::ScalarType type = compute_type(value);
  const at::Tensor q = query.to(type), k = key.to(type), v = value.to(type);
  const at::Tensor wt = weights.to(type), g = grad_out.to(type);
  at::Tensor gq = zeros_as(query, type), gk = zeros_as(key, type), gv = zeros_as(value, type);
  at::Tensor gw = zeros_as(weights, type);
  const std::vector<LineLists> passes = mask_lines(mask, n, h, w);
  const cpu::cca::KeyMaps maps = key_maps(q, k, v, passes);
  AT_DISPATCH_FLOATING_TYPES(type, "cca_backward_cpu", [&] {
    const Problem<scalar_t> pb = dense_problem<scalar_t>(q, maps, scale);
    DenseQueries<scalar_t> qs = dense_queries(pb, q, wt);
    qs.g = map_of<scalar_t>(g);
    qs.gq = map_of<scalar_t>(gq);
    qs.gw = map_of<scalar_t>(gw);
    const Map<scalar_t> gk_map = map_of<scalar_t>(gk), gv_map = map_of<scalar_t>(gv);
    run_passes<scalar_t>(passes, [&](const Lines& lines, int64_t l, Scratch<scalar_t>& sc) {
      cpu::cca::backward_line_isa(pb, lines, l, qs, gk_map, gv_map, sc);
    });
  });
  return {gq.to(query.scalar_type()), gk.to(key.scalar_type()), gv.to(value.scalar_type()),
          gw.to(weights.scalar_type())};
}

}  // namespace spairkit
