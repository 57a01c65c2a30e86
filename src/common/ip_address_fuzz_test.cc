// libFuzzer target for the address parsers behind http-egress's allow list
// (common/ip_address.h, ParseEgressAllowEntry). Checks: no crash or UB on
// any bytes; every accepted address, range and allow entry prints in a form
// that parses back to the same thing; the legacy IPv4 parser agrees with the
// strict one on strict input and only accepts what LooksLikeIpv4 flags (so
// no spelling a resolver reads as an address passes as a name).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/ip_address.h"
#include "common/resource_config.h"
#include "common/result.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aether;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (std::optional<IpAddress> a = ParseIpAddress(text)) {
    std::optional<IpAddress> back = ParseIpAddress(a->ToString());
    CHECK(back && *back == *a);
    (void)AddressKindName(ClassifyAddress(*a));
    if (!a->v6) {
      std::optional<IpAddress> legacy = ParseIpv4AnySpelling(text);
      CHECK(legacy && *legacy == *a);
    }
  }
  if (std::optional<IpAddress> a = ParseIpv4AnySpelling(text)) {
    CHECK(!a->v6);
    CHECK(LooksLikeIpv4(text));
  }
  if (std::optional<IpNetwork> n = ParseIpNetwork(text)) {
    CHECK(n->Contains(n->base));
    std::optional<IpNetwork> back = ParseIpNetwork(n->ToString());
    CHECK(back && back->base == n->base && back->prefix == n->prefix);
  }
  if (Result<EgressAllowEntry> e = ParseEgressAllowEntry(text); e.ok()) {
    std::string norm = e->ToString();
    Result<EgressAllowEntry> back = ParseEgressAllowEntry(norm);
    CHECK(back.ok());
    CHECK(back->ToString() == norm);
    if (e->kind == EgressAllowEntry::Kind::kName) CHECK(!LooksLikeIpv4(e->name));
  } else {
    CHECK(e.status().code() == Code::kInvalidArgument && !e.status().message().empty());
  }
  return 0;
}
