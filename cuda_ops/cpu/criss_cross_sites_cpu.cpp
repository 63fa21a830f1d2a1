// CPU masked criss-cross attention on the compact path (SPAIR eqs. 3-5): the
// degraded queries are site rows (P, Cq), the keys and values the clean pixels of
// the dense maps (read in place, any strides), the output rows (P, C).
//
// The lines come from the plan (spairkit.ops.sites.LineLists, built once per mask
// level); the work per line is criss_cross_lines.h's engine, here with queries,
// weights and results addressed by site row. Per pass (rows, then columns) one
// parallel region whose threads claim lines, largest first (cpu_kernels.h); each
// site is a query of one row and one column, so a task owns the output rows it
// adds to. Cost: sum over busy lines of queries x keys x (Cq + C), at most
// n (H + W) (Cq + C) for n sites.
#include <ATen/Dispatch.h>

#include <cstring>
#include <vector>

#include "criss_cross_lines.h"
#include "spairkit_ops.h"

namespace spairkit {
namespace {

using cpu::cca::Lines;
using cpu::cca::Map;
using cpu::cca::Problem;
using cpu::cca::Scratch;

// Queries addressed by site row: q (P, Cq), w (P, 4), out / grad_out (P, C),
// grad_q (P, Cq), grad_w (P, 4), all contiguous.
template <typename T>
struct SiteQueries {
  const T* q;
  const T* w;
  int64_t cq, c;
  T* out = nullptr;
  const T* g = nullptr;
  T* gq = nullptr;
  T* gw = nullptr;
  void load_q(int64_t id, T* dst) const { std::memcpy(dst, q + id * cq, sizeof(T) * cq); }
  void weights(int64_t id, int64_t dir0, T* dst) const {
    dst[0] = w[id * 4 + dir0];
    dst[1] = w[id * 4 + dir0 + 1];
  }
  void add_out(int64_t id, const T* row) const {
    T* o = out + id * c;
    for (int64_t ch = 0; ch < c; ++ch) o[ch] += row[ch];
  }
  void load_g(int64_t id, T* dst) const { std::memcpy(dst, g + id * c, sizeof(T) * c); }
  void add_gq(int64_t id, const T* row) const {
    T* o = gq + id * cq;
    for (int64_t ch = 0; ch < cq; ++ch) o[ch] += row[ch];
  }
  void set_gw(int64_t id, int64_t dir0, T d0, T d1) const {
    gw[id * 4 + dir0] = d0;
    gw[id * 4 + dir0 + 1] = d1;
  }
};

Lines make_lines(const std::vector<at::Tensor>& lists, size_t first, int64_t dir0) {
  for (size_t i = first; i < first + 5; ++i) {
    TORCH_CHECK(lists[i].scalar_type() == at::kLong && lists[i].dim() == 1 &&
                    lists[i].is_contiguous(),
                "criss-cross line lists must be contiguous 1-D int64 tensors");
  }
  TORCH_CHECK(lists[first].size(0) == lists[first + 3].size(0) && lists[first].size(0) >= 1,
              "criss-cross line lists: q_ptr and k_ptr must both have L+1 entries");
  Lines lines;
  lines.q_ptr = lists[first].const_data_ptr<int64_t>();
  lines.q_id = lists[first + 1].const_data_ptr<int64_t>();
  lines.q_split = lists[first + 2].const_data_ptr<int64_t>();
  lines.k_ptr = lists[first + 3].const_data_ptr<int64_t>();
  lines.k_pix = lists[first + 4].const_data_ptr<int64_t>();
  lines.count = lists[first].size(0) - 1;
  lines.dir0 = dir0;
  return lines;
}

at::ScalarType float_type(const at::Tensor& t) {
  return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// Keys read by both passes (each busy line reads all of its keys).
int64_t keys_read(const Lines (&passes)[2]) {
  return passes[0].k_ptr[passes[0].count] + passes[1].k_ptr[passes[1].count];
}

template <typename T>
Problem<T> make_problem(const cpu::cca::KeyMaps& maps, int64_t cq, double scale) {
  Problem<T> pb;
  pb.key = Map<T>(maps.key, const_cast<T*>(maps.key.const_data_ptr<T>()));
  pb.value = Map<T>(maps.value, const_cast<T*>(maps.value.const_data_ptr<T>()));
  pb.cq = cq;
  pb.c = maps.value.size(1);
  pb.scale = static_cast<T>(scale);
  pb.shared = maps.shared;
  return pb;
}

}  // namespace

at::Tensor cca_sites_forward_cpu(const at::Tensor& q_rows, const at::Tensor& key,
                                 const at::Tensor& value, const at::Tensor& w_rows,
                                 const std::vector<at::Tensor>& lists, double scale) {
  TORCH_CHECK(lists.size() == 10, "cca_sites: expected 5 line-list tensors per pass");
  const at::ScalarType type = float_type(value);
  const at::Tensor q = q_rows.to(type).contiguous(), w = w_rows.to(type).contiguous();
  const at::Tensor k = key.to(type), v = value.to(type);
  const int64_t p_total = q.size(0), cq = q.size(1), c = value.size(1);
  at::Tensor out = at::zeros({p_total, c}, q.options());
  if (p_total == 0) return out;
  const Lines passes[2] = {make_lines(lists, 0, 0), make_lines(lists, 5, 2)};  // rows, columns
  const cpu::cca::KeyMaps maps = cpu::cca::key_maps(k, v, cq, keys_read(passes));
  AT_DISPATCH_FLOATING_TYPES(type, "cca_sites_forward_cpu", [&] {
    const Problem<scalar_t> pb = make_problem<scalar_t>(maps, cq, scale);
    SiteQueries<scalar_t> qs{q.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(), cq, c};
    qs.out = out.data_ptr<scalar_t>();
    for (const Lines& lines : passes) {
      const std::vector<int64_t> order = cpu::cca::by_cost(lines);
      cpu::parallel_tasks(
          lines.count, [] { return Scratch<scalar_t>(); },
          [&](int64_t t, Scratch<scalar_t>& sc) { cpu::cca::forward_line_isa(pb, lines, order[t], qs, sc); });
    }
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_sites_backward_cpu(
    const at::Tensor& grad_out, const at::Tensor& q_rows, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& w_rows, const std::vector<at::Tensor>& lists,
    double scale) {
  TORCH_CHECK(lists.size() == 10, "cca_sites: expected 5 line-list tensors per pass");
  const at::ScalarType type = float_type(value);
  const at::Tensor q = q_rows.to(type).contiguous(), w = w_rows.to(type).contiguous();
  const at::Tensor g = grad_out.to(type).contiguous();
  const at::Tensor k = key.to(type), v = value.to(type);
  const int64_t p_total = q.size(0), cq = q.size(1), c = value.size(1);
  const int64_t n = value.size(0), h = value.size(2), wd = value.size(3);
  // When key and value are one tensor, its whole gradient is returned as the key's
  // and the value's is left undefined (autograd sums both for that tensor anyway).
  const bool shared = key.is_same(value);
  at::Tensor gq = at::zeros_like(q), gw = at::zeros_like(w);
  if (p_total == 0) {  // nothing read: NCHW zeros, as promised
    return {gq, at::zeros({n, cq, h, wd}, q.options()),
            shared ? at::Tensor() : at::zeros({n, c, h, wd}, q.options()), gw};
  }
  const Lines passes[2] = {make_lines(lists, 0, 0), make_lines(lists, 5, 2)};  // rows, columns
  const cpu::cca::KeyMaps maps = cpu::cca::key_maps(k, v, cq, keys_read(passes));
  // The gradient maps are accumulated in the layout of the key maps read: pixel-major
  // where the lines read many keys (one run per key, cpu::cca::add_key_grads), else
  // NCHW; they are returned NCHW (cpu::cca::channel_major).
  const auto layout = [](const at::Tensor& read) {
    return read.size(1) > 1 && read.stride(1) == 1 ? at::MemoryFormat::ChannelsLast
                                                   : at::MemoryFormat::Contiguous;
  };
  // (at::zeros ignores a memory format in its options; at::empty takes it.)
  at::Tensor gk = at::empty({n, cq, h, wd}, q.options().memory_format(layout(maps.key))).zero_();
  at::Tensor gv =
      shared ? at::Tensor()
             : at::empty({n, c, h, wd}, q.options().memory_format(layout(maps.value))).zero_();
  AT_DISPATCH_FLOATING_TYPES(type, "cca_sites_backward_cpu", [&] {
    const Problem<scalar_t> pb = make_problem<scalar_t>(maps, cq, scale);
    SiteQueries<scalar_t> qs{q.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(), cq, c};
    qs.g = g.const_data_ptr<scalar_t>();
    qs.gq = gq.data_ptr<scalar_t>();
    qs.gw = gw.data_ptr<scalar_t>();
    const Map<scalar_t> gk_map(gk, gk.data_ptr<scalar_t>());
    const Map<scalar_t> gv_map = shared ? gk_map : Map<scalar_t>(gv, gv.data_ptr<scalar_t>());
    for (const Lines& lines : passes) {
      const std::vector<int64_t> order = cpu::cca::by_cost(lines);
      cpu::parallel_tasks(lines.count, [] { return Scratch<scalar_t>(); },
                          [&](int64_t t, Scratch<scalar_t>& sc) {
                            cpu::cca::backward_line_isa(pb, lines, order[t], qs, gk_map, gv_map, sc);
                          });
    }
  });
  // Accumulated pixel-major where that was cheaper; returned NCHW, as promised.
  return {gq, cpu::cca::channel_major(gk), shared ? gv : cpu::cca::channel_major(gv), gw};
}

}  // namespace spairkit
