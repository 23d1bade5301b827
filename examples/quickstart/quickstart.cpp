// Quickstart: the library without the command line, in five steps.
//
//   build/examples/quickstart/quickstart examples/data/penguins/train.csv species 10
//
// Reads a CSV file, infers its Data Card, searches the registered model families for
// a few seconds and prints the leaderboard's best trial.
#include <cstdlib>
#include <iostream>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/search.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: quickstart TRAIN.csv TARGET [SECONDS]\n";
    return 2;
  }
  try {
    // 1. Load: a typed table (numbers, categories, text), missing cells marked.
    automl::Table table = automl::read_csv(argv[1]);

    // 2. Profile: the Data Card says the task, label space, metric and meta-features.
    automl::DataCard card = automl::infer_data_card(table, argv[2], "quickstart");
    std::cout << "task " << automl::task_name(card.task) << ", metric " << card.metric << "\n";

    // 3. Encode the target and choose how to validate (k-fold or holdout, by size).
    automl::Target target = automl::encode_target(table, card);
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < table.n_rows; ++i) {
      if (target.y[i] == target.y[i]) rows.push_back(i);  // skip rows without a target
    }
    std::vector<std::string> features;
    for (const auto& c : table.columns) {
      if (c.name != card.target && c.type != automl::ColumnType::kText) features.push_back(c.name);
    }
    automl::Evaluator evaluator(table, target, features, automl::make_validation_plan(target, rows, 0, 0),
                                card.metric, 2, 0);

    // 4. Tune on a fixed budget: portfolio, random search, successive halving.
    automl::SearchOptions options;
    double seconds = argc > 3 ? std::atof(argv[3]) : 10.0;
    options.deadline = automl::Clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
    automl::SearchResult result = automl::run_search(evaluator, options, nullptr);

    // 5. Report: the best trial, its setting and its validation score.
    const automl::TrialResult& best = result.trials.at(result.best);
    std::cout << result.trials.size() << " trials; best #" << best.id << " " << best.family << " "
              << best.params.dump() << " " << card.metric << "=" << best.score << "\n";
    return 0;
  } catch (const automl::Error& e) {
    std::cerr << "quickstart: " << e.what() << "\n";
    return 1;
  }
}
