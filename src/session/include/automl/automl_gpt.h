// The public API of the automl_gpt library, in one header: open a run request, run it,
// load the saved pipeline, predict. An installed copy is found with CMake's
// `find_package(automl_gpt)` and linked as `automl_gpt::automl_gpt` (examples/quickstart).
//
//   #include <automl/automl_gpt.h>
//
//   automl::RunRequest req;                                  // 1. a run request (run.h)
//   req.train_path = "train.csv";
//   req.target = "species";
//   req.budget_s = 20;                                       //    wall-clock seconds, reading and refit included
//   nlohmann::json summary = automl::run(req);               // 2. search, refit, save: summary.json's content
//   automl::Pipeline model = automl::load_pipeline(summary["run_folder"].get<std::string>());  // 3. reload
//   automl::Table rows = automl::read_rows("new.csv", model); // 4. rows typed as the training columns were
//   std::vector<double> out = model.predict(rows);           //    rows x n_outputs (class probabilities, or the value)
//   automl::write_predictions(std::cout, model.target, out, rows.n_rows);  // the CSV `automl-gpt predict` prints
//
// For a run phase by phase (the Data Card after `read`, the search's trials, stopping it
// from another thread) use automl::Session (session.h) directly. Every failure throws
// automl::Error (error.h), whose kind() says whose fault it is.
#pragma once

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/error.h"
#include "automl/pipeline.h"
#include "automl/run.h"
#include "automl/session.h"
#include "automl/table.h"

namespace automl {

// Runs every phase of a request (what `automl-gpt run` does) and returns the summary;
// progress lines go to `progress` unless request.quiet.
nlohmann::json run(const RunRequest& request, std::ostream& progress = std::cerr);

// The saved model of a run folder (or of its model/ folder), as `automl-gpt predict`
// loads it. Throws kNotFound when the folder or its model is missing.
Pipeline load_pipeline(const std::filesystem::path& run_dir);

// Rows to predict from a CSV file (or an image folder, read at the training images'
// size), each column typed as the model was trained: what `automl-gpt predict` reads.
Table read_rows(const std::string& path, const Pipeline& model, const CsvOptions& base = {});

}  // namespace automl
