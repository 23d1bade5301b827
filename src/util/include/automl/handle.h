// One owner for a handle a C library hands out: freed exactly once, by the owner's
// destructor; the owner moves but never copies.
//
//   using Booster = CHandle<void, XGBoosterFree>;    // BoosterHandle is a void*
//   BoosterHandle raw = nullptr;
//   check(XGBoosterCreate(nullptr, 0, &raw));
//   Booster booster(raw);                             // XGBoosterFree(raw) when it goes
//
// A library whose free function takes the pointer's address (libsvm's
// svm_free_and_destroy_model) gets a one-line deleter struct of its own instead.
#pragma once

#include <memory>

namespace automl {

// Calls Free on a non-null pointer (std::unique_ptr never passes null to its deleter).
template <auto Free>
struct CallFree {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

template <typename T, auto Free>
using CHandle = std::unique_ptr<T, CallFree<Free>>;

}  // namespace automl
