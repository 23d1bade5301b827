#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "automl/model.h"
#include "automl/strings.h"

namespace automl {

std::string registry_unknown_message(const std::string& kind, const std::string& name,
                                     const std::vector<std::string>& known) {
  return fmt::format("unknown {} \"{}\"; {} (registered: {})", kind, name, did_you_mean(name, known),
                     join(known, ", "));
}

Registry<ModelEntry>& model_registry() {
  static Registry<ModelEntry> registry("model family");
  return registry;
}

bool ModelEntry::supports(Task t) const {
  for (auto x : tasks) {
    if (x == t) return true;
  }
  return false;
}

bool ModelEntry::serves(const std::string& modality) const {
  for (const auto& m : modalities) {
    if (m == modality) return true;
  }
  return false;
}

std::vector<double> tuning_point(const ModelEntry& e, const nlohmann::json& params) {
  // Two different levels are then as far apart as the ends of a range.
  const double kLevel = std::sqrt(0.5);
  const nlohmann::json full = with_defaults(e.params, params);
  std::vector<double> out;
  for (const auto& s : e.params) {
    if (!s.tuned) continue;
    if (s.type == ParamType::kInt || s.type == ParamType::kReal) {
      const auto& v_json = full.contains(s.name) ? full[s.name] : nlohmann::json();
      double v = v_json.is_number() ? v_json.get<double>() : 0.0, lo = s.tune_lo, hi = s.tune_hi;
      if (s.log_scale) {
        v = std::log(std::max(v, 1e-12));
        lo = std::log(std::max(lo, 1e-12));
        hi = std::log(std::max(hi, 1e-12));
      }
      out.push_back(hi > lo ? std::clamp((v - lo) / (hi - lo), 0.0, 1.0) : 0.0);
    } else if (s.type == ParamType::kChoice) {
      const std::string v = full.contains(s.name) && full[s.name].is_string() ? full[s.name].get<std::string>() : "";
      for (const auto& c : s.choices) out.push_back(v == c ? kLevel : 0.0);
    } else {
      out.push_back(full.contains(s.name) && full[s.name].is_boolean() && full[s.name].get<bool>() ? 1.0 : 0.0);
    }
  }
  const std::string prep = params.is_object() && params.contains(kPrepParam) && params[kPrepParam].is_string()
                               ? params[kPrepParam].get<std::string>()
                               : prep_variants().front();
  for (const auto& v : prep_variants()) out.push_back(v == prep ? kLevel : 0.0);
  return out;
}

bool is_baseline_family(const std::string& family) {
  return model_registry().has(family) && model_registry().get(family).baseline;
}

bool log_on_metric_scale(const std::string& log_metric, const std::string& metric) {
  for (const auto* e : model_registry().entries()) {
    for (const auto& [log, run] : e->log_metric_scale) {
      if (log == log_metric && run == metric) return true;
    }
  }
  return false;
}

bool log_metric_higher(const std::string& log_metric) {
  for (const auto* e : model_registry().entries()) {
    if (std::find(e->log_metrics_higher.begin(), e->log_metrics_higher.end(), log_metric) != e->log_metrics_higher.end()) {
      return true;
    }
  }
  return false;
}

const ParamSpec* ModelEntry::param(const std::string& key) const {
  for (const auto& p : params) {
    if (p.name == key) return &p;
  }
  return nullptr;
}

nlohmann::json ModelEntry::card() const {
  nlohmann::json j;
  j["name"] = name;
  j["structure"] = structure;
  j["description"] = description;
  j["tasks"] = nlohmann::json::array();
  for (auto t : tasks) j["tasks"].push_back(task_name(t));
  j["preprocessing"] = encoding == Encoding::kNative ? "native (numbers as-is, categories as codes)"
                      : encoding == Encoding::kText
                          ? "raw documents (text columns joined) for its own tokeniser, plus one-hot categories and "
                            "imputed, standardised numbers"
                      : encoding == Encoding::kImage
                          ? "image tensor from the pixel columns (channel, row, column), scaled to [0, 1] by the "
                            "training maximum"
                          : "one-hot categories, imputed and standardised numbers";
  if (!resource_param.empty()) j["resource"] = resource_param;
  j["explainable"] = explainable;
  j["hyperparameters"] = nlohmann::json::array();
  for (const auto& p : params) j["hyperparameters"].push_back(p.to_json());
  return j;
}

}  // namespace automl
