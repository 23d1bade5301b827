// What reading a training file costs in memory, estimated before it is read, so a run
// that cannot even hold its data fails at once with the estimate and the limit.
//
//   double need = estimate_read_bytes("train.csv");   // 0: not estimated (an image folder)
#pragma once

#include <string>

namespace automl {

// Peak bytes that reading `path` with read_csv adds to the process: the file, mapped
// whole, and the typed columns with the reader's temporaries, from the cells the first
// megabyte holds scaled to the file's size. 0 for a folder (images) or an unreadable path.
double estimate_read_bytes(const std::string& path);

}  // namespace automl
