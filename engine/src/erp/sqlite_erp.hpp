#pragma once
// The SQLite ERP: a small general ledger in one SQLite file, the built-in ERP for demos, the
// simulated end-to-end runs and the tests (DESIGN §1). It behaves like a real ERP where it
// matters to the engine:
//   - it validates what an ERP would (domain brief §2.11): accounts exist and are not blocked,
//     a single-currency account only takes its currency, tax codes and dimension values exist,
//     AP documents name a known, unblocked vendor, the posting date is in an open period (§2.9),
//     the document balances; a refusal is ErrorKind::validation with a message for people;
//   - it keeps the document's externalKey UNIQUE, so a second post of the same key is a
//     ErrorKind::conflict and never a second row, and lookup(externalKey) finds it (DESIGN §5);
//   - attachments are unique per (document, key): uploading a key twice stores it once (§2.8);
//     with capabilities.single_attachment a document takes one file and a second is refused,
//     like an ERP whose documents have one attachment slot;
//   - its directory() answers the rules' look-ups from the same file (model::Directory).
// Deterministic fault injection (SqliteErpFaults) lets tests and demos exercise the workflow's
// recovery paths: an unreachable ERP, and the dangerous one, a timeout after the write
// committed, which leaves the document in the ERP while the caller sees a failure.
//
// Thread-safe: one mutex guards the connection, so the rules' worker threads may query the
// directory while the workflow posts. One writer process per file (WAL; readers welcome).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "erp/directory_content.hpp"
#include "erp/sink.hpp"

namespace lb::erp {

// Each counter fails that many of the next calls, then the sink behaves normally again.
struct SqliteErpFaults {
  int unreachable_posts = 0;           // refused before anything is written
  int timeout_after_commit_posts = 0;  // the document IS written, then the call reports a timeout
  int unreachable_lookups = 0;
  int unreachable_uploads = 0;
  int unreachable_checks = 0;
};

struct SqliteErpOptions {
  bool create = false;  // create (and set up) the file when missing; erp init does
  std::string url_prefix{};  // when set, Posted.url = url_prefix + externalId
  bool store_attachment_bytes = true;  // false keeps only size and hash (large demo runs)
  Capabilities capabilities{};
  SqliteErpFaults faults{};
};

struct TrialBalanceRow {
  std::string account;
  std::string name;  // from the chart of accounts ("" when the account is not in it)
  std::string currency;
  int64_t debit = 0;  // minor units
  int64_t credit = 0;
  int64_t balance() const { return debit - credit; }
};

struct TrialBalance {
  std::vector<TrialBalanceRow> rows;    // by account, then currency
  std::vector<TrialBalanceRow> totals;  // one per currency (account empty)
  int64_t documents = 0;
  int64_t drafts = 0;
  bool balanced() const {
    for (const auto& t : totals)
      if (t.debit != t.credit) return false;
    return true;
  }
};

struct StoredAttachment {
  std::string key;
  std::string type;
  int64_t size = 0;
  std::string hash;  // FNV-1a 64 of the bytes, hex: identifies content, not a security hash
};

struct StoredDocument {
  std::string externalId;  // GL-000001 (journal), INV-, PAY-, CN- by kind
  std::string createdAt;
  posting::Document document;  // as posted (attachments: the stored files below instead)
  std::vector<StoredAttachment> files;
};

struct DocumentSummary {
  std::string externalId;
  std::string externalKey;
  std::string kind;
  std::string postingDate;
  std::string currency;
  std::string description;
  bool draft = true;
  int64_t total = 0;  // sum of debits in the document currency's lines, minor units
};

class SqliteErp final : public Sink {
 public:
  static Result<std::unique_ptr<SqliteErp>> open(const std::string& path, SqliteErpOptions options = {});
  ~SqliteErp() override;

  std::string_view name() const override { return "sqlite"; }
  Capabilities capabilities() const override;
  SinkResult<Posted> post(const posting::Document& document) override;
  SinkResult<std::optional<Posted>> lookup(std::string_view external_key) override;
  SinkResult<std::monostate> upload_attachment(const Posted& document, const posting::Attachment& attachment,
                                               std::string_view bytes) override;
  const model::Directory& directory() const override;
  SinkResult<std::monostate> check() override;

  // Replaces the pending faults (tests arm them between calls).
  void inject(const SqliteErpFaults& faults);

  const std::string& path() const;

  // Master data: adds or replaces entries by key, in one transaction (erp init --seed).
  Status seed(const DirectoryContent& content);

  // Reports for people (erp trial-balance, erp show, erp list).
  Result<TrialBalance> trial_balance() const;
  // By externalKey or by external id.
  Result<std::optional<StoredDocument>> find(std::string_view key_or_external_id) const;
  Result<std::vector<DocumentSummary>> list() const;
  // The stored bytes of one attachment of a document (by externalKey or external id); nullopt
  // when there is none, or only its size and hash were kept (store_attachment_bytes false).
  Result<std::optional<std::string>> attachment_bytes(std::string_view key_or_external_id,
                                                      std::string_view attachment_key) const;

  struct Impl;

 private:
  explicit SqliteErp(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace lb::erp
