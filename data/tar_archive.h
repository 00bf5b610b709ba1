// Reading tar archives (plain or gzipped: zlib reads both through one call) into memory: the regular files
// whose names a filter keeps, their bytes in one buffer. POSIX ustar and GNU tar, with GNU long names ('L')
// and pax 'path' records; directories, links and other entries are passed over. The archive is untrusted:
// every header's checksum and octal fields are checked, sizes are bounded before anything is allocated, and a
// truncated archive is an error naming the file and the member.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qn::data {

struct TarMember {
  std::string name;  // as stored, "./" prefixes removed
  uint64_t offset = 0;
  uint64_t size = 0;
};

class TarArchive {
 public:
  // keep(name) decides which regular files are kept; null keeps all.
  static TarArchive read(const std::string& path, const std::function<bool(std::string_view)>& keep = nullptr);

  const std::vector<TarMember>& members() const { return members_; }
  std::span<const uint8_t> bytes(const TarMember& member) const {
    return {bytes_.data() + member.offset, static_cast<size_t>(member.size)};
  }

 private:
  std::vector<TarMember> members_;
  std::vector<uint8_t> bytes_;
};

// Largest member accepted.
inline constexpr uint64_t kMaxTarMemberBytes = uint64_t{1} << 32;
// Largest long name or pax header accepted.
inline constexpr uint64_t kMaxTarMetadataBytes = uint64_t{1} << 20;

}  // namespace qn::data
