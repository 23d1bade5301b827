#include "automl/memory.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "automl/error.h"

namespace automl {
namespace {

// The value of `key` ("MemAvailable:") in a /proc file of "Key:  123 kB" lines, in bytes.
double proc_kb_field(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    std::istringstream rest(line.substr(key.size()));
    double kb = 0;
    return rest >> kb ? kb * 1024.0 : 0.0;
  }
  return 0;
}

// A cgroup file holding one number of bytes, or "max"; 0 when absent or "max".
double cgroup_bytes(const char* path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return 0;
  try {
    return std::stod(word);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

MachineMemory machine_memory() {
  MachineMemory m;
  m.total_bytes = proc_kb_field("/proc/meminfo", "MemTotal:");
  m.available_bytes = proc_kb_field("/proc/meminfo", "MemAvailable:");
  m.cgroup_limit_bytes = cgroup_bytes("/sys/fs/cgroup/memory.max");
  m.cgroup_used_bytes = cgroup_bytes("/sys/fs/cgroup/memory.current");
  return m;
}

MemoryLimit default_memory_limit() {
  const MachineMemory m = machine_memory();
  double free = m.available_bytes > 0 ? m.available_bytes : m.total_bytes;
  std::string of = fmt::format("the {} available", format_memory(free));
  if (m.cgroup_limit_bytes > 0) {
    const double left = std::max(0.0, m.cgroup_limit_bytes - m.cgroup_used_bytes);
    if (free <= 0 || left < free) {
      free = left;
      of = fmt::format("the {} the cgroup's memory.max of {} leaves", format_memory(left),
                       format_memory(m.cgroup_limit_bytes));
    }
  }
  if (free <= 0) free = 4.0 * (1 << 30);  // nothing readable: assume a small machine
  return {kDefaultMemoryShare * free,
          fmt::format("default: {:.0f}% of {}", kDefaultMemoryShare * 100, of)};
}

double parse_memory_size(const std::string& text) {
  auto bad = [&] {
    throw_invalid("cannot read memory size \"" + text +
                  "\"; write it like 4GB, 512MB or 1.5G (K, M, G and T count in 1024s), above 0");
  };
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    bad();
  }
  std::string unit;
  for (char c : text.substr(used)) {
    if (c != ' ') unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (unit.size() > 1 && unit.back() == 'B') unit.pop_back();
  if (unit.size() > 1 && unit.back() == 'I') unit.pop_back();
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "K") scale = 1024.0;
  else if (unit == "M") scale = 1024.0 * 1024;
  else if (unit == "G") scale = 1024.0 * 1024 * 1024;
  else if (unit == "T") scale = 1024.0 * 1024 * 1024 * 1024;
  if (scale == 0 || !(v > 0) || !std::isfinite(v)) bad();
  return v * scale;
}

std::string format_memory(double bytes) {
  const double kb = 1024.0, mb = kb * 1024, gb = mb * 1024;
  if (bytes >= gb) return fmt::format("{:.1f} GB", bytes / gb);
  if (bytes >= mb) return fmt::format("{:.0f} MB", bytes / mb);
  return fmt::format("{:.0f} KB", bytes / kb);
}

double current_rss_bytes() { return proc_kb_field("/proc/self/status", "VmRSS:"); }
double peak_rss_bytes() { return proc_kb_field("/proc/self/status", "VmHWM:"); }

}  // namespace automl
