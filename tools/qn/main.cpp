// qn: the one command-line entry point. Errors print one line and exit non-zero.
#include <cstdio>
#include <exception>

#include "core/allocator.h"
#include "core/error.h"
#include "tools/qn/blas_core.h"
#include "tools/qn/commands.h"

int main(int argc, char** argv) {
  qn::tools::choose_blas_core(argv);  // may run qn again with OPENBLAS_CORETYPE set (tools/qn/blas_core.h)
  qn::keep_freed_heap_memory();
  CLI::App app{"quantnoise: training with quantization noise, iPQ and int8/int4 compression", "qn"};
  app.set_version_flag("--version", QN_VERSION);
  app.require_subcommand(1);
  qn::tools::add_info_command(app);
  qn::tools::add_size_command(app);
  qn::tools::add_forward_command(app);
  qn::tools::add_convert_command(app);
  qn::tools::add_preprocess_command(app);
  qn::tools::add_train_command(app);
  qn::tools::add_eval_command(app);
  qn::tools::add_compress_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, as every other error: CLI11's own exit() adds a second.
    std::fprintf(stderr, "qn: error: %s (--help lists the options)\n", e.what());
    return e.get_exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qn: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
