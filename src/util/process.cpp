#include "automl/process.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace automl {
namespace {

// Seconds since this process started, from the kernel's start time in clock ticks
// since boot (field 22 of /proc/self/stat) and the seconds since boot; -1 if unknown.
double seconds_since_start() {
  std::ifstream stat("/proc/self/stat"), up("/proc/uptime");
  std::string line;
  double uptime = 0;
  if (!std::getline(stat, line) || !(up >> uptime)) return -1;
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i < 22 && rest >> field; ++i) {
  }
  unsigned long long ticks = 0;
  const long hz = sysconf(_SC_CLK_TCK);
  if (!(rest >> ticks) || hz <= 0) return -1;
  return uptime - static_cast<double>(ticks) / static_cast<double>(hz);
}

}  // namespace

std::chrono::steady_clock::time_point process_start() {
  static const std::chrono::steady_clock::time_point start = [] {
    const auto now = std::chrono::steady_clock::now();
    const double s = seconds_since_start();
    // A reading that makes no sense (clock skew, a container's odd /proc) is ignored.
    if (s < 0 || s > 600) return now;
    return now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
  }();
  return start;
}

}  // namespace automl
