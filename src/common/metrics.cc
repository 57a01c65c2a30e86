#include "common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "common/internal/prometheus_text.h"

namespace aether {
namespace {

constexpr size_t kCountsPerLine = sizeof(metrics_internal::CountLine::counts) / sizeof(uint64_t);

using metrics_internal::AppendHeader;
using metrics_internal::AppendSample;
using metrics_internal::AppendSeries;
using metrics_internal::AppendValue;

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "metrics: %s\n", msg.c_str());
  std::abort();
}

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  return ValidName(name, false) && !name.starts_with("__");
}

template <typename T>
std::unique_ptr<T> MakeChild(const std::vector<double>& bounds) {
  if constexpr (std::is_same_v<T, Histogram>) {
    return std::make_unique<Histogram>(bounds);
  } else {
    return std::make_unique<T>();
  }
}

}  // namespace

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds),
      lines_per_shard_((bounds.size() + 1 + kCountsPerLine - 1) / kCountsPerLine),
      buckets_(metrics_internal::kShards * lines_per_shard_) {
  if (bounds_.empty()) Die("a histogram needs at least one bucket");
  for (size_t i = 1; i < bounds_.size(); ++i) {
    if (!(bounds_[i - 1] < bounds_[i])) Die("histogram buckets must be strictly increasing");
  }
}

void Histogram::Observe(double v) {
  // Prometheus buckets are upper-inclusive (le).
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  size_t shard = metrics_internal::ThisThreadShard();
  buckets_[shard * lines_per_shard_ + i / kCountsPerLine].counts[i % kCountsPerLine].fetch_add(
      1, std::memory_order_relaxed);
  sums_[shard].value.fetch_add(v, std::memory_order_relaxed);
}

double Histogram::Sum() const {
  double sum = 0;
  for (const auto& s : sums_) sum += s.value.load(std::memory_order_relaxed);
  return sum;
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    for (size_t shard = 0; shard < metrics_internal::kShards; ++shard) {
      total +=
          buckets_[shard * lines_per_shard_ + i / kCountsPerLine].counts[i % kCountsPerLine].load(
              std::memory_order_relaxed);
    }
    out[i] = total;
  }
  return out;
}

uint64_t Histogram::Count() const { return CumulativeCounts().back(); }

template <typename T>
T& MetricFamily<T>::WithLabels(
    std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
  MetricLabels copy;
  copy.reserve(labels.size());
  for (const auto& [k, v] : labels) copy.emplace_back(k, v);
  return WithLabels(std::move(copy));
}

template <typename T>
T& MetricFamily<T>::WithLabels(MetricLabels labels) {
  std::sort(labels.begin(), labels.end());
  {
    std::shared_lock lock(mu_);
    auto it = children_.find(labels);
    if (it != children_.end()) return *it->second;
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& key = labels[i].first;
    if (!ValidLabelName(key) || (std::is_same_v<T, Histogram> && key == "le")) {
      Die("invalid label name \"" + key + "\" on " + name_);
    }
    if (i > 0 && labels[i - 1].first == key) Die("duplicate label \"" + key + "\" on " + name_);
  }
  std::unique_lock lock(mu_);
  auto& slot = children_[std::move(labels)];
  if (!slot) slot = MakeChild<T>(bounds_);
  return *slot;
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

void Scrape::Add(const CollectedFamily& family, Labels labels, double value) {
  for (const auto& [key, v] : labels) {
    if (!ValidLabelName(key)) {
      Die("invalid label name \"" + std::string(key) + "\" on " + family.name());
    }
  }
  if (family.index_ >= lines_.size()) lines_.resize(family.index_ + 1);
  AppendSample(lines_[family.index_], family.name(), labels, value);
}

struct ScrapeHook::State {
  // Render holds it shared while calling `fn`; Reset exclusively, so it
  // waits for calls in progress.
  std::shared_mutex mu;
  ScrapeFn fn;
  std::atomic<bool> live{true};  // false once reset: the registry drops it
};

ScrapeHook& ScrapeHook::operator=(ScrapeHook&& other) noexcept {
  if (this != &other) {
    Reset();
    state_ = std::move(other.state_);
  }
  return *this;
}

void ScrapeHook::Reset() {
  if (state_ == nullptr) return;
  {
    std::unique_lock lock(state_->mu);
    state_->fn = nullptr;
    state_->live.store(false);
  }
  state_.reset();
}

struct MetricsRegistry::Entry {
  MetricType type;
  bool collected;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
  std::unique_ptr<CollectedFamily> sampled;  // when collected
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry& MetricsRegistry::Find(std::string_view name, MetricType type,
                                              bool collected) {
  if (!ValidName(name, true)) Die("invalid metric name \"" + std::string(name) + "\"");
  for (auto& e : entries_) {
    const std::string& existing = e->collected                      ? e->sampled->name()
                                  : e->type == MetricType::kCounter ? e->counter->name()
                                  : e->type == MetricType::kGauge   ? e->gauge->name()
                                                                    : e->histogram->name();
    if (existing != name) continue;
    if (e->type != type) {
      Die("metric \"" + std::string(name) + "\" registered as both " +
          std::string(TypeName(e->type)) + " and " + std::string(TypeName(type)));
    }
    if (e->collected != collected) {
      Die("metric \"" + std::string(name) + "\" registered as both stored and collected");
    }
    return *e;
  }
  auto e = std::make_unique<Entry>();
  e->type = type;
  e->collected = collected;
  entries_.push_back(std::move(e));
  return *entries_.back();
}

CounterFamily& MetricsRegistry::AddCounter(std::string_view name, std::string_view help) {
  std::lock_guard lock(mu_);
  Entry& e = Find(name, MetricType::kCounter, false);
  if (!e.counter) e.counter = std::make_unique<CounterFamily>(std::string(name), std::string(help));
  return *e.counter;
}

GaugeFamily& MetricsRegistry::AddGauge(std::string_view name, std::string_view help) {
  std::lock_guard lock(mu_);
  Entry& e = Find(name, MetricType::kGauge, false);
  if (!e.gauge) e.gauge = std::make_unique<GaugeFamily>(std::string(name), std::string(help));
  return *e.gauge;
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                               std::vector<double> bounds) {
  Histogram check(bounds);  // dies here, at registration, on bad buckets
  std::lock_guard lock(mu_);
  Entry& e = Find(name, MetricType::kHistogram, false);
  if (!e.histogram) {
    e.histogram =
        std::make_unique<HistogramFamily>(std::string(name), std::string(help), std::move(bounds));
  }
  return *e.histogram;
}

CollectedFamily& MetricsRegistry::AddCollected(std::string_view name, std::string_view help,
                                               MetricType type) {
  std::lock_guard lock(mu_);
  Entry& e = Find(name, type, true);
  if (!e.sampled) {
    e.sampled = std::make_unique<CollectedFamily>(std::string(name), std::string(help), type,
                                                  collected_count_++);
  }
  return *e.sampled;
}

CollectedFamily& MetricsRegistry::AddCollectedCounter(std::string_view name,
                                                      std::string_view help) {
  return AddCollected(name, help, MetricType::kCounter);
}

CollectedFamily& MetricsRegistry::AddCollectedGauge(std::string_view name, std::string_view help) {
  return AddCollected(name, help, MetricType::kGauge);
}

ScrapeHook MetricsRegistry::OnScrape(ScrapeFn collect) {
  auto state = std::make_shared<ScrapeHook::State>();
  state->fn = std::move(collect);
  std::lock_guard lock(mu_);
  std::erase_if(hooks_, [](const auto& h) { return !h->live.load(); });
  hooks_.push_back(state);
  return ScrapeHook(std::move(state));
}

std::vector<double> MetricsRegistry::DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string MetricsRegistry::Render() const {
  // Entries are never removed and a family is set before mu_ is released,
  // so the pointers stay good after unlocking; the hooks and the writing
  // run without mu_ (a slow hook delays only this scrape).
  std::vector<const Entry*> entries;
  std::vector<std::shared_ptr<ScrapeHook::State>> hooks;
  Scrape scrape;
  {
    std::lock_guard lock(mu_);
    entries.reserve(entries_.size());
    for (const auto& e : entries_) entries.push_back(e.get());
    hooks = hooks_;
    scrape.lines_.resize(collected_count_);
  }
  for (const auto& hook : hooks) {
    std::shared_lock lock(hook->mu);
    if (hook->fn) hook->fn(scrape);
  }

  std::string out;
  out.reserve(last_size_.load(std::memory_order_relaxed) + 1024);
  for (const Entry* e : entries) {
    if (e->collected) {
      const CollectedFamily& family = *e->sampled;
      AppendHeader(out, family.name(), family.help(), TypeName(family.type()));
      out += scrape.lines_[family.index_];
      continue;
    }
    switch (e->type) {
      case MetricType::kCounter:
      case MetricType::kGauge: {
        const auto render = [&](const auto& family) {
          AppendHeader(out, family.name(), family.help(), TypeName(e->type));
          family.ForEach([&](const MetricLabels& labels, const auto& child) {
            AppendSample(out, family.name(), labels, child.Value());
          });
        };
        if (e->type == MetricType::kCounter) {
          render(*e->counter);
        } else {
          render(*e->gauge);
        }
        break;
      }
      case MetricType::kHistogram: {
        const HistogramFamily& family = *e->histogram;
        AppendHeader(out, family.name(), family.help(), TypeName(MetricType::kHistogram));
        family.ForEach([&](const MetricLabels& labels, const Histogram& h) {
          std::string le;
          std::vector<uint64_t> counts = h.CumulativeCounts();
          for (size_t i = 0; i < counts.size(); ++i) {
            le.clear();
            AppendValue(le, i < h.bounds().size() ? h.bounds()[i] : INFINITY);
            AppendSeries(out, family.name(), "_bucket", labels, "le", le);
            fmt::format_to(std::back_inserter(out), " {}\n", counts[i]);
          }
          AppendSeries(out, family.name(), "_sum", labels);
          out += ' ';
          AppendValue(out, h.Sum());
          out += '\n';
          // _count equals the +Inf bucket of this same snapshot, as
          // Prometheus requires, even while other threads observe.
          AppendSeries(out, family.name(), "_count", labels);
          fmt::format_to(std::back_inserter(out), " {}\n", counts.back());
        });
        break;
      }
    }
  }
  last_size_.store(out.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace aether
