// Logging: spdlog behind a few functions so components do not depend on its
// setup. Never log secrets (tokens, request bodies).
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "common/result.h"

namespace aether {

// Sets the global level ("trace", "debug", "info", "warn", "error", "off").
Status SetLogLevel(std::string_view level);

}  // namespace aether

#define LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define LOG_INFO(...) SPDLOG_INFO(__VA_ARGS__)
#define LOG_WARN(...) SPDLOG_WARN(__VA_ARGS__)
#define LOG_ERROR(...) SPDLOG_ERROR(__VA_ARGS__)
