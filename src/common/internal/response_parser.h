// Private to the asynchronous HTTP client (async_http_client.cc): parses a
// response straight into an HttpResponse, skipping Beast's own message and
// fields containers (fewer allocations per response), as the server's
// RequestParser does for requests.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string>

#include "common/http_server.h"

namespace aether::http_internal {

class ResponseParser final : public boost::beast::http::basic_parser<false> {
 public:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;

  // Bodies over `max_body` fail the read with http::error::body_limit.
  ResponseParser(HttpResponse& response, uint64_t max_body) : response_(response) {
    body_limit(max_body);
    response_.content_type.clear();
    response_.headers.reserve(4);  // Server, Content-Type, Content-Length and one more
  }

 private:
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override {
    response_.status = code;
  }
  void on_field_impl(boost::beast::http::field field, string_view name, string_view value,
                     error_code&) override {
    if (field == boost::beast::http::field::content_type) {
      response_.content_type.assign(value.data(), value.size());
    }
    response_.headers.emplace_back(std::string(name.data(), name.size()),
                                   std::string(value.data(), value.size()));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<uint64_t>& length, error_code&) override {
    // Already checked against body_limit by the parser.
    if (length) response_.body.reserve(*length);
  }
  size_t on_body_impl(string_view body, error_code&) override {
    response_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(uint64_t, string_view, error_code&) override {}
  size_t on_chunk_body_impl(uint64_t, string_view body, error_code&) override {
    response_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  HttpResponse& response_;
};

}  // namespace aether::http_internal
