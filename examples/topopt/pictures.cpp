#include "pictures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace pictures {
namespace {

std::ofstream open(const std::string& path) {
    std::ofstream out(path, std::ios::binary);
    if (!out) throw std::runtime_error("cannot write " + path);
    return out;
}

std::uint32_t crc32(const std::uint8_t* data, std::size_t len, std::uint32_t crc = 0) {
    crc = ~crc;
    for (std::size_t i = 0; i < len; ++i) {
        crc ^= data[i];
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

void put32(std::vector<std::uint8_t>& v, std::uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<std::uint8_t>(x >> s));
}

void chunk(std::ofstream& out, const char* type, const std::vector<std::uint8_t>& data) {
    std::vector<std::uint8_t> c;
    put32(c, static_cast<std::uint32_t>(data.size()));
    c.insert(c.end(), type, type + 4);
    c.insert(c.end(), data.begin(), data.end());
    put32(c, crc32(c.data() + 4, c.size() - 4));
    out.write(reinterpret_cast<const char*>(c.data()), static_cast<std::streamsize>(c.size()));
}

}  // namespace

void write_npy(const std::string& path, const std::vector<double>& values, int rows, int cols) {
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                         std::to_string(cols) + "), }";
    header.append(63 - (10 + header.size()) % 64, ' ');  // magic + version + length + header + '\n' = 64k
    header += '\n';
    auto out = open(path);
    const std::uint16_t len = static_cast<std::uint16_t>(header.size());
    out.write("\x93NUMPY\x01\x00", 8);
    out.put(static_cast<char>(len & 0xff)).put(static_cast<char>(len >> 8));
    out << header;
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 8));
}

void write_png(const std::string& path, const std::vector<double>& values, int rows, int cols, double lo, double hi,
               int scale) {
    const int w = cols * scale, h = rows * scale;
    std::vector<std::uint8_t> raw;  // filter byte 0 + one grey byte per pixel, top row first
    for (int py = 0; py < h; ++py) {
        raw.push_back(0);
        const int r = rows - 1 - py / scale;
        for (int px = 0; px < w; ++px) {
            const double v = (values[r * cols + px / scale] - lo) / (hi - lo);
            raw.push_back(static_cast<std::uint8_t>(std::lround(255 * std::clamp(std::isfinite(v) ? v : 0.0, 0.0, 1.0))));
        }
    }
    std::vector<std::uint8_t> z = {0x78, 0x01};  // zlib header, then deflate stored blocks
    for (std::size_t at = 0; at < raw.size();) {
        const std::size_t n = std::min<std::size_t>(65535, raw.size() - at);
        z.push_back(at + n == raw.size() ? 1 : 0);
        z.push_back(n & 0xff), z.push_back(n >> 8), z.push_back(~n & 0xff), z.push_back((~n >> 8) & 0xff);
        z.insert(z.end(), raw.begin() + static_cast<long>(at), raw.begin() + static_cast<long>(at + n));
        at += n;
    }
    std::uint32_t a = 1, b = 0;  // adler32 of the uncompressed data
    for (std::uint8_t c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
    put32(z, (b << 16) | a);
    std::vector<std::uint8_t> ihdr;
    put32(ihdr, static_cast<std::uint32_t>(w));
    put32(ihdr, static_cast<std::uint32_t>(h));
    ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});  // 8-bit greyscale, no interlace
    auto out = open(path);
    out.write("\x89PNG\r\n\x1a\n", 8);
    chunk(out, "IHDR", ihdr);
    chunk(out, "IDAT", z);
    chunk(out, "IEND", {});
}

}  // namespace pictures
