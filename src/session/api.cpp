#include <filesystem>

#include "automl/automl_gpt.h"
#include "automl/image.h"

namespace automl {

nlohmann::json run(const RunRequest& request, std::ostream& progress) { return Session(request, progress).run(); }

Pipeline load_pipeline(const std::filesystem::path& run_dir) {
  if (!std::filesystem::exists(run_dir)) throw_not_found("no such run folder: " + run_dir.string());
  std::filesystem::path dir = run_dir;
  if (std::filesystem::exists(dir / "model" / "pipeline.json")) dir /= "model";
  return Pipeline::load(dir);
}

Table read_rows(const std::string& path, const Pipeline& model, const CsvOptions& base) {
  return read_table(path, model.read_options(base),
                    std::filesystem::is_directory(path) ? image_shape(model.features) : ImageShape{});
}

}  // namespace automl
