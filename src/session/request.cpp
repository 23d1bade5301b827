#include "automl/request.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "automl/error.h"
#include "automl/memory.h"
#include "automl/llm.h"
#include "automl/session.h"
#include "automl/store.h"
#include "automl/strings.h"

namespace automl {
namespace fs = std::filesystem;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string where(const RequestFile& r, const YAML::Node& n) {
  return fmt::format("{}:{}", r.path.string(), n.Mark().line + 1);
}

std::string scalar(const RequestFile& r, const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) throw_invalid(fmt::format("{}: \"{}\" must be a single value", where(r, n), field));
  std::string v = n.as<std::string>();
  // A YAML escape (\ud800) can spell what is not UTF-8 in a file that is.
  if (first_invalid_utf8(v) != std::string::npos) {
    throw_invalid(fmt::format("{}: \"{}\" is not UTF-8 text", where(r, n), field));
  }
  return v;
}

// A field name: a plain value, not a list or a map.
std::string key_of(const RequestFile& r, const YAML::Node& k) {
  if (!k.IsScalar()) throw_invalid(fmt::format("{}: a field name must be a plain word, not a list or a map", where(r, k)));
  return k.as<std::string>();
}

}  // namespace

RequestFile load_request(const std::string& path) {
  RequestFile r;
  r.path = path;
  if (!fs::exists(path)) throw_not_found("no such request file: " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_not_found("cannot open request file " + path);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (const auto bad = first_invalid_utf8(text); bad != std::string::npos) {
    throw_invalid(fmt::format("{}: byte {} is not UTF-8 (0x{:02X}); a request file must be UTF-8 text", path, bad + 1,
                              static_cast<unsigned char>(text[bad])));
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw_invalid(fmt::format("{}:{}: not valid YAML: {}", path, e.mark.line + 1, e.msg));
  }
  if (!root.IsMap()) throw_invalid(path + ": a request file is a YAML map with \"tasks\" and/or \"request\"");
  const std::vector<std::string> top_keys = {"request", "tasks", "budget", "memory"};
  const std::vector<std::string> task_keys = {"name", "train", "test", "target", "card", "metric", "requirements", "budget"};
  for (const auto& kv : root) {
    std::string key = key_of(r, kv.first);
    if (std::find(top_keys.begin(), top_keys.end(), key) == top_keys.end()) {
      throw_invalid(fmt::format("{}: unknown field \"{}\". {}", where(r, kv.first), key, did_you_mean(key, top_keys)));
    }
  }
  if (root["request"]) r.text = scalar(r, root["request"], "request");
  if (root["budget"]) r.budget_s = parse_duration(scalar(r, root["budget"], "budget"));
  if (root["memory"]) r.memory_bytes = parse_memory_size(scalar(r, root["memory"], "memory"));
  if (root["tasks"]) {
    const YAML::Node tasks = root["tasks"];
    if (!tasks.IsSequence()) throw_invalid(fmt::format("{}: \"tasks\" must be a list", where(r, tasks)));
    std::set<std::string> names;
    for (const auto& t : tasks) {
      if (!t.IsMap()) throw_invalid(fmt::format("{}: each task must be a map of fields", where(r, t)));
      TaskSpec s;
      for (const auto& kv : t) {
        std::string key = key_of(r, kv.first);
        if (std::find(task_keys.begin(), task_keys.end(), key) == task_keys.end()) {
          throw_invalid(fmt::format("{}: unknown task field \"{}\". {}", where(r, kv.first), key,
                                    did_you_mean(key, task_keys)));
        }
        std::string v = scalar(r, kv.second, key);
        if (key == "name") s.name = v;
        else if (key == "train") s.train = v;
        else if (key == "test") s.test = v;
        else if (key == "target") s.target = v;
        else if (key == "card") s.card = v;
        else if (key == "metric") s.metric = v;
        else if (key == "requirements") s.requirements = v;
        else if (key == "budget") s.budget_s = parse_duration(v);
      }
      if (s.train.empty()) throw_invalid(fmt::format("{}: a task needs \"train\" (a CSV file)", where(r, t)));
      if (s.name.empty()) s.name = dataset_name_from_path(s.train);
      for (auto& c : s.name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
      }
      if (s.name.find_first_not_of('.') == std::string::npos) {
        throw_invalid(fmt::format("{}: task name \"{}\" cannot name the task's folder; give the task a \"name\"",
                                  where(r, t), s.name));
      }
      if (!names.insert(s.name).second) {
        throw_invalid(fmt::format("{}: two tasks are named \"{}\"; give each a distinct \"name\"", where(r, t), s.name));
      }
      r.tasks.push_back(s);
    }
  }
  if (r.text.empty() && r.tasks.empty()) throw_invalid(path + ": the request names no task (give \"tasks\" or \"request\")");
  return r;
}

std::vector<std::string> read_header(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_not_found("cannot open " + path.string());
  std::string line;
  std::getline(in, line);
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  char delim = path.extension() == ".tsv" || (line.find('\t') != std::string::npos && line.find(',') == std::string::npos)
                   ? '\t'
                   : ',';
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == delim && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  for (auto& c : out) c = trim(c);
  return out;
}

nlohmann::json run_request(const std::string& request_path, const RunRequest& defaults, std::ostream& progress) {
  const auto start = Clock::now();
  RequestFile rf = load_request(request_path);
  const fs::path base = rf.path.parent_path();
  auto resolve = [&](const std::string& p) { return p.empty() || fs::path(p).is_absolute() ? fs::path(p) : base / p; };
  // The caller's budget wins when set (> 0), then the file's, then 60 s.
  const double budget = defaults.budget_s > 0 ? defaults.budget_s : rf.budget_s > 0 ? rf.budget_s : 60.0;
  const ProgressPrinter say(progress, defaults.quiet, start, budget);

  const std::string run_id = new_run_id(defaults.seed);
  const fs::path dir = prepare_run_folder(defaults.out_dir, run_id);
  fs::create_directories(dir / "tasks");
  const std::string store_path = store_path_for(defaults.store_path);
  auto opened = open_run_store(store_path);
  RunStore& store = *opened;

  // One LLM client for the whole request: one cap on calls and tokens, one cache.
  auto sink = std::make_shared<LlmCallSink>();
  std::unique_ptr<LlmClient> client;
  if (defaults.llm.enabled()) {
    client = std::make_unique<LlmClient>(defaults.llm, &store, [sink](const LlmCall& c) {
      if (sink->target) sink->target(c);
    });
  }
  std::ofstream calls_out;
  sink->target = [&](const LlmCall& c) {
    if (!calls_out.is_open()) calls_out.open(dir / "llm_calls.jsonl", std::ios::app);
    calls_out << c.to_json().dump() << "\n" << std::flush;
    store.add_llm_call(run_id, c.to_json());
    say(fmt::format("llm {}: {}", c.stage, c.summary()));
  };
  auto planner = client ? make_llm_planner(*client) : make_builtin_planner();
  planner->begin_task("", start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(0.2 * budget)));

  nlohmann::json request = {{"request_file", rf.path.string()}, {"text", rf.text}, {"budget_s", budget},
                            {"tasks", nlohmann::json::array()}, {"seed", defaults.seed},
                            {"planner", planner_json(defaults.llm)}};
  for (const auto& t : rf.tasks) request["tasks"].push_back(t.to_json());
  write_json_file(dir / "request.json", request);
  store.begin_run(run_id, dir.string(), request, nlohmann::json::object());

  // Input decomposition: the tasks in words join the tasks given as fields.
  std::vector<TaskSpec> tasks = rf.tasks;
  nlohmann::json decomposition = {{"text", rf.text}, {"tasks", nlohmann::json::array()}};
  if (!rf.text.empty()) {
    std::map<std::string, std::vector<std::string>> files;
    for (const auto& f : files_mentioned(rf.text)) {
      if (fs::exists(resolve(f))) files[f] = read_header(resolve(f));
    }
    if (files.empty()) {
      throw_invalid(rf.path.string() + ": the request's text names no data file that exists (paths are relative to "
                                       "the request file's folder)");
    }
    auto found = planner->decompose(rf.text, files);
    if (found.empty()) throw_invalid(rf.path.string() + ": the planner found no task in the request's text");
    for (auto& t : found) {
      if (t.target.empty()) {
        throw_invalid(fmt::format("{}: the request's text does not say which column of {} to predict; write \"predict "
                                  "COLUMN\" ({} has: {})", rf.path.string(), t.train, t.train, join(files[t.train], ", ")));
      }
      std::string base_name = t.name;
      for (int k = 2; std::any_of(tasks.begin(), tasks.end(), [&](const TaskSpec& o) { return o.name == t.name; }); ++k) {
        t.name = fmt::format("{}-{}", base_name, k);
      }
      decomposition["tasks"].push_back(t.to_json());
      tasks.push_back(t);
    }
  }
  nlohmann::json plan = {{"planner", planner->name()}, {"decomposition", decomposition}};
  if (client) plan["llm"] = planner->report();
  write_json_file(dir / "plan.json", plan);
  say(fmt::format("request: {} task{}", tasks.size(), tasks.size() == 1 ? "" : "s"));

  // Each task in turn, with its own share of what is left of the budget.
  nlohmann::json results = nlohmann::json::array();
  std::string first_error;
  ErrorKind first_kind = ErrorKind::kInvalidInput;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const TaskSpec& t = tasks[i];
    double left = budget - seconds_since(start);
    double share = t.budget_s > 0 ? std::min(t.budget_s, left) : left / static_cast<double>(tasks.size() - i);
    nlohmann::json result = {{"name", t.name}, {"train", t.train}, {"target", t.target}};
    say(fmt::format("task {} of {}: {} ({} -> {}), {:.0f}s", i + 1, tasks.size(), t.name, t.train, t.target, share));
    try {
      if (share < 1) throw Error(ErrorKind::kBudget, "no budget left for this task");
      RunRequest r = defaults;
      r.train_path = resolve(t.train).string();
      r.test_path = resolve(t.test).string();
      r.card_path = resolve(t.card).string();
      r.target = t.target;
      r.metric = t.metric.empty() ? defaults.metric : t.metric;
      r.requirements = defaults.requirements.empty() ? t.requirements
                       : t.requirements.empty()      ? defaults.requirements
                                                     : defaults.requirements + "; " + t.requirements;
      r.budget_s = share;
      if (r.memory_bytes <= 0) r.memory_bytes = rf.memory_bytes;  // --memory wins over the file's
      r.start = Clock::now();
      r.out_dir = (dir / "tasks" / t.name).string();
      r.store_path = store_path;
      r.name = t.name;
      r.llm_client = client.get();
      r.llm_sink = client ? sink : nullptr;
      auto saved_target = sink->target;
      nlohmann::json summary;
      try {
        summary = Session(r, progress).run();
      } catch (...) {
        sink->target = saved_target;
        throw;
      }
      sink->target = saved_target;
      result["status"] = "finished";
      for (const char* k : {"run_folder", "task", "metric", "validation_score", "test_score", "seconds", "planner", "llm"}) {
        if (summary.contains(k)) result[k] = summary[k];
      }
      result["model"] = summary["model"]["family"];
    } catch (const Error& e) {
      result["status"] = "failed";
      result["error"] = e.what();
      say(fmt::format("task {} failed: {}", t.name, e.what()));
      if (first_error.empty()) {
        first_error = fmt::format("task \"{}\": {}", t.name, e.what());
        first_kind = e.kind();
      }
    }
    results.push_back(result);
  }
  if (client) plan["llm"] = planner->report();
  write_json_file(dir / "plan.json", plan);
  nlohmann::json summary = {{"run_id", run_id}, {"run_folder", dir.string()}, {"tasks", results},
                            {"seconds", seconds_since(start)}, {"budget_s", budget}};
  if (client) summary["llm"] = {{"calls", client->calls()}, {"tokens", client->tokens()}};
  write_json_file(dir / "summary.json", summary);
  std::size_t failed = 0;
  for (const auto& r : results) failed += r["status"] == "failed";
  store.finish_run(run_id, failed ? "failed" : "finished", summary);
  sink->target = nullptr;
  if (failed) {
    throw Error(first_kind, fmt::format("{} of {} tasks failed (the others are in {}); first: {}", failed, results.size(),
                                        dir.string(), first_error));
  }
  say(fmt::format("done: {} tasks; results in {}", results.size(), (dir / "summary.json").string()));
  return summary;
}

}  // namespace automl
