// Text as features: a tokenizer and a TF-IDF vectorizer shared by the text families
// (tfidf_linear, and any network that wants the same tokens). Documents come from
// FeatureMatrix::texts (Encoding::kText: one document per row).
//
//   TokenizerOptions tok;                                   // lower case, punctuation dropped
//   auto words = tokenize("Don't PANIC: 42 towels!", tok);  // {"don", "panic", "42", "towels"}
//
//   TfidfOptions opt;
//   opt.word_ngram_max = 2;                  // words and word pairs
//   opt.min_df = 2;                          // a term must occur in two training documents
//   TfidfVectorizer v(opt);
//   SparseRows train = v.fit_transform(train_docs);  // vocabulary and idf from these rows only
//   SparseRows test = v.transform(test_docs);         // unseen terms are ignored
//   nlohmann::json saved = v.to_json();               // TfidfVectorizer::from_json(saved) reproduces it
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace automl {

struct TokenizerOptions {
  bool lowercase = true;          // fold ASCII letters to lower case (other scripts are kept as written)
  bool strip_punctuation = true;  // punctuation only separates words; false: each mark is a token of its own
  bool strip_numbers = false;     // drop tokens made of digits only
  int min_length = 2;             // drop shorter words (in bytes; kept punctuation marks are exempt)
  bool keep_apostrophes = false;  // "don't" as one word; false splits it ("don", and "t" is too short)

  nlohmann::json to_json() const;
  static TokenizerOptions from_json(const nlohmann::json& j);
};

// Word tokens: runs of letters and digits of any script (UTF-8). Spaces, controls and
// punctuation separate them: ASCII marks, Latin-1 signs, dashes, curly quotes and the
// rest of Unicode's general punctuation, CJK and full-width punctuation. With
// keep_apostrophes, an apostrophe (straight or curly, kept as ') between two word
// characters stays inside its word: "don't". The defaults match the usual TF-IDF
// tokenisation (words of two or more characters, apostrophes split).
std::vector<std::string> tokenize(std::string_view text, const TokenizerOptions& options);

// Appends the word n-grams of lengths 1..n_max, the words of each joined by one space:
// {"a", "b", "c"} with n_max 2 appends "a", "b", "c", "a b", "b c".
void append_word_ngrams(const std::vector<std::string>& tokens, int n_max, std::vector<std::string>* out);

// Appends the character n-grams (n_min..n_max characters, counted in UTF-8 code points)
// of each token padded with one space on each side: "cat", 3..3 gives " ca", "cat", "at ".
void append_char_ngrams(const std::vector<std::string>& tokens, int n_min, int n_max, std::vector<std::string>* out);

// Compressed sparse rows: row i holds the pairs (index[k], value[k]) for k in
// [offsets[i], offsets[i + 1]), indices ascending.
struct SparseRows {
  std::size_t rows = 0, cols = 0;
  std::vector<std::size_t> offsets = {0};
  std::vector<uint32_t> index;
  std::vector<double> value;

  std::size_t row_size(std::size_t i) const { return offsets[i + 1] - offsets[i]; }
};

struct TfidfOptions {
  TokenizerOptions tokenizer;
  int word_ngram_max = 2;      // 1 = single words
  bool char_ngrams = false;    // also character n-grams of each word (robust to typos and word forms)
  int char_ngram_min = 2, char_ngram_max = 5;
  int min_df = 2;              // a term must occur in at least this many training documents
  std::size_t max_features = 0;  // the most frequent terms kept per block (words, characters); 0 = all
  bool sublinear_tf = true;    // term frequency as 1 + ln(count)

  nlohmann::json to_json() const;
  static TfidfOptions from_json(const nlohmann::json& j);
};

// TF-IDF features: weight = tf * idf, idf = ln((1 + n) / (1 + df)) + 1 over the n
// training documents. Word n-grams come first, then character n-grams; each block of
// a row is scaled to unit L2 norm, so a document's length does not set its weight.
class TfidfVectorizer {
 public:
  TfidfVectorizer() = default;
  explicit TfidfVectorizer(TfidfOptions options) : options_(std::move(options)) {}

  // Learns the vocabulary and idf from `docs` and returns their rows (tokenising once).
  SparseRows fit_transform(const std::vector<std::string>& docs);
  void fit(const std::vector<std::string>& docs) { fit_transform(docs); }
  SparseRows transform(const std::vector<std::string>& docs) const;

  std::size_t n_features() const { return terms_.size(); }
  // Column j's term; character n-grams are prefixed "c:" (word terms never hold a colon
  // next to a letter, so the two blocks cannot collide).
  const std::vector<std::string>& terms() const { return terms_; }
  const std::vector<double>& idf() const { return idf_; }
  const TfidfOptions& options() const { return options_; }

  nlohmann::json to_json() const;
  // Throws kInvalidInput when the saved vocabulary is damaged.
  static TfidfVectorizer from_json(const nlohmann::json& j);

 private:
  // The terms of one document (word n-grams, then "c:"-prefixed character n-grams).
  void document_terms(std::string_view doc, std::vector<std::string>* out) const;
  // One row from column indices with repeats (any order), appended to `out`.
  void append_row(std::vector<uint32_t>* cols, SparseRows* out) const;

  TfidfOptions options_;
  std::vector<std::string> terms_;
  std::vector<double> idf_;
  std::size_t n_word_terms_ = 0;  // columns [0, n_word_terms_) are word n-grams
  std::unordered_map<std::string, uint32_t> index_;
};

}  // namespace automl
