// Writing a file so that a crash never leaves a half-written one: the bytes go to a temporary file in
// the same folder, are flushed to disk, and the temporary is renamed over the destination.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

namespace qn {

// Calls write(file) on a temporary file, then publishes it at path. Throws qn::Error (and removes the
// temporary) if anything fails, including a write() that throws.
void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& write);

// fwrite that throws qn::Error naming path on a short write.
void write_bytes(std::FILE* file, const void* data, size_t nbytes, const std::string& path);

}  // namespace qn
