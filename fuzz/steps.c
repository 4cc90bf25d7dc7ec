/* steps.c - the step counter of the replay build (see fuzz.h).
 *
 * semrouter's sources are compiled with -fsanitize-coverage=trace-pc, so every
 * basic block they run calls __sanitizer_cov_trace_pc: one step. Calls from
 * them into the C library's scanning and copying functions are routed here by
 * the linker (-Wl,--wrap=NAME) and cost the bytes those functions look at, so a
 * loop that calls strstr from every position counts as the quadratic it is.
 * This file itself is compiled without the instrumentation. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

unsigned long long fuzz_steps;

void __sanitizer_cov_trace_pc(void);
void __sanitizer_cov_trace_pc(void) { fuzz_steps++; }

#define COST(n) (fuzz_steps += (unsigned long long)(n) + 1)

char *__real_strstr(const char *h, const char *n);
char *__real_strcasestr(const char *h, const char *n);
void *__real_memmem(const void *h, size_t hl, const void *n, size_t nl);
char *__real_strchr(const char *s, int c);
char *__real_strrchr(const char *s, int c);
void *__real_memchr(const void *s, int c, size_t n);
size_t __real_strlen(const char *s);
size_t __real_strnlen(const char *s, size_t n);
int __real_memcmp(const void *a, const void *b, size_t n);
int __real_strcmp(const char *a, const char *b);
int __real_strncmp(const char *a, const char *b, size_t n);
int __real_strcasecmp(const char *a, const char *b);
int __real_strncasecmp(const char *a, const char *b, size_t n);
void *__real_memcpy(void *d, const void *s, size_t n);
void *__real_memmove(void *d, const void *s, size_t n);
void *__real_memset(void *d, int c, size_t n);
size_t __real_strspn(const char *s, const char *a);
size_t __real_strcspn(const char *s, const char *r);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

/* the prototypes the wrappers are checked against */
char *__wrap_strstr(const char *h, const char *n);
char *__wrap_strcasestr(const char *h, const char *n);
void *__wrap_memmem(const void *h, size_t hl, const void *n, size_t nl);
char *__wrap_strchr(const char *s, int c);
char *__wrap_strrchr(const char *s, int c);
void *__wrap_memchr(const void *s, int c, size_t n);
size_t __wrap_strlen(const char *s);
size_t __wrap_strnlen(const char *s, size_t n);
int __wrap_memcmp(const void *a, const void *b, size_t n);
int __wrap_strcmp(const char *a, const char *b);
int __wrap_strncmp(const char *a, const char *b, size_t n);
int __wrap_strcasecmp(const char *a, const char *b);
int __wrap_strncasecmp(const char *a, const char *b, size_t n);
void *__wrap_memcpy(void *d, const void *s, size_t n);
void *__wrap_memmove(void *d, const void *s, size_t n);
void *__wrap_memset(void *d, int c, size_t n);
size_t __wrap_strspn(const char *s, const char *a);
size_t __wrap_strcspn(const char *s, const char *r);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

char *__wrap_strstr(const char *h, const char *n)
{
    char *r = __real_strstr(h, n);
    COST((r ? (size_t)(r - h) : __real_strlen(h)) + __real_strlen(n));
    return r;
}
char *__wrap_strcasestr(const char *h, const char *n)
{
    char *r = __real_strcasestr(h, n);
    COST((r ? (size_t)(r - h) : __real_strlen(h)) + __real_strlen(n));
    return r;
}
void *__wrap_memmem(const void *h, size_t hl, const void *n, size_t nl)
{
    void *r = __real_memmem(h, hl, n, nl);
    COST((r ? (size_t)((const char *)r - (const char *)h) : hl) + nl);
    return r;
}
char *__wrap_strchr(const char *s, int c)
{
    char *r = __real_strchr(s, c);
    COST(r ? (size_t)(r - s) : __real_strlen(s));
    return r;
}
char *__wrap_strrchr(const char *s, int c)
{
    COST(__real_strlen(s));
    return __real_strrchr(s, c);
}
void *__wrap_memchr(const void *s, int c, size_t n)
{
    void *r = __real_memchr(s, c, n);
    COST(r ? (size_t)((const char *)r - (const char *)s) : n);
    return r;
}
size_t __wrap_strlen(const char *s)
{
    size_t n = __real_strlen(s);
    COST(n);
    return n;
}
size_t __wrap_strnlen(const char *s, size_t n)
{
    size_t r = __real_strnlen(s, n);
    COST(r);
    return r;
}
/* comparisons: the bytes up to the first difference */
static size_t common_prefix(const unsigned char *a, const unsigned char *b, size_t n, int stop_nul)
{
    size_t i = 0;
    while (i < n && a[i] == b[i] && !(stop_nul && !a[i])) i++;
    return i;
}
int __wrap_memcmp(const void *a, const void *b, size_t n)
{
    COST(common_prefix(a, b, n, 0));
    return __real_memcmp(a, b, n);
}
int __wrap_strcmp(const char *a, const char *b)
{
    COST(common_prefix((const unsigned char *)a, (const unsigned char *)b, (size_t)-1, 1));
    return __real_strcmp(a, b);
}
int __wrap_strncmp(const char *a, const char *b, size_t n)
{
    COST(common_prefix((const unsigned char *)a, (const unsigned char *)b, n, 1));
    return __real_strncmp(a, b, n);
}
int __wrap_strcasecmp(const char *a, const char *b)
{
    int r = __real_strcasecmp(a, b);
    COST(__real_strnlen(a, __real_strlen(b) + 1));
    return r;
}
int __wrap_strncasecmp(const char *a, const char *b, size_t n)
{
    int r = __real_strncasecmp(a, b, n);
    COST(__real_strnlen(a, n));
    return r;
}
void *__wrap_memcpy(void *d, const void *s, size_t n)
{
    COST(n);
    return __real_memcpy(d, s, n);
}
void *__wrap_memmove(void *d, const void *s, size_t n)
{
    COST(n);
    return __real_memmove(d, s, n);
}
void *__wrap_memset(void *d, int c, size_t n)
{
    COST(n);
    return __real_memset(d, c, n);
}
size_t __wrap_strspn(const char *s, const char *a)
{
    size_t r = __real_strspn(s, a);
    COST(r);
    return r;
}
size_t __wrap_strcspn(const char *s, const char *rej)
{
    size_t r = __real_strcspn(s, rej);
    COST(r);
    return r;
}
char *__wrap_strdup(const char *s)
{
    COST(__real_strlen(s));
    return __real_strdup(s);
}
char *__wrap_strndup(const char *s, size_t n)
{
    COST(__real_strnlen(s, n));
    return __real_strndup(s, n);
}
