// `mmalign report` (train/report.h, train/report_chart.h): a fake run directory renders to one
// self-contained page with the four charts, the metrics table and the gallery; absent optional files
// are said so; malformed input is an error naming file:line; the chart helpers' ticks and labels.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

#include "tests/common/expect_error.h"
#include "tests/train/obs_temp_dir.h"
#include "train/eval/gallery.h"
#include "train/report.h"
#include "train/report_chart.h"

namespace mm {
namespace {

using testing::ObsTempDir;
using testing::read_file;

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

std::string metrics_jsonl() {
  std::string s;
  for (int step = 10; step <= 100; step += 10) {
    nlohmann::json j = {{"step", step}, {"loss", 5.0 / step}, {"lr", 1e-3 * step / 100}, {"logit_scale", 14.3 + step / 50.0},
                        {"pairs_per_second", 300.0}, {"elapsed_s", step * 0.5}};
    s.append(j.dump()).append("\n");
    if (step % 50 == 0) {
      nlohmann::json e = {{"split", "val"}, {"step", step}, {"i2t_r1", 0.1 * step / 50}, {"i2t_r5", 0.3}, {"i2t_r10", 0.5},
                          {"t2i_r1", 0.12}, {"t2i_r5", 0.33}, {"t2i_r10", 0.52}, {"rsum", 1.87}};
      s.append(e.dump()).append("\n");
    }
  }
  return s;
}

// A complete fake run: metrics.jsonl, eval.json, gallery.json with two tiny PNG thumbnails, config.pbtxt.
void write_run(const ObsTempDir& d) {
  d.write("metrics.jsonl", metrics_jsonl());
  nlohmann::json results = nlohmann::json::array();
  results.push_back({{"split", "val"}, {"step", 100}, {"i2t_r1", 0.452}, {"rsum", 3.124}, {"num_images", 500}});
  results.push_back({{"split", "test"}, {"step", 100}, {"i2t_r1", 0.4}, {"t2i_median_rank", 2.5}});
  d.write("eval.json", nlohmann::json{{"results", results}, {"seconds", 61.0}}.dump(2));
  data::Image red(6, 4), blue(5, 5);
  for (size_t i = 0; i < red.pixels.size(); i += 3) red.pixels[i] = 255;
  for (size_t i = 2; i < blue.pixels.size(); i += 3) blue.pixels[i] = 255;
  nlohmann::json g = {
      {"queries",
       {{{"caption", "a red <b>square</b> & co"}, {"true_image", 0}, {"true_rank", 1},
         {"top", {{{"image", 0}, {"score", 0.91}}, {{"image", 1}, {"score", 0.12}}}}},
        {{"caption", "a blue square"}, {"true_image", 7}, {"true_rank", 9},
         {"top", {{{"image", 0}, {"score", 0.5}}, {{"image", 1}, {"score", 0.4}}}}}}},
      {"thumbnails",
       {{"0", train::png_data_uri(train::png_thumbnail(red, 96))}, {"1", train::png_data_uri(train::png_thumbnail(blue, 96))}}}};
  d.write("gallery.json", g.dump());
  d.write("config.pbtxt", "model { image { resnet { preset: \"resnet18\" } } text { lstm { } } }\n"
                          "train { steps: 100 batch_size: 32 }\n");
}

TEST(Report, FullRunDirectory) {
  ObsTempDir d;
  write_run(d);
  const std::string out = train::write_report(d.str());
  EXPECT_EQ(out, d.file("report.html"));
  const std::string h = read_file(out);
  ASSERT_FALSE(h.empty());
  // Title, config summary and the config itself.
  EXPECT_NE(h.find(std::string("<h1>mmalign run <code>").append(d.str())), std::string::npos);
  EXPECT_NE(h.find("ResNet resnet18 + LSTM · loss clip · 100 steps · batch 32"), std::string::npos);
  EXPECT_NE(h.find("<details><summary>config.pbtxt"), std::string::npos);
  EXPECT_NE(h.find("10 training lines, 2 evaluations, last step 100"), std::string::npos);
  // Four charts: one series each for loss, lr and scale, six for recall (solid i2t, dashed t2i).
  EXPECT_EQ(count(h, "<svg class=\"chart\""), 4u);
  for (const char* title : {">Training loss<", ">Learning rate<", ">Logit scale<", ">Recall@K (val)<"})
    EXPECT_NE(h.find(title), std::string::npos) << title;
  EXPECT_EQ(count(h, "<path class=\"series\""), 9u);
  EXPECT_EQ(count(h, "stroke-dasharray"), 6u);  // three t2i curves and their three legend entries
  EXPECT_EQ(count(h, "no training lines"), 0u);
  // The loss curve has its ten points (markers, as there are few).
  const size_t loss_svg = h.find(">Training loss<"), lr_svg = h.find(">Learning rate<");
  EXPECT_EQ(count(h.substr(loss_svg, lr_svg - loss_svg), "<circle"), 10u);
  // The final table: both splits, recalls in percent, a missing cell as a dash.
  EXPECT_NE(h.find("<table class=\"metrics\">"), std::string::npos);
  EXPECT_NE(h.find("<tr><td>val</td><td>100</td><td>45.20</td>"), std::string::npos);
  EXPECT_NE(h.find("<td>312.40</td>"), std::string::npos);
  EXPECT_NE(h.find("<tr><td>test</td><td>100</td><td>40.00</td><td>–</td>"), std::string::npos);
  EXPECT_NE(h.find("took 61 s"), std::string::npos);
  // The gallery: two queries, caption escaped, true image green (hit), others gray (miss); the second
  // query's true image is outside its top and has no thumbnail: shown after a separator as a placeholder.
  EXPECT_EQ(count(h, "<div class=\"query\">"), 2u);
  EXPECT_NE(h.find("“a red &lt;b&gt;square&lt;/b&gt; &amp; co”"), std::string::npos);
  EXPECT_EQ(count(h, "<figure class=\"hit\">"), 1u);
  EXPECT_EQ(count(h, "<figure class=\"miss\">"), 3u);
  EXPECT_EQ(count(h, "<figure class=\"hit truth\"><div class=\"nothumb\">image 7</div>"), 1u);
  EXPECT_EQ(count(h, "<img src=\"data:image/png;base64,"), 4u);
  EXPECT_NE(h.find("#1 · 0.910"), std::string::npos);
  EXPECT_NE(h.find("true image at rank 9"), std::string::npos);
  // Self-contained: nothing fetched, nothing run.
  EXPECT_FALSE(std::regex_search(h, std::regex(R"((src|href)\s*=\s*["']?\s*(https?:)?//)", std::regex::icase)));
  EXPECT_EQ(count(h, "http://") + count(h, "https://"), 0u);
  EXPECT_EQ(count(h, "<script"), 0u);
  EXPECT_EQ(count(h, "<link"), 0u);
  EXPECT_EQ(count(h, "<ul class=\"notes\">"), 0u);  // nothing absent
}

TEST(Report, OptionalFilesAbsentAreSaid) {
  ObsTempDir d;
  std::string only_train;
  for (int s = 1; s <= 3; ++s) only_train.append(nlohmann::json{{"step", s}, {"loss", 1.0 / s}}.dump()).append("\n");
  d.write("metrics.jsonl", only_train);
  const std::string h = train::render_report(d.str());
  EXPECT_NE(h.find("eval.json not found"), std::string::npos);
  EXPECT_NE(h.find("gallery.json not found"), std::string::npos);
  EXPECT_NE(h.find("config.pbtxt is absent"), std::string::npos);
  EXPECT_NE(h.find(">no evaluation lines in metrics.jsonl<"), std::string::npos);
  EXPECT_NE(h.find(">Recall@K<"), std::string::npos);
  EXPECT_EQ(count(h, "<svg class=\"chart\""), 4u);
  EXPECT_EQ(count(h, "<path class=\"series\""), 1u);  // the loss; lr and scale are not in these lines
  const std::string out = d.file("elsewhere.html");
  EXPECT_EQ(train::write_report(d.str(), out), out);
  EXPECT_EQ(read_file(out), h);
}

TEST(Report, FinalEvaluationEndsTheRecallCurveAndChartsShareTheStepRange) {
  ObsTempDir d;
  std::string lines;
  for (int s = 10; s <= 100; s += 10) lines.append(nlohmann::json{{"step", s}, {"loss", 1.0}}.dump()).append("\n");
  lines.append(nlohmann::json{{"split", "val"}, {"step", 50}, {"i2t_r1", 0.2}}.dump()).append("\n");
  d.write("metrics.jsonl", lines);
  nlohmann::json results = nlohmann::json::array();
  results.push_back({{"split", "test"}, {"step", 100}, {"i2t_r1", 0.9}});  // another split: not on the curve
  results.push_back({{"split", "val"}, {"step", 100}, {"i2t_r1", 0.4}});
  d.write("eval.json", nlohmann::json{{"results", results}}.dump());
  const std::string h = train::render_report(d.str());
  const std::string recall = h.substr(h.find(">Recall@K (val)<"));
  EXPECT_EQ(count(recall.substr(0, recall.find("</svg>")), "<circle"), 2u);  // steps 50 and 100
  // Both charts' x axes end at step 100 (its tick label is the last of each axis).
  EXPECT_EQ(count(h, ">100</text>\n<path d=\"M70.00"), 4u);
}

TEST(Report, Errors) {
  ObsTempDir d;
  EXPECT_ERROR_CONTAINS(train::render_report(d.file("nope")), ErrorKind::Runtime, "is not a directory");
  EXPECT_ERROR_CONTAINS(train::render_report(d.str()), ErrorKind::Runtime, "metrics.jsonl");
  d.write("metrics.jsonl", "{\"step\": 1, \"loss\": 2}\n\n{\"step\": 2, \"loss\": \n");
  EXPECT_ERROR_CONTAINS(train::render_report(d.str()), ErrorKind::Value, "metrics.jsonl:3", "malformed JSON");
  d.write("metrics.jsonl", "{\"step\": 1}\n{\"loss\": 2}\n");
  EXPECT_ERROR_CONTAINS(train::render_report(d.str()), ErrorKind::Value, "metrics.jsonl:2", "\"step\"");
  d.write("metrics.jsonl", "[1, 2]\n");
  EXPECT_ERROR_CONTAINS(train::render_report(d.str()), ErrorKind::Value, "metrics.jsonl:1", "JSON object");
  d.write("metrics.jsonl", "{\"step\": 1, \"split\": 3}\n");
  EXPECT_ERROR_CONTAINS(train::render_report(d.str()), ErrorKind::Value, "metrics.jsonl:1", "split");

  write_run(d);
  d.write("eval.json", "{\"results\": 5}");
  EXPECT_ERROR_CONTAINS(train::render_report(d.str()), ErrorKind::Value, "eval.json", "\"results\" array");
  d.write("eval.json", "{\"results\": [");
  EXPECT_ERROR_CONTAINS(train::render_report(d.str()), ErrorKind::Value, "eval.json", "malformed JSON");
  write_run(d);
  d.write("gallery.json", R"({"queries": [], "thumbnails": {"0": "https://example.com/a.png"}})");
  EXPECT_ERROR_CONTAINS(train::render_report(d.str()), ErrorKind::Value, "gallery.json", "not a data:image/ URI");
  d.write("gallery.json", R"({"queries": [{"caption": "x", "top": []}]})");
  EXPECT_ERROR_CONTAINS(train::render_report(d.str()), ErrorKind::Value, "gallery.json: queries[0]", "true_image");
  d.write("gallery.json", R"({"queries": [{"caption": "x", "true_image": 0, "top": [{"image": 0}]}]})");
  EXPECT_ERROR_CONTAINS(train::render_report(d.str()), ErrorKind::Value, "queries[0]", "\"score\"");
}

TEST(ReportChart, NiceTicks) {
  double step = 0;
  EXPECT_EQ(train::report::nice_ticks(0, 2.31, 5, &step), (std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5}));
  EXPECT_EQ(step, 0.5);
  const std::vector<double> lr = train::report::nice_ticks(0, 2e-3, 5, &step);
  EXPECT_DOUBLE_EQ(step, 5e-4);
  ASSERT_EQ(lr.size(), 5u);
  EXPECT_DOUBLE_EQ(lr.back(), 2e-3);
  const std::vector<double> x = train::report::nice_ticks(0, 600, 6, &step);
  EXPECT_EQ(step, 100);
  EXPECT_EQ(x.size(), 7u);
  const std::vector<double> one = train::report::nice_ticks(14.3, 14.3, 5, &step);  // one value: widened
  EXPECT_LT(one.front(), 14.3);
  EXPECT_GT(one.back(), 14.3);
  EXPECT_GE(one.size(), 3u);
}

TEST(ReportChart, TickLabels) {
  using train::report::format_tick;
  EXPECT_EQ(format_tick(0, 0.5), "0");
  EXPECT_EQ(format_tick(1.5, 0.5), "1.5");
  EXPECT_EQ(format_tick(0.25, 0.05), "0.25");
  EXPECT_EQ(format_tick(0.3, 0.1), "0.3");
  EXPECT_EQ(format_tick(1500, 500), "1500");
  EXPECT_EQ(format_tick(20000, 5000), "20k");
  EXPECT_EQ(format_tick(2.5e6, 5e5), "2.5M");
  EXPECT_EQ(format_tick(5e-4, 5e-4), "5e-4");
  EXPECT_EQ(format_tick(1.5e-3, 5e-4), "1.5e-3");
  EXPECT_EQ(format_tick(2e-3, 5e-4), "2e-3");
  EXPECT_EQ(format_tick(-1e-5, 1e-5), "-1e-5");
}

TEST(ReportChart, EscapesTextAndSkipsNonFinitePoints) {
  train::report::ChartSpec c;
  c.title = "a <b> & \"c\"";
  c.series.push_back({"s", "#000", false, {{0, 1}, {1, std::nan("")}, {2, 3}}});
  const std::string svg = train::report::svg_line_chart(c);
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_EQ(count(svg, "<circle"), 2u);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

}  // namespace
}  // namespace mm
