#include <iostream>

#include "automl/error.h"
#include "automl/session.h"
#include "automl/worker.h"
#include "commands.h"

namespace automl::cli {

// A worker: trains the trials a study's coordinator queued in a shared run store.
Command add_worker(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "worker", "train the trials studies queue in a run store (started by `run --workers remote`), on any machine "
                "that reaches it");
  struct Flags {
    WorkerOptions o;
    double idle = -1;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--store", f->o.store,
                  "the study's run store: a postgresql://user@host:port/db URI (password from PGPASSWORD or ~/.pgpass), "
                  "or the SQLite file on this machine")
      ->required();
  cmd->add_option("--run", f->o.run_id, "work only on this run, and stop when it ends (default: any running run)");
  cmd->add_option("--threads", f->o.threads, "threads for training (default: all cores)");
  cmd->add_option("--idle-exit", f->idle,
                  "without --run: stop after this many seconds with nothing to claim (default: never)");
  cmd->add_flag("-q,--quiet", f->o.quiet, "no progress lines on stderr");
  return {cmd, [f] {
            f->o.threads = threads_or_all(f->o.threads);
            f->o.idle_exit_s = f->idle;
            handle_interrupts();  // Ctrl-C or SIGTERM: the trial in hand stops at its next round and is recorded
            const int n = run_worker(f->o, std::cerr, &Session::stop_flag());
            std::cout << n << " trials recorded\n";
            return 0;
          }};
}

}  // namespace automl::cli
