// Opens a report.html in headless Chromium through tests/report/check_in_browser.py: exit
// 0 when the page is whole (no console error, no request, every plot drawn with data
// points, the expected plots there), 1 with the problems listed, 77 when no Chromium is
// installed (the caller skips).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "helpers.h"

namespace automl::testing {

struct BrowserVerdict {
  int exit_code = -1;
  std::string out;  // the verdict as JSON, or what went wrong
};

inline BrowserVerdict open_in_browser(const std::filesystem::path& page, const std::string& expect_plots,
                                      const std::string& extra = "") {
  const std::string cmd = "python3 " + (source_dir() / "tests" / "report" / "check_in_browser.py").string() + " " +
                          page.string() + " --expect '" + expect_plots + "' " + extra + " 2>&1";
  BrowserVerdict v;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return v;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) v.out.append(buf, n);
  const int status = pclose(pipe);
  v.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return v;
}

}  // namespace automl::testing
