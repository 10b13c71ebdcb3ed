#include "train/report_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace mm::train::report {

namespace {

// After Heckbert's "nice numbers" (Graphics Gems, 1990): the 1, 2, 5 or 10 × 10^k nearest x.
double nice_num(double x) {
  const double e = std::floor(std::log10(x)), f = x / std::pow(10.0, e);
  const double nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nf * std::pow(10.0, e);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}
std::string fmt_prec(const char* f, int prec, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, prec, v);
  return buf;
}

// "1.50e-03" → "1.5e-3".
std::string compact_sci(double v, int prec) {
  std::string s = fmt_prec("%.*e", prec, v);
  const size_t e = s.find('e');
  std::string mant = s.substr(0, e), exp = s.substr(e + 1);
  if (mant.find('.') != std::string::npos) {
    while (mant.back() == '0') mant.pop_back();
    if (mant.back() == '.') mant.pop_back();
  }
  std::string sign = exp[0] == '-' ? "-" : "";
  exp.erase(0, 1);
  exp.erase(0, std::min(exp.find_first_not_of('0'), exp.size() - 1));
  mant.append("e").append(sign).append(exp);
  return mant;
}

// Prints a number for an SVG attribute: two decimals are finer than a pixel.
std::string px(double v) { return fmt("%.2f", v); }

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '"': out.append("&quot;"); break;
      case '\'': out.append("&#39;"); break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target, double* step) {
  if (!(hi > lo)) {  // one value (or none): a small range around it
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double d = nice_num((hi - lo) / std::max(1, target));
  const double first = std::floor(lo / d) * d, last = std::ceil(hi / d) * d;
  std::vector<double> ticks;
  // Rounded to the step's multiple so labels do not print 0.30000000000000004.
  for (double k = std::round(first / d); k <= std::round(last / d) + 0.5; k += 1) ticks.push_back(k * d);
  *step = d;
  return ticks;
}

std::string format_tick(double v, double step) {
  if (std::fabs(v) < step * 1e-6) return "0";
  const double a = std::fabs(v);
  if (step >= 1) {
    if (a >= 1e6) return fmt("%.4g", v / 1e6).append("M");
    if (a >= 1e4) return fmt("%.4g", v / 1e3).append("k");
    return fmt("%.0f", v);
  }
  const int decimals = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  if (decimals <= 3 || a >= 1) return fmt_prec("%.*f", decimals, v);
  const int digits = static_cast<int>(std::floor(std::log10(a) + 1e-9) - std::floor(std::log10(step) + 1e-9));
  return compact_sci(v, std::max(0, digits));
}

std::string svg_line_chart(const ChartSpec& c) {
  // Layout: title on top; y tick labels and the rotated y label at the left; x ticks, the x label and
  // the legend (one row) below the plot.
  const bool legend = c.series.size() > 1;
  const double left = 70, right = 18, top = 30, bottom = legend ? 68 : 46;
  const double pw = c.width - left - right, ph = c.height - top - bottom;

  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  for (const ChartSeries& s : c.series) {
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      xlo = std::min(xlo, x), xhi = std::max(xhi, x), ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    }
  }
  const bool empty = !std::isfinite(xlo);
  if (empty) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  if (c.x_from_zero) xlo = std::min(xlo, 0.0);
  xhi = std::max(xhi, c.x_reach);
  if (c.y_from_zero) ylo = std::min(ylo, 0.0), yhi = std::max(yhi, 0.0);

  double xstep = 1, ystep = 1;
  std::vector<double> xt = nice_ticks(xlo, xhi, 6, &xstep), yt = nice_ticks(ylo, yhi, 5, &ystep);
  if (c.x_integer && xstep < 1) {  // a few steps: every integer, no "2.5"
    xt.clear();
    for (double v = std::floor(xlo); v <= std::max(std::ceil(xhi), std::floor(xlo) + 1); v += 1) xt.push_back(v);
    xstep = 1;
  }
  const double x0 = xt.front(), x1 = xt.back(), y0 = yt.front(), y1 = yt.back();
  const auto X = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  const auto Y = [&](double y) { return top + ph - (y - y0) / (y1 - y0) * ph; };

  std::string s;
  // No xmlns: inline SVG in HTML needs none, and the report then names no URL at all.
  s.append("<svg class=\"chart\" width=\"").append(std::to_string(c.width))
      .append("\" height=\"").append(std::to_string(c.height)).append("\" viewBox=\"0 0 ")
      .append(std::to_string(c.width)).append(" ").append(std::to_string(c.height))
      .append("\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n");
  s.append("<title>").append(html_escape(c.title)).append("</title>\n");
  s.append("<text x=\"").append(px(left + pw / 2)).append("\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" "
           "font-weight=\"bold\">").append(html_escape(c.title)).append("</text>\n");
  // Grid and ticks.
  for (const double v : yt) {
    const std::string y = px(Y(v));
    s.append("<line x1=\"").append(px(left)).append("\" x2=\"").append(px(left + pw)).append("\" y1=\"").append(y)
        .append("\" y2=\"").append(y).append("\" stroke=\"#e4e4e4\"/>");
    s.append("<text x=\"").append(px(left - 6)).append("\" y=\"").append(y).append("\" dy=\"0.32em\" "
             "text-anchor=\"end\">").append(format_tick(v, ystep)).append("</text>\n");
  }
  for (const double v : xt) {
    const std::string x = px(X(v));
    s.append("<line x1=\"").append(x).append("\" x2=\"").append(x).append("\" y1=\"").append(px(top))
        .append("\" y2=\"").append(px(top + ph + 4)).append("\" stroke=\"#e4e4e4\"/>");
    s.append("<text x=\"").append(x).append("\" y=\"").append(px(top + ph + 17)).append("\" text-anchor=\"middle\">")
        .append(format_tick(v, xstep)).append("</text>\n");
  }
  // Axes on top of the grid.
  s.append("<path d=\"M").append(px(left)).append(" ").append(px(top)).append(" V").append(px(top + ph))
      .append(" H").append(px(left + pw)).append("\" fill=\"none\" stroke=\"#333\"/>\n");
  s.append("<text x=\"").append(px(left + pw / 2)).append("\" y=\"").append(px(top + ph + 34))
      .append("\" text-anchor=\"middle\" font-size=\"12\">").append(html_escape(c.x_label)).append("</text>\n");
  s.append("<text transform=\"translate(14 ").append(px(top + ph / 2)).append(") rotate(-90)\" "
           "text-anchor=\"middle\" font-size=\"12\">").append(html_escape(c.y_label)).append("</text>\n");

  if (empty) {
    s.append("<text class=\"empty\" x=\"").append(px(left + pw / 2)).append("\" y=\"").append(px(top + ph / 2))
        .append("\" text-anchor=\"middle\" fill=\"#888\" font-size=\"13\">").append(html_escape(c.empty_note))
        .append("</text>\n");
  }
  for (const ChartSeries& series : c.series) {
    std::string d;
    int n = 0;
    for (const auto& [x, y] : series.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      d.append(n++ == 0 ? "M" : " L").append(px(X(x))).append(" ").append(px(Y(y)));
    }
    if (n == 0) continue;
    s.append("<path class=\"series\" d=\"").append(d).append("\" fill=\"none\" stroke=\"").append(html_escape(series.color))
        .append("\" stroke-width=\"1.8\"").append(series.dashed ? " stroke-dasharray=\"5 3\"" : "").append("/>\n");
    // Markers where points are few (evaluations), so a single point is still visible.
    if (n <= 40) {
      for (const auto& [x, y] : series.points) {
        if (!std::isfinite(x) || !std::isfinite(y)) continue;
        s.append("<circle cx=\"").append(px(X(x))).append("\" cy=\"").append(px(Y(y))).append("\" r=\"2.6\" fill=\"")
            .append(html_escape(series.color)).append("\"/>");
      }
      s.append("\n");
    }
  }
  if (legend) {
    const double item = pw / static_cast<double>(c.series.size()), ly = c.height - 12;
    for (size_t i = 0; i < c.series.size(); ++i) {
      const ChartSeries& series = c.series[i];
      const double lx = left + item * static_cast<double>(i);
      s.append("<line x1=\"").append(px(lx)).append("\" x2=\"").append(px(lx + 20)).append("\" y1=\"").append(px(ly - 4))
          .append("\" y2=\"").append(px(ly - 4)).append("\" stroke=\"").append(html_escape(series.color))
          .append("\" stroke-width=\"2\"").append(series.dashed ? " stroke-dasharray=\"5 3\"" : "").append("/>");
      s.append("<text x=\"").append(px(lx + 24)).append("\" y=\"").append(px(ly)).append("\">")
          .append(html_escape(series.label)).append("</text>\n");
    }
  }
  s.append("</svg>\n");
  return s;
}

}  // namespace mm::train::report
