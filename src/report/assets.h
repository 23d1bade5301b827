// The files report.html is made of, embedded at build time (cmake/embed.cmake writes
// their bytes into report_assets.cpp): the page template, its script, and Chart.js.
#pragma once

#include <string_view>

namespace automl::report_assets {

extern const std::string_view kTemplate;  // src/report/assets/report.html
extern const std::string_view kScript;    // src/report/assets/report.js
extern const std::string_view kChartJs;   // third_party/chartjs/chart.umd.min.js

}  // namespace automl::report_assets
