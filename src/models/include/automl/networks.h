// The neural-network families (mlp, cnn, fasttext) train through libtorch, whose
// libraries and their dependencies take about 0.6 s of a single core to load: a
// sixteenth of a 10 s budget, paid before the first byte of data is read. Their
// Model Cards live with the other families (src/models); the networks themselves
// (src/networks) are built twice: linked into the library, its tests and the Python
// package, and as a module the program loads on first use, in the background once a
// run knows it may train one.
//
//   start_loading_networks();                            // a run with a network among its families
//   auto m = create_network("mlp", params, Task::kBinary);  // waits for the module if need be
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "automl/model.h"

namespace automl {

using NetworkFactory = std::function<std::unique_ptr<Model>(const nlohmann::json& params, Task task)>;

// Called by each network's file as it is loaded (a static object). Returns true.
bool register_network(const std::string& family, NetworkFactory make);

// Starts loading the networks' module on a background thread, unless the networks are
// linked in or already loading. Never throws: a failure shows at create_network.
void start_loading_networks();

// Waits for a load in progress, if any. A program calls it before it exits: exiting
// while the module's static objects are still being built runs the destructors of the
// ones already built, beside the rest (libtorch aborts). Never throws.
void wait_for_networks();

// A new model of the network family `family`, loading the module first if it is not
// loaded (waiting for a load in progress). Throws kInternal, with the loader's reason
// and where it looked, when the module cannot be loaded.
std::unique_ptr<Model> create_network(const std::string& family, const nlohmann::json& params, Task task);

}  // namespace automl
