// The SQLite ERP (sqlite_erp.hpp). Where things are, top to bottom:
//   schema          the tables (documents, lines, vendors, accounts, tax codes, dimensions,
//                   periods, attachments) and their creation
//   shared state    the connection, injected faults, the validation a real ERP would do
//   directory       SqliteDirectory: model::Directory answered from the same file
//   SqliteErp       the Sink: post (validate, number, insert), lookup, upload_attachment, check
//   master data     seed (erp init --seed)
//   reports         trial_balance, find, list (the erp CLI)
#include "erp/sqlite_erp.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <utility>

#include "db/sqlite_db.hpp"

namespace lb::erp {

namespace {

constexpr int kErpSchemaVersion = 1;

// Same migration discipline as the ledger (ledger.cpp): append-only steps, each committed with
// its user_version.
constexpr const char* kErpMigrations[] = {
    R"sql(
CREATE TABLE accounts (
  code     TEXT PRIMARY KEY,
  name     TEXT NOT NULL DEFAULT '',
  currency TEXT,
  blocked  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE vendors (
  seq                 INTEGER PRIMARY KEY,
  code                TEXT NOT NULL UNIQUE,
  name                TEXT NOT NULL DEFAULT '',
  external_id         TEXT,
  tax_number          TEXT,
  registration_number TEXT,
  currency            TEXT,
  payables_account    TEXT,
  blocked             INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX vendors_by_external_id ON vendors (external_id);
CREATE INDEX vendors_by_tax_number ON vendors (tax_number);
CREATE TABLE tax_codes (
  code                 TEXT PRIMARY KEY,
  name                 TEXT NOT NULL DEFAULT '',
  rate                 REAL NOT NULL DEFAULT 0,
  type                 TEXT NOT NULL,
  ingoing_tax_account  TEXT,
  outgoing_tax_account TEXT,
  blocked              INTEGER NOT NULL DEFAULT 0
);
-- Dimension and value codes match case-insensitively (domain brief §2.13), ASCII folding as
-- model::MemoryDirectory does: COLLATE NOCASE folds ASCII only.
CREATE TABLE dimension_values (
  dimension TEXT NOT NULL COLLATE NOCASE,
  code      TEXT NOT NULL COLLATE NOCASE,
  name      TEXT NOT NULL DEFAULT '',
  blocked   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (dimension, code)
);
-- Closed periods, [from, to] inclusive.
CREATE TABLE periods (
  from_date TEXT NOT NULL,
  to_date   TEXT NOT NULL,
  PRIMARY KEY (from_date, to_date)
);
CREATE TABLE documents (
  id                  INTEGER PRIMARY KEY,
  external_id         TEXT NOT NULL UNIQUE,
  external_key        TEXT NOT NULL UNIQUE,
  kind                TEXT NOT NULL,
  accounting_entry_id TEXT NOT NULL,
  reference           TEXT NOT NULL,
  document_date       TEXT NOT NULL,
  posting_date        TEXT NOT NULL,
  due_date            TEXT,
  currency            TEXT NOT NULL,
  vendor              TEXT,
  invoice_number      TEXT,
  description         TEXT NOT NULL,
  draft               INTEGER NOT NULL,
  created_at          TEXT NOT NULL
);
CREATE TABLE lines (
  document_id              INTEGER NOT NULL REFERENCES documents (id),
  line_no                  INTEGER NOT NULL,
  role                     TEXT NOT NULL,
  account                  TEXT NOT NULL,
  debit                    INTEGER NOT NULL CHECK (debit >= 0),
  credit                   INTEGER NOT NULL CHECK (credit >= 0),
  currency                 TEXT NOT NULL,
  tax_code                 TEXT,
  text                     TEXT NOT NULL,
  accounting_entry_line_id TEXT,
  PRIMARY KEY (document_id, line_no)
);
CREATE INDEX lines_by_account ON lines (account, currency);
CREATE TABLE line_dimensions (
  document_id INTEGER NOT NULL,
  line_no     INTEGER NOT NULL,
  dimension   TEXT NOT NULL,
  value       TEXT NOT NULL,
  PRIMARY KEY (document_id, line_no, dimension),
  FOREIGN KEY (document_id, line_no) REFERENCES lines (document_id, line_no)
);
CREATE TABLE attachments (
  document_id INTEGER NOT NULL REFERENCES documents (id),
  key         TEXT NOT NULL,
  type        TEXT NOT NULL,
  size        INTEGER NOT NULL,
  hash        TEXT NOT NULL,
  bytes       BLOB,
  created_at  TEXT NOT NULL,
  UNIQUE (document_id, key)
);
)sql",
};
static_assert(std::size(kErpMigrations) == kErpSchemaVersion);

std::string now_utc() {
  using namespace std::chrono;
  const std::time_t t = system_clock::to_time_t(system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string fnv1a(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

const char* id_prefix(posting::DocumentKind kind) {
  switch (kind) {
    case posting::DocumentKind::journal_entry: return "GL";
    case posting::DocumentKind::ap_invoice: return "INV";
    case posting::DocumentKind::ap_payment: return "PAY";
    case posting::DocumentKind::credit_note: return "CN";
  }
  return "GL";
}

bool needs_vendor(posting::DocumentKind kind) { return kind != posting::DocumentKind::journal_entry; }

SinkError error(ErrorKind kind, std::string message) { return SinkError{kind, std::move(message), std::nullopt}; }

// A date-time's date part, as model::Directory::period_open takes either.
std::string date_part(std::string_view date) { return std::string(date.substr(0, std::min<size_t>(10, date.size()))); }

model::ErpVendor read_vendor(const sqlite::Statement& s) {
  return {.code = s.text(0),
          .name = s.text(1),
          .externalId = s.optional_text(2),
          .taxNumber = s.optional_text(3),
          .registrationNumber = s.optional_text(4),
          .currency = s.optional_text(5),
          .payablesAccount = s.optional_text(6),
          .blocked = s.int64(7) != 0};
}

constexpr const char* kVendorColumns =
    "code, name, external_id, tax_number, registration_number, currency, payables_account, blocked";

}  // namespace

// --- shared state ------------------------------------------------------------------------------

class SqliteDirectory final : public model::Directory {
 public:
  explicit SqliteDirectory(SqliteErp::Impl& impl) : impl_(impl) {}
  std::optional<model::ErpAccount> account(std::string_view code) const override;
  std::optional<model::ErpVendor> vendor_by_code(std::string_view code) const override;
  std::optional<model::ErpVendor> vendor_by_external_id(std::string_view id) const override;
  std::optional<model::ErpVendor> vendor_by_tax_number(std::string_view tax_number) const override;
  std::optional<model::ErpTaxCode> tax_code(std::string_view code) const override;
  std::optional<model::ErpDimensionValue> dimension_value(std::string_view dimension,
                                                          std::string_view code) const override;
  bool period_open(std::string_view date) const override;
  std::optional<std::string> next_open_date(std::string_view date) const override;

 private:
  SqliteErp::Impl& impl_;
};

struct SqliteErp::Impl {
  sqlite::Database db;
  std::string path;
  SqliteErpOptions options;
  std::mutex mu;
  SqliteDirectory directory{*this};

  std::string where(std::string_view operation) const { return fmt::format("sqlite erp {}: {}", path, operation); }

  // Unlocked helpers: callers hold mu. They throw sqlite::Failure.
  std::optional<model::ErpAccount> account(std::string_view code) {
    auto q = db.prepare("SELECT code, name, currency, blocked FROM accounts WHERE code = ?1");
    q->bind(1, code);
    if (!q->step()) return std::nullopt;
    return model::ErpAccount{.code = q->text(0), .name = q->text(1), .currency = q->optional_text(2),
                             .blocked = q->int64(3) != 0};
  }

  std::optional<model::ErpVendor> vendor(const char* sql, std::string_view key) {
    auto q = db.prepare(sql);
    q->bind(1, key);
    if (!q->step()) return std::nullopt;
    return read_vendor(*q);
  }

  std::optional<model::ErpTaxCode> tax_code(std::string_view code) {
    auto q = db.prepare(
        "SELECT code, name, rate, type, ingoing_tax_account, outgoing_tax_account, blocked FROM tax_codes "
        "WHERE code = ?1");
    q->bind(1, code);
    if (!q->step()) return std::nullopt;
    return model::ErpTaxCode{.code = q->text(0),
                             .name = q->text(1),
                             .rate = q->real(2),
                             .type = q->text(3),
                             .ingoingTaxAccount = q->optional_text(4),
                             .outgoingTaxAccount = q->optional_text(5),
                             .blocked = q->int64(6) != 0};
  }

  std::optional<model::ErpDimensionValue> dimension_value(std::string_view dimension, std::string_view code) {
    auto q = db.prepare("SELECT dimension, code, name, blocked FROM dimension_values WHERE dimension = ?1 AND code = ?2");
    q->bind(1, dimension).bind(2, code);
    if (!q->step()) return std::nullopt;
    return model::ErpDimensionValue{.dimension = q->text(0), .code = q->text(1), .name = q->text(2),
                                    .blocked = q->int64(3) != 0};
  }

  // The closed period containing `date` (YYYY-MM-DD): its last day, or nullopt when open.
  std::optional<std::string> closed_until(std::string_view date) {
    auto q = db.prepare("SELECT MAX(to_date) FROM periods WHERE from_date <= ?1 AND to_date >= ?1");
    q->bind(1, date);
    if (!q->step() || q->is_null(0)) return std::nullopt;
    return q->text(0);
  }

  std::optional<Posted> posted_by_key(std::string_view key) {
    auto q = db.prepare("SELECT external_id FROM documents WHERE external_key = ?1");
    q->bind(1, key);
    if (!q->step()) return std::nullopt;
    return posted(q->text(0));
  }

  Posted posted(std::string external_id) const {
    Posted p{std::move(external_id), {}};
    if (!options.url_prefix.empty()) p.url = options.url_prefix + p.externalId;
    return p;
  }

  // What a real ERP would refuse (§2.11), all problems at once so a bookkeeper fixes them in
  // one go. Empty when the document is acceptable.
  std::vector<std::string> problems(const posting::Document& d) {
    std::vector<std::string> out;
    if (!model::is_iso_date(d.documentDate)) out.push_back(fmt::format("document date '{}' is not a date", d.documentDate));
    if (!model::is_iso_date(d.postingDate)) {
      out.push_back(fmt::format("posting date '{}' is not a date", d.postingDate));
    } else if (auto until = closed_until(d.postingDate)) {
      out.push_back(fmt::format("posting date {} is in a closed period (closed until {})", d.postingDate, *until));
    }
    if (needs_vendor(d.kind)) {
      if (!d.vendor || d.vendor->empty()) {
        out.push_back(fmt::format("{} needs a vendor", posting::to_string(d.kind)));
      } else if (auto v = vendor("SELECT code, name, external_id, tax_number, registration_number, currency, "
                                 "payables_account, blocked FROM vendors WHERE code = ?1",
                                 *d.vendor);
                 !v) {
        out.push_back(fmt::format("vendor {} does not exist", *d.vendor));
      } else if (v->blocked) {
        out.push_back(fmt::format("vendor {} is blocked", *d.vendor));
      }
    }
    for (size_t i = 0; i < d.lines.size(); ++i) {
      const auto& l = d.lines[i];
      const std::string where_line = fmt::format("line {}", i + 1);
      if (auto a = account(l.account); !a) {
        out.push_back(fmt::format("{}: account {} does not exist", where_line, l.account));
      } else if (a->blocked) {
        out.push_back(fmt::format("{}: account {} is blocked", where_line, l.account));
      } else if (a->currency && *a->currency != l.currency) {
        out.push_back(fmt::format("{}: account {} only takes {}, not {}", where_line, l.account, *a->currency,
                                  l.currency));
      }
      if (l.taxCode) {
        if (auto t = tax_code(*l.taxCode); !t)
          out.push_back(fmt::format("{}: tax code {} does not exist", where_line, *l.taxCode));
        else if (t->blocked)
          out.push_back(fmt::format("{}: tax code {} is blocked", where_line, *l.taxCode));
      }
      for (const auto& [dimension, value] : l.dimensions) {
        if (auto v = dimension_value(dimension, value); !v)
          out.push_back(fmt::format("{}: {} value {} does not exist", where_line, dimension, value));
        else if (v->blocked)
          out.push_back(fmt::format("{}: {} value {} is blocked", where_line, dimension, value));
      }
    }
    return out;
  }

  // Writes the document; returns its external id. Caller holds mu and a transaction.
  std::string insert(const posting::Document& d) {
    const int64_t id = db.query_int("SELECT COALESCE(MAX(id), 0) + 1 FROM documents");
    const std::string external_id = fmt::format("{}-{:06}", id_prefix(d.kind), id);
    {
      auto q = db.prepare(
          "INSERT INTO documents (id, external_id, external_key, kind, accounting_entry_id, reference, document_date, "
          "posting_date, due_date, currency, vendor, invoice_number, description, draft, created_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
      q->bind(1, id)
          .bind(2, external_id)
          .bind(3, d.externalKey)
          .bind(4, posting::to_string(d.kind))
          .bind(5, d.accountingEntryId)
          .bind(6, d.reference)
          .bind(7, d.documentDate)
          .bind(8, d.postingDate)
          .bind(9, d.dueDate)
          .bind(10, d.currency)
          .bind(11, d.vendor)
          .bind(12, d.invoiceNumber)
          .bind(13, d.description)
          .bind(14, d.draft)
          .bind(15, now_utc())
          .run();
    }
    for (size_t i = 0; i < d.lines.size(); ++i) {
      const auto& l = d.lines[i];
      auto q = db.prepare(
          "INSERT INTO lines (document_id, line_no, role, account, debit, credit, currency, tax_code, text, "
          "accounting_entry_line_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
      q->bind(1, id)
          .bind(2, static_cast<int64_t>(i + 1))
          .bind(3, posting::to_string(l.role))
          .bind(4, l.account)
          .bind(5, l.debit)
          .bind(6, l.credit)
          .bind(7, l.currency)
          .bind(8, l.taxCode)
          .bind(9, l.text)
          .bind(10, l.accountingEntryLineId)
          .run();
      for (const auto& [dimension, value] : l.dimensions) {
        auto dq = db.prepare("INSERT INTO line_dimensions (document_id, line_no, dimension, value) VALUES (?1, ?2, ?3, ?4)");
        dq->bind(1, id).bind(2, static_cast<int64_t>(i + 1)).bind(3, dimension).bind(4, value).run();
      }
    }
    return external_id;
  }

  // Consumes one injected fault of this kind, if any is pending.
  static bool take(int& counter) {
    if (counter <= 0) return false;
    --counter;
    return true;
  }
};

// --- directory over the file ---------------------------------------------------------------------
// model::Directory has no error channel: a failing query is logged and answers "unknown", which
// makes the item fail with a clear rule message rather than post against a guess.

namespace {
template <typename T, typename F>
T guarded(SqliteErp::Impl& impl, std::mutex& mu, std::string_view what, T fallback, F&& f) {
  std::lock_guard lock(mu);
  try {
    return f();
  } catch (const sqlite::Failure& e) {
    spdlog::error("{}: {}", impl.where(what), e.message);
    return fallback;
  }
}
}  // namespace

std::optional<model::ErpAccount> SqliteDirectory::account(std::string_view code) const {
  return guarded<std::optional<model::ErpAccount>>(impl_, impl_.mu, "directory account", std::nullopt,
                                                   [&] { return impl_.account(code); });
}

std::optional<model::ErpVendor> SqliteDirectory::vendor_by_code(std::string_view code) const {
  return guarded<std::optional<model::ErpVendor>>(impl_, impl_.mu, "directory vendor", std::nullopt, [&] {
    return impl_.vendor("SELECT code, name, external_id, tax_number, registration_number, currency, payables_account, "
                        "blocked FROM vendors WHERE code = ?1",
                        code);
  });
}

std::optional<model::ErpVendor> SqliteDirectory::vendor_by_external_id(std::string_view id) const {
  return guarded<std::optional<model::ErpVendor>>(impl_, impl_.mu, "directory vendor", std::nullopt, [&] {
    return impl_.vendor("SELECT code, name, external_id, tax_number, registration_number, currency, payables_account, "
                        "blocked FROM vendors WHERE external_id = ?1 ORDER BY seq LIMIT 1",
                        id);
  });
}

std::optional<model::ErpVendor> SqliteDirectory::vendor_by_tax_number(std::string_view tax_number) const {
  // "the first one listed wins": seq keeps the order vendors were first seeded in.
  return guarded<std::optional<model::ErpVendor>>(impl_, impl_.mu, "directory vendor", std::nullopt, [&] {
    return impl_.vendor("SELECT code, name, external_id, tax_number, registration_number, currency, payables_account, "
                        "blocked FROM vendors WHERE tax_number = ?1 ORDER BY seq LIMIT 1",
                        tax_number);
  });
}

std::optional<model::ErpTaxCode> SqliteDirectory::tax_code(std::string_view code) const {
  return guarded<std::optional<model::ErpTaxCode>>(impl_, impl_.mu, "directory tax code", std::nullopt,
                                                   [&] { return impl_.tax_code(code); });
}

std::optional<model::ErpDimensionValue> SqliteDirectory::dimension_value(std::string_view dimension,
                                                                         std::string_view code) const {
  return guarded<std::optional<model::ErpDimensionValue>>(impl_, impl_.mu, "directory dimension value", std::nullopt,
                                                          [&] { return impl_.dimension_value(dimension, code); });
}

bool SqliteDirectory::period_open(std::string_view date) const {
  if (date.size() > 10 && date[10] != 'T' && date[10] != 't' && date[10] != ' ') return false;
  const std::string day = date_part(date);
  if (!model::is_iso_date(day)) return false;
  return guarded<bool>(impl_, impl_.mu, "directory period", false, [&] { return !impl_.closed_until(day); });
}

std::optional<std::string> SqliteDirectory::next_open_date(std::string_view date) const {
  if (date.size() > 10 && date[10] != 'T' && date[10] != 't' && date[10] != ' ') return std::nullopt;
  std::string day = date_part(date);
  if (!model::is_iso_date(day)) return std::nullopt;
  return guarded<std::optional<std::string>>(impl_, impl_.mu, "directory period", std::nullopt,
                                             [&]() -> std::optional<std::string> {
    using namespace std::chrono;
    auto parse = [](const std::string& s) {
      return sys_days{year_month_day{year{std::stoi(s.substr(0, 4))}, month{static_cast<unsigned>(std::stoi(s.substr(5, 2)))},
                                     std::chrono::day{static_cast<unsigned>(std::stoi(s.substr(8, 2)))}}};
    };
    auto format = [](sys_days d) {
      const year_month_day ymd{d};
      return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                         static_cast<unsigned>(ymd.day()));
    };
    const sys_days start = parse(day);
    const sys_days limit = start + days{3653};  // "within ten years", as MemoryDirectory
    // Each jump lands past the end of a closed range, so this ends.
    while (auto until = impl_.closed_until(day)) {
      const sys_days next = parse(*until) + days{1};
      if (next > limit) return std::nullopt;
      day = format(next);
    }
    return day;
  });
}

// --- SqliteErp ---------------------------------------------------------------------------------

SqliteErp::SqliteErp(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteErp::~SqliteErp() = default;

Result<std::unique_ptr<SqliteErp>> SqliteErp::open(const std::string& path, SqliteErpOptions options) {
  auto impl = std::make_shared<Impl>();
  impl->path = path;
  impl->options = std::move(options);
  std::error_code ec;
  if (!impl->options.create && !std::filesystem::exists(path, ec))
    return Error{fmt::format("sqlite erp {}: no such file (create it with `ledgerbridge erp init {} --seed ...`)",
                             path, path)};
  try {
    impl->db = sqlite::Database::open(path, {.create = impl->options.create});
    const int version = static_cast<int>(impl->db.query_int("PRAGMA user_version"));
    if (version > kErpSchemaVersion)
      return Error{fmt::format("sqlite erp {}: schema version {} is newer than this build's {}", path, version,
                               kErpSchemaVersion)};
    if (!impl->db.read_only()) {
      {
        auto q = impl->db.prepare("PRAGMA journal_mode = WAL");
        q->step();
      }
      impl->db.exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
      for (int v = version; v < kErpSchemaVersion; ++v) {
        sqlite::Transaction tx(impl->db);
        impl->db.exec(kErpMigrations[v]);
        impl->db.exec(fmt::format("PRAGMA user_version = {}", v + 1).c_str());
        tx.commit();
      }
    } else if (version < kErpSchemaVersion) {
      return Error{fmt::format("sqlite erp {}: read-only and not set up (schema version {})", path, version)};
    }
  } catch (const sqlite::Failure& e) {
    return Error{impl->where("open") + ": " + e.message};
  }
  return std::unique_ptr<SqliteErp>(new SqliteErp(std::move(impl)));
}

const std::string& SqliteErp::path() const { return impl_->path; }

Capabilities SqliteErp::capabilities() const { return impl_->options.capabilities; }

const model::Directory& SqliteErp::directory() const { return impl_->directory; }

void SqliteErp::inject(const SqliteErpFaults& faults) {
  std::lock_guard lock(impl_->mu);
  impl_->options.faults = faults;
}

SinkResult<Posted> SqliteErp::post(const posting::Document& document) {
  auto& impl = *impl_;
  std::lock_guard lock(impl.mu);
  if (Impl::take(impl.options.faults.unreachable_posts))
    return error(ErrorKind::unreachable, impl.where("post") + ": injected fault: ERP unreachable");
  if (auto st = posting::check_invariants(document); !st)
    return error(ErrorKind::validation, "document refused: " + st.message());
  if (document.externalKey.empty()) return error(ErrorKind::validation, "document refused: no external key");
  std::string external_id;
  try {
    sqlite::Transaction tx(impl.db);
    // Checked inside the write transaction, so two posts of one key cannot both pass; the
    // UNIQUE constraint backs this up.
    if (auto existing = impl.posted_by_key(document.externalKey))
      return error(ErrorKind::conflict, fmt::format("document {} already exists as {}", document.externalKey,
                                                    existing->externalId));
    if (auto problems = impl.problems(document); !problems.empty()) {
      std::string message = fmt::format("{} {} refused:", posting::to_string(document.kind), document.externalKey);
      for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : " ") + problems[i];
      return error(ErrorKind::validation, std::move(message));
    }
    external_id = impl.insert(document);
    tx.commit();
  } catch (const sqlite::Failure& e) {
    if ((e.code & 0xff) == SQLITE_CONSTRAINT)
      return error(ErrorKind::conflict, impl.where("post") + ": " + e.message);
    // Nothing was committed (the transaction rolled back): safe to retry.
    return error(ErrorKind::unreachable, impl.where("post") + ": " + e.message);
  }
  if (Impl::take(impl.options.faults.timeout_after_commit_posts))
    return error(ErrorKind::timeout,
                 impl.where("post") + ": injected fault: timed out waiting for the answer (the write was committed)");
  return impl.posted(std::move(external_id));
}

SinkResult<std::optional<Posted>> SqliteErp::lookup(std::string_view external_key) {
  auto& impl = *impl_;
  std::lock_guard lock(impl.mu);
  if (Impl::take(impl.options.faults.unreachable_lookups))
    return error(ErrorKind::unreachable, impl.where("lookup") + ": injected fault: ERP unreachable");
  try {
    return impl.posted_by_key(external_key);
  } catch (const sqlite::Failure& e) {
    return error(ErrorKind::unreachable, impl.where("lookup") + ": " + e.message);
  }
}

SinkResult<std::monostate> SqliteErp::upload_attachment(const Posted& document, const posting::Attachment& attachment,
                                                        std::string_view bytes) {
  auto& impl = *impl_;
  std::lock_guard lock(impl.mu);
  if (Impl::take(impl.options.faults.unreachable_uploads))
    return error(ErrorKind::unreachable, impl.where("upload attachment") + ": injected fault: ERP unreachable");
  const auto& caps = impl.options.capabilities;
  if (attachment.key.empty()) return error(ErrorKind::attachment, "attachment refused: empty key");
  if (static_cast<int64_t>(bytes.size()) > caps.max_attachment_bytes)
    return error(ErrorKind::attachment, fmt::format("attachment {} refused: {} bytes is over the limit of {}",
                                                    attachment.key, bytes.size(), caps.max_attachment_bytes));
  if (!caps.attachment_types.empty() &&
      std::find(caps.attachment_types.begin(), caps.attachment_types.end(), attachment.type) ==
          caps.attachment_types.end())
    return error(ErrorKind::attachment,
                 fmt::format("attachment {} refused: type {} is not accepted", attachment.key, attachment.type));
  try {
    sqlite::Transaction tx(impl.db);
    int64_t id = 0;
    {
      auto q = impl.db.prepare("SELECT id FROM documents WHERE external_id = ?1");
      q->bind(1, document.externalId);
      if (!q->step())
        return error(ErrorKind::attachment,
                     fmt::format("attachment {} refused: no document {}", attachment.key, document.externalId));
      id = q->int64(0);
    }
    if (caps.single_attachment) {
      // An ERP that takes one file per document (§2.8): a second file is refused, the same key
      // again is the same file.
      auto other = impl.db.prepare("SELECT key FROM attachments WHERE document_id = ?1 AND key <> ?2 LIMIT 1");
      other->bind(1, id).bind(2, attachment.key);
      if (other->step())
        return error(ErrorKind::attachment,
                     fmt::format("attachment {} refused: document {} takes one file and already has {}",
                                 attachment.key, document.externalId, other->text(0)));
    }
    // Same key twice for a document: the file is there already; never attach it twice (§2.8).
    auto q = impl.db.prepare(
        "INSERT INTO attachments (document_id, key, type, size, hash, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5, "
        "?6, ?7) ON CONFLICT (document_id, key) DO NOTHING");
    q->bind(1, id)
        .bind(2, attachment.key)
        .bind(3, attachment.type)
        .bind(4, static_cast<int64_t>(bytes.size()))
        .bind(5, fnv1a(bytes));
    if (impl.options.store_attachment_bytes)
      q->bind_blob(6, bytes);
    else
      q->bind_null(6);
    q->bind(7, now_utc()).run();
    tx.commit();
  } catch (const sqlite::Failure& e) {
    return error(ErrorKind::unreachable, impl.where("upload attachment") + ": " + e.message);
  }
  return std::monostate{};
}

SinkResult<std::monostate> SqliteErp::check() {
  auto& impl = *impl_;
  std::lock_guard lock(impl.mu);
  if (Impl::take(impl.options.faults.unreachable_checks))
    return error(ErrorKind::unreachable, impl.where("check") + ": injected fault: ERP unreachable");
  // §2.11: the ERP must be able to create entries.
  if (impl.db.read_only())
    return error(ErrorKind::validation, impl.where("check") + ": the ERP file is read-only: cannot create entries");
  try {
    if (impl.db.query_int("SELECT COUNT(*) FROM accounts") == 0)
      return error(ErrorKind::validation, impl.where("check") + ": no chart of accounts (seed it with `erp init --seed`)");
  } catch (const sqlite::Failure& e) {
    return error(ErrorKind::unreachable, impl.where("check") + ": " + e.message);
  }
  return std::monostate{};
}

Status SqliteErp::seed(const DirectoryContent& c) {
  auto& impl = *impl_;
  std::lock_guard lock(impl.mu);
  try {
    sqlite::Transaction tx(impl.db);
    for (const auto& a : c.accounts) {
      auto q = impl.db.prepare(
          "INSERT INTO accounts (code, name, currency, blocked) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (code) DO UPDATE "
          "SET name = excluded.name, currency = excluded.currency, blocked = excluded.blocked");
      q->bind(1, a.code).bind(2, a.name).bind(3, a.currency).bind(4, a.blocked).run();
    }
    for (const auto& v : c.vendors) {
      // An upsert keeps the vendor's seq (its place), as MemoryDirectory keeps a replaced
      // vendor's place: the first vendor listed wins a shared tax number.
      auto q = impl.db.prepare(
          "INSERT INTO vendors (code, name, external_id, tax_number, registration_number, currency, payables_account, "
          "blocked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
          "external_id = excluded.external_id, tax_number = excluded.tax_number, registration_number = "
          "excluded.registration_number, currency = excluded.currency, payables_account = excluded.payables_account, "
          "blocked = excluded.blocked");
      q->bind(1, v.code)
          .bind(2, v.name)
          .bind(3, v.externalId)
          .bind(4, v.taxNumber)
          .bind(5, v.registrationNumber)
          .bind(6, v.currency)
          .bind(7, v.payablesAccount)
          .bind(8, v.blocked)
          .run();
    }
    for (const auto& t : c.tax_codes) {
      auto q = impl.db.prepare(
          "INSERT INTO tax_codes (code, name, rate, type, ingoing_tax_account, outgoing_tax_account, blocked) VALUES "
          "(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (code) DO UPDATE SET name = excluded.name, rate = excluded.rate, "
          "type = excluded.type, ingoing_tax_account = excluded.ingoing_tax_account, outgoing_tax_account = "
          "excluded.outgoing_tax_account, blocked = excluded.blocked");
      q->bind(1, t.code)
          .bind(2, t.name)
          .bind(3, t.rate)
          .bind(4, t.type)
          .bind(5, t.ingoingTaxAccount)
          .bind(6, t.outgoingTaxAccount)
          .bind(7, t.blocked)
          .run();
    }
    for (const auto& d : c.dimension_values) {
      auto q = impl.db.prepare(
          "INSERT INTO dimension_values (dimension, code, name, blocked) VALUES (?1, ?2, ?3, ?4) ON CONFLICT "
          "(dimension, code) DO UPDATE SET name = excluded.name, blocked = excluded.blocked");
      q->bind(1, d.dimension).bind(2, d.code).bind(3, d.name).bind(4, d.blocked).run();
    }
    for (const auto& p : c.periods) {
      if (!model::is_iso_date(p.from) || !model::is_iso_date(p.to) || p.from > p.to)
        return Error{fmt::format("{}: invalid period [{}, {}]", impl.where("seed"), p.from, p.to)};
      // closed = false re-opens exactly this range (model::MemoryDirectory::add semantics).
      auto q = impl.db.prepare(p.closed ? "INSERT OR IGNORE INTO periods (from_date, to_date) VALUES (?1, ?2)"
                                        : "DELETE FROM periods WHERE from_date = ?1 AND to_date = ?2");
      q->bind(1, p.from).bind(2, p.to).run();
    }
    tx.commit();
  } catch (const sqlite::Failure& e) {
    return Error{impl.where("seed") + ": " + e.message};
  }
  return {};
}

Result<TrialBalance> SqliteErp::trial_balance() const {
  auto& impl = *impl_;
  std::lock_guard lock(impl.mu);
  try {
    TrialBalance tb;
    {
      auto q = impl.db.prepare(
          "SELECT l.account, COALESCE(a.name, ''), l.currency, SUM(l.debit), SUM(l.credit) FROM lines l "
          "LEFT JOIN accounts a ON a.code = l.account GROUP BY l.account, l.currency ORDER BY l.account, l.currency");
      while (q->step())
        tb.rows.push_back({.account = q->text(0), .name = q->text(1), .currency = q->text(2), .debit = q->int64(3),
                           .credit = q->int64(4)});
    }
    {
      auto q = impl.db.prepare("SELECT currency, SUM(debit), SUM(credit) FROM lines GROUP BY currency ORDER BY currency");
      while (q->step()) tb.totals.push_back({.currency = q->text(0), .debit = q->int64(1), .credit = q->int64(2)});
    }
    {
      auto q = impl.db.prepare("SELECT COUNT(*), COALESCE(SUM(draft), 0) FROM documents");
      if (q->step()) tb.documents = q->int64(0), tb.drafts = q->int64(1);
    }
    return tb;
  } catch (const sqlite::Failure& e) {
    return Error{impl.where("trial balance") + ": " + e.message};
  }
}

Result<std::optional<StoredDocument>> SqliteErp::find(std::string_view key) const {
  auto& impl = *impl_;
  std::lock_guard lock(impl.mu);
  try {
    StoredDocument out;
    int64_t id = 0;
    {
      auto q = impl.db.prepare(
          "SELECT id, external_id, created_at, kind, external_key, accounting_entry_id, reference, document_date, "
          "posting_date, due_date, currency, vendor, invoice_number, description, draft FROM documents "
          "WHERE external_key = ?1 OR external_id = ?1 ORDER BY external_key = ?1 DESC LIMIT 1");
      q->bind(1, key);
      if (!q->step()) return std::optional<StoredDocument>{};
      id = q->int64(0);
      out.externalId = q->text(1);
      out.createdAt = q->text(2);
      auto& d = out.document;
      d.kind = posting::document_kind_from(q->text(3)).value_or(posting::DocumentKind::journal_entry);
      d.externalKey = q->text(4);
      d.accountingEntryId = q->text(5);
      d.reference = q->text(6);
      d.documentDate = q->text(7);
      d.postingDate = q->text(8);
      d.dueDate = q->optional_text(9);
      d.currency = q->text(10);
      d.vendor = q->optional_text(11);
      d.invoiceNumber = q->optional_text(12);
      d.description = q->text(13);
      d.draft = q->int64(14) != 0;
    }
    {
      auto q = impl.db.prepare(
          "SELECT line_no, role, account, debit, credit, currency, tax_code, text, accounting_entry_line_id FROM lines "
          "WHERE document_id = ?1 ORDER BY line_no");
      q->bind(1, id);
      while (q->step()) {
        posting::Line l;
        l.role = posting::line_role_from(q->text(1)).value_or(posting::LineRole::expense);
        l.account = q->text(2);
        l.debit = q->int64(3);
        l.credit = q->int64(4);
        l.currency = q->text(5);
        l.taxCode = q->optional_text(6);
        l.text = q->text(7);
        l.accountingEntryLineId = q->optional_text(8);
        out.document.lines.push_back(std::move(l));
      }
    }
    {
      auto q = impl.db.prepare(
          "SELECT line_no, dimension, value FROM line_dimensions WHERE document_id = ?1 ORDER BY line_no, dimension");
      q->bind(1, id);
      while (q->step()) {
        const auto line = static_cast<size_t>(q->int64(0));
        if (line >= 1 && line <= out.document.lines.size())
          out.document.lines[line - 1].dimensions.emplace_back(q->text(1), q->text(2));
      }
    }
    {
      auto q = impl.db.prepare("SELECT key, type, size, hash FROM attachments WHERE document_id = ?1 ORDER BY rowid");
      q->bind(1, id);
      while (q->step()) out.files.push_back({.key = q->text(0), .type = q->text(1), .size = q->int64(2), .hash = q->text(3)});
    }
    return std::optional<StoredDocument>(std::move(out));
  } catch (const sqlite::Failure& e) {
    return Error{impl.where("find") + ": " + e.message};
  }
}

Result<std::optional<std::string>> SqliteErp::attachment_bytes(std::string_view key_or_external_id,
                                                                std::string_view attachment_key) const {
  auto& impl = *impl_;
  std::lock_guard lock(impl.mu);
  try {
    auto q = impl.db.prepare(
        "SELECT a.bytes FROM attachments a JOIN documents d ON d.id = a.document_id "
        "WHERE (d.external_key = ?1 OR d.external_id = ?1) AND a.key = ?2 AND a.bytes IS NOT NULL "
        "ORDER BY d.external_key = ?1 DESC LIMIT 1");
    q->bind(1, key_or_external_id).bind(2, attachment_key);
    if (!q->step()) return std::optional<std::string>{};
    return std::optional<std::string>(q->blob(0));
  } catch (const sqlite::Failure& e) {
    return Error{impl.where("read attachment") + ": " + e.message};
  }
}

Result<std::vector<DocumentSummary>> SqliteErp::list() const {
  auto& impl = *impl_;
  std::lock_guard lock(impl.mu);
  try {
    std::vector<DocumentSummary> out;
    auto q = impl.db.prepare(
        "SELECT d.external_id, d.external_key, d.kind, d.posting_date, d.currency, d.description, d.draft, "
        "COALESCE((SELECT SUM(l.debit) FROM lines l WHERE l.document_id = d.id AND l.currency = d.currency), 0) "
        "FROM documents d ORDER BY d.id");
    while (q->step())
      out.push_back({.externalId = q->text(0),
                     .externalKey = q->text(1),
                     .kind = q->text(2),
                     .postingDate = q->text(3),
                     .currency = q->text(4),
                     .description = q->text(5),
                     .draft = q->int64(6) != 0,
                     .total = q->int64(7)});
    return out;
  } catch (const sqlite::Failure& e) {
    return Error{impl.where("list") + ": " + e.message};
  }
}

}  // namespace lb::erp
