dist_man_MANS += doc/nhictl.8 doc/nhi.conf.5 doc/pam_nhi.8
