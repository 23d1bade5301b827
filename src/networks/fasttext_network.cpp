// fastText-style text classification (Joulin et al., "Bag of Tricks for Efficient
// Text Classification"), trained through libtorch: each document is the average of
// the embeddings of its words and word n-grams, followed by one linear layer (with
// the row's other features, one-hot and standardised, beside the average). Words
// get their own rows from the training vocabulary; n-grams share `buckets` rows by
// the hashing trick. Tokens come from the project's tokenizer (include/automl/text.h).
// The network itself; the family's Model Card is src/models/fasttext_model.cpp.
#include <unordered_map>

#include <fmt/format.h>

#include "automl/error.h"
#include "automl/networks.h"
#include "automl/nn.h"
#include "automl/text.h"
#include "torch_model.h"

namespace automl {
namespace {

// FNV-1a: a stable hash, so a saved model maps n-grams to the same rows after a reload.
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

struct FastTextNet : torch::nn::Module {
  FastTextNet(int64_t rows, int dim, int extra, int outputs) {
    embed = register_module("embed", torch::nn::EmbeddingBag(
                                         torch::nn::EmbeddingBagOptions(rows, dim).mode(torch::kMean).sparse(true)));
    out = register_module("out", torch::nn::Linear(dim + extra, outputs));
  }

  void init(torch::Generator& gen, int dim) {
    torch::NoGradGuard no_grad;
    embed->weight.uniform_(-1.0 / dim, 1.0 / dim, gen);
    nn::init_linear_or_conv(out->weight, out->bias, false, gen);
  }

  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& offsets, const torch::Tensor& extra) {
    // A batch without a single known token: every document averages to zero.
    auto doc = ids.numel() > 0 ? embed(ids, offsets) : torch::zeros({offsets.size(0), embed->options.embedding_dim()});
    if (extra.defined() && extra.size(1) > 0) doc = torch::cat({doc, extra}, 1);
    return out(doc);
  }

  torch::nn::EmbeddingBag embed{nullptr};
  torch::nn::Linear out{nullptr};
};

class FastTextModel final : public nn::TorchModel {
 public:
  using TorchModel::TorchModel;

 protected:
  std::string file_stem() const override { return "fasttext"; }

  void check_input(const FeatureMatrix& x) const override {
    if (x.texts.size() != x.rows) {
      throw_invalid("fasttext reads documents (Encoding::kText): this feature matrix holds none; give it a text "
                    "column");
    }
    if (net_ && x.cols != static_cast<std::size_t>(extra_)) {
      throw_invalid(fmt::format("fasttext expects {} non-text features, got {}", extra_, x.cols));
    }
  }

  void build(const FeatureMatrix& x, int outputs, torch::Generator& gen) override {
    dim_ = static_cast<int>(param_int(params_, "dim"));
    ngram_max_ = static_cast<int>(param_int(params_, "ngram_max"));
    buckets_ = static_cast<int>(param_int(params_, "buckets"));
    extra_ = static_cast<int>(x.cols);
    // The vocabulary: every word of the training documents seen `min_count` times,
    // most frequent first (ties in first-seen order), at most kMaxWords.
    const auto min_count = static_cast<std::size_t>(param_int(params_, "min_count"));
    std::unordered_map<std::string, std::size_t> counts;
    std::vector<std::string> order;
    for (const auto& doc : x.texts) {
      for (auto& w : tokenize(doc, tokenizer_)) {
        auto [it, fresh] = counts.emplace(w, 0);
        if (fresh) order.push_back(w);
        ++it->second;
      }
    }
    std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) { return counts[a] > counts[b]; });
    words_.clear();
    for (const auto& w : order) {
      if (counts[w] < min_count || words_.size() >= kMaxWords) break;
      words_.push_back(w);
    }
    index_words();
    net_ = std::make_shared<FastTextNet>(static_cast<int64_t>(words_.size()) + buckets_, dim_, extra_, outputs);
    net_->init(gen, dim_);
    fitting_ = true;
  }

  void rebuild(const nlohmann::json& a, int outputs) override {
    const std::string name = saved_json_name();
    dim_ = static_cast<int>(saved_int(a.at("dim"), 1, 1 << 16, name + " \"dim\""));
    ngram_max_ = static_cast<int>(saved_int(a.at("ngram_max"), 1, 64, name + " \"ngram_max\""));
    buckets_ = static_cast<int>(saved_int(a.at("buckets"), 0, 1 << 26, name + " \"buckets\""));
    extra_ = static_cast<int>(saved_int(a.at("extra_features"), 0, 1 << 24, name + " \"extra_features\""));
    tokenizer_ = TokenizerOptions::from_json(a.at("tokenizer"));
    words_ = a.at("words").get<std::vector<std::string>>();
    const int64_t rows = static_cast<int64_t>(words_.size()) + buckets_;
    check_saved_parameters(rows * dim_ + static_cast<int64_t>(dim_ + extra_) * outputs + outputs);
    index_words();
    net_ = std::make_shared<FastTextNet>(static_cast<int64_t>(words_.size()) + buckets_, dim_, extra_, outputs);
  }

  nlohmann::json architecture() const override {
    return {{"dim", dim_}, {"ngram_max", ngram_max_}, {"buckets", buckets_}, {"extra_features", extra_},
            {"tokenizer", tokenizer_.to_json()}, {"words", words_}};
  }

  torch::nn::Module& net() override { return *net_; }

  // Adagrad: per-row step sizes suit embeddings whose rows are seen rarely, and it
  // updates only the rows a batch touches (sparse gradients).
  std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::nn::Module& m) override {
    return std::make_unique<torch::optim::Adagrad>(m.parameters(),
                                                   torch::optim::AdagradOptions(param_real(params_, "learning_rate")));
  }

  void after_fit() override {
    cache_ = {};
    fitting_ = false;
  }

  torch::Tensor forward(const FeatureMatrix& x, const std::vector<int64_t>& rows, bool, std::mt19937_64&) override {
    // While training, each matrix is tokenised once (every epoch reads the same
    // rows); when predicting, only the rows asked for.
    const std::vector<std::vector<int64_t>>* ids = fitting_ ? &ids_of(x) : nullptr;
    std::vector<int64_t> flat, offsets;
    offsets.reserve(rows.size());
    for (auto r : rows) {
      offsets.push_back(static_cast<int64_t>(flat.size()));
      const auto at = static_cast<std::size_t>(r);
      if (ids) {
        flat.insert(flat.end(), (*ids)[at].begin(), (*ids)[at].end());
      } else {
        auto d = document_ids(x.texts[at]);
        flat.insert(flat.end(), d.begin(), d.end());
      }
    }
    torch::Tensor extra;
    if (extra_ > 0) extra = torch::nan_to_num(nn::gather_rows(x, rows), 0.0);
    return net_->forward(torch::tensor(flat, torch::kInt64), torch::tensor(offsets, torch::kInt64), extra);
  }

 private:
  static constexpr std::size_t kMaxWords = 200000;

  void index_words() {
    word_index_.clear();
    for (std::size_t i = 0; i < words_.size(); ++i) word_index_.emplace(words_[i], static_cast<int64_t>(i));
  }

  // Embedding rows of one document: known words, then hashed n-grams of 2..ngram_max words.
  std::vector<int64_t> document_ids(const std::string& doc) const {
    std::vector<int64_t> out;
    const auto tokens = tokenize(doc, tokenizer_);
    std::vector<std::string> terms;
    append_word_ngrams(tokens, ngram_max_, &terms);
    for (const auto& t : terms) {
      if (t.find(' ') == std::string::npos) {
        auto it = word_index_.find(t);
        if (it != word_index_.end()) out.push_back(it->second);
      } else {
        out.push_back(static_cast<int64_t>(words_.size()) + static_cast<int64_t>(fnv1a(t) % static_cast<uint64_t>(buckets_)));
      }
    }
    return out;
  }

  // The training and validation matrices' documents, tokenised once per fit.
  const std::vector<std::vector<int64_t>>& ids_of(const FeatureMatrix& x) {
    for (const auto& c : cache_) {
      if (c.texts == x.texts.data() && c.rows == x.rows) return c.ids;
    }
    Cached c{x.texts.data(), x.rows, {}};
    c.ids.reserve(x.rows);
    for (const auto& doc : x.texts) c.ids.push_back(document_ids(doc));
    cache_.push_back(std::move(c));
    return cache_.back().ids;
  }

  struct Cached {
    const std::string* texts;
    std::size_t rows;
    std::vector<std::vector<int64_t>> ids;
  };

  std::shared_ptr<FastTextNet> net_;
  TokenizerOptions tokenizer_;
  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t> word_index_;
  int dim_ = 0, ngram_max_ = 1, buckets_ = 1, extra_ = 0;
  std::vector<Cached> cache_;
  bool fitting_ = false;
};

const bool kRegistered = register_network(
    "fasttext", [](const nlohmann::json& p, Task task) -> std::unique_ptr<Model> { return std::make_unique<FastTextModel>(p, task); });

}  // namespace
}  // namespace automl
