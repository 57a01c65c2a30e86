#include "control/workflows/workflow_store.h"

#include <boost/json.hpp>

#include "common/json_util.h"
#include "common/log.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kPrefix = "workflows/";
constexpr std::string_view kMetaKey = "meta/workflows";

}  // namespace

const WorkflowRecord* WorkflowSnapshot::Find(const std::string& id) const {
  for (const WorkflowRecord& r : workflows) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::string WorkflowStore::Key(const std::string& id) { return std::string(kPrefix) + id; }

std::string WorkflowStore::Encode(const WorkflowRecord& r) {
  json::object placement;
  for (const auto& [id, p] : r.placement) {
    placement[id] = json::object{{"node_id", p.node_id},
                                 {"url", p.url},
                                 {"credential_id", p.credential_id},
                                 {"sha256", p.sha256}};
  }
  return ToJson(json::object{{"id", r.id},
                             {"name", r.name},
                             {"created_at", r.created_at},
                             // Embedded as JSON, not as a string: the format on disk.
                             {"spec", json::parse(SerializeWorkflowSpec(r.spec))},
                             {"placement", std::move(placement)},
                             {"reason", r.reason},
                             {"incarnated", r.incarnated}});
}

Result<WorkflowRecord> WorkflowStore::Decode(std::string_view text) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(text, "stored workflow"));
  WorkflowRecord r;
  ASSIGN_OR_RETURN(r.id, GetString(o, "id"));
  ASSIGN_OR_RETURN(r.name, GetString(o, "name", ""));
  ASSIGN_OR_RETURN(r.created_at, GetString(o, "created_at", ""));
  ASSIGN_OR_RETURN(r.reason, GetString(o, "reason", ""));
  if (const json::value* v = o.if_contains("incarnated")) {
    if (!v->is_bool()) return InvalidArgument("stored workflow " + r.id + ": bad \"incarnated\"");
    r.incarnated = v->get_bool();
  }
  const json::value* spec = o.if_contains("spec");
  if (!spec) return InvalidArgument("stored workflow " + r.id + " has no spec");
  // Checked when it was stored; a domain's part holds portals.
  SpecCheckHooks stored;
  stored.portals = true;
  // A serverless class was offered when the spec was applied; whether one
  // still is, placement tells.
  stored.node_class_offered = [](const std::string&) { return true; };
  ASSIGN_OR_RETURN(r.spec, ParseWorkflowSpec(json::serialize(*spec), stored));
  ASSIGN_OR_RETURN(const json::object* placement, GetObject(o, "placement"));
  for (const auto& [id, v] : *placement) {
    if (!v.is_object()) continue;
    PlacedInstance p;
    ASSIGN_OR_RETURN(p.node_id, GetString(v.get_object(), "node_id", ""));
    ASSIGN_OR_RETURN(p.url, GetString(v.get_object(), "url", ""));
    ASSIGN_OR_RETURN(p.credential_id, GetString(v.get_object(), "credential_id", ""));
    ASSIGN_OR_RETURN(p.sha256, GetString(v.get_object(), "sha256", ""));
    r.placement.emplace(std::string(id), std::move(p));
  }
  return r;
}

Result<int64_t> WorkflowStore::Revision() {
  ASSIGN_OR_RETURN(std::optional<KeyValue> meta, store_.Get(kMetaKey));
  return meta ? meta->mod_revision : 0;
}

Result<std::shared_ptr<const WorkflowSnapshot>> WorkflowStore::Snapshot() {
  ASSIGN_OR_RETURN(int64_t rev, Revision());
  {
    std::lock_guard lock(mu_);
    if (cached_ && cached_->revision == rev) return cached_;
  }
  // One txn: the meta key and every record at the same revision.
  TxnRequest read;
  read.ops.push_back(Op::Get(std::string(kMetaKey)));
  read.ops.push_back(Op::List(std::string(kPrefix)));
  ASSIGN_OR_RETURN(TxnResult t, store_.Txn(read));
  auto snap = std::make_shared<WorkflowSnapshot>();
  snap->revision = t.reads[0].empty() ? 0 : t.reads[0][0].mod_revision;
  for (const KeyValue& kv : t.reads[1]) {
    Result<WorkflowRecord> r = Decode(kv.value);
    if (!r.ok()) {
      LOG_WARN("skipping an unreadable workflow record {}: {}", kv.key, r.status().message());
      snap->complete = false;
      continue;
    }
    r->mod_revision = kv.mod_revision;
    r->create_revision = kv.create_revision;
    snap->workflows.push_back(std::move(*r));
  }
  std::lock_guard lock(mu_);
  if (!cached_ || cached_->revision <= snap->revision) cached_ = snap;
  return std::shared_ptr<const WorkflowSnapshot>(std::move(snap));
}

Status WorkflowStore::Write(Compare guard, const WorkflowRecord& record, std::string_view what) {
  TxnRequest txn;
  txn.compares.push_back(std::move(guard));
  txn.ops.push_back(Op::Put(Key(record.id), Encode(record)));
  txn.ops.push_back(Op::Put(std::string(kMetaKey), record.id));
  ASSIGN_OR_RETURN(TxnResult t, store_.Txn(txn));
  if (!t.succeeded) {
    if (what == "create") return AlreadyExists("a workflow named \"" + record.id + "\" exists");
    return FailedPrecondition("workflow " + record.id + " changed concurrently");
  }
  return OkStatus();
}

Status WorkflowStore::Create(const WorkflowRecord& record) {
  return Write(Compare::Absent(Key(record.id)), record, "create");
}

Status WorkflowStore::Update(const WorkflowRecord& record) {
  return Write(Compare::ModRevisionIs(Key(record.id), record.mod_revision), record, "update");
}

Status WorkflowStore::Delete(const std::string& id) {
  TxnRequest txn;
  txn.compares.push_back(Compare::Exists(Key(id)));
  txn.ops.push_back(Op::Delete(Key(id)));
  txn.ops.push_back(Op::Put(std::string(kMetaKey), id));
  ASSIGN_OR_RETURN(TxnResult t, store_.Txn(txn));
  if (!t.succeeded) return NotFound("no workflow \"" + id + "\"");
  return OkStatus();
}

}  // namespace aether::control
