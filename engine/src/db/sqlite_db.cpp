#include "db/sqlite_db.hpp"

#include <fmt/format.h>

#include <utility>

namespace lb::sqlite {

bool is_storage_fault(int code) {
  switch (code & 0xff) {
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
      return true;
    default:
      return false;
  }
}

bool is_busy(int code) { return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED; }

namespace {

std::string describe(sqlite3* db, std::string_view operation, int code) {
  const char* message = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  return fmt::format("{}: {} ({})", operation, message, sqlite3_errstr(code));
}

}  // namespace

// --- Statement -------------------------------------------------------------------------------

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
  }
  return *this;
}

void Statement::fail(std::string_view operation, int code) const {
  const char* sql = stmt_ ? sqlite3_sql(stmt_) : nullptr;
  std::string op(operation);
  if (sql) {
    // The first words of the statement say which one failed without dumping all of it.
    std::string_view s(sql);
    op += fmt::format(" [{}{}]", s.substr(0, 48), s.size() > 48 ? "..." : "");
  }
  throw Failure{describe(db_, op, code), sqlite3_extended_errcode(db_) ? sqlite3_extended_errcode(db_) : code};
}

Statement& Statement::bind(int index, std::string_view text) {
  // An empty string_view may have a null data(); SQLite would bind that as NULL, not ''.
  const char* data = text.data() ? text.data() : "";
  const int rc = sqlite3_bind_text(stmt_, index, data, static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  const int rc = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail("step", rc);
}

int64_t Statement::run() {
  while (step()) {
  }
  return sqlite3_changes64(db_);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::blob(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

// --- Database --------------------------------------------------------------------------------

Database::~Database() {
  cache_.clear();  // statements must be finalized before the connection closes
  if (db_) sqlite3_close(db_);
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)), cache_(std::move(other.cache_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    cache_.clear();
    if (db_) sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

Database Database::open(const std::string& path, const OpenOptions& options) {
  Database d;
  d.path_ = path;
  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  // FULLMUTEX: the connection itself is serialized; callers still guard the statement cache.
  flags |= SQLITE_OPEN_FULLMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &d.db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = describe(d.db_, "open", rc);
    const int code = d.db_ ? sqlite3_extended_errcode(d.db_) : rc;
    throw Failure{std::move(message), code};
  }
  sqlite3_extended_result_codes(d.db_, 1);
  sqlite3_busy_timeout(d.db_, options.busy_timeout_ms);
  return d;
}

bool Database::read_only() const { return db_ && sqlite3_db_readonly(db_, "main") == 1; }

void Database::fail(std::string_view operation, int code) const {
  throw Failure{describe(db_, operation, code), db_ ? sqlite3_extended_errcode(db_) : code};
}

void Database::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    std::string_view s(sql);
    throw Failure{fmt::format("exec [{}{}]: {} ({})", s.substr(0, 48), s.size() > 48 ? "..." : "", text,
                              sqlite3_errstr(rc)),
                  sqlite3_extended_errcode(db_)};
  }
}

Query Database::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      std::string_view s(sql);
      fail(fmt::format("prepare [{}{}]", s.substr(0, 48), s.size() > 48 ? "..." : ""), rc);
    }
    it = cache_.emplace(sql, std::make_unique<Statement>(stmt, db_)).first;
  }
  it->second->reset();
  return Query(*it->second);
}

Statement Database::prepare_once(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) fail("prepare", rc);
  return Statement(stmt, db_);
}

int64_t Database::query_int(const char* sql) {
  Query q = prepare(sql);
  return q->step() ? q->int64(0) : 0;
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

// --- Transaction -----------------------------------------------------------------------------

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
  open_ = true;
}

Transaction::~Transaction() {
  if (open_) {
    // Never throws from a destructor: a failed rollback leaves SQLite to roll back the
    // journal on the next open, which is what a crash would do anyway.
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace lb::sqlite
