#include <iostream>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/image.h"
#include "commands.h"

namespace automl::cli {

Command add_card(CLI::App& app) {
  auto* cmd = app.add_subcommand("card", "infer and print the Data Card of a CSV file for a target column");
  struct Flags {
    std::string file, target, card, format = "yaml", name;
    ReadFlags read;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("file", f->file, "a CSV or TSV file with a header row")->required();
  cmd->add_option("-t,--target", f->target, "the column to predict (or give it in --card)");
  cmd->add_option("--card", f->card, "a card file (JSON or YAML) whose fields override what is inferred");
  cmd->add_option("--format", f->format, "output format: yaml or json (default yaml)")
      ->check(CLI::IsMember({"yaml", "json"}));
  cmd->add_option("--name", f->name, "dataset name (default: from the file or its folder)");
  f->read.add_to(cmd);
  return {cmd, [f] {
            nlohmann::json overrides = f->card.empty() ? nlohmann::json::object() : load_card_file(f->card);
            std::string target = f->target.empty() ? overrides.value("target", std::string()) : f->target;
            if (target.empty() && is_image_folder(f->file)) target = "label";  // the class sub-folders' names
            if (target.empty()) throw_invalid("no target: pass --target COLUMN (or a card file with \"target\")");
            CsvOptions csv = f->read.options();
            for (const auto& [name, type] : declared_feature_types(overrides)) csv.declared_types.emplace(name, type);
            Table table = read_table(f->file, csv);  // a CSV file or an image folder
            std::string name = f->name.empty() ? dataset_name_from_path(f->file) : f->name;
            DataCard card = infer_data_card(table, target, name, overrides);
            if (f->format == "json") std::cout << card.to_json().dump(2) << "\n";
            else std::cout << to_yaml(card.to_json());
            return 0;
          }};
}

}  // namespace automl::cli
