#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/explain.h"
#include "automl/image.h"
#include "automl/pipeline.h"
#include "commands.h"

namespace automl::cli {

Command add_explain(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "explain", "per-row contributions of each input column to the saved model's predictions on a CSV file");
  struct Flags {
    std::string run, file, out, method = "auto", background;
    int permutations = 10;
    std::size_t background_rows = 100;
    uint64_t seed = 0;
    ReadFlags read;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("run", f->run, "a run folder (the one `automl-gpt run` printed) or its model/ folder")->required();
  cmd->add_option("file", f->file, "rows to explain: a CSV with the training columns (the target may be absent)")
      ->required();
  cmd->add_option("-o,--out", f->out,
                  "write the contributions here instead of stdout (CSV: row, output, one column per input column, "
                  "bias, total)");
  cmd->add_option("--method", f->method,
                  "auto: exact tree SHAP on the margin where the model has it (boosted trees), else sampling; "
                  "sampling: sampled Shapley values of the prediction for any model")
      ->capture_default_str();
  cmd->add_option("--permutations", f->permutations,
                  "sampling: random orders of the columns per row, each paired with its reverse (cost: rows x "
                  "permutations x (columns + 1) predictions)")
      ->capture_default_str();
  cmd->add_option("--background", f->background,
                  "sampling: a CSV of reference rows (for example the training file; default: FILE itself)");
  cmd->add_option("--background-rows", f->background_rows, "sampling: reference rows drawn from the background")
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "sampling: random seed")->capture_default_str();
  f->read.add_to(cmd);
  return {cmd, [f] {
            std::filesystem::path dir(f->run);
            if (!std::filesystem::exists(f->run)) throw_not_found("no such run folder: " + f->run);
            if (std::filesystem::exists(dir / "model" / "pipeline.json")) dir /= "model";
            Pipeline p = Pipeline::load(dir);
            const CsvOptions options = p.read_options(f->read.options());
            auto read = [&](const std::string& path) {
              return read_table(path, options,
                                std::filesystem::is_directory(path) ? image_shape(p.features) : ImageShape{});
            };
            Table t = read(f->file);
            std::optional<Table> background;
            if (!f->background.empty()) background = read(f->background);
            ExplainOptions eo;
            eo.method = f->method;
            eo.permutations = f->permutations;
            eo.background_rows = f->background_rows;
            eo.background = background ? &*background : nullptr;
            eo.seed = f->seed;
            ColumnContributions c = explain_rows(p, t, eo);
            if (f->out.empty()) {
              write_contributions(std::cout, c);
            } else {
              std::ofstream out(f->out);
              write_contributions(out, c);
              if (!out) throw_io("cannot write " + f->out);
            }
            std::cerr << fmt::format("explain: {} rows, {} on the {}{}\n", c.rows,
                                     c.method == "tree_shap" ? "exact tree SHAP" : "sampled Shapley values", c.scale,
                                     f->out.empty() ? std::string() : "; written to " + f->out);
            return 0;
          }};
}

}  // namespace automl::cli
