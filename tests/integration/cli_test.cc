// The `aether` CLI end to end: one `aether dev` (control plane + engine in
// one process) on 127.0.0.1 with free ports and a temp data dir, and the CLI
// run as a child process against it, checking stdout, stderr and the exit
// code of every command.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <thread>

#include "common/json_util.h"
#include "common/sha256.h"
#include "common/testing/http_fetch.h"
#include "process.h"

namespace aether::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

const std::string kAether = std::string(AETHER_BIN_DIR) + "/aether";

std::string Guest(const std::string& name) {
  return std::string(AETHER_GUEST_DIR) + "/" + name + ".wasm";
}

CliOptions WithEnv(std::map<std::string, std::string> env, std::string cwd = "") {
  CliOptions o;
  o.env = std::move(env);
  o.cwd = std::move(cwd);
  return o;
}

// The error contract: nothing on stdout, one line "aether: ..." on stderr.
void ExpectOneLineError(const CliRun& r, int exit_code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, exit_code) << Show(r);
  EXPECT_EQ(r.out, "") << Show(r);
  EXPECT_EQ(r.err.rfind("aether: ", 0), 0u) << Show(r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << Show(r);
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected \"" << needle << "\"\n" << Show(r);
}

// `aether dev` as a child process. Unlike ServerProcess it asks the kernel
// to kill the child when the test process dies (PR_SET_PDEATHSIG), so a
// crashing test leaves no server behind; otherwise it is stopped by PID.
class DevProcess {
 public:
  static Result<std::unique_ptr<DevProcess>> Start(const std::vector<std::string>& args,
                                                   const std::string& log_path) {
    std::vector<std::string> argv_storage = {kAether, "dev"};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int null = ::open("/dev/null", O_RDONLY);
      if (fd < 0 || null < 0) ::_exit(127);
      ::dup2(null, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (pid < 0) return Internal("fork failed");
    std::unique_ptr<DevProcess> p(new DevProcess(pid, log_path));
    // The control plane answers before the engine is up and the examples
    // are deployed; the last line dev prints marks the end of both.
    static const std::regex kListening(R"(control plane listening on (http://[0-9.]+:[0-9]+))");
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      std::string log = p->Log();
      std::smatch m;
      if (log.find("Ctrl-C to stop.") != std::string::npos &&
          std::regex_search(log, m, kListening)) {
        p->url_ = m[1];
        return p;
      }
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        p->pid_ = -1;
        return Unavailable("aether dev exited before it was ready:\n" + log);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Unavailable("aether dev was not ready in time:\n" + p->Log());
  }

  ~DevProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    auto deadline = Clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  const std::string& url() const { return url_; }
  std::string Log() const { return ReadFile(log_path_); }

 private:
  DevProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  std::string url_;
};

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    fs::create_directories(*dir_ / "examples");
    fs::copy_file(Guest("echo"), *dir_ / "examples/echo.wasm");
    fs::create_directories(*dir_ / "work");
    auto p = DevProcess::Start(
        {"--port", "0", "--engine-port", "0", "--data-dir", *dir_ / "work/.aether",
         "--deploy-examples", *dir_ / "examples", "--node-id", "cli-test"},
        *dir_ / "dev.log");
    if (!p.ok()) {
      start_error_ = new std::string(p.status().message());
      return;
    }
    dev_ = std::move(p).value().release();
    token_ = new std::string(ReadFile(*dir_ / "work/.aether/control/admin.token"));
    while (!token_->empty() && token_->back() == '\n') token_->pop_back();
  }
  static void TearDownTestSuite() {
    delete dev_;  // SIGTERM by PID, SIGKILL after a few seconds
    delete dir_;
    delete token_;
    delete start_error_;
    dev_ = nullptr;
    dir_ = nullptr;
    token_ = nullptr;
    start_error_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(start_error_, nullptr) << *start_error_; }

  static std::string Url() { return dev_->url(); }
  static const std::string& Token() { return *token_; }
  // Global flags for a command against the dev control plane.
  static std::vector<std::string> Remote(std::vector<std::string> args) {
    args.insert(args.end(), {"--control", Url(), "--token", Token()});
    return args;
  }
  static CliRun Cli(std::vector<std::string> args, CliOptions o = {}) {
    return RunCli(Remote(std::move(args)), o);
  }

  // Waits until the engine has `name`'s current version ready; false when
  // no node shows up at all (an engine that cannot join a control plane).
  static bool WaitReady(const std::string& name, std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      auto r = HttpFetch("GET", Url() + "/api/functions/" + name, {},
                         {{"Authorization", "Bearer " + Token()}});
      if (r.ok() && r->status == 200) {
        json::value v = json::parse(r->body);
        for (const json::value& n : v.at("nodes").as_array()) {
          if (n.at("ready").as_bool()) return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  static Result<HttpResponse> Api(std::string_view method, const std::string& path,
                                  const std::string& token, std::string_view body = {}) {
    return HttpFetch(method, Url() + path, body, {{"Authorization", "Bearer " + token}});
  }

  // The dev engine (node "cli-test") has `name`'s current version ready.
  static bool EnsureReady(const std::string& name) {
    return WaitReady(name, std::chrono::seconds(15));
  }

  static TempDir* dir_;
  static DevProcess* dev_;
  static std::string* token_;
  static std::string* start_error_;
};

TempDir* CliTest::dir_ = nullptr;
DevProcess* CliTest::dev_ = nullptr;
std::string* CliTest::token_ = nullptr;
std::string* CliTest::start_error_ = nullptr;

TEST_F(CliTest, DevDeploysExamplesAndPrintsWhatToTry) {
  std::string log = dev_->Log();
  EXPECT_NE(log.find("deployed echo"), std::string::npos) << log;
  EXPECT_NE(log.find("aether invoke echo --input '\"world\"'"), std::string::npos) << log;
  EXPECT_NE(log.find("aether functions ls"), std::string::npos) << log;
  EXPECT_NE(log.find("aether nodes ls"), std::string::npos) << log;
  EXPECT_NE(log.find("/api/invoke/echo -H \"Authorization: Bearer $(cat "), std::string::npos)
      << log;
  EXPECT_NE(log.find("/execute -d '{\"function\":\"echo\""), std::string::npos) << log;
  EXPECT_EQ(log.find(Token()), std::string::npos) << "the token must never be printed";
}

TEST_F(CliTest, DeployListInvokeRollbackRemove) {
  CliRun d1 = Cli({"deploy", "life", Guest("echo")});
  ASSERT_EQ(d1.exit_code, 0) << Show(d1);
  EXPECT_TRUE(std::regex_match(
      d1.out, std::regex("deployed life version 1 \\(sha256 [0-9a-f]{12}, [0-9.]+ KB\\)\n")))
      << d1.out;

  CliRun ls = Cli({"functions", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << Show(ls);
  EXPECT_EQ(ls.out.rfind("NAME", 0), 0u) << ls.out;
  EXPECT_TRUE(
      std::regex_search(ls.out, std::regex("\nlife +1 +[0-9a-f]{12} +[0-9.]+ KB +\\d+s ago\n")))
      << ls.out;

  if (!EnsureReady("life")) {
    ADD_FAILURE() << "no node has life ready; is the engine joining the control plane?";
  } else {
    CliRun inv = Cli({"invoke", "life", "--input", "\"world\""});
    EXPECT_EQ(inv.exit_code, 0) << Show(inv);
    EXPECT_EQ(inv.out, "world\n");
    CliRun js = Cli({"invoke", "life", "--input", "{\"a\": [1, 2]}", "--json"});
    EXPECT_EQ(js.exit_code, 0) << Show(js);
    json::value v = json::parse(js.out);
    EXPECT_EQ(v.at("output").as_string(), "{\"a\":[1,2]}");
    EXPECT_TRUE(v.as_object().contains("execution_time_ms"));
  }

  CliRun d2 = Cli({"deploy", "life", Guest("hello"), "--env", "GREETING=hi", "--timeout", "2s"});
  ASSERT_EQ(d2.exit_code, 0) << Show(d2);
  EXPECT_EQ(d2.out.rfind("deployed life version 2 ", 0), 0u) << d2.out;

  CliRun rb = Cli({"functions", "rollback", "life", "1"});
  EXPECT_EQ(rb.exit_code, 0) << Show(rb);
  EXPECT_EQ(rb.out.rfind("rolled back life to version 1 (sha256 ", 0), 0u) << rb.out;

  CliRun show = Cli({"functions", "show", "life"});
  EXPECT_EQ(show.exit_code, 0) << Show(show);
  EXPECT_NE(show.out.find("version:  1\n"), std::string::npos) << show.out;
  EXPECT_TRUE(std::regex_search(show.out, std::regex("\n1 \\(current\\) +[0-9a-f]{12}")))
      << show.out;
  EXPECT_TRUE(std::regex_search(show.out, std::regex("\n2 +[0-9a-f]{12}"))) << show.out;

  CliRun bad_version = Cli({"functions", "rollback", "life", "9"});
  ExpectOneLineError(bad_version, 1, "version 9");

  CliRun rm = Cli({"functions", "rm", "life"});
  EXPECT_EQ(rm.exit_code, 0) << Show(rm);
  EXPECT_EQ(rm.out, "deleted life (2 versions)\n");
  CliRun after = Cli({"functions", "ls"});
  EXPECT_EQ(after.out.find("\nlife "), std::string::npos) << after.out;
  ExpectOneLineError(Cli({"functions", "show", "life"}), 1, "life");
}

TEST_F(CliTest, InvokeReadsStdinAndRaw) {
  ASSERT_EQ(Cli({"deploy", "echo2", Guest("echo")}).exit_code, 0);
  if (!EnsureReady("echo2")) {
    GTEST_FAIL() << "no node has echo2 ready; is the engine joining the control plane?";
  }
  CliOptions in;
  in.stdin_text = "{\"x\": 1}\n";
  CliRun stdin_json = Cli({"invoke", "echo2", "-"}, in);
  EXPECT_EQ(stdin_json.exit_code, 0) << Show(stdin_json);
  EXPECT_EQ(stdin_json.out, "{\"x\":1}\n");
  CliRun flag_stdin = Cli({"invoke", "echo2", "--input", "-"}, in);
  EXPECT_EQ(flag_stdin.out, "{\"x\":1}\n") << Show(flag_stdin);
  CliRun raw = Cli({"invoke", "echo2", "--raw", "plain text"});
  EXPECT_EQ(raw.out, "plain text\n") << Show(raw);
  // Output that ends in a newline gets no second one.
  CliRun nl = Cli({"invoke", "echo2", "--input", "\"line\\n\""});
  EXPECT_EQ(nl.out, "line\n") << Show(nl);
}

TEST_F(CliTest, BadInputsAreOneLineErrors) {
  ExpectOneLineError(Cli({"deploy", "x", *dir_ / "missing.wasm"}), 2, "cannot read");
  WriteFile(*dir_ / "not.wasm", "this is not a module");
  ExpectOneLineError(Cli({"deploy", "x", *dir_ / "not.wasm"}), 1, "invalid");
  ExpectOneLineError(Cli({"deploy", "../x", Guest("echo")}), 2, "invalid function name \"../x\"");
  ExpectOneLineError(Cli({"invoke", "../x"}), 2, "invalid function name");
  ExpectOneLineError(Cli({"deploy", "x", Guest("echo"), "--env", "NOEQUALS"}), 2, "KEY=VALUE");
  ExpectOneLineError(Cli({"deploy", "x", Guest("echo"), "--timeout", "soon"}), 2, "--timeout");
  ExpectOneLineError(Cli({"invoke", "echo", "--input", "hello"}), 2, "'\"hello\"'");
  ExpectOneLineError(Cli({"invoke", "echo", "--input", "{bad"}), 2, "not valid JSON");
  ExpectOneLineError(Cli({"invoke", "echo", "--input", "1", "--raw", "x"}), 2, "once");
  ExpectOneLineError(Cli({"functions", "rollback", "echo", "two"}), 2, "version number");
  ExpectOneLineError(Cli({"invoke", "nosuchfn", "--input", "1"}), 1, "nosuchfn");

  const std::string kWrong = "wrong-token-0123456789";
  CliRun wrong = RunCli({"functions", "ls", "--control", Url(), "--token", kWrong});
  ExpectOneLineError(wrong, 1, "the token came from --token");
  EXPECT_EQ(wrong.err.find(kWrong), std::string::npos) << "the token must never be printed";
  CliRun none = RunCli({"functions", "ls", "--control", Url()});
  ExpectOneLineError(none, 1, "no token was sent");

  // Port 1: nothing listens there, so the connection is refused at once.
  CliRun down = RunCli({"functions", "ls", "--control", "http://127.0.0.1:1", "--token", "t"});
  ExpectOneLineError(down, 1,
                     "cannot reach the control plane at http://127.0.0.1:1 (is it running? "
                     "start one with `aether dev`)");
  ExpectOneLineError(RunCli({"nodes", "ls", "--control", "ftp://x"}), 2,
                     "invalid control plane URL");
  // CLI11's own usage errors keep the contract too.
  CliRun usage = RunCli({"deploy"});
  EXPECT_EQ(usage.exit_code, 2) << Show(usage);
  EXPECT_EQ(usage.err.rfind("aether: ", 0), 0u) << Show(usage);
}

TEST_F(CliTest, JsonOutputParses) {
  ASSERT_EQ(Cli({"deploy", "jfn", Guest("echo")}).exit_code, 0);
  for (std::vector<std::string> args : {std::vector<std::string>{"functions", "ls"},
                                        {"functions", "show", "jfn"},
                                        {"nodes", "ls"},
                                        {"events"},
                                        {"events", "--type", "function_deployed", "--limit", "2"},
                                        {"deploy", "jfn", Guest("echo")},
                                        {"functions", "rollback", "jfn", "1"}}) {
    args.push_back("--json");
    CliRun r = Cli(args);
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << args[0] << ": " << r.out;
    EXPECT_TRUE(v.is_object()) << r.out;
  }
  CliRun ls = Cli({"functions", "ls", "--json"});
  bool found = false;
  json::value list = json::parse(ls.out);
  for (const json::value& f : list.at("functions").as_array()) {
    found = found || f.at("name") == "jfn";
  }
  EXPECT_TRUE(found) << ls.out;
  CliRun ev = Cli({"events", "--type", "function_deployed", "--limit", "2", "--json"});
  EXPECT_LE(json::parse(ev.out).at("events").as_array().size(), 2u);
}

TEST_F(CliTest, TablesForNodesAndEvents) {
  CliRun nodes = Cli({"nodes", "ls"});
  EXPECT_EQ(nodes.exit_code, 0) << Show(nodes);
  EXPECT_TRUE(nodes.out.rfind("NODE   ", 0) == 0 || nodes.out.rfind("no nodes", 0) == 0)
      << nodes.out;
  CliRun events = Cli({"events", "--type", "function_deployed"});
  EXPECT_EQ(events.exit_code, 0) << Show(events);
  EXPECT_EQ(events.out.rfind("TIME", 0), 0u) << events.out;
  EXPECT_NE(events.out.find("function_deployed"), std::string::npos) << events.out;
}

TEST_F(CliTest, TokenAndUrlResolution) {
  // Environment variables.
  CliRun env =
      RunCli({"functions", "ls"}, WithEnv({{"AETHER_CONTROL", Url()}, {"AETHER_TOKEN", Token()}}));
  EXPECT_EQ(env.exit_code, 0) << Show(env);
  // A CLI config file, named and in the default place ($HOME/.config).
  WriteFile(*dir_ / "cli.toml", "control = \"" + Url() + "\"\ntoken = \"" + Token() + "\"\n");
  CliRun file = RunCli({"functions", "ls", "--cli-config", *dir_ / "cli.toml"});
  EXPECT_EQ(file.exit_code, 0) << Show(file);
  fs::create_directories(*dir_ / "xdg/aether");
  fs::copy_file(*dir_ / "cli.toml", *dir_ / "xdg/aether/cli.toml",
                fs::copy_options::overwrite_existing);
  CliRun xdg = RunCli({"functions", "ls"}, WithEnv({{"XDG_CONFIG_HOME", *dir_ / "xdg"}}));
  EXPECT_EQ(xdg.exit_code, 0) << Show(xdg);
  // Flags beat the environment.
  CliRun flags =
      RunCli({"functions", "ls", "--control", Url(), "--token", Token()},
             WithEnv({{"AETHER_CONTROL", "http://127.0.0.1:1"}, {"AETHER_TOKEN", "bad"}}));
  EXPECT_EQ(flags.exit_code, 0) << Show(flags);
  // No token anywhere, a local URL: the in-a-box token in ./.aether/ is used.
  CliRun box = RunCli({"functions", "ls"}, WithEnv({{"AETHER_CONTROL", Url()}}, *dir_ / "work"));
  EXPECT_EQ(box.exit_code, 0) << Show(box);
  // A broken config file is a usage error naming the key.
  WriteFile(*dir_ / "typo.toml", "contrl = \"x\"\n");
  ExpectOneLineError(RunCli({"functions", "ls", "--cli-config", *dir_ / "typo.toml"}), 2,
                     "unknown key \"contrl\"");
  ExpectOneLineError(RunCli({"functions", "ls", "--cli-config", *dir_ / "absent.toml"}), 2,
                     "cannot read CLI config");
}

TEST_F(CliTest, EventsFollowPrintsNewEvents) {
  // The follower is a child process killed by PID once it printed the event.
  TempDir io;
  std::string out = io / "out";
  std::vector<std::string> args = {kAether,     "events", "--follow", "--type", "function_deployed",
                                   "--control", Url(),    "--token",  Token()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  // The header comes after the first poll: deploy only then, so the event
  // can only arrive through a later poll.
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (ReadFile(out).rfind("TIME", 0) != 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ReadFile(out).find("\"name\":\"followed\""), std::string::npos);
  ASSERT_EQ(Cli({"deploy", "followed", Guest("echo")}).exit_code, 0);
  deadline = Clock::now() + std::chrono::seconds(10);
  std::string text;
  while (Clock::now() < deadline) {
    text = ReadFile(out);
    if (text.find("\"name\":\"followed\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  EXPECT_EQ(text.rfind("TIME", 0), 0u) << text;
  EXPECT_NE(text.find("\"name\":\"followed\""), std::string::npos) << text;
}

// `aether dev` restarted after DIR/engine was deleted (the node credential
// with it, while DIR/control remembers the node): the engine joins again.
TEST(DevTest, AnEngineDirWithoutItsCredentialJoinsAgain) {
  TempDir dir;
  const std::string data = dir / ".aether";
  auto node_up = [&](const std::string& url) {
    std::string token = ReadFile(data + "/control/admin.token");
    while (!token.empty() && token.back() == '\n') token.pop_back();
    auto deadline = Clock::now() + std::chrono::seconds(15);
    while (Clock::now() < deadline) {
      auto r = HttpFetch("GET", url + "/api/nodes", {}, {{"Authorization", "Bearer " + token}});
      if (r.ok() && r->body.find("\"node_id\":\"dev\",") != std::string::npos &&
          r->body.find("\"state\":\"up\"") != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  std::vector<std::string> args = {"--port", "0", "--engine-port", "0", "--data-dir", data};
  {
    auto dev = DevProcess::Start(args, dir / "dev-1.log");
    ASSERT_TRUE(dev.ok()) << dev.status().message();
    ASSERT_TRUE(node_up((*dev)->url())) << (*dev)->Log();
  }
  ASSERT_TRUE(fs::exists(data + "/engine/node.credential"));
  fs::remove_all(data + "/engine");
  auto dev = DevProcess::Start(args, dir / "dev-2.log");
  ASSERT_TRUE(dev.ok()) << dev.status().message();
  EXPECT_NE((*dev)->Log().find("re-admitting node dev"), std::string::npos) << (*dev)->Log();
  // A new credential is written only when the control plane admitted it.
  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (!fs::exists(data + "/engine/node.credential") && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(fs::exists(data + "/engine/node.credential")) << (*dev)->Log();
  EXPECT_TRUE(node_up((*dev)->url())) << (*dev)->Log();
}

// `aether dev --domains 2 --nodes 1`: a controller over two domains with an
// engine each, in one process; bad sizes are usage errors.
TEST(DevTest, DomainsStartASmallCluster) {
  TempDir dir;
  const std::string data = dir / ".aether";
  auto dev = DevProcess::Start(
      {"--domains", "2", "--nodes", "1", "--port", "0", "--data-dir", data}, dir / "dev.log");
  ASSERT_TRUE(dev.ok()) << dev.status().message();
  std::string token = ReadFile(data + "/controller/admin.token");
  while (!token.empty() && token.back() == '\n') token.pop_back();
  std::string listed;
  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline) {
    auto r = HttpFetch("GET", (*dev)->url() + "/api/domains", {},
                       {{"Authorization", "Bearer " + token}});
    listed = r.ok() ? r->body : r.status().message();
    if (listed.find("\"site-1\"") != std::string::npos &&
        listed.find("\"site-2\"") != std::string::npos &&
        listed.find("\"nodes_up\":0") == std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(listed.find("\"site-1-edge-1\""), std::string::npos) << listed;
  EXPECT_NE(listed.find("\"site-2-edge-1\""), std::string::npos) << listed;
  EXPECT_NE((*dev)->Log().find("aether domains ls"), std::string::npos) << (*dev)->Log();

  // docs/domains.md, "Links between domains": the pipeline with filter in
  // the other domain, applied with the CLI; parse calls filter across the
  // link, filter casts accepted orders back across it to the log.
  const std::string source = AETHER_SOURCE_DIR;
  CliOptions cli;
  cli.env = {{"AETHER_CONTROL", (*dev)->url()}, {"AETHER_TOKEN", token}};
  cli.timeout = std::chrono::seconds(60);
  CliRun apply = RunCli({"workflow", "apply", source + "/examples/pipeline/span.json", "--sdk",
                         source + "/functions/sdk"},
                        cli);
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  std::string verdict;
  deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    auto r = HttpFetch("POST", (*dev)->url() + "/wf/span/orders", "amount=150&item=book", {});
    verdict = r.ok() ? r->body : r.status().message();
    if (verdict == R"({"verdict":"accept"})") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(verdict, R"({"verdict":"accept"})");
  CliRun show = RunCli({"workflow", "show", "span"}, cli);
  EXPECT_TRUE(std::regex_search(show.out, std::regex("span/filter/0 +site-2"))) << show.out;
  EXPECT_TRUE(std::regex_search(show.out, std::regex("span/parse/0 +site-1"))) << show.out;
  std::string logged;
  deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline && logged.empty()) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(data)) {
      if (e.path().filename() == "accepted.log") logged = ReadFile(e.path().string());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(logged, "{\"amount\":150,\"item\":\"book\"}\n");

  CliRun bad = RunCli({"dev", "--domains", "9", "--data-dir", dir / "other"});
  ExpectOneLineError(bad, 2, "--domains must be 1 to 8");
}

}  // namespace
}  // namespace aether::testing
