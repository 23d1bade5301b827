#include <algorithm>
#include <sstream>
#include <thread>

#include "automl/data_card.h"

#include "automl/error.h"
#include "commands.h"

namespace automl::cli {

void ReadFlags::add_to(CLI::App* cmd) {
  cmd->add_option("--missing", missing,
                  "comma-separated cell values that mean 'missing' (default: empty, NA, N/A, NaN, nan, null, NULL, ?); "
                  "pass --missing '' to treat only empty cells as missing")
      ->each([this](const std::string&) { missing_set = true; });
  cmd->add_option("--type", types,
                  "declare a column's type, COLUMN=numeric|categorical|text (repeatable); a declared numeric column "
                  "holding text is an error");
  cmd->add_option("--delimiter", delimiter, "field separator: ',' or 'tab' (default: sniffed from the file)");
}

CsvOptions ReadFlags::options() const {
  CsvOptions o;
  if (missing_set) {
    o.missing_tokens = {""};
    std::stringstream ss(missing);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
      if (!tok.empty()) o.missing_tokens.push_back(tok);
    }
  }
  for (const auto& t : types) {
    auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw_invalid("--type wants COLUMN=numeric|categorical|text, got \"" + t + "\"");
    }
    o.declared_types[t.substr(0, eq)] = parse_column_type(t.substr(eq + 1));
  }
  if (delimiter == "tab" || delimiter == "\\t" || delimiter == "\t") {
    o.delimiter = '\t';
  } else if (delimiter.size() == 1) {
    o.delimiter = delimiter[0];
  } else if (!delimiter.empty()) {
    throw_invalid("--delimiter wants one character or 'tab', got \"" + delimiter + "\"");
  }
  return o;
}

RunRequest dataset_folder_request(const std::filesystem::path& dir, bool need_test) {
  for (const char* name : {"train.csv", "test.csv", "card.json"}) {
    if ((need_test || std::string(name) != "test.csv") && !std::filesystem::exists(dir / name)) {
      throw_not_found("dataset folder " + dir.string() + " has no " + name);
    }
  }
  RunRequest req;
  req.train_path = (dir / "train.csv").string();
  if (std::filesystem::exists(dir / "test.csv")) req.test_path = (dir / "test.csv").string();
  req.card_path = (dir / "card.json").string();
  req.csv.missing_tokens = {""};  // the benchmark format: an empty field and nothing else is missing
  req.name = load_card_file(req.card_path).value("name", dir.filename().string());
  return req;
}

int threads_or_all(int n) { return n > 0 ? n : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

}  // namespace automl::cli
