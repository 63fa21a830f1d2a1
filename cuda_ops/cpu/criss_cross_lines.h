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
#include <ATen/Dispatch.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
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
  // offset() of n pixels of ONE image (a line's keys) into dst. When the rows
  // follow each other at a uniform pixel stride (NCHW- or channels-last-contiguous
  // planes) the offset is linear in the flat index and costs no division; the
  // general form divides three times per pixel, which was a fifth of a line's time.
  void image_offsets(const int64_t* pix, int64_t n, int64_t* dst) const {
    if (n <= 0) return;
    if (sh == w * sw) {
      const int64_t base = (pix[0] / hw) * (sn - hw * sw);
      for (int64_t j = 0; j < n; ++j) dst[j] = base + pix[j] * sw;
    } else {
      for (int64_t j = 0; j < n; ++j) dst[j] = offset(pix[j]);
    }
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
  if (map.sc == 1) {  // pixel-major map: one contiguous run of C values per key
    for (int64_t j = 0; j < nk; ++j) {
      const T* src = map.data + off[j];
      if (key_major) {
        std::memcpy(buf + j * c, src, sizeof(T) * c);
      } else {
        for (int64_t ch = 0; ch < c; ++ch) buf[ch * ld + j] = src[ch];
      }
    }
    if (!key_major) {
      for (int64_t ch = 0; ch < c; ++ch) std::fill(buf + ch * ld + nk, buf + (ch + 1) * ld, T(0));
    }
    return;
  }
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

// One image-blocked transpose between NCHW planes and pixel-major rows, for both
// directions (ToPixelMajor: planes -> rows, else rows -> planes): tiles of 8 channels
// x 256 pixels, so one side is 8 streams and the other 8-value runs.
template <bool ToPixelMajor>
inline void transpose_tiles(const at::Tensor& src_t, at::Tensor& dst_t) {
  const int64_t n = src_t.size(0), c = src_t.size(1), hw = src_t.size(2) * src_t.size(3);
  constexpr int64_t kBlock = 256;  // pixels per task
  constexpr int64_t kTile = 8;     // channels per pass
  const int64_t blocks = (hw + kBlock - 1) / kBlock;
  AT_DISPATCH_FLOATING_TYPES(src_t.scalar_type(), "transpose_tiles", [&] {
    const scalar_t* src = src_t.const_data_ptr<scalar_t>();
    scalar_t* dst = dst_t.data_ptr<scalar_t>();
    parallel_tasks(n * blocks, [] { return 0; }, [&](int64_t task, int) {
      const int64_t img = task / blocks, p0 = (task % blocks) * kBlock;
      const int64_t p1 = std::min(hw, p0 + kBlock);
      const scalar_t* s_img = src + img * c * hw;
      scalar_t* d_img = dst + img * c * hw;
      // plane(ch, px) and row(ch, px): the two layouts' offsets of one value.
      const auto move = [&](int64_t ch, int64_t px) {
        if constexpr (ToPixelMajor) d_img[px * c + ch] = s_img[ch * hw + px];
        else d_img[ch * hw + px] = s_img[px * c + ch];
      };
      int64_t ch0 = 0;
      for (; ch0 + kTile <= c; ch0 += kTile) {
        for (int64_t px = p0; px < p1; ++px) {
          for (int64_t k = 0; k < kTile; ++k) move(ch0 + k, px);
        }
      }
      for (; ch0 < c; ++ch0) {
        for (int64_t px = p0; px < p1; ++px) move(ch0, px);
      }
    });
  });
}

// The key and value maps as the lines read them. A line reads C channels at each
// of its keys: from an NCHW map those are C loads from C planes a whole plane
// apart, and a column's keys a row apart, so nearly every load missed the caches
// and the TLB (half of the forward's time at 10% degraded pixels). A pixel-major
// (channels-last) map has one contiguous run per key, so a map read at many of its
// pixels (keys_read: the keys of both passes) is copied to pixel-major once per
// call, one blocked pass over it, and both passes read the copy; a map read at few
// pixels is read in place.
inline at::Tensor pixel_major(const at::Tensor& t, int64_t keys_read) {
  if (t.stride(1) == 1 || t.size(1) == 1) return t;
  const int64_t n = t.size(0), hw = t.size(2) * t.size(3);
  if (4 * keys_read < n * hw) return t;
  at::Tensor out = at::empty(t.sizes(), t.options().memory_format(at::MemoryFormat::ChannelsLast));
  if (!t.is_contiguous()) {
    out.copy_(t);
    return out;
  }
  transpose_tiles<true>(t, out);
  return out;
}

// A pixel-major (channels-last) map copied back to NCHW, the layout the op returns
// its gradients in whatever layout they were accumulated in (the CUDA kernels and the
// op's fake both promise NCHW).
inline at::Tensor channel_major(const at::Tensor& t) {
  if (t.is_contiguous()) return t;
  at::Tensor out = at::empty(t.sizes(), t.options());
  if (!t.is_contiguous(at::MemoryFormat::ChannelsLast)) {
    out.copy_(t);
    return out;
  }
  transpose_tiles<false>(t, out);
  return out;
}

// Rows (nq, nk), leading dimension ld, of logits -> attention per ray in place (max-subtracted softmax);
// with `weighted` each ray is also multiplied by its direction weight w[a][0 | 1].
template <typename T, int B>
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
      exp_inplace<B>(x, len);
      T sum = 0;
      for (int64_t j = 0; j < len; ++j) sum += x[j];
      const T f = (weighted ? w[a * 2 + r] : T(1)) / sum;  // sum >= 1: exp(0) is in it
      for (int64_t j = 0; j < len; ++j) x[j] *= f;
    }
  }
}

// Whether key and value are one map (same memory, sizes and strides): then one
// gather serves both.
inline bool same_map(const at::Tensor& k, const at::Tensor& v) {
  return k.data_ptr() == v.data_ptr() && k.sizes() == v.sizes() && k.strides() == v.strides() &&
         k.scalar_type() == v.scalar_type();
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
  pb.key.image_offsets(kpix, nk, ko);
  pb.value.image_offsets(kpix, nk, vo);
}

// kt (c, ld) channel-major, zero after nk, from the key-major rows kk (nk, c).
template <typename T>
SPAIRKIT_ALWAYS_INLINE void transpose_keys(const T* kk, int64_t nk, int64_t c, int64_t ld, T* kt) {
  for (int64_t ch = 0; ch < c; ++ch) {
    T* row = kt + ch * ld;
    for (int64_t j = 0; j < nk; ++j) row[j] = kk[j * c + ch];
    std::fill(row + nk, row + ld, T(0));
  }
}

// buf (K, ldc) key-major, channels [c, ldc) zero, of the map at the keys.
template <typename T>
SPAIRKIT_ALWAYS_INLINE void gather_key_rows(const Map<T>& map, int64_t c, int64_t ldc,
                                            const int64_t* off, int64_t nk, T* buf) {
  if (map.sc == 1) {  // pixel-major: one contiguous run per key
    for (int64_t j = 0; j < nk; ++j) {
      std::memcpy(buf + j * ldc, map.data + off[j], sizeof(T) * c);
      std::fill(buf + j * ldc + c, buf + (j + 1) * ldc, T(0));
    }
    return;
  }
  for (int64_t j = 0; j < nk; ++j) std::fill(buf + j * ldc + c, buf + (j + 1) * ldc, T(0));
  for (int64_t ch = 0; ch < c; ++ch) {
    const T* plane = map.data + ch * map.sc;
    for (int64_t j = 0; j < nk; ++j) buf[j * ldc + ch] = plane[off[j]];
  }
}

// The line's attention, transposed: st (K, ldq) holds the logits of query a in
// column a; each column becomes, per ray (keys before split[a] / from it on), a
// max-subtracted softmax times the ray's weight w[a][0 | 1]; an empty ray has no
// entries. All the line's queries at once, one query per vector lane, so every
// load and store is a whole vector of a key row (no strided access, no reduction
// across lanes). Columns [nq, ldq) are padding and come out finite but unused.
template <typename T, int B>
SPAIRKIT_ALWAYS_INLINE void ray_softmax_t(T* st, int64_t ldq, int64_t nq, int64_t nk,
                                          const int64_t* split, const T* w) {
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  using V = typename Vec<T, B>::type;
  using VI = typename Vec<I, B>::type;
  constexpr int64_t L = B / sizeof(T);
  const T lowest = std::numeric_limits<T>::lowest();
  for (int64_t a0 = 0; a0 < nq; a0 += L) {
    V wb{}, wa{};
    VI sp;
    for (int64_t i = 0; i < L; ++i) {
      const bool real = a0 + i < nq;
      sp[i] = static_cast<I>(real ? split[a0 + i] : nk);
      wb[i] = real ? w[(a0 + i) * 2] : T(0);
      wa[i] = real ? w[(a0 + i) * 2 + 1] : T(0);
    }
    V mb = V{} + lowest, ma = V{} + lowest;
    for (int64_t j = 0; j < nk; ++j) {
      const V x = *reinterpret_cast<const V*>(st + j * ldq + a0);
      const VI before = (VI{} + static_cast<I>(j)) < sp;
      mb = before ? (x > mb ? x : mb) : mb;
      ma = before ? ma : (x > ma ? x : ma);
    }
    V sb{}, sa{};
    for (int64_t j = 0; j < nk; ++j) {
      V* px = reinterpret_cast<V*>(st + j * ldq + a0);
      const VI before = (VI{} + static_cast<I>(j)) < sp;
      V x = *px - (before ? mb : ma);
      if constexpr (sizeof(T) == 4) {
        x = x < T(-87) ? V{} + T(-87) : x;
        x = exp_poly<V, VI>(x);
      } else {
        for (int64_t i = 0; i < L; ++i) x[i] = std::exp(x[i]);
      }
      *px = x;
      sb += before ? x : V{};
      sa += before ? V{} : x;
    }
    V fb, fa;
    for (int64_t i = 0; i < L; ++i) {  // a ray's sum is >= 1 (exp(0) is in it) or empty
      fb[i] = sb[i] > T(0) ? wb[i] / sb[i] : T(0);
      fa[i] = sa[i] > T(0) ? wa[i] / sa[i] : T(0);
    }
    for (int64_t j = 0; j < nk; ++j) {
      V* px = reinterpret_cast<V*>(st + j * ldq + a0);
      const VI before = (VI{} + static_cast<I>(j)) < sp;
      *px *= before ? fb : fa;
    }
  }
}

// Forward of one line, with B-byte vectors (cpu::with_isa); Queries provides
// load_q(id, dst), weights(id, dir0, dst[2]) and add_out(id, row). Keys and
// values are gathered key-major (one contiguous run per key from a pixel-major
// map; one gather when they are one map), the queries channel-major, and the
// logits computed transposed (keys x queries) so that the softmax runs across
// the line's queries in vector lanes; both products are register-blocked GEMMs
// on whole 64-byte blocks (every buffer padded with zeros).
template <typename T, int B, typename Queries>
SPAIRKIT_ALWAYS_INLINE void forward_line(const Problem<T>& pb, const Lines& lines, int64_t l,
                                         const Queries& qs, Scratch<T>& sc) {
  const int64_t nq = lines.nq(l), nk = lines.nk(l), cq = pb.cq, c = pb.c;
  if (nq == 0 || nk == 0) return;
  const int64_t* qid = lines.q_id + lines.q_ptr[l];
  const int64_t* split = lines.q_split + lines.q_ptr[l];
  key_offsets(pb, lines.k_pix + lines.k_ptr[l], nk, sc);
  const int64_t cqp = padded(cq), cp = padded(c), nqp = padded(nq);
  T* kk = Scratch<T>::fit(sc.kk, nk * cqp);
  gather_key_rows(pb.key, cq, cqp, sc.koff.data(), nk, kk);
  T* vk = kk;
  if (!pb.shared) {
    vk = Scratch<T>::fit(sc.vk, nk * cp);
    gather_key_rows(pb.value, c, cp, sc.voff.data(), nk, vk);
  }
  T* qt = Scratch<T>::fit(sc.q, cq * nqp);  // (Cq, nqp), padding queries 0
  T* row = Scratch<T>::fit(sc.u, cq);
  T* w = Scratch<T>::fit(sc.g, nq * 2);
  std::fill(qt, qt + cq * nqp, T(0));
  for (int64_t a = 0; a < nq; ++a) {
    qs.load_q(qid[a], row);
    for (int64_t ch = 0; ch < cq; ++ch) qt[ch * nqp + a] = row[ch];
    qs.weights(qid[a], lines.dir0, w + a * 2);
  }
  T* st = Scratch<T>::fit(sc.s, nk * nqp);
  gemm_bcast<T, B>(nk, nqp, cq, pb.scale, kk, cqp, 1, qt, nqp, st, nqp, false);
  ray_softmax_t<T, B>(st, nqp, nq, nk, split, w);
  T* o = Scratch<T>::fit(sc.o, nq * cp);
  gemm_bcast<T, B>(nq, cp, nk, T(1), st, 1, nqp, vk, cp, o, cp, false);
  for (int64_t a = 0; a < nq; ++a) qs.add_out(qid[a], o + a * cp);
}

// The line's key gradients added to a gradient map at the keys (pixel offsets off).
// A pixel-major map takes one contiguous run of c values per key from the key-major
// rows gr (nk, c); a channel-major map takes c writes a plane apart per key from the
// channel-major gt (c, ld), and for a column line every key lies in another row:
// each write its own cache line and page (the largest cost of the backward at a few
// % degraded pixels while the maps were channel-major).
template <typename T>
SPAIRKIT_ALWAYS_INLINE void add_key_rows(const Map<T>& map, const T* gr, int64_t c,
                                         const int64_t* off, int64_t nk) {
  for (int64_t j = 0; j < nk; ++j) {
    T* dst = map.data + off[j];
    const T* src = gr + j * c;
    for (int64_t ch = 0; ch < c; ++ch) dst[ch] += src[ch];
  }
}
template <typename T>
SPAIRKIT_ALWAYS_INLINE void add_key_planes(const Map<T>& map, const T* gt, int64_t ld, int64_t c,
                                           const int64_t* off, int64_t nk) {
  for (int64_t ch = 0; ch < c; ++ch) {
    T* plane = map.data + ch * map.sc;
    const T* row = gt + ch * ld;
    for (int64_t j = 0; j < nk; ++j) plane[off[j]] += row[j];
  }
}

// Key-side gradient of one map: gt = X^T P over the line's queries, with X (nq, c)
// the queries' rows (q or dL/dout) and P (nq, ld) the line's matrix (dL/dlogit or
// the weighted attention), added to the map in its own layout (add_key_rows /
// add_key_planes). Channel-major, the product runs over the padded columns too
// (whole vectors: there P is 0) and only the first nk are added.
template <typename T, int B>
SPAIRKIT_ALWAYS_INLINE void add_key_grads(const Map<T>& map, const T* x, int64_t c, const T* pm,
                                          int64_t ld, int64_t nq, int64_t nk, const int64_t* off,
                                          std::vector<T>& buf) {
  if (map.sc == 1) {
    T* gr = Scratch<T>::fit(buf, nk * c);
    gemm_bcast<T, B>(nk, c, nq, T(1), pm, 1, ld, x, c, gr, c, false);
    add_key_rows(map, gr, c, off, nk);
    return;
  }
  T* gt = Scratch<T>::fit(buf, c * ld);
  gemm_bcast<T, B>(c, ld, nq, T(1), x, 1, c, pm, ld, gt, ld, false);
  add_key_planes(map, gt, ld, c, off, nk);
}

// Backward of one line. Queries also provides load_g(id, dst) (dL/dout row),
// add_gq(id, row) and set_gw(id, dir0, d_before, d_after). gk / gv: dense
// gradient maps of key and value (one map when pb.shared), added to at the keys.
template <typename T, int B, typename Queries>
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
  gather_keys(pb.key, cq, koff, nk, true, kk);
  transpose_keys(kk, nk, cq, ld, kt);  // from the cache, not a second gather
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
  gemm_bcast<T, B>(nq, ld, cq, pb.scale, q, cq, 1, kt, ld, s, ld, false);
  ray_softmax<T, B>(s, ld, nq, nk, split, w, false);  // unweighted attention p
  gemm_bcast<T, B>(nq, ld, c, T(1), g, c, 1, vt, ld, u, ld, false);  // u = <dL/dout, v_j>
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
  gemm_bcast<T, B>(nq, cq, nk, T(1), u, ld, 1, kk, cq, gq, cq, false);
  for (int64_t a = 0; a < nq; ++a) qs.add_gq(qid[a], gq + a * cq);
  // Key-side gradients: gk = U^T Q, gv = S_weighted^T G, in the maps' own layouts
  // (the inputs may be strided views).
  const int64_t* kpix = lines.k_pix + lines.k_ptr[l];
  if (static_cast<int64_t>(sc.gkoff.size()) < nk) {
    sc.gkoff.resize(nk);
    sc.gvoff.resize(nk);
  }
  int64_t* gko = sc.gkoff.data();
  int64_t* gvo = sc.gvoff.data();
  gk.image_offsets(kpix, nk, gko);
  gv.image_offsets(kpix, nk, gvo);
  add_key_grads<T, B>(gk, q, cq, u, ld, nq, nk, gko, sc.gkt);
  add_key_grads<T, B>(gv, g, c, s, ld, nq, nk, gvo, sc.gvt);
}

// One line with the kernels of the active ISA (cpu::with_isa), for either Queries
// policy (the dense-map operator's or the compact path's).
template <typename T, typename Queries>
void forward_line_isa(const Problem<T>& pb, const Lines& lines, int64_t l, const Queries& qs,
                      Scratch<T>& sc) {
  with_isa([&](auto w) SPAIRKIT_INLINE_LAMBDA {
    forward_line<T, decltype(w)::bytes>(pb, lines, l, qs, sc);
  });
}
template <typename T, typename Queries>
void backward_line_isa(const Problem<T>& pb, const Lines& lines, int64_t l, const Queries& qs,
                       const Map<T>& gk, const Map<T>& gv, Scratch<T>& sc) {
  with_isa([&](auto w) SPAIRKIT_INLINE_LAMBDA {
    backward_line<T, decltype(w)::bytes>(pb, lines, l, qs, gk, gv, sc);
  });
}

// The key and value maps the lines read (pixel_major), one when they are the same
// map (same_map, and cq == C); keys_read: the keys of both passes.
struct KeyMaps {
  at::Tensor key, value;
  bool shared = false;
};
inline KeyMaps key_maps(const at::Tensor& k, const at::Tensor& v, int64_t cq, int64_t keys_read) {
  KeyMaps maps;
  maps.shared = cq == v.size(1) && same_map(k, v);
  maps.key = pixel_major(k, keys_read);
  maps.value = maps.shared ? maps.key : pixel_major(v, keys_read);
  return maps;
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
