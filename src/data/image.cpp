// Image folders as tables (include/automl/image.h): stb_image decodes, stb_image_resize
// brings every image to one size, and each pixel becomes a numeric column.
#include "automl/image.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <stb_image.h>
#include <stb_image_resize.h>

#include "automl/error.h"

namespace automl {
namespace fs = std::filesystem;

namespace {

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif";
}

// Class folder -> its image files, both sorted so the table's row order is stable.
std::map<std::string, std::vector<fs::path>> list_images(const fs::path& root) {
  std::map<std::string, std::vector<fs::path>> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (!entry.is_directory()) continue;
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(entry.path(), ec)) {
      if (f.is_regular_file() && is_image_file(f.path())) files.push_back(f.path());
    }
    if (files.empty()) continue;
    std::sort(files.begin(), files.end());
    out[entry.path().filename().string()] = std::move(files);
  }
  return out;
}

bool parse_int(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && *out >= 0;
}

// The size of an image file, refused when unreadable or too large to decode.
void read_image_info(const fs::path& f, int* w, int* h, int* c) {
  if (!stbi_info(f.c_str(), w, h, c)) {
    throw_invalid(fmt::format("{}: not a readable image ({})", f.string(), stbi_failure_reason()));
  }
  if (*w <= 0 || *h <= 0 || static_cast<long>(*w) * *h > kMaxImageFilePixels) {
    throw_invalid(fmt::format("{}: a {}x{} image is larger than this program reads ({} pixels); make it smaller",
                              f.string(), *w, *h, kMaxImageFilePixels));
  }
}

struct StbFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

}  // namespace

bool parse_pixel_name(const std::string& name, int* channel, int* row, int* col) {
  if (name.rfind("pixel_", 0) != 0) return false;
  std::vector<std::string_view> parts;
  std::string_view rest(name);
  rest.remove_prefix(6);
  for (std::size_t at; (at = rest.find('_')) != std::string_view::npos;) {
    parts.push_back(rest.substr(0, at));
    rest.remove_prefix(at + 1);
  }
  parts.push_back(rest);
  int v[3] = {0, 0, 0};
  if (parts.size() == 2) {
    if (!parse_int(parts[0], &v[1]) || !parse_int(parts[1], &v[2])) return false;
  } else if (parts.size() == 3) {
    for (int i = 0; i < 3; ++i) {
      if (!parse_int(parts[static_cast<std::size_t>(i)], &v[i])) return false;
    }
  } else {
    return false;
  }
  *channel = v[0];
  *row = v[1];
  *col = v[2];
  return true;
}

ImageShape image_shape(const std::vector<std::string>& names) {
  ImageShape s;
  std::set<std::tuple<int, int, int>> seen;
  for (const auto& n : names) {
    int c = 0, r = 0, x = 0;
    if (!parse_pixel_name(n, &c, &r, &x)) continue;
    if (static_cast<long>(c + 1L) * (r + 1L) * (x + 1L) > kMaxImageValues) {
      throw_invalid(fmt::format("pixel column \"{}\" lies beyond the largest image this program reads ({} values, "
                                "e.g. 256x256 grey)", n, kMaxImageValues));
    }
    if (!seen.insert({c, r, x}).second) throw_invalid(fmt::format("pixel column \"{}\" appears twice", n));
    s.channels = std::max(s.channels, c + 1);
    s.height = std::max(s.height, r + 1);
    s.width = std::max(s.width, x + 1);
  }
  if (seen.empty()) return {};
  if (static_cast<int>(seen.size()) != s.pixels()) {
    // Name the first hole in the grid, so the user sees which column is missing.
    for (int c = 0; c < s.channels; ++c) {
      for (int r = 0; r < s.height; ++r) {
        for (int x = 0; x < s.width; ++x) {
          if (!seen.count({c, r, x})) {
            throw_invalid(fmt::format(
                "the pixel columns do not form a full {}x{}x{} grid: pixel_{} is missing; image columns must be "
                "named pixel_ROW_COL (or pixel_CHANNEL_ROW_COL) for every row, column and channel",
                s.channels, s.height, s.width, s.channels == 1 ? fmt::format("{}_{}", r, x) : fmt::format("{}_{}_{}", c, r, x)));
          }
        }
      }
    }
  }
  return s;
}

bool is_image_folder(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && !list_images(path).empty();
}

Table read_image_folder(const fs::path& path, const ImageFolderOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) throw_not_found("no image folder at " + path.string());
  const auto classes = list_images(path);
  if (classes.empty()) {
    throw_invalid(path.string() + " holds no class sub-folders with images (expected " + path.string() +
                  "/CLASS/*.png or *.jpg)");
  }
  // The common size: the most frequent one, unless the caller fixed it.
  ImageShape shape = options.shape;
  if (shape.empty()) {
    std::map<std::pair<int, int>, int> sizes;
    int channels = 1;
    for (const auto& [label, files] : classes) {
      for (const auto& f : files) {
        int w = 0, h = 0, c = 0;
        read_image_info(f, &w, &h, &c);
        ++sizes[{h, w}];
        if (c >= 3) channels = 3;  // colour (an alpha channel is dropped)
      }
    }
    auto most = std::max_element(sizes.begin(), sizes.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    shape = {channels, most->first.first, most->first.second};
    // Each pixel value becomes a column: a larger common size is scaled down to fit.
    const double values = static_cast<double>(shape.channels) * shape.height * shape.width;
    if (values > kMaxImageValues) {
      const double f = std::sqrt(kMaxImageValues / values);
      shape.height = std::max(1, static_cast<int>(shape.height * f));
      shape.width = std::max(1, static_cast<int>(shape.width * f));
    }
  }
  if (shape.channels != 1 && shape.channels != 3) {
    throw_invalid(fmt::format("images must be read as 1 (grey) or 3 (RGB) channels, not {}", shape.channels));
  }
  if (shape.height <= 0 || shape.width <= 0 ||
      static_cast<long>(shape.channels) * shape.height * shape.width > kMaxImageValues) {
    throw_invalid(fmt::format("images cannot be read at {}x{}x{}: at most {} pixel values (e.g. 256x256 grey)",
                              shape.channels, shape.height, shape.width, kMaxImageValues));
  }

  Table t;
  t.source = path.string();
  const int n_pix = shape.pixels();
  t.columns.resize(static_cast<std::size_t>(n_pix) + 1);
  for (int c = 0; c < shape.channels; ++c) {
    for (int r = 0; r < shape.height; ++r) {
      for (int x = 0; x < shape.width; ++x) {
        auto& col = t.columns[static_cast<std::size_t>((c * shape.height + r) * shape.width + x)];
        col.name = shape.channels == 1 ? fmt::format("pixel_{}_{}", r, x) : fmt::format("pixel_{}_{}_{}", c, r, x);
        col.type = ColumnType::kNumeric;
      }
    }
  }
  Column& label = t.columns.back();
  label.name = options.label_column;
  label.type = ColumnType::kCategorical;

  std::vector<unsigned char> resized(static_cast<std::size_t>(n_pix));
  for (const auto& [name, files] : classes) {
    const auto code = static_cast<int32_t>(label.levels.size());
    label.levels.push_back(name);
    for (const auto& f : files) {
      int w = 0, h = 0, c = 0;
      read_image_info(f, &w, &h, &c);
      std::unique_ptr<unsigned char, StbFree> img(stbi_load(f.c_str(), &w, &h, &c, shape.channels));
      if (!img) throw_invalid(fmt::format("{}: cannot decode the image ({})", f.string(), stbi_failure_reason()));
      const unsigned char* src = img.get();
      if (w != shape.width || h != shape.height) {
        if (!stbir_resize_uint8(img.get(), w, h, 0, resized.data(), shape.width, shape.height, 0, shape.channels)) {
          throw_invalid(fmt::format("{}: cannot resize {}x{} to {}x{}", f.string(), w, h, shape.width, shape.height));
        }
        src = resized.data();
      }
      // stb gives interleaved (y, x, c); the columns are channel-major.
      for (int ch = 0; ch < shape.channels; ++ch) {
        for (int r = 0; r < shape.height; ++r) {
          for (int x = 0; x < shape.width; ++x) {
            double v = src[(r * shape.width + x) * shape.channels + ch];
            t.columns[static_cast<std::size_t>((ch * shape.height + r) * shape.width + x)].numeric.push_back(v);
          }
        }
      }
      label.codes.push_back(code);
      ++t.n_rows;
    }
  }
  return t;
}

Table read_table(const std::string& path, const CsvOptions& csv, const ImageShape& shape) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    ImageFolderOptions o;
    o.shape = shape;
    return read_image_folder(path, o);
  }
  return read_csv(path, csv);
}

}  // namespace automl
