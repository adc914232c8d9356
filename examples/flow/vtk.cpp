#include "vtk.hpp"

#include <fstream>
#include <iomanip>
#include <stdexcept>

namespace vtk {

namespace {

std::ofstream open(const std::string& path) {
    std::ofstream out(path);
    if (!out) throw std::runtime_error("cannot write " + path);
    out << std::setprecision(7);
    return out;
}

void close(std::ofstream& out, const std::string& path) {
    out.close();
    if (!out) throw std::runtime_error("error while writing " + path);
}

}  // namespace

void write_image(const std::string& path, int nx, int ny, const std::vector<Field>& fields) {
    const std::size_t cells = static_cast<std::size_t>(nx) * ny;
    for (const Field& f : fields)
        if (f.values.size() != cells * f.components)
            throw std::runtime_error("vtk field '" + f.name + "' holds " + std::to_string(f.values.size()) +
                                     " values, the grid needs " + std::to_string(cells * f.components));
    std::ofstream out = open(path);
    // Points span [0, 1]^2 (nx + 1 by ny + 1), so each cell is one output cell of the model's grid; z is flat.
    out << "<?xml version=\"1.0\"?>\n"
        << "<VTKFile type=\"ImageData\" version=\"1.0\" byte_order=\"LittleEndian\">\n"
        << "  <ImageData WholeExtent=\"0 " << nx << " 0 " << ny << " 0 0\" Origin=\"0 0 0\" Spacing=\""
        << 1.0 / nx << " " << 1.0 / ny << " 1\">\n"
        << "    <Piece Extent=\"0 " << nx << " 0 " << ny << " 0 0\">\n      <CellData>\n";
    for (const Field& f : fields) {
        out << "        <DataArray type=\"Float32\" Name=\"" << f.name << "\" NumberOfComponents=\""
            << f.components << "\" format=\"ascii\">\n";
        for (std::size_t i = 0; i < f.values.size(); ++i)
            out << (i % 8 == 0 ? "          " : " ") << f.values[i] << (i % 8 == 7 ? "\n" : "");
        out << "\n        </DataArray>\n";
    }
    out << "      </CellData>\n    </Piece>\n  </ImageData>\n</VTKFile>\n";
    close(out, path);
}

void write_collection(const std::string& path, const std::vector<std::pair<double, std::string>>& steps) {
    std::ofstream out = open(path);
    out << "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"1.0\">\n  <Collection>\n";
    for (const auto& [t, file] : steps)
        out << "    <DataSet timestep=\"" << t << "\" part=\"0\" file=\"" << file << "\"/>\n";
    out << "  </Collection>\n</VTKFile>\n";
    close(out, path);
}

}  // namespace vtk
