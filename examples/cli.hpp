// Command lines of the examples and the benchmark programs, on Boost.Program_options:
// every program gets --help (usage and options on stdout, exit 0), and a bad command line
// (unknown flag, missing or malformed value) gets "PROGRAM: what is wrong", the usage
// line on stderr and exit code 2, the convention of the shell's own tools.
#pragma once

#include <boost/program_options.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace braid_cli {

namespace po = boost::program_options;

// Reports a command line that parsed but makes no sense ("--size needs --connections"),
// the same way as a flag that did not parse.
[[noreturn]] inline void fail(const char* argv0, const std::string& usage, const std::string& why) {
  std::cerr << argv0 << ": " << why << "\nusage: " << argv0 << " " << usage
            << "\n(--help lists the options)\n";
  std::exit(2);
}

// Parses argv against `options` (plus --help) and the optional positional arguments.
// Long options only as spelled (no abbreviations), so a typo is an error, not a guess.
inline po::variables_map parse(int argc, char** argv, const std::string& usage,
                               const po::options_description& options,
                               const po::positional_options_description& positional = {}) {
  po::options_description all;
  all.add_options()("help,h", "show this help and exit");
  all.add(options);
  po::variables_map vm;
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  try {
    po::store(
        po::command_line_parser(argc, argv).options(all).positional(positional).style(style).run(),
        vm);
    if (vm.count("help") != 0) {
      std::cout << "usage: " << argv[0] << " " << usage << "\n\n" << all;
      std::exit(0);
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    fail(argv[0], usage, "unknown option: " + e.get_option_name());
  } catch (const po::error& e) {
    fail(argv[0], usage, e.what());
  }
  return vm;
}

}  // namespace braid_cli
