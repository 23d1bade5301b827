// Facts about the running process.
#pragma once

#include <chrono>

namespace automl {

// When this process started, on the steady clock: loading the shared libraries (the
// tensor library alone takes most of a second) happens before main, and a budget the
// user measures with a stopwatch counts it. Read from /proc; where that is not
// possible, the time of the first call.
std::chrono::steady_clock::time_point process_start();

}  // namespace automl
