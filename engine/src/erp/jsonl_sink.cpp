#include "erp/jsonl_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

namespace lb::erp {

namespace {

namespace fs = std::filesystem;

SinkError error(ErrorKind kind, std::string message) { return SinkError{kind, std::move(message), std::nullopt}; }

// Writes all of `data` (write(2) may write less than asked), then fsyncs.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ::fsync(fd) == 0;
}

// File names from external ids and attachment keys ("e1/0"): anything outside [A-Za-z0-9._-]
// is %XX-encoded, so a key cannot climb out of the folder and two keys never share a name.
std::string file_name_of(std::string_view key) {
  std::string out;
  for (unsigned char c : key) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '_' || (c == '.' && !out.empty());
    if (plain)
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

JsonlSink::~JsonlSink() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<JsonlSink>> JsonlSink::open(JsonlSinkOptions options) {
  std::unique_ptr<JsonlSink> sink(new JsonlSink());
  if (options.path.empty()) return Error{"jsonl sink: no file given"};
  if (options.attachments_dir.empty()) options.attachments_dir = options.path + ".attachments";
  sink->options_ = std::move(options);
  const std::string& path = sink->options_.path;
  sink->file_name_ = fs::path(path).filename().string();

  if (!sink->options_.directory.empty()) {
    if (auto st = model::load_directory(sink->options_.directory, sink->directory_); !st)
      return Error{"jsonl sink: directory: " + st.message()};
  }

  sink->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (sink->fd_ < 0) return Error{fmt::format("jsonl sink {}: cannot open: {}", path, errno_text())};

  // Index what is there. The file is read once; documents are small.
  std::string content;
  {
    char buf[1 << 16];
    ssize_t n = 0;
    off_t offset = 0;
    while ((n = ::pread(sink->fd_, buf, sizeof buf, offset)) > 0) {
      content.append(buf, static_cast<size_t>(n));
      offset += n;
    }
    if (n < 0) return Error{fmt::format("jsonl sink {}: cannot read: {}", path, errno_text())};
  }
  size_t start = 0, line = 0;
  while (start < content.size()) {
    const size_t end = content.find('\n', start);
    if (end == std::string::npos) {
      // A torn write: never fsynced to the end, so never answered (see the header).
      spdlog::warn("jsonl sink {}: cutting off an incomplete last line ({} bytes) left by an interrupted write", path,
                   content.size() - start);
      if (::ftruncate(sink->fd_, static_cast<off_t>(start)) != 0 || ::fsync(sink->fd_) != 0)
        return Error{fmt::format("jsonl sink {}: cannot cut off the incomplete last line: {}", path, errno_text())};
      content.resize(start);
      break;
    }
    ++line;
    auto doc = posting::parse_document_json(std::string_view(content).substr(start, end - start));
    if (!doc) return Error{fmt::format("jsonl sink {}:{}: {}", path, line, doc.error().message)};
    if (!sink->index_.emplace(doc->externalKey, line).second)
      return Error{fmt::format("jsonl sink {}:{}: external key {} appears twice", path, line, doc->externalKey)};
    start = end + 1;
  }
  sink->lines_ = line;
  sink->bytes_ = static_cast<int64_t>(content.size());
  return sink;
}

Posted JsonlSink::posted(size_t line) const {
  return Posted{fmt::format("{}:{}", file_name_, line),
                fmt::format("file://{}#L{}", fs::absolute(options_.path).string(), line)};
}

size_t JsonlSink::size() const {
  std::lock_guard lock(mu_);
  return lines_;
}

SinkResult<Posted> JsonlSink::post(const posting::Document& document) {
  if (auto st = posting::check_invariants(document); !st)
    return error(ErrorKind::validation, "document refused: " + st.message());
  if (document.externalKey.empty()) return error(ErrorKind::validation, "document refused: no external key");
  std::string line;
  posting::write_document_json(document, line);
  line.push_back('\n');

  std::lock_guard lock(mu_);
  if (auto it = index_.find(document.externalKey); it != index_.end())
    return error(ErrorKind::conflict, fmt::format("document {} already exists as {}", document.externalKey,
                                                  posted(it->second).externalId));
  if (!write_all(fd_, line)) {
    const std::string why = errno_text();
    // Cut off whatever part was written, so the file stays whole lines; if even that fails,
    // the next open does it.
    if (::ftruncate(fd_, static_cast<off_t>(bytes_)) == 0) (void)::fsync(fd_);
    return error(ErrorKind::unreachable, fmt::format("jsonl sink {}: cannot append: {}", options_.path, why));
  }
  bytes_ += static_cast<int64_t>(line.size());
  ++lines_;
  index_.emplace(document.externalKey, lines_);
  return posted(lines_);
}

SinkResult<std::optional<Posted>> JsonlSink::lookup(std::string_view external_key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(external_key);
  if (it == index_.end()) return std::optional<Posted>{};
  return std::optional<Posted>(posted(it->second));
}

SinkResult<std::monostate> JsonlSink::upload_attachment(const Posted& document, const posting::Attachment& attachment,
                                                        std::string_view bytes) {
  if (attachment.key.empty()) return error(ErrorKind::attachment, "attachment refused: empty key");
  if (static_cast<int64_t>(bytes.size()) > options_.capabilities.max_attachment_bytes)
    return error(ErrorKind::attachment, fmt::format("attachment {} refused: {} bytes is over the limit of {}",
                                                    attachment.key, bytes.size(),
                                                    options_.capabilities.max_attachment_bytes));
  std::lock_guard lock(mu_);
  const fs::path folder = fs::path(options_.attachments_dir) / file_name_of(document.externalId);
  const fs::path target = folder / file_name_of(attachment.key);
  std::error_code ec;
  if (fs::exists(target, ec)) return std::monostate{};  // uploaded before: never twice
  fs::create_directories(folder, ec);
  if (ec)
    return error(ErrorKind::unreachable, fmt::format("jsonl sink: cannot create {}: {}", folder.string(), ec.message()));
  const fs::path temp = folder / (file_name_of(attachment.key) + ".partial");
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return error(ErrorKind::unreachable, fmt::format("jsonl sink: cannot write {}: {}", temp.string(), errno_text()));
  const bool written = write_all(fd, bytes);
  const std::string why = written ? std::string() : errno_text();
  ::close(fd);
  if (!written || ::rename(temp.c_str(), target.c_str()) != 0) {
    fs::remove(temp, ec);
    return error(ErrorKind::unreachable,
                 fmt::format("jsonl sink: cannot write {}: {}", target.string(), written ? errno_text() : why));
  }
  // The rename is durable once the folder is synced.
  if (const int dfd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return std::monostate{};
}

SinkResult<std::monostate> JsonlSink::check() {
  std::lock_guard lock(mu_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0)
    return error(ErrorKind::unreachable, fmt::format("jsonl sink {}: {}", options_.path, errno_text()));
  return std::monostate{};
}

}  // namespace lb::erp
