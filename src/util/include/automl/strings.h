// Small string helpers shared across the library.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace automl {

// Levenshtein distance, case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Up to `k` candidates closest to `name` by edit distance (closest first).
std::vector<std::string> closest_names(std::string_view name, const std::vector<std::string>& candidates,
                                       std::size_t k = 3);

// "Did you mean: a, b, c?" or "" when there are no candidates.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

// Joins with a separator.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Quotes a value for an error message, cutting it to `max_len` characters.
std::string quote_value(std::string_view value, std::size_t max_len = 60);

// Without leading and trailing whitespace.
std::string trim(std::string_view s);

// Pieces between any of the characters in `seps` (empty pieces kept).
std::vector<std::string> split_any(std::string_view s, std::string_view seps);

// Pieces between any of the words in `seps`, matched case-insensitively.
std::vector<std::string> split_words_on(std::string_view s, const std::vector<std::string>& seps);

// The byte offset of the first byte that breaks UTF-8 (RFC 3629: no overlong forms,
// no surrogates, nothing past U+10FFFF), or npos when all of `s` is UTF-8.
std::size_t first_invalid_utf8(std::string_view s);

}  // namespace automl
