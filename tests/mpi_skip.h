// Multi-worker tests need a kerosene built with MPI (KEROSENE_WITH_MPI); in a build without it
// they skip and say why.
#pragma once

#include <gtest/gtest.h>

#include "kerosene_build_info.h"

#define KEROSENE_SKIP_WITHOUT_MPI()                                                             \
  do {                                                                                          \
    if (!KEROSENE_BUILT_WITH_MPI)                                                               \
      GTEST_SKIP() << "this kerosene has no MPI (" KEROSENE_BUILD_WITHOUT_MPI_REASON             \
                      "), so no multi-worker training; configure with -DKEROSENE_WITH_MPI=ON"; \
  } while (0)
