#include "workflow/edgeless_http.h"

#include <gtest/gtest.h>

namespace aether::workflow {
namespace {

TEST(EdgelessHttpTest, RequestsAreWrittenAsSerdeWritesThem) {
  EXPECT_EQ(EncodeEdgelessRequest("PUT", "h", "/p?q=1", std::string("\x00\xff", 2), {{"x-a", "1"}}),
            R"({"method":"Put","protocol":"Unknown","host":"h","path":"/p?q=1",)"
            R"("body":[0,255],"headers":{"x-a":"1"}})");
  EXPECT_EQ(EdgelessMethod("DELETE"), "Delete");
  EXPECT_FALSE(EdgelessMethod("OPTIONS").has_value());
  EXPECT_FALSE(EdgelessMethod("post").has_value());
}

TEST(EdgelessHttpTest, ResponsesAreRead) {
  Result<EdgelessResponse> r =
      DecodeEdgelessResponse(R"({"body":[104,105],"status":404,"headers":{"Content-Type":"a/b"}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "hi");
  EXPECT_EQ(r->headers.at("content-type"), "a/b");
  r = DecodeEdgelessResponse(R"({"body":null,"status":204,"headers":{}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "");
}

TEST(EdgelessHttpTest, BadResponsesSayWhatIsWrong) {
  for (const char* bad :
       {"", "[]", "nope", R"({"body":null})", R"({"status":"200"})", R"({"status":99})",
        R"({"status":600})", R"({"status":200,"body":"x"})", R"({"status":200,"body":[256]})",
        R"({"status":200,"body":[-1]})", R"({"status":200,"body":[1.5]})",
        R"({"status":200,"headers":[]})", R"({"status":200,"headers":{"a":1}})"}) {
    Result<EdgelessResponse> r = DecodeEdgelessResponse(bad);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
}

// A function's response headers become the client's: only those that
// cannot split the response, replace the server's framing or pose as it.
TEST(EdgelessHttpTest, ResponseHeadersAClientMaySee) {
  std::map<std::string, std::string> from_function = {{"x-function", "wfe"},
                                                      {"cache-control", "no-store, max-age=0"},
                                                      {"x-tab", "a\tb"},
                                                      {"x-split", "a\r\nset-cookie: evil=1"},
                                                      {"x-nul", std::string("a\0b", 3)},
                                                      {"x-high", "caf\xc3\xa9"},
                                                      {"bad name", "x"},
                                                      {"bad:name", "x"},
                                                      {"", "x"},
                                                      {"content-type", "text/plain"},
                                                      {"content-length", "1"},
                                                      {"transfer-encoding", "chunked"},
                                                      {"connection", "close"},
                                                      {"proxy-authenticate", "x"},
                                                      {"server", "fake"},
                                                      {"date", "yesterday"},
                                                      {"x-aether-node", "other"}};
  std::vector<std::pair<std::string, std::string>> want = {
      {"cache-control", "no-store, max-age=0"}, {"x-function", "wfe"}, {"x-tab", "a\tb"}};
  EXPECT_EQ(EdgelessResponseHeaders(from_function), want);

  std::map<std::string, std::string> many;
  for (int i = 0; i < 100; ++i) many["x-" + std::to_string(1000 + i)] = "v";
  EXPECT_EQ(EdgelessResponseHeaders(many).size(), kMaxEdgelessResponseHeaders);
  std::map<std::string, std::string> big = {{"x-a", std::string(10000, 'a')},
                                            {"x-b", std::string(10000, 'b')}};
  ASSERT_EQ(EdgelessResponseHeaders(big).size(), 1u);
}

}  // namespace
}  // namespace aether::workflow
