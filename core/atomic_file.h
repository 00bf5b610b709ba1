// Writing a file so that a crash never leaves a half-written one: the bytes go to a temporary file in
// the same folder, are flushed to disk, and the temporary is renamed over the destination.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

namespace qn {

// Calls write(file) on a temporary file, then publishes it at path. Throws qn::Error (and removes the
// temporary) if anything fails, including a write() that throws. For crash tests, the environment variable
// QN_FAULT_KILL_IN_WRITE=n makes the process kill itself (SIGKILL) inside its n-th such write.
void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& write);

// A process killed inside write_file_atomically leaves its temporary behind (".<name>.tmp.XXXXXX"): removes
// those of files in folder whose names start with prefix, and returns how many. For a program resuming a
// killed run; not while another process may be writing such a file.
int remove_unfinished_writes(const std::string& folder, const std::string& prefix);

// Drops an unfinished last line (no final newline) from a text file that a killed process was appending
// to, so that appending goes on at a line's start. Returns whether it dropped one.
bool drop_unfinished_last_line(const std::string& path);

// fwrite that throws qn::Error naming path on a short write.
void write_bytes(std::FILE* file, const void* data, size_t nbytes, const std::string& path);

}  // namespace qn
