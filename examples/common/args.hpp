// Command-line numbers for the example programs: a bad value is an error that names the flag.
#pragma once

#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace args {

inline double number(const std::string& flag, const char* text) {
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || !std::isfinite(v))
        throw std::invalid_argument(flag + " takes a number, got '" + text + "'");
    return v;
}

inline int count(const std::string& flag, const char* text, int lo, int hi) {
    const double v = number(flag, text);
    if (v != std::floor(v) || v < lo || v > hi)
        throw std::invalid_argument(flag + " takes an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                    "], got '" + text + "'");
    return static_cast<int>(v);
}

}  // namespace args
