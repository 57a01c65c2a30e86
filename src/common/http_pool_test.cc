#include "common/http_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace aether {
namespace {

class HttpPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.port = 0;
    o.idle_timeout = std::chrono::milliseconds(300);
    server_ = std::make_unique<HttpServer>(o);
    server_->Route("POST", "/echo", [this](HttpRequest&& req, Responder respond) {
      remotes_mu_.lock();
      remotes_.insert(req.remote);
      remotes_mu_.unlock();
      HttpResponse r;
      r.body = req.body;
      respond(std::move(r));
    });
    ASSERT_TRUE(server_->Start().ok());
  }
  std::unique_ptr<HttpServer> server_;
  std::mutex remotes_mu_;
  std::set<std::string> remotes_;  // client ip:port seen = connections used
};

TEST_F(HttpPoolTest, ReusesOneConnectionForSequentialRequests) {
  HttpConnectionPool pool;
  for (int i = 0; i < 20; ++i) {
    auto r = pool.Fetch("POST", server_->url() + "/echo", "n" + std::to_string(i),
                        std::chrono::seconds(2));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "n" + std::to_string(i));
  }
  EXPECT_EQ(remotes_.size(), 1u);
}

TEST_F(HttpPoolTest, RetriesWhenTheServerClosedAnIdleConnection) {
  HttpConnectionPool pool;
  ASSERT_TRUE(pool.Fetch("POST", server_->url() + "/echo", "a", std::chrono::seconds(2)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // past the idle timeout
  auto r = pool.Fetch("POST", server_->url() + "/echo", "b", std::chrono::seconds(2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "b");
}

TEST_F(HttpPoolTest, ConcurrentCallersAndErrors) {
  HttpConnectionPool pool;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = pool.Fetch("POST", server_->url() + "/echo", "x", std::chrono::seconds(2));
        if (r.ok() && r->body == "x") ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_LE(remotes_.size(), 4u);

  auto refused = pool.Fetch("POST", "http://127.0.0.1:1/echo", "x", std::chrono::seconds(2));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_TRUE(refused.status().message().starts_with("cannot connect")) << refused.status().message();
  EXPECT_FALSE(pool.Fetch("POST", "not a url", "x", std::chrono::seconds(1)).ok());
}

}  // namespace
}  // namespace aether
