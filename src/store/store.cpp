#include "automl/store.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "automl/error.h"

namespace automl {

TrialResult proposed_record(const TrialResult& t) {
  TrialResult p;
  p.id = t.id;
  p.family = t.family;
  p.params = t.params;
  p.rung = t.rung;
  p.parent = t.parent;
  p.resource = t.resource;
  p.sample_rows = t.sample_rows;
  p.predicted = t.predicted;
  p.status = TrialStatus::kProposed;
  p.stop = StopReason::kNone;
  return p;
}

bool is_postgres_location(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::unique_ptr<RunStore> open_run_store(const std::string& location) {
  if (is_postgres_location(location)) return std::make_unique<PostgresStore>(location);
  return std::make_unique<SqliteStore>(location);
}

std::string redact_store_location(const std::string& location) {
  if (!is_postgres_location(location)) return location;
  // postgresql://[user[:password]@][host][:port][/db][?param=value&...]
  std::string out = location;
  const std::size_t scheme_end = out.find("://") + 3;
  const std::size_t authority_end = out.find_first_of("/?", scheme_end);
  const std::size_t at = out.rfind('@', authority_end == std::string::npos ? out.size() : authority_end);
  if (at != std::string::npos && at >= scheme_end) {
    const std::size_t colon = out.find(':', scheme_end);
    if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
  }
  // A password given as a parameter goes with its value.
  const std::size_t query = out.find('?');
  if (query != std::string::npos) {
    std::string kept;
    std::size_t pos = query + 1;
    while (pos <= out.size()) {
      std::size_t amp = out.find('&', pos);
      if (amp == std::string::npos) amp = out.size();
      const std::string param = out.substr(pos, amp - pos);
      if (param.rfind("password=", 0) != 0 && !param.empty()) kept += (kept.empty() ? "" : "&") + param;
      pos = amp + 1;
    }
    out = out.substr(0, query) + (kept.empty() ? "" : "?" + kept);
  }
  return out;
}

namespace {

// `text` with its %XX escapes decoded (a malformed escape stays as it is).
std::string percent_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::string store_location_password(const std::string& location) {
  if (!is_postgres_location(location)) return "";
  const std::size_t scheme_end = location.find("://") + 3;
  const std::size_t authority_end = location.find_first_of("/?", scheme_end);
  const std::size_t at = location.rfind('@', authority_end == std::string::npos ? location.size() : authority_end);
  std::string password;
  if (at != std::string::npos && at >= scheme_end) {
    const std::size_t colon = location.find(':', scheme_end);
    if (colon != std::string::npos && colon < at) password = percent_decode(location.substr(colon + 1, at - colon - 1));
  }
  // A password= parameter wins, as in libpq (parameters override the URI's parts).
  const std::size_t query = location.find('?');
  if (query != std::string::npos) {
    std::size_t pos = query + 1;
    while (pos < location.size()) {
      std::size_t amp = location.find('&', pos);
      if (amp == std::string::npos) amp = location.size();
      const std::string param = location.substr(pos, amp - pos);
      if (param.rfind("password=", 0) == 0) password = percent_decode(param.substr(9));
      pos = amp + 1;
    }
  }
  return password;
}

std::string store_location_record(const std::string& location) {
  if (is_postgres_location(location)) return redact_store_location(location);
  return location.empty() ? location : std::filesystem::absolute(location).lexically_normal().string();
}

std::string describe_round_trips(const std::map<std::string, StoreRoundTrips>& trips) {
  std::vector<std::pair<std::string, StoreRoundTrips>> rows(trips.begin(), trips.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second.round_trips > b.second.round_trips; });
  std::uint64_t total = 0;
  for (const auto& [name, n] : rows) total += n.round_trips;
  std::string out = "store round trips: " + std::to_string(total) + " in all";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out += (i == 0 ? "; " : ", ") + rows[i].first + " " + std::to_string(rows[i].second.calls) + " calls " +
           std::to_string(rows[i].second.round_trips) + " trips";
  }
  return out;
}

StoreWriter::StoreWriter(const std::string& location)
    : store_(open_run_store(location)), thread_([this] { loop(); }) {}

StoreWriter::~StoreWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void StoreWriter::post(std::function<void(RunStore&)> write) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(write));
    ++posted_;
  }
  wake_.notify_all();
}

void StoreWriter::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const std::uint64_t target = posted_;
  done_cv_.wait(lock, [&] { return written_ >= target; });
  if (!error_.empty()) {
    std::string e = std::exchange(error_, std::string());
    throw_io(e);
  }
}

void StoreWriter::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything is written
    std::deque<std::function<void(RunStore&)>> work;
    work.swap(queue_);
    lock.unlock();
    std::string failed;
    try {
      store_->batch([&] {
        for (auto& w : work) w(*store_);
      });
    } catch (const std::exception& e) {
      failed = e.what();
    }
    lock.lock();
    if (!failed.empty() && error_.empty()) error_ = failed;
    written_ += work.size();
    done_cv_.notify_all();
  }
}

}  // namespace automl
