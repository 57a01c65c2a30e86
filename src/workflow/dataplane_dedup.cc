#include "workflow/dataplane_dedup.h"

#include <algorithm>
#include <utility>

namespace aether::workflow {
namespace {

// What one remembered batch costs besides its id and answer: the map node,
// the order slot and the strings' own fields (an estimate; the bound is
// about memory, not exact).
constexpr size_t kEntryOverhead = 160;

}  // namespace

bool ValidBatchId(std::string_view id) {
  if (id.empty() || id.size() > kMaxBatchIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '_' || c == '-';
  });
}

struct BatchWindows::Window {
  struct Entry {
    Clock::TimePoint at;
    std::string answer;
  };
  using Map = std::map<std::string, Entry, std::less<>>;

  size_t Cost(const Map::iterator& it) const {
    return it->first.size() + it->second.answer.size() + kEntryOverhead;
  }
  void EvictOldest() {
    bytes -= Cost(order.front());
    entries.erase(order.front());
    order.pop_front();
  }

  std::mutex mu;  // held while a batch of this sender is delivered
  Map entries;
  std::deque<Map::iterator> order;  // oldest first (map iterators stay valid)
  size_t bytes = 0;
};

std::shared_ptr<BatchWindows::Window> BatchWindows::Find(std::string_view sender) const {
  std::lock_guard lock(mu_);
  auto it = windows_.find(sender);
  return it == windows_.end() ? nullptr : it->second;
}

std::string BatchWindows::Once(std::string_view sender, std::string_view id,
                               const std::function<std::string()>& deliver, bool* duplicate) {
  std::shared_ptr<Window> w;
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = windows_.try_emplace(std::string(sender));
    if (inserted) it->second = std::make_shared<Window>();
    w = it->second;
  }
  std::lock_guard lock(w->mu);
  Clock::TimePoint now = options_.clock->Now();
  while (!w->order.empty() && now - w->order.front()->second.at >= options_.max_age) {
    w->EvictOldest();
  }
  if (auto it = w->entries.find(id); it != w->entries.end()) {
    *duplicate = true;
    return it->second.answer;
  }
  *duplicate = false;
  std::string answer = deliver();
  auto it = w->entries.emplace(std::string(id), Window::Entry{now, answer}).first;
  w->order.push_back(it);
  w->bytes += w->Cost(it);
  while (w->order.size() > std::max<size_t>(options_.max_batches, 1) ||
         (w->bytes > options_.max_bytes && w->order.size() > 1)) {
    w->EvictOldest();
  }
  return answer;
}

void BatchWindows::Retain(const std::set<std::string, std::less<>>& senders) {
  std::lock_guard lock(mu_);
  std::erase_if(windows_, [&](const auto& entry) { return !senders.contains(entry.first); });
}

size_t BatchWindows::batches(std::string_view sender) const {
  std::shared_ptr<Window> w = Find(sender);
  if (w == nullptr) return 0;
  std::lock_guard lock(w->mu);
  return w->order.size();
}

size_t BatchWindows::bytes(std::string_view sender) const {
  std::shared_ptr<Window> w = Find(sender);
  if (w == nullptr) return 0;
  std::lock_guard lock(w->mu);
  return w->bytes;
}

size_t BatchWindows::senders() const {
  std::lock_guard lock(mu_);
  return windows_.size();
}

}  // namespace aether::workflow
