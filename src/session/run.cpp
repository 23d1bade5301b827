#include "automl/run.h"

#include <sys/resource.h>

#include <chrono>
#include <random>

#include <fmt/format.h>

#include "automl/error.h"

namespace automl {

double peak_memory_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

double parse_duration(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw_invalid("cannot read duration \"" + text + "\"; write it like 60s, 2m or 1h");
  }
  std::string unit = text.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "m" || unit == "min") scale = 60;
  else if (unit == "h") scale = 3600;
  if (scale == 0 || !(v > 0)) throw_invalid("cannot read duration \"" + text + "\"; write it like 60s, 2m or 1h");
  return v * scale;
}

std::string new_run_id(uint64_t seed) {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  std::random_device rd;
  return fmt::format("{}-{:04x}", buf, (rd() ^ seed) & 0xffff);
}

}  // namespace automl
