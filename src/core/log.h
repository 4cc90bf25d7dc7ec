/* log.h - leveled logging to stderr. Request logs are JSON lines (one per
 * request) written by the api layer with log_json_line(). */
#ifndef SEMROUTER_LOG_H
#define SEMROUTER_LOG_H
#include <stddef.h>
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
void log_set_level(enum log_level lvl);
int log_enabled(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes one already-formatted JSON object and a newline atomically. */
void log_json_line(const char *json, size_t n);
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#endif
