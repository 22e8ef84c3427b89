/* jsonx.c: strict JSON input on top of json-c. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "util.h"

/*
 * What a pass over the raw text learns that json-c hides: how many
 * name-separators (':') there are, which equals the number of object
 * members only when no key was repeated.
 */
struct raw_scan {
	size_t colons;
};

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Checks one bare token (number or literal) of the raw text. json-c
 * clamps integers that do not fit 64 bits without saying so, and takes
 * NaN, Infinity and single-quoted strings even in strict mode.
 */
static int
scan_token(const char *p, size_t n, struct nhi_err *e)
{
	char num[32], *end;
	bool integer = true;
	size_t i;

	if ((n == 4 && memcmp(p, "true", 4) == 0) ||
	    (n == 5 && memcmp(p, "false", 5) == 0) ||
	    (n == 4 && memcmp(p, "null", 4) == 0))
		return 0;
	if (!(p[0] == '-' || (p[0] >= '0' && p[0] <= '9')))
		return nhi_err_set(e, "invalid JSON token");
	for (i = 0; i < n; i++) {
		if (p[i] == '.' || p[i] == 'e' || p[i] == 'E')
			integer = false;
		else if (!(p[i] >= '0' && p[i] <= '9') && p[i] != '-' &&
		    p[i] != '+')
			return nhi_err_set(e, "invalid JSON token");
	}
	if (!integer)
		return 0;
	if (n >= sizeof(num))
		return nhi_err_set(e, "integer out of 64-bit range");
	memcpy(num, p, n);
	num[n] = '\0';
	errno = 0;
	(void)strtoll(num, &end, 10);
	if (errno == ERANGE)
		return nhi_err_set(e, "integer out of 64-bit range");
	return 0;
}

static int
scan_raw(const char *text, size_t len, struct raw_scan *ret,
    struct nhi_err *e)
{
	size_t i = 0, start;

	ret->colons = 0;
	while (i < len) {
		char c = text[i];

		if (c == '"') {
			for (i++; i < len && text[i] != '"'; i++) {
				if (text[i] != '\\')
					continue;
				if (i + 5 < len && text[i + 1] == 'u' &&
				    memcmp(text + i + 2, "0000", 4) == 0)
					return nhi_err_set(e,
					    "NUL character in string");
				i++;
			}
			i++;
		} else if (c == ':') {
			ret->colons++;
			i++;
		} else if (is_ws(c) || strchr("{}[],", c) != NULL) {
			i++;
		} else {
			start = i;
			while (i < len && !is_ws(text[i]) &&
			    strchr("{}[],:\"", text[i]) == NULL)
				i++;
			if (scan_token(text + start, i - start, e) != 0)
				return -1;
		}
	}
	return 0;
}

/*
 * Counts the members of every object in the tree and rejects strings
 * that hold a NUL byte (json-c keeps them, C code would cut them).
 */
static int
walk(json_object *o, size_t *members, struct nhi_err *e)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_object: {
		json_object_object_foreach(o, key, val) {
			(void)key;
			(*members)++;
			if (walk(val, members, e) != 0)
				return -1;
		}
		break;
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (walk(json_object_array_get_idx(o, i), members,
			    e) != 0)
				return -1;
		break;
	case json_type_string:
		if ((size_t)json_object_get_string_len(o) !=
		    strlen(json_object_get_string(o)))
			return nhi_err_set(e, "NUL character in string");
		break;
	default:
		break;
	}
	return 0;
}

/*
 * An upper bound on the values in text: every value but the outermost
 * follows a ',' or a ':' outside strings.
 */
static size_t
count_values(const char *text, size_t len)
{
	bool in_string = false;
	size_t i, n = 1;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in_string = false;
		} else if (text[i] == '"') {
			in_string = true;
		} else if (text[i] == ',' || text[i] == ':') {
			n++;
		}
	}
	return n;
}

int
nhi_json_parse(const char *text, size_t len, size_t max, json_object **ret,
    struct nhi_err *e)
{
	return nhi_json_parse_bounded(text, len, max, SIZE_MAX, ret, e);
}

int
nhi_json_parse_bounded(const char *text, size_t len, size_t max,
    size_t max_values, json_object **ret, struct nhi_err *e)
{
	json_tokener *tok = NULL;
	json_object *o = NULL;
	enum json_tokener_error jerr;
	struct raw_scan scan;
	size_t end, members = 0;
	int r = -1;

	if (len > max) {
		nhi_err_set(e, "document too large (%zu bytes, at most %zu)",
		    len, max);
		goto out;
	}
	if (len > INT32_MAX) {
		nhi_err_set(e, "document too large (%zu bytes)", len);
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		nhi_err_set(e, "NUL byte in document");
		goto out;
	}
	/*
	 * json-c spends tens to hundreds of bytes on each value it builds:
	 * a few megabytes of "{}," would take gigabytes before any check of
	 * what the document holds could run.
	 */
	if (max_values != SIZE_MAX && count_values(text, len) > max_values) {
		nhi_err_set(e, "more than %zu JSON values in the document",
		    max_values);
		goto out;
	}
	if ((tok = json_tokener_new_ex(NHI_MAX_DEPTH)) == NULL) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue || (o == NULL && jerr ==
	    json_tokener_success)) {
		nhi_err_set(e, "truncated JSON document");
		goto out;
	}
	if (jerr == json_tokener_error_depth) {
		nhi_err_set(e, "JSON nested deeper than %d levels",
		    NHI_MAX_DEPTH);
		goto out;
	}
	if (jerr != json_tokener_success) {
		nhi_err_set(e, "invalid JSON at byte %zu: %s",
		    json_tokener_get_parse_end(tok),
		    json_tokener_error_desc(jerr));
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++) {
		if (!is_ws(text[end])) {
			nhi_err_set(e, "trailing data after JSON at byte %zu",
			    end);
			goto out;
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		nhi_err_set(e, "expected a JSON object");
		goto out;
	}

	if (scan_raw(text, len, &scan, e) != 0 || walk(o, &members, e) != 0)
		goto out;
	if (scan.colons != members) {
		nhi_err_set(e, "duplicate key in JSON object");
		goto out;
	}
	*ret = o;
	o = NULL;
	r = 0;
out:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return r;
}

/* Fetches field: 1 present, 0 absent, -1 present but null. */
static int
get_field(json_object *o, const char *field, json_object **ret)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, field, &v))
		return 0;
	if (v == NULL)
		return -1;
	*ret = v;
	return 1;
}

static int
read_str(json_object *v, const char *field, bool (*valid)(const char *),
    char **ret, struct nhi_err *e)
{
	const char *s;
	char esc[80], *copy;

	if (!json_object_is_type(v, json_type_string))
		return nhi_err_set(e, "%s: expected string", field);
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return nhi_err_set(e, "%s: NUL character in string", field);
	if (!(valid != NULL ? valid(s) : nhi_valid_plain(s))) {
		nhi_escape(s, 48, esc, sizeof(esc));
		return nhi_err_set(e, "%s: invalid value \"%s\"", field, esc);
	}
	if ((copy = strdup(s)) == NULL)
		return nhi_err_set(e, "%s: out of memory", field);
	*ret = copy;
	return 0;
}

static int
read_int(json_object *v, const char *field, int64_t min, int64_t max,
    int64_t *ret, struct nhi_err *e)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return nhi_err_set(e, "%s: expected integer", field);
	errno = 0;
	x = json_object_get_int64(v);
	/* json-c saturates values beyond int64; the raw scan rejects those. */
	if (errno != 0 || x < min || x > max)
		return nhi_err_set(e,
		    "%s: %lld out of range [%lld, %lld]", field,
		    (long long)x, (long long)min, (long long)max);
	*ret = x;
	return 0;
}

static int
read_strv(json_object *v, const char *field, bool (*valid)(const char *),
    struct nhi_strv *ret, struct nhi_err *e)
{
	struct nhi_strv sv = { NULL, 0 };
	char *s = NULL, name[96];
	size_t i, n;
	int r = -1;

	if (!json_object_is_type(v, json_type_array))
		return nhi_err_set(e, "%s: expected array", field);
	n = json_object_array_length(v);
	if (n == 0)
		return nhi_err_set(e, "%s: empty list", field);
	if (n > NHI_MAX_LIST)
		return nhi_err_set(e, "%s: more than %d items", field,
		    NHI_MAX_LIST);
	for (i = 0; i < n; i++) {
		(void)snprintf(name, sizeof(name), "%s[%zu]", field, i);
		if (read_str(json_object_array_get_idx(v, i), name, valid, &s,
		    e) != 0)
			goto out;
		if (nhi_strv_add(&sv, s) != 0) {
			nhi_err_set(e, "%s: out of memory", field);
			goto out;
		}
		free(s);
		s = NULL;
	}
	*ret = sv;
	sv.v = NULL;
	sv.n = 0;
	r = 0;
out:
	free(s);
	nhi_strv_free(&sv);
	return r;
}

/*
 * The public readers differ only in whether absence is allowed; each
 * resolves the field here and hands the value to its typed reader.
 */
static int
lookup(json_object *o, const char *field, bool optional, json_object **ret,
    struct nhi_err *e)
{
	switch (get_field(o, field, ret)) {
	case 1:
		return 1;
	case 0:
		if (optional)
			return 0;
		return nhi_err_set(e, "%s: missing", field);
	default:
		return nhi_err_set(e, "%s: null is not allowed", field);
	}
}

int
nhi_json_str(json_object *o, const char *field, bool (*valid)(const char *),
    char **ret, struct nhi_err *e)
{
	json_object *v = NULL;

	if (lookup(o, field, false, &v, e) != 1)
		return -1;
	return read_str(v, field, valid, ret, e);
}

int
nhi_json_opt_str(json_object *o, const char *field,
    bool (*valid)(const char *), char **ret, struct nhi_err *e)
{
	json_object *v = NULL;
	int r;

	if ((r = lookup(o, field, true, &v, e)) != 1)
		return r;
	return read_str(v, field, valid, ret, e);
}

int
nhi_json_int(json_object *o, const char *field, int64_t min, int64_t max,
    int64_t *ret, struct nhi_err *e)
{
	json_object *v = NULL;

	if (lookup(o, field, false, &v, e) != 1)
		return -1;
	return read_int(v, field, min, max, ret, e);
}

int
nhi_json_opt_int(json_object *o, const char *field, int64_t min,
    int64_t max, int64_t *ret, struct nhi_err *e)
{
	json_object *v = NULL;
	int r;

	if ((r = lookup(o, field, true, &v, e)) != 1)
		return r;
	return read_int(v, field, min, max, ret, e);
}

int
nhi_json_strv(json_object *o, const char *field,
    bool (*valid)(const char *), struct nhi_strv *ret, struct nhi_err *e)
{
	json_object *v = NULL;

	if (lookup(o, field, false, &v, e) != 1)
		return -1;
	return read_strv(v, field, valid, ret, e);
}

int
nhi_json_opt_strv(json_object *o, const char *field,
    bool (*valid)(const char *), struct nhi_strv *ret, struct nhi_err *e)
{
	json_object *v = NULL;
	int r;

	if ((r = lookup(o, field, true, &v, e)) != 1)
		return r;
	return read_strv(v, field, valid, ret, e);
}

int
nhi_json_only(json_object *o, const char *const *allowed, struct nhi_err *e)
{
	char esc[80];
	size_t i;

	if (!json_object_is_type(o, json_type_object))
		return nhi_err_set(e, "expected a JSON object");
	json_object_object_foreach(o, key, val) {
		(void)val;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			nhi_escape(key, 48, esc, sizeof(esc));
			return nhi_err_set(e, "%s: unknown field", esc);
		}
	}
	return 0;
}

int
nhi_json_put(json_object *o, const char *key, json_object *v)
{
	if (v == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

char *
nhi_json_text(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return s != NULL ? strdup(s) : NULL;
}
