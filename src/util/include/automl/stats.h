// Small statistics shared by the benchmarks and the tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace automl {

// Ranks from 0, ties sharing the average of their positions.
inline std::vector<double> average_ranks(const std::vector<double>& a) {
  std::vector<std::size_t> o(a.size());
  for (std::size_t i = 0; i < o.size(); ++i) o[i] = i;
  std::sort(o.begin(), o.end(), [&](std::size_t i, std::size_t j) { return a[i] < a[j]; });
  std::vector<double> r(a.size());
  for (std::size_t i = 0; i < o.size();) {
    std::size_t j = i;
    while (j + 1 < o.size() && a[o[j + 1]] == a[o[i]]) ++j;
    for (std::size_t k = i; k <= j; ++k) r[o[k]] = (static_cast<double>(i) + static_cast<double>(j)) / 2.0;
    i = j + 1;
  }
  return r;
}

// Spearman's rank correlation (average ranks for ties); NaN when either side is constant.
inline double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  const auto rx = average_ranks(x), ry = average_ranks(y);
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    mx += rx[i];
    my += ry[i];
  }
  mx /= static_cast<double>(rx.size());
  my /= static_cast<double>(ry.size());
  double c = 0, vx = 0, vy = 0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    c += (rx[i] - mx) * (ry[i] - my);
    vx += (rx[i] - mx) * (rx[i] - mx);
    vy += (ry[i] - my) * (ry[i] - my);
  }
  return vx > 0 && vy > 0 ? c / std::sqrt(vx * vy) : std::nan("");
}

}  // namespace automl
