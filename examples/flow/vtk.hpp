// ParaView-readable output of 2-D cell fields: one VTK ImageData file (.vti, ASCII) per snapshot and a
// .pvd collection that lists them with their times (ParaView: File > Open flow.pvd).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vtk {

// A named cell field on an nx x ny grid: `components` values per cell (1 scalar, 3 vector), cells in
// row-major order with x fastest (row = y index from the bottom), as the model's output.
struct Field {
    std::string name;
    int components = 1;
    std::vector<float> values;
};

// Writes the cell fields of the unit square cut into nx x ny cells to `path`. Throws std::runtime_error
// when the file cannot be written or a field has the wrong length.
void write_image(const std::string& path, int nx, int ny, const std::vector<Field>& fields);

// Writes a .pvd collection of (time, file name relative to the .pvd) pairs.
void write_collection(const std::string& path, const std::vector<std::pair<double, std::string>>& steps);

}  // namespace vtk
