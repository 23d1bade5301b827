// Reading whole numbers from JSON that a damaged or hand-edited file may hold. nlohmann's
// get<int>() converts any number, and a double beyond the integer's range makes that
// conversion undefined behaviour; saved_int takes only whole numbers within [lo, hi].
//
//   outputs_ = saved_int(j.at("outputs"), 1, 1 << 20, path.string() + " \"outputs\"");
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

namespace automl {

// Throws kInvalidInput: "<what> is damaged: expected a whole number from lo to hi, got v".
int64_t saved_int(const nlohmann::json& v, int64_t lo, int64_t hi, std::string_view what);

}  // namespace automl
