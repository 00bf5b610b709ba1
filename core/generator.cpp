#include "core/generator.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "core/convert.h"
#include "core/cuda_memory.h"
#include "core/philox.h"

namespace qn {

void Generator::manual_seed(uint64_t seed) {
  std::lock_guard lock(mutex_);
  seed_ = seed;
  offset_ = 0;
}
uint64_t Generator::seed() const {
  std::lock_guard lock(mutex_);
  return seed_;
}
uint64_t Generator::offset() const {
  std::lock_guard lock(mutex_);
  return offset_;
}
void Generator::set_offset(uint64_t offset) {
  std::lock_guard lock(mutex_);
  offset_ = offset;
}
uint64_t Generator::reserve(uint64_t blocks) {
  std::lock_guard lock(mutex_);
  const uint64_t first = offset_;
  offset_ += blocks;
  return first;
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}
void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace {

Generator& resolve(Generator* gen) { return gen ? *gen : default_generator(); }

uint64_t blocks_for(int64_t n, int64_t per_block) { return static_cast<uint64_t>((n + per_block - 1) / per_block); }

// Uniform [0, 1) for element i of a draw starting at block `first`.
struct UniformStream {
  uint64_t seed;
  uint64_t first;
  bool wide;  // 53-bit doubles (2 per block) instead of 24-bit floats (4 per block)

  double operator()(int64_t i) const {
    if (wide) {
      const philox::Counter w = philox::block(seed, first + static_cast<uint64_t>(i / 2));
      const int k = static_cast<int>(i % 2) * 2;
      return philox::uniform_double(w[k], w[k + 1]);
    }
    const philox::Counter w = philox::block(seed, first + static_cast<uint64_t>(i / 4));
    return philox::uniform_float(w[i % 4]);
  }
};

UniformStream reserve_uniform(Generator& gen, int64_t count, DType dtype) {
  const bool wide = dtype == DType::f64;
  const uint64_t blocks = blocks_for(count, wide ? 2 : 4);
  const uint64_t seed = gen.seed();
  return {seed, gen.reserve(blocks), wide};
}

void check_floating(DType t, const char* op) { QN_CHECK(is_floating(t), op, "expected a floating dtype, got ", t); }

// Standard normals: pair j (elements 2j, 2j+1) is Box-Muller on uniforms 2j and 2j+1 of the uniform stream,
// computed once per pair (one Philox block gives the f64 pair, half a block the f32 one).
template <class T>
void fill_normal(T* data, int64_t n, const UniformStream& uniform, double mean, double stddev) {
  parallel_for(0, (n + 1) / 2, int64_t{1} << 12, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      double u1, u2;
      if (uniform.wide) {
        const philox::Counter w = philox::block(uniform.seed, uniform.first + static_cast<uint64_t>(j));
        u1 = philox::uniform_double(w[0], w[1]);
        u2 = philox::uniform_double(w[2], w[3]);
      } else {
        const philox::Counter w = philox::block(uniform.seed, uniform.first + static_cast<uint64_t>(j / 2));
        const int k = static_cast<int>(j % 2) * 2;
        u1 = philox::uniform_float(w[k]);
        u2 = philox::uniform_float(w[k + 1]);
      }
      const double radius = std::sqrt(-2.0 * std::log(1.0 - u1));  // 1 - u1 in (0, 1]: log is finite
      const double angle = 2.0 * std::numbers::pi * u2;
      data[2 * j] = detail::convert<T>(mean + stddev * (radius * std::cos(angle)));
      if (2 * j + 1 < n) data[2 * j + 1] = detail::convert<T>(mean + stddev * (radius * std::sin(angle)));
    }
  });
}

// Calls f(i, u) for each element i < n of a uniform draw, u in [0, 1) exactly as the draw's dtype holds it
// (the 24-bit float or the 53-bit double, as a double): one Philox block per 4 (f32) or 2 (f64) elements.
template <class F>
void for_each_uniform(const UniformStream& uniform, int64_t n, const F& f) {
  const int64_t per_block = uniform.wide ? 2 : 4;
  parallel_for(0, (n + per_block - 1) / per_block, int64_t{1} << 12, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const philox::Counter w = philox::block(uniform.seed, uniform.first + static_cast<uint64_t>(b));
      for (int64_t k = 0; k < per_block && b * per_block + k < n; ++k) {
        f(b * per_block + k,
          uniform.wide ? philox::uniform_double(w[2 * k], w[2 * k + 1]) : double{philox::uniform_float(w[k])});
      }
    }
  });
}

// Philox blocks first .. first + 15 of a stream, words[w][j] = word w of block first + j: philox::block written
// over 16 lanes so that the compiler vectorizes it (the 32 x 32 -> 64-bit products become vpmuludq).
constexpr int kLanes = 16;
void philox_blocks(uint64_t seed, uint64_t first, uint32_t (&words)[4][kLanes]) {
  uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  for (int j = 0; j < kLanes; ++j) {
    const uint64_t b = first + static_cast<uint64_t>(j);
    c0[j] = static_cast<uint32_t>(b);
    c1[j] = static_cast<uint32_t>(b >> 32);
    c2[j] = 0;
    c3[j] = 0;
  }
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += philox::kWeyl0;
      k1 += philox::kWeyl1;
    }
    for (int j = 0; j < kLanes; ++j) {
      const uint64_t p0 = static_cast<uint64_t>(philox::kMul0) * c0[j];
      const uint64_t p1 = static_cast<uint64_t>(philox::kMul1) * c2[j];
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1[j] ^ k0;
      const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3[j] ^ k1;
      c1[j] = static_cast<uint32_t>(p1);
      c3[j] = static_cast<uint32_t>(p0);
      c0[j] = n0;
      c2[j] = n2;
    }
  }
  for (int j = 0; j < kLanes; ++j) {
    words[0][j] = c0[j];
    words[1][j] = c1[j];
    words[2][j] = c2[j];
    words[3][j] = c3[j];
  }
}

// keep[i] = (uniform_float of word i of an f32 draw) >= threshold, 64 elements (16 blocks) at a time. threshold is
// an f32 value, so comparing the 24-bit integer behind the uniform with threshold * 2^24 rounded up is exact.
void fill_keep_f32(const UniformStream& uniform, double threshold, int64_t n, uint8_t* keep) {
  // threshold <= 0 keeps everything, > 1 or NaN nothing (u >= NaN is false), as the comparison does.
  const double scaled = threshold * 0x1p24;
  const auto cut = scaled <= 0 ? 0u : static_cast<uint32_t>(scaled < 0x1p24 ? std::ceil(scaled) : 0x1p24);
  constexpr int64_t kPerGroup = 4 * kLanes;
  parallel_for(0, (n + kPerGroup - 1) / kPerGroup, 64, [&](int64_t begin, int64_t end) {
    uint32_t words[4][kLanes];
    for (int64_t group = begin; group < end; ++group) {
      philox_blocks(uniform.seed, uniform.first + static_cast<uint64_t>(group * kLanes), words);
      const int64_t base = group * kPerGroup;
      const int64_t count = std::min(kPerGroup, n - base);
      uint8_t out[kPerGroup];
      for (int j = 0; j < kLanes; ++j) {
        for (int w = 0; w < 4; ++w) out[4 * j + w] = (words[w][j] >> 8) >= cut;
      }
      std::copy(out, out + count, keep + base);
    }
  });
}

// Uniform [low, high); on a GPU the same values, drawn there. low + (high - low) u is one fused multiply-add on
// both (nvcc fuses it, GCC only with FMA in -march): the same rounding in every build.
Tensor uniform_values(const Shape& shape, TensorOptions options, Generator& gen, double low, double high) {
  const UniformStream uniform = reserve_uniform(gen, shape.numel(), options.dtype);
  Tensor values = empty(shape, options);
  if (options.device.is_cuda()) {
    cuda::uniform_fill(uniform.seed, uniform.first, uniform.wide, low, high, values);
    return values;
  }
  visit_dtype(options.dtype, [&](auto tag) {  // on the CPU, or the simulated device's memory
    using T = typename decltype(tag)::type;
    T* data = values.device_ptr<T>();
    for_each_uniform(uniform, values.numel(),
                     [&](int64_t i, double u) { data[i] = detail::convert<T>(std::fma(high - low, u, low)); });
  });
  return values;
}

// Normal values; for a device drawn on the host and copied (initialization, not a per-step draw).
Tensor normal_values(const Shape& shape, TensorOptions options, Generator& gen, double mean, double stddev) {
  if (options.device.is_accelerator()) return normal_values(shape, options.dtype, gen, mean, stddev).to(options.device);
  const int64_t pairs = (shape.numel() + 1) / 2;
  const UniformStream uniform = reserve_uniform(gen, 2 * pairs, options.dtype);
  Tensor out = empty(shape, options);
  visit_dtype(options.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    fill_normal(out.data_ptr<T>(), out.numel(), uniform, mean, stddev);
  });
  return out;
}

}  // namespace

Tensor rand(const Shape& shape, TensorOptions options, Generator* gen) {
  check_floating(options.dtype, "rand");
  return uniform_values(shape, options, resolve(gen), 0.0, 1.0);
}

Tensor keep_mask(const Shape& shape, TensorOptions options, double drop_probability, Generator* gen) {
  check_floating(options.dtype, "keep_mask");
  const UniformStream uniform = reserve_uniform(resolve(gen), shape.numel(), options.dtype);
  Tensor mask = empty(shape, TensorOptions(DType::u8, options.device));
  // Compared in the draw's dtype: an f32 draw against p rounded to f32 (both exact as doubles).
  const double threshold = uniform.wide ? drop_probability : double{static_cast<float>(drop_probability)};
  if (options.device.is_cuda()) {
    cuda::keep_mask_fill(uniform.seed, uniform.first, uniform.wide, threshold, mask);
    return mask;
  }
  uint8_t* keep = mask.device_ptr<uint8_t>();  // on the CPU, or the simulated device's memory
  if (!uniform.wide) {
    fill_keep_f32(uniform, threshold, mask.numel(), keep);
    return mask;
  }
  for_each_uniform(uniform, mask.numel(), [&](int64_t i, double u) { keep[i] = u >= threshold; });
  return mask;
}

Tensor randn(const Shape& shape, TensorOptions options, Generator* gen) {
  check_floating(options.dtype, "randn");
  return normal_values(shape, options, resolve(gen), 0.0, 1.0);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions options, Generator* gen) {
  if (options.device.is_accelerator()) return randint(low, high, shape, options.dtype, gen).to(options.device);
  QN_CHECK(low < high, "randint", "expected low < high, got [", low, ", ", high, ")");
  constexpr int64_t kExact = int64_t{1} << 53;  // values pass through double
  QN_CHECK(low >= -kExact && high <= kExact, "randint", "bounds must lie within +-2^53, got [", low, ", ", high, ")");
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  Generator& g = resolve(gen);
  const uint64_t seed = g.seed();
  const uint64_t first = g.reserve(blocks_for(shape.numel(), 2));
  return detail::tensor_from_index(shape, options, [=](int64_t i) {
    const philox::Counter w = philox::block(seed, first + static_cast<uint64_t>(i / 2));
    const int k = static_cast<int>(i % 2) * 2;
    const uint64_t bits = (static_cast<uint64_t>(w[k]) << 32) | w[k + 1];
    return static_cast<double>(low + static_cast<int64_t>(bits % range));
  });
}

Tensor randperm(int64_t n, Generator* gen) {
  QN_CHECK(n >= 0, "randperm", "expected n >= 0, got ", n);
  Generator& g = resolve(gen);
  const uint64_t seed = g.seed();
  const uint64_t first = g.reserve(blocks_for(n, 2));
  std::vector<std::pair<uint64_t, int64_t>> keyed(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const philox::Counter w = philox::block(seed, first + static_cast<uint64_t>(i / 2));
    const int k = static_cast<int>(i % 2) * 2;
    keyed[static_cast<size_t>(i)] = {(static_cast<uint64_t>(w[k]) << 32) | w[k + 1], i};
  }
  std::sort(keyed.begin(), keyed.end());
  Tensor out = empty({n}, DType::i64);
  int64_t* data = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) data[i] = keyed[static_cast<size_t>(i)].second;
  return out;
}

Tensor& uniform_(Tensor& t, double low, double high, Generator* gen) {
  check_floating(t.dtype(), "uniform_");
  return t.copy_(uniform_values(t.shape(), t.dtype(), resolve(gen), low, high));
}

Tensor& normal_(Tensor& t, double mean, double stddev, Generator* gen) {
  check_floating(t.dtype(), "normal_");
  return t.copy_(normal_values(t.shape(), t.dtype(), resolve(gen), mean, stddev));
}

}  // namespace qn
