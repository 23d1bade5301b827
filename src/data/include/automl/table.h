// A typed, column-major table read from CSV/TSV.
//
//   automl::CsvOptions opt;                       // defaults: sniff delimiter, usual NA tokens
//   opt.declared_types["zip"] = automl::ColumnType::kCategorical;
//   automl::Table t = automl::read_csv("train.csv", opt);
//   const automl::Column& age = t.column("age");  // throws kNotFound naming close columns
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace automl {

enum class ColumnType { kNumeric, kCategorical, kText };

const char* column_type_name(ColumnType type);
// Parses "numeric", "categorical" or "text"; throws kInvalidInput otherwise.
ColumnType parse_column_type(std::string_view name);

struct Column {
  std::string name;
  ColumnType type = ColumnType::kNumeric;
  // kNumeric: one value per row, NaN when missing.
  std::vector<double> numeric;
  // kCategorical: one code per row into `levels`, -1 when missing. Levels are in
  // order of first appearance in the file.
  std::vector<int32_t> codes;
  std::vector<std::string> levels;
  // kText: one string per row; `missing[i]` is 1 when the cell was missing.
  std::vector<std::string> text;
  std::vector<uint8_t> text_missing;
  std::size_t n_missing = 0;
  // kNumeric: cells that held infinities or magnitudes beyond the float range (1e308),
  // read as missing (and counted in n_missing too).
  std::size_t n_out_of_range = 0;

  std::size_t size() const;
  bool is_missing(std::size_t row) const;
  // The cell as the file spelled it (numbers re-printed), "" when missing.
  std::string cell_string(std::size_t row) const;
};

struct Table {
  std::string source;  // file path (for error messages)
  std::size_t n_rows = 0;
  std::vector<Column> columns;

  // Index of the column named `name`, or -1.
  int find(std::string_view name) const;
  // The column named `name`; throws kNotFound with the closest names otherwise.
  const Column& column(std::string_view name) const;
  std::vector<std::string> column_names() const;
};

struct CsvOptions {
  // 0 = sniff: '\t' for .tsv/.tab files or when the header holds tabs and no commas.
  char delimiter = 0;
  bool has_header = true;
  // Cells equal to one of these (after the field is unquoted) are missing.
  // A quoted empty field "" is also missing.
  std::vector<std::string> missing_tokens = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"};
  // Types the user declared; they override inference. A cell in a column declared
  // numeric that does not parse as a number is an error naming file, line, column, value.
  std::map<std::string, ColumnType> declared_types;
  // Who declared those types, for the errors: "" = the user; a saved model's reader
  // says "the model" (a column it lacks or a cell that does not fit is then named
  // as a mismatch with what the model was trained on).
  std::string types_declared_by;
  // A string column whose values are mostly distinct and long reads as text.
  double text_min_mean_length = 20.0;
  double text_min_unique_share = 0.5;
  // Parsing threads: 0 = one per core for files of 4 MB or more, else 1.
  int n_threads = 0;
};

// Reads a whole CSV/TSV file into a typed table. Handles RFC-4180 quoting,
// doubled quotes, embedded newlines, CRLF, a UTF-8 BOM and empty fields.
// Throws automl::Error: kNotFound (no file), kInvalidInput (empty file, ragged
// row, bad declared value) with "file:line: ..." messages.
// Details: blank lines are skipped; header names are trimmed of spaces, an empty
// name becomes "column_N" (N = 1-based position) and a repeated name is an
// error; a column with no values at all reads as numeric (all NaN); numbers may
// carry surrounding spaces but "inf"/"nan" are text; a declared type naming no
// column throws kNotFound with the closest names.
Table read_csv(const std::string& path, const CsvOptions& options = {});
// Same, from an in-memory buffer; `source` names it in error messages.
Table read_csv_buffer(std::string_view data, const std::string& source, const CsvOptions& options = {});

// The column names of a buffer's header row, as read_csv_buffer names them
// (trimmed; an empty name becomes "column_N"), without reading the rows.
// Throws kInvalidInput for an empty buffer or a header that does not parse.
std::vector<std::string> read_csv_header(std::string_view data, const std::string& source,
                                         const CsvOptions& options = {});

// One cell read as the CSV reader reads a number: surrounding spaces and a sign
// allowed, "inf" and "Infinity" infinities, "nan" not a number. False when the cell is not a number.
bool parse_number_cell(std::string_view cell, double& out);
// Whether the cell, without surrounding spaces, is one of `tokens` (a
// CsvOptions::missing_tokens list), as the CSV reader decides a cell is missing.
bool is_missing_token(std::string_view cell, const std::vector<std::string>& tokens);

// Columns from values already in memory (a Python data frame's), typed the way read_csv
// types a file's: a numeric column takes its values as they are (NaN = missing); a
// string column (std::nullopt = missing) is categorical with its levels in order of
// first appearance, or text, as `type` says or, when it says nothing, by the rule
// read_csv applies (options.text_min_mean_length, options.text_min_unique_share).
Column numeric_column(std::string name, std::vector<double> values);
Column string_column(std::string name, const std::vector<std::optional<std::string>>& cells,
                     std::optional<ColumnType> type = std::nullopt, const CsvOptions& options = {});

// The raw records of a CSV buffer, every field as text (no typing, no missing
// tokens): the layer the csv-spectrum conformance tests check.
std::vector<std::vector<std::string>> parse_csv_records(std::string_view data, char delimiter = ',');

}  // namespace automl
