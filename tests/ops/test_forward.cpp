// Every forward case (tests/common/forward/) against its double-precision reference, in each dtype,
// with contiguous and strided inputs. Shapes are checked before values.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

void expect_matches(const TensorList& outs, const std::vector<Ref>& refs, double rtol, double atol,
                    const std::string& what) {
  ASSERT_EQ(outs.size(), refs.size()) << what << ": number of outputs";
  for (size_t k = 0; k < outs.size(); ++k) {
    ASSERT_TRUE(outs[k].defined()) << what << ": output " << k << " undefined";
    ASSERT_EQ(shape_str(outs[k].shape()), shape_str(refs[k].shape)) << what << ": shape of output " << k;
    auto got = outs[k].to_double_vector();
    ASSERT_EQ(got.size(), refs[k].values.size()) << what << ": reference size of output " << k;
    bool exact = !is_floating(outs[k].dtype());
    for (size_t i = 0; i < got.size(); ++i) {
      double want = refs[k].values[i];
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got[i])) << what << ": output " << k << " element " << i;
        continue;
      }
      double tol = exact ? 0.0 : atol + rtol * std::fabs(want);
      ASSERT_LE(std::fabs(got[i] - want), tol)
          << what << ": output " << k << " element " << i << " got " << got[i] << " want " << want;
    }
  }
}

class Forward : public ::testing::TestWithParam<size_t> {};

TEST_P(Forward, MatchesReference) {
  const ForwardCase& c = forward_cases()[GetParam()];
  TensorList base = c.make_inputs();
  std::vector<HostTensor> host;
  for (const Tensor& t : base) host.emplace_back(t);
  std::vector<Ref> refs = c.reference(host);
  for (DType dt : c.dtypes) {
    double rtol = dt == DType::F64 ? c.rtol_f64 : c.rtol_f32;
    double atol = dt == DType::F64 ? c.atol_f64 : c.atol_f32;
    TensorList in;
    for (const Tensor& t : base) in.push_back(cast_floating(t, dt));
    std::string what = c.op + " [" + c.name + "] " + dtype_name(dt);
    TensorList outs = c.run(in);
    for (const Tensor& o : outs)
      if (o.defined() && is_floating(o.dtype()) && is_floating(dt)) {
        bool any_float_input = false;
        for (const Tensor& t : base) any_float_input = any_float_input || is_floating(t.dtype());
        if (any_float_input) {
          EXPECT_EQ(o.dtype(), dt) << what << ": floating outputs keep the input dtype";
        }
      }
    expect_matches(outs, refs, rtol, atol, what + " contiguous");
    if (c.strided) {
      TensorList sin;
      for (const Tensor& t : in) sin.push_back(make_strided(t));
      expect_matches(c.run(sin), refs, rtol, atol, what + " strided");
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
  const ForwardCase& c = forward_cases()[info.param];
  std::string n = c.op + "_" + std::to_string(info.param);
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(AllOps, Forward, ::testing::Range<size_t>(0, forward_cases().size()), case_name);

}  // namespace
}  // namespace mm::testing
