#include "workflow/dataplane_answer.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <iterator>

#include "common/json_util.h"

namespace aether::workflow {
namespace {

// A count the answer gives for `key`, capped at `left`; a missing, negative
// or non-integer one counts as 0. Notes what was wrong in `problem`.
uint64_t Count(const boost::json::object& o, std::string_view key, uint64_t left,
               std::string* problem) {
  Result<int64_t> v = GetInt(o, key);
  if (!v.ok() || *v < 0) {
    if (problem->empty()) *problem = fmt::format("\"{}\" is not a count", key);
    return 0;
  }
  if (static_cast<uint64_t>(*v) > left) {
    if (problem->empty()) *problem = fmt::format("\"{}\" is {}, more than {} left", key, *v, left);
    return left;
  }
  return static_cast<uint64_t>(*v);
}

// The valid deferred indexes of `d` (see ParseBatchAnswer).
std::vector<size_t> DeferredIndexes(const boost::json::value& d, size_t n, std::string* problem) {
  std::vector<size_t> out;
  if (!d.is_array()) {
    *problem = "\"deferred\" is not an array";
    return out;
  }
  const boost::json::array& a = d.get_array();
  for (size_t k = 0; k < a.size(); ++k) {
    const int64_t* i = a[k].if_int64();
    const uint64_t* u = a[k].if_uint64();
    bool in_range =
        (i != nullptr && *i >= 0 && static_cast<uint64_t>(*i) < n) || (u != nullptr && *u < n);
    size_t index = !in_range ? 0 : i != nullptr ? static_cast<size_t>(*i) : static_cast<size_t>(*u);
    if (!in_range || (!out.empty() && index <= out.back())) {
      if (problem->empty()) {
        *problem =
            fmt::format("\"deferred\"[{}] is {}: not a frame index below {} above the one before",
                        k, SanitizeUtf8(boost::json::serialize(a[k]).substr(0, 32)), n);
      }
      continue;
    }
    out.push_back(index);
  }
  return out;
}

}  // namespace

std::string FormatBatchAnswer(uint64_t accepted, uint64_t dropped,
                              const std::vector<size_t>& deferred) {
  std::string body = fmt::format(R"({{"accepted":{},"dropped":{})", accepted, dropped);
  if (!deferred.empty()) {
    body += R"(,"deferred":[)";
    fmt::format_to(std::back_inserter(body), "{}", fmt::join(deferred, ","));
    body += "]";
  }
  body += "}";
  return body;
}

BatchAnswer ParseBatchAnswer(std::string_view body, size_t n) {
  BatchAnswer a;
  Result<boost::json::object> o = ParseJsonObject(body, "the answer");
  if (!o.ok()) {
    a.unaccounted = n;
    a.problem = "not a JSON object: " + SanitizeUtf8(body.substr(0, 64));
    return a;
  }
  if (const boost::json::value* d = o->if_contains("deferred")) {
    a.deferred = DeferredIndexes(*d, n, &a.problem);
  }
  uint64_t left = n - a.deferred.size();
  a.accepted = Count(*o, "accepted", left, &a.problem);
  left -= a.accepted;
  a.dropped = Count(*o, "dropped", left, &a.problem);
  a.unaccounted = left - a.dropped;
  if (a.unaccounted > 0 && a.problem.empty()) {
    a.problem = fmt::format("it accounts for {} of {} frames", n - a.unaccounted, n);
  }
  return a;
}

}  // namespace aether::workflow
