// The `mithril` command line. run_cli() never throws and never lets an
// exception escape: every failure is one line on stderr and an exit code
// (0 ok, 1 runtime error or miss, 2 usage error).
#pragma once

namespace mithril::cli {

int run_cli(int argc, char** argv);

}  // namespace mithril::cli
