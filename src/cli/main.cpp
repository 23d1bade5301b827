// automl-gpt: the command-line program. Every error reaches the user as one line
// and an exit code by category (2 invalid input, 3 not found, 4 unsupported,
// 5 i/o, 6 budget, 7 external service, 70 internal).
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/networks.h"
#include "commands.h"

namespace {

int exit_code(automl::ErrorKind kind) {
  switch (kind) {
    case automl::ErrorKind::kInvalidInput: return 2;
    case automl::ErrorKind::kNotFound: return 3;
    case automl::ErrorKind::kUnsupported: return 4;
    case automl::ErrorKind::kIo: return 5;
    case automl::ErrorKind::kBudget: return 6;
    case automl::ErrorKind::kExternal: return 7;
    case automl::ErrorKind::kInternal: return 70;
  }
  return 1;
}

int run_command(int argc, char** argv) {
  CLI::App app{"automl-gpt: automatic machine learning on your CSV files, offline.\n"
               "A planner reads the Data Card and the Model Cards, searches within your time budget,\n"
               "and saves the best pipeline with its training logs.",
               "automl-gpt"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "automl-gpt 0.1.0");
  const std::vector<automl::cli::Command> commands = {
      automl::cli::add_run(app),     automl::cli::add_card(app),  automl::cli::add_models(app),
      automl::cli::add_predict(app), automl::cli::add_bench(app),   automl::cli::add_prompt(app),
      automl::cli::add_learn(app),   automl::cli::add_similar(app), automl::cli::add_resume(app),
      automl::cli::add_serve(app),
      automl::cli::add_report(app),
      automl::cli::add_explain(app),
      automl::cli::add_worker(app),
      automl::cli::add_status(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto& c : commands) {
      if (c.app->parsed()) return c.run();
    }
    return 1;
  } catch (const automl::Error& e) {
    std::cerr << "automl-gpt: error: " << e.what() << "\n";
    return exit_code(e.kind());
  } catch (const std::filesystem::filesystem_error& e) {
    // A folder or file the system refused (read-only, no such parent, full disk): what
    // was asked, the path and the system's reason, as an i/o error.
    std::string what = e.what();
    const std::string prefix = "filesystem error: ";
    if (what.rfind(prefix, 0) == 0) what = what.substr(prefix.size());
    what = what.substr(0, what.find(": "));
    std::cerr << "automl-gpt: error: " << what << " " << e.path1().string() << ": " << e.code().message() << "\n";
    return exit_code(automl::ErrorKind::kIo);
  } catch (const std::exception& e) {
    std::cerr << "automl-gpt: internal error: " << e.what() << "\n";
    return 70;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int code = run_command(argc, argv);
  automl::wait_for_networks();  // a run that ended while the networks' module was loading
  return code;
}
