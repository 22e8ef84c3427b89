# libnhicore: everything the PAM module needs (no network).
# libnhisync: reading, checking and fetching the register, for nhictl only
# (it links libcurl and libcrypto, which stay out of the PAM module).
noinst_LTLIBRARIES += common/libnhicore.la common/libnhisync.la

common_libnhicore_la_SOURCES = \
	common/nhi.h common/err.c \
	common/util.h common/util.c \
	common/conf.h common/conf.c \
	common/keys.h common/keys.c \
	common/dsse.h common/dsse.c \
	common/jsonx.h common/jsonx.c \
	common/statement.h common/statement.c \
	common/cdbw.h common/cdbw.c \
	common/pamidx.h common/pamidx.c \
	common/nssidx.h common/nssidx.c \
	common/decide.h common/decide.c \
	common/account.h common/account.c \
	common/authinfo.h common/authinfo.c \
	common/authkeys.h common/authkeys.c \
	common/logline.h common/logline.c \
	common/audit.h common/audit.c \
	common/dlog.h common/dlog.c
# One section per function, so that pam_nhi.so (linked with --gc-sections)
# carries only the code it calls and imports only the symbols that code
# needs: libpam maps and binds the module again on every pam_start.
common_libnhicore_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS) \
	$(AUDIT_CFLAGS) -ffunction-sections -fdata-sections
# The libraries libnhicore needs are not in its LIBADD: libtool would pass
# them on to pam_nhi.so as shared libraries, which links PIC archives of
# the same libraries instead (see PAM_DEPS_LDFLAGS in configure.ac). Programs
# link NHICORE_LIBS.
NHICORE_DEPS = $(JSONC_LIBS) $(SODIUM_LIBS) $(CDB_LIBS) $(AUDIT_LIBS)
NHICORE_LIBS = common/libnhicore.la $(NHICORE_DEPS)

common_libnhisync_la_SOURCES = common/sync.h common/sync.c \
	common/stcache.h common/stcache.c \
	common/register.h common/register.c common/state.c \
	common/sha256.h common/sha256.c
common_libnhisync_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS) \
	$(CURL_CFLAGS) $(CRYPTO_CFLAGS)
common_libnhisync_la_LIBADD = $(NHICORE_LIBS) $(CURL_LIBS) $(CRYPTO_LIBS)
