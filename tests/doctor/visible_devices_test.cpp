// CUDA_VISIBLE_DEVICES read as CUDA reads it, against a synthetic machine of four GPUs (two of
// whose UUIDs share a prefix, one in MIG mode), and against a machine whose GPUs are unknown.
#include "doctor/visible_devices.h"

#include <gtest/gtest.h>

#include "cli_util.h"

namespace kerosene::doctor {
namespace {

const std::vector<GpuIdentity> kMachine = {
    {"GPU-8d5a1c2e-0000-1111-2222-333344445555", {}},
    {"GPU-8d5b9f00-aaaa-bbbb-cccc-ddddeeeeffff", {}},  // shares "GPU-8d5" with GPU 0
    {"GPU-1f2e3d4c-1234-5678-9abc-def012345678", {"MIG-0a1b2c3d-1111-2222-3333-444455556666"}},
    {"GPU-77aa88bb-9999-8888-7777-666655554444", {}},
};

VisibleDevices parse(const std::optional<std::string>& value) { return parse_visible_devices(value, kMachine); }

std::vector<int> visible_gpus(const VisibleDevices& v) {
  std::vector<int> out;
  for (const VisibleEntry& e : v.visible) out.push_back(e.gpu);
  return out;
}

TEST(VisibleDevicesTest, UnsetShowsEveryGpu) {
  const VisibleDevices v = parse(std::nullopt);
  EXPECT_FALSE(v.is_set);
  EXPECT_FALSE(v.hides_all());
  EXPECT_EQ(visible_gpus(v), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE(v.hidden.empty());
  KEROSENE_EXPECT_CONTAINS(v.message, "not set");
}

TEST(VisibleDevicesTest, SetButEmptyHidesEveryGpu) {
  const VisibleDevices v = parse("");
  EXPECT_TRUE(v.hides_all());
  EXPECT_EQ(v.hidden, (std::vector<int>{0, 1, 2, 3}));
  KEROSENE_EXPECT_CONTAINS(v.message, "hides every GPU");
  KEROSENE_EXPECT_CONTAINS(v.message, "set but empty");
}

TEST(VisibleDevicesTest, IndicesSelectInTheOrderGiven) {
  const VisibleDevices v = parse("2,0");
  EXPECT_EQ(visible_gpus(v), (std::vector<int>{2, 0}));  // CUDA device 0 is physical GPU 2
  EXPECT_EQ(v.hidden, (std::vector<int>{1, 3}));
  EXPECT_TRUE(v.stopped_at.empty());
  KEROSENE_EXPECT_CONTAINS(v.message, "selects GPU 2, GPU 0; hides GPU 1, GPU 3");
}

TEST(VisibleDevicesTest, SpacesAroundEntriesAreIgnored) {
  EXPECT_EQ(visible_gpus(parse(" 1 , 3")), (std::vector<int>{1, 3}));
}

TEST(VisibleDevicesTest, MinusOneHidesEveryGpu) {
  const VisibleDevices v = parse("-1");
  EXPECT_TRUE(v.hides_all());
  EXPECT_EQ(v.stopped_at, "-1");
  KEROSENE_EXPECT_CONTAINS(v.stop_reason, "negative index");
}

TEST(VisibleDevicesTest, AnIndexOutOfRangeStopsTheList) {
  const VisibleDevices v = parse("1,7,0");
  EXPECT_EQ(visible_gpus(v), (std::vector<int>{1}));
  EXPECT_EQ(v.stopped_at, "7");
  EXPECT_EQ(v.dropped, (std::vector<std::string>{"0"}));
  KEROSENE_EXPECT_CONTAINS(v.stop_reason, "there is no GPU 7: the machine has 4 GPUs (indices 0-3)");
  KEROSENE_EXPECT_CONTAINS(v.message, "ignores what follows (\"0\")");
}

TEST(VisibleDevicesTest, AUniqueUuidPrefixSelectsItsGpu) {
  const VisibleDevices v = parse("GPU-1f2e,GPU-77");
  EXPECT_EQ(visible_gpus(v), (std::vector<int>{2, 3}));
  KEROSENE_EXPECT_CONTAINS(v.message, "GPU 2 (GPU-1f2e)");
}

TEST(VisibleDevicesTest, AnAmbiguousUuidPrefixStopsTheList) {
  const VisibleDevices v = parse("3,GPU-8d5,2");
  EXPECT_EQ(visible_gpus(v), (std::vector<int>{3}));
  EXPECT_EQ(v.stopped_at, "GPU-8d5");
  KEROSENE_EXPECT_CONTAINS(v.stop_reason, "matches several GPUs (GPU 0, GPU 1)");
  EXPECT_EQ(visible_gpus(parse("GPU-8d5b")), (std::vector<int>{1}));  // one more digit decides
}

TEST(VisibleDevicesTest, AUuidThatMatchesNothingHidesWhatFollows) {
  const VisibleDevices v = parse("GPU-deadbeef,0");
  EXPECT_TRUE(v.hides_all());
  KEROSENE_EXPECT_CONTAINS(v.stop_reason, "matches no GPU's UUID");
}

TEST(VisibleDevicesTest, AMigNameSelectsItsInstance) {
  const VisibleDevices v = parse("MIG-0a1b2c3d-1111-2222-3333-444455556666");
  ASSERT_EQ(v.visible.size(), 1u);
  EXPECT_EQ(v.visible[0].gpu, 2);
  EXPECT_EQ(v.visible[0].mig_uuid, "MIG-0a1b2c3d-1111-2222-3333-444455556666");
  EXPECT_EQ(v.hidden, (std::vector<int>{0, 1, 3}));
  EXPECT_TRUE(parse("MIG-ffff").hides_all());
}

TEST(VisibleDevicesTest, ADuplicateStopsTheList) {
  VisibleDevices v = parse("0,1,0,3");
  EXPECT_EQ(visible_gpus(v), (std::vector<int>{0, 1}));
  EXPECT_EQ(v.stopped_at, "0");
  KEROSENE_EXPECT_CONTAINS(v.stop_reason, "GPU 0 is already listed");
  // The same GPU by index and by UUID is a duplicate too.
  v = parse("2,GPU-1f2e");
  EXPECT_EQ(visible_gpus(v), (std::vector<int>{2}));
  EXPECT_EQ(v.stopped_at, "GPU-1f2e");
}

TEST(VisibleDevicesTest, JunkAfterValidEntriesIsDroppedWithEverythingAfterIt) {
  for (const char* value : {"0,1,abc,2", "0,1,,2", "0,1,1x,2", "0,1,gpu-8d5a,2"}) {
    const VisibleDevices v = parse(value);
    EXPECT_EQ(visible_gpus(v), (std::vector<int>{0, 1})) << value;
    EXPECT_EQ(v.dropped, (std::vector<std::string>{"2"})) << value;
    EXPECT_EQ(v.hidden, (std::vector<int>{2, 3})) << value;
  }
  KEROSENE_EXPECT_CONTAINS(parse("0,abc").stop_reason, "not a GPU index, a GPU-<uuid> prefix or a MIG-<uuid> name");
}

TEST(VisibleDevicesTest, AHugeIndexIsInvalidNotAnOverflow) {
  const VisibleDevices v = parse("99999999999999999999");
  EXPECT_TRUE(v.hides_all());
}

TEST(VisibleDevicesTest, WithoutTheGpuListOnlyTheTextIsJudged) {
  const std::optional<std::vector<GpuIdentity>> unknown;
  VisibleDevices v = parse_visible_devices("0,GPU-deadbeef,3", unknown);
  EXPECT_FALSE(v.gpus_known);
  EXPECT_FALSE(v.hides_all());
  ASSERT_EQ(v.visible.size(), 3u);
  EXPECT_EQ(v.visible[0].gpu, -1);  // unknown which physical GPU
  EXPECT_TRUE(v.hidden.empty());
  KEROSENE_EXPECT_CONTAINS(v.message, "selects index 0, GPU-deadbeef, index 3");

  EXPECT_TRUE(parse_visible_devices("-1", unknown).hides_all());
  EXPECT_TRUE(parse_visible_devices("", unknown).hides_all());
  EXPECT_TRUE(parse_visible_devices("none", unknown).hides_all());
  v = parse_visible_devices("1,1", unknown);
  EXPECT_EQ(v.visible.size(), 1u);
  EXPECT_EQ(v.stopped_at, "1");
}

TEST(VisibleDevicesTest, AMachineWithoutGpusHasNothingToSelect) {
  const VisibleDevices v = parse_visible_devices("0", std::vector<GpuIdentity>{});
  EXPECT_TRUE(v.hides_all());
  KEROSENE_EXPECT_CONTAINS(v.stop_reason, "there is no GPU 0: the machine has 0 GPUs");
}

}  // namespace
}  // namespace kerosene::doctor
