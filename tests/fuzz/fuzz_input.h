// What every fuzzer shares: the input as a file (most parsers read paths), the rule that bad bytes may only ever
// end in a qn::Error, and the hook that writes a fuzzer's engine-made seed files.
//
// A fuzzer is a libFuzzer target (LLVMFuzzerTestOneInput). Built with QN_FUZZ it links libFuzzer; otherwise
// replay_main.cpp runs it over files and folders given on the command line: its regression inputs and seeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "core/error.h"

namespace qn::fuzz {

// Writes the input to this process's scratch file (one per fuzzer and process, in /dev/shm when there is one)
// and returns its path. suffix becomes the file name's end, for parsers that look at it (".gz").
const std::string& input_file(std::span<const uint8_t> bytes, const std::string& suffix = "");

// Whether QN_FUZZ_VERBOSE is set: refusals are then printed, one line each (to see what a corpus exercises).
bool verbose();

// Runs parse: a qn::Error is the clear refusal every parser owes bad bytes and ends the input quietly; any other
// exception escapes, so that libFuzzer reports it as a finding.
template <class Parse>
void refuse_cleanly(Parse&& parse) {
  try {
    parse();
  } catch (const qn::Error& error) {
    if (verbose()) std::fprintf(stderr, "refused: %s\n", error.what());
  }
}

// A fuzzer's own LLVMFuzzerInitialize calls this first (fuzz_input.cpp's default does nothing else). When
// QN_FUZZ_WRITE_SEEDS names a folder, the fuzzer is only asked for the seeds the engine writes (checkpoints, compressed
// models, token files): write_seeds, when given, writes them there, and the process exits.
void answer_seed_request(void (*write_seeds)(const std::string& folder) = nullptr);

}  // namespace qn::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
