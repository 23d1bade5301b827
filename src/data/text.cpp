// The tokenizer and the TF-IDF vectorizer of include/automl/text.h.
#include "automl/text.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/saved_json.h"

namespace automl {
namespace {

bool is_ascii_alnum(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The code point starting at text[i] and its length in bytes (a stray byte reads as itself).
std::pair<char32_t, std::size_t> decode_utf8(std::string_view text, std::size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
  if (i + len > text.size()) len = 1;
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(text[i + k]);
    if ((c & 0xC0) != 0x80) return {b, 1};
    cp = (cp << 6) | (c & 0x3F);
  }
  return {cp, len};
}

// Letters and digits of any script; spaces, controls and punctuation are not.
enum class CharKind { kWord, kSpace, kPunctuation };
CharKind kind_of(char32_t cp) {
  if (cp < 0x80) {
    if (is_ascii_alnum(static_cast<unsigned char>(cp))) return CharKind::kWord;
    return cp > ' ' && cp != 0x7f ? CharKind::kPunctuation : CharKind::kSpace;
  }
  if (cp < 0xA0 || cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x202F || cp == 0x205F || cp == 0x3000 ||
      cp == 0xFEFF) {
    return CharKind::kSpace;  // C1 controls, no-break and typographic spaces, byte-order mark
  }
  // Latin-1 signs (¡ « » ¿ ...), general punctuation (dashes, curly quotes, ellipsis),
  // CJK and full-width punctuation.
  if ((cp >= 0xA1 && cp <= 0xBF && cp != 0xAA && cp != 0xB2 && cp != 0xB3 && cp != 0xB5 && cp != 0xB9 && cp != 0xBA) ||
      cp == 0xD7 || cp == 0xF7 || (cp >= 0x2010 && cp <= 0x205E) || (cp >= 0x3001 && cp <= 0x303F) ||
      (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20)) {
    return CharKind::kPunctuation;
  }
  return CharKind::kWord;
}

constexpr const char* kCharPrefix = "c:";

}  // namespace

nlohmann::json TokenizerOptions::to_json() const {
  return {{"lowercase", lowercase}, {"strip_punctuation", strip_punctuation}, {"strip_numbers", strip_numbers},
          {"min_length", min_length}, {"keep_apostrophes", keep_apostrophes}};
}

TokenizerOptions TokenizerOptions::from_json(const nlohmann::json& j) {
  TokenizerOptions o;
  o.lowercase = j.at("lowercase").get<bool>();
  o.strip_punctuation = j.at("strip_punctuation").get<bool>();
  o.strip_numbers = j.at("strip_numbers").get<bool>();
  o.min_length = static_cast<int>(saved_int(j.at("min_length"), 0, 1 << 20, "a saved tokenizer's min_length"));
  o.keep_apostrophes = j.at("keep_apostrophes").get<bool>();
  return o;
}

std::vector<std::string> tokenize(std::string_view text, const TokenizerOptions& options) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    if (word.size() >= static_cast<std::size_t>(std::max(1, options.min_length)) &&
        !(options.strip_numbers && all_digits(word))) {
      out.push_back(word);
    }
    word.clear();
  };
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const auto [cp, len] = decode_utf8(text, i);
    const CharKind kind = kind_of(cp);
    if (kind == CharKind::kWord) {
      if (len == 1) {
        const auto c = static_cast<char>(cp);
        word += options.lowercase && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
      } else {
        word.append(text.substr(i, len));
      }
      i += len;
      continue;
    }
    // An apostrophe (straight or curly) inside a word belongs to it: "don't", "o’clock".
    if (options.keep_apostrophes && (cp == '\'' || cp == 0x2019) && !word.empty() && i + len < n &&
        kind_of(decode_utf8(text, i + len).first) == CharKind::kWord) {
      word += '\'';
      i += len;
      continue;
    }
    flush();
    if (kind == CharKind::kPunctuation && !options.strip_punctuation) out.emplace_back(text.substr(i, len));
    i += len;
  }
  flush();
  return out;
}

void append_word_ngrams(const std::vector<std::string>& tokens, int n_max, std::vector<std::string>* out) {
  const std::size_t m = tokens.size();
  out->insert(out->end(), tokens.begin(), tokens.end());
  for (int n = 2; n <= n_max; ++n) {
    for (std::size_t i = 0; i + static_cast<std::size_t>(n) <= m; ++i) {
      std::string g = tokens[i];
      for (int k = 1; k < n; ++k) {
        g += ' ';
        g += tokens[i + static_cast<std::size_t>(k)];
      }
      out->push_back(std::move(g));
    }
  }
}

void append_char_ngrams(const std::vector<std::string>& tokens, int n_min, int n_max, std::vector<std::string>* out) {
  std::vector<std::size_t> starts;  // byte offset of each code point, plus the end
  std::string padded;
  for (const auto& t : tokens) {
    padded = " " + t + " ";
    starts.clear();
    for (std::size_t i = 0; i < padded.size(); ++i) {
      if ((static_cast<unsigned char>(padded[i]) & 0xC0) != 0x80) starts.push_back(i);
    }
    const std::size_t chars = starts.size();
    starts.push_back(padded.size());
    for (int n = n_min; n <= n_max; ++n) {
      const auto w = static_cast<std::size_t>(n);
      for (std::size_t i = 0; i + w <= chars; ++i) out->push_back(padded.substr(starts[i], starts[i + w] - starts[i]));
    }
  }
}

nlohmann::json TfidfOptions::to_json() const {
  return {{"tokenizer", tokenizer.to_json()}, {"word_ngram_max", word_ngram_max}, {"char_ngrams", char_ngrams},
          {"char_ngram_min", char_ngram_min}, {"char_ngram_max", char_ngram_max}, {"min_df", min_df},
          {"max_features", max_features}, {"sublinear_tf", sublinear_tf}};
}

TfidfOptions TfidfOptions::from_json(const nlohmann::json& j) {
  TfidfOptions o;
  o.tokenizer = TokenizerOptions::from_json(j.at("tokenizer"));
  o.word_ngram_max = static_cast<int>(saved_int(j.at("word_ngram_max"), 1, 64, "a saved TF-IDF's word_ngram_max"));
  o.char_ngrams = j.at("char_ngrams").get<bool>();
  o.char_ngram_min = static_cast<int>(saved_int(j.at("char_ngram_min"), 1, 64, "a saved TF-IDF's char_ngram_min"));
  o.char_ngram_max = static_cast<int>(saved_int(j.at("char_ngram_max"), 1, 64, "a saved TF-IDF's char_ngram_max"));
  o.min_df = static_cast<int>(saved_int(j.at("min_df"), 0, INT32_MAX, "a saved TF-IDF's min_df"));
  o.max_features = static_cast<std::size_t>(saved_int(j.at("max_features"), 0, INT64_MAX / 2, "a saved TF-IDF's max_features"));
  o.sublinear_tf = j.at("sublinear_tf").get<bool>();
  return o;
}

void TfidfVectorizer::document_terms(std::string_view doc, std::vector<std::string>* out) const {
  out->clear();
  const auto tokens = tokenize(doc, options_.tokenizer);
  append_word_ngrams(tokens, options_.word_ngram_max, out);
  if (!options_.char_ngrams) return;
  const std::size_t first = out->size();
  append_char_ngrams(tokens, options_.char_ngram_min, options_.char_ngram_max, out);
  for (std::size_t i = first; i < out->size(); ++i) (*out)[i].insert(0, kCharPrefix);
}

void TfidfVectorizer::append_row(std::vector<uint32_t>* cols, SparseRows* out) const {
  std::sort(cols->begin(), cols->end());
  const std::size_t begin = out->index.size();
  for (std::size_t i = 0; i < cols->size();) {
    std::size_t j = i;
    while (j < cols->size() && (*cols)[j] == (*cols)[i]) ++j;
    const double count = static_cast<double>(j - i);
    const double tf = options_.sublinear_tf ? 1.0 + std::log(count) : count;
    out->index.push_back((*cols)[i]);
    out->value.push_back(tf * idf_[(*cols)[i]]);
    i = j;
  }
  // Unit L2 norm for each block (word terms, then character terms) of the row.
  double word_sq = 0, char_sq = 0;
  for (std::size_t k = begin; k < out->index.size(); ++k) {
    (out->index[k] < n_word_terms_ ? word_sq : char_sq) += out->value[k] * out->value[k];
  }
  const double word_scale = word_sq > 0 ? 1.0 / std::sqrt(word_sq) : 0.0;
  const double char_scale = char_sq > 0 ? 1.0 / std::sqrt(char_sq) : 0.0;
  for (std::size_t k = begin; k < out->index.size(); ++k) {
    out->value[k] *= out->index[k] < n_word_terms_ ? word_scale : char_scale;
  }
  out->offsets.push_back(out->index.size());
  ++out->rows;
}

SparseRows TfidfVectorizer::fit_transform(const std::vector<std::string>& docs) {
  if (options_.word_ngram_max < 1 || options_.min_df < 1 ||
      (options_.char_ngrams && (options_.char_ngram_min < 1 || options_.char_ngram_max < options_.char_ngram_min))) {
    throw_internal(fmt::format("TF-IDF options out of range: {}", options_.to_json().dump()));
  }
  // One pass: every term gets a provisional id; each document keeps its ids.
  std::unordered_map<std::string, uint32_t> provisional;
  std::vector<std::string> names;
  std::vector<uint32_t> df, last_doc;
  std::vector<uint32_t> doc_ids;
  std::vector<std::size_t> doc_start = {0};
  std::vector<std::string> terms;
  for (std::size_t d = 0; d < docs.size(); ++d) {
    document_terms(docs[d], &terms);
    for (auto& t : terms) {
      auto [it, added] = provisional.try_emplace(t, static_cast<uint32_t>(names.size()));
      if (added) {
        names.push_back(std::move(t));
        df.push_back(0);
        last_doc.push_back(UINT32_MAX);
      }
      const uint32_t id = it->second;
      if (last_doc[id] != d) {
        last_doc[id] = static_cast<uint32_t>(d);
        ++df[id];
      }
      doc_ids.push_back(id);
    }
    doc_start.push_back(doc_ids.size());
  }
  provisional.clear();

  // The vocabulary: terms in at least min_df documents, the most frequent
  // max_features of each block, each block in alphabetical order.
  std::vector<uint32_t> word_ids, char_ids;
  for (uint32_t id = 0; id < names.size(); ++id) {
    if (df[id] < static_cast<uint32_t>(options_.min_df)) continue;
    (names[id].rfind(kCharPrefix, 0) == 0 ? char_ids : word_ids).push_back(id);
  }
  auto keep = [&](std::vector<uint32_t>* ids) {
    if (options_.max_features > 0 && ids->size() > options_.max_features) {
      std::nth_element(ids->begin(), ids->begin() + static_cast<std::ptrdiff_t>(options_.max_features), ids->end(),
                       [&](uint32_t a, uint32_t b) { return df[a] != df[b] ? df[a] > df[b] : names[a] < names[b]; });
      ids->resize(options_.max_features);
    }
    std::sort(ids->begin(), ids->end(), [&](uint32_t a, uint32_t b) { return names[a] < names[b]; });
  };
  keep(&word_ids);
  keep(&char_ids);
  std::vector<uint32_t> final_of(names.size(), UINT32_MAX);
  terms_.clear();
  idf_.clear();
  index_.clear();
  const double n = static_cast<double>(docs.size());
  for (const auto* block : {&word_ids, &char_ids}) {
    for (uint32_t id : *block) {
      final_of[id] = static_cast<uint32_t>(terms_.size());
      index_.emplace(names[id], static_cast<uint32_t>(terms_.size()));
      terms_.push_back(std::move(names[id]));
      idf_.push_back(std::log((1.0 + n) / (1.0 + static_cast<double>(df[id]))) + 1.0);
    }
  }
  n_word_terms_ = word_ids.size();

  SparseRows out;
  out.cols = terms_.size();
  std::vector<uint32_t> cols;
  for (std::size_t d = 0; d < docs.size(); ++d) {
    cols.clear();
    for (std::size_t k = doc_start[d]; k < doc_start[d + 1]; ++k) {
      if (final_of[doc_ids[k]] != UINT32_MAX) cols.push_back(final_of[doc_ids[k]]);
    }
    append_row(&cols, &out);
  }
  return out;
}

SparseRows TfidfVectorizer::transform(const std::vector<std::string>& docs) const {
  SparseRows out;
  out.cols = terms_.size();
  std::vector<std::string> terms;
  std::vector<uint32_t> cols;
  for (const auto& doc : docs) {
    document_terms(doc, &terms);
    cols.clear();
    for (const auto& t : terms) {
      auto it = index_.find(t);
      if (it != index_.end()) cols.push_back(it->second);
    }
    append_row(&cols, &out);
  }
  return out;
}

nlohmann::json TfidfVectorizer::to_json() const {
  return {{"options", options_.to_json()}, {"n_word_terms", n_word_terms_}, {"terms", terms_}, {"idf", idf_}};
}

TfidfVectorizer TfidfVectorizer::from_json(const nlohmann::json& j) {
  TfidfVectorizer v;
  try {
    v.options_ = TfidfOptions::from_json(j.at("options"));
    v.terms_ = j.at("terms").get<std::vector<std::string>>();
    v.idf_ = j.at("idf").get<std::vector<double>>();
    v.n_word_terms_ = static_cast<std::size_t>(saved_int(j.at("n_word_terms"), 0, INT64_MAX / 2, "a saved TF-IDF vocabulary's n_word_terms"));
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(std::string("saved TF-IDF vocabulary is damaged: ") + e.what());
  }
  if (v.idf_.size() != v.terms_.size() || v.n_word_terms_ > v.terms_.size()) {
    throw_invalid(fmt::format("saved TF-IDF vocabulary is damaged: {} terms, {} idf weights, {} word terms",
                              v.terms_.size(), v.idf_.size(), v.n_word_terms_));
  }
  for (std::size_t i = 0; i < v.terms_.size(); ++i) {
    if (!v.index_.emplace(v.terms_[i], static_cast<uint32_t>(i)).second) {
      throw_invalid("saved TF-IDF vocabulary is damaged: the term \"" + v.terms_[i] + "\" appears twice");
    }
  }
  return v;
}

}  // namespace automl
