// TLS with a private CA between the control plane and its engines, as
// docs/operations.md describes it: the control plane serves HTTPS with a
// certificate a private CA issued, and an engine joins it only when it
// trusts that CA ([control] ca_file, --ca-file or AETHER_CA_FILE). Before,
// the engine had no such option: only SSL_CERT_FILE, undocumented, worked.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <regex>
#include <string>

#include "cluster.h"

namespace aether::testing {
namespace {

// A CA and a server certificate it signed for 127.0.0.1, made by the
// openssl CLI.
struct PrivateCa {
  explicit PrivateCa(const TempDir& dir)
      : ca(dir / "ca.pem"), cert(dir / "server.pem"), key(dir / "server.key") {
    const std::string& d = dir.path();
    WriteFile(d + "/san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    std::string cmd =
        "(set -e; cd " + d +
        "; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
        " -subj '/CN=Aether test CA' -keyout ca.key -out ca.pem"
        "; openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -subj /CN=127.0.0.1 -keyout server.key -out server.csr"
        "; openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1"
        " -extfile san.ext -out server.pem) >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0;
  }
  std::string ca, cert, key;
  bool ok = false;
};

class TlsCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok) << "openssl could not make the test CA";
    WriteFile(dir_ / "control.toml", "[database]\npath = \"" + dir_ / "data/aether.db" +
                                         "\"\n[server]\ntls_cert = \"" + pki_.cert +
                                         "\"\ntls_key = \"" + pki_.key +
                                         "\"\n[registry]\nheartbeat_interval = \"200ms\"\n");
    auto p = ServerProcess::StartWhen(kControl, {"--config", dir_ / "control.toml", "--port", "0"},
                                      dir_ / "control.log",
                                      [this](const std::string& log) { return Listening(log); });
    ASSERT_TRUE(p.ok()) << p.status().message();
    control_ = std::move(p).value();
    admin_ = Trim(ReadFile(dir_ / "data/admin.token"));
  }

  // The control plane's port once it answers /health over HTTPS (checked
  // against the private CA).
  uint16_t Listening(const std::string& log) {
    static const std::regex kUrl(R"(listening on (https://127\.0\.0\.1:([0-9]+)))");
    std::smatch m;
    if (!std::regex_search(log, m, kUrl)) return 0;
    auto health = http_->Fetch("GET", m[1].str() + "/health", {}, {}, std::chrono::seconds(2));
    if (!health.ok() || health->status != 200) return 0;
    url_ = m[1];
    return static_cast<uint16_t>(std::stoi(m[2]));
  }

  // An engine config joining the control plane, plus `extra` lines of
  // [control].
  std::string EngineConfig(const std::string& name, const std::string& extra) {
    std::string path = dir_ / (name + ".toml");
    WriteFile(path, "[runtime]\ndata_dir = \"" + dir_ / (name + "-data") +
                        "\"\noptimize = false\n[control]\nurl = \"" + url_ + "\"\nnode_id = \"" +
                        name + "\"\n" + extra + "[auth]\njoin_token = \"" +
                        Trim(ReadFile(dir_ / "data/join.token")) +
                        "\"\n[registry]\nheartbeat_interval = \"200ms\"\n");
    return path;
  }

  std::unique_ptr<ServerProcess> StartEngine(const std::string& name, const std::string& extra,
                                             std::vector<std::string> flags = {}) {
    std::vector<std::string> args = {"--config", EngineConfig(name, extra), "--port", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto p = ServerProcess::Start(kEngine, args, dir_ / (name + ".log"));
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  std::string NodeState(const std::string& node) {
    auto r = http_->Fetch("GET", url_ + "/api/nodes", {}, {{"Authorization", "Bearer " + admin_}});
    if (!r.ok() || r->status != 200) return "";
    boost::json::value list = boost::json::parse(r->body);  // named: the loop must not dangle
    for (const auto& n : list.at("nodes").as_array()) {
      if (n.at("node_id").as_string() == node) return std::string(n.at("state").as_string());
    }
    return "";
  }

  TempDir dir_;
  PrivateCa pki_{dir_};
  std::unique_ptr<HttpClient> http_ = NewHttpClient({.ca_file = pki_.ca});
  std::unique_ptr<ServerProcess> control_;
  std::string url_, admin_;
};

TEST_F(TlsCaTest, AnEngineJoinsOnlyWhenItTrustsThePrivateCa) {
  // The system's store does not know the CA: the engine cannot register,
  // and says why.
  auto untrusting = StartEngine("edge-untrusting", "");
  ASSERT_TRUE(untrusting);
  EXPECT_TRUE(WaitFor([&] {
    return untrusting->Log().find("certificate verify failed") != std::string::npos;
  })) << untrusting->Log();
  EXPECT_EQ(NodeState("edge-untrusting"), "");

  // The config key, the flag and the variable each make it trust the CA.
  auto by_key = StartEngine("edge-key", "ca_file = \"" + pki_.ca + "\"\n");
  auto by_flag = StartEngine("edge-flag", "", {"--ca-file", pki_.ca});
  ::setenv("AETHER_CA_FILE", pki_.ca.c_str(), 1);
  auto by_env = StartEngine("edge-env", "");
  ::unsetenv("AETHER_CA_FILE");
  ASSERT_TRUE(by_key && by_flag && by_env);
  for (const char* node : {"edge-key", "edge-flag", "edge-env"}) {
    EXPECT_TRUE(WaitFor([&] { return NodeState(node) == "up"; })) << node;
  }
  EXPECT_EQ(NodeState("edge-untrusting"), "");
}

TEST_F(TlsCaTest, AnUnreadableCaFileStopsTheEngineNamingTheKey) {
  ExitResult r = RunToExit(kEngine, {"--config", EngineConfig("edge-bad", ""), "--port", "0",
                                     "--ca-file", dir_ / "missing.pem"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("aether-engine: [control] ca_file: cannot load CA file " +
                          dir_ / "missing.pem"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace aether::testing
