#pragma once
// The JSON-lines sink: appends each posted document as one line of canonical JSON
// (posting::write_document_json) to a file and fsyncs it before answering, so an answered post
// is on disk. For pipelines that pick documents up from a file, and for inspecting what the
// engine would post without an ERP.
//
// - external id: "<file name>:<line number>" (line numbers never change: the file only grows);
// - lookup: an index of externalKey -> line built when the file is opened, kept in memory;
// - a line cut short by a crash (no final newline) was never answered, so it is cut off on
//   open (with a warning) and the ledger's `posting` state makes the workflow post it again;
// - attachments: written next to the file, <attachments dir>/<external id>/<key>, by
//   write-to-temporary + fsync + rename; a key already there is not written again (§2.8);
// - directory: from a directory file or CSV folder (model::load_directory), or empty.
// It checks only the document invariants (posting::check_invariants); it has no chart of
// accounts to validate against. One writer process per file.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "erp/sink.hpp"

namespace lb::erp {

struct JsonlSinkOptions {
  std::string path;                // the JSON-lines file; created when missing
  std::string directory{};         // directory file or CSV folder for the rules; empty = none
  std::string attachments_dir{};   // default: <path>.attachments
  Capabilities capabilities{};
};

class JsonlSink final : public Sink {
 public:
  static Result<std::unique_ptr<JsonlSink>> open(JsonlSinkOptions options);
  ~JsonlSink() override;

  std::string_view name() const override { return "jsonl"; }
  Capabilities capabilities() const override { return options_.capabilities; }
  SinkResult<Posted> post(const posting::Document& document) override;
  SinkResult<std::optional<Posted>> lookup(std::string_view external_key) override;
  SinkResult<std::monostate> upload_attachment(const Posted& document, const posting::Attachment& attachment,
                                               std::string_view bytes) override;
  const model::Directory& directory() const override { return directory_; }
  SinkResult<std::monostate> check() override;

  // Documents in the file (for tests and summaries).
  size_t size() const;

 private:
  JsonlSink() = default;
  Posted posted(size_t line) const;

  JsonlSinkOptions options_;
  std::string file_name_;
  int fd_ = -1;
  mutable std::mutex mu_;
  size_t lines_ = 0;
  int64_t bytes_ = 0;
  std::map<std::string, size_t, std::less<>> index_;  // externalKey -> 1-based line
  model::MemoryDirectory directory_;
};

}  // namespace lb::erp
