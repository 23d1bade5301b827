// `automl-gpt serve` as a child process on a free port, and a client's two calls, for
// the tests that talk to the server as a user's program would (the bad-input corpus).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <httplib.h>

#include "helpers.h"

extern char** environ;

namespace automl::testing {

// `automl-gpt serve RUN --port 0 ...` as a child process; its stdout names the URL.
class ServerProcess {
 public:
  ServerProcess(const std::filesystem::path& run, const std::vector<std::string>& flags = {}) {
    log_ = std::filesystem::temp_directory_path() /
           ("automl-serve-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".log");
    std::vector<std::string> args = {AUTOML_BINARY, "serve", run.string(), "--port", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_fd_ = fds[0];
    // The first line of stdout: "automl-gpt: serving RUN at http://127.0.0.1:PORT".
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      ssize_t n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    first_line_ = line;
    auto at = line.find("http://127.0.0.1:");
    if (at != std::string::npos) port_ = std::atoi(line.c_str() + at + 17);
  }
  ~ServerProcess() {
    if (pid_ > 0) stop(SIGKILL);
    if (out_fd_ >= 0) ::close(out_fd_);
    std::filesystem::remove(log_);
  }

  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  std::string first_line() const { return first_line_; }
  std::string log() const { return testing::read_file(log_); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }
  // Sends `sig` and waits for the exit; returns the exit code (128 + N when a signal killed it).
  int stop(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  }

 private:
  static inline int counter_ = 0;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = -1;
  std::string first_line_;
  std::filesystem::path log_;
};

struct Reply {
  int status = 0;
  std::string body;
};

inline Reply post(const ServerProcess& s, const std::string& body, const std::string& content_type,
           const std::string& accept = "") {
  auto c = s.client();
  httplib::Headers headers;
  if (!accept.empty()) headers.emplace("Accept", accept);
  auto r = c.Post("/predict", headers, body, content_type);
  if (!r) return {-1, "no answer: " + httplib::to_string(r.error())};
  return {r->status, r->body};
}

inline Reply get(const ServerProcess& s, const std::string& path) {
  auto c = s.client();
  auto r = c.Get(path);
  if (!r) return {-1, "no answer: " + httplib::to_string(r.error())};
  return {r->status, r->body};
}

}  // namespace automl::testing
