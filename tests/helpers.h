// Fixtures for the tests: synthetic tables with a known signal, temp folders,
// and a way to run the built program.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "automl/table.h"
#include "automl/stats.h"

namespace automl::testing {

inline std::filesystem::path source_dir() { return AUTOML_SOURCE_DIR; }
inline std::filesystem::path shared_datasets() { return source_dir() / ".." / "shared" / "datasets"; }

// A fresh empty folder under the system temp dir.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("automl-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A CSV with numeric x1, x2, a categorical colour, some missing cells and a target:
// "binary" (yes/no from a noisy linear rule), "multiclass" (three classes) or
// "regression". The signal is strong enough that any sound model beats a constant.
inline std::string make_csv(const std::string& task, int rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01(0.0, 1.0);
  const char* colours[] = {"red", "green", "blue"};
  std::ostringstream out;
  out << "x1,x2,colour,y\n";
  for (int i = 0; i < rows; ++i) {
    double x1 = n01(rng), x2 = n01(rng);
    int c = static_cast<int>(rng() % 3);
    double signal = 1.5 * x1 - x2 + (c == 0 ? 1.0 : c == 1 ? -0.5 : 0.0) + 0.5 * n01(rng);
    out << (i % 17 == 5 ? std::string() : std::to_string(x1)) << "," << x2 << ","
        << (i % 23 == 7 ? "" : colours[c]) << ",";
    if (task == "binary") out << (signal > 0 ? "yes" : "no");
    else if (task == "multiclass") out << (signal > 0.8 ? "high" : signal < -0.8 ? "low" : "mid");
    else out << 10.0 + 3.0 * signal;
    out << "\n";
  }
  return out.str();
}

// The signal of make_csv drawn as 6x6 grey images (pixel_R_C columns, 0-255) for
// the image families: the left half is bright by x1, the right half by x2.
inline std::string make_image_csv(const std::string& task, int rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01(0.0, 1.0);
  std::ostringstream out;
  for (int r = 0; r < 6; ++r) {
    for (int c = 0; c < 6; ++c) out << "pixel_" << r << "_" << c << ",";
  }
  out << "y\n";
  for (int i = 0; i < rows; ++i) {
    double x1 = n01(rng), x2 = n01(rng);
    double signal = 1.5 * x1 - x2 + 0.5 * n01(rng);
    for (int r = 0; r < 6; ++r) {
      for (int c = 0; c < 6; ++c) {
        double v = 128.0 + 50.0 * (c < 3 ? x1 : x2) + 10.0 * n01(rng);
        out << std::lround(std::clamp(v, 0.0, 255.0)) << ",";
      }
    }
    if (task == "binary") out << (signal > 0 ? "yes" : "no");
    else if (task == "multiclass") out << (signal > 0.8 ? "high" : signal < -0.8 ? "low" : "mid");
    else out << 10.0 + 3.0 * signal;
    out << "\n";
  }
  return out.str();
}

using automl::spearman;  // src/util/stats.h

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

// Runs a shell command line; its stdout (the caller redirects stderr) and exit code.
inline CommandResult run_cli_shell(const std::string& cmd) {
  CommandResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  return r;
}

// Runs the automl-gpt binary with `args` (a shell-quoted string), with `env`
// ("VAR=value ...") added to its environment. A process a signal killed exits 128 + N.
inline CommandResult run_cli(const std::string& args, const std::string& env = "") {
  return run_cli_shell((env.empty() ? std::string() : "env " + env + " ") + std::string(AUTOML_BINARY) + " " + args +
                       " 2>&1");
}

}  // namespace automl::testing
