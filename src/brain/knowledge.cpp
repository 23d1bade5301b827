// The knowledge base: what past runs learned, one entry per dataset, kept as one
// JSON file (share/knowledge/knowledge-base.json ships with the program; `learn`
// rebuilds it). Similarity between data cards finds the nearest known datasets.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/knowledge.h"
#include "automl/metrics.h"
#include "automl/store.h"

#ifndef AUTOML_KNOWLEDGE_DIR
#define AUTOML_KNOWLEDGE_DIR "share/knowledge"
#endif

namespace automl {

using nlohmann::json;

double KnownDataset::relative(double score) const {
  double span = best - baseline;
  if (!std::isfinite(span) || std::abs(span) < 1e-12) return 0.0;
  return (score - baseline) / span;
}

double KnownDataset::gap_closed(double score, bool bounded) const {
  const bool higher = metric_info(metric).higher_is_better;
  const double gap = higher && bounded ? 1.0 - baseline : std::abs(baseline);
  if (!std::isfinite(gap) || !(gap > 1e-12) || !std::isfinite(score)) return std::nan("");
  return std::clamp((higher ? score - baseline : baseline - score) / gap, 0.0, 1.0);
}

std::vector<const KnownTrial*> KnownDataset::best_trials(std::size_t k, const std::string& family) const {
  const bool higher = metric_info(metric).higher_is_better;
  std::vector<const KnownTrial*> out;
  for (const auto& t : trials) {
    if (family.empty() || t.family == family) out.push_back(&t);
  }
  std::stable_sort(out.begin(), out.end(),
                   [&](auto* a, auto* b) { return higher ? a->score > b->score : a->score < b->score; });
  if (out.size() > k) out.resize(k);
  return out;
}

json KnownDataset::to_json() const {
  json t = json::array();
  for (const auto& k : trials) {
    json curve = json::array();
    for (const auto& [i, v] : k.curve) curve.push_back({i, std::isfinite(v) ? json(v) : json()});
    t.push_back({{"family", k.family}, {"params", k.params}, {"resource", k.resource}, {"status", to_string(k.status)},
                 {"score", k.score}, {"seconds_per_fit", k.seconds_per_fit}, {"iterations", k.iterations},
                 {"capped", k.capped}, {"curve_metric", k.curve_metric}, {"curve", curve}});
  }
  return {{"name", name}, {"task", task}, {"metric", metric}, {"meta_features", meta}, {"words", words},
          {"baseline", baseline}, {"best", best}, {"trials", t}};
}

KnownDataset KnownDataset::from_json(const json& j) {
  KnownDataset d;
  d.name = j.at("name");
  d.task = j.at("task");
  d.metric = j.at("metric");
  d.meta = j.at("meta_features").get<std::map<std::string, double>>();
  d.words = j.value("words", std::vector<std::string>());
  d.baseline = j.at("baseline");
  d.best = j.at("best");
  for (const auto& t : j.at("trials")) {
    KnownTrial k;
    k.family = t.at("family");
    k.params = t.at("params");
    k.resource = t.value("resource", -1);
    k.status = parse_trial_status(t.value("status", std::string("finished")));
    k.score = t.at("score");
    k.seconds_per_fit = t.value("seconds_per_fit", 0.0);
    k.iterations = t.value("iterations", 0.0);
    k.capped = t.value("capped", false);
    k.curve_metric = t.value("curve_metric", std::string());
    for (const auto& p : t.value("curve", json::array())) {
      k.curve.push_back({p[0].get<int>(), p[1].is_number() ? p[1].get<double>() : std::nan("")});
    }
    d.trials.push_back(std::move(k));
  }
  return d;
}

KnowledgeBase KnowledgeBase::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw_not_found("no knowledge base at " + path.string() + " (build one with `automl-gpt learn`)");
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("datasets")) throw_invalid(path.string() + " is not a knowledge base (JSON with \"datasets\")");
  KnowledgeBase kb;
  kb.built = j.value("built", json::object());
  try {
    for (const auto& d : j["datasets"]) kb.datasets.push_back(KnownDataset::from_json(d));
  } catch (const json::exception& e) {
    throw_invalid(path.string() + ": a dataset entry is malformed: " + e.what());
  } catch (const Error& e) {
    throw_invalid(path.string() + ": a dataset entry is malformed: " + e.what());
  }
  return kb;
}

void KnowledgeBase::save(const std::filesystem::path& path) const {
  json j = {{"format", "automl-gpt knowledge base"}, {"version", 1}, {"built", built}, {"datasets", json::array()}};
  for (const auto& d : datasets) j["datasets"].push_back(d.to_json());
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  write_json_file(path, j, 1);
}

KnowledgeBase KnowledgeBase::without(const std::string& name) const {
  KnowledgeBase kb;
  kb.built = built;
  for (const auto& d : datasets) {
    if (d.name != name) kb.datasets.push_back(d);
  }
  return kb;
}

void KnowledgeBase::add(KnownDataset d) {
  for (auto& e : datasets) {
    if (e.name == d.name && e.task == d.task && e.metric == d.metric) {
      // Several runs of one dataset: one entry, trials together, the best and the
      // baseline over all of them.
      const bool higher = metric_info(e.metric).higher_is_better;
      e.best = higher ? std::max(e.best, d.best) : std::min(e.best, d.best);
      e.trials.insert(e.trials.end(), d.trials.begin(), d.trials.end());
      return;
    }
  }
  datasets.push_back(std::move(d));
}

std::size_t KnowledgeBase::n_trials() const {
  std::size_t n = 0;
  for (const auto& d : datasets) n += d.trials.size();
  return n;
}

std::filesystem::path default_knowledge_path() {
  if (const char* env = std::getenv("AUTOML_GPT_KNOWLEDGE"); env && *env) return env;
  return std::filesystem::path(AUTOML_KNOWLEDGE_DIR) / "knowledge-base.json";
}

namespace {

void add_words(const std::string& text, std::set<std::string>* out) {
  std::string w;
  auto flush = [&] {
    bool digits = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (w.size() >= 3 && !digits) out->insert(w);
    w.clear();
  };
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else flush();
  }
  flush();
}

}  // namespace

std::vector<std::string> card_words(const DataCard& card) {
  std::set<std::string> words;
  add_words(card.name, &words);
  add_words(card.description, &words);
  add_words(card.target, &words);
  for (const auto& c : card.columns) add_words(c.name, &words);
  return {words.begin(), words.end()};
}

KnownDataset experience_from_store(RunStore& store, const std::string& run_id) {
  json r = store.run_record(run_id);
  const json& card = r["data_card"];
  if (!card.is_object() || !card.contains("meta_features")) {
    throw_invalid("run " + run_id + " has no Data Card in the store (it was made by an older version)");
  }
  DataCard dc = DataCard::from_json(card);
  KnownDataset d;
  d.name = dc.name;
  d.task = task_name(dc.task);
  d.metric = dc.metric;
  d.meta = dc.meta_features;
  d.words = card_words(dc);
  const json& v = r["summary"].is_object() ? r["summary"].value("validation", json::object()) : json::object();
  const double fits = std::max(1, v.value("folds", 1) * v.value("repeats", 1));
  const bool higher = metric_info(d.metric).higher_is_better;
  bool have_best = false, have_baseline = false;
  double worst = 0;
  for (const auto& t : r["trials"]) {
    const TrialStatus status = parse_trial_status(t["status"].get<std::string>());
    const StopReason stop = parse_stop_reason(t["stop"].get<std::string>());
    // Only ended trials with a real score on all rows: not failed, not in flight (a
    // killed run's), not cut short by the deadline or a time box, not on a sample.
    if (status == TrialStatus::kFailed || status == TrialStatus::kProposed || status == TrialStatus::kRunning) continue;
    if (!t["score"].is_number() || !std::isfinite(t["score"].get<double>())) continue;
    if (stop == StopReason::kDeadline || stop == StopReason::kTimeBox || stop == StopReason::kNoFoldRan) continue;
    if (t["deadline_stopped"].get<bool>() || t["sample_rows"].get<int>() > 0) continue;
    KnownTrial k;
    k.family = t["family"];
    k.params = t["params"];
    k.resource = t["resource"];
    k.status = status;
    k.score = t["score"];
    k.seconds_per_fit = t["seconds"].get<double>() / fits;
    k.iterations = t["iterations"];
    k.capped = t["capped"].get<bool>();
    if (!t["logs"].empty()) {
      const json& log = t["logs"][0];
      k.curve_metric = log.value("metric", std::string());
      const json& valid = log["valid"];
      const std::size_t n = valid.size();
      // About 20 points, denser early where the curve moves most.
      std::set<std::size_t> at;
      for (double q = 0; q <= 1.0001; q += 0.05) at.insert(std::min(n - 1, static_cast<std::size_t>(std::pow(q, 2.0) * (n - 1))));
      for (std::size_t i : at) {
        if (n) k.curve.push_back({static_cast<int>(i + 1), valid[i].is_number() ? valid[i].get<double>() : std::nan("")});
      }
    }
    if (is_baseline_family(k.family)) {
      d.baseline = have_baseline ? d.baseline : k.score;
      have_baseline = true;
    }
    if (!have_best || (higher ? k.score > d.best : k.score < d.best)) d.best = k.score;
    if (d.trials.empty() || (higher ? k.score < worst : k.score > worst)) worst = k.score;
    have_best = true;
    d.trials.push_back(std::move(k));
  }
  if (!have_baseline) d.baseline = worst;
  return d;
}

std::vector<Neighbour> nearest_datasets(const KnowledgeBase& kb, const DataCard& card, std::size_t k) {
  // Each meta-feature on a scale where 1 is a big difference.
  struct Axis {
    const char* key;
    double scale;
    const char* label;
  };
  static const Axis axes[] = {
      {"log_rows", 1.0, "rows (log10)"},
      {"n_features", 0.0, "features"},  // compared on a log scale below
      {"share_categorical", 0.5, "share of categorical features"},
      {"missing_share", 0.2, "share of missing cells"},
      {"class_entropy_normalised", 0.5, "class balance"},
      {"n_classes", 0.0, "classes"},  // log scale below
  };
  const std::set<std::string> mine_words = [&] {
    auto w = card_words(card);
    return std::set<std::string>(w.begin(), w.end());
  }();
  auto get = [](const std::map<std::string, double>& m, const char* key) {
    auto it = m.find(key);
    return it == m.end() ? 0.0 : it->second;
  };
  std::vector<Neighbour> out;
  for (const auto& d : kb.datasets) {
    Neighbour n;
    n.dataset = &d;
    std::vector<std::pair<double, std::string>> parts;
    for (const auto& a : axes) {
      double x = get(card.meta_features, a.key), y = get(d.meta, a.key);
      double diff;
      if (a.scale == 0.0) diff = std::abs(std::log2(1.0 + x) - std::log2(1.0 + y)) / 2.0;
      else diff = std::abs(x - y) / a.scale;
      parts.push_back({diff, fmt::format("{} {:.3g} vs {:.3g}", a.label, x, y)});
      n.distance += diff * diff;
    }
    if (d.task != task_name(card.task)) {
      n.distance += 4.0;
      n.why.push_back("a different task (" + d.task + ")");
    } else {
      n.why.push_back("the same task (" + d.task + ")");
    }
    std::vector<std::string> shared;
    for (const auto& w : d.words) {
      if (mine_words.count(w)) shared.push_back(w);
    }
    std::size_t uni = mine_words.size() + d.words.size() - shared.size();
    double jaccard = uni ? static_cast<double>(shared.size()) / static_cast<double>(uni) : 0.0;
    n.distance = std::sqrt(n.distance) + 1.0 * (1.0 - jaccard);
    std::sort(parts.begin(), parts.end());
    n.why.push_back("closest: " + parts.front().second);
    n.why.push_back("farthest: " + parts.back().second);
    if (!shared.empty()) {
      if (shared.size() > 6) shared.resize(6);
      n.why.push_back(fmt::format("shared words: {}", fmt::join(shared, ", ")));
    }
    out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.distance < b.distance; });
  if (out.size() > k) out.resize(k);
  return out;
}

}  // namespace automl
