// Files and folders for the fuzz targets that read from disk (targets.cpp, request_target.cpp).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace automl::fuzz {

namespace fs = std::filesystem;

inline std::string as_text(const uint8_t* data, std::size_t size) { return {reinterpret_cast<const char*>(data), size}; }

inline void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One temporary folder per target and process, emptied for each input and removed at exit.
class Scratch {
 public:
  explicit Scratch(const std::string& name)
      : dir_(fs::temp_directory_path() / fmt::format("automl-fuzz-{}-{}", static_cast<long>(::getpid()), name)) {}
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const fs::path& fresh() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::create_directories(dir_);
    return dir_;
  }

 private:
  fs::path dir_;
};

}  // namespace automl::fuzz
