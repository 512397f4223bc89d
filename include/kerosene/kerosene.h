// kerosene: Keras-style deep learning in C++, with devices under explicit control.
// The umbrella header: everything a training program needs.
#pragma once

#include "kerosene/callbacks.h"
#include "kerosene/config.h"
#include "kerosene/datasets.h"
#include "kerosene/device.h"
#include "kerosene/device_scope.h"
#include "kerosene/distribute.h"
#include "kerosene/doctor.h"
#include "kerosene/dtype.h"
#include "kerosene/error.h"
#include "kerosene/io.h"
#include "kerosene/layers.h"
#include "kerosene/losses.h"
#include "kerosene/memory.h"
#include "kerosene/models.h"
#include "kerosene/optimizers.h"
#include "kerosene/model.h"
#include "kerosene/sequential.h"
#include "kerosene/shape.h"
#include "kerosene/tensor.h"
#include "kerosene/utils.h"
