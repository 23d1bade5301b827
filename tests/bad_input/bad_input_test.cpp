// The bad-input corpus: hostile files run end to end through `run` and `predict`, each
// with the exit code and the one error line it must produce (or the success it must
// reach), and nothing already saved lost or overwritten. The files are made here, in a
// temporary folder the commands run in, so the messages name them as a user sees them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "serve/server_process.h"

namespace automl {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code = -1;
  std::string out;
  // The line "automl-gpt: error: ...", or "" when there is none; `errors` counts them.
  std::string error;
  int errors = 0;
};

// Runs `automl-gpt ARGS` in `dir`, with `shell` (shell commands) before it and the
// program started through `wrapper` (e.g. setpriv) when one is given.
Outcome run_in(const fs::path& dir, const std::string& args, const std::string& shell = "",
               const std::string& wrapper = "") {
  const std::string cmd = "cd '" + dir.string() + "' && " + (shell.empty() ? "" : shell + "; ") + "exec " +
                          (wrapper.empty() ? "" : wrapper + " ") + AUTOML_BINARY + " " + args + " 2>&1";
  const auto r = testing::run_cli_shell(cmd);
  Outcome o;
  o.exit_code = r.exit_code;
  o.out = r.out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("automl-gpt: error: ", 0) == 0) {
      o.error = line;
      ++o.errors;
    }
  }
  return o;
}

// A small binary table: a numeric, b categorical, c integer, target y, made with a
// fixed generator so every run of the test writes the same file.
std::vector<std::string> rows(int n, uint64_t seed = 7) {
  std::vector<std::string> out;
  uint64_t s = seed;
  auto next = [&] {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(s >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < n; ++i) {
    const double a = next() * 4 - 2;
    const char* b = next() < 0.5 ? "p" : "q";
    const int c = static_cast<int>(next() * 10);
    const bool yes = a + (next() - 0.5) > 0;
    std::ostringstream row;
    row.precision(4);
    row << std::fixed << a << "," << b << "," << c << "," << (yes ? "yes" : "no");
    out.push_back(row.str());
  }
  return out;
}

std::string table(const std::string& header, const std::vector<std::string>& body, const char* eol = "\n") {
  std::string s = header + eol;
  for (const auto& r : body) s += r + eol;
  return s;
}

class BadInputCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::temp_dir("bad-input");
    testing::write_file(dir_ / "good.csv", table("a,b,c,y", rows(200)));
    // One model every predict case reads: XGBoost, whose saved files the tamper cases damage.
    const auto r = run_in(dir_, "run good.csv --target y --budget 4s --models xgboost --no-ensemble --quiet "
                                "--out model-run --store store.sqlite");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // A run of `file` that must fail with exactly `error` and exit `code`, leaving no folder.
  static void expect_run_fails(const std::string& file, const std::string& contents, const std::string& extra,
                               int code, const std::string& error) {
    testing::write_file(dir_ / file, contents);
    const std::string out = "out-" + file;
    const auto r = run_in(dir_, "run '" + file + "' --target y --budget 3s --quiet --store store.sqlite --out '" +
                                    out + "' " + extra);
    EXPECT_EQ(r.exit_code, code) << r.out;
    EXPECT_EQ(r.error, error) << r.out;
    EXPECT_EQ(r.errors, 1) << r.out;
    EXPECT_FALSE(fs::exists(dir_ / out) && !fs::is_empty(dir_ / out)) << "a failed run left " << out;
  }

  // A run of `file` that must succeed; returns its Data Card.
  static nlohmann::json expect_run_works(const std::string& file, const std::string& contents,
                                         const std::string& extra = "--budget 3s") {
    testing::write_file(dir_ / file, contents);
    const std::string out = "out-" + file;
    const auto r = run_in(dir_, "run '" + file + "' --target y --quiet --store store.sqlite --out '" + out + "' " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_TRUE(fs::exists(dir_ / out / "model" / "pipeline.json")) << r.out;
    if (!fs::exists(dir_ / out / "data_card.json")) return {};
    return nlohmann::json::parse(testing::read_file(dir_ / out / "data_card.json"));
  }

  static nlohmann::json column(const nlohmann::json& card, const std::string& name) {
    for (const auto& c : card.at("columns")) {
      if (c.at("name") == name) return c;
    }
    return {};
  }

  static fs::path dir_;
};
fs::path BadInputCli::dir_;

TEST_F(BadInputCli, EmptyFile) {
  expect_run_fails("empty.csv", "", "", 2, "automl-gpt: error: empty.csv is empty: no header row");
}

TEST_F(BadInputCli, HeaderOnly) {
  expect_run_fails("header.csv", "a,b,c,y\n", "", 2,
                   "automl-gpt: error: header.csv has a header but no data rows (columns: a, b, c, y)");
}

TEST_F(BadInputCli, OneRow) {
  expect_run_fails("one.csv", "a,b,c,y\n0.5,p,3,yes\n", "", 2,
                   "automl-gpt: error: target column \"y\" in one.csv has a single class (\"yes\", 1 rows): there is "
                   "nothing to learn; pick another target");
}

TEST_F(BadInputCli, AllMissingTarget) {
  std::vector<std::string> body = rows(50);
  for (auto& r : body) r = r.substr(0, r.rfind(',') + 1);
  expect_run_fails("no-target.csv", table("a,b,c,y", body), "", 2,
                   "automl-gpt: error: target column \"y\" in no-target.csv has no values (every cell is missing)");
}

TEST_F(BadInputCli, TargetConstantOnceMissingRowsAreDropped) {
  std::vector<std::string> body = rows(60);
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = body[i].substr(0, body[i].rfind(',') + 1) + (i % 2 ? "yes" : "");
  expect_run_fails("constant.csv", table("a,b,c,y", body), "", 2,
                   "automl-gpt: error: target column \"y\" in constant.csv has a single class (\"yes\", 30 rows): "
                   "there is nothing to learn; pick another target");
}

TEST_F(BadInputCli, DuplicateColumnNames) {
  expect_run_fails("dup.csv", table("a,b,a,y", rows(50)), "", 2,
                   "automl-gpt: error: dup.csv:1: column name \"a\" appears twice (columns 1 and 3); column names "
                   "must be unique");
}

TEST_F(BadInputCli, InvalidUtf8NamesLineAndColumnAndLeavesNoFolder) {
  std::vector<std::string> body = rows(50);
  body[3] = "0.1000,p\xff\xfe,4,yes";  // line 5 of the file
  expect_run_fails("latin.csv", table("a,b,c,y", body), "", 2,
                   "automl-gpt: error: latin.csv:5: column \"b\" holds a byte that is not UTF-8 (0xFF); the file must "
                   "be UTF-8 text: convert it, e.g. `iconv -f latin1 -t utf-8`");
}

TEST_F(BadInputCli, RegressionTargetHoldingText) {
  std::vector<std::string> body = rows(50);
  for (std::size_t i = 0; i < body.size(); ++i) {
    body[i] = body[i].substr(0, body[i].rfind(',') + 1) + (i == 2 ? "about 5" : std::to_string(i % 7));
  }
  testing::write_file(dir_ / "regression.json", R"({"target": "y", "task": "regression"})");
  expect_run_fails("text-target.csv", table("a,b,c,y", body), "--card regression.json", 2,
                   "automl-gpt: error: target column \"y\" in text-target.csv is categorical (data row 3 holds \"about 5\"), "
                   "but the task is regression: it needs numbers");
}

TEST_F(BadInputCli, CardNamingColumnsThatDoNotExist) {
  testing::write_file(dir_ / "card-types.json", R"({"target": "y", "feature_types": {"colour": "categorical"}})");
  expect_run_fails("card-types.csv", table("a,b,c,y", rows(50)), "--card card-types.json", 3,
                   "automl-gpt: error: card-types.csv: a type is declared for column \"colour\", but there is no such "
                   "column; did you mean: c, a, b?");
  testing::write_file(dir_ / "card-target.json", R"({"target": "label"})");
  testing::write_file(dir_ / "card-target.csv", table("a,b,c,y", rows(50)));
  const auto r = run_in(dir_, "run card-target.csv --card card-target.json --budget 3s --quiet --out out-ct");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(r.error, "automl-gpt: error: no column \"label\" in card-target.csv; did you mean: a, b, c?") << r.out;
}

TEST_F(BadInputCli, AnExistingOutputFolderIsNeverOverwritten) {
  fs::create_directories(dir_ / "kept");
  testing::write_file(dir_ / "kept" / "notes.txt", "mine");
  const auto r = run_in(dir_, "run good.csv --target y --budget 3s --quiet --out kept");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.error, "automl-gpt: error: run folder kept already exists and is not empty; choose another --out or "
                     "remove it");
  EXPECT_EQ(testing::read_file(dir_ / "kept" / "notes.txt"), "mine");
}

TEST_F(BadInputCli, InfinitiesAndHugeNumbersStayNumericAsMissingCells) {
  std::vector<std::string> body = rows(200);
  const char* odd[] = {"inf", "-inf", "1e308", "-Infinity", "NaN"};
  for (std::size_t i = 0; i < 5; ++i) body[i * 10] = std::string(odd[i]) + body[i * 10].substr(body[i * 10].find(','));
  const auto card = expect_run_works("infinite.csv", table("a,b,c,y", body));
  EXPECT_EQ(column(card, "a").value("type", ""), "numeric") << card.dump();
  EXPECT_NE(card.dump().find("column \\\"a\\\": 4 cells beyond the float range"), std::string::npos) << card.dump();
}

TEST_F(BadInputCli, AllMissingFeatureColumn) {
  std::vector<std::string> body = rows(200);
  for (auto& r : body) r = r.substr(0, r.rfind(',')) + "," + r.substr(r.rfind(',') + 1);
  for (auto& r : body) r.insert(r.rfind(','), ",");
  const auto card = expect_run_works("empty-column.csv", table("a,b,c,m,y", body));
  EXPECT_EQ(column(card, "m").value("missing_share", 0.0), 1.0) << card.dump();
}

TEST_F(BadInputCli, MixedLineEndingsReadEveryRow) {
  const std::vector<std::string> body = rows(200);
  std::string text = "a,b,c,y\r\n";
  for (std::size_t i = 0; i < body.size(); ++i) text += body[i] + (i % 3 == 0 ? "\n" : i % 3 == 1 ? "\r\n" : "\n");
  const auto card = expect_run_works("eol.csv", text);
  EXPECT_EQ(card.at("meta_features").value("n_rows", 0.0), 200.0) << card.dump();
}

TEST_F(BadInputCli, PathWithSpacesAndNonAscii) {
  fs::create_directories(dir_ / "dossier données");
  testing::write_file(dir_ / "dossier données" / "entraînement 1.csv", table("a,b,c,y", rows(200)));
  auto r = run_in(dir_, "run 'dossier données/entraînement 1.csv' --target y --budget 3s --quiet "
                        "--out 'sortie é' --store 'base à.sqlite'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_in(dir_, "predict 'sortie é' 'dossier données/entraînement 1.csv' --out 'prédictions.csv'");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir_ / "prédictions.csv"));
}

TEST_F(BadInputCli, PredictFileWithMissingColumn) {
  testing::write_file(dir_ / "lacks-b.csv", "a,c\n0.5,3\n-1.0,7\n");
  testing::write_file(dir_ / "kept-predictions.csv", "earlier\n");
  const auto r = run_in(dir_, "predict model-run lacks-b.csv --out kept-predictions.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(r.error, "automl-gpt: error: lacks-b.csv has no column \"b\", which the model was trained on; did you "
                     "mean: a, c?");
  EXPECT_EQ(testing::read_file(dir_ / "kept-predictions.csv"), "earlier\n") << "a failed predict overwrote its --out";
}

TEST_F(BadInputCli, PredictFileWithRetypedColumn) {
  testing::write_file(dir_ / "retyped.csv", "a,b,c\n0.5,p,3\nhigh,q,7\n");
  const auto r = run_in(dir_, "predict model-run retyped.csv --out p.csv");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.error, "automl-gpt: error: retyped.csv:3: column \"a\" holds \"high\", but the model was trained on it "
                     "as numeric (fix the cell or leave it empty as missing)");
}

TEST_F(BadInputCli, PredictIgnoresExtraColumnsAndFollowsNamesNotOrder) {
  const std::vector<std::string> body = rows(30, 99);
  testing::write_file(dir_ / "ordered.csv", table("a,b,c", [&] {
                        std::vector<std::string> v;
                        for (const auto& r : body) v.push_back(r.substr(0, r.rfind(',')));
                        return v;
                      }()));
  std::vector<std::string> shuffled;
  for (const auto& r : body) {
    std::vector<std::string> f;
    std::stringstream ss(r);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    shuffled.push_back(f[2] + ",zz," + f[1] + "," + f[3] + "," + f[0]);  // c, extra, b, target, a
  }
  testing::write_file(dir_ / "shuffled.csv", table("c,extra,b,y,a", shuffled));
  auto r = run_in(dir_, "predict model-run ordered.csv --out p-ordered.csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_in(dir_, "predict model-run shuffled.csv --out p-shuffled.csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(testing::read_file(dir_ / "p-ordered.csv"), testing::read_file(dir_ / "p-shuffled.csv"));
}

TEST_F(BadInputCli, TruncatedOrTamperedModel) {
  fs::copy(dir_ / "model-run", dir_ / "truncated", fs::copy_options::recursive);
  const std::string pipeline = testing::read_file(dir_ / "truncated" / "model" / "pipeline.json");
  testing::write_file(dir_ / "truncated" / "model" / "pipeline.json", pipeline.substr(0, pipeline.size() / 2));
  auto r = run_in(dir_, "predict truncated good.csv --out p.csv");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.error.rfind("automl-gpt: error: truncated/model/pipeline.json is damaged: ", 0), 0u) << r.out;

  fs::copy(dir_ / "model-run", dir_ / "tampered", fs::copy_options::recursive);
  std::string booster = testing::read_file(dir_ / "tampered" / "model" / "xgboost.ubj");
  booster.replace(booster.size() / 2, 16, std::string(16, '\0'));
  testing::write_file(dir_ / "tampered" / "model" / "xgboost.ubj", booster);
  r = run_in(dir_, "predict tampered good.csv --out p.csv");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.error.rfind("automl-gpt: error: tampered/model/xgboost.ubj is damaged: ", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find("Stack trace"), std::string::npos) << r.out;
}

TEST_F(BadInputCli, AFullDiskFailsClearlyAndKeepsWhatWasSaved) {
  // RLIMIT_FSIZE stands in for a full disk: a write past 300 KB fails (SIGXFSZ ignored),
  // whoever runs the test (root ignores a read-only folder, not this limit).
  const std::string before = testing::read_file(dir_ / "model-run" / "model" / "pipeline.json");
  const auto r = run_in(dir_, "run good.csv --target y --budget 4s --quiet --out out-full --store full.sqlite",
                        "trap '' XFSZ; ulimit -f 300");
  EXPECT_EQ(r.exit_code, 5) << r.out;
  EXPECT_EQ(r.errors, 1) << r.out;
  EXPECT_NE(r.error.find("(is the disk full, or the file over a size limit?)"), std::string::npos) << r.out;
  EXPECT_EQ(testing::read_file(dir_ / "model-run" / "model" / "pipeline.json"), before);
}

TEST_F(BadInputCli, AReadOnlyOutputFolderFailsClearlyAndKeepsWhatIsInIt) {
  // Root writes into read-only folders, so as root the program runs as the user nobody
  // (setpriv, util-linux); the store goes to a folder anyone may write.
  std::string wrapper;
  if (geteuid() == 0) {
    if (std::system("command -v setpriv >/dev/null 2>&1") != 0) GTEST_SKIP() << "root, and no setpriv to drop it";
    wrapper = "setpriv --reuid=65534 --regid=65534 --clear-groups";
  }
  fs::create_directories(dir_ / "locked");
  fs::create_directories(dir_ / "open");
  testing::write_file(dir_ / "locked" / "notes.txt", "mine");
  fs::permissions(dir_ / "locked", fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                       fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(dir_ / "open", fs::perms::all);
  const auto r = run_in(dir_, "run good.csv --target y --budget 3s --quiet --out locked/run --store open/ro.sqlite", "",
                        wrapper);
  fs::permissions(dir_ / "locked", fs::perms::owner_all, fs::perm_options::add);
  EXPECT_EQ(r.exit_code, 5) << r.out;
  EXPECT_EQ(r.error, "automl-gpt: error: cannot create run folder locked/run: Permission denied") << r.out;
  EXPECT_EQ(r.errors, 1) << r.out;
  EXPECT_EQ(testing::read_file(dir_ / "locked" / "notes.txt"), "mine");
  EXPECT_FALSE(fs::exists(dir_ / "locked" / "run"));
}

// The large cases: a million distinct levels, and a 10 MB cell. Both must finish with a
// model (their budgets are measured in bench/bad_input_budget.sh).
TEST_F(BadInputCli, MillionLevelCategoricalAndTenMegabyteCell) {
  {
    std::ofstream out(dir_ / "levels.csv");
    out << "id,x,y\n";
    uint64_t s = 3;
    for (int i = 0; i < 1000000; ++i) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      const double x = static_cast<double>(s >> 11) / 9007199254740992.0;
      out << "u" << i << "," << x << "," << (x + 0.3 * ((s >> 7) % 3) > 0.8 ? "yes" : "no") << "\n";
    }
  }
  auto r = run_in(dir_, "run levels.csv --target y --budget 6s --quiet --out out-levels --store store.sqlite");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir_ / "out-levels" / "model" / "pipeline.json"));

  std::vector<std::string> body = rows(100);
  body[5] = "0.2000,\"" + std::string(10 << 20, 'x') + "\",4,yes";
  expect_run_works("big-cell.csv", table("a,b,c,y", body), "--budget 4s");
}

// The cases that apply to `serve`: each body gets its exact status and error message,
// and the server still answers afterwards.
TEST_F(BadInputCli, ServeAnswersEachBadBodyWithItsStatusAndMessageAndStaysUp) {
  testing::ServerProcess server(dir_ / "model-run");
  ASSERT_TRUE(server.started()) << server.first_line() << server.log();
  const std::string csv = "text/csv", json = "application/json";
  auto predictions = [](const std::string& body) {
    const auto j = nlohmann::json::parse(body, nullptr, false);
    return j.is_object() ? j.value("probabilities", nlohmann::json()) : nlohmann::json();
  };
  const auto plain = testing::post(server, "a,b,c\n0.5,p,3\n-1.0,q,7\n", csv);
  ASSERT_EQ(plain.status, 200) << plain.body;

  struct Case {
    std::string name, body, content_type;
    int status;
    std::string message;  // the error's message; for a 200, "" (its predictions are checked below)
  };
  const std::string big(10 << 20, 'x');
  const std::vector<Case> cases = {
      {"CSV lacks a column", "a,c\n0.5,3\n", csv, 400, "the CSV body has no column \"b\", which the model uses (GET /model lists them); did you mean: a, c?"},
      {"JSON row lacks a column", R"([{"a": 0.5, "c": 3}])", json, 400, "row 1 has no column \"b\", which the model uses (GET /model lists them); did you mean: a, c?"},
      {"CSV retyped column", "a,b,c\n0.5,p,3\nhigh,q,7\n", csv, 400, "the CSV body:3: column \"a\" holds \"high\", but the model was trained on it as numeric (fix the "
       "cell or leave it empty as missing)"},
      {"JSON retyped column", R"([{"a": "high", "b": "p", "c": 3}])", json, 400, "row 1, column \"a\": expected a number, got \"high\""},
      {"CSV invalid UTF-8", "a,b,c\n0.5,p\xff,3\n", csv, 400, "the CSV body:2: column \"b\" holds a byte that is not UTF-8 (0xFF); the file must be UTF-8 text: "
       "convert it, e.g. `iconv -f latin1 -t utf-8`"},
      {"JSON invalid UTF-8", "[{\"a\": 0.5, \"b\": \"p\xff\", \"c\": 3}]", json, 400, "the body holds a byte that is not UTF-8 (0xFF) at byte 20; JSON must be UTF-8 text"},
      {"empty CSV body", "", csv, 400, "the body is empty: send a CSV header row and at least one row"},
      {"empty JSON body", "", json, 400, "the body is empty: send a JSON list of rows, or {\"rows\": [...]}"},
      {"JSON NaN", R"([{"a": NaN, "b": "p", "c": 3}])", json, 400, "the body is not valid JSON: [json.exception.parse_error.101] parse error at line 1, column 8: syntax "
       "error while parsing value - invalid literal; last read: '\"a\": N'"},
      {"CSV 10 MB cell", "a,b,c\n0.5,\"" + big + "\",3\n", csv, 200, ""},
      {"JSON 10 MB cell", R"([{"a": 0.5, "b": ")" + big + R"(", "c": 3}])", json, 200, ""},
      {"CSV NaN and infinities", "a,b,c\nnan,p,3\ninf,q,7\n-inf,p,1\n1e308,q,2\n", csv, 200, ""},
      {"JSON 1e308", R"([{"a": 1e308, "b": "p", "c": 3}])", json, 200, ""},
  };
  for (const auto& c : cases) {
    const auto r = testing::post(server, c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body.substr(0, 300);
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (c.status == 200) {
      EXPECT_TRUE(j.is_object() && j.contains("predictions")) << c.name << ": " << r.body.substr(0, 300);
      continue;
    }
    ASSERT_TRUE(j.is_object() && j.contains("error")) << c.name << ": " << r.body.substr(0, 300);
    EXPECT_EQ(j["error"]["code"], c.status) << c.name;
    EXPECT_EQ(j["error"]["message"], c.message) << c.name;
  }
  // Extra and reordered columns: the same numbers as the plain body.
  const auto shuffled = testing::post(server, "c,extra,b,a\n3,zz,p,0.5\n7,zz,q,-1.0\n", csv);
  ASSERT_EQ(shuffled.status, 200) << shuffled.body;
  EXPECT_EQ(predictions(shuffled.body), predictions(plain.body));
  const auto shuffled_json = testing::post(
      server, R"([{"c": 3, "extra": "zz", "b": "p", "a": 0.5}, {"b": "q", "a": -1.0, "c": 7, "extra": 1}])", json);
  ASSERT_EQ(shuffled_json.status, 200) << shuffled_json.body;
  EXPECT_EQ(predictions(shuffled_json.body), predictions(plain.body));

  // Still up, and still right.
  EXPECT_EQ(testing::get(server, "/health").status, 200);
  const auto again = testing::post(server, "a,b,c\n0.5,p,3\n-1.0,q,7\n", csv);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(predictions(again.body), predictions(plain.body));
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

}  // namespace
}  // namespace automl
