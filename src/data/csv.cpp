// CSV/TSV reader: RFC-4180 records -> typed columns.
//
// How a file is read:
//  1. The file is mapped into memory (or read into a buffer), a UTF-8 BOM is
//     skipped and the delimiter is sniffed.
//  2. The header is read; empty names become "column_N" (N is the 1-based
//     position), and a repeated name is an error.
//  3. The data rows are cut into chunks at record boundaries, one per core, and
//     each chunk is parsed on its own thread straight into typed columns: a
//     column starts numeric (fast_float) and is demoted to strings (interned
//     into levels) at its first cell that is neither missing nor a number.
//     Chunk boundaries come from quote parity; a chunk that does not end
//     exactly where the next one starts means the guess was wrong (stray quotes
//     in unquoted fields) and the whole file is parsed again on one thread.
//  4. The chunks are stitched together. Rows a column held as numbers before
//     it was demoted are scanned again for their text (one extra pass over the
//     rows concerned, which is rare). A string column whose values are long and
//     mostly distinct becomes text, otherwise categorical.
//
// All errors name the file and the 1-based physical line where the offending
// record starts (lines inside quoted fields count).
#include "csv_internal.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <exception>
#include <cctype>
#include <limits>
#include <thread>
#include <utility>

#include <fast_float/fast_float.h>
#include <fmt/format.h>

#include "automl/error.h"
#include "automl/table.h"
#include "automl/parallel.h"
#include "automl/strings.h"

namespace automl {

// ---------------------------------------------------------------------------
// Column types, columns and tables.

const char* column_type_name(ColumnType type) {
  switch (type) {
    case ColumnType::kNumeric: return "numeric";
    case ColumnType::kCategorical: return "categorical";
    case ColumnType::kText: return "text";
  }
  return "unknown";
}

ColumnType parse_column_type(std::string_view name) {
  std::string lower(name);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "numeric") return ColumnType::kNumeric;
  if (lower == "categorical") return ColumnType::kCategorical;
  if (lower == "text") return ColumnType::kText;
  throw_invalid("unknown column type " + quote_value(name) +
                "; expected numeric, categorical or text");
}

std::size_t Column::size() const {
  switch (type) {
    case ColumnType::kNumeric: return numeric.size();
    case ColumnType::kCategorical: return codes.size();
    case ColumnType::kText: return text.size();
  }
  return 0;
}

bool Column::is_missing(std::size_t row) const {
  switch (type) {
    case ColumnType::kNumeric: return std::isnan(numeric.at(row));
    case ColumnType::kCategorical: return codes.at(row) < 0;
    case ColumnType::kText: return text_missing.at(row) != 0;
  }
  return false;
}

std::string Column::cell_string(std::size_t row) const {
  switch (type) {
    case ColumnType::kNumeric: {
      double v = numeric.at(row);
      if (std::isnan(v)) return "";
      char buf[64];
      auto res = std::to_chars(buf, buf + sizeof buf, v);
      return std::string(buf, res.ptr);
    }
    case ColumnType::kCategorical: {
      int32_t code = codes.at(row);
      return code < 0 ? std::string() : levels.at(static_cast<std::size_t>(code));
    }
    case ColumnType::kText: return text_missing.at(row) ? std::string() : text.at(row);
  }
  return "";
}

int Table::find(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == name) return static_cast<int>(i);
  return -1;
}

const Column& Table::column(std::string_view name) const {
  int index = find(name);
  if (index < 0) {
    std::string msg = "no column " + quote_value(name) + " in " + (source.empty() ? "the table" : source);
    std::string hint = did_you_mean(name, column_names());
    throw_not_found(hint.empty() ? msg : msg + "; " + hint);
  }
  return columns[static_cast<std::size_t>(index)];
}

std::vector<std::string> Table::column_names() const {
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (const auto& c : columns) names.push_back(c.name);
  return names;
}

// ---------------------------------------------------------------------------
// Low-level pieces (csv_internal.h).

namespace csv_detail {

namespace {

// Line terminators in [a, b): LF, CRLF (once) and lone CR.
std::size_t count_lines(const char* a, const char* b, const char* end) {
  std::size_t n = 0;
  for (const char* p = a; p < b; ++p) {
    if (*p == '\n') ++n;
    else if (*p == '\r' && (p + 1 >= end || p[1] != '\n')) ++n;
  }
  return n;
}

}  // namespace

RecordScanner::RecordScanner(std::string_view data, char delimiter, std::size_t pos)
    : data_(data), delimiter_(delimiter), pos_(pos) {
  special_[static_cast<unsigned char>(delimiter)] = true;
  special_[static_cast<unsigned char>('\n')] = true;
  special_[static_cast<unsigned char>('\r')] = true;
}

// The first delimiter, CR or LF in [p, end), or `end`.
inline const char* RecordScanner::find_special(const char* p, const char* end) const {
#if defined(__SSE2__)
  const __m128i delimiter = _mm_set1_epi8(delimiter_);
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  while (end - p >= 16) {
    __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(chunk, delimiter), _mm_cmpeq_epi8(chunk, lf)),
                               _mm_cmpeq_epi8(chunk, cr));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (p < end && !special_[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

bool RecordScanner::next(std::size_t limit) {
  const char* const begin = data_.data();
  const char* const end = begin + data_.size();
  const char* const stop = begin + std::min(limit, data_.size());
  const char* p = begin + pos_;

  // Skip blank lines (but never past `limit`, so chunks stay apart).
  while (p < stop) {
    if (*p == '\n') {
      ++p;
    } else if (*p == '\r') {
      ++p;
      if (p < end && *p == '\n') ++p;
    } else {
      break;
    }
    ++lines_;
  }
  if (p >= stop) {
    pos_ = static_cast<std::size_t>(p - begin);
    return false;
  }

  record_line_ = lines_;
  std::size_t n = 0;
  auto push = [&](Field f) {
    if (n == fields_.size()) fields_.resize(n * 2 + 8);
    fields_[n++] = f;
  };
  scratch_.clear();
  scratch_fields_.clear();
  const auto& special = special_;

  for (;;) {
    if (p < end && *p == '"') {
      const char* q = p + 1;
      const char* content = q;
      bool in_scratch = false;
      std::size_t scratch_offset = 0;
      const char* content_end = nullptr;
      for (;;) {
        const char* hit = static_cast<const char*>(std::memchr(q, '"', static_cast<std::size_t>(end - q)));
        if (hit == nullptr) {
          throw ParseError{record_line_, "quoted field never closed (field " + std::to_string(n + 1) +
                                             " opens a quote that runs to the end of the file)"};
        }
        lines_ += count_lines(q, hit, end);
        if (hit + 1 < end && hit[1] == '"') {  // "" inside quotes: one literal quote
          if (!in_scratch) {
            in_scratch = true;
            scratch_offset = scratch_.size();
          }
          scratch_.append(q, static_cast<std::size_t>(hit + 1 - q));
          q = hit + 2;
          continue;
        }
        if (in_scratch) scratch_.append(q, static_cast<std::size_t>(hit - q));
        content_end = hit;
        p = hit + 1;
        break;
      }
      if (p < end && !special[static_cast<unsigned char>(*p)]) {  // text after the closing quote
        const char* j = p;
        while (j < end && !special[static_cast<unsigned char>(*j)]) ++j;
        if (!in_scratch) {
          in_scratch = true;
          scratch_offset = scratch_.size();
          scratch_.append(content, static_cast<std::size_t>(content_end - content));
        }
        scratch_.append(p, static_cast<std::size_t>(j - p));
        p = j;
      }
      if (in_scratch) {
        scratch_fields_.emplace_back(n, scratch_offset);
        push(Field{std::string_view(), true, false});
      } else {
        push(Field{std::string_view(content, static_cast<std::size_t>(content_end - content)), true, true});
      }
    } else {
      const char* q = find_special(p, end);
      push(Field{std::string_view(p, static_cast<std::size_t>(q - p)), false, true});
      p = q;
    }

    if (p >= end) break;
    if (*p == delimiter_) {
      ++p;
      continue;
    }
    // End of the record: LF, CRLF or a lone CR.
    if (*p == '\r') {
      ++p;
      if (p < end && *p == '\n') ++p;
    } else {
      ++p;
    }
    ++lines_;
    break;
  }

  // Point the collapsed fields at the scratch space, now that it has stopped growing.
  for (std::size_t i = 0; i < scratch_fields_.size(); ++i) {
    auto [index, offset] = scratch_fields_[i];
    std::size_t next_offset = i + 1 < scratch_fields_.size() ? scratch_fields_[i + 1].second : scratch_.size();
    fields_[index].text = std::string_view(scratch_.data() + offset, next_offset - offset);
  }
  n_fields_ = n;
  pos_ = static_cast<std::size_t>(p - begin);
  return true;
}

namespace {

constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
constexpr uint64_t kPow10Int[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// How many of the 8 bytes of `w` (first byte lowest) are digits before the first non-digit.
unsigned leading_digits(uint64_t w) {
  uint64_t high = (w & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull;                                // 0 iff 0x30-0x3F
  uint64_t low = ((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull;  // 0 iff low nibble <= 9
  uint64_t non_digit = high | low;  // a carry out of a byte >= 0xFA only disturbs later bytes
  if (non_digit == 0) return 8;
  return static_cast<unsigned>(__builtin_ctzll(non_digit)) / 8;
}

// The value of the first n (1..8) digit bytes of `w`.
uint64_t digits_value(uint64_t w, unsigned n) {
  uint64_t v = (w - 0x3030303030303030ull) << (8 * (8 - n));  // drop the rest; zeros lead
  v = v * 10 + (v >> 8);
  v = (((v & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
       (((v >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >> 32;
  return v & 0xFFFFFFFFull;
}

}  // namespace

bool parse_number(std::string_view cell, double& out, bool may_read_past_end) {
  const char* b = cell.data();
  const char* e = b + cell.size();
  while (b < e && (*b == ' ' || *b == '\t')) ++b;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t')) --e;
  if (b == e) return false;
  bool negative = false;
  const char* p = b;
  if (*p == '-' || *p == '+') {
    negative = *p == '-';
    ++p;
  }
  if (p == e) return false;
  // Plain decimals of up to 15 digits: the mantissa and the power of ten are
  // exact doubles, so one division rounds correctly (Clinger's fast path).
  if (may_read_past_end) {
    // Up to 7 integer and 7 fraction digits, 8 bytes at a time, without loops.
    uint64_t w = load8(p);
    auto n_int = std::min<unsigned>(leading_digits(w), static_cast<unsigned>(std::min<std::ptrdiff_t>(e - p, 8)));
    if (n_int < 8) {
      uint64_t mantissa = n_int > 0 ? digits_value(w, n_int) : 0;
      const char* d = p + n_int;
      if (d == e) {
        if (n_int == 0) return false;
        out = negative ? -static_cast<double>(mantissa) : static_cast<double>(mantissa);
        return true;
      }
      if (*d == '.') {
        ++d;
        uint64_t w2 = load8(d);
        auto n_frac = std::min<unsigned>(leading_digits(w2), static_cast<unsigned>(std::min<std::ptrdiff_t>(e - d, 8)));
        if (n_frac < 8 && d + n_frac == e) {
          if (n_int + n_frac == 0) return false;  // "."
          if (n_frac > 0) mantissa = mantissa * kPow10Int[n_frac] + digits_value(w2, n_frac);
          double value = static_cast<double>(mantissa);
          if (n_frac > 0) value /= kPow10[n_frac];
          out = negative ? -value : value;
          return true;
        }
      }
    }
  } else {
    uint64_t mantissa = 0;
    const char* d = p;
    const char* digits_end = p + std::min<std::ptrdiff_t>(e - p, 16);
    while (d < digits_end && static_cast<unsigned>(*d - '0') < 10u) mantissa = mantissa * 10 + static_cast<unsigned>(*d++ - '0');
    std::ptrdiff_t n_int = d - p;
    std::ptrdiff_t n_frac = 0;
    if (d < e && *d == '.') {
      const char* f = ++d;
      const char* frac_end = d + std::min<std::ptrdiff_t>(e - d, 16);
      while (d < frac_end && static_cast<unsigned>(*d - '0') < 10u) mantissa = mantissa * 10 + static_cast<unsigned>(*d++ - '0');
      n_frac = d - f;
    }
    if (d == e && n_int + n_frac <= 15) {
      if (n_int + n_frac == 0) return false;  // "."
      double value = static_cast<double>(mantissa);
      if (n_frac > 0) value /= kPow10[n_frac];
      out = negative ? -value : value;
      return true;
    }
  }
  // Infinities, as spreadsheets and numeric libraries print them ("inf", "-Infinity");
  // the reader turns them into missing cells with a count (see n_out_of_range).
  if (std::tolower(static_cast<unsigned char>(*p)) == 'i') {
    auto lower_equals = [&](std::string_view word) {
      if (static_cast<std::size_t>(e - p) != word.size()) return false;
      for (std::size_t i = 0; i < word.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(p[i])) != word[i]) return false;
      }
      return true;
    };
    if (!lower_equals("inf") && !lower_equals("infinity")) return false;
    out = negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  // Must start with a digit or '.', which keeps out nan and a second sign.
  if (!(static_cast<unsigned>(*p - '0') < 10u || *p == '.')) return false;
  double value = 0;
  auto res = fast_float::from_chars(p, e, value);
  if (res.ec != std::errc() || res.ptr != e) return false;
  out = negative ? -value : value;
  return true;
}

MissingTokens::MissingTokens(const std::vector<std::string>& tokens) : tokens_(tokens) {
  for (const auto& t : tokens_) {
    length_mask_ |= uint64_t{1} << std::min<std::size_t>(t.size(), 63);
    if (t.empty()) has_empty_ = true;
    else first_char_[static_cast<unsigned char>(t[0])] = true;
  }
}

bool MissingTokens::contains_exact(std::string_view cell) const {
  if (cell.empty()) return has_empty_;
  if (!first_char_[static_cast<unsigned char>(cell[0])]) return false;
  if (!(length_mask_ >> std::min<std::size_t>(cell.size(), 63) & 1)) return false;
  for (const auto& t : tokens_)
    if (cell == t) return true;
  return false;
}

bool MissingTokens::contains(std::string_view cell) const {
  if (contains_exact(cell)) return true;
  if (cell.empty() || (cell.front() != ' ' && cell.back() != ' ')) return false;  // the usual case
  std::size_t a = cell.find_first_not_of(' ');
  if (a == std::string_view::npos) return contains_exact(std::string_view());
  std::size_t b = cell.find_last_not_of(' ');
  return contains_exact(cell.substr(a, b - a + 1));
}

std::string_view strip_bom(std::string_view data) {
  if (data.size() >= 3 && static_cast<unsigned char>(data[0]) == 0xEF &&
      static_cast<unsigned char>(data[1]) == 0xBB && static_cast<unsigned char>(data[2]) == 0xBF)
    data.remove_prefix(3);
  return data;
}

}  // namespace csv_detail

// ---------------------------------------------------------------------------
// Typed parsing.

namespace {

using csv_detail::Field;
using csv_detail::MissingTokens;
using csv_detail::ParseError;
using csv_detail::RecordScanner;

// Interns strings into codes in order of first appearance. Keys are views:
// into the input buffer for stable fields, into owned copies otherwise.
// Open addressing with a cheap word-at-a-time hash: categorical columns send
// every cell through here, so std::unordered_map was a visible cost.
class Interner {
 public:
  int32_t intern(std::string_view s, bool stable) {
    const uint64_t h = hash(s);
    if (slots_.empty()) rehash(16);
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.code < 0) break;
      if (slot.hash == h && levels_[static_cast<std::size_t>(slot.code)] == s) return slot.code;
    }
    std::string_view key = s;
    if (!stable) key = owned_.emplace_back(s);
    auto code = static_cast<int32_t>(levels_.size());
    levels_.push_back(key);
    hashes_.push_back(h);
    if (levels_.size() * 2 > slots_.size()) rehash(slots_.size() * 2);
    else insert(h, code);
    return code;
  }
  const std::vector<std::string_view>& levels() const { return levels_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    int32_t code = -1;
  };

  static uint64_t hash(std::string_view s) {
    constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
    uint64_t h = s.size() * kMul;
    const char* p = s.data();
    std::size_t n = s.size();
    while (n >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      h = (h ^ w) * kMul;
      h ^= h >> 29;
      p += 8;
      n -= 8;
    }
    if (n > 0) {
      // The last 1-7 bytes, read without a byte loop (which stalls store forwarding).
      uint64_t w;
      if (s.size() >= 8) {
        std::memcpy(&w, p + n - 8, 8);
      } else if (n >= 4) {
        uint32_t lo, hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + n - 4, 4);
        w = lo | static_cast<uint64_t>(hi) << 32;
      } else {
        w = static_cast<unsigned char>(p[0]) | static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
            static_cast<uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
      }
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    h *= kMul;
    return h ^ (h >> 32);
  }

  void insert(uint64_t h, int32_t code) {
    std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>(h) & mask;
    while (slots_[i].code >= 0) i = (i + 1) & mask;
    slots_[i] = Slot{h, code};
  }

  void rehash(std::size_t size) {
    slots_.assign(size, Slot{});
    for (std::size_t c = 0; c < levels_.size(); ++c) insert(hashes_[c], static_cast<int32_t>(c));
  }

  std::vector<Slot> slots_;
  std::vector<std::string_view> levels_;
  std::vector<uint64_t> hashes_;
  std::deque<std::string> owned_;
};

enum class Mode : uint8_t { kNumeric, kStrings, kText };

// One column of one chunk while it is being parsed.
struct ColumnBuilder {
  Mode mode = Mode::kNumeric;
  bool declared_numeric = false;
  // Numeric columns fill `numeric`. A column demoted at row r drops `numeric`
  // and holds rows [r, n) in `codes`; rows [0, r) are read again by assemble().
  std::size_t strings_from = 0;
  std::vector<double> numeric;
  std::vector<int32_t> codes;
  Interner interner;
  std::vector<std::string> text;  // declared text columns skip interning
  std::vector<uint8_t> text_missing;
};

struct Context {
  std::string_view data;
  char delimiter = ',';
  std::vector<std::string> names;
  std::vector<Mode> modes;  // starting mode per column
  std::vector<bool> declared_numeric;
  const MissingTokens* missing = nullptr;
  bool has_header = true;
  std::string types_declared_by;  // CsvOptions::types_declared_by
};

struct Chunk {
  std::size_t begin = 0;
  std::size_t limit = 0;
  std::size_t end_pos = 0;  // where parsing stopped
  std::size_t lines = 0;    // line terminators passed
  std::size_t n_rows = 0;
  std::vector<ColumnBuilder> columns;
  bool failed = false;
  ParseError error;
  std::exception_ptr other_error;
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string column_list(const std::vector<std::string>& names) {
  constexpr std::size_t kShown = 8;
  std::vector<std::string> shown(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(std::min(kShown, names.size())));
  std::string out = join(shown, ", ");
  if (names.size() > kShown) out += ", ...";
  return out;
}

std::string ragged_message(std::size_t n_fields, const Context& ctx) {
  return "row has " + std::to_string(n_fields) + " field" + (n_fields == 1 ? "" : "s") + " but the " +
         (ctx.has_header ? "header" : "first row") + " has " + std::to_string(ctx.names.size()) +
         " (columns: " + column_list(ctx.names) + ")";
}

bool is_missing_cell(const Field& f, const MissingTokens& missing) {
  return (f.quoted && f.text.empty()) || missing.contains(f.text);
}

std::size_t estimate_rows(std::string_view data, std::size_t begin, std::size_t limit) {
  std::size_t sample_end = std::min(limit, begin + (std::size_t{1} << 18));
  if (sample_end <= begin) return 0;
  auto newlines = static_cast<std::size_t>(std::count(data.data() + begin, data.data() + sample_end, '\n'));
  double per_byte = static_cast<double>(newlines + 1) / static_cast<double>(sample_end - begin);
  return static_cast<std::size_t>(per_byte * static_cast<double>(limit - begin) * 1.05) + 16;
}

// Parses the records in [chunk.begin, chunk.limit) into typed builders.
// Throws ParseError with lines relative to chunk.begin.
void parse_chunk(const Context& ctx, Chunk& chunk) {
  const std::size_t n_cols = ctx.names.size();
  const std::size_t reserve = estimate_rows(ctx.data, chunk.begin, chunk.limit);
  chunk.columns.resize(n_cols);
  for (std::size_t c = 0; c < n_cols; ++c) {
    ColumnBuilder& b = chunk.columns[c];
    b.mode = ctx.modes[c];
    b.declared_numeric = ctx.declared_numeric[c];
    if (b.mode == Mode::kNumeric) b.numeric.reserve(reserve);
    if (b.mode == Mode::kStrings) b.codes.reserve(reserve);
    if (b.mode == Mode::kText) {
      b.text.reserve(reserve);
      b.text_missing.reserve(reserve);
    }
  }
  const MissingTokens& missing = *ctx.missing;
  const char* const data_end = ctx.data.data() + ctx.data.size();
  RecordScanner scanner(ctx.data, ctx.delimiter, chunk.begin);
  std::size_t row = 0;
  while (scanner.next(chunk.limit)) {
    std::span<const Field> fields = scanner.fields();
    if (fields.size() != n_cols) throw ParseError{scanner.record_line(), ragged_message(fields.size(), ctx)};
    for (std::size_t c = 0; c < n_cols; ++c) {
      const Field& f = fields[c];
      ColumnBuilder& b = chunk.columns[c];
      switch (b.mode) {
        case Mode::kNumeric: {
          if (is_missing_cell(f, missing)) {
            b.numeric.push_back(kNaN);
            break;
          }
          double v;
          if (csv_detail::parse_number(f.text, v, f.stable && f.text.data() + f.text.size() + 8 <= data_end)) {
            b.numeric.push_back(v);
            break;
          }
          if (b.declared_numeric) {
            throw ParseError{scanner.record_line(),
                             ctx.types_declared_by.empty()
                                 ? "column " + quote_value(ctx.names[c]) + " is declared numeric but holds " +
                                       quote_value(f.text) +
                                       " (fix the cell, list it in missing_tokens, or declare the column categorical)"
                                 : "column " + quote_value(ctx.names[c]) + " holds " + quote_value(f.text) + ", but " +
                                       ctx.types_declared_by + " was trained on it as numeric (fix the cell or leave it "
                                                               "empty as missing)"};
          }
          b.mode = Mode::kStrings;
          b.strings_from = row;
          std::vector<double>().swap(b.numeric);  // rows before are re-read as text when assembling
          b.codes.reserve(reserve > row ? reserve - row : 16);
          b.codes.push_back(b.interner.intern(f.text, f.stable));
          break;
        }
        case Mode::kStrings:
          b.codes.push_back(is_missing_cell(f, missing) ? -1 : b.interner.intern(f.text, f.stable));
          break;
        case Mode::kText: {
          bool m = is_missing_cell(f, missing);
          b.text.emplace_back(m ? std::string_view() : f.text);
          b.text_missing.push_back(m ? 1 : 0);
          break;
        }
      }
    }
    ++row;
  }
  chunk.n_rows = row;
  chunk.end_pos = scanner.pos();
  chunk.lines = scanner.lines();
}

void run_chunk(const Context& ctx, Chunk& chunk) {
  try {
    parse_chunk(ctx, chunk);
  } catch (ParseError& e) {
    chunk.failed = true;
    chunk.error = std::move(e);
  } catch (...) {
    chunk.failed = true;
    chunk.other_error = std::current_exception();
  }
}

// Chunk boundaries: starts of records near i/n of the data, found from quote
// parity (exact for RFC-4180 files; parse_all() checks the guess).
std::vector<std::size_t> split_points(std::string_view data, std::size_t begin, std::size_t n_chunks) {
  std::vector<std::size_t> bounds{begin};
  std::size_t quotes = 0;
  std::size_t counted_to = begin;
  const std::size_t size = data.size();
  for (std::size_t i = 1; i < n_chunks; ++i) {
    std::size_t target = begin + (size - begin) * i / n_chunks;
    if (target <= bounds.back()) continue;
    quotes += static_cast<std::size_t>(std::count(data.data() + counted_to, data.data() + target, '"'));
    counted_to = target;
    bool in_quotes = quotes % 2 == 1;
    std::size_t p = target;
    for (; p < size; ++p) {
      char ch = data[p];
      if (ch == '"') in_quotes = !in_quotes;
      else if (ch == '\n' && !in_quotes) break;
    }
    if (p + 1 >= size) break;
    if (p + 1 > bounds.back()) bounds.push_back(p + 1);
  }
  bounds.push_back(size);
  return bounds;
}

[[noreturn]] void throw_at(const std::string& source, std::size_t line, const std::string& message) {
  throw_invalid(source + ":" + std::to_string(line) + ": " + message);
}

// Parses all data rows from `begin` (which sits on line `first_line`, 1-based).
std::vector<Chunk> parse_all(const Context& ctx, std::size_t begin, std::size_t first_line, std::size_t n_threads,
                             const std::string& source) {
  std::vector<std::size_t> bounds = split_points(ctx.data, begin, std::max<std::size_t>(n_threads, 1));
  std::vector<Chunk> chunks(bounds.size() - 1);
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    chunks[k].begin = bounds[k];
    chunks[k].limit = bounds[k + 1];
  }
  parallel_for(chunks.size(), static_cast<int>(chunks.size()), [&](std::size_t k) { run_chunk(ctx, chunks[k]); });
  std::size_t line = first_line;
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    Chunk& chunk = chunks[k];
    // Chunk k starts on a true record boundary (chunk k-1 ended exactly there),
    // so its first error is the file's first error.
    if (chunk.other_error) std::rethrow_exception(chunk.other_error);
    if (chunk.failed) throw_at(source, line + chunk.error.line, chunk.error.message);
    if (k + 1 < chunks.size() && chunk.end_pos != bounds[k + 1]) {
      // The split guess was wrong (quotes inside unquoted fields): start over on one thread.
      return parse_all(ctx, begin, first_line, 1, source);
    }
    line += chunk.lines;
  }
  return chunks;
}

// The text of the rows a column held as numbers before turning into strings.
// Scans chunk rows [0, max prefix) again and interns the cells of `targets`.
struct PrefixTarget {
  std::size_t column;
  std::size_t rows;  // rows to collect from the start of the chunk
  Interner* interner;
  std::vector<int32_t>* codes;
};

void rescan_prefix(const Context& ctx, const Chunk& chunk, const std::vector<PrefixTarget>& targets) {
  std::size_t max_rows = 0;
  for (const auto& t : targets) max_rows = std::max(max_rows, t.rows);
  RecordScanner scanner(ctx.data, ctx.delimiter, chunk.begin);
  for (std::size_t row = 0; row < max_rows && scanner.next(chunk.limit); ++row) {
    std::span<const Field> fields = scanner.fields();
    for (const auto& t : targets) {
      if (row >= t.rows) continue;
      const Field& f = fields[t.column];
      t.codes->push_back(is_missing_cell(f, *ctx.missing) ? -1 : t.interner->intern(f.text, f.stable));
    }
  }
}

std::string sniff_source_ext(const std::string& source) {
  auto dot = source.find_last_of('.');
  if (dot == std::string::npos) return "";
  std::string ext = source.substr(dot + 1);
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext;
}

char sniff_delimiter(std::string_view data, const std::string& source) {
  std::string ext = sniff_source_ext(source);
  if (ext == "tsv" || ext == "tab") return '\t';
  std::size_t start = data.find_first_not_of("\r\n");
  if (start == std::string_view::npos) return ',';
  std::string_view first = data.substr(start);
  first = first.substr(0, first.find_first_of("\r\n"));
  if (first.find('\t') != std::string_view::npos && first.find(',') == std::string_view::npos) return '\t';
  return ',';
}

std::string trim_spaces(std::string_view s) {
  std::size_t a = s.find_first_not_of(' ');
  if (a == std::string_view::npos) return "";
  std::size_t b = s.find_last_not_of(' ');
  return std::string(s.substr(a, b - a + 1));
}

Column finish_strings(std::string name, Interner& interner, std::vector<int32_t> codes, std::size_t n_rows,
                      bool declared_categorical, const CsvOptions& options) {
  Column col;
  col.name = std::move(name);
  const auto& levels = interner.levels();
  std::size_t n_present = 0;
  std::size_t total_length = 0;
  for (int32_t code : codes) {
    if (code >= 0) {
      ++n_present;
      total_length += levels[static_cast<std::size_t>(code)].size();
    }
  }
  col.n_missing = n_rows - n_present;
  bool is_text = false;
  if (!declared_categorical && n_present > 0) {
    double mean_length = static_cast<double>(total_length) / static_cast<double>(n_present);
    double unique_share = static_cast<double>(levels.size()) / static_cast<double>(n_present);
    is_text = mean_length >= options.text_min_mean_length && unique_share >= options.text_min_unique_share;
  }
  if (is_text) {
    col.type = ColumnType::kText;
    col.text.reserve(n_rows);
    col.text_missing.reserve(n_rows);
    for (int32_t code : codes) {
      col.text.emplace_back(code >= 0 ? levels[static_cast<std::size_t>(code)] : std::string_view());
      col.text_missing.push_back(code < 0 ? 1 : 0);
    }
  } else {
    col.type = ColumnType::kCategorical;
    col.levels.reserve(levels.size());
    for (auto level : levels) col.levels.emplace_back(level);
    col.codes = std::move(codes);
  }
  return col;
}

// Stitches the chunks into the table's columns.
void assemble(const Context& ctx, std::vector<Chunk>& chunks, const CsvOptions& options,
              const std::vector<bool>& declared_categorical, Table& table) {
  const std::size_t n_cols = ctx.names.size();
  std::size_t n_rows = 0;
  for (const auto& chunk : chunks) n_rows += chunk.n_rows;
  table.n_rows = n_rows;
  table.columns.resize(n_cols);

  // String columns: final interner and codes per column.
  std::vector<bool> is_strings(n_cols, false);
  for (std::size_t c = 0; c < n_cols; ++c)
    for (const auto& chunk : chunks)
      if (chunk.columns[c].mode == Mode::kStrings) is_strings[c] = true;

  std::vector<Interner> interners(n_cols);
  std::vector<std::vector<int32_t>> codes(n_cols);
  bool single_fast = chunks.size() == 1;
  for (std::size_t c = 0; c < n_cols && single_fast; ++c)
    if (is_strings[c] && chunks[0].columns[c].strings_from != 0) single_fast = false;

  if (single_fast) {
    for (std::size_t c = 0; c < n_cols; ++c) {
      if (!is_strings[c]) continue;
      interners[c] = std::move(chunks[0].columns[c].interner);
      codes[c] = std::move(chunks[0].columns[c].codes);
    }
  } else {
    for (std::size_t c = 0; c < n_cols; ++c)
      if (is_strings[c]) codes[c].reserve(n_rows);
    for (auto& chunk : chunks) {
      std::vector<PrefixTarget> targets;
      for (std::size_t c = 0; c < n_cols; ++c) {
        if (!is_strings[c]) continue;
        const ColumnBuilder& b = chunk.columns[c];
        std::size_t prefix = b.mode == Mode::kStrings ? b.strings_from : chunk.n_rows;
        if (prefix > 0) targets.push_back(PrefixTarget{c, prefix, &interners[c], &codes[c]});
      }
      if (!targets.empty()) rescan_prefix(ctx, chunk, targets);
      for (std::size_t c = 0; c < n_cols; ++c) {
        ColumnBuilder& b = chunk.columns[c];
        if (!is_strings[c] || b.mode != Mode::kStrings) continue;
        std::vector<int32_t> remap;
        remap.reserve(b.interner.levels().size());
        for (auto level : b.interner.levels()) remap.push_back(interners[c].intern(level, true));
        for (int32_t code : b.codes) codes[c].push_back(code < 0 ? -1 : remap[static_cast<std::size_t>(code)]);
        std::vector<int32_t>().swap(b.codes);
      }
    }
  }

  for (std::size_t c = 0; c < n_cols; ++c) {
    Column& col = table.columns[c];
    if (is_strings[c]) {
      col = finish_strings(ctx.names[c], interners[c], std::move(codes[c]), n_rows, declared_categorical[c], options);
      continue;
    }
    col.name = ctx.names[c];
    if (ctx.modes[c] == Mode::kText) {
      col.type = ColumnType::kText;
      if (chunks.size() == 1) {
        col.text = std::move(chunks[0].columns[c].text);
        col.text_missing = std::move(chunks[0].columns[c].text_missing);
      } else {
        for (auto& chunk : chunks) {
          auto& b = chunk.columns[c];
          std::move(b.text.begin(), b.text.end(), std::back_inserter(col.text));
          col.text_missing.insert(col.text_missing.end(), b.text_missing.begin(), b.text_missing.end());
        }
      }
      col.n_missing = static_cast<std::size_t>(std::count(col.text_missing.begin(), col.text_missing.end(), 1));
      continue;
    }
    col.type = ColumnType::kNumeric;
    if (chunks.size() == 1) {
      col.numeric = std::move(chunks[0].columns[c].numeric);
    } else {
      col.numeric.reserve(n_rows);
      for (auto& chunk : chunks) {
        auto& v = chunk.columns[c].numeric;
        col.numeric.insert(col.numeric.end(), v.begin(), v.end());
        std::vector<double>().swap(v);
      }
    }
    // Values no model can take (infinities, and magnitudes past the largest float the
    // feature matrices hold, such as 1e308) are read as missing, and counted.
    for (double& v : col.numeric) {
      if (std::abs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
        v = kNaN;
        ++col.n_out_of_range;
      }
    }
    col.n_missing = static_cast<std::size_t>(
        std::count_if(col.numeric.begin(), col.numeric.end(), [](double v) { return std::isnan(v); }));
  }
}

// Text that is not UTF-8 cannot become a Data Card, a prompt or a saved model: it
// fails here, naming the line, the column (counted outside quotes) and the byte.
void check_utf8(std::string_view data, const std::string& source, char delimiter) {
  const std::size_t bad = first_invalid_utf8(data);
  if (bad == std::string_view::npos) return;
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < bad; ++i) {
    if (data[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  std::size_t column = 1;
  bool quoted = false;
  for (std::size_t i = line_start; i < bad; ++i) {
    if (data[i] == '"') quoted = !quoted;
    else if (data[i] == delimiter && !quoted) ++column;
  }
  std::string where = "column " + std::to_string(column);
  if (line > 1) {  // the header names the column, as the reader names columns
    try {
      RecordScanner header(data, delimiter);
      if (header.next() && column <= header.fields().size()) {
        const std::string name = trim_spaces(header.fields()[column - 1].text);
        if (!name.empty() && first_invalid_utf8(name) == std::string_view::npos) where = "column " + quote_value(name);
      }
    } catch (const ParseError&) {
      // a header that does not parse keeps the column's number
    }
  }
  throw_at(source, line,
           fmt::format("{} holds a byte that is not UTF-8 (0x{:02X}); the file must be UTF-8 text: convert it, e.g. "
                       "`iconv -f latin1 -t utf-8`",
                       where, static_cast<unsigned char>(data[bad])));
}

std::size_t choose_threads(const CsvOptions& options, std::size_t bytes) {
  if (options.n_threads > 0) return static_cast<std::size_t>(options.n_threads);
  if (bytes < (std::size_t{4} << 20)) return 1;
  std::size_t hw = std::thread::hardware_concurrency();
  return std::clamp<std::size_t>(hw, 1, 8);
}

}  // namespace

Table read_csv_buffer(std::string_view data, const std::string& source, const CsvOptions& options) {
  data = csv_detail::strip_bom(data);
  check_utf8(data, source, options.delimiter != 0 ? options.delimiter : sniff_delimiter(data, source));
  Context ctx;
  ctx.types_declared_by = options.types_declared_by;
  ctx.data = data;
  ctx.delimiter = options.delimiter != 0 ? options.delimiter : sniff_delimiter(data, source);
  ctx.has_header = options.has_header;
  MissingTokens missing(options.missing_tokens);
  ctx.missing = &missing;

  // The header (or, without one, the first record to count the columns).
  RecordScanner scanner(data, ctx.delimiter);
  try {
    if (!scanner.next()) throw_invalid(source + " is empty: " + (options.has_header ? "no header row" : "no rows"));
  } catch (ParseError& e) {
    throw_at(source, e.line + 1, e.message);
  }
  const std::size_t header_line = scanner.record_line() + 1;
  std::span<const Field> fields = scanner.fields();
  std::size_t data_begin = 0;
  std::size_t first_line = 1;
  if (options.has_header) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      std::string name = trim_spaces(fields[i].text);
      if (name.empty()) name = "column_" + std::to_string(i + 1);
      ctx.names.push_back(std::move(name));
    }
    for (std::size_t i = 0; i < ctx.names.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (ctx.names[i] == ctx.names[j]) {
          throw_at(source, header_line,
                   "column name " + quote_value(ctx.names[i]) + " appears twice (columns " + std::to_string(j + 1) +
                       " and " + std::to_string(i + 1) + "); column names must be unique");
        }
      }
    }
    data_begin = scanner.pos();
    first_line = scanner.lines() + 1;
  } else {
    for (std::size_t i = 0; i < fields.size(); ++i) ctx.names.push_back("column_" + std::to_string(i + 1));
  }
  const std::size_t n_cols = ctx.names.size();

  // Declared types.
  ctx.modes.assign(n_cols, Mode::kNumeric);
  ctx.declared_numeric.assign(n_cols, false);
  std::vector<bool> declared_categorical(n_cols, false);
  for (const auto& [name, type] : options.declared_types) {
    auto it = std::find(ctx.names.begin(), ctx.names.end(), name);
    if (it == ctx.names.end()) {
      std::string msg = options.types_declared_by.empty()
                            ? source + ": a type is declared for column " + quote_value(name) +
                                  ", but there is no such column"
                            : source + " has no column " + quote_value(name) + ", which " +
                                  options.types_declared_by + " was trained on";
      std::string hint = did_you_mean(name, ctx.names);
      throw_not_found(hint.empty() ? msg : msg + "; " + hint);
    }
    auto c = static_cast<std::size_t>(it - ctx.names.begin());
    switch (type) {
      case ColumnType::kNumeric: ctx.declared_numeric[c] = true; break;
      case ColumnType::kCategorical:
        ctx.modes[c] = Mode::kStrings;
        declared_categorical[c] = true;
        break;
      case ColumnType::kText: ctx.modes[c] = Mode::kText; break;
    }
  }

  std::vector<Chunk> chunks = parse_all(ctx, data_begin, first_line, choose_threads(options, data.size() - data_begin), source);
  std::size_t n_rows = 0;
  for (const auto& chunk : chunks) n_rows += chunk.n_rows;
  if (n_rows == 0) {
    throw_invalid(source + " has a header but no data rows (columns: " + column_list(ctx.names) + ")");
  }

  Table table;
  table.source = source;
  assemble(ctx, chunks, options, declared_categorical, table);
  return table;
}

namespace {

// An open file descriptor, closed exactly once, by its owner.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// The bytes of a file: mapped when possible, read otherwise.
class FileBytes {
 public:
  explicit FileBytes(const std::string& path) {
    const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      if (errno == ENOENT || errno == ENOTDIR) throw_not_found("no such file: " + path);
      throw_io("cannot open " + path + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_io("cannot read " + path + ": " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw_io("cannot read " + path + ": it is a directory, not a CSV file");
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      void* map = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
      if (map != MAP_FAILED) {
        ::madvise(map, static_cast<std::size_t>(st.st_size), MADV_SEQUENTIAL | MADV_WILLNEED);
        map_ = map;
        map_size_ = static_cast<std::size_t>(st.st_size);
        return;  // the mapping outlives the descriptor
      }
    }
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_io("cannot read " + path + ": " + std::strerror(errno));
      }
      if (n == 0) break;
      owned_.append(buf, static_cast<std::size_t>(n));
    }
  }
  ~FileBytes() {
    if (map_ != nullptr) ::munmap(map_, map_size_);
  }
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;

  std::string_view view() const {
    if (map_ != nullptr) return std::string_view(static_cast<const char*>(map_), map_size_);
    return owned_;
  }

 private:
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::string owned_;
};

}  // namespace

Table read_csv(const std::string& path, const CsvOptions& options) {
  FileBytes bytes(path);
  return read_csv_buffer(bytes.view(), path, options);
}

std::vector<std::vector<std::string>> parse_csv_records(std::string_view data, char delimiter) {
  data = csv_detail::strip_bom(data);
  std::vector<std::vector<std::string>> records;
  RecordScanner scanner(data, delimiter);
  try {
    while (scanner.next()) {
      std::span<const Field> fields = scanner.fields();
      auto& record = records.emplace_back();
      record.reserve(fields.size());
      for (const auto& f : fields) record.emplace_back(f.text);
    }
  } catch (ParseError& e) {
    throw_at("<csv data>", e.line + 1, e.message);
  }
  return records;
}

std::vector<std::string> read_csv_header(std::string_view data, const std::string& source, const CsvOptions& options) {
  data = csv_detail::strip_bom(data);
  const char delimiter = options.delimiter != 0 ? options.delimiter : sniff_delimiter(data, source);
  RecordScanner scanner(data, delimiter);
  try {
    if (!scanner.next()) throw_invalid(source + " is empty: no header row");
  } catch (ParseError& e) {
    throw_at(source, e.line + 1, e.message);
  }
  std::vector<std::string> names;
  std::span<const Field> fields = scanner.fields();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::string name = trim_spaces(fields[i].text);
    names.push_back(name.empty() ? "column_" + std::to_string(i + 1) : std::move(name));
  }
  return names;
}

bool parse_number_cell(std::string_view cell, double& out) { return csv_detail::parse_number(cell, out, false); }

bool is_missing_token(std::string_view cell, const std::vector<std::string>& tokens) {
  std::size_t a = cell.find_first_not_of(' ');
  cell = a == std::string_view::npos ? std::string_view() : cell.substr(a, cell.find_last_not_of(' ') - a + 1);
  return std::find(tokens.begin(), tokens.end(), cell) != tokens.end();
}

}  // namespace automl
