#include "utf8.h"

#include <string.h>

size_t tr_utf8_char_length(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0)
        return 0;
    if (u[0] < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (u[0] >= 0xc2 && u[0] <= 0xdf)
        len = 2;
    else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        len = 3;
        if (u[0] == 0xe0)
            lo = 0xa0; /* no overlong forms */
        else if (u[0] == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        len = 4;
        if (u[0] == 0xf0)
            lo = 0x90;
        else if (u[0] == 0xf4)
            hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || u[1] < lo || u[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (u[i] < 0x80 || u[i] > 0xbf)
            return 0;
    }
    return len;
}

void tr_utf8_repair(char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t len = tr_utf8_char_length(s + i, n - i);
        if (len > 0) {
            i += len;
            continue;
        }
        /* A lead byte whose character the end cut off: the rest is all continuation bytes. */
        size_t k = i + 1;
        while (k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
            k++;
        if (k == n && (unsigned char)s[i] >= 0xc2 && (unsigned char)s[i] <= 0xf4 && n - i < 4) {
            s[i] = '\0';
            return;
        }
        s[i++] = '?';
    }
}
