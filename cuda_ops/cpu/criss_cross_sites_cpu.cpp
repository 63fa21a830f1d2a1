// CPU masked criss-cross attention on the compact path (SPAIR eqs. 3-5):
// the degraded queries are site rows (P, Cq), the keys and values are the clean
// pixels of the dense maps, the output is rows (P, C).
//
// Organisation (cost sum over busy lines of queries x keys x C, at most
// n (H + W) C for n degraded sites; nothing of size H x W per query):
// * Per pass, the clean keys of every busy line (listed by the plan line after
//   line, k_pix) are gathered once per call from the dense key and value maps into
//   channel-major buffers (C, K): plane by plane, so the reads stay within one
//   channel plane at a time. The keys of a line are then a column block of that
//   buffer, used in place by BLAS (leading dimension K): no per-line copies.
// * Lines are processed in chunks of about kChunk logits. Per chunk: (1) in
//   parallel over lines, one BLAS call gives the scaled logits of the line and
//   each query's two rays (keys before / after it) get their maximum subtracted;
//   (2) one vectorised at::exp_ over the chunk's logits; (3) in parallel over lines,
//   each ray is normalised (an empty ray is simply empty: it contributes 0), the
//   direction weights are folded in (the rays are disjoint) and a second BLAS call
//   multiplies by the values. BLAS is the Fortran sgemm_/dgemm_ that every CPU
//   build of torch links (MKL or OpenBLAS), called directly: no dispatcher, no
//   tensor allocation per line; inside at::parallel_for it runs single-threaded.
// * Backward recomputes the softmax the same way and is in gather form: every
//   query and every key site belongs to exactly one row and one column, lines of a
//   pass run in parallel and own their outputs, the row pass writes and the column
//   pass adds. No atomics; results do not depend on the number of threads.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "spairkit_ops.h"

extern "C" {
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b,
            const int* ldb, const double* beta, double* c, const int* ldc);
}

namespace spairkit {
namespace {

constexpr int64_t kChunk = int64_t{1} << 21;  // logits per chunk (8 MB in float32)

inline void blas_gemm(char ta, char tb, int m, int n, int k, float alpha, const float* a,
                      int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  sgemm_(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}
inline void blas_gemm(char ta, char tb, int m, int n, int k, double alpha, const double* a,
                      int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  dgemm_(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}

// Row-major C (m x n) = alpha op(A) (m x k) op(B) (k x n) + beta C. BLAS is
// column-major, where this reads C^T = op(B)^T op(A)^T: the operands swap.
template <typename scalar_t>
void mm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, scalar_t alpha, const scalar_t* a,
        int64_t lda, const scalar_t* b, int64_t ldb, scalar_t beta, scalar_t* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == scalar_t(0) ? 0 : beta * c[i * ldc + j];
    }
    return;
  }
  blas_gemm(tb ? 'T' : 'N', ta ? 'T' : 'N', static_cast<int>(n), static_cast<int>(m),
            static_cast<int>(k), alpha, b, static_cast<int>(ldb), a, static_cast<int>(lda), beta,
            c, static_cast<int>(ldc));
}

// The busy lines of one pass (see spairkit.ops.sites.LineLists): queries of line l
// are site rows q_idx[q_ptr[l]..q_ptr[l+1]) in position order, q_split the number
// of keys before each; its keys are entries k_ptr[l]..k_ptr[l+1] of k_pix (flat
// pixel indices), i.e. columns of the pass's channel-major key buffers.
struct Lines {
  const int64_t* q_ptr;
  const int64_t* q_idx;
  const int64_t* q_split;
  const int64_t* k_ptr;
  const int64_t* k_pix;
  int64_t count;
  int64_t dir0;  // weights column of the before-ray: 0 (left) or 2 (up)

  int64_t nq(int64_t l) const { return q_ptr[l + 1] - q_ptr[l]; }
  int64_t nk(int64_t l) const { return k_ptr[l + 1] - k_ptr[l]; }
  // Whether the rows of line l (queries or keys) are consecutive, so a block of
  // the buffer can be used in place (always true for the keys of a row).
  static bool consecutive(const int64_t* idx, int64_t count) {
    return count == 0 || idx[count - 1] - idx[0] == count - 1;
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
  return {lists[first].const_data_ptr<int64_t>(),     lists[first + 1].const_data_ptr<int64_t>(),
          lists[first + 2].const_data_ptr<int64_t>(), lists[first + 3].const_data_ptr<int64_t>(),
          lists[first + 4].const_data_ptr<int64_t>(), lists[first].size(0) - 1,
          dir0};
}

// Rows idx[0..count) of src (width columns): a pointer into src when they are
// consecutive, else copied into buf.
template <typename scalar_t>
const scalar_t* rows_of(const scalar_t* src, const int64_t* idx, int64_t count, int64_t width,
                        std::vector<scalar_t>& buf) {
  if (Lines::consecutive(idx, count)) return src + (count ? idx[0] : 0) * width;
  if (static_cast<int64_t>(buf.size()) < count * width) buf.resize(count * width);
  for (int64_t r = 0; r < count; ++r) {
    std::memcpy(buf.data() + r * width, src + idx[r] * width, sizeof(scalar_t) * width);
  }
  return buf.data();
}

// dst rows idx[] += src rows (count x width).
template <typename scalar_t>
void add_rows(scalar_t* dst, const int64_t* idx, int64_t count, int64_t width,
              const scalar_t* src) {
  for (int64_t r = 0; r < count; ++r) {
    scalar_t* d = dst + idx[r] * width;
    const scalar_t* s = src + r * width;
    for (int64_t c = 0; c < width; ++c) d[c] += s[c];
  }
}

// C rows idx[] += alpha op(A) op(B): in place when the rows are consecutive.
template <typename scalar_t>
void mm_into_rows(bool ta, bool tb, int64_t m, int64_t n, int64_t k, scalar_t alpha,
                  const scalar_t* a, int64_t lda, const scalar_t* b, int64_t ldb, scalar_t* dst,
                  const int64_t* idx, std::vector<scalar_t>& buf) {
  if (m == 0) return;
  if (Lines::consecutive(idx, m)) {
    mm<scalar_t>(ta, tb, m, n, k, alpha, a, lda, b, ldb, 1, dst + idx[0] * n, n);
    return;
  }
  if (static_cast<int64_t>(buf.size()) < m * n) buf.resize(m * n);
  mm<scalar_t>(ta, tb, m, n, k, alpha, a, lda, b, ldb, 0, buf.data(), n);
  add_rows(dst, idx, m, n, buf.data());
}

// Per-thread buffers.
template <typename scalar_t>
struct Scratch {
  std::vector<scalar_t> q, g, u, out;
};

// Shared by forward and backward: the inputs of one call.
template <typename scalar_t>
struct Problem {
  const scalar_t* q;   // (P, Cq) query rows
  const scalar_t* kt;  // (Cq, K) keys of the pass's lines, channel-major
  const scalar_t* vt;  // (C, K) values there
  const scalar_t* w;   // (P, 4) direction weights
  int64_t cq, c, kp;
  scalar_t scale;
};

// The chunks of a pass: [begin, end) line ranges with about kChunk logits each,
// and the logit offset of every line within its chunk.
struct Chunks {
  std::vector<int64_t> bounds;  // chunk c is lines [bounds[c], bounds[c+1])
  std::vector<int64_t> offset;  // per line
  int64_t max_total = 0;
};

Chunks make_chunks(const Lines& lines) {
  Chunks ch;
  ch.offset.resize(lines.count);
  ch.bounds.push_back(0);
  int64_t total = 0;
  for (int64_t l = 0; l < lines.count; ++l) {
    const int64_t size = lines.nq(l) * lines.nk(l);
    if (total > 0 && total + size > kChunk) {
      ch.bounds.push_back(l);
      ch.max_total = std::max(ch.max_total, total);
      total = 0;
    }
    ch.offset[l] = total;
    total += size;
  }
  ch.bounds.push_back(lines.count);
  ch.max_total = std::max(ch.max_total, total);
  return ch;
}

// Phase 1 + 2 of a chunk: s[offset(l)..] = exp(scale q k^T - ray max) per line.
template <typename scalar_t>
void chunk_exp_logits(const Problem<scalar_t>& pb, const Lines& lines, const Chunks& ch,
                      int64_t l0, int64_t l1, at::Tensor& s_buf) {
  scalar_t* sp = s_buf.data_ptr<scalar_t>();
  at::parallel_for(l0, l1, 1, [&](int64_t b, int64_t e) {
    Scratch<scalar_t> sc;
    for (int64_t l = b; l < e; ++l) {
      const int64_t nq = lines.nq(l), nk = lines.nk(l);
      if (nq == 0 || nk == 0) continue;
      const int64_t* qi = lines.q_idx + lines.q_ptr[l];
      const scalar_t* q = rows_of(pb.q, qi, nq, pb.cq, sc.q);
      const int64_t ldk = pb.kp;
      const scalar_t* kt = pb.kt + lines.k_ptr[l];
      scalar_t* s = sp + ch.offset[l];
      mm<scalar_t>(false, false, nq, nk, pb.cq, pb.scale, q, pb.cq, kt, ldk, 0, s, nk);
      const int64_t* split = lines.q_split + lines.q_ptr[l];
      for (int64_t a = 0; a < nq; ++a) {
        scalar_t* row = s + a * nk;
        for (const auto& [lo, hi] : {std::pair<int64_t, int64_t>{0, split[a]},
                                     std::pair<int64_t, int64_t>{split[a], nk}}) {
          if (lo == hi) continue;
          scalar_t mx = row[lo];
          for (int64_t j = lo + 1; j < hi; ++j) mx = std::max(mx, row[j]);
          for (int64_t j = lo; j < hi; ++j) row[j] -= mx;
        }
      }
    }
  });
  const int64_t total = l1 > l0 ? ch.offset[l1 - 1] + lines.nq(l1 - 1) * lines.nk(l1 - 1) : 0;
  if (total > 0) s_buf.narrow(0, 0, total).exp_();
}

// Normalise each ray of row (nk) in place; returns nothing for an empty ray.
template <typename scalar_t>
void normalise_rays(scalar_t* row, int64_t split, int64_t nk) {
  for (const auto& [lo, hi] :
       {std::pair<int64_t, int64_t>{0, split}, std::pair<int64_t, int64_t>{split, nk}}) {
    if (lo == hi) continue;
    scalar_t sum = 0;
    for (int64_t j = lo; j < hi; ++j) sum += row[j];
    const scalar_t inv = scalar_t(1) / sum;  // sum >= 1: the max term is exp(0)
    for (int64_t j = lo; j < hi; ++j) row[j] *= inv;
  }
}

template <typename scalar_t>
void forward_pass(const Problem<scalar_t>& pb, const Lines& lines, scalar_t* out,
                  const at::TensorOptions& opts) {
  if (lines.count == 0) return;
  const Chunks ch = make_chunks(lines);
  at::Tensor s_buf = at::empty({std::max<int64_t>(ch.max_total, 1)}, opts);
  scalar_t* sp = s_buf.data_ptr<scalar_t>();
  for (size_t c = 0; c + 1 < ch.bounds.size(); ++c) {
    const int64_t l0 = ch.bounds[c], l1 = ch.bounds[c + 1];
    chunk_exp_logits(pb, lines, ch, l0, l1, s_buf);
    at::parallel_for(l0, l1, 1, [&](int64_t b, int64_t e) {
      Scratch<scalar_t> sc;
      for (int64_t l = b; l < e; ++l) {
        const int64_t nq = lines.nq(l), nk = lines.nk(l);
        if (nq == 0 || nk == 0) continue;
        const int64_t* qi = lines.q_idx + lines.q_ptr[l];
        const int64_t* split = lines.q_split + lines.q_ptr[l];
        scalar_t* s = sp + ch.offset[l];
        for (int64_t a = 0; a < nq; ++a) {
          scalar_t* row = s + a * nk;
          normalise_rays(row, split[a], nk);
          const scalar_t* w = pb.w + qi[a] * 4 + lines.dir0;
          for (int64_t j = 0; j < split[a]; ++j) row[j] *= w[0];
          for (int64_t j = split[a]; j < nk; ++j) row[j] *= w[1];
        }
        const int64_t ldv = pb.kp;
        const scalar_t* vt = pb.vt + lines.k_ptr[l];
        mm_into_rows<scalar_t>(false, true, nq, pb.c, nk, 1, s, nk, vt, ldv, out, qi, sc.out);
      }
    });
  }
}

template <typename scalar_t>
void backward_pass(const Problem<scalar_t>& pb, const Lines& lines, const scalar_t* go,
                   scalar_t* gq, scalar_t* gk, scalar_t* gv, scalar_t* gw,
                   const at::TensorOptions& opts) {
  if (lines.count == 0) return;
  const Chunks ch = make_chunks(lines);
  at::Tensor s_buf = at::empty({std::max<int64_t>(ch.max_total, 1)}, opts);
  scalar_t* sp = s_buf.data_ptr<scalar_t>();
  for (size_t c = 0; c + 1 < ch.bounds.size(); ++c) {
    const int64_t l0 = ch.bounds[c], l1 = ch.bounds[c + 1];
    chunk_exp_logits(pb, lines, ch, l0, l1, s_buf);
    at::parallel_for(l0, l1, 1, [&](int64_t b, int64_t e) {
      Scratch<scalar_t> sc;
      for (int64_t l = b; l < e; ++l) {
        const int64_t nq = lines.nq(l), nk = lines.nk(l);
        if (nq == 0 || nk == 0) continue;
        const int64_t* qi = lines.q_idx + lines.q_ptr[l];
        const int64_t k0 = lines.k_ptr[l];
        const int64_t* split = lines.q_split + lines.q_ptr[l];
        const scalar_t* q = rows_of(pb.q, qi, nq, pb.cq, sc.q);
        const int64_t ldk = pb.kp, ldv = pb.kp;
        const scalar_t* kt = pb.kt + k0;
        const scalar_t* vt = pb.vt + k0;
        const scalar_t* g = rows_of(go, qi, nq, pb.c, sc.g);
        scalar_t* s = sp + ch.offset[l];
        if (static_cast<int64_t>(sc.u.size()) < nq * nk) sc.u.resize(nq * nk);
        scalar_t* u = sc.u.data();
        mm<scalar_t>(false, false, nq, nk, pb.c, 1, g, pb.c, vt, ldv, 0, u, nk);  // <g(a), v(j)>
        for (int64_t a = 0; a < nq; ++a) {
          scalar_t* srow = s + a * nk;
          scalar_t* urow = u + a * nk;
          const int64_t sp_a = split[a];
          normalise_rays(srow, sp_a, nk);
          const scalar_t* w = pb.w + qi[a] * 4 + lines.dir0;
          // dL/dweight(ray) = <dL/dout, g_ray> = sum_j p(j) u(j)
          scalar_t d0 = 0, d1 = 0;
          for (int64_t j = 0; j < sp_a; ++j) d0 += srow[j] * urow[j];
          for (int64_t j = sp_a; j < nk; ++j) d1 += srow[j] * urow[j];
          gw[qi[a] * 4 + lines.dir0] += d0;
          gw[qi[a] * 4 + lines.dir0 + 1] += d1;
          // u becomes dL/dlogit (scale folded in), s the weighted attention.
          for (int64_t j = 0; j < sp_a; ++j) {
            urow[j] = w[0] * srow[j] * (urow[j] - d0) * pb.scale;
            srow[j] *= w[0];
          }
          for (int64_t j = sp_a; j < nk; ++j) {
            urow[j] = w[1] * srow[j] * (urow[j] - d1) * pb.scale;
            srow[j] *= w[1];
          }
        }
        // gq += u k; channel-major gk^T += q^T u, gv^T += g^T s
        mm_into_rows<scalar_t>(false, true, nq, pb.cq, nk, 1, u, nk, kt, ldk, gq, qi, sc.out);
        mm<scalar_t>(true, false, pb.cq, nk, nq, 1, q, pb.cq, u, nk, 1, gk + k0, pb.kp);
        mm<scalar_t>(true, false, pb.c, nk, nq, 1, g, pb.c, s, nk, 1, gv + k0, pb.kp);
      }
    });
  }
}

// (C, K) channel-major: out[c, r] = src[n, c, i, j] at flat pixel pixels[r] (any strides).
at::Tensor gather_planes(const at::Tensor& src, const at::Tensor& pixels) {
  const int64_t c = src.size(1), h = src.size(2), w = src.size(3), hw = h * w;
  const int64_t kp = pixels.size(0);
  at::Tensor out = at::empty({c, kp}, src.options());
  const int64_t* kpix = pixels.const_data_ptr<int64_t>();
  // Offsets of the pixels without the channel term, cut into runs of pixels that
  // are adjacent in memory (a row's clean stretches), which are copied per plane
  // with memcpy; what is left (a column's keys) is gathered element by element.
  std::vector<int64_t> base(kp), run_start;
  const int64_t sn = src.stride(0), sc = src.stride(1), sh = src.stride(2), sw = src.stride(3);
  for (int64_t r = 0; r < kp; ++r) {
    const int64_t pix = kpix[r];
    base[r] = (pix / hw) * sn + ((pix % hw) / w) * sh + (pix % w) * sw;
    if (r == 0 || base[r] != base[r - 1] + 1) run_start.push_back(r);
  }
  run_start.push_back(kp);
  const bool runs = static_cast<int64_t>(run_start.size()) * 4 < kp;  // long runs only
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "gather_planes", [&] {
    const scalar_t* sp = src.const_data_ptr<scalar_t>();
    scalar_t* op = out.data_ptr<scalar_t>();
    at::parallel_for(0, c, 1, [&](int64_t b, int64_t e) {
      for (int64_t ch = b; ch < e; ++ch) {
        const scalar_t* plane = sp + ch * sc;
        scalar_t* o = op + ch * kp;
        if (runs) {
          for (size_t i = 0; i + 1 < run_start.size(); ++i) {
            const int64_t r0 = run_start[i], r1 = run_start[i + 1];
            std::memcpy(o + r0, plane + base[r0], sizeof(scalar_t) * (r1 - r0));
          }
        } else {
          for (int64_t r = 0; r < kp; ++r) o[r] = plane[base[r]];
        }
      }
    });
  });
  return out;
}

// Dense contiguous (N, C, H, W): zeros except a[c, r] added at pixel pix_a[r] and
// b[c, r] at pix_b[r] (the key gradients of the row and the column pass; each list
// is grouped by image). One writer per channel plane.
at::Tensor scatter_planes(const at::Tensor& a, const at::Tensor& pix_a, const at::Tensor& b,
                          const at::Tensor& pix_b, int64_t n, int64_t h, int64_t w) {
  const int64_t c = a.size(0), hw = h * w;
  at::Tensor out = at::empty({n, c, h, w}, a.options());
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "scatter_planes", [&] {
    scalar_t* op = out.data_ptr<scalar_t>();
    at::parallel_for(0, n * c, 1, [&](int64_t bg, int64_t e) {
      for (int64_t job = bg; job < e; ++job) {
        const int64_t img = job / c, ch = job % c;
        scalar_t* plane = op + job * hw;
        std::fill(plane, plane + hw, scalar_t(0));
        for (const auto& [rows, pix] : {std::pair<const at::Tensor*, const at::Tensor*>{&a, &pix_a},
                                        std::pair<const at::Tensor*, const at::Tensor*>{&b, &pix_b}}) {
          const int64_t k = pix->size(0);
          const int64_t* pp = pix->const_data_ptr<int64_t>();
          const int64_t r0 = std::lower_bound(pp, pp + k, img * hw) - pp;
          const int64_t r1 = std::lower_bound(pp, pp + k, (img + 1) * hw) - pp;
          const scalar_t* in = rows->const_data_ptr<scalar_t>() + ch * k;
          for (int64_t r = r0; r < r1; ++r) plane[pp[r] - img * hw] += in[r];
        }
      }
    });
  });
  return out;
}

at::ScalarType float_type(const at::Tensor& t) {
  return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}


}  // namespace

at::Tensor cca_sites_forward_cpu(const at::Tensor& q_rows, const at::Tensor& key,
                                 const at::Tensor& value, const at::Tensor& w_rows,
                                 const std::vector<at::Tensor>& lists, double scale) {
  TORCH_CHECK(lists.size() == 10, "cca_sites: expected 5 line-list tensors per pass");
  const at::ScalarType type = float_type(value);
  const at::Tensor q = q_rows.to(type).contiguous(), w = w_rows.to(type).contiguous();
  const at::Tensor k = key.to(type), v = value.to(type);
  const bool shared = key.is_same(value);
  const int64_t p_total = q.size(0), cq = q.size(1), c = value.size(1);
  at::Tensor out = at::zeros({p_total, c}, q.options());
  if (p_total == 0) return out;
  for (const size_t first : {size_t{0}, size_t{5}}) {
    const Lines lines = make_lines(lists, first, first == 0 ? 0 : 2);
    if (lines.count == 0) continue;
    const at::Tensor& k_pix = lists[first + 4];
    const at::Tensor kt = gather_planes(k, k_pix);
    const at::Tensor vt = shared ? kt : gather_planes(v, k_pix);
    AT_DISPATCH_FLOATING_TYPES(type, "cca_sites_forward_cpu", [&] {
      const Problem<scalar_t> pb{q.const_data_ptr<scalar_t>(), kt.const_data_ptr<scalar_t>(),
                                 vt.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(),
                                 cq, c, k_pix.size(0), static_cast<scalar_t>(scale)};
      forward_pass(pb, lines, out.data_ptr<scalar_t>(), q.options());
    });
  }
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
  const bool shared = key.is_same(value);
  at::Tensor gq = at::zeros_like(q), gw = at::zeros_like(w);
  // Channel-major key/value gradients of each pass, at that pass's keys.
  std::vector<at::Tensor> gk_pass, gv_pass;
  for (const size_t first : {size_t{0}, size_t{5}}) {
    const at::Tensor& k_pix = lists[first + 4];
    at::Tensor gk = at::zeros({cq, k_pix.size(0)}, q.options());
    at::Tensor gv = at::zeros({c, k_pix.size(0)}, q.options());
    const Lines lines = make_lines(lists, first, first == 0 ? 0 : 2);
    if (p_total > 0 && lines.count > 0) {
      const at::Tensor kt = gather_planes(k, k_pix);
      const at::Tensor vt = shared ? kt : gather_planes(v, k_pix);
      AT_DISPATCH_FLOATING_TYPES(type, "cca_sites_backward_cpu", [&] {
        const Problem<scalar_t> pb{q.const_data_ptr<scalar_t>(), kt.const_data_ptr<scalar_t>(),
                                   vt.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(),
                                   cq, c, k_pix.size(0), static_cast<scalar_t>(scale)};
        backward_pass(pb, lines, g.const_data_ptr<scalar_t>(), gq.data_ptr<scalar_t>(),
                      gk.data_ptr<scalar_t>(), gv.data_ptr<scalar_t>(), gw.data_ptr<scalar_t>(),
                      q.options());
      });
    }
    if (shared) gk.add_(gv);
    gk_pass.push_back(gk);
    gv_pass.push_back(gv);
  }
  // One dense map per gradient, written in a single pass (zeros off the keys).
  // When key and value are one tensor, its whole gradient is returned as the key's
  // and the value's is left undefined (autograd sums both for that tensor anyway).
  const at::Tensor gk = scatter_planes(gk_pass[0], lists[4], gk_pass[1], lists[9], n, h, wd);
  if (shared) return {gq, gk, at::Tensor(), gw};
  return {gq, gk, scatter_planes(gv_pass[0], lists[4], gv_pass[1], lists[9], n, h, wd), gw};
}

}  // namespace spairkit
