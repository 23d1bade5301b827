#include "automl/report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "assets.h"
#include "automl/error.h"
#include "automl/stats.h"
#include "automl/table.h"

namespace automl {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Curves and scatters keep at most this many points: enough for the eye, and the page
// stays small and quick however long the run was.
constexpr std::size_t kCurvePoints = 200;
constexpr std::size_t kScatterPoints = 2000;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw_io("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json read_json(const fs::path& p) {
  if (!fs::exists(p)) return nullptr;
  try {
    return json::parse(read_text(p));
  } catch (const json::parse_error& e) {
    throw_invalid(fmt::format("{}: not valid JSON ({})", p.string(), e.what()));
  }
}

std::vector<json> read_jsonl(const fs::path& p) {
  std::vector<json> out;
  if (!fs::exists(p)) return out;
  std::istringstream in(read_text(p));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    try {
      out.push_back(json::parse(line));
    } catch (const json::parse_error& e) {
      throw_invalid(fmt::format("{}:{}: not valid JSON ({})", p.string(), n, e.what()));
    }
  }
  return out;
}

// A CSV file's records as text, the header first (empty when the file is absent).
std::vector<std::vector<std::string>> read_records(const fs::path& p) {
  if (!fs::exists(p)) return {};
  return parse_csv_records(read_text(p));
}

double number_or_nan(const json& j) { return j.is_number() ? j.get<double>() : std::nan(""); }

// NaN is not JSON: null.
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

double parse_number(const std::string& s) {
  if (s.empty()) return std::nan("");
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end && *end == '\0' ? v : std::nan("");
}

// Indices 0..n-1 thinned to about `most`, evenly, keeping the first and the last.
std::vector<std::size_t> thin(std::size_t n, std::size_t most) {
  std::vector<std::size_t> idx;
  if (n <= most) {
    for (std::size_t i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  for (std::size_t k = 0; k < most; ++k) idx.push_back(k * (n - 1) / (most - 1));
  return idx;
}

// The header's column index for `name`, or -1.
int column_of(const std::vector<std::string>& header, const std::string& name) {
  auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

json leaderboard_part(const std::vector<std::vector<std::string>>& board) {
  json part = {{"columns", json::array()}, {"rows", json::array()}};
  if (board.empty()) return part;
  part["columns"] = board[0];
  for (std::size_t i = 1; i < board.size(); ++i) part["rows"].push_back(board[i]);
  return part;
}

// Each trial's predicted curve (checkpoints of the planner's log prediction) and real one
// (the validation metric per round or epoch, averaged over its folds; a fold that stopped
// earlier than others, by early stopping or its time box, holds its last value, so the
// mean does not jump where a fold ends).
json curves_part(const std::vector<json>& predicted, const std::vector<json>& logs) {
  struct Real {
    std::string family, metric;
    std::vector<std::vector<double>> folds;  // each fold's validation values, NaN where missing
  };
  std::map<int, Real> real;
  for (const json& l : logs) {
    Real& r = real[l.value("trial_id", -1)];
    r.family = l.value("family", std::string());
    r.metric = l.value("metric", std::string());
    std::vector<double> v;
    if (l.contains("valid") && l["valid"].is_array()) {
      for (const json& x : l["valid"]) v.push_back(number_or_nan(x));
    }
    r.folds.push_back(std::move(v));
  }
  std::map<int, json> out;
  for (const json& p : predicted) {
    const int id = p.value("trial_id", -1);
    const json& pr = p.contains("predicted") && p["predicted"].is_object() ? p["predicted"] : json::object();
    json c = {{"trial", id},
              {"family", p.value("family", std::string())},
              {"hyperparameters", p.value("hyperparameters", json::object())},
              {"predicted_final", pr.contains("final_score") ? num(number_or_nan(pr["final_score"])) : json(nullptr)},
              {"uncertainty", pr.contains("uncertainty") ? num(number_or_nan(pr["uncertainty"])) : json(nullptr)},
              {"basis", pr.value("basis", std::string())},
              {"real_final", p.contains("real_score") ? num(number_or_nan(p["real_score"])) : json(nullptr)},
              {"predicted", {{"x", pr.value("checkpoints", json::array())}, {"y", pr.value("metric", json::array())}}},
              {"real", {{"x", json::array()}, {"y", json::array()}}}};
    out[id] = c;
  }
  for (const auto& [id, r] : real) {
    json& c = out[id];
    if (!c.contains("trial")) c = {{"trial", id}, {"family", r.family}, {"predicted", {{"x", json::array()}, {"y", json::array()}}}};
    std::size_t rounds = 0;
    for (const auto& f : r.folds) rounds = std::max(rounds, f.size());
    std::vector<double> sum(rounds, 0.0), last(r.folds.size(), std::nan(""));
    std::vector<int> count(rounds, 0);
    for (std::size_t i = 0; i < rounds; ++i) {
      for (std::size_t f = 0; f < r.folds.size(); ++f) {
        if (i < r.folds[f].size() && !std::isnan(r.folds[f][i])) last[f] = r.folds[f][i];
        if (std::isnan(last[f])) continue;
        sum[i] += last[f];
        ++count[i];
      }
    }
    json x = json::array(), y = json::array();
    for (std::size_t i : thin(rounds, kCurvePoints)) {
      if (count[i] == 0) continue;
      x.push_back(i + 1);
      y.push_back(num(sum[i] / count[i]));
    }
    c["real"] = {{"x", x}, {"y", y}, {"metric", r.metric}, {"folds", r.folds.size()}};
  }
  json a = json::array();
  for (auto& [id, c] : out) a.push_back(std::move(c));
  return a;
}

// Predicted against real final scores, and their rank correlation.
json prediction_scatter(const json& curves) {
  json points = json::array();
  std::vector<double> pred, real;
  for (const json& c : curves) {
    if (!c.contains("predicted_final") || !c["predicted_final"].is_number() || !c.contains("real_final") ||
        !c["real_final"].is_number())
      continue;
    pred.push_back(c["predicted_final"].get<double>());
    real.push_back(c["real_final"].get<double>());
    points.push_back({{"trial", c["trial"]}, {"family", c["family"]}, {"predicted", pred.back()}, {"real", real.back()}});
  }
  return {{"points", points}, {"n", pred.size()}, {"spearman", pred.size() >= 3 ? num(spearman(pred, real)) : json(nullptr)}};
}

// ROC and precision-recall curves of one class against the rest.
json class_curves(const std::string& cls, const std::vector<double>& score, const std::vector<bool>& positive) {
  std::vector<std::size_t> order(score.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  const double pos = static_cast<double>(std::count(positive.begin(), positive.end(), true));
  const double neg = static_cast<double>(positive.size()) - pos;
  std::vector<double> fpr{0}, tpr{0}, recall, precision;
  double tp = 0, fp = 0, auc = 0, ap = 0, last_recall = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    (positive[order[k]] ? tp : fp) += 1;
    if (k + 1 < order.size() && score[order[k + 1]] == score[order[k]]) continue;  // ties: one threshold
    const double t = pos > 0 ? tp / pos : 0, f = neg > 0 ? fp / neg : 0;
    auc += (f - fpr.back()) * (t + tpr.back()) / 2;
    fpr.push_back(f);
    tpr.push_back(t);
    const double p = tp / (tp + fp);
    ap += (t - last_recall) * p;
    last_recall = t;
    recall.push_back(t);
    precision.push_back(p);
  }
  auto pick = [](const std::vector<double>& a, const std::vector<double>& b) {
    json x = json::array(), y = json::array();
    for (std::size_t i : thin(a.size(), kCurvePoints)) {
      x.push_back(num(a[i]));
      y.push_back(num(b[i]));
    }
    return std::make_pair(x, y);
  };
  auto [fx, ty] = pick(fpr, tpr);
  auto [rx, py] = pick(recall, precision);
  return {{"class", cls},
          {"positives", pos},
          {"auc", pos > 0 && neg > 0 ? num(auc) : json(nullptr)},
          {"average_precision", pos > 0 ? num(ap) : json(nullptr)},
          {"roc", {{"fpr", fx}, {"tpr", ty}}},
          {"pr", {{"recall", rx}, {"precision", py}}}};
}

// The test set: confusion matrix and curves, or residuals, from test_predictions.csv and
// test_labels.csv (null when either is absent).
json test_part(const fs::path& dir, const json& card) {
  const auto pred = read_records(dir / "test_predictions.csv");
  const auto labels = read_records(dir / "test_labels.csv");
  if (pred.size() < 2 || labels.size() < 2) return nullptr;
  if (pred.size() != labels.size()) {
    throw_invalid(fmt::format("{} has {} rows and {} has {}: they should describe the same test rows",
                              (dir / "test_predictions.csv").string(), pred.size() - 1,
                              (dir / "test_labels.csv").string(), labels.size() - 1));
  }
  const auto& header = pred[0];
  const std::size_t n = pred.size() - 1;
  if (header.size() == 1) {  // regression: one "prediction" column
    std::vector<std::pair<double, double>> pairs;
    for (std::size_t i = 1; i <= n; ++i) {
      const double a = parse_number(labels[i].empty() ? std::string() : labels[i][0]);
      const double p = parse_number(pred[i].empty() ? std::string() : pred[i][0]);
      if (std::isfinite(a) && std::isfinite(p)) pairs.emplace_back(a, p);
    }
    json actual = json::array(), predicted = json::array();
    for (std::size_t i : thin(pairs.size(), kScatterPoints)) {
      actual.push_back(pairs[i].first);
      predicted.push_back(pairs[i].second);
    }
    return {{"kind", "regression"}, {"rows", pairs.size()}, {"actual", actual}, {"predicted", predicted}};
  }
  std::vector<std::string> classes;
  for (std::size_t c = 1; c < header.size(); ++c) {
    classes.push_back(header[c].rfind("proba_", 0) == 0 ? header[c].substr(6) : header[c]);
  }
  const std::size_t k = classes.size();
  std::map<std::string, std::size_t> index;
  for (std::size_t c = 0; c < k; ++c) index[classes[c]] = c;
  std::vector<std::vector<long>> confusion(k, std::vector<long>(k, 0));
  std::vector<std::vector<double>> proba(k);
  std::vector<std::size_t> truth;
  std::size_t unscored = 0;
  for (std::size_t i = 1; i <= n; ++i) {
    const std::string& label = labels[i].empty() ? std::string() : labels[i][0];
    auto t = index.find(label);
    if (t == index.end() || pred[i].size() != header.size()) {
      unscored += !label.empty();
      continue;
    }
    auto p = index.find(pred[i][0]);
    if (p != index.end()) ++confusion[t->second][p->second];
    truth.push_back(t->second);
    for (std::size_t c = 0; c < k; ++c) proba[c].push_back(parse_number(pred[i][c + 1]));
  }
  // Binary: the positive class's curves; multiclass: each class against the rest.
  std::vector<std::size_t> curve_classes;
  if (k == 2) {
    const std::string positive = card.value("positive_class", std::string());
    curve_classes.push_back(index.count(positive) ? index[positive] : 1);
  } else {
    for (std::size_t c = 0; c < k; ++c) curve_classes.push_back(c);
  }
  json curves = json::array();
  for (std::size_t c : curve_classes) {
    std::vector<bool> positive(truth.size());
    for (std::size_t i = 0; i < truth.size(); ++i) positive[i] = truth[i] == c;
    curves.push_back(class_curves(classes[c], proba[c], positive));
  }
  return {{"kind", "classification"}, {"rows", truth.size()}, {"unscored_rows", unscored},
          {"classes", classes},       {"confusion", confusion}, {"curves", curves}};
}

// feature_importance.csv as rows (null when the run has none).
json importance_part(const fs::path& dir) {
  const auto rows = read_records(dir / "feature_importance.csv");
  if (rows.empty()) return nullptr;
  const auto& h = rows[0];
  const int feature = column_of(h, "feature");
  if (feature < 0) throw_invalid((dir / "feature_importance.csv").string() + ": no \"feature\" column");
  const std::vector<std::string> measures = {"importance_mean", "importance_std", "gain", "shap_abs_mean"};
  json out = json::array();
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].size() != h.size()) continue;
    json r = {{"feature", rows[i][static_cast<std::size_t>(feature)]}};
    for (const auto& m : measures) {
      const int c = column_of(h, m);
      r[m] = c < 0 ? json(nullptr) : num(parse_number(rows[i][static_cast<std::size_t>(c)]));
    }
    out.push_back(r);
  }
  std::stable_sort(out.begin(), out.end(), [](const json& a, const json& b) {
    auto v = [](const json& r) { return r["importance_mean"].is_number() ? r["importance_mean"].get<double>() : -INFINITY; };
    return v(a) > v(b);
  });
  return out;
}

// The template with each {{NAME}} marker replaced, in one pass: what is put in is never
// searched for markers.
std::string fill(std::string_view tpl, const std::map<std::string, std::string>& parts) {
  std::string out;
  std::size_t at = 0;
  for (;;) {
    const auto open = tpl.find("{{", at);
    if (open == std::string_view::npos) break;
    const auto close = tpl.find("}}", open);
    if (close == std::string_view::npos) break;
    auto it = parts.find(std::string(tpl.substr(open + 2, close - open - 2)));
    if (it == parts.end()) {  // not a marker: keep the braces
      out.append(tpl.substr(at, open + 2 - at));
      at = open + 2;
      continue;
    }
    out.append(tpl.substr(at, open - at));
    out += it->second;
    at = close + 2;
  }
  out.append(tpl.substr(at));
  return out;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

}  // namespace

json report_data(const fs::path& dir, const json* summary) {
  json d;
  d["summary"] = summary ? *summary : read_json(dir / "summary.json");
  if (d["summary"].is_null()) {
    throw_not_found(fmt::format("{} has no summary.json: is it a run folder, and did the run finish? (an interrupted "
                                "run gets one from `automl-gpt resume`)",
                                dir.string()));
  }
  d["card"] = read_json(dir / "data_card.json");
  d["plan"] = read_json(dir / "plan.json");
  d["request"] = read_json(dir / "request.json");
  d["leaderboard"] = leaderboard_part(read_records(dir / "leaderboard.csv"));
  d["curves"] = curves_part(read_jsonl(dir / "predicted_logs.jsonl"), read_jsonl(dir / "training_logs.jsonl"));
  d["scatter"] = prediction_scatter(d["curves"]);
  d["test"] = test_part(dir, d["card"].is_object() ? d["card"] : json::object());
  d["importance"] = importance_part(dir);
  json calls = json::array();
  for (json& c : read_jsonl(dir / "llm_calls.jsonl")) calls.push_back(std::move(c));
  d["llm_calls"] = calls;
  return d;
}

std::string render_report(const json& data) {
  // The data sits in a <script type="application/json">: "<", ">" and "&" are written as
  // JSON escapes, so no text from the data (a column named "</script>") ends the element.
  std::string j = data.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string safe;
  safe.reserve(j.size());
  for (char c : j) {
    if (c == '<') safe += "\\u003c";
    else if (c == '>') safe += "\\u003e";
    else if (c == '&') safe += "\\u0026";
    else safe += c;
  }
  std::string title = "AutoML-GPT report";
  const json& s = data.value("summary", json::object());
  if (s.is_object() && s.contains("dataset") && s["dataset"].is_string()) title += ": " + s["dataset"].get<std::string>();
  return fill(report_assets::kTemplate, {{"TITLE", html_escape(title)},
                                         {"CHARTJS", std::string(report_assets::kChartJs)},
                                         {"REPORT_JS", std::string(report_assets::kScript)},
                                         {"DATA", safe}});
}

fs::path write_report(const fs::path& dir, const json* summary) {
  const std::string page = render_report(report_data(dir, summary));
  const fs::path path = dir / "report.html";
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << page;
    if (!out) throw_io("cannot write " + path.string());
  }
  fs::rename(tmp, path);
  return path;
}

}  // namespace automl
