#include "workflow/resources/kv.h"

#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

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

class Kv final : public Resource {
 public:
  explicit Kv(KvConfig config) : config_(config) {}

  Status Cast(std::string_view /*source*/, std::string_view payload) override {
    Result<std::string> r = Execute(payload, /*is_call=*/false);
    return r.ok() ? OkStatus() : r.status();
  }

  Result<std::string> Call(std::string_view /*source*/, std::string_view payload,
                           std::chrono::milliseconds /*timeout*/) override {
    return Execute(payload, /*is_call=*/true);
  }

  void Stop() override {
    std::lock_guard lock(mu_);
    data_.clear();
  }

 private:
  Result<std::string> Execute(std::string_view payload, bool is_call) {
    auto [cmd, rest] = SplitWord(payload);
    if (IEquals(cmd, "SET")) {
      if (!rest) return InvalidArgument("kv: SET needs a key: SET key <value>");
      auto [key, value] = SplitWord(*rest);
      return Set(key, value.value_or(std::string_view()));
    }
    if (IEquals(cmd, "INCR")) {
      if (!rest) return InvalidArgument("kv: INCR needs a key: INCR key [n]");
      auto [key, n] = SplitWord(*rest);
      int64_t by = 1;
      if (n) {
        std::optional<int64_t> parsed = ParseInt(*n);
        if (!parsed)
          return InvalidArgument("kv: INCR by \"" + std::string(n->substr(0, 32)) +
                                 "\": not a decimal int64");
        by = *parsed;
      }
      return Incr(key, by);
    }
    if (IEquals(cmd, "DEL")) {
      if (!rest) return InvalidArgument("kv: DEL needs a key: DEL key");
      RETURN_IF_ERROR(CheckKey(*rest));
      std::lock_guard lock(mu_);
      return std::string(data_.erase(std::string(*rest)) > 0 ? "1" : "0");
    }
    if (IEquals(cmd, "GET") || IEquals(cmd, "KEYS")) {
      if (!is_call) {
        return InvalidArgument("kv: " + std::string(cmd) +
                               " as a cast does nothing (its answer would go nowhere); call it");
      }
      if (IEquals(cmd, "GET")) {
        if (!rest) return InvalidArgument("kv: GET needs a key: GET key");
        return Get(*rest);
      }
      return Keys(rest.value_or(std::string_view()));
    }
    return InvalidArgument("kv: unknown command \"" + std::string(cmd.substr(0, 32)) +
                           "\" (known: GET, SET, DEL, INCR, KEYS)");
  }

  Result<std::string> Get(std::string_view key) {
    RETURN_IF_ERROR(CheckKey(key));
    std::lock_guard lock(mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return NotFound("kv: no key \"" + std::string(key) + "\"");
    return it->second;
  }

  Result<std::string> Set(std::string_view key, std::string_view value) {
    RETURN_IF_ERROR(CheckKey(key));
    if (value.size() > config_.max_value_bytes) {
      return ResourceExhausted("kv: the value is " + std::to_string(value.size()) +
                               " bytes, over max_value_bytes " +
                               std::to_string(config_.max_value_bytes));
    }
    std::lock_guard lock(mu_);
    auto it = data_.find(key);
    if (it != data_.end()) {
      it->second.assign(value);
      return std::string("OK");
    }
    RETURN_IF_ERROR(CheckRoomLocked());
    data_.emplace(std::string(key), std::string(value));
    return std::string("OK");
  }

  Result<std::string> Incr(std::string_view key, int64_t by) {
    RETURN_IF_ERROR(CheckKey(key));
    std::lock_guard lock(mu_);
    auto it = data_.find(key);
    int64_t current = 0;
    if (it != data_.end()) {
      std::optional<int64_t> v = ParseInt(it->second);
      if (!v)
        return InvalidArgument("kv: the value of \"" + std::string(key) + "\" is not an integer");
      current = *v;
    } else {
      RETURN_IF_ERROR(CheckRoomLocked());
    }
    int64_t next = 0;
    if (__builtin_add_overflow(current, by, &next)) {
      return InvalidArgument("kv: INCR of \"" + std::string(key) + "\" overflows int64");
    }
    std::string text = std::to_string(next);
    if (text.size() > config_.max_value_bytes) {
      return ResourceExhausted("kv: the value is over max_value_bytes");
    }
    if (it != data_.end()) {
      it->second = text;
    } else {
      data_.emplace(std::string(key), text);
    }
    return text;
  }

  Result<std::string> Keys(std::string_view prefix) {
    std::string out;
    size_t n = 0;
    std::lock_guard lock(mu_);
    for (auto it = data_.lower_bound(prefix); it != data_.end() && n < kKvMaxKeysListed;
         ++it, ++n) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      if (!out.empty()) out.push_back('\n');
      out += it->first;
    }
    return out;
  }

  Status CheckRoomLocked() const {
    if (data_.size() >= config_.max_keys) {
      return ResourceExhausted("kv: the store holds max_keys " + std::to_string(config_.max_keys) +
                               " keys");
    }
    return OkStatus();
  }

  const KvConfig config_;
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> data_;
};

}  // namespace

std::unique_ptr<Resource> NewKv(KvConfig config) { return std::make_unique<Kv>(config); }

}  // namespace aether::workflow::resources
