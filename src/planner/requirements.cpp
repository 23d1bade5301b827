#include "automl/requirements.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "automl/error.h"
#include "automl/metrics.h"

namespace automl {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  auto a = s.find_first_not_of(" \t\r\n.");
  auto b = s.find_last_not_of(" \t\r\n.");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

double seconds_of(double v, const std::string& unit) {
  if (unit.rfind("h", 0) == 0) return v * 3600;
  if (unit.rfind("m", 0) == 0 && unit.rfind("ms", 0) != 0) return v * 60;
  return v;
}

double megabytes_of(double v, const std::string& unit) {
  if (unit == "kb" || unit == "kib" || unit == "k") return v / 1024;
  if (unit == "gb" || unit == "gib" || unit == "g") return v * 1024;
  return v;
}

// Metric names people write, to the registry's names.
std::string metric_named(const std::string& clause) {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"roc auc", "roc_auc"}, {"roc_auc", "roc_auc"}, {"auc", "roc_auc"},       {"accuracy", "accuracy"},
      {"log loss", "log_loss"}, {"log_loss", "log_loss"}, {"logloss", "log_loss"}, {"macro f1", "macro_f1"},
      {"macro_f1", "macro_f1"}, {"f1", "macro_f1"},       {"rmse", "rmse"},          {"mae", "mae"},
      {"r2", "r2"},           {"r^2", "r2"}};
  for (const auto& [text, name] : names) {
    if (clause == text || clause == "metric " + text || clause == "optimise " + text || clause == "optimize " + text) {
      return name;
    }
  }
  return "";
}

}  // namespace

nlohmann::json Requirements::to_json() const {
  nlohmann::json j = {{"text", text}};
  if (!metric.empty()) j["metric"] = metric;
  if (max_train_s > 0) j["max_train_s"] = max_train_s;
  if (max_model_mb > 0) j["max_model_mb"] = max_model_mb;
  if (max_predict_ms_per_row > 0) j["max_predict_ms_per_row"] = max_predict_ms_per_row;
  j["explainable"] = explainable;
  if (!unrecognised.empty()) j["unrecognised"] = unrecognised;
  return j;
}

Requirements parse_requirements(const std::string& text) {
  Requirements r;
  r.text = text;
  static const std::regex number_unit(R"(([0-9]+(?:\.[0-9]+)?)\s*([a-z]*))");
  std::string clause;
  auto flush = [&] {
    std::string c = lower(trim(clause));
    clause.clear();
    if (c.empty()) return;
    std::smatch m;
    bool has_number = std::regex_search(c, m, number_unit);
    double v = has_number ? std::stod(m[1]) : 0;
    std::string unit = has_number ? std::string(m[2]) : "";
    auto bad = [&](const std::string& what) {
      throw_invalid("cannot read requirement \"" + trim(c) + "\": " + what);
    };
    if (c.find("explainable") != std::string::npos || c.find("interpretable") != std::string::npos) {
      r.explainable = true;
    } else if (c.find("train") != std::string::npos && (c.find("within") != std::string::npos ||
                                                         c.find("under") != std::string::npos ||
                                                         c.find("less than") != std::string::npos)) {
      if (!has_number) bad("expected a time such as \"train within 2 minutes\"");
      if (unit.empty() || !(unit[0] == 's' || unit[0] == 'm' || unit[0] == 'h')) bad("expected seconds, minutes or hours");
      r.max_train_s = seconds_of(v, unit);
    } else if (c.find("predict") != std::string::npos || c.find("latency") != std::string::npos) {
      if (!has_number || (unit != "ms" && unit != "us" && unit != "s")) {
        bad("expected a time per row such as \"predict under 1 ms per row\"");
      }
      r.max_predict_ms_per_row = unit == "us" ? v / 1000 : unit == "s" ? v * 1000 : v;
    } else if (c.find("model") != std::string::npos && (c.find("under") != std::string::npos ||
                                                         c.find("below") != std::string::npos ||
                                                         c.find("smaller") != std::string::npos ||
                                                         c.find("at most") != std::string::npos)) {
      if (!has_number || unit.empty() || (unit.find('b') == std::string::npos && unit != "k" && unit != "g")) {
        bad("expected a size such as \"model under 5 MB\"");
      }
      r.max_model_mb = megabytes_of(v, unit);
    } else if (auto name = metric_named(c); !name.empty()) {
      r.metric = name;
    } else {
      r.unrecognised.push_back(trim(clause.empty() ? c : clause));
    }
  };
  for (char ch : text) {
    if (ch == ';' || ch == ',' || ch == '\n') {
      flush();
    } else {
      clause += ch;
    }
  }
  flush();
  return r;
}

}  // namespace automl
