// Images as tables. A folder of class sub-folders of PNG/JPEG files becomes a Table
// with one numeric column per pixel (pixel_R_C for grey images, pixel_C_R_C with
// channels) and a categorical `label` column (the sub-folder's name), so the rest
// of the pipeline (Data Card, preprocessing, search, refit, predict) is the same
// for image folders as for pixel CSVs such as ../shared/datasets/digits.
//
//   Table t = read_table("photos/", csv);          // photos/cat/*.png, photos/dog/*.jpg
//   ImageShape s = image_shape(t.column_names());  // {3, 32, 32}
//   Table test = read_image_folder("photos-test/", {.shape = s});
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "automl/table.h"

namespace automl {

// Hard limits on what an image folder may ask of memory. An image file over
// kMaxImageFilePixels (an 8K photo) is refused before it is decoded; a common size over
// kMaxImageValues pixel values (256x256 grey, 147x147 RGB) is scaled down to fit, with
// its aspect ratio, since each value becomes a column of the table.
constexpr long kMaxImageFilePixels = 1L << 25;
constexpr int kMaxImageValues = 1 << 16;

struct ImageShape {
  int channels = 0, height = 0, width = 0;

  bool empty() const { return channels <= 0 || height <= 0 || width <= 0; }
  int pixels() const { return channels * height * width; }
  bool operator==(const ImageShape&) const = default;
};

// Where pixel column `name` sits: "pixel_R_C" (channel 0) or "pixel_C_R_C".
// False for any other name.
bool parse_pixel_name(const std::string& name, int* channel, int* row, int* col);

// The image shape a list of columns spells: every pixel column must parse and the
// channels, rows and columns must form a full grid. Other names (the target) are
// ignored. Throws kInvalidInput naming the first missing or odd column, or a column
// beyond kMaxImageValues; an empty shape when no column is a pixel column.
ImageShape image_shape(const std::vector<std::string>& names);

struct ImageFolderOptions {
  ImageShape shape;                  // empty = the most common size and the most channels seen
  std::string label_column = "label";
};

// True when `path` is a directory holding at least one sub-folder with an image file.
bool is_image_folder(const std::filesystem::path& path);

// Reads every PNG/JPEG/BMP/GIF file under path/CLASS/ (bilinear resize to the common
// size, grey or RGB by the channels, within the limits above), pixel values 0-255, files
// in sorted order.
// Throws kNotFound (no folder), kInvalidInput (no images, an unreadable file, with
// its path and the decoder's reason).
Table read_image_folder(const std::filesystem::path& path, const ImageFolderOptions& options = {});

// A training or test file as the CLI reads it: an image folder when `path` is one,
// else a CSV/TSV file. `shape` fixes the image size (a test folder takes the
// training folder's size).
Table read_table(const std::string& path, const CsvOptions& csv, const ImageShape& shape = {});

}  // namespace automl
