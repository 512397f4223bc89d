// The README's table of options structs lists every public `struct ...Options` with its fields
// in declared order (the order designated initializers need), and the inline forms the issue
// tracker found ambiguous compile and mean what they say.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "kerosene/kerosene.h"
#include "nn/layer.h"

namespace kerosene {
namespace {

std::string read(const std::string& relative) {
  std::ifstream in(std::string(KEROSENE_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

/// Each top-level `struct NameOptions { ... };` of a header: its fields in order.
std::map<std::string, std::string> options_structs(const std::string& header) {
  std::map<std::string, std::string> out;
  const std::string text = read("include/kerosene/" + header);
  const std::regex block(R"(\nstruct (\w+Options) \{([\s\S]*?)\n\};)");
  // A declaration: its type, then one or more declarators ("a = 1", "b{}", "c = {2, 2}").
  const std::regex declaration(R"(^\s*([\w:]+(<[^;]*>)?)\s+([^;()]*);\s*$)");
  const std::regex declarator(R"((^|,)\s*(\w+)\s*(=\s*(\{[^}]*\}|[^,{]+)|\{[^}]*\})?)");
  for (std::sregex_iterator it(text.begin(), text.end(), block), end; it != end; ++it) {
    std::vector<std::string> fields;
    std::stringstream body((*it)[2].str());
    for (std::string line; std::getline(body, line);) {
      line = line.substr(0, line.find("//"));
      std::smatch m;
      if (!std::regex_match(line, m, declaration)) continue;
      const std::string names = m[3];
      for (std::sregex_iterator d(names.begin(), names.end(), declarator), none; d != none; ++d) {
        fields.push_back((*d)[2]);
      }
    }
    out[(*it)[1]] = join(fields);
  }
  return out;
}

TEST(ReadmeOptionsTable, ListsEveryOptionsStructWithItsFieldsInOrder) {
  std::map<std::string, std::string> table;
  const std::string readme = read("README.md");
  const std::regex row(R"(\n\| `(\w+Options)` \| `([\w.]+)` \| ([^|]*) \|)");
  for (std::sregex_iterator it(readme.begin(), readme.end(), row), end; it != end; ++it) table[(*it)[1]] = (*it)[3];
  size_t structs = 0;
  for (const char* header : {"layers.h", "model.h", "optimizers.h"}) {
    for (const auto& [name, fields] : options_structs(header)) {
      ++structs;
      ASSERT_TRUE(table.count(name)) << name << " (" << header << ") is missing from README.md's options table (python3 scripts/options_table.py rewrites it)";
      EXPECT_EQ(table[name], fields) << "README.md's row for " << name << " differs from " << header << " (python3 scripts/options_table.py rewrites it)";
    }
  }
  EXPECT_EQ(table.size(), structs) << "README.md's options table lists a struct the headers do not have";
  EXPECT_GE(structs, 10u);
}

TEST(ReadmeOptionsTable, OptionsWrittenInlineCompileAndMeanWhatTheySay) {
  Layer dense = layers::Dense(10, {.activation = "softmax", .use_bias = false});
  Layer conv = layers::Conv2D(32, 3, {.padding = "same"});
  Layer conv_relu = layers::Conv2D(8, {3, 3}, "relu");
  Layer dense_relu = layers::Dense(4, std::string("relu"));
  Sequential model({layers::Input({8, 8, 1}), conv, conv_relu, layers::Flatten(), dense_relu, dense});
  model.compile(optimizers::SGD(), {.loss = {"sparse_categorical_crossentropy"}});
  EXPECT_EQ(conv.impl()->output_shape(), Shape({8, 8, 32}));  // "same" padding
  EXPECT_EQ(conv_relu.impl()->output_shape(), Shape({6, 6, 8}));
  EXPECT_EQ(dense.impl()->count_params(), 40);  // no bias
  EXPECT_EQ(dense.impl()->activation(), backends::ActivationKind::softmax);
  EXPECT_EQ(dense_relu.impl()->activation(), backends::ActivationKind::relu);
}

}  // namespace
}  // namespace kerosene
