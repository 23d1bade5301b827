// Private building blocks of the CSV reader (src/data/csv.cpp): the record
// scanner, the number parser and the missing-token matcher. Tests include this
// header to pin the low-level behaviour; nothing outside src/data/ should.
#pragma once

#include <array>
#include <span>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace automl::csv_detail {

// A parse failure inside a buffer, before the file name is known. `line` is the
// 0-based physical line, relative to where the scanner started, of the record
// that failed; the caller turns it into "file:LINE: message".
struct ParseError {
  std::size_t line = 0;
  std::string message;
};

// One field of a record. `text` points into the input buffer (stable == true)
// or into the scanner's scratch space for fields whose doubled quotes had to be
// collapsed (stable == false; valid until the next call to next()).
struct Field {
  std::string_view text;
  bool quoted = false;
  bool stable = true;
};

// Splits an RFC-4180 buffer into records.
//
//   RecordScanner scanner(data, ',');
//   while (scanner.next()) { for (const Field& f : scanner.fields()) ...; scanner.record_line(); }
//
// - A field that starts with '"' is quoted: delimiters, CR and LF inside it are
//   data, and "" stands for one quote. Text between the closing quote and the
//   next delimiter is kept as is (lenient, as most readers are).
// - A quote anywhere else in an unquoted field is an ordinary character.
// - Records end at LF, CRLF or a lone CR. Blank lines are skipped.
// - The end of the buffer ends the last record, with or without a newline.
// - A quoted field still open at the end of the buffer throws ParseError.
// Lines are counted as line terminators passed (LF, CRLF or lone CR), including
// those inside quoted fields, so record_line() is the physical line.
class RecordScanner {
 public:
  RecordScanner(std::string_view data, char delimiter, std::size_t pos = 0);

  // Reads the next record. Returns false when no record starts before `limit`
  // (a byte offset; default: the end of the buffer).
  bool next(std::size_t limit = std::string_view::npos);
  // The fields of the last record read (valid until the next call to next()).
  std::span<const Field> fields() const { return {fields_.data(), n_fields_}; }

  // Byte offset just past the last record read (or past skipped blank lines).
  std::size_t pos() const { return pos_; }
  // Line terminators passed so far.
  std::size_t lines() const { return lines_; }
  // 0-based line (relative to the start position) where the last record began.
  std::size_t record_line() const { return record_line_; }

 private:
  const char* find_special(const char* p, const char* end) const;

  std::string_view data_;
  char delimiter_;
  std::size_t pos_;
  std::size_t lines_ = 0;
  std::size_t record_line_ = 0;
  std::vector<Field> fields_;  // grows, never shrinks; the first n_fields_ are live
  std::size_t n_fields_ = 0;
  std::string scratch_;
  std::vector<std::pair<std::size_t, std::size_t>> scratch_fields_;  // (field index, scratch offset)
  std::array<bool, 256> special_{};                                   // delimiter, CR, LF
};

// Parses a whole cell as a number: optional spaces, an optional sign, digits
// with an optional fraction and exponent, optional spaces. "inf", "nan", hex and
// thousands separators are not numbers here. With `may_read_past_end`, the 8
// bytes after the cell must be readable (they are looked at, never used).
bool parse_number(std::string_view cell, double& out, bool may_read_past_end = false);

// Matches cells against the missing tokens. Surrounding spaces are ignored.
class MissingTokens {
 public:
  explicit MissingTokens(const std::vector<std::string>& tokens);
  bool contains(std::string_view cell) const;

 private:
  bool contains_exact(std::string_view cell) const;
  std::vector<std::string> tokens_;
  std::array<bool, 256> first_char_{};  // first bytes of the non-empty tokens
  bool has_empty_ = false;
  uint64_t length_mask_ = 0;  // bit n: some token has length n (bit 63: length >= 63)
};

// Strips a leading UTF-8 byte-order mark.
std::string_view strip_bom(std::string_view data);

}  // namespace automl::csv_detail
