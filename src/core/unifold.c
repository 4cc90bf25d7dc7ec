/* unifold.c - ASCII stand-ins for non-ASCII punctuation, spaces and symbols (unifold.h). */
#include "core/unifold.h"

static const char ASCII[95][2] = {{' ',0},{'!',0},{'"',0},{'#',0},{'$',0},{'%',0},{'&',0},{'\'',0},{'(',0},{')',0},{'*',0},{'+',0},{',',0},{'-',0},{'.',0},{'/',0},{'0',0},{'1',0},{'2',0},{'3',0},{'4',0},{'5',0},{'6',0},{'7',0},{'8',0},{'9',0},{':',0},{';',0},{'<',0},{'=',0},{'>',0},{'?',0},{'@',0},{'A',0},{'B',0},{'C',0},{'D',0},{'E',0},{'F',0},{'G',0},{'H',0},{'I',0},{'J',0},{'K',0},{'L',0},{'M',0},{'N',0},{'O',0},{'P',0},{'Q',0},{'R',0},{'S',0},{'T',0},{'U',0},{'V',0},{'W',0},{'X',0},{'Y',0},{'Z',0},{'[',0},{'\\',0},{']',0},{'^',0},{'_',0},{'`',0},{'a',0},{'b',0},{'c',0},{'d',0},{'e',0},{'f',0},{'g',0},{'h',0},{'i',0},{'j',0},{'k',0},{'l',0},{'m',0},{'n',0},{'o',0},{'p',0},{'q',0},{'r',0},{'s',0},{'t',0},{'u',0},{'v',0},{'w',0},{'x',0},{'y',0},{'z',0},{'{',0},{'|',0},{'}',0},{'~',0}};

int unifold_is_symbol(unsigned cp)
{
    return (cp >= 0x2190 && cp <= 0x2BFF) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
           (cp >= 0x2300 && cp <= 0x23FF) || cp == 0x00A9 || cp == 0x00AE || cp == 0x2122;
}

int unifold_decode(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    int k = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (k == 0 || (size_t)k > n) return 0;
    unsigned v = c & (0xFFu >> (k + 1));
    for (int i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3Fu);
    }
    if ((k == 3 && v < 0x800) || (k == 4 && (v < 0x10000 || v > 0x10FFFF))) return 0;
    *cp = v;
    return k;
}

/* What code point cp becomes: an ASCII string (possibly empty), or NULL to keep it. */
const char *unifold_cp(unsigned cp, int flags)
{
    switch (cp) {
    case 0x00A0: case 0x2000: case 0x2001: case 0x2002: case 0x2003: case 0x2004: case 0x2005:
    case 0x2006: case 0x2007: case 0x2008: case 0x2009: case 0x200A: case 0x202F: case 0x205F:
    case 0x3000: case 0x2014: case 0x2015:
        return " ";
    case 0x00AD: case 0x200B: case 0x200C: case 0x200D: case 0x2060: case 0x2061: case 0x2062:
    case 0x2063: case 0x2064: case 0xFEFF:
        return "";
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2212: case 0xFE63:
        return "-";
    case 0x2018: case 0x2019: case 0x201A: case 0x201B: case 0x2039: case 0x203A:
        return "'";
    case 0x00AB: case 0x00BB: case 0x201C: case 0x201D: case 0x201E: case 0x201F: case 0x300C:
    case 0x300D: case 0x300E: case 0x300F: case 0x301D: case 0x301E: case 0x301F:
        return "\"";
    case 0x3008: case 0x300A: case 0x3010: case 0x3014: case 0x3016: case 0x3018: case 0x301A:
        return "(";
    case 0x3009: case 0x300B: case 0x3011: case 0x3015: case 0x3017: case 0x3019: case 0x301B:
        return ")";
    case 0x3001: case 0xFF64: case 0xFF0C:
        return ", ";
    case 0xFF1A:
        return ": ";
    case 0xFF1B:
        return "; ";
    case 0x3002: case 0xFF61: case 0x2026:
        return " ";
    default:
        break;
    }
    if (cp >= 0xFF01 && cp <= 0xFF5E) return ASCII[cp - 0xFEE0 - 0x20]; /* full-width ASCII */
    if (cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069) || cp == 0x180E || (cp >= 0xE0000 && cp <= 0xE007F) ||
        (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0x1F3FB && cp <= 0x1F3FF) || cp == 0x20E3)
        return ""; /* bidi controls, tags, variation selectors, skin tones, keycap */
    if ((cp >= 0x2016 && cp <= 0x205E) || (cp >= 0x3003 && cp <= 0x3007) ||
        (cp >= 0x301C && cp <= 0x3020) || cp == 0x3030 || (cp >= 0xFE30 && cp <= 0xFE6F) ||
        (cp >= 0xFF5F && cp <= 0xFF65) || cp == 0x00A1 || cp == 0x00BF || cp == 0x0964 || cp == 0x0965 || cp == 0x060C ||
        cp == 0x061B || cp == 0x061F || cp == 0x06D4 || unifold_is_symbol(cp))
        return " ";
    if ((flags & UNIFOLD_CJK_SPACE) &&
        ((cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x3130 && cp <= 0x318F) ||
         (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) ||
         (cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFF66 && cp <= 0xFFDC) || (cp >= 0x1100 && cp <= 0x11FF) ||
         (cp >= 0x0E00 && cp <= 0x0E7F) || (cp >= 0x20000 && cp <= 0x3FFFF)))
        return " ";
    return NULL;
}

