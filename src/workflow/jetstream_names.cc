#include "workflow/jetstream_names.h"

#include <charconv>

#include "protocol/names.h"

namespace aether::workflow {
namespace {

constexpr std::string_view kKvStreamPrefix = "KV_";  // JetStream's, for a bucket's stream

std::string Incarnation(char separator, int64_t incarnation) {
  if (incarnation == 0) return "";
  return std::string(1, separator) + "I" + std::to_string(incarnation);
}

// "<name>" or "<name>_I<n>" (n > 0, no leading zero) -> name and n.
std::optional<std::pair<std::string, int64_t>> SplitIncarnation(std::string_view s) {
  size_t at = s.rfind("_I");
  if (at == std::string_view::npos) return std::make_pair(std::string(s), int64_t{0});
  std::string_view digits = s.substr(at + 2);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n <= 0 || digits[0] == '0') {
    return std::nullopt;
  }
  return std::make_pair(std::string(s.substr(0, at)), n);
}

bool StartsWith(std::string_view s, std::string_view head) {
  return s.size() >= head.size() && s.substr(0, head.size()) == head;
}

std::optional<JetStreamName> ParseEventStream(std::string_view rest) {
  auto split = SplitIncarnation(rest);
  if (!split || !protocol::IsName(split->first)) return std::nullopt;
  return JetStreamName{JetStreamName::Kind::kEventStream, split->first, split->second, ""};
}

// "<len>_<workflow>_<component>[_I<n>]"
std::optional<JetStreamName> ParseBucket(std::string_view rest) {
  size_t len = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), len);
  size_t digits = static_cast<size_t>(end - rest.data());
  if (ec != std::errc() || digits == 0 || digits >= rest.size() || rest[digits] != '_') {
    return std::nullopt;
  }
  rest.remove_prefix(digits + 1);
  if (len == 0 || len + 1 >= rest.size() || rest[len] != '_') return std::nullopt;
  std::string workflow(rest.substr(0, len));
  auto split = SplitIncarnation(rest.substr(len + 1));
  if (!split || !protocol::IsName(workflow) || !protocol::IsName(split->first)) {
    return std::nullopt;
  }
  return JetStreamName{JetStreamName::Kind::kKvBucket, std::move(workflow), split->second,
                       split->first};
}

}  // namespace

std::string EventStreamName(std::string_view prefix, WorkflowRef w) {
  return std::string(prefix) + "_wf_" + std::string(w.name) + Incarnation('_', w.incarnation);
}

std::string EventSubject(std::string_view prefix, WorkflowRef w, std::string_view component) {
  return std::string(prefix) + ".wf." + std::string(w.name) + Incarnation('.', w.incarnation) +
         "." + std::string(component);
}

std::string KvBucketNameOf(std::string_view prefix, WorkflowRef w, std::string_view component) {
  return std::string(prefix) + "_kv_" + std::to_string(w.name.size()) + "_" + std::string(w.name) +
         "_" + std::string(component) + Incarnation('_', w.incarnation);
}

std::optional<JetStreamName> ParseJetStreamName(std::string_view prefix, std::string_view stream) {
  std::string events = std::string(prefix) + "_wf_";
  std::string kv = std::string(kKvStreamPrefix) + std::string(prefix) + "_kv_";
  if (StartsWith(stream, events)) return ParseEventStream(stream.substr(events.size()));
  if (StartsWith(stream, kv)) return ParseBucket(stream.substr(kv.size()));
  return std::nullopt;
}

}  // namespace aether::workflow
