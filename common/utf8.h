/* utf8.h — text that goes out in an event must be valid UTF-8: protobuf's string fields require
 * it, and strict decoders (Go's, Java's) refuse an event that is not. Messages are made from
 * outside input, cut to a length in bytes (which can split a character) or quoting bytes as
 * they came; these put them right. */
#ifndef TR_UTF8_H
#define TR_UTF8_H

#include <stddef.h>

/* The length of the well-formed UTF-8 character at s (1-4; no overlong forms, surrogates or
 * code points above U+10FFFF), reading at most n bytes; 0 when there is none. */
size_t tr_utf8_char_length(const char *s, size_t n);

/* Makes s valid UTF-8 in place: a character cut off at the end is dropped, every other byte
 * that is not part of a well-formed character becomes '?'. */
void tr_utf8_repair(char *s);

#endif
