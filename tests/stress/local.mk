# Stress tests: PAM decisions racing register installs, and one
# long-lived process. make check runs the small sizes; NHI_STRESS=large
# (by hand) the sizes of the hardening issue.
check_PROGRAMS += tests/stress/pam_race tests/stress/longlived
STRESS_TESTS = tests/stress/race.sh tests/stress/longlived.sh
TESTS += $(STRESS_TESTS)
EXTRA_DIST += $(STRESS_TESTS) tests/stress/lib.sh

tests_stress_pam_race_SOURCES = tests/stress/pam_race.c
tests_stress_pam_race_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS)
tests_stress_pam_race_LDADD = $(NHICORE_LIBS) $(PAM_LIBS)
tests_stress_longlived_SOURCES = tests/stress/longlived.c
tests_stress_longlived_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS)
tests_stress_longlived_LDADD = $(PAM_LIBS) -ldl
