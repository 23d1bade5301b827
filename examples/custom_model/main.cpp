// Runs a search with the example family beside the built-in ones:
//
//   build/examples/custom_model/custom_model examples/data/penguins/train.csv species 10
//
// The family registers itself when nearest_centroid_model.cpp is linked in; nothing
// else names it. The run folder goes to runs/custom-model-<run id>.
#include <cstdlib>
#include <iostream>

#include "automl/error.h"
#include "automl/run.h"
#include "automl/session.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: custom_model TRAIN.csv TARGET [SECONDS]\n";
    return 2;
  }
  try {
    automl::RunRequest req;
    req.train_path = argv[1];
    req.target = argv[2];
    req.budget_s = argc > 3 ? std::atof(argv[3]) : 10;
    req.out_dir = "runs/custom-model-" + automl::new_run_id(0);
    req.families = {"nearest_centroid", "linear", "constant"};  // or leave empty: every registered family
    nlohmann::json summary = automl::Session(req, std::cerr).run();
    std::cout << "best: " << summary["model"]["family"].get<std::string>() << ", " << summary["metric"].get<std::string>()
              << " " << summary["validation_score"] << "\n";
  } catch (const automl::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
