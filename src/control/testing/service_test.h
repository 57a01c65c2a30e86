// A fixture for tests of the control plane's HTTP API: a real
// ControlService on 127.0.0.1 (port 0) with its SQLite store in a
// directory named after the test, removed with everything in it after.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "control/control_service.h"

namespace aether::control::testing {

class ServiceTest : public ::testing::Test {
 protected:
  // `prefix` names the test's directory: /tmp/<prefix>-<pid>-<test>.
  explicit ServiceTest(std::string prefix) : prefix_(std::move(prefix)) {}

  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            (prefix_ + "-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    Config config;
    config.database.path = dir_ + "/aether.db";
    service_ = ControlService::Create(config, 0).value();
    ASSERT_TRUE(service_->Start().ok());
  }
  void TearDown() override {
    service_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  std::unique_ptr<ControlService> service_;

 private:
  std::string prefix_;
};

}  // namespace aether::control::testing
