// A category level as the Data Card, the logs and feature names show it. A level may be
// a 10 MB cell: shown whole it would be copied into every card, prompt, report and
// feature name; the model's encoder keeps the level itself.
//
//   level_label("Biscoe") == "Biscoe"
//   level_label(std::string(10 << 20, 'x')) == "xxx...x… (10485760 bytes)"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace automl {

// Levels up to this many bytes are shown whole.
constexpr std::size_t kLevelLabelBytes = 100;

// The level whole, or its first kLevelLabelBytes bytes (cut before a UTF-8 character
// that would not fit) followed by "… (N bytes)".
std::string level_label(std::string_view level);

}  // namespace automl
