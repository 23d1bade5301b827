// The subcommands of automl-gpt. Each file adds one subcommand to the app and
// returns the action to run when it is chosen.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "automl/run.h"
#include "automl/table.h"

namespace automl::cli {

using Action = std::function<int()>;

struct Command {
  CLI::App* app;  // the subcommand
  Action run;     // what it does once its flags are parsed
};

// Flags shared by every command that reads a CSV file.
struct ReadFlags {
  std::string missing;               // comma-separated tokens, "" = keep the defaults
  bool missing_set = false;
  std::vector<std::string> types;    // COL=TYPE
  std::string delimiter;

  void add_to(CLI::App* cmd);
  CsvOptions options() const;
};

// A run of a dataset folder in the benchmark format (train.csv, card.json naming the
// target, test.csv): its files, its name from the card, and only empty cells missing.
// Throws kNotFound naming the folder and the file it lacks.
RunRequest dataset_folder_request(const std::filesystem::path& dir, bool need_test);

// --threads N, or every core when N <= 0.
int threads_or_all(int n);

Command add_run(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_card(CLI::App& app);
Command add_models(CLI::App& app);
Command add_predict(CLI::App& app);
Command add_explain(CLI::App& app);
Command add_prompt(CLI::App& app);
Command add_learn(CLI::App& app);
Command add_similar(CLI::App& app);
Command add_resume(CLI::App& app);
Command add_serve(CLI::App& app);
Command add_report(CLI::App& app);
Command add_worker(CLI::App& app);
Command add_status(CLI::App& app);

// Ctrl-C (or SIGTERM) once stops the search and the run refits and saves the best so far;
// twice exits at once, leaving a run `automl-gpt resume` continues.
void handle_interrupts();
// Prints the run folder, or summary.json with --json; returns the exit code.
int finish_command(const nlohmann::json& summary, bool json);

}  // namespace automl::cli
