#include <filesystem>
#include <fstream>
#include <iostream>

#include "automl/error.h"
#include "cli/commands.h"

namespace automl::cli {

Command add_prompt(CLI::App& app) {
  auto* cmd = app.add_subcommand("prompt", "show the prompt paragraph a run composed from its Data and Model Cards");
  auto run = std::make_shared<std::string>();
  cmd->add_option("run", *run, "a run folder (the one `automl-gpt run` printed)")->required();
  return {cmd, [run] {
            auto path = std::filesystem::path(*run) / "prompt.md";
            if (!std::filesystem::exists(*run)) throw_not_found("no such run folder: " + *run);
            if (!std::filesystem::exists(path)) throw_not_found("run folder " + *run + " has no prompt.md");
            std::ifstream in(path);
            std::cout << in.rdbuf();
            return 0;
          }};
}

}  // namespace automl::cli
