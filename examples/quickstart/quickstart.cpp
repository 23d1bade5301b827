// Quickstart: the installed library's public API (automl/automl_gpt.h) in five steps.
//
//   build/examples/quickstart/quickstart examples/data/penguins/train.csv species 10 examples/data/penguins/test.csv
//
// Builds inside this repository, or against an installed copy on its own
// (examples/quickstart/CMakeLists.txt: find_package(automl_gpt)). Reads a CSV file,
// profiles it, searches the model families for a few seconds, reloads the saved model
// and predicts rows with it.
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include <automl/automl_gpt.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: quickstart TRAIN.csv TARGET [SECONDS] [ROWS.csv]\n";
    return 2;
  }
  try {
    // 1. A run request: the data, the column to predict and the wall-clock budget.
    automl::RunRequest request;
    request.train_path = argv[1];
    request.target = argv[2];
    request.budget_s = argc > 3 ? std::atof(argv[3]) : 10.0;
    request.quiet = true;

    // 2. Profile: reading the data gives its Data Card (task, metric, column types).
    automl::Session session(request, std::cerr);
    const automl::DataCard& card = session.read();
    std::cout << "task " << automl::task_name(card.task) << ", metric " << card.metric << ", "
              << card.columns.size() << " columns\n";

    // 3. Tune on the budget: plan, search, refit the best (or an ensemble), save.
    nlohmann::json summary = session.run();
    std::cout << summary["n_trials"] << " trials; kept " << summary["model"]["family"] << ", validation "
              << card.metric << " " << summary["validation_score"] << "\n";

    // 4. Reload the saved model from the run folder, as `automl-gpt predict` does.
    automl::Pipeline model = automl::load_pipeline(session.dir());

    // 5. Predict rows typed as the training columns were; print the first five.
    automl::Table rows = automl::read_rows(argc > 4 ? argv[4] : argv[1], model);
    std::vector<double> out = model.predict(rows);
    automl::write_predictions(std::cout, model.target, out, std::min<std::size_t>(rows.n_rows, 5));
    std::cout << "run folder " << session.dir().string() << "\n";
    return 0;
  } catch (const automl::Error& e) {
    std::cerr << "quickstart: " << e.what() << "\n";
    return 1;
  }
}
