#include <pthread.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>
#include <thread>

#include "automl/serve.h"
#include "commands.h"

namespace automl::cli {

namespace {

// SIGINT and SIGTERM, blocked in every thread so that one thread can wait for them.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

Command add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve",
      "serve the saved model of a run over HTTP: POST /predict (JSON rows or CSV), GET /model, GET /health");
  struct Flags {
    std::string run;
    ServeOptions options;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("run", f->run, "a run folder (the one `automl-gpt run` printed) or its model/ folder")->required();
  cmd->add_option("--host", f->options.host,
                  "address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for every interface)");
  cmd->add_option("-p,--port", f->options.port, "port to listen on (default 8080; 0 picks a free port and prints it)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--workers", f->options.workers,
                  "threads answering requests at once (default 16); an open keep-alive connection holds one")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--max-body", f->options.max_body_bytes,
                  "largest request body accepted, e.g. 16MB or 512KB (default 16MB); larger ones get 413")
      ->transform(CLI::AsSizeValue(false));
  return {cmd, [f] {
            // Blocked before any thread starts, so every thread inherits the mask and
            // the signals wait for the watcher below.
            const sigset_t signals = stop_signals();
            pthread_sigmask(SIG_BLOCK, &signals, nullptr);
            std::signal(SIGPIPE, SIG_IGN);  // a client that hung up is an error on its socket, not a crash

            auto model = std::make_shared<const ModelService>(f->run);
            Server server(model, f->options);
            server.bind();
            std::cout << "automl-gpt: serving " << f->run << " at " << server.url() << std::endl;
            std::cerr << "automl-gpt: " << server.url() << "/predict (POST), /model, /health; " << f->options.workers
                      << " workers; Ctrl-C or SIGTERM stops it\n";

            std::atomic<bool> done{false};
            std::thread watcher([&] {
              const timespec tick{0, 200'000'000};
              while (!done) {
                if (sigtimedwait(&signals, nullptr, &tick) > 0) {
                  server.stop();
                  return;
                }
              }
            });
            try {
              server.listen();
            } catch (...) {
              done = true;
              watcher.join();
              throw;
            }
            done = true;
            watcher.join();
            std::cerr << "automl-gpt: stopped after " << server.requests() << " requests (" << server.failed_requests()
                      << " refused or failed)\n";
            return 0;
          }};
}

}  // namespace automl::cli
