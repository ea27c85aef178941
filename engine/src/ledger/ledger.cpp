#include "ledger/ledger.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <mutex>
#include <utility>

#include "db/sqlite_db.hpp"

namespace lb::ledger {

namespace {

constexpr std::array<std::pair<State, const char*>, 5> kStates{{
    {State::decided, "decided"},
    {State::posting, "posting"},
    {State::posted, "posted"},
    {State::failed, "failed"},
    {State::reported, "reported"},
}};

constexpr std::array<std::pair<PostedBy, const char*>, 4> kPostedBy{{
    {PostedBy::sink, "sink"},
    {PostedBy::lookup, "lookup"},
    {PostedBy::earlier_job, "earlier_job"},
    {PostedBy::aggregate, "aggregate"},
}};

std::optional<PostedBy> posted_by_from(std::string_view name) {
  for (const auto& [v, n] : kPostedBy)
    if (name == n) return v;
  return std::nullopt;
}

// --- schema ----------------------------------------------------------------------------------
// Each step takes the file from version i to i + 1 and runs in one transaction together with
// `PRAGMA user_version = i + 1` (the header field is transactional), so a crash or a full disk
// mid-migration leaves the file at the old version, never half-migrated. Steps are append-only:
// never edit a released step, add a new one.
constexpr const char* kMigrations[] = {
    // v1: jobs, entries (per jobId + accountingEntryId) and documents (per jobId + externalKey).
    R"sql(
CREATE TABLE jobs (
  job_id        TEXT PRIMARY KEY,
  company_id    TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  claiming_at   TEXT,
  claimed_at    TEXT,
  final_event   TEXT,
  final_sent_at TEXT
);
CREATE TABLE entries (
  seq                  INTEGER PRIMARY KEY,
  job_id               TEXT NOT NULL,
  accounting_entry_id  TEXT NOT NULL,
  state                TEXT NOT NULL,
  outcome_json         TEXT NOT NULL,
  failure_type         TEXT,
  failure_message      TEXT,
  reported_status      TEXT,
  reported_external_id TEXT,
  decided_at           TEXT NOT NULL,
  reported_at          TEXT,
  updated_at           TEXT NOT NULL,
  UNIQUE (job_id, accounting_entry_id)
);
CREATE TABLE documents (
  job_id              TEXT NOT NULL,
  accounting_entry_id TEXT NOT NULL,
  external_key        TEXT NOT NULL,
  idx                 INTEGER NOT NULL,
  kind                TEXT NOT NULL,
  document_json       TEXT NOT NULL,
  document_hash       TEXT NOT NULL,
  state               TEXT NOT NULL,
  attempts            INTEGER NOT NULL DEFAULT 0,
  external_id         TEXT,
  url                 TEXT,
  posted_by           TEXT,
  failure_type        TEXT,
  failure_message     TEXT,
  decided_at          TEXT NOT NULL,
  posting_at          TEXT,
  posted_at           TEXT,
  updated_at          TEXT NOT NULL,
  PRIMARY KEY (job_id, external_key),
  FOREIGN KEY (job_id, accounting_entry_id) REFERENCES entries (job_id, accounting_entry_id)
);
)sql",
    // v2: attachment keys per document (§2.8 idempotency), and an index for re-export
    // detection (§4.3.3), which looks documents up by accountingEntryId across jobs.
    R"sql(
CREATE TABLE attachments (
  external_key   TEXT NOT NULL,
  attachment_key TEXT NOT NULL,
  job_id         TEXT NOT NULL,
  uploaded_at    TEXT NOT NULL,
  PRIMARY KEY (external_key, attachment_key)
);
CREATE INDEX documents_by_entry ON documents (accounting_entry_id, external_id);
CREATE INDEX documents_by_state ON documents (state);
)sql",
    // v3: §2.4 mode 3, one journal entry per export job. The job's entry (one ERP document for
    // many items) has a row of its own; its members are the documents that name it.
    R"sql(
ALTER TABLE documents ADD COLUMN aggregate_key TEXT;
CREATE INDEX documents_by_aggregate ON documents (job_id, aggregate_key);
CREATE TABLE aggregates (
  job_id          TEXT NOT NULL REFERENCES jobs (job_id),
  external_key    TEXT NOT NULL,
  currency        TEXT NOT NULL,
  document_json   TEXT NOT NULL,
  document_hash   TEXT NOT NULL,
  state           TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  external_id     TEXT,
  url             TEXT,
  posted_by       TEXT,
  failure_type    TEXT,
  failure_message TEXT,
  decided_at      TEXT NOT NULL,
  posting_at      TEXT,
  posted_at       TEXT,
  updated_at      TEXT NOT NULL,
  PRIMARY KEY (job_id, external_key)
);
CREATE INDEX aggregates_by_state ON aggregates (state);
)sql",
    // v4: Pleo refused our claim (422 on `started`, §1.3): such a job is someone else's and is
    // never resumed, although the intent written before `started` (claiming_at) stays.
    R"sql(
ALTER TABLE jobs ADD COLUMN claim_refused_at TEXT;
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration step per schema version");

std::string system_now() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms);
}

// A failed check inside a write: becomes "ledger <path>: <operation>: <message>".
Error refuse(std::string message) { return Error{std::move(message)}; }

std::string member_alone(std::string_view job_id, const DocumentRecord& d) {
  return fmt::format("document {} of job {} is booked in job entry {} (§2.4 mode 3): it is posted, looked up and "
                     "failed only with it",
                     d.externalKey, job_id, d.aggregateKey.value_or("?"));
}

constexpr const char* kDocumentColumns =
    "job_id, accounting_entry_id, external_key, idx, kind, document_json, document_hash, state, attempts, "
    "external_id, url, posted_by, failure_type, failure_message, decided_at, posting_at, posted_at, updated_at, "
    "aggregate_key";

DocumentRecord read_document(const sqlite::Statement& s) {
  DocumentRecord d;
  d.jobId = s.text(0);
  d.accountingEntryId = s.text(1);
  d.externalKey = s.text(2);
  d.index = static_cast<int>(s.int64(3));
  d.kind = s.text(4);
  d.documentJson = s.text(5);
  d.documentHash = s.text(6);
  d.state = state_from(s.text(7)).value_or(State::failed);
  d.attempts = static_cast<int>(s.int64(8));
  d.externalId = s.optional_text(9);
  d.url = s.optional_text(10);
  if (auto by = s.optional_text(11)) d.postedBy = posted_by_from(*by);
  d.failureType = s.optional_text(12);
  d.failureMessage = s.optional_text(13);
  d.decidedAt = s.text(14);
  d.postingAt = s.optional_text(15);
  d.postedAt = s.optional_text(16);
  d.updatedAt = s.text(17);
  d.aggregateKey = s.optional_text(18);
  return d;
}

constexpr const char* kAggregateColumns =
    "job_id, external_key, currency, document_json, document_hash, state, attempts, external_id, url, posted_by, "
    "failure_type, failure_message, decided_at, posting_at, posted_at, updated_at";

AggregateRecord read_aggregate(const sqlite::Statement& s) {
  AggregateRecord a;
  a.jobId = s.text(0);
  a.externalKey = s.text(1);
  a.currency = s.text(2);
  a.documentJson = s.text(3);
  a.documentHash = s.text(4);
  a.state = state_from(s.text(5)).value_or(State::failed);
  a.attempts = static_cast<int>(s.int64(6));
  a.externalId = s.optional_text(7);
  a.url = s.optional_text(8);
  if (auto by = s.optional_text(9)) a.postedBy = posted_by_from(*by);
  a.failureType = s.optional_text(10);
  a.failureMessage = s.optional_text(11);
  a.decidedAt = s.text(12);
  a.postingAt = s.optional_text(13);
  a.postedAt = s.optional_text(14);
  a.updatedAt = s.text(15);
  return a;
}

}  // namespace

const char* to_string(State state) {
  for (const auto& [v, n] : kStates)
    if (v == state) return n;
  return "?";
}

std::optional<State> state_from(std::string_view name) {
  for (const auto& [v, n] : kStates)
    if (name == n) return v;
  return std::nullopt;
}

const char* to_string(PostedBy by) {
  for (const auto& [v, n] : kPostedBy)
    if (v == by) return n;
  return "?";
}

// --- Impl ------------------------------------------------------------------------------------

struct Ledger::Impl {
  sqlite::Database db;
  std::string path;
  Options options;
  int version = 0;
  mutable std::mutex mu;
  mutable std::optional<std::string> fault;

  std::string now() const { return options.clock ? options.clock() : system_now(); }

  std::string prefix(std::string_view operation) const { return fmt::format("ledger {}: {}: ", path, operation); }

  // Turns a SQLite failure into an error value; a storage fault stops the ledger.
  Error failed(std::string_view operation, const sqlite::Failure& e) const {
    std::string message = prefix(operation) + e.message;
    if (sqlite::is_storage_fault(e.code)) {
      if (!fault) fault = message;
      message += "; the ledger stopped recording: stop the job cleanly and fix the storage";
    } else if (sqlite::is_busy(e.code)) {
      message += "; another process is writing this ledger (one writer per file)";
    }
    return Error{std::move(message)};
  }

  template <typename F>
  Status write(std::string_view operation, F&& body) {
    std::lock_guard lock(mu);
    if (fault) return Error{prefix(operation) + "refused: the ledger stopped after a storage fault: " + *fault};
    try {
      sqlite::Transaction tx(db);
      Status st = body();
      if (!st) return Error{prefix(operation) + st.message()};  // tx rolls back
      tx.commit();
      return {};
    } catch (const sqlite::Failure& e) {
      return failed(operation, e);
    }
  }

  template <typename T, typename F>
  Result<T> read(std::string_view operation, F&& body) const {
    std::lock_guard lock(mu);
    try {
      return body();
    } catch (const sqlite::Failure& e) {
      return failed(operation, e);
    }
  }

  // Reads go through the same connection; the statement cache is not const.
  sqlite::Database& rdb() const { return const_cast<sqlite::Database&>(db); }

  std::optional<DocumentRecord> load_document(std::string_view job, std::string_view key) const {
    static const std::string sql =
        fmt::format("SELECT {} FROM documents WHERE job_id = ?1 AND external_key = ?2", kDocumentColumns);
    auto q = rdb().prepare(sql.c_str());
    q->bind(1, job).bind(2, key);
    if (!q->step()) return std::nullopt;
    return read_document(*q);
  }

  std::vector<DocumentRecord> load_documents(std::string_view job, std::string_view entry) const {
    static const std::string sql = fmt::format(
        "SELECT {} FROM documents WHERE job_id = ?1 AND accounting_entry_id = ?2 ORDER BY idx", kDocumentColumns);
    auto q = rdb().prepare(sql.c_str());
    q->bind(1, job).bind(2, entry);
    std::vector<DocumentRecord> out;
    while (q->step()) out.push_back(read_document(*q));
    return out;
  }

  std::optional<EntryRecord> load_entry(std::string_view job, std::string_view entry, bool with_documents) const {
    auto q = rdb().prepare(
        "SELECT job_id, accounting_entry_id, state, outcome_json, failure_type, failure_message, reported_status, "
        "reported_external_id, decided_at, reported_at, updated_at FROM entries "
        "WHERE job_id = ?1 AND accounting_entry_id = ?2");
    q->bind(1, job).bind(2, entry);
    if (!q->step()) return std::nullopt;
    EntryRecord e = read_entry(*q);
    if (with_documents) e.documents = load_documents(job, entry);
    return e;
  }

  // §2.4 mode 3: the accountingEntryIds whose documents are booked in `key`, in decision order.
  std::vector<std::string> load_members(std::string_view job, std::string_view key) const {
    auto q = rdb().prepare(
        "SELECT d.accounting_entry_id FROM documents d JOIN entries e ON e.job_id = d.job_id AND "
        "e.accounting_entry_id = d.accounting_entry_id WHERE d.job_id = ?1 AND d.aggregate_key = ?2 "
        "GROUP BY d.accounting_entry_id ORDER BY MIN(e.seq)");
    q->bind(1, job).bind(2, key);
    std::vector<std::string> out;
    while (q->step()) out.push_back(q->text(0));
    return out;
  }

  std::optional<AggregateRecord> load_aggregate(std::string_view job, std::string_view key) const {
    static const std::string sql =
        fmt::format("SELECT {} FROM aggregates WHERE job_id = ?1 AND external_key = ?2", kAggregateColumns);
    auto q = rdb().prepare(sql.c_str());
    q->bind(1, job).bind(2, key);
    if (!q->step()) return std::nullopt;
    AggregateRecord a = read_aggregate(*q);
    a.members = load_members(job, key);
    return a;
  }

  static EntryRecord read_entry(const sqlite::Statement& s) {
    EntryRecord e;
    e.jobId = s.text(0);
    e.accountingEntryId = s.text(1);
    e.state = state_from(s.text(2)).value_or(State::failed);
    e.outcomeJson = s.text(3);
    e.failureType = s.optional_text(4);
    e.failureMessage = s.optional_text(5);
    e.reportedStatus = s.optional_text(6);
    e.reportedExternalId = s.optional_text(7);
    e.decidedAt = s.text(8);
    e.reportedAt = s.optional_text(9);
    e.updatedAt = s.text(10);
    return e;
  }

  void set_entry_state(std::string_view job, std::string_view entry, State state) {
    auto q = db.prepare("UPDATE entries SET state = ?3, updated_at = ?4 WHERE job_id = ?1 AND accounting_entry_id = ?2");
    q->bind(1, job).bind(2, entry).bind(3, to_string(state)).bind(4, now()).run();
  }

  // An entry's state follows its documents until the workflow fails or reports it.
  void refresh_entry_state(std::string_view job, std::string_view entry) {
    const auto e = load_entry(job, entry, true);
    if (!e || e->state == State::reported) return;
    size_t posted = 0, posting = 0, decided = 0, failed_docs = 0;
    for (const auto& d : e->documents) {
      posted += d.state == State::posted;
      posting += d.state == State::posting;
      decided += d.state == State::decided;
      failed_docs += d.state == State::failed;
    }
    State next = State::decided;
    if (posting > 0 || (posted > 0 && decided > 0))
      next = State::posting;
    else if (!e->documents.empty() && posted == e->documents.size())
      next = State::posted;
    else if (failed_docs > 0 || e->state == State::failed)
      next = State::failed;
    if (next == State::failed && e->state == State::failed) return;
    if (next != State::failed) {
      // Leaving `failed` (a retry after a transient failure): the old failure no longer holds.
      auto q = db.prepare(
          "UPDATE entries SET failure_type = NULL, failure_message = NULL WHERE job_id = ?1 AND "
          "accounting_entry_id = ?2 AND state = 'failed'");
      q->bind(1, job).bind(2, entry).run();
    }
    if (next != e->state) set_entry_state(job, entry, next);
  }

  void migrate(int from) {
    for (int v = from; v < kSchemaVersion; ++v) {
      sqlite::Transaction tx(db);
      db.exec(kMigrations[v]);
      db.exec(fmt::format("PRAGMA user_version = {}", v + 1).c_str());
      tx.commit();
    }
  }
};

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::~Ledger() = default;

Result<std::unique_ptr<Ledger>> Ledger::open(const std::string& path, Options options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = std::move(options);
  std::string operation = "open";
  try {
    impl->db = sqlite::Database::open(
        path, {.create = !impl->options.read_only,
               .read_only = impl->options.read_only,
               .busy_timeout_ms = static_cast<int>(impl->options.busy_timeout.count())});
    if (!impl->options.read_only && impl->db.read_only())
      return Error{fmt::format("ledger {}: open: the file is read-only (the ledger must be writable: disk, "
                               "permissions or mount); stopping before anything is posted",
                               path)};
    // A file that is not a database fails here, on the first read of its header.
    const int version = static_cast<int>(impl->db.query_int("PRAGMA user_version"));
    if (version > kSchemaVersion)
      return Error{fmt::format("ledger {}: open: schema version {} is newer than this build's {}; upgrade "
                               "ledgerbridge, never edit the file by hand",
                               path, version, kSchemaVersion)};
    if (impl->options.read_only) {
      if (version < kSchemaVersion)
        return Error{fmt::format("ledger {}: open: schema version {} needs migrating to {}; open it read-write once",
                                 path, version, kSchemaVersion)};
    } else {
      operation = "set journal mode";
      {
        auto q = impl->db.prepare("PRAGMA journal_mode = WAL");
        const std::string mode = q->step() ? q->text(0) : std::string();
        if (mode != "wal")
          return Error{fmt::format("ledger {}: open: cannot switch to WAL journaling (got '{}')", path, mode)};
      }
      impl->db.exec("PRAGMA synchronous = FULL");  // see ledger.hpp: the posting intent must survive
      impl->db.exec("PRAGMA foreign_keys = ON");
      operation = fmt::format("migrate from schema version {} to {}", version, kSchemaVersion);
      impl->migrate(version);
    }
    if (impl->options.max_page_count) {
      impl->db.prepare_once(fmt::format("PRAGMA max_page_count = {}", *impl->options.max_page_count)).run();
    }
    impl->version = static_cast<int>(impl->db.query_int("PRAGMA user_version"));
  } catch (const sqlite::Failure& e) {
    return impl->failed(operation, e);
  }
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

const std::string& Ledger::path() const { return impl_->path; }
int Ledger::schema_version() const { return impl_->version; }
std::optional<std::string> Ledger::fault() const {
  std::lock_guard lock(impl_->mu);
  return impl_->fault;
}

// --- jobs ------------------------------------------------------------------------------------

Status Ledger::record_job(std::string_view job_id, std::string_view company_id) {
  return impl_->write("record job", [&]() -> Status {
    auto q = impl_->db.prepare("SELECT company_id FROM jobs WHERE job_id = ?1");
    q->bind(1, job_id);
    if (q->step()) {
      if (q->text(0) != company_id)
        return refuse(fmt::format("job {} is recorded for company {}, not {}", job_id, q->text(0), company_id));
      return {};
    }
    auto ins = impl_->db.prepare("INSERT INTO jobs (job_id, company_id, first_seen_at) VALUES (?1, ?2, ?3)");
    ins->bind(1, job_id).bind(2, company_id).bind(3, impl_->now()).run();
    return {};
  });
}

Status Ledger::mark_job_claiming(std::string_view job_id) {
  return impl_->write("mark job claiming", [&]() -> Status {
    auto q = impl_->db.prepare("UPDATE jobs SET claiming_at = COALESCE(claiming_at, ?2) WHERE job_id = ?1");
    if (q->bind(1, job_id).bind(2, impl_->now()).run() == 0) return refuse(fmt::format("job {} is not recorded", job_id));
    return {};
  });
}

Status Ledger::mark_job_claimed(std::string_view job_id) {
  return impl_->write("mark job claimed", [&]() -> Status {
    auto q = impl_->db.prepare(
        "UPDATE jobs SET claiming_at = COALESCE(claiming_at, ?2), claimed_at = COALESCE(claimed_at, ?2) "
        "WHERE job_id = ?1");
    if (q->bind(1, job_id).bind(2, impl_->now()).run() == 0) return refuse(fmt::format("job {} is not recorded", job_id));
    return {};
  });
}

Status Ledger::mark_job_claim_refused(std::string_view job_id) {
  return impl_->write("mark job claim refused", [&]() -> Status {
    auto q = impl_->db.prepare("SELECT claimed_at FROM jobs WHERE job_id = ?1");
    q->bind(1, job_id);
    if (!q->step()) return refuse(fmt::format("job {} is not recorded", job_id));
    if (!q->is_null(0))
      return refuse(fmt::format("job {}: Pleo accepted our claim at {}; a later refusal does not undo it", job_id,
                                q->text(0)));
    auto up = impl_->db.prepare("UPDATE jobs SET claim_refused_at = COALESCE(claim_refused_at, ?2) WHERE job_id = ?1");
    up->bind(1, job_id).bind(2, impl_->now()).run();
    return {};
  });
}

Status Ledger::withdraw_job_claim(std::string_view job_id) {
  return impl_->write("withdraw job claim", [&]() -> Status {
    auto q = impl_->db.prepare("SELECT claimed_at FROM jobs WHERE job_id = ?1");
    q->bind(1, job_id);
    if (!q->step()) return refuse(fmt::format("job {} is not recorded", job_id));
    if (!q->is_null(0))
      return refuse(fmt::format("job {}: Pleo accepted our claim at {}; it cannot be withdrawn", job_id, q->text(0)));
    auto up = impl_->db.prepare("UPDATE jobs SET claiming_at = NULL WHERE job_id = ?1");
    up->bind(1, job_id).run();
    return {};
  });
}

Status Ledger::mark_job_final_sent(std::string_view job_id, std::string_view event) {
  return impl_->write("mark final event sent", [&]() -> Status {
    auto q = impl_->db.prepare("SELECT claimed_at, final_event FROM jobs WHERE job_id = ?1");
    q->bind(1, job_id);
    if (!q->step()) return refuse(fmt::format("job {} is not recorded", job_id));
    if (q->is_null(0)) return refuse(fmt::format("job {} was never claimed (no `started` accepted)", job_id));
    if (auto sent = q->optional_text(1)) {
      if (*sent == event) return {};
      return refuse(fmt::format("job {} already sent its final event {}; not sending {}", job_id, *sent, event));
    }
    auto up = impl_->db.prepare("UPDATE jobs SET final_event = ?2, final_sent_at = ?3 WHERE job_id = ?1");
    up->bind(1, job_id).bind(2, event).bind(3, impl_->now()).run();
    return {};
  });
}

Result<std::optional<JobRecord>> Ledger::job(std::string_view job_id) const {
  return impl_->read<std::optional<JobRecord>>("read job", [&]() -> std::optional<JobRecord> {
    auto q = impl_->rdb().prepare(
        "SELECT job_id, company_id, first_seen_at, claiming_at, claimed_at, final_event, final_sent_at, "
        "claim_refused_at FROM jobs WHERE job_id = ?1");
    q->bind(1, job_id);
    if (!q->step()) return std::nullopt;
    JobRecord j;
    j.jobId = q->text(0);
    j.companyId = q->text(1);
    j.firstSeenAt = q->text(2);
    j.claimingAt = q->optional_text(3);
    j.claimedAt = q->optional_text(4);
    j.finalEvent = q->optional_text(5);
    j.finalSentAt = q->optional_text(6);
    j.claimRefusedAt = q->optional_text(7);
    return j;
  });
}

// --- entries ---------------------------------------------------------------------------------

Status Ledger::record_decided(std::string_view job_id, std::string_view accounting_entry_id,
                              std::string_view outcome_json, const std::vector<posting::Document>& documents) {
  // Canonical JSON and hashes are computed outside the lock and the transaction.
  struct Prepared {
    const posting::Document* doc;
    std::string json, hash;
  };
  std::vector<Prepared> prepared;
  for (const auto& d : documents) prepared.push_back({&d, posting::document_json(d), posting::document_hash(d)});

  return impl_->write("record decided", [&]() -> Status {
    auto& db = impl_->db;
    {
      auto q = db.prepare("SELECT 1 FROM jobs WHERE job_id = ?1");
      q->bind(1, job_id);
      if (!q->step()) return refuse(fmt::format("job {} is not recorded (record_job first)", job_id));
    }
    for (const auto& p : prepared) {
      if (p.doc->accountingEntryId != accounting_entry_id)
        return refuse(fmt::format("document {} belongs to entry {}, not {}", p.doc->externalKey,
                                  p.doc->accountingEntryId, accounting_entry_id));
    }
    const std::string now = impl_->now();
    if (auto existing = impl_->load_entry(job_id, accounting_entry_id, true)) {
      bool same = existing->documents.size() == prepared.size();
      for (size_t i = 0; same && i < prepared.size(); ++i)
        same = existing->documents[i].externalKey == prepared[i].doc->externalKey &&
               existing->documents[i].documentHash == prepared[i].hash;
      if (same) return {};  // a resumed job deciding the same thing again
      for (const auto& d : existing->documents)
        if (d.aggregateKey)
          return refuse(fmt::format("entry {} of job {} is booked in job entry {} (§2.4 mode 3); its decision cannot "
                                    "change",
                                    accounting_entry_id, job_id, *d.aggregateKey));
      if (existing->state == State::reported)
        return refuse(fmt::format("entry {} of job {} is already reported as {}; a new decision needs a new job",
                                  accounting_entry_id, job_id, existing->reportedStatus.value_or("?")));
      for (const auto& d : existing->documents) {
        if (d.attempts > 0 || d.externalId)
          return refuse(fmt::format("entry {} of job {}: document {} was already sent to the ERP ({}); its decision "
                                    "cannot change (hash {} recorded)",
                                    accounting_entry_id, job_id, d.externalKey, to_string(d.state), d.documentHash));
      }
      // Nothing went out: the new decision replaces the old (a rule fix between runs).
      auto del = db.prepare("DELETE FROM documents WHERE job_id = ?1 AND accounting_entry_id = ?2");
      del->bind(1, job_id).bind(2, accounting_entry_id).run();
      auto up = db.prepare(
          "UPDATE entries SET state = 'decided', outcome_json = ?3, failure_type = NULL, failure_message = NULL, "
          "decided_at = ?4, updated_at = ?4 WHERE job_id = ?1 AND accounting_entry_id = ?2");
      up->bind(1, job_id).bind(2, accounting_entry_id).bind(3, outcome_json).bind(4, now).run();
    } else {
      auto ins = db.prepare(
          "INSERT INTO entries (job_id, accounting_entry_id, state, outcome_json, decided_at, updated_at) "
          "VALUES (?1, ?2, 'decided', ?3, ?4, ?4)");
      ins->bind(1, job_id).bind(2, accounting_entry_id).bind(3, outcome_json).bind(4, now).run();
    }
    for (size_t i = 0; i < prepared.size(); ++i) {
      const auto& p = prepared[i];
      auto dup = db.prepare("SELECT accounting_entry_id FROM documents WHERE job_id = ?1 AND external_key = ?2");
      dup->bind(1, job_id).bind(2, p.doc->externalKey);
      if (dup->step())
        return refuse(fmt::format("external key {} is already used by entry {} in job {}", p.doc->externalKey,
                                  dup->text(0), job_id));
      auto ins = db.prepare(
          "INSERT INTO documents (job_id, accounting_entry_id, external_key, idx, kind, document_json, "
          "document_hash, state, decided_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'decided', ?8, ?8)");
      ins->bind(1, job_id)
          .bind(2, accounting_entry_id)
          .bind(3, p.doc->externalKey)
          .bind(4, static_cast<int64_t>(i))
          .bind(5, posting::to_string(p.doc->kind))
          .bind(6, p.json)
          .bind(7, p.hash)
          .bind(8, now)
          .run();
    }
    return {};
  });
}

Status Ledger::mark_posting(std::string_view job_id, std::string_view external_key) {
  return impl_->write("mark posting", [&]() -> Status {
    const auto d = impl_->load_document(job_id, external_key);
    if (!d) return refuse(fmt::format("no document {} in job {}", external_key, job_id));
    if (d->aggregateKey) return refuse(member_alone(job_id, *d));
    const auto e = impl_->load_entry(job_id, d->accountingEntryId, false);
    if (e && e->state == State::reported)
      return refuse(fmt::format("entry {} of job {} is already reported; not posting {} again",
                                d->accountingEntryId, job_id, external_key));
    if (d->state == State::posted)
      return refuse(fmt::format("document {} of job {} is already posted as {}", external_key, job_id,
                                d->externalId.value_or("?")));
    // decided: first attempt; posting: a retry (the workflow looked it up first); failed: a
    // retry of a transient failure not yet reported to Pleo.
    auto q = impl_->db.prepare(
        "UPDATE documents SET state = 'posting', attempts = attempts + 1, posting_at = ?3, failure_type = NULL, "
        "failure_message = NULL, updated_at = ?3 WHERE job_id = ?1 AND external_key = ?2");
    q->bind(1, job_id).bind(2, external_key).bind(3, impl_->now()).run();
    impl_->refresh_entry_state(job_id, d->accountingEntryId);
    return {};
  });
}

Status Ledger::mark_posted(std::string_view job_id, std::string_view external_key, std::string_view external_id,
                           std::string_view url, PostedBy by) {
  return impl_->write("mark posted", [&]() -> Status {
    if (external_id.empty()) return refuse(fmt::format("document {}: the ERP's external id is empty", external_key));
    const auto d = impl_->load_document(job_id, external_key);
    if (!d) return refuse(fmt::format("no document {} in job {}", external_key, job_id));
    if (d->aggregateKey) return refuse(member_alone(job_id, *d));
    if (d->state == State::posted) {
      if (d->externalId == external_id) return {};
      return refuse(fmt::format("document {} of job {} is already posted as {}, not {}", external_key, job_id,
                                d->externalId.value_or("?"), external_id));
    }
    const bool allowed = d->state == State::posting || (by != PostedBy::sink && d->state == State::decided);
    if (!allowed)
      return refuse(fmt::format("document {} of job {} is {}; posted by {} needs {}", external_key, job_id,
                                to_string(d->state), to_string(by),
                                by == PostedBy::sink ? "posting (mark_posting before the ERP call)"
                                                     : "decided or posting"));
    auto q = impl_->db.prepare(
        "UPDATE documents SET state = 'posted', external_id = ?3, url = ?4, posted_by = ?5, posted_at = ?6, "
        "updated_at = ?6 WHERE job_id = ?1 AND external_key = ?2");
    q->bind(1, job_id).bind(2, external_key).bind(3, external_id);
    if (url.empty())
      q->bind_null(4);
    else
      q->bind(4, url);
    q->bind(5, to_string(by)).bind(6, impl_->now()).run();
    impl_->refresh_entry_state(job_id, d->accountingEntryId);
    return {};
  });
}

Status Ledger::mark_failed(std::string_view job_id, std::string_view accounting_entry_id, const Failure& failure,
                           std::optional<std::string_view> document) {
  return impl_->write("mark failed", [&]() -> Status {
    if (failure.type.empty()) return refuse("a failure needs a failureReasonType");
    const auto e = impl_->load_entry(job_id, accounting_entry_id, true);
    if (!e) return refuse(fmt::format("no entry {} in job {}", accounting_entry_id, job_id));
    if (e->state == State::reported)
      return refuse(fmt::format("entry {} of job {} is already reported as {}", accounting_entry_id, job_id,
                                e->reportedStatus.value_or("?")));
    for (const auto& d : e->documents)
      if (d.aggregateKey)
        return refuse(fmt::format("entry {} of job {} is booked in job entry {} (§2.4 mode 3): it fails only with "
                                  "it (mark_aggregate_failed)",
                                  accounting_entry_id, job_id, *d.aggregateKey));
    bool found = !document.has_value();
    for (const auto& d : e->documents) {
      if (document && d.externalKey == *document) {
        found = true;
        continue;
      }
      if (d.state == State::posting)
        return refuse(fmt::format("document {} of entry {} is uncertain (posting): look it up in the ERP and mark it "
                                  "posted or failed before failing the entry",
                                  d.externalKey, accounting_entry_id));
    }
    if (!found) return refuse(fmt::format("entry {} of job {} has no document {}", accounting_entry_id, job_id, *document));
    const std::string now = impl_->now();
    // The refused document, and every document never sent, carry the failure; posted ones stay
    // posted (an AP invoice posted before its payment was refused is still in the ERP).
    auto q = impl_->db.prepare(
        "UPDATE documents SET state = 'failed', failure_type = ?3, failure_message = ?4, updated_at = ?5 "
        "WHERE job_id = ?1 AND accounting_entry_id = ?2 AND (state = 'decided' OR external_key = ?6) "
        "AND state <> 'posted'");
    q->bind(1, job_id).bind(2, accounting_entry_id).bind(3, failure.type).bind(4, failure.message).bind(5, now);
    if (document)
      q->bind(6, *document);
    else
      q->bind_null(6);
    q->run();
    auto up = impl_->db.prepare(
        "UPDATE entries SET state = 'failed', failure_type = ?3, failure_message = ?4, updated_at = ?5 "
        "WHERE job_id = ?1 AND accounting_entry_id = ?2");
    up->bind(1, job_id).bind(2, accounting_entry_id).bind(3, failure.type).bind(4, failure.message).bind(5, now).run();
    return {};
  });
}

Status Ledger::mark_reported(std::string_view job_id, std::string_view accounting_entry_id, std::string_view status,
                             std::optional<std::string_view> external_id) {
  return impl_->write("mark reported", [&]() -> Status {
    if (status != "successful" && status != "failed")
      return refuse(fmt::format("status {} is not a final item status (successful or failed)", status));
    const auto e = impl_->load_entry(job_id, accounting_entry_id, true);
    if (!e) return refuse(fmt::format("no entry {} in job {}", accounting_entry_id, job_id));
    if (e->state == State::reported) {
      if (e->reportedStatus == status) return {};
      return refuse(fmt::format("entry {} of job {} was already reported as {}; Pleo takes one final status",
                                accounting_entry_id, job_id, e->reportedStatus.value_or("?")));
    }
    const bool ok = e->documents.empty() ? (e->state == State::decided || e->state == State::failed)
                                         : (status == "successful" ? e->state == State::posted : e->state == State::failed);
    if (!ok)
      return refuse(fmt::format("entry {} of job {} is {}; reporting {} needs {}", accounting_entry_id, job_id,
                                to_string(e->state), status, status == "successful" ? "posted" : "failed"));
    auto q = impl_->db.prepare(
        "UPDATE entries SET state = 'reported', reported_status = ?3, reported_external_id = ?4, reported_at = ?5, "
        "updated_at = ?5 WHERE job_id = ?1 AND accounting_entry_id = ?2");
    q->bind(1, job_id).bind(2, accounting_entry_id).bind(3, status);
    if (external_id)
      q->bind(4, *external_id);
    else
      q->bind_null(4);
    q->bind(5, impl_->now()).run();
    return {};
  });
}

// --- one entry per export job (§2.4 mode 3) ----------------------------------------------------

Status Ledger::record_aggregate(std::string_view job_id, const posting::Document& aggregate,
                                const std::vector<std::string>& members) {
  const std::string json = posting::document_json(aggregate);
  const std::string hash = posting::document_hash(aggregate);
  const std::string_view key = aggregate.externalKey;
  return impl_->write("record job entry", [&]() -> Status {
    auto& db = impl_->db;
    if (aggregate.kind != posting::DocumentKind::journal_entry)
      return refuse(fmt::format("{}: only a journal entry can book a job's entries (§2.4 mode 3), not a(n) {}", key,
                                posting::to_string(aggregate.kind)));
    if (key.empty()) return refuse("a job entry needs an external key");
    if (members.empty()) return refuse(fmt::format("job entry {} of job {} has no members", key, job_id));
    {
      auto q = db.prepare("SELECT 1 FROM jobs WHERE job_id = ?1");
      q->bind(1, job_id);
      if (!q->step()) return refuse(fmt::format("job {} is not recorded (record_job first)", job_id));
    }
    const std::string now = impl_->now();
    if (auto existing = impl_->load_aggregate(job_id, key)) {
      std::vector<std::string> had = existing->members, want = members;
      std::sort(had.begin(), had.end());
      std::sort(want.begin(), want.end());
      if (existing->documentHash == hash && had == want) return {};  // a resumed job recording it again
      if (existing->attempts > 0 || existing->externalId)
        return refuse(fmt::format("job entry {} of job {} was already sent to the ERP ({}); its document and members "
                                  "cannot change (hash {} recorded)",
                                  key, job_id, to_string(existing->state), existing->documentHash));
      // Never sent: the new decision replaces the old, and the old members are free again.
      auto free = db.prepare("UPDATE documents SET aggregate_key = NULL WHERE job_id = ?1 AND aggregate_key = ?2");
      free->bind(1, job_id).bind(2, key).run();
      auto del = db.prepare("DELETE FROM aggregates WHERE job_id = ?1 AND external_key = ?2");
      del->bind(1, job_id).bind(2, key).run();
    }
    std::vector<std::string> seen;
    for (const auto& id : members) {
      if (std::find(seen.begin(), seen.end(), id) != seen.end())
        return refuse(fmt::format("job entry {}: entry {} is named twice", key, id));
      seen.push_back(id);
      const auto e = impl_->load_entry(job_id, id, true);
      if (!e) return refuse(fmt::format("job entry {}: no entry {} in job {}", key, id, job_id));
      if (e->state != State::decided)
        return refuse(fmt::format("entry {} of job {} is {}; only a decided entry can be booked in job entry {}", id,
                                  job_id, to_string(e->state), key));
      if (e->documents.empty())
        return refuse(fmt::format("entry {} of job {} has no documents to book in job entry {}", id, job_id, key));
      for (const auto& d : e->documents) {
        if (d.kind != posting::to_string(posting::DocumentKind::journal_entry))
          return refuse(fmt::format("entry {} of job {}: document {} is a(n) {}; only journal entries are booked in "
                                    "job entry {} (AP documents stay one per item)",
                                    id, job_id, d.externalKey, d.kind, key));
        if (d.aggregateKey && *d.aggregateKey != key)
          return refuse(fmt::format("entry {} of job {} is already booked in job entry {}", id, job_id, *d.aggregateKey));
        if (d.attempts > 0 || d.externalId)
          return refuse(fmt::format("entry {} of job {}: document {} was already sent to the ERP on its own", id,
                                    job_id, d.externalKey));
        auto doc = posting::parse_document_json(d.documentJson);
        if (!doc) return refuse(fmt::format("entry {} of job {}: document {} is unreadable", id, job_id, d.externalKey));
        if (doc->currency != aggregate.currency)
          return refuse(fmt::format("entry {} of job {}: document {} is in {} but job entry {} is in {}", id, job_id,
                                    d.externalKey, doc->currency, key, aggregate.currency));
      }
    }
    auto ins = db.prepare(
        "INSERT INTO aggregates (job_id, external_key, currency, document_json, document_hash, state, decided_at, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'decided', ?6, ?6)");
    ins->bind(1, job_id).bind(2, key).bind(3, aggregate.currency).bind(4, json).bind(5, hash).bind(6, now).run();
    for (const auto& id : members) {
      auto link = db.prepare(
          "UPDATE documents SET aggregate_key = ?3, updated_at = ?4 WHERE job_id = ?1 AND accounting_entry_id = ?2");
      link->bind(1, job_id).bind(2, id).bind(3, key).bind(4, now).run();
    }
    return {};
  });
}

Status Ledger::mark_aggregate_posting(std::string_view job_id, std::string_view external_key) {
  return impl_->write("mark job entry posting", [&]() -> Status {
    const auto a = impl_->load_aggregate(job_id, external_key);
    if (!a) return refuse(fmt::format("no job entry {} in job {}", external_key, job_id));
    if (a->state == State::posted)
      return refuse(fmt::format("job entry {} of job {} is already posted as {}", external_key, job_id,
                                a->externalId.value_or("?")));
    for (const auto& id : a->members) {
      const auto e = impl_->load_entry(job_id, id, false);
      if (e && e->state == State::reported)
        return refuse(fmt::format("entry {} of job {} is already reported; not posting job entry {} again", id, job_id,
                                  external_key));
    }
    const std::string now = impl_->now();
    auto q = impl_->db.prepare(
        "UPDATE aggregates SET state = 'posting', attempts = attempts + 1, posting_at = ?3, failure_type = NULL, "
        "failure_message = NULL, updated_at = ?3 WHERE job_id = ?1 AND external_key = ?2");
    q->bind(1, job_id).bind(2, external_key).bind(3, now).run();
    auto docs = impl_->db.prepare(
        "UPDATE documents SET state = 'posting', attempts = attempts + 1, posting_at = ?3, failure_type = NULL, "
        "failure_message = NULL, updated_at = ?3 WHERE job_id = ?1 AND aggregate_key = ?2");
    docs->bind(1, job_id).bind(2, external_key).bind(3, now).run();
    for (const auto& id : a->members) impl_->refresh_entry_state(job_id, id);
    return {};
  });
}

Status Ledger::mark_aggregate_posted(std::string_view job_id, std::string_view external_key,
                                     std::string_view external_id, std::string_view url, PostedBy by) {
  return impl_->write("mark job entry posted", [&]() -> Status {
    if (external_id.empty())
      return refuse(fmt::format("job entry {}: the ERP's external id is empty", external_key));
    if (by != PostedBy::sink && by != PostedBy::lookup)
      return refuse(fmt::format("job entry {}: posted by {}; a job entry is posted by the sink or found by lookup",
                                external_key, to_string(by)));
    const auto a = impl_->load_aggregate(job_id, external_key);
    if (!a) return refuse(fmt::format("no job entry {} in job {}", external_key, job_id));
    if (a->state == State::posted) {
      if (a->externalId == external_id) return {};
      return refuse(fmt::format("job entry {} of job {} is already posted as {}, not {}", external_key, job_id,
                                a->externalId.value_or("?"), external_id));
    }
    const bool allowed = a->state == State::posting || (by == PostedBy::lookup && a->state == State::decided);
    if (!allowed)
      return refuse(fmt::format("job entry {} of job {} is {}; posted by {} needs {}", external_key, job_id,
                                to_string(a->state), to_string(by),
                                by == PostedBy::sink ? "posting (mark_aggregate_posting before the ERP call)"
                                                     : "decided or posting"));
    const std::string now = impl_->now();
    auto q = impl_->db.prepare(
        "UPDATE aggregates SET state = 'posted', external_id = ?3, url = ?4, posted_by = ?5, posted_at = ?6, "
        "updated_at = ?6 WHERE job_id = ?1 AND external_key = ?2");
    q->bind(1, job_id).bind(2, external_key).bind(3, external_id);
    if (url.empty())
      q->bind_null(4);
    else
      q->bind(4, url);
    q->bind(5, to_string(by)).bind(6, now).run();
    auto docs = impl_->db.prepare(
        "UPDATE documents SET state = 'posted', external_id = ?3, url = ?4, posted_by = 'aggregate', posted_at = ?5, "
        "updated_at = ?5 WHERE job_id = ?1 AND aggregate_key = ?2");
    docs->bind(1, job_id).bind(2, external_key).bind(3, external_id);
    if (url.empty())
      docs->bind_null(4);
    else
      docs->bind(4, url);
    docs->bind(5, now).run();
    for (const auto& id : a->members) impl_->refresh_entry_state(job_id, id);
    return {};
  });
}

Status Ledger::mark_aggregate_failed(std::string_view job_id, std::string_view external_key, const Failure& failure) {
  return impl_->write("mark job entry failed", [&]() -> Status {
    if (failure.type.empty()) return refuse("a failure needs a failureReasonType");
    const auto a = impl_->load_aggregate(job_id, external_key);
    if (!a) return refuse(fmt::format("no job entry {} in job {}", external_key, job_id));
    if (a->state == State::posted)
      return refuse(fmt::format("job entry {} of job {} is already posted as {}", external_key, job_id,
                                a->externalId.value_or("?")));
    for (const auto& id : a->members) {
      const auto e = impl_->load_entry(job_id, id, false);
      if (e && e->state == State::reported)
        return refuse(fmt::format("entry {} of job {} is already reported as {}", id, job_id,
                                  e->reportedStatus.value_or("?")));
    }
    const std::string now = impl_->now();
    auto q = impl_->db.prepare(
        "UPDATE aggregates SET state = 'failed', failure_type = ?3, failure_message = ?4, updated_at = ?5 "
        "WHERE job_id = ?1 AND external_key = ?2");
    q->bind(1, job_id).bind(2, external_key).bind(3, failure.type).bind(4, failure.message).bind(5, now).run();
    auto docs = impl_->db.prepare(
        "UPDATE documents SET state = 'failed', failure_type = ?3, failure_message = ?4, updated_at = ?5 "
        "WHERE job_id = ?1 AND aggregate_key = ?2");
    docs->bind(1, job_id).bind(2, external_key).bind(3, failure.type).bind(4, failure.message).bind(5, now).run();
    for (const auto& id : a->members) {
      auto up = impl_->db.prepare(
          "UPDATE entries SET state = 'failed', failure_type = ?3, failure_message = ?4, updated_at = ?5 "
          "WHERE job_id = ?1 AND accounting_entry_id = ?2");
      up->bind(1, job_id).bind(2, id).bind(3, failure.type).bind(4, failure.message).bind(5, now).run();
    }
    return {};
  });
}

Result<std::optional<AggregateRecord>> Ledger::aggregate(std::string_view job_id, std::string_view external_key) const {
  return impl_->read<std::optional<AggregateRecord>>("read job entry", [&] {
    return impl_->load_aggregate(job_id, external_key);
  });
}

Result<std::vector<AggregateRecord>> Ledger::aggregates(std::string_view job_id, std::optional<State> state) const {
  return impl_->read<std::vector<AggregateRecord>>("list job entries", [&] {
    static const std::string sql = fmt::format(
        "SELECT {} FROM aggregates WHERE job_id = ?1 AND (?2 IS NULL OR state = ?2) ORDER BY rowid", kAggregateColumns);
    auto q = impl_->rdb().prepare(sql.c_str());
    q->bind(1, job_id);
    if (state)
      q->bind(2, to_string(*state));
    else
      q->bind_null(2);
    std::vector<AggregateRecord> out;
    while (q->step()) out.push_back(read_aggregate(*q));
    for (auto& a : out) a.members = impl_->load_members(a.jobId, a.externalKey);
    return out;
  });
}

Status Ledger::mark_attachment_uploaded(std::string_view job_id, std::string_view external_key,
                                        std::string_view attachment_key) {
  return impl_->write("mark attachment uploaded", [&]() -> Status {
    if (attachment_key.empty()) return refuse(fmt::format("document {}: empty attachment key", external_key));
    auto q = impl_->db.prepare(
        "INSERT INTO attachments (external_key, attachment_key, job_id, uploaded_at) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (external_key, attachment_key) DO NOTHING");
    q->bind(1, external_key).bind(2, attachment_key).bind(3, job_id).bind(4, impl_->now()).run();
    return {};
  });
}

// --- queries ---------------------------------------------------------------------------------

Result<std::optional<EntryRecord>> Ledger::entry(std::string_view job_id, std::string_view accounting_entry_id) const {
  return impl_->read<std::optional<EntryRecord>>("read entry", [&] {
    return impl_->load_entry(job_id, accounting_entry_id, true);
  });
}

Result<std::vector<EntryRecord>> Ledger::entries(std::string_view job_id, std::optional<State> state) const {
  return impl_->read<std::vector<EntryRecord>>("list entries", [&] {
    auto q = impl_->rdb().prepare(
        "SELECT job_id, accounting_entry_id, state, outcome_json, failure_type, failure_message, reported_status, "
        "reported_external_id, decided_at, reported_at, updated_at FROM entries "
        "WHERE job_id = ?1 AND (?2 IS NULL OR state = ?2) ORDER BY seq");
    q->bind(1, job_id);
    if (state)
      q->bind(2, to_string(*state));
    else
      q->bind_null(2);
    std::vector<EntryRecord> out;
    while (q->step()) out.push_back(Impl::read_entry(*q));
    for (auto& e : out) e.documents = impl_->load_documents(e.jobId, e.accountingEntryId);
    return out;
  });
}

Result<std::vector<DocumentRecord>> Ledger::uncertain(std::string_view job_id) const {
  return impl_->read<std::vector<DocumentRecord>>("list uncertain documents", [&] {
    static const std::string sql = fmt::format(
        "SELECT {} FROM documents WHERE state = 'posting' AND aggregate_key IS NULL AND (?1 = '' OR job_id = ?1) "
        "ORDER BY posting_at, job_id, external_key",
        kDocumentColumns);
    auto q = impl_->rdb().prepare(sql.c_str());
    q->bind(1, job_id);
    std::vector<DocumentRecord> out;
    while (q->step()) out.push_back(read_document(*q));
    return out;
  });
}

Result<std::optional<PriorPosting>> Ledger::posted_in_earlier_job(std::string_view accounting_entry_id,
                                                                  std::string_view current_job) const {
  return impl_->read<std::optional<PriorPosting>>("find earlier posting", [&]() -> std::optional<PriorPosting> {
    std::string job;
    {
      // Only a job in which every document of the entry has an external id (§4.3.3: an AP
      // invoice posted without its payment is not the entry posted).
      auto q = impl_->rdb().prepare(
          "SELECT job_id FROM documents WHERE accounting_entry_id = ?1 AND job_id <> ?2 GROUP BY job_id "
          "HAVING COUNT(*) = COUNT(external_id) ORDER BY MAX(posted_at) DESC, MAX(rowid) DESC LIMIT 1");
      q->bind(1, accounting_entry_id).bind(2, current_job);
      if (!q->step()) return std::nullopt;
      job = q->text(0);
    }
    return PriorPosting{job, impl_->load_documents(job, accounting_entry_id)};
  });
}

Result<std::vector<DocumentRecord>> Ledger::earlier_posted_documents(std::string_view accounting_entry_id,
                                                                     std::string_view current_job) const {
  return impl_->read<std::vector<DocumentRecord>>("find earlier documents", [&] {
    static const std::string sql = fmt::format(
        "SELECT {} FROM documents WHERE accounting_entry_id = ?1 AND job_id <> ?2 AND external_id IS NOT NULL "
        "ORDER BY idx, external_key, posted_at DESC, rowid DESC",
        kDocumentColumns);
    auto q = impl_->rdb().prepare(sql.c_str());
    q->bind(1, accounting_entry_id).bind(2, current_job);
    std::vector<DocumentRecord> out;
    while (q->step()) {
      DocumentRecord d = read_document(*q);
      // The newest per key comes first.
      const bool seen = std::any_of(out.begin(), out.end(), [&](const DocumentRecord& o) { return o.externalKey == d.externalKey; });
      if (!seen) out.push_back(std::move(d));
    }
    return out;
  });
}

Result<std::vector<DocumentRecord>> Ledger::uncertain_of_entry(std::string_view accounting_entry_id,
                                                               std::string_view current_job) const {
  return impl_->read<std::vector<DocumentRecord>>("list uncertain documents of an entry", [&] {
    static const std::string sql = fmt::format(
        "SELECT {} FROM documents WHERE state = 'posting' AND accounting_entry_id = ?1 AND job_id <> ?2 "
        "ORDER BY posting_at, job_id, external_key",
        kDocumentColumns);
    auto q = impl_->rdb().prepare(sql.c_str());
    q->bind(1, accounting_entry_id).bind(2, current_job);
    std::vector<DocumentRecord> out;
    while (q->step()) out.push_back(read_document(*q));
    return out;
  });
}

Result<std::vector<std::string>> Ledger::attachments_done(std::string_view external_key) const {
  return impl_->read<std::vector<std::string>>("list attachments", [&] {
    auto q = impl_->rdb().prepare(
        "SELECT attachment_key FROM attachments WHERE external_key = ?1 ORDER BY attachment_key");
    q->bind(1, external_key);
    std::vector<std::string> out;
    while (q->step()) out.push_back(q->text(0));
    return out;
  });
}

}  // namespace lb::ledger
