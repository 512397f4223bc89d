// How the CUDA plugin tries cuDNN's algorithms (src/backends/cuda/algorithm_choice.h: pure
// logic, no cuDNN): unsupported ones skipped for good, out-of-memory ones tried again later,
// a misuse an error in strict mode, and a fallback logged once per reason (issue 9, defect 5).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "backends/cuda/algorithm_choice.h"

namespace kerosene::backends::cuda_impl {
namespace {

// Scripted outcomes per algorithm; records the order of attempts.
struct Script {
  std::map<int, AlgoOutcome> outcome;
  std::vector<int> tried = {};
  AlgoOutcome operator()(int algo, std::string& why) {
    tried.push_back(algo);
    const AlgoOutcome o = outcome.count(algo) ? outcome[algo] : AlgoOutcome::ran;
    if (o != AlgoOutcome::ran) why = "scripted " + std::to_string(static_cast<int>(o));
    return o;
  }
};

TEST(AlgorithmChoiceTest, AnAlgorithmSkippedForMemoryIsTriedAgainLater) {
  AlgorithmChoice choice;
  choice.rank({7, 1, 0});
  Script script{{{7, AlgoOutcome::no_memory}}};
  EXPECT_EQ(choice.choose(script, false).algo, 1);
  // Memory came back: the best algorithm must not be lost for the life of the process (the old
  // code kept its place past it forever once a later one ran).
  script.outcome[7] = AlgoOutcome::ran;
  int first_retry = -1;
  for (int call = 1; call <= AlgorithmChoice::kRetryAfterCalls + 1; ++call) {
    script.tried.clear();
    if (choice.choose(script, false).algo == 7) {
      first_retry = call;
      break;
    }
    EXPECT_EQ(script.tried, std::vector<int>{1}) << "a recent out-of-memory skip is not retried on every call";
  }
  EXPECT_EQ(first_retry, AlgorithmChoice::kRetryAfterCalls);
}

TEST(AlgorithmChoiceTest, UnsupportedIsSkippedForGoodAndTheFallbackLoggedOnce) {
  AlgorithmChoice choice;
  choice.rank({3, 4});
  Script script{{{3, AlgoOutcome::not_supported}, {4, AlgoOutcome::not_supported}}};
  const AlgoResult first = choice.choose(script, false);
  EXPECT_EQ(first.algo, -1);
  EXPECT_FALSE(first.error);
  EXPECT_NE(first.reason.find("algorithm 4: scripted"), std::string::npos) << first.reason;
  EXPECT_TRUE(choice.first_fallback(first.reason));
  script.tried.clear();
  const AlgoResult again = choice.choose(script, false);
  EXPECT_TRUE(script.tried.empty()) << "unsupported algorithms are not tried again";
  EXPECT_EQ(again.reason, first.reason) << "the reason is kept, so the log is not repeated";
  EXPECT_FALSE(choice.first_fallback(again.reason));
}

TEST(AlgorithmChoiceTest, MisuseIsAnErrorInStrictModeAndALoggedFallbackOtherwise) {
  AlgorithmChoice strict_choice, lenient_choice;
  strict_choice.rank({2, 5});
  lenient_choice.rank({2, 5});
  Script strict_script{{{2, AlgoOutcome::misuse}}}, lenient_script{{{2, AlgoOutcome::misuse}}};
  const AlgoResult strict = strict_choice.choose(strict_script, true);
  EXPECT_TRUE(strict.error);
  EXPECT_EQ(strict.algo, -1);
  EXPECT_EQ(strict_script.tried, std::vector<int>{2}) << "a misuse stops the search in strict mode";
  const AlgoResult lenient = lenient_choice.choose(lenient_script, false);
  EXPECT_FALSE(lenient.error);
  EXPECT_EQ(lenient.algo, 5);
}

TEST(AlgorithmChoiceTest, AFailureStopsTheSearchAndIsReported) {
  AlgorithmChoice choice;
  choice.rank({1, 2});
  Script script{{{1, AlgoOutcome::failed}}};
  const AlgoResult result = choice.choose(script, false);
  EXPECT_TRUE(result.error);
  EXPECT_EQ(script.tried, std::vector<int>{1});
}

TEST(AlgorithmChoiceTest, NoCandidateSaysSo) {
  AlgorithmChoice choice;
  choice.rank({});
  Script script;
  const AlgoResult result = choice.choose(script, false);
  EXPECT_EQ(result.algo, -1);
  EXPECT_EQ(result.reason, "cuDNN offers no algorithm");
}

}  // namespace
}  // namespace kerosene::backends::cuda_impl
