/* words.h — splitting text into whitespace-separated words, without copying. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Finds the next word at or after *cursor: sets *word and *length, moves
 * *cursor past it, and returns false when only whitespace is left. */
bool words_next(const char **cursor, const char **word, size_t *length);
