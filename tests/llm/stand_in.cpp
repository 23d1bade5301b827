#include "llm/stand_in.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <stdexcept>

namespace automl::testing {
namespace {

using Json = nlohmann::json;

std::string stage_of(const Json& body) {
  if (body.contains("response_format")) {
    const Json& rf = body["response_format"];
    if (rf.is_object() && rf.contains("json_schema") && rf["json_schema"].is_object() &&
        rf["json_schema"].contains("name") && rf["json_schema"]["name"].is_string())
      return rf["json_schema"]["name"].get<std::string>();
  }
  if (!body.contains("messages") || !body["messages"].is_array()) return "unknown";
  const Json& messages = body["messages"];
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (!it->is_object() || it->value("role", "") != "user") continue;
    std::string content = it->value("content", "");
    std::size_t start = 0;
    while (start <= content.size()) {
      auto end = content.find('\n', start);
      std::string line = content.substr(start, end == std::string::npos ? std::string::npos : end - start);
      auto at = line.find("Stage:");
      if (at != std::string::npos) {
        std::string name = line.substr(at + 6);
        auto a = name.find_first_not_of(" \t");
        auto b = name.find_last_not_of(" \t\r");
        if (a != std::string::npos) return name.substr(a, b - a + 1);
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
    break;  // only the last user message counts
  }
  return "unknown";
}

std::string mode_of(const Json& body) {
  if (body.contains("response_format") && body["response_format"].is_object() &&
      body["response_format"].contains("type") && body["response_format"]["type"].is_string())
    return body["response_format"]["type"].get<std::string>();
  return "text";
}

Json error_body(const std::string& message) {
  return {{"error", {{"message", message}, {"type", "invalid_request_error"}}}};
}

long rough_tokens(std::size_t chars) { return static_cast<long>((chars + 3) / 4); }

}  // namespace

LlmStandIn::LlmStandIn(nlohmann::json script)
    : script_(std::move(script)), server_(std::make_unique<httplib::Server>()) {
  // A client that timed out has closed its socket; a delayed handler writing to it
  // must get EPIPE, not kill the test binary with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  server_->Post("/v1/chat/completions",
                [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("LlmStandIn: cannot bind a port on 127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      server_->stop();
      thread_.join();
      throw std::runtime_error("LlmStandIn: the server did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

LlmStandIn::~LlmStandIn() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string LlmStandIn::base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

std::vector<LlmStandIn::Seen> LlmStandIn::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

int LlmStandIn::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(seen_.size());
}

nlohmann::json LlmStandIn::next_reply(const std::string& stage) {
  if (script_.contains("stages") && script_["stages"].contains(stage)) {
    const Json& list = script_["stages"][stage];
    if (!list.is_array()) return list;
    if (list.empty()) return Json();
    std::size_t& used = consumed_[stage];
    const Json& reply = list[std::min(used, list.size() - 1)];
    ++used;
    return reply;
  }
  if (script_.contains("default")) return script_["default"];
  return Json();
}

void LlmStandIn::handle(const httplib::Request& req, httplib::Response& res) {
  Json body = Json::parse(req.body, nullptr, false);
  Seen seen;
  seen.body = req.body;
  seen.authorization = req.get_header_value("Authorization");
  seen.stage = body.is_object() ? stage_of(body) : "unknown";
  seen.mode = body.is_object() ? mode_of(body) : "text";

  int status = 200;
  Json reply;
  std::size_t index = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = seen_.size();
    seen_.push_back(seen);
    bool refused = false;
    if (script_.contains("refuse") && script_["refuse"].is_array())
      for (const auto& r : script_["refuse"]) refused = refused || (r == seen.mode && seen.mode != "text");
    if (!body.is_object()) {
      status = 400;
      res.set_content(error_body("the request body is not JSON").dump(), "application/json");
    } else if (refused) {
      status = 400;
      res.set_content(error_body("response_format type " + seen.mode + " is not supported").dump(), "application/json");
    } else {
      reply = next_reply(seen.stage);
      if (reply.is_null()) {
        status = 400;
        res.set_content(error_body("no script for stage " + seen.stage).dump(), "application/json");
      }
    }
  }

  if (reply.is_object()) {
    int delay_ms = reply.value("delay_ms", 0);
    if (delay_ms > 0) {
      std::unique_lock<std::mutex> lock(mu_);
      stop_cv_.wait_for(lock, std::chrono::milliseconds(delay_ms), [this] { return stopping_; });
    }
    status = reply.value("status", 200);
    if (reply.contains("headers") && reply["headers"].is_object())
      for (const auto& [name, value] : reply["headers"].items())
        res.set_header(name, value.is_string() ? value.get<std::string>() : value.dump());

    if (reply.contains("body")) {
      const Json& raw = reply["body"];
      std::string text = raw.is_string() ? raw.get<std::string>() : raw.dump();
      bool is_json = !Json::parse(text, nullptr, false).is_discarded();
      res.set_content(text, is_json ? "application/json" : "text/plain");
    } else if (status >= 400) {
      res.set_content(error_body("scripted status " + std::to_string(status)).dump(), "application/json");
    } else {
      const Json& c = reply.contains("content") ? reply["content"] : Json("");
      std::string content = c.is_string() ? c.get<std::string>() : c.dump();
      std::size_t prompt_chars = 0;
      for (const auto& m : body.value("messages", Json::array()))
        if (m.is_object() && m.contains("content") && m["content"].is_string())
          prompt_chars += m["content"].get<std::string>().size();
      long prompt = rough_tokens(prompt_chars), completion = rough_tokens(content.size());
      Json envelope = {
          {"id", "chatcmpl-standin-" + std::to_string(index)},
          {"object", "chat.completion"},
          {"created", static_cast<long>(std::time(nullptr))},
          {"model", body.value("model", "")},
          {"choices",
           Json::array({{{"index", 0},
                         {"message", {{"role", "assistant"}, {"content", content}}},
                         {"finish_reason", "stop"}}})},
          {"usage",
           {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}}}};
      res.set_content(envelope.dump(), "application/json");
    }
  } else if (!reply.is_null()) {
    status = 500;
    res.set_content(error_body("the script's reply for stage " + seen.stage + " is not an object").dump(),
                    "application/json");
  }

  res.status = status;
  std::lock_guard<std::mutex> lock(mu_);
  seen_[index].status = status;
}

}  // namespace automl::testing
