// The PostgreSQL server the store's tests use: scripts/pg-test-server.sh starts one
// (scripts/test.sh does, for the whole suite) and exports its URI as
// AUTOML_TEST_POSTGRES. Each test gets a database of its own on it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include <pqxx/pqxx>

namespace automl::testing {

// The server's URI (with its password), or "" when none was started.
inline std::string postgres_server() {
  const char* uri = std::getenv("AUTOML_TEST_POSTGRES");
  return uri ? uri : "";
}

// The password in the server's URI (between "user:" and "@").
inline std::string postgres_password() {
  const std::string uri = postgres_server();
  const auto scheme = uri.find("://") + 3;
  const auto at = uri.find('@', scheme);
  const auto colon = uri.find(':', scheme);
  return colon < at ? uri.substr(colon + 1, at - colon - 1) : "";
}

// A fresh, empty database on the test server, its URI (with the password).
inline std::string fresh_postgres_database(const std::string& tag) {
  static std::atomic<int> counter{0};
  const std::string server = postgres_server();
  const std::string name = "t_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  {
    pqxx::connection c(server);
    pqxx::nontransaction w(c);
    w.exec("DROP DATABASE IF EXISTS " + name);
    w.exec("CREATE DATABASE " + name);
  }
  return server.substr(0, server.rfind('/') + 1) + name;
}

}  // namespace automl::testing

// Skips the test, saying why, when no server was started (scripts/test.sh starts one).
#define REQUIRE_POSTGRES()                                                                                       \
  do {                                                                                                           \
    if (automl::testing::postgres_server().empty()) {                                                            \
      GTEST_SKIP() << "no PostgreSQL server: AUTOML_TEST_POSTGRES is not set (scripts/test.sh starts one; or "    \
                      "eval \"$(scripts/pg-test-server.sh start)\" before the tests)";                           \
    }                                                                                                            \
  } while (0)
