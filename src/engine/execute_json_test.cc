#include "engine/execute_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace aether::engine {
namespace {

namespace json = boost::json;

json::object ParseBody(const std::string& body) {
  json::value v = json::parse(body);
  return v.as_object();
}

TEST(ParseExecuteRequestTest, StringInputIsRawBytes) {
  auto r = ParseExecuteRequest(R"({"function":"hello","input":"a\"b\n\u00e9"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->function, "hello");
  EXPECT_EQ(r->input, "a\"b\n\xc3\xa9");
}

TEST(ParseExecuteRequestTest, OtherInputIsCompactJson) {
  auto r = ParseExecuteRequest(R"({ "function" : "f", "input" : { "a" : [1, 2.5, true, null] } })");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input, R"({"a":[1,2.5,true,null]})");
  // Numbers and strings exactly as the client wrote them.
  EXPECT_EQ(
      ParseExecuteRequest(R"({"function":"f","input":[1.0, -0.5e0, 1e400, "\u00e9 \n"]})")->input,
      R"([1.0,-0.5e0,1e400,"\u00e9 \n"])");
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"f","input":18446744073709551616123})")->input,
            "18446744073709551616123");
  // Repeated keys: the last wins, as in the parsed object; escaped keys count.
  EXPECT_EQ(ParseExecuteRequest(R"({"input":1,"function":"f","\u0069nput" : [ 2 ] })")->input,
            "[2]");
  EXPECT_EQ(ParseExecuteRequest(R"({"input":{"input":"x"},"function":"f"})")->input,
            R"({"input":"x"})");
  EXPECT_EQ(ParseExecuteRequest(R"({"a":"}\"{","input":{"s":"a \" ] b"} ,"function":"f"})")->input,
            R"({"s":"a \" ] b"})");
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"f","input":42})")->input, "42");
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"f","input":false})")->input, "false");
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"f","input":[]})")->input, "[]");
}

TEST(ParseExecuteRequestTest, AbsentOrNullInputIsEmpty) {
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"f"})")->input, "");
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"f","input":null})")->input, "");
}

TEST(ParseExecuteRequestTest, ErrorsNameTheField) {
  auto missing = ParseExecuteRequest(R"({"input":"x"})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), "field \"function\" is required");
  auto wrong = ParseExecuteRequest(R"({"function":7})");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "field \"function\" must be a string");
  EXPECT_FALSE(ParseExecuteRequest(R"({"function":""})").ok());
}

TEST(ParseExecuteRequestTest, InvalidJson) {
  for (const char* body : {"", "{", "{\"function\":\"f\"} x", "nope", "[1]", "\"s\""}) {
    auto r = ParseExecuteRequest(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << body;
  }
  EXPECT_NE(ParseExecuteRequest("{").status().message().find("invalid JSON"), std::string::npos);
  EXPECT_NE(ParseExecuteRequest("[1]").status().message().find("object"), std::string::npos);
}

TEST(ParseExecuteRequestTest, LargeBodiesParseWhole) {
  std::string big(100000, 'x');
  auto r = ParseExecuteRequest(R"({"function":"f","input":{"k":")" + big + "\"}}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input.size(), big.size() + 8);
}

// The one-pass parse keeps only the top-level members, the last of each,
// and strings that arrive in pieces (long ones, with escapes) whole.
TEST(ParseExecuteRequestTest, TopLevelMembersOnlyTheLastOfEachAndLongStringsWhole) {
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"a","function":"b"})")->function, "b");
  EXPECT_EQ(ParseExecuteRequest(R"({"\u0066unction":"esc"})")->function, "esc");
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"a","function":null})").status().message(),
            "field \"function\" is required");
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"a","function":["b"]})").status().message(),
            "field \"function\" must be a string");
  EXPECT_EQ(ParseExecuteRequest(R"({"function":{"function":"x"}})").status().message(),
            "field \"function\" must be a string");
  EXPECT_EQ(ParseExecuteRequest(R"({"x":{"function":"nested"},"function":"top"})")->function,
            "top");
  EXPECT_EQ(ParseExecuteRequest(R"({"x":[{"function":"nested"}]})").status().message(),
            "field \"function\" is required");
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"f","input":"s","input":null})")->input, "");
  EXPECT_EQ(ParseExecuteRequest(R"({"function":"f","input":[1],"input":"s"})")->input, "s");
  std::string piece;
  for (int i = 0; i < 5000; ++i) piece += "ab\\n\\u00e9";
  std::string expected;
  for (int i = 0; i < 5000; ++i) expected += "ab\n\xc3\xa9";
  auto r = ParseExecuteRequest("{\"function\":\"" + piece + "\",\"input\":\"" + piece + "\"}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->function, expected);
  EXPECT_EQ(r->input, expected);
  std::string key_piece;
  for (int i = 0; i < 3000; ++i) key_piece += "k\\u00e9";
  auto long_key = ParseExecuteRequest("{\"" + key_piece + "\":1,\"function\":\"f\"}");
  ASSERT_TRUE(long_key.ok());
  EXPECT_EQ(long_key->function, "f");
}

TEST(MakeRunResponseTest, Success) {
  wasm::RunResult run;
  run.stdout_data = "Hello, \"World\"!\n\xff";
  run.exec_ms = 0.0123;
  run.peak_memory_bytes = 131072 + 5;
  auto resp = MakeRunResponse("hello", run, std::chrono::seconds(3));
  EXPECT_EQ(resp.status, 200);
  json::object o = ParseBody(resp.body);
  EXPECT_EQ(o["output"].as_string(), "Hello, \"World\"!\n\xEF\xBF\xBD");
  EXPECT_DOUBLE_EQ(o["execution_time_ms"].to_number<double>(), 0.012);
  EXPECT_EQ(o["memory_used_kb"].as_int64(), 128);
}

// The numbers as text: milliseconds with three decimals, rounded; whole
// kilobytes; an exit code as a plain integer, negative ones included.
TEST(MakeRunResponseTest, NumbersAreWrittenExactly) {
  wasm::RunResult run;
  for (auto [ms, text] : std::vector<std::pair<double, std::string>>{{0, "0.000"},
                                                                     {0.0004, "0.000"},
                                                                     {0.0125, "0.013"},
                                                                     {1.9996, "2.000"},
                                                                     {12345.678, "12345.678"},
                                                                     {1e9, "1000000000.000"}}) {
    run.exec_ms = ms;
    auto resp = MakeRunResponse("f", run, std::chrono::seconds(3));
    EXPECT_NE(resp.body.find("\"execution_time_ms\":" + text + ","), std::string::npos)
        << ms << ": " << resp.body;
  }
  run.exec_ms = 0;
  run.exit_code = -7;
  auto exited = MakeRunResponse("f", run, std::chrono::seconds(3));
  EXPECT_NE(exited.body.find("\"exit_code\":-7"), std::string::npos) << exited.body;
}

TEST(MakeRunResponseTest, Trap) {
  wasm::RunResult run;
  run.trap = wasm::TrapKind::kDivideByZero;
  run.stderr_data = "before the trap\n";
  auto resp = MakeRunResponse("div", run, std::chrono::seconds(3));
  EXPECT_EQ(resp.status, 500);
  EXPECT_EQ(resp.code, "trap");
  json::object o = ParseBody(resp.body);
  EXPECT_EQ(o["code"].as_string(), "trap");
  EXPECT_EQ(o["trap"].as_string(), wasm::TrapName(wasm::TrapKind::kDivideByZero));
  EXPECT_EQ(o["error"].as_string(),
            "function div trapped: " + std::string(wasm::TrapMessage(run.trap)));
  EXPECT_EQ(o["stderr"].as_string(), "before the trap\n");
}

TEST(MakeRunResponseTest, Timeout) {
  wasm::RunResult run;
  run.trap = wasm::TrapKind::kTimeout;
  auto resp = MakeRunResponse("spin", run, std::chrono::milliseconds(500));
  json::object o = ParseBody(resp.body);
  EXPECT_EQ(resp.status, 500);
  EXPECT_EQ(o["code"].as_string(), "timeout");
  EXPECT_EQ(o["error"].as_string(), "function spin timed out after 500ms");
}

TEST(MakeRunResponseTest, NonZeroExitCarriesStderr) {
  wasm::RunResult run;
  run.exit_code = 3;
  run.stderr_data = "something went wrong\n" + std::string(10000, 'e');
  auto resp = MakeRunResponse("fail", run, std::chrono::seconds(3));
  json::object o = ParseBody(resp.body);
  EXPECT_EQ(resp.status, 500);
  EXPECT_EQ(o["code"].as_string(), "exit");
  EXPECT_EQ(o["exit_code"].as_int64(), 3);
  std::string error(o["error"].as_string());
  EXPECT_TRUE(error.starts_with("function fail exited with code 3: something went wrong"));
  EXPECT_EQ(o["stderr"].as_string().size(), kMaxStderrInError);
}

TEST(MakeRunResponseTest, RunErrors) {
  auto big = MakeRunResponse("big", Result<wasm::RunResult>(ResourceExhausted("too big")),
                             std::chrono::seconds(3));
  EXPECT_EQ(big.status, 500);
  EXPECT_EQ(ParseBody(big.body)["code"].as_string(), "instantiate");
  auto nostart = MakeRunResponse("x", Result<wasm::RunResult>(InvalidArgument("no _start")),
                                 std::chrono::seconds(3));
  EXPECT_EQ(ParseBody(nostart.body)["code"].as_string(), "invalid_module");
}

TEST(MakeLoadErrorResponseTest, InvalidModule) {
  auto r = MakeLoadErrorResponse("bad", InvalidArgument("bad magic number"));
  EXPECT_EQ(r.status, 500);
  json::object o = ParseBody(r.body);
  EXPECT_EQ(o["code"].as_string(), "invalid_module");
  EXPECT_EQ(o["error"].as_string(), "function bad: bad magic number");
}

TEST(MakeErrorTest, EscapesTheMessage) {
  auto r = MakeError(404, "not_found", "function \"x\xff\" not found");
  json::object o = ParseBody(r.body);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(o["code"].as_string(), "not_found");
  EXPECT_EQ(o["error"].as_string(), "function \"x\xEF\xBF\xBD\" not found");
}

}  // namespace
}  // namespace aether::engine
