// Validators for the command line, with kerosene's own wording: CLI11's built-in ranges print
// their bounds as "0.000000 to 1797693134862315708145...", which no user can read.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

namespace kerosene::cli {

/// A number greater than 0 ("expected a number greater than 0, got -1").
const CLI::Validator& positive();

/// A whole number of at least 0 ("expected a whole number of 0 or more, got -5").
const CLI::Validator& non_negative_integer();

/// A number from `low` to `high`, both included ("expected a number from 0 to 0.99, got 2").
CLI::Validator number_between(double low, double high);

/// One of `values` ("expected one of mlp, cnn, got resnet").
CLI::Validator one_of(const std::vector<std::string>& values);

/// Parses --class-weight's "CLASS:WEIGHT,..." ("0:1,1:2.5") into `out`; returns "" or what is
/// wrong ("expected CLASS:WEIGHT pairs such as 0:1.0,1:2.5; \"1=2\" has no ':'").
std::string parse_class_weight(const std::string& text, std::map<int, float>& out);

/// Text parse_class_weight accepts.
const CLI::Validator& class_weight_list();

/// Parses `argv` into `app`. Help prints and returns 0; a bad command line prints
/// "kerosene: error: <what>" and the subcommand's usage hint to stderr and returns 2 (a usage
/// error, as for most Unix tools). Returns -1 when parsing succeeded.
int parse_command_line(CLI::App& app, int argc, char** argv);

}  // namespace kerosene::cli
