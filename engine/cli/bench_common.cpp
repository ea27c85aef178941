// The shared part of `ledgerbridge bench` (bench_common.hpp): measuring, running a step in a
// child process, formatting. Only the fork and pipe plumbing is private to this file.
#include "cli/bench_common.hpp"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace lb::cli::bench {
namespace {

double seconds_of(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

void write_all(int fd, const std::string& text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double cpu_seconds(const rusage& ru) { return seconds_of(ru.ru_utime) + seconds_of(ru.ru_stime); }
double max_rss_mb(const rusage& ru) { return static_cast<double>(ru.ru_maxrss) / 1024.0; }

rusage self_usage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru;
}

std::string grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

ChildResult in_child_with_input(const std::function<json()>& make_input, const std::function<json(const json&)>& fn) {
  ChildResult result;
  int out[2];
  int in[2];
  if (pipe(out) != 0) {
    result.report = {{"error", fmt::format("pipe: {}", std::strerror(errno))}};
    return result;
  }
  if (pipe(in) != 0) {
    close(out[0]);
    close(out[1]);
    result.report = {{"error", fmt::format("pipe: {}", std::strerror(errno))}};
    return result;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out[0], out[1], in[0], in[1]}) close(fd);
    result.report = {{"error", fmt::format("fork: {}", std::strerror(errno))}};
    return result;
  }
  if (pid == 0) {
    close(out[0]);
    close(in[1]);
    const std::string input_text = read_all(in[0]);
    close(in[0]);
    std::string text;
    try {
      const json input = json::parse(input_text.empty() ? std::string("null") : input_text);
      text = input.is_object() && input.contains("error") ? input.dump() : fn(input).dump();
    } catch (const std::exception& e) {
      text = json{{"error", e.what()}}.dump();
    }
    write_all(out[1], text);
    close(out[1]);
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(0);
  }
  close(out[1]);
  close(in[0]);
  json input;
  try {
    input = make_input();
  } catch (const std::exception& e) {
    input = {{"error", e.what()}};
  }
  write_all(in[1], input.dump());
  close(in[1]);
  const std::string text = read_all(out[0]);
  close(out[0]);
  int status = 0;
  while (wait4(pid, &status, 0, &result.usage) < 0 && errno == EINTR) {
  }
  result.exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!result.exited_ok) {
    result.report = {{"error", WIFSIGNALED(status) ? fmt::format("the child process died of signal {}", WTERMSIG(status))
                                                   : fmt::format("the child process exited with {}", WEXITSTATUS(status))}};
  } else if (!json::accept(text)) {
    result.exited_ok = false;
    result.report = {{"error", "the child process sent no report"}};
  } else {
    result.report = json::parse(text);
  }
  return result;
}

ChildResult in_child(const std::function<json()>& fn) {
  return in_child_with_input([] { return json(); }, [&](const json&) { return fn(); });
}

fs::path make_temp_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = (fs::path(tmp && *tmp ? tmp : "/tmp") / "ledgerbridge-bench-XXXXXX").string();
  if (!mkdtemp(pattern.data())) {
    fmt::print(stderr, "error: cannot create a temporary directory: {}\n", std::strerror(errno));
    return {};
  }
  return pattern;
}

}  // namespace lb::cli::bench
