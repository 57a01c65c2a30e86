// libFuzzer target for the etcd gateway answers the control plane parses
// (etcd_codec.h): a txn answer, a watch line, a header, an auth token, a lease, an
// error body — what an etcd member (or anything answering on its port)
// sends. Checks, on any bytes: no crash, UB or uncaught exception; errors
// are Internal (a malformed answer is etcd's fault, not the caller's);
// decoded keys are the ones under the store's prefix, with it removed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "control/etcd/etcd_codec.h"

namespace {

using namespace aether::control;  // NOLINT: the codec's types

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  TxnRequest txn{{}, {Op::Put("a", "1"), Op::Get("a"), Op::List("")}};
  aether::Result<TxnResult> r = etcd::DecodeTxn("/p/", txn, body);
  if (r.ok()) {
    Check(!r->succeeded || r->reads.size() == 2);
    for (const auto& read : r->reads) {
      for (const KeyValue& kv : read) Check(!kv.key.starts_with("/p/") || kv.key.size() >= 3);
    }
  } else {
    Check(r.status().code() == aether::Code::kInternal);
  }
  if (auto m = etcd::DecodeWatchMessage(body); !m.ok()) {
    Check(m.status().code() == aether::Code::kInternal);
  }
  (void)etcd::DecodeHeaderRevision(body);
  (void)etcd::DecodeAuthToken(body);
  if (auto lease = etcd::DecodeLease(body); !lease.ok()) {
    Check(lease.status().code() == aether::Code::kInternal);
  }
  Check(!etcd::ErrorFromAnswer(500, body).ok());
  return 0;
}
