#include "commands.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>

#include <mithril/format.h>
#include <mithril/version.h>

#include "command_support.h"
#include "framework_commands.h"
#include "store_commands.h"

namespace mithril::cli {
namespace {

// One line for a CLI11 parse error: "unknown command 'x'", "unknown option
// '--x'", or CLI11's own text (missing argument, bad value) flattened.
std::string usage_message(const CLI::App& app, const CLI::ParseError& e) {
  std::string text = e.what();
  std::replace(text.begin(), text.end(), '\n', ' ');
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && text.find(": ") != std::string::npos) {
    // "The following argument(s) was/were not expected: WORD ...": name the first.
    std::string word = text.substr(text.find(": ") + 2);
    word = word.substr(0, word.find(' '));
    const char* what = word.starts_with("-")            ? "unknown option '"
                       : app.get_subcommands().empty() ? "unknown command '"
                                                       : "unexpected argument '";
    return detail::concat(what, word, "'; see mithril --help");
  }
  if (!text.empty()) text.front() = static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
  return text;
}

// Parses argv into `a` and `c`. nullopt to go on; an exit code when parsing
// ended the run: 0 after --help or --version (printed to stdout), 2 after a
// usage error (one line on stderr).
std::optional<int> parse_args(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    detail::print_to(stderr, "mithril: error: %s\n", usage_message(app, e).c_str());
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace

int run_cli(int argc, char** argv) {
  // Named here so help texts say `mithril`, not argv[0]'s full path.
  CLI::App app{"mithril: a bounded, verified, portable cache for compiled ML artifacts", "mithril"};
  app.require_subcommand(0, 1);  // 0 so an unknown word is reported by name
  app.fallthrough();
  app.set_version_flag("--version", std::string("mithril ") + kVersion);
  Args a;
  app.add_option("--root", a.g.root, "cache root (default: $MITHRIL_ROOT or ~/.cache/mithril)");
  app.add_option("--max-size", a.g.max_size, "size budget, e.g. 500M, 20G, 1.5T");
  app.add_option("--set", a.g.sets, "override a config key: --set compression=true");
  Commands c{};
  add_store_commands(app, a, c);
  add_framework_commands(app, a, c);
  add_key_commands(app, a, c);
  if (auto rc = parse_args(app, argc, argv)) return *rc;
  try {
    if (auto rc = dispatch_store(c, a)) return *rc;
    if (auto rc = dispatch_frameworks(c, a)) return *rc;
    throw CommandError{"no command given; run `mithril --help` for the list", kExitUsage};
  } catch (const CommandError& e) {
    (void)std::fflush(stdout);  // before the error, in order
    detail::print_to(stderr, "mithril: error: %s\n", e.message.c_str());
    return e.code;
  } catch (const std::exception& e) {
    detail::print_to(stderr, "mithril: error: %s\n", e.what());
    return kExitError;
  }
}

}  // namespace mithril::cli