#include "core/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace qn {

void write_bytes(std::FILE* file, const void* data, size_t nbytes, const std::string& path) {
  if (nbytes == 0) return;
  QN_CHECK(std::fwrite(data, 1, nbytes, file) == nbytes, "write", "short write to '", path,
           "': ", std::strerror(errno));
}

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

}  // namespace qn
