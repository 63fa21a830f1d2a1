// CPU masked criss-cross attention (SPAIR eqs. 3-5), forward and backward.
//
// Work is organised by line: a row serves the left/right directions, a column
// the up/down ones. For one line, the degraded pixels are the queries and the
// clean pixels the keys; the clean pixels left of a query are a prefix of the
// (position-sorted) key list and those right of it the suffix. So one GEMM gives
// every logit of the line, a prefix softmax and a suffix softmax per query turn
// them into attention, and since both rays are disjoint the direction weights
// can be folded in and a second GEMM with the values finishes the line.
// Cost: O(sum over lines of queries x keys x C), memory: one line's matrices
// per thread; nothing of size (H+W) x H x W exists.
//
// Determinism without atomics: every pixel belongs to exactly one row and one
// column. The row pass writes each of its outputs once (lines in parallel), and
// the column pass, which runs after it, adds its own; backward is in the same
// gather form, so results do not depend on the number of threads.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "spairkit_ops.h"

namespace spairkit {
namespace {

// Geometry of the lines of one pass, in pixel-major (N, H*W, C) buffers.
struct Pass {
  int64_t lines_per_image;  // H for rows, W for columns
  int64_t len;              // W for rows, H for columns
  int64_t line_step;        // pixel offset between consecutive lines: W or 1
  int64_t pix_step;         // pixel offset along a line: 1 or W
  int64_t dir0;             // weights channel of the "before" ray: 0 (left) or 2 (up)
};

// Pixel-major tensors and sizes shared by every line of a call.
template <typename scalar_t>
struct Inputs {
  const scalar_t* q;  // (N, HW, Cq)
  const scalar_t* k;  // (N, HW, Cq)
  const scalar_t* v;  // (N, HW, C)
  const bool* m;      // (N, HW)
  const scalar_t* w;  // (N, 4, HW)
  int64_t hw, cq, c;
  scalar_t scale;
  at::TensorOptions opts;
};

// The queries (degraded) and keys (clean) of one line, as positions along it,
// and for each query the number of keys before it.
struct LineSplit {
  std::vector<int64_t> deg, cln, before;
  void fill(const bool* m, int64_t first, int64_t step, int64_t len) {
    deg.clear();
    cln.clear();
    before.clear();
    for (int64_t l = 0; l < len; ++l) {
      if (m[first + l * step]) {
        deg.push_back(l);
        before.push_back(static_cast<int64_t>(cln.size()));
      } else {
        cln.push_back(l);
      }
    }
  }
};

// The lines of a pass that hold at least one query and one key, as (image, line):
// only they carry work, and listing them first keeps the threads balanced when
// the degraded pixels are clustered.
std::vector<std::pair<int64_t, int64_t>> busy_lines(const bool* m, int64_t n, int64_t hw,
                                                    const Pass& pass) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t img = 0; img < n; ++img) {
    for (int64_t line = 0; line < pass.lines_per_image; ++line) {
      const bool* first = m + img * hw + line * pass.line_step;
      bool any_deg = false, any_cln = false;
      for (int64_t l = 0; l < pass.len && !(any_deg && any_cln); ++l) {
        (first[l * pass.pix_step] ? any_deg : any_cln) = true;
      }
      if (any_deg && any_cln) out.emplace_back(img, line);
    }
  }
  return out;
}

template <typename scalar_t>
at::Tensor gather(const scalar_t* src, int64_t width, int64_t first, int64_t step,
                  const std::vector<int64_t>& pos, const at::TensorOptions& opts) {
  at::Tensor out = at::empty({static_cast<int64_t>(pos.size()), width}, opts);
  scalar_t* o = out.data_ptr<scalar_t>();
  for (size_t r = 0; r < pos.size(); ++r) {
    std::memcpy(o + r * width, src + (first + pos[r] * step) * width, sizeof(scalar_t) * width);
  }
  return out;
}

template <typename scalar_t>
void scatter_add(scalar_t* dst, int64_t width, int64_t first, int64_t step,
                 const std::vector<int64_t>& pos, const at::Tensor& rows) {
  const scalar_t* r = rows.const_data_ptr<scalar_t>();
  for (size_t i = 0; i < pos.size(); ++i) {
    scalar_t* d = dst + (first + pos[i] * step) * width;
    const scalar_t* s = r + i * width;
    for (int64_t c = 0; c < width; ++c) d[c] += s[c];
  }
}

// In place: x[0..n) <- softmax(scale * x). Max-subtracted; an empty ray is a no-op.
template <typename scalar_t>
void softmax_segment(scalar_t* x, int64_t n, scalar_t scale) {
  if (n == 0) return;
  scalar_t mx = x[0] * scale;
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, x[i] * scale);
  scalar_t sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] * scale - mx);
    sum += x[i];
  }
  const scalar_t inv = scalar_t(1) / sum;  // sum >= 1: the max term is exp(0)
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

// Logits of one line turned into the attention of both rays, row by row.
template <typename scalar_t>
void line_attention(at::Tensor& s, const LineSplit& ls, scalar_t scale) {
  const int64_t nk = static_cast<int64_t>(ls.cln.size());
  scalar_t* sp = s.data_ptr<scalar_t>();
  for (size_t a = 0; a < ls.deg.size(); ++a) {
    scalar_t* row = sp + a * nk;
    softmax_segment(row, ls.before[a], scale);
    softmax_segment(row + ls.before[a], nk - ls.before[a], scale);
  }
}

template <typename scalar_t>
void forward_pass(const Inputs<scalar_t>& in, const Pass& pass, int64_t n, scalar_t* out) {
  const auto lines = busy_lines(in.m, n, in.hw, pass);
  at::parallel_for(0, static_cast<int64_t>(lines.size()), 1, [&](int64_t b, int64_t e) {
    LineSplit ls;
    for (int64_t li = b; li < e; ++li) {
      const int64_t img = lines[li].first;
      const int64_t first = img * in.hw + lines[li].second * pass.line_step;
      ls.fill(in.m, first, pass.pix_step, pass.len);
      const at::Tensor qg = gather(in.q, in.cq, first, pass.pix_step, ls.deg, in.opts);
      const at::Tensor kg = gather(in.k, in.cq, first, pass.pix_step, ls.cln, in.opts);
      const at::Tensor vg = gather(in.v, in.c, first, pass.pix_step, ls.cln, in.opts);
      at::Tensor s = at::mm(qg, kg.t());  // (queries, keys)
      line_attention(s, ls, in.scale);
      // Fold the direction weights in: the two rays of a query are disjoint.
      scalar_t* sp = s.data_ptr<scalar_t>();
      const int64_t nk = static_cast<int64_t>(ls.cln.size());
      for (size_t a = 0; a < ls.deg.size(); ++a) {
        const int64_t local = first + ls.deg[a] * pass.pix_step - img * in.hw;
        const int64_t wb_idx = (img * 4 + pass.dir0) * in.hw + local;
        const scalar_t w_before = in.w[wb_idx], w_after = in.w[wb_idx + in.hw];
        scalar_t* row = sp + a * nk;
        for (int64_t q = 0; q < ls.before[a]; ++q) row[q] *= w_before;
        for (int64_t q = ls.before[a]; q < nk; ++q) row[q] *= w_after;
      }
      scatter_add(out, in.c, first, pass.pix_step, ls.deg, at::mm(s, vg));
    }
  });
}

template <typename scalar_t>
void backward_pass(const Inputs<scalar_t>& in, const Pass& pass, int64_t n,
                   const scalar_t* gout, scalar_t* gq, scalar_t* gk, scalar_t* gv,
                   scalar_t* gw) {
  const auto lines = busy_lines(in.m, n, in.hw, pass);
  at::parallel_for(0, static_cast<int64_t>(lines.size()), 1, [&](int64_t b, int64_t e) {
    LineSplit ls;
    for (int64_t li = b; li < e; ++li) {
      const int64_t img = lines[li].first;
      const int64_t first = img * in.hw + lines[li].second * pass.line_step;
      ls.fill(in.m, first, pass.pix_step, pass.len);
      const at::Tensor qg = gather(in.q, in.cq, first, pass.pix_step, ls.deg, in.opts);
      const at::Tensor kg = gather(in.k, in.cq, first, pass.pix_step, ls.cln, in.opts);
      const at::Tensor vg = gather(in.v, in.c, first, pass.pix_step, ls.cln, in.opts);
      const at::Tensor gg = gather(gout, in.c, first, pass.pix_step, ls.deg, in.opts);
      at::Tensor att = at::mm(qg, kg.t());
      line_attention(att, ls, in.scale);
      at::Tensor u = at::mm(gg, vg.t());  // u[a, q] = <dL/dout(a), value(q)>
      scalar_t* ap = att.data_ptr<scalar_t>();
      scalar_t* up = u.data_ptr<scalar_t>();
      const int64_t nk = static_cast<int64_t>(ls.cln.size());
      for (size_t a = 0; a < ls.deg.size(); ++a) {
        const int64_t local = first + ls.deg[a] * pass.pix_step - img * in.hw;
        const int64_t wb_idx = (img * 4 + pass.dir0) * in.hw + local;
        const int64_t wa_idx = wb_idx + in.hw;
        scalar_t* arow = ap + a * nk;
        scalar_t* urow = up + a * nk;
        const int64_t split = ls.before[a];
        // dL/dweight(d) = <dL/dout, g_d> = sum_q a_d(q) u(q)
        scalar_t d_before = 0, d_after = 0;
        for (int64_t q = 0; q < split; ++q) d_before += arow[q] * urow[q];
        for (int64_t q = split; q < nk; ++q) d_after += arow[q] * urow[q];
        gw[wb_idx] = d_before;
        gw[wa_idx] = d_after;
        // Softmax backward per ray; u becomes dL/dlogit (scale folded in) and the
        // attention becomes the weighted attention used by the value gradient.
        const scalar_t w_before = in.w[wb_idx], w_after = in.w[wa_idx];
        for (int64_t q = 0; q < split; ++q) {
          urow[q] = w_before * arow[q] * (urow[q] - d_before) * in.scale;
          arow[q] *= w_before;
        }
        for (int64_t q = split; q < nk; ++q) {
          urow[q] = w_after * arow[q] * (urow[q] - d_after) * in.scale;
          arow[q] *= w_after;
        }
      }
      scatter_add(gv, in.c, first, pass.pix_step, ls.cln, at::mm(att.t(), gg));
      scatter_add(gq, in.cq, first, pass.pix_step, ls.deg, at::mm(u, kg));
      scatter_add(gk, in.cq, first, pass.pix_step, ls.cln, at::mm(u.t(), qg));
    }
  });
}

Pass row_pass(int64_t h, int64_t w) { return {h, w, w, 1, 0}; }
Pass col_pass(int64_t h, int64_t w) { return {w, h, 1, w, 2}; }

at::ScalarType compute_type(const at::Tensor& t) {
  return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// (N, C, H, W) of any layout -> contiguous (N, H*W, C) in the compute type.
at::Tensor pixel_major(const at::Tensor& t, at::ScalarType type) {
  return t.to(type).permute({0, 2, 3, 1}).contiguous();
}

at::Tensor from_pixel_major(const at::Tensor& pm, const at::Tensor& like) {
  return pm.permute({0, 3, 1, 2})
      .to(like.scalar_type())
      .contiguous(like.suggest_memory_format());
}

template <typename scalar_t>
Inputs<scalar_t> make_inputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& m, const at::Tensor& w, double scale) {
  return {q.const_data_ptr<scalar_t>(), k.const_data_ptr<scalar_t>(),
          v.const_data_ptr<scalar_t>(), m.const_data_ptr<bool>(),
          w.const_data_ptr<scalar_t>(), v.size(1) * v.size(2), q.size(3), v.size(3),
          static_cast<scalar_t>(scale), v.options()};
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> cca_forward_cpu(const at::Tensor& query, const at::Tensor& key,
                                                   const at::Tensor& value, const at::Tensor& mask,
                                                   const at::Tensor& weights, double scale) {
  const int64_t n = value.size(0), h = value.size(2), w = value.size(3);
  const at::ScalarType type = compute_type(value);
  const at::Tensor q = pixel_major(query, type), k = pixel_major(key, type);
  const at::Tensor v = pixel_major(value, type);
  const at::Tensor m = (mask.reshape({n, h * w}) != 0).contiguous();
  const at::Tensor wc = weights.to(type).contiguous();
  at::Tensor out = at::zeros({n, h, w, value.size(1)}, v.options());
  AT_DISPATCH_FLOATING_TYPES(type, "cca_forward_cpu", [&] {
    const auto in = make_inputs<scalar_t>(q, k, v, m, wc, scale);
    scalar_t* op = out.data_ptr<scalar_t>();
    forward_pass(in, row_pass(h, w), n, op);
    forward_pass(in, col_pass(h, w), n, op);
  });
  // No saved statistics: backward recomputes the line softmaxes.
  return {from_pixel_major(out, value), at::empty({0}, value.options().dtype(at::kFloat))};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> cca_backward_cpu(
    const at::Tensor& grad_out, const at::Tensor& query, const at::Tensor& key,
    const at::Tensor& value, const at::Tensor& mask, const at::Tensor& weights, double scale,
    const at::Tensor& /*stats: unused, the CPU path recomputes*/) {
  const int64_t n = value.size(0), h = value.size(2), w = value.size(3);
  const at::ScalarType type = compute_type(value);
  const at::Tensor q = pixel_major(query, type), k = pixel_major(key, type);
  const at::Tensor v = pixel_major(value, type), g = pixel_major(grad_out, type);
  const at::Tensor m = (mask.reshape({n, h * w}) != 0).contiguous();
  const at::Tensor wc = weights.to(type).contiguous();
  at::Tensor gq = at::zeros_like(q), gk = at::zeros_like(k), gv = at::zeros_like(v);
  at::Tensor gw = at::zeros_like(wc);
  AT_DISPATCH_FLOATING_TYPES(type, "cca_backward_cpu", [&] {
    const auto in = make_inputs<scalar_t>(q, k, v, m, wc, scale);
    const scalar_t* gp = g.const_data_ptr<scalar_t>();
    for (const Pass& pass : {row_pass(h, w), col_pass(h, w)}) {
      backward_pass(in, pass, n, gp, gq.data_ptr<scalar_t>(), gk.data_ptr<scalar_t>(),
                    gv.data_ptr<scalar_t>(), gw.data_ptr<scalar_t>());
    }
  });
  return {from_pixel_major(gq, query), from_pixel_major(gk, key), from_pixel_major(gv, value),
          gw.to(weights.scalar_type())};
}

}  // namespace spairkit
