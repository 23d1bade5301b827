// A scripted stand-in for an OpenAI-compatible chat-completions server, so that LLM
// tests run against recorded replies on loopback and never touch the network.
//
//   // Pass a json (json::object or json::parse): a bare braced list is ambiguous with the copy constructor.
//   LlmStandIn server(nlohmann::json::parse(R"({"stages": {"assign_models": [{"content": {"models": ["rf"]}}]}})"));
//   LlmConfig cfg;  cfg.base_url = server.base_url();  cfg.model = "test";
//   LlmClient client(cfg, nullptr, nullptr);
//
// A script is JSON:
//   {"stages": {"assign_models": [reply, reply, ...], ...},  // consumed in order; the last one repeats
//    "default": reply,                   // stages without a list (else 400 "no script for stage X")
//    "refuse": ["json_schema", "json_object"]}  // response_format types answered with 400
//   reply = {"content": "text" | <any JSON, sent dumped>,   // the assistant message
//            "status": 200, "headers": {"Retry-After": "1"},  // optional
//            "body": "raw body instead of a completion",     // optional, for errors/malformed envelopes
//            "delay_ms": 0}                                    // optional: sleep before answering
//
// The stage of a request is response_format.json_schema.name, else NAME from the first
// "Stage: NAME" line of the last user message, else "unknown".
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace automl::testing {

class LlmStandIn {
 public:
  explicit LlmStandIn(nlohmann::json script);  // listens on 127.0.0.1, a free port, in a thread
  ~LlmStandIn();                                // stops and joins
  LlmStandIn(const LlmStandIn&) = delete;
  LlmStandIn& operator=(const LlmStandIn&) = delete;

  std::string base_url() const;  // "http://127.0.0.1:PORT/v1"

  struct Seen {
    std::string stage, authorization, mode, body;
    int status = 0;
  };
  std::vector<Seen> requests() const;  // every request received, in order (thread-safe)
  int calls() const;

 private:
  void handle(const httplib::Request& req, httplib::Response& res);
  nlohmann::json next_reply(const std::string& stage);  // caller holds mu_

  nlohmann::json script_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;  // wakes delayed handlers so destruction never waits for them
  bool stopping_ = false;
  std::vector<Seen> seen_;
  std::map<std::string, std::size_t> consumed_;  // replies used per stage
};

}  // namespace automl::testing
