#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>

#include "automl/error.h"
#include "automl/llm.h"
#include "llm/stand_in.h"

namespace automl {
namespace {

using nlohmann::json;
using testing::LlmStandIn;

json models_schema() {
  return {{"type", "object"},
          {"properties", {{"models", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
          {"required", {"models"}}};
}

ChatRequest request_for(const std::string& stage, const std::string& ask = "Pick models.") {
  return {{{"system", "You plan AutoML runs."}, {"user", "Stage: " + stage + "\n" + ask}}, models_schema(), stage};
}

json answer(const std::string& model = "xgboost") { return {{"content", {{"models", {model}}}}}; }

LlmConfig config_for(const LlmStandIn& server) {
  LlmConfig cfg;
  cfg.spec = server.base_url();
  cfg.base_url = server.base_url();
  cfg.model = "stand-in";
  return cfg;
}

// Collects what the client reports, as the run's record would.
struct Recorder {
  std::vector<LlmCall> calls;
  LlmClient::CallRecorder fn() {
    return [this](const LlmCall& c) { calls.push_back(c); };
  }
};

class MemoryCache : public LlmCache {
 public:
  std::optional<std::string> get(const std::string& key) override {
    auto it = replies_.find(key);
    if (it == replies_.end()) return std::nullopt;
    return it->second;
  }
  void put(const std::string& key, const std::string&, const std::string& reply) override { replies_[key] = reply; }
  std::size_t size() const { return replies_.size(); }

 private:
  std::map<std::string, std::string> replies_;
};

// Sets (or unsets, with nullptr) an environment variable for one test and puts the
// old value back, so tests do not leak into each other.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_.c_str(), old_->c_str(), 1);
    else unsetenv(name_.c_str());
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Runs `fn`, expecting an Error of `kind`; returns its message.
template <typename Fn>
std::string error_of(Fn&& fn, ErrorKind kind) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no automl::Error was thrown";
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(LlmClient, StructuredAnswerComesBackInSchemaModeWithTokens) {
  LlmStandIn server(json::object({{"stages", {{"assign_models", {answer("xgboost")}}}}}));
  Recorder rec;
  LlmClient client(config_for(server), nullptr, rec.fn());
  ChatReply r = client.chat(request_for("assign_models"));

  EXPECT_EQ(extract_json(r.content), json({{"models", {"xgboost"}}}));
  EXPECT_EQ(r.mode, "json_schema");
  EXPECT_FALSE(r.cached);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_GT(r.prompt_tokens, 0);
  EXPECT_GT(r.completion_tokens, 0);
  EXPECT_EQ(client.tokens(), r.prompt_tokens + r.completion_tokens);
  EXPECT_EQ(client.calls(), 1);

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].stage, "assign_models");
  EXPECT_EQ(seen[0].mode, "json_schema");
  json sent = json::parse(seen[0].body);
  EXPECT_EQ(sent["model"], "stand-in");
  EXPECT_EQ(sent["max_tokens"], 2000);
  EXPECT_EQ(sent["response_format"]["json_schema"]["schema"], models_schema());
  EXPECT_EQ(sent["messages"][1]["role"], "user");

  ASSERT_EQ(rec.calls.size(), 1u);
  EXPECT_EQ(rec.calls[0].stage, "assign_models");
  EXPECT_EQ(rec.calls[0].http_status, 200);
  EXPECT_EQ(rec.calls[0].error, "");
  EXPECT_EQ(rec.calls[0].prompt_tokens, r.prompt_tokens);
}

TEST(LlmClient, RefusedSchemaFallsBackToJsonObjectAndRemembersIt) {
  LlmStandIn server(json::object({{"default", answer()}, {"refuse", {"json_schema"}}}));
  LlmClient client(config_for(server), nullptr, nullptr);
  ChatReply first = client.chat(request_for("assign_models"));
  EXPECT_EQ(first.mode, "json_object");
  EXPECT_EQ(first.attempts, 2);
  ChatReply second = client.chat(request_for("tune_ranges"));
  EXPECT_EQ(second.mode, "json_object");
  EXPECT_EQ(second.attempts, 1);  // the refusal is not paid again

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].mode, "json_schema");
  EXPECT_EQ(seen[1].mode, "json_object");
  EXPECT_EQ(seen[1].stage, "assign_models");  // from the "Stage:" line, as there is no schema name
  EXPECT_EQ(seen[2].stage, "tune_ranges");
}

TEST(LlmClient, RefusedStructuredOutputFallsBackToTextAndFencedJsonIsExtracted) {
  json fenced = {{"content", "Here is my plan:\n```json\n{\"models\": [\"knn\"]}\n```\nGood luck!"}};
  LlmStandIn server(json::object({{"default", fenced}, {"refuse", {"json_schema", "json_object"}}}));
  Recorder rec;
  LlmClient client(config_for(server), nullptr, rec.fn());
  ChatReply r = client.chat(request_for("assign_models"));
  EXPECT_EQ(r.mode, "text");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(extract_json(r.content), json({{"models", {"knn"}}}));
  EXPECT_EQ(server.requests().back().mode, "text");
  EXPECT_EQ(server.requests().back().body.find("response_format"), std::string::npos);
  ASSERT_EQ(rec.calls.size(), 1u);
  EXPECT_EQ(rec.calls[0].mode, "text");
}

TEST(LlmClient, RetriesA429AfterItsRetryAfter) {
  json too_many = {{"status", 429}, {"headers", {{"Retry-After", "1"}}}};
  LlmStandIn server(json::object({{"stages", {{"assign_models", {too_many, answer()}}}}}));
  Recorder rec;
  LlmClient client(config_for(server), nullptr, rec.fn());
  auto t0 = std::chrono::steady_clock::now();
  ChatReply r = client.chat(request_for("assign_models"));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(took, 0.9);
  EXPECT_EQ(r.attempts, 2);
  ASSERT_EQ(rec.calls.size(), 1u);
  EXPECT_EQ(rec.calls[0].retries, std::vector<std::string>({"429 (Retry-After 1s)"}));
  EXPECT_EQ(server.calls(), 2);
}

TEST(LlmClient, RetriesA500ThenSucceeds) {
  LlmStandIn server(json::object({{"stages", {{"assign_models", {{{"status", 500}}, answer("rf")}}}}}));
  Recorder rec;
  LlmClient client(config_for(server), nullptr, rec.fn());
  ChatReply r = client.chat(request_for("assign_models"));
  EXPECT_EQ(extract_json(r.content)["models"][0], "rf");
  EXPECT_EQ(r.attempts, 2);
  ASSERT_EQ(rec.calls.size(), 1u);
  EXPECT_EQ(rec.calls[0].retries, std::vector<std::string>({"500"}));
}

TEST(LlmClient, ReplySlowerThanTheTimeoutFailsAsExternal) {
  json slow = answer();
  slow["delay_ms"] = 1500;
  LlmStandIn server(json::object({{"default", slow}}));
  LlmConfig cfg = config_for(server);
  cfg.timeout_s = 0.5;
  cfg.max_retries = 1;
  Recorder rec;
  LlmClient client(cfg, nullptr, rec.fn());
  std::string msg = error_of([&] { client.chat(request_for("assign_models")); }, ErrorKind::kExternal);
  EXPECT_TRUE(has(msg, "timeout")) << msg;
  EXPECT_TRUE(has(msg, "assign_models")) << msg;
  EXPECT_EQ(client.calls(), 2);
  ASSERT_EQ(rec.calls.size(), 1u);
  EXPECT_EQ(rec.calls[0].retries, std::vector<std::string>({"timeout"}));
  EXPECT_EQ(rec.calls[0].http_status, 0);
  EXPECT_EQ(rec.calls[0].error, msg);
}

TEST(LlmClient, SlowThenFastSucceedsOnRetry) {
  json slow = answer("slow");
  slow["delay_ms"] = 1500;
  LlmStandIn server(json::object({{"stages", {{"assign_models", {slow, answer("fast")}}}}}));
  LlmConfig cfg = config_for(server);
  cfg.timeout_s = 0.5;
  cfg.max_retries = 1;
  LlmClient client(cfg, nullptr, nullptr);
  ChatReply r = client.chat(request_for("assign_models"));
  EXPECT_EQ(extract_json(r.content)["models"][0], "fast");
  EXPECT_EQ(r.attempts, 2);
}

TEST(LlmClient, UnreachableServerFailsAfterItsRetries) {
  LlmConfig cfg;
  {
    LlmStandIn gone(json::object({{"default", answer()}}));
    cfg = config_for(gone);
  }  // the port is closed now
  cfg.max_retries = 1;
  Recorder rec;
  LlmClient client(cfg, nullptr, rec.fn());
  std::string msg = error_of([&] { client.chat(request_for("assign_models")); }, ErrorKind::kExternal);
  EXPECT_TRUE(has(msg, "cannot reach")) << msg;
  EXPECT_EQ(client.calls(), 2);
  ASSERT_EQ(rec.calls.size(), 1u);
  ASSERT_EQ(rec.calls[0].retries.size(), 1u);
  EXPECT_TRUE(has(rec.calls[0].retries[0], "connection error")) << rec.calls[0].retries[0];
}

TEST(LlmClient, UnauthorizedFailsAtOnceWithTheServerMessage) {
  const std::string key = "sk-stand-in-SECRET-0123";
  json unauthorized = {{"status", 401}, {"body", {{"error", {{"message", "Incorrect API key provided: " + key}}}}}};
  LlmStandIn server(json::object({{"default", unauthorized}}));
  LlmConfig cfg = config_for(server);
  cfg.api_key = key;
  Recorder rec;
  LlmClient client(cfg, nullptr, rec.fn());
  std::string msg = error_of([&] { client.chat(request_for("assign_models")); }, ErrorKind::kExternal);
  EXPECT_TRUE(has(msg, "401")) << msg;
  EXPECT_TRUE(has(msg, "Incorrect API key provided")) << msg;
  EXPECT_TRUE(has(msg, "assign_models")) << msg;
  EXPECT_FALSE(has(msg, key)) << msg;
  EXPECT_EQ(server.calls(), 1);
  ASSERT_EQ(rec.calls.size(), 1u);
  EXPECT_EQ(rec.calls[0].attempts, 1);
  EXPECT_EQ(rec.calls[0].http_status, 401);
}

TEST(LlmClient, MalformedEnvelopeFailsAtOnce) {
  LlmStandIn server(json::object({{"default", {{"body", "<html>gateway says hi</html>"}}}}));
  LlmClient client(config_for(server), nullptr, nullptr);
  std::string msg = error_of([&] { client.chat(request_for("assign_models")); }, ErrorKind::kExternal);
  EXPECT_TRUE(has(msg, "gateway says hi")) << msg;
  EXPECT_EQ(server.calls(), 1);
}

TEST(LlmClient, CallCapStopsFurtherCalls) {
  LlmStandIn server(json::object({{"default", answer()}}));
  LlmConfig cfg = config_for(server);
  cfg.max_calls = 2;
  LlmClient client(cfg, nullptr, nullptr);
  client.chat(request_for("a"));
  client.chat(request_for("b"));
  std::string msg = error_of([&] { client.chat(request_for("c")); }, ErrorKind::kExternal);
  EXPECT_TRUE(has(msg, "LLM call cap reached (2 calls")) << msg;
  EXPECT_EQ(server.calls(), 2);

  cfg.max_calls = 30;
  cfg.max_tokens = 1;  // the first reply already spends more
  LlmClient thrifty(cfg, nullptr, nullptr);
  thrifty.chat(request_for("a"));
  msg = error_of([&] { thrifty.chat(request_for("b")); }, ErrorKind::kExternal);
  EXPECT_TRUE(has(msg, "cap reached")) << msg;
  EXPECT_EQ(server.calls(), 3);
}

TEST(LlmClient, CachedReplyMakesNoHttpCall) {
  LlmStandIn server(json::object({{"default", answer("cached")}}));
  MemoryCache cache;
  Recorder rec;
  LlmConfig cfg = config_for(server);
  LlmClient client(cfg, &cache, rec.fn());
  ChatReply first = client.chat(request_for("assign_models"));
  ChatReply second = client.chat(request_for("assign_models"));
  EXPECT_EQ(server.calls(), 1);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(first.cached);
  EXPECT_TRUE(second.cached);
  EXPECT_EQ(second.attempts, 0);
  EXPECT_EQ(second.content, first.content);
  ASSERT_EQ(rec.calls.size(), 2u);
  EXPECT_TRUE(rec.calls[1].cached);
  EXPECT_EQ(client.calls(), 1);

  // The key leaves out the API key, so a rotated key still finds the reply; a changed
  // prompt does not.
  cfg.api_key = "sk-rotated";
  LlmClient other(cfg, &cache, nullptr);
  EXPECT_TRUE(other.chat(request_for("assign_models")).cached);
  EXPECT_FALSE(other.chat(request_for("assign_models", "Pick other models.")).cached);
  EXPECT_EQ(server.calls(), 2);
}

TEST(LlmClient, CacheKeyIsStableAndCoversTheRequest) {
  LlmConfig cfg;
  cfg.base_url = "http://h:1/v1";
  cfg.model = "m";
  ChatRequest req = request_for("assign_models");
  std::string key = llm_cache_key(cfg, req);
  EXPECT_EQ(key.size(), 32u);
  // Pinned (and checked against an independent FNV-1a of the same bytes): a change
  // here orphans every reply cached by earlier runs.
  EXPECT_EQ(key, "8a6898f6f1c854a4808e7ff8f07b75e6");
  LlmConfig keyed = cfg;
  keyed.api_key = "sk-x";
  EXPECT_EQ(llm_cache_key(keyed, req), key);
  LlmConfig warmer = cfg;
  warmer.temperature = 0.7;
  EXPECT_NE(llm_cache_key(warmer, req), key);
  ChatRequest renamed = req;
  renamed.name = "tune_ranges";
  EXPECT_NE(llm_cache_key(cfg, renamed), key);
  ChatRequest other_role = req;
  other_role.messages[0].role = "user";
  EXPECT_NE(llm_cache_key(cfg, other_role), key);
}

TEST(LlmClient, KeyIsSentAsBearerTokenAndNeverRecorded) {
  const std::string key = "sk-stand-in-SECRET-4567";
  LlmStandIn server(json::object({{"stages",
                      {{"assign_models", {answer()}},
                       {"broken", {{{"status", 503}, {"body", "upstream rejected token " + key}}}}}}}));
  LlmConfig cfg = config_for(server);
  cfg.api_key = key;
  cfg.max_retries = 0;
  Recorder rec;
  LlmClient client(cfg, nullptr, rec.fn());
  client.chat(request_for("assign_models"));
  std::string msg = error_of([&] { client.chat(request_for("broken")); }, ErrorKind::kExternal);
  EXPECT_FALSE(has(msg, key)) << msg;
  EXPECT_TRUE(has(msg, "***")) << msg;
  EXPECT_EQ(server.requests()[0].authorization, "Bearer " + key);
  for (const auto& c : rec.calls) EXPECT_FALSE(has(c.to_json().dump(), key)) << c.to_json().dump();

  LlmStandIn open_server(json::object({{"default", answer()}}));
  LlmClient keyless(config_for(open_server), nullptr, nullptr);
  keyless.chat(request_for("assign_models"));
  EXPECT_EQ(open_server.requests()[0].authorization, "");
}

TEST(LlmClient, ResolveOpenAiNeedsAKey) {
  ScopedEnv a("AUTOML_GPT_API_KEY", nullptr), b("OPENAI_API_KEY", nullptr);
  std::string msg = error_of([] { resolve_llm("openai:gpt-4o", ""); }, ErrorKind::kInvalidInput);
  EXPECT_TRUE(has(msg, "AUTOML_GPT_API_KEY")) << msg;
  EXPECT_TRUE(has(msg, "openai:gpt-4o")) << msg;
}

TEST(LlmClient, ResolveOpenAiWithAKey) {
  ScopedEnv a("AUTOML_GPT_API_KEY", "sk-from-env"), b("OPENAI_API_KEY", nullptr), t("AUTOML_GPT_LLM_TIMEOUT", "12.5");
  LlmConfig cfg = resolve_llm("openai:gpt-4o", "");
  EXPECT_TRUE(cfg.enabled());
  EXPECT_EQ(cfg.spec, "openai:gpt-4o");
  EXPECT_EQ(cfg.base_url, "https://api.openai.com/v1");
  EXPECT_EQ(cfg.model, "gpt-4o");
  EXPECT_EQ(cfg.api_key, "sk-from-env");
  EXPECT_DOUBLE_EQ(cfg.timeout_s, 12.5);
  EXPECT_EQ(resolve_llm("openai:gpt-4o", "gpt-4o-mini").model, "gpt-4o-mini");

  ScopedEnv a2("AUTOML_GPT_API_KEY", nullptr), b2("OPENAI_API_KEY", "sk-openai-env");
  EXPECT_EQ(resolve_llm("openai:gpt-4o", "").api_key, "sk-openai-env");
}

TEST(LlmClient, ResolveUrlNeedsAModelAndDropsTheEndpoint) {
  std::string msg = error_of([] { resolve_llm("http://h:1/v1", ""); }, ErrorKind::kInvalidInput);
  EXPECT_TRUE(has(msg, "--llm-model")) << msg;
  LlmConfig cfg = resolve_llm("http://h:1/v1/chat/completions", "qwen");
  EXPECT_EQ(cfg.base_url, "http://h:1/v1");
  EXPECT_EQ(cfg.model, "qwen");
  EXPECT_EQ(resolve_llm("https://h:1/v1/", "qwen").base_url, "https://h:1/v1");
  // Azure-style: the endpoint goes, the api-version query stays.
  EXPECT_EQ(resolve_llm("https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-06-01", "d")
                .base_url,
            "https://r.openai.azure.com/openai/deployments/d?api-version=2024-06-01");
}

TEST(LlmClient, AQueryInTheBaseUrlStaysAfterThePath) {
  LlmStandIn server(json::object({{"stages", {{"assign_models", {answer("xgboost")}}}}}));
  LlmConfig cfg = config_for(server);
  cfg.base_url += "?api-version=2024-06-01";
  LlmClient client(cfg, nullptr, nullptr);
  ChatReply r = client.chat(request_for("assign_models"));
  EXPECT_EQ(extract_json(r.content), json({{"models", {"xgboost"}}}));
}

TEST(LlmClient, ResolveOllamaBuiltinAndJunk) {
  LlmConfig ollama = resolve_llm("ollama:llama3", "");
  EXPECT_EQ(ollama.base_url, "http://localhost:11434/v1");
  EXPECT_EQ(ollama.model, "llama3");
  EXPECT_FALSE(resolve_llm("builtin", "").enabled());
  EXPECT_FALSE(resolve_llm("", "").enabled());
  std::string msg = error_of([] { resolve_llm("gpt4please", ""); }, ErrorKind::kInvalidInput);
  EXPECT_TRUE(has(msg, "gpt4please")) << msg;
  EXPECT_TRUE(has(msg, "openai:MODEL")) << msg;
  EXPECT_TRUE(has(msg, "ollama:MODEL")) << msg;
}

TEST(LlmClient, ExtractJsonFindsTheAnswer) {
  EXPECT_EQ(extract_json("  {\"a\": 1}\n"), json({{"a", 1}}));
  EXPECT_EQ(extract_json("[1, 2]"), json({1, 2}));
  EXPECT_EQ(extract_json("Sure.\n```json\n{\"a\": [1, 2]}\n```\nDone."), json({{"a", {1, 2}}}));
  EXPECT_EQ(extract_json("```\n{\"b\": true}\n```"), json({{"b", true}}));
  // Braces inside strings must not end the object early; a broken {..} before it is skipped.
  EXPECT_EQ(extract_json("I think {maybe} this: {\"why\": \"use {x} and \\\"}\\\"\", \"n\": 2} works."),
            json({{"why", "use {x} and \"}\""}, {"n", 2}}));
  std::string msg = error_of([] { extract_json("I cannot help with that."); }, ErrorKind::kInvalidInput);
  EXPECT_TRUE(has(msg, "no JSON in the reply: \"I cannot help with that.\"")) << msg;
}

}  // namespace
}  // namespace automl
