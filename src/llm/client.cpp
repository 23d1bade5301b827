#include "automl/llm.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "automl/error.h"
#include "automl/handle.h"
#include "automl/strings.h"

namespace automl {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kOpenAiBase = "https://api.openai.com/v1";
constexpr const char* kOllamaBase = "http://localhost:11434/v1";

// curl_global_init is not thread-safe and must run before any other curl call.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string api_key_from_env() {
  std::string key = env_or_empty("AUTOML_GPT_API_KEY");
  return key.empty() ? env_or_empty("OPENAI_API_KEY") : key;
}

std::optional<double> parse_seconds(std::string s) {
  auto a = s.find_first_not_of(" \t\r\n");
  auto b = s.find_last_not_of(" \t\r\n");
  if (a == std::string::npos) return std::nullopt;
  s = s.substr(a, b - a + 1);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

bool starts_with_ci(const std::string& s, const std::string& prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The key must never reach a message, even when a server echoes it back.
std::string scrub(std::string text, const std::string& key) {
  if (key.empty()) return text;
  for (auto pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + 3))
    text.replace(pos, key.size(), "***");
  return text;
}

// Schema names are restricted by the OpenAI API (pattern and 64 characters).
std::string schema_name(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  if (out.size() > 64) out.resize(64);
  return out.empty() ? std::string("answer") : out;
}

std::string next_mode(const std::string& mode) { return mode == "json_schema" ? "json_object" : "text"; }

long estimate_tokens(std::size_t chars) { return static_cast<long>((chars + 3) / 4); }

// Servers put their reason in different places: OpenAI and vLLM in error.message,
// Ollama in a bare "error" string, FastAPI-based servers in "detail".
std::string server_message(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_string()) return e->get<std::string>();
      if (e->is_object() && e->contains("message") && (*e)["message"].is_string())
        return (*e)["message"].get<std::string>();
    }
    if (auto m = j.find("message"); m != j.end() && m->is_string()) return m->get<std::string>();
    if (auto d = j.find("detail"); d != j.end()) return d->is_string() ? d->get<std::string>() : d->dump();
  }
  return body.substr(0, 200);
}

// --- a 128-bit FNV-1a, written out so that the cache key needs no crypto library and
// is the same on every platform (four 32-bit limbs, no compiler-specific int128).
class Fnv128 {
 public:
  void update(const std::string& s) {
    for (unsigned char c : s) {
      h_[0] ^= c;
      multiply_by_prime();
    }
  }
  std::string hex() const {
    std::string out;
    for (int i = 3; i >= 0; --i) out += fmt::format("{:08x}", h_[i]);
    return out;
  }

 private:
  // The FNV-128 prime is 2^88 + 0x13B; limbs are least significant first.
  void multiply_by_prime() {
    static constexpr std::array<std::uint64_t, 4> kPrime = {0x13B, 0, 1u << 24, 0};
    std::array<std::uint32_t, 4> r = {0, 0, 0, 0};
    for (int i = 0; i < 4; ++i) {
      std::uint64_t carry = 0;
      for (int j = 0; i + j < 4; ++j) {
        std::uint64_t t = r[i + j] + static_cast<std::uint64_t>(h_[i]) * kPrime[j] + carry;
        r[i + j] = static_cast<std::uint32_t>(t);
        carry = t >> 32;
      }
    }
    h_ = r;
  }
  // The FNV-128 offset basis 0x6c62272e07bb014262b821756295c58d.
  std::array<std::uint32_t, 4> h_ = {0x6295c58d, 0x62b82175, 0x07bb0142, 0x6c62272e};
};

// --- one HTTP attempt

struct HttpResult {
  CURLcode code = CURLE_OK;
  std::string curl_error;
  long status = 0;
  std::string body;
  std::optional<double> retry_after;
};

size_t on_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* out) {
  auto* result = static_cast<HttpResult*>(out);
  std::string line(data, size * n);
  // A new status line starts a new header block (e.g. after "100 Continue").
  if (starts_with_ci(line, "http/")) result->retry_after.reset();
  if (starts_with_ci(line, "retry-after:")) result->retry_after = parse_seconds(line.substr(12));
  return size * n;
}

// curl's handles, each with its one owner.
using CurlEasy = CHandle<CURL, curl_easy_cleanup>;
using CurlHeaders = CHandle<curl_slist, curl_slist_free_all>;

// Adds a header line; a line curl cannot add (out of memory) is left out, and the
// list so far stays owned.
void add_header(CurlHeaders* headers, const char* line) {
  if (curl_slist* longer = curl_slist_append(headers->get(), line)) {
    (void)headers->release();  // the same list, now reached from `longer`
    headers->reset(longer);
  }
}

HttpResult post_json(const std::string& url, const std::string& api_key, const std::string& body, double timeout_s) {
  HttpResult result;
  CurlEasy owner(curl_easy_init());
  if (!owner) {
    result.code = CURLE_FAILED_INIT;
    result.curl_error = "curl_easy_init failed";
    return result;
  }
  CURL* curl = owner.get();
  CurlHeaders headers;
  add_header(&headers, "Content-Type: application/json");
  // Without this curl waits for "100 Continue" on large prompts, which some servers never send.
  add_header(&headers, "Expect:");
  std::string auth = "Authorization: Bearer " + api_key;
  if (!api_key.empty()) add_header(&headers, auth.c_str());
  // Azure OpenAI takes its resource keys in an api-key header instead.
  std::string azure = "api-key: " + api_key;
  if (!api_key.empty() && url.find(".openai.azure.com") != std::string::npos) add_header(&headers, azure.c_str());

  char errbuf[CURL_ERROR_SIZE] = {0};
  long timeout_ms = std::max(1L, std::lround(timeout_s * 1000));
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10000L));
  // Timeouts via signals are unsafe in a threaded program.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);

  result.code = curl_easy_perform(curl);
  if (result.code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  } else {
    result.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(result.code);
  }
  return result;
}

Json request_body(const LlmConfig& config, const ChatRequest& request, const std::string& mode) {
  Json messages = Json::array();
  for (const auto& m : request.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  Json body = {{"model", config.model},
               {"messages", messages},
               {"temperature", config.temperature},
               {"max_tokens", config.max_reply_tokens}};
  if (mode == "json_schema") {
    body["response_format"] = {
        {"type", "json_schema"},
        {"json_schema", {{"name", schema_name(request.name)}, {"schema", request.schema}, {"strict", false}}}};
  } else if (mode == "json_object") {
    body["response_format"] = {{"type", "json_object"}};
  }
  return body;
}

const Json* reply_content(const Json& j) {
  if (!j.is_object()) return nullptr;
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) return nullptr;
  const Json& choice = (*choices)[0];
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) return nullptr;
  auto content = message->find("content");
  if (content == message->end() || !content->is_string()) return nullptr;
  return &*content;
}

std::optional<long> usage_count(const Json& j, const char* field) {
  if (!j.is_object() || !j.contains("usage") || !j["usage"].is_object()) return std::nullopt;
  const Json& u = j["usage"];
  if (!u.contains(field) || !u[field].is_number_integer()) return std::nullopt;
  return u[field].get<long>();
}

// --- extract_json helpers

std::optional<Json> parse_structured(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !(j.is_object() || j.is_array())) return std::nullopt;
  return j;
}

std::optional<Json> first_fenced(const std::string& text) {
  for (auto open = text.find("```"); open != std::string::npos;) {
    std::size_t start = open + 3;
    // Skip a language tag such as "json" right after the fence.
    while (start < text.size() && (std::isalnum(static_cast<unsigned char>(text[start])) || text[start] == '_' ||
                                   text[start] == '-'))
      ++start;
    auto close = text.find("```", start);
    if (close == std::string::npos) return std::nullopt;
    if (auto j = parse_structured(text.substr(start, close - start))) return j;
    open = text.find("```", close + 3);
  }
  return std::nullopt;
}

// The end (exclusive) of the bracketed value starting at `begin`, or npos if the
// brackets never balance. Brackets inside strings do not count.
std::size_t balanced_end(const std::string& text, std::size_t begin) {
  std::string stack;
  bool in_string = false, escaped = false;
  for (std::size_t i = begin; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') stack += c == '{' ? '}' : ']';
    else if (c == '}' || c == ']') {
      if (stack.empty() || stack.back() != c) return std::string::npos;
      stack.pop_back();
      if (stack.empty()) return i + 1;
    }
  }
  return std::string::npos;
}

std::optional<Json> first_balanced(const std::string& text) {
  for (auto pos = text.find_first_of("{["); pos != std::string::npos; pos = text.find_first_of("{[", pos + 1)) {
    auto end = balanced_end(text, pos);
    if (end == std::string::npos) continue;
    if (auto j = parse_structured(text.substr(pos, end - pos))) return j;
  }
  return std::nullopt;
}

}  // namespace

LlmConfig resolve_llm(const std::string& spec, const std::string& model_flag) {
  LlmConfig cfg;
  cfg.spec = spec;
  if (spec.empty() || spec == "builtin") return cfg;

  if (spec.rfind("openai:", 0) == 0) {
    cfg.base_url = kOpenAiBase;
    cfg.model = spec.substr(7);
    cfg.api_key = api_key_from_env();
    if (cfg.api_key.empty())
      throw_invalid(fmt::format("--llm {} needs an API key: set AUTOML_GPT_API_KEY (or OPENAI_API_KEY)",
                                spec.size() > 7 ? spec : std::string("openai:MODEL")));
  } else if (spec.rfind("ollama:", 0) == 0) {
    cfg.base_url = kOllamaBase;
    cfg.model = spec.substr(7);
    cfg.api_key = api_key_from_env();
  } else if (starts_with_ci(spec, "http://") || starts_with_ci(spec, "https://")) {
    std::string url = spec;
    // A query (Azure's ?api-version=...) is kept aside while the path is trimmed.
    std::string query;
    if (auto q = url.find('?'); q != std::string::npos) {
      query = url.substr(q);
      url.resize(q);
    }
    while (ends_with(url, "/")) url.pop_back();
    // People paste the full endpoint; we want the base that /chat/completions hangs off.
    if (ends_with(url, "/chat/completions")) url.resize(url.size() - std::string("/chat/completions").size());
    while (ends_with(url, "/")) url.pop_back();
    if (model_flag.empty()) throw_invalid(fmt::format("--llm URL needs --llm-model NAME (got --llm {})", url));
    cfg.base_url = url + query;
    cfg.api_key = api_key_from_env();
  } else {
    throw_invalid(fmt::format("--llm {} is not understood: use builtin, openai:MODEL, ollama:MODEL, or the base URL "
                              "of an OpenAI-compatible server (http://host:port/v1) together with --llm-model NAME",
                              quote_value(spec)));
  }
  if (!model_flag.empty()) cfg.model = model_flag;
  if (cfg.model.empty())
    throw_invalid(fmt::format("--llm {} names no model: write it as {}MODEL or pass --llm-model NAME", spec, spec));

  if (auto t = parse_seconds(env_or_empty("AUTOML_GPT_LLM_TIMEOUT")); t && *t > 0) cfg.timeout_s = *t;
  return cfg;
}

std::string LlmCall::summary() const {
  if (cached) return "cached reply, no call";
  if (!error.empty()) return "failed: " + error;
  return fmt::format("{}+{} tokens, {:.1f}s{}", prompt_tokens, completion_tokens, seconds,
                     retries.empty() ? "" : fmt::format(", {} retries", retries.size()));
}

Json LlmCall::to_json() const {
  return {{"stage", stage},
          {"model", model},
          {"mode", mode},
          {"cached", cached},
          {"attempts", attempts},
          {"http_status", http_status},
          {"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"seconds", seconds},
          {"error", error},
          {"retries", retries}};
}

LlmClient::LlmClient(LlmConfig config, LlmCache* cache, CallRecorder on_call)
    : config_(std::move(config)), cache_(cache), on_call_(std::move(on_call)) {
  init_curl_once();
}

ChatReply LlmClient::chat(const ChatRequest& request) {
  if (!config_.enabled()) throw_internal("LlmClient::chat called with the built-in planner (no --llm server)");
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };

  LlmCall call;
  call.stage = request.name;
  call.model = config_.model;
  std::string mode = request.schema.is_null() ? "text" : mode_;
  call.mode = mode;
  auto record = [&] {
    call.seconds = elapsed();
    if (on_call_) on_call_(call);
  };
  auto fail = [&](const std::string& message) -> Error {
    call.error = scrub(message, config_.api_key);
    record();
    return Error(ErrorKind::kExternal, call.error);
  };
  const std::string where = fmt::format("LLM stage \"{}\" ({} at {})", request.name, config_.model, config_.base_url);

  const std::string key = llm_cache_key(config_, request);
  if (cache_) {
    if (auto hit = cache_->get(key)) {
      call.cached = true;
      record();
      ChatReply reply;
      reply.content = *hit;
      reply.mode = mode;
      reply.cached = true;
      reply.seconds = call.seconds;
      return reply;
    }
  }

  // A query (Azure's ?api-version=...) stays after the path.
  const std::size_t query = config_.base_url.find('?');
  const std::string url = query == std::string::npos
                              ? config_.base_url + "/chat/completions"
                              : config_.base_url.substr(0, query) + "/chat/completions" + config_.base_url.substr(query);
  int retries_used = 0;
  while (true) {
    if (calls_ >= config_.max_calls || tokens_ >= config_.max_tokens)
      throw fail(fmt::format("LLM call cap reached ({} calls / {} tokens per run) before stage \"{}\": {} calls and {} "
                             "tokens used so far",
                             config_.max_calls, config_.max_tokens, request.name, calls_, tokens_));
    const double left = std::chrono::duration<double>(deadline_ - std::chrono::steady_clock::now()).count();
    if (left < 0.5) {
      throw fail(fmt::format("{}: the run's time for LLM calls is spent after {} attempts", where, call.attempts));
    }
    const double timeout = std::min(config_.timeout_s, left);
    const std::string body = request_body(config_, request, mode).dump();
    ++calls_;
    ++call.attempts;
    HttpResult r = post_json(url, config_.api_key, body, timeout);
    call.http_status = static_cast<int>(r.status);

    std::string retry_reason;
    std::optional<double> retry_after;
    if (r.code != CURLE_OK) {
      retry_reason = r.code == CURLE_OPERATION_TIMEDOUT ? "timeout" : "connection error: " + r.curl_error;
      if (retries_used >= config_.max_retries) {
        if (r.code == CURLE_OPERATION_TIMEDOUT)
          throw fail(fmt::format("{}: timeout, no answer within {:g} s after {} attempts; raise --llm-timeout "
                                 "(or AUTOML_GPT_LLM_TIMEOUT) or use a faster model",
                                 where, timeout, call.attempts));
        throw fail(fmt::format("{}: cannot reach the server after {} attempts ({}); check that it is running and the "
                               "URL is right",
                               where, call.attempts, r.curl_error));
      }
    } else if ((r.status == 400 || r.status == 422) && mode != "text") {
      // The server does not support this kind of structured output: ask more simply,
      // and remember it so later stages do not pay for the refusal again.
      std::string next = next_mode(mode);
      call.retries.push_back(fmt::format("{} ({} refused, now {})", r.status, mode, next));
      mode_ = mode = call.mode = next;
      continue;
    } else if (r.status == 429 || r.status >= 500) {
      retry_after = r.retry_after;
      retry_reason = retry_after ? fmt::format("{} (Retry-After {:g}s)", r.status, *retry_after)
                                 : std::to_string(r.status);
      if (retries_used >= config_.max_retries)
        throw fail(fmt::format("{}: HTTP {} after {} attempts: {}", where, r.status, call.attempts,
                               quote_value(server_message(r.body), 200)));
    } else if (r.status < 200 || r.status >= 300) {
      std::string hint = r.status == 401 || r.status == 403 ? "; check the API key (AUTOML_GPT_API_KEY)"
                         : r.status == 404 ? "; check the base URL and the model name"
                                           : "";
      throw fail(fmt::format("{}: HTTP {}: {}{}", where, r.status, quote_value(server_message(r.body), 200), hint));
    }

    if (!retry_reason.empty()) {
      double wait = std::min(config_.max_backoff_s, retry_after ? *retry_after : 0.5 * std::pow(2.0, retries_used));
      wait = std::min(wait, std::chrono::duration<double>(deadline_ - std::chrono::steady_clock::now()).count());
      call.retries.push_back(retry_reason);
      ++retries_used;
      std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.0, wait)));
      continue;
    }

    // A success status with an unreadable envelope is a server bug; retrying would not help.
    Json j = Json::parse(r.body, nullptr, false);
    const Json* content = j.is_discarded() ? nullptr : reply_content(j);
    if (!content)
      throw fail(fmt::format("{}: the reply has no choices[0].message.content: {}", where, quote_value(r.body, 200)));

    ChatReply reply;
    reply.content = content->get<std::string>();
    reply.mode = mode;
    reply.attempts = call.attempts;
    std::size_t prompt_chars = 0;
    for (const auto& m : request.messages) prompt_chars += m.content.size();
    reply.prompt_tokens = usage_count(j, "prompt_tokens").value_or(estimate_tokens(prompt_chars));
    reply.completion_tokens = usage_count(j, "completion_tokens").value_or(estimate_tokens(reply.content.size()));
    tokens_ += reply.prompt_tokens + reply.completion_tokens;
    if (cache_) cache_->put(key, config_.model, reply.content);

    call.prompt_tokens = reply.prompt_tokens;
    call.completion_tokens = reply.completion_tokens;
    record();
    reply.seconds = call.seconds;
    return reply;
  }
}

std::string llm_cache_key(const LlmConfig& config, const ChatRequest& request) {
  // A JSON array keeps field boundaries unambiguous, and nlohmann dumps numbers and
  // object keys (sorted) the same way everywhere. The mode is left out on purpose:
  // a downgrade must not orphan replies cached before it.
  Json messages = Json::array();
  for (const auto& m : request.messages) messages.push_back({m.role, m.content});
  Json material = {"automl-llm-cache-v1", config.base_url,  config.model,        config.temperature,
                   config.max_reply_tokens, request.name,   request.schema.dump(), messages};
  Fnv128 h;
  h.update(material.dump());
  return h.hex();
}

Json extract_json(const std::string& text) {
  auto a = text.find_first_not_of(" \t\r\n");
  std::string trimmed =
      a == std::string::npos ? std::string() : text.substr(a, text.find_last_not_of(" \t\r\n") - a + 1);
  if (auto j = parse_structured(trimmed)) return *j;
  if (auto j = first_fenced(trimmed)) return *j;
  if (auto j = first_balanced(trimmed)) return *j;
  throw_invalid(fmt::format("no JSON in the reply: {}", quote_value(trimmed, 120)));
}

}  // namespace automl
