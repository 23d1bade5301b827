// The saved model of a run, served over HTTP (`automl-gpt serve`).
//
//   auto model = std::make_shared<const automl::ModelService>("runs/abc");
//   automl::Server server(model, {.host = "127.0.0.1", .port = 0});
//   int port = server.bind();   // a free port for port 0
//   server.listen();            // until server.stop() from another thread
//
// ModelService is the part without HTTP: it turns a request body (JSON records or
// CSV) into a Table checked against the training columns, predicts with the
// pipeline `automl-gpt predict` uses, and describes the model for GET /model.
// Server maps its routes onto it and each error category onto a status code.
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "automl/error.h"
#include "automl/pipeline.h"
#include "automl/table.h"

namespace automl {

// How a prediction comes back.
enum class PredictionFormat {
  kJson,  // {"predictions": [...], "probabilities": [[...], ...], ...}
  kCsv,   // the bytes `automl-gpt predict` writes for the same rows
};

class ModelService {
 public:
  // `run` is a run folder (the one `automl-gpt run` printed) or its model/ folder.
  // Throws kNotFound when there is no saved model there.
  explicit ModelService(const std::filesystem::path& run);

  // Rows from a JSON body: a list of objects, or {"rows": [objects]}, one object a
  // row keyed by column name. Every column the model uses must be a key of every
  // row; other keys are ignored. A numeric column takes a number, a numeric string
  // or null; a categorical or text column takes a string, a number or a boolean
  // (as its text) or null. null and the CSV reader's missing tokens ("", "NA", ...)
  // are missing values. Throws kInvalidInput naming the row (counted from 1) and
  // the column.
  Table rows_from_json(std::string_view body) const;
  // Rows from a CSV body with a header row, read by the CSV reader with the
  // training columns' types. Throws kInvalidInput naming the missing column, or
  // the line (the header is line 1) and the column of a bad cell.
  Table rows_from_csv(std::string_view body) const;

  // The pipeline's predictions for the rows. Safe to call from many threads.
  std::string predict(const Table& rows, PredictionFormat format) const;

  // GET /model: the run, the target, the metric, the input schema, the chosen
  // pipeline and the Data Card.
  const nlohmann::json& description() const { return description_; }
  const Pipeline& pipeline() const { return pipeline_; }

 private:
  Pipeline pipeline_;
  nlohmann::json description_;
  CsvOptions read_options_;  // the feature columns' types as trained
};

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: a free port, chosen when binding
  int workers = 16;  // threads answering requests; an open connection holds one
  std::size_t max_body_bytes = std::size_t{16} << 20;  // larger bodies get 413
};

class Server {
 public:
  Server(std::shared_ptr<const ModelService> model, ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket and returns the port. Throws kIo when it cannot
  // (the port is taken, or the host is not an address of this machine).
  int bind();
  // Answers requests until stop(); requests being answered then are finished.
  void listen();
  // Stops listen() from any thread. Safe to call more than once.
  void stop();

  // http://HOST:PORT once bound.
  std::string url() const;
  // Requests answered so far, and those answered with a 4xx or 5xx status.
  std::size_t requests() const { return requests_; }
  std::size_t failed_requests() const { return failed_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<std::size_t> requests_{0};
  std::atomic<std::size_t> failed_{0};
};

// The HTTP status an error of this category gets when a request caused it.
int http_status(ErrorKind kind);

}  // namespace automl
