/* array.c - array growth (see array.h). */
#include "core/array.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t array_next_cap(size_t cap, size_t need, size_t first_cap)
{
    if (need <= cap) return cap;
    size_t n = cap ? cap : first_cap ? first_cap : 1;
    while (n < need) {
        if (n > SIZE_MAX / 2) return 0;
        n *= 2;
    }
    return n;
}

int array_resize(void *items_ptr, size_t n, size_t elem_size)
{
    if (!n || !elem_size || n > SIZE_MAX / elem_size) return -1;
    void *old;
    memcpy(&old, items_ptr, sizeof old); /* items_ptr is a T**: its T* read as a void* */
    void *p = realloc(old, n * elem_size);
    if (!p) return -1;
    memcpy(items_ptr, &p, sizeof p);
    return 0;
}

int array_grow(void *items_ptr, size_t *cap, size_t need, size_t elem_size, size_t first_cap)
{
    if (need <= *cap) return 0;
    size_t n = array_next_cap(*cap, need, first_cap);
    if (!n || array_resize(items_ptr, n, elem_size)) return -1;
    *cap = n;
    return 0;
}
