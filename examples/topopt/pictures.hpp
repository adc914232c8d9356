// Writing [rows, cols] fields for inspection: .npy (float64, C order) and 8-bit grey PNG
// (zlib stored blocks: no compression library needed for a 64 x 64 picture).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pictures {

// `values` row-major [rows, cols], row 0 = the bottom of the domain (y from the bottom).
void write_npy(const std::string& path, const std::vector<double>& values, int rows, int cols);

// Grey levels from `lo` (black) to `hi` (white), `scale` pixels per value; the picture's top row is
// the domain's top (values' last row), as one looks at the structure.
void write_png(const std::string& path, const std::vector<double>& values, int rows, int cols, double lo,
               double hi, int scale = 4);

}  // namespace pictures
