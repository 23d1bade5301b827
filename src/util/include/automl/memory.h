// Memory: how much the machine has, how much this process holds, and the limit a run
// keeps to (`run --memory`).
//
//   MemoryLimit limit = default_memory_limit();   // or {parse_memory_size("4GB"), "--memory 4GB"}
//   if (current_rss_bytes() + need > limit.bytes) ...
#pragma once

#include <string>

namespace automl {

// The share of the machine's free memory a run may use when no --memory is given:
// of MemAvailable in /proc/meminfo when the run starts, or of what the cgroup's
// memory.max leaves (memory.max less memory.current) when that is smaller.
constexpr double kDefaultMemoryShare = 0.75;

// What /proc/meminfo and the cgroup (v2, /sys/fs/cgroup) say; 0 where unknown or unset.
struct MachineMemory {
  double total_bytes = 0;          // MemTotal
  double available_bytes = 0;      // MemAvailable
  double cgroup_limit_bytes = 0;   // memory.max ("max" = 0: no limit)
  double cgroup_used_bytes = 0;    // memory.current
};
MachineMemory machine_memory();

// A memory limit in bytes and where it came from, in words for the Data Card and the log.
struct MemoryLimit {
  double bytes = 0;
  std::string source;
};
// kDefaultMemoryShare of the memory free for this process now (see above).
MemoryLimit default_memory_limit();

// Parses "4GB", "512MB", "1.5G", "2GiB", "800M", "64KB" or a plain number of bytes; K, M,
// G and T count in 1024s, with or without "B" or "iB", any case. Throws kInvalidInput
// naming the text and the accepted forms (a value of 0 or less is not a limit).
double parse_memory_size(const std::string& text);

// "3.2 GB", "640 MB", "12 KB": one decimal above 1 GB, whole numbers below.
std::string format_memory(double bytes);

// This process's resident memory now (VmRSS) and its peak so far (VmHWM), from
// /proc/self/status; 0 if unreadable.
double current_rss_bytes();
double peak_rss_bytes();

}  // namespace automl
