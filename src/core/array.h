/* array.h - the grow-an-array step, written once: every array that grows by appends
 * (errors, marks, partitions, slots, tokens, choices, batches) doubles through here.
 * Arrays are plain T* + a capacity; growth is by doubling (amortised O(1) appends). */
#ifndef SEMROUTER_ARRAY_H
#define SEMROUTER_ARRAY_H
#include <stddef.h>

/* The capacity an array of cap elements grows to so it holds need: cap itself when it
 * already does, else the first of 2*cap, 4*cap, ... (first_cap, 2*first_cap, ... when
 * cap is 0) that is >= need. 0 when that would overflow size_t. */
size_t array_next_cap(size_t cap, size_t need, size_t first_cap);

/* Reallocates the array *items_ptr (a T**, passed as void *) to n elements of elem_size
 * bytes. Returns 0, or -1 on overflow / out of memory with *items_ptr unchanged (still
 * valid, still the caller's). New elements are not zeroed. */
int array_resize(void *items_ptr, size_t n, size_t elem_size);

/* array_next_cap + array_resize for a single array: makes *items_ptr hold need elements,
 * updating *cap. Returns 0, or -1 with the array and *cap unchanged. */
int array_grow(void *items_ptr, size_t *cap, size_t need, size_t elem_size, size_t first_cap);
#endif
