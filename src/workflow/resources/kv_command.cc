#include "workflow/resources/kv_command.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "workflow/resources/kv.h"

namespace aether::workflow::resources {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  if (s.starts_with('+')) {
    s.remove_prefix(1);
    if (s.starts_with('-')) return std::nullopt;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Status CheckKey(std::string_view key) {
  if (key.empty() || key.size() > kKvMaxKeyBytes) {
    return InvalidArgument("kv: a key is 1.." + std::to_string(kKvMaxKeyBytes) + " bytes");
  }
  if (key.find_first_of(" \r\n") != std::string_view::npos) {
    return InvalidArgument("kv: a key has no spaces or line breaks");
  }
  return OkStatus();
}

// Splits "WORD rest" at the first space; rest is nullopt without a space.
std::pair<std::string_view, std::optional<std::string_view>> SplitWord(std::string_view s) {
  size_t sp = s.find(' ');
  if (sp == std::string_view::npos) return {s, std::nullopt};
  return {s.substr(0, sp), s.substr(sp + 1)};
}

}  // namespace

Result<KvCommand> ParseKvCommand(std::string_view payload, bool is_call) {
  using Op = KvCommand::Op;
  auto [cmd, rest] = SplitWord(payload);
  KvCommand out;
  if (IEquals(cmd, "SET")) {
    if (!rest) return InvalidArgument("kv: SET needs a key: SET key <value>");
    auto [key, value] = SplitWord(*rest);
    RETURN_IF_ERROR(CheckKey(key));
    out.op = Op::kSet;
    out.key = key;
    out.value = value.value_or(std::string_view());
    return out;
  }
  if (IEquals(cmd, "INCR")) {
    if (!rest) return InvalidArgument("kv: INCR needs a key: INCR key [n]");
    auto [key, n] = SplitWord(*rest);
    if (n) {
      std::optional<int64_t> parsed = ParseInt(*n);
      if (!parsed)
        return InvalidArgument("kv: INCR by \"" + std::string(n->substr(0, 32)) +
                               "\": not a decimal int64");
      out.by = *parsed;
    }
    RETURN_IF_ERROR(CheckKey(key));
    out.op = Op::kIncr;
    out.key = key;
    return out;
  }
  if (IEquals(cmd, "DEL")) {
    if (!rest) return InvalidArgument("kv: DEL needs a key: DEL key");
    RETURN_IF_ERROR(CheckKey(*rest));
    out.op = Op::kDel;
    out.key = *rest;
    return out;
  }
  if (IEquals(cmd, "GET") || IEquals(cmd, "KEYS")) {
    if (!is_call) {
      return InvalidArgument("kv: " + std::string(cmd) +
                             " as a cast does nothing (its answer would go nowhere); call it");
    }
    if (IEquals(cmd, "GET")) {
      if (!rest) return InvalidArgument("kv: GET needs a key: GET key");
      RETURN_IF_ERROR(CheckKey(*rest));
      out.op = Op::kGet;
      out.key = *rest;
      return out;
    }
    out.op = Op::kKeys;
    out.key = rest.value_or(std::string_view());
    return out;
  }
  return InvalidArgument("kv: unknown command \"" + std::string(cmd.substr(0, 32)) +
                         "\" (known: GET, SET, DEL, INCR, KEYS)");
}

Status CheckKvValueSize(size_t size, uint64_t max_value_bytes) {
  if (size <= max_value_bytes) return OkStatus();
  return ResourceExhausted("kv: the value is " + std::to_string(size) +
                           " bytes, over max_value_bytes " + std::to_string(max_value_bytes));
}

Status KvFull(uint64_t max_keys) {
  return ResourceExhausted("kv: the store holds max_keys " + std::to_string(max_keys) + " keys");
}

Result<std::string> KvIncremented(std::string_view key, const std::optional<std::string>& current,
                                  int64_t by, uint64_t max_value_bytes) {
  int64_t now = 0;
  if (current) {
    std::optional<int64_t> v = ParseInt(*current);
    if (!v)
      return InvalidArgument("kv: the value of \"" + std::string(key) + "\" is not an integer");
    now = *v;
  }
  int64_t next = 0;
  if (__builtin_add_overflow(now, by, &next)) {
    return InvalidArgument("kv: INCR of \"" + std::string(key) + "\" overflows int64");
  }
  std::string text = std::to_string(next);
  if (text.size() > max_value_bytes) {
    return ResourceExhausted("kv: the value is over max_value_bytes");
  }
  return text;
}

std::string KvKeysReply(std::vector<std::string> keys, std::string_view prefix) {
  std::erase_if(keys, [prefix](const std::string& k) { return !k.starts_with(prefix); });
  std::sort(keys.begin(), keys.end());
  std::string out;
  for (size_t i = 0; i < keys.size() && i < kKvMaxKeysListed; ++i) {
    if (i > 0) out.push_back('\n');
    out += keys[i];
  }
  return out;
}

}  // namespace aether::workflow::resources
