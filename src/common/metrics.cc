#include "common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace aether {
namespace {

enum Type { kCounter, kGauge, kHistogram };
constexpr std::string_view kTypeNames[] = {"counter", "gauge", "histogram"};

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

// Go's strconv formatting as Prometheus prints it: shortest round-trip
// representation, and the spellings +Inf, -Inf, NaN.
void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

void AppendEscaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// name{a="x",b="y",extra_name="extra_value"}
void AppendSeries(std::string& out, std::string_view name, std::string_view suffix,
                  const MetricLabels& labels, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  auto add = [&](std::string_view k, std::string_view v) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    AppendEscaped(out, v, true);
    out += '"';
  };
  for (const auto& [k, v] : labels) add(k, v);
  if (!extra_name.empty()) add(extra_name, extra_value);
  out += '}';
}

void AppendHeader(std::string& out, std::string_view name, std::string_view help, Type type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendEscaped(out, help, false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += kTypeNames[type];
  out += '\n';
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
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  if (bounds_.empty()) Die("a histogram needs at least one bucket");
  for (size_t i = 1; i < bounds_.size(); ++i) {
    if (!(bounds_[i - 1] < bounds_[i])) Die("histogram buckets must be strictly increasing");
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // Prometheus buckets are upper-inclusive (le).
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
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
    if (!ValidName(key, false) || key.starts_with("__") ||
        (std::is_same_v<T, Histogram> && key == "le")) {
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

struct MetricsRegistry::Entry {
  Type type;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry& MetricsRegistry::Find(std::string_view name, int type) {
  if (!ValidName(name, true)) Die("invalid metric name \"" + std::string(name) + "\"");
  for (auto& e : entries_) {
    const std::string& existing = e->type == kCounter ? e->counter->name()
                                  : e->type == kGauge ? e->gauge->name()
                                                      : e->histogram->name();
    if (existing != name) continue;
    if (e->type != type) {
      Die("metric \"" + std::string(name) + "\" registered as both " +
          std::string(kTypeNames[e->type]) + " and " + std::string(kTypeNames[type]));
    }
    return *e;
  }
  auto e = std::make_unique<Entry>();
  e->type = static_cast<Type>(type);
  entries_.push_back(std::move(e));
  return *entries_.back();
}

CounterFamily& MetricsRegistry::AddCounter(std::string_view name, std::string_view help) {
  std::lock_guard lock(mu_);
  Entry& e = Find(name, kCounter);
  if (!e.counter) e.counter = std::make_unique<CounterFamily>(std::string(name), std::string(help));
  return *e.counter;
}

GaugeFamily& MetricsRegistry::AddGauge(std::string_view name, std::string_view help) {
  std::lock_guard lock(mu_);
  Entry& e = Find(name, kGauge);
  if (!e.gauge) e.gauge = std::make_unique<GaugeFamily>(std::string(name), std::string(help));
  return *e.gauge;
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                               std::vector<double> bounds) {
  Histogram check(bounds);  // dies here, at registration, on bad buckets
  std::lock_guard lock(mu_);
  Entry& e = Find(name, kHistogram);
  if (!e.histogram) {
    e.histogram =
        std::make_unique<HistogramFamily>(std::string(name), std::string(help), std::move(bounds));
  }
  return *e.histogram;
}

std::vector<double> MetricsRegistry::DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    switch (e->type) {
      case kCounter:
      case kGauge: {
        const auto render = [&](const auto& family) {
          AppendHeader(out, family.name(), family.help(), e->type);
          family.ForEach([&](const MetricLabels& labels, const auto& child) {
            AppendSeries(out, family.name(), "", labels);
            out += ' ';
            AppendValue(out, child.Value());
            out += '\n';
          });
        };
        if (e->type == kCounter) {
          render(*e->counter);
        } else {
          render(*e->gauge);
        }
        break;
      }
      case kHistogram: {
        const HistogramFamily& family = *e->histogram;
        AppendHeader(out, family.name(), family.help(), kHistogram);
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
  return out;
}

}  // namespace aether
