// The request reader's fuzz target (targets.h), in a file of its own: it is the only
// target that needs the session layer, so the others build without it.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/planner.h"
#include "automl/request.h"
#include "scratch.h"
#include "targets.h"

namespace automl::fuzz {

void request(const uint8_t* data, std::size_t size) {
  static Scratch scratch("request");
  const fs::path& dir = scratch.fresh();
  const std::string bytes = as_text(data, size);
  write_file(dir / "request.yaml", bytes);
  write_file(dir / "data.csv", bytes);
  try {
    read_header(dir / "data.csv");
  } catch (const Error&) {
  }
  RequestFile r;
  try {
    r = load_request((dir / "request.yaml").string());
  } catch (const Error&) {
    return;
  }
  // What run_request writes (request.json) before any task runs.
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& t : r.tasks) tasks.push_back(t.to_json());
  const nlohmann::json recorded = {{"request_file", r.path.string()}, {"text", r.text}, {"budget_s", r.budget_s},
                                   {"tasks", tasks}};
  (void)recorded.dump();
  if (r.text.empty()) return;
  std::map<std::string, std::vector<std::string>> files;
  for (const auto& f : files_mentioned(r.text)) files[f] = {"a", "b", "y"};
  if (files.empty()) return;
  try {
    for (const auto& t : make_builtin_planner()->decompose(r.text, files)) (void)t.to_json().dump();
  } catch (const Error&) {
  }
}

}  // namespace automl::fuzz
