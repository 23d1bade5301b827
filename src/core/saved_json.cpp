#include "automl/saved_json.h"

#include <cmath>
#include <string>

#include "automl/error.h"

namespace automl {

int64_t saved_int(const nlohmann::json& v, int64_t lo, int64_t hi, std::string_view what) {
  bool ok = false;
  int64_t out = 0;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    ok = u <= static_cast<uint64_t>(INT64_MAX) && static_cast<int64_t>(u) >= lo && static_cast<int64_t>(u) <= hi;
    out = ok ? static_cast<int64_t>(u) : 0;
  } else if (v.is_number_integer()) {
    out = v.get<int64_t>();
    ok = out >= lo && out <= hi;
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    ok = std::floor(d) == d && std::abs(d) < 9e18 && d >= static_cast<double>(lo) && d <= static_cast<double>(hi);
    out = ok ? static_cast<int64_t>(d) : 0;
  }
  if (!ok) {
    std::string shown = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (shown.size() > 40) shown = shown.substr(0, 40) + "...";
    throw_invalid(std::string(what) + " is damaged: expected a whole number from " + std::to_string(lo) + " to " +
                  std::to_string(hi) + ", got " + shown);
  }
  return out;
}

}  // namespace automl
