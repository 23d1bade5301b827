#include "automl/run.h"

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/store.h"

namespace automl {

double peak_memory_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

double parse_duration(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw_invalid("cannot read duration \"" + text + "\"; write it like 60s, 2m or 1h");
  }
  std::string unit = text.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "m" || unit == "min") scale = 60;
  else if (unit == "h") scale = 3600;
  if (scale == 0 || !(v > 0)) throw_invalid("cannot read duration \"" + text + "\"; write it like 60s, 2m or 1h");
  // Beyond a year a deadline would not fit the clock's count of nanoseconds for long.
  constexpr double kMaxSeconds = 365.0 * 24 * 3600;
  if (!(v * scale <= kMaxSeconds)) throw_invalid("duration \"" + text + "\" is longer than a year (365 days)");
  return v * scale;
}

namespace {

std::string absolute(const std::string& path) {
  return path.empty() ? path : std::filesystem::absolute(path).lexically_normal().string();
}

}  // namespace

nlohmann::json RunRequest::to_json() const {
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [column, type] : csv.declared_types) types[column] = column_type_name(type);
  return {{"train", absolute(train_path)}, {"train_in_memory", train_table != nullptr}, {"target", target}, {"test", absolute(test_path)},
          {"card", absolute(card_path)}, {"card_fields", card_fields}, {"metric", metric}, {"out", absolute(out_dir)},
          {"store", store_location_record(store_path)}, {"name", name}, {"requirements", requirements},
          {"budget_s", budget_s}, {"memory_bytes", memory_bytes}, {"seed", seed}, {"threads", threads}, {"max_trials", max_trials},
          {"folds", folds}, {"workers", remote_workers ? nlohmann::json("remote") : nlohmann::json(workers)},
          {"fixed_preprocessing", fixed_preprocessing}, {"ensemble", ensemble},
          {"report", report}, {"families", families},
          {"csv", {{"delimiter", std::string(csv.delimiter ? 1 : 0, csv.delimiter)}, {"has_header", csv.has_header},
                   {"missing_tokens", csv.missing_tokens}, {"declared_types", types},
                   {"text_min_mean_length", csv.text_min_mean_length},
                   {"text_min_unique_share", csv.text_min_unique_share}}},
          {"knowledge", knowledge == "none" ? knowledge : absolute(knowledge)},
          {"knowledge_exclude", knowledge_exclude},
          {"llm", {{"spec", llm.spec}, {"model", llm.model}, {"max_calls", llm.max_calls},
                   {"max_tokens", llm.max_tokens}, {"timeout_s", llm.timeout_s}}}};
}

RunRequest RunRequest::from_json(const nlohmann::json& j) {
  RunRequest r;
  try {
    r.train_path = j.at("train");
    r.target = j.at("target");
    r.test_path = j.at("test");
    r.card_path = j.at("card");
    r.card_fields = j.value("card_fields", nlohmann::json::object());
    r.metric = j.at("metric");
    r.out_dir = j.at("out");
    r.store_path = j.at("store");
    r.name = j.at("name");
    r.requirements = j.at("requirements");
    r.budget_s = j.at("budget_s");
    r.memory_bytes = j.value("memory_bytes", 0.0);  // runs recorded before the limit existed: the default
    r.seed = j.at("seed");
    r.threads = j.at("threads");
    r.max_trials = j.at("max_trials");
    r.folds = j.at("folds");
    if (j.contains("workers")) {  // runs recorded before workers existed have none
      r.remote_workers = j["workers"].is_string();
      r.workers = j["workers"].is_number() ? j["workers"].get<int>() : 0;
    }
    r.fixed_preprocessing = j.at("fixed_preprocessing");
    r.ensemble = j.at("ensemble");
    r.report = j.value("report", true);  // runs recorded before the report existed
    r.families = j.at("families").get<std::vector<std::string>>();
    const auto& c = j.at("csv");
    const std::string delimiter = c.at("delimiter");
    r.csv.delimiter = delimiter.empty() ? 0 : delimiter[0];
    r.csv.has_header = c.at("has_header");
    r.csv.missing_tokens = c.at("missing_tokens").get<std::vector<std::string>>();
    for (const auto& [column, type] : c.at("declared_types").items()) {
      r.csv.declared_types[column] = parse_column_type(type.get<std::string>());
    }
    r.csv.text_min_mean_length = c.at("text_min_mean_length");
    r.csv.text_min_unique_share = c.at("text_min_unique_share");
    r.knowledge = j.at("knowledge");
    r.knowledge_exclude = j.at("knowledge_exclude");
    const auto& l = j.at("llm");
    // The key comes from the environment again (resolve_llm), never from the store.
    r.llm = resolve_llm(l.at("spec"), l.at("model"));
    r.llm.max_calls = l.at("max_calls");
    r.llm.max_tokens = l.at("max_tokens");
    r.llm.timeout_s = l.at("timeout_s");
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(std::string("a saved run request is damaged: ") + e.what());
  }
  return r;
}

std::string new_run_id(uint64_t seed) {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  std::random_device rd;
  return fmt::format("{}-{:04x}", buf, (rd() ^ seed) & 0xffff);
}

}  // namespace automl
