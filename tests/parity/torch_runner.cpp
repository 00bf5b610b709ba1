#include "tests/parity/torch_runner.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace qn::testing {

SafetensorsContent run_torch_reference(const std::string& mode, const nlohmann::json& spec,
                                       const std::vector<NamedTensor>& inputs) {
  namespace fs = std::filesystem;
  static std::atomic<int> calls{0};
  const fs::path dir =
      fs::temp_directory_path() / ("qn_torch_" + std::to_string(getpid()) + "_" + std::to_string(calls++));
  fs::create_directories(dir);
  const fs::path spec_path = dir / "spec.json", in = dir / "in.safetensors", out = dir / "out.safetensors";
  save_safetensors(in, inputs);
  std::string command = "/usr/bin/python3 '" QN_SOURCE_DIR "/tests/parity/torch_reference.py' " + mode;
  if (mode != "mlp") {
    std::ofstream(spec_path) << spec.dump(1);
    command += " '" + spec_path.string() + "'";
  }
  command += " '" + in.string() + "' '" + out.string() + "'";
  const int status = std::system(command.c_str());
  QN_CHECK(status == 0, "parity", "'", command, "' failed with status ", status,
           " (is python3-torch installed? tools/setup.sh --tests installs it)");
  SafetensorsContent results = load_safetensors(out);
  fs::remove_all(dir);
  return results;
}

}  // namespace qn::testing
