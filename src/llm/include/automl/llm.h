// A client for any OpenAI-compatible chat-completions server (OpenAI, Azure OpenAI,
// Ollama, vLLM, llama.cpp's server, LM Studio), over libcurl.
//
//   LlmConfig cfg = resolve_llm("openai:gpt-4o", "");   // key from AUTOML_GPT_API_KEY / OPENAI_API_KEY
//   LlmClient client(cfg, &cache, [](const LlmCall& c) { ... record c ... });
//   ChatReply r = client.chat({{{"system", "..."}, {"user", "..."}}, schema, "assign_models"});
//
// Structured output is asked for with a JSON schema; a server that refuses it is asked
// for a JSON object instead, and one that refuses that gets plain text (the JSON is
// then extracted from the reply by extract_json). The downgrade is remembered for the
// rest of the client's life. Timeouts, 429 and 5xx are retried with exponential
// backoff that honours Retry-After. Calls and tokens are capped per client. Replies
// are cached by a key over everything that shapes the reply (never the API key), so
// re-running the same request makes no calls. The API key is sent only as a bearer
// token: it is never part of a cache key, a record, an error or a log line.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace automl {

struct LlmConfig {
  std::string spec;          // what the user passed to --llm ("builtin", "openai:gpt-4o", a URL)
  std::string base_url;      // ".../v1" ("" = the built-in planner, no LLM)
  std::string model;
  std::string api_key;       // from the environment; may be empty for local servers
  double timeout_s = 60;     // per HTTP attempt
  int max_retries = 3;       // further attempts after a timeout, 429 or 5xx
  double max_backoff_s = 20; // longest single wait between attempts (Retry-After included)
  int max_calls = 30;        // HTTP calls per client (cached replies do not count)
  long max_tokens = 150000;  // prompt + completion tokens per client
  int max_reply_tokens = 2000;
  double temperature = 0;

  bool enabled() const { return !base_url.empty(); }
};

// "builtin" (or "") -> disabled config. "openai:MODEL" -> https://api.openai.com/v1
// and a key is required. "ollama:MODEL" -> http://localhost:11434/v1. Any http(s)
// URL -> that base URL with `model_flag` (required). The key comes from
// AUTOML_GPT_API_KEY, else OPENAI_API_KEY. Throws kInvalidInput with a clear
// message on a missing key, a missing model or an unreadable spec.
LlmConfig resolve_llm(const std::string& spec, const std::string& model_flag);

struct ChatMessage {
  std::string role;  // system, user, assistant
  std::string content;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  nlohmann::json schema;  // JSON schema of the answer (null = free text)
  std::string name;       // the stage, e.g. "assign_models" (schema name; [a-zA-Z0-9_-])
};

struct ChatReply {
  std::string content;        // the assistant message's text
  std::string mode;           // json_schema, json_object or text: how it was asked for
  bool cached = false;        // served from the cache: no HTTP call
  int attempts = 0;           // HTTP attempts it took (0 when cached)
  long prompt_tokens = 0;     // as the server reported (estimated at 4 chars/token if it did not)
  long completion_tokens = 0;
  double seconds = 0;
};

// One HTTP call or cache hit, for the run's record (no key, no headers).
struct LlmCall {
  std::string stage;
  std::string model;
  std::string mode;
  bool cached = false;
  int attempts = 0;
  int http_status = 0;   // of the last attempt (0 = none, e.g. a timeout)
  long prompt_tokens = 0;
  long completion_tokens = 0;
  double seconds = 0;
  std::string error;     // "" on success
  std::vector<std::string> retries;  // why each retry happened: "429 (Retry-After 1s)", "timeout", "500"

  nlohmann::json to_json() const;
  // One progress line: "812+95 tokens, 1.2s", "cached reply, no call" or "failed: ...".
  std::string summary() const;
};

// Where replies are kept between runs (the run store implements it).
class LlmCache {
 public:
  virtual ~LlmCache() = default;
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void put(const std::string& key, const std::string& model, const std::string& reply) = 0;
};

class LlmClient {
 public:
  using CallRecorder = std::function<void(const LlmCall&)>;
  LlmClient(LlmConfig config, LlmCache* cache, CallRecorder on_call);

  // Throws Error(kExternal) when the server cannot give an answer after the retries,
  // or when the call or token cap is reached; the message names the stage and the
  // cause, never the key.
  ChatReply chat(const ChatRequest& request);

  // No attempt starts after `deadline`, none waits past it, and no retry sleeps
  // beyond it: the run's budget bounds the LLM too (default: none).
  void set_deadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }

  const LlmConfig& config() const { return config_; }
  int calls() const { return calls_; }
  long tokens() const { return tokens_; }

 private:
  LlmConfig config_;
  LlmCache* cache_;
  CallRecorder on_call_;
  std::string mode_ = "json_schema";  // downgraded to json_object, then text, when refused
  int calls_ = 0;
  long tokens_ = 0;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

// The cache key: a hex digest over base URL, model, mode-independent request
// (messages, schema, name) and the sampling settings.
std::string llm_cache_key(const LlmConfig& config, const ChatRequest& request);

// The first JSON object or array in `text`: the whole text, else a ```json fenced
// block, else the first balanced {...}. Throws kInvalidInput when there is none,
// quoting the start of the text.
nlohmann::json extract_json(const std::string& text);

}  // namespace automl
