#include <cmath>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/store.h"

namespace automl {
namespace {

std::string csv_quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string num(double v) { return std::isnan(v) ? std::string() : fmt::format("{:.10g}", v); }

// NaN is not JSON: write null.
nlohmann::json json_numbers(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x));
  return a;
}

}  // namespace

std::string leaderboard_header() {
  return "trial_id,family,hyperparameters,rung,parent,resource,validation_score,predicted_score,predicted_uncertainty,"
         "fold_scores,seconds,iterations,status,stop,reason,ended_s";
}

std::string leaderboard_row(const TrialResult& t, double ended_s) {
  std::vector<std::string> folds;
  for (double s : t.fold_scores) folds.push_back(fmt::format("{:.6g}", s));
  auto predicted = [&](const char* key) {
    return t.predicted.is_object() && t.predicted.contains(key) && t.predicted[key].is_number()
               ? num(t.predicted[key].get<double>())
               : std::string();
  };
  return fmt::format("{},{},{},{},{},{},{},{},{},{},{:.3f},{},{},{},{},{}", t.id, t.family, csv_quote(t.params.dump()), t.rung,
                     t.parent >= 0 ? std::to_string(t.parent) : std::string(),
                     t.resource >= 0 ? std::to_string(t.resource) : std::string(),
                     t.usable() ? num(t.score) : std::string(), predicted("final_score"), predicted("uncertainty"),
                     csv_quote(fmt::format("{}", fmt::join(folds, " "))),
                     t.seconds, t.iterations > 0 ? fmt::format("{:.1f}", t.iterations) : std::string(),
                     to_string(t.status), to_string(t.stop), csv_quote(t.reason),
                     std::isnan(ended_s) ? std::string() : fmt::format("{:.3f}", ended_s));
}

RunFolder::RunFolder(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw_io(fmt::format("cannot create run folder {}: {}", dir_.string(), ec.message()));
  leaderboard_.open(dir_ / "leaderboard.csv");
  logs_.open(dir_ / "training_logs.jsonl");
  predicted_.open(dir_ / "predicted_logs.jsonl");
  if (!leaderboard_ || !logs_ || !predicted_) throw_io("cannot write to run folder " + dir_.string());
  leaderboard_ << leaderboard_header() << "\n" << std::flush;
}

void write_json_file(const std::filesystem::path& path, const nlohmann::json& j, int indent) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(indent) << "\n";
    if (!out) throw_io("cannot write " + path.string());
  }
  std::filesystem::rename(tmp, path);
}

void RunFolder::write_json(const std::string& name, const nlohmann::json& j) const { write_json_file(dir_ / name, j); }

void RunFolder::add_trial(const TrialResult& t, double ended_s) {
  leaderboard_ << leaderboard_row(t, ended_s) << "\n" << std::flush;
  for (const auto& log : t.logs) {
    nlohmann::json j = {{"trial_id", t.id}, {"family", t.family}, {"fold", log.fold}, {"metric", log.metric},
                        {"train", json_numbers(log.train)}, {"valid", json_numbers(log.valid)},
                        {"seconds", json_numbers(log.seconds)}};
    logs_ << j.dump() << "\n";
  }
  logs_ << std::flush;
  if (!t.predicted.is_null()) {
    nlohmann::json p = {{"trial_id", t.id}, {"family", t.family}, {"hyperparameters", t.params},
                        {"predicted", t.predicted}, {"real_score", t.usable() ? nlohmann::json(t.score) : nlohmann::json()}};
    predicted_ << p.dump() << "\n" << std::flush;
  }
}

void RunFolder::add_llm_call(const nlohmann::json& call) {
  if (!llm_calls_.is_open()) {
    llm_calls_.open(dir_ / "llm_calls.jsonl", std::ios::app);
    if (!llm_calls_) throw_io("cannot write to run folder " + dir_.string());
  }
  llm_calls_ << call.dump() << "\n" << std::flush;
}

}  // namespace automl
