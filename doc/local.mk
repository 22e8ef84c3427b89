dist_man_MANS += doc/nhictl.8 doc/nhi.conf.5 doc/pam_nhi.8
dist_man_MANS += doc/libnss_nhi.8
