/* test_csv.c - the RFC 4180 record reader the trainers and tools/calibrate share
 * (route_csv_record, src/cli/train.c): quoted fields with commas, doubled quotes and
 * newlines, CRLF and LF line ends, Unicode text, extra fields dropped, a last line without
 * its line end. */
#include "cli/train.h"
#include "test.h"

static void reads_quoted_records(void)
{
    const char *text = "question1,question2,is_duplicate\r\n"
                       "\"How do I reset my password, quickly?\",\"I forgot my “password” — help 🙏\",1\r\n"
                       "\"What is \"\"latency\"\"?\",\"line one\nline two\",0\n"
                       "a,b,c,d,e\n"
                       "Où est la gare?,駅はどこですか,1";
    const char *p = text, *end = text + strlen(text);
    const char *want[][3] = {
        {"question1", "question2", "is_duplicate"},
        {"How do I reset my password, quickly?", "I forgot my “password” — help 🙏", "1"},
        {"What is \"latency\"?", "line one\nline two", "0"},
        {"a", "b", "c"},
        {"Où est la gare?", "駅はどこですか", "1"},
    };
    for (size_t r = 0; r < sizeof want / sizeof *want; r++) {
        char *f[3] = {0};
        int n = route_csv_record(&p, end, f, 3);
        CHECK_EQ_INT(n, 3);
        for (int i = 0; i < 3 && i < n; i++) CHECK_STR(f[i], want[r][i]);
        for (int i = 0; i < n; i++) free(f[i]);
    }
    char *f[3] = {0};
    CHECK_EQ_INT(route_csv_record(&p, end, f, 3), 0);
    CHECK(p == end, "the reader stopped %zu bytes before the end", (size_t)(end - p));
}

int main(void)
{
    RUN(reads_quoted_records);
    TEST_MAIN_END();
}
