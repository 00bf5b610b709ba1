#include "core/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "core/error.h"

namespace qn {

void write_bytes(std::FILE* file, const void* data, size_t nbytes, const std::string& path) {
  if (nbytes == 0) return;
  QN_CHECK(std::fwrite(data, 1, nbytes, file) == nbytes, "write", "short write to '", path,
           "': ", std::strerror(errno));
}

namespace {

// Fault injection for the crash tests (tests/reliability): with QN_FAULT_KILL_IN_WRITE=n, the process sends
// itself SIGKILL in its n-th atomic write, after the bytes and before they are flushed and published.
void kill_if_fault_injected() {
  static const long target = [] {
    const char* env = std::getenv("QN_FAULT_KILL_IN_WRITE");
    return env != nullptr ? std::strtol(env, nullptr, 10) : 0L;
  }();
  static std::atomic<long> writes{0};
  if (target > 0 && ++writes == target) std::raise(SIGKILL);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& write) {
  const std::filesystem::path target(path);
  const std::filesystem::path folder = target.has_parent_path() ? target.parent_path() : ".";
  std::string temp_name = ".";
  temp_name.append(target.filename().string()).append(".tmp.XXXXXX");
  std::string temp = (folder / temp_name).string();
  const int fd = mkstemp(temp.data());
  QN_CHECK(fd >= 0, "write", "cannot create a temporary file next to '", path, "': ", std::strerror(errno));
  // mkstemp makes the file 0600; give it what a plain fopen would (0666 less the umask).
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  std::FILE* file = fdopen(fd, "wb");
  if (file == nullptr) {
    close(fd);
    std::remove(temp.c_str());
    throw_error("write", detail::concat("cannot open '", temp, "': ", std::strerror(errno)));
  }
  try {
    write(file);
    kill_if_fault_injected();
    QN_CHECK(std::fflush(file) == 0 && fsync(fileno(file)) == 0, "write", "cannot flush '", path,
             "': ", std::strerror(errno));
  } catch (...) {
    std::fclose(file);
    std::remove(temp.c_str());
    throw;
  }
  const bool closed = std::fclose(file) == 0;
  if (!closed || std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temp.c_str());
    throw_error("write", detail::concat("cannot publish '", path, "': ", reason));
  }
}

namespace {
constexpr const char* kTemporarySuffix = ".tmp.";
}  // namespace

int remove_unfinished_writes(const std::string& folder, const std::string& prefix) {
  int removed = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("." + prefix) && name.find(kTemporarySuffix) != std::string::npos &&
        std::filesystem::remove(entry.path(), error)) {
      ++removed;
    }
  }
  return removed;
}

bool drop_unfinished_last_line(const std::string& path) {
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error || size == 0) return false;
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  QN_CHECK(file != nullptr, "read", "cannot open '", path, "': ", std::strerror(errno));
  // Back from the end, a block at a time, to the last newline; the file's start when it has none.
  uintmax_t keep = 0;
  std::vector<char> block(4096);
  for (uintmax_t end = size; end > 0;) {
    const uintmax_t begin = end > block.size() ? end - block.size() : 0;
    const size_t n = static_cast<size_t>(end - begin);
    QN_CHECK(std::fseek(file.get(), static_cast<long>(begin), SEEK_SET) == 0 &&
                 std::fread(block.data(), 1, n, file.get()) == n,
             "read", "cannot read '", path, "': ", std::strerror(errno));
    if (end == size && block[n - 1] == '\n') return false;  // the last line is whole
    const auto newline = std::find(block.rbegin() + static_cast<std::ptrdiff_t>(block.size() - n), block.rend(), '\n');
    if (newline != block.rend()) {
      keep = begin + static_cast<uintmax_t>(block.rend() - newline);
      break;
    }
    end = begin;
  }
  std::filesystem::resize_file(path, keep, error);
  QN_CHECK(!error, "write", "cannot truncate '", path, "': ", error.message());
  return true;
}

}  // namespace qn
