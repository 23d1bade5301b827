#include "automl/store.h"

#include <chrono>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <sqlite3.h>

#include "automl/error.h"

namespace automl {
namespace {

// One prepared statement, finalized exactly once: by its owner's destructor, or never
// when preparing failed (SQLite then leaves no statement). It moves but never copies.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw_io(std::string("run store: cannot prepare statement: ") + sqlite3_errmsg(db));
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
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, int v) {
    sqlite3_bind_int(stmt_, i, v);
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) throw_io(std::string("run store: ") + sqlite3_errmsg(db_));
    return false;
  }
  sqlite3_stmt* get() { return stmt_; }

 private:
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

}  // namespace

RunStore::RunStore(const std::filesystem::path& path) : path_(path) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw_io("cannot open run store " + path.string() + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL");
  exec(R"(CREATE TABLE IF NOT EXISTS runs (
      run_id TEXT PRIMARY KEY, folder TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,
      request TEXT NOT NULL, summary TEXT, data_card TEXT))");
  exec(R"(CREATE TABLE IF NOT EXISTS trials (
      run_id TEXT NOT NULL, trial_id INTEGER NOT NULL, family TEXT NOT NULL, params TEXT NOT NULL,
      rung INTEGER NOT NULL, parent INTEGER, resource INTEGER, status TEXT NOT NULL, reason TEXT,
      valid_score REAL, fold_scores TEXT, seconds REAL, iterations REAL, predicted TEXT,
      PRIMARY KEY (run_id, trial_id)))");
  // Stores written by earlier versions gain the newer columns.
  for (const char* sql : {"ALTER TABLE trials ADD COLUMN predicted TEXT", "ALTER TABLE runs ADD COLUMN data_card TEXT"}) {
    try {
      exec(sql);
    } catch (const Error&) {
      // the column is there already
    }
  }
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

RunStore::~RunStore() {
  if (db_) sqlite3_close(db_);
}

void RunStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw_io("run store " + path_.string() + ": " + msg);
  }
}

void RunStore::begin_run(const std::string& run_id, const std::string& folder, const nlohmann::json& request,
                         const nlohmann::json& data_card) {
  Statement s(db_,
              "INSERT OR REPLACE INTO runs (run_id, folder, created_at, status, request, data_card) VALUES (?,?,?,?,?,?)");
  s.bind(1, run_id).bind(2, folder).bind(3, now_iso()).bind(4, std::string("running")).bind(5, request.dump());
  s.bind(6, data_card.dump());
  s.step();
}

void RunStore::add_trial(const std::string& run_id, const TrialResult& t) {
  exec("BEGIN");
  try {
    Statement s(db_, R"(INSERT OR REPLACE INTO trials (run_id, trial_id, family, params, rung, parent, resource,
        status, reason, valid_score, fold_scores, seconds, iterations, predicted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?))");
    s.bind(1, run_id).bind(2, t.id).bind(3, t.family).bind(4, t.params.dump()).bind(5, t.rung).bind(6, t.parent);
    s.bind(7, t.resource).bind(8, t.status).bind(9, t.reason).bind(10, t.score);
    s.bind(11, nlohmann::json(t.fold_scores).dump()).bind(12, t.seconds).bind(13, t.iterations);
    s.bind(14, t.predicted.dump());
    s.step();
    for (const auto& log : t.logs) {
      Statement l(db_, R"(INSERT OR REPLACE INTO training_logs (run_id, trial_id, fold, metric, train, valid, seconds)
          VALUES (?,?,?,?,?,?,?))");
      l.bind(1, run_id).bind(2, t.id).bind(3, log.fold).bind(4, log.metric);
      l.bind(5, nlohmann::json(log.train).dump()).bind(6, nlohmann::json(log.valid).dump());
      l.bind(7, nlohmann::json(log.seconds).dump());
      l.step();
    }
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
}

void RunStore::finish_run(const std::string& run_id, const std::string& status, const nlohmann::json& summary) {
  Statement s(db_, "UPDATE runs SET status = ?, summary = ? WHERE run_id = ?");
  s.bind(1, status).bind(2, summary.dump()).bind(3, run_id);
  s.step();
}

void RunStore::add_llm_call(const std::string& run_id, const nlohmann::json& call) {
  Statement s(db_, R"(INSERT INTO llm_calls (run_id, seq, stage, cached, prompt_tokens, completion_tokens, call)
      VALUES (?, (SELECT COALESCE(MAX(seq), -1) + 1 FROM llm_calls WHERE run_id = ?), ?, ?, ?, ?, ?))");
  s.bind(1, run_id).bind(2, run_id).bind(3, call.value("stage", std::string()));
  s.bind(4, call.value("cached", false) ? 1 : 0);
  s.bind(5, static_cast<double>(call.value("prompt_tokens", 0L)));
  s.bind(6, static_cast<double>(call.value("completion_tokens", 0L)));
  s.bind(7, call.dump());
  s.step();
}

std::optional<std::string> RunStore::get(const std::string& key) {
  Statement s(db_, "SELECT reply FROM llm_cache WHERE cache_key = ?");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0)));
}

void RunStore::put(const std::string& key, const std::string& model, const std::string& reply) {
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

nlohmann::json RunStore::run_record(const std::string& run_id) {
  nlohmann::json r;
  {
    Statement s(db_, "SELECT request, data_card, summary, status FROM runs WHERE run_id = ?");
    s.bind(1, run_id);
    if (!s.step()) throw_not_found("run store " + path_.string() + " has no run " + run_id);
    r = {{"run_id", run_id}, {"request", column_json(s.get(), 0)}, {"data_card", column_json(s.get(), 1)},
         {"summary", column_json(s.get(), 2)}, {"status", column_text(s.get(), 3)}, {"trials", nlohmann::json::array()}};
  }
  std::map<int, std::size_t> index;
  {
    Statement s(db_, R"(SELECT trial_id, family, params, rung, resource, status, reason, valid_score, seconds, iterations,
        predicted FROM trials WHERE run_id = ? ORDER BY trial_id)");
    s.bind(1, run_id);
    while (s.step()) {
      auto* st = s.get();
      index[sqlite3_column_int(st, 0)] = r["trials"].size();
      r["trials"].push_back({{"trial_id", sqlite3_column_int(st, 0)}, {"family", column_text(st, 1)},
                             {"params", column_json(st, 2)}, {"rung", sqlite3_column_int(st, 3)},
                             {"resource", sqlite3_column_int(st, 4)}, {"status", column_text(st, 5)},
                             {"reason", column_text(st, 6)}, {"score", sqlite3_column_double(st, 7)},
                             {"seconds", sqlite3_column_double(st, 8)}, {"iterations", sqlite3_column_double(st, 9)},
                             {"predicted", column_json(st, 10)}, {"logs", nlohmann::json::array()}});
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

std::vector<std::string> RunStore::finished_runs() {
  Statement s(db_, "SELECT run_id FROM runs WHERE status = 'finished' ORDER BY created_at, run_id");
  std::vector<std::string> out;
  while (s.step()) out.push_back(column_text(s.get(), 0));
  return out;
}

int RunStore::count(const std::string& table, const std::string& run_id) {
  if (table != "trials" && table != "training_logs" && table != "runs" && table != "llm_calls") throw_internal("unknown store table " + table);
  Statement s(db_, ("SELECT COUNT(*) FROM " + table + " WHERE run_id = ?").c_str());
  s.bind(1, run_id);
  s.step();
  return sqlite3_column_int(s.get(), 0);
}

std::string RunStore::run_status(const std::string& run_id) {
  Statement s(db_, "SELECT status FROM runs WHERE run_id = ?");
  s.bind(1, run_id);
  if (!s.step()) return "";
  return reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
}

}  // namespace automl
