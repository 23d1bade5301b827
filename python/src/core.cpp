// automl_gpt._core: the library for Python (pybind11). The estimator in
// automl_gpt/_estimator.py is the public face; this module only moves tables in,
// runs a session and predicts.
//
//   t = _core.Table(); t.add_numeric("age", np.array([...])); t.add_strings("city", [...], None)
//   summary_json, interrupted = _core.fit(t, "target", {"budget_s": 20, ...}, print)
//   model = _core.Model.load(run_dir); proba = model.predict(t)
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "automl/automl_gpt.h"
#include "automl/memory.h"
#include "automl/model.h"

namespace py = pybind11;

namespace automl::python {
namespace {

// What the session prints, cut into lines that the Python thread hands on.
class LineQueue : public std::streambuf {
 public:
  std::vector<std::string> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(lines_, {});
  }

 protected:
  int overflow(int ch) override {
    if (ch != traits_type::eof()) {
      const char c = static_cast<char>(ch);
      append(&c, 1);
    }
    return ch;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    append(s, static_cast<std::size_t>(n));
    return n;
  }

 private:
  void append(const char* s, std::size_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < n; ++i) {
      if (s[i] == '\n') {
        lines_.push_back(std::exchange(current_, {}));
      } else {
        current_ += s[i];
      }
    }
  }

  std::mutex mutex_;
  std::string current_;
  std::vector<std::string> lines_;
};

// The Python exception class for each error kind (automl_gpt/_errors.py).
const char* exception_class(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput: return "InvalidInputError";
    case ErrorKind::kNotFound: return "NotFoundError";
    case ErrorKind::kUnsupported: return "UnsupportedError";
    case ErrorKind::kIo: return "IoError";
    case ErrorKind::kBudget: return "BudgetError";
    case ErrorKind::kExternal: return "ExternalServiceError";
    case ErrorKind::kInternal: return "InternalError";
  }
  return "InternalError";
}

class TableBuilder {
 public:
  void add_numeric(const std::string& name, py::array_t<double, py::array::c_style | py::array::forcecast> values) {
    if (values.ndim() != 1) throw_invalid("column " + name + ": expected one value per row");
    std::vector<double> v(values.data(), values.data() + values.size());
    add(numeric_column(name, std::move(v)));
  }
  // `cells`: str or None per row. `type`: "categorical", "text" or None (inferred as read_csv does).
  void add_strings(const std::string& name, const py::list& cells, const std::optional<std::string>& type) {
    std::vector<std::optional<std::string>> v;
    v.reserve(cells.size());
    for (const auto& cell : cells) {
      if (cell.is_none()) {
        v.emplace_back(std::nullopt);
      } else {
        v.emplace_back(cell.cast<std::string>());
      }
    }
    std::optional<ColumnType> t;
    if (type) t = parse_column_type(*type);
    add(string_column(name, v, t));
  }
  std::shared_ptr<const Table> table() const { return table_; }
  std::size_t n_rows() const { return table_->n_rows; }
  std::vector<std::pair<std::string, std::string>> column_types() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& c : table_->columns) out.emplace_back(c.name, column_type_name(c.type));
    return out;
  }

 private:
  void add(Column col) {
    if (table_->find(col.name) >= 0) throw_invalid("column " + col.name + " appears twice");
    if (!table_->columns.empty() && col.size() != table_->n_rows) {
      throw_invalid("column " + col.name + " has " + std::to_string(col.size()) + " rows, the others " +
                    std::to_string(table_->n_rows));
    }
    table_->n_rows = col.size();
    table_->columns.push_back(std::move(col));
  }

  std::shared_ptr<Table> table_ = [] {
    auto t = std::make_shared<Table>();
    t->source = "the data frame";
    return t;
  }();
};

template <typename T>
T option(const py::dict& options, const char* key, T fallback) {
  if (!options.contains(key) || options[key].is_none()) return fallback;
  return options[key].cast<T>();
}

RunRequest request_from(const py::dict& o) {
  RunRequest r;
  r.budget_s = option<double>(o, "budget_s", 60);
  r.metric = option<std::string>(o, "metric", "");
  r.requirements = option<std::string>(o, "requirements", "");
  r.seed = option<uint64_t>(o, "seed", 0);
  r.threads = option<int>(o, "threads", 2);
  const std::string memory = option<std::string>(o, "memory", "");
  if (!memory.empty()) r.memory_bytes = parse_memory_size(memory);
  r.max_trials = option<int>(o, "max_trials", -1);
  r.folds = option<int>(o, "folds", 0);
  r.ensemble = option<bool>(o, "ensemble", true);
  r.families = option<std::vector<std::string>>(o, "families", {});
  for (const auto& f : r.families) model_registry().get(f);  // an unknown name fails now, naming the close ones
  r.out_dir = option<std::string>(o, "out_dir", "");
  r.store_path = option<std::string>(o, "store_path", "");
  r.knowledge = option<std::string>(o, "knowledge", "");
  r.name = option<std::string>(o, "name", "");
  r.card_path = option<std::string>(o, "card_path", "");
  r.test_path = option<std::string>(o, "test_path", "");
  const std::string card_fields = option<std::string>(o, "card_fields", "{}");
  r.card_fields = nlohmann::json::parse(card_fields);
  const std::string llm = option<std::string>(o, "llm", "builtin");
  if (llm != "builtin" && !llm.empty()) r.llm = resolve_llm(llm, option<std::string>(o, "llm_model", ""));
  return r;
}

// Runs a whole session on a thread of its own while this (Python) thread, holding the
// GIL only briefly every tenth of a second, hands progress lines to `on_line` and
// checks for signals: the first Ctrl-C stops the search, and the session refits and
// saves the best so far. Returns summary.json's text and whether it was interrupted.
std::pair<std::string, bool> fit(const TableBuilder& rows, const std::string& target, const py::dict& options,
                                 const py::object& on_line) {
  RunRequest req = request_from(options);
  req.train_table = rows.table();
  req.target = target;
  req.start = Clock::now();

  LineQueue lines;
  std::ostream progress(&lines);
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  bool interrupted = false;
  std::exception_ptr error;
  std::optional<py::error_already_set> callback_error;
  nlohmann::json summary;
  auto interrupt = [&] {
    if (interrupted) return;
    interrupted = true;
    Session::stop_flag().store(true);
    progress << "interrupted: the search stops; the best so far is refit and saved\n";
  };
  auto hand_on = [&] {
    for (const auto& line : lines.take()) {
      if (callback_error || on_line.is_none()) continue;
      try {
        on_line(line);
      } catch (py::error_already_set& e) {
        // Ctrl-C that lands while the callback runs surfaces as the callback's exception:
        // it means the same as one that lands between callbacks.
        if (e.matches(PyExc_KeyboardInterrupt)) {
          interrupt();
          continue;
        }
        callback_error.emplace(std::move(e));  // the callback failed: stop, and raise its error at the end
        Session::stop_flag().store(true);
      }
    }
  };

  Session::stop_flag().store(false);
  {
    py::gil_scoped_release release;
    std::thread worker([&] {
      try {
        summary = Session(req, progress).run();
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
      cv.notify_all();
    });
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        if (cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) break;
      }
      py::gil_scoped_acquire acquire;
      hand_on();
      if (PyErr_CheckSignals() != 0) {  // Ctrl-C (KeyboardInterrupt) or another signal handler's exception
        PyErr_Clear();
        interrupt();
      }
    }
    worker.join();
  }
  hand_on();
  Session::stop_flag().store(false);
  if (callback_error) throw std::move(*callback_error);
  if (error) std::rethrow_exception(error);
  return {summary.dump(), interrupted};
}

py::array_t<double> to_array(const std::vector<double>& pred, std::size_t rows, int k) {
  py::array_t<double> out({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(k)});
  std::copy(pred.begin(), pred.end(), out.mutable_data());
  return out;
}

}  // namespace
}  // namespace automl::python

PYBIND11_MODULE(_core, m) {
  using namespace automl;
  using namespace automl::python;
  m.doc() = "automl_gpt's C++ core: tables in, a session run, a saved pipeline's predictions out";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::object cls = py::module_::import("automl_gpt._errors").attr(exception_class(e.kind()));
      PyErr_SetObject(cls.ptr(), py::str(e.what()).ptr());
    }
  });

  py::class_<TableBuilder>(m, "Table")
      .def(py::init<>())
      .def("add_numeric", &TableBuilder::add_numeric, py::arg("name"), py::arg("values"))
      .def("add_strings", &TableBuilder::add_strings, py::arg("name"), py::arg("cells"), py::arg("type") = py::none())
      .def_property_readonly("n_rows", &TableBuilder::n_rows)
      .def_property_readonly("column_types", &TableBuilder::column_types);

  m.def("fit", &fit, py::arg("table"), py::arg("target"), py::arg("options"), py::arg("on_line") = py::none());
  m.def("parse_duration", &parse_duration, py::arg("text"));
  m.def("parse_memory_size", &parse_memory_size, py::arg("text"));
  m.def("new_run_id", &new_run_id, py::arg("seed"));

  py::class_<Pipeline, std::shared_ptr<Pipeline>>(m, "Model")
      .def_static(
          "load", [](const std::filesystem::path& dir) { return std::make_shared<Pipeline>(load_pipeline(dir)); },
          py::arg("run_dir"))
      .def(
          "predict",
          [](const Pipeline& p, const TableBuilder& rows) {
            std::vector<double> pred;
            {
              py::gil_scoped_release release;
              pred = p.predict(*rows.table());
            }
            return to_array(pred, rows.n_rows(), p.target.n_outputs());
          },
          py::arg("table"))
      .def(
          "predict_file",
          [](const Pipeline& p, const std::string& path) {
            std::vector<double> pred;
            std::size_t n = 0;
            {
              py::gil_scoped_release release;
              Table t = read_rows(path, p);
              n = t.n_rows;
              pred = p.predict(t);
            }
            return to_array(pred, n, p.target.n_outputs());
          },
          py::arg("path"))
      .def_property_readonly("task", [](const Pipeline& p) { return std::string(task_name(p.target.task)); })
      .def_property_readonly("target", [](const Pipeline& p) { return p.target.name; })
      .def_property_readonly("classes", [](const Pipeline& p) { return p.target.classes; })
      .def_property_readonly("family", [](const Pipeline& p) { return p.family; })
      .def_property_readonly("features", [](const Pipeline& p) { return p.features; })
      .def_property_readonly("schema", [](const Pipeline& p) {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& [name, type] : p.schema) out.emplace_back(name, column_type_name(type));
        return out;
      });
}
