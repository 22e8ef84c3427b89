/*
 * jsonx.h: strict JSON input on top of json-c.
 *
 * json-c accepts duplicate object keys (the last wins) and embedded NUL in
 * strings; a signed statement must mean exactly one thing, so both are
 * rejected here, together with trailing data, nesting deeper than
 * NHI_MAX_DEPTH, and documents larger than the caller's limit.
 */
#ifndef NHI_JSONX_H
#define NHI_JSONX_H

#include "nhi.h"

#include <json-c/json.h>

/* Parses exactly one JSON object from text[0..len). */
int nhi_json_parse(const char *text, size_t len, size_t max,
    json_object **ret, struct nhi_err *e);
/*
 * The same, refusing before json-c builds anything a document that could
 * hold more than max_values values: for text not yet known to be signed,
 * whose size alone does not bound what its tree costs.
 */
int nhi_json_parse_bounded(const char *text, size_t len, size_t max,
    size_t max_values, json_object **ret, struct nhi_err *e);

/*
 * Field readers. Each fails with "FIELD: reason" in e. "opt" variants
 * succeed leaving the output untouched when the field is absent; present
 * but null is a type error. Strings are checked with valid() (NULL: any
 * string without control characters) and copied with strdup. Integers are
 * read as 64-bit and range-checked.
 */
int nhi_json_str(json_object *o, const char *field,
    bool (*valid)(const char *), char **ret, struct nhi_err *e);
int nhi_json_opt_str(json_object *o, const char *field,
    bool (*valid)(const char *), char **ret, struct nhi_err *e);
int nhi_json_int(json_object *o, const char *field, int64_t min,
    int64_t max, int64_t *ret, struct nhi_err *e);
int nhi_json_opt_int(json_object *o, const char *field, int64_t min,
    int64_t max, int64_t *ret, struct nhi_err *e);
/* An array of strings, each checked with valid(), 1..NHI_MAX_LIST items. */
struct nhi_strv;
int nhi_json_strv(json_object *o, const char *field,
    bool (*valid)(const char *), struct nhi_strv *ret, struct nhi_err *e);
int nhi_json_opt_strv(json_object *o, const char *field,
    bool (*valid)(const char *), struct nhi_strv *ret, struct nhi_err *e);

/*
 * Output. nhi_json_put adds v to o under key and takes v in either case
 * (a NULL v, from a failed constructor, is an error). nhi_json_text
 * returns a heap copy of o as one line without escaping '/'. json-c keeps
 * members in insertion order, so callers fix the key order of the text.
 */
int nhi_json_put(json_object *o, const char *key, json_object *v);
char *nhi_json_text(json_object *o);

/* Fails when o has a key outside the NULL-terminated list allowed. */
int nhi_json_only(json_object *o, const char *const *allowed,
    struct nhi_err *e);

#endif
