// The run store on a PostgreSQL server, through libpqxx: the same tables, schema
// version and migrations as the SQLite store (sqlite_store.cpp), in PostgreSQL's
// dialect. Every message names the server by its URI without the password.
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "automl/error.h"
#include "automl/store.h"

namespace automl {

namespace {

// The round trips this process made, by store operation (postgres_round_trips()).
std::mutex g_tally_mu;
std::map<std::string, StoreRoundTrips> g_tally;
// The operation this thread is in: the outermost, when one calls another.
thread_local const char* t_op = nullptr;

void note_trips(std::uint64_t n, const char* outside = "other") {
  std::lock_guard<std::mutex> lock(g_tally_mu);
  g_tally[t_op ? t_op : outside].round_trips += n;
}

// Names the round trips made until it ends after operation `name` (and counts a call).
class Op {
 public:
  explicit Op(const char* name) : outer_(t_op == nullptr) {
    if (!outer_) return;
    t_op = name;
    std::lock_guard<std::mutex> lock(g_tally_mu);
    ++g_tally[name].calls;
  }
  ~Op() {
    if (outer_) t_op = nullptr;
  }
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;

 private:
  bool outer_;
};

// One statement, one round trip: sent as it is, or with its parameters bound.
template <typename... Args>
pqxx::result q(pqxx::transaction_base& w, const std::string& sql, Args&&... args) {
  note_trips(1);
  if constexpr (sizeof...(Args) == 0) {
    return w.exec(sql);
  } else {
    return w.exec_params(sql, std::forward<Args>(args)...);
  }
}

}  // namespace

std::map<std::string, StoreRoundTrips> postgres_round_trips() {
  std::lock_guard<std::mutex> lock(g_tally_mu);
  return g_tally;
}

namespace {

std::string now_iso() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A number for a DOUBLE PRECISION column: NaN is NULL, as SQLite keeps it.
std::optional<double> real(double v) { return std::isnan(v) ? std::nullopt : std::optional<double>(v); }

double field_real(const pqxx::field& f) { return f.is_null() ? std::nan("") : f.as<double>(); }
double field_double(const pqxx::field& f) { return f.is_null() ? 0.0 : f.as<double>(); }
int field_int(const pqxx::field& f, int null_value = 0) { return f.is_null() ? null_value : f.as<int>(); }
std::string field_text(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }
nlohmann::json field_json(const pqxx::field& f) {
  const std::string t = field_text(f);
  return t.empty() ? nlohmann::json() : nlohmann::json::parse(t, nullptr, false);
}
std::vector<double> field_numbers(const pqxx::field& f) {
  std::vector<double> out;
  const nlohmann::json j = field_json(f);
  if (!j.is_array()) return out;
  for (const auto& x : j) out.push_back(x.is_number() ? x.get<double>() : std::nan(""));
  return out;
}
nlohmann::json json_number(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

// Each migration steps[v] takes the schema from version v to v + 1, as the SQLite
// store's do (version 1: the first tables; version 2: trials as records).
const char* const kMigrateTo1[] = {
    R"(CREATE TABLE IF NOT EXISTS runs (
      run_id TEXT PRIMARY KEY, folder TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,
      request TEXT NOT NULL, summary TEXT, data_card TEXT))",
    R"(CREATE TABLE IF NOT EXISTS trials (
      run_id TEXT NOT NULL, trial_id INTEGER NOT NULL, family TEXT NOT NULL, params TEXT NOT NULL,
      rung INTEGER NOT NULL, parent INTEGER, resource INTEGER, status TEXT NOT NULL, reason TEXT,
      valid_score DOUBLE PRECISION, fold_scores TEXT, seconds DOUBLE PRECISION, iterations DOUBLE PRECISION,
      predicted TEXT, PRIMARY KEY (run_id, trial_id)))",
    R"(CREATE TABLE IF NOT EXISTS training_logs (
      run_id TEXT NOT NULL, trial_id INTEGER NOT NULL, fold INTEGER NOT NULL, metric TEXT,
      train TEXT NOT NULL, valid TEXT NOT NULL, seconds TEXT NOT NULL,
      PRIMARY KEY (run_id, trial_id, fold)))",
    R"(CREATE TABLE IF NOT EXISTS llm_cache (
      cache_key TEXT PRIMARY KEY, model TEXT NOT NULL, reply TEXT NOT NULL, created_at TEXT NOT NULL))",
    R"(CREATE TABLE IF NOT EXISTS llm_calls (
      run_id TEXT NOT NULL, seq INTEGER NOT NULL, stage TEXT, cached INTEGER, prompt_tokens BIGINT,
      completion_tokens BIGINT, call TEXT NOT NULL, PRIMARY KEY (run_id, seq)))",
};
const char* const kMigrateTo2[] = {
    R"(ALTER TABLE trials ADD COLUMN stop TEXT NOT NULL DEFAULT 'none',
      ADD COLUMN capped INTEGER NOT NULL DEFAULT 0, ADD COLUMN deadline_stopped INTEGER NOT NULL DEFAULT 0,
      ADD COLUMN partial INTEGER NOT NULL DEFAULT 0, ADD COLUMN sample_rows INTEGER NOT NULL DEFAULT 0,
      ADD COLUMN predict_s_per_row DOUBLE PRECISION NOT NULL DEFAULT 0, ADD COLUMN oof BYTEA,
      ADD COLUMN updated_at TEXT)",
    "ALTER TABLE runs ADD COLUMN error TEXT",
    R"(CREATE TABLE run_state (
      run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL,
      PRIMARY KEY (run_id, key)))",
    R"(CREATE TABLE folds (
      run_id TEXT NOT NULL, trial_id INTEGER NOT NULL, fold INTEGER NOT NULL, score DOUBLE PRECISION,
      PRIMARY KEY (run_id, trial_id, fold)))",
};

const char* const kMigrateTo3[] = {
    R"(ALTER TABLE trials ADD COLUMN queued INTEGER NOT NULL DEFAULT 0, ADD COLUMN worker TEXT,
      ADD COLUMN heartbeat_at DOUBLE PRECISION, ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0, ADD COLUMN work TEXT)",
    "CREATE INDEX trials_queued ON trials (queued, status)",
    R"(CREATE TABLE workers (
      worker_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, run_id TEXT, trial_id INTEGER,
      started_at DOUBLE PRECISION NOT NULL, heartbeat_at DOUBLE PRECISION NOT NULL))",
    R"(CREATE TABLE datasets (
      sha256 TEXT PRIMARY KEY, bytes BIGINT NOT NULL, content BYTEA NOT NULL, created_at TEXT NOT NULL))",
};

struct Migration {
  const char* const* sql;
  std::size_t n;
};
const Migration kMigrations[RunStore::kSchemaVersion] = {
    {kMigrateTo1, std::size(kMigrateTo1)},
    {kMigrateTo2, std::size(kMigrateTo2)},
    {kMigrateTo3, std::size(kMigrateTo3)},
};

// Any number: the key of the advisory lock the migrations hold.
constexpr long long kMigrationLock = 0x6175746f6d6cLL;  // "automl"

const char* const kTrialColumns[] = {"run_id", "trial_id", "family", "params", "rung", "parent", "resource",
                                     "status", "reason", "valid_score", "fold_scores", "seconds", "iterations",
                                     "predicted", "stop", "capped", "deadline_stopped", "partial", "sample_rows",
                                     "predict_s_per_row", "oof", "updated_at"};

// INSERT ... ON CONFLICT DO UPDATE of every column: SQLite's INSERT OR REPLACE.
std::string trial_upsert_sql() {
  std::string cols, values, sets;
  int i = 0;
  for (const char* c : kTrialColumns) {
    ++i;
    cols += (i > 1 ? ", " : "") + std::string(c);
    values += fmt::format("{}${}", i > 1 ? ", " : "", i);
    if (i > 2) sets += fmt::format("{}{} = EXCLUDED.{}", sets.empty() ? "" : ", ", c, c);
  }
  return fmt::format("INSERT INTO trials ({}) VALUES ({}) ON CONFLICT (run_id, trial_id) DO UPDATE SET {}", cols,
                     values, sets);
}

}  // namespace

struct PostgresStore::Impl {
  std::string location;  // the URI without its password
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::work> tx;  // open during batch()

  [[noreturn]] void fail(const std::exception& e) const {
    if (const auto* err = dynamic_cast<const Error*>(&e)) throw *err;
    std::string what = e.what();
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    throw_io(fmt::format("run store {}: {}", location, what));
  }

  // Runs f(transaction): inside batch()'s transaction when one is open, else in one of its own.
  template <typename F>
  auto write(F&& f) {
    try {
      if (tx) return f(*tx);
      note_trips(2);  // BEGIN, COMMIT
      pqxx::work w(*conn);
      if constexpr (std::is_void_v<decltype(f(w))>) {
        f(w);
        w.commit();
      } else {
        auto r = f(w);
        w.commit();
        return r;
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail(e);
    }
  }

  std::string trial_status_text(pqxx::work& w, const std::string& run_id, int trial_id, bool lock) {
    auto r = q(w, std::string("SELECT status FROM trials WHERE run_id = $1 AND trial_id = $2") +
                               (lock ? " FOR UPDATE" : ""),
                           run_id, trial_id);
    if (r.empty()) throw_not_found(fmt::format("run store {} has no trial {} in run {}", location, trial_id, run_id));
    return r[0][0].as<std::string>();
  }

  void insert_log(pqxx::work& w, const std::string& run_id, int trial_id, int fold, const FoldLog& log) {
    q(w, R"(INSERT INTO training_logs (run_id, trial_id, fold, metric, train, valid, seconds)
        VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (run_id, trial_id, fold) DO UPDATE SET metric = EXCLUDED.metric,
        train = EXCLUDED.train, valid = EXCLUDED.valid, seconds = EXCLUDED.seconds)",
                  run_id, trial_id, fold, log.metric, nlohmann::json(log.train).dump(),
                  nlohmann::json(log.valid).dump(), nlohmann::json(log.seconds).dump());
  }

  void upsert_trial(pqxx::work& w, const std::string& run_id, const TrialResult& t, bool with_oof) {
    static const std::string sql = trial_upsert_sql();
    std::vector<float> oof;
    std::optional<pqxx::binarystring> blob;
    if (with_oof && t.oof) {
      oof.assign(t.oof->begin(), t.oof->end());
      blob.emplace(oof.data(), oof.size() * sizeof(float));
    }
    auto bind_oof = [&](auto&&... rest) {
      if (blob) return q(w, sql, rest..., *blob, now_iso());
      return q(w, sql, rest..., nullptr, now_iso());
    };
    bind_oof(run_id, t.id, t.family, t.params.dump(), t.rung, t.parent, t.resource, std::string(to_string(t.status)),
             t.reason, real(t.score), nlohmann::json(t.fold_scores).dump(), real(t.seconds), real(t.iterations),
             t.predicted.dump(), std::string(to_string(t.stop)), t.capped ? 1 : 0, t.deadline_stopped ? 1 : 0,
             t.partial ? 1 : 0, t.sample_rows, real(t.predict_s_per_row));
  }

  int read_version(pqxx::work& w) {
    auto exists = q(w, "SELECT to_regclass('schema_version') IS NOT NULL");
    if (!exists[0][0].as<bool>()) return 0;
    auto r = q(w, "SELECT version FROM schema_version");
    return r.empty() ? 0 : r[0][0].as<int>();
  }

  void migrate() {
    note_trips(2);  // BEGIN, COMMIT
    pqxx::work w(*conn);
    // Workers that start together upgrade one at a time; the second finds it done.
    q(w, "SELECT pg_advisory_xact_lock($1)", kMigrationLock);
    int version = read_version(w);
    if (version > kSchemaVersion) {
      throw_invalid(fmt::format("run store {} has schema version {}, newer than this program's {}: open it with the "
                                "newer automl-gpt that wrote it, or choose another store (--store)",
                                location, version, kSchemaVersion));
    }
    if (version == kSchemaVersion) return;
    q(w, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    for (; version < kSchemaVersion; ++version) {
      const Migration& m = kMigrations[version];
      try {
        for (std::size_t i = 0; i < m.n; ++i) q(w, m.sql[i]);
      } catch (const std::exception& e) {
        throw_io(fmt::format("run store {}: upgrading the schema from version {} to {} failed: {}", location, version,
                             version + 1, e.what()));
      }
    }
    q(w, "DELETE FROM schema_version");
    q(w, "INSERT INTO schema_version (version) VALUES ($1)", kSchemaVersion);
    w.commit();
  }
};

PostgresStore::PostgresStore(const std::string& uri) : impl_(std::make_unique<Impl>()) {
  impl_->location = redact_store_location(uri);
  Op op("connect");
  try {
    note_trips(2);  // the login (more with a password exchange), then SET
    impl_->conn = std::make_unique<pqxx::connection>(uri);
    // The NOTICEs of CREATE TABLE IF NOT EXISTS and the like are not the user's business.
    pqxx::nontransaction(*impl_->conn).exec("SET client_min_messages = warning");
    impl_->migrate();
  } catch (const Error&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    std::string what = e.what();
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    throw_io(fmt::format("cannot connect to run store {}: {} (is the server up, and the user, database and "
                         "password right? libpq reads the password from PGPASSWORD or ~/.pgpass)",
                         impl_->location, what));
  } catch (const std::exception& e) {
    impl_->fail(e);
  }
}

PostgresStore::~PostgresStore() = default;

const std::string& PostgresStore::location() const { return impl_->location; }

int PostgresStore::schema_version() {
  Op op("schema_version");
  return impl_->write([&](pqxx::work& w) { return impl_->read_version(w); });
}

void PostgresStore::begin_run(const std::string& run_id, const std::string& folder, const nlohmann::json& request,
                              const nlohmann::json& data_card) {
  Op op("begin_run");
  impl_->write([&](pqxx::work& w) {
    q(w, R"(INSERT INTO runs (run_id, folder, created_at, status, request, data_card, summary, error)
        VALUES ($1,$2,$3,'running',$4,$5,NULL,NULL) ON CONFLICT (run_id) DO UPDATE SET folder = EXCLUDED.folder,
        created_at = EXCLUDED.created_at, status = EXCLUDED.status, request = EXCLUDED.request,
        data_card = EXCLUDED.data_card, summary = NULL, error = NULL)",
                  run_id, folder, now_iso(), request.dump(), data_card.dump());
  });
}

void PostgresStore::finish_run(const std::string& run_id, const std::string& status, const nlohmann::json& summary) {
  Op op("finish_run");
  impl_->write([&](pqxx::work& w) {
    q(w, "UPDATE runs SET status = $1, summary = $2 WHERE run_id = $3", status, summary.dump(), run_id);
  });
}

void PostgresStore::fail_run(const std::string& run_id, const std::string& error) {
  Op op("fail_run");
  impl_->write([&](pqxx::work& w) {
    auto r = q(w, "UPDATE runs SET status = 'failed', error = $1 WHERE run_id = $2", error, run_id);
    if (r.affected_rows() == 0) throw_not_found("run store " + impl_->location + " has no run " + run_id);
  });
}

void PostgresStore::reopen_run(const std::string& run_id) {
  Op op("reopen_run");
  impl_->write([&](pqxx::work& w) {
    auto r = q(w, "UPDATE runs SET status = 'running', error = NULL WHERE run_id = $1", run_id);
    if (r.affected_rows() == 0) throw_not_found("run store " + impl_->location + " has no run " + run_id);
  });
}

std::string PostgresStore::run_error(const std::string& run_id) {
  Op op("run_error");
  return impl_->write([&](pqxx::work& w) {
    auto r = q(w, "SELECT error FROM runs WHERE run_id = $1", run_id);
    if (r.empty()) throw_not_found("run store " + impl_->location + " has no run " + run_id);
    return field_text(r[0][0]);
  });
}

void PostgresStore::batch(const std::function<void()>& writes) {
  // The operations inside count as themselves; BEGIN and COMMIT go to the one that
  // opened the batch (enqueue_trial, finish_claimed), or to "batch".
  if (impl_->tx) {  // already inside one: part of it
    writes();
    return;
  }
  try {
    note_trips(2, "batch");  // BEGIN, COMMIT
    impl_->tx = std::make_unique<pqxx::work>(*impl_->conn);
    writes();
    impl_->tx->commit();
    impl_->tx.reset();
  } catch (const Error&) {
    impl_->tx.reset();
    throw;
  } catch (const std::exception& e) {
    impl_->tx.reset();
    impl_->fail(e);
  }
}

void PostgresStore::save_state(const std::string& run_id, const std::string& key, const nlohmann::json& value) {
  Op op("save_state");
  impl_->write([&](pqxx::work& w) {
    q(w, R"(INSERT INTO run_state (run_id, key, value, updated_at) VALUES ($1,$2,$3,$4)
        ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at)",
                  run_id, key, value.dump(), now_iso());
  });
}

std::optional<nlohmann::json> PostgresStore::load_state(const std::string& run_id, const std::string& key) {
  Op op("load_state");
  const std::optional<std::string> text = impl_->write([&](pqxx::work& w) -> std::optional<std::string> {
    auto r = q(w, "SELECT value FROM run_state WHERE run_id = $1 AND key = $2", run_id, key);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
  });
  if (!text) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) {
    throw_invalid(fmt::format("run store {}: the state {} of run {} is not JSON", impl_->location, key, run_id));
  }
  return j;
}

void PostgresStore::propose_trial(const std::string& run_id, const TrialResult& t) {
  Op op("propose_trial");
  const TrialResult p = proposed_record(t);
  impl_->write([&](pqxx::work& w) {
    impl_->upsert_trial(w, run_id, p, false);
    // Proposed afresh: out of any queue, held by no worker (as SQLite's replaced row is).
    q(w, "UPDATE trials SET queued = 0, worker = NULL, heartbeat_at = NULL, attempts = 0, work = NULL "
                  "WHERE run_id = $1 AND trial_id = $2",
                  run_id, t.id);
    q(w, "DELETE FROM folds WHERE run_id = $1 AND trial_id = $2", run_id, t.id);
    q(w, "DELETE FROM training_logs WHERE run_id = $1 AND trial_id = $2", run_id, t.id);
  });
}

void PostgresStore::start_trial(const std::string& run_id, int trial_id) {
  Op op("start_trial");
  impl_->write([&](pqxx::work& w) {
    const std::string status = impl_->trial_status_text(w, run_id, trial_id, true);
    if (status != to_string(TrialStatus::kProposed)) {
      throw_invalid(fmt::format("run store {}: trial {} of run {} is {}, so it cannot start (only a proposed trial can)",
                                impl_->location, trial_id, run_id, status));
    }
    q(w, "UPDATE trials SET status = $1, updated_at = $2 WHERE run_id = $3 AND trial_id = $4",
                  std::string(to_string(TrialStatus::kRunning)), now_iso(), run_id, trial_id);
  });
}

void PostgresStore::add_fold(const std::string& run_id, int trial_id, int fold, double score, const FoldLog& log) {
  Op op("add_fold");
  impl_->write([&](pqxx::work& w) {
    impl_->trial_status_text(w, run_id, trial_id, false);  // the trial must be there
    q(w, R"(INSERT INTO folds (run_id, trial_id, fold, score) VALUES ($1,$2,$3,$4)
        ON CONFLICT (run_id, trial_id, fold) DO UPDATE SET score = EXCLUDED.score)",
                  run_id, trial_id, fold, real(score));
    if (!log.train.empty() || !log.valid.empty()) impl_->insert_log(w, run_id, trial_id, fold, log);
  });
}

void PostgresStore::finish_trial(const std::string& run_id, const TrialResult& t) {
  Op op("finish_trial");
  impl_->write([&](pqxx::work& w) {
    impl_->upsert_trial(w, run_id, t, true);
    q(w, "DELETE FROM training_logs WHERE run_id = $1 AND trial_id = $2", run_id, t.id);
    for (const auto& log : t.logs) impl_->insert_log(w, run_id, t.id, log.fold, log);
  });
}

void PostgresStore::add_llm_call(const std::string& run_id, const nlohmann::json& call) {
  Op op("add_llm_call");
  impl_->write([&](pqxx::work& w) {
    q(w, R"(INSERT INTO llm_calls (run_id, seq, stage, cached, prompt_tokens, completion_tokens, call)
        VALUES ($1, (SELECT COALESCE(MAX(seq), -1) + 1 FROM llm_calls WHERE run_id = $1), $2, $3, $4, $5, $6))",
                  run_id, call.value("stage", std::string()), call.value("cached", false) ? 1 : 0,
                  call.value("prompt_tokens", 0L), call.value("completion_tokens", 0L), call.dump());
  });
}

std::optional<std::string> PostgresStore::get(const std::string& key) {
  Op op("get");
  return impl_->write([&](pqxx::work& w) -> std::optional<std::string> {
    auto r = q(w, "SELECT reply FROM llm_cache WHERE cache_key = $1", key);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
  });
}

void PostgresStore::put(const std::string& key, const std::string& model, const std::string& reply) {
  Op op("put");
  impl_->write([&](pqxx::work& w) {
    q(w, R"(INSERT INTO llm_cache (cache_key, model, reply, created_at) VALUES ($1,$2,$3,$4)
        ON CONFLICT (cache_key) DO UPDATE SET model = EXCLUDED.model, reply = EXCLUDED.reply,
        created_at = EXCLUDED.created_at)",
                  key, model, reply, now_iso());
  });
}

nlohmann::json PostgresStore::run_record(const std::string& run_id) {
  Op op("run_record");
  return impl_->write([&](pqxx::work& w) {
    auto run = q(w, "SELECT request, data_card, summary, status, error FROM runs WHERE run_id = $1", run_id);
    if (run.empty()) throw_not_found("run store " + impl_->location + " has no run " + run_id);
    const auto& row = run[0];
    nlohmann::json r = {{"run_id", run_id},           {"request", field_json(row[0])}, {"data_card", field_json(row[1])},
                        {"summary", field_json(row[2])}, {"status", field_text(row[3])}, {"error", field_text(row[4])},
                        {"trials", nlohmann::json::array()}};
    std::map<int, std::size_t> index;
    for (const auto& st : q(w, R"(SELECT trial_id, family, params, rung, resource, status, reason, valid_score,
        seconds, iterations, predicted, stop, capped, sample_rows, deadline_stopped, partial FROM trials
        WHERE run_id = $1 ORDER BY trial_id)",
                                        run_id)) {
      index[st[0].as<int>()] = r["trials"].size();
      r["trials"].push_back({{"trial_id", st[0].as<int>()},         {"family", field_text(st[1])},
                             {"params", field_json(st[2])},         {"rung", field_int(st[3])},
                             {"resource", field_int(st[4])},        {"status", field_text(st[5])},
                             {"reason", field_text(st[6])},         {"score", json_number(field_real(st[7]))},
                             {"seconds", field_double(st[8])},      {"iterations", field_double(st[9])},
                             {"predicted", field_json(st[10])},     {"stop", field_text(st[11])},
                             {"capped", field_int(st[12]) != 0},    {"sample_rows", field_int(st[13])},
                             {"deadline_stopped", field_int(st[14]) != 0}, {"partial", field_int(st[15]) != 0},
                             {"logs", nlohmann::json::array()}});
    }
    for (const auto& l : q(w, 
             "SELECT trial_id, fold, metric, valid FROM training_logs WHERE run_id = $1 ORDER BY trial_id, fold", run_id)) {
      auto it = index.find(l[0].as<int>());
      if (it == index.end()) continue;
      r["trials"][it->second]["logs"].push_back(
          {{"fold", l[1].as<int>()}, {"metric", field_text(l[2])}, {"valid", field_json(l[3])}});
    }
    return r;
  });
}

std::vector<TrialResult> PostgresStore::trials(const std::string& run_id) {
  Op op("trials");
  return impl_->write([&](pqxx::work& w) {
    std::vector<TrialResult> out;
    std::map<int, std::size_t> index;
    for (const auto& st : q(w, R"(SELECT trial_id, family, params, rung, parent, resource, status, reason,
        valid_score, fold_scores, seconds, iterations, predicted, stop, capped, deadline_stopped, partial, sample_rows,
        predict_s_per_row, oof FROM trials WHERE run_id = $1 ORDER BY trial_id)",
                                        run_id)) {
      TrialResult t;
      t.id = st[0].as<int>();
      t.family = field_text(st[1]);
      t.params = field_json(st[2]);
      t.rung = field_int(st[3]);
      t.parent = field_int(st[4], -1);
      t.resource = field_int(st[5], -1);
      try {
        t.status = parse_trial_status(field_text(st[6]));
        t.stop = parse_stop_reason(field_text(st[13]));
      } catch (const Error& e) {
        throw_invalid(fmt::format("run store {}: trial {} of run {}: {}", impl_->location, t.id, run_id, e.what()));
      }
      t.reason = field_text(st[7]);
      t.score = field_real(st[8]);
      t.fold_scores = field_numbers(st[9]);
      t.seconds = field_double(st[10]);
      t.iterations = field_double(st[11]);
      t.predicted = field_json(st[12]);
      t.capped = field_int(st[14]) != 0;
      t.deadline_stopped = field_int(st[15]) != 0;
      t.partial = field_int(st[16]) != 0;
      t.sample_rows = field_int(st[17]);
      t.predict_s_per_row = field_double(st[18]);
      if (!st[19].is_null()) {
        const pqxx::binarystring bytes(st[19]);
        std::vector<float> f(bytes.size() / sizeof(float));
        std::memcpy(f.data(), bytes.data(), f.size() * sizeof(float));
        t.oof = std::make_shared<const std::vector<double>>(f.begin(), f.end());
      }
      index[t.id] = out.size();
      out.push_back(std::move(t));
    }
    for (const auto& l : q(w, R"(SELECT trial_id, fold, metric, train, valid, seconds FROM training_logs
        WHERE run_id = $1 ORDER BY trial_id, fold)",
                                       run_id)) {
      auto it = index.find(l[0].as<int>());
      if (it == index.end()) continue;
      FoldLog log;
      log.fold = l[1].as<int>();
      log.metric = field_text(l[2]);
      log.train = field_numbers(l[3]);
      log.valid = field_numbers(l[4]);
      log.seconds = field_numbers(l[5]);
      out[it->second].logs.push_back(std::move(log));
    }
    // A trial still in flight has no fold_scores of its own yet: the folds scored so far.
    for (const auto& f :
         q(w, "SELECT trial_id, score FROM folds WHERE run_id = $1 ORDER BY trial_id, fold", run_id)) {
      auto it = index.find(f[0].as<int>());
      if (it == index.end()) continue;
      TrialResult& t = out[it->second];
      if (t.status == TrialStatus::kProposed || t.status == TrialStatus::kRunning) t.fold_scores.push_back(field_real(f[1]));
    }
    return out;
  });
}

std::vector<std::string> PostgresStore::finished_runs() {
  Op op("finished_runs");
  return impl_->write([&](pqxx::work& w) {
    std::vector<std::string> out;
    for (const auto& r : q(w, "SELECT run_id FROM runs WHERE status = 'finished' ORDER BY created_at, run_id")) {
      out.push_back(r[0].as<std::string>());
    }
    return out;
  });
}

int PostgresStore::count(const std::string& table, const std::string& run_id) {
  Op op("count");
  static const std::set<std::string> kTables = {"runs", "trials", "training_logs", "folds", "run_state", "llm_calls"};
  if (!kTables.count(table)) throw_internal("unknown store table " + table);
  return impl_->write([&](pqxx::work& w) {
    return q(w, "SELECT COUNT(*) FROM " + table + " WHERE run_id = $1", run_id)[0][0].as<int>();
  });
}

std::string PostgresStore::run_status(const std::string& run_id) {
  Op op("run_status");
  return impl_->write([&](pqxx::work& w) {
    auto r = q(w, "SELECT status FROM runs WHERE run_id = $1", run_id);
    return r.empty() ? std::string() : r[0][0].as<std::string>();
  });
}


// ---- Trials for workers (schema version 3) ----

namespace {
// The server's clock, in seconds since the epoch: every machine compares heartbeats
// against the same clock.
constexpr const char* kPgNow = "extract(epoch from clock_timestamp())";
}  // namespace

void PostgresStore::enqueue_trial(const std::string& run_id, const TrialResult& proposed, const nlohmann::json& work) {
  Op op("enqueue_trial");
  batch([&] {
    propose_trial(run_id, proposed);
    impl_->write([&](pqxx::work& w) {
      q(w, "UPDATE trials SET queued = 1, work = $1, attempts = 0, worker = NULL WHERE run_id = $2 AND trial_id = $3",
                    work.dump(), run_id, proposed.id);
    });
  });
}

std::optional<TrialClaim> PostgresStore::claim_trial(const std::string& worker, const std::string& run_id) {
  Op op("claim_trial");
  return impl_->write([&](pqxx::work& w) -> std::optional<TrialClaim> {
    const std::string proposed = to_string(TrialStatus::kProposed);
    // Rows another worker is claiming are skipped, not waited for.
    pqxx::result pick =
        run_id.empty()
            ? q(w, "SELECT run_id, trial_id FROM trials WHERE queued = 1 AND status = $1 ORDER BY run_id, "
                            "trial_id LIMIT 1 FOR UPDATE SKIP LOCKED",
                            proposed)
            : q(w, "SELECT run_id, trial_id FROM trials WHERE queued = 1 AND status = $1 AND run_id = $2 "
                            "ORDER BY trial_id LIMIT 1 FOR UPDATE SKIP LOCKED",
                            proposed, run_id);
    if (pick.empty()) return std::nullopt;
    TrialClaim c;
    c.run_id = pick[0][0].as<std::string>();
    const int trial_id = pick[0][1].as<int>();
    auto r = q(w, fmt::format(R"(UPDATE trials SET status = $1, queued = 0, worker = $2, heartbeat_at = {},
        attempts = attempts + 1, updated_at = $3 WHERE run_id = $4 AND trial_id = $5
        RETURNING family, params, rung, parent, resource, sample_rows, predicted, work, attempts)",
                                       kPgNow),
                           std::string(to_string(TrialStatus::kRunning)), worker, now_iso(), c.run_id, trial_id);
    const auto& st = r[0];
    c.trial.id = trial_id;
    c.trial.family = field_text(st[0]);
    c.trial.params = field_json(st[1]);
    c.trial.rung = field_int(st[2]);
    c.trial.parent = field_int(st[3], -1);
    c.trial.resource = field_int(st[4], -1);
    c.trial.sample_rows = field_int(st[5]);
    c.trial.predicted = field_json(st[6]);
    c.trial.status = TrialStatus::kRunning;
    c.work = field_json(st[7]);
    c.attempt = field_int(st[8]);
    return c;
  });
}

bool PostgresStore::heartbeat(const std::string& worker, const std::string& run_id, int trial_id) {
  Op op("heartbeat");
  return impl_->write([&](pqxx::work& w) {
    auto r = q(w, fmt::format("UPDATE trials SET heartbeat_at = {} WHERE run_id = $1 AND trial_id = $2 AND "
                                       "worker = $3 AND status = $4",
                                       kPgNow),
                           run_id, trial_id, worker, std::string(to_string(TrialStatus::kRunning)));
    return r.affected_rows() > 0;
  });
}

bool PostgresStore::finish_claimed(const std::string& worker, const std::string& run_id, const TrialResult& t) {
  Op op("finish_claimed");
  bool held = false;
  batch([&] {
    impl_->write([&](pqxx::work& w) {
      auto r = q(w, "SELECT worker, status FROM trials WHERE run_id = $1 AND trial_id = $2 FOR UPDATE", run_id,
                             t.id);
      held = !r.empty() && field_text(r[0][0]) == worker && field_text(r[0][1]) == to_string(TrialStatus::kRunning);
    });
    if (held) finish_trial(run_id, t);  // the upsert keeps worker and attempts
  });
  return held;
}

void PostgresStore::release_trial(const std::string& worker, const std::string& run_id, int trial_id) {
  Op op("release_trial");
  impl_->write([&](pqxx::work& w) {
    auto r = q(w, R"(UPDATE trials SET status = $1, queued = 1, worker = NULL, attempts = GREATEST(attempts - 1, 0)
        WHERE run_id = $2 AND trial_id = $3 AND worker = $4 AND status = $5)",
                           std::string(to_string(TrialStatus::kProposed)), run_id, trial_id, worker,
                           std::string(to_string(TrialStatus::kRunning)));
    if (r.affected_rows() == 0) return;
    q(w, "DELETE FROM folds WHERE run_id = $1 AND trial_id = $2", run_id, trial_id);
    q(w, "DELETE FROM training_logs WHERE run_id = $1 AND trial_id = $2", run_id, trial_id);
  });
}

std::vector<std::string> PostgresStore::requeue_lost(const std::string& run_id, double stale_after_s, int max_attempts) {
  Op op("requeue_lost");
  return impl_->write([&](pqxx::work& w) {
    std::vector<std::string> out;
    auto lost = q(w, fmt::format("SELECT trial_id, attempts, worker, {0} - heartbeat_at FROM trials WHERE run_id "
                                          "= $1 AND status = $2 AND worker IS NOT NULL AND heartbeat_at < {0} - $3 "
                                          "ORDER BY trial_id FOR UPDATE SKIP LOCKED",
                                          kPgNow),
                              run_id, std::string(to_string(TrialStatus::kRunning)), stale_after_s);
    for (const auto& l : lost) {
      const int id = l[0].as<int>(), attempts = l[1].as<int>();
      const std::string worker = field_text(l[2]);
      const double age = field_double(l[3]);
      if (attempts >= max_attempts) {
        const std::string reason = fmt::format(
            "lost {} times: its worker stopped heartbeating each time (the last, {}, {:.0f}s ago)", attempts, worker, age);
        q(w, "UPDATE trials SET status = $1, stop = $2, reason = $3, worker = NULL, updated_at = $4 "
                      "WHERE run_id = $5 AND trial_id = $6",
                      std::string(to_string(TrialStatus::kFailed)), std::string(to_string(StopReason::kError)), reason,
                      now_iso(), run_id, id);
        out.push_back(fmt::format("trial {} failed: {}", id, reason));
      } else {
        q(w, "UPDATE trials SET status = $1, queued = 1, worker = NULL, updated_at = $2 WHERE run_id = $3 AND "
                      "trial_id = $4",
                      std::string(to_string(TrialStatus::kProposed)), now_iso(), run_id, id);
        q(w, "DELETE FROM folds WHERE run_id = $1 AND trial_id = $2", run_id, id);
        q(w, "DELETE FROM training_logs WHERE run_id = $1 AND trial_id = $2", run_id, id);
        out.push_back(fmt::format("trial {} back in the queue: worker {} stopped heartbeating {:.0f}s ago", id, worker, age));
      }
    }
    return out;
  });
}

int PostgresStore::cancel_queued(const std::string& run_id, const std::string& reason) {
  Op op("cancel_queued");
  return impl_->write([&](pqxx::work& w) {
    auto r = q(w, "UPDATE trials SET status = $1, stop = $2, reason = $3, queued = 0, updated_at = $4 "
                           "WHERE run_id = $5 AND queued = 1 AND status = $6",
                           std::string(to_string(TrialStatus::kStopped)), std::string(to_string(StopReason::kNoFoldRan)),
                           reason, now_iso(), run_id, std::string(to_string(TrialStatus::kProposed)));
    return static_cast<int>(r.affected_rows());
  });
}

std::map<int, TrialStatus> PostgresStore::trial_statuses(const std::string& run_id) {
  Op op("trial_statuses");
  return impl_->write([&](pqxx::work& w) {
    std::map<int, TrialStatus> out;
    for (const auto& r : q(w, "SELECT trial_id, status FROM trials WHERE run_id = $1", run_id)) {
      out[r[0].as<int>()] = parse_trial_status(field_text(r[1]));
    }
    return out;
  });
}

void PostgresStore::worker_alive(const std::string& worker, const std::string& host, int pid, const std::string& run_id,
                                 int trial_id) {
  Op op("worker_alive");
  impl_->write([&](pqxx::work& w) {
    q(w, fmt::format(R"(INSERT INTO workers (worker_id, host, pid, run_id, trial_id, started_at, heartbeat_at)
        VALUES ($1,$2,$3,$4,$5,{0},{0}) ON CONFLICT (worker_id) DO UPDATE SET run_id = EXCLUDED.run_id,
        trial_id = EXCLUDED.trial_id, heartbeat_at = EXCLUDED.heartbeat_at)",
                              kPgNow),
                  worker, host, pid, run_id, trial_id);
  });
}

std::vector<nlohmann::json> PostgresStore::workers_alive(const std::string& run_id, double within_s) {
  Op op("workers_alive");
  return impl_->write([&](pqxx::work& w) {
    std::vector<nlohmann::json> out;
    for (const auto& r : q(w, fmt::format("SELECT worker_id, host, pid, run_id, trial_id, {0} - heartbeat_at "
                                                   "FROM workers WHERE heartbeat_at >= {0} - $1 AND ($2 = '' OR run_id = "
                                                   "$2) ORDER BY worker_id",
                                                   kPgNow),
                                       within_s, run_id)) {
      out.push_back({{"worker", field_text(r[0])}, {"host", field_text(r[1])}, {"pid", field_int(r[2])},
                     {"run_id", field_text(r[3])}, {"trial_id", field_int(r[4], -1)}, {"seconds_ago", field_double(r[5])}});
    }
    return out;
  });
}

std::vector<nlohmann::json> PostgresStore::runs() {
  Op op("runs");
  return impl_->write([&](pqxx::work& w) {
    std::vector<nlohmann::json> out;
    for (const auto& r : q(w, "SELECT run_id, status, created_at, folder FROM runs ORDER BY created_at DESC, run_id DESC")) {
      out.push_back({{"run_id", field_text(r[0])}, {"status", field_text(r[1])}, {"created_at", field_text(r[2])},
                     {"folder", field_text(r[3])}});
    }
    return out;
  });
}

void PostgresStore::put_dataset(const std::string& sha256, const std::string& bytes) {
  Op op("put_dataset");
  impl_->write([&](pqxx::work& w) {
    q(w, "INSERT INTO datasets (sha256, bytes, content, created_at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
                  sha256, static_cast<long long>(bytes.size()), pqxx::binarystring(bytes.data(), bytes.size()), now_iso());
  });
}

std::optional<std::string> PostgresStore::get_dataset(const std::string& sha256) {
  Op op("get_dataset");
  return impl_->write([&](pqxx::work& w) -> std::optional<std::string> {
    auto r = q(w, "SELECT content FROM datasets WHERE sha256 = $1", sha256);
    if (r.empty()) return std::nullopt;
    return pqxx::binarystring(r[0][0]).str();
  });
}

}  // namespace automl
