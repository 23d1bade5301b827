// Loading the networks' module on first use (automl/networks.h).
#include "automl/networks.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "automl/error.h"

namespace automl {
namespace {

struct Networks {
  std::mutex mutex;
  std::map<std::string, NetworkFactory> factories;
  std::shared_future<std::string> loading;  // "" when loaded, else why not
};

// Never destroyed: a load still running at exit must not find it gone.
Networks& networks() {
  static Networks* n = new Networks;
  return *n;
}

// Where the module may be: $AUTOML_GPT_NETWORKS alone when set, else beside the
// program, the installed library folder, the build tree it was built in.
std::vector<std::filesystem::path> module_candidates() {
  std::vector<std::filesystem::path> out;
  if (const char* env = std::getenv("AUTOML_GPT_NETWORKS"); env && *env) return {env};
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string file = std::filesystem::path(AUTOML_NETWORKS_MODULE).filename().string();
  if (!ec) out.push_back(self.parent_path() / file);
  out.emplace_back(AUTOML_NETWORKS_INSTALLED);
  out.emplace_back(AUTOML_NETWORKS_MODULE);
  return out;
}

// Loads the module (its static objects register the networks); "" or why it failed.
std::string load_module() {
  std::vector<std::string> tried;
  for (const auto& path : module_candidates()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      tried.push_back(path.string() + " (not there)");
      continue;
    }
    // Kept open for the process's life: the networks' code lives in it.
    if (dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return "";
    const char* why = dlerror();
    tried.push_back(fmt::format("{} ({})", path.string(), why ? why : "unknown error"));
  }
  return fmt::format("the neural-network module could not be loaded; tried {} (build it with `cmake --build build "
                     "--target automl_networks`, or set AUTOML_GPT_NETWORKS to its path)",
                     fmt::join(tried, "; "));
}

}  // namespace

bool register_network(const std::string& family, NetworkFactory make) {
  Networks& n = networks();
  std::lock_guard<std::mutex> lock(n.mutex);
  n.factories[family] = std::move(make);
  return true;
}

void start_loading_networks() {
  Networks& n = networks();
  std::lock_guard<std::mutex> lock(n.mutex);
  if (!n.factories.empty() || n.loading.valid()) return;  // linked in, or on its way
  n.loading = std::async(std::launch::async, load_module).share();
}

void wait_for_networks() {
  Networks& n = networks();
  std::shared_future<std::string> loading;
  {
    std::lock_guard<std::mutex> lock(n.mutex);
    loading = n.loading;
  }
  if (loading.valid()) loading.wait();
}

std::unique_ptr<Model> create_network(const std::string& family, const nlohmann::json& params, Task task) {
  Networks& n = networks();
  std::shared_future<std::string> loading;
  {
    std::lock_guard<std::mutex> lock(n.mutex);
    if (auto it = n.factories.find(family); it != n.factories.end()) return it->second(params, task);
    if (!n.loading.valid()) n.loading = std::async(std::launch::async, load_module).share();
    loading = n.loading;
  }
  const std::string failed = loading.get();  // outside the lock: the module's objects register under it
  std::lock_guard<std::mutex> lock(n.mutex);
  if (auto it = n.factories.find(family); it != n.factories.end()) return it->second(params, task);
  throw_internal(failed.empty() ? fmt::format("the neural-network module holds no family {}", family)
                                : fmt::format("{} cannot be trained: {}", family, failed));
}

}  // namespace automl
