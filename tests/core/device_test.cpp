// Device::parse: every spelling TensorFlow users write, and clear errors for the rest.
#include <gtest/gtest.h>

#include <string>

#include "kerosene/device.h"
#include "kerosene/error.h"

namespace kerosene {
namespace {

TEST(DeviceTest, ParsesShortForms) {
  for (const char* spec : {"/CPU:0", "CPU:0", "cpu:0", "/device:CPU:0", "CPU", "/cpu"}) {
    Device d = Device::parse(spec);
    EXPECT_TRUE(d.is_cpu()) << spec;
    EXPECT_EQ(d.index(), 0) << spec;
    EXPECT_EQ(d.task(), 0) << spec;
  }
  Device gpu1 = Device::parse("/GPU:1");
  EXPECT_TRUE(gpu1.is_gpu());
  EXPECT_EQ(gpu1.index(), 1);
  EXPECT_EQ(Device::parse("/device:GPU:1"), gpu1);
  EXPECT_EQ(Device::parse("gpu:1"), gpu1);
  EXPECT_EQ(Device::parse("GPU"), Device(DeviceType::GPU, 0));
  EXPECT_EQ(Device::parse("CPU:3").index(), 3);
}

TEST(DeviceTest, ParsesTheFullForm) {
  Device d = Device::parse("/job:worker/replica:0/task:1/device:GPU:0");
  EXPECT_TRUE(d.is_gpu());
  EXPECT_EQ(d.index(), 0);
  EXPECT_EQ(d.task(), 1);
  EXPECT_EQ(d.full_name(), "/job:worker/replica:0/task:1/device:GPU:0");
  EXPECT_NE(d, Device(DeviceType::GPU, 0));  // another task's GPU:0 is another device
}

TEST(DeviceTest, Names) {
  EXPECT_EQ(Device(DeviceType::GPU, 2).to_string(), "/GPU:2");
  EXPECT_EQ(Device().to_string(), "/CPU:0");
  EXPECT_EQ(Device().full_name(), "/job:localhost/replica:0/task:0/device:CPU:0");
  EXPECT_EQ(device_type_name(DeviceType::CPU), "CPU");
  EXPECT_EQ(device_type_name(DeviceType::GPU), "GPU");
}

TEST(DeviceTest, RejectsBadSpecsNamingTheAcceptedForms) {
  for (const char* spec : {"", "/TPU:0", "CPU:-1", "CPU:x", "CPU:0:1", "/CPU:0/GPU:0", "/job:w/task:z/device:CPU:0"}) {
    try {
      Device::parse(spec);
      ADD_FAILURE() << "\"" << spec << "\" was accepted";
    } catch (const ValueError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("\"" + std::string(spec) + "\""), std::string::npos) << message;
      for (const char* form : {"/CPU:0", "/GPU:1", "/device:GPU:1", "/job:worker/replica:0/task:1/device:GPU:0"}) {
        EXPECT_NE(message.find(form), std::string::npos) << "the message does not mention " << form << ":\n" << message;
      }
    }
  }
}

}  // namespace
}  // namespace kerosene
