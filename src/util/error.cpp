#include "automl/error.h"

namespace automl {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput: return "invalid input";
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kIo: return "i/o error";
    case ErrorKind::kBudget: return "budget";
    case ErrorKind::kExternal: return "external service";
    case ErrorKind::kInternal: return "internal error";
  }
  return "error";
}

}  // namespace automl
