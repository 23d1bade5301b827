// The run store: its schema version and migrations, trials as records through their
// states, per-run checkpoints, failed runs, and several writers on one file.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <thread>

#include "automl/data_card.h"
#include "automl/error.h"
#include "automl/knowledge.h"
#include "automl/run.h"
#include "automl/session.h"
#include "automl/store.h"
#include "helpers.h"

namespace automl {
namespace {

using namespace automl::testing;
using nlohmann::json;

// Raw SQL on a store file, as an older program (or a newer one) would have left it.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << "cannot open " << path;
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (err ? err : "?");
      sqlite3_free(err);
    }
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

TrialResult full_trial(int id) {
  TrialResult t;
  t.id = id;
  t.family = "xgboost";
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

TEST(Store, ATrialMovesFromProposedToRunningToFinished) {
  auto dir = temp_dir("store-states");
  SqliteStore store(dir / "store.sqlite");
  store.begin_run("r1", "folder", json::object(), json::object());
  TrialResult t = full_trial(0);
  store.propose_trial("r1", t);
  auto back = store.trials("r1");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].status, TrialStatus::kProposed);
  EXPECT_EQ(back[0].stop, StopReason::kNone);
  EXPECT_EQ(back[0].family, "xgboost");
  EXPECT_EQ(back[0].params, t.params);
  EXPECT_EQ(back[0].rung, 1);
  EXPECT_EQ(back[0].parent, 0);
  EXPECT_EQ(back[0].resource, 222);
  EXPECT_EQ(back[0].sample_rows, 1000);
  EXPECT_EQ(back[0].predicted, t.predicted);
  EXPECT_TRUE(back[0].fold_scores.empty());  // the proposal carries no result
  EXPECT_FALSE(back[0].oof);

  store.start_trial("r1", 0);
  EXPECT_EQ(store.trials("r1")[0].status, TrialStatus::kRunning);
  // Only a proposed trial can start; an unknown one is not found.
  try {
    store.start_trial("r1", 0);
    FAIL() << "a running trial started again";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("store.sqlite"), std::string::npos) << e.what();
  }
  try {
    store.start_trial("r1", 7);
    FAIL() << "a trial never proposed started";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }

  t.status = TrialStatus::kFinished;
  t.stop = StopReason::kConverged;
  store.finish_trial("r1", t);
  back = store.trials("r1");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].status, TrialStatus::kFinished);
  EXPECT_EQ(back[0].stop, StopReason::kConverged);
  EXPECT_EQ(store.count("trials", "r1"), 1);
}

TEST(Store, AFoldSavedBeforeTheTrialFinishedIsReadBack) {
  auto dir = temp_dir("store-fold");
  SqliteStore store(dir / "store.sqlite");
  store.begin_run("r1", "folder", json::object(), json::object());
  TrialResult t = full_trial(3);
  store.propose_trial("r1", t);
  store.start_trial("r1", 3);
  store.add_fold("r1", 3, 1, 0.91, t.logs[1]);
  store.add_fold("r1", 3, 0, 0.89, t.logs[0]);
  FoldLog none;  // a family that is not iterative has no curve: only its score is kept
  EXPECT_THROW(store.add_fold("r1", 4, 0, 0.5, none), Error);  // never proposed

  // Another connection (a resuming process) sees what the killed one wrote.
  SqliteStore reader(dir / "store.sqlite");
  auto back = reader.trials("r1");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].status, TrialStatus::kRunning);
  ASSERT_EQ(back[0].fold_scores.size(), 2u);
  EXPECT_DOUBLE_EQ(back[0].fold_scores[0], 0.89);  // by fold
  EXPECT_DOUBLE_EQ(back[0].fold_scores[1], 0.91);
  ASSERT_EQ(back[0].logs.size(), 2u);
  EXPECT_EQ(back[0].logs[1].fold, 1);
  EXPECT_EQ(back[0].logs[1].train, t.logs[1].train);
  EXPECT_EQ(back[0].logs[1].metric, "auc");
  EXPECT_EQ(reader.count("folds", "r1"), 2);

  // Proposing the trial again (a resumed run trains it afresh) drops its folds.
  store.propose_trial("r1", t);
  back = store.trials("r1");
  EXPECT_EQ(back[0].status, TrialStatus::kProposed);
  EXPECT_TRUE(back[0].fold_scores.empty());
  EXPECT_TRUE(back[0].logs.empty());
}

TEST(Store, TrialsRoundTripEveryField) {
  auto dir = temp_dir("store-roundtrip");
  SqliteStore store(dir / "store.sqlite");
  store.begin_run("r1", "folder", json::object(), json::object());
  TrialResult a = full_trial(0);
  TrialResult b;  // never proposed: finish_trial still lands it
  b.id = 1;
  b.family = "linear";
  b.params = json::object();
  b.status = TrialStatus::kFailed;
  b.stop = StopReason::kUndefinedScore;
  b.reason = "the validation score is undefined";
  b.score = std::nan("");
  b.fold_scores = {std::nan(""), 0.5};
  store.finish_trial("r1", b);
  store.finish_trial("r1", a);
  auto back = store.trials("r1");
  ASSERT_EQ(back.size(), 2u);
  const TrialResult& x = back[0];
  EXPECT_EQ(x.id, 0);
  EXPECT_EQ(x.family, a.family);
  EXPECT_EQ(x.params, a.params);
  EXPECT_EQ(x.rung, a.rung);
  EXPECT_EQ(x.parent, a.parent);
  EXPECT_EQ(x.resource, a.resource);
  EXPECT_EQ(x.status, TrialStatus::kStopped);
  EXPECT_EQ(x.stop, StopReason::kRoundCap);
  EXPECT_EQ(x.reason, a.reason);
  EXPECT_DOUBLE_EQ(x.score, a.score);
  EXPECT_EQ(x.fold_scores, a.fold_scores);
  EXPECT_DOUBLE_EQ(x.seconds, a.seconds);
  EXPECT_DOUBLE_EQ(x.predict_s_per_row, a.predict_s_per_row);
  EXPECT_DOUBLE_EQ(x.iterations, a.iterations);
  EXPECT_TRUE(x.capped);
  EXPECT_TRUE(x.deadline_stopped);
  EXPECT_TRUE(x.partial);
  EXPECT_EQ(x.sample_rows, a.sample_rows);
  EXPECT_EQ(x.predicted, a.predicted);
  ASSERT_EQ(x.logs.size(), 2u);
  for (std::size_t f = 0; f < 2; ++f) {
    EXPECT_EQ(x.logs[f].fold, a.logs[f].fold);
    EXPECT_EQ(x.logs[f].metric, a.logs[f].metric);
    EXPECT_EQ(x.logs[f].train, a.logs[f].train);
    EXPECT_EQ(x.logs[f].valid, a.logs[f].valid);
    EXPECT_EQ(x.logs[f].seconds, a.logs[f].seconds);
  }
  ASSERT_TRUE(x.oof);
  ASSERT_EQ(x.oof->size(), a.oof->size());
  for (std::size_t i = 0; i < a.oof->size(); ++i) EXPECT_FLOAT_EQ((*x.oof)[i], (*a.oof)[i]);
  EXPECT_FALSE(x.fold_model);

  const TrialResult& y = back[1];
  EXPECT_EQ(y.status, TrialStatus::kFailed);
  EXPECT_EQ(y.stop, StopReason::kUndefinedScore);
  EXPECT_TRUE(std::isnan(y.score));
  ASSERT_EQ(y.fold_scores.size(), 2u);
  EXPECT_TRUE(std::isnan(y.fold_scores[0]));
  EXPECT_EQ(y.parent, -1);
  EXPECT_EQ(y.resource, -1);
  EXPECT_FALSE(y.oof);

  // The blob is float32: rows x outputs x 4 bytes.
  RawDb raw(dir / "store.sqlite");
  EXPECT_EQ(raw.text("SELECT length(oof) FROM trials WHERE trial_id = 0"), std::to_string(a.oof->size() * 4));
  // The knowledge base's view takes the flags from the record.
  json rec = store.run_record("r1");
  EXPECT_EQ(rec["trials"][0]["stop"], "round cap");
  EXPECT_EQ(rec["trials"][0]["capped"], true);
  EXPECT_TRUE(rec["trials"][1]["score"].is_null());
}

TEST(Store, AFailedRunKeepsItsError) {
  auto dir = temp_dir("store-fail");
  SqliteStore store(dir / "store.sqlite");
  store.begin_run("r1", "folder", json::object(), json::object());
  EXPECT_EQ(store.run_status("r1"), "running");
  EXPECT_EQ(store.run_error("r1"), "");
  store.fail_run("r1", "the disk is full");
  EXPECT_EQ(store.run_status("r1"), "failed");
  EXPECT_EQ(store.run_error("r1"), "the disk is full");
  EXPECT_EQ(store.run_record("r1")["error"], "the disk is full");
  EXPECT_TRUE(store.finished_runs().empty());
  try {
    store.fail_run("nope", "x");
    FAIL() << "an unknown run was failed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

TEST(Store, StateIsSavedPerRunAndTheLastValueWins) {
  auto dir = temp_dir("store-state");
  SqliteStore store(dir / "store.sqlite");
  store.begin_run("r1", "folder", json::object(), json::object());
  store.begin_run("r2", "folder", json::object(), json::object());
  EXPECT_FALSE(store.load_state("r1", "phase"));
  store.save_state("r1", "phase", "search");
  store.save_state("r1", "plan", {{"families", {"xgboost", "linear"}}, {"time_used_s", 12.5}});
  store.save_state("r2", "phase", "refit");
  store.save_state("r1", "phase", "ensemble");
  EXPECT_EQ(*store.load_state("r1", "phase"), "ensemble");
  EXPECT_EQ(*store.load_state("r2", "phase"), "refit");
  EXPECT_EQ((*store.load_state("r1", "plan"))["time_used_s"], 12.5);
  EXPECT_EQ(store.count("run_state", "r1"), 2);
  SqliteStore other(dir / "store.sqlite");
  EXPECT_EQ(*other.load_state("r1", "phase"), "ensemble");
}

TEST(Store, TwoStoresOnOneFileWriteDifferentRunsAtOnce) {
  auto dir = temp_dir("store-concurrent");
  const auto path = dir / "store.sqlite";
  { SqliteStore create(path); }
  constexpr int kTrials = 60;
  auto writer = [&](const std::string& run_id, std::string* error) {
    try {
      SqliteStore store(path);
      store.begin_run(run_id, "folder", json::object(), json::object());
      for (int i = 0; i < kTrials; ++i) {
        TrialResult t = full_trial(i);
        store.propose_trial(run_id, t);
        store.start_trial(run_id, i);
        store.add_fold(run_id, i, 0, 0.5, t.logs[0]);
        store.save_state(run_id, "done", i);
        t.status = TrialStatus::kFinished;
        store.finish_trial(run_id, t);
      }
      store.finish_run(run_id, "finished", json::object());
    } catch (const std::exception& e) {
      *error = e.what();
    }
  };
  std::string error_a, error_b;
  std::thread a(writer, "ra", &error_a), b(writer, "rb", &error_b);
  a.join();
  b.join();
  EXPECT_EQ(error_a, "");
  EXPECT_EQ(error_b, "");
  SqliteStore store(path);
  for (const char* run : {"ra", "rb"}) {
    EXPECT_EQ(store.count("trials", run), kTrials) << run;
    EXPECT_EQ(store.count("folds", run), kTrials) << run;
    EXPECT_EQ(*store.load_state(run, "done"), kTrials - 1) << run;
    EXPECT_EQ(store.run_status(run), "finished") << run;
  }
}

// The tables as the program wrote them before the schema had a version, without the
// columns added later (trials.predicted, runs.data_card): the oldest shape.
void write_v0_store(const std::filesystem::path& path) {
  RawDb raw(path);
  raw.exec(R"(CREATE TABLE runs (run_id TEXT PRIMARY KEY, folder TEXT NOT NULL, created_at TEXT NOT NULL,
      status TEXT NOT NULL, request TEXT NOT NULL, summary TEXT))");
  raw.exec(R"(CREATE TABLE trials (run_id TEXT NOT NULL, trial_id INTEGER NOT NULL, family TEXT NOT NULL,
      params TEXT NOT NULL, rung INTEGER NOT NULL, parent INTEGER, resource INTEGER, status TEXT NOT NULL, reason TEXT,
      valid_score REAL, fold_scores TEXT, seconds REAL, iterations REAL, PRIMARY KEY (run_id, trial_id)))");
  raw.exec(R"(CREATE TABLE training_logs (run_id TEXT NOT NULL, trial_id INTEGER NOT NULL, fold INTEGER NOT NULL,
      metric TEXT, train TEXT NOT NULL, valid TEXT NOT NULL, seconds TEXT NOT NULL, PRIMARY KEY (run_id, trial_id, fold)))");
  raw.exec(R"(CREATE TABLE llm_cache (cache_key TEXT PRIMARY KEY, model TEXT NOT NULL, reply TEXT NOT NULL,
      created_at TEXT NOT NULL))");
  raw.exec(R"(INSERT INTO runs VALUES ('old', 'runs/old', '2025-01-01T00:00:00Z', 'finished',
      '{"target":"y"}', '{"validation_score":0.9}'))");
  raw.exec(R"(INSERT INTO trials VALUES
      ('old', 0, 'constant', '{}', 0, -1, -1, 'finished', 'fitted', 0.5, '[0.5,0.5]', 0.01, 0),
      ('old', 1, 'xgboost', '{"max_depth":3}', 0, -1, 74, 'stopped early', 'successive halving: capped at 74 rounds',
       0.8, '[0.8,0.8]', 0.4, 74),
      ('old', 2, 'xgboost', '{"max_depth":5}', 1, 1, 222, 'stopped early', 'pruned: behind the best', 0.7, '[0.7]', 0.3, 40),
      ('old', 3, 'xgboost', '{"max_depth":6}', 0, -1, 74, 'stopped early',
       'budget ran out after 1 of 2 folds (trained on a sample of 2000 of the fold''s 8000 training rows)',
       0.75, '[0.75]', 0.3, 30),
      ('old', 4, 'linear', '{"C":99}', 0, -1, -1, 'failed', 'bad C', 0, '[]', 0.0, 0))");
  raw.exec(R"(INSERT INTO training_logs VALUES ('old', 1, 0, 'auc', '[0.7,0.8]', '[0.6,0.75]', '[0.1,0.2]'))");
  raw.exec("INSERT INTO llm_cache VALUES ('k', 'm', 'the reply', '2025-01-01T00:00:00Z')");
}

TEST(Store, AnUnversionedOldStoreIsUpgradedWithItsRowsIntact) {
  auto dir = temp_dir("store-v0");
  const auto path = dir / "store.sqlite";
  write_v0_store(path);
  {
    RawDb raw(path);
    EXPECT_EQ(raw.text("PRAGMA user_version"), "0");
  }
  SqliteStore store(path);
  EXPECT_EQ(store.schema_version(), RunStore::kSchemaVersion);
  {
    RawDb raw(path);
    EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(RunStore::kSchemaVersion));
    EXPECT_EQ(raw.text("SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name IN ('data_card', 'error')"), "2");
    EXPECT_EQ(raw.text("SELECT COUNT(*) FROM pragma_table_info('trials') WHERE name IN ('predicted', 'stop', 'oof')"),
              "3");
  }
  // The rows are there and readable.
  EXPECT_EQ(store.finished_runs(), std::vector<std::string>{"old"});
  EXPECT_EQ(store.get("k"), std::optional<std::string>("the reply"));
  json rec = store.run_record("old");
  EXPECT_EQ(rec["request"]["target"], "y");
  EXPECT_EQ(rec["summary"]["validation_score"], 0.9);
  ASSERT_EQ(rec["trials"].size(), 5u);
  EXPECT_EQ(rec["trials"][1]["logs"].size(), 1u);
  // How each stopped, once only in its reason text, is now in the record.
  auto trials = store.trials("old");
  ASSERT_EQ(trials.size(), 5u);
  EXPECT_EQ(trials[0].status, TrialStatus::kFinished);
  EXPECT_EQ(trials[0].stop, StopReason::kFitted);
  EXPECT_EQ(trials[1].status, TrialStatus::kStopped);
  EXPECT_EQ(trials[1].stop, StopReason::kRoundCap);
  EXPECT_TRUE(trials[1].capped);
  EXPECT_EQ(trials[1].logs.size(), 1u);
  EXPECT_EQ(trials[2].status, TrialStatus::kPruned);
  EXPECT_EQ(trials[2].stop, StopReason::kPruned);
  EXPECT_FALSE(trials[2].capped);
  EXPECT_EQ(trials[3].stop, StopReason::kDeadline);
  EXPECT_TRUE(trials[3].deadline_stopped);
  EXPECT_TRUE(trials[3].partial);
  EXPECT_EQ(trials[3].sample_rows, 2000);
  EXPECT_EQ(trials[4].status, TrialStatus::kFailed);
  EXPECT_EQ(trials[4].stop, StopReason::kError);
  EXPECT_EQ(trials[4].fold_scores, std::vector<double>{});
  // And the upgraded store takes new runs.
  store.begin_run("new", "runs/new", json::object(), json::object());
  store.finish_trial("new", full_trial(0));
  EXPECT_EQ(store.trials("new").size(), 1u);
  // Opening it again changes nothing.
  SqliteStore again(path);
  EXPECT_EQ(again.trials("old").size(), 5u);
}

TEST(Store, AnUnversionedStoreWithTheNewerColumnsIsVersionOne) {
  auto dir = temp_dir("store-v1");
  const auto path = dir / "store.sqlite";
  write_v0_store(path);
  {
    RawDb raw(path);
    raw.exec("ALTER TABLE trials ADD COLUMN predicted TEXT");
    raw.exec("ALTER TABLE runs ADD COLUMN data_card TEXT");
    raw.exec(R"(UPDATE trials SET predicted = '{"final_score":0.79}' WHERE trial_id = 1)");
  }
  SqliteStore store(path);
  EXPECT_EQ(store.schema_version(), RunStore::kSchemaVersion);
  auto trials = store.trials("old");
  ASSERT_EQ(trials.size(), 5u);
  EXPECT_EQ(trials[1].predicted["final_score"], 0.79);
  EXPECT_EQ(trials[1].stop, StopReason::kRoundCap);
}

TEST(Store, AStoreNewerThanTheProgramIsRefusedUntouched) {
  auto dir = temp_dir("store-new");
  const auto path = dir / "store.sqlite";
  {
    SqliteStore store(path);
    store.begin_run("r1", "folder", json::object(), json::object());
  }
  const int newer = RunStore::kSchemaVersion + 5;
  {
    RawDb raw(path);
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    raw.exec("PRAGMA journal_mode=DELETE");
    raw.exec("PRAGMA user_version = " + std::to_string(newer));
  }
  const std::string before = read_file(path);
  try {
    SqliteStore store(path);
    FAIL() << "a newer store was opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(newer)), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(RunStore::kSchemaVersion)), std::string::npos) << msg;
  }
  EXPECT_EQ(read_file(path), before);
  EXPECT_FALSE(std::filesystem::exists(dir / "store.sqlite-wal"));
}

TEST(Store, AFileThatIsNotAStoreIsNamedInTheError) {
  auto dir = temp_dir("store-junk");
  write_file(dir / "store.sqlite", std::string(4096, 'x'));
  try {
    SqliteStore store(dir / "store.sqlite");
    FAIL() << "junk was opened as a store";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "store.sqlite").string()), std::string::npos) << e.what();
  }
}

// The knowledge base reads how a trial ended from its record: capped from the
// record's flag (a trial that ran all its rounds without a successive-halving cap has
// no "capped" in its reason), and trials cut short, on a sample or in flight left out.
TEST(Store, TheKnowledgeBaseTakesTheTrialsFlagsFromTheRecords) {
  auto dir = temp_dir("store-kb");
  write_file(dir / "train.csv", make_csv("binary", 200, 3));
  Table table = read_csv((dir / "train.csv").string());
  DataCard card = infer_data_card(table, "y", "toy", json::object());
  SqliteStore store(dir / "store.sqlite");
  store.begin_run("r1", "folder", json::object(), card.to_json());
  auto trial = [](int id, TrialStatus status, StopReason stop, double score) {
    TrialResult t;
    t.id = id;
    t.family = id == 0 ? "constant" : "xgboost";
    t.params = {{"max_depth", id}};
    t.status = status;
    t.stop = stop;
    t.score = score;
    t.fold_scores = {score};
    t.seconds = 1;
    return t;
  };
  store.finish_trial("r1", trial(0, TrialStatus::kFinished, StopReason::kFitted, 0.5));
  TrialResult completed = trial(1, TrialStatus::kFinished, StopReason::kCompleted, 0.8);
  completed.capped = true;
  completed.reason = "ran every round its setting allows";
  store.finish_trial("r1", completed);
  TrialResult converged = trial(2, TrialStatus::kFinished, StopReason::kConverged, 0.82);
  converged.reason = "early stopping (not capped)";  // the word alone no longer decides
  store.finish_trial("r1", converged);
  TrialResult cut = trial(3, TrialStatus::kStopped, StopReason::kTimeBox, 0.9);
  cut.deadline_stopped = true;
  store.finish_trial("r1", cut);
  TrialResult sampled = trial(4, TrialStatus::kFinished, StopReason::kConverged, 0.95);
  sampled.sample_rows = 50;
  store.finish_trial("r1", sampled);
  store.propose_trial("r1", trial(5, TrialStatus::kProposed, StopReason::kNone, 0));
  store.start_trial("r1", 5);
  store.finish_trial("r1", trial(6, TrialStatus::kFailed, StopReason::kError, 0.99));

  KnownDataset d = experience_from_store(store, "r1");
  ASSERT_EQ(d.trials.size(), 3u);
  EXPECT_EQ(d.trials[0].family, "constant");
  EXPECT_TRUE(d.trials[1].capped);
  EXPECT_FALSE(d.trials[2].capped);
  EXPECT_EQ(d.trials[1].status, TrialStatus::kFinished);
  EXPECT_DOUBLE_EQ(d.best, 0.82);
  EXPECT_DOUBLE_EQ(d.baseline, 0.5);
}

TEST(Store, TheShippedKnowledgeBaseStillLoads) {
  KnowledgeBase kb = KnowledgeBase::load(source_dir() / "share" / "knowledge" / "knowledge-base.json");
  ASSERT_FALSE(kb.datasets.empty());
  std::size_t stopped = 0, finished = 0;
  for (const auto& d : kb.datasets) {
    for (const auto& t : d.trials) {
      stopped += t.status == TrialStatus::kStopped;  // written "stopped early"
      finished += t.status == TrialStatus::kFinished;
    }
  }
  EXPECT_GT(stopped, 0u);
  EXPECT_GT(finished, 0u);
  EXPECT_EQ(stopped + finished, kb.n_trials());
  // Saved again, it writes the names of today and reads back the same.
  auto dir = temp_dir("store-kb-save");
  kb.save(dir / "kb.json");
  EXPECT_EQ(read_file(dir / "kb.json").find("stopped early"), std::string::npos);
  KnowledgeBase again = KnowledgeBase::load(dir / "kb.json");
  EXPECT_EQ(again.n_trials(), kb.n_trials());
  EXPECT_EQ(again.datasets[0].trials[0].status, kb.datasets[0].trials[0].status);
}

// A whole small run leaves every trial ended in the store, each with its folds.
TEST(Store, AWholeRunLeavesEveryTrialEndedWithItsFolds) {
  auto dir = temp_dir("store-run");
  write_file(dir / "train.csv", make_csv("binary", 300, 8));
  RunRequest r;
  r.train_path = (dir / "train.csv").string();
  r.target = "y";
  r.out_dir = (dir / "run").string();
  r.store_path = (dir / "store.sqlite").string();
  r.max_trials = 8;
  r.folds = 2;
  r.quiet = true;
  r.knowledge = "none";
  r.ensemble = false;
  json summary = Session(r, std::cerr).run();
  SqliteStore store(dir / "store.sqlite");
  const auto runs = store.finished_runs();
  ASSERT_EQ(runs.size(), 1u);
  const std::string run_id = runs[0];
  auto trials = store.trials(run_id);
  ASSERT_EQ(trials.size(), summary["n_trials"].get<std::size_t>());
  ASSERT_GE(trials.size(), 2u);
  int folds = 0;
  for (const auto& t : trials) {
    EXPECT_TRUE(t.status == TrialStatus::kFinished || t.status == TrialStatus::kFailed ||
                t.status == TrialStatus::kStopped || t.status == TrialStatus::kPruned)
        << t.id << " " << to_string(t.status);
    EXPECT_NE(t.stop, StopReason::kNone) << t.id;
    if (t.status != TrialStatus::kFailed) {
      EXPECT_EQ(t.fold_scores.size(), 2u) << t.id;
      folds += static_cast<int>(t.fold_scores.size());
    }
    if (t.family == "xgboost" && t.usable()) EXPECT_EQ(t.logs.size(), 2u) << t.id;
  }
  // Every fold scored was saved as it finished.
  EXPECT_EQ(store.count("folds", run_id), folds);
  EXPECT_EQ(store.run_status(run_id), "finished");
}

// A run that throws after it began is marked failed in the store, with its error.
TEST(Store, ARunThatThrowsIsMarkedFailed) {
  auto dir = temp_dir("store-run-fails");
  write_file(dir / "train.csv", make_csv("binary", 200, 8));
  RunRequest r;
  r.train_path = (dir / "train.csv").string();
  r.test_path = (dir / "missing-test.csv").string();  // read at the end, after the search
  r.target = "y";
  r.out_dir = (dir / "run").string();
  r.store_path = (dir / "store.sqlite").string();
  r.max_trials = 2;
  r.folds = 2;
  r.quiet = true;
  r.knowledge = "none";
  r.ensemble = false;
  EXPECT_THROW(Session(r, std::cerr).run(), Error);
  RawDb raw(dir / "store.sqlite");
  EXPECT_EQ(raw.text("SELECT status FROM runs"), "failed");
  EXPECT_NE(raw.text("SELECT error FROM runs").find("missing-test.csv"), std::string::npos)
      << raw.text("SELECT error FROM runs");
  EXPECT_EQ(raw.text("SELECT COUNT(*) FROM trials WHERE status IN ('proposed', 'running')"), "0");
}

}  // namespace
}  // namespace automl
