#pragma once
// The ledger: ledgerbridge's own record of what it decided, what it sent to the ERP and what
// it told Pleo, so that every export item is posted at most once (DESIGN §5; domain brief
// §4.3) and a job can be resumed after a crash without a second `started` event.
//
// One SQLite file per installation (or per company: the caller picks the path). What it holds:
//   jobs         one row per Pleo export job we worked on: the claim (`started` about to be
//                sent, accepted by Pleo, or refused by Pleo), final event sent.
//   entries      one row per (jobId, accountingEntryId): the decision (outcome JSON), the
//                item's state, the failure, the status Pleo accepted for it.
//   documents    one row per (jobId, externalKey): the posting document's canonical JSON and
//                hash, its state, the ERP's external id and URL.
//   attachments  per document externalKey, the attachment keys already uploaded (§2.8).
//   aggregates   one row per (jobId, externalKey) of a job-level journal entry (§2.4 mode 3,
//                "one entry per export job"): its canonical JSON and hash, state, external id.
//                Its members are the documents whose aggregate_key names it.
//
// States (DESIGN §5):
//   document: decided -> posting -> posted          (posting = the intent, committed BEFORE the
//                    \        \-> failed             ERP call; posted committed right after it)
//                     \-> posted (found by lookup, or posted by an earlier job)
//                      \-> failed (never sent)
//   entry:    decided -> posting -> posted -> reported
//                    \-> failed ---------------> reported
//             (an entry with no documents, e.g. a skipped item, goes decided -> reported)
//   An entry's state follows its documents: posting while any document is in flight or only
//   some are posted, posted when all are; failed and reported are set by the workflow.
//   A document left in `posting` after a restart is *uncertain*: the ERP may or may not hold
//   it. Ask the sink to look it up by externalKey before posting again (uncertain()).
//
// One entry per export job (§2.4 mode 3): the job's journal entries of one currency are booked
// as ONE ERP document, the aggregate, keyed job:<jobId>:<currency>. Each member item keeps its
// own entry and its own decided documents (what it would have posted alone); record_aggregate
// links them to the aggregate (documents.aggregate_key) together with the aggregate's JSON,
// and from then on they move only with it:
//   aggregate: decided -> posting -> posted | failed     (same intent-before-the-call rule)
//   members:   their documents follow: posting with it; posted with the aggregate's external id
//              (posted_by = aggregate); failed with its failure (the ERP refused the whole entry:
//              §2.4, one rejection fails every item). Their entries then report as usual.
//   A member document is never posted, looked up or failed on its own, and is not listed by
//   uncertain(): an aggregate left in `posting` is (aggregates(job, State::posting)).
//
// Durability: WAL with synchronous=FULL. NORMAL would be faster but in WAL mode may lose the
// last commits on power failure, and the one commit we cannot lose is the `posting` intent
// written just before the ERP call: without it a crash leaves a posted document the ledger
// does not know about. FULL syncs the WAL on every commit.
//
// Errors are values naming the file and the operation. Storage faults (disk full, read-only
// file or folder, I/O error, corruption: SQLITE_FULL / READONLY / IOERR / CORRUPT / NOTADB /
// CANTOPEN / PERM) make the ledger *stopped*: fault() says why, and every later write fails
// at once without touching the file. The workflow must then stop cleanly: no further ERP
// call, because nothing more can be recorded. Order violations (e.g. posted without posting)
// are plain errors: a bug in the caller, not a reason to stop the installation.
//
// Concurrency: one Ledger object may be shared by threads of one process (an internal mutex
// serialises calls). One writer process per file: WAL lets other processes read while it
// writes (ledger inspection with read_only = true), and a second writer would wait up to
// busy_timeout and then fail with "busy". Pleo's job claim (a second `started` gets 422) is
// what keeps two installations from working on the same job; the ledger does not try to.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/result.hpp"
#include "posting/document.hpp"

namespace lb::ledger {

enum class State { decided, posting, posted, failed, reported };
const char* to_string(State state);
std::optional<State> state_from(std::string_view name);

// How a document came to be `posted`.
enum class PostedBy {
  sink,         // we posted it in this job (mark_posting, then the sink answered)
  lookup,       // recovery: the sink found it by externalKey (it was uncertain, or resumed)
  earlier_job,  // re-export: an earlier job posted it; this job reuses its external id (§4.3.3)
  aggregate,    // §2.4 mode 3: booked in the job's entry (aggregateKey); the external id is its
};
const char* to_string(PostedBy by);

// The newest schema this build writes. Older files are migrated on open; newer ones refused.
inline constexpr int kSchemaVersion = 4;

struct DocumentRecord {
  std::string jobId;
  std::string accountingEntryId;
  std::string externalKey;
  int index = 0;  // position in the item's document list (invoice 0, payment 1)
  std::string kind;  // posting::to_string(DocumentKind)
  std::string documentJson;  // canonical (posting::write_document_json)
  std::string documentHash;  // posting::document_hash
  State state = State::decided;  // decided | posting | posted | failed
  int attempts = 0;  // how many times it entered `posting`
  std::optional<std::string> externalId{};
  std::optional<std::string> url{};
  std::optional<PostedBy> postedBy{};
  std::optional<std::string> failureType{};  // Pleo failureReasonType
  std::optional<std::string> failureMessage{};
  std::string decidedAt;  // ISO 8601 UTC timestamps
  std::optional<std::string> postingAt{};
  std::optional<std::string> postedAt{};
  std::string updatedAt;
  // §2.4 mode 3: the externalKey of the job entry (AggregateRecord) this document is booked in.
  std::optional<std::string> aggregateKey{};
};

// §2.4 mode 3: one journal entry for many items of a job (see the top of this file).
struct AggregateRecord {
  std::string jobId;
  std::string externalKey;  // job:<jobId>:<currency>
  std::string currency;
  std::string documentJson;  // canonical (posting::write_document_json)
  std::string documentHash;
  State state = State::decided;  // decided | posting | posted | failed
  int attempts = 0;
  std::optional<std::string> externalId{};
  std::optional<std::string> url{};
  std::optional<PostedBy> postedBy{};  // sink | lookup
  std::optional<std::string> failureType{};
  std::optional<std::string> failureMessage{};
  std::string decidedAt;
  std::optional<std::string> postingAt{};
  std::optional<std::string> postedAt{};
  std::string updatedAt;
  std::vector<std::string> members{};  // accountingEntryIds, in the order they were first decided
};

struct EntryRecord {
  std::string jobId;
  std::string accountingEntryId;
  State state = State::decided;
  std::string outcomeJson;  // the rules' outcome for the item, as the workflow gives it
  std::optional<std::string> failureType{};
  std::optional<std::string> failureMessage{};
  std::optional<std::string> reportedStatus{};  // what Pleo accepted: successful | failed
  std::optional<std::string> reportedExternalId{};
  std::string decidedAt;
  std::optional<std::string> reportedAt{};
  std::string updatedAt;
  std::vector<DocumentRecord> documents{};  // in index order
};

struct JobRecord {
  std::string jobId;
  std::string companyId;
  std::string firstSeenAt;
  std::optional<std::string> claimingAt{};  // we were about to send `started`
  std::optional<std::string> claimedAt{};   // Pleo accepted `started`: never send it again
  // Pleo answered our `started` with 422 and no attempt of ours can have been applied: the
  // job was not pending, so it is another integration's (domain brief §1.3). (schema v4)
  std::optional<std::string> claimRefusedAt{};
  std::optional<std::string> finalEvent{};  // completed | completed_with_errors | failed
  std::optional<std::string> finalSentAt{};

  // Whether an in_progress job may be resumed as ours, without `started` (§1.1, §4.3.6): Pleo
  // accepted our claim, or we sent it and it was never refused (a crash or a lost answer left
  // it unconfirmed; it may have been applied, and nothing says it was not).
  bool claim_is_ours() const { return claimedAt.has_value() || (claimingAt.has_value() && !claimRefusedAt); }
};

// What an earlier job posted for an accountingEntryId (re-export detection, §4.3.3): every
// document that job decided for the entry reached the ERP.
struct PriorPosting {
  std::string jobId;
  std::vector<DocumentRecord> documents;  // all of the entry's documents in that job, in index order
};

struct Failure {
  std::string type;     // Pleo failureReasonType, e.g. accounting_system_validation_failure
  std::string message;  // for the bookkeeper
};

struct Options {
  bool read_only = false;  // inspect a ledger another process writes; every write fails
  std::chrono::milliseconds busy_timeout{5000};
  // Caps the file at this many pages: lets operators bound the ledger, and tests simulate a
  // full disk (SQLITE_FULL) without filling one.
  std::optional<int64_t> max_page_count{};
  // Timestamps; tests freeze it. Default: system clock, UTC, milliseconds.
  std::function<std::string()> clock{};
};

class Ledger {
 public:
  // Opens (creating when missing) and migrates the file to kSchemaVersion.
  static Result<std::unique_ptr<Ledger>> open(const std::string& path, Options options = {});
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  const std::string& path() const;
  int schema_version() const;
  // Set after a storage fault (see the top of this file): why the ledger stopped recording.
  std::optional<std::string> fault() const;

  // --- jobs ---------------------------------------------------------------------------------
  // Idempotent: records the job the first time it is seen.
  Status record_job(std::string_view job_id, std::string_view company_id);
  // Before sending `started` (intent), and after Pleo accepted it. On restart, a job whose
  // claim_is_ours() is resumed without a second `started` (§4.3.6).
  Status mark_job_claiming(std::string_view job_id);
  Status mark_job_claimed(std::string_view job_id);
  // Pleo refused our `started` (422) and no attempt of ours can have been applied: another
  // integration's job, never resumed. An error once Pleo accepted our claim. Idempotent.
  Status mark_job_claim_refused(std::string_view job_id);
  // No `started` of ours can have been applied (every attempt was refused before any state
  // change, e.g. 429, or never left this machine): the intent is withdrawn, so the job is not
  // taken for ours if it is in_progress later. An error once Pleo accepted our claim.
  Status withdraw_job_claim(std::string_view job_id);
  // After Pleo accepted the final event. A second call with a different event is an error.
  Status mark_job_final_sent(std::string_view job_id, std::string_view event);
  Result<std::optional<JobRecord>> job(std::string_view job_id) const;

  // --- entries and documents ----------------------------------------------------------------
  // The rules decided the item: its outcome and the documents to post (none for a skipped or
  // failed decision). Re-recording the same documents (same hashes) is a no-op, so a resumed
  // job may call it again. While nothing was sent (every document `decided`) a different
  // decision replaces the old one; after that it is an error.
  Status record_decided(std::string_view job_id, std::string_view accounting_entry_id,
                        std::string_view outcome_json, const std::vector<posting::Document>& documents);
  // The intent, committed before the ERP call. From decided, or again from posting (a retry).
  Status mark_posting(std::string_view job_id, std::string_view external_key);
  // The ERP's answer, committed right after the call. by = sink requires `posting`; lookup and
  // earlier_job also accept `decided` (found before any attempt).
  Status mark_posted(std::string_view job_id, std::string_view external_key, std::string_view external_id,
                     std::string_view url = {}, PostedBy by = PostedBy::sink);
  // The item failed. `document`, when given, is the document the ERP definitively refused (it
  // leaves `posting` for `failed`); documents never sent become `failed` too. Any other
  // document still in `posting` is uncertain and makes this an error: resolve it first.
  Status mark_failed(std::string_view job_id, std::string_view accounting_entry_id, const Failure& failure,
                     std::optional<std::string_view> document = std::nullopt);
  // Pleo accepted the item's status (successful | failed). Requires posted (successful),
  // failed (failed), or no documents at all. Repeating the same report is a no-op.
  Status mark_reported(std::string_view job_id, std::string_view accounting_entry_id, std::string_view status,
                       std::optional<std::string_view> external_id = std::nullopt);

  // --- one entry per export job (§2.4 mode 3) -----------------------------------------------
  // The job's entry for `members` (accountingEntryIds of this job), before anything is sent:
  // every member must be decided (not posted, failed or reported), have documents, all of
  // them journal entries in the aggregate's currency, and be no other aggregate's member.
  // Recording the same again is a no-op; while the aggregate was never sent a different
  // document or member set replaces the old (the old members are freed); after that it is an
  // error.
  Status record_aggregate(std::string_view job_id, const posting::Document& aggregate,
                          const std::vector<std::string>& members);
  // The intent, committed before the ERP call: the aggregate and its members' documents enter
  // `posting`. From decided, or again from posting (a retry after a lookup found nothing).
  Status mark_aggregate_posting(std::string_view job_id, std::string_view external_key);
  // The ERP's answer: the aggregate and every member document are posted with its external id
  // (members: posted_by = aggregate). by = sink requires `posting`; lookup also `decided`.
  Status mark_aggregate_posted(std::string_view job_id, std::string_view external_key, std::string_view external_id,
                               std::string_view url = {}, PostedBy by = PostedBy::sink);
  // The ERP refused the aggregate for good: it, its member documents and member entries fail.
  Status mark_aggregate_failed(std::string_view job_id, std::string_view external_key, const Failure& failure);

  // An attachment key was uploaded to the ERP document of `external_key` (idempotent).
  Status mark_attachment_uploaded(std::string_view job_id, std::string_view external_key,
                                  std::string_view attachment_key);

  // --- queries ------------------------------------------------------------------------------
  Result<std::optional<EntryRecord>> entry(std::string_view job_id, std::string_view accounting_entry_id) const;
  // Entries of a job (all, or only those in `state`), ordered as they were first decided.
  Result<std::vector<EntryRecord>> entries(std::string_view job_id, std::optional<State> state = std::nullopt) const;
  // Documents left in `posting`: of one job, or of every job when job_id is empty. Members of
  // an aggregate are not listed: look up the aggregate (aggregates(job, State::posting)).
  Result<std::vector<DocumentRecord>> uncertain(std::string_view job_id = {}) const;
  // The newest job other than `current_job` in which *every* document of this accountingEntryId
  // reached the ERP (an external id is recorded for each), or nullopt. An entry of two documents
  // (AP invoice + payment) whose payment never got there is not posted: see
  // earlier_posted_documents for what was (§4.3.3).
  Result<std::optional<PriorPosting>> posted_in_earlier_job(std::string_view accounting_entry_id,
                                                            std::string_view current_job) const;
  // The documents of this accountingEntryId that jobs other than `current_job` got into the ERP
  // (an external id is recorded), one per externalKey (the newest), in index order: a re-export
  // reuses them and posts only the missing ones.
  Result<std::vector<DocumentRecord>> earlier_posted_documents(std::string_view accounting_entry_id,
                                                               std::string_view current_job) const;
  // Documents of this accountingEntryId left in `posting` by jobs other than `current_job`
  // (e.g. a job Pleo expired before it was resumed): uncertain until looked up in the ERP.
  Result<std::vector<DocumentRecord>> uncertain_of_entry(std::string_view accounting_entry_id,
                                                         std::string_view current_job) const;
  // §2.4 mode 3: one aggregate with its members, or a job's (all, or those in `state`) in the
  // order they were recorded.
  Result<std::optional<AggregateRecord>> aggregate(std::string_view job_id, std::string_view external_key) const;
  Result<std::vector<AggregateRecord>> aggregates(std::string_view job_id,
                                                  std::optional<State> state = std::nullopt) const;
  // Attachment keys already uploaded for the document with this externalKey (any job).
  Result<std::vector<std::string>> attachments_done(std::string_view external_key) const;

  struct Impl;

 private:
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::ledger
