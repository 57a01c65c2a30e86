// Prometheus metrics (text exposition format 0.0.4) without a global
// registry: the server process owns one MetricsRegistry and hands references
// to the components that record.
//
// Threads: any thread may register families, look up children and render.
// Inc/Set/Observe on a child are lock-free (std::atomic); looking up a child
// takes a shared lock and creating one an exclusive lock, so hot paths should
// keep the reference that WithLabels returns. Every reference stays valid
// for the registry's lifetime.
//
// Misuse (an invalid metric or label name, one name registered as two
// types, a histogram without buckets) is a programming error and aborts.
#pragma once

#include <atomic>
#include <cstdint>
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

class Counter {
 public:
  void Inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
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
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  // One cumulative count per bound plus the last for +Inf.
  std::vector<uint64_t> CumulativeCounts() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // non-cumulative, + one for +Inf
  std::atomic<double> sum_{0};
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

  // Latency buckets in seconds, 0.5 ms .. 10 s.
  static std::vector<double> DefaultLatencyBuckets();

  // The whole registry in Prometheus text format 0.0.4, families in
  // registration order, children in label order.
  std::string Render() const;

 private:
  struct Entry;
  Entry& Find(std::string_view name, int type);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Content-Type of Render()'s output.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace aether
