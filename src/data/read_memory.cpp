#include "automl/read_memory.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

namespace automl {
namespace {

// Bytes the reader holds at its peak for each cell, beyond the mapped file: a double or
// a category code in the chunk being parsed and again in the column being assembled,
// with the vectors' spare capacity. Calibrated on 2026-11-30 with `automl-gpt card` on
// generated tables of 1,000,000 and 5,000,000 rows x 11 columns (8 numeric, 3 short
// categorical; 70 and 352 MB files): peak resident memory less the program's resident
// memory at start, less the file, per cell (bench/memory.py, results in
// bench/results/memory-2026-11-30.md).
constexpr double kReadBytesPerCell = 24.0;
// The file is mapped and read whole: its pages count as resident while it is parsed.
constexpr double kReadFileShare = 1.0;

}  // namespace

double estimate_read_bytes(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return 0;
  const double size = static_cast<double>(std::filesystem::file_size(path, ec));
  if (ec || size <= 0) return 0;
  // Cells per byte from the first megabyte: delimiters and line ends each close a cell.
  std::ifstream in(path, std::ios::binary);
  std::string head(static_cast<std::size_t>(std::min(size, 1024.0 * 1024.0)), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
  if (head.empty()) return 0;
  const char delimiter = std::count(head.begin(), head.end(), '\t') > std::count(head.begin(), head.end(), ',') ? '\t' : ',';
  const double cells = static_cast<double>(std::count(head.begin(), head.end(), delimiter) +
                                           std::count(head.begin(), head.end(), '\n') + 1);
  const double cells_in_file = cells / static_cast<double>(head.size()) * size;
  return kReadFileShare * size + kReadBytesPerCell * cells_in_file;
}

}  // namespace automl
