#pragma once
// The ERP side of ledgerbridge (DESIGN §1, §5; domain brief §2.8, §2.11): where documents go,
// how they are found again after a crash, and the master data the rules query. Built-in sinks
// (SQLite ERP, JSON lines, HTTP) and the host sink of the C ABI implement this interface.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/directory.hpp"
#include "model/result.hpp"
#include "posting/document.hpp"

namespace lb::erp {

// Why an ERP call failed. The workflow decides from the kind whether to retry, fail the item
// or stop the job; failure_reason_type maps it onto Pleo's vocabulary (§3.2).
enum class ErrorKind {
  validation,   // the ERP refused the document (closed period, unknown account, ...): item fails
  unreachable,  // network / connection refused / 5xx: retry, then fail the job
  auth,         // credentials rejected: stop the company
  rate_limit,   // slow down (retry_after when the ERP says)
  timeout,      // no answer in time: the write MAY have happened, so the entry is uncertain
  conflict,     // the ERP already holds a document with this external key
  attachment,   // an attachment was refused (type, size, conversion)
};
const char* to_string(ErrorKind kind);

struct SinkError {
  ErrorKind kind = ErrorKind::unreachable;
  std::string message;  // for people; never contains credentials
  std::optional<std::chrono::milliseconds> retry_after{};
};

// Pleo's ExportJobItemFailureReasonType for an error that fails an item.
const char* failure_reason_type(const SinkError& error);

// Where the ERP keeps a posted document.
struct Posted {
  std::string externalId;  // the ERP's id (voucher number, document id)
  std::string url{};       // a link to it in the ERP, when it has one
};

template <typename T>
using SinkResult = std::variant<T, SinkError>;

// What a sink accepts, so the engine can check attachments before it uploads (§2.8).
struct Capabilities {
  int64_t max_attachment_bytes = 30 * 1024 * 1024;
  std::vector<std::string> attachment_types{};  // MIME types; empty = any
  bool single_attachment = false;  // the ERP takes one file per document: merge into one PDF
  bool drafts = true;              // the ERP can hold unposted drafts
};

// Capabilities from a sink's text settings (the `erp = {...}` table of the configuration), over
// `base`: single_attachment = true | false, max_attachment_bytes = a positive integer,
// attachment_types = MIME types separated by commas ("" = any). Other keys belong to the sink
// kind and are left alone. A bad value is an error naming the key.
Result<Capabilities> capabilities_from(const std::map<std::string, std::string>& settings, Capabilities base = {});

class Sink {
 public:
  virtual ~Sink() = default;

  virtual std::string_view name() const = 0;
  virtual Capabilities capabilities() const = 0;

  // Write one document. The document has passed posting::check_invariants and carries its
  // externalKey; the sink must store that key so lookup can find the document later.
  virtual SinkResult<Posted> post(const posting::Document& document) = 0;

  // The document posted under `external_key`, nullopt when the ERP has none. Recovery asks
  // this for every entry whose post may or may not have happened (DESIGN §5).
  virtual SinkResult<std::optional<Posted>> lookup(std::string_view external_key) = 0;

  // Attach one file to a posted document. `attachment.key` is deterministic; a sink that sees
  // the same key twice for a document must not attach the file twice.
  virtual SinkResult<std::monostate> upload_attachment(const Posted& document,
                                                       const posting::Attachment& attachment,
                                                       std::string_view bytes) = 0;

  // The ERP's master data for the rules (accounts, vendors, tax codes, dimensions, periods).
  virtual const model::Directory& directory() const = 0;

  // Job-level pre-validation (§2.11): reachable and authorised. Default: post-free check.
  virtual SinkResult<std::monostate> check() { return std::monostate{}; }
};

}  // namespace lb::erp
