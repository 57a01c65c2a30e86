#include "common/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <tuple>

#include "common/endpoint_list.h"
#include "common/resource_config.h"
#include "common/secret_file.h"
#include "common/units.h"

namespace aether {
namespace {

// wasm/worker/compiler_main.cc reads requests of at most 1 GiB.
constexpr uint64_t kMaxModuleSizeLimit = 1ull << 30;

// While KnownConfigKeys runs: where every Section records the keys it asks
// for (on that thread only).
thread_local std::set<std::string>* key_census = nullptr;

// Reads one table of the document into typed fields, and rejects keys that
// no field claimed so a typo ("exec_timout") is an error, not a silent default.
class Section {
 public:
  Section(const toml::table* table, std::string name, std::string origin)
      : table_(table), name_(std::move(name)), origin_(std::move(origin)) {}

  Status String(const char* key, std::string* out) {
    const toml::node* n = Take(key);
    if (n == nullptr) return OkStatus();
    if (!n->is_string()) return TypeError(key, "a string");
    *out = n->as_string()->get();
    return OkStatus();
  }
  Status Bool(const char* key, bool* out) {
    const toml::node* n = Take(key);
    if (n == nullptr) return OkStatus();
    if (!n->is_boolean()) return TypeError(key, "true or false");
    *out = n->as_boolean()->get();
    return OkStatus();
  }
  template <typename Int>
  Status Integer(const char* key, Int* out, int64_t min, int64_t max) {
    const toml::node* n = Take(key);
    if (n == nullptr) return OkStatus();
    if (!n->is_integer()) return TypeError(key, "an integer");
    int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      return InvalidArgument(Where(key) + " must be between " + std::to_string(min) + " and " +
                             std::to_string(max));
    }
    *out = static_cast<Int>(v);
    return OkStatus();
  }
  // A string with a unit ("250ms") or a bare number of seconds (5, 0.5).
  // Below 1ms only where `fine`: the servers count most durations in whole
  // milliseconds, and "100us" must not silently become 0.
  Status Duration(const char* key, std::chrono::nanoseconds* out, bool allow_zero = false,
                  bool fine = false) {
    const toml::node* n = Take(key);
    if (n == nullptr) return OkStatus();
    Result<std::chrono::nanoseconds> d = std::chrono::nanoseconds(0);
    if (n->is_integer() || n->is_floating_point()) {
      double seconds = n->is_integer() ? static_cast<double>(n->as_integer()->get())
                                       : n->as_floating_point()->get();
      if (!(seconds >= 0 && seconds * 1e9 <= 9.2e18)) {  // also NaN
        return InvalidArgument(Where(key) + " must be between 0 and 9200000000 seconds");
      }
      d = std::chrono::nanoseconds(static_cast<int64_t>(seconds * 1e9));
    } else if (n->is_string()) {
      d = ParseDuration(n->as_string()->get());
    } else {
      return TypeError(key, "a duration like \"3s\", \"250ms\" or a number of seconds");
    }
    if (!d.ok()) return InvalidArgument(Where(key) + ": " + d.status().message());
    if (d->count() == 0) {
      if (!allow_zero) return InvalidArgument(Where(key) + " must be positive");
    } else if (!fine && *d < std::chrono::milliseconds(1)) {
      return InvalidArgument(Where(key) + " must be at least 1ms, not " + FormatDuration(*d));
    }
    *out = *d;
    return OkStatus();
  }
  Status Size(const char* key, uint64_t* out, bool allow_zero = false) {
    const toml::node* n = Take(key);
    if (n == nullptr) return OkStatus();
    if (n->is_integer() && n->as_integer()->get() >= (allow_zero ? 0 : 1)) {
      *out = static_cast<uint64_t>(n->as_integer()->get());
      return OkStatus();
    }
    if (!n->is_string()) return TypeError(key, "a size string like \"16MB\"");
    auto s = ParseSize(n->as_string()->get());
    if (!s.ok()) return InvalidArgument(Where(key) + ": " + s.status().message());
    if (*s == 0 && !allow_zero) return InvalidArgument(Where(key) + " must be positive");
    *out = *s;
    return OkStatus();
  }
  // An array of strings; a single string is a list of one.
  Status StringList(const char* key, std::vector<std::string>* out) {
    const toml::node* n = Take(key);
    if (n == nullptr) return OkStatus();
    if (n->is_string()) {
      *out = {n->as_string()->get()};
      return OkStatus();
    }
    if (!n->is_array()) return TypeError(key, "a list of strings");
    out->clear();
    for (const toml::node& v : *n->as_array()) {
      if (!v.is_string()) return TypeError(key, "a list of strings");
      out->push_back(v.as_string()->get());
    }
    return OkStatus();
  }
  Status StringMap(const char* key, std::map<std::string, std::string>* out) {
    const toml::node* n = Take(key);
    if (n == nullptr) return OkStatus();
    if (!n->is_table()) return TypeError(key, "a table of strings");
    for (const auto& [k, v] : *n->as_table()) {
      if (!v.is_string()) return TypeError(key, "a table of strings");
      (*out)[std::string(k.str())] = v.as_string()->get();
    }
    return OkStatus();
  }
  const std::string& name() const { return name_; }

  // An array of tables ([[section.key]]), each parsed by `each` with its
  // own Section ("section.key[i]").
  Status Tables(const char* key, const std::function<Status(Section&)>& each) {
    const toml::node* n = Take(key);
    if (n == nullptr) return OkStatus();
    const toml::array* a = n->as_array();
    if (a == nullptr) return TypeError(key, "an array of tables ([[" + name_ + "." + key + "]])");
    const std::string prefix = name_ + "." + key + "[";
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::table* t = a->get(i)->as_table();
      std::string name = prefix;
      name += std::to_string(i);
      name += ']';
      if (t == nullptr) return InvalidArgument(origin_ + ": [" + name + "] must be a table");
      Section s(t, name, origin_);
      RETURN_IF_ERROR(each(s));
      RETURN_IF_ERROR(s.Finish());
    }
    return OkStatus();
  }
  // The key's node as it is (an array of tables...), nullptr when absent.
  const toml::node* Node(const char* key) { return Take(key); }
  Status Finish() const {
    if (table_ == nullptr) return OkStatus();
    for (const auto& [k, v] : *table_) {
      if (!taken_.count(std::string(k.str()))) {
        return InvalidArgument(origin_ + ": unknown key [" + name_ + "] " + std::string(k.str()));
      }
    }
    return OkStatus();
  }

 private:
  const toml::node* Take(const char* key) {
    taken_.insert(key);
    if (key_census != nullptr) key_census->insert(name_ + "." + key);
    if (table_ == nullptr) return nullptr;
    return table_->get(key);
  }
  std::string Where(const char* key) const { return origin_ + ": [" + name_ + "] " + key; }
  Status TypeError(const char* key, const std::string& expected) const {
    return InvalidArgument(Where(key) + " must be " + expected);
  }

  const toml::table* table_;
  std::string name_;
  std::string origin_;
  std::set<std::string> taken_;
};

}  // namespace

std::string ServerlessClassLabel(std::string_view class_type) {
  return "resource-class." + std::string(class_type);
}

namespace {

// One [[workflow.serverless]] entry, against the ones before it.
Status CheckServerlessClass(const ServerlessClassConfig& sc,
                            const std::vector<ServerlessClassConfig>& before,
                            const std::string& where) {
  const std::string& c = sc.class_type;
  bool name_ok =
      !c.empty() && c.size() <= 63 && c[0] >= 'a' && c[0] <= 'z' &&
      std::all_of(c.begin(), c.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
      });
  if (!name_ok) {
    return InvalidArgument(where + " class_type \"" + c.substr(0, 64) +
                           "\" must be 1-63 of a-z, 0-9, '-', '_', starting with a letter");
  }
  const std::vector<std::string>& builtin = KnownResourceClasses();
  if (std::find(builtin.begin(), builtin.end(), c) != builtin.end() || c == kPortalClass) {
    return InvalidArgument(where + " class_type \"" + c + "\" is a built-in resource class");
  }
  if (std::any_of(before.begin(), before.end(),
                  [&](const ServerlessClassConfig& b) { return b.class_type == c; })) {
    return InvalidArgument(where + " class_type \"" + c + "\" is given twice");
  }
  if (sc.version.size() > 64) return InvalidArgument(where + " version: at most 64 characters");
  std::string_view u = sc.function_url;
  size_t scheme = u.starts_with("https://") ? 8 : u.starts_with("http://") ? 7 : 0;
  bool blank = std::any_of(u.begin(), u.end(), [](char ch) { return ch <= ' ' || ch == 0x7f; });
  std::string_view authority = u.substr(scheme, u.find_first_of("/?#", scheme) - scheme);
  if (scheme == 0 || blank || authority.empty() || u.size() > 2048) {
    return InvalidArgument(where + " function_url must be http://host[:port]/path or https://...");
  }
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgument(where + " function_url: credentials in the URL are not supported");
  }
  return OkStatus();
}

const toml::table* SubTable(const toml::table& doc, const char* name) {
  const toml::node* n = doc.get(name);
  return n != nullptr ? n->as_table() : nullptr;
}

// The control plane's [store] section; the etcd client checks the URLs
// themselves when it starts. The password never appears in a message.
Status ParseStore(const toml::table& doc, const std::string& origin, StoreConfig& st) {
  Section s(SubTable(doc, "store"), "store", origin);
  RETURN_IF_ERROR(s.String("backend", &st.backend));
  RETURN_IF_ERROR(s.StringList("endpoints", &st.endpoints));
  RETURN_IF_ERROR(s.String("prefix", &st.prefix));
  RETURN_IF_ERROR(s.String("username", &st.username));
  RETURN_IF_ERROR(s.String("password", &st.password));
  RETURN_IF_ERROR(s.Duration("request_timeout", &st.request_timeout));
  RETURN_IF_ERROR(s.String("ca_file", &st.ca_file));
  RETURN_IF_ERROR(s.String("cert_file", &st.cert_file));
  RETURN_IF_ERROR(s.String("key_file", &st.key_file));
  RETURN_IF_ERROR(s.Finish());
  auto bad = [&](const std::string& what) { return InvalidArgument(origin + ": [store] " + what); };
  if (st.backend != "sqlite" && st.backend != "etcd") {
    return bad("backend must be \"sqlite\" or \"etcd\"");
  }
  if (st.backend == "etcd" && st.endpoints.empty()) {
    return bad("endpoints: backend \"etcd\" needs at least one (http://host:2379)");
  }
  if (st.prefix.empty()) return bad("prefix must not be empty");
  if (st.cert_file.empty() != st.key_file.empty()) {
    return bad("cert_file and key_file go together");
  }
  return OkStatus();
}

}  // namespace

Status ValidateRole(std::string_view role) {
  if (role == kRoleBoth || role == kRoleCluster || role == kRoleDomain) return OkStatus();
  return InvalidArgument("role \"" + std::string(role.substr(0, 40)) +
                         "\" is not one of both, cluster, domain");
}

bool IsReplicaId(std::string_view id) {
  if (id.empty() || id.size() > kMaxReplicaIdLength ||
      !std::isalnum(static_cast<unsigned char>(id[0]))) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
  });
}

namespace {

// The control plane's [cluster] section (replicas on etcd).
Status ParseCluster(const toml::table& doc, const std::string& origin, ClusterConfig& cl) {
  Section s(SubTable(doc, "cluster"), "cluster", origin);
  RETURN_IF_ERROR(s.Duration("lease_ttl", &cl.lease_ttl));
  RETURN_IF_ERROR(s.String("replica_id", &cl.replica_id));
  RETURN_IF_ERROR(s.String("advertise_url", &cl.advertise_url));
  RETURN_IF_ERROR(s.String("ca_file", &cl.ca_file));
  RETURN_IF_ERROR(s.Finish());
  if (cl.lease_ttl < kMinLeaseTtl || cl.lease_ttl > kMaxLeaseTtl ||
      cl.lease_ttl % std::chrono::seconds(1) != std::chrono::nanoseconds(0)) {
    return InvalidArgument(origin +
                           ": [cluster] lease_ttl must be whole seconds from 2s to 5m (etcd "
                           "grants no lease under 2s)");
  }
  if (!cl.replica_id.empty() && !IsReplicaId(cl.replica_id)) {
    return InvalidArgument(origin + ": [cluster] replica_id \"" + cl.replica_id.substr(0, 80) +
                           "\" must be 1-63 letters, digits, '.', '_' or '-', starting with a "
                           "letter or digit");
  }
  if (!cl.advertise_url.empty()) {
    Result<std::string> url = CheckEndpointUrl(cl.advertise_url);
    if (!url.ok()) {
      return InvalidArgument(origin + ": [cluster] advertise_url: " + url.status().message());
    }
    cl.advertise_url = *url;
  }
  return OkStatus();
}

Status ParseDomain(const toml::table& doc, const std::string& origin, DomainConfig& d) {
  Section s(SubTable(doc, "domain"), "domain", origin);
  RETURN_IF_ERROR(s.String("role", &d.role));
  RETURN_IF_ERROR(s.String("id", &d.id));
  RETURN_IF_ERROR(s.StringList("controller", &d.controller));
  RETURN_IF_ERROR(s.String("join_token", &d.join_token));
  RETURN_IF_ERROR(s.String("join_token_file", &d.join_token_file));
  RETURN_IF_ERROR(s.String("url", &d.url));
  RETURN_IF_ERROR(s.StringMap("labels", &d.labels));
  RETURN_IF_ERROR(s.Duration("timeout", &d.timeout));
  RETURN_IF_ERROR(s.Duration("heartbeat_interval", &d.heartbeat_interval));
  RETURN_IF_ERROR(s.Finish());
  if (Status st = ValidateRole(d.role); !st.ok()) {
    return InvalidArgument(origin + ": [domain] " + st.message());
  }
  if (d.heartbeat_interval * 2 > d.timeout) {
    return InvalidArgument(origin +
                           ": [domain] timeout must be at least twice heartbeat_interval (one "
                           "lost beat must not take a domain down)");
  }
  // As [control] urls: every replica's URL, checked, no duplicates.
  if (!d.controller.empty()) {
    RETURN_IF_ERROR(CheckEndpointUrls(&d.controller, origin + ": [domain] controller"));
  }
  if (!d.url.empty()) {
    Result<std::string> checked = CheckEndpointUrl(d.url);
    if (!checked.ok())
      return InvalidArgument(origin + ": [domain] url: " + checked.status().message());
    d.url = *checked;
  }
  if (!d.join_token.empty() && !d.join_token_file.empty()) {
    return InvalidArgument(origin + ": [domain] set join_token or join_token_file, not both");
  }
  if (!d.join_token.empty() && d.join_token.size() < kMinTokenLength) {
    return InvalidArgument(origin + ": [domain] join_token is shorter than " +
                           std::to_string(kMinTokenLength) + " characters");
  }
  return OkStatus();
}

// [control] url (one) or urls (a list): one list in ControlConfig::urls,
// every URL checked (common/endpoint_list.h).
Status ParseControlUrls(const std::string& origin, std::string url, ControlConfig& c) {
  if (!url.empty() && !c.urls.empty()) {
    return InvalidArgument(origin + ": [control] set url or urls, not both (urls = [\"" + url +
                           "\", ...] lists every replica)");
  }
  if (!url.empty()) c.urls.push_back(std::move(url));
  if (c.urls.empty()) return OkStatus();  // not joining a control plane
  return CheckEndpointUrls(&c.urls, origin + ": [control] urls");
}

// The engine's [nats] section. Secrets never appear in a message.
Status ParseNats(const toml::table& doc, const std::string& origin, NatsConfig& n) {
  Section s(SubTable(doc, "nats"), "nats", origin);
  RETURN_IF_ERROR(s.StringList("urls", &n.urls));
  for (auto [key, field] : {std::pair{"user", &n.user},
                            {"password", &n.password},
                            {"token", &n.token},
                            {"ca_file", &n.ca_file},
                            {"cert_file", &n.cert_file},
                            {"key_file", &n.key_file},
                            {"prefix", &n.prefix}}) {
    RETURN_IF_ERROR(s.String(key, field));
  }
  RETURN_IF_ERROR(s.Integer("replicas", &n.replicas, 1, 5));
  RETURN_IF_ERROR(s.Duration("max_age", &n.max_age));
  RETURN_IF_ERROR(s.Size("max_bytes", &n.max_bytes));
  RETURN_IF_ERROR(s.Duration("dedup_window", &n.dedup_window));
  RETURN_IF_ERROR(s.Duration("ack_wait", &n.ack_wait));
  RETURN_IF_ERROR(s.Integer("max_deliver", &n.max_deliver, 1, 1'000'000));
  RETURN_IF_ERROR(s.Integer("max_ack_pending", &n.max_ack_pending, 1, 1'000'000));
  RETURN_IF_ERROR(s.Integer("max_pending_appends", &n.max_pending_appends, 1, 1'000'000));
  RETURN_IF_ERROR(s.Duration("connect_timeout", &n.connect_timeout));
  RETURN_IF_ERROR(s.Duration("sweep_interval", &n.sweep_interval));
  RETURN_IF_ERROR(s.Finish());
  auto bad = [&](const std::string& what) { return InvalidArgument(origin + ": [nats] " + what); };
  for (const std::string& url : n.urls) {
    bool scheme = url.rfind("nats://", 0) == 0 || url.rfind("tls://", 0) == 0;
    bool blank = std::any_of(url.begin(), url.end(), [](char c) { return c <= ' '; });
    if (!scheme || blank || url.find('/', url.find("://") + 3) != std::string::npos) {
      return bad("urls: each must be nats://HOST:PORT or tls://HOST:PORT");
    }
    if (url.find('@') != std::string::npos) {
      return bad("urls: put credentials in user/password or token, not in the URL");
    }
  }
  if (!n.password.empty() && n.user.empty()) return bad("password is set without user");
  if (!n.token.empty() && !n.user.empty()) return bad("set user/password or token, not both");
  if (n.cert_file.empty() != n.key_file.empty()) {
    return bad("cert_file and key_file must be set together");
  }
  bool prefix_ok = !n.prefix.empty() && n.prefix.size() <= 32 &&
                   std::all_of(n.prefix.begin(), n.prefix.end(), [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                   });
  if (!prefix_ok) return bad("prefix must be 1 to 32 of A-Z a-z 0-9 _ -");
  if (n.dedup_window > n.max_age) return bad("dedup_window must be at most max_age");
  if (n.ack_wait < std::chrono::milliseconds(100)) return bad("ack_wait must be at least 100ms");
  if (n.max_bytes > static_cast<uint64_t>(INT64_MAX)) return bad("max_bytes is too large");
  if (n.sweep_interval < std::chrono::seconds(1)) return bad("sweep_interval must be at least 1s");
  return OkStatus();
}

// The engine's [[workflow.sql]] tables: PostgreSQL databases for sqlx
// resources. A password never sits in the URL (it would be logged and
// shown with the config): password_file holds it.
Status ParseSqlDatabases(const toml::node* node, const std::string& origin,
                         std::vector<SqlDatabaseConfig>* out) {
  if (node == nullptr) return OkStatus();
  auto bad = [&](size_t i, const std::string& what) {
    return InvalidArgument(origin + ": [[workflow.sql]] #" + std::to_string(i + 1) + " " + what);
  };
  const toml::array* tables = node->as_array();
  if (tables == nullptr) {
    return InvalidArgument(origin + ": [workflow] sql must be [[workflow.sql]] tables");
  }
  for (size_t i = 0; i < tables->size(); ++i) {
    const toml::table* t = (*tables)[i].as_table();
    if (t == nullptr) return bad(i, "must be a table");
    SqlDatabaseConfig d;
    Section s(t, "workflow.sql", origin);
    RETURN_IF_ERROR(s.String("name", &d.name));
    RETURN_IF_ERROR(s.String("url", &d.url));
    RETURN_IF_ERROR(s.String("password_file", &d.password_file));
    RETURN_IF_ERROR(s.StringList("workflows", &d.workflows));
    RETURN_IF_ERROR(s.Finish());
    if (Status st = ValidateSqlDatabaseName(d.name); !st.ok())
      return bad(i, "name: " + st.message());
    for (const SqlDatabaseConfig& other : *out) {
      if (other.name == d.name) return bad(i, "name \"" + d.name + "\" is used twice");
    }
    if (Status st = CheckPostgresUrl(d.url); !st.ok()) {
      return bad(i, "(" + d.name + ") url: " + st.message());
    }
    for (const std::string& w : d.workflows) {
      if (w.empty()) return bad(i, "(" + d.name + ") workflows: an empty workflow id");
    }
    out->push_back(std::move(d));
  }
  return OkStatus();
}

}  // namespace

Result<Config> ParseConfig(std::string_view toml_text, std::string_view origin_view) {
  std::string origin(origin_view);
  toml::table doc;
  try {
    doc = toml::parse(toml_text, origin_view);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return InvalidArgument(msg.str());
  }
  static const std::set<std::string> kSections = {
      "runtime", "server", "database", "store",    "cluster", "gateway", "registry",
      "control", "domain", "auth",     "workflow", "nats",    "log"};
  for (const auto& [k, v] : doc) {
    if (!kSections.count(std::string(k.str())) || !v.is_table()) {
      return InvalidArgument(origin + ": unknown section [" + std::string(k.str()) +
                             "] (known: runtime, server, database, store, cluster, gateway, "
                             "registry, control, domain, "
                             "auth, "
                             "workflow, nats, log)");
    }
  }

  Config c;
  {
    Section s(SubTable(doc, "runtime"), "runtime", origin);
    RETURN_IF_ERROR(s.Duration("exec_timeout", &c.runtime.exec_timeout));
    RETURN_IF_ERROR(s.Size("memory_limit", &c.runtime.memory_limit));
    RETURN_IF_ERROR(s.Integer("cache_size", &c.runtime.cache_size, 1, 1000000));
    RETURN_IF_ERROR(s.Size("cache_disk_limit", &c.runtime.cache_disk_limit, /*allow_zero=*/true));
    RETURN_IF_ERROR(s.String("functions_dir", &c.runtime.functions_dir));
    RETURN_IF_ERROR(s.String("data_dir", &c.runtime.data_dir));
    RETURN_IF_ERROR(s.Integer("workers", &c.runtime.workers, 0, 1024));
    RETURN_IF_ERROR(s.Integer("queue_length", &c.runtime.queue_length, 0, 1000000));
    RETURN_IF_ERROR(s.Duration("inline_budget", &c.runtime.inline_budget, /*allow_zero=*/true,
                               /*fine=*/true));
    if (c.runtime.inline_budget > std::chrono::milliseconds(100)) {
      return InvalidArgument(origin + ": [runtime] inline_budget is at most 100ms (an IO " +
                             "thread serves every other request on its connections meanwhile)");
    }
    RETURN_IF_ERROR(s.Size("max_input", &c.runtime.max_input));
    RETURN_IF_ERROR(s.Size("max_output", &c.runtime.max_output));
    RETURN_IF_ERROR(s.Bool("optimize", &c.runtime.optimize));
    RETURN_IF_ERROR(s.String("cc", &c.runtime.cc));
    RETURN_IF_ERROR(s.Integer("max_functions", &c.runtime.max_functions, 1, 10'000'000));
    RETURN_IF_ERROR(s.Integer("max_function_locals", &c.runtime.max_function_locals, 1, 1'000'000));
    RETURN_IF_ERROR(s.Integer("max_module_locals", &c.runtime.max_module_locals, 1, 100'000'000));
    RETURN_IF_ERROR(s.Size("max_function_size", &c.runtime.max_function_size));
    RETURN_IF_ERROR(s.Size("max_code_size", &c.runtime.max_code_size));
    RETURN_IF_ERROR(s.Duration("compile_timeout", &c.runtime.compile_timeout));
    RETURN_IF_ERROR(s.Size("compile_memory_limit", &c.runtime.compile_memory_limit));
    RETURN_IF_ERROR(s.Size("max_module_size", &c.runtime.max_module_size));
    RETURN_IF_ERROR(s.Integer("max_env_vars", &c.runtime.max_env_vars, 0, 100'000));
    RETURN_IF_ERROR(s.Size("max_env_size", &c.runtime.max_env_size));
    RETURN_IF_ERROR(s.Finish());
    if (c.runtime.max_module_size > kMaxModuleSizeLimit) {
      return InvalidArgument(origin +
                             ": [runtime] max_module_size must be at most 1GB (what the "
                             "compiler process accepts)");
    }
    if (c.runtime.compile_memory_limit < (64ull << 20)) {
      return InvalidArgument(origin +
                             ": [runtime] compile_memory_limit must be at least 64MB (the "
                             "compilers do not start with less)");
    }
    if (c.runtime.memory_limit > (4ull << 30)) {
      return InvalidArgument(origin + ": [runtime] memory_limit must be at most 4GB (wasm32)");
    }
  }
  {
    Section s(SubTable(doc, "server"), "server", origin);
    RETURN_IF_ERROR(s.String("host", &c.server.host));
    RETURN_IF_ERROR(s.Integer("port", &c.server.port, 0, 65535));
    RETURN_IF_ERROR(s.Size("max_body", &c.server.max_body));
    RETURN_IF_ERROR(s.Duration("idle_timeout", &c.server.idle_timeout));
    RETURN_IF_ERROR(s.Duration("header_timeout", &c.server.header_timeout));
    RETURN_IF_ERROR(s.Duration("body_timeout", &c.server.body_timeout));
    RETURN_IF_ERROR(s.Size("min_body_rate", &c.server.min_body_rate));
    RETURN_IF_ERROR(s.Integer("max_connections", &c.server.max_connections, 1, 1000000));
    RETURN_IF_ERROR(
        s.Integer("max_connections_per_client", &c.server.max_connections_per_client, 0, 1000000));
    RETURN_IF_ERROR(s.Integer("io_threads", &c.server.io_threads, 0, 1024));
    RETURN_IF_ERROR(s.String("tls_cert", &c.server.tls_cert));
    RETURN_IF_ERROR(s.String("tls_key", &c.server.tls_key));
    RETURN_IF_ERROR(s.String("public_url", &c.server.public_url));
    RETURN_IF_ERROR(s.Finish());
    if (c.server.tls_cert.empty() != c.server.tls_key.empty()) {
      return InvalidArgument(origin + ": [server] tls_cert and tls_key must be set together");
    }
  }
  {
    Section s(SubTable(doc, "database"), "database", origin);
    RETURN_IF_ERROR(s.String("path", &c.database.path));
    RETURN_IF_ERROR(s.Integer("max_events", &c.database.max_events, 1, 100'000'000));
    RETURN_IF_ERROR(s.Integer("keep_versions", &c.database.keep_versions, 0, 1'000'000));
    RETURN_IF_ERROR(s.Finish());
  }
  RETURN_IF_ERROR(ParseStore(doc, origin, c.store));
  RETURN_IF_ERROR(ParseCluster(doc, origin, c.cluster));
  {
    Section s(SubTable(doc, "gateway"), "gateway", origin);
    RETURN_IF_ERROR(s.Integer("workers", &c.gateway.workers, 1, 1024));
    RETURN_IF_ERROR(s.Integer("queue_length", &c.gateway.queue_length, 1, 1'000'000));
    RETURN_IF_ERROR(
        s.Integer("max_connections_per_node", &c.gateway.max_connections_per_node, 1, 10'000));
    RETURN_IF_ERROR(s.Finish());
  }
  {
    Section s(SubTable(doc, "registry"), "registry", origin);
    RETURN_IF_ERROR(s.Duration("node_timeout", &c.registry.node_timeout));
    RETURN_IF_ERROR(s.Duration("heartbeat_interval", &c.registry.heartbeat_interval));
    RETURN_IF_ERROR(s.Finish());
  }
  {
    Section s(SubTable(doc, "control"), "control", origin);
    std::string url;
    RETURN_IF_ERROR(s.String("url", &url));
    RETURN_IF_ERROR(s.StringList("urls", &c.control.urls));
    RETURN_IF_ERROR(s.String("node_id", &c.control.node_id));
    RETURN_IF_ERROR(s.StringMap("labels", &c.control.labels));
    RETURN_IF_ERROR(s.String("ca_file", &c.control.ca_file));
    RETURN_IF_ERROR(s.Bool("prefetch", &c.control.prefetch));
    RETURN_IF_ERROR(s.Finish());
    RETURN_IF_ERROR(ParseControlUrls(origin, std::move(url), c.control));
  }
  RETURN_IF_ERROR(ParseDomain(doc, origin, c.domain));
  {
    Section s(SubTable(doc, "auth"), "auth", origin);
    RETURN_IF_ERROR(s.String("token", &c.auth.token));
    RETURN_IF_ERROR(s.String("join_token", &c.auth.join_token));
    RETURN_IF_ERROR(s.String("domain_join_token", &c.auth.domain_join_token));
    RETURN_IF_ERROR(s.String("token_file", &c.auth.token_file));
    RETURN_IF_ERROR(s.String("join_token_file", &c.auth.join_token_file));
    RETURN_IF_ERROR(s.String("domain_join_token_file", &c.auth.domain_join_token_file));
    RETURN_IF_ERROR(s.Finish());
    for (auto [key, token, file] :
         {std::tuple{"token", &c.auth.token, &c.auth.token_file},
          {"join_token", &c.auth.join_token, &c.auth.join_token_file},
          {"domain_join_token", &c.auth.domain_join_token, &c.auth.domain_join_token_file}}) {
      if (!token->empty() && !file->empty()) {
        return InvalidArgument(origin + ": [auth] set " + key + " or " + key + "_file, not both");
      }
      // Empty means "generate one" (aether-control) or "not joining" (engine).
      if (!token->empty() && token->size() < kMinTokenLength) {
        return InvalidArgument(origin + ": [auth] " + key + " is " + std::to_string(token->size()) +
                               " characters; it must be at least " +
                               std::to_string(kMinTokenLength) +
                               " (generate one with: openssl rand -hex 32)");
      }
    }
  }
  {
    Section s(SubTable(doc, "workflow"), "workflow", origin);
    WorkflowConfig& w = c.workflow;
    RETURN_IF_ERROR(s.Integer("mailbox_length", &w.mailbox_length, 1, 1'000'000));
    RETURN_IF_ERROR(s.Duration("send_wait", &w.send_wait, /*allow_zero=*/true));
    if (w.send_wait > std::chrono::minutes(1)) {
      return InvalidArgument(origin + ": [workflow] send_wait must be at most 1m (it holds a " +
                             "guest within its event's time budget)");
    }
    RETURN_IF_ERROR(s.Integer("dataplane_queue_length", &w.dataplane_queue_length, 1, 10'000'000));
    RETURN_IF_ERROR(s.Integer("dataplane_dedup_batches", &w.dataplane_dedup_batches, 1, 1'000'000));
    RETURN_IF_ERROR(s.Duration("dataplane_dedup_window", &w.dataplane_dedup_window));
    if (w.dataplane_dedup_window < std::chrono::seconds(1) ||
        w.dataplane_dedup_window > std::chrono::hours(1)) {
      return InvalidArgument(origin +
                             ": [workflow] dataplane_dedup_window must be between 1s and 1h (it "
                             "must outlast a batch's retries, 10s by default)");
    }
    RETURN_IF_ERROR(s.Duration("redis_connect_timeout", &w.redis_connect_timeout));
    RETURN_IF_ERROR(s.Duration("redis_command_timeout", &w.redis_command_timeout));
    RETURN_IF_ERROR(s.Integer("redis_queue_length", &w.redis_queue_length, 1, 1'000'000));
    RETURN_IF_ERROR(
        s.Integer("http_egress_queue_length", &w.http_egress_queue_length, 1, 1'000'000));
    RETURN_IF_ERROR(s.Integer("kv_queue_length", &w.kv_queue_length, 1, 1'000'000));
    RETURN_IF_ERROR(s.Duration("sqlx_statement_timeout", &w.sqlx_statement_timeout));
    RETURN_IF_ERROR(s.Duration("sqlx_connect_timeout", &w.sqlx_connect_timeout));
    RETURN_IF_ERROR(s.Size("sqlx_max_database_bytes", &w.sqlx_max_database_bytes));
    if (w.sqlx_max_database_bytes < (64ull << 10) || w.sqlx_max_database_bytes > (1ull << 40)) {
      return InvalidArgument(origin + ": [workflow] sqlx_max_database_bytes must be between 64KB " +
                             "and 1TB");
    }
    RETURN_IF_ERROR(s.Integer("sqlx_queue_length", &w.sqlx_queue_length, 1, 1'000'000));
    RETURN_IF_ERROR(ParseSqlDatabases(s.Node("sql"), origin, &w.sql));
    RETURN_IF_ERROR(s.String("egress_default", &w.egress_default));
    if (w.egress_default != "public" && w.egress_default != "none") {
      return InvalidArgument(origin + ": [workflow] egress_default must be public or none, not \"" +
                             w.egress_default.substr(0, 64) + "\"");
    }
    RETURN_IF_ERROR(s.Tables("serverless", [&](Section& t) {
      ServerlessClassConfig sc;
      RETURN_IF_ERROR(t.String("class_type", &sc.class_type));
      RETURN_IF_ERROR(t.String("version", &sc.version));
      RETURN_IF_ERROR(t.String("function_url", &sc.function_url));
      RETURN_IF_ERROR(t.Duration("timeout", &sc.timeout));
      RETURN_IF_ERROR(CheckServerlessClass(sc, w.serverless, origin + ": [" + t.name() + "]"));
      w.serverless.push_back(std::move(sc));
      return OkStatus();
    }));
    RETURN_IF_ERROR(s.String("placement", &w.placement));
    if (w.placement != "least-loaded" && w.placement != "round-robin" &&
        w.placement != "weighted-random") {
      return InvalidArgument(origin + ": [workflow] placement must be least-loaded, round-robin " +
                             "or weighted-random, not \"" + w.placement.substr(0, 64) + "\"");
    }
    RETURN_IF_ERROR(s.Finish());
  }
  RETURN_IF_ERROR(ParseNats(doc, origin, c.nats));
  {
    Section s(SubTable(doc, "log"), "log", origin);
    RETURN_IF_ERROR(s.String("level", &c.log.level));
    RETURN_IF_ERROR(s.Finish());
  }
  return c;
}

Result<Config> LoadConfig(const std::string& path) {
  Config c;
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("cannot read config file " + path);
    std::stringstream buf;
    buf << in.rdbuf();
    ASSIGN_OR_RETURN(c, ParseConfig(buf.str(), path));
  }
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");  // systemd LoadCredential=
  RETURN_IF_ERROR(LoadAuthSecrets(c.auth, path, credentials != nullptr ? credentials : ""));
  RETURN_IF_ERROR(LoadDomainSecret(c.domain, path, credentials != nullptr ? credentials : ""));
  return c;
}

namespace {

// The [server] keys that bound slow and numerous clients, as template lines.
std::string ServerLimitsTemplate(const ServerConfig& d) {
  std::ostringstream o;
  o << "header_timeout = \"" << FormatDuration(d.header_timeout)
    << "\"   # the whole request header must arrive within this; else 408\n"
    << "body_timeout = \"" << FormatDuration(d.body_timeout)
    << "\"     # the body gets this long plus 1s per min_body_rate bytes received\n"
    << "min_body_rate = \"" << FormatSize(d.min_body_rate) << "\"   # bytes per second\n"
    << "max_connections = " << d.max_connections
    << "      # open connections; more are closed at accept\n"
    << "max_connections_per_client = " << d.max_connections_per_client
    << "   # per client address (IPv6: per /64); 0 = no cap (behind a proxy)\n"
    << "io_threads = " << d.io_threads
    << "   # threads that serve HTTP (the engine's run short guests too); 0 = one per core (at "
       "least 2)\n";
  return o.str();
}

// The engine's [workflow] section, as template lines.
std::string WorkflowTemplate(const WorkflowConfig& d) {
  std::ostringstream o;
  o << "[workflow]\n"
    << "mailbox_length = " << d.mailbox_length
    << "            # events waiting per instance; then senders wait\n"
    << "send_wait = \"" << FormatDuration(d.send_wait)
    << "\"             # how long a full mailbox/link/queue holds a sender; 0s = refuse at once\n"
    << "dataplane_queue_length = " << d.dataplane_queue_length
    << "    # events waiting per peer node; then senders wait\n"
    << "dataplane_dedup_batches = " << d.dataplane_dedup_batches
    << "   # batches remembered per sending node: a resent one is not delivered twice\n"
    << "dataplane_dedup_window = \"" << FormatDuration(d.dataplane_dedup_window)
    << "\"   # ...for at most this long\n"
    << "redis_connect_timeout = \"" << FormatDuration(d.redis_connect_timeout)
    << "\"   # a redis resource's connect attempt\n"
    << "redis_command_timeout = \"" << FormatDuration(d.redis_command_timeout)
    << "\"   # one redis command\n"
    << "redis_queue_length = " << d.redis_queue_length
    << "        # casts waiting per redis resource; then senders wait\n"
    << "http_egress_queue_length = " << d.http_egress_queue_length
    << "   # casts waiting per http-egress resource; then senders wait\n"
    << "kv_queue_length = " << d.kv_queue_length
    << "           # commands waiting per durable kv resource; then senders wait\n"
    << "egress_default = \"" << d.egress_default
    << "\"      # an http-egress without allow: public = any public address, none = nothing\n"
    << "sqlx_statement_timeout = \"" << FormatDuration(d.sqlx_statement_timeout)
    << "\"   # an sqlx statement's budget when no call gives one; PostgreSQL's "
       "statement_timeout\n"
    << "sqlx_connect_timeout = \"" << FormatDuration(d.sqlx_connect_timeout)
    << "\"     # an sqlx resource's PostgreSQL connect attempt\n"
    << "sqlx_max_database_bytes = \"" << FormatSize(d.sqlx_max_database_bytes)
    << "\"   # one SQLite file of a workflow's sqlx resource, at most\n"
    << "sqlx_queue_length = " << d.sqlx_queue_length
    << "         # statements waiting per sqlx resource; then senders wait\n"
    << "# PostgreSQL databases that sqlx resources may use (\"database\": \"<name>\"); the\n"
    << "# role's privileges bound what guests can do. No password in the URL.\n"
    << "# [[workflow.sql]]\n"
    << "# name = \"orders\"\n"
    << "# url = \"postgresql://aether@127.0.0.1:5432/orders\"\n"
    << "# password_file = \"/etc/aether/orders.password\"   # optional; read at start\n"
    << "# workflows = [\"wf-1a2b3c4d\"]                     # optional; default: every workflow\n"
    << "# Resource classes served by an OpenFaaS-style HTTP function (EDGELESS's serverless\n"
    << "# provider); a spec uses one as \"class_type\": \"double\". docs/workflows.md.\n"
    << "# [[workflow.serverless]]\n"
    << "# class_type = \"double\"\n"
    << "# version = \"0.1\"\n"
    << "# function_url = \"http://127.0.0.1:5000/\"\n"
    << "# timeout = \"30s\"\n";
  return o.str();
}

// The engine's [nats] section, as template lines (commented out: no
// event log unless urls are set).
std::string NatsTemplate(const NatsConfig& d) {
  std::ostringstream o;
  o << "# The durable event log of at-least-once workflows (NATS JetStream); unset urls =\n"
    << "# none, and at-least-once workflows cannot run here. docs/operations.md, \"NATS\".\n"
    << "[nats]\n"
    << "# urls = [\"nats://nats-1:4222\", \"nats://nats-2:4222\", \"nats://nats-3:4222\"]\n"
    << "# user = \"aether\"          # and password; or token. Secrets: prefer the\n"
    << "# password = \"...\"         # AETHER_NATS_PASSWORD / AETHER_NATS_TOKEN variables\n"
    << "# token = \"...\"\n"
    << "# ca_file = \"/etc/aether/nats-ca.pem\"   # TLS (also for tls:// URLs)\n"
    << "# cert_file = \"/etc/aether/nats.crt\"    # client certificate, with key_file\n"
    << "# key_file = \"/etc/aether/nats.key\"\n"
    << "prefix = \"" << d.prefix << "\"          # streams <prefix>_wf_<workflow>_I<n>\n"
    << "replicas = " << d.replicas << "              # copies of each stream (3 needs a cluster)\n"
    << "max_age = \"" << FormatDuration(d.max_age)
    << "\"          # events older than this are dropped\n"
    << "max_bytes = \"" << FormatSize(d.max_bytes)
    << "\"        # per workflow; then appends are refused\n"
    << "dedup_window = \"" << FormatDuration(d.dedup_window)
    << "\"     # a repeated event id within this is stored once\n"
    << "ack_wait = \"" << FormatDuration(d.ack_wait)
    << "\"        # unacknowledged this long: delivered again\n"
    << "max_deliver = " << d.max_deliver << "          # deliveries of one event at most\n"
    << "max_ack_pending = " << d.max_ack_pending
    << "    # events handed out and not acknowledged, per component\n"
    << "max_pending_appends = " << d.max_pending_appends
    << " # appends waiting for NATS at once, per engine\n"
    << "connect_timeout = \"" << FormatDuration(d.connect_timeout) << "\"\n"
    << "sweep_interval = \"" << FormatDuration(d.sweep_interval)
    << "\"   # deleted workflows' streams and buckets are deleted\n";
  return o.str();
}

}  // namespace

Result<std::string> ConfigTemplate(std::string_view role) {
  const Config d;
  std::ostringstream o;
  if (role == "engine") {
    o << "# aether-engine configuration. Every key is optional; shown are the defaults.\n\n"
      << "[server]\n"
      << "host = \"" << d.server.host << "\"   # address to listen on\n"
      << "port = 9091            # 0 picks a free port\n"
      << "max_body = \"" << FormatSize(d.server.max_body)
      << "\"     # larger request bodies get 413\n"
      << "idle_timeout = \"" << FormatDuration(d.server.idle_timeout) << "\"\n"
      << ServerLimitsTemplate(d.server)
      << "# tls_cert = \"/etc/aether/engine.crt\"   # set both to serve HTTPS\n"
      << "# tls_key = \"/etc/aether/engine.key\"\n"
      << "# Where the control plane and other engines reach it (NAT, a proxy); unset = its URL.\n"
      << "# public_url = \"http://edge-1.example:9091\"\n\n"
      << "[runtime]\n"
      << "exec_timeout = \"" << FormatDuration(d.runtime.exec_timeout)
      << "\"     # wall-clock limit per execution\n"
      << "memory_limit = \"" << FormatSize(d.runtime.memory_limit)
      << "\"    # linear memory cap per execution (init and grow)\n"
      << "cache_size = " << d.runtime.cache_size << "       # compiled modules kept loaded (LRU)\n"
      << "cache_disk_limit = \"" << FormatSize(d.runtime.cache_disk_limit)
      << "\"  # compiled modules kept on disk (LRU); 0 = unbounded\n"
      << "functions_dir = \"\"     # serve NAME.wasm files from this directory\n"
      << "data_dir = \"" << d.runtime.data_dir << "\"   # compiled-module cache\n"
      << "workers = 0            # executor threads; 0 = one per core\n"
      << "queue_length = 0       # queued executions before 503; 0 = 64 per worker\n"
      << "inline_budget = \"" << FormatDuration(d.runtime.inline_budget)
      << "\"   # quick functions run on the IO thread; 0 = always a worker\n"
      << "max_input = \"" << FormatSize(d.runtime.max_input) << "\"      # /execute input bytes\n"
      << "max_output = \"" << FormatSize(d.runtime.max_output) << "\"    # captured stdout/stderr\n"
      << "optimize = true        # recompile with cc -O2 in the background\n"
      << "cc = \"cc\"              # the optimizing C compiler\n"
      << "# Untrusted modules: refused over these (docs/security.md).\n"
      << "max_functions = " << d.runtime.max_functions << "\n"
      << "max_function_locals = " << d.runtime.max_function_locals << "\n"
      << "max_module_locals = " << d.runtime.max_module_locals << "\n"
      << "max_function_size = \"" << FormatSize(d.runtime.max_function_size) << "\"\n"
      << "max_code_size = \"" << FormatSize(d.runtime.max_code_size) << "\"\n"
      << "# The confined compiler process, per module and tier.\n"
      << "compile_timeout = \"" << FormatDuration(d.runtime.compile_timeout) << "\"\n"
      << "compile_memory_limit = \"" << FormatSize(d.runtime.compile_memory_limit) << "\"\n\n"
      << "[control]\n"
      << "# The control plane to join; unset = a standalone engine (functions_dir only).\n"
      << "# List every replica: the engine sticks to one that works and moves to the next\n"
      << "# on connection errors, timeouts and 5xx (at most " << kMaxControlUrls
      << " URLs; docs/operations.md).\n"
      << "# urls = [\"http://control-1:9090\", \"http://control-2:9090\", "
         "\"http://control-3:9090\"]\n"
      << "# url = \"http://control-1:9090\"   # one control plane: the same as a list of one\n"
      << "# node_id = \"edge-1\"                # default: the host name\n"
      << "# labels = { zone = \"eu-west\" }\n"
      << "# ca_file = \"/etc/aether/ca.pem\"   # https control plane and engines: a private CA "
         "(or --ca-file, AETHER_CA_FILE)\n"
      << "# Compile a module the control plane is deploying before its deploy commits.\n"
      << "prefetch = " << (d.control.prefetch ? "true" : "false") << "\n\n"
      << "[auth]\n"
      << "# The control plane's join token (its <data dir>/join.token): needed to join.\n"
      << "# join_token = \"...\"\n"
      << "# join_token_file = \"/etc/aether/join.token\"   # or in a file, or the credential "
         "join_token\n\n"
      << "[registry]\n"
      << "heartbeat_interval = \"" << FormatDuration(d.registry.heartbeat_interval)
      << "\"   # until the control plane names its own when the engine registers\n\n"
      << WorkflowTemplate(d.workflow) << "\n"
      << NatsTemplate(d.nats) << "\n"
      << "[log]\n"
      << "level = \"info\"         # trace, debug, info, warn, error\n";
  } else if (role == "control") {
    o << "# aether-control configuration. Every key is optional; shown are the defaults.\n\n"
      << "[server]\n"
      << "host = \"" << d.server.host << "\"\n"
      << "port = 9090\n"
      << "max_body = \"" << FormatSize(d.server.max_body) << "\"\n"
      << "idle_timeout = \"" << FormatDuration(d.server.idle_timeout) << "\"\n"
      << ServerLimitsTemplate(d.server)
      << "# tls_cert = \"/etc/aether/control.crt\"   # set both to serve HTTPS\n"
      << "# tls_key = \"/etc/aether/control.key\"\n\n"
      << "[auth]\n"
      << "# Unset: generated on first start into the [database] path's directory\n"
      << "# (admin.token, join.token, domain_join.token; mode 0600) and reused.\n"
      << "# token = \"...\"               # the admin token: every /api call\n"
      << "# join_token = \"...\"          # admits new engines (POST /register)\n"
      << "# domain_join_token = \"...\"   # role cluster: admits new domains\n"
      << "# Or each in a file (one line), or a systemd credential named like the key:\n"
      << "# token_file = \"/etc/aether/admin.token\"\n"
      << "# join_token_file = \"/etc/aether/join.token\"\n"
      << "# domain_join_token_file = \"/etc/aether/domain_join.token\"\n\n"
      << "[database]\n"
      << "path = \"" << d.database.path << "\"\n"
      << "max_events = " << d.database.max_events
      << "     # events kept (GET /api/events); older ones are pruned\n"
      << "keep_versions = " << d.database.keep_versions
      << "     # versions kept per function (rollback targets); 0 = all\n\n"
      << "[store]\n"
      << "backend = \"sqlite\"      # or \"etcd\": the state in an etcd cluster (the "
         "directory of [database] path still holds tokens and artifacts)\n"
      << "# endpoints = [\"http://etcd-1:2379\", \"http://etcd-2:2379\", \"http://etcd-3:2379\"]\n"
      << "# prefix = \"/aether/\"     # every key starts with it\n"
      << "# username = \"aether\"     # etcd authentication\n"
      << "# password = \"...\"        # better: the AETHER_ETCD_PASSWORD variable\n"
      << "# request_timeout = \"5s\"\n"
      << "# ca_file = \"/etc/aether/etcd-ca.pem\"      # https:// endpoints: the CA to trust\n"
      << "# cert_file = \"/etc/aether/etcd-client.pem\" # and the client certificate etcd asks "
         "for\n"
      << "# key_file = \"/etc/aether/etcd-client.key\"\n\n"
      << "[cluster]                # several replicas on one etcd store elect a leader\n"
      << "lease_ttl = \"5s\"         # the leader's lease: a dead leader is replaced within ~2x "
         "this\n"
      << "# replica_id = \"control-1\"  # default: generated once, kept in the data directory\n"
      << "# advertise_url = \"http://10.0.0.5:9090\"  # where the other replicas reach this one "
         "(default: its own URL)\n"
      << "# ca_file = \"/etc/aether/ca.pem\"  # https replicas: the CA to trust\n\n"
      << "[gateway]\n"
      << "workers = " << d.gateway.workers
      << "          # /api/invoke forwards in flight at once (no thread each)\n"
      << "queue_length = " << d.gateway.queue_length
      << "   # forwards waiting for one of those; more get 503 overloaded\n"
      << "max_connections_per_node = " << d.gateway.max_connections_per_node
      << "   # connections to one engine, busy or idle\n\n"
      << "[registry]\n"
      << "node_timeout = \"" << FormatDuration(d.registry.node_timeout)
      << "\"        # a node silent this long is down\n"
      << "heartbeat_interval = \"" << FormatDuration(d.registry.heartbeat_interval)
      << "\"  # how often engines beat (told at registration)\n\n"
      << "[domain]                 # orchestration domains (docs/domains.md)\n"
      << "role = \"both\"            # both: one control plane over its nodes; cluster: the "
         "controller of domains; domain: a domain orchestrator under a controller\n"
      << "# id = \"site-a\"          # role domain: this domain's id (default: the host name)\n"
      << "# controller = [\"http://controller:9090\"]  # role domain: the controller's URLs\n"
      << "# join_token = \"...\"     # role domain: the controller's domain join token (or "
         "AETHER_DOMAIN_JOIN_TOKEN)\n"
      << "# join_token_file = \"/etc/aether/domain_join.token\"  # or in a file, or the "
         "credential domain_join_token\n"
      << "# url = \"http://10.0.0.5:9090\"  # role domain: where the controller reaches this "
         "domain (default: its own URL)\n"
      << "# labels = { region = \"eu\" }\n"
      << "timeout = \"" << FormatDuration(d.domain.timeout)
      << "\"          # role cluster: a domain silent this long is down\n"
      << "heartbeat_interval = \"" << FormatDuration(d.domain.heartbeat_interval)
      << "\"  # role cluster: how often domains beat\n\n"
      << "[workflow]\n"
      << "# A new workflow instance goes, among the nodes that may take it (fewest\n"
      << "# instances of its component first): least-loaded (fewest workflow\n"
      << "# instances, then load), round-robin, or weighted-random (by workers).\n"
      << "placement = \"" << d.workflow.placement << "\"\n\n"
      << "[runtime]\n"
      << "exec_timeout = \"" << FormatDuration(d.runtime.exec_timeout)
      << "\"   # the engines' cap the gateway assumes (it waits this + 10s)\n"
      << "# Deploys are validated against these before they are stored (each engine\n"
      << "# applies its own [runtime] values again when it compiles).\n"
      << "max_functions = " << d.runtime.max_functions << "\n"
      << "max_function_locals = " << d.runtime.max_function_locals << "\n"
      << "max_module_locals = " << d.runtime.max_module_locals << "\n"
      << "max_function_size = \"" << FormatSize(d.runtime.max_function_size) << "\"\n"
      << "max_code_size = \"" << FormatSize(d.runtime.max_code_size) << "\"\n"
      << "compile_timeout = \"" << FormatDuration(d.runtime.compile_timeout) << "\"\n"
      << "compile_memory_limit = \"" << FormatSize(d.runtime.compile_memory_limit) << "\"\n"
      << "# Deploys: larger modules get 413, more or larger env variables 400.\n"
      << "max_module_size = \"" << FormatSize(d.runtime.max_module_size) << "\"\n"
      << "max_env_vars = " << d.runtime.max_env_vars << "\n"
      << "max_env_size = \"" << FormatSize(d.runtime.max_env_size)
      << "\"   # keys + values, all variables of a function\n\n"
      << "[log]\n"
      << "level = \"info\"\n";
  } else if (role == "cli") {
    o << "# aether CLI configuration (~/.config/aether/cli.toml). It can hold the admin\n"
      << "# token: keep it private (chmod 600).\n"
      << "control = \"http://127.0.0.1:9090\"   # or AETHER_CONTROL; replicas: \"http://a:9090,"
         "http://b:9090\"\n"
      << "# token = \"...\"                      # or AETHER_TOKEN\n"
      << "# ca_file = \"/path/ca.pem\"           # or AETHER_CA_FILE, for HTTPS with a private "
         "CA\n";
  } else {
    return InvalidArgument("unknown config role \"" + std::string(role) +
                           "\" (use engine, control or cli)");
  }
  return o.str();
}

std::set<std::string> KnownConfigKeys() {
  std::set<std::string> keys;
  key_census = &keys;
  (void)ParseConfig("", "census");
  key_census = nullptr;
  return keys;
}

}  // namespace aether
