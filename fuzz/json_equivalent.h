// Fuzz-test support: equality of two boost::json values that tolerates
// Boost.JSON 1.81's inexact double parsing. It rounds long mantissas by a
// few ulp, and differently depending on where in the buffer the number
// sits, so the same text can give two doubles (see docs/fuzzing.md).
// Everything except doubles must be identical; NaN equals NaN.
#pragma once

#include <boost/json.hpp>
#include <cmath>
#include <cstddef>

namespace aether::fuzz {

inline bool JsonEquivalent(const boost::json::value& a, const boost::json::value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case boost::json::kind::double_: {
      double x = a.get_double(), y = b.get_double();
      if (x == y || (std::isnan(x) && std::isnan(y))) return true;
      double scale = std::fmax(std::fabs(x), std::fabs(y));
      return std::fabs(x - y) <= 1e-14 * scale || scale < 1e-300;
    }
    case boost::json::kind::array: {
      const auto &x = a.get_array(), &y = b.get_array();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!JsonEquivalent(x[i], y[i])) return false;
      }
      return true;
    }
    case boost::json::kind::object: {
      const auto &x = a.get_object(), &y = b.get_object();
      if (x.size() != y.size()) return false;
      for (const auto& kv : x) {
        const boost::json::value* other = y.if_contains(kv.key());
        if (other == nullptr || !JsonEquivalent(kv.value(), *other)) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

}  // namespace aether::fuzz
