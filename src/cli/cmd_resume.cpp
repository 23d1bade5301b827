#include <csignal>
#include <iostream>

#include <unistd.h>

#include "automl/error.h"
#include "automl/run.h"
#include "automl/session.h"
#include "commands.h"

namespace automl::cli {
namespace {

void on_interrupt(int) {
  if (Session::stop_flag().exchange(true)) _exit(130);  // the second Ctrl-C: at once, resumable
  static const char msg[] =
      "\ninterrupted: stopping the search, then refitting and saving the best so far (Ctrl-C again quits at "
      "once; `automl-gpt resume` continues)\n";
  [[maybe_unused]] auto n = write(STDERR_FILENO, msg, sizeof msg - 1);
}

}  // namespace

void handle_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int finish_command(const nlohmann::json& summary, bool json) {
  if (json) std::cout << summary.dump(2) << "\n";
  else std::cout << summary.at("run_folder").get<std::string>() << "\n";
  return 0;
}

Command add_resume(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "resume", "continue a run that was killed or interrupted: its finished trials are read back from the store, "
                "not trained again, and the run ends with a complete folder");
  struct Flags {
    std::string dir;
    std::string budget;
    bool quiet = false;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("run", f->dir, "the run folder (its request.json names the run and its store)")->required();
  cmd->add_option("-b,--budget", f->budget,
                  "a new wall-clock budget for the rest of the run: 60s, 5m, 1h (default: what the first process had "
                  "not used)");
  cmd->add_flag("-q,--quiet", f->quiet, "no progress lines on stderr");
  cmd->add_flag("--json", f->json, "print summary.json to stdout when done");
  return {cmd, [f] {
            const double budget = f->budget.empty() ? 0.0 : parse_duration(f->budget);
            handle_interrupts();
            auto session = Session::resume(f->dir, std::cerr, budget, f->quiet);
            return finish_command(session->run(), f->json);
          }};
}

}  // namespace automl::cli
