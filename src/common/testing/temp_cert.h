// A self-signed certificate for 127.0.0.1 and localhost, made by the
// openssl CLI in a fresh temporary directory (removed with the object):
// for tests of the HTTP clients over TLS.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/http_server.h"

namespace aether::testing {

class TempCert {
 public:
  TempCert() {
    char tmpl[] = "/tmp/aether-tls-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -days 1 -subj /CN=localhost "
        "-addext subjectAltName=IP:127.0.0.1,DNS:localhost "
        "-keyout " +
        key() + " -out " + cert() + " >/dev/null 2>&1";
    ok_ = std::system(cmd.c_str()) == 0;
  }
  ~TempCert() { std::filesystem::remove_all(dir_); }
  TempCert(const TempCert&) = delete;
  TempCert& operator=(const TempCert&) = delete;

  bool ok() const { return ok_; }
  std::string cert() const { return dir_ + "/cert.pem"; }
  std::string key() const { return dir_ + "/key.pem"; }
  // A server's options to serve https with it.
  HttpServerOptions ServerOptions() const {
    HttpServerOptions o;
    o.tls_cert = cert();
    o.tls_key = key();
    return o;
  }

 private:
  std::string dir_;
  bool ok_ = false;
};

}  // namespace aether::testing
