// End-to-end: `automl-gpt serve` on a free port, as a client uses it. The answers
// must be the numbers `automl-gpt predict` prints for the same rows, bad bodies
// must get a 4xx naming what is wrong, and the server must stay up through both.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "automl/table.h"
#include "helpers.h"
#include "serve/server_process.h"

extern char** environ;

namespace automl {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::read_file;
using testing::run_cli;

// A run of the built program on a shared dataset, made once per build of the
// binary and kept in the build folder: every serve test (each its own process
// under ctest) reuses it. A lock file keeps two tests from making it at once.
fs::path cached_run(const std::string& dataset, const std::string& target) {
  const fs::path data = testing::shared_datasets() / dataset;
  const fs::path root = fs::path(AUTOML_TEST_CACHE_DIR) / "serve-runs";
  fs::create_directories(root);
  const auto stamp =
      static_cast<unsigned long long>(fs::last_write_time(AUTOML_BINARY).time_since_epoch().count());
  const fs::path dir = root / (dataset + "-" + std::to_string(stamp));
  int lock = ::open((root / (dataset + ".lock")).c_str(), O_CREAT | O_RDWR, 0644);
  ::flock(lock, LOCK_EX);
  if (!fs::exists(dir / "model" / "pipeline.json")) {
    for (const auto& e : fs::directory_iterator(root)) {
      if (e.is_directory() && e.path().filename().string().rfind(dataset + "-", 0) == 0) fs::remove_all(e.path());
    }
    // Four trials (a few seconds): a real model, an ensemble as a rule, not the constant baseline.
    auto r = run_cli("run " + (data / "train.csv").string() + " --target " + target + " --test " +
                     (data / "test.csv").string() + " --budget 30s --max-trials 4 --quiet --out " + dir.string() +
                     " --store " + (root / (dataset + ".sqlite")).string());
    EXPECT_EQ(r.exit_code, 0) << r.out;
  }
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return dir;
}

// The server as a child process, and a client's calls: serve/server_process.h.
using testing::get;
using testing::post;
using testing::Reply;
using testing::ServerProcess;

// JSON records from a CSV file: numeric columns as JSON numbers, empty cells as null.
Json records_of(const fs::path& csv, const Json& input_schema) {
  std::map<std::string, std::string> types;
  for (const auto& c : input_schema) types[c["name"]] = c["type"];
  auto records = parse_csv_records(read_file(csv));
  Json rows = Json::array();
  for (std::size_t r = 1; r < records.size(); ++r) {
    Json row = Json::object();
    for (std::size_t c = 0; c < records[0].size(); ++c) {
      const std::string& name = records[0][c];
      const std::string& cell = records[r][c];
      if (cell.empty()) row[name] = nullptr;
      else if (types.count(name) && types[name] == "numeric") row[name] = std::strtod(cell.c_str(), nullptr);
      else row[name] = cell;
    }
    rows.push_back(row);
  }
  return rows;
}

// Checks a JSON answer against `automl-gpt predict`'s CSV, number by number, bit for bit.
void expect_same_as_cli(const std::string& cli_csv, const std::string& json_body) {
  Json j = Json::parse(json_body);
  auto records = parse_csv_records(cli_csv);
  ASSERT_EQ(j["predictions"].size() + 1, records.size());
  const bool classes = j.contains("probabilities");
  for (std::size_t r = 1; r < records.size(); ++r) {
    const Json& pred = j["predictions"][r - 1];
    if (!classes) {
      EXPECT_EQ(pred.get<double>(), std::strtod(records[r][0].c_str(), nullptr)) << "row " << r;
      continue;
    }
    EXPECT_EQ(pred.get<std::string>(), records[r][0]) << "row " << r;
    const Json& proba = j["probabilities"][r - 1];
    ASSERT_EQ(proba.size() + 1, records[r].size());
    for (std::size_t c = 0; c < proba.size(); ++c) {
      EXPECT_EQ(proba[c].get<double>(), std::strtod(records[r][c + 1].c_str(), nullptr)) << "row " << r;
    }
  }
}

class ServeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(testing::shared_datasets() / "penguins")) GTEST_SKIP() << "no shared datasets";
  }
  static fs::path penguins() { return cached_run("penguins", "species"); }
  static fs::path concrete() { return cached_run("concrete", "compressive_strength"); }
  static fs::path test_csv(const std::string& dataset) { return testing::shared_datasets() / dataset / "test.csv"; }
  static std::string cli_predict(const fs::path& run, const fs::path& csv) {
    auto r = run_cli("predict " + run.string() + " " + csv.string());
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }
};

TEST_F(ServeCli, PrintsItsUrlAndAnswersHealthAndModel) {
  const fs::path run = penguins();
  ServerProcess s(run);
  ASSERT_TRUE(s.started()) << s.first_line() << s.log();
  EXPECT_NE(s.first_line().find("serving " + run.string() + " at http://127.0.0.1:"), std::string::npos);

  Reply health = get(s, "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Json::parse(health.body)["status"], "ok");

  Reply model = get(s, "/model");
  ASSERT_EQ(model.status, 200) << model.body;
  Json m = Json::parse(model.body);
  EXPECT_EQ(m["target"]["name"], "species");
  EXPECT_EQ(m["target"]["task"], "multiclass");
  EXPECT_EQ(m["metric"]["name"], "accuracy");
  EXPECT_EQ(m["data_card"]["target"], "species");
  std::map<std::string, std::string> schema;
  for (const auto& c : m["input_schema"]) schema[c["name"]] = c["type"];
  EXPECT_EQ(schema["island"], "categorical");
  EXPECT_EQ(schema["bill_length_mm"], "numeric");
  EXPECT_EQ(schema.count("species"), 0u) << "the target is not an input";
  const Json saved = Json::parse(read_file(run / "model" / "pipeline.json"));
  EXPECT_EQ(m["pipeline"]["family"], saved["family"]);
  EXPECT_EQ(s.stop(SIGTERM), 0) << s.log();
}

TEST_F(ServeCli, ClassificationAnswersArePredictsNumbersBitForBit) {
  const fs::path run = penguins();
  const std::string cli = cli_predict(run, test_csv("penguins"));
  ServerProcess s(run);
  ASSERT_TRUE(s.started()) << s.log();
  const std::string csv = read_file(test_csv("penguins"));

  Reply from_csv = post(s, csv, "text/csv");
  ASSERT_EQ(from_csv.status, 200) << from_csv.body;
  expect_same_as_cli(cli, from_csv.body);
  Json answer = Json::parse(from_csv.body);
  EXPECT_EQ(answer["n_rows"], 86);
  EXPECT_EQ(answer["classes"], Json({"Adelie", "Chinstrap", "Gentoo"}));

  const Json rows = records_of(test_csv("penguins"), Json::parse(get(s, "/model").body)["input_schema"]);
  Reply from_list = post(s, rows.dump(), "application/json");
  ASSERT_EQ(from_list.status, 200) << from_list.body;
  expect_same_as_cli(cli, from_list.body);
  Reply from_object = post(s, Json{{"rows", rows}}.dump(), "application/json");
  ASSERT_EQ(from_object.status, 200) << from_object.body;
  EXPECT_EQ(from_object.body, from_list.body);

  // Accept: text/csv gives the very bytes `predict` prints.
  EXPECT_EQ(post(s, csv, "text/csv", "text/csv").body, cli);
  EXPECT_EQ(post(s, rows.dump(), "application/json", "text/csv").body, cli);
}

TEST_F(ServeCli, RegressionAnswersArePredictsNumbersBitForBit) {
  const fs::path run = concrete();
  const std::string cli = cli_predict(run, test_csv("concrete"));
  ServerProcess s(run);
  ASSERT_TRUE(s.started()) << s.log();
  Reply from_csv = post(s, read_file(test_csv("concrete")), "text/csv");
  ASSERT_EQ(from_csv.status, 200) << from_csv.body;
  expect_same_as_cli(cli, from_csv.body);
  EXPECT_FALSE(Json::parse(from_csv.body).contains("probabilities"));
  const Json rows = records_of(test_csv("concrete"), Json::parse(get(s, "/model").body)["input_schema"]);
  Reply from_json = post(s, rows.dump(), "application/json");
  ASSERT_EQ(from_json.status, 200) << from_json.body;
  expect_same_as_cli(cli, from_json.body);
  EXPECT_EQ(post(s, rows.dump(), "application/json", "text/csv").body, cli);
}

TEST_F(ServeCli, ColumnsTheModelDoesNotUseAreIgnored) {
  ServerProcess s(penguins());
  ASSERT_TRUE(s.started()) << s.log();
  const std::string with_target =
      "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year,species\n"
      "Biscoe,42.0,13.5,210,4150,female,2007,Gentoo\n";
  const std::string reordered_extra =
      "note,year,sex,body_mass_g,flipper_length_mm,bill_depth_mm,bill_length_mm,island\n"
      "\"any text, even with commas\",2007,female,4150,210,13.5,42.0,Biscoe\n";
  Reply a = post(s, with_target, "text/csv");
  Reply b = post(s, reordered_extra, "text/csv");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(Json::parse(a.body)["probabilities"], Json::parse(b.body)["probabilities"]);
  Json row = {{"island", "Biscoe"}, {"bill_length_mm", 42.0}, {"bill_depth_mm", "13.5"}, {"flipper_length_mm", 210},
              {"body_mass_g", 4150}, {"sex", "female"}, {"year", 2007}, {"species", "no matter"}, {"extra", {1, 2}}};
  Reply c = post(s, Json::array({row}).dump(), "application/json");
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(Json::parse(c.body)["probabilities"], Json::parse(a.body)["probabilities"]);
}

TEST_F(ServeCli, BadBodiesGetA4xxNamingTheColumnAndRowAndTheServerStaysUp) {
  ServerProcess s(penguins(), {"--max-body", "64KB"});
  ASSERT_TRUE(s.started()) << s.log();
  const Json good = {{"island", "Biscoe"}, {"bill_length_mm", 42.0}, {"bill_depth_mm", 13.5},
                     {"flipper_length_mm", 210}, {"body_mass_g", 4150}, {"sex", "female"}, {"year", 2007}};
  Json lacks_column = Json::array({good, good});
  lacks_column[1].erase("bill_depth_mm");
  Json wrong_type = Json::array({good, good, good});
  wrong_type[2]["body_mass_g"] = "heavy";
  Json object_cell = Json::array({good});
  object_cell[0]["sex"] = {{"a", 1}};
  const std::string header = "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year\n";
  const std::string row = "Biscoe,42.0,13.5,210,4150,female,2007\n";
  std::string oversize = header;
  while (oversize.size() <= 64 * 1024) oversize += row;

  struct Case {
    std::string name, body, content_type;
    int status;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"JSON row lacks a column", lacks_column.dump(), "application/json", 400, {"row 2", "\"bill_depth_mm\""}},
      {"JSON wrong type", wrong_type.dump(), "application/json", 400, {"row 3", "\"body_mass_g\"", "number", "heavy"}},
      {"JSON object in a cell", object_cell.dump(), "application/json", 400, {"row 1", "\"sex\"", "an object"}},
      {"malformed JSON", "[{\"island\": \"Biscoe\",", "application/json", 400, {"not valid JSON"}},
      {"JSON not rows", "{\"island\": \"Biscoe\"}", "application/json", 400, {"\"rows\""}},
      {"JSON row not an object", "[[1, 2]]", "application/json", 400, {"row 1", "not an object"}},
      {"JSON no rows", "[]", "application/json", 400, {"no rows"}},
      {"empty JSON body", "", "application/json", 400, {"empty"}},
      {"CSV lacks a column", "island,bill_length_mm\nBiscoe,42.0\n", "text/csv", 400, {"\"bill_depth_mm\""}},
      {"CSV wrong type", header + row + "Biscoe,42.0,13.5,210,heavy,female,2007\n", "text/csv", 400,
       {":3:", "\"body_mass_g\"", "heavy"}},
      {"CSV ragged row", header + "Biscoe,42.0,13.5\n", "text/csv", 400, {":2:", "3 fields but the header has 7"}},
      {"CSV open quote", header + "\"Biscoe,42.0,13.5,210,4150,female,2007\n", "text/csv", 400,
       {"quoted field never closed"}},
      {"CSV header only", header, "text/csv", 400, {"no data rows"}},
      {"empty CSV body", "", "text/csv", 400, {"empty"}},
      {"oversize body", oversize, "text/csv", 413, {"65536 bytes", "--max-body"}},
      {"unsupported type", "island=Biscoe", "application/x-www-form-urlencoded", 415, {"text/csv"}},
  };
  for (const auto& c : cases) {
    Reply r = post(s, c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    Json j = Json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << c.name << ": " << r.body;
    EXPECT_EQ(j["error"]["code"], c.status) << c.name;
    const std::string message = j["error"]["message"];
    for (const auto& f : c.fragments) EXPECT_NE(message.find(f), std::string::npos) << c.name << ": " << message;
  }
  Reply unknown = get(s, "/nowhere");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("POST /predict"), std::string::npos) << unknown.body;
  EXPECT_EQ(get(s, "/predict").status, 405);

  // Still up, and still right.
  EXPECT_EQ(get(s, "/health").status, 200);
  EXPECT_EQ(post(s, Json::array({good}).dump(), "application/json").status, 200);
  EXPECT_EQ(s.stop(SIGTERM), 0) << s.log();
}

TEST_F(ServeCli, ManyClientsAtOnceAllGetTheRightAnswers) {
  const fs::path run = penguins();
  const std::string cli = cli_predict(run, test_csv("penguins"));
  ServerProcess s(run, {"--workers", "8"});
  ASSERT_TRUE(s.started()) << s.log();
  const std::string csv = read_file(test_csv("penguins"));
  const Json rows = records_of(test_csv("penguins"), Json::parse(get(s, "/model").body)["input_schema"]);
  // Each row alone, asked once with no one else about: what every later answer must be.
  std::vector<std::string> single(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    single[i] = post(s, Json::array({rows[i]}).dump(), "application/json").body;
  }

  constexpr int kClients = 64, kRequests = 8;  // more clients than workers and than httplib's own backlog
  std::atomic<int> wrong{0}, failed{0};
  std::mutex mu;
  std::vector<std::string> failures;
  const auto t0 = std::chrono::steady_clock::now();
  auto fail = [&](const httplib::Result& r) {
    ++failed;
    std::lock_guard<std::mutex> lock(mu);
    failures.push_back((r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error())) + " at " +
                       std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
  };
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      auto c = s.client();
      for (int k = 0; k < kRequests; ++k) {
        if ((t + k) % 4 == 0) {  // the whole file, as CSV, answered as `predict` prints it
          auto r = c.Post("/predict", httplib::Headers{{"Accept", "text/csv"}}, csv, "text/csv");
          if (!r || r->status != 200) fail(r);
          else if (r->body != cli) ++wrong;
        } else {
          const std::size_t i = static_cast<std::size_t>(t * kRequests + k) % rows.size();
          auto r = c.Post("/predict", Json::array({rows[i]}).dump(), "application/json");
          if (!r || r->status != 200) fail(r);
          else if (r->body != single[i]) ++wrong;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed, 0) << failures.front() << " ... " << failures.back();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(get(s, "/health").status, 200);
  EXPECT_EQ(s.stop(SIGTERM), 0) << s.log();
  EXPECT_NE(s.log().find("(0 refused or failed)"), std::string::npos) << s.log();
}

TEST_F(ServeCli, SigtermAndCtrlCStopItCleanly) {
  const fs::path run = penguins();
  for (int sig : {SIGTERM, SIGINT}) {
    ServerProcess s(run);
    ASSERT_TRUE(s.started()) << s.log();
    EXPECT_EQ(get(s, "/health").status, 200);
    EXPECT_EQ(s.stop(sig), 0) << "signal " << sig << ": " << s.log();
    EXPECT_NE(s.log().find("stopped after 1 requests"), std::string::npos) << s.log();
  }
}

TEST_F(ServeCli, RefusesAMissingRunAndATakenPort) {
  auto missing = run_cli("serve /no/such/run --port 0");
  EXPECT_EQ(missing.exit_code, 3) << missing.out;
  EXPECT_NE(missing.out.find("/no/such/run"), std::string::npos) << missing.out;

  ServerProcess s(penguins());
  ASSERT_TRUE(s.started()) << s.log();
  auto taken = run_cli("serve " + penguins().string() + " --port " + std::to_string(s.port()));
  EXPECT_EQ(taken.exit_code, 5) << taken.out;
  EXPECT_NE(taken.out.find("cannot listen on 127.0.0.1:" + std::to_string(s.port())), std::string::npos) << taken.out;
  EXPECT_EQ(get(s, "/health").status, 200);
}

}  // namespace
}  // namespace automl
