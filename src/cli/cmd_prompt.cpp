#include <algorithm>
#include <filesystem>
#include <vector>
#include <fstream>
#include <iostream>

#include "automl/error.h"
#include "commands.h"

namespace automl::cli {

Command add_prompt(CLI::App& app) {
  auto* cmd = app.add_subcommand("prompt", "show the prompt paragraph a run composed from its Data and Model Cards");
  auto run = std::make_shared<std::string>();
  cmd->add_option("run", *run, "a run folder (the one `automl-gpt run` printed); for a request, every task's prompt")->required();
  return {cmd, [run] {
            namespace fs = std::filesystem;
            auto path = fs::path(*run) / "prompt.md";
            if (!fs::exists(*run)) throw_not_found("no such run folder: " + *run);
            if (fs::exists(path)) {
              std::ifstream in(path);
              std::cout << in.rdbuf();
              return 0;
            }
            // A request's folder: one prompt per task, in name order.
            std::vector<fs::path> tasks;
            if (fs::is_directory(fs::path(*run) / "tasks")) {
              for (const auto& e : fs::directory_iterator(fs::path(*run) / "tasks")) {
                if (fs::exists(e.path() / "prompt.md")) tasks.push_back(e.path());
              }
            }
            if (tasks.empty()) throw_not_found("run folder " + *run + " has no prompt.md");
            std::sort(tasks.begin(), tasks.end());
            for (const auto& t : tasks) {
              std::cout << "<!-- task " << t.filename().string() << " -->\n";
              std::ifstream in(t / "prompt.md");
              std::cout << in.rdbuf() << "\n";
            }
            return 0;
          }};
}

}  // namespace automl::cli
