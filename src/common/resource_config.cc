#include "common/resource_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>
#include <string>

namespace aether {
namespace {

constexpr uint64_t kMaxPayloadBytes =
    1u << 20;  // the workflow payload limit (docs/workflow-protocol.md)

// The first characters of a user's value, printable, for messages: values
// can be long or binary and must not garble a one-line error.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 48;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

std::string Join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

Status KeyError(std::string_view key, std::string what) {
  return InvalidArgument(std::string(key) + ": " + what);
}

// Every key of `c` must be one of `known` (sorted): a typo would otherwise
// silently fall back to a default.
Status CheckKeys(const ResourceConfigMap& c, const std::vector<std::string>& known) {
  for (const auto& [key, value] : c) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string shown = key.size() <= 64 ? key : key.substr(0, 64) + "...";
      return InvalidArgument(shown + ": unknown key (known keys: " + Join(known) + ")");
    }
  }
  return OkStatus();
}

const std::string* Find(const ResourceConfigMap& c, std::string_view key) {
  auto it = c.find(std::string(key));
  return it == c.end() ? nullptr : &it->second;
}

// A whole decimal number in [lo, hi]. Signs, fractions, exponents and hex
// are refused: "1e3" or "0x10" in a limit is more likely a mistake than a
// wish, and the engine and control plane must read the same value.
Result<uint64_t> Number(std::string_view key, std::string_view text, uint64_t lo, uint64_t hi) {
  bool digits = !text.empty() && text.size() <= 20;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  uint64_t v = 0;
  if (digits) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    digits = ec == std::errc() && p == text.data() + text.size();
    if (ec == std::errc::result_out_of_range) {
      return KeyError(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                               ", got " + Quote(text));
    }
  }
  if (!digits) return KeyError(key, "must be a whole decimal number, got " + Quote(text));
  if (v < lo || v > hi) {
    return KeyError(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                             ", got " + std::to_string(v));
  }
  return v;
}

Result<uint64_t> NumberOr(const ResourceConfigMap& c, std::string_view key, uint64_t fallback,
                          uint64_t lo, uint64_t hi) {
  const std::string* v = Find(c, key);
  if (v == nullptr) return fallback;
  return Number(key, *v, lo, hi);
}

// The index of the value among `choices`; absent = 0, the default.
Result<size_t> Choice(const ResourceConfigMap& c, std::string_view key,
                      const std::vector<std::string>& choices) {
  const std::string* v = Find(c, key);
  if (v == nullptr) return size_t{0};
  for (size_t i = 0; i < choices.size(); ++i) {
    if (*v == choices[i]) return i;
  }
  return KeyError(key, "must be " + Join(choices, " or ") + ", got " + Quote(*v));
}

bool IsLowerHex(std::string_view s, size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

Status ValidateIngressPath(std::string_view key, std::string_view path) {
  if (path.empty()) return KeyError(key, "must not be empty");
  if (path.size() > 256) return KeyError(key, "at most 256 characters");
  if (path.front() == '/' || path.back() == '/') {
    return KeyError(
        key,
        "must not start or end with '/' (it is relative to /wf/{workflow}/), got " + Quote(path));
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg.empty()) return KeyError(key, "empty segment (\"//\") in " + Quote(path));
    for (char c : seg) {
      if (!IsPathChar(c)) {
        return KeyError(
            key, "segments use only lower-case letters, digits, '_' and '-', got " + Quote(path));
      }
    }
    start = end + 1;
  }
  return OkStatus();
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

// A DNS name or IPv4 address: letters, digits, '-' and '.', labels not
// empty and not starting or ending with '-'. Bracketed IPv6 is left out
// until someone needs it.
bool ValidHost(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t end = host.find('.', start);
    if (end == std::string_view::npos) end = host.size();
    std::string_view label = host.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      if (!IsHostChar(c)) return false;
    }
    start = end + 1;
  }
  return true;
}

// "host" or "host:port" into its parts; `what` names the value in errors.
Status SplitHostPort(std::string_view key, std::string_view text, std::string* host,
                     std::optional<uint16_t>* port) {
  size_t colon = text.rfind(':');
  std::string_view h = colon == std::string_view::npos ? text : text.substr(0, colon);
  if (!ValidHost(h)) {
    return KeyError(key, "invalid host " + Quote(h) + " (use letters, digits, '-' and '.')");
  }
  *host = std::string(h);
  for (char& c : *host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  port->reset();
  if (colon != std::string_view::npos) {
    std::string_view p = text.substr(colon + 1);
    Result<uint64_t> n = Number(key, p, 1, 65535);
    if (!n.ok())
      return KeyError(key, "invalid port " + Quote(p) + " in " + Quote(text) + " (1..65535)");
    *port = static_cast<uint16_t>(*n);
  }
  return OkStatus();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A comma list, entries trimmed; empty entries are errors ("a,,b").
Result<std::vector<std::string>> CommaList(std::string_view key, std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = Trim(text.substr(start, end - start));
    if (item.empty()) return KeyError(key, "empty entry in the comma list " + Quote(text));
    out.emplace_back(item);
    start = end + 1;
  }
  return out;
}

bool Printable(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}

}  // namespace

const std::vector<std::string>& ConfigKeys(std::string_view class_type) {
  static const std::map<std::string, std::vector<std::string>, std::less<>> kKeys = {
      {"http-ingress",
       {"async", "content_type", "encode_base64", "format", "host", "method", "methods", "mode",
        "path", "timeout_ms", "token_sha256", "wf_id"}},
      {"http-egress", {"allow", "format", "max_response_bytes", "timeout_ms"}},
      {"file-log", {"add-source-id", "add-timestamp", "filename", "max_bytes"}},
      {"file-pusher", {"encode-base64", "period-ms"}},
      {"http-poster", {"allow", "decode_base64", "timeout_ms", "url"}},
      {"kv", {"max_keys", "max_value_bytes", "storage"}},
      {"redis", {"add-workflow-id", "call", "key", "mode", "url"}},
      {"sqlx", {"database", "url"}},
      {"timer", {"payload", "period_ms"}},
      {std::string(kPortalClass), {"batch_events", "queue_length", "timeout_ms", "token", "url"}},
  };
  static const std::vector<std::string> kNone;
  auto it = kKeys.find(class_type);
  return it == kKeys.end() ? kNone : it->second;
}

const std::vector<std::string>& KnownResourceClasses() {
  static const std::vector<std::string> kClasses = {"file-log",     "file-pusher", "http-egress",
                                                    "http-ingress", "http-poster", "kv",
                                                    "redis",        "sqlx",        "timer"};
  return kClasses;
}

Result<HttpIngressConfig> ParseHttpIngressConfig(const ResourceConfigMap& c,
                                                 std::string_view component) {
  RETURN_IF_ERROR(CheckKeys(c, ConfigKeys("http-ingress")));
  HttpIngressConfig out;
  const std::string* path = Find(c, "path");
  out.path = path ? *path : std::string(component);
  RETURN_IF_ERROR(ValidateIngressPath("path", out.path));

  ASSIGN_OR_RETURN(size_t mode, Choice(c, "mode", {"call", "cast", "portal"}));
  out.call = mode == 0;
  out.portal = mode == 2;
  // EDGELESS's "async": "true" is a cast, else a call.
  if (const std::string* async = Find(c, "async")) {
    ASSIGN_OR_RETURN(size_t a, Choice(c, "async", {"false", "true"}));
    if (Find(c, "mode") != nullptr && (a == 1) != (mode == 1)) {
      return KeyError("async", "says " + Quote(*async) + " but mode says " +
                                   Quote(*Find(c, "mode")) + "; keep one of them");
    }
    out.call = a == 0;
  }
  RETURN_IF_ERROR(Choice(c, "wf_id", {"false", "true"}).status());
  ASSIGN_OR_RETURN(size_t base64, Choice(c, "encode_base64", {"false", "true"}));
  out.encode_base64 = base64 == 1;
  ASSIGN_OR_RETURN(size_t format, Choice(c, "format", {"raw", "edgeless"}));
  out.edgeless = format == 1;
  const std::string* token = Find(c, "token_sha256");
  if (out.portal) {
    if (token == nullptr || !IsLowerHex(*token, 64)) {
      return KeyError("token_sha256", "required in portal mode: 64 lower-case hex digits");
    }
    out.token_sha256 = *token;
  } else if (token != nullptr) {
    return KeyError("token_sha256", "only an ingress in portal mode takes a token");
  }

  // "method" is EDGELESS's spelling, where "" allows every method.
  const std::string* methods = Find(c, "methods");
  std::string_view methods_key = "methods";
  if (const std::string* method = Find(c, "method")) {
    if (methods != nullptr) return KeyError("method", "give \"methods\" or \"method\", not both");
    methods = method;
    methods_key = "method";
  }
  std::string all = "GET,POST,PUT,PATCH,DELETE";
  if (methods != nullptr && methods->empty() && methods_key == "method") methods = &all;
  ASSIGN_OR_RETURN(std::vector<std::string> list,
                   CommaList(methods_key, methods ? *methods : "POST,PUT"));
  static const std::set<std::string> kAllowed = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  for (std::string m : list) {
    for (char& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (!kAllowed.contains(m)) {
      return KeyError(methods_key,
                      "unsupported method " + Quote(m) + " (use GET, POST, PUT, PATCH, DELETE)");
    }
    if (std::find(out.methods.begin(), out.methods.end(), m) == out.methods.end())
      out.methods.push_back(m);
  }

  ASSIGN_OR_RETURN(uint64_t timeout, NumberOr(c, "timeout_ms", 5000, 1, 60000));
  out.timeout = std::chrono::milliseconds(timeout);

  if (const std::string* ct = Find(c, "content_type")) {
    if (ct->empty() || ct->size() > 256 || !Printable(*ct) || ct->find('/') == std::string::npos) {
      return KeyError("content_type",
                      "must be a media type like \"application/json\" (printable, at most 256 "
                      "characters), got " +
                          Quote(*ct));
    }
    out.content_type = *ct;
  }

  // EDGELESS's ingress routes by the Host header; Aether routes by path, so
  // "host" is checked (so a typo still fails) but does not restrict requests.
  if (const std::string* host = Find(c, "host")) {
    if (!ValidHost(*host)) return KeyError("host", "invalid host " + Quote(*host));
  }
  return out;
}

std::string EgressAllowEntry::ToString() const {
  std::string host;
  switch (kind) {
    case Kind::kName:
      host = name;
      break;
    case Kind::kAddress:
      host = network.base.ToString();
      break;
    case Kind::kNetwork:
      host = network.ToString();
      break;
  }
  if (network.base.v6 && kind != Kind::kName) host = "[" + host + "]";
  return port == 0 ? host : host + ":" + std::to_string(port);
}

Result<EgressAllowEntry> ParseEgressAllowEntry(std::string_view text) {
  if (text.find("://") != std::string_view::npos) {
    return InvalidArgument(Quote(text) + ": give host or host:port, not a URL");
  }
  std::string_view host = text;
  std::optional<std::string_view> port;
  bool bracketed = text.starts_with('[');
  if (bracketed) {
    size_t close = text.find(']');
    std::string_view rest = close == std::string_view::npos ? "x" : text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      return InvalidArgument("invalid IPv6 entry " + Quote(text) + " (write [::1] or [::1]:8080)");
    }
    host = text.substr(1, close - 1);
    if (!rest.empty()) port = rest.substr(1);
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    if (text.find(':', colon + 1) != std::string_view::npos) {
      return InvalidArgument(Quote(text) +
                             ": write an IPv6 address in brackets ([::1] or [::1]:8080)");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  EgressAllowEntry out;
  if (port) {
    Result<uint64_t> n = Number("allow", *port, 1, 65535);
    if (!n.ok())
      return InvalidArgument("invalid port " + Quote(*port) + " in " + Quote(text) + " (1..65535)");
    out.port = static_cast<uint16_t>(*n);
  }
  if (host.find('/') != std::string_view::npos) {
    std::optional<IpNetwork> net = ParseIpNetwork(host);
    if (!net || net->base.v6 != bracketed) {
      return InvalidArgument(
          "invalid CIDR range " + Quote(host) +
          " (write 10.0.0.0/8 or [fd00::/8], host bits zero; a URL is not an entry)");
    }
    out.kind = EgressAllowEntry::Kind::kNetwork;
    out.network = *net;
    return out;
  }
  std::optional<IpAddress> address;
  if (bracketed) {
    address = ParseIpAddress(host);
    if (!address || !address->v6) return InvalidArgument("invalid IPv6 address " + Quote(host));
  } else if (LooksLikeIpv4(host)) {
    // Resolvers read "2130706433" or "0x7f.1" as 127.0.0.1: only the
    // standard spelling is an entry, so a list says plainly what it allows.
    address = ParseIpAddress(host);
    if (!address) {
      std::optional<IpAddress> legacy = ParseIpv4AnySpelling(host);
      if (!legacy) return InvalidArgument("invalid IPv4 address " + Quote(host));
      return InvalidArgument(Quote(host) + " is an unusual spelling of the IPv4 address " +
                             legacy->ToString() + "; write " + legacy->ToString());
    }
  }
  if (address) {
    IpAddress a = address->Unmapped();
    out.kind = EgressAllowEntry::Kind::kAddress;
    out.network = IpNetwork{a, a.bits()};
    return out;
  }
  if (!ValidHost(host)) {
    return InvalidArgument("invalid host " + Quote(host) +
                           " (use letters, digits, '-' and '.'; an IPv6 address goes in brackets)");
  }
  out.name = std::string(host);
  for (char& c : out.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {

// The "allow" key of http-egress and http-poster: the normalized entries
// in *allow_out, or *node_policy when the key is absent.
Status ParseAllowKey(const ResourceConfigMap& c, std::vector<std::string>* allow_out,
                     bool* node_policy) {
  const std::string* allow = Find(c, "allow");
  if (allow == nullptr) {
    // EDGELESS's http-egress reaches any host. Here the node decides
    // ([workflow] egress_default): public addresses only, or nothing.
    *node_policy = true;
    return OkStatus();
  }
  if (Trim(*allow).empty()) {
    return KeyError("allow",
                    "is empty: list the hosts the functions may reach, or leave the key "
                    "out for the engine's [workflow] egress_default");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> list, CommaList("allow", *allow));
  if (list.size() > 256) return KeyError("allow", "at most 256 entries");
  for (const std::string& entry : list) {
    Result<EgressAllowEntry> e = ParseEgressAllowEntry(entry);
    if (!e.ok()) return KeyError("allow", e.status().message());
    std::string norm = e->ToString();
    if (std::find(allow_out->begin(), allow_out->end(), norm) == allow_out->end())
      allow_out->push_back(norm);
  }
  return OkStatus();
}

}  // namespace

Result<HttpEgressConfig> ParseHttpEgressConfig(const ResourceConfigMap& c) {
  RETURN_IF_ERROR(CheckKeys(c, ConfigKeys("http-egress")));
  HttpEgressConfig out;
  ASSIGN_OR_RETURN(size_t format, Choice(c, "format", {"raw", "edgeless"}));
  out.edgeless = format == 1;
  RETURN_IF_ERROR(ParseAllowKey(c, &out.allow, &out.node_policy));
  ASSIGN_OR_RETURN(uint64_t timeout, NumberOr(c, "timeout_ms", 5000, 1, 60000));
  out.timeout = std::chrono::milliseconds(timeout);
  ASSIGN_OR_RETURN(out.max_response, NumberOr(c, "max_response_bytes", 1u << 20, 1, 16u << 20));
  return out;
}

Result<FileLogConfig> ParseFileLogConfig(const ResourceConfigMap& c, std::string_view component) {
  RETURN_IF_ERROR(CheckKeys(c, ConfigKeys("file-log")));
  FileLogConfig out;
  const std::string* name = Find(c, "filename");
  out.filename = name ? *name : std::string(component) + ".log";
  auto valid_char = [](char ch) { return IsHostChar(ch) || ch == '_'; };
  bool ok = !out.filename.empty() && out.filename.size() <= 128 && out.filename.front() != '.';
  for (char ch : out.filename) ok = ok && valid_char(ch);
  if (!ok) {
    // No '/' and no leading '.': the file must stay inside the node's data
    // dir and be neither hidden nor "..".
    return KeyError("filename",
                    "use 1 to 128 letters, digits, '.', '_' and '-', not starting with '.', got " +
                        Quote(out.filename));
  }
  ASSIGN_OR_RETURN(out.max_bytes, NumberOr(c, "max_bytes", 64ull << 20, 1024, 1ull << 40));
  ASSIGN_OR_RETURN(size_t ts, Choice(c, "add-timestamp", {"false", "true"}));
  out.add_timestamp = ts == 1;
  ASSIGN_OR_RETURN(size_t source, Choice(c, "add-source-id", {"false", "true"}));
  out.add_source_id = source == 1;
  return out;
}

Result<KvConfig> ParseKvConfig(const ResourceConfigMap& c) {
  RETURN_IF_ERROR(CheckKeys(c, ConfigKeys("kv")));
  KvConfig out;
  ASSIGN_OR_RETURN(out.max_keys, NumberOr(c, "max_keys", 10000, 1, 1000000));
  ASSIGN_OR_RETURN(out.max_value_bytes, NumberOr(c, "max_value_bytes", 65536, 1, 1u << 20));
  ASSIGN_OR_RETURN(size_t storage, Choice(c, "storage", {"memory", "durable"}));
  out.durable = storage == 1;
  return out;
}

Result<RedisConfig> ParseRedisConfig(const ResourceConfigMap& c) {
  RETURN_IF_ERROR(CheckKeys(c, ConfigKeys("redis")));
  RedisConfig out;
  if (const std::string* url = Find(c, "url")) {
    std::string_view u = *url;
    if (!u.starts_with("redis://")) {
      return KeyError("url", u.starts_with("rediss://")
                                 ? "TLS (rediss://) is not supported yet; use redis://host[:port]"
                                 : "must be redis://host[:port], got " + Quote(u));
    }
    u.remove_prefix(8);
    // EDGELESS's examples end the URL with '/': an empty database part is
    // the default database, which is all Aether supports.
    if (u.ends_with('/')) u.remove_suffix(1);
    if (u.find('@') != std::string_view::npos) {
      return KeyError(
          "url", "authentication (user:password@) is not supported yet; use redis://host[:port]");
    }
    if (u.find('/') != std::string_view::npos || u.find('?') != std::string_view::npos) {
      return KeyError(
          "url",
          "selecting a database (/N) or options is not supported yet; use redis://host[:port]");
    }
    std::optional<uint16_t> port;
    RETURN_IF_ERROR(SplitHostPort("url", u, &out.host, &port));
    if (port) out.port = *port;
  }
  ASSIGN_OR_RETURN(size_t workflow_id, Choice(c, "add-workflow-id", {"false", "true"}));
  out.add_workflow_id = workflow_id == 1;
  ASSIGN_OR_RETURN(size_t call, Choice(c, "call", {"write", "get"}));
  out.call_get = call == 1;
  const std::string* key = Find(c, "key");
  if (key != nullptr && key->size() > kMaxRedisKeyBytes)
    return KeyError("key", "at most 512 bytes");
  if ((key == nullptr || key->empty()) && !out.call_get) {
    return KeyError("key",
                    "required: the Redis key the payloads go to (optional only with \"call\": "
                    "\"get\", where casts then fail)");
  }
  if (key != nullptr) out.key = *key;
  ASSIGN_OR_RETURN(size_t mode, Choice(c, "mode", {"set", "rpush"}));
  out.rpush = mode == 1;
  return out;
}

Result<TimerConfig> ParseTimerConfig(const ResourceConfigMap& c) {
  RETURN_IF_ERROR(CheckKeys(c, ConfigKeys("timer")));
  TimerConfig out;
  const std::string* period = Find(c, "period_ms");
  if (period == nullptr)
    return KeyError("period_ms", "required: the period in milliseconds (10..86400000)");
  ASSIGN_OR_RETURN(uint64_t ms, Number("period_ms", *period, 10, 86400000));
  out.period = std::chrono::milliseconds(ms);
  if (const std::string* payload = Find(c, "payload")) {
    if (payload->size() > kMaxPayloadBytes) return KeyError("payload", "at most 1 MiB");
    out.payload = *payload;
  }
  return out;
}

Result<HttpPosterConfig> ParseHttpPosterConfig(const ResourceConfigMap& c) {
  RETURN_IF_ERROR(CheckKeys(c, ConfigKeys("http-poster")));
  HttpPosterConfig out;
  // The scheme and credentials here; the host and port against the allow
  // list when the resource is created (workflow/resources/egress_policy.h).
  const std::string* url = Find(c, "url");
  if (url == nullptr || url->empty()) {
    return KeyError("url", "required: the http:// or https:// URL the payloads are posted to");
  }
  std::string_view u = *url;
  if (u.size() > 2048 || !Printable(u) || u.find(' ') != std::string_view::npos) {
    return KeyError("url", "must be a URL of at most 2048 printable characters without spaces");
  }
  size_t scheme = u.starts_with("http://") ? 7 : u.starts_with("https://") ? 8 : 0;
  if (scheme == 0) {
    return KeyError("url", "must start with http:// or https://, got " +
                               Quote(u.substr(0, u.find_first_of("?#"))));
  }
  std::string_view authority = u.substr(scheme, u.find_first_of("/?#", scheme) - scheme);
  if (authority.find('@') != std::string_view::npos) {
    return KeyError("url", "credentials in the URL (user:password@) are not supported");
  }
  if (authority.empty() || authority.starts_with(':')) return KeyError("url", "has no host");
  out.url = *url;
  ASSIGN_OR_RETURN(size_t base64, Choice(c, "decode_base64", {"false", "true"}));
  out.decode_base64 = base64 == 1;
  RETURN_IF_ERROR(ParseAllowKey(c, &out.allow, &out.node_policy));
  ASSIGN_OR_RETURN(uint64_t timeout, NumberOr(c, "timeout_ms", 5000, 1, 60000));
  out.timeout = std::chrono::milliseconds(timeout);
  return out;
}

Result<FilePusherConfig> ParseFilePusherConfig(const ResourceConfigMap& c) {
  RETURN_IF_ERROR(CheckKeys(c, ConfigKeys("file-pusher")));
  FilePusherConfig out;
  ASSIGN_OR_RETURN(uint64_t ms, NumberOr(c, "period-ms", 1000, 1, 86400000));
  out.period = std::chrono::milliseconds(ms);
  ASSIGN_OR_RETURN(size_t base64, Choice(c, "encode-base64", {"false", "true"}));
  out.encode_base64 = base64 == 1;
  return out;
}

Status CheckPostgresUrl(std::string_view url) {
  if (url.empty() || url.size() > 2048 || !Printable(url) ||
      url.find(' ') != std::string_view::npos) {
    return InvalidArgument("must be a URL of at most 2048 printable characters without spaces");
  }
  size_t scheme = url.starts_with("postgres://") ? 11 : url.starts_with("postgresql://") ? 13 : 0;
  if (scheme == 0) {
    return InvalidArgument("must start with postgresql:// or postgres://, got " +
                           Quote(url.substr(0, url.find_first_of("@?"))));
  }
  std::string_view authority = url.substr(scheme, url.find_first_of("/?", scheme) - scheme);
  size_t at = authority.rfind('@');
  bool password =
      at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos;
  size_t query = url.find('?');
  if (query != std::string_view::npos) {
    std::string_view q = url.substr(query);
    password = password || q.find("?password=") != std::string_view::npos ||
               q.find("&password=") != std::string_view::npos;
  }
  if (password) {
    // The message never repeats the URL: it holds the secret.
    return InvalidArgument(
        "holds a password; write postgresql://user@host:port/db and put the password in the "
        "[[workflow.sql]] password_file");
  }
  return OkStatus();
}

Status ValidateSqlDatabaseName(std::string_view name) {
  if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), IsPathChar)) {
    return InvalidArgument("must be 1 to 64 of a-z, 0-9, '_' and '-', got " + Quote(name));
  }
  return OkStatus();
}

Result<SqlxConfig> ParseSqlxConfig(const ResourceConfigMap& c) {
  RETURN_IF_ERROR(CheckKeys(c, ConfigKeys("sqlx")));
  SqlxConfig out;
  const std::string* url = Find(c, "url");
  const std::string* database = Find(c, "database");
  if ((url == nullptr) == (database == nullptr)) {
    return KeyError("url", url == nullptr
                               ? "required: sqlite://NAME (a file of the workflow's own), or "
                                 "\"database\": a PostgreSQL database of the engine's "
                                 "[[workflow.sql]]"
                               : "give \"url\" or \"database\", not both");
  }
  if (database != nullptr) {
    if (Status st = ValidateSqlDatabaseName(*database); !st.ok()) {
      return KeyError("database", st.message());
    }
    out.backend = SqlxConfig::Backend::kPostgres;
    out.database = *database;
    return out;
  }
  std::string_view u = *url;
  if (u.starts_with("postgres://") || u.starts_with("postgresql://")) {
    if (Status st = CheckPostgresUrl(u); !st.ok()) return KeyError("url", st.message());
    out.backend = SqlxConfig::Backend::kPostgres;
    out.postgres_url = *url;
    return out;
  }
  if (u == "sqlite::memory:") {
    out.memory = true;
    return out;
  }
  size_t prefix = u.starts_with("sqlite://") ? 9 : u.starts_with("sqlite:") ? 7 : 0;
  if (prefix == 0) {
    return KeyError("url", "must be sqlite://NAME, sqlite::memory: or postgresql://..., got " +
                               Quote(u.substr(0, u.find_first_of("@?"))));
  }
  std::string_view name = u.substr(prefix);
  if (name.find('?') != std::string_view::npos) {
    return KeyError("url", "options after '?' are not supported; write sqlite://NAME");
  }
  auto valid_char = [](char ch) { return IsHostChar(ch) || ch == '_'; };
  // A file name, no directory: the database stays in the workflow's own
  // directory (no '/', no "..", no hidden file, nothing unprintable).
  if (name.empty() || name.size() > 128 || name.front() == '.' ||
      !std::all_of(name.begin(), name.end(), valid_char)) {
    return KeyError("url",
                    "the SQLite database is a file name: 1 to 128 letters, digits, '.', '_' and "
                    "'-', not starting with '.' (it is kept in the workflow's own directory), "
                    "got " +
                        Quote(name));
  }
  out.sqlite_name = std::string(name);
  return out;
}

Result<PortalConfig> ParsePortalConfig(const ResourceConfigMap& c) {
  RETURN_IF_ERROR(CheckKeys(c, ConfigKeys(kPortalClass)));
  PortalConfig out;
  const std::string* url = Find(c, "url");
  if (url == nullptr || url->size() > 2048 || !Printable(*url) ||
      url->find(' ') != std::string::npos ||
      !(url->starts_with("http://") || url->starts_with("https://")) ||
      url->find("/wf/") == std::string::npos) {
    return KeyError("url", "required: http(s)://host[:port]/wf/{workflow}/{path}");
  }
  out.url = *url;
  const std::string* token = Find(c, "token");
  if (token == nullptr || !IsLowerHex(*token, 64)) {
    return KeyError("token", "required: 64 lower-case hex digits");
  }
  out.token = *token;
  ASSIGN_OR_RETURN(out.queue_length, NumberOr(c, "queue_length", out.queue_length, 1, 1000000));
  ASSIGN_OR_RETURN(out.batch_events, NumberOr(c, "batch_events", out.batch_events, 1, 4096));
  ASSIGN_OR_RETURN(uint64_t timeout,
                   NumberOr(c, "timeout_ms", static_cast<uint64_t>(out.timeout.count()), 1, 60000));
  out.timeout = std::chrono::milliseconds(timeout);
  return out;
}

bool IsPortalOnly(std::string_view class_type, const ResourceConfigMap& c) {
  if (class_type == kPortalClass) return true;
  if (class_type != "http-ingress") return false;
  const std::string* mode = Find(c, "mode");
  const std::string* path = Find(c, "path");
  return (mode != nullptr && *mode == "portal") || Find(c, "token_sha256") != nullptr ||
         (path != nullptr && (*path == "_portal" || path->starts_with("_portal/")));
}

Status ValidateResourceConfig(std::string_view class_type, const ResourceConfigMap& c,
                              std::string_view component) {
  if (class_type == "http-ingress") return ParseHttpIngressConfig(c, component).status();
  if (class_type == "http-egress") return ParseHttpEgressConfig(c).status();
  if (class_type == "file-log") return ParseFileLogConfig(c, component).status();
  if (class_type == "kv") return ParseKvConfig(c).status();
  if (class_type == "redis") return ParseRedisConfig(c).status();
  if (class_type == "timer") return ParseTimerConfig(c).status();
  if (class_type == "http-poster") return ParseHttpPosterConfig(c).status();
  if (class_type == "file-pusher") return ParseFilePusherConfig(c).status();
  if (class_type == "sqlx") return ParseSqlxConfig(c).status();
  if (class_type == kPortalClass) return ParsePortalConfig(c).status();
  return InvalidArgument("unknown resource class " + Quote(class_type) +
                         " (known: " + Join(KnownResourceClasses()) + ")");
}

}  // namespace aether
