#include "train/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/error.h"
#include "train/config.h"
#include "train/report_chart.h"

namespace mm::train {

namespace fs = std::filesystem;
using report::ChartSeries;
using report::ChartSpec;
using report::html_escape;

namespace {

constexpr const char* kOp = "report";

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  MM_CHECK(f, Runtime, kOp, "cannot open ", p.string());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

nlohmann::json read_json_file(const fs::path& p) {
  const std::string text = read_text(p);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Value, kOp, p.string(), ": malformed JSON: ", e.what());
  }
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

std::string string_field(const nlohmann::json& j, const char* key, const char* fallback) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string(fallback);
}

// (step, field) points of the lines that have the field as a number (nulls are NaN steps: gaps).
std::vector<std::pair<double, double>> points(const std::vector<nlohmann::json>& lines, const std::string& field,
                                              double scale = 1) {
  std::vector<std::pair<double, double>> p;
  for (const nlohmann::json& j : lines) {
    if (!j.contains(field) || !j[field].is_number()) continue;
    p.emplace_back(j["step"].get<double>(), j[field].get<double>() * scale);
  }
  return p;
}

// A one-line description of the resolved config; the text itself goes into a <details>.
std::string config_summary(const std::string& text, const std::string& path) {
  try {
    const config::Config c = parse_config(text, path);
    std::string image = "image tower ?", txt = "text tower ?";
    const config::ImageTower& it = c.model().image();
    if (it.has_resnet()) image = std::string("ResNet ").append(it.resnet().has_preset() ? it.resnet().preset() : "resnet18");
    if (it.has_vit()) image = std::string("ViT ").append(it.vit().has_preset() ? it.vit().preset() : "vit_b_16");
    if (it.has_mobilenet_v1()) image = "MobileNetV1";
    const config::TextTower& tt = c.model().text();
    if (tt.has_bert()) txt = std::string("BERT ").append(tt.bert().has_preset() ? tt.bert().preset() : "mini");
    if (tt.has_lstm()) txt = "LSTM";
    std::string losses;
    for (const config::Loss& l : c.loss()) losses.append(losses.empty() ? "" : "+").append(l.has_kind() ? l.kind() : "clip");
    std::string s = image;
    s.append(" + ").append(txt).append(" · loss ").append(losses.empty() ? "clip" : losses);
    s.append(" · ").append(std::to_string(c.train().has_steps() ? c.train().steps() : 1000)).append(" steps");
    s.append(" · batch ").append(std::to_string(c.train().has_batch_size() ? c.train().batch_size() : 64));
    s.append(" · lr ").append(fmt("%g", c.optim().has_lr() ? c.optim().lr() : 1e-3));
    return s;
  } catch (const Error& e) {  // an older or newer schema: the text is still shown
    return std::string("config not parsed (").append(e.what()).append(")");
  }
}

// `final_results`: eval.json's "results" (or null): the evaluation after the last step is written there,
// not to metrics.jsonl, so it is the recall curve's last point.
std::string charts_section(const RunMetrics& m, const nlohmann::json& final_results) {
  std::string s = "<h2>Training curves</h2>\n<div class=\"charts\">\n";
  const std::string no_train = "no training lines in metrics.jsonl";
  ChartSpec loss{"Training loss", "step", "loss", {{"loss", "#1f77b4", false, points(m.train_lines, "loss")}}};
  loss.empty_note = no_train;
  ChartSpec lr{"Learning rate", "step", "learning rate", {{"lr", "#ff7f0e", false, points(m.train_lines, "lr")}}};
  lr.empty_note = no_train;
  lr.y_from_zero = true;
  ChartSpec scale{"Logit scale", "step", "scale (1/temperature)",
                  {{"logit scale", "#2ca02c", false, points(m.train_lines, "logit_scale")}}};
  scale.empty_note = no_train;

  // Recall of one split: "val" when evaluated, otherwise the first split the lines name.
  std::string split;
  for (const nlohmann::json& j : m.eval_lines) {
    const std::string sp = j["split"].get<std::string>();
    if (split.empty() || sp == "val") split = sp;
  }
  std::vector<nlohmann::json> lines;
  for (const nlohmann::json& j : m.eval_lines)
    if (j["split"].get<std::string>() == split) lines.push_back(j);
  if (final_results.is_array()) {
    for (const nlohmann::json& r : final_results) {
      if (!r.is_object() || string_field(r, "split", "") != (split.empty() ? "val" : split) || !r.contains("step") ||
          !r["step"].is_number_integer())
        continue;
      if (split.empty()) split = "val";
      if (lines.empty() || lines.back()["step"].get<int64_t>() < r["step"].get<int64_t>()) lines.push_back(r);
    }
  }
  // Colour = K, solid = image→text, dashed = text→image.
  const char* colors[] = {"#d62728", "#9467bd", "#17becf"};
  const char* ks[] = {"1", "5", "10"};
  std::vector<ChartSeries> recall;
  for (const char* dir : {"i2t", "t2i"}) {
    for (int k = 0; k < 3; ++k) {
      std::string field = dir;
      field.append("_r").append(ks[k]);
      std::string label = dir;
      label.append(" R@").append(ks[k]);
      recall.push_back({label, colors[k], std::string(dir) == "t2i", points(lines, field, 100.0)});
    }
  }
  std::string rc_title = "Recall@K";
  if (!split.empty()) rc_title.append(" (").append(split).append(")");
  ChartSpec rc{rc_title, "step", "recall (%)", recall};
  rc.y_from_zero = true;
  rc.empty_note = "no evaluation lines in metrics.jsonl";
  double last_step = 0;  // every chart spans the same steps, so they line up
  for (const nlohmann::json& j : m.train_lines) last_step = std::max(last_step, j["step"].get<double>());
  for (const nlohmann::json& j : lines) last_step = std::max(last_step, j["step"].get<double>());
  for (ChartSpec* c : {&loss, &lr, &scale, &rc}) {
    c->x_reach = last_step;
    s.append(report::svg_line_chart(*c));
  }
  s.append("</div>\n");
  return s;
}

// The final metrics: one row per evaluated split of eval.json.
// eval.json's contents, checked; null when the file is absent.
nlohmann::json read_eval_json(const fs::path& path) {
  if (!fs::exists(path)) return nullptr;
  nlohmann::json j = read_json_file(path);
  MM_CHECK(j.is_object() && j.contains("results") && j["results"].is_array(), Value, kOp, path.string(),
           ": expected an object with a \"results\" array");
  return j;
}

std::string metrics_section(const fs::path& path, const nlohmann::json& j, std::vector<std::string>& notes) {
  std::string s = "<h2>Final metrics</h2>\n";
  if (j.is_null()) {
    notes.push_back("eval.json is absent: no final metrics (the run may not have finished).");
    return s.append("<p class=\"absent\">eval.json not found in the run directory.</p>\n");
  }
  struct Column { const char* key; const char* head; bool percent; };
  const Column cols[] = {{"i2t_r1", "i2t R@1", true},   {"i2t_r5", "i2t R@5", true},  {"i2t_r10", "i2t R@10", true},
                         {"t2i_r1", "t2i R@1", true},   {"t2i_r5", "t2i R@5", true},  {"t2i_r10", "t2i R@10", true},
                         {"rsum", "R-sum", true},       {"i2t_mean_rank", "i2t mean rank", false},
                         {"i2t_median_rank", "i2t median rank", false}, {"t2i_mean_rank", "t2i mean rank", false},
                         {"t2i_median_rank", "t2i median rank", false}, {"num_images", "images", false},
                         {"num_texts", "captions", false}};
  s.append("<table class=\"metrics\">\n<thead><tr><th>split</th><th>step</th>");
  for (const Column& c : cols) s.append("<th>").append(c.head).append(c.percent ? " (%)" : "").append("</th>");
  s.append("</tr></thead>\n<tbody>\n");
  size_t row = 0;
  for (const nlohmann::json& r : j["results"]) {
    MM_CHECK(r.is_object(), Value, kOp, path.string(), ": results[", row, "] is not an object");
    ++row;
    const auto cell = [&](const char* key, bool percent) -> std::string {
      if (!r.contains(key) || !r[key].is_number()) return "–";
      if (r[key].is_number_integer()) return std::to_string(r[key].get<int64_t>());
      return fmt("%.2f", r[key].get<double>() * (percent ? 100.0 : 1.0));
    };
    s.append("<tr><td>").append(html_escape(string_field(r, "split", "?"))).append("</td><td>")
        .append(cell("step", false)).append("</td>");
    for (const Column& c : cols) s.append("<td>").append(cell(c.key, c.percent)).append("</td>");
    s.append("</tr>\n");
  }
  s.append("</tbody></table>\n");
  if (row == 0) s.append("<p class=\"absent\">eval.json has no results.</p>\n");
  if (j.contains("seconds") && j["seconds"].is_number())
    s.append("<p class=\"sub\">Training and evaluation took ").append(fmt("%.0f", j["seconds"].get<double>())).append(" s.</p>\n");
  return s;
}

std::string gallery_section(const fs::path& path, std::vector<std::string>& notes) {
  std::string s = "<h2>Retrieval gallery</h2>\n";
  if (!fs::exists(path)) {
    notes.push_back("gallery.json is absent: no retrieval gallery.");
    return s.append("<p class=\"absent\">gallery.json not found in the run directory.</p>\n");
  }
  const nlohmann::json g = read_json_file(path);
  const std::string file = path.string();
  MM_CHECK(g.is_object() && g.contains("queries") && g["queries"].is_array(), Value, kOp, file,
           ": expected an object with a \"queries\" array");
  const nlohmann::json thumbs = g.value("thumbnails", nlohmann::json::object());
  MM_CHECK(thumbs.is_object(), Value, kOp, file, ": \"thumbnails\" must be an object");
  for (const auto& [key, uri] : thumbs.items()) {
    // Only inline images: a URL would make the report depend on something outside it.
    MM_CHECK(uri.is_string() && uri.get<std::string>().rfind("data:image/", 0) == 0, Value, kOp, file,
             ": thumbnail \"", key, "\" is not a data:image/ URI");
  }
  const auto figure = [&](int64_t image, const std::string& cls, const std::string& text) {
    std::string f = "<figure class=\"";
    f.append(cls).append("\">");
    const std::string key = std::to_string(image);
    if (thumbs.contains(key)) {
      f.append("<img src=\"").append(html_escape(thumbs[key].get<std::string>())).append("\" alt=\"image ")
          .append(key).append("\">");
    } else {
      f.append("<div class=\"nothumb\">image ").append(key).append("</div>");
    }
    return f.append("<figcaption>").append(text).append("</figcaption></figure>");
  };
  s.append("<p class=\"sub\">Captions as queries; their top images by cosine similarity, the true image "
           "outlined in green.</p>\n");
  size_t qi = 0;
  for (const nlohmann::json& q : g["queries"]) {
    const std::string where = file + ": queries[" + std::to_string(qi++) + "]";
    MM_CHECK(q.is_object() && q.contains("caption") && q["caption"].is_string() && q.contains("true_image") &&
                 q["true_image"].is_number_integer() && q.contains("top") && q["top"].is_array(),
             Value, kOp, where, ": needs \"caption\" (string), \"true_image\" (integer) and \"top\" (array)");
    const int64_t truth = q["true_image"].get<int64_t>();
    s.append("<div class=\"query\"><p class=\"caption\">“").append(html_escape(q["caption"].get<std::string>()))
        .append("”");
    if (q.contains("true_rank") && q["true_rank"].is_number_integer())
      s.append(" <span class=\"rank\">true image at rank ").append(std::to_string(q["true_rank"].get<int64_t>()))
          .append("</span>");
    s.append("</p>\n<div class=\"row\">");
    bool found = false;
    int rank = 0;
    for (const nlohmann::json& t : q["top"]) {
      MM_CHECK(t.is_object() && t.contains("image") && t["image"].is_number_integer() && t.contains("score") &&
                   t["score"].is_number(), Value, kOp, where, ": a \"top\" entry needs \"image\" (integer) and \"score\"");
      const int64_t image = t["image"].get<int64_t>();
      found = found || image == truth;
      std::string text = "#";
      text.append(std::to_string(++rank)).append(" · ").append(fmt("%.3f", t["score"].get<double>()));
      s.append(figure(image, image == truth ? "hit" : "miss", text));
    }
    if (!found) s.append("<div class=\"sep\"></div>").append(figure(truth, "hit truth", "true image"));
    s.append("</div></div>\n");
  }
  if (qi == 0) s.append("<p class=\"absent\">gallery.json has no queries.</p>\n");
  return s;
}

constexpr const char* kStyle = R"(<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1180px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
code { background: #f3f3f3; padding: 1px 4px; } .sub { color: #555; font-size: 13px; }
.notes { color: #8a5a00; font-size: 13px; } .absent { color: #888; font-style: italic; }
details pre { background: #f7f7f7; padding: 8px; font-size: 12px; overflow-x: auto; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; } .chart { border: 1px solid #eee; max-width: 100%; height: auto; }
table.metrics { border-collapse: collapse; font-size: 13px; }
table.metrics th, table.metrics td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
table.metrics th { background: #f3f3f3; } table.metrics td:first-child { text-align: left; }
.query { margin: 14px 0; } .caption { margin: 4px 0; font-size: 14px; } .rank { color: #666; font-size: 12px; }
.row { display: flex; gap: 10px; align-items: flex-start; }
figure { margin: 0; text-align: center; font-size: 11px; color: #444; }
figure img, .nothumb { width: 96px; height: 96px; object-fit: contain; background: #fafafa; display: block; }
.nothumb { line-height: 96px; color: #999; }
figure.hit img, figure.hit .nothumb { outline: 4px solid #2e9d3a; outline-offset: -2px; }
figure.miss img, figure.miss .nothumb { outline: 3px solid #bbb; outline-offset: -2px; }
.sep { width: 1px; align-self: stretch; background: #ccc; margin: 0 6px; }
</style>
)";

}  // namespace

RunMetrics read_metrics(const std::string& path) {
  std::ifstream f(path);
  MM_CHECK(f, Runtime, kOp, "cannot open ", path, " (metrics.jsonl is written by mmalign train)");
  RunMetrics m;
  std::string line;
  for (int64_t n = 1; std::getline(f, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(n);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::Value, kOp, where, ": malformed JSON: ", e.what());
    }
    MM_CHECK(j.is_object(), Value, kOp, where, ": expected a JSON object, got ", j.type_name());
    MM_CHECK(j.contains("step") && j["step"].is_number_integer(), Value, kOp, where, ": no integer \"step\"");
    if (j.contains("split")) {
      MM_CHECK(j["split"].is_string(), Value, kOp, where, ": \"split\" must be a string");
      m.eval_lines.push_back(std::move(j));
    } else {
      m.train_lines.push_back(std::move(j));
    }
  }
  return m;
}

std::string render_report(const std::string& run_dir) {
  const fs::path dir(run_dir);
  MM_CHECK(fs::is_directory(dir), Runtime, kOp, run_dir, " is not a directory");
  const RunMetrics m = read_metrics((dir / "metrics.jsonl").string());
  std::vector<std::string> notes;
  std::string config_html;
  std::string summary = "no config.pbtxt";
  if (fs::exists(dir / "config.pbtxt")) {
    const std::string text = read_text(dir / "config.pbtxt");
    summary = config_summary(text, (dir / "config.pbtxt").string());
    config_html.append("<details><summary>config.pbtxt (resolved)</summary><pre>").append(html_escape(text))
        .append("</pre></details>\n");
  } else {
    notes.push_back("config.pbtxt is absent.");
  }
  const nlohmann::json eval = read_eval_json(dir / "eval.json");
  std::string body = charts_section(m, eval.is_null() ? nlohmann::json() : eval["results"]);
  body.append(metrics_section(dir / "eval.json", eval, notes)).append(gallery_section(dir / "gallery.json", notes));

  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>mmalign report: ";
  h.append(html_escape(run_dir)).append("</title>\n").append(kStyle).append("</head>\n<body>\n");
  h.append("<h1>mmalign run <code>").append(html_escape(run_dir)).append("</code></h1>\n");
  h.append("<p class=\"sub\">").append(html_escape(summary)).append(" — ").append(std::to_string(m.train_lines.size()))
      .append(" training lines, ").append(std::to_string(m.eval_lines.size())).append(" evaluations");
  if (!m.train_lines.empty()) h.append(", last step ").append(std::to_string(m.train_lines.back()["step"].get<int64_t>()));
  h.append("</p>\n").append(config_html);
  if (!notes.empty()) {
    h.append("<ul class=\"notes\">");
    for (const std::string& n : notes) h.append("<li>").append(html_escape(n)).append("</li>");
    h.append("</ul>\n");
  }
  h.append(body).append("</body>\n</html>\n");
  return h;
}

std::string write_report(const std::string& run_dir, const std::string& out_path) {
  const std::string html = render_report(run_dir);
  const std::string out = out_path.empty() ? (fs::path(run_dir) / "report.html").string() : out_path;
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  MM_CHECK(f, Runtime, kOp, "cannot write ", out);
  f << html;
  f.close();
  MM_CHECK(f, Runtime, kOp, "write failed: ", out);
  return out;
}

}  // namespace mm::train
