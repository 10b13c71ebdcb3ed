// `mmalign report --run DIR`: one self-contained HTML page about a training run (SPEC §7
// "Observability") — no script, no external stylesheet, font or image; thumbnails are data: URIs.
//
// Reads, from the run directory:
//   metrics.jsonl  required. One JSON object per line, each with an integer "step". A line with a
//                  "split" is an evaluation ({"split", "step", "i2t_r1", ..., "rsum", ...}, recalls as
//                  fractions); any other is a training line ({"step", "loss", "lr", "logit_scale",
//                  "pairs_per_second", "elapsed_s"}). A missing field or a null (a NaN written by
//                  nlohmann::json) leaves a gap in that curve; a malformed line is an error naming
//                  file:line.
//   eval.json      optional: {"results": [{"split", "step", metrics...}], "seconds"} → the final table.
//   gallery.json   optional: train/eval/gallery.h's JSON → the retrieval gallery.
//   config.pbtxt   optional: the resolved config, summarised in the title and shown in a <details>.
// An absent optional file is said so in the report; a present but malformed one is an error.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mm::train {

struct RunMetrics {
  std::vector<nlohmann::json> train_lines;  // in file order
  std::vector<nlohmann::json> eval_lines;
};

// Parses metrics.jsonl; errors (mm::Error, Runtime for a missing file, Value for bad content) name
// path:line.
RunMetrics read_metrics(const std::string& path);

// The HTML of the report of `run_dir`.
std::string render_report(const std::string& run_dir);

// Writes the report to out_path (empty: run_dir/report.html) and returns the path written.
std::string write_report(const std::string& run_dir, const std::string& out_path = "");

}  // namespace mm::train
