#include "automl/params.h"

#include <cmath>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/strings.h"

namespace automl {

const char* param_type_name(ParamType type) {
  switch (type) {
    case ParamType::kInt: return "int";
    case ParamType::kReal: return "real";
    case ParamType::kChoice: return "choice";
    case ParamType::kBool: return "bool";
  }
  return "?";
}

ParamSpec ParamSpec::integer(std::string name, int64_t def) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::kInt;
  s.default_value = def;
  return s;
}

ParamSpec ParamSpec::real(std::string name, double def) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::kReal;
  s.default_value = def;
  return s;
}

ParamSpec ParamSpec::choice(std::string name, std::vector<std::string> choices, std::string def) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::kChoice;
  s.choices = std::move(choices);
  s.default_value = std::move(def);
  return s;
}

ParamSpec ParamSpec::boolean(std::string name, bool def) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::kBool;
  s.default_value = def;
  return s;
}

ParamSpec& ParamSpec::range(double lo, double hi) {
  valid_lo = lo;
  valid_hi = hi;
  if (tune_lo == 0 && tune_hi == 0) {
    tune_lo = lo;
    tune_hi = hi;
  }
  return *this;
}

ParamSpec& ParamSpec::tune(double lo, double hi) {
  tune_lo = lo;
  tune_hi = hi;
  return *this;
}

ParamSpec& ParamSpec::log() {
  log_scale = true;
  return *this;
}

ParamSpec& ParamSpec::fixed() {
  tuned = false;
  return *this;
}

ParamSpec& ParamSpec::describe(std::string text) {
  doc = std::move(text);
  return *this;
}

nlohmann::json ParamSpec::to_json() const {
  nlohmann::json j = {{"name", name}, {"type", param_type_name(type)}, {"default", default_value},
                      {"doc", doc}, {"tuned", tuned}};
  if (type == ParamType::kInt || type == ParamType::kReal) {
    j["range"] = {valid_lo, valid_hi};
    if (tuned) j["search"] = {tune_lo, tune_hi};
    j["log_scale"] = log_scale;
  }
  if (type == ParamType::kChoice) j["choices"] = choices;
  return j;
}

namespace {

std::string allowed_text(const ParamSpec& s) {
  switch (s.type) {
    case ParamType::kInt: return fmt::format("an integer in [{}, {}]", s.valid_lo, s.valid_hi);
    case ParamType::kReal: return fmt::format("a number in [{}, {}]", s.valid_lo, s.valid_hi);
    case ParamType::kChoice: return "one of " + join(s.choices, ", ");
    case ParamType::kBool: return "true or false";
  }
  return "";
}

}  // namespace

void validate_params(const std::string& family, const std::vector<ParamSpec>& specs, const nlohmann::json& params) {
  if (!params.is_object()) {
    throw_invalid(fmt::format("hyperparameters for {} must be a JSON object, got {}", family, params.dump()));
  }
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  for (auto it = params.begin(); it != params.end(); ++it) {
    if (it.key() == kPrepParam) {
      const auto& known = prep_variants();
      if (!it.value().is_string() || std::find(known.begin(), known.end(), it.value().get<std::string>()) == known.end()) {
        throw_invalid(fmt::format("{}.{} = {} is not a data-processing variant; expected one of {}", family, kPrepParam,
                                  it.value().dump(), join(known, ", ")));
      }
      continue;
    }
    const ParamSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == it.key()) spec = &s;
    }
    if (!spec) {
      throw_invalid(fmt::format("{} has no hyperparameter \"{}\"; {}", family, it.key(), did_you_mean(it.key(), names)));
    }
    const auto& v = it.value();
    auto bad = [&](const std::string& why) {
      throw_invalid(fmt::format("{}.{} = {} is {}; expected {} ({})", family, spec->name, v.dump(), why,
                                allowed_text(*spec), spec->doc));
    };
    switch (spec->type) {
      case ParamType::kInt: {
        if (!v.is_number()) bad("not a number");
        double d = v.get<double>();
        if (std::floor(d) != d) bad("not an integer");
        if (d < spec->valid_lo || d > spec->valid_hi) bad("out of range");
        break;
      }
      case ParamType::kReal: {
        if (!v.is_number()) bad("not a number");
        double d = v.get<double>();
        if (!std::isfinite(d) || d < spec->valid_lo || d > spec->valid_hi) bad("out of range");
        break;
      }
      case ParamType::kChoice: {
        if (!v.is_string()) bad("not a string");
        auto s = v.get<std::string>();
        bool ok = false;
        for (const auto& c : spec->choices) ok = ok || c == s;
        if (!ok) bad("not a valid choice");
        break;
      }
      case ParamType::kBool:
        if (!v.is_boolean()) bad("not a boolean");
        break;
    }
  }
}

nlohmann::json with_defaults(const std::vector<ParamSpec>& specs, const nlohmann::json& params) {
  nlohmann::json out = params.is_object() ? params : nlohmann::json::object();
  for (const auto& s : specs) {
    if (!out.contains(s.name)) out[s.name] = s.default_value;
    if (s.type == ParamType::kInt) out[s.name] = static_cast<int64_t>(std::llround(out[s.name].get<double>()));
  }
  return out;
}

nlohmann::json sample_params(const std::vector<ParamSpec>& specs, std::mt19937_64& rng) {
  nlohmann::json out = nlohmann::json::object();
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (const auto& s : specs) {
    if (!s.tuned) {
      out[s.name] = s.default_value;
      continue;
    }
    switch (s.type) {
      case ParamType::kInt:
      case ParamType::kReal: {
        double lo = s.tune_lo, hi = s.tune_hi, x;
        if (s.log_scale) {
          x = std::exp(std::log(lo) + u(rng) * (std::log(hi) - std::log(lo)));
        } else {
          x = lo + u(rng) * (hi - lo);
        }
        if (s.type == ParamType::kInt) {
          out[s.name] = static_cast<int64_t>(std::clamp(std::llround(x), static_cast<long long>(lo),
                                                        static_cast<long long>(hi)));
        } else {
          out[s.name] = std::clamp(x, lo, hi);
        }
        break;
      }
      case ParamType::kChoice:
        out[s.name] = s.choices[static_cast<std::size_t>(u(rng) * s.choices.size()) % s.choices.size()];
        break;
      case ParamType::kBool:
        out[s.name] = u(rng) < 0.5;
        break;
    }
  }
  return out;
}

double param_real(const nlohmann::json& params, const std::string& key) { return params.at(key).get<double>(); }
int64_t param_int(const nlohmann::json& params, const std::string& key) {
  return static_cast<int64_t>(std::llround(params.at(key).get<double>()));
}
std::string param_str(const nlohmann::json& params, const std::string& key) {
  return params.at(key).get<std::string>();
}

}  // namespace automl
