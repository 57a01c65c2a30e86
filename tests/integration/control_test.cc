// aether-control end to end: the real binary on 127.0.0.1 (a free port) with
// a temp data dir; engines are played by in-process HTTP servers where the
// gateway needs one. Uses the process helpers of process.h.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "common/http_server.h"
#include "common/sha256.h"
#include "common/testing/http_error.h"
#include "common/testing/http_fetch.h"
#include "etcd_cluster.h"
#include "process.h"

namespace aether::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kControl = std::string(AETHER_BIN_DIR) + "/aether-control";

std::string GuestBytes(const std::string& name) {
  return ReadFile(std::string(AETHER_GUEST_DIR) + "/" + name + ".wasm");
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

json::object Obj(const HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << r.body;
    return {};
  }
  return v.as_object();
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t Int(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : (v && v->is_uint64() ? int64_t(v->as_uint64()) : -1);
}

// One aether-control with its own data dir; restartable on the same data.
class Control {
 public:
  // `extra_config` goes in [runtime] (or opens sections of its own);
  // `database_config` in [database].
  explicit Control(const std::string& extra_config = "", const std::string& database_config = "") {
    config_ = dir_ / "control.toml";
    WriteFile(config_, "[database]\npath = \"" + data() + "/aether.db\"\n" + database_config +
                           "[server]\nmax_body = \"1MB\"\n" +
                           "[registry]\nnode_timeout = \"1s\"\nheartbeat_interval = \"200ms\"\n" +
                           "[runtime]\nexec_timeout = \"2s\"\n" + extra_config);
    Start();
  }

  void Start() {
    auto p = ServerProcess::Start(kControl, {"--config", config_, "--port", "0"},
                                  dir_ / ("control-" + std::to_string(starts_++) + ".log"));
    if (!p.ok()) {
      ADD_FAILURE() << p.status().message();
      return;
    }
    process_ = std::move(p).value();
    admin_ = Trim(ReadFile(data() + "/admin.token"));
    join_ = Trim(ReadFile(data() + "/join.token"));
  }

  // kill -9 by PID; the ServerProcess destructor reaps it.
  void Kill9() {
    ::kill(process_->pid(), SIGKILL);
    process_.reset();
  }

  bool ok() const { return process_ != nullptr; }
  std::string data() const { return dir_ / "data"; }
  const std::string& admin() const { return admin_; }
  const std::string& join() const { return join_; }
  ServerProcess& process() { return *process_; }

  // `token`: "admin" / "join" / "node:ID" (the credential Register got for
  // ID, with X-Aether-Node) / "" (none) / anything else is sent as is.
  HttpResponse Call(std::string_view method, const std::string& path, std::string_view body = {},
                    const std::string& token = "admin", HttpHeaders headers = {},
                    milliseconds timeout = seconds(30)) {
    std::string t = token == "admin" ? admin_ : token == "join" ? join_ : token;
    if (token.starts_with("node:")) {
      headers.emplace_back("X-Aether-Node", token.substr(5));
      t = credentials_[token.substr(5)];
    }
    if (!t.empty()) headers.emplace_back("Authorization", "Bearer " + t);
    auto r = HttpFetch(method, process_->url() + path, body, headers, timeout);
    if (!r.ok()) {
      ADD_FAILURE() << method << " " << path << ": " << r.status().message();
      return HttpResponse{0, "", "", {}};
    }
    return std::move(r).value();
  }

  // POST /register of a new node with the join token; keeps its credential
  // for Call(..., "node:ID").
  HttpResponse Register(const std::string& id, const std::string& url,
                        const std::string& extra = "", const std::string& token = "join") {
    HttpResponse r =
        Call("POST", "/register",
             R"({"node_id":")" + id + R"(","url":")" + url + "\"" + extra + "}", token);
    if (r.status == 200) credentials_[id] = Str(Obj(r), "credential");
    return r;
  }
  const std::string& credential(const std::string& id) { return credentials_[id]; }

  HttpResponse DeployB64(const std::string& name, std::string_view wasm,
                         const std::string& extra = "") {
    return Call("POST", "/api/functions",
                "{\"name\":" + json::serialize(json::value(name)) + ",\"wasm_b64\":\"" +
                    Base64(wasm) + "\"" + extra + "}");
  }

  int64_t Revision() { return Int(Obj(Call("GET", "/health", {}, "")), "revision"); }
  size_t ArtifactFiles() {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(data() + "/artifacts")) n += e.is_regular_file();
    return n;
  }

 private:
  static std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  TempDir dir_;
  std::string config_;
  int starts_ = 0;
  std::unique_ptr<ServerProcess> process_;
  std::string admin_, join_;
  std::map<std::string, std::string> credentials_;  // node id -> its credential
};

TEST(ControlIntegration, DeployVersionsRollbackManifestDelete) {
  Control c;
  ASSERT_TRUE(c.ok());
  std::string hello = GuestBytes("hello"), echo = GuestBytes("echo");

  HttpResponse r = c.DeployB64("hello", hello,
                               R"(,"env":{"GREETING":"hi"},"memory_limit":"16MB","timeout":"2s")");
  ASSERT_EQ(r.status, 201) << r.body;
  json::object d = Obj(r);
  EXPECT_EQ(Str(d, "status"), "deployed");
  EXPECT_EQ(Str(d, "function_id"), "hello@1");
  EXPECT_EQ(Int(d, "version"), 1);
  EXPECT_EQ(Str(d, "sha256"), Sha256Hex(hello));
  EXPECT_EQ(Str(d, "deployed_at").size(), 20u);  // 2024-05-01T12:00:00Z

  r = c.Call("GET", "/api/functions/hello");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object f = Obj(r);
  EXPECT_EQ(Int(f, "version"), 1);
  EXPECT_EQ(Int(f, "size"), static_cast<int64_t>(hello.size()));
  EXPECT_EQ(Str(f["env"].as_object(), "GREETING"), "hi");
  EXPECT_EQ(Str(f, "memory_limit"), "16MB");
  EXPECT_EQ(Str(f, "timeout"), "2s");
  EXPECT_EQ(f["versions"].as_array().size(), 1u);

  // Redeploy with the raw PUT: version 2, different bytes, query settings.
  r = c.Call("PUT", "/api/functions/hello?env=A=1&env=B=x%3Dy&timeout=500ms", echo, "admin",
             {{"Content-Type", "application/wasm"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Int(Obj(r), "version"), 2);
  f = Obj(c.Call("GET", "/api/functions/hello"));
  EXPECT_EQ(Int(f, "version"), 2);
  EXPECT_EQ(Str(f, "sha256"), Sha256Hex(echo));
  EXPECT_EQ(Str(f["env"].as_object(), "B"), "x=y");
  EXPECT_EQ(Int(f, "timeout_ms"), 500);
  ASSERT_EQ(f["versions"].as_array().size(), 2u);

  // Manifest has version and sha256 of the current version.
  json::object m = Obj(c.Call("GET", "/api/functions/manifest"));
  ASSERT_EQ(m["functions"].as_array().size(), 1u);
  json::object item = m["functions"].as_array()[0].as_object();
  EXPECT_EQ(Str(item, "name"), "hello");
  EXPECT_EQ(Int(item, "version"), 2);
  EXPECT_EQ(Str(item, "sha256"), Sha256Hex(echo));
  EXPECT_GE(Int(item, "size_kb"), 1);
  EXPECT_FALSE(Str(item, "uploaded_at").empty());
  int64_t rev = Int(m, "revision");
  EXPECT_GT(rev, 0);

  // Rollback to 1.
  r = c.Call("POST", "/api/functions/hello/rollback", R"({"version":1})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(Obj(r), "function_id"), "hello@1");
  m = Obj(c.Call("GET", "/api/functions/manifest"));
  EXPECT_EQ(Str(m["functions"].as_array()[0].as_object(), "sha256"), Sha256Hex(hello));
  EXPECT_GT(Int(m, "revision"), rev);

  // The list, then delete: the function, its versions and its artifacts go.
  ASSERT_TRUE(c.DeployB64("other", echo).status == 201);
  json::object list = Obj(c.Call("GET", "/api/functions"));
  ASSERT_EQ(list["functions"].as_array().size(), 2u);
  EXPECT_EQ(c.ArtifactFiles(), 2u);
  r = c.Call("DELETE", "/api/functions/hello");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(Obj(r), "versions_removed"), 2);
  EXPECT_TRUE(IsError(c.Call("GET", "/api/functions/hello"), 404, "not_found"));
  EXPECT_EQ(Obj(c.Call("GET", "/api/functions/manifest"))["functions"].as_array().size(), 1u);
  EXPECT_EQ(c.ArtifactFiles(), 1u);  // echo's bytes are still used by "other"
  // Artifacts are served to nodes by sha256 (with their credential; the
  // join token only admits nodes).
  ASSERT_EQ(c.Register("n1", "http://127.0.0.1:1").status, 200);
  r = c.Call("GET", "/node/artifacts/" + Sha256Hex(echo), {}, "node:n1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, echo);
  EXPECT_EQ(r.content_type, "application/wasm");
  EXPECT_TRUE(IsError(c.Call("GET", "/node/artifacts/" + Sha256Hex(hello), {}, "node:n1"), 404,
                      "not_found"));
  EXPECT_TRUE(IsError(c.Call("GET", "/node/artifacts/..%2Fdata%2Faether.db", {}, "node:n1"), 400,
                      "invalid_argument"));
  EXPECT_TRUE(IsError(c.Call("GET", "/node/artifacts/" + Sha256Hex(echo), {}, "join"), 403,
                      "permission_denied"));
}

// The job-* directories under the control plane's data directory.
std::vector<std::filesystem::path> JobDirs(const std::string& data) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(data + "/jobs", ec)) {
    if (e.path().filename().string().starts_with("job-")) out.push_back(e.path());
  }
  return out;
}

// Deploys, registers a node, kills the control plane (-9) right after the
// acknowledgement and checks that everything acknowledged is there after
// a restart, whatever store `c` runs on.
void CheckAcknowledgedDeploySurvivesKill9(Control& c) {
  ASSERT_TRUE(c.ok());
  std::string hello = GuestBytes("hello"), echo = GuestBytes("echo");
  ASSERT_EQ(c.DeployB64("hello", hello).status, 201);
  ASSERT_EQ(c.DeployB64("hello", echo, R"(,"env":{"K":"v"})").status, 201);
  ASSERT_EQ(c.Register("n1", "http://127.0.0.1:1").status, 200);
  std::string admin = c.admin();
  // The spare validator process (started ahead of the next deploy) waits
  // in a job directory under the data directory.
  std::vector<std::filesystem::path> jobs = JobDirs(c.data());
  for (int i = 0; i < 500 && jobs.empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
    jobs = JobDirs(c.data());
  }
  c.Kill9();  // right after the acknowledgement
  ASSERT_FALSE(jobs.empty()) << "no compile job directory under " << c.data() << "/jobs";
  for (const auto& j : jobs) {  // older than the sweep's minimum age
    std::filesystem::last_write_time(
        j, std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  }

  c.Start();
  ASSERT_TRUE(c.ok());
  for (const auto& j : jobs) EXPECT_FALSE(std::filesystem::exists(j)) << j << " was left";
  EXPECT_EQ(c.admin(), admin);  // the generated token is reused
  HttpResponse r = c.Call("GET", "/api/functions/hello");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object f = Obj(r);
  EXPECT_EQ(Int(f, "version"), 2);
  EXPECT_EQ(Str(f, "sha256"), Sha256Hex(echo));
  EXPECT_EQ(Str(f["env"].as_object(), "K"), "v");
  EXPECT_EQ(f["versions"].as_array().size(), 2u);
  r = c.Call("GET", "/node/artifacts/" + Sha256Hex(hello), {}, "node:n1");
  EXPECT_EQ(r.body, hello);
  // The node's credential survived (its digest is in the store).
  EXPECT_EQ(c.Call("POST", "/node/heartbeat", R"({"node_id":"n1"})", "node:n1").status, 200);
  // Numbering continues; the node list survived too.
  EXPECT_EQ(Int(Obj(c.DeployB64("hello", hello)), "version"), 3);
  EXPECT_EQ(Obj(c.Call("GET", "/api/nodes"))["nodes"].as_array().size(), 1u);
}

// [database] keep_versions: the versions a deploy leaves, through the API,
// and a rollback to one it removed answers 404 saying why.
TEST(ControlIntegration, KeepVersionsBoundsTheHistoryOfAFunction) {
  Control c("", "keep_versions = 2\n");
  ASSERT_TRUE(c.ok());
  std::string hello = GuestBytes("hello"), echo = GuestBytes("echo");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(c.DeployB64("f", i % 2 == 0 ? hello : echo).status, 201);
  }
  json::object f = Obj(c.Call("GET", "/api/functions/f"));
  ASSERT_EQ(f["versions"].as_array().size(), 2u);
  EXPECT_EQ(Int(f["versions"].as_array()[0].as_object(), "version"), 2);
  EXPECT_EQ(Int(f, "version"), 3);
  HttpResponse r = c.Call("POST", "/api/functions/f/rollback", R"({"version":1})");
  EXPECT_TRUE(IsError(r, 404, "not_found")) << r.body;
  EXPECT_NE(r.body.find("keep_versions"), std::string::npos) << r.body;
  EXPECT_EQ(c.Call("POST", "/api/functions/f/rollback", R"({"version":2})").status, 200);
}

// One process on SQLite is a cluster of one: /api/cluster lists it as the
// leader, with the modules it holds.
TEST(ControlIntegration, ClusterStatusOnSqliteListsTheOneProcess) {
  Control c;
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c.Call("PUT", "/api/functions/hello", GuestBytes("hello"), "admin",
                   {{"Content-Type", "application/wasm"}})
                .status,
            201);
  HttpResponse r = c.Call("GET", "/api/cluster");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object o = Obj(r);
  EXPECT_EQ(Str(o, "backend"), "sqlite");
  ASSERT_EQ(o["replicas"].as_array().size(), 1u) << r.body;
  json::object self = o["replicas"].as_array()[0].as_object();
  EXPECT_EQ(Str(o, "leader"), Str(self, "id"));
  EXPECT_EQ(Str(self, "role"), "leader");
  EXPECT_EQ(Str(self, "url"), c.process().url());
  EXPECT_EQ(self["artifacts"].as_object()["held"].as_int64(), 1) << r.body;
  EXPECT_EQ(c.Call("GET", "/api/cluster", {}, "").status, 401);
}

TEST(ControlIntegration, AcknowledgedDeploySurvivesKill9) {
  Control c;
  CheckAcknowledgedDeploySurvivesKill9(c);
}

// The same on an etcd store ([store] backend = "etcd"): nothing goes to
// the SQLite file, and what etcd acknowledged survives the control plane.
TEST(ControlIntegration, OnEtcdAcknowledgedDeploySurvivesKill9) {
  auto etcd = EtcdCluster::Start(1);
  ASSERT_TRUE(etcd.ok()) << etcd.status().message();
  Control c("[store]\nbackend = \"etcd\"\nendpoints = [\"" + (*etcd)->endpoint(0) +
            "\"]\nprefix = \"/it/\"\n");
  CheckAcknowledgedDeploySurvivesKill9(c);
  EXPECT_FALSE(std::filesystem::exists(c.data() + "/aether.db"));
}

TEST(ControlIntegration, OnEtcdThatIsDownRefusesToStartWithAClearMessage) {
  TempDir dir;
  WriteFile(dir / "etcd.toml", "[database]\npath = \"" + dir / "data/aether.db" +
                                   "\"\n[store]\nbackend = \"etcd\"\n"
                                   "endpoints = [\"http://127.0.0.1:1\"]\n");
  ExitResult r = RunToExit(kControl, {"--config", dir / "etcd.toml", "--port", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("etcd at http://127.0.0.1:1"), std::string::npos) << r.output;
}

TEST(ControlIntegration, BadInputsGetTheRightStatusAndChangeNothing) {
  Control c;
  ASSERT_TRUE(c.ok());
  std::string hello = GuestBytes("hello");
  ASSERT_EQ(c.DeployB64("hello", hello).status, 201);
  int64_t rev = c.Revision();
  std::string before = c.Call("GET", "/api/functions/hello").body;
  size_t artifacts = c.ArtifactFiles();

  struct Case {
    std::string what, method, path, body, token;
    int status;
    std::string code;
    HttpHeaders headers = {};
  };
  std::string b64 = Base64(hello);
  std::string big(1536 << 10, 'x');  // over [server] max_body = 1MB
  std::vector<Case> cases = {
      {"invalid base64", "POST", "/api/functions", R"({"name":"x","wasm_b64":"not base64!"})",
       "admin", 400, "invalid_base64"},
      {"truncated base64", "POST", "/api/functions", R"({"name":"x","wasm_b64":"AGFzbQ"})", "admin",
       400, "invalid_base64"},
      {"non-wasm bytes", "POST", "/api/functions",
       R"({"name":"x","wasm_b64":")" + Base64("hello world, not wasm") + "\"}", "admin", 422,
       "invalid_module"},
      {"non-wasm raw", "PUT", "/api/functions/x",
       "\x7f"
       "ELF not wasm",
       "admin", 422, "invalid_module"},
      {"truncated wasm", "PUT", "/api/functions/x", hello.substr(0, hello.size() / 2), "admin", 422,
       "invalid_module"},
      {"name ../x", "POST", "/api/functions", R"({"name":"../x","wasm_b64":")" + b64 + "\"}",
       "admin", 400, "invalid_name"},
      {"name A", "POST", "/api/functions", R"({"name":"A","wasm_b64":")" + b64 + "\"}", "admin",
       400, "invalid_name"},
      {"empty name", "POST", "/api/functions", R"({"name":"","wasm_b64":")" + b64 + "\"}", "admin",
       400, "invalid_name"},
      {"64-char name", "POST", "/api/functions",
       R"({"name":")" + std::string(64, 'a') + R"(","wasm_b64":")" + b64 + "\"}", "admin", 400,
       "invalid_name"},
      {"PUT ../x", "PUT", "/api/functions/..%2Fx", hello, "admin", 400, "invalid_name"},
      {"PUT reserved", "PUT", "/api/functions/UPPER", hello, "admin", 400, "invalid_name"},
      {"bad memory_limit", "POST", "/api/functions",
       R"({"name":"x","memory_limit":"lots","wasm_b64":")" + b64 + "\"}", "admin", 400,
       "invalid_argument"},
      {"bad timeout", "PUT", "/api/functions/x?timeout=soon", hello, "admin", 400,
       "invalid_argument"},
      {"bad env", "POST", "/api/functions",
       R"({"name":"x","env":{"1X":"v"},"wasm_b64":")" + b64 + "\"}", "admin", 400,
       "invalid_argument"},
      {"not JSON", "POST", "/api/functions", "{", "admin", 400, "invalid_request"},
      {"oversized module", "PUT", "/api/functions/x", big, "admin", 413, "payload_too_large"},
      {"wrong media type",
       "PUT",
       "/api/functions/x",
       hello,
       "admin",
       415,
       "unsupported_media_type",
       {{"Content-Type", "text/plain"}}},
      {"missing token", "POST", "/api/functions", R"({"name":"x","wasm_b64":")" + b64 + "\"}", "",
       401, "unauthenticated"},
      {"wrong token", "POST", "/api/functions", R"({"name":"x","wasm_b64":")" + b64 + "\"}",
       "wrong", 403, "permission_denied"},
      {"join token on admin API", "PUT", "/api/functions/x", hello, "join", 403,
       "permission_denied"},
      {"missing token on reads", "GET", "/api/functions/hello", "", "", 401, "unauthenticated"},
      {"missing token on register", "POST", "/register",
       R"({"node_id":"n","url":"http://127.0.0.1:1"})", "", 401, "unauthenticated"},
      {"unknown function", "GET", "/api/functions/nope", "", "admin", 404, "not_found"},
      {"delete unknown", "DELETE", "/api/functions/nope", "", "admin", 404, "not_found"},
      {"rollback unknown function", "POST", "/api/functions/nope/rollback", R"({"version":1})",
       "admin", 404, "not_found"},
      {"rollback unknown version", "POST", "/api/functions/hello/rollback", R"({"version":7})",
       "admin", 404, "not_found"},
      {"rollback no version", "POST", "/api/functions/hello/rollback", R"({})", "admin", 400,
       "invalid_argument"},
  };
  for (const Case& k : cases) {
    HttpHeaders headers = k.headers;
    if (k.method == "PUT" && headers.empty()) headers = {{"Content-Type", "application/wasm"}};
    HttpResponse r = c.Call(k.method, k.path, k.body, k.token, headers);
    EXPECT_EQ(r.status, k.status) << k.what << ": " << r.body;
    if (r.status == 413 && r.body.empty()) continue;  // the server may close before the body
    json::object e = Obj(r);
    EXPECT_EQ(Str(e, "code"), k.code) << k.what << ": " << r.body;
    EXPECT_FALSE(Str(e, "error").empty()) << k.what;
    // Errors never leak paths or tokens.
    EXPECT_EQ(r.body.find(c.data()), std::string::npos) << k.what;
    EXPECT_EQ(r.body.find(c.admin()), std::string::npos) << k.what;
  }
  EXPECT_EQ(c.Revision(), rev);
  EXPECT_EQ(c.Call("GET", "/api/functions/hello").body, before);
  EXPECT_EQ(c.ArtifactFiles(), artifacts);
  EXPECT_EQ(Obj(c.Call("GET", "/api/functions"))["functions"].as_array().size(), 1u);
}

TEST(ControlIntegration, ConfiguredDeployLimitsAreTheOnesEnforced) {
  // Appended to the [runtime] section the harness writes.
  Control c("max_module_size = \"1KB\"\nmax_env_vars = 1\nmax_env_size = \"16B\"\n");
  ASSERT_TRUE(c.ok());
  std::string hello = GuestBytes("hello");
  ASSERT_GT(hello.size(), 1024u) << "the test needs a module over 1KB";
  std::string b64 = Base64(hello);
  auto deploy = [&](const std::string& env) {
    return c.Call("POST", "/api/functions",
                  R"({"name":"x","env":)" + env + R"(,"wasm_b64":")" + b64 + "\"}");
  };
  HttpResponse vars = deploy(R"({"A":"1","B":"2"})");
  EXPECT_TRUE(IsError(vars, 400, "invalid_argument"));
  EXPECT_NE(Str(Obj(vars), "error").find("[runtime] max_env_vars"), std::string::npos) << vars.body;
  HttpResponse size = deploy(R"({"A":")" + std::string(20, 'x') + "\"}");
  EXPECT_TRUE(IsError(size, 400, "invalid_argument"));
  EXPECT_NE(Str(Obj(size), "error").find("[runtime] max_env_size"), std::string::npos) << size.body;
  // Within the env limits, the module is over max_module_size: both upload paths.
  HttpResponse module = deploy(R"({"A":"1"})");
  EXPECT_EQ(module.status, 413) << module.body;
  EXPECT_EQ(Str(Obj(module), "code"), "payload_too_large");
  HttpResponse raw =
      c.Call("PUT", "/api/functions/x", hello, "admin", {{"Content-Type", "application/wasm"}});
  EXPECT_TRUE(IsError(raw, 413, "payload_too_large"));
  EXPECT_NE(Str(Obj(raw), "error").find("[runtime] max_module_size"), std::string::npos)
      << raw.body;
  EXPECT_EQ(Obj(c.Call("GET", "/api/functions"))["functions"].as_array().size(), 0u);
}

TEST(ControlIntegration, NodesGoDownAfterTimeoutAndComeBack) {
  Control c;
  ASSERT_TRUE(c.ok());
  HttpResponse r = c.Register("edge-1", "http://127.0.0.1:9",
                              R"(,"labels":{"zone":"z1"},"capacity":{"workers":2})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(Obj(r), "heartbeat_interval_ms"), 200);
  EXPECT_EQ(c.credential("edge-1").size(), 64u);
  r = c.Call(
      "POST", "/node/heartbeat",
      R"({"node_id":"edge-1","load":{"inflight":1,"queue":2},"ready":{"f":"abc"},"cached":3})",
      "node:edge-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(IsError(c.Call("POST", "/node/heartbeat", R"({"node_id":"edge-1"})", "join"), 403,
                      "permission_denied"));
  EXPECT_TRUE(IsError(c.Call("POST", "/node/heartbeat", R"({"node_id":"ghost"})",
                             c.credential("edge-1"), {{"X-Aether-Node", "ghost"}}),
                      404, "unknown_node"));
  EXPECT_TRUE(IsError(c.Call("GET", "/api/nodes", {}, "join"), 403, "permission_denied"));
  EXPECT_TRUE(IsError(c.Call("GET", "/api/nodes", {}, "node:edge-1"), 403, "permission_denied"));

  json::object n = Obj(c.Call("GET", "/api/nodes"))["nodes"].as_array()[0].as_object();
  EXPECT_EQ(Str(n, "state"), "up");
  EXPECT_EQ(Str(n["labels"].as_object(), "zone"), "z1");
  EXPECT_EQ(Int(n, "cached"), 3);
  EXPECT_EQ(Int(n["load"].as_object(), "queue"), 2);
  EXPECT_EQ(Str(n["functions_ready"].as_object(), "f"), "abc");
  EXPECT_FALSE(Str(n, "last_heartbeat").empty());

  // Silent for node_timeout (1s): down within a few sweeps.
  auto deadline = Clock::now() + seconds(5);
  std::string state;
  while (Clock::now() < deadline) {
    state = Str(Obj(c.Call("GET", "/api/nodes"))["nodes"].as_array()[0].as_object(), "state");
    if (state == "down") break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(state, "down");
  json::object h = Obj(c.Call("GET", "/health", {}, ""));
  EXPECT_EQ(Int(h["nodes"].as_object(), "down"), 1);

  ASSERT_EQ(c.Call("POST", "/node/heartbeat", R"({"node_id":"edge-1"})", "node:edge-1").status,
            200);
  EXPECT_EQ(Str(Obj(c.Call("GET", "/api/nodes"))["nodes"].as_array()[0].as_object(), "state"),
            "up");

  json::object ev = Obj(c.Call("GET", "/api/events?type=node_down"));
  ASSERT_EQ(ev["events"].as_array().size(), 1u);
  EXPECT_EQ(Str(ev["events"].as_array()[0].as_object()["data"].as_object(), "node_id"), "edge-1");
  ev = Obj(c.Call("GET", "/api/events?type=node_up"));
  EXPECT_EQ(ev["events"].as_array().size(), 1u);
}

TEST(ControlIntegration, EventsFromCallbacksAreListedWithSinceAndType) {
  Control c;
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c.DeployB64("hello", GuestBytes("hello")).status, 201);
  ASSERT_EQ(c.Register("edge-7", "http://127.0.0.1:1").status, 200);
  HttpResponse r =
      c.Call("POST", "/callback", R"({"event":"trap","data":{"name":"hello","kind":"oob"}})",
             "node:edge-7");
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_EQ(c.Call("POST", "/callback", R"({"event":"trap","data":1})", "admin").status, 201);
  EXPECT_TRUE(IsError(c.Call("POST", "/callback", R"({"event":"Bad Type"})", "node:edge-7"), 400,
                      "invalid_argument"));
  EXPECT_TRUE(
      IsError(c.Call("POST", "/callback", R"({"event":"x"})", "join"), 403, "permission_denied"));
  EXPECT_TRUE(IsUnauthenticated(c.Call("POST", "/callback", R"({"event":"x"})", "")));
  EXPECT_TRUE(IsError(c.Call("GET", "/api/events", {}, "join"), 403, "permission_denied"));

  json::object all = Obj(c.Call("GET", "/api/events"));
  json::array events = all["events"].as_array();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(Str(events[0].as_object(), "type"), "function_deployed");
  EXPECT_EQ(Str(events[1].as_object(), "type"), "node_registered");
  json::object trap = events[2].as_object();
  EXPECT_EQ(Str(trap, "type"), "trap");
  EXPECT_EQ(Str(trap, "source"), "edge-7");
  EXPECT_EQ(Str(trap["data"].as_object(), "kind"), "oob");
  EXPECT_EQ(Str(events[3].as_object(), "source"), "api");
  int64_t first = Int(events[0].as_object(), "id");

  json::object since = Obj(c.Call("GET", "/api/events?since=" + std::to_string(first)));
  EXPECT_EQ(since["events"].as_array().size(), 3u);
  json::object traps = Obj(c.Call("GET", "/api/events?type=trap&limit=1"));
  ASSERT_EQ(traps["events"].as_array().size(), 1u);
  int64_t next = Int(traps, "next");
  traps = Obj(c.Call("GET", "/api/events?type=trap&since=" + std::to_string(next)));
  ASSERT_EQ(traps["events"].as_array().size(), 1u);
  EXPECT_EQ(Str(traps["events"].as_array()[0].as_object(), "source"), "api");
  EXPECT_TRUE(IsError(c.Call("GET", "/api/events?since=-1"), 400, "invalid_argument"));
}

// GET /api/events?wait= (the dashboard's events page, `aether events
// --follow`): parked while nothing is newer than `since`, answered as soon
// as an event is recorded.
TEST(ControlIntegration, EventsLongPollAnswersWhenAnEventIsRecorded) {
  Control c;
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c.Call("POST", "/callback", R"({"event":"first"})", "admin").status, 201);
  int64_t last = Int(Obj(c.Call("GET", "/api/events")), "next");
  ASSERT_GT(last, 0);
  auto poll = [&](const std::string& query) {
    return std::async(std::launch::async, [&c, query] {
      auto start = Clock::now();
      HttpResponse r = c.Call("GET", "/api/events?" + query);
      return std::make_pair(r, Clock::now() - start);
    });
  };

  auto parked = poll("since=" + std::to_string(last) + "&wait=30");
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_EQ(parked.wait_for(milliseconds(0)), std::future_status::timeout);
  ASSERT_EQ(c.Call("POST", "/callback", R"({"event":"trap","data":{"n":1}})", "admin").status, 201);
  auto [r, took] = parked.get();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_LT(took, seconds(5));
  json::object page = Obj(r);
  ASSERT_EQ(page["events"].as_array().size(), 1u);
  EXPECT_EQ(Str(page["events"].as_array()[0].as_object(), "type"), "trap");
  EXPECT_EQ(Int(page, "next"), last + 1);

  // Filtered: another type wakes it with no events, and `next` past that one.
  auto filtered = poll("since=" + std::to_string(last + 1) + "&type=node_down&wait=30");
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_EQ(c.Call("POST", "/callback", R"({"event":"other"})", "admin").status, 201);
  auto [f, ftook] = filtered.get();
  EXPECT_LT(ftook, seconds(5));
  page = Obj(f);
  EXPECT_EQ(page["events"].as_array().size(), 0u);
  EXPECT_EQ(Int(page, "next"), last + 2);

  // An older cursor answers at once; one past the newest id (a store
  // restored from an older backup) waits instead of spinning.
  auto t0 = Clock::now();
  EXPECT_EQ(Obj(c.Call("GET", "/api/events?since=0&wait=30"))["events"].as_array().size(), 3u);
  EXPECT_LT(Clock::now() - t0, seconds(2));
  t0 = Clock::now();
  page = Obj(c.Call("GET", "/api/events?since=" + std::to_string(last + 50) + "&wait=1"));
  EXPECT_EQ(page["events"].as_array().size(), 0u);
  EXPECT_GE(Clock::now() - t0, milliseconds(900));

  EXPECT_TRUE(IsError(c.Call("GET", "/api/events?wait=-1"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(c.Call("GET", "/api/events?wait=soon"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(c.Call("GET", "/api/events?wait=1", {}, "join"), 403, "permission_denied"));
}

TEST(ControlIntegration, ManifestLongPollReturnsPromptlyOnDeploy) {
  Control c;
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c.Register("n1", "http://127.0.0.1:1").status, 200);
  json::object m = Obj(c.Call("GET", "/node/manifest", {}, "node:n1"));
  int64_t rev = Int(m, "revision");
  EXPECT_EQ(rev, 0);

  // Nothing changes: answers after the wait with the same revision.
  auto t0 = Clock::now();
  m = Obj(c.Call("GET", "/node/manifest?since=0&wait=1", {}, "node:n1"));
  EXPECT_EQ(Int(m, "revision"), 0);
  EXPECT_GE(Clock::now() - t0, milliseconds(900));

  // A deploy wakes a parked poll at once (well before its 30 s wait).
  auto poll = std::async(std::launch::async, [&] {
    auto start = Clock::now();
    HttpResponse r = c.Call("GET", "/node/manifest?since=0&wait=30", {}, "node:n1");
    return std::make_pair(r, Clock::now() - start);
  });
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_EQ(c.DeployB64("hello", GuestBytes("hello")).status, 201);
  auto [r, took] = poll.get();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_LT(took, seconds(5));
  m = Obj(r);
  EXPECT_GT(Int(m, "revision"), 0);
  ASSERT_EQ(m["functions"].as_array().size(), 1u);
  EXPECT_EQ(Str(m["functions"].as_array()[0].as_object(), "name"), "hello");
  // An older `since` answers at once.
  t0 = Clock::now();
  EXPECT_EQ(c.Call("GET", "/node/manifest?since=0&wait=30", {}, "node:n1").status, 200);
  EXPECT_LT(Clock::now() - t0, seconds(2));
  EXPECT_TRUE(
      IsError(c.Call("GET", "/node/manifest?since=x", {}, "node:n1"), 400, "invalid_argument"));
}

// An engine stand-in: answers /execute with what it received and counts calls.
class FakeEngine {
 public:
  explicit FakeEngine(std::string id) : id_(std::move(id)), server_(HttpServerOptions{}) {
    server_.Route("POST", "/execute", [this](HttpRequest&& req, Responder respond) {
      ++calls_;
      HttpResponse r;
      r.status = 200;
      r.body =
          R"({"output":)" + json::serialize(json::value(req.body)) + R"(,"node":")" + id_ + "\"}";
      respond(std::move(r));
    });
    server_.Route("GET", "/health",
                  [](HttpRequest&&, Responder respond) { respond(JsonOk(json::object{})); });
    EXPECT_TRUE(server_.Start().ok());
  }
  std::string url() const { return server_.url(); }
  int calls() const { return calls_; }

 private:
  std::string id_;
  std::atomic<int> calls_{0};
  HttpServer server_;
};

TEST(ControlIntegration, GatewayForwardsToAReadyNodeAndRetriesOnConnectFailure) {
  Control c("");
  ASSERT_TRUE(c.ok());
  std::string hello = GuestBytes("hello");
  EXPECT_TRUE(IsError(c.Call("POST", "/api/invoke/hello", R"({"input":1})"), 404, "not_found"));
  ASSERT_EQ(c.DeployB64("hello", hello).status, 201);
  std::string sha = Sha256Hex(hello);

  FakeEngine engine("good");
  // A registered node whose port is closed: "ready", idle, so it is tried.
  auto reg = [&](const std::string& id, const std::string& url) {
    return c.Register(id, url).status;
  };
  auto beat = [&](const std::string& id, const std::string& ready_sha) {
    return c
        .Call("POST", "/node/heartbeat",
              R"({"node_id":")" + id + R"(","ready":{"hello":")" + ready_sha + "\"}}", "node:" + id)
        .status;
  };
  ASSERT_EQ(reg("good", engine.url()), 200);
  // Not ready yet (an old sha): no node.
  ASSERT_EQ(beat("good", std::string(64, '0')), 200);
  HttpResponse r = c.Call("POST", "/api/invoke/hello", R"({"input":1})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Str(Obj(r), "code"), "no_ready_node");

  ASSERT_EQ(beat("good", sha), 200);
  r = c.Call("POST", "/api/invoke/hello", R"({"input":{"x":[1,2]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object out = Obj(r);
  EXPECT_EQ(Str(out, "node"), "good");
  json::object forwarded = json::parse(Str(out, "output")).as_object();
  EXPECT_EQ(Str(forwarded, "function"), "hello");
  EXPECT_EQ(json::serialize(forwarded["input"]), R"({"x":[1,2]})");
  EXPECT_EQ(r.Header("X-Aether-Node"), "good");

  // A dead node joins (connection refused): every invoke still lands on the
  // live one thanks to the retry.
  ASSERT_EQ(reg("dead", "http://127.0.0.1:1"), 200);
  ASSERT_EQ(beat("dead", sha), 200);
  int before = engine.calls();
  for (int i = 0; i < 6; ++i) {
    // Keep both alive across the 1 s node_timeout.
    ASSERT_EQ(beat("dead", sha), 200);
    ASSERT_EQ(beat("good", sha), 200);
    r = c.Call("POST", "/api/invoke/hello", R"({"input":"x"})");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(engine.calls() - before, 6);
  EXPECT_TRUE(IsError(c.Call("POST", "/api/invoke/hello", "not json"), 400, "invalid_request"));
  EXPECT_TRUE(IsError(c.Call("POST", "/api/invoke/hello", R"({"input":1})", "join"), 403,
                      "permission_denied"));
}

TEST(ControlIntegration, StartupErrorsExitWithOneLine) {
  Control c;
  ASSERT_TRUE(c.ok());
  TempDir dir;
  // A second control plane on the same data dir.
  WriteFile(dir / "same.toml", "[database]\npath = \"" + c.data() + "/aether.db\"\n");
  ExitResult r = RunToExit(kControl, {"--config", dir / "same.toml", "--port", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("in use"), std::string::npos) << r.output;
  // The port is taken.
  WriteFile(dir / "port.toml", "[database]\npath = \"" + (dir / "d/aether.db") + "\"\n");
  r = RunToExit(kControl,
                {"--config", dir / "port.toml", "--port", std::to_string(c.process().port())});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  // A bad config.
  WriteFile(dir / "bad.toml", "[registry]\nnode_timeout = \"soon\"\n");
  r = RunToExit(kControl, {"--config", dir / "bad.toml"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
}

TEST(ControlIntegration, TokensAreGeneratedPrivateAndConfigurable) {
  Control c;
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.admin().size(), 64u);
  EXPECT_EQ(fs::status(c.data() + "/admin.token").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(c.data() + "/aether.db").permissions() &
                (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
  // The log names the files, never the tokens.
  EXPECT_EQ(c.process().Log().find(c.admin()), std::string::npos);
  EXPECT_NE(c.process().Log().find("admin.token"), std::string::npos);

  Control configured(
      "[auth]\ntoken = \"configured-admin-token\"\njoin_token = \"configured-join-token\"\n");
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ(configured.Call("GET", "/api/functions", {}, "configured-admin-token").status, 200);
  EXPECT_TRUE(IsError(configured.Call("GET", "/node/manifest", {}, "configured-join-token"), 403,
                      "permission_denied"));
  EXPECT_EQ(configured.Call("GET", "/node/manifest", {}, "configured-admin-token").status, 200);
  EXPECT_EQ(configured.Register("n1", "http://127.0.0.1:1", "", "configured-join-token").status,
            200);
  EXPECT_EQ(configured.Call("GET", "/node/manifest", {}, "node:n1").status, 200);
  EXPECT_TRUE(IsError(configured.Call("GET", "/api/functions", {}, "configured-join-token"), 403,
                      "permission_denied"));
}

// A request without a token is 401 with WWW-Authenticate: Bearer and the
// code "unauthenticated" (docs/api.md), on an ordinary GET too, not only on
// uploads refused at the header (http_limits_test.cc).
TEST(ControlIntegration, MissingTokenIs401WithWwwAuthenticate) {
  Control control;
  HttpResponse r = control.Call("GET", "/api/functions", {}, /*token=*/"");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(Str(Obj(r), "code"), "unauthenticated") << r.body;
}

}  // namespace
}  // namespace aether::testing
