// GLUE TSV reading on small files made here: header-named columns, the BOM, quotes kept as text, unlabelled
// test files, and each malformed row named by file and line.
#include "data/glue.h"

#include <gtest/gtest.h>

#include "tests/data/data_files.h"
#include "tests/reference.h"

namespace qn::data {
namespace {

using testing::ScratchDir;

TEST(GlueTsv, ReadsColumnsByHeaderName) {
  ScratchDir dir("glue");
  const std::string mrpc =
      dir.write("mrpc.tsv",
                "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t7\t8\tHe said \"yes\".\tHe agreed.\n"
                "0\t9\t10\tA\tB\r\n");
  const std::vector<GlueExample> rows = read_glue_tsv(mrpc, glue_task("mrpc"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].sentence1, "He said \"yes\".");  // quotes are text
  EXPECT_EQ(rows[0].sentence2, "He agreed.");
  EXPECT_EQ(rows[0].label, 1);
  EXPECT_EQ(rows[1].sentence2, "B");  // CRLF tolerated
  EXPECT_EQ(rows[1].label, 0);
  EXPECT_EQ(rows[1].line, 3);

  const std::string test = dir.write("test.tsv", "index\tsentence1\tsentence2\n0\tx\ty\n");
  const std::vector<GlueExample> unlabelled = read_glue_tsv(test, glue_task("rte"));
  ASSERT_EQ(unlabelled.size(), 1u);
  EXPECT_EQ(unlabelled[0].label, -1);
  const std::vector<GlueExample> sst =
      read_glue_tsv(dir.write("sst.tsv", "sentence\tlabel\ngood film\t1\n"), glue_task("sst2"));
  EXPECT_EQ(sst[0].sentence1, "good film");
  EXPECT_TRUE(sst[0].sentence2.empty());
  EXPECT_EQ(glue_task("mnli").label_id("neutral"), 2);
}

TEST(GlueTsv, MalformedRowsAreNamed) {
  ScratchDir dir("glue_bad");
  const GlueTask& rte = glue_task("rte");
  EXPECT_QN_ERROR(read_glue_tsv(dir.write("fields.tsv",
                                          "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n"
                                          "1\ta\tb\n"),
                                rte),
                  "glue", "fields.tsv' line 3 has 3 tab-separated fields; the header has 4");
  EXPECT_QN_ERROR(read_glue_tsv(dir.write("label.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tmaybe\n"), rte),
                  "glue", "label.tsv' line 2: unknown rte label \"maybe\"");
  EXPECT_QN_ERROR(read_glue_tsv(dir.write("header.tsv", "id\ttext\tlabel\n"), rte), "glue",
                  "lacks the rte columns \"sentence1\" and \"sentence2\"");
  EXPECT_QN_ERROR(read_glue_tsv(dir.write("empty.tsv", ""), rte), "glue", "is empty");
  EXPECT_QN_ERROR(read_glue_tsv(dir.path("missing.tsv"), rte), "glue", "cannot open");
  EXPECT_QN_ERROR(glue_task("cola"), "glue", "mnli, rte, qnli, mrpc, sst2");
}

}  // namespace
}  // namespace qn::data
