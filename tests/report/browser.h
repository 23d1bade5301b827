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
  const CommandResult r = run_cli_shell(cmd);
  return {r.exit_code, r.out};
}

}  // namespace automl::testing
