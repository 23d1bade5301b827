#include "automl/store.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <sqlite3.h>

#include "automl/error.h"

namespace automl {
namespace {

// SQLite's message for the last error on `db`, with what to check when the cause is
// the disk rather than the data.
std::string describe_error(sqlite3* db, const char* message = nullptr) {
  std::string msg = message ? message : sqlite3_errmsg(db);
  switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_FULL: return msg + " (is the disk full, or the file over a size limit?)";
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN: return msg + " (can this user write the store's folder?)";
    default: return msg;
  }
}

// One prepared statement, finalized exactly once: by its owner's destructor, or never
// when preparing failed (SQLite then leaves no statement). It moves but never copies.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw_io(fmt::format("run store {}: cannot prepare statement: {}", file(), describe_error(db)));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    if (this != &other) {
      sqlite3_finalize(stmt_);
      db_ = other.db_;
      stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
  }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);  // NaN is stored as NULL
    return *this;
  }
  Statement& bind(int i, int v) {
    sqlite3_bind_int(stmt_, i, v);
    return *this;
  }
  Statement& bind_blob(int i, const void* data, std::size_t bytes) {
    sqlite3_bind_blob64(stmt_, i, data, bytes, SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) throw_io(fmt::format("run store {}: {}", file(), describe_error(db_)));
    return false;
  }
  sqlite3_stmt* get() { return stmt_; }

 private:
  std::string file() const {
    const char* f = sqlite3_db_filename(db_, "main");
    return f ? f : "";
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

std::string now_iso() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// One write transaction: BEGIN IMMEDIATE takes the write lock at once (waiting up to
// the busy timeout), so two connections never deadlock upgrading a read lock. Inside
// another transaction (SqliteStore::batch) it is a savepoint of it.
class Transaction {
 public:
  explicit Transaction(sqlite3* db, const std::filesystem::path& path)
      : db_(db), path_(path), nested_(sqlite3_get_autocommit(db) == 0) {
    run(nested_ ? "SAVEPOINT automl_step" : "BEGIN IMMEDIATE");
  }
  ~Transaction() {
    if (!open_) return;
    if (nested_) {
      sqlite3_exec(db_, "ROLLBACK TO automl_step", nullptr, nullptr, nullptr);
      sqlite3_exec(db_, "RELEASE automl_step", nullptr, nullptr, nullptr);
    } else {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    run(nested_ ? "RELEASE automl_step" : "COMMIT");
    open_ = false;
  }

 private:
  void run(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = describe_error(db_, err ? err : "unknown error");
      sqlite3_free(err);
      throw_io("run store " + path_.string() + ": " + sql + ": " + msg);
    }
  }
  sqlite3* db_;
  const std::filesystem::path& path_;
  bool nested_;
  bool open_ = true;
};

int read_user_version(sqlite3* db) {
  Statement s(db, "PRAGMA user_version");
  s.step();
  return sqlite3_column_int(s.get(), 0);
}

bool has_table(sqlite3* db, const std::string& table) {
  Statement s(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  s.bind(1, table);
  return s.step();
}

bool has_column(sqlite3* db, const std::string& table, const std::string& column) {
  Statement s(db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
  s.bind(1, table).bind(2, column);
  return s.step();
}

// Version 1: the schema before versions were kept. The oldest stores lack
// trials.predicted and runs.data_card (they gain them, empty).
void migrate_to_1(sqlite3* db, const std::function<void(const std::string&)>& exec) {
  exec(R"(CREATE TABLE IF NOT EXISTS runs (
      run_id TEXT PRIMARY KEY, folder TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,
      request TEXT NOT NULL, summary TEXT, data_card TEXT))");
  exec(R"(CREATE TABLE IF NOT EXISTS trials (
      run_id TEXT NOT NULL, trial_id INTEGER NOT NULL, family TEXT NOT NULL, params TEXT NOT NULL,
      rung INTEGER NOT NULL, parent INTEGER, resource INTEGER, status TEXT NOT NULL, reason TEXT,
      valid_score REAL, fold_scores TEXT, seconds REAL, iterations REAL, predicted TEXT,
      PRIMARY KEY (run_id, trial_id)))");
  if (!has_column(db, "trials", "predicted")) exec("ALTER TABLE trials ADD COLUMN predicted TEXT");
  if (!has_column(db, "runs", "data_card")) exec("ALTER TABLE runs ADD COLUMN data_card TEXT");
  exec(R"(CREATE TABLE IF NOT EXISTS training_logs (
      run_id TEXT NOT NULL, trial_id INTEGER NOT NULL, fold INTEGER NOT NULL, metric TEXT,
      train TEXT NOT NULL, valid TEXT NOT NULL, seconds TEXT NOT NULL,
      PRIMARY KEY (run_id, trial_id, fold)))");
  exec(R"(CREATE TABLE IF NOT EXISTS llm_cache (
      cache_key TEXT PRIMARY KEY, model TEXT NOT NULL, reply TEXT NOT NULL, created_at TEXT NOT NULL))");
  exec(R"(CREATE TABLE IF NOT EXISTS llm_calls (
      run_id TEXT NOT NULL, seq INTEGER NOT NULL, stage TEXT, cached INTEGER, prompt_tokens INTEGER,
      completion_tokens INTEGER, call TEXT NOT NULL, PRIMARY KEY (run_id, seq)))");
}

// Version 2: trials as records. The fields version 1 kept only in the reason text
// (how a trial stopped, whether it was capped or trained on a sample) are read from
// that text once, here; everything after reads the columns.
void migrate_to_2(sqlite3*, const std::function<void(const std::string&)>& exec) {
  for (const char* column : {"stop TEXT NOT NULL DEFAULT 'none'", "capped INTEGER NOT NULL DEFAULT 0",
                             "deadline_stopped INTEGER NOT NULL DEFAULT 0", "partial INTEGER NOT NULL DEFAULT 0",
                             "sample_rows INTEGER NOT NULL DEFAULT 0", "predict_s_per_row REAL NOT NULL DEFAULT 0",
                             "oof BLOB", "updated_at TEXT"}) {
    exec(std::string("ALTER TABLE trials ADD COLUMN ") + column);
  }
  exec(R"(UPDATE trials SET
      stop = CASE
        WHEN reason LIKE 'violates a requirement%' THEN 'requirement broken'
        WHEN reason LIKE 'the validation score is undefined%' THEN 'undefined score'
        WHEN status = 'failed' THEN 'error'
        WHEN reason LIKE 'budget ran out before a fold started%' THEN 'no fold ran'
        WHEN reason LIKE 'budget ran out%' THEN 'deadline'
        WHEN reason LIKE 'pruned:%' THEN 'pruned'
        WHEN reason LIKE 'successive halving: capped%' THEN 'round cap'
        WHEN reason LIKE 'fitted%' THEN 'fitted'
        WHEN reason LIKE 'early stopping%' THEN 'converged'
        ELSE 'none' END,
      status = CASE
        WHEN status = 'stopped early' AND reason LIKE 'pruned:%' THEN 'pruned'
        WHEN status = 'stopped early' THEN 'stopped'
        ELSE status END,
      capped = reason LIKE '%capped at%',
      deadline_stopped = reason LIKE 'budget ran out%' AND reason NOT LIKE 'budget ran out before a fold started%',
      partial = reason LIKE 'budget ran out after%',
      sample_rows = CASE WHEN instr(reason, 'trained on a sample of ') > 0
        THEN CAST(substr(reason, instr(reason, 'trained on a sample of ') + 23) AS INTEGER) ELSE 0 END)");
  exec("ALTER TABLE runs ADD COLUMN error TEXT");
  exec(R"(CREATE TABLE run_state (
      run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL,
      PRIMARY KEY (run_id, key)))");
  exec(R"(CREATE TABLE folds (
      run_id TEXT NOT NULL, trial_id INTEGER NOT NULL, fold INTEGER NOT NULL, score REAL,
      PRIMARY KEY (run_id, trial_id, fold)))");
}

// Version 3: trials for workers (queued, the worker holding one, its heartbeat, how
// often it was claimed, the coordinator's terms), the workers heard from, and training
// data kept by content hash for workers that cannot read the file.
void migrate_to_3(sqlite3*, const std::function<void(const std::string&)>& exec) {
  for (const char* column : {"queued INTEGER NOT NULL DEFAULT 0", "worker TEXT", "heartbeat_at REAL",
                             "attempts INTEGER NOT NULL DEFAULT 0", "work TEXT"}) {
    exec(std::string("ALTER TABLE trials ADD COLUMN ") + column);
  }
  exec("CREATE INDEX trials_queued ON trials (queued, status)");
  exec(R"(CREATE TABLE workers (
      worker_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, run_id TEXT, trial_id INTEGER,
      started_at REAL NOT NULL, heartbeat_at REAL NOT NULL))");
  exec(R"(CREATE TABLE datasets (
      sha256 TEXT PRIMARY KEY, bytes INTEGER NOT NULL, content BLOB NOT NULL, created_at TEXT NOT NULL))");
}

}  // namespace

SqliteStore::SqliteStore(const std::filesystem::path& path) : path_(path), location_(path.string()) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw_io("cannot open run store " + path.string() + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    // A newer program's store is refused before anything is written to it.
    const int version = schema_version();
    if (version > kSchemaVersion) {
      throw_invalid(fmt::format("run store {} has schema version {}, newer than this program's {}: open it with the "
                                "newer automl-gpt that wrote it, or choose another store (--store)",
                                path.string(), version, kSchemaVersion));
    }
    exec("PRAGMA journal_mode=WAL");
    // Each trial step is a commit: in WAL mode NORMAL skips the sync per commit and
    // still never corrupts the file; a killed process loses nothing committed (only a
    // power cut may lose the last commits).
    exec("PRAGMA synchronous=NORMAL");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

int SqliteStore::schema_version() {
  try {
    return read_user_version(db_);
  } catch (const Error& e) {
    const int code = sqlite3_errcode(db_) & 0xff;
    if (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_READONLY || code == SQLITE_CANTOPEN) {
      throw_io("cannot use run store " + path_.string() + ": " + e.what());
    }
    throw_io("cannot read run store " + path_.string() + " (is it a SQLite file?): " + e.what());
  }
}

void SqliteStore::migrate() {
  using Step = void (*)(sqlite3*, const std::function<void(const std::string&)>&);
  static const Step steps[kSchemaVersion] = {migrate_to_1, migrate_to_2, migrate_to_3};  // steps[v] takes version v to v + 1
  const std::function<void(const std::string&)> run = [this](const std::string& sql) { exec(sql); };
  for (;;) {
    Transaction tx(db_, path_);
    // Read inside the write lock: another process may have upgraded the file meanwhile.
    int version = read_user_version(db_);
    if (version >= kSchemaVersion) {
      if (version > kSchemaVersion) {
        throw_invalid(fmt::format("run store {} has schema version {}, newer than this program's {}", path_.string(),
                                  version, kSchemaVersion));
      }
      tx.commit();
      return;
    }
    // Stores written before the version was kept have user_version 0 and the tables:
    // with the newer columns they are version 1 as they stand.
    if (version == 0 && has_table(db_, "trials") && has_column(db_, "trials", "predicted") &&
        has_table(db_, "runs") && has_column(db_, "runs", "data_card")) {
      version = 1;
    } else {
      try {
        steps[version](db_, run);
      } catch (const Error& e) {
        throw Error(e.kind(), fmt::format("run store {}: upgrading the schema from version {} to {} failed: {}",
                                          path_.string(), version, version + 1, e.what()));
      }
      ++version;
    }
    exec(fmt::format("PRAGMA user_version = {}", version));
    tx.commit();
  }
}

SqliteStore::~SqliteStore() {
  if (db_) sqlite3_close(db_);
}

void SqliteStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = describe_error(db_, err ? err : "unknown error");
    sqlite3_free(err);
    throw_io("run store " + path_.string() + ": " + msg);
  }
}

void SqliteStore::begin_run(const std::string& run_id, const std::string& folder, const nlohmann::json& request,
                         const nlohmann::json& data_card) {
  Statement s(db_,
              "INSERT OR REPLACE INTO runs (run_id, folder, created_at, status, request, data_card) VALUES (?,?,?,?,?,?)");
  s.bind(1, run_id).bind(2, folder).bind(3, now_iso()).bind(4, std::string("running")).bind(5, request.dump());
  s.bind(6, data_card.dump());
  s.step();
}

std::string SqliteStore::trial_status_text(const std::string& run_id, int trial_id) {
  Statement s(db_, "SELECT status FROM trials WHERE run_id = ? AND trial_id = ?");
  s.bind(1, run_id).bind(2, trial_id);
  if (!s.step()) throw_not_found(fmt::format("run store {} has no trial {} in run {}", path_.string(), trial_id, run_id));
  return reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
}

namespace {

void insert_log(sqlite3* db, const std::string& run_id, int trial_id, int fold, const FoldLog& log) {
  Statement l(db, R"(INSERT OR REPLACE INTO training_logs (run_id, trial_id, fold, metric, train, valid, seconds)
      VALUES (?,?,?,?,?,?,?))");
  l.bind(1, run_id).bind(2, trial_id).bind(3, fold).bind(4, log.metric);
  l.bind(5, nlohmann::json(log.train).dump()).bind(6, nlohmann::json(log.valid).dump());
  l.bind(7, nlohmann::json(log.seconds).dump());
  l.step();
}

// The trials row of `t`, whole (status and everything known of it by then).
void upsert_trial(sqlite3* db, const std::string& run_id, const TrialResult& t, bool with_oof) {
  Statement s(db, R"(INSERT OR REPLACE INTO trials (run_id, trial_id, family, params, rung, parent, resource,
      status, reason, valid_score, fold_scores, seconds, iterations, predicted, stop, capped, deadline_stopped,
      partial, sample_rows, predict_s_per_row, oof, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?))");
  s.bind(1, run_id).bind(2, t.id).bind(3, t.family).bind(4, t.params.dump()).bind(5, t.rung).bind(6, t.parent);
  s.bind(7, t.resource).bind(8, std::string(to_string(t.status))).bind(9, t.reason).bind(10, t.score);
  s.bind(11, nlohmann::json(t.fold_scores).dump()).bind(12, t.seconds).bind(13, t.iterations);
  s.bind(14, t.predicted.dump()).bind(15, std::string(to_string(t.stop))).bind(16, t.capped ? 1 : 0);
  s.bind(17, t.deadline_stopped ? 1 : 0).bind(18, t.partial ? 1 : 0).bind(19, t.sample_rows);
  s.bind(20, t.predict_s_per_row);
  std::vector<float> oof;
  if (with_oof && t.oof) {
    oof.assign(t.oof->begin(), t.oof->end());
    s.bind_blob(21, oof.data(), oof.size() * sizeof(float));
  } else {
    s.bind_null(21);
  }
  s.bind(22, now_iso());
  s.step();
}

}  // namespace

void SqliteStore::propose_trial(const std::string& run_id, const TrialResult& t) {
  const TrialResult p = proposed_record(t);
  Transaction tx(db_, path_);
  upsert_trial(db_, run_id, p, false);
  for (const char* table : {"folds", "training_logs"}) {
    Statement d(db_, fmt::format("DELETE FROM {} WHERE run_id = ? AND trial_id = ?", table).c_str());
    d.bind(1, run_id).bind(2, t.id);
    d.step();
  }
  tx.commit();
}

void SqliteStore::start_trial(const std::string& run_id, int trial_id) {
  Transaction tx(db_, path_);
  const std::string status = trial_status_text(run_id, trial_id);
  if (status != to_string(TrialStatus::kProposed)) {
    throw_invalid(fmt::format("run store {}: trial {} of run {} is {}, so it cannot start (only a proposed trial can)",
                              path_.string(), trial_id, run_id, status));
  }
  Statement s(db_, "UPDATE trials SET status = ?, updated_at = ? WHERE run_id = ? AND trial_id = ?");
  s.bind(1, std::string(to_string(TrialStatus::kRunning))).bind(2, now_iso()).bind(3, run_id).bind(4, trial_id);
  s.step();
  tx.commit();
}

void SqliteStore::add_fold(const std::string& run_id, int trial_id, int fold, double score, const FoldLog& log) {
  Transaction tx(db_, path_);
  trial_status_text(run_id, trial_id);  // the trial must be there
  Statement s(db_, "INSERT OR REPLACE INTO folds (run_id, trial_id, fold, score) VALUES (?,?,?,?)");
  s.bind(1, run_id).bind(2, trial_id).bind(3, fold).bind(4, score);
  s.step();
  if (!log.train.empty() || !log.valid.empty()) insert_log(db_, run_id, trial_id, fold, log);
  tx.commit();
}

void SqliteStore::finish_trial(const std::string& run_id, const TrialResult& t) {
  Transaction tx(db_, path_);
  upsert_trial(db_, run_id, t, true);
  Statement d(db_, "DELETE FROM training_logs WHERE run_id = ? AND trial_id = ?");
  d.bind(1, run_id).bind(2, t.id);
  d.step();
  for (const auto& log : t.logs) insert_log(db_, run_id, t.id, log.fold, log);
  tx.commit();
}

void SqliteStore::fail_run(const std::string& run_id, const std::string& error) {
  Statement s(db_, "UPDATE runs SET status = 'failed', error = ? WHERE run_id = ?");
  s.bind(1, error).bind(2, run_id);
  s.step();
  if (sqlite3_changes(db_) == 0) throw_not_found("run store " + path_.string() + " has no run " + run_id);
}

void SqliteStore::reopen_run(const std::string& run_id) {
  Statement s(db_, "UPDATE runs SET status = 'running', error = NULL WHERE run_id = ?");
  s.bind(1, run_id);
  s.step();
  if (sqlite3_changes(db_) == 0) throw_not_found("run store " + path_.string() + " has no run " + run_id);
}

std::string SqliteStore::run_error(const std::string& run_id) {
  Statement s(db_, "SELECT error FROM runs WHERE run_id = ?");
  s.bind(1, run_id);
  if (!s.step()) throw_not_found("run store " + path_.string() + " has no run " + run_id);
  const unsigned char* t = sqlite3_column_text(s.get(), 0);
  return t ? reinterpret_cast<const char*>(t) : "";
}

void SqliteStore::batch(const std::function<void()>& writes) {
  Transaction tx(db_, path_);
  writes();
  tx.commit();
}

void SqliteStore::save_state(const std::string& run_id, const std::string& key, const nlohmann::json& value) {
  Statement s(db_, R"(INSERT INTO run_state (run_id, key, value, updated_at) VALUES (?,?,?,?)
      ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at)");
  s.bind(1, run_id).bind(2, key).bind(3, value.dump()).bind(4, now_iso());
  s.step();
}

std::optional<nlohmann::json> SqliteStore::load_state(const std::string& run_id, const std::string& key) {
  Statement s(db_, "SELECT value FROM run_state WHERE run_id = ? AND key = ?");
  s.bind(1, run_id).bind(2, key);
  if (!s.step()) return std::nullopt;
  const std::string text = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    throw_invalid(fmt::format("run store {}: the state {} of run {} is not JSON", path_.string(), key, run_id));
  }
  return j;
}

void SqliteStore::finish_run(const std::string& run_id, const std::string& status, const nlohmann::json& summary) {
  Statement s(db_, "UPDATE runs SET status = ?, summary = ? WHERE run_id = ?");
  s.bind(1, status).bind(2, summary.dump()).bind(3, run_id);
  s.step();
}

void SqliteStore::add_llm_call(const std::string& run_id, const nlohmann::json& call) {
  Statement s(db_, R"(INSERT INTO llm_calls (run_id, seq, stage, cached, prompt_tokens, completion_tokens, call)
      VALUES (?, (SELECT COALESCE(MAX(seq), -1) + 1 FROM llm_calls WHERE run_id = ?), ?, ?, ?, ?, ?))");
  s.bind(1, run_id).bind(2, run_id).bind(3, call.value("stage", std::string()));
  s.bind(4, call.value("cached", false) ? 1 : 0);
  s.bind(5, static_cast<double>(call.value("prompt_tokens", 0L)));
  s.bind(6, static_cast<double>(call.value("completion_tokens", 0L)));
  s.bind(7, call.dump());
  s.step();
}

std::optional<std::string> SqliteStore::get(const std::string& key) {
  Statement s(db_, "SELECT reply FROM llm_cache WHERE cache_key = ?");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0)));
}

void SqliteStore::put(const std::string& key, const std::string& model, const std::string& reply) {
  Statement s(db_, "INSERT OR REPLACE INTO llm_cache (cache_key, model, reply, created_at) VALUES (?,?,?,?)");
  s.bind(1, key).bind(2, model).bind(3, reply).bind(4, now_iso());
  s.step();
}

namespace {

std::string column_text(sqlite3_stmt* st, int i) {
  const unsigned char* t = sqlite3_column_text(st, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

nlohmann::json column_json(sqlite3_stmt* st, int i) {
  std::string t = column_text(st, i);
  return t.empty() ? nlohmann::json() : nlohmann::json::parse(t, nullptr, false);
}

}  // namespace

namespace {

// A REAL column; NULL (how SQLite keeps NaN) is NaN.
double column_real(sqlite3_stmt* st, int i) {
  return sqlite3_column_type(st, i) == SQLITE_NULL ? std::nan("") : sqlite3_column_double(st, i);
}

// A JSON array of numbers (null = NaN).
std::vector<double> column_numbers(sqlite3_stmt* st, int i) {
  std::vector<double> out;
  const nlohmann::json j = column_json(st, i);
  if (!j.is_array()) return out;
  for (const auto& x : j) out.push_back(x.is_number() ? x.get<double>() : std::nan(""));
  return out;
}

nlohmann::json json_number(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

}  // namespace

nlohmann::json SqliteStore::run_record(const std::string& run_id) {
  nlohmann::json r;
  {
    Statement s(db_, "SELECT request, data_card, summary, status, error FROM runs WHERE run_id = ?");
    s.bind(1, run_id);
    if (!s.step()) throw_not_found("run store " + path_.string() + " has no run " + run_id);
    r = {{"run_id", run_id}, {"request", column_json(s.get(), 0)}, {"data_card", column_json(s.get(), 1)},
         {"summary", column_json(s.get(), 2)}, {"status", column_text(s.get(), 3)}, {"error", column_text(s.get(), 4)},
         {"trials", nlohmann::json::array()}};
  }
  std::map<int, std::size_t> index;
  {
    Statement s(db_, R"(SELECT trial_id, family, params, rung, resource, status, reason, valid_score, seconds, iterations,
        predicted, stop, capped, sample_rows, deadline_stopped, partial FROM trials WHERE run_id = ? ORDER BY trial_id)");
    s.bind(1, run_id);
    while (s.step()) {
      auto* st = s.get();
      index[sqlite3_column_int(st, 0)] = r["trials"].size();
      r["trials"].push_back({{"trial_id", sqlite3_column_int(st, 0)}, {"family", column_text(st, 1)},
                             {"params", column_json(st, 2)}, {"rung", sqlite3_column_int(st, 3)},
                             {"resource", sqlite3_column_int(st, 4)}, {"status", column_text(st, 5)},
                             {"reason", column_text(st, 6)}, {"score", json_number(column_real(st, 7))},
                             {"seconds", sqlite3_column_double(st, 8)}, {"iterations", sqlite3_column_double(st, 9)},
                             {"predicted", column_json(st, 10)}, {"stop", column_text(st, 11)},
                             {"capped", sqlite3_column_int(st, 12) != 0}, {"sample_rows", sqlite3_column_int(st, 13)},
                             {"deadline_stopped", sqlite3_column_int(st, 14) != 0},
                             {"partial", sqlite3_column_int(st, 15) != 0}, {"logs", nlohmann::json::array()}});
    }
  }
  Statement s(db_, "SELECT trial_id, fold, metric, valid FROM training_logs WHERE run_id = ? ORDER BY trial_id, fold");
  s.bind(1, run_id);
  while (s.step()) {
    auto it = index.find(sqlite3_column_int(s.get(), 0));
    if (it == index.end()) continue;
    r["trials"][it->second]["logs"].push_back(
        {{"fold", sqlite3_column_int(s.get(), 1)}, {"metric", column_text(s.get(), 2)}, {"valid", column_json(s.get(), 3)}});
  }
  return r;
}

std::vector<TrialResult> SqliteStore::trials(const std::string& run_id) {
  std::vector<TrialResult> out;
  std::map<int, std::size_t> index;
  {
    Statement s(db_, R"(SELECT trial_id, family, params, rung, parent, resource, status, reason, valid_score,
        fold_scores, seconds, iterations, predicted, stop, capped, deadline_stopped, partial, sample_rows,
        predict_s_per_row, oof FROM trials WHERE run_id = ? ORDER BY trial_id)");
    s.bind(1, run_id);
    while (s.step()) {
      auto* st = s.get();
      TrialResult t;
      t.id = sqlite3_column_int(st, 0);
      t.family = column_text(st, 1);
      t.params = column_json(st, 2);
      t.rung = sqlite3_column_int(st, 3);
      t.parent = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4);
      t.resource = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 5);
      try {
        t.status = parse_trial_status(column_text(st, 6));
        t.stop = parse_stop_reason(column_text(st, 13));
      } catch (const Error& e) {
        throw_invalid(fmt::format("run store {}: trial {} of run {}: {}", path_.string(), t.id, run_id, e.what()));
      }
      t.reason = column_text(st, 7);
      t.score = column_real(st, 8);
      t.fold_scores = column_numbers(st, 9);
      t.seconds = sqlite3_column_double(st, 10);
      t.iterations = sqlite3_column_double(st, 11);
      t.predicted = column_json(st, 12);
      t.capped = sqlite3_column_int(st, 14) != 0;
      t.deadline_stopped = sqlite3_column_int(st, 15) != 0;
      t.partial = sqlite3_column_int(st, 16) != 0;
      t.sample_rows = sqlite3_column_int(st, 17);
      t.predict_s_per_row = sqlite3_column_double(st, 18);
      if (sqlite3_column_type(st, 19) == SQLITE_BLOB) {
        const auto bytes = static_cast<std::size_t>(sqlite3_column_bytes(st, 19));
        std::vector<float> f(bytes / sizeof(float));
        std::memcpy(f.data(), sqlite3_column_blob(st, 19), f.size() * sizeof(float));
        t.oof = std::make_shared<const std::vector<double>>(f.begin(), f.end());
      }
      index[t.id] = out.size();
      out.push_back(std::move(t));
    }
  }
  {
    Statement s(db_, R"(SELECT trial_id, fold, metric, train, valid, seconds FROM training_logs WHERE run_id = ?
        ORDER BY trial_id, fold)");
    s.bind(1, run_id);
    while (s.step()) {
      auto it = index.find(sqlite3_column_int(s.get(), 0));
      if (it == index.end()) continue;
      FoldLog log;
      log.fold = sqlite3_column_int(s.get(), 1);
      log.metric = column_text(s.get(), 2);
      log.train = column_numbers(s.get(), 3);
      log.valid = column_numbers(s.get(), 4);
      log.seconds = column_numbers(s.get(), 5);
      out[it->second].logs.push_back(std::move(log));
    }
  }
  // A trial still in flight has no fold_scores of its own yet: the folds scored so far.
  Statement s(db_, "SELECT trial_id, score FROM folds WHERE run_id = ? ORDER BY trial_id, fold");
  s.bind(1, run_id);
  while (s.step()) {
    auto it = index.find(sqlite3_column_int(s.get(), 0));
    if (it == index.end()) continue;
    TrialResult& t = out[it->second];
    if (t.status == TrialStatus::kProposed || t.status == TrialStatus::kRunning) {
      t.fold_scores.push_back(column_real(s.get(), 1));
    }
  }
  return out;
}

std::vector<std::string> SqliteStore::finished_runs() {
  Statement s(db_, "SELECT run_id FROM runs WHERE status = 'finished' ORDER BY created_at, run_id");
  std::vector<std::string> out;
  while (s.step()) out.push_back(column_text(s.get(), 0));
  return out;
}

int SqliteStore::count(const std::string& table, const std::string& run_id) {
  static const std::set<std::string> kTables = {"runs", "trials", "training_logs", "folds", "run_state", "llm_calls"};
  if (!kTables.count(table)) throw_internal("unknown store table " + table);
  Statement s(db_, ("SELECT COUNT(*) FROM " + table + " WHERE run_id = ?").c_str());
  s.bind(1, run_id);
  s.step();
  return sqlite3_column_int(s.get(), 0);
}

std::string SqliteStore::run_status(const std::string& run_id) {
  Statement s(db_, "SELECT status FROM runs WHERE run_id = ?");
  s.bind(1, run_id);
  if (!s.step()) return "";
  return reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
}


// ---- Trials for workers (schema version 3) ----

namespace {

// The store's clock, in seconds since the epoch: every process compares heartbeats
// against the same file's idea of now.
constexpr const char* kSqliteNow = "((julianday('now') - 2440587.5) * 86400.0)";

}  // namespace

void SqliteStore::enqueue_trial(const std::string& run_id, const TrialResult& proposed, const nlohmann::json& work) {
  Transaction tx(db_, path_);
  propose_trial(run_id, proposed);
  Statement s(db_, "UPDATE trials SET queued = 1, work = ?, attempts = 0, worker = NULL WHERE run_id = ? AND trial_id = ?");
  s.bind(1, work.dump()).bind(2, run_id).bind(3, proposed.id);
  s.step();
  tx.commit();
}

std::optional<TrialClaim> SqliteStore::claim_trial(const std::string& worker, const std::string& run_id) {
  Transaction tx(db_, path_);  // BEGIN IMMEDIATE: one claimer at a time
  const std::string proposed = to_string(TrialStatus::kProposed);
  Statement pick(db_, run_id.empty()
                          ? "SELECT run_id, trial_id FROM trials WHERE queued = 1 AND status = ? ORDER BY run_id, trial_id LIMIT 1"
                          : "SELECT run_id, trial_id FROM trials WHERE queued = 1 AND status = ? AND run_id = ? "
                            "ORDER BY trial_id LIMIT 1");
  pick.bind(1, proposed);
  if (!run_id.empty()) pick.bind(2, run_id);
  if (!pick.step()) {
    tx.commit();
    return std::nullopt;
  }
  TrialClaim c;
  c.run_id = reinterpret_cast<const char*>(sqlite3_column_text(pick.get(), 0));
  const int trial_id = sqlite3_column_int(pick.get(), 1);
  {
    Statement u(db_, fmt::format("UPDATE trials SET status = ?, queued = 0, worker = ?, heartbeat_at = {}, attempts = "
                                 "attempts + 1, updated_at = ? WHERE run_id = ? AND trial_id = ?",
                                 kSqliteNow)
                         .c_str());
    u.bind(1, std::string(to_string(TrialStatus::kRunning))).bind(2, worker).bind(3, now_iso());
    u.bind(4, c.run_id).bind(5, trial_id);
    u.step();
  }
  Statement r(db_, R"(SELECT family, params, rung, parent, resource, sample_rows, predicted, work, attempts
      FROM trials WHERE run_id = ? AND trial_id = ?)");
  r.bind(1, c.run_id).bind(2, trial_id);
  r.step();
  auto* st = r.get();
  c.trial.id = trial_id;
  c.trial.family = column_text(st, 0);
  c.trial.params = column_json(st, 1);
  c.trial.rung = sqlite3_column_int(st, 2);
  c.trial.parent = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3);
  c.trial.resource = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4);
  c.trial.sample_rows = sqlite3_column_int(st, 5);
  c.trial.predicted = column_json(st, 6);
  c.trial.status = TrialStatus::kRunning;
  c.work = column_json(st, 7);
  c.attempt = sqlite3_column_int(st, 8);
  tx.commit();
  return c;
}

bool SqliteStore::heartbeat(const std::string& worker, const std::string& run_id, int trial_id) {
  Statement s(db_, fmt::format("UPDATE trials SET heartbeat_at = {} WHERE run_id = ? AND trial_id = ? AND worker = ? "
                               "AND status = ?",
                               kSqliteNow)
                       .c_str());
  s.bind(1, run_id).bind(2, trial_id).bind(3, worker).bind(4, std::string(to_string(TrialStatus::kRunning)));
  s.step();
  return sqlite3_changes(db_) > 0;
}

bool SqliteStore::finish_claimed(const std::string& worker, const std::string& run_id, const TrialResult& t) {
  Transaction tx(db_, path_);
  int attempts = 0;
  {
    Statement s(db_, "SELECT worker, status, attempts FROM trials WHERE run_id = ? AND trial_id = ?");
    s.bind(1, run_id).bind(2, t.id);
    if (!s.step() || column_text(s.get(), 0) != worker || column_text(s.get(), 1) != to_string(TrialStatus::kRunning)) {
      tx.commit();
      return false;
    }
    attempts = sqlite3_column_int(s.get(), 2);
  }
  finish_trial(run_id, t);  // a savepoint of this transaction
  Statement u(db_, "UPDATE trials SET worker = ?, attempts = ? WHERE run_id = ? AND trial_id = ?");
  u.bind(1, worker).bind(2, attempts).bind(3, run_id).bind(4, t.id);
  u.step();
  tx.commit();
  return true;
}

void SqliteStore::release_trial(const std::string& worker, const std::string& run_id, int trial_id) {
  Transaction tx(db_, path_);
  Statement s(db_, R"(UPDATE trials SET status = ?, queued = 1, worker = NULL, attempts = MAX(attempts - 1, 0)
      WHERE run_id = ? AND trial_id = ? AND worker = ? AND status = ?)");
  s.bind(1, std::string(to_string(TrialStatus::kProposed))).bind(2, run_id).bind(3, trial_id).bind(4, worker);
  s.bind(5, std::string(to_string(TrialStatus::kRunning)));
  s.step();
  for (const char* table : {"folds", "training_logs"}) {
    Statement d(db_, fmt::format("DELETE FROM {} WHERE run_id = ? AND trial_id = ?", table).c_str());
    d.bind(1, run_id).bind(2, trial_id);
    d.step();
  }
  tx.commit();
}

std::vector<std::string> SqliteStore::requeue_lost(const std::string& run_id, double stale_after_s, int max_attempts) {
  Transaction tx(db_, path_);
  struct Lost {
    int id, attempts;
    std::string worker;
    double age;
  };
  std::vector<Lost> lost;
  {
    Statement s(db_, fmt::format("SELECT trial_id, attempts, worker, {} - heartbeat_at FROM trials WHERE run_id = ? AND "
                                 "status = ? AND worker IS NOT NULL AND heartbeat_at < {} - ? ORDER BY trial_id",
                                 kSqliteNow, kSqliteNow)
                         .c_str());
    s.bind(1, run_id).bind(2, std::string(to_string(TrialStatus::kRunning))).bind(3, stale_after_s);
    while (s.step()) {
      lost.push_back({sqlite3_column_int(s.get(), 0), sqlite3_column_int(s.get(), 1), column_text(s.get(), 2),
                      sqlite3_column_double(s.get(), 3)});
    }
  }
  std::vector<std::string> out;
  for (const auto& l : lost) {
    if (l.attempts >= max_attempts) {
      const std::string reason = fmt::format(
          "lost {} times: its worker stopped heartbeating each time (the last, {}, {:.0f}s ago)", l.attempts, l.worker, l.age);
      Statement u(db_, "UPDATE trials SET status = ?, stop = ?, reason = ?, worker = NULL, updated_at = ? "
                       "WHERE run_id = ? AND trial_id = ?");
      u.bind(1, std::string(to_string(TrialStatus::kFailed))).bind(2, std::string(to_string(StopReason::kError)));
      u.bind(3, reason).bind(4, now_iso()).bind(5, run_id).bind(6, l.id);
      u.step();
      out.push_back(fmt::format("trial {} failed: {}", l.id, reason));
    } else {
      Statement u(db_, "UPDATE trials SET status = ?, queued = 1, worker = NULL, updated_at = ? WHERE run_id = ? AND trial_id = ?");
      u.bind(1, std::string(to_string(TrialStatus::kProposed))).bind(2, now_iso()).bind(3, run_id).bind(4, l.id);
      u.step();
      for (const char* table : {"folds", "training_logs"}) {
        Statement d(db_, fmt::format("DELETE FROM {} WHERE run_id = ? AND trial_id = ?", table).c_str());
        d.bind(1, run_id).bind(2, l.id);
        d.step();
      }
      out.push_back(fmt::format("trial {} back in the queue: worker {} stopped heartbeating {:.0f}s ago", l.id, l.worker,
                                l.age));
    }
  }
  tx.commit();
  return out;
}

int SqliteStore::cancel_queued(const std::string& run_id, const std::string& reason) {
  Statement s(db_, "UPDATE trials SET status = ?, stop = ?, reason = ?, queued = 0, updated_at = ? "
                   "WHERE run_id = ? AND queued = 1 AND status = ?");
  s.bind(1, std::string(to_string(TrialStatus::kStopped))).bind(2, std::string(to_string(StopReason::kNoFoldRan)));
  s.bind(3, reason).bind(4, now_iso()).bind(5, run_id).bind(6, std::string(to_string(TrialStatus::kProposed)));
  s.step();
  return sqlite3_changes(db_);
}

std::map<int, TrialStatus> SqliteStore::trial_statuses(const std::string& run_id) {
  Statement s(db_, "SELECT trial_id, status FROM trials WHERE run_id = ?");
  s.bind(1, run_id);
  std::map<int, TrialStatus> out;
  while (s.step()) out[sqlite3_column_int(s.get(), 0)] = parse_trial_status(column_text(s.get(), 1));
  return out;
}

void SqliteStore::worker_alive(const std::string& worker, const std::string& host, int pid, const std::string& run_id,
                               int trial_id) {
  Statement s(db_, fmt::format(R"(INSERT INTO workers (worker_id, host, pid, run_id, trial_id, started_at, heartbeat_at)
      VALUES (?,?,?,?,?,{0},{0}) ON CONFLICT (worker_id) DO UPDATE SET run_id = excluded.run_id,
      trial_id = excluded.trial_id, heartbeat_at = excluded.heartbeat_at)",
                               kSqliteNow)
                       .c_str());
  s.bind(1, worker).bind(2, host).bind(3, pid).bind(4, run_id).bind(5, trial_id);
  s.step();
}

std::vector<nlohmann::json> SqliteStore::workers_alive(const std::string& run_id, double within_s) {
  Statement s(db_, fmt::format("SELECT worker_id, host, pid, run_id, trial_id, {0} - heartbeat_at FROM workers "
                               "WHERE heartbeat_at >= {0} - ? AND (? = '' OR run_id = ?) ORDER BY worker_id",
                               kSqliteNow)
                       .c_str());
  s.bind(1, within_s).bind(2, run_id).bind(3, run_id);
  std::vector<nlohmann::json> out;
  while (s.step()) {
    auto* st = s.get();
    out.push_back({{"worker", column_text(st, 0)}, {"host", column_text(st, 1)}, {"pid", sqlite3_column_int(st, 2)},
                   {"run_id", column_text(st, 3)}, {"trial_id", sqlite3_column_int(st, 4)},
                   {"seconds_ago", sqlite3_column_double(st, 5)}});
  }
  return out;
}

std::vector<nlohmann::json> SqliteStore::runs() {
  Statement s(db_, "SELECT run_id, status, created_at, folder FROM runs ORDER BY created_at DESC, run_id DESC");
  std::vector<nlohmann::json> out;
  while (s.step()) {
    out.push_back({{"run_id", column_text(s.get(), 0)}, {"status", column_text(s.get(), 1)},
                   {"created_at", column_text(s.get(), 2)}, {"folder", column_text(s.get(), 3)}});
  }
  return out;
}

void SqliteStore::put_dataset(const std::string& sha256, const std::string& bytes) {
  Statement s(db_, "INSERT OR IGNORE INTO datasets (sha256, bytes, content, created_at) VALUES (?,?,?,?)");
  s.bind(1, sha256).bind(2, static_cast<double>(bytes.size())).bind_blob(3, bytes.data(), bytes.size()).bind(4, now_iso());
  s.step();
}

std::optional<std::string> SqliteStore::get_dataset(const std::string& sha256) {
  Statement s(db_, "SELECT content FROM datasets WHERE sha256 = ?");
  s.bind(1, sha256);
  if (!s.step()) return std::nullopt;
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s.get(), 0));
  return std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(s.get(), 0)));
}

}  // namespace automl
