// fastText-style text classification (Joulin et al., "Bag of Tricks for Efficient
// Text Classification"), trained through libtorch: each document is the average of
// the embeddings of its words and word n-grams, followed by one linear layer (with
// the row's other features, one-hot and standardised, beside the average). Words
// get their own rows from the training vocabulary; n-grams share `buckets` rows by
// the hashing trick. Tokens come from the project's tokenizer (include/automl/text.h).
// The Model Card; the network is trained in src/networks/fasttext_network.cpp.
#include <fmt/format.h>

#include "automl/error.h"
#include "automl/networks.h"
#include "automl/nn.h"
#include "family_plans.h"

namespace automl {
namespace {

// The built-in planner's first network for documents: fewer hash buckets, then
// shorter embeddings, until it fits the limits.
bool shrink_to_limits(const ModelEntry& e, nlohmann::json* p, double tokens, int outputs, const ModelLimits& limits,
                      std::string* why) {
  bool shrunk = false;
  for (int guard = 0; guard < 40; ++guard) {
    auto full = with_defaults(e.params, *p);
    const int dim = static_cast<int>(param_int(full, "dim")), buckets = static_cast<int>(param_int(full, "buckets"));
    // The word vocabulary adds rows too; the buckets dominate.
    const NetworkCost c = fasttext_cost(buckets + 20000, dim, outputs, tokens);
    if (within_limits(c, limits)) {
      if (shrunk) *why += fmt::format("; shrunk to {} buckets of {} numbers to meet the limits", buckets, dim);
      return true;
    }
    shrunk = true;
    if (buckets > 4096) (*p)["buckets"] = buckets / 2;
    else if (dim > 8) (*p)["dim"] = dim / 2;
    else return false;
  }
  return false;
}

// Tokens of a document, words and word pairs.
double document_tokens(const DataCard& card) { return std::max(10.0, 2.0 * card_meta(card, "text_mean_words", 50.0)); }

std::vector<PortfolioSetting> sized_networks(const ModelEntry& e, const DataCard& card, const ModelLimits& limits) {
  const double tokens = document_tokens(card);
  const int outputs = card_outputs(card);
  std::vector<PortfolioSetting> out;
  auto add = [&](nlohmann::json p, std::string why) {
    if (shrink_to_limits(e, &p, tokens, outputs, limits, &why)) out.push_back({15, p, why});
  };
  add({{"dim", 64}, {"ngram_max", 2}, {"learning_rate", 0.1}},
      "averaged word and word-pair embeddings, then linear: fast, strong on short texts");
  return out;
}

ModelEntry fasttext_entry() {
  ModelEntry e;
  e.name = "fasttext";
  e.structure = "fastText: averaged embeddings of words and hashed word n-grams, then a linear layer (Adagrad)";
  e.description =
      "A fast neural text classifier: a bag of word and word-pair embeddings learned for the task; strong on short "
      "texts and topics, cheap to train and to run.";
  e.tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  e.encoding = Encoding::kText;
  // Token ids (about the text's size twice) and the tensor library's pools. Estimated
  // from the data structures, not measured.
  e.memory_bytes = [](const DataShape& s) { return 2.0 * s.text_bytes + 160.0 * (1 << 20); };
  e.resource_param = "epochs";
  e.params = {
      ParamSpec::integer("dim", 64).range(4, 512).tune(16, 128).log().describe("numbers in each word embedding"),
      ParamSpec::integer("ngram_max", 2).range(1, 4).tune(1, 3)
          .describe("longest word n-gram embedded (1 = words only; 2 adds word pairs)"),
      ParamSpec::real("learning_rate", 0.1).range(1e-5, 5.0).tune(0.02, 0.5).log().describe("Adagrad step size"),
      ParamSpec::integer("batch_size", 32).range(1, 4096).tune(16, 128).log().describe("documents per gradient step"),
      ParamSpec::integer("buckets", 65536).range(1, 4000000).fixed()
          .describe("hashed embedding rows shared by the word n-grams (the hashing trick)"),
      ParamSpec::integer("min_count", 1).range(1, 1000).fixed()
          .describe("training documents' words seen fewer times get no embedding of their own"),
      ParamSpec::integer("epochs", 20).range(1, 10000).fixed()
          .describe("most passes over the training documents; early stopping usually ends sooner (the "
                    "successive-halving resource)"),
      ParamSpec::integer("early_stopping_epochs", 3).range(1, 1000).fixed()
          .describe("stop after this many epochs without a better validation score; the best epoch is kept"),
  };
  e.create = [](const nlohmann::json& p, Task task) { return create_network("fasttext", p, task); };
  e.network = true;
  // Text only: second among the text families; its network right after the first
  // TF-IDF setting.
  e.modalities = {"text"};
  e.text_rank = 1;
  e.portfolio = [](const PortfolioContext& ctx) -> std::vector<PortfolioSetting> {
    if (!ctx.card || ctx.card->modality != "text") return {};
    return sized_networks(model_registry().get("fasttext"), *ctx.card, ctx.limits);
  };
  e.resource_unit = ResourceUnit::kEpochs;
  // Sparse updates: the document's tokens, forward and back.
  e.flops_per_row = [](const DataCard& card, const nlohmann::json& full) {
    return document_tokens(card) * static_cast<double>(param_int(full, "dim")) * 4;
  };
  return e;
}

const ModelEntry& kRegistered = model_registry().add(fasttext_entry());

}  // namespace
}  // namespace automl
