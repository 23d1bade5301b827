// Memory sizes as the user writes them (--memory, a request file's "memory:") and the
// process's own figures.
#include <gtest/gtest.h>

#include "automl/error.h"
#include "automl/memory.h"

namespace automl {
namespace {

TEST(MemorySize, ReadsTheUsualSpellingsInUnitsOf1024) {
  EXPECT_DOUBLE_EQ(parse_memory_size("4GB"), 4.0 * (1 << 30));
  EXPECT_DOUBLE_EQ(parse_memory_size("4g"), 4.0 * (1 << 30));
  EXPECT_DOUBLE_EQ(parse_memory_size("1.5GiB"), 1.5 * (1 << 30));
  EXPECT_DOUBLE_EQ(parse_memory_size("512MB"), 512.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(parse_memory_size("800 M"), 800.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(parse_memory_size("64KB"), 64.0 * 1024);
  EXPECT_DOUBLE_EQ(parse_memory_size("1T"), 1024.0 * (1 << 30));
  EXPECT_DOUBLE_EQ(parse_memory_size("1000000"), 1e6);
}

TEST(MemorySize, ABadValueNamesItselfAndTheAcceptedForms) {
  for (const char* bad : {"", "GB", "4XB", "-1GB", "0", "lots", "nanGB", "4GBB"}) {
    try {
      parse_memory_size(bad);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      EXPECT_EQ(std::string(e.what()), std::string("cannot read memory size \"") + bad +
                                           "\"; write it like 4GB, 512MB or 1.5G (K, M, G and T count in 1024s), "
                                           "above 0");
    }
  }
}

TEST(MemorySize, PrintsInTheLargestWholeUnit) {
  EXPECT_EQ(format_memory(1.5 * (1 << 30)), "1.5 GB");
  EXPECT_EQ(format_memory(640.0 * (1 << 20)), "640 MB");
  EXPECT_EQ(format_memory(12.0 * 1024), "12 KB");
}

TEST(MemorySize, TheProcessAndTheMachineAreRead) {
  EXPECT_GT(current_rss_bytes(), 0);
  EXPECT_GE(peak_rss_bytes(), current_rss_bytes());
  const MachineMemory m = machine_memory();
  EXPECT_GT(m.total_bytes, 0);
  const MemoryLimit d = default_memory_limit();
  EXPECT_GT(d.bytes, 0);
  EXPECT_LE(d.bytes, m.total_bytes);
  EXPECT_EQ(d.source.rfind("default: 75% of ", 0), 0u) << d.source;
}

}  // namespace
}  // namespace automl
