// nn::LSTM against torch.nn.LSTM's definition written out as scalar loops (gate order i, f, g, o;
// layers stacked, directions concatenated; a packed sequence runs only its own valid steps, the
// reverse direction from its own last one): parameter names / order / init, lengths, layouts,
// initial states, inter-layer dropout, errors and gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "nn/lstm.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "tests/common/expect_error.h"

namespace mm::nn {
namespace {

std::vector<std::string> names(const NamedTensors& v) {
  std::vector<std::string> n;
  for (const auto& [k, t] : v) n.push_back(k);
  return n;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(shape_str(a.shape()), shape_str(b.shape()));
  auto x = a.to_double_vector(), y = b.to_double_vector();
  double m = 0;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

double sigmoid_d(double v) { return 1.0 / (1.0 + std::exp(-v)); }

struct Ref {
  std::vector<double> out, h_n, c_n;  // [T, B, D·H], [L·D, B, H], [L·D, B, H]
};

// torch.nn.LSTM on packed input, in scalar loops: sequence b runs steps 0 … n_b − 1 forward and
// n_b − 1 … 0 backward, its outputs elsewhere are 0 and its final state is the state after the
// last step it ran. x [T, B, I] row-major; h0 / c0 [L·D, B, H].
Ref reference_lstm(const LSTM& m, const std::vector<double>& x, int64_t T, int64_t B, const std::vector<int64_t>& len,
                   const std::vector<double>& h0, const std::vector<double>& c0) {
  const int64_t H = m.hidden_size, D = m.num_directions();
  std::vector<double> in = x;
  int64_t in_size = m.input_size;
  Ref r;
  r.h_n.assign(static_cast<size_t>(m.num_layers * D * B * H), 0.0);
  r.c_n = r.h_n;
  for (int64_t l = 0; l < m.num_layers; ++l) {
    std::vector<double> out(static_cast<size_t>(T * B * D * H), 0.0);
    for (int64_t d = 0; d < D; ++d) {
      auto wih = m.weight_ih(l, d).to_double_vector(), whh = m.weight_hh(l, d).to_double_vector();
      std::vector<double> bih(4 * H, 0.0), bhh(4 * H, 0.0);
      if (m.bias) {
        bih = m.bias_ih(l, d).to_double_vector();
        bhh = m.bias_hh(l, d).to_double_vector();
      }
      for (int64_t b = 0; b < B; ++b) {
        const size_t state = static_cast<size_t>(((l * D + d) * B + b) * H);
        std::vector<double> h(h0.begin() + state, h0.begin() + state + H), c(c0.begin() + state, c0.begin() + state + H);
        const int64_t n = len[static_cast<size_t>(b)];
        for (int64_t s = 0; s < n; ++s) {
          const int64_t t = d == 0 ? s : n - 1 - s;
          std::vector<double> g(static_cast<size_t>(4 * H));
          for (int64_t r4 = 0; r4 < 4 * H; ++r4) {
            double acc = bih[r4] + bhh[r4];
            for (int64_t i = 0; i < in_size; ++i) acc += wih[r4 * in_size + i] * in[(t * B + b) * in_size + i];
            for (int64_t j = 0; j < H; ++j) acc += whh[r4 * H + j] * h[j];
            g[r4] = acc;
          }
          for (int64_t j = 0; j < H; ++j) {
            const double ig = sigmoid_d(g[j]), fg = sigmoid_d(g[H + j]), gg = std::tanh(g[2 * H + j]);
            const double og = sigmoid_d(g[3 * H + j]);
            c[j] = fg * c[j] + ig * gg;
            h[j] = og * std::tanh(c[j]);
            out[static_cast<size_t>((t * B + b) * D * H + d * H + j)] = h[j];
          }
        }
        std::copy(h.begin(), h.end(), r.h_n.begin() + state);
        std::copy(c.begin(), c.end(), r.c_n.begin() + state);
      }
    }
    in = out;
    in_size = D * H;
  }
  r.out = in;
  return r;
}

std::shared_ptr<LSTM> f64_lstm(int64_t I, int64_t H, int64_t layers, bool bidir, bool batch_first = false,
                               uint64_t seed = 1) {
  manual_seed(seed);
  auto m = std::make_shared<LSTM>(I, H, layers, true, batch_first, 0.0, bidir);
  m->to(DType::F64);
  return m;
}

void expect_close(const Tensor& got, const std::vector<double>& want, double tol, const char* what) {
  auto g = got.to_double_vector();
  ASSERT_EQ(g.size(), want.size()) << what;
  double m = 0;
  for (size_t i = 0; i < g.size(); ++i) m = std::max(m, std::fabs(g[i] - want[i]));
  EXPECT_LT(m, tol) << what;
}

// ---- parameters ------------------------------------------------------------------------------------

TEST(LSTM, ParameterNamesOrderAndShapesFollowPyTorch) {
  LSTM m(3, 4, 2, true, false, 0.0, true);
  EXPECT_EQ(names(m.state_dict()),
            (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                      "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                                      "bias_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1",
                                      "bias_hh_l1", "weight_ih_l1_reverse", "weight_hh_l1_reverse",
                                      "bias_ih_l1_reverse", "bias_hh_l1_reverse"}));
  EXPECT_EQ(m.weight_ih(0, 0).shape(), Shape({16, 3}));
  EXPECT_EQ(m.weight_ih(1, 1).shape(), Shape({16, 8}));  // layer 1 reads both directions: 2·H
  EXPECT_EQ(m.weight_hh(1, 0).shape(), Shape({16, 4}));
  EXPECT_EQ(m.bias_hh(0, 1).shape(), Shape({16}));
  EXPECT_EQ(m.num_parameters(), 2 * (16 * 3 + 16 * 4 + 32) + 2 * (16 * 8 + 16 * 4 + 32));
  EXPECT_EQ(m.extra_repr(), "3, 4, num_layers=2, bidirectional=True");
  LSTM nb(3, 4, 1, /*bias=*/false, true, 0.25);
  EXPECT_EQ(names(nb.state_dict()), (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0"}));
  EXPECT_FALSE(nb.bias_ih(0, 0).defined());
  EXPECT_EQ(nb.extra_repr(), "3, 4, bias=False, batch_first=True, dropout=0.25");
}

TEST(LSTM, EveryParameterIsUniformWithinOneOverSqrtHidden) {
  manual_seed(2);
  LSTM m(7, 50, 2);
  const double bound = 1.0 / std::sqrt(50.0);
  for (const auto& [name, p] : m.named_parameters()) {
    auto v = p.to_double_vector();
    double mx = 0, sq = 0;
    for (double e : v) {
      mx = std::max(mx, std::fabs(e));
      sq += e * e;
    }
    EXPECT_LE(mx, bound) << name;
    EXPECT_GT(mx, 0.9 * bound) << name;
    if (v.size() >= 10000) {
      EXPECT_NEAR(std::sqrt(sq / v.size()), bound / std::sqrt(3.0), 0.02 * bound) << name;
    }
  }
}

TEST(LSTM, ConstructorErrors) {
  EXPECT_ERROR_CONTAINS(LSTM(0, 4), ErrorKind::Value, "LSTM", "positive");
  EXPECT_ERROR_CONTAINS(LSTM(3, 4, 0), ErrorKind::Value, "LSTM", "positive");
  EXPECT_ERROR_CONTAINS(LSTM(3, 4, 2, true, false, -0.1), ErrorKind::Value, "LSTM", "dropout");
}

// ---- forward against the scalar reference ------------------------------------------------------------

struct LstmCase {
  int64_t layers;
  bool bidirectional;
  bool with_lengths;
  bool with_state;
};
void PrintTo(const LstmCase& c, std::ostream* os) {
  *os << c.layers << " layer(s)" << (c.bidirectional ? ", bidirectional" : "") << (c.with_lengths ? ", lengths" : "")
      << (c.with_state ? ", h0/c0" : "");
}

class LstmReference : public ::testing::TestWithParam<LstmCase> {};

TEST_P(LstmReference, MatchesTheScalarDefinition) {
  const auto c = GetParam();
  const int64_t T = 4, B = 3, I = 3, H = 2, D = c.bidirectional ? 2 : 1;
  auto m = f64_lstm(I, H, c.layers, c.bidirectional, false, 40 + c.layers);
  manual_seed(41);
  Tensor x = ops::randn({T, B, I}, DType::F64);
  std::vector<int64_t> len = c.with_lengths ? std::vector<int64_t>{2, 4, 1} : std::vector<int64_t>{T, T, T};
  Tensor h0 = ops::randn({c.layers * D, B, H}, DType::F64), c0 = ops::randn({c.layers * D, B, H}, DType::F64);
  LSTMResult r = c.with_lengths ? m->forward(x, Tensor::from_vector(len, {B}), c.with_state ? h0 : Tensor(),
                                             c.with_state ? c0 : Tensor())
                                : m->forward(x, {}, c.with_state ? h0 : Tensor(), c.with_state ? c0 : Tensor());
  std::vector<double> zeros_state(static_cast<size_t>(c.layers * D * B * H), 0.0);
  Ref ref = reference_lstm(*m, x.to_double_vector(), T, B, len, c.with_state ? h0.to_double_vector() : zeros_state,
                           c.with_state ? c0.to_double_vector() : zeros_state);
  EXPECT_EQ(r.output.shape(), Shape({T, B, D * H}));
  EXPECT_EQ(r.h_n.shape(), Shape({c.layers * D, B, H}));
  expect_close(r.output, ref.out, 1e-12, "output");
  expect_close(r.h_n, ref.h_n, 1e-12, "h_n");
  expect_close(r.c_n, ref.c_n, 1e-12, "c_n");
}

INSTANTIATE_TEST_SUITE_P(Configurations, LstmReference,
                         ::testing::Values(LstmCase{1, false, false, false}, LstmCase{1, false, true, true},
                                           LstmCase{2, true, false, true}, LstmCase{2, true, true, true},
                                           LstmCase{3, false, true, false}, LstmCase{2, true, true, false}));

TEST(LSTM, LengthsActAsPackedSequences) {
  // Each sequence of a padded batch gives what it gives alone, cut to its length; outputs past the
  // length are exactly 0 (pad_packed_sequence's padding).
  const int64_t T = 5, B = 3, I = 2, H = 3;
  auto m = f64_lstm(I, H, 2, true, true, 50);
  manual_seed(51);
  Tensor x = ops::randn({B, T, I}, DType::F64);
  Tensor h0 = ops::randn({4, B, H}, DType::F64), c0 = ops::randn({4, B, H}, DType::F64);
  std::vector<int64_t> len{3, 5, 1};
  LSTMResult r = m->forward(x, Tensor::from_vector(len, {B}), h0, c0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = len[static_cast<size_t>(b)];
    Tensor xb = narrow(narrow(x, 0, b, 1), 1, 0, n);
    LSTMResult alone = m->forward(xb, {}, narrow(h0, 1, b, 1), narrow(c0, 1, b, 1));
    EXPECT_LT(max_abs_diff(narrow(narrow(r.output, 0, b, 1), 1, 0, n), alone.output), 1e-14) << b;
    EXPECT_LT(max_abs_diff(narrow(r.h_n, 1, b, 1), alone.h_n), 1e-14) << b;
    EXPECT_LT(max_abs_diff(narrow(r.c_n, 1, b, 1), alone.c_n), 1e-14) << b;
    if (n < T) {
      for (double v : narrow(narrow(r.output, 0, b, 1), 1, n, T - n).to_double_vector()) EXPECT_EQ(v, 0.0);
    }
  }
  // Lengths on another integer dtype mean the same; all lengths T equals no lengths.
  LSTMResult r32 = m->forward(x, to(Tensor::from_vector(len, {B}), DType::I32), h0, c0);
  EXPECT_EQ(r32.output.to_double_vector(), r.output.to_double_vector());
  LSTMResult full = m->forward(x, Tensor::from_vector(std::vector<int64_t>{T, T, T}, {B}), h0, c0);
  EXPECT_LT(max_abs_diff(full.output, m->forward(x, {}, h0, c0).output), 1e-14);
}

TEST(LSTM, ZeroLengthKeepsTheInitialState) {
  auto m = f64_lstm(2, 3, 1, true, false, 52);
  manual_seed(53);
  Tensor x = ops::randn({4, 2, 2}, DType::F64), h0 = ops::randn({2, 2, 3}, DType::F64);
  LSTMResult r = m->forward(x, Tensor::from_vector(std::vector<int64_t>{0, 4}, {2}), h0, h0);
  EXPECT_EQ(narrow(r.h_n, 1, 0, 1).to_double_vector(), narrow(h0, 1, 0, 1).to_double_vector());
  for (double v : narrow(r.output, 1, 0, 1).to_double_vector()) EXPECT_EQ(v, 0.0);
}

TEST(LSTM, BatchFirstDefaultStateAndUnbatchedLayouts) {
  const int64_t T = 4, B = 2, I = 3, H = 2;
  auto m = f64_lstm(I, H, 2, true, false, 54);
  manual_seed(55);
  Tensor x = ops::randn({T, B, I}, DType::F64);
  LSTMResult seq = m->forward(x);
  m->batch_first = true;
  LSTMResult bf = m->forward(transpose(x, 0, 1));
  EXPECT_EQ(bf.output.shape(), Shape({B, T, 2 * H}));
  EXPECT_EQ(bf.output.to_double_vector(), contiguous(transpose(seq.output, 0, 1)).to_double_vector());
  EXPECT_EQ(bf.h_n.to_double_vector(), seq.h_n.to_double_vector());  // h_n stays [L·D, B, H]
  m->batch_first = false;
  // Absent h0 / c0 are zeros.
  LSTMResult z = m->forward(x, {}, zeros({4, B, H}, DType::F64), zeros({4, B, H}, DType::F64));
  EXPECT_EQ(z.output.to_double_vector(), seq.output.to_double_vector());
  // Unbatched [T, I] with [L·D, H] states is the batch-of-one case.
  Tensor h0 = ops::randn({4, H}, DType::F64), c0 = ops::randn({4, H}, DType::F64);
  LSTMResult u = m->forward(select(x, 1, 0), {}, h0, c0);
  LSTMResult one = m->forward(narrow(x, 1, 0, 1), {}, unsqueeze(h0, 1), unsqueeze(c0, 1));
  EXPECT_EQ(u.output.shape(), Shape({T, 2 * H}));
  EXPECT_EQ(u.h_n.shape(), Shape({4, H}));
  EXPECT_LT(max_abs_diff(u.output, squeeze(one.output, 1)), 1e-14);
  EXPECT_LT(max_abs_diff(u.c_n, squeeze(one.c_n, 1)), 1e-14);
}

TEST(LSTM, DropoutActsBetweenLayersInTrainingOnly) {
  const int64_t T = 4, B = 2, I = 3, H = 5;
  manual_seed(56);
  Tensor x = ops::randn({T, B, I});
  LSTM plain(I, H, 2), drop(I, H, 2, true, false, 0.5);
  drop.load_state_dict(plain.state_dict());
  drop.eval();
  EXPECT_EQ(drop.forward(x).output.to_double_vector(), plain.forward(x).output.to_double_vector());
  drop.train();
  EXPECT_GT(max_abs_diff(drop.forward(x).output, plain.forward(x).output), 1e-4);
  // p = 1 zeroes layer 0's output: layer 1 then sees zeros.
  LSTM all(I, H, 2, true, false, 1.0);
  all.load_state_dict(plain.state_dict());
  Tensor zero_state = zeros({B, H});
  auto [want, h, c] = lstm(zeros({T, B, H}), zero_state, zero_state, all.weight_ih(1, 0), all.weight_hh(1, 0),
                           all.bias_ih(1, 0), all.bias_hh(1, 0));
  EXPECT_LT(max_abs_diff(all.forward(x).output, want), 1e-7);
  // No dropout after the last layer: a one-layer LSTM is deterministic in training.
  LSTM one(I, H, 1, true, false, 0.5);
  EXPECT_EQ(one.forward(x).output.to_double_vector(), one.forward(x).output.to_double_vector());
  one.eval();
  LSTMResult e = one.forward(x);
  one.train();
  EXPECT_EQ(one.forward(x).output.to_double_vector(), e.output.to_double_vector());
}

TEST(LSTM, ShapeErrors) {
  LSTM m(3, 4, 2, true, false, 0.0, true);
  Tensor x = ops::randn({5, 2, 3});
  EXPECT_ERROR_CONTAINS(m.forward(ops::randn({5, 2, 3, 1})), ErrorKind::Shape, "LSTM", "input must be");
  EXPECT_ERROR_CONTAINS(m.forward(ops::randn({5, 2, 4})), ErrorKind::Shape, "LSTM", "input_size = 3");
  EXPECT_ERROR_CONTAINS(m.forward(x, {}, zeros({2, 2, 4})), ErrorKind::Shape, "LSTM", "h0", "[4,2,4]");
  EXPECT_ERROR_CONTAINS(m.forward(x, {}, {}, zeros({4, 3, 4})), ErrorKind::Shape, "LSTM", "c0", "[4,2,4]");
  EXPECT_ERROR_CONTAINS(m.forward(x, Tensor::from_vector(std::vector<int64_t>{5, 5, 5}, {3})), ErrorKind::Shape,
                        "LSTM", "lengths");
  EXPECT_ERROR_CONTAINS(m.forward(ops::randn({5, 3}), Tensor::from_vector(std::vector<int64_t>{5}, {1})),
                        ErrorKind::Shape, "LSTM", "lengths", "batched");
  EXPECT_ERROR_CONTAINS(m.forward(x, Tensor::from_vector(std::vector<int64_t>{6, 1}, {2})), ErrorKind::Value,
                        "lengths[0] = 6", "outside [0, T]");
  EXPECT_ERROR_CONTAINS(static_cast<Module&>(m)(x), ErrorKind::Value, "LSTM", "single-tensor");
}

TEST(LSTM, GradcheckThroughInputsStatesAndParameters) {
  const int64_t T = 3, B = 2, I = 2, H = 2;
  auto m = f64_lstm(I, H, 2, true, true, 60);
  manual_seed(61);
  Tensor x = ops::randn({B, T, I}, DType::F64).set_requires_grad();
  Tensor h0 = ops::randn({4, B, H}, DType::F64).set_requires_grad(), c0 = ops::randn({4, B, H}, DType::F64).set_requires_grad();
  Tensor lengths = Tensor::from_vector(std::vector<int64_t>{3, 2}, {B});
  TensorList inputs{x, h0, c0};
  for (const Tensor& p : m->parameters()) inputs.push_back(p);
  auto r = gradcheck(
      [&](const TensorList& in) {
        LSTMResult o = m->forward(in[0], lengths, in[1], in[2]);
        return TensorList{o.output, o.h_n, o.c_n};
      },
      inputs);
  EXPECT_TRUE(r.passed) << r.message;
}

}  // namespace
}  // namespace mm::nn
