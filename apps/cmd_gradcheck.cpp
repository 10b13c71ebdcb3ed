// `mmalign gradcheck (--op NAME | --all | --list) [--json]`: runs the registered gradient-check cases
// (autograd/cases/) and reports, per differentiable op of the op table, the max abs/rel errors.
#include <cmath>
#include <iostream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "autograd/gradcheck_cases.h"
#include "ops/registry.h"

namespace mm::app {

namespace {
struct OpReport {
  const OpInfo* op;
  std::vector<std::pair<const GradcheckCase*, GradcheckResult>> cases;
  bool passed() const {
    if (cases.empty()) return false;  // a differentiable op without a case is a failure
    for (auto& [c, r] : cases)
      if (!r.passed) return false;
    return true;
  }
};

OpReport run_op(const OpInfo& op) {
  OpReport rep{&op, {}};
  for (const GradcheckCase* c : gradcheck_cases_for(op.name)) {
    GradcheckResult r;
    try {
      r = gradcheck(c->fn, c->make_inputs(), c->options);
    } catch (const Error& e) {
      r.passed = false;
      r.message = std::string("threw: ") + e.what();
    }
    rep.cases.emplace_back(c, r);
  }
  return rep;
}

double finite_or_zero(double x) { return std::isfinite(x) ? x : -1.0; }
}  // namespace

int run_gradcheck(const GradcheckArgs& args) {
  if (args.list) {
    for (const OpInfo& op : all_ops())
      if (op.differentiable) std::cout << op.name << "  (" << gradcheck_cases_for(op.name).size() << " cases)\n";
    return 0;
  }
  if (!args.module.empty() || !args.model.empty()) {
    std::cerr << "mmalign gradcheck: no module or model gradient checks are registered yet "
                 "(nn modules and towers arrive with the nn/towers issue); use --op NAME or --all\n";
    return 1;
  }
  std::vector<const OpInfo*> selected;
  if (args.all) {
    for (const OpInfo& op : all_ops())
      if (op.differentiable) selected.push_back(&op);
  } else {
    const OpInfo& op = op_by_name(args.op);  // throws with suggestions when unknown
    if (!op.differentiable) {
      std::cerr << "mmalign gradcheck: op '" << op.name << "' is not differentiable (marked NoDiff in ops/op_table.h)\n";
      return 1;
    }
    selected.push_back(&op);
  }
  std::vector<OpReport> reports;
  bool all_passed = true;
  size_t num_cases = 0;
  for (const OpInfo* op : selected) {
    reports.push_back(run_op(*op));
    all_passed = all_passed && reports.back().passed();
    num_cases += reports.back().cases.size();
  }
  if (args.json) {
    nlohmann::json j;
    j["passed"] = all_passed;
    j["num_ops"] = reports.size();
    j["num_cases"] = num_cases;
    j["tolerances"] = {{"eps", GradcheckOptions{}.eps}, {"atol", GradcheckOptions{}.atol}, {"rtol", GradcheckOptions{}.rtol}};
    j["ops"] = nlohmann::json::array();
    for (const OpReport& r : reports) {
      double max_abs = 0, max_rel = 0;
      nlohmann::json cases = nlohmann::json::array();
      for (auto& [c, res] : r.cases) {
        nlohmann::json inputs = nlohmann::json::array();
        for (const auto& in : res.inputs) {
          max_abs = std::max(max_abs, in.max_abs_error);
          max_rel = std::max(max_rel, in.max_rel_error);
          inputs.push_back({{"index", in.index}, {"numel", in.numel}, {"fast", in.fast},
                            {"max_abs_error", finite_or_zero(in.max_abs_error)},
                            {"max_rel_error", finite_or_zero(in.max_rel_error)}, {"passed", in.passed}});
        }
        nlohmann::json cj = {{"name", c->name}, {"passed", res.passed}, {"inputs", inputs}};
        if (!res.passed) cj["message"] = res.message;
        cases.push_back(cj);
      }
      j["ops"].push_back({{"op", r.op->name}, {"family", r.op->family}, {"passed", r.passed()},
                          {"max_abs_error", finite_or_zero(max_abs)}, {"max_rel_error", finite_or_zero(max_rel)},
                          {"cases", cases}});
    }
    std::cout << j.dump(2) << "\n";
  } else {
    for (const OpReport& r : reports) {
      double max_abs = 0, max_rel = 0;
      for (auto& [c, res] : r.cases)
        for (const auto& in : res.inputs) {
          max_abs = std::max(max_abs, in.max_abs_error);
          max_rel = std::max(max_rel, in.max_rel_error);
        }
      std::printf("%-4s %-34s cases %2zu  max abs %.2e  max rel %.2e\n", r.passed() ? "ok" : "FAIL", r.op->name,
                  r.cases.size(), max_abs, max_rel);
      for (auto& [c, res] : r.cases)
        if (!res.passed) std::printf("       [%s] %s\n", c->name.c_str(), res.message.c_str());
      if (r.cases.empty()) std::printf("       no gradient-check case registered\n");
    }
    std::printf("%zu ops, %zu cases: %s\n", reports.size(), num_cases, all_passed ? "all passed" : "FAILURES");
  }
  return all_passed ? 0 : 1;
}

}  // namespace mm::app
