#include <algorithm>

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
