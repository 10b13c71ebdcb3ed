// `mmalign gradcheck (--op NAME | --module NAME | --all | --list) [--json]`: runs the registered
// gradient-check cases — per differentiable op of the op table (autograd/cases/) and per composite
// module (losses, ladder rungs, fusion modules, registered by nn/ and models/) — and reports the max
// abs/rel errors of each.
#include <cmath>
#include <iostream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "autograd/gradcheck_cases.h"
#include "ops/registry.h"

namespace mm::app {

namespace {
// One checked subject: an op or a module, with the result of each of its cases.
struct Report {
  std::string name, family;
  std::vector<std::pair<std::string, GradcheckResult>> cases;  // case name, result
  bool passed() const {
    if (cases.empty()) return false;  // a differentiable op or module without a case is a failure
    for (auto& [n, r] : cases)
      if (!r.passed) return false;
    return true;
  }
  std::pair<double, double> max_errors() const {
    double max_abs = 0, max_rel = 0;
    for (auto& [n, r] : cases)
      for (const auto& in : r.inputs) {
        max_abs = std::max(max_abs, in.max_abs_error);
        max_rel = std::max(max_rel, in.max_rel_error);
      }
    return {max_abs, max_rel};
  }
};

template <typename Fn>
GradcheckResult run_case(Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    GradcheckResult r;
    r.passed = false;
    r.message = std::string("threw: ") + e.what();
    return r;
  }
}

Report run_op(const OpInfo& op) {
  Report rep{op.name, op.family, {}};
  for (const GradcheckCase* c : gradcheck_cases_for(op.name))
    rep.cases.emplace_back(c->name, run_case([&] { return gradcheck(c->fn, c->make_inputs(), c->options); }));
  return rep;
}

Report run_module(const std::string& module) {
  Report rep{module, "", {}};
  for (const ModuleGradcheckCase* c : module_gradcheck_cases_for(module)) {
    rep.family = c->family;
    rep.cases.emplace_back(c->name, run_case([&] {
                             ModuleGradcheck m = c->make();
                             return gradcheck(m.fn, m.inputs, c->options);
                           }));
  }
  return rep;
}

double finite_or_zero(double x) { return std::isfinite(x) ? x : -1.0; }

nlohmann::json to_json(const Report& r, const char* key) {
  nlohmann::json cases = nlohmann::json::array();
  for (auto& [name, res] : r.cases) {
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto& in : res.inputs)
      inputs.push_back({{"index", in.index}, {"numel", in.numel}, {"fast", in.fast},
                        {"max_abs_error", finite_or_zero(in.max_abs_error)},
                        {"max_rel_error", finite_or_zero(in.max_rel_error)}, {"passed", in.passed}});
    nlohmann::json cj = {{"name", name}, {"passed", res.passed}, {"inputs", inputs}};
    if (!res.passed) cj["message"] = res.message;
    cases.push_back(cj);
  }
  auto [max_abs, max_rel] = r.max_errors();
  return {{key, r.name}, {"family", r.family}, {"passed", r.passed()}, {"max_abs_error", finite_or_zero(max_abs)},
          {"max_rel_error", finite_or_zero(max_rel)}, {"cases", cases}};
}

void print_text(const Report& r) {
  auto [max_abs, max_rel] = r.max_errors();
  std::printf("%-4s %-34s cases %2zu  max abs %.2e  max rel %.2e\n", r.passed() ? "ok" : "FAIL", r.name.c_str(),
              r.cases.size(), max_abs, max_rel);
  for (auto& [name, res] : r.cases)
    if (!res.passed) std::printf("       [%s] %s\n", name.c_str(), res.message.c_str());
  if (r.cases.empty()) std::printf("       no gradient-check case registered\n");
}

std::string known_modules() {
  std::string s;
  for (const std::string& m : gradcheck_module_names()) s += (s.empty() ? "" : ", ") + m;
  return s.empty() ? "(none registered)" : s;
}
}  // namespace

int run_gradcheck(const GradcheckArgs& args) {
  if (args.list) {
    for (const OpInfo& op : all_ops())
      if (op.differentiable) std::cout << op.name << "  (" << gradcheck_cases_for(op.name).size() << " cases)\n";
    for (const std::string& m : gradcheck_module_names())
      std::cout << "module " << m << "  (" << module_gradcheck_cases_for(m).size() << " cases)\n";
    return 0;
  }
  if (!args.model.empty()) {
    std::cerr << "mmalign gradcheck: no whole-model gradient checks are registered yet; use --op, --module or --all\n";
    return 1;
  }
  std::vector<Report> ops, modules;
  if (args.all) {
    for (const OpInfo& op : all_ops())
      if (op.differentiable) ops.push_back(run_op(op));
    for (const std::string& m : gradcheck_module_names()) modules.push_back(run_module(m));
  } else if (!args.module.empty()) {
    if (module_gradcheck_cases_for(args.module).empty()) {
      std::cerr << "mmalign gradcheck: unknown module '" << args.module << "'; known: " << known_modules() << "\n";
      return 1;
    }
    modules.push_back(run_module(args.module));
  } else {
    const OpInfo& op = op_by_name(args.op);  // throws with suggestions when unknown
    if (!op.differentiable) {
      std::cerr << "mmalign gradcheck: op '" << op.name << "' is not differentiable (marked NoDiff in ops/op_table.h)\n";
      return 1;
    }
    ops.push_back(run_op(op));
  }
  bool all_passed = true;
  size_t num_cases = 0;
  for (const auto* list : {&ops, &modules})
    for (const Report& r : *list) {
      all_passed = all_passed && r.passed();
      num_cases += r.cases.size();
    }
  if (args.json) {
    nlohmann::json j;
    j["passed"] = all_passed;
    j["num_ops"] = ops.size();
    j["num_modules"] = modules.size();
    j["num_cases"] = num_cases;
    j["tolerances"] = {{"eps", GradcheckOptions{}.eps}, {"atol", GradcheckOptions{}.atol}, {"rtol", GradcheckOptions{}.rtol}};
    j["ops"] = nlohmann::json::array();
    for (const Report& r : ops) j["ops"].push_back(to_json(r, "op"));
    j["modules"] = nlohmann::json::array();
    for (const Report& r : modules) j["modules"].push_back(to_json(r, "module"));
    std::cout << j.dump(2) << "\n";
  } else {
    for (const Report& r : ops) print_text(r);
    for (const Report& r : modules) print_text(r);
    std::printf("%zu ops, %zu modules, %zu cases: %s\n", ops.size(), modules.size(), num_cases,
                all_passed ? "all passed" : "FAILURES");
  }
  return all_passed ? 0 : 1;
}

}  // namespace mm::app
