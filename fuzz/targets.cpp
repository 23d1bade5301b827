#include "targets.h"

#include <string>
#include <string_view>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/table.h"

namespace automl::fuzz {

void csv(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CsvOptions plain;
  plain.n_threads = 1;
  try {
    read_csv_buffer(text, "fuzz.csv", plain);
  } catch (const Error&) {
  }
  CsvOptions typed = plain;
  typed.declared_types["a"] = ColumnType::kNumeric;
  typed.declared_types["b"] = ColumnType::kText;
  try {
    read_csv_buffer(text, "fuzz.csv", typed);
  } catch (const Error&) {
  }
  try {
    parse_csv_records(text, ',');
  } catch (const Error&) {
  }
}

void card(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json overrides;
  try {
    overrides = parse_card_text(text, "fuzz-card.yaml");
  } catch (const Error&) {
    return;
  }
  static const std::string kTable =
      "a,b,t,y\n1.5,p,the first row of words,yes\n2.5,q,another row of text here,no\n0.5,p,more words,yes\n"
      "3.5,q,and the last words,no\n";
  try {
    CsvOptions options;
    for (const auto& [name, type] : declared_feature_types(overrides)) options.declared_types.emplace(name, type);
    const Table table = read_csv_buffer(kTable, "fuzz.csv", options);
    infer_data_card(table, overrides.value("target", std::string("y")), "fuzz", overrides);
  } catch (const Error&) {
  }
}

}  // namespace automl::fuzz
