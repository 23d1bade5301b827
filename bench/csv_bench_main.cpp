// Times automl::read_csv on one file and prints one JSON line:
//
//   csv_bench FILE [--repeat N] [--threads N]
//   {"file": "...", "rows": 1000000, "columns": 20, "numeric": 14, "categorical": 6,
//    "text": 0, "missing": 123, "runs_s": [0.51, 0.49, 0.50], "best_s": 0.49}
//
// bench/csv_bench.py runs it next to pandas.read_csv.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "automl/error.h"
#include "automl/table.h"

namespace {

int usage() {
  std::cerr << "usage: csv_bench FILE [--repeat N] [--threads N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int repeat = 3;
  automl::CsvOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--repeat" || arg == "--threads") && i + 1 < argc) {
      int value = std::atoi(argv[++i]);
      if (arg == "--repeat") repeat = std::max(1, value);
      else options.n_threads = std::max(0, value);
    } else if (!arg.empty() && arg[0] != '-' && path.empty()) {
      path = arg;
    } else {
      return usage();
    }
  }
  if (path.empty()) return usage();

  try {
    std::vector<double> runs;
    automl::Table table;
    for (int r = 0; r < repeat; ++r) {
      auto start = std::chrono::steady_clock::now();
      table = automl::read_csv(path, options);
      runs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::size_t by_type[3] = {0, 0, 0};
    std::size_t missing = 0;
    for (const auto& c : table.columns) {
      ++by_type[static_cast<int>(c.type)];
      missing += c.n_missing;
    }
    std::printf("{\"file\": \"%s\", \"rows\": %zu, \"columns\": %zu, \"numeric\": %zu, \"categorical\": %zu, "
                "\"text\": %zu, \"missing\": %zu, \"runs_s\": [",
                path.c_str(), table.n_rows, table.columns.size(), by_type[0], by_type[1], by_type[2], missing);
    for (std::size_t i = 0; i < runs.size(); ++i) std::printf("%s%.4f", i ? ", " : "", runs[i]);
    std::printf("], \"best_s\": %.4f}\n", *std::min_element(runs.begin(), runs.end()));
  } catch (const automl::Error& e) {
    std::cerr << "csv_bench: " << automl::error_kind_name(e.kind()) << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
