// One way to fan work out over threads.
//
//   std::vector<double> out(n);
//   parallel_for(n, threads, [&](std::size_t i) { out[i] = work(i); });
#pragma once

#include <cstddef>
#include <functional>

namespace automl {

// Runs task(i) for every i in [0, n) on at most `threads` threads, the caller's
// among them, and returns when all have finished. Each index runs once; a free
// thread takes the next index in increasing order. Once a task throws, no further
// index starts; the tasks already running finish, every thread is joined, and the
// first exception is rethrown to the caller. threads <= 1 (or n <= 1) runs the
// tasks inline, in order, on the calling thread. If the system refuses a thread,
// the threads already running do its share.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& task);

}  // namespace automl
