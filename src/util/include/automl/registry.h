// One registry pattern for every pluggable kind. The map is a function-local
// static, so it exists before any registration runs; a name registered twice
// fails at once; an unknown name lists the closest registered ones.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "automl/error.h"

namespace automl {

std::string registry_unknown_message(const std::string& kind, const std::string& name,
                                     const std::vector<std::string>& known);

template <typename Entry>
class Registry {
 public:
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  const Entry& add(Entry entry) {
    auto name = entry.name;
    auto [it, inserted] = entries_.emplace(name, std::move(entry));
    if (!inserted) throw Error(ErrorKind::kInternal, kind_ + " \"" + name + "\" registered twice");
    return it->second;
  }
  bool has(const std::string& name) const { return entries_.count(name) > 0; }
  const Entry& get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) throw Error(ErrorKind::kNotFound, registry_unknown_message(kind_, name, names()));
    return it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : entries_) out.push_back(k);
    return out;
  }
  std::vector<const Entry*> entries() const {
    std::vector<const Entry*> out;
    for (const auto& [k, v] : entries_) out.push_back(&v);
    return out;
  }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace automl
