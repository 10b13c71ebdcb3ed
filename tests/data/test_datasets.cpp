// The data set readers (data/datasets.h, data/text_file.h): every annotation format, captions
// grouped per image, paths kept inside the images root, and every malformed case named by file,
// line (or JSON entry) and reason. Fixtures are written to a temporary directory by each test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/datasets.h"
#include "data/text_file.h"
#include "tests/common/expect_error.h"

namespace mm::data {
namespace {

namespace fs = std::filesystem;

class Datasets : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("mmalign_ds_" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  }
};

TEST_F(Datasets, CaptionsCsvWithQuotingGroupsByImage) {
  const std::string p = write("captions.csv",
                              "\xEF\xBB\xBF" "filename,caption\r\n"
                              "a.jpg,a dog\r\n"
                              "b.jpg,\"a cat, sleeping\"\r\n"
                              "a.jpg,\"a dog \"\"running\"\"\nfast\"\r\n"
                              "\r\n"
                              "c/d.png,caf\xC3\xA9\r\n");
  DatasetIndex d = read_dataset("csv", p);
  ASSERT_EQ(d.images.size(), 3u);
  EXPECT_EQ(d.images[0].file, "a.jpg");
  ASSERT_EQ(d.images[0].captions.size(), 2u);
  EXPECT_EQ(d.images[0].captions[1], "a dog \"running\"\nfast");
  EXPECT_EQ(d.images[1].captions[0], "a cat, sleeping");
  EXPECT_EQ(d.images[2].captions[0], "caf\xC3\xA9");
  EXPECT_EQ(d.images[2].line, 7);  // the quoted newline counts
  EXPECT_EQ(d.num_captions(), 4);
  EXPECT_EQ(d.images_root, (dir / "images").string());
  EXPECT_EQ(d.image_path(2), (dir / "images" / "c/d.png").string());
}

TEST_F(Datasets, CsvErrorsNameFileLineAndReason) {
  auto err = [&](const std::string& body, std::string_view a, std::string_view b = "", std::string_view c = "") {
    const std::string p = write("bad.csv", body);
    EXPECT_ERROR_CONTAINS(read_dataset("csv", p), ErrorKind::Value, p, a, b, c) << body;
  };
  err("filename,caption\na.jpg,\"never closed\n", ":2:", "unterminated");
  err("filename,caption\na.jpg,say \"hi\"\n", ":2:", "quote inside an unquoted field");
  err("filename,caption\na.jpg,\"x\"y\n", ":2:", "after a closing quote");
  err("filename,caption\na.jpg,a dog, running\n", ":2:", "3 fields", "header has 2");
  err("file,text\na.jpg,x\n", ":1:", "no 'filename' column");
  err("filename,caption\n/etc/passwd,x\n", ":2:", "absolute");
  err("filename,caption\n../x.jpg,x\n", ":2:", "'..'");
  err("filename,caption\nimages/../../x.jpg,x\n", ":2:", "'..'");
  err("filename,caption\na.jpg,bad \xC3\x28 byte\n", ":2:", "invalid UTF-8", "byte 4");
  err("filename,caption\n", "no images");
  err("", "empty file");
  EXPECT_ERROR_CONTAINS(read_dataset("csv", (dir / "missing.csv").string()), ErrorKind::Runtime, "missing.csv",
                        "cannot open");
}

TEST_F(Datasets, Flickr8kCaptionsTxtKeepsCommasInCaptions) {
  const std::string p = write("captions.txt",
                              "image,caption\n1.jpg,A child in pink , climbing stairs .\n1.jpg,A girl going into a "
                              "building .\n2.jpg,\"A dog, quoted\"\n");
  DatasetIndex d = read_dataset("flickr8k", p);
  ASSERT_EQ(d.images.size(), 2u);
  EXPECT_EQ(d.images[0].captions[0], "A child in pink , climbing stairs .");
  EXPECT_EQ(d.images[1].captions[0], "A dog, quoted");
  EXPECT_ERROR_CONTAINS(read_dataset("flickr8k", write("t2.txt", "img,cap\n1.jpg,x\n")), ErrorKind::Value, ":1:",
                        "header `image,caption`");
  EXPECT_ERROR_CONTAINS(read_dataset("flickr8k", write("t3.txt", "image,caption\n1.jpg x\n")), ErrorKind::Value,
                        "t3.txt:2:", "expected `image,caption`");
}

TEST_F(Datasets, CocoJsonAndItsErrors) {
  const std::string p = write("captions_val.json", R"({"images": [{"id": 7, "file_name": "x.jpg"}, {"id": 9, "file_name": "y.jpg"}, {"id": 11, "file_name": "z.jpg"}],
 "annotations": [{"image_id": 9, "caption": "two"}, {"image_id": 7, "caption": "one"}, {"image_id": 9, "caption": "three"}]})");
  DatasetIndex d = read_dataset("coco", p);
  ASSERT_EQ(d.images.size(), 2u);  // z.jpg has no caption
  EXPECT_EQ(d.images[1].file, "y.jpg");
  EXPECT_EQ(d.images[1].captions, (std::vector<std::string>{"two", "three"}));
  EXPECT_EQ(d.images_root, dir.string());
  EXPECT_ERROR_CONTAINS(read_dataset("coco", write("c2.json", R"({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 2, "caption": "x"}]})")),
                        ErrorKind::Value, "annotations[0]", "unknown image_id 2");
  EXPECT_ERROR_CONTAINS(read_dataset("coco", write("c3.json", "{\"images\": [\n  {\"id\": 1,, }]}")), ErrorKind::Value,
                        "c3.json:2:", "invalid JSON");
  EXPECT_ERROR_CONTAINS(read_dataset("coco", write("c4.json", R"({"images": [{"id": "1", "file_name": "a.jpg"}], "annotations": []})")),
                        ErrorKind::Value, "images[0]", "'id' has the wrong type");
  EXPECT_ERROR_CONTAINS(read_dataset("coco", write("c5.json", R"({"images": []})")), ErrorKind::Value,
                        "missing field 'annotations'");
}

TEST_F(Datasets, KarpathySplitsWithRestvalInTrain) {
  const std::string p = write("dataset_coco.json", R"({"dataset": "coco", "images": [
    {"filepath": "val2014", "filename": "a.jpg", "split": "train", "sentences": [{"raw": "A."}, {"raw": "B."}]},
    {"filepath": "val2014", "filename": "b.jpg", "split": "restval", "sentences": [{"raw": "C."}]},
    {"filepath": "val2014", "filename": "c.jpg", "split": "test", "sentences": [{"raw": "D."}]}]})");
  EXPECT_EQ(read_dataset("karpathy", p).images.size(), 3u);
  DatasetIndex train = read_dataset("karpathy", p, "", "train");
  ASSERT_EQ(train.images.size(), 2u);
  EXPECT_EQ(train.images[0].file, "val2014/a.jpg");
  DatasetIndex test = read_dataset("karpathy", p, "/data/coco", "test");
  ASSERT_EQ(test.images.size(), 1u);
  EXPECT_EQ(test.image_path(0), "/data/coco/val2014/c.jpg");
  EXPECT_ERROR_CONTAINS(read_dataset("karpathy", p, "", "dev"), ErrorKind::Value, "no entries of split 'dev'");
}

TEST_F(Datasets, PedesIdentityLabels) {
  const std::string p = write("reid_raw.json", R"([
    {"split": "train", "captions": ["A woman in a red coat.", "She wears a red coat."], "file_path": "CUHK01/0363004.png", "processed_tokens": [], "id": 1},
    {"split": "test", "captions": ["A man."], "file_path": "test_query/p1.jpg", "id": 12}])");
  DatasetIndex d = read_dataset("pedes", p, "", "train");
  ASSERT_EQ(d.images.size(), 1u);
  EXPECT_EQ(d.images[0].label, 1);
  EXPECT_EQ(d.images[0].captions.size(), 2u);
  EXPECT_ERROR_CONTAINS(read_dataset("pedes", write("r2.json", R"([{"split": "train", "captions": [], "file_path": "a.png", "id": 1}])")),
                        ErrorKind::Value, "[0]", "no captions");
  EXPECT_ERROR_CONTAINS(read_dataset("csv", p, "", "train"), ErrorKind::Value, "has no split field");
}

TEST_F(Datasets, OpenClipTsv) {
  const std::string p = write("train.tsv", "title\tfilepath\textra\na red car\tcars/1.jpg\tq\na, \"quoted\" bus\tbus.jpg\tr\n");
  DatasetIndex d = read_dataset("tsv", p);
  ASSERT_EQ(d.images.size(), 2u);
  EXPECT_EQ(d.images[1].captions[0], "a, \"quoted\" bus");
  EXPECT_ERROR_CONTAINS(read_dataset("tsv", write("t2.tsv", "title\tfilepath\nx\n")), ErrorKind::Value, "t2.tsv:2:",
                        "1 tab-separated columns");
  EXPECT_ERROR_CONTAINS(read_dataset("tsv", write("t3.tsv", "caption\tpath\n")), ErrorKind::Value, "no 'filepath' column");
  EXPECT_ERROR_CONTAINS(read_dataset("parquet", p), ErrorKind::Value, "unknown data set format 'parquet'");
}

TEST(Utf8, ValidAndInvalidSequences) {
  EXPECT_EQ(invalid_utf8_offset("plain"), -1);
  EXPECT_EQ(invalid_utf8_offset("\xE4\xB8\xAD\xF0\x9F\x98\x80"), -1);  // 中 😀
  EXPECT_EQ(invalid_utf8_offset("ab\x80"), 2);                          // stray continuation byte
  EXPECT_EQ(invalid_utf8_offset("\xC0\xAF"), 0);                        // overlong '/'
  EXPECT_EQ(invalid_utf8_offset("x\xED\xA0\x80"), 1);                   // a surrogate
  EXPECT_EQ(invalid_utf8_offset("\xF4\x90\x80\x80"), 0);                // above U+10FFFF
  EXPECT_EQ(invalid_utf8_offset("ok\xE4\xB8"), 2);                      // truncated
}

}  // namespace
}  // namespace mm::data
