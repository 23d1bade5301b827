// The run store on a real PostgreSQL server: the same records as the SQLite store,
// the same schema version, several writers at once, and the password kept out of
// every message, file and record. A run on PostgreSQL is read back by predict and
// learn --from-store.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <thread>

#include "automl/error.h"
#include "automl/store.h"
#include "helpers.h"
#include "store/postgres_server.h"

namespace automl {
namespace {

namespace fs = std::filesystem;
using namespace automl::testing;
using nlohmann::json;

TrialResult a_trial(int id) {
  TrialResult t;
  t.id = id;
  t.family = "boosted";
  t.params = {{"max_depth", 4}, {"learning_rate", 0.1}};
  t.rung = 1;
  t.parent = 0;
  t.resource = 222;
  t.sample_rows = 1000;
  t.predicted = {{"final_score", 0.83}, {"seconds", 1.5}};
  t.status = TrialStatus::kStopped;
  t.stop = StopReason::kRoundCap;
  t.reason = "successive halving: capped at 222 rounds";
  t.score = 0.875;
  t.fold_scores = {0.87, 0.88};
  t.seconds = 2.25;
  t.predict_s_per_row = 3e-6;
  t.iterations = 222;
  t.capped = true;
  t.deadline_stopped = true;
  t.partial = true;
  for (int f = 0; f < 2; ++f) {
    FoldLog log;
    log.fold = f;
    log.metric = "auc";
    log.train = {0.7, 0.8 + f * 0.01};
    log.valid = {0.65, 0.75};
    log.seconds = {0.1, 0.2};
    t.logs.push_back(log);
  }
  t.oof = std::make_shared<const std::vector<double>>(std::vector<double>{0.25, 0.75, 0.125, 0.875, 0.5, 0.5});
  return t;
}

// One trial's life, then everything read back: the same on either store.
void exercise(RunStore& store) {
  store.begin_run("r1", "folder", json{{"budget_s", 10}}, json{{"name", "d"}});
  TrialResult t = a_trial(0);
  store.propose_trial("r1", t);
  auto back = store.trials("r1");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].status, TrialStatus::kProposed);
  EXPECT_EQ(back[0].params, t.params);
  EXPECT_EQ(back[0].predicted, t.predicted);
  store.start_trial("r1", 0);
  EXPECT_THROW(store.start_trial("r1", 0), Error);
  FoldLog partial;
  partial.fold = 0;
  partial.metric = "auc";
  partial.valid = {0.6, 0.7};
  partial.train = {0.6, 0.8};
  partial.seconds = {0.1, 0.2};
  store.add_fold("r1", 0, 0, 0.7, partial);
  back = store.trials("r1");
  EXPECT_EQ(back[0].status, TrialStatus::kRunning);
  EXPECT_EQ(back[0].fold_scores, std::vector<double>{0.7});
  store.finish_trial("r1", t);
  back = store.trials("r1");
  ASSERT_EQ(back.size(), 1u);
  const TrialResult& r = back[0];
  EXPECT_EQ(r.status, TrialStatus::kStopped);
  EXPECT_EQ(r.stop, StopReason::kRoundCap);
  EXPECT_EQ(r.reason, t.reason);
  EXPECT_DOUBLE_EQ(r.score, 0.875);
  EXPECT_EQ(r.fold_scores, t.fold_scores);
  EXPECT_DOUBLE_EQ(r.seconds, 2.25);
  EXPECT_DOUBLE_EQ(r.predict_s_per_row, 3e-6);
  EXPECT_EQ(r.resource, 222);
  EXPECT_EQ(r.parent, 0);
  EXPECT_EQ(r.sample_rows, 1000);
  EXPECT_TRUE(r.capped && r.deadline_stopped && r.partial);
  ASSERT_EQ(r.logs.size(), 2u);
  EXPECT_EQ(r.logs[1].train, t.logs[1].train);
  ASSERT_TRUE(r.oof);
  EXPECT_EQ(*r.oof, *t.oof);  // float32 holds these exactly
  // A NaN score is kept as no score, and comes back NaN.
  TrialResult failed = a_trial(1);
  failed.status = TrialStatus::kFailed;
  failed.stop = StopReason::kError;
  failed.score = std::nan("");
  failed.oof.reset();
  store.finish_trial("r1", failed);
  EXPECT_TRUE(std::isnan(store.trials("r1")[1].score));

  store.save_state("r1", "phase", "search");
  store.save_state("r1", "phase", "refit");
  EXPECT_EQ(store.load_state("r1", "phase"), json("refit"));
  EXPECT_FALSE(store.load_state("r1", "nothing"));
  store.add_llm_call("r1", json{{"stage", "plan"}, {"cached", false}, {"prompt_tokens", 10}});
  store.add_llm_call("r1", json{{"stage", "refine"}, {"cached", true}});
  EXPECT_EQ(store.count("llm_calls", "r1"), 2);
  store.put("key", "model", "reply");
  EXPECT_EQ(store.get("key"), std::optional<std::string>("reply"));
  EXPECT_FALSE(store.get("other"));
  // A batch is one transaction: a step that throws undoes the others.
  EXPECT_THROW(store.batch([&] {
    store.save_state("r1", "phase", "ensemble");
    store.start_trial("r1", 99);  // never proposed
  }),
               Error);
  EXPECT_EQ(store.load_state("r1", "phase"), json("refit"));
  store.batch([&] { store.save_state("r1", "phase", "save"); });
  EXPECT_EQ(store.load_state("r1", "phase"), json("save"));

  store.fail_run("r1", "boom");
  EXPECT_EQ(store.run_status("r1"), "failed");
  EXPECT_EQ(store.run_error("r1"), "boom");
  store.reopen_run("r1");
  EXPECT_EQ(store.run_error("r1"), "");
  store.finish_run("r1", "finished", json{{"best", 0.875}});
  EXPECT_EQ(store.finished_runs(), std::vector<std::string>{"r1"});
  json rec = store.run_record("r1");
  EXPECT_EQ(rec["summary"]["best"], 0.875);
  EXPECT_EQ(rec["trials"].size(), 2u);
  EXPECT_EQ(rec["trials"][0]["logs"].size(), 2u);
  EXPECT_THROW(store.run_record("nope"), Error);
  EXPECT_EQ(store.schema_version(), RunStore::kSchemaVersion);
}

TEST(StoreLocation, APasswordNeverLeavesTheUri) {
  EXPECT_EQ(redact_store_location("postgresql://ann:s3cret@db.example:5432/studies"),
            "postgresql://ann@db.example:5432/studies");
  EXPECT_EQ(redact_store_location("postgres://ann:s3cret@db/x?sslmode=require&password=s3cret&connect_timeout=5"),
            "postgres://ann@db/x?sslmode=require&connect_timeout=5");
  EXPECT_EQ(redact_store_location("postgresql://db/x?password=s3cret"), "postgresql://db/x");
  EXPECT_EQ(redact_store_location("postgresql://ann@db/x"), "postgresql://ann@db/x");
  EXPECT_EQ(redact_store_location("runs/store.sqlite"), "runs/store.sqlite");
  EXPECT_TRUE(is_postgres_location("postgresql://db/x"));
  EXPECT_FALSE(is_postgres_location("runs/postgresql.sqlite"));
  EXPECT_EQ(store_location_record("postgresql://ann:pw@db/x"), "postgresql://ann@db/x");
  EXPECT_TRUE(fs::path(store_location_record("runs/store.sqlite")).is_absolute());
}

TEST(StoreLocation, ThePasswordIsReadOutForAChildsEnvironment) {
  EXPECT_EQ(store_location_password("postgresql://ann:s3cret@db.example:5432/studies"), "s3cret");
  EXPECT_EQ(store_location_password("postgresql://ann:p%40ss%2Fw@db/x"), "p@ss/w");  // decoded as libpq does
  EXPECT_EQ(store_location_password("postgres://ann@db/x?sslmode=require&password=s3%25cret"), "s3%cret");
  EXPECT_EQ(store_location_password("postgresql://ann@db/x"), "");
  EXPECT_EQ(store_location_password("runs/store.sqlite"), "");
}

TEST(SqliteStoreInterface, KeepsEveryRecordOfATrial) {
  const fs::path dir = temp_dir("store-interface");
  auto store = open_run_store((dir / "store.sqlite").string());
  exercise(*store);
}

TEST(PostgresStore, KeepsEveryRecordOfATrialAsSqliteDoes) {
  REQUIRE_POSTGRES();
  const std::string uri = fresh_postgres_database("records");
  auto store = open_run_store(uri);
  EXPECT_NE(dynamic_cast<PostgresStore*>(store.get()), nullptr);
  EXPECT_EQ(store->location().find(postgres_password()), std::string::npos) << store->location();
  exercise(*store);
}

TEST(PostgresStore, ASecondOpeningFindsTheSchemaAndANewerOneIsRefused) {
  REQUIRE_POSTGRES();
  const std::string uri = fresh_postgres_database("schema");
  { PostgresStore first(uri); }
  {
    PostgresStore again(uri);
    EXPECT_EQ(again.schema_version(), RunStore::kSchemaVersion);
  }
  {
    pqxx::connection c(uri);
    pqxx::work w(c);
    w.exec("UPDATE schema_version SET version = " + std::to_string(RunStore::kSchemaVersion + 5));
    w.commit();
  }
  try {
    PostgresStore newer(uri);
    FAIL() << "a newer schema was opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("newer than this program"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(postgres_password()), std::string::npos) << msg;
  }
}

TEST(PostgresStore, SeveralWritersAtOnceLoseNothing) {
  REQUIRE_POSTGRES();
  const std::string uri = fresh_postgres_database("writers");
  { PostgresStore create(uri); }
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      PostgresStore s(uri);  // each its own connection, opening at the same time
      const std::string run = "run" + std::to_string(w);
      s.begin_run(run, "f", json::object(), json::object());
      for (int i = 0; i < 20; ++i) s.finish_trial(run, a_trial(i));
    });
  }
  for (auto& t : threads) t.join();
  PostgresStore reader(uri);
  for (int w = 0; w < 4; ++w) EXPECT_EQ(reader.count("trials", "run" + std::to_string(w)), 20);
}

TEST(PostgresStore, AWrongPasswordIsAnIoErrorThatDoesNotRepeatIt) {
  REQUIRE_POSTGRES();
  std::string uri = postgres_server();
  const std::string password = postgres_password();
  const std::string wrong = "wrong" + password;
  uri.replace(uri.find(password), password.size(), wrong);
  try {
    PostgresStore s(uri);
    FAIL() << "connected with a wrong password";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("password authentication failed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("postgresql://automl@127.0.0.1"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(wrong), std::string::npos) << msg;
  }
}

// Every file under `dir` holding `needle`.
std::vector<std::string> files_holding(const fs::path& dir, const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && read_file(e.path()).find(needle) != std::string::npos) out.push_back(e.path().string());
  }
  return out;
}

// The first `n` trials' settings, in order: what the planner proposed first.
std::vector<std::pair<std::string, json>> first_settings(RunStore& store, const std::string& run_id, std::size_t n) {
  std::vector<std::pair<std::string, json>> out;
  for (const auto& t : store.trials(run_id)) {
    if (out.size() < n) out.emplace_back(t.family, t.params);
  }
  return out;
}

// The tables that hold rows for the run.
std::set<std::string> kinds_of_records(RunStore& store, const std::string& run_id) {
  std::set<std::string> out;
  for (const char* table : {"runs", "trials", "training_logs", "folds", "run_state", "llm_calls"}) {
    if (store.count(table, run_id) > 0) out.insert(table);
  }
  return out;
}

TEST(PostgresRun, ARunStoresWhatSqliteStoresAndPredictAndLearnReadItBack) {
  REQUIRE_POSTGRES();
  const std::string uri = fresh_postgres_database("run");
  const std::string password = postgres_password();
  ASSERT_FALSE(password.empty());
  const fs::path root = temp_dir("pg-run");
  write_file(root / "train.csv", make_csv("binary", 500, 3));
  write_file(root / "test.csv", make_csv("binary", 200, 4));
  const std::string common = "run " + (root / "train.csv").string() + " --target y --test " +
                             (root / "test.csv").string() + " --budget 6s --seed 7 --max-trials 8 --knowledge none";

  CommandResult on_pg = run_cli(common + " --out " + (root / "pg").string() + " --store '" + uri + "'");
  ASSERT_EQ(on_pg.exit_code, 0) << on_pg.out;
  CommandResult on_sqlite =
      run_cli(common + " --out " + (root / "lite").string() + " --store " + (root / "store.sqlite").string());
  ASSERT_EQ(on_sqlite.exit_code, 0) << on_sqlite.out;

  const std::string pg_id = json::parse(read_file(root / "pg" / "request.json")).at("run_id");
  const std::string lite_id = json::parse(read_file(root / "lite" / "request.json")).at("run_id");
  auto pg = open_run_store(uri);
  auto lite = open_run_store((root / "store.sqlite").string());
  EXPECT_EQ(pg->run_status(pg_id), "finished");
  EXPECT_EQ(first_settings(*pg, pg_id, 3), first_settings(*lite, lite_id, 3));
  EXPECT_EQ(kinds_of_records(*pg, pg_id), kinds_of_records(*lite, lite_id));
  EXPECT_EQ(pg->count("trials", pg_id), lite->count("trials", lite_id));
  // The run folder names the store without its password, and resume finds it by that.
  const json request = json::parse(read_file(root / "pg" / "request.json"));
  EXPECT_EQ(request.at("store"), redact_store_location(uri));

  // predict reads the run folder; learn reads the store back.
  CommandResult p = run_cli("predict " + (root / "pg").string() + " " + (root / "test.csv").string());
  EXPECT_EQ(p.exit_code, 0) << p.out;
  EXPECT_NE(p.out.find("prediction"), std::string::npos) << p.out.substr(0, 200);
  CommandResult learned =
      run_cli("learn --from-store '" + uri + "' --out " + (root / "kb.json").string());
  ASSERT_EQ(learned.exit_code, 0) << learned.out;
  EXPECT_NE(learned.out.find("1 datasets"), std::string::npos) << learned.out;

  // The password is in no file of the run, no output, and nowhere in the database.
  EXPECT_EQ(on_pg.out.find(password), std::string::npos);
  EXPECT_EQ(files_holding(root, password), std::vector<std::string>{});
  const fs::path dump = root / "dump.sql";
  CommandResult dumped = run_cli_shell("PGPASSWORD=" + password + " pg_dump --dbname='" + redact_store_location(uri) +
                                       "' --file=" + dump.string() + " 2>&1");
  ASSERT_EQ(dumped.exit_code, 0) << dumped.out;
  EXPECT_NE(read_file(dump).find(pg_id), std::string::npos);  // the dump holds the run
  EXPECT_EQ(read_file(dump).find(password), std::string::npos);
}

}  // namespace
}  // namespace automl
