// AETHER_ASAN is 1 when this translation unit is compiled with
// AddressSanitizer (scripts/sanitize.sh, scripts/fuzz.sh), 0 otherwise; for
// the few places that must behave differently under it (docs/sanitizers.md).
// gcc defines __SANITIZE_ADDRESS__; clang 14 only answers __has_feature.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define AETHER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AETHER_ASAN 1
#endif
#endif
#ifndef AETHER_ASAN
#define AETHER_ASAN 0
#endif
