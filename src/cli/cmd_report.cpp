#include <algorithm>
#include <filesystem>
#include <iostream>
#include <vector>

#include "automl/error.h"
#include "automl/report.h"
#include "commands.h"

namespace automl::cli {

Command add_report(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "report", "write report.html into a run folder: the Data Card, the plan, the leaderboard, predicted against real "
                "training logs, the search over time, the test set, feature importance, the ensemble and the LLM's calls "
                "(one self-contained file that opens offline)");
  auto run = std::make_shared<std::string>();
  cmd->add_option("run", *run, "a run folder (the one `automl-gpt run` printed); for a request, every task's folder")
      ->required();
  return {cmd, [run] {
            namespace fs = std::filesystem;
            const fs::path dir(*run);
            if (!fs::is_directory(dir)) throw_not_found("no such run folder: " + *run);
            std::vector<fs::path> folders;
            if (fs::exists(dir / "summary.json") || !fs::is_directory(dir / "tasks")) {
              folders.push_back(dir);
            } else {  // a request's folder: one report per task, in name order
              for (const auto& e : fs::directory_iterator(dir / "tasks")) {
                if (fs::exists(e.path() / "summary.json")) folders.push_back(e.path());
              }
              std::sort(folders.begin(), folders.end());
            }
            for (const auto& f : folders) std::cout << write_report(f).string() << "\n";
            return 0;
          }};
}

}  // namespace automl::cli
