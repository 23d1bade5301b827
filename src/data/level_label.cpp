#include "automl/level_label.h"

#include <fmt/format.h>

namespace automl {

std::string level_label(std::string_view level) {
  if (level.size() <= kLevelLabelBytes) return std::string(level);
  std::size_t cut = kLevelLabelBytes;
  // Back to the start of a character: continuation bytes are 10xxxxxx.
  while (cut > 0 && (static_cast<unsigned char>(level[cut]) & 0xC0) == 0x80) --cut;
  return fmt::format("{}… ({} bytes)", level.substr(0, cut), level.size());
}

}  // namespace automl
