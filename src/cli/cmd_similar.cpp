#include <algorithm>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/knowledge.h"
#include "automl/metrics.h"
#include "commands.h"

namespace automl::cli {

// The known datasets nearest to a file's Data Card, why, and their best settings:
// what a run on it would start from.
Command add_similar(CLI::App& app) {
  auto* cmd = app.add_subcommand("similar", "show the known datasets nearest to a CSV file's Data Card, and why");
  struct Flags {
    std::string file, target, card, knowledge;
    std::size_t k = 5;
    bool json = false;
    ReadFlags read;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("file", f->file, "a CSV or TSV file with a header row")->required();
  cmd->add_option("-t,--target", f->target, "the column to predict")->required();
  cmd->add_option("--card", f->card, "a Data Card file whose fields override what is inferred");
  cmd->add_option("--knowledge", f->knowledge, "the knowledge base (default: the one shipped, or $AUTOML_GPT_KNOWLEDGE)");
  cmd->add_option("-k", f->k, "how many datasets to show (default 5)");
  cmd->add_flag("--json", f->json, "print JSON instead of text");
  f->read.add_to(cmd);
  return {cmd, [f] {
            KnowledgeBase kb = KnowledgeBase::load(f->knowledge.empty() ? default_knowledge_path() : std::filesystem::path(f->knowledge));
            nlohmann::json overrides = f->card.empty() ? nlohmann::json::object() : load_card_file(f->card);
            CsvOptions csv = f->read.options();
            for (const auto& [name, type] : declared_feature_types(overrides)) csv.declared_types.emplace(name, type);
            Table table = read_csv(f->file, csv);
            DataCard card = infer_data_card(table, f->target, dataset_name_from_path(f->file), overrides);
            nlohmann::json out = nlohmann::json::array();
            for (const auto& n : nearest_datasets(kb, card, f->k)) {
              const KnownDataset& d = *n.dataset;
              nlohmann::json settings = nlohmann::json::array();
              for (auto* t : d.best_trials(3)) settings.push_back({{"family", t->family}, {"params", t->params}, {"score", t->score}});
              out.push_back({{"dataset", d.name}, {"distance", n.distance}, {"task", d.task}, {"metric", d.metric},
                             {"why", n.why}, {"best_settings", settings}});
            }
            if (f->json) {
              std::cout << out.dump(2) << "\n";
              return 0;
            }
            std::cout << fmt::format("nearest known datasets to {} (target {}), of {} in {}:\n", card.name, card.target,
                                     kb.datasets.size(), (f->knowledge.empty() ? default_knowledge_path().string() : f->knowledge));
            for (const auto& n : out) {
              std::cout << fmt::format("\n{} (distance {:.2f}; {} by {})\n", n["dataset"].get<std::string>(),
                                       n["distance"].get<double>(), n["task"].get<std::string>(),
                                       n["metric"].get<std::string>());
              for (const auto& w : n["why"]) std::cout << "  - " << w.get<std::string>() << "\n";
              for (const auto& s : n["best_settings"]) {
                std::cout << fmt::format("  best: {} {} -> {:.4f}\n", s["family"].get<std::string>(), s["params"].dump(),
                                         s["score"].get<double>());
              }
            }
            return 0;
          }};
}

}  // namespace automl::cli
