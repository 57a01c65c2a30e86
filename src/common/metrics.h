// Prometheus metrics (text exposition format 0.0.4) without a global
// registry: the server process owns one MetricsRegistry and hands references
// to the components that record. Every family a server exports is
// registered here, and Render() is the only writer of the text.
//
// Two kinds of family:
//  * stored (AddCounter/AddGauge/AddHistogram): the registry keeps one
//    child per label set and components Inc/Set/Observe it as things
//    happen;
//  * collected (AddCollectedCounter/AddCollectedGauge): the values live in
//    a component (its own atomics, a table of instances) and a scrape hook
//    (OnScrape) writes them into the Scrape at each Render. For values
//    computed at scrape time and label sets that come and go (one series
//    per workflow instance), without keeping stale children.
//
// Threads: any thread may register families and hooks, look up children
// and render. Inc/Set/Observe on a child are lock-free (std::atomic);
// looking up a child takes a shared lock and creating one an exclusive
// lock, so hot paths should keep the reference that WithLabels returns.
// Every family and child reference stays valid for the registry's lifetime.
//
// Render() runs the hooks on the calling thread, without the registry's
// lock. The engine renders on its HTTP IO thread, so a hook must be quick:
// read atomics and copy under locks that are only ever held briefly (never
// across guest code, I/O or a wait), and do work linear in what it reports.
// A hook that reads a slower source (the control plane's reads its store)
// is only for a process that renders off its IO thread (the control plane
// renders on its worker pool).
//
// Misuse (an invalid metric or label name, one name registered as two
// types or as stored and collected, a histogram without buckets) is a
// programming error and aborts.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aether {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

namespace metrics_internal {

// Counters and histograms are written by every IO thread on every request.
// One atomic per metric made each write pull a cache line from the other
// core; a thread writes its own shard instead (one cache line each), and a
// scrape adds the shards up. Threads get shards in turn at their first
// write, so two IO threads never share one.
inline constexpr size_t kShards = 4;
inline constexpr size_t kCacheLine = 64;

inline size_t ThisThreadShard() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return shard;
}

struct alignas(kCacheLine) ShardedDouble {
  std::atomic<double> value{0};
};

// kCacheLine / 8 counts, one cache line.
struct alignas(kCacheLine) CountLine {
  std::array<std::atomic<uint64_t>, kCacheLine / sizeof(uint64_t)> counts{};
};

}  // namespace metrics_internal

class Counter {
 public:
  void Inc(double v = 1) {
    shards_[metrics_internal::ThisThreadShard()].value.fetch_add(v, std::memory_order_relaxed);
  }
  double Value() const {
    double sum = 0;
    for (const auto& s : shards_) sum += s.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  std::array<metrics_internal::ShardedDouble, metrics_internal::kShards> shards_;
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Inc() { Add(1); }
  void Dec() { Add(-1); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds` are the upper bounds, strictly increasing; +Inf is implicit.
  explicit Histogram(const std::vector<double>& bounds);

  void Observe(double v);

  uint64_t Count() const;
  double Sum() const;
  // One cumulative count per bound plus the last for +Inf.
  std::vector<uint64_t> CumulativeCounts() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  size_t lines_per_shard_;
  // Per shard (metrics_internal): the non-cumulative bucket counts (one
  // per bound, plus +Inf) in whole cache lines, and the sum.
  std::vector<metrics_internal::CountLine> buckets_;
  std::array<metrics_internal::ShardedDouble, metrics_internal::kShards> sums_;
};

// A metric name with its children, one per label set. Label sets are
// matched by value regardless of the order the pairs are given in.
template <typename T>
class MetricFamily {
 public:
  MetricFamily(std::string name, std::string help, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), bounds_(std::move(bounds)) {}

  T& WithLabels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels);
  T& WithLabels(MetricLabels labels);
  // The child without labels.
  T& Get() { return WithLabels(MetricLabels{}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }

  // Calls f(labels, child) for each child in label order, under the shared
  // lock (used by Render).
  template <typename F>
  void ForEach(F&& f) const {
    std::shared_lock lock(mu_);
    for (const auto& [labels, child] : children_) f(labels, *child);
  }

 private:
  std::string name_;
  std::string help_;
  std::vector<double> bounds_;  // histograms only
  mutable std::shared_mutex mu_;
  std::map<MetricLabels, std::unique_ptr<T>> children_;
};

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

// A counter or gauge family whose samples a scrape hook writes at each
// Render (see the top of this file). A collected counter's values must
// never go down.
class CollectedFamily {
 public:
  CollectedFamily(std::string name, std::string help, MetricType type, size_t index)
      : name_(std::move(name)), help_(std::move(help)), type_(type), index_(index) {}

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }

 private:
  friend class Scrape;
  friend class MetricsRegistry;
  std::string name_;
  std::string help_;
  MetricType type_;
  size_t index_;  // among the registry's collected families
};

// What the scrape hooks of one Render write into. One per Render, handed to
// each hook in turn (not shared between threads).
class Scrape {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // One sample of `family`, which must belong to the registry running the
  // hook. Labels are written in the order given (stored families sort
  // them); a hook must not write the same label set twice.
  void Add(const CollectedFamily& family, Labels labels, double value);
  void Add(const CollectedFamily& family, double value) { Add(family, {}, value); }

 private:
  friend class MetricsRegistry;
  std::vector<std::string> lines_;  // exposition lines, by family index
};

using ScrapeFn = std::function<void(Scrape&)>;

// Keeps a scrape hook registered. Destroying or Reset()ting it unregisters
// the hook, waiting for a call of it in progress on another thread; so a
// component that owns its ScrapeHook may capture `this`. So it must not be
// reset from inside its own hook, nor while holding a lock the hook takes.
// The registry may be destroyed first.
class ScrapeHook {
 public:
  ScrapeHook() = default;
  ~ScrapeHook() { Reset(); }
  ScrapeHook(ScrapeHook&& other) noexcept = default;
  ScrapeHook& operator=(ScrapeHook&& other) noexcept;

  void Reset();

 private:
  friend class MetricsRegistry;
  struct State;
  explicit ScrapeHook(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering an existing name of the same type returns the existing
  // family (so two components can share one).
  CounterFamily& AddCounter(std::string_view name, std::string_view help);
  GaugeFamily& AddGauge(std::string_view name, std::string_view help);
  HistogramFamily& AddHistogram(std::string_view name, std::string_view help,
                                std::vector<double> bounds);
  CollectedFamily& AddCollectedCounter(std::string_view name, std::string_view help);
  CollectedFamily& AddCollectedGauge(std::string_view name, std::string_view help);

  // Runs `collect` at every Render (on the rendering thread, before any
  // family is written) until the returned hook is destroyed. `collect`
  // writes the samples of collected families, must be quick (see the top
  // of this file), and must not register, render or reset hooks.
  [[nodiscard]] ScrapeHook OnScrape(ScrapeFn collect);

  // Latency buckets in seconds, 0.5 ms .. 10 s.
  static std::vector<double> DefaultLatencyBuckets();

  // The whole registry in Prometheus text format 0.0.4, families in
  // registration order; stored children in label order, collected samples
  // in the order the hooks wrote them.
  std::string Render() const;

 private:
  struct Entry;
  Entry& Find(std::string_view name, MetricType type, bool collected);
  CollectedFamily& AddCollected(std::string_view name, std::string_view help, MetricType type);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
  size_t collected_count_ = 0;
  std::vector<std::shared_ptr<ScrapeHook::State>> hooks_;
  mutable std::atomic<size_t> last_size_{0};  // to reserve the next Render's string
};

// Content-Type of Render()'s output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace aether
