// Hyperparameters declared once. A model family lists its ParamSpecs; from that one
// list come its Model Card, the validator of any proposed setting, the search
// space and the docs (`automl-gpt models --markdown`).
//
//   std::vector<ParamSpec> specs = {
//       ParamSpec::real("learning_rate", 0.1).range(1e-4, 1.0).tune(0.01, 0.3).log()
//           .describe("step size shrinkage applied to each new tree"),
//       ParamSpec::integer("max_depth", 6).range(1, 32).tune(2, 10).describe("deepest a tree may grow"),
//   };
//   nlohmann::json p = {{"learning_rate", 0.05}};
//   validate_params(family, specs, p);            // throws with the doc text on a bad value
//   nlohmann::json full = with_defaults(specs, p); // every key present
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace automl {

enum class ParamType { kInt, kReal, kChoice, kBool };
const char* param_type_name(ParamType type);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kReal;
  nlohmann::json default_value;
  double valid_lo = 0, valid_hi = 0;  // hard bounds (kInt, kReal)
  double tune_lo = 0, tune_hi = 0;    // search range, inside the hard bounds
  bool log_scale = false;
  bool tuned = true;                   // part of the search space
  std::vector<std::string> choices;    // kChoice, cheap to expensive
  std::string doc;

  static ParamSpec integer(std::string name, int64_t def);
  static ParamSpec real(std::string name, double def);
  static ParamSpec choice(std::string name, std::vector<std::string> choices, std::string def);
  static ParamSpec boolean(std::string name, bool def);

  ParamSpec& range(double lo, double hi);  // also sets the tuning range if unset
  ParamSpec& tune(double lo, double hi);
  ParamSpec& log();
  ParamSpec& fixed();  // declared and validated, but not searched
  ParamSpec& describe(std::string text);

  nlohmann::json to_json() const;
};

// A trial setting's data-processing variant, beside the family's own hyperparameters
// (every family accepts it): "design" (the planner's, also when absent), "codes" (the
// design, with every integer column whose reading is open read as category codes),
// "numbers" (... as numbers) or "plain" (the family's fixed encoding). See
// Evaluator::set_design.
inline constexpr const char* kPrepParam = "prep";
inline const std::vector<std::string>& prep_variants() {
  static const std::vector<std::string> v = {"design", "codes", "numbers", "plain"};
  return v;
}

// Throws kInvalidInput naming the family, the key, the value, the allowed range
// and the parameter's doc. Unknown keys are rejected with the closest names.
void validate_params(const std::string& family, const std::vector<ParamSpec>& specs, const nlohmann::json& params);

// `params` with every missing key set to its default.
nlohmann::json with_defaults(const std::vector<ParamSpec>& specs, const nlohmann::json& params);

// One random setting from the tuning ranges (log-uniform where declared).
nlohmann::json sample_params(const std::vector<ParamSpec>& specs, std::mt19937_64& rng);

// Typed getters for fitted code; the key must exist (validated + defaulted first).
double param_real(const nlohmann::json& params, const std::string& key);
int64_t param_int(const nlohmann::json& params, const std::string& key);
std::string param_str(const nlohmann::json& params, const std::string& key);

}  // namespace automl
