/* pii.h - PII and secret recognizers: hand-written scanners with validation.
 *
 * Each recognizer finds candidates by shape and keeps only those that pass the
 * checks a real value passes (Luhn + issuer prefix for cards, mod-97 + country
 * length for IBANs, the SSA's excluded ranges for SSNs, octet ranges for IPv4,
 * ...), so dates, times, version strings, prices and order numbers stay out.
 * Type names are Presidio's where Presidio has one (the classic router's PII
 * model reports them, so pii_types_allowed lists keep working). No regex
 * engine: the scanners are single passes over the bytes with bounded
 * look-ahead, linear in the input. Non-ASCII punctuation, spaces and symbols
 * are folded to ASCII first (one copy; see pii.c), so “alice@example.com” reads like
 * "alice@example.com"; spans always refer to the caller's bytes.
 *
 * Confidence carries how personal a finding is: a full date or a "First Last"
 * name alone scores 0.6-0.65 (history questions are full of both), the same
 * after a personal cue ("born", "my name is", "patient", "Dr.") or next to
 * another identifier in the text scores >= 0.85. The chat path keeps entities
 * at or above classifier.pii_model.threshold (0.7); the classification API
 * returns all unless options.confidence_threshold says otherwise. */
#ifndef SEMROUTER_PII_H
#define SEMROUTER_PII_H
#include <stddef.h>

#include "core/buf.h"

typedef enum {
    PII_EMAIL_ADDRESS = 0,
    PII_PHONE_NUMBER,
    PII_CREDIT_CARD,
    PII_US_SSN,
    PII_IBAN_CODE,
    PII_IP_ADDRESS,
    PII_MAC_ADDRESS,
    PII_API_KEY, /* cloud/API keys and tokens: AWS, GitHub, sk-..., Slack, JWT, key=value secrets */
    PII_PRIVATE_KEY, /* PEM private-key blocks */
    /* The classic router's (Presidio) contextual types, found from words and shapes: */
    PII_PERSON,         /* "Priya Raman", "Mr. Okafor", "my name is dan" */
    PII_DATE_TIME,      /* full dates and clock times; a bare year or month is not one */
    PII_DOMAIN_NAME,    /* host names with a known TLD, and URLs (the whole URL) */
    PII_STREET_ADDRESS, /* "742 Evergreen Terrace", "Lindenstraße 42", "P.O. Box 12" */
    PII_TYPE_COUNT
} pii_type;

typedef struct pii_entity {
    int type;          /* pii_type */
    size_t start, end; /* byte offsets, text[start..end) */
    float confidence;  /* 0..1: how sure the recognizer is (shape + validation + context) */
} pii_entity;

/* Finds PII in text[0..len). Writes at most max entities to out, sorted by
 * start, never overlapping (on overlap the more specific recognizer wins).
 * Returns the number written. Any bytes are accepted (invalid UTF-8 too).
 * Scan cap (README "Bounded work per request"): a text longer than HEAD + TAIL
 * bytes is read as its first PII_SCAN_HEAD_BYTES and its last PII_SCAN_TAIL_BYTES
 * (cut at UTF-8 boundaries); every recognizer skips the middle, offsets still
 * refer to text. Besides, the recognizers stop collecting after 512 candidates. */
#define PII_SCAN_HEAD_BYTES (192u << 10)
#define PII_SCAN_TAIL_BYTES (64u << 10)
int pii_detect(const char *text, size_t len, pii_entity *out, int max);

/* pii_detect keeping only entities with confidence >= min_conf (what the
 * chat path acts on: classifier.pii_model.threshold). */
int pii_detect_min(const char *text, size_t len, pii_entity *out, int max, double min_conf);

/* "EMAIL_ADDRESS", ... for a pii_type; "UNKNOWN" for anything else. */
const char *pii_type_name(int type);
/* Case-insensitive name -> pii_type; also accepts a few aliases (EMAIL, PHONE,
 * SSN, IBAN, IP, MAC, SECRET, CREDIT_CARD_NUMBER, URL, DOMAIN, DATE, TIME, NAME,
 * PERSON_NAME, ADDRESS). -1 when unknown. */
int pii_type_from_name(const char *name);

/* Appends text with every entity span replaced by "[TYPE_NAME]". entities must
 * be sorted and non-overlapping (as pii_detect returns them); spans that
 * overlap an earlier one or fall outside the text are ignored. */
void pii_redact(const char *text, size_t len, const pii_entity *entities, int n, buf *out);
#endif
