#include "commands.h"

int main(int argc, char** argv) { return mithril::cli::run_cli(argc, argv); }
