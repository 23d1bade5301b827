// One exception type for the whole library, tagged with a category so that the
// edges (CLI exit codes, later HTTP status codes) can translate it once.
#pragma once

#include <stdexcept>
#include <string>

namespace automl {

enum class ErrorKind {
  kInvalidInput,  // the user's data, flags or files are wrong
  kNotFound,      // a file, column, model or run does not exist
  kUnsupported,   // valid, but not something we can do
  kIo,            // reading or writing failed
  kBudget,        // the time budget cannot be met
  kExternal,      // a service we call (an LLM server) failed or refused
  kInternal,      // our own bug
};

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Shorthands used throughout the code.
[[noreturn]] inline void throw_invalid(const std::string& msg) { throw Error(ErrorKind::kInvalidInput, msg); }
[[noreturn]] inline void throw_not_found(const std::string& msg) { throw Error(ErrorKind::kNotFound, msg); }
[[noreturn]] inline void throw_io(const std::string& msg) { throw Error(ErrorKind::kIo, msg); }
[[noreturn]] inline void throw_internal(const std::string& msg) { throw Error(ErrorKind::kInternal, msg); }

}  // namespace automl
