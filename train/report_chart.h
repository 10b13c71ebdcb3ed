// Inline SVG line charts for the run report (train/report.h): hand-drawn axes with "nice" ticks
// (1, 2, 5 × 10^k), grid lines, axis labels and a legend. Static markup only — no script, no external
// font or stylesheet — so the report stays one self-contained file.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mm::train::report {

struct ChartSeries {
  std::string label;
  std::string color = "#1f77b4";  // any CSS colour
  bool dashed = false;
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite points are skipped
};

struct ChartSpec {
  std::string title, x_label, y_label;
  std::vector<ChartSeries> series;
  bool x_from_zero = true;   // training curves read best from step 0
  double x_reach = 0;        // the x axis extends at least to here: one page's charts share a step range
  bool x_integer = true;     // steps: no fractional ticks
  bool y_from_zero = false;  // recalls: include 0 so the bars of progress are honest
  std::string empty_note = "no data";  // drawn in the plot area when no series has a point
  int width = 560, height = 320;
};

std::string svg_line_chart(const ChartSpec& spec);

// Axis ticks covering [lo, hi] with about `target` intervals, at multiples of a 1/2/5 × 10^k step; the
// first tick is <= lo and the last >= hi. lo == hi is widened. *step receives the spacing.
std::vector<double> nice_ticks(double lo, double hi, int target, double* step);
// A tick label with just the digits the spacing needs: 0.25 → "0.25", 1500 → "1500", 0.0005 → "5e-4",
// 20000 → "20k", 2500000 → "2.5M".
std::string format_tick(double v, double step);
// Text for HTML/SVG content and attribute values: & < > " ' escaped.
std::string html_escape(std::string_view s);

}  // namespace mm::train::report
