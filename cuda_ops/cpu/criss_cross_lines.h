// The per-line engine of the CPU masked criss-cross attention (SPAIR eqs. 3-5),
// shared by the dense-map operator (criss_cross_cpu.cpp) and the compact one on
// site rows (criss_cross_sites_cpu.cpp); they differ only in where a query's
// features, weights and results live (the Queries policy below).
//
// A pass is the rows (left/right rays) or the columns (up/down rays) of the
// images. On a line, the degraded pixels are the queries and the clean ones the
// keys, both in position order, so a query's "before" ray is a prefix of the keys
// and its "after" ray the suffix. One task = one busy line (at least one query
// and one key), and per task:
//   1. the line's keys are gathered once from the dense key/value maps (any
//      strides) into small line buffers (keys channel-major (Cq, K), values
//      key-major (K, C)), the queries into (Q, Cq);
//   2. logits = scale Q K (one gemm_bcast), then per query and ray a
//      max-subtracted softmax times the ray's direction weight (an empty ray
//      stays empty and contributes 0);
//   3. out = P V (one gemm_bcast), added to the queries' outputs.
// Cost: sum over busy lines of Q x K x (Cq + C) multiply-adds plus K x (Cq + C)
// for the gather, i.e. at most n (H + W) (Cq + C) for n queries, and nothing of
// size H x W. No BLAS or ATen call inside the parallel region (cpu_kernels.h).
//
// Backward is in gather form: it recomputes the line's attention and produces the
// gradients of the line's own queries (and their weights) and keys. Each pixel
// belongs to one row and one column, so within a pass every task owns what it
// writes; the row pass runs before the column pass, and both add into outputs
// that start at zero. No atomics; results do not depend on the number of threads.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "cpu_kernels.h"

namespace spairkit {
namespace cpu {
namespace cca {

// A dense (N, C, H, W) map of any strides; offset() is the element of (pixel, 0).
template <typename T>
struct Map {
  T* data = nullptr;
  int64_t sn = 0, sc = 0, sh = 0, sw = 0, hw = 1, w = 1;
  Map() = default;
  Map(const at::Tensor& t, T* ptr)
      : data(ptr), sn(t.stride(0)), sc(t.stride(1)), sh(t.stride(2)), sw(t.stride(3)),
        hw(t.size(2) * t.size(3)), w(t.size(3)) {}
  int64_t offset(int64_t pix) const {
    const int64_t img = pix / hw, local = pix - img * hw;
    return img * sn + (local / w) * sh + (local % w) * sw;
  }
};

// The busy lines of one pass. Queries of line l: entries q_ptr[l]..q_ptr[l+1] of
// q_id (a site row or a flat pixel index, as the Queries policy reads them) with
// q_split the number of keys before each; keys: k_pix[k_ptr[l]..k_ptr[l+1]),
// flat pixel indices n*H*W + i*W + j.
struct Lines {
  const int64_t* q_ptr = nullptr;
  const int64_t* q_id = nullptr;
  const int64_t* q_split = nullptr;
  const int64_t* k_ptr = nullptr;
  const int64_t* k_pix = nullptr;
  int64_t count = 0;
  int64_t dir0 = 0;  // weights column of the before-ray: 0 (left) or 2 (up)
  int64_t nq(int64_t l) const { return q_ptr[l + 1] - q_ptr[l]; }
  int64_t nk(int64_t l) const { return k_ptr[l + 1] - k_ptr[l]; }
};

// Owned line lists of one pass, built from a mask (see spairkit.ops.sites.LineLists):
// the lines_per_image lines of length len; pixel (line, pos) of image img is
// img*hw + line*line_step + pos*pix_step. q_id is the pixel mapped through
// query_id (the identity for the dense operator, the site row for the plan).
struct LineLists {
  std::vector<int64_t> q_ptr{0}, q_id, q_split, k_ptr{0}, k_pix;
  Lines view(int64_t dir0) const {
    return {q_ptr.data(), q_id.data(), q_split.data(), k_ptr.data(), k_pix.data(),
            static_cast<int64_t>(q_ptr.size()) - 1, dir0};
  }
};

template <typename QueryId>
LineLists build_lines(const bool* m, int64_t n, int64_t hw, int64_t lines_per_image, int64_t len,
                      int64_t line_step, int64_t pix_step, const QueryId& query_id) {
  LineLists out;
  for (int64_t img = 0; img < n; ++img) {
    for (int64_t line = 0; line < lines_per_image; ++line) {
      const int64_t first = img * hw + line * line_step;
      int64_t deg = 0;
      for (int64_t l = 0; l < len; ++l) deg += m[first + l * pix_step];
      if (deg == 0 || deg == len) continue;
      int64_t clean = 0;
      for (int64_t l = 0; l < len; ++l) {
        const int64_t pix = first + l * pix_step;
        if (m[pix]) {
          out.q_id.push_back(query_id(pix));
          out.q_split.push_back(clean);
        } else {
          out.k_pix.push_back(pix);
          ++clean;
        }
      }
      out.q_ptr.push_back(static_cast<int64_t>(out.q_id.size()));
      out.k_ptr.push_back(static_cast<int64_t>(out.k_pix.size()));
    }
  }
  return out;
}

// Per-thread line buffers (resized on demand, reused across lines).
template <typename T>
struct Scratch {
  std::vector<int64_t> koff, voff, gkoff, gvoff;
  std::vector<T> q, g, kt, kk, vt, vk, s, u, o, gq, gkt, gvt;
  static T* fit(std::vector<T>& v, int64_t size) {
    if (static_cast<int64_t>(v.size()) < size) v.resize(size);
    return v.data();
  }
};

// The channel-major line buffers have rows of padded(K) entries, zero after K, so
// that every GEMM along the keys runs on whole vectors (cpu_kernels.h).
inline int64_t padded(int64_t nk) {
  constexpr int64_t J = kGemmCols<float>;
  return (nk + J - 1) / J * J;
}

// buf (C, padded(K)) channel-major, or (K, C) key-major, of the map at the keys.
template <typename T>
SPAIRKIT_ALWAYS_INLINE void gather_keys(const Map<T>& map, int64_t c, const int64_t* off,
                                        int64_t nk, bool key_major, T* buf) {
  const int64_t ld = padded(nk);
  for (int64_t ch = 0; ch < c; ++ch) {
    const T* plane = map.data + ch * map.sc;
    if (key_major) {
      for (int64_t j = 0; j < nk; ++j) buf[j * c + ch] = plane[off[j]];
    } else {
      T* row = buf + ch * ld;
      for (int64_t j = 0; j < nk; ++j) row[j] = plane[off[j]];
      for (int64_t j = nk; j < ld; ++j) row[j] = T(0);
    }
  }
}

// Rows (nq, nk), leading dimension ld, of logits -> attention per ray in place (max-subtracted softmax);
// with `weighted` each ray is also multiplied by its direction weight w[a][0 | 1].
template <typename T>
SPAIRKIT_ALWAYS_INLINE void ray_softmax(T* s, int64_t ld, int64_t nq, int64_t nk,
                                        const int64_t* split, const T* w, bool weighted) {
  for (int64_t a = 0; a < nq; ++a) {
    T* row = s + a * ld;
    const int64_t bounds[3] = {0, split[a], nk};
    for (int r = 0; r < 2; ++r) {
      const int64_t lo = bounds[r], len = bounds[r + 1] - bounds[r];
      if (len == 0) continue;
      T* x = row + lo;
      T mx = x[0];
      for (int64_t j = 1; j < len; ++j) mx = std::max(mx, x[j]);
      for (int64_t j = 0; j < len; ++j) x[j] -= mx;
      exp_inplace(x, len);
      T sum = 0;
      for (int64_t j = 0; j < len; ++j) sum += x[j];
      const T f = (weighted ? w[a * 2 + r] : T(1)) / sum;  // sum >= 1: exp(0) is in it
      for (int64_t j = 0; j < len; ++j) x[j] *= f;
    }
  }
}

// Inputs shared by every line of a call.
template <typename T>
struct Problem {
  Map<T> key, value;
  int64_t cq = 0, c = 0;
  T scale = 1;
  bool shared = false;  // key and value are one map (and cq == c)
};

// The pixel offsets of the line's keys in the key and value maps (sc.koff, sc.voff,
// grown to nk when needed).
template <typename T>
SPAIRKIT_ALWAYS_INLINE void key_offsets(const Problem<T>& pb, const int64_t* kpix, int64_t nk,
                                        Scratch<T>& sc) {
  if (static_cast<int64_t>(sc.koff.size()) < nk) {
    sc.koff.resize(nk);
    sc.voff.resize(nk);
  }
  int64_t* ko = sc.koff.data();
  int64_t* vo = sc.voff.data();
  for (int64_t j = 0; j < nk; ++j) {
    ko[j] = pb.key.offset(kpix[j]);
    vo[j] = pb.value.offset(kpix[j]);
  }
}

// Forward of one line; Queries provides load_q(id, dst), weights(id, dir0, dst[2])
// and add_out(id, row).
template <typename T, typename Queries>
SPAIRKIT_ALWAYS_INLINE void forward_line(const Problem<T>& pb, const Lines& lines, int64_t l,
                                         const Queries& qs, Scratch<T>& sc) {
  const int64_t nq = lines.nq(l), nk = lines.nk(l), cq = pb.cq, c = pb.c;
  if (nq == 0 || nk == 0) return;
  const int64_t* qid = lines.q_id + lines.q_ptr[l];
  const int64_t* split = lines.q_split + lines.q_ptr[l];
  key_offsets(pb, lines.k_pix + lines.k_ptr[l], nk, sc);
  const int64_t ld = padded(nk);
  T* kt = Scratch<T>::fit(sc.kt, cq * ld);
  T* vk = Scratch<T>::fit(sc.vk, nk * c);
  gather_keys(pb.key, cq, sc.koff.data(), nk, false, kt);
  gather_keys(pb.value, c, sc.voff.data(), nk, true, vk);
  T* q = Scratch<T>::fit(sc.q, nq * cq);
  T* w = Scratch<T>::fit(sc.g, nq * 2);
  for (int64_t a = 0; a < nq; ++a) {
    qs.load_q(qid[a], q + a * cq);
    qs.weights(qid[a], lines.dir0, w + a * 2);
  }
  T* s = Scratch<T>::fit(sc.s, nq * ld);
  gemm_bcast<T>(nq, ld, cq, pb.scale, q, cq, 1, kt, ld, s, ld, false);
  ray_softmax(s, ld, nq, nk, split, w, true);
  T* o = Scratch<T>::fit(sc.o, nq * c);
  gemm_bcast<T>(nq, c, nk, T(1), s, ld, 1, vk, c, o, c, false);
  for (int64_t a = 0; a < nq; ++a) qs.add_out(qid[a], o + a * c);
}

// Backward of one line. Queries also provides load_g(id, dst) (dL/dout row),
// add_gq(id, row) and set_gw(id, dir0, d_before, d_after). gk / gv: dense
// gradient maps of key and value (one map when pb.shared), added to at the keys.
template <typename T, typename Queries>
SPAIRKIT_ALWAYS_INLINE void backward_line(const Problem<T>& pb, const Lines& lines, int64_t l,
                                          const Queries& qs, const Map<T>& gk, const Map<T>& gv,
                                          Scratch<T>& sc) {
  const int64_t nq = lines.nq(l), nk = lines.nk(l), cq = pb.cq, c = pb.c;
  if (nq == 0 || nk == 0) return;
  const int64_t* qid = lines.q_id + lines.q_ptr[l];
  const int64_t* split = lines.q_split + lines.q_ptr[l];
  key_offsets(pb, lines.k_pix + lines.k_ptr[l], nk, sc);
  const int64_t* koff = sc.koff.data();
  const int64_t* voff = sc.voff.data();
  const int64_t ld = padded(nk);
  T* kt = Scratch<T>::fit(sc.kt, cq * ld);
  T* kk = Scratch<T>::fit(sc.kk, nk * cq);
  gather_keys(pb.key, cq, koff, nk, false, kt);
  gather_keys(pb.key, cq, koff, nk, true, kk);
  T* vt = kt;
  if (!pb.shared) {
    vt = Scratch<T>::fit(sc.vt, c * ld);
    gather_keys(pb.value, c, voff, nk, false, vt);
  }
  T* q = Scratch<T>::fit(sc.q, nq * cq);
  T* g = Scratch<T>::fit(sc.g, nq * (c + 2));
  T* w = g + nq * c;
  for (int64_t a = 0; a < nq; ++a) {
    qs.load_q(qid[a], q + a * cq);
    qs.load_g(qid[a], g + a * c);
    qs.weights(qid[a], lines.dir0, w + a * 2);
  }
  T* s = Scratch<T>::fit(sc.s, nq * ld);
  T* u = Scratch<T>::fit(sc.u, nq * ld);
  gemm_bcast<T>(nq, ld, cq, pb.scale, q, cq, 1, kt, ld, s, ld, false);
  ray_softmax(s, ld, nq, nk, split, w, false);  // unweighted attention p
  gemm_bcast<T>(nq, ld, c, T(1), g, c, 1, vt, ld, u, ld, false);  // u = <dL/dout, v_j>
  for (int64_t a = 0; a < nq; ++a) {
    T* srow = s + a * ld;
    T* urow = u + a * ld;
    const int64_t bounds[3] = {0, split[a], nk};
    T d[2];
    for (int r = 0; r < 2; ++r) {
      // dL/dweight(ray) = <dL/dout, ray context> = sum_j p(j) u(j); then u becomes
      // dL/dlogit (softmax backward, scale folded in), s the weighted attention.
      T acc = 0;
      for (int64_t j = bounds[r]; j < bounds[r + 1]; ++j) acc += srow[j] * urow[j];
      d[r] = acc;
      const T wr = w[a * 2 + r];
      for (int64_t j = bounds[r]; j < bounds[r + 1]; ++j) {
        urow[j] = wr * srow[j] * (urow[j] - acc) * pb.scale;
        srow[j] *= wr;
      }
    }
    qs.set_gw(qid[a], lines.dir0, d[0], d[1]);
  }
  T* gq = Scratch<T>::fit(sc.gq, nq * cq);
  gemm_bcast<T>(nq, cq, nk, T(1), u, ld, 1, kk, cq, gq, cq, false);
  for (int64_t a = 0; a < nq; ++a) qs.add_gq(qid[a], gq + a * cq);
  // Key-side gradients, channel-major: gk^T = Q^T U, gv^T = G^T S_weighted.
  // Over the padded columns too (whole vectors): there s and u are 0 (zero keys,
  // zero values), and only the first nk columns are scattered.
  T* gkt = Scratch<T>::fit(sc.gkt, cq * ld);
  T* gvt = Scratch<T>::fit(sc.gvt, c * ld);
  gemm_bcast<T>(cq, ld, nq, T(1), q, 1, cq, u, ld, gkt, ld, false);
  gemm_bcast<T>(c, ld, nq, T(1), g, 1, c, s, ld, gvt, ld, false);
  // The gradient maps have their own layout (the inputs may be strided views).
  const int64_t* kpix = lines.k_pix + lines.k_ptr[l];
  if (static_cast<int64_t>(sc.gkoff.size()) < nk) {
    sc.gkoff.resize(nk);
    sc.gvoff.resize(nk);
  }
  int64_t* gko = sc.gkoff.data();
  int64_t* gvo = sc.gvoff.data();
  for (int64_t j = 0; j < nk; ++j) {
    gko[j] = gk.offset(kpix[j]);
    gvo[j] = gv.offset(kpix[j]);
  }
  for (int64_t ch = 0; ch < cq; ++ch) {
    T* plane = gk.data + ch * gk.sc;
    const T* row = gkt + ch * ld;
    for (int64_t j = 0; j < nk; ++j) plane[gko[j]] += row[j];
  }
  for (int64_t ch = 0; ch < c; ++ch) {
    T* plane = gv.data + ch * gv.sc;
    const T* row = gvt + ch * ld;
    for (int64_t j = 0; j < nk; ++j) plane[gvo[j]] += row[j];
  }
}

// The lines of a pass in decreasing order of work, so that the last tasks claimed
// are the small ones and the threads finish together.
inline std::vector<int64_t> by_cost(const Lines& lines) {
  std::vector<int64_t> order(lines.count);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    return (lines.nq(x) + 1) * lines.nk(x) > (lines.nq(y) + 1) * lines.nk(y);
  });
  return order;
}

}  // namespace cca
}  // namespace cpu
}  // namespace spairkit
