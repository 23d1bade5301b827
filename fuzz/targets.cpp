#include "targets.h"
#include "scratch.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <stb_image_write.h>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/image.h"
#include "automl/llm.h"
#include "automl/params.h"
#include "automl/pipeline.h"
#include "automl/planner.h"
#include "automl/registry.h"
#include "automl/strings.h"
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

// --- helpers for the targets that read files and folders

namespace {


// The tables a loaded pipeline predicts, as CSV text: mixed columns, and a 4x4 grey image.
std::string mixed_csv() {
  std::string s = "a,b,t,y\n";
  const char* words[] = {"red", "blue", "green", "fast", "slow", "river", "stone", "light"};
  for (int i = 0; i < 40; ++i) {
    s += fmt::format("{},{},{} {} {},{}\n", 0.25 * i - 3, i % 3 == 0 ? "p" : i % 3 == 1 ? "q" : "r", words[i % 8],
                     words[(i * 3 + 1) % 8], words[(i * 5 + 2) % 8], (i * 7) % 5 < 2 ? "yes" : "no");
  }
  return s;
}

std::string pixels_csv() {
  std::string s;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) s += fmt::format("pixel_{}_{},", r, c);
  s += "y\n";
  for (int i = 0; i < 24; ++i) {
    for (int p = 0; p < 16; ++p) s += fmt::format("{},", (i * 37 + p * (i % 2 ? 11 : 3)) % 256);
    s += i % 2 ? "yes\n" : "no\n";
  }
  return s;
}

CsvOptions mixed_options() {
  CsvOptions o;
  o.n_threads = 1;
  o.declared_types = {{"a", ColumnType::kNumeric}, {"b", ColumnType::kCategorical}, {"t", ColumnType::kText}};
  return o;
}

// A small fitted pipeline of every family that fits on the fixed tables, plus an ensemble
// of two of them, each saved in a folder: what `pipeline` and `pipeline_model` load.
struct SavedModels {
  Scratch scratch{"saved-models"};
  std::map<std::string, fs::path> dirs;  // family, or "ensemble" -> its saved folder
};

Pipeline fit_small(const std::string& family, const Table& table, const std::string& target_column) {
  const DataCard card = infer_data_card(table, target_column, "fuzz");
  Target y = encode_target(table, card);
  Pipeline p;
  p.family = family;
  p.params = nlohmann::json::object();
  p.target = y;
  p.target.y.clear();
  p.schema = card.feature_types();
  for (const auto& c : table.columns) {
    if (c.name != target_column) p.features.push_back(c.name);
  }
  const ModelEntry& e = model_registry().get(family);
  std::vector<std::size_t> rows(table.n_rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  p.preprocessor = Preprocessor(e.encoding);
  p.preprocessor.fit(table, p.features, rows);
  FitContext ctx;
  ctx.task = y.task;
  ctx.n_classes = y.n_classes();
  ctx.metric = card.metric;
  ctx.fixed_iterations = 3;
  ctx.threads = 1;
  ctx.seed = 1;
  p.model = e.create(with_defaults(e.params, nlohmann::json::object()), y.task);
  p.model->fit(p.preprocessor.transform(table), y.y, nullptr, nullptr, ctx);
  return p;
}

void fit_saved_models(SavedModels* s) {
  {
    const fs::path root = s->scratch.fresh();
    const Table mixed = read_csv_buffer(mixed_csv(), "mixed.csv", mixed_options());
    const Table pixels = read_csv_buffer(pixels_csv(), "pixels.csv");
    std::vector<std::shared_ptr<const Pipeline>> members;
    for (const ModelEntry* e : model_registry().entries()) {
      try {
        auto p = std::make_shared<const Pipeline>(
            fit_small(e->name, e->encoding == Encoding::kImage ? pixels : mixed, "y"));
        p->save(root / e->name);
        s->dirs[e->name] = root / e->name;
        if (e->encoding != Encoding::kImage && members.size() < 2) members.push_back(p);
      } catch (const Error&) {
        // A family that cannot fit these tables is left out.
      }
    }
    if (members.size() == 2) {
      Pipeline ensemble = *members[0];
      ensemble.family = "ensemble";
      ensemble.members = members;
      ensemble.blend = {"ensemble", {0.5, 0.5}, {}};
      ensemble.save(root / "ensemble");
      s->dirs["ensemble"] = root / "ensemble";
    }
  }
}

const SavedModels& saved_models() {
  static SavedModels saved;  // its folder goes at exit
  static const bool fitted = (fit_saved_models(&saved), true);
  (void)fitted;
  return saved;
}

// The files of a saved folder a family loads, relative and sorted (its pipeline.json aside).
std::vector<fs::path> model_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path() != dir / "pipeline.json") out.push_back(fs::relative(e.path(), dir));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What `predict` does with a model folder: load it, read a file as it says, predict, write.
void load_and_predict(const fs::path& dir) {
  Pipeline p;
  try {
    p = Pipeline::load(dir);
  } catch (const Error&) {
    return;
  }
  static const std::string kMixed = mixed_csv(), kPixels = pixels_csv();
  for (const std::string* csv : {&kMixed, &kPixels}) {
    try {
      CsvOptions base;
      base.n_threads = 1;
      const Table t = read_csv_buffer(*csv, "new.csv", p.read_options(base));
      const std::vector<double> pred = p.predict(t);
      std::ostringstream out;
      write_predictions(out, p.target, pred, t.n_rows);
    } catch (const Error&) {
    }
  }
}

// An LLM cache that answers every question with the same reply: the client then makes no
// HTTP call, and the reply reaches the planner as a server's would.
class OneReply final : public LlmCache {
 public:
  explicit OneReply(std::string reply) : reply_(std::move(reply)) {}
  std::optional<std::string> get(const std::string&) override { return reply_; }
  void put(const std::string&, const std::string&, const std::string&) override {}

 private:
  std::string reply_;
};

struct PlannerInputs {
  Table table;
  DataCard card;
  std::vector<const ModelEntry*> candidates;
  std::vector<TrialResult> history;
};

const PlannerInputs& planner_inputs() {
  static const PlannerInputs* in = [] {
    auto* p = new PlannerInputs;
    p->table = read_csv_buffer(mixed_csv(), "train.csv", mixed_options());
    p->card = infer_data_card(p->table, "y", "fuzz");
    for (const ModelEntry* e : model_registry().entries()) {
      if (family_unusable_reason(*e, p->card).empty()) p->candidates.push_back(e);
    }
    for (std::size_t i = 0; i < 2 && i < p->candidates.size(); ++i) {
      TrialResult t;
      t.id = static_cast<int>(i);
      t.family = p->candidates[i]->name;
      t.params = nlohmann::json::object();
      t.status = TrialStatus::kFinished;
      t.score = 0.7 + 0.1 * static_cast<double>(i);
      t.fold_scores = {t.score};
      t.iterations = 10;
      t.logs.push_back({0, "auc", {0.6, 0.7, 0.8}, {0.55, 0.65, 0.7}, {0.1, 0.1, 0.1}});
      p->history.push_back(t);
    }
    return p;
  }();
  return *in;
}

// A 3x5 grey PNG, for the second class folder of the image target.
std::string small_png() {
  std::vector<unsigned char> pixels(15);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>(i * 17);
  std::string out;
  stbi_write_png_to_func(
      [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
      },
      &out, 5, 3, 1, pixels.data(), 5);
  return out;
}

}  // namespace

void pipeline(const uint8_t* data, std::size_t size) {
  const SavedModels& saved = saved_models();
  if (saved.dirs.empty()) return;
  static Scratch scratch("pipeline");
  const fs::path dir = scratch.fresh() / "model";
  const std::string text = as_text(data, size);
  // The folder of the family the text names (else the ensemble's), so that the loader
  // gets past pipeline.json to the family's own files.
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  std::string family = saved.dirs.count("ensemble") ? "ensemble" : saved.dirs.begin()->first;
  if (j.is_object() && j.contains("family") && j["family"].is_string() && saved.dirs.count(j["family"].get<std::string>()))
    family = j["family"].get<std::string>();
  fs::copy(saved.dirs.at(family), dir, fs::copy_options::recursive);
  write_file(dir / "pipeline.json", text);
  load_and_predict(dir);
}

void pipeline_model(const uint8_t* data, std::size_t size) {
  const SavedModels& saved = saved_models();
  if (size < 2 || saved.dirs.empty()) return;
  auto it = saved.dirs.begin();
  std::advance(it, data[0] % saved.dirs.size());
  const std::vector<fs::path> files = model_files(it->second);
  if (files.empty()) return;
  static Scratch scratch("pipeline_model");
  const fs::path dir = scratch.fresh() / "model";
  fs::copy(it->second, dir, fs::copy_options::recursive);
  write_file(dir / files[data[1] % files.size()], as_text(data + 2, size - 2));
  load_and_predict(dir);
}

void llm_reply(const uint8_t* data, std::size_t size) {
  const std::string reply = as_text(data, size);
  // The client takes a reply from a JSON string the server sent (or the cache kept), and
  // the JSON parser has checked it is UTF-8: nothing else reaches the planner.
  if (first_invalid_utf8(reply) != std::string::npos) return;
  const PlannerInputs& in = planner_inputs();
  OneReply cache(reply);
  LlmConfig config;
  config.spec = "fuzz";
  config.base_url = "http://127.0.0.1:9/v1";  // never called: every question is a cache hit
  config.model = "fuzz";
  LlmClient client(config, &cache, nullptr);
  auto planner = make_llm_planner(client);
  planner->begin_task("## Data Card\n\nA small fixed table.\n", Clock::now() + std::chrono::hours(1));
  try {
    const std::map<std::string, std::vector<std::string>> files = {{"train.csv", {"a", "b", "t", "y"}},
                                                                   {"test.csv", {"a", "b", "t", "y"}}};
    for (const auto& t : planner->decompose("Predict y from train.csv, test on test.csv.", files)) (void)t.to_json().dump();
    const auto families = planner->assign_models(in.card, in.candidates);
    // What a session does with the design: each family's preprocessor fitted on the table.
    std::vector<std::size_t> rows(in.table.n_rows);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
    std::vector<std::string> features = {"a", "b", "t"};
    for (const auto& [family, steps] : planner->design_preprocessing(in.card, families)) {
      Preprocessor pre(model_registry().get(family).encoding);
      pre.set_design(column_design(steps));
      pre.fit(in.table, features, rows);
      (void)pre.transform(in.table);
    }
    for (const auto& p : planner->propose(in.card, families)) {
      const ModelEntry& e = model_registry().get(p.family);
      (void)e.create(with_defaults(e.params, p.params), in.card.task);
      (void)planner->predict_log(in.card, p.family, p.params, -1, in.history).to_json().dump();
    }
    for (const auto& p : planner->refine(in.card, families, in.history, 100)) {
      const ModelEntry& e = model_registry().get(p.family);
      (void)e.create(with_defaults(e.params, p.params), in.card.task);
    }
    (void)planner->report().dump();
  } catch (const Error&) {
  }
}

void image(const uint8_t* data, std::size_t size) {
  static Scratch scratch("image");
  static const std::string kSmall = small_png();
  const fs::path& dir = scratch.fresh();
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  write_file(dir / "a" / "input.png", as_text(data, size));
  write_file(dir / "b" / "small.png", kSmall);
  try {
    (void)read_image_folder(dir);
  } catch (const Error&) {
  }
  try {
    ImageFolderOptions fixed;
    fixed.shape = {1, 8, 8};
    (void)read_image_folder(dir, fixed);
  } catch (const Error&) {
  }
}

void write_seeds(const fs::path& dir) {
  const SavedModels& saved = saved_models();
  fs::create_directories(dir / "pipeline");
  fs::create_directories(dir / "pipeline_model");
  std::size_t i = 0;
  for (const auto& [family, folder] : saved.dirs) {
    write_file(dir / "pipeline" / (family + ".json"), read_bytes(folder / "pipeline.json"));
    const std::vector<fs::path> files = model_files(folder);
    for (std::size_t k = 0; k < files.size(); ++k) {
      std::string name = family + "-" + files[k].string();
      std::replace(name.begin(), name.end(), '/', '-');
      std::string bytes = {static_cast<char>(i), static_cast<char>(k)};
      write_file(dir / "pipeline_model" / name, bytes + read_bytes(folder / files[k]));
    }
    ++i;
  }
  // One small image per format stb reads (it goes by the bytes, not the file's name).
  fs::create_directories(dir / "image");
  auto to_string = [](void* context, void* data, int n) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(n));
  };
  std::vector<unsigned char> rgb(6 * 4 * 3);
  for (std::size_t k = 0; k < rgb.size(); ++k) rgb[k] = static_cast<unsigned char>(k * 29);
  std::string png, jpg, bmp, tga;
  stbi_write_png_to_func(to_string, &png, 6, 4, 3, rgb.data(), 18);
  stbi_write_jpg_to_func(to_string, &jpg, 6, 4, 3, rgb.data(), 80);
  stbi_write_bmp_to_func(to_string, &bmp, 6, 4, 3, rgb.data());
  stbi_write_tga_to_func(to_string, &tga, 6, 4, 3, rgb.data());
  write_file(dir / "image" / "rgb.png", png);
  write_file(dir / "image" / "grey.png", small_png());
  write_file(dir / "image" / "rgb.jpg", jpg);
  write_file(dir / "image" / "rgb.bmp", bmp);
  write_file(dir / "image" / "rgb.tga", tga);
  // A 2x2 GIF with a 4-colour table, written out by hand (stb writes no GIF).
  const unsigned char gif[] = {'G', 'I', 'F', '8', '9', 'a', 2, 0, 2, 0, 0x81, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0,
                               0, 0, 255, ',', 0, 0, 0, 0, 2, 0, 2, 0, 0, 2, 3, 0x44, 0x34, 0x05, 0, ';'};
  write_file(dir / "image" / "tiny.gif", std::string_view(reinterpret_cast<const char*>(gif), sizeof gif));
}

}  // namespace automl::fuzz
