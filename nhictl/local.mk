sbin_PROGRAMS += nhictl/nhictl
nhictl_nhictl_SOURCES = nhictl/nhictl.h nhictl/nhictl.c \
	nhictl/cli.h nhictl/cli.c \
	nhictl/cmd_sign.c nhictl/cmd_host.c nhictl/cmd_authkeys.c \
	nhictl/cmd_log.c
nhictl_nhictl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS)
nhictl_nhictl_LDADD = common/libnhisync.la $(NHICORE_LIBS)
