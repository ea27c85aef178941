#pragma once
// A thin RAII layer over the SQLite C API for the ledger (ledger.cpp) and the SQLite ERP
// (erp/sqlite_erp.cpp): a connection with a statement cache, statements that bind and read
// by index, and immediate transactions that roll back unless committed.
//
// Failures inside this layer throw sqlite::Failure, which carries SQLite's extended result
// code. The throw never crosses a module boundary: every public function of the ledger and of
// the SQLite ERP catches it at its edge and returns an lb::Status / lb::Result or an
// erp::SinkError (DESIGN §6), the same pattern as model/directory_load.cpp. Exceptions here
// keep the many small prepare/bind/step calls readable without a check after each one.
//
// It has a folder of its own (db/, depending on nothing of ours but model/result) so that the
// ledger and the SQLite ERP share it without one module reaching into the other (DESIGN §2).
// If a third user appears it should move to a folder of its own (e.g. src/db/).
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lb::sqlite {

struct Failure {
  std::string message;  // "<operation>: <sqlite message> (<result code name>)"
  int code = SQLITE_ERROR;  // extended result code
};

// Result codes after which the file can no longer be trusted to record anything: the disk is
// full, the file or its folder is read-only, the OS reported an I/O error, or the file is not
// (or no longer) a database. The ledger turns these into "stop cleanly" (ledger.hpp).
bool is_storage_fault(int code);

// SQLITE_BUSY / SQLITE_LOCKED: another connection holds the write lock past the busy timeout.
bool is_busy(int code);

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQL (?1, ?2, ...). Text is copied (SQLITE_TRANSIENT).
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, static_cast<int64_t>(value ? 1 : 0)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, const std::optional<std::string>& text);
  Statement& bind_null(int index);
  Statement& bind_blob(int index, std::string_view bytes);

  // True when a row is ready, false when the statement is done. Throws Failure otherwise.
  bool step();
  // Steps to the end (DML); returns the number of rows changed.
  int64_t run();
  // Resets and clears bindings, so a cached statement starts clean (done by Database::prepare).
  void reset();

  // Columns are 0-based, as in the SQLite API.
  bool is_null(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  int64_t int64(int column) const;
  double real(int column) const;
  std::string blob(int column) const;

 private:
  [[noreturn]] void fail(std::string_view operation, int code) const;
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

// A cached statement in use: resets (and unbinds) it when the scope ends, so a read that stops
// after its first row does not keep a read transaction open on the connection.
class Query {
 public:
  explicit Query(Statement& statement) : s_(&statement) {}
  ~Query() { s_->reset(); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Statement* operator->() const { return s_; }
  Statement& operator*() const { return *s_; }

 private:
  Statement* s_;
};

struct OpenOptions {
  bool create = true;       // create the file when missing
  bool read_only = false;   // open read-only (inspection while another process writes)
  int busy_timeout_ms = 5000;
};

class Database {
 public:
  Database() = default;
  ~Database();
  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Throws Failure (with the path in the message) when the file cannot be opened.
  static Database open(const std::string& path, const OpenOptions& options);

  bool is_open() const { return db_ != nullptr; }
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  // True when SQLite opened the file read-only (asked for, or the OS refused write access).
  bool read_only() const;

  // Runs one or more statements without results (DDL, pragmas). Throws Failure.
  void exec(const char* sql);
  // A cached prepared statement, reset and unbound; reset again when the Query goes out of
  // scope. Do not hold two Queries of the same SQL at once.
  Query prepare(const char* sql);
  // A one-off statement (e.g. pragmas whose text is built at run time).
  Statement prepare_once(const std::string& sql);
  // Single integer result of a query such as "PRAGMA user_version".
  int64_t query_int(const char* sql);
  int64_t last_insert_rowid() const;

 private:
  [[noreturn]] void fail(std::string_view operation, int code) const;
  sqlite3* db_ = nullptr;
  std::string path_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// BEGIN IMMEDIATE: takes the write lock up front, so a transaction that reads then writes
// cannot fail half-way with SQLITE_BUSY on the upgrade. Rolls back unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool open_ = false;
};

}  // namespace lb::sqlite
