#pragma once

namespace kerosene::runtime {

/// Threads one op may use: the user's setting, else the number of cores.
int intra_op_threads();

}  // namespace kerosene::runtime
