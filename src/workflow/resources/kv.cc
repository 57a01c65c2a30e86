#include "workflow/resources/kv.h"

#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "workflow/resources/kv_command.h"

namespace aether::workflow::resources {
namespace {

// storage = "memory".
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
    ASSIGN_OR_RETURN(KvCommand c, ParseKvCommand(payload, is_call));
    std::lock_guard lock(mu_);
    switch (c.op) {
      case KvCommand::Op::kGet: {
        auto it = data_.find(c.key);
        if (it == data_.end()) return NotFound("kv: no key \"" + std::string(c.key) + "\"");
        return it->second;
      }
      case KvCommand::Op::kSet:
        return SetLocked(c.key, c.value);
      case KvCommand::Op::kDel:
        return std::string(data_.erase(std::string(c.key)) > 0 ? "1" : "0");
      case KvCommand::Op::kIncr:
        return IncrLocked(c.key, c.by);
      case KvCommand::Op::kKeys:
        return KeysLocked(c.key);
    }
    return Internal("kv: unhandled command");
  }

  Result<std::string> SetLocked(std::string_view key, std::string_view value) {
    RETURN_IF_ERROR(CheckKvValueSize(value.size(), config_.max_value_bytes));
    auto it = data_.find(key);
    if (it != data_.end()) {
      it->second.assign(value);
      return std::string("OK");
    }
    RETURN_IF_ERROR(CheckRoomLocked());
    data_.emplace(std::string(key), std::string(value));
    return std::string("OK");
  }

  Result<std::string> IncrLocked(std::string_view key, int64_t by) {
    auto it = data_.find(key);
    std::optional<std::string> current;
    if (it != data_.end()) {
      current = it->second;
    } else {
      RETURN_IF_ERROR(CheckRoomLocked());
    }
    ASSIGN_OR_RETURN(std::string text, KvIncremented(key, current, by, config_.max_value_bytes));
    if (it != data_.end()) {
      it->second = text;
    } else {
      data_.emplace(std::string(key), text);
    }
    return text;
  }

  Result<std::string> KeysLocked(std::string_view prefix) const {
    std::string out;
    size_t n = 0;
    for (auto it = data_.lower_bound(prefix); it != data_.end() && n < kKvMaxKeysListed;
         ++it, ++n) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      if (!out.empty()) out.push_back('\n');
      out += it->first;
    }
    return out;
  }

  Status CheckRoomLocked() const {
    return data_.size() >= config_.max_keys ? KvFull(config_.max_keys) : OkStatus();
  }

  const KvConfig config_;
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> data_;
};

}  // namespace

std::unique_ptr<Resource> NewKv(KvConfig config) { return std::make_unique<Kv>(config); }

}  // namespace aether::workflow::resources
