// The embedded Store: one SQLite connection in WAL mode, synchronous=FULL,
// behind a mutex. Schema (version 1):
//   kv(key BLOB PRIMARY KEY, value BLOB, create_rev INTEGER, mod_rev INTEGER)
//   meta(name TEXT PRIMARY KEY, value INTEGER)   -- 'revision'
// Keys are BLOBs so that ordering is memcmp, exactly as etcd's.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>

#include "control/internal/local_revision_store.h"
#include "control/internal/txn_check.h"
#include "control/sqlite/statement.h"
#include "control/store.h"

namespace aether::control {
namespace {

// 'AETH': marks the file as ours so that pointing [database] path at some
// other SQLite file fails instead of adding tables to it.
constexpr int kApplicationId = 0x41455448;
constexpr int kBusyTimeoutMs = 5000;

class SqliteStore final : public internal::LocalRevisionStore {
 public:
  ~SqliteStore() override {
    stmts_.clear();  // statements must be finalized before the connection closes
    if (db_) sqlite3_close(db_);
  }

  Status Open(const std::string& path) {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec)
        return Unavailable("cannot create the database directory " + parent.string() + ": " +
                           ec.message());
    }
    // The store holds function env (secrets): owner-only. SQLite gives the
    // -wal and -shm files the database file's mode, so creating it first
    // with 0600 covers all three.
    if (int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600); fd >= 0) ::close(fd);
    int rc =
        sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      return Unavailable("cannot open the database " + path + ": " +
                         (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    sqlite3_extended_result_codes(db_, 1);

    ASSIGN_OR_RETURN(int64_t app_id, QueryInt("PRAGMA application_id"));
    if (app_id != 0 && app_id != kApplicationId) {
      return Unavailable("the database " + path + " is not an Aether control plane store");
    }
    ASSIGN_OR_RETURN(std::string mode, QueryText("PRAGMA journal_mode=WAL"));
    if (mode != "wal")
      return Unavailable("the database " + path + " cannot use WAL mode (" + mode + ")");
    // FULL: the WAL is fsynced at every commit, so an acknowledged write
    // survives kill -9 and power loss (NORMAL would only survive the former).
    RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
    RETURN_IF_ERROR(Exec("PRAGMA application_id=" + std::to_string(kApplicationId)));
    RETURN_IF_ERROR(
        Exec("CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL,"
             " create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL) WITHOUT ROWID;"
             "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
             "INSERT OR IGNORE INTO meta(name, value) VALUES ('revision', 0);"));
    ASSIGN_OR_RETURN(revision_, QueryInt("SELECT value FROM meta WHERE name = 'revision'"));
    return OkStatus();
  }

  Result<TxnResult> Txn(const TxnRequest& txn) override {
    RETURN_IF_ERROR(internal::CheckTxn(txn));
    bool writes = internal::HasWrites(txn);
    std::unique_lock lock(mu_);
    // IMMEDIATE takes the write lock up front: no upgrade deadlock with a
    // reader in another process (e.g. the sqlite3 shell doing a backup).
    RETURN_IF_ERROR(Exec(writes ? "BEGIN IMMEDIATE" : "BEGIN"));
    Result<TxnResult> result = Apply(txn, writes);
    if (!result.ok() || !result->succeeded || !writes) {
      (void)Exec("ROLLBACK");
      if (result.ok()) result->revision = revision_;
      return result;
    }
    if (Status st = Exec("COMMIT"); !st.ok()) {
      (void)Exec("ROLLBACK");
      return st;
    }
    Publish(lock, result->revision);
    return result;
  }

 private:
  // Inside a transaction, under mu_.
  Result<TxnResult> Apply(const TxnRequest& txn, bool writes) {
    TxnResult result;
    result.revision = revision_;
    for (const Compare& c : txn.compares) {
      ASSIGN_OR_RETURN(int64_t mod, ModRevision(c.key));
      bool holds = c.kind == Compare::Kind::kExists ? mod != 0 : mod == c.mod_revision;
      if (!holds) return result;
    }
    result.succeeded = true;
    int64_t next = revision_ + 1;
    for (const Op& op : txn.ops) {
      switch (op.kind) {
        case Op::Kind::kPut: {
          Statement& s = Stmt(
              "INSERT INTO kv(key, value, create_rev, mod_rev) VALUES (?1, ?2, ?3, ?3)"
              " ON CONFLICT(key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev");
          s.BindBlob(1, op.key).BindBlob(2, op.value).BindInt(3, next);
          RETURN_IF_ERROR(s.RunToEnd());
          break;
        }
        case Op::Kind::kDelete: {
          Statement& s = Stmt("DELETE FROM kv WHERE key = ?1");
          s.BindBlob(1, op.key);
          RETURN_IF_ERROR(s.RunToEnd());
          break;
        }
        case Op::Kind::kDeletePrefix: {
          std::string end = PrefixEnd(op.key);
          Statement& s = Stmt("DELETE FROM kv WHERE key >= ?1 AND (?2 IS NULL OR key < ?2)");
          s.BindBlob(1, op.key);
          if (end.empty())
            s.BindNull(2);
          else
            s.BindBlob(2, end);
          RETURN_IF_ERROR(s.RunToEnd());
          break;
        }
        case Op::Kind::kGet: {
          Statement& s = Stmt("SELECT key, value, create_rev, mod_rev FROM kv WHERE key = ?1");
          s.BindBlob(1, op.key);
          ASSIGN_OR_RETURN(auto rows, ReadRows(s));
          result.reads.push_back(std::move(rows));
          break;
        }
        case Op::Kind::kList: {
          std::string end = PrefixEnd(op.key);
          Statement& s = Stmt(
              "SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ?1"
              " AND (?2 IS NULL OR key < ?2) AND key > ?3 ORDER BY key LIMIT ?4");
          s.BindBlob(1, op.key);
          if (end.empty())
            s.BindNull(2);
          else
            s.BindBlob(2, end);
          s.BindBlob(3, op.start_after).BindInt(4, op.limit > 0 ? op.limit : -1);
          ASSIGN_OR_RETURN(auto rows, ReadRows(s));
          result.reads.push_back(std::move(rows));
          break;
        }
      }
    }
    if (writes) {
      Statement& s = Stmt("UPDATE meta SET value = ?1 WHERE name = 'revision'");
      s.BindInt(1, next);
      RETURN_IF_ERROR(s.RunToEnd());
      result.revision = next;
    }
    return result;
  }

  Result<int64_t> ModRevision(const std::string& key) {
    Statement& s = Stmt("SELECT mod_rev FROM kv WHERE key = ?1");
    s.BindBlob(1, key);
    ASSIGN_OR_RETURN(bool row, s.Step());
    int64_t mod = row ? s.ColumnInt(0) : 0;
    s.Reset();
    return mod;
  }

  Result<std::vector<KeyValue>> ReadRows(Statement& s) {
    std::vector<KeyValue> rows;
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      rows.push_back({s.ColumnBlob(0), s.ColumnBlob(1), s.ColumnInt(2), s.ColumnInt(3)});
    }
    s.Reset();
    return rows;
  }

  Statement& Stmt(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) it = stmts_.emplace(sql, std::make_unique<Statement>(db_, sql)).first;
    return *it->second;
  }

  Status Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return Internal("store: " + msg);
    }
    return OkStatus();
  }

  Result<int64_t> QueryInt(const char* sql) {
    Statement s(db_, sql);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Internal(std::string("store: no result for ") + sql);
    return s.ColumnInt(0);
  }

  Result<std::string> QueryText(const char* sql) {
    Statement s(db_, sql);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Internal(std::string("store: no result for ") + sql);
    return s.ColumnBlob(0);
  }

  sqlite3* db_ = nullptr;
  // Prepared once, keyed by the SQL literal's address (every call site
  // passes a string literal).
  std::map<const char*, std::unique_ptr<Statement>> stmts_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  auto store = std::make_unique<SqliteStore>();
  RETURN_IF_ERROR(store->Open(path));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace aether::control
