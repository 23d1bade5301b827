#include "automl/pipeline.h"

#include <fstream>
#include <ostream>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/saved_json.h"
#include "automl/metrics.h"
#include "automl/strings.h"

namespace automl {

CsvOptions Pipeline::read_options(const CsvOptions& base) const {
  CsvOptions o = base;
  for (const auto& [name, type] : schema) o.declared_types[name] = type;
  o.types_declared_by = "the model";
  return o;
}

std::vector<double> Pipeline::predict(const Table& table) const {
  if (is_ensemble()) {
    std::vector<std::vector<double>> preds;
    for (const auto& m : members) preds.push_back(m->predict(table));
    std::vector<const std::vector<double>*> ptrs;
    for (const auto& p : preds) ptrs.push_back(&p);
    return blend.apply(ptrs, target.task, target.n_outputs());
  }
  if (!model) throw_internal("pipeline has no model");
  for (const auto& f : features) table.column(f);  // a missing column is named with close matches
  std::vector<double> pred = model->predict(preprocessor.transform(table));
  // A saved model whose files disagree (its target's classes against the family's own
  // files) would otherwise be read past its end.
  const std::size_t expected = table.n_rows * static_cast<std::size_t>(target.n_outputs());
  if (pred.size() != expected) {
    throw_invalid(fmt::format("the saved {} model gives {} values for {} rows, where its target \"{}\" needs {} per "
                              "row: its files do not belong together; save the pipeline again",
                              family, pred.size(), table.n_rows, target.name, target.n_outputs()));
  }
  return pred;
}

void Pipeline::save(const std::filesystem::path& dir) const {
  std::filesystem::create_directories(dir);
  nlohmann::json j;
  // Version 2 only adds ensembles: a single model's pipeline.json stays version 1.
  j["format"] = is_ensemble() ? "automl-gpt pipeline 2" : "automl-gpt pipeline 1";
  j["family"] = family;
  j["params"] = params;
  j["target"] = {{"name", target.name}, {"task", task_name(target.task)}, {"classes", target.classes},
                 {"positive", target.positive}};
  j["schema"] = nlohmann::json::object();
  for (const auto& [name, type] : schema) j["schema"][name] = column_type_name(type);
  j["features"] = features;
  if (is_ensemble()) {
    j["blend"] = blend.to_json();
    j["members"] = nlohmann::json::array();
    for (std::size_t i = 0; i < members.size(); ++i) {
      const std::string sub = fmt::format("member-{}", i);
      members[i]->save(dir / sub);
      j["members"].push_back({{"dir", sub}, {"family", members[i]->family}});
    }
  } else {
    j["preprocessor"] = preprocessor.to_json();
  }
  std::ofstream out(dir / "pipeline.json");
  out << j.dump(2) << "\n";
  if (!out) throw_io("cannot write " + (dir / "pipeline.json").string());
  if (!is_ensemble()) model->save(dir);
}

Pipeline Pipeline::load(const std::filesystem::path& dir) {
  auto path = dir / "pipeline.json";
  if (!std::filesystem::exists(path)) {
    throw_not_found("no saved model at " + dir.string() + " (expected " + path.string() + ")");
  }
  std::ifstream in(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(path.string() + " is damaged: " + e.what());
  }
  // Any field of the wrong shape or missing, here or in the family's own files, means the
  // folder was damaged or written by hand: one error naming the folder, never a crash.
  try {
    return load_fields(dir, path, j);
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(fmt::format("{} is damaged: {}", dir.string(), e.what()));
  }
}

Pipeline Pipeline::load_fields(const std::filesystem::path& dir, const std::filesystem::path& path,
                               const nlohmann::json& j) {
  Pipeline p;
  p.family = j.at("family").get<std::string>();
  p.params = j.at("params");
  const auto& t = j.at("target");
  p.target.name = t.at("name").get<std::string>();
  p.target.task = parse_task(t.at("task").get<std::string>());
  p.target.classes = t.at("classes").get<std::vector<std::string>>();
  p.target.positive = static_cast<int>(saved_int(t.at("positive"), -1, p.target.classes.size() >= 2 ? static_cast<int64_t>(p.target.classes.size()) - 1 : 1, path.string() + " \"positive\""));
  for (auto it = j.at("schema").begin(); it != j.at("schema").end(); ++it) {
    p.schema[it.key()] = parse_column_type(it.value().get<std::string>());
  }
  p.features = j.at("features").get<std::vector<std::string>>();
  if (j.contains("members")) {
    p.blend = Blend::from_json(j.at("blend"));
    for (const auto& m : j.at("members")) {
      // A member lives in a sub-folder of this one: a plain name, so that a damaged file
      // cannot point the loader at itself, a parent or anywhere else on the disk.
      const std::string sub = m.at("dir").get<std::string>();
      const std::filesystem::path sub_path(sub);
      if (sub.empty() || sub == "." || sub == ".." || sub_path.has_parent_path() || sub_path.is_absolute() ||
          sub.find('\0') != std::string::npos) {
        throw_invalid(fmt::format("{} is damaged: member folder {} is not a sub-folder name", path.string(),
                                  quote_value(sub, 80)));
      }
      p.members.push_back(std::make_shared<const Pipeline>(Pipeline::load(dir / sub)));
    }
    if (p.members.empty()) throw_invalid(path.string() + " is damaged: an ensemble with no members");
    if (p.members.size() != p.blend.weights.size()) {
      throw_invalid(fmt::format("{} is damaged: {} members but {} blend weights", path.string(), p.members.size(),
                                p.blend.weights.size()));
    }
    return p;
  }
  p.preprocessor = Preprocessor::from_json(j.at("preprocessor"));
  const auto& entry = model_registry().get(p.family);
  p.model = entry.create(with_defaults(entry.params, p.params), p.target.task);
  p.model->load(dir);
  return p;
}

int predicted_class(const double* proba, int n_classes) {
  int best = 0;
  for (int c = 1; c < n_classes; ++c) {
    if (proba[c] > proba[best]) best = c;
  }
  return best;
}

void write_predictions(std::ostream& out, const Target& target, const std::vector<double>& pred, std::size_t rows) {
  const int k = target.n_outputs();
  auto csv_field = [](const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  if (!is_classification(target.task)) {
    out << "prediction\n";
    for (std::size_t i = 0; i < rows; ++i) out << fmt::format("{:.17g}\n", pred[i]);
    return;
  }
  out << "prediction";
  for (const auto& c : target.classes) out << "," << csv_field("proba_" + c);
  out << "\n";
  for (std::size_t i = 0; i < rows; ++i) {
    const double* p = pred.data() + i * k;
    out << csv_field(target.classes[predicted_class(p, k)]);
    for (int c = 0; c < k; ++c) out << fmt::format(",{:.17g}", p[c]);
    out << "\n";
  }
}

std::vector<double> Blend::apply(const std::vector<const std::vector<double>*>& member_preds, Task task,
                                 int n_outputs) const {
  if (member_preds.size() != weights.size() || member_preds.empty()) {
    throw_internal(fmt::format("blend of {} weights given {} member predictions", weights.size(), member_preds.size()));
  }
  const std::size_t cells = member_preds[0]->size();
  const std::size_t k = static_cast<std::size_t>(n_outputs);
  for (const auto* p : member_preds) {
    if (p->size() != cells || k == 0 || cells % k != 0) {
      throw_invalid(fmt::format("the members of a saved ensemble give {} and {} values for {} outputs per row; save the "
                                "pipeline again", cells, p->size(), k));
    }
  }
  std::vector<double> out(cells, 0.0);
  if (kind == "ensemble") {
    double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    for (std::size_t j = 0; j < weights.size(); ++j) {
      const double w = weights[j] / total;
      for (std::size_t i = 0; i < cells; ++i) out[i] += w * (*member_preds[j])[i];
    }
    return out;
  }
  if (kind != "stacking") throw_invalid("unknown blend kind \"" + kind + "\"; expected ensemble or stacking");
  if (!is_classification(task)) {
    for (std::size_t i = 0; i < cells; ++i) {
      double s = bias.empty() ? 0.0 : bias[0];
      for (std::size_t j = 0; j < weights.size(); ++j) s += weights[j] * (*member_preds[j])[i];
      out[i] = s;
    }
    return out;
  }
  if (bias.size() != k) throw_invalid(fmt::format("stacking blend has {} biases for {} classes", bias.size(), k));
  for (std::size_t r = 0; r < cells / k; ++r) {
    double zmax = -1e300;
    for (std::size_t c = 0; c < k; ++c) {
      double s = bias[c];
      for (std::size_t j = 0; j < weights.size(); ++j) s += weights[j] * std::log(std::max((*member_preds[j])[r * k + c], kMinProba));
      out[r * k + c] = s;
      zmax = std::max(zmax, s);
    }
    double norm = 0;
    for (std::size_t c = 0; c < k; ++c) norm += out[r * k + c] = std::exp(out[r * k + c] - zmax);
    for (std::size_t c = 0; c < k; ++c) out[r * k + c] /= norm;
  }
  return out;
}

nlohmann::json Blend::to_json() const { return {{"kind", kind}, {"weights", weights}, {"bias", bias}}; }

Blend Blend::from_json(const nlohmann::json& j) {
  Blend b;
  try {
    b.kind = j.at("kind").get<std::string>();
    b.weights = j.at("weights").get<std::vector<double>>();
    b.bias = j.value("bias", std::vector<double>());
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(std::string("a saved ensemble's blend is damaged: ") + e.what());
  }
  if (b.kind != "ensemble" && b.kind != "stacking") {
    throw_invalid("unknown blend kind \"" + b.kind + "\"; expected ensemble or stacking");
  }
  return b;
}

}  // namespace automl
