#include "automl/explain.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/metrics.h"

namespace automl {
namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A column of `n` cells, cell k copied from `src`'s row at(k).
template <typename At>
Column gather(const Column& src, std::size_t n, At at) {
  Column c;
  c.name = src.name;
  c.type = src.type;
  c.levels = src.levels;
  if (src.type == ColumnType::kNumeric) {
    c.numeric.resize(n);
    for (std::size_t k = 0; k < n; ++k) c.numeric[k] = src.numeric[at(k)];
  } else if (src.type == ColumnType::kCategorical) {
    c.codes.resize(n);
    for (std::size_t k = 0; k < n; ++k) c.codes[k] = src.codes[at(k)];
  } else {
    c.text.resize(n);
    c.text_missing.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      c.text[k] = src.text[at(k)];
      c.text_missing[k] = src.text_missing[at(k)];
    }
  }
  for (std::size_t k = 0; k < n; ++k) c.n_missing += c.is_missing(k);
  return c;
}

// The columns `names` of `t`, the rows `rows` of each.
Table take_rows(const Table& t, const std::vector<std::string>& names, const std::vector<std::size_t>& rows) {
  Table out;
  out.source = t.source;
  out.n_rows = rows.size();
  for (const auto& name : names) out.columns.push_back(gather(t.column(name), rows.size(), [&](std::size_t k) { return rows[k]; }));
  return out;
}

// The columns `names` of `a` with the rows of `b` after its own; the categories of `b`
// are recoded onto `a`'s levels (a level `a` lacks is added).
Table stack(const Table& a, const Table& b, const std::vector<std::string>& names) {
  Table out;
  out.source = a.source;
  out.n_rows = a.n_rows + b.n_rows;
  for (const auto& name : names) {
    const Column& ca = a.column(name);
    const Column& cb = b.column(name);
    if (ca.type != cb.type) {
      throw_invalid(fmt::format("column \"{}\" reads as {} in {} but as {} in {}", name, column_type_name(ca.type),
                                a.source, column_type_name(cb.type), b.source));
    }
    Column c = ca;
    if (c.type == ColumnType::kNumeric) {
      c.numeric.insert(c.numeric.end(), cb.numeric.begin(), cb.numeric.end());
    } else if (c.type == ColumnType::kCategorical) {
      std::map<std::string, int32_t> index;
      for (std::size_t i = 0; i < c.levels.size(); ++i) index[c.levels[i]] = static_cast<int32_t>(i);
      std::vector<int32_t> recode(cb.levels.size());
      for (std::size_t i = 0; i < cb.levels.size(); ++i) {
        auto it = index.find(cb.levels[i]);
        if (it == index.end()) {
          it = index.emplace(cb.levels[i], static_cast<int32_t>(c.levels.size())).first;
          c.levels.push_back(cb.levels[i]);
        }
        recode[i] = it->second;
      }
      for (int32_t code : cb.codes) c.codes.push_back(code < 0 ? -1 : recode[static_cast<std::size_t>(code)]);
    } else {
      c.text.insert(c.text.end(), cb.text.begin(), cb.text.end());
      c.text_missing.insert(c.text_missing.end(), cb.text_missing.begin(), cb.text_missing.end());
    }
    c.n_missing += cb.n_missing;
    out.columns.push_back(std::move(c));
  }
  return out;
}

// `n` distinct indices of 0..total-1 (all of them, in order, when n >= total).
std::vector<std::size_t> sample_indices(std::size_t total, std::size_t n, std::mt19937_64& rng) {
  std::vector<std::size_t> idx(total);
  std::iota(idx.begin(), idx.end(), 0);
  if (n >= total) return idx;
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(n);
  std::sort(idx.begin(), idx.end());
  return idx;
}

// The outputs explained: the positive class (binary), every class, or the value.
std::vector<int> explained_outputs(const Target& t) {
  if (t.task == Task::kBinary) return {t.positive};
  if (t.task == Task::kMulticlass) {
    std::vector<int> all(static_cast<std::size_t>(t.n_classes()));
    std::iota(all.begin(), all.end(), 0);
    return all;
  }
  return {0};
}

std::vector<std::string> output_names(const Target& t, const std::vector<int>& outputs) {
  std::vector<std::string> names;
  for (int o : outputs) names.push_back(is_classification(t.task) ? t.classes[static_cast<std::size_t>(o)] : t.name);
  return names;
}

// The index of each input column among `columns`.
std::map<std::string, std::size_t> column_index(const std::vector<std::string>& columns) {
  std::map<std::string, std::size_t> at;
  for (std::size_t i = 0; i < columns.size(); ++i) at[columns[i]] = i;
  return at;
}

// Exact contributions from the model itself, summed onto the input columns; false
// when the pipeline has no such method (an ensemble, or a family without one).
bool exact_contributions(const Pipeline& p, const Table& table, ColumnContributions* out) {
  if (p.is_ensemble() || !p.model) return false;
  const FeatureMatrix x = p.preprocessor.transform(table);
  std::optional<Contributions> c = p.model->contributions(x);
  if (!c) return false;
  const std::vector<std::string> sources = p.preprocessor.output_columns();
  if (sources.size() != c->features) {
    throw_internal(fmt::format("{} encoded features but {} contributions per row", sources.size(), c->features));
  }
  const auto at = column_index(out->columns);
  const std::size_t d = out->columns.size();
  // Binary: the model's margin is the log-odds of class index 1; for a positive class
  // of index 0 every value changes sign (log-odds of the other class).
  const bool flip = p.target.task == Task::kBinary && p.target.positive != 1;
  const double sign = flip ? -1.0 : 1.0;
  const std::vector<int> outputs = explained_outputs(p.target);
  if (static_cast<std::size_t>(c->outputs) != (p.target.task == Task::kMulticlass ? outputs.size() : 1)) {
    throw_internal(fmt::format("{} outputs of contributions for a {} model", c->outputs, task_name(p.target.task)));
  }
  out->values.assign(out->rows * outputs.size() * (d + 1), 0.0);
  for (std::size_t r = 0; r < out->rows; ++r) {
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      const double* src = c->values.data() + (r * static_cast<std::size_t>(c->outputs) + o) * (c->features + 1);
      double* dst = out->values.data() + (r * outputs.size() + o) * (d + 1);
      for (std::size_t f = 0; f < c->features; ++f) {
        auto it = at.find(sources[f]);
        if (it == at.end()) throw_internal("encoded feature of unknown column \"" + sources[f] + "\"");
        dst[it->second] += sign * src[f];
      }
      dst[d] = sign * src[c->features];
    }
  }
  out->method = "tree_shap";
  if (p.target.task == Task::kRegression) {
    out->scale = "predicted value";
  } else if (p.target.task == Task::kBinary) {
    out->scale = fmt::format("log-odds of class \"{}\"", out->outputs[0]);
  } else {
    out->scale = "raw score of each class (the softmax of the scores gives the probabilities)";
  }
  return true;
}

void sampling_contributions(const Pipeline& p, const Table& table, const ExplainOptions& opt, ColumnContributions* out) {
  const std::vector<std::string>& columns = out->columns;
  const std::size_t d = columns.size(), n = table.n_rows;
  std::mt19937_64 rng(opt.seed ^ 0x5eed5ba9ULL);
  // One table holding the explained rows, then the reference rows.
  Table all = opt.background ? stack(table, *opt.background, columns) : take_rows(table, columns, sample_indices(n, n, rng));
  std::vector<std::size_t> refs;
  if (opt.background) {
    if (opt.background->n_rows == 0) throw_invalid("the background file " + opt.background->source + " has no rows");
    for (auto i : sample_indices(opt.background->n_rows, opt.background_rows, rng)) refs.push_back(n + i);
  } else {
    refs = sample_indices(n, opt.background_rows, rng);
  }
  const int pairs = std::max(1, (opt.permutations + 1) / 2);
  const std::size_t orders = 2 * static_cast<std::size_t>(pairs);
  const std::size_t per_row = orders * (d + 1);  // composite rows per explained row
  const std::vector<int> outputs = explained_outputs(p.target);
  const std::size_t k_out = static_cast<std::size_t>(p.target.n_outputs());
  out->values.assign(n * outputs.size() * (d + 1), 0.0);
  // Rows in batches of at most about 50k composite rows and 4M cells per prediction.
  const std::size_t batch =
      std::max<std::size_t>(1, std::min(50000 / per_row, 4000000 / (per_row * std::max<std::size_t>(1, d))));
  for (std::size_t first = 0; first < n; first += batch) {
    const std::size_t last = std::min(n, first + batch);
    const std::size_t m = (last - first) * per_row;
    // For composite row k: which explained row, which reference, and how many columns
    // of the order come from the explained row; the order itself per (row, order).
    std::vector<std::size_t> row_of(m), ref_of(m), step_of(m), order_of(m);
    std::vector<std::vector<std::size_t>> order_list;  // each: the columns in order
    std::vector<std::vector<std::size_t>> pos_list;    // each: the position of every column
    std::size_t k = 0;
    for (std::size_t i = first; i < last; ++i) {
      for (int pr = 0; pr < pairs; ++pr) {
        std::vector<std::size_t> order(d);
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        const std::size_t ref = refs[std::uniform_int_distribution<std::size_t>(0, refs.size() - 1)(rng)];
        for (int rev = 0; rev < 2; ++rev) {
          if (rev) std::reverse(order.begin(), order.end());
          std::vector<std::size_t> pos(d);
          for (std::size_t q = 0; q < d; ++q) pos[order[q]] = q;
          for (std::size_t step = 0; step <= d; ++step, ++k) {
            row_of[k] = i;
            ref_of[k] = ref;
            step_of[k] = step;
            order_of[k] = order_list.size();
          }
          order_list.push_back(order);
          pos_list.push_back(std::move(pos));
        }
      }
    }
    Table composite;
    composite.source = table.source;
    composite.n_rows = m;
    for (std::size_t j = 0; j < d; ++j) {
      composite.columns.push_back(gather(all.column(columns[j]), m, [&](std::size_t q) {
        return pos_list[order_of[q]][j] < step_of[q] ? row_of[q] : ref_of[q];
      }));
    }
    const std::vector<double> pred = p.predict(composite);
    const double w = 1.0 / static_cast<double>(orders);
    for (std::size_t start = 0; start < m; start += d + 1) {
      const std::size_t i = row_of[start];
      const auto& order = order_list[order_of[start]];
      for (std::size_t o = 0; o < outputs.size(); ++o) {
        double* dst = out->values.data() + (i * outputs.size() + o) * (d + 1);
        const std::size_t c = static_cast<std::size_t>(outputs[o]);
        dst[d] += w * pred[start * k_out + c];
        for (std::size_t step = 1; step <= d; ++step) {
          const double delta = pred[(start + step) * k_out + c] - pred[(start + step - 1) * k_out + c];
          dst[order[step - 1]] += w * delta;
        }
      }
    }
  }
  out->method = "sampling_shapley";
  if (p.target.task == Task::kRegression) {
    out->scale = "predicted value";
  } else if (p.target.task == Task::kBinary) {
    out->scale = fmt::format("probability of class \"{}\"", out->outputs[0]);
  } else {
    out->scale = "probability of each class";
  }
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string number(double v) { return std::isnan(v) ? std::string() : fmt::format("{:.10g}", v); }

}  // namespace

double ColumnContributions::total(std::size_t row, std::size_t output) const {
  double s = 0;
  for (std::size_t j = 0; j <= columns.size(); ++j) s += at(row, output, j);
  return s;
}

void check_input_columns(const Pipeline& p, const Table& table) {
  std::vector<std::string> missing;
  for (const auto& f : p.features) {
    if (table.find(f) < 0) missing.push_back(f);
  }
  if (missing.empty()) return;
  std::string names;
  for (std::size_t i = 0; i < missing.size() && i < 5; ++i) names += (i ? ", \"" : "\"") + missing[i] + "\"";
  if (missing.size() > 5) names += fmt::format(" and {} more", missing.size() - 5);
  std::string hint;
  try {
    table.column(missing[0]);
  } catch (const Error& e) {
    hint = std::string(": ") + e.what();  // the closest names the file has
  }
  throw_not_found(fmt::format("{} lacks {} {} the model was trained on{}", table.source,
                            missing.size() == 1 ? "column" : "columns", names, hint));
}

ColumnContributions explain_rows(const Pipeline& p, const Table& table, const ExplainOptions& opt) {
  if (opt.method != "auto" && opt.method != "sampling") {
    throw_invalid("unknown explanation method \"" + opt.method + "\"; expected auto or sampling");
  }
  if (opt.permutations < 1) throw_invalid(fmt::format("--permutations must be at least 1, not {}", opt.permutations));
  if (opt.background_rows < 1) throw_invalid("--background-rows must be at least 1");
  check_input_columns(p, table);
  if (opt.background) check_input_columns(p, *opt.background);
  ColumnContributions c;
  c.columns = p.features;
  c.outputs = output_names(p.target, explained_outputs(p.target));
  c.rows = table.n_rows;
  if (table.n_rows == 0) throw_invalid(table.source + " has no rows to explain");
  if (opt.method == "auto" && exact_contributions(p, table, &c)) return c;
  sampling_contributions(p, table, opt, &c);
  return c;
}

void write_contributions(std::ostream& out, const ColumnContributions& c) {
  std::set<std::string> taken(c.columns.begin(), c.columns.end());
  auto reserved = [&](std::string name) {
    while (taken.count(name)) name = "_" + name;
    return name;
  };
  out << reserved("row") << "," << reserved("output");
  for (const auto& col : c.columns) out << "," << csv_field(col);
  out << "," << reserved("bias") << "," << reserved("total") << "\n";
  for (std::size_t r = 0; r < c.rows; ++r) {
    for (std::size_t o = 0; o < c.outputs.size(); ++o) {
      out << r << "," << csv_field(c.outputs[o]);
      for (std::size_t j = 0; j <= c.columns.size(); ++j) out << fmt::format(",{:.10g}", c.at(r, o, j));
      out << fmt::format(",{:.10g}\n", c.total(r, o));
    }
  }
}

nlohmann::json FeatureImportance::to_json() const {
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  nlohmann::json j = {{"file", "feature_importance.csv"},
                      {"method", "permutation"},
                      {"metric", metric},
                      {"base_score", num(base_score)},
                      {"rows", rows},
                      {"repeats", repeats},
                      {"repeats_asked", repeats_asked},
                      {"columns", columns.size()},
                      {"columns_measured", columns_measured},
                      {"shap_rows", shap_rows},
                      {"measured_on", measured_on},
                      {"seconds", seconds}};
  if (!cut.empty()) j["cut"] = cut;
  return j;
}

FeatureImportance permutation_importance(const Pipeline& p, const Table& table, const std::vector<std::size_t>& rows,
                                         const std::vector<double>& y, const std::string& metric,
                                         const ImportanceOptions& opt) {
  const auto start = Clock::now();
  if (y.size() != rows.size()) throw_internal(fmt::format("{} targets for {} rows", y.size(), rows.size()));
  FeatureImportance fi;
  fi.metric = metric;
  for (const auto& f : p.features) fi.columns.push_back(ColumnImportance{f});
  auto left = [&] {
    if (opt.deadline == Clock::time_point::max()) return std::numeric_limits<double>::infinity();
    return std::chrono::duration<double>(opt.deadline - Clock::now()).count();
  };
  auto finish = [&](FeatureImportance& r) -> FeatureImportance& {
    std::stable_sort(r.columns.begin(), r.columns.end(), [](const ColumnImportance& a, const ColumnImportance& b) {
      if (std::isnan(a.importance_mean) != std::isnan(b.importance_mean)) return !std::isnan(a.importance_mean);
      return a.importance_mean > b.importance_mean;
    });
    r.seconds = seconds_since(start);
    return r;
  };
  if (rows.empty() || p.features.empty()) {
    fi.cut = rows.empty() ? "no rows to score" : "no input columns";
    return finish(fi);
  }
  std::mt19937_64 rng(opt.seed ^ 0x1f0e7a11ULL);
  const bool higher = metric_info(metric).higher_is_better;
  std::vector<std::size_t> pick = sample_indices(rows.size(), opt.max_rows, rng);
  auto sample_of = [&](const std::vector<std::size_t>& idx, Table* t, std::vector<double>* ys) {
    std::vector<std::size_t> table_rows;
    ys->clear();
    for (auto i : idx) {
      table_rows.push_back(rows[i]);
      ys->push_back(y[i]);
    }
    *t = take_rows(table, p.features, table_rows);
  };
  Table work;
  std::vector<double> ys;
  const std::size_t d = fi.columns.size();
  int repeats = std::max(1, opt.repeats);
  // The pace: predicting r rows takes about a + b r seconds (a: the model's fixed cost
  // per call, which dominates for an ensemble's members; b: per row), measured on 50
  // and 200 rows. The sample is then as large as lets one prediction per repeat (every
  // column's shuffled block in one batch) fit in 80% of the time left, and at least 200
  // rows; fewer repeats when even those do not fit.
  double pace_a = 0, pace_b = 0;
  if (opt.deadline != Clock::time_point::max()) {
    auto time_predict = [&](std::size_t n) {
      sample_of(sample_indices(rows.size(), n, rng), &work, &ys);
      const auto t = Clock::now();
      p.predict(work);
      return seconds_since(t);
    };
    const std::size_t n1 = std::min<std::size_t>(50, pick.size()), n2 = std::min<std::size_t>(200, pick.size());
    const double t1 = time_predict(n1), t2 = n2 > n1 ? time_predict(n2) : t1;
    // Timings on a busy machine are noisy: the per-row cost is taken as at least a
    // quarter of the 200-row average, so a noisy difference never makes rows look free.
    pace_b = n2 > n1 ? std::max(0.0, (t2 - t1) / static_cast<double>(n2 - n1)) : 0.0;
    pace_b = std::max(pace_b, 0.25 * t2 / static_cast<double>(n2));
    pace_a = std::max(1e-5, t1 - pace_b * static_cast<double>(n1));
    if (pace_b > 0) {
      const double fit_rows = (0.8 * left() / repeats - pace_a) / (pace_b * static_cast<double>(d));
      if (fit_rows < static_cast<double>(pick.size())) {
        pick = sample_indices(rows.size(), static_cast<std::size_t>(std::max(200.0, fit_rows)), rng);
      }
    }
    const double repeat_s = pace_a + pace_b * static_cast<double>(pick.size() * d);
    const double fit = 0.8 * left() / repeat_s;
    if (fit < repeats) {
      fi.cut = fmt::format("{} repeats asked, time for {}", repeats, std::max(1, static_cast<int>(fit)));
      repeats = std::max(1, static_cast<int>(fit));
      // The whole repeats that fit leave part of the time: more rows fill it (up to
      // max_rows), so the one or two repeats there are measure more exactly.
      if (pace_b > 0) {
        const double more = (0.8 * left() / repeats - pace_a) / (pace_b * static_cast<double>(d));
        const double most = static_cast<double>(std::min(rows.size(), opt.max_rows));
        if (more > 1.1 * static_cast<double>(pick.size())) {
          pick = sample_indices(rows.size(), static_cast<std::size_t>(std::min(more, most)), rng);
        }
      }
    }
  }
  sample_of(pick, &work, &ys);
  fi.base_score = compute_metric(metric, p.target, ys, p.predict(work));
  if (left() <= 0) {
    fi.rows = pick.size();
    fi.cut = "no time left after scoring the rows once";
    return finish(fi);
  }

  // Boosted trees: gain and mean |SHAP| per column, within a quarter of the time left.
  if (!p.is_ensemble() && p.model) {
    const auto sources = p.preprocessor.output_columns();
    std::map<std::string, std::size_t> at;
    for (std::size_t i = 0; i < fi.columns.size(); ++i) at[fi.columns[i].column] = i;
    const std::vector<double> gain = p.model->feature_gain(sources.size());
    if (gain.size() == sources.size()) {
      for (auto& c : fi.columns) c.gain = 0;
      for (std::size_t f = 0; f < gain.size(); ++f) {
        if (at.count(sources[f])) fi.columns[at[sources[f]]].gain += gain[f];
      }
    }
    const double shap_box = 0.25 * left();
    const auto shap_start = Clock::now();
    std::size_t n_probe = std::min<std::size_t>(32, work.n_rows);
    std::vector<std::size_t> probe(n_probe);
    std::iota(probe.begin(), probe.end(), 0);
    FeatureMatrix x = p.preprocessor.transform(work, &probe);
    std::optional<Contributions> c = p.model->contributions(x);
    if (c) {
      const double per_row = std::max(1e-7, seconds_since(shap_start) / static_cast<double>(n_probe));
      const double fits = std::clamp(shap_box / per_row, 0.0, static_cast<double>(opt.shap_rows));
      std::size_t n_shap = std::min<std::size_t>(work.n_rows, static_cast<std::size_t>(fits));
      if (n_shap > n_probe) {
        std::vector<std::size_t> more(n_shap);
        std::iota(more.begin(), more.end(), 0);
        x = p.preprocessor.transform(work, &more);
        c = p.model->contributions(x);
      } else {
        n_shap = n_probe;
      }
      std::vector<double> total(fi.columns.size(), 0.0);
      for (std::size_t r = 0; r < c->rows; ++r) {
        for (int o = 0; o < c->outputs; ++o) {
          const double* v = c->values.data() + (r * static_cast<std::size_t>(c->outputs) + static_cast<std::size_t>(o)) *
                                                   (c->features + 1);
          std::vector<double> per_column(fi.columns.size(), 0.0);
          for (std::size_t f = 0; f < c->features; ++f) {
            if (at.count(sources[f])) per_column[at[sources[f]]] += v[f];
          }
          for (std::size_t j = 0; j < per_column.size(); ++j) total[j] += std::abs(per_column[j]);
        }
      }
      for (std::size_t j = 0; j < total.size(); ++j) fi.columns[j].shap_abs_mean = total[j] / static_cast<double>(c->rows);
      fi.shap_rows = c->rows;
    }
  }

  // The shuffled copies are predicted in batches: one block of the rows per (column,
  // repeat), with that column shuffled, and as many blocks per prediction as fit in
  // about 4M cells and, at the measured pace, in the time left, so a model's fixed cost
  // per prediction is paid per batch, not per column. Blocks go repeat-major, so a
  // deadline leaves every measured column with the same repeats.
  std::vector<std::vector<double>> drops(d);
  std::vector<std::size_t> col_index(d);
  for (std::size_t j = 0; j < d; ++j) col_index[j] = static_cast<std::size_t>(work.find(fi.columns[j].column));
  auto per_batch = [&] {
    return importance_blocks_per_call(work.n_rows, d);
  };
  // Predicts the blocks [first, last) of the repeat-major order.
  auto run_blocks = [&](std::size_t first, std::size_t last) {
    const std::size_t n = work.n_rows, m = last - first;
    std::vector<std::vector<std::size_t>> perms(m, std::vector<std::size_t>(n));
    for (auto& perm : perms) {
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
    }
    Table batch;
    batch.source = work.source;
    batch.n_rows = n * m;
    for (std::size_t c = 0; c < work.columns.size(); ++c) {
      batch.columns.push_back(gather(work.columns[c], n * m, [&](std::size_t k) {
        const std::size_t b = k / n, i = k % n;
        return col_index[(first + b) % d] == c ? perms[b][i] : i;
      }));
    }
    const std::vector<double> pred = p.predict(batch);
    const std::size_t k_out = pred.size() / batch.n_rows;
    for (std::size_t b = 0; b < m; ++b) {
      const std::vector<double> block(pred.begin() + static_cast<std::ptrdiff_t>(b * n * k_out),
                                      pred.begin() + static_cast<std::ptrdiff_t>((b + 1) * n * k_out));
      const double score = compute_metric(metric, p.target, ys, block);
      drops[(first + b) % d].push_back(higher ? fi.base_score - score : score - fi.base_score);
    }
  };
  fi.rows = work.n_rows;
  std::size_t total = d * static_cast<std::size_t>(repeats);
  std::size_t next = 0;
  bool stopped = false;
  // The repeats planned done with time to spare: one more whole repeat when it fits twice
  // over (1.25 times once a whole repeat was timed) before the deadline at the pace
  // measured so far (its batches' fixed cost and its rows), or at the pace the repeats
  // done took when that is quicker: the first timings can overstate a model's fixed cost
  // (an ensemble's members warming up), and a plan cut by them would otherwise leave the
  // time idle (adult at 10 s: 2 of 5 repeats planned in 0.28 s, then 1 s unused).
  const int most = std::max(std::max(repeats, opt.max_repeats), std::max(1, opt.repeats));
  double blocks_s = 0;  // seconds the shuffled blocks took, all batches
  std::size_t blocks_done = 0;
  double last_batch_s = 0;  // and the last batch alone
  std::size_t last_batch_blocks = 1;
  auto one_more = [&] {
    if (repeats >= most) return false;
    const double batches = std::ceil(static_cast<double>(d) / static_cast<double>(per_batch())) + 1.0;
    double repeat_s = batches * pace_a + pace_b * static_cast<double>(work.n_rows * d);
    // Once a whole repeat has been timed its pace is known: a quarter more is margin enough
    // (a batch still never takes more than a third of the time left, and a repeat the
    // deadline cuts is dropped whole).
    double margin = 2.0;
    if (blocks_done >= d) {
      repeat_s = std::min(repeat_s, blocks_s / static_cast<double>(blocks_done) * static_cast<double>(d));
      margin = 1.25;
    }
    if (!(margin * repeat_s < left())) return false;
    ++repeats;
    total += d;
    return true;
  };
  while (next < total || one_more()) {
    if (Clock::now() >= opt.deadline) {
      stopped = true;
      break;
    }
    std::size_t blocks = per_batch();
    if (pace_b > 0) {
      // One block first, to time a batch; then batches of at most a third of the time
      // left at that pace, so a pace three times too hopeful still ends in time, or as
      // many blocks as fit 1.25 times over at the pace the blocks done took (a pace
      // measured, not guessed: one column's single block of 1,237 rows, 0.36 s, was
      // otherwise refused with 0.8 s left).
      // A batch is at most four times the last one: a large batch can take far longer a
      // row than a small one (a stacking's members one-hot encode every row into fresh
      // memory: on 300,000 rows, one block of 2,000 rows took 4.8 ms and the 74 blocks
      // the measured pace allowed next took 2.1 s, 1.3 s past the deadline), so the
      // pace is measured again at each size on the way up, at the slower of the last
      // batch's and all batches' pace.
      double fit = next == 0 ? 1.0 : (left() / 3.0 - pace_a) / (pace_b * static_cast<double>(work.n_rows));
      if (blocks_done > 0 && blocks_s > 0) {
        const double block_s = std::max(blocks_s / static_cast<double>(blocks_done),
                                        last_batch_s / static_cast<double>(last_batch_blocks));
        fit = std::max(fit, left() / 1.25 / block_s);
        fit = std::min(fit, 4.0 * static_cast<double>(last_batch_blocks));
      }
      if (fit < 1) {
        stopped = true;
        break;
      }
      blocks = std::min(blocks, static_cast<std::size_t>(std::min(fit, 1e6)));
    }
    const std::size_t last = std::min(total, next + blocks);
    const auto t = Clock::now();
    run_blocks(next, last);
    const double batch_s = seconds_since(t);
    blocks_s += batch_s;
    blocks_done += last - next;
    last_batch_s = batch_s;
    last_batch_blocks = last - next;
    if (pace_b > 0) {  // a slower batch than the pace said slows the pace for the next
      // and a whole batch quicker than the fixed cost measured lowers that cost to it.
      pace_a = std::min(pace_a, std::max(1e-5, batch_s));
      const double rows_done = static_cast<double>(work.n_rows * (last - next));
      pace_b = std::max(pace_b, (batch_s - pace_a) / rows_done);
      if (Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                             pace_a + pace_b * static_cast<double>(work.n_rows))) > opt.deadline) {
        next = last;
        stopped = next < total;
        break;
      }
    }
    next = last;
  }
  for (auto& dj : drops) dj.resize(std::min<std::size_t>(dj.size(), static_cast<std::size_t>(repeats)));
  // Only repeats every column finished count; when the deadline came within the first,
  // the columns it reached keep their one repeat and the others are not measured.
  std::size_t complete = drops.empty() ? 0 : drops[0].size();
  for (const auto& dj : drops) complete = std::min(complete, dj.size());
  std::size_t full = 0;
  for (std::size_t j = 0; j < d; ++j) {
    auto& c = fi.columns[j];
    const std::size_t n = complete > 0 ? complete : drops[j].size();
    if (n == 0) continue;
    ++full;
    double mean = 0;
    for (std::size_t r = 0; r < n; ++r) mean += drops[j][r];
    mean /= static_cast<double>(n);
    c.importance_mean = mean;
    c.repeats = static_cast<int>(n);
    if (n > 1) {
      double ss = 0;
      for (std::size_t r = 0; r < n; ++r) ss += (drops[j][r] - mean) * (drops[j][r] - mean);
      c.importance_std = std::sqrt(ss / static_cast<double>(n - 1));
    }
  }
  const int done_repeats = static_cast<int>(std::max<std::size_t>(complete, full > 0 ? 1 : 0));
  fi.repeats = done_repeats;
  fi.repeats_asked = std::max(1, opt.repeats);
  fi.columns_measured = full;
  if (stopped && (full < d || done_repeats < fi.repeats_asked)) {
    fi.cut = full < d ? fmt::format("the deadline came after {} of {} columns", full, d)
                      : fmt::format("{} repeats asked, time for {}", opt.repeats, done_repeats);
  } else if (!fi.cut.empty() && full == d) {
    // Cut at the plan, then more repeats at the pace measured: what was done is the cut.
    fi.cut = done_repeats < fi.repeats_asked ? fmt::format("{} repeats asked, time for {}", opt.repeats, done_repeats)
                                             : std::string();
  }
  return finish(fi);
}

std::size_t importance_blocks_per_call(std::size_t rows, std::size_t columns) {
  return std::max<std::size_t>(1, 4000000 / std::max<std::size_t>(1, rows * columns));
}

void write_feature_importance(const std::filesystem::path& file, const FeatureImportance& fi) {
  std::ofstream out(file);
  out << "feature,importance_mean,importance_std,repeats,gain,shap_abs_mean\n";
  for (const auto& c : fi.columns) {
    out << csv_field(c.column) << "," << number(c.importance_mean) << "," << number(c.importance_std) << ","
        << c.repeats << "," << number(c.gain) << "," << number(c.shap_abs_mean) << "\n";
  }
  if (!out) throw_io("cannot write " + file.string());
}

}  // namespace automl
