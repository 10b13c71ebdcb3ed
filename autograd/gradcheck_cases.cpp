#include "autograd/gradcheck_cases.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "runtime/philox.h"

namespace mm {

namespace {
std::vector<GradcheckCase>& registry() {
  static std::vector<GradcheckCase> cases;
  return cases;
}
}  // namespace

void register_gradcheck_case(GradcheckCase c) { registry().push_back(std::move(c)); }
const std::vector<GradcheckCase>& gradcheck_cases() { return registry(); }

std::vector<const GradcheckCase*> gradcheck_cases_for(const std::string& op) {
  std::vector<const GradcheckCase*> r;
  for (const GradcheckCase& c : registry())
    if (c.op == op) r.push_back(&c);
  return r;
}

namespace {
std::vector<ModuleGradcheckCase>& module_registry() {
  static std::vector<ModuleGradcheckCase> cases;
  return cases;
}
}  // namespace

void register_module_gradcheck_case(ModuleGradcheckCase c) { module_registry().push_back(std::move(c)); }
const std::vector<ModuleGradcheckCase>& module_gradcheck_cases() { return module_registry(); }

std::vector<const ModuleGradcheckCase*> module_gradcheck_cases_for(const std::string& module) {
  std::vector<const ModuleGradcheckCase*> r;
  for (const ModuleGradcheckCase& c : module_registry())
    if (c.module == module) r.push_back(&c);
  return r;
}

std::vector<std::string> gradcheck_module_names() {
  std::vector<std::string> names;
  for (const ModuleGradcheckCase& c : module_registry())
    if (std::find(names.begin(), names.end(), c.module) == names.end()) names.push_back(c.module);
  return names;
}

Tensor case_randn(const Shape& shape, uint64_t seed, double scale) {
  Tensor t = Tensor::empty(shape, DType::F64, kCPU);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = scale * philox_normal_double(seed, static_cast<uint64_t>(i));
  return t;
}

Tensor case_uniform(const Shape& shape, uint64_t seed, double lo, double hi) {
  Tensor t = Tensor::empty(shape, DType::F64, kCPU);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = lo + (hi - lo) * philox_uniform_double(seed, 0, static_cast<uint64_t>(i));
  return t;
}

Tensor nudge_off(const Tensor& t, const std::vector<double>& kinks, double margin) {
  Tensor r = Tensor::empty(t.shape(), DType::F64, kCPU);
  auto v = t.to_double_vector();
  double* p = r.data<double>();
  for (size_t i = 0; i < v.size(); ++i) {
    double x = v[i];
    for (double k : kinks)
      if (std::fabs(x - k) < margin) x = x >= k ? k + margin : k - margin;
    p[i] = x;
  }
  return r;
}

}  // namespace mm
