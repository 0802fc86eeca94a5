/* words.c — splitting text into whitespace-separated words, without copying. */
#include <ctype.h>

#include "words.h"

bool words_next(const char **cursor, const char **word, size_t *length)
{
    const char *at = *cursor;

    while (*at != '\0' && isspace((unsigned char)*at))
        at++;
    *word = at;
    while (*at != '\0' && !isspace((unsigned char)*at))
        at++;
    *length = (size_t)(at - *word);
    *cursor = at;
    return *length > 0;
}
